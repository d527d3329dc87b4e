use chrono::{Days, NaiveDate, TimeZone};
use proptest::prelude::*;

use super::*;
use crate::vault::billing::schedule::Frequency;

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn terms(frequency: Frequency, length: Length) -> Terms {
    Terms {
        schedule: Schedule::new(frequency, 1, None).unwrap(),
        length,
        trial_cycles: 0,
        amt_setup: None,
        trial_amt: None,
        recur_amt: 1000,
        prorate_amt: None,
        tran_currency: "840".into(),
    }
}

fn subscription(terms: Terms, start: &str) -> Subscription {
    let start = day(start);
    Subscription {
        subscription_id: 1,
        ..Subscription::new(
            1,
            "C".into(),
            "card".into(),
            terms,
            start,
            start,
            Utc.timestamp_opt(0, 0).unwrap(),
        )
    }
}

fn monthly(start: &str, length: Length) -> Subscription {
    subscription(terms(Frequency::Monthly, length), start)
}

/// Charges everything due by `today`, approving each; the dates charged.
fn bill_all(sub: &mut Subscription, today: NaiveDate) -> Vec<NaiveDate> {
    let mut dates = Vec::new();
    while let Some(charge) = sub.charge_due(today) {
        dates.push(charge.date);
        sub.approved(charge.event);
    }
    dates
}

#[test]
fn twelve_monthly_cycles_keep_the_31st_then_complete() {
    let mut sub = monthly("2027-01-31", Length::Cycles(12));
    let dates = bill_all(&mut sub, day("2028-12-31"));
    assert_eq!(dates.len(), 12);
    assert_eq!(dates[1], day("2027-02-28"));
    assert_eq!(dates[2], day("2027-03-31"));
    assert_eq!(dates[11], day("2027-12-31"));
    assert_eq!(sub.state, State::Complete);
    assert_eq!(sub.date_next(), None);
}

#[test]
fn a_leap_year_bills_the_29th_of_february() {
    let mut sub = monthly("2028-01-30", Length::Cycles(3));
    assert_eq!(
        bill_all(&mut sub, day("2028-12-31")),
        [day("2028-01-30"), day("2028-02-29"), day("2028-03-30")]
    );
}

#[test]
fn nothing_is_charged_before_its_date() {
    let sub = monthly("2027-01-31", Length::UntilCancelled);
    assert_eq!(sub.charge_due(day("2027-01-30")), None);
    let charge = sub.charge_due(day("2027-01-31")).unwrap();
    assert_eq!(
        (charge.event, charge.attempt, charge.amount),
        (Event::Cycle(0), 0, 1000)
    );
}

#[test]
fn declines_retry_on_days_1_3_5_then_suspend_and_resume_retries_afresh() {
    let mut sub = monthly("2027-01-10", Length::UntilCancelled);
    let mut retries = Vec::new();
    for attempt in 0..4 {
        sub.declined(Event::Cycle(0), attempt);
        retries.push(sub.attempt_on());
    }
    assert_eq!(
        retries,
        [
            Some(day("2027-01-11")),
            Some(day("2027-01-13")),
            Some(day("2027-01-15")),
            None
        ]
    );
    assert_eq!(sub.status(), Status::Suspended);
    assert_eq!(
        sub.date_next(),
        Some(day("2027-01-10")),
        "the cycle is unpaid"
    );
    sub.resume(day("2027-02-01")).unwrap();
    let charge = sub.charge_due(day("2027-02-01")).unwrap();
    assert_eq!((charge.event, charge.attempt), (Event::Cycle(0), 4));
    assert_eq!(charge.date, day("2027-02-01"));
}

#[test]
fn a_stale_decline_changes_nothing() {
    let mut sub = monthly("2027-01-10", Length::UntilCancelled);
    let before = sub.clone();
    sub.declined(Event::Cycle(0), 3);
    sub.declined(Event::Cycle(5), 0);
    assert_eq!(sub, before);
}

#[test]
fn a_paused_subscription_skips_the_cycles_of_the_pause() {
    let mut sub = monthly("2027-01-10", Length::UntilCancelled);
    sub.pause().unwrap();
    assert_eq!(sub.charge_due(day("2027-05-01")), None);
    sub.resume(day("2027-03-20")).unwrap();
    assert_eq!(sub.date_next(), Some(day("2027-04-10")));
    assert_eq!(sub.attempt_on(), Some(day("2027-04-10")));
}

#[test]
fn setup_and_trial_come_first() {
    let mut terms = terms(Frequency::Monthly, Length::Cycles(2));
    terms.amt_setup = Some(500);
    terms.trial_cycles = 1;
    terms.trial_amt = Some(100);
    let mut sub = subscription(terms, "2027-01-10");
    let mut charges = Vec::new();
    while let Some(charge) = sub.charge_due(day("2030-01-01")) {
        charges.push((charge.kind, charge.amount));
        sub.approved(charge.event);
    }
    assert_eq!(
        charges,
        [
            (ChargeKind::Setup, 500),
            (ChargeKind::Trial, 100),
            (ChargeKind::Recurring, 1000),
            (ChargeKind::Recurring, 1000)
        ]
    );
    assert_eq!(sub.status(), Status::Complete);
}

