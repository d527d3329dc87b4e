//! A pause or cancel is final for billing: two servers on one database, one moving the clock
//! over two years (billing every week), the other pausing and cancelling the same
//! subscriptions meanwhile. After a pause or cancel has answered, at most the one attempt that
//! was already in flight may still be recorded (dated no later than that day), nothing is
//! charged after it, and no subscription shows an invented date.

use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::{Value, json};
use tokio::sync::watch;
use vaultql::vault::billing::attempts::plan_claims;
use vaultql::vault::billing::engine::Engine;
use vaultql::vault::store::Database;
use vaultql::vault::store::billing::Lane;

use crate::billing_support::{
    OwnServer, act, advance, billing_app_with_file_db, brief, clock_today, customer_with_card,
    date, engine_on, merchant_now, ok_data, shared_data_dir, sub_id, subscribe, subscription,
    transactions,
};
use crate::helpers::{MERCHANT_A, TestApp};
use crate::testdata::VISA;

const SUBSCRIPTIONS: usize = 24;

/// A weekly subscription from `start`, until cancelled.
fn weekly(customer_id: &str, start: NaiveDate) -> Value {
    json!({
        "customer_id": customer_id,
        "date_start": start.to_string(),
        "plan_frequency": 0,
        "plan_duration": -1,
        "amt_tran": 1.25
    })
}

/// What a pause or cancel left to check: the attempts recorded when it answered, and the
/// merchant's date just after.
struct Stopped {
    id: i64,
    action: &'static str,
    recorded: usize,
    today_after: NaiveDate,
}

/// Pauses or cancels (`action` is `pause` or `cancel`), and notes what was recorded then.
async fn stop(app: &TestApp, id: i64, customer_id: &str, action: &'static str) -> Stopped {
    let resp = act(app, id, action, customer_id).await;
    ok_data(&resp, None);
    Stopped {
        id,
        action,
        recorded: transactions(app, id).await.len(),
        today_after: clock_today(app).await,
    }
}

