//! Exactly once: every billing event is charged at most once by the processor and approved at
//! most once, whatever runs concurrently (two engines, two servers with their schedulers) and
//! whatever stops half way (a crash between charging and recording, a server restart).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::billing_support::{
    OwnServer, advance_through, advance_times, advance_to, billing_app_with_file_db, brief,
    clock_today, customer_with_card, dates_with_status, day, days, engine_on, merchant_now,
    monthly_dates, months_after, off_plan, plus_days, shared_data_dir, sub_id, subscribe,
    subscription, transactions,
};
use crate::database::RawPool;
use crate::helpers::{MERCHANT_A, TestApp};
use crate::testdata::{CHARGE_DECLINE_CARD, VISA, masked};

/// What the test processor's ledger holds: (idempotency key, approved, rcode, auth_code).
async fn ledger(data_dir: &Path) -> Vec<(String, bool, String, Option<String>)> {
    let pool = RawPool::of(data_dir).await;
    let rows = pool
        .rows(
            "SELECT idempotency_key, approved, rcode, auth_code FROM processor_charges \
             ORDER BY idempotency_key",
        )
        .await;
    pool.close().await;
    rows
}

/// (subscription, event) pairs with more than one approved attempt, straight from the table.
async fn double_approvals(data_dir: &Path) -> Vec<(i64, i64, i64)> {
    let pool = RawPool::of(data_dir).await;
    let rows = pool
        .rows(
            "SELECT subscription_id, event, COUNT(*) FROM subscription_transactions \
             WHERE tran_status = 'A' GROUP BY subscription_id, event HAVING COUNT(*) > 1",
        )
        .await;
    pool.close().await;
    rows
}

/// Approved and declined attempts of the merchant, as the REST API counts them.
async fn recorded_attempts(app: &TestApp) -> i64 {
    let resp = crate::billing_support::get(app, "/subscription/transactions?count=1").await;
    resp.json["totalRecords"].as_i64().expect("totalRecords")
}

