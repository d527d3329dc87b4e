//! Subscription rules: what a new subscription bills and when, and how its state moves on after
//! a payment attempt, a pause, a resume, a cancel or a card change.
//!
//! A subscription is a sequence of billing events: `-2` the setup fee and `-1` the prorated
//! first payment (both on the start date, when there are any), then the billing cycles `0, 1, 2…`
//! (the first `trial_duration` of them at the trial amount). `next_event` and `date_next` say
//! which is due; a declined event is retried on `next_attempt_on` without moving on.

use chrono::NaiveDate;

use super::money::dollars;
use super::plans;
use super::schedule::{Frequency, Schedule, retry_date};
use crate::qualpay::{GatewayResponse, Subscription, Transaction};
use crate::vault::store::billing::{SubscriptionRow, TransactionRow};

pub const SETUP_EVENT: i64 = -2;
pub const PRORATE_EVENT: i64 = -1;

pub const ACTIVE: &str = "A";
pub const PAUSED: &str = "P";
pub const CANCELLED: &str = "C";
pub const SUSPENDED: &str = "S";
pub const COMPLETE: &str = "D";

pub fn date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

pub fn day(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

pub fn schedule(sub: &SubscriptionRow) -> Schedule {
    let frequency = Frequency::from_code(sub.plan_frequency).unwrap_or(Frequency::Monthly);
    plans::specific_schedule(
        frequency,
        sub.interval,
        sub.bill_specific_day,
        [sub.day_of_week, sub.day_of_month, sub.month],
    )
    // Stored schedules were validated when the subscription was made.
    .unwrap_or(Schedule {
        frequency,
        interval: 1,
        specific_day: None,
    })
}

/// What an event charges: its kind and amount in cents.
pub fn charge_of(sub: &SubscriptionRow, event: i64) -> (&'static str, i64) {
    match event {
        SETUP_EVENT => ("setup", sub.amt_setup.unwrap_or(0)),
        PRORATE_EVENT => ("prorate", sub.prorate_amt.unwrap_or(0)),
        cycle if cycle < i64::from(sub.trial_duration) => ("trial", sub.trial_amt.unwrap_or(0)),
        _ => ("recurring", sub.recur_amt),
    }
}

/// The first event of a new subscription.
pub fn first_event(sub: &SubscriptionRow) -> i64 {
    if sub.amt_setup.unwrap_or(0) > 0 {
        SETUP_EVENT
    } else if sub.prorate_amt.unwrap_or(0) > 0 {
        PRORATE_EVENT
    } else {
        0
    }
}

/// Moves `sub` past its current event (charged, or free): the next event and its date, or
/// complete after the last cycle.
pub fn advance(sub: &mut SubscriptionRow) {
    let current = sub.next_event;
    let next = match current {
        SETUP_EVENT if sub.prorate_amt.unwrap_or(0) > 0 => PRORATE_EVENT,
        SETUP_EVENT | PRORATE_EVENT => 0,
        cycle => cycle + 1,
    };
    sub.failed_attempts = 0;
    sub.retry_base = 0;
    let cycles = i64::from(sub.trial_duration) + i64::from(sub.plan_duration);
    if sub.plan_duration != -1 && next >= cycles {
        sub.status = COMPLETE.into();
        sub.next_event = next;
        sub.date_next = None;
        sub.next_attempt_on = None;
        return;
    }
    let next_date = if next < 0 {
        sub.date_start.clone()
    } else if current < 0 {
        sub.first_billing.clone()
    } else {
        let current_date = sub.date_next.as_deref().and_then(date).unwrap_or_default();
        day(schedule(sub).next_billing_date(current_date, anchor(sub)))
    };
    sub.next_event = next;
    sub.date_next = Some(next_date.clone());
    sub.next_attempt_on = Some(next_date);
}

/// After a declined attempt: retried 1, 3 and 5 days after the due date, then suspended (or
/// cancelled, for a declined setup fee with `cancel_on_setup_fail`).
pub fn decline(sub: &mut SubscriptionRow) {
    sub.failed_attempts += 1;
    if sub.next_event == SETUP_EVENT && sub.cancel_on_setup_fail {
        cancel(sub);
        return;
    }
    let due = sub.date_next.as_deref().and_then(date).unwrap_or_default();
    let failed = sub.failed_attempts - sub.retry_base;
    match retry_date(due, u32::try_from(failed).unwrap_or(u32::MAX)) {
        Some(retry) => sub.next_attempt_on = Some(day(retry)),
        None => {
            sub.status = SUSPENDED.into();
            sub.next_attempt_on = None;
        }
    }
}

pub fn cancel(sub: &mut SubscriptionRow) {
    sub.status = CANCELLED.into();
    sub.date_next = None;
    sub.next_attempt_on = None;
}

/// Back to active. A suspended subscription retries its unpaid event today, with a fresh set of
/// retries (attempt numbers go on counting, so every attempt stays distinct); a paused one skips
/// the cycles that fell in the pause (they are not billed) and bills from the next one on.
pub fn resume(sub: &mut SubscriptionRow, today: NaiveDate) {
    let was = std::mem::replace(&mut sub.status, ACTIVE.into());
    sub.retry_base = sub.failed_attempts;
    let Some(mut due) = sub.date_next.as_deref().and_then(date) else {
        return;
    };
    if was == PAUSED && sub.next_event >= 0 {
        let schedule = schedule(sub);
        while due < today {
            due = schedule.next_billing_date(due, anchor(sub));
        }
        sub.date_next = Some(day(due));
    }
    sub.next_attempt_on = Some(day(due.max(today)));
}

/// The billing date one cycle before `date`, for the length of the cycle that ends on it.
pub fn previous_billing_date(schedule: &Schedule, date: NaiveDate, anchor_day: u32) -> NaiveDate {
    use chrono::{Datelike, Days, Months};
    let months = |n: u32| {
        let back = date.checked_sub_months(Months::new(n)).unwrap_or(date);
        let last = (28..=31)
            .rev()
            .find(|d| back.with_day(*d).is_some())
            .unwrap_or(28);
        back.with_day(anchor_day.min(last)).unwrap_or(back)
    };
    let days = |n: u64| date.checked_sub_days(Days::new(n)).unwrap_or(date);
    match schedule.frequency {
        Frequency::Daily => days(1),
        Frequency::Weekly => days(7 * u64::from(schedule.interval)),
        Frequency::BiWeekly => days(14),
        Frequency::Monthly => months(schedule.interval),
        Frequency::Quarterly => months(3),
        Frequency::BiAnnually => months(6),
        Frequency::Annually => months(12),
    }
}

fn anchor(sub: &SubscriptionRow) -> u32 {
    u32::try_from(sub.anchor_day).unwrap_or(1)
}

/// The wire form, with the last attempt as `response`.
pub fn to_wire(sub: SubscriptionRow, last: Option<TransactionRow>) -> Subscription {
    let schedule = schedule(&sub);
    let first = date(&sub.first_billing).unwrap_or_default();
    let anchor = anchor(&sub);
    let nth = |n: i64| {
        u32::try_from(n)
            .ok()
            .map(|n| day(schedule.nth_billing_date(first, anchor, n)))
    };
    let trial = i64::from(sub.trial_duration);
    let recur_end = (sub.plan_duration != -1)
        .then(|| nth(trial + i64::from(sub.plan_duration) - 1))
        .flatten();
    Subscription {
        subscription_id: Some(sub.subscription_id),
        merchant_id: Some(sub.merchant_id),
        customer_id: Some(sub.customer_id),
        card_id: Some(sub.card_id),
        status: Some(sub.status),
        profile_id: sub.profile_id,
        subscription_on_plan: Some(sub.plan_id.is_some()),
        plan_id: sub.plan_id,
        plan_name: sub.plan_name,
        plan_code: sub.plan_code,
        plan_desc: sub.plan_desc,
        plan_frequency: Some(sub.plan_frequency),
        plan_duration: Some(sub.plan_duration),
        interval: Some(sub.interval),
        date_start: Some(sub.date_start.clone()),
        date_next: sub.date_next,
        date_end: recur_end.clone(),
        amt_setup: sub.amt_setup.map(dollars),
        prorate_date_start: sub
            .prorate_amt
            .filter(|a| *a > 0)
            .map(|_| sub.date_start.clone()),
        prorate_amt: sub.prorate_amt.map(dollars),
        trial_date_start: (trial > 0).then(|| sub.first_billing.clone()),
        trial_date_end: (trial > 0).then(|| nth(trial - 1)).flatten(),
        trial_amt: sub.trial_amt.map(dollars),
        recur_date_start: nth(trial),
        recur_date_end: recur_end,
        recur_amt: Some(dollars(sub.recur_amt)),
        response: last.map(gateway_response),
        tran_currency: Some(sub.tran_currency),
        purchase_id: sub.purchase_id,
        ..Subscription::default()
    }
}

/// A payment attempt as `GET /subscription/transactions` shows it.
pub fn transaction_to_wire(t: TransactionRow) -> Transaction {
    Transaction {
        merchant_id: Some(t.merchant_id),
        tran_time: Some(t.tran_time),
        tran_date: Some(t.tran_date),
        tran_status: Some(t.tran_status),
        auth_code: t.auth_code,
        rcode: t.rcode,
        card_number: Some(t.card_number),
        card_type: t.card_type,
        purchase_id: t.purchase_id,
        pg_id: Some(t.pg_id),
        cardholder_first_name: t.cardholder_first_name,
        cardholder_last_name: t.cardholder_last_name,
        amt_tran: Some(dollars(t.amt_tran)),
        tran_currency: Some(t.tran_currency),
        customer_id: Some(t.customer_id),
        subscription_id: Some(t.subscription_id.to_string()),
        card_id: Some(t.card_id),
    }
}

fn gateway_response(t: TransactionRow) -> GatewayResponse {
    GatewayResponse {
        pg_id: Some(t.pg_id),
        status: Some(
            if t.tran_status == "A" {
                "Approved"
            } else {
                "Declined"
            }
            .into(),
        ),
        rcode: t.rcode,
        rmsg: t.rmsg,
        auth_code: t.auth_code,
        card_id: Some(t.card_id),
        card_number: Some(t.card_number),
        tran_time: Some(t.tran_time),
        amt_tran: Some(dollars(t.amt_tran)),
        merchant_id: Some(t.merchant_id),
        customer_id: Some(t.customer_id),
        tran_currency: Some(t.tran_currency),
        recurring: Some(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monthly(start: &str, duration: i32) -> SubscriptionRow {
        SubscriptionRow {
            plan_frequency: 3,
            interval: 1,
            plan_duration: duration,
            anchor_day: date(start)
                .map(|d| chrono::Datelike::day(&d) as i32)
                .unwrap(),
            recur_amt: 1000,
            status: ACTIVE.into(),
            date_start: start.into(),
            first_billing: start.into(),
            date_next: Some(start.into()),
            next_attempt_on: Some(start.into()),
            ..SubscriptionRow::default()
        }
    }

    #[test]
    fn twelve_monthly_cycles_then_complete() {
        let mut sub = monthly("2027-01-31", 12);
        let mut dates = vec![sub.date_next.clone().unwrap()];
        for _ in 0..12 {
            advance(&mut sub);
            dates.extend(sub.date_next.clone());
        }
        assert_eq!(dates.len(), 12);
        assert_eq!(dates[1], "2027-02-28");
        assert_eq!(dates[2], "2027-03-31");
        assert_eq!(sub.status, COMPLETE);
    }

    #[test]
    fn declines_retry_on_days_1_3_5_then_suspend() {
        let mut sub = monthly("2027-01-10", -1);
        let mut retries = Vec::new();
        for _ in 0..4 {
            decline(&mut sub);
            retries.push(sub.next_attempt_on.clone());
        }
        assert_eq!(
            retries,
            [
                Some("2027-01-11".into()),
                Some("2027-01-13".into()),
                Some("2027-01-15".into()),
                None
            ]
        );
        assert_eq!(sub.status, SUSPENDED);
        resume(&mut sub, date("2027-02-01").unwrap());
        assert_eq!(sub.status, ACTIVE);
        assert_eq!(sub.next_attempt_on.as_deref(), Some("2027-02-01"));
        assert_eq!(
            sub.date_next.as_deref(),
            Some("2027-01-10"),
            "the unpaid cycle is still due"
        );
    }

    #[test]
    fn the_cycle_before_a_date_keeps_the_anchor_day() {
        let monthly = Schedule {
            frequency: Frequency::Monthly,
            interval: 1,
            specific_day: None,
        };
        let day = |s| date(s).unwrap();
        assert_eq!(
            previous_billing_date(&monthly, day("2026-11-25"), 25),
            day("2026-10-25")
        );
        assert_eq!(
            previous_billing_date(&monthly, day("2027-03-31"), 31),
            day("2027-02-28")
        );
        let weekly = Schedule {
            frequency: Frequency::Weekly,
            interval: 2,
            specific_day: None,
        };
        assert_eq!(
            previous_billing_date(&weekly, day("2026-11-25"), 25),
            day("2026-11-11")
        );
    }

    #[test]
    fn a_paused_subscription_skips_the_cycles_of_the_pause() {
        let mut sub = monthly("2027-01-10", -1);
        sub.status = PAUSED.into();
        resume(&mut sub, date("2027-03-20").unwrap());
        assert_eq!(sub.date_next.as_deref(), Some("2027-04-10"));
    }

    #[test]
    fn setup_and_trial_come_first() {
        let mut sub = monthly("2027-01-10", 2);
        sub.amt_setup = Some(500);
        sub.trial_duration = 1;
        sub.trial_amt = Some(100);
        sub.next_event = first_event(&sub);
        let mut charges = vec![charge_of(&sub, sub.next_event)];
        while sub.status == ACTIVE {
            advance(&mut sub);
            if sub.status == ACTIVE {
                charges.push(charge_of(&sub, sub.next_event));
            }
        }
        assert_eq!(
            charges,
            [
                ("setup", 500),
                ("trial", 100),
                ("recurring", 1000),
                ("recurring", 1000)
            ]
        );
    }
}