/// Nothing but the one attempt in flight was recorded after `stop`, and nothing dated later.
fn assert_nothing_after(stopped: &Stopped, attempts: &[Value]) {
    assert!(
        attempts.len() <= stopped.recorded + 1,
        "subscription {}: {} attempts at its {}, {} now: {}",
        stopped.id,
        stopped.recorded,
        stopped.action,
        attempts.len(),
        brief(attempts)
    );
    for attempt in &attempts[stopped.recorded.min(attempts.len())..] {
        let day = date(attempt["tran_date"].as_str().expect("tran_date"));
        assert!(
            day <= stopped.today_after,
            "subscription {}: charged on {day}, after its {} on {}: {}",
            stopped.id,
            stopped.action,
            stopped.today_after,
            brief(attempts)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cancels_and_pauses_racing_a_two_year_clock_advance_are_never_billed_after_they_answer() {
    let dir = shared_data_dir();
    let billing = OwnServer::start(dir.path(), |_| {}).await;
    let customers = OwnServer::start(dir.path(), |_| {}).await;
    let (a, b) = (billing.app.clone(), customers.app.clone());
    let start = clock_today(&a).await;
    let mut subs = Vec::new();
    for n in 0..SUBSCRIPTIONS {
        let customer_id = format!("Race{n:02}");
        customer_with_card(&b, &customer_id, VISA).await;
        let id = sub_id(&subscribe(&b, &weekly(&customer_id, start)).await);
        subs.push((id, customer_id));
    }

    // Server A moves the clock a month at a time for two years; server B acts between (and
    // during) its advances, each round on the next few subscriptions.
    let (month_tx, mut month_rx) = watch::channel(0_usize);
    let advancing = tokio::spawn(async move {
        for month in 1..=24 {
            advance(&a, "P1M").await;
            let _ = month_tx.send(month);
        }
    });
    let mut stopped = Vec::new();
    let mut paused = Vec::new();
    for (n, (id, customer_id)) in subs.iter().enumerate() {
        // Wait for the next month to be billed, so each act lands in a different advance.
        if month_rx.changed().await.is_err() {
            break;
        }
        if n % 2 == 0 {
            stopped.push(stop(&b, *id, customer_id, "cancel").await);
        } else {
            let pause = stop(&b, *id, customer_id, "pause").await;
            paused.push((pause, customer_id.clone()));
        }
    }
    advancing.await.expect("the advances ran");

    // Paused ones: nothing after the pause; then cancelled for good.
    for (pause, customer_id) in &paused {
        assert_nothing_after(pause, &transactions(&b, pause.id).await);
        stopped.push(stop(&b, pause.id, customer_id, "cancel").await);
    }
    assert!(!stopped.is_empty(), "the race ran");
    advance(&b, "P3M").await;

    for cancel in &stopped {
        let attempts = transactions(&b, cancel.id).await;
        assert_nothing_after(cancel, &attempts);
        let sub = subscription(&b, cancel.id).await;
        assert_eq!(sub["status"], "C", "never resurrected: {sub}");
        assert!(
            sub.get("date_next").is_none(),
            "no next date once cancelled: {sub}"
        );
        for (key, value) in sub.as_object().expect("an object") {
            if let Some(text) = value.as_str()
                && key.starts_with("date_")
                && let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
            {
                assert!(
                    day >= start,
                    "{key} = {day}, before the start {start}: {sub}"
                );
            }
        }
        let mut days: Vec<&str> = attempts
            .iter()
            .filter(|t| t["tran_status"] == "A")
            .map(|t| t["tran_date"].as_str().unwrap_or_default())
            .collect();
        let approved = days.len();
        days.dedup();
        assert_eq!(
            days.len(),
            approved,
            "one charge a date: {}",
            brief(&attempts)
        );
    }
    drop((billing, customers));
}

/// A customer with a card and a weekly subscription from today, on a server with a file
/// database; and an engine of its own on that database.
async fn one_daily(customer_id: &str) -> (TestApp, Engine, Arc<dyn Database>, i64, NaiveDate) {
    let app = billing_app_with_file_db().await;
    let today = clock_today(&app).await;
    customer_with_card(&app, customer_id, VISA).await;
    let id = sub_id(&subscribe(&app, &weekly(customer_id, today)).await);
    let (engine, store) = engine_on(&app.data_dir).await;
    (app, engine, store, id, today)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancel_that_commits_between_a_claims_read_and_its_write_is_never_claimed() {
    let (app, engine, store, id, today) = one_daily("Between01").await;
    let now = merchant_now(&store, MERCHANT_A).await;
    let due = store
        .due_subscriptions(MERCHANT_A, today, 100, Lane::ALL)
        .await
        .expect("the due subscriptions");
    assert_eq!(due.len(), 1, "the subscription is due today");

    ok_data(&act(&app, id, "cancel", "Between01").await, None);
    let claimed = store
        .write_claims(plan_claims(due, today, now))
        .await
        .expect("the claim transaction");
    assert!(claimed.attempts.is_empty(), "{:?}", claimed.attempts);

    let later = engine
        .run(MERCHANT_A, now + chrono::Duration::days(30), &|_| {})
        .await
        .expect("a run");
    assert_eq!((later.approved, later.declined), (0, 0));
    assert!(transactions(&app, id).await.is_empty());
    assert_eq!(
        store
            .processor_charge_count(MERCHANT_A)
            .await
            .expect("count"),
        0
    );
    assert_eq!(subscription(&app, id).await["status"], "C");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_attempt_in_flight_when_the_cancel_commits_is_recorded_and_moves_nothing() {
    let (app, engine, store, id, today) = one_daily("Flight01").await;
    let now = merchant_now(&store, MERCHANT_A).await;
    let claimed = engine.claim(MERCHANT_A, now).await.expect("the claim");
    assert_eq!(claimed.attempts.len(), 1);

    ok_data(&act(&app, id, "cancel", "Flight01").await, None);
    let outcomes = engine
        .charge(MERCHANT_A, &claimed.attempts, claimed.cards, now)
        .await
        .expect("the charge");
    let tally = engine
        .record(MERCHANT_A, &outcomes, claimed.subscriptions, now)
        .await
        .expect("the record");
    assert_eq!(
        tally.approved, 1,
        "the charge that was in flight is recorded"
    );

    let sub = subscription(&app, id).await;
    assert_eq!(sub["status"], "C", "not resurrected: {sub}");
    assert!(sub.get("date_next").is_none(), "{sub}");
    let charged = transactions(&app, id).await;
    assert_eq!(charged.len(), 1, "{}", brief(&charged));
    assert_eq!(charged[0]["tran_date"], today.to_string());
    let later = engine
        .run(MERCHANT_A, now + chrono::Duration::days(60), &|_| {})
        .await
        .expect("a run");
    assert_eq!(
        (later.approved, later.declined),
        (0, 0),
        "nothing after the cancel"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_attempt_in_flight_when_the_pause_commits_pays_its_week_then_the_resume_bills_the_next()
{
    let (app, engine, store, id, today) = one_daily("Flight02").await;
    let now = merchant_now(&store, MERCHANT_A).await;
    let claimed = engine.claim(MERCHANT_A, now).await.expect("the claim");
    ok_data(&act(&app, id, "pause", "Flight02").await, None);
    let outcomes = engine
        .charge(MERCHANT_A, &claimed.attempts, claimed.cards, now)
        .await
        .expect("the charge");
    engine
        .record(MERCHANT_A, &outcomes, claimed.subscriptions, now)
        .await
        .expect("the record");
    let sub = subscription(&app, id).await;
    assert_eq!(sub["status"], "P", "still paused: {sub}");
    let next_week = today + chrono::Days::new(7);
    assert_eq!(
        sub["date_next"],
        next_week.to_string(),
        "the week is paid: {sub}"
    );

    let paused = engine
        .run(MERCHANT_A, now + chrono::Duration::days(7), &|_| {})
        .await
        .expect("a run");
    assert_eq!(paused.approved, 0, "nothing while paused");
    ok_data(&act(&app, id, "resume", "Flight02").await, None);
    let resumed = engine
        .run(MERCHANT_A, now + chrono::Duration::days(7), &|_| {})
        .await
        .expect("a run");
    assert_eq!(resumed.approved, 1, "the next week, once");
    let charged = transactions(&app, id).await;
    assert_eq!(
        charged
            .iter()
            .map(|t| t["tran_date"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>(),
        [today.to_string(), next_week.to_string()],
        "{}",
        brief(&charged)
    );
}
