//! A subscription as the billing rules see it: typed terms, a state that carries exactly what
//! that state needs, and the transitions (charge, approve, decline, pause, resume, cancel,
//! complete) as methods. Nothing here reads a clock or a database: `today` is an argument.
//!
//! A subscription is a sequence of billing events: [`Event::Setup`] (the setup fee) and
//! [`Event::Prorate`] (the prorated first payment), both on the start date when there are any,
//! then the billing cycles `Cycle(0), Cycle(1), …` (the first `trial_cycles` of them at the trial
//! amount). The state's [`Due`] says which event is unpaid and when it is due; a declined event
//! is retried on later dates without moving on.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::schedule::{Schedule, retry_date};

/// Money in the database and the rules: integer cents.
pub type Cents = i64;

/// One billing event of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Event {
    Setup,
    Prorate,
    Cycle(u32),
}

impl Event {
    /// The stored code: -2 setup, -1 prorate, 0.. the cycles.
    pub fn code(self) -> i64 {
        match self {
            Self::Setup => -2,
            Self::Prorate => -1,
            Self::Cycle(n) => i64::from(n),
        }
    }

    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            -2 => Some(Self::Setup),
            -1 => Some(Self::Prorate),
            n => u32::try_from(n).ok().map(Self::Cycle),
        }
    }
}

/// What a payment attempt pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargeKind {
    Setup,
    Prorate,
    Trial,
    Recurring,
}

impl ChargeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Setup => "setup",
            Self::Prorate => "prorate",
            Self::Trial => "trial",
            Self::Recurring => "recurring",
        }
    }
}

/// How many billing cycles a subscription has (Qualpay `plan_duration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    /// `-1`: bills until cancelled.
    UntilCancelled,
    Cycles(u32),
}

impl Length {
    pub fn code(self) -> i32 {
        match self {
            Self::UntilCancelled => -1,
            Self::Cycles(n) => i32::try_from(n).unwrap_or(i32::MAX),
        }
    }

    /// `-1` or 1 to 9999, as the API accepts them.
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            -1 => Some(Self::UntilCancelled),
            1..=9999 => u32::try_from(code).ok().map(Self::Cycles),
            _ => None,
        }
    }
}

/// What a subscription bills and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub schedule: Schedule,
    pub length: Length,
    pub trial_cycles: u32,
    pub amt_setup: Option<Cents>,
    pub trial_amt: Option<Cents>,
    pub recur_amt: Cents,
    /// The prorated first payment, worked out when the subscription was made.
    pub prorate_amt: Option<Cents>,
    /// ISO 4217 numeric code, e.g. `840`.
    pub tran_currency: String,
}

impl Terms {
    /// What `event` charges.
    pub fn charge_of(&self, event: Event) -> (ChargeKind, Cents) {
        match event {
            Event::Setup => (ChargeKind::Setup, self.amt_setup.unwrap_or(0)),
            Event::Prorate => (ChargeKind::Prorate, self.prorate_amt.unwrap_or(0)),
            Event::Cycle(n) if n < self.trial_cycles => {
                (ChargeKind::Trial, self.trial_amt.unwrap_or(0))
            }
            Event::Cycle(_) => (ChargeKind::Recurring, self.recur_amt),
        }
    }

    /// The first event of a new subscription.
    pub fn first_event(&self) -> Event {
        if self.amt_setup.unwrap_or(0) > 0 {
            Event::Setup
        } else if self.prorate_amt.unwrap_or(0) > 0 {
            Event::Prorate
        } else {
            Event::Cycle(0)
        }
    }

    /// The event after `event`, or `None` when `event` was the last cycle.
    fn event_after(&self, event: Event) -> Option<Event> {
        let next = match event {
            Event::Setup if self.prorate_amt.unwrap_or(0) > 0 => Event::Prorate,
            Event::Setup | Event::Prorate => Event::Cycle(0),
            Event::Cycle(n) => Event::Cycle(n.saturating_add(1)),
        };
        match (self.length, next) {
            (Length::Cycles(cycles), Event::Cycle(n))
                if u64::from(n) >= u64::from(self.trial_cycles) + u64::from(cycles) =>
            {
                None
            }
            _ => Some(next),
        }
    }
}

/// The unpaid event of a live subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub event: Event,
    /// The event's scheduled date (`date_next`).
    pub date: NaiveDate,
    /// Attempts made at this event so far: the attempt number of the next one.
    pub attempts: u32,
    /// `attempts` when the subscription was last re-activated: its retries count from here.
    pub retries_from: u32,
}

/// Where a subscription is. Only an active subscription has an attempt date, and ended ones have
/// nothing due at all, so "cancelled with a next date" cannot be written down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Charges `due` on `attempt_on`: its date, or a retry date after a decline.
    Active {
        due: Due,
        attempt_on: NaiveDate,
    },
    Paused {
        due: Due,
    },
    /// Every retry of `due` was declined; a resume or a new card re-activates it.
    Suspended {
        due: Due,
    },
    Cancelled,
    /// Every cycle has been billed.
    Complete,
}