#[test]
fn a_declined_setup_fee_cancels_when_asked_to() {
    let mut terms = terms(Frequency::Monthly, Length::UntilCancelled);
    terms.amt_setup = Some(500);
    let mut sub = subscription(terms, "2027-01-10");
    sub.cancel_on_setup_fail = true;
    sub.declined(Event::Setup, 0);
    assert_eq!(sub.state, State::Cancelled);
}

#[test]
fn a_charge_in_flight_when_the_cancel_came_is_recorded_without_moving_anything() {
    let mut sub = monthly("2027-01-10", Length::UntilCancelled);
    let charge = sub.charge_due(day("2027-01-10")).unwrap();
    sub.cancel().unwrap();
    sub.approved(charge.event);
    assert_eq!(sub.state, State::Cancelled, "not resurrected");
    sub.declined(charge.event, charge.attempt);
    assert_eq!(sub.state, State::Cancelled);
    assert_eq!(sub.charge_due(day("2099-01-01")), None);
    assert!(sub.resume(day("2027-02-01")).is_err());
}

#[test]
fn a_charge_in_flight_when_the_pause_came_pays_its_cycle_and_stays_paused() {
    let mut sub = monthly("2027-01-10", Length::UntilCancelled);
    let charge = sub.charge_due(day("2027-01-10")).unwrap();
    sub.pause().unwrap();
    sub.approved(charge.event);
    assert_eq!(sub.status(), Status::Paused);
    assert_eq!(sub.date_next(), Some(day("2027-02-10")));
    assert_eq!(sub.charge_due(day("2027-03-01")), None);
    sub.resume(day("2027-02-01")).unwrap();
    assert_eq!(
        sub.charge_due(day("2027-02-10")).map(|c| c.event),
        Some(Event::Cycle(1)),
        "the paid cycle is not charged again"
    );
}

#[test]
fn a_decline_in_flight_during_a_pause_uses_up_its_attempt_number() {
    let mut sub = monthly("2027-01-10", Length::UntilCancelled);
    let charge = sub.charge_due(day("2027-01-10")).unwrap();
    sub.pause().unwrap();
    sub.declined(charge.event, charge.attempt);
    sub.resume(day("2027-01-10")).unwrap();
    let again = sub.charge_due(day("2027-01-10")).unwrap();
    assert_eq!((again.event, again.attempt), (Event::Cycle(0), 1));
}

#[test]
fn transitions_refuse_what_the_state_does_not_allow() {
    let mut sub = monthly("2027-01-10", Length::UntilCancelled);
    assert!(sub.resume(day("2027-01-10")).is_err(), "active");
    sub.pause().unwrap();
    assert!(sub.pause().is_err(), "paused twice");
    sub.cancel().unwrap();
    assert!(sub.cancel().is_err());
    assert_eq!(
        sub.reschedule(day("2027-03-01"), day("2027-01-10")),
        Err(TransitionError::Ended)
    );
    assert_eq!(
        sub.change_card("other".into(), day("2027-01-10")),
        Err(TransitionError::Ended)
    );
    let mut sub = monthly("2027-01-10", Length::UntilCancelled);
    assert_eq!(
        sub.reschedule(day("2027-01-09"), day("2027-01-10")),
        Err(TransitionError::InThePast(day("2027-01-10")))
    );
    sub.reschedule(day("2027-01-20"), day("2027-01-10"))
        .unwrap();
    assert_eq!(sub.attempt_on(), Some(day("2027-01-20")));
    assert_eq!(sub.anchor_day, 20);
}

#[test]
fn a_new_card_reactivates_a_suspended_subscription() {
    let mut sub = monthly("2027-01-10", Length::UntilCancelled);
    for attempt in 0..4 {
        sub.declined(Event::Cycle(0), attempt);
    }
    sub.change_card("new".into(), day("2027-01-20")).unwrap();
    assert_eq!(sub.status(), Status::Active);
    assert_eq!(sub.card_id, "new");
    assert_eq!(sub.attempt_on(), Some(day("2027-01-20")));
}

#[test]
fn event_and_length_codes_round_trip() {
    for event in [
        Event::Setup,
        Event::Prorate,
        Event::Cycle(0),
        Event::Cycle(7),
    ] {
        assert_eq!(Event::from_code(event.code()), Some(event));
    }
    assert_eq!(Event::from_code(-3), None);
    for code in [-1, 1, 12, 9999] {
        assert_eq!(Length::from_code(code).map(Length::code), Some(code));
    }
    for code in [0, -2, 10_000] {
        assert_eq!(Length::from_code(code), None);
    }
    for status in ["A", "P", "S", "C", "D"] {
        assert_eq!(Status::from_code(status).map(Status::code), Some(status));
    }
}

// ---- random sequences ----