#[tokio::test(flavor = "multi_thread")]
async fn two_engines_running_at_once_on_one_database_never_charge_an_event_twice() {
    let app = billing_app_with_file_db().await;
    let today = clock_today(&app).await;
    let mut good = Vec::new();
    for n in 0..6 {
        let id = format!("Twice{n}");
        customer_with_card(&app, &id, VISA).await;
        good.push(sub_id(
            &subscribe(&app, &off_plan(&id, today, 10.0 + f64::from(n), -1)).await,
        ));
    }
    customer_with_card(&app, "TwiceBad", CHARGE_DECLINE_CARD).await;
    let bad = sub_id(&subscribe(&app, &off_plan("TwiceBad", today, 5.0, -1)).await);

    let database = app.data_dir.clone();
    let (one, store) = engine_on(&database).await;
    let (two, _) = engine_on(&database).await;
    let (mut approved, mut declined) = (0, 0);
    for round in 0..4 {
        if round > 0 {
            // A month (and a day) later on merchant 1001's clock.
            let offset = store.clock_offset(MERCHANT_A).await.expect("the offset");
            assert!(
                store
                    .swap_clock_offset(MERCHANT_A, offset, offset + 31 * 86_400)
                    .await
                    .expect("the clock moves"),
                "nothing else moves the clock"
            );
        }
        let now = merchant_now(&store, MERCHANT_A).await;
        for _ in 0..3 {
            let (a, b) = (one.clone(), two.clone());
            let (a, b) = tokio::join!(
                tokio::spawn(async move { a.run(MERCHANT_A, now, &|_| {}).await }),
                tokio::spawn(async move { b.run(MERCHANT_A, now, &|_| {}).await })
            );
            for summary in [a, b] {
                let summary = summary
                    .expect("the run did not panic")
                    .unwrap_or_else(|e| panic!("a concurrent run failed: {e}"));
                approved += summary.approved;
                declined += summary.declined;
            }
        }
    }

    let now = clock_today(&app).await;
    let due: Vec<_> = monthly_dates(today, 10)
        .into_iter()
        .filter(|d| *d <= now)
        .collect();
    assert_eq!(due.len(), 4, "four monthly cycles fell due by {now}");
    for id in &good {
        let charged = transactions(&app, *id).await;
        assert_eq!(
            dates_with_status(&charged, "A"),
            days(&due),
            "subscription {id}: one approved charge per cycle: {}",
            brief(&charged)
        );
        assert_eq!(charged.len(), due.len(), "{}", brief(&charged));
    }
    let attempts = transactions(&app, bad).await;
    assert_eq!(
        dates_with_status(&attempts, "D"),
        days(&[
            today,
            plus_days(today, 1),
            plus_days(today, 3),
            plus_days(today, 5)
        ]),
        "each attempt of the declining card once: {}",
        brief(&attempts)
    );
    assert_eq!(subscription(&app, bad).await["status"], "S");

    assert_eq!(
        approved as usize,
        good.len() * due.len(),
        "the runs' summaries"
    );
    assert_eq!(declined, 4);
    let recorded = recorded_attempts(&app).await;
    assert_eq!(recorded, (approved + declined) as i64);
    assert_eq!(
        store
            .processor_charge_count(MERCHANT_A)
            .await
            .expect("count"),
        recorded,
        "the processor charged each recorded attempt once, and nothing else"
    );
    assert!(
        store
            .pending(MERCHANT_A, 0, i64::MAX, 100)
            .await
            .expect("pending")
            .is_empty(),
        "nothing left in flight"
    );
    assert_eq!(double_approvals(&database).await, []);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_charge_cut_off_before_it_is_recorded_is_finished_after_a_restart_with_the_processors_first_answer()
 {
    let app = billing_app_with_file_db().await;
    let today = clock_today(&app).await;
    let card = customer_with_card(&app, "Crash01", VISA).await;
    let id = sub_id(&subscribe(&app, &off_plan("Crash01", today, 42.0, -1)).await);
    let database = app.data_dir.clone();

    {
        let (engine, store) = engine_on(&database).await;
        let now = merchant_now(&store, MERCHANT_A).await;
        let claimed = engine.claim(MERCHANT_A, now).await.expect("claim");
        assert_eq!(claimed.attempts.len(), 1, "{:?}", claimed.attempts);
        assert_eq!(claimed.attempts[0].subscription_id, id);
        let _charged = engine
            .charge(MERCHANT_A, &claimed.attempts, claimed.cards.clone(), now)
            .await
            .expect("charged");
        assert_eq!(
            store
                .processor_charge_count(MERCHANT_A)
                .await
                .expect("count"),
            1
        );
        let again = engine.claim(MERCHANT_A, now).await.expect("claim");
        assert!(
            again.attempts.is_empty() && again.passed == 0,
            "a subscription with an attempt in flight is not claimed again: {again:?}"
        );
        // The process dies here: the charge is never recorded.
    }
    let first = ledger(&database).await;
    assert_eq!(first.len(), 1, "{first:?}");
    let (key, first_approved, first_rcode, first_auth) = first[0].clone();
    assert!(
        first_approved && first_rcode == "000" && first_auth.is_some(),
        "{first:?}"
    );
    assert!(
        transactions(&app, id).await.is_empty(),
        "an attempt in flight is not a transaction yet"
    );
    assert_eq!(subscription(&app, id).await["date_next"], day(today));

    // While the scheduler is down the card is removed: charging the number now would be
    // declined ("no such card"), so only the ledger's first answer can make the cycle approved.
    app.delete_card("Crash01", &card).await.assert_ok();

    let (restarted, store) = engine_on(&database).await;
    let now = merchant_now(&store, MERCHANT_A).await;
    let summary = restarted
        .run(MERCHANT_A, now, &|_| {})
        .await
        .expect("the run");
    assert_eq!(
        (summary.approved, summary.declined),
        (1, 0),
        "the pending attempt is finished, approved"
    );
    assert_eq!(
        store
            .processor_charge_count(MERCHANT_A)
            .await
            .expect("count"),
        1,
        "finishing the attempt did not charge again"
    );
    assert_eq!(
        ledger(&database).await,
        first,
        "the ledger holds the first answer, unchanged"
    );
    let charged = transactions(&app, id).await;
    assert_eq!(charged.len(), 1, "{}", brief(&charged));
    assert_eq!(charged[0]["tran_status"], "A", "{}", charged[0]);
    assert_eq!(charged[0]["rcode"], first_rcode);
    assert_eq!(
        charged[0]["auth_code"].as_str(),
        first_auth.as_deref(),
        "the recorded answer is the processor's first: {} vs ledger {key}",
        charged[0]
    );
    assert_eq!(charged[0]["card_number"], masked(VISA));
    assert_eq!(charged[0]["tran_date"], day(today));
    let sub = subscription(&app, id).await;
    assert_eq!(
        sub["date_next"],
        day(months_after(today, 1, chrono::Datelike::day(&today))),
        "{sub}"
    );

    let again = restarted
        .run(MERCHANT_A, now, &|_| {})
        .await
        .expect("the run");
    assert_eq!(
        (again.approved, again.declined),
        (0, 0),
        "the cycle is billed once"
    );
    assert_eq!(transactions(&app, id).await.len(), 1);
    assert_eq!(
        store
            .processor_charge_count(MERCHANT_A)
            .await
            .expect("count"),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_restarted_in_the_middle_of_the_year_neither_skips_nor_repeats_a_month() {
    let dir = shared_data_dir();
    let first = OwnServer::start(dir.path(), |_| {}).await;
    let app = first.app.clone();
    let today = clock_today(&app).await;
    customer_with_card(&app, "Restart01", VISA).await;
    let id = sub_id(&subscribe(&app, &off_plan("Restart01", today, 19.99, 12)).await);
    let months = monthly_dates(today, 12);
    let before = advance_through(&app, &months[1..6]).await;
    assert_eq!(before.approved, 6, "months 1 to 6 before the restart");
    first.stop();

    let second = OwnServer::start(dir.path(), |_| {}).await;
    let app = second.app.clone();
    assert_eq!(
        clock_today(&app).await,
        before.today,
        "the clock survives the restart"
    );
    assert_eq!(
        subscription(&app, id).await["date_next"],
        day(monthly_dates(today, 7)[6]),
        "the 7th month is next"
    );
    let after = advance_through(&app, &months[6..]).await;
    assert_eq!(after.approved, 6, "months 7 to 12 after it");
    let later = advance_times(&app, "P1M", 2).await;
    assert_eq!(later.approved, 0, "nothing after the last month");
    let charged = transactions(&app, id).await;
    assert_eq!(
        dates_with_status(&charged, "A"),
        days(&monthly_dates(today, 12)),
        "{}",
        brief(&charged)
    );
    assert_eq!(charged.len(), 12, "{}", brief(&charged));
    assert_eq!(subscription(&app, id).await["status"], "D");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_servers_with_their_schedulers_running_on_one_database_approve_each_cycle_once() {
    let dir = shared_data_dir();
    let a = OwnServer::start(dir.path(), |args| args.billing_interval_secs = 1).await;
    let b = OwnServer::start(dir.path(), |args| args.billing_interval_secs = 1).await;
    let servers = [a.app.clone(), b.app.clone()];
    let today = clock_today(&servers[0]).await;

    let mut good = Vec::new();
    for n in 0..4 {
        let app = &servers[n % 2];
        let id = format!("Sched{n}");
        customer_with_card(app, &id, VISA).await;
        good.push(sub_id(
            &subscribe(app, &off_plan(&id, today, 7.77, -1)).await,
        ));
    }
    customer_with_card(&servers[1], "SchedBad", CHARGE_DECLINE_CARD).await;
    let bad = sub_id(&subscribe(&servers[1], &off_plan("SchedBad", today, 3.0, -1)).await);
    for (n, date) in monthly_dates(today, 4)[1..].iter().enumerate() {
        advance_to(&servers[n % 2], *date).await;
    }
    let now = clock_today(&servers[1]).await;
    let due: Vec<_> = monthly_dates(today, 10)
        .into_iter()
        .filter(|d| *d <= now)
        .collect();
    assert_eq!(due.len(), 4, "by {now}");

    // Let the schedulers settle: everything due billed, nothing in flight.
    let store = crate::database::open(dir.path()).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut settled = store
            .pending(MERCHANT_A, 0, i64::MAX, 100)
            .await
            .expect("pending")
            .is_empty();
        for id in &good {
            settled &=
                dates_with_status(&transactions(&servers[0], *id).await, "A").len() >= due.len();
        }
        settled &= subscription(&servers[0], bad).await["status"] == "S";
        if settled || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Two more scheduler ticks on each server: they must find nothing to do.
    tokio::time::sleep(Duration::from_millis(2_200)).await;

    for id in &good {
        let charged = transactions(&servers[1], *id).await;
        assert_eq!(
            dates_with_status(&charged, "A"),
            days(&due),
            "subscription {id}: exactly one approved charge per cycle: {}",
            brief(&charged)
        );
        assert_eq!(charged.len(), due.len(), "{}", brief(&charged));
    }
    let attempts = transactions(&servers[0], bad).await;
    assert_eq!(
        dates_with_status(&attempts, "D"),
        days(&[
            today,
            plus_days(today, 1),
            plus_days(today, 3),
            plus_days(today, 5)
        ]),
        "{}",
        brief(&attempts)
    );
    assert_eq!(attempts.len(), 4, "{}", brief(&attempts));
    let recorded = recorded_attempts(&servers[0]).await;
    assert_eq!(recorded as usize, good.len() * due.len() + 4);
    assert_eq!(
        store
            .processor_charge_count(MERCHANT_A)
            .await
            .expect("count"),
        recorded,
        "the processor charged each recorded attempt once"
    );
    assert_eq!(double_approvals(dir.path()).await, []);
    drop((a, b));
}