/// Qualpay's subscription status table.
pub use crate::qualpay::codes::SubscriptionStatus as Status;

/// A subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// 0 until stored.
    pub subscription_id: i64,
    pub merchant_id: i64,
    pub customer_id: String,
    pub card_id: String,
    pub plan_id: Option<i64>,
    pub plan_code: Option<String>,
    pub plan_name: Option<String>,
    pub plan_desc: Option<String>,
    pub terms: Terms,
    pub profile_id: Option<String>,
    pub purchase_id: Option<String>,
    pub cancel_on_setup_fail: bool,
    pub date_start: NaiveDate,
    pub first_billing: NaiveDate,
    /// The day of month month-based schedules keep to (29 to 32 clamp to short months).
    pub anchor_day: u32,
    pub state: State,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every write, so a write based on a stale read is refused.
    pub version: i64,
}

/// A payment to attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    pub event: Event,
    pub attempt: u32,
    pub kind: ChargeKind,
    pub amount: Cents,
    /// The date the attempt is made on (`tran_date`).
    pub date: NaiveDate,
}

/// A change the subscription's state does not allow. Each message starts with the field the
/// caller sent, as the API's validation messages do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("status: a subscription with status {} cannot be {action}", .status.code())]
    NotAllowed {
        status: Status,
        action: &'static str,
    },
    #[error("subscription_id: the subscription has ended")]
    Ended,
    #[error("date_start: the start charges are not billed yet")]
    StartChargesPending,
    #[error("date_start: must be today ({}) or later", .0.format("%Y-%m-%d"))]
    InThePast(NaiveDate),
}

impl Subscription {
    pub fn status(&self) -> Status {
        match self.state {
            State::Active { .. } => Status::Active,
            State::Paused { .. } => Status::Paused,
            State::Suspended { .. } => Status::Suspended,
            State::Cancelled => Status::Cancelled,
            State::Complete => Status::Complete,
        }
    }

    /// The unpaid event, while the subscription lives.
    pub fn due(&self) -> Option<Due> {
        match self.state {
            State::Active { due, .. } | State::Paused { due } | State::Suspended { due } => {
                Some(due)
            }
            State::Cancelled | State::Complete => None,
        }
    }

    /// `date_next`: the unpaid event's date; none once ended.
    pub fn date_next(&self) -> Option<NaiveDate> {
        self.due().map(|due| due.date)
    }

    /// When the engine tries next; only active subscriptions are tried.
    pub fn attempt_on(&self) -> Option<NaiveDate> {
        match self.state {
            State::Active { attempt_on, .. } => Some(attempt_on),
            _ => None,
        }
    }