#[derive(Debug, Clone)]
enum Step {
    /// Moves today on and bills everything due, each attempt approved or not.
    Bill {
        days: u64,
        approve: Vec<bool>,
    },
    /// Claims the due charge, then pauses or cancels before its outcome is recorded.
    InFlight {
        cancel: bool,
        approve: bool,
    },
    Pause,
    Resume,
    Cancel,
    Reschedule(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..40_u64, prop::collection::vec(any::<bool>(), 1..8))
            .prop_map(|(days, approve)| Step::Bill { days, approve }),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(cancel, approve)| Step::InFlight { cancel, approve }),
        1 => Just(Step::Pause),
        1 => Just(Step::Resume),
        1 => Just(Step::Cancel),
        1 => (0..60_u64).prop_map(Step::Reschedule),
    ]
}

fn random_terms() -> impl Strategy<Value = Terms> {
    (
        prop::sample::select(vec![
            Frequency::Daily,
            Frequency::Weekly,
            Frequency::BiWeekly,
            Frequency::Monthly,
            Frequency::Quarterly,
            Frequency::Annually,
        ]),
        prop_oneof![
            Just(Length::UntilCancelled),
            (1..12_u32).prop_map(Length::Cycles)
        ],
        0..3_u32,
        prop::option::of(0..500_i64),
        prop::option::of(0..500_i64),
        prop::option::of(0..500_i64),
        0..2000_i64,
    )
        .prop_map(
            |(frequency, length, trial_cycles, setup, trial, prorate, recur)| Terms {
                schedule: Schedule::new(frequency, 1, None).unwrap(),
                length,
                trial_cycles,
                amt_setup: setup,
                trial_amt: trial,
                recur_amt: recur,
                prorate_amt: prorate,
                tran_currency: "840".into(),
            },
        )
}

/// What the model engine charged: (event, attempt, date, approved).
type Attempt = (Event, u32, NaiveDate, bool);

/// Attempts one due charge (or passes a free one); `None` when nothing is due.
fn attempt(sub: &mut Subscription, today: NaiveDate, approve: bool) -> Option<Option<Attempt>> {
    let charge = sub.charge_due(today)?;
    if charge.amount == 0 {
        sub.pass_free(charge.event);
        return Some(None);
    }
    if approve {
        sub.approved(charge.event);
    } else {
        sub.declined(charge.event, charge.attempt);
    }
    Some(Some((charge.event, charge.attempt, charge.date, approve)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_histories_never_charge_after_a_cancel_twice_for_a_period_or_before_the_start(
        terms in random_terms(),
        cancel_on_setup_fail in any::<bool>(),
        start_offset in 0..1500_u64,
        steps in prop::collection::vec(step(), 1..30),
    ) {
        let start = day("2027-01-01") + Days::new(start_offset);
        let mut sub = subscription(terms, "2027-01-01");
        sub.date_start = start;
        sub.first_billing = start;
        sub.anchor_day = start.day();
        sub.state = Subscription::first_state(&sub.terms, start, start);
        sub.cancel_on_setup_fail = cancel_on_setup_fail;

        let mut today = start;
        let mut attempts: Vec<Attempt> = Vec::new();
        let mut cancelled = false;
        for step in steps {
            let before = attempts.len();
            let was_cancelled = cancelled;
            match step {
                Step::Bill { days, approve } => {
                    today = today + Days::new(days);
                    for n in 0..10_000 {
                        match attempt(&mut sub, today, approve[n % approve.len()]) {
                            None => break,
                            Some(made) => attempts.extend(made),
                        }
                    }
                }
                Step::InFlight { cancel, approve } => {
                    if let Some(charge) = sub.charge_due(today).filter(|c| c.amount > 0) {
                        let stopped = if cancel { sub.cancel() } else { sub.pause() };
                        cancelled |= cancel && stopped.is_ok();
                        if approve {
                            sub.approved(charge.event);
                        } else {
                            sub.declined(charge.event, charge.attempt);
                        }
                        // The in-flight attempt was claimed before the cancel answered.
                        attempts.push((charge.event, charge.attempt, charge.date, approve));
                    }
                }
                Step::Pause => { let _ = sub.pause(); }
                Step::Resume => {
                    let resumed = sub.resume(today);
                    prop_assert!(!(cancelled && resumed.is_ok()), "a cancelled subscription resumed");
                }
                Step::Cancel => { cancelled |= sub.cancel().is_ok(); }
                Step::Reschedule(days) => { let _ = sub.reschedule(today + Days::new(days), today); }
            }
            if cancelled {
                prop_assert_eq!(sub.state, State::Cancelled);
                prop_assert_eq!(sub.date_next(), None);
            }
            if was_cancelled {
                prop_assert!(attempts.len() == before, "charged after the cancel: {:?}", &attempts[before..]);
            }
        }

        let mut approved_events = std::collections::HashSet::new();
        let mut attempt_keys = std::collections::HashSet::new();
        for (event, number, date, approved) in &attempts {
            prop_assert!(*date >= start, "charged on {} before the start {}", date, start);
            prop_assert!(*date <= today, "charged on {} after today {}", date, today);
            prop_assert!(attempt_keys.insert((*event, *number)), "attempt {:?} #{} made twice", event, number);
            if *approved {
                prop_assert!(approved_events.insert(*event), "{:?} approved twice: {:?}", event, attempts);
            }
        }
    }
}
