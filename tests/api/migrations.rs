//! A vault made by an earlier version opens on this one: the billing tables are rebuilt by
//! migration 3 with every row and id kept, two-character response codes become Qualpay's
//! three, and dates left on ended subscriptions are cleared.
//!
//! SQLite only, whatever the suite runs on: these are SQLite's migrations from earlier versions;
//! PostgreSQL's schema started at this version (`src/vault/store/postgres/`).

use std::borrow::Cow;

use sqlx::migrate::{Migration, Migrator};
use sqlx::sqlite::SqliteConnectOptions;
use vaultql::vault::billing::subscription::Status;
use vaultql::vault::store::SqliteStore;
use vaultql::vault::store::billing::BillingStore;

use crate::billing_support::shared_data_dir;

/// The migrations of earlier versions, as they were applied.
fn before_billing_v2() -> Migrator {
    let all = sqlx::migrate!("src/vault/store/migrations");
    let earlier: Vec<Migration> = all.iter().filter(|m| m.version < 3).cloned().collect();
    assert_eq!(earlier.len(), 2, "migrations 1 and 2 came before");
    Migrator {
        migrations: Cow::Owned(earlier),
        ..Migrator::DEFAULT
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_from_before_billing_v2_keeps_every_row_and_comes_out_consistent() {
    let dir = shared_data_dir();
    let path = dir.path().join("vault.db");
    let pool = sqlx::SqlitePool::connect_with(
        SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true),
    )
    .await
    .expect("a database file");
    before_billing_v2()
        .run(&pool)
        .await
        .expect("the old schema");
    sqlx::raw_sql(
        "INSERT INTO plans (plan_id, merchant_id, plan_code, plan_name, plan_desc, plan_frequency, \
         interval, plan_duration, amt_tran, tran_currency, status, db_timestamp, mod_timestamp) \
         VALUES (1, 7, 'OLD', 'Old', 'An old plan', 3, 1, -1, 1000, '840', 'E', \
         '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z'); \
         INSERT INTO subscriptions (subscription_id, merchant_id, customer_id, card_id, plan_id, \
         plan_frequency, interval, plan_duration, anchor_day, recur_amt, tran_currency, status, \
         date_start, first_billing, next_event, date_next, next_attempt_on, created_at, updated_at) \
         VALUES \
         (5, 7, 'C1', 'K1', 1, 3, 1, -1, 15, 1000, '840', 'A', '2026-01-15', '2026-01-15', 2, \
          '2026-03-15', '2026-03-15', '2026-01-01T00:00:00.000000Z', '2026-03-01T00:00:00.000000Z'), \
         (9, 7, 'C2', 'K2', NULL, 3, 1, 12, 15, 500, '840', 'C', '2026-01-15', '2026-01-15', 1, \
          '2026-02-15', '2026-02-15', '2026-01-01T00:00:00.000000Z', '2026-02-01T00:00:00.000000Z'), \
         (11, 7, 'C3', 'K3', NULL, 3, 1, 12, 15, 500, '840', 'P', '2026-01-15', '2026-01-15', 1, \
          '2026-02-15', '2026-02-15', '2026-01-01T00:00:00.000000Z', '2026-02-01T00:00:00.000000Z'); \
         INSERT INTO subscription_transactions (tran_id, pg_id, merchant_id, subscription_id, \
         customer_id, event, attempt, kind, tran_date, tran_time, amt_tran, tran_currency, \
         tran_status, rcode, rmsg, card_id, card_number, claimed_at) VALUES \
         (3, 'pg-approved', 7, 5, 'C1', 0, 0, 'recurring', '2026-01-15', '2026-01-15 10:00:00', \
          1000, '840', 'A', '000', 'Approved', 'K1', '411111xxxxxx1111', '2026-01-15T10:00:00.000000Z'), \
         (8, 'pg-declined', 7, 5, 'C1', 1, 0, 'recurring', '2026-02-15', '2026-02-15 10:00:00', \
          1000, '840', 'D', '51', 'Insufficient funds', 'K1', '411111xxxxxx1111', \
          '2026-02-15T10:00:00.000000Z'); \
         INSERT INTO processor_charges (idempotency_key, merchant_id, amount, approved, rcode, \
         rmsg, charged_at) VALUES ('k', 7, 1000, 0, '05', 'Do not honor', \
         '2026-02-15T10:00:00.000000Z');",
    )
    .execute(&pool)
    .await
    .expect("rows as the earlier version wrote them");
    pool.close().await;

    let store = SqliteStore::open_file(&path)
        .await
        .expect("the vault opens and migrates");
    let live = store.subscription(7, 5).await.expect("kept");
    assert_eq!(live.status(), Status::Active);
    assert_eq!(
        live.date_next().map(|d| d.to_string()).as_deref(),
        Some("2026-03-15")
    );
    let cancelled = store.subscription(7, 9).await.expect("kept");
    assert_eq!(cancelled.status(), Status::Cancelled);
    assert_eq!(
        cancelled.date_next(),
        None,
        "an ended subscription has no next date"
    );
    let paused = store.subscription(7, 11).await.expect("kept");
    assert_eq!(paused.status(), Status::Paused);
    assert_eq!(paused.attempt_on(), None);

    let pool = sqlx::SqlitePool::connect_with(SqliteConnectOptions::new().filename(&path))
        .await
        .expect("the database");
    let rcodes: Vec<(i64, String)> =
        sqlx::query_as("SELECT tran_id, rcode FROM subscription_transactions ORDER BY tran_id")
            .fetch_all(&pool)
            .await
            .expect("transactions");
    assert_eq!(rcodes, [(3, "000".to_owned()), (8, "051".to_owned())]);
    let ledger: String = sqlx::query_scalar("SELECT rcode FROM processor_charges")
        .fetch_one(&pool)
        .await
        .expect("the ledger");
    assert_eq!(ledger, "005");
    // New rows take ids after the old ones, never one of theirs.
    let next: i64 = sqlx::query_scalar(
        "SELECT seq FROM sqlite_sequence WHERE name = 'subscription_transactions'",
    )
    .fetch_one(&pool)
    .await
    .expect("the id sequence");
    assert!(next >= 8, "{next}");
    let integrity: String = sqlx::query_scalar("PRAGMA foreign_key_check")
        .fetch_optional(&pool)
        .await
        .expect("the check")
        .unwrap_or_else(|| "ok".into());
    assert_eq!(integrity, "ok", "no dangling foreign keys");
}