    /// A new subscription, not stored yet, billing `customer_id`'s `card_id` on `terms`: it
    /// starts on `date_start` and is first billed on `first_billing`, whose day monthly dates
    /// keep to. No plan, profile or purchase id: set those on the result.
    pub fn new(
        merchant_id: i64,
        customer_id: String,
        card_id: String,
        terms: Terms,
        date_start: NaiveDate,
        first_billing: NaiveDate,
        now: DateTime<Utc>,
    ) -> Self {
        Subscription {
            subscription_id: 0,
            merchant_id,
            customer_id,
            card_id,
            plan_id: None,
            plan_code: None,
            plan_name: None,
            plan_desc: None,
            state: Self::first_state(&terms, date_start, first_billing),
            anchor_day: terms.schedule.anchor_day(first_billing),
            terms,
            profile_id: None,
            purchase_id: None,
            cancel_on_setup_fail: false,
            date_start,
            first_billing,
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }

    /// The first state of a new subscription starting on `date_start`.
    pub fn first_state(terms: &Terms, date_start: NaiveDate, first_billing: NaiveDate) -> State {
        let event = terms.first_event();
        let date = match event {
            Event::Setup | Event::Prorate => date_start,
            Event::Cycle(_) => first_billing,
        };
        State::Active {
            due: Due {
                event,
                date,
                attempts: 0,
                retries_from: 0,
            },
            attempt_on: date,
        }
    }

    /// The payment to attempt on `today`, if one is due. Its amount may be zero (a free trial
    /// cycle): then the caller passes it with [`Subscription::pass_free`] instead of charging.
    pub fn charge_due(&self, today: NaiveDate) -> Option<Charge> {
        let State::Active { due, attempt_on } = self.state else {
            return None;
        };
        if attempt_on > today {
            return None;
        }
        let (kind, amount) = self.terms.charge_of(due.event);
        Some(Charge {
            event: due.event,
            attempt: due.attempts,
            kind,
            amount,
            date: attempt_on,
        })
    }

    /// Moves an active subscription past a due event that costs nothing.
    pub fn pass_free(&mut self, event: Event) {
        if let State::Active { due, .. } = self.state
            && due.event == event
        {
            self.state = self.after(due, Status::Active);
        }
    }

    /// Records an approved payment of `event`. The event is paid, so the subscription moves past
    /// it, keeping its status (a pause that came while the charge was in flight stays paused);
    /// an ended subscription is not touched, never resurrected.
    pub fn approved(&mut self, event: Event) {
        let (due, status) = match self.state {
            State::Active { due, .. } => (due, Status::Active),
            State::Paused { due } => (due, Status::Paused),
            State::Suspended { due } => (due, Status::Suspended),
            State::Cancelled | State::Complete => return,
        };
        if due.event == event {
            self.state = self.after(due, status);
        }
    }

    /// Records a declined attempt. Its attempt number is used up whatever the status; only an
    /// active subscription is retried (1, 3 and 5 days after the due date, then suspended) or,
    /// for a declined setup fee with `cancel_on_setup_fail`, cancelled.
    pub fn declined(&mut self, event: Event, attempt: u32) {
        let mut due = match self.state {
            State::Active { due, .. } | State::Paused { due } | State::Suspended { due } => due,
            State::Cancelled | State::Complete => return,
        };
        if due.event != event || due.attempts != attempt {
            return;
        }
        due.attempts = due.attempts.saturating_add(1);
        self.state = match self.state {
            State::Active { .. } if event == Event::Setup && self.cancel_on_setup_fail => {
                State::Cancelled
            }
            State::Active { .. } => match retry_date(due.date, due.attempts - due.retries_from) {
                Some(retry) => State::Active {
                    due,
                    attempt_on: retry,
                },
                None => State::Suspended { due },
            },
            State::Paused { .. } => State::Paused { due },
            _ => State::Suspended { due },
        };
    }

    pub fn pause(&mut self) -> Result<(), TransitionError> {
        match self.state {
            State::Active { due, .. } => {
                self.state = State::Paused { due };
                Ok(())
            }
            _ => Err(self.not_allowed("paused")),
        }
    }

    /// Back to active. A suspended subscription retries its unpaid event from `today` with a
    /// fresh set of retries (attempt numbers go on counting, so every attempt stays distinct); a
    /// paused one skips the cycles that fell in the pause (they are not billed).
    pub fn resume(&mut self, today: NaiveDate) -> Result<(), TransitionError> {
        let mut due = match self.state {
            State::Paused { mut due } => {
                if let Event::Cycle(_) = due.event {
                    let schedule = self.terms.schedule;
                    while due.date < today {
                        let next = schedule.next_billing_date(due.date, self.anchor_day);
                        if next <= due.date {
                            break;
                        }
                        due.date = next;
                    }
                }
                due
            }
            State::Suspended { due } => due,
            _ => return Err(self.not_allowed("resumed")),
        };
        due.retries_from = due.attempts;
        self.state = State::Active {
            due,
            attempt_on: due.date.max(today),
        };
        Ok(())
    }

    pub fn cancel(&mut self) -> Result<(), TransitionError> {
        match self.state {
            State::Cancelled | State::Complete => Err(self.not_allowed("cancelled")),
            _ => {
                self.state = State::Cancelled;
                Ok(())
            }
        }
    }

    /// Bills another card from now on; a suspended subscription is re-activated on it.
    pub fn change_card(
        &mut self,
        card_id: String,
        today: NaiveDate,
    ) -> Result<(), TransitionError> {
        if self.due().is_none() {
            return Err(TransitionError::Ended);
        }
        self.card_id = card_id;
        if let State::Suspended { .. } = self.state {
            self.resume(today)?;
        }
        Ok(())
    }

    /// Moves the next billing date (and the day of month later dates keep to).
    pub fn reschedule(&mut self, date: NaiveDate, today: NaiveDate) -> Result<(), TransitionError> {
        let Some(mut due) = self.due() else {
            return Err(TransitionError::Ended);
        };
        if !matches!(due.event, Event::Cycle(_)) {
            return Err(TransitionError::StartChargesPending);
        }
        if date < today {
            return Err(TransitionError::InThePast(today));
        }
        due.date = date;
        self.anchor_day = date.day();
        self.state = match self.state {
            State::Active { .. } => State::Active {
                due,
                attempt_on: date,
            },
            State::Paused { .. } => State::Paused { due },
            _ => State::Suspended { due },
        };
        Ok(())
    }

    /// The state after `due` is paid: the next event, or complete after the last cycle.
    fn after(&self, due: Due, status: Status) -> State {
        let Some(event) = self.terms.event_after(due.event) else {
            return State::Complete;
        };
        let date = match (due.event, event) {
            (_, Event::Setup | Event::Prorate) => self.date_start,
            (Event::Setup | Event::Prorate, Event::Cycle(_)) => self.first_billing,
            (Event::Cycle(_), Event::Cycle(_)) => self
                .terms
                .schedule
                .next_billing_date(due.date, self.anchor_day),
        };
        let next = Due {
            event,
            date,
            attempts: 0,
            retries_from: 0,
        };
        match status {
            Status::Paused => State::Paused { due: next },
            Status::Suspended => State::Suspended { due: next },
            _ => State::Active {
                due: next,
                attempt_on: date,
            },
        }
    }

    fn not_allowed(&self, action: &'static str) -> TransitionError {
        TransitionError::NotAllowed {
            status: self.status(),
            action,
        }
    }
}

#[cfg(test)]
mod tests;
