//! The engine is a function of (store, merchant, now): run directly, without HTTP or a clock,
//! from start dates where calendar arithmetic goes wrong first (month ends, a leap day, the
//! year's end), it bills each monthly cycle exactly once, on the day it falls due.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use vaultql::qualpay::{AddBillingCardRequest, AddCustomerRequest};
use vaultql::secret::Secret;
use vaultql::vault::billing::engine::Engine;
use vaultql::vault::billing::schedule::{Frequency, Schedule};
use vaultql::vault::billing::subscription::{Length, Subscription, Terms};
use vaultql::vault::crypto::MasterKey;
use vaultql::vault::service::VaultService;
use vaultql::vault::store::Database;

use crate::billing_support::months_after;
use crate::testdata::VISA;

const MERCHANT: i64 = 4242;

/// The start dates the billing tests are also run from (see `.ci/run`).
const START_DATES: [&str; 7] = [
    "2027-01-29",
    "2027-01-31",
    "2027-02-28",
    "2028-02-29",
    "2027-03-31",
    "2027-12-31",
    "2026-11-30",
];

fn noon(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(12, 0, 0).expect("noon").and_utc()
}

/// A vault and engine (three attempts a batch) on a fresh in-memory database, and a
/// customer's card.
async fn engine(now: DateTime<Utc>) -> (Engine, Arc<dyn Database>, String) {
    engine_with_batch(now, 3).await
}

async fn engine_with_batch(
    now: DateTime<Utc>,
    batch: usize,
) -> (Engine, Arc<dyn Database>, String) {
    let store = crate::database::open_private().await;
    let vault = Arc::new(
        VaultService::open(store.clone(), &MasterKey::generate(), now)
            .await
            .expect("the vault opens"),
    );
    let customer = AddCustomerRequest {
        customer_id: Some("CAL".into()),
        customer_first_name: Some("Cal".into()),
        customer_last_name: Some("Endar".into()),
        billing_cards: Some(vec![AddBillingCardRequest {
            card_number: Some(Secret::new(VISA.to_owned())),
            exp_date: Some("1239".into()),
            billing_zip: Some("94107".into()),
            ..AddBillingCardRequest::default()
        }]),
        ..AddCustomerRequest::default()
    };
    let record = vault
        .add_customer(MERCHANT, customer, now)
        .await
        .expect("the customer is stored");
    let card_id = record.cards[0].card_id.clone();
    (Engine::new(vault, store.clone(), batch), store, card_id)
}

/// `cycles` monthly cycles from `start`, anchored on its day.
fn monthly(card_id: &str, start: NaiveDate, cycles: u32, now: DateTime<Utc>) -> Subscription {
    let terms = Terms {
        schedule: Schedule::new(Frequency::Monthly, 1, None).expect("monthly"),
        length: Length::Cycles(cycles),
        trial_cycles: 0,
        amt_setup: None,
        trial_amt: None,
        recur_amt: 1999,
        prorate_amt: None,
        tran_currency: "840".into(),
    };
    Subscription {
        plan_desc: Some("calendar".into()),
        ..Subscription::new(
            MERCHANT,
            "CAL".into(),
            card_id.to_owned(),
            terms,
            start,
            start,
            now,
        )
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_year_of_monthly_billing_from_every_hard_start_date_bills_each_cycle_once_on_its_day() {
    for text in START_DATES {
        let start: NaiveDate = text.parse().expect("a date");
        let (engine, store, card_id) = engine(noon(start)).await;
        let sub = store
            .insert_subscription(&monthly(&card_id, start, 12, noon(start)))
            .await
            .expect("the subscription is stored");
        let due: Vec<NaiveDate> = (0..12)
            .map(|n| months_after(start, n, start.day()))
            .collect();

        // The engine runs once on each due date, once the day before it, and once a day late:
        // each cycle is billed on its date, never early and never again.
        let mut billed = 0;
        for day in &due {
            let before = engine
                .run(MERCHANT, noon(*day - chrono::Days::new(1)), &|_| {})
                .await
                .expect("a run");
            assert_eq!(
                before.approved, 0,
                "from {start}: nothing is due before {day}"
            );
            let on = engine
                .run(MERCHANT, noon(*day), &|_| {})
                .await
                .expect("a run");
            assert_eq!(on.approved, 1, "from {start}: the cycle of {day}");
            let late = engine
                .run(MERCHANT, noon(*day + chrono::Days::new(1)), &|_| {})
                .await
                .expect("a run");
            assert_eq!(late.approved, 0, "from {start}: {day} is billed once");
            billed += on.approved;
        }
        assert_eq!(billed, 12, "from {start}");
        let after = store
            .subscription(MERCHANT, sub.subscription_id)
            .await
            .expect("the subscription");
        assert_eq!(
            after.date_next(),
            None,
            "from {start}: complete, no next date"
        );
        assert_eq!(
            store.processor_charge_count(MERCHANT).await.expect("count"),
            12,
            "from {start}: the processor charged each cycle once"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clock_jump_over_a_year_bills_every_missed_cycle_oldest_first_in_one_run() {
    for text in START_DATES {
        let start: NaiveDate = text.parse().expect("a date");
        let (engine, store, card_id) = engine(noon(start)).await;
        for _ in 0..4 {
            store
                .insert_subscription(&monthly(&card_id, start, 24, noon(start)))
                .await
                .expect("stored");
        }
        let a_year_later = months_after(start, 12, start.day());
        let run = engine
            .run(MERCHANT, noon(a_year_later), &|_| {})
            .await
            .expect("a run");
        assert_eq!(run.approved, 4 * 13, "from {start} to {a_year_later}");
        let again = engine
            .run(MERCHANT, noon(a_year_later), &|_| {})
            .await
            .expect("a run");
        assert_eq!(again.approved, 0, "from {start}: once");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_larger_than_sqlites_variable_limit_bills_in_one_go() {
    // 2,000 claims of 19 columns each would be 38,000 bound variables; SQLite allows 32,766
    // in one statement. Batches travel as one JSON array, so the largest configurable batch
    // works.
    let start: NaiveDate = "2027-01-31".parse().expect("a date");
    let now = noon(start);
    let (engine, store, card_id) = engine_with_batch(now, 10_000).await;
    for _ in 0..2_000 {
        store
            .insert_subscription(&monthly(&card_id, start, 2, now))
            .await
            .expect("stored");
    }
    let run = engine.run(MERCHANT, now, &|_| {}).await.expect("a run");
    assert_eq!(run.approved, 2_000);
    assert_eq!(
        store.processor_charge_count(MERCHANT).await.expect("count"),
        2_000
    );
}
