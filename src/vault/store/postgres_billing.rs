//! [`BillingStore`] on PostgreSQL, where several vault processes run billing engines against
//! one database at once.
//!
//! SQLite serializes every writer; PostgreSQL (READ COMMITTED) runs them side by side, so the
//! rules SQLite gets for free are kept here explicitly:
//!
//! - **Exactly once** stays in the schema, as on SQLite: a claim is a unique (subscription,
//!   event, attempt) row inserted `ON CONFLICT DO NOTHING`, only if its subscription is still
//!   active at the version it was read with, and at most one attempt per event is approved.
//!   Subscription writes are guarded by their version; the processor's ledger by its key.
//! - **Sharing due work**: [`BillingStore::claim_due`] reads the due subscriptions with
//!   `FOR UPDATE OF s SKIP LOCKED` and writes their claims in the same transaction, so each
//!   process claims rows no other process is claiming, without waiting for them.
//! - **Read, then write**: where SQLite reads and then writes inside its write lock
//!   (`delete_plan`, `record`, `write_claims`), the rows are locked first (`FOR UPDATE`) and
//!   the read stays true until commit. Locks are always taken in one order: an attempt's rows
//!   by `tran_id`, then subscriptions by `subscription_id`; multi-row inserts that may meet
//!   another's keys go in in key order. So transactions wait for each other in one direction,
//!   not in a cycle. The sandbox clock is swapped by one conditional statement.
//! - **Retries**: PostgreSQL may still end a transaction as a deadlock victim (SQLSTATE 40P01)
//!   or on a serialization failure (40001). `claim_due`, `write_claims`, `record` and the
//!   ledger's insert are idempotent, so they run again, a few times, rather than fail.
//!
//! Batches are read with `= ANY($1)` and written with `UNNEST($1::bigint[], …)`: one statement
//! per batch whatever its size (PostgreSQL caps a statement at 65535 binds; an array is one).
//! A write that joins `UNNEST(…)` to a table by key repeats the key array as `key = ANY($n)`:
//! without it PostgreSQL, which knows how many rows the array holds, may rather hash the whole
//! table than look a few hundred keys up in its index.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{FromRow, PgPool, QueryBuilder};

use super::billing::{
    BillingStore, Claimed, Lane, LedgerEntry, PlanRow, ProcessorRecord, TransactionRow,
};
use super::billing_rows::{SUBSCRIPTION_COLUMNS, StateRow, SubscriptionRow};
use super::outbox;
use super::postgres::{PostgresStore, browse_page, snapshot, unique_violation_as};
use super::sql::{PLAN_COLUMNS, bind_plan, bind_subscription};
use super::{BrowseQuery, Page, SealedCard, StoreError, timestamp};
use crate::vault::billing::attempts::{
    CardSummary, ClaimPlan, DueSubscription, Outcome, Tally, apply_outcomes, plan_claims,
};
use crate::vault::billing::subscription::Subscription;
use crate::vault::events::{self, NewEvent};

/// How many times a method that lost a deadlock or a serialization check runs in all.
const MAX_TRIES: u32 = 5;

/// Whether the error is PostgreSQL ending the transaction so that another could go on: a
/// deadlock (40P01) or a serialization failure (40001). Running it again is the cure.
fn is_conflict(error: &StoreError) -> bool {
    match error {
        StoreError::Database(sqlx::Error::Database(db)) => {
            matches!(db.code().as_deref(), Some("40P01" | "40001"))
        }
        _ => false,
    }
}

/// A short pause before try `tries + 1`: growing, with jitter so that two transactions that
/// deadlocked do not meet again in step (each `RandomState` is seeded afresh: randomness
/// enough for that, without a random-number crate).
fn backoff(tries: u32) -> Duration {
    let jitter = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
        % 5_000;
    Duration::from_micros(5_000 * u64::from(1u32 << tries.min(5)) + jitter)
}

/// Runs `once` (a whole transaction) until it succeeds, fails for another reason than a
/// deadlock or serialization failure, or has run [`MAX_TRIES`] times.
async fn retrying<T, F, Fut>(mut once: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut tries = 1;
    loop {
        match once().await {
            Err(error) if tries < MAX_TRIES && is_conflict(&error) => {
                tokio::time::sleep(backoff(tries)).await;
                tries += 1;
            }
            result => return result,
        }
    }
}

/// A browse over one table in one snapshot (see [`browse_page`]).
async fn browse<T>(
    pool: &PgPool,
    table: &str,
    key: &str,
    extra: &str,
    merchant_id: i64,
    query: &BrowseQuery,
) -> Result<Page<T>, StoreError>
where
    T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let mut tx = snapshot(pool).await?;
    let page = browse_page(&mut tx, table, key, extra, merchant_id, query).await?;
    tx.commit().await?;
    Ok(page)
}

fn typed(rows: Vec<SubscriptionRow>) -> Result<Vec<Subscription>, StoreError> {
    rows.into_iter().map(Subscription::try_from).collect()
}

/// One column of a batch, as an array to bind (for `UNNEST`).
fn column<'a, R, T>(rows: &'a [R], field: impl Fn(&'a R) -> T) -> Vec<T> {
    rows.iter().map(field).collect()
}

/// Locks subscriptions for the rest of the transaction, in id order (the order every
/// transaction here locks them in, so two never wait for each other both ways).
async fn lock_subscriptions(conn: &mut PgConnection, ids: &[i64]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "SELECT 1 FROM subscriptions WHERE subscription_id = ANY($1) \
         ORDER BY subscription_id FOR UPDATE",
    )
    .bind(ids)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes the state columns of subscriptions the engine moved on, each only if its version is
/// still the one it was read with; how many were written.
async fn save_states(conn: &mut PgConnection, rows: &[StateRow]) -> Result<u64, StoreError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let updated = sqlx::query(
        "UPDATE subscriptions s SET status = v.status, next_event = v.next_event, \
         date_next = v.date_next, next_attempt_on = v.next_attempt_on, \
         failed_attempts = v.failed_attempts, retry_base = v.retry_base, \
         updated_at = v.updated_at, version = s.version + 1 \
         FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], \
             $6::text[], $7::bigint[], $8::bigint[], $9::text[]) \
           AS v (id, version, status, next_event, date_next, next_attempt_on, \
             failed_attempts, retry_base, updated_at) \
         WHERE s.subscription_id = v.id AND s.version = v.version \
         AND s.subscription_id = ANY($1)",
    )
    .bind(column(rows, |r| r.subscription_id))
    .bind(column(rows, |r| r.version))
    .bind(column(rows, |r| r.status))
    .bind(column(rows, |r| r.next_event))
    .bind(column(rows, |r| r.date_next.as_deref()))
    .bind(column(rows, |r| r.next_attempt_on.as_deref()))
    .bind(column(rows, |r| r.failed_attempts))
    .bind(column(rows, |r| r.retry_base))
    .bind(column(rows, |r| r.updated_at.as_str()))
    .execute(conn)
    .await?;
    Ok(updated.rows_affected())
}

/// Stores the outcomes of attempts, each only if its attempt is still pending; how many were
/// stored.
async fn record_outcomes(
    conn: &mut PgConnection,
    outcomes: &[&Outcome],
) -> Result<u64, StoreError> {
    if outcomes.is_empty() {
        return Ok(0);
    }
    let updated = sqlx::query(
        "UPDATE subscription_transactions t SET tran_status = v.tran_status, rcode = v.rcode, \
         rmsg = v.rmsg, auth_code = v.auth_code \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) \
           AS v (pg_id, tran_status, rcode, rmsg, auth_code) \
         WHERE t.pg_id = v.pg_id AND t.tran_status = 'P' AND t.pg_id = ANY($1)",
    )
    .bind(column(outcomes, |o| o.pg_id.as_str()))
    .bind(column(outcomes, |o| if o.approved { "A" } else { "D" }))
    .bind(column(outcomes, |o| o.rcode.as_str()))
    .bind(column(outcomes, |o| o.rmsg.as_str()))
    .bind(column(outcomes, |o| o.auth_code.as_deref()))
    .execute(conn)
    .await?;
    Ok(updated.rows_affected())
}

/// Inserts claims, each only if its subscription is still active at the version it was read
/// with (`versions`, in the order of `attempts`) and no other engine claimed the attempt first.
/// Returns the `pg_id`s of the claims inserted: ours.
///
/// The caller holds the subscriptions' row locks, so no other claim of them is in flight. The
/// unique (subscription, event, attempt) key is what keeps a claim single; the `NOT EXISTS`
/// before it only spares the insert a wait: a claim another engine committed before the locks
/// were taken may be being recorded right now, and inserting the same key again would wait
/// for that record (to see whether its new row version commits) while the record waits for
/// the subscription this transaction has locked, a deadlock. This statement's snapshot is
/// taken after the locks, so it sees every such claim and leaves it alone. Rows go in in
/// subscription order all the same.
async fn insert_claims(
    conn: &mut PgConnection,
    attempts: &[TransactionRow],
    versions: &[i64],
) -> Result<HashSet<String>, StoreError> {
    if attempts.is_empty() {
        return Ok(HashSet::new());
    }
    let inserted: Vec<String> = sqlx::query_scalar(
        "INSERT INTO subscription_transactions (pg_id, merchant_id, subscription_id, \
         customer_id, event, attempt, kind, tran_date, tran_time, amt_tran, tran_currency, \
         tran_status, card_id, card_number, card_type, cardholder_first_name, \
         cardholder_last_name, purchase_id, claimed_at) \
         SELECT v.pg_id, v.merchant_id, v.subscription_id, v.customer_id, v.event, v.attempt, \
         v.kind, v.tran_date, v.tran_time, v.amt_tran, v.tran_currency, 'P', v.card_id, \
         v.card_number, v.card_type, v.cardholder_first_name, v.cardholder_last_name, \
         v.purchase_id, v.claimed_at \
         FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], \
             $6::bigint[], $7::bigint[], $8::text[], $9::text[], $10::text[], $11::bigint[], \
             $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], \
             $18::text[], $19::text[]) \
           AS v (pg_id, merchant_id, subscription_id, version, customer_id, event, attempt, \
             kind, tran_date, tran_time, amt_tran, tran_currency, card_id, card_number, \
             card_type, cardholder_first_name, cardholder_last_name, purchase_id, claimed_at) \
         JOIN subscriptions s ON s.subscription_id = v.subscription_id \
           AND s.version = v.version AND s.status = 'A' \
         WHERE s.subscription_id = ANY($3) \
         AND NOT EXISTS (SELECT 1 FROM subscription_transactions t \
             WHERE t.subscription_id = v.subscription_id AND t.event = v.event \
             AND t.attempt = v.attempt) \
         ORDER BY v.subscription_id, v.event, v.attempt \
         ON CONFLICT DO NOTHING RETURNING pg_id",
    )
    .bind(column(attempts, |a| a.pg_id.as_str()))
    .bind(column(attempts, |a| a.merchant_id))
    .bind(column(attempts, |a| a.subscription_id))
    .bind(versions)
    .bind(column(attempts, |a| a.customer_id.as_str()))
    .bind(column(attempts, |a| a.event))
    .bind(column(attempts, |a| a.attempt))
    .bind(column(attempts, |a| a.kind.as_str()))
    .bind(column(attempts, |a| a.tran_date.as_str()))
    .bind(column(attempts, |a| a.tran_time.as_str()))
    .bind(column(attempts, |a| a.amt_tran))
    .bind(column(attempts, |a| a.tran_currency.as_str()))
    .bind(column(attempts, |a| a.card_id.as_str()))
    .bind(column(attempts, |a| a.card_number.as_str()))
    .bind(column(attempts, |a| a.card_type.as_deref()))
    .bind(column(attempts, |a| a.cardholder_first_name.as_deref()))
    .bind(column(attempts, |a| a.cardholder_last_name.as_deref()))
    .bind(column(attempts, |a| a.purchase_id.as_deref()))
    .bind(column(attempts, |a| a.claimed_at.as_str()))
    .fetch_all(conn)
    .await?;
    Ok(inserted.into_iter().collect())
}

/// Writes a claim plan inside the caller's transaction: the claims (see [`insert_claims`]) and
/// the passes of free events (version-guarded). Returns the `pg_id`s of the claims written and
/// how many subscriptions were passed.
async fn write_plan(
    conn: &mut PgConnection,
    plan: &ClaimPlan,
    passed: &[StateRow],
) -> Result<(HashSet<String>, u64), StoreError> {
    let versions: Vec<i64> = plan.claimed.iter().map(|sub| sub.version).collect();
    let ours = insert_claims(&mut *conn, &plan.attempts, &versions).await?;
    let passed = save_states(conn, passed).await?;
    Ok((ours, passed))
}

/// The plan's claims that were written (`ours`), with their subscriptions and cards.
fn claimed(mut plan: ClaimPlan, ours: &HashSet<String>, passed: u64) -> Claimed {
    if ours.len() < plan.attempts.len() {
        // Some subscriptions changed, or another engine claimed them first: keep only the
        // claims that are ours.
        plan.attempts.retain(|a| ours.contains(&a.pg_id));
        let kept: HashSet<i64> = plan.attempts.iter().map(|a| a.subscription_id).collect();
        plan.claimed
            .retain(|sub| kept.contains(&sub.subscription_id));
        let cards: HashSet<&str> = plan.attempts.iter().map(|a| a.card_id.as_str()).collect();
        plan.cards
            .retain(|card| cards.contains(card.card_id.as_str()));
    }
    Claimed {
        attempts: plan.attempts,
        subscriptions: plan.claimed,
        cards: plan.cards,
        passed: usize::try_from(passed).unwrap_or(usize::MAX),
    }
}

/// A due subscription and its card, as the due query returns them: the subscription's columns,
/// then the card's (all NULL when the subscription's card is gone), prefixed `c_` so they do
/// not clash with the subscription's.
#[derive(sqlx::FromRow)]
struct DueRow {
    #[sqlx(flatten)]
    subscription: SubscriptionRow,
    c_customer_id: Option<String>,
    c_card_id: Option<String>,
    c_key_id: Option<i64>,
    c_ciphertext_hex: Option<String>,
    c_exp_date: Option<String>,
    c_masked_number: Option<String>,
    c_card_type: Option<String>,
    c_first_name: Option<String>,
    c_last_name: Option<String>,
}

impl DueRow {
    fn into_due(self) -> Result<DueSubscription, StoreError> {
        let row = self;
        let card = match (
            row.c_customer_id,
            row.c_card_id,
            row.c_key_id,
            row.c_ciphertext_hex,
            row.c_masked_number,
        ) {
            (
                Some(customer_id),
                Some(card_id),
                Some(key_id),
                Some(ciphertext_hex),
                Some(masked_number),
            ) => Some((
                SealedCard {
                    customer_id,
                    card_id,
                    key_id,
                    ciphertext_hex,
                    exp_date: row.c_exp_date,
                },
                CardSummary {
                    masked_number,
                    card_type: row.c_card_type,
                    billing_first_name: row.c_first_name,
                    billing_last_name: row.c_last_name,
                },
            )),
            _ => None,
        };
        Ok((Subscription::try_from(row.subscription)?, card))
    }
}

/// How the due query treats the subscriptions it finds.
#[derive(Clone, Copy)]
enum DueLock {
    /// A plain read.
    None,
    /// Locks them until the transaction ends, skipping any another transaction holds.
    SkipLocked,
}

/// Up to `limit` of the merchant's due subscriptions in `lane`, oldest first, each with its
/// card: what [`BillingStore::due_subscriptions`] returns. With [`DueLock::SkipLocked`] the
/// subscriptions (not their cards or customers) are locked, and rows another transaction has
/// locked are passed over rather than waited for.
async fn due_rows(
    conn: &mut PgConnection,
    merchant_id: i64,
    today: NaiveDate,
    limit: usize,
    lane: Lane,
    lock: DueLock,
) -> Result<Vec<DueSubscription>, StoreError> {
    let lock = match lock {
        DueLock::None => "",
        DueLock::SkipLocked => " FOR UPDATE OF s SKIP LOCKED",
    };
    // A due attempt not made yet has no row at its (subscription, event, attempt). That also
    // skips subscriptions with an attempt in flight, which is always at that position. The
    // subscriptions are picked (and locked) on their own, through the `subscriptions_due`
    // index; their cards and customers are joined outside, where a row lock cannot reach.
    // The lane is written as "in none of the other lanes": PostgreSQL guesses that
    // `id % of = index` keeps 0.5% of the rows, and with that guess it sorts every due row of
    // the merchant instead of walking the index in order and stopping at `limit`.
    let sql = format!(
        "WITH due AS (SELECT * FROM subscriptions s \
         WHERE s.merchant_id = $1 AND s.status = 'A' AND s.next_attempt_on <= $2 \
         AND s.subscription_id % $3 <> ALL($4::bigint[]) \
         AND NOT EXISTS (SELECT 1 FROM subscription_transactions t \
             WHERE t.subscription_id = s.subscription_id AND t.event = s.next_event \
             AND t.attempt = s.failed_attempts) \
         ORDER BY s.next_attempt_on, s.subscription_id LIMIT $5{lock}) \
         SELECT due.*, cu.customer_id AS c_customer_id, c.card_id AS c_card_id, \
         c.key_id AS c_key_id, encode(c.ciphertext, 'hex') AS c_ciphertext_hex, \
         c.exp_date AS c_exp_date, c.masked_number AS c_masked_number, \
         c.card_type AS c_card_type, c.billing_first_name AS c_first_name, \
         c.billing_last_name AS c_last_name \
         FROM due LEFT JOIN (billing_cards c JOIN customers cu ON cu.rec_id = c.customer_rec_id) \
           ON c.card_id = due.card_id AND c.merchant_id = due.merchant_id \
         ORDER BY due.next_attempt_on, due.subscription_id"
    );
    let of = lane.of.max(1);
    let other_lanes: Vec<i64> = (0..of)
        .filter(|&index| index != lane.index)
        .map(i64::from)
        .collect();
    let rows: Vec<DueRow> = sqlx::query_as(&sql)
        .bind(merchant_id)
        .bind(today.to_string())
        .bind(i64::from(of))
        .bind(other_lanes)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(DueRow::into_due).collect()
}

impl PostgresStore {
    /// One try of [`BillingStore::claim_due`]: the due subscriptions are read and locked, and
    /// their claims written, in one transaction.
    async fn claim_due_once(
        &self,
        merchant_id: i64,
        now: DateTime<Utc>,
        limit: usize,
        lane: Lane,
    ) -> Result<(usize, Claimed), StoreError> {
        let today = now.date_naive();
        let mut tx = self.pool.begin().await?;
        let due = due_rows(
            &mut tx,
            merchant_id,
            today,
            limit,
            lane,
            DueLock::SkipLocked,
        )
        .await?;
        let found = due.len();
        if found == 0 {
            return Ok((0, Claimed::default()));
        }
        let plan = plan_claims(due, today, now);
        let passed: Vec<StateRow> = plan.passed.iter().map(StateRow::from).collect();
        // The subscriptions are locked, and a row changed since the query's snapshot was
        // read as it is now (PostgreSQL locks the newest version and re-checks it): no pause,
        // cancel or outcome can commit between the read and the claim, so the version guards
        // pass (they stay, as the contract's). A claim another process committed before the
        // lock was taken is seen by the insert (see `insert_claims`).
        let (ours, passed) = write_plan(&mut tx, &plan, &passed).await?;
        tx.commit().await?;
        Ok((found, claimed(plan, &ours, passed)))
    }

    /// One try of [`BillingStore::write_claims`].
    async fn write_claims_once(
        &self,
        plan: &ClaimPlan,
        passed: &[StateRow],
    ) -> Result<(HashSet<String>, u64), StoreError> {
        let mut ids: Vec<i64> = plan
            .claimed
            .iter()
            .chain(&plan.passed)
            .map(|sub| sub.subscription_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut tx = self.pool.begin().await?;
        // Lock the subscriptions before the guarded writes: a pause or cancel either committed
        // before (and the version guard sees it) or waits for this claim.
        lock_subscriptions(&mut tx, &ids).await?;
        let written = write_plan(&mut tx, plan, passed).await?;
        tx.commit().await?;
        Ok(written)
    }

    /// One try of [`BillingStore::record`]. `fast` is the usual case worked out from the
    /// claimed subscriptions: their new states and the tally, if every attempt is still pending
    /// and no subscription changed since its claim.
    async fn record_once(
        &self,
        merchant_id: i64,
        all: &[&Outcome],
        fast: Option<&(Vec<StateRow>, Tally, Vec<NewEvent>)>,
        now: DateTime<Utc>,
    ) -> Result<Tally, StoreError> {
        let pg_ids: Vec<&str> = all.iter().map(|o| o.pg_id.as_str()).collect();
        if let Some((states, tally, events)) = fast {
            // The usual case: lock the batch's attempts (in tran_id order) and the
            // subscriptions that move (in id order), as the careful path does, so a second
            // engine recording the same batch, or a claim, waits instead of deadlocking; then
            // store the outcomes and move the subscriptions on. Anything else (a pause or
            // cancel meanwhile, another engine that recorded first) shows in the row counts,
            // is rolled back and done the careful way.
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "SELECT 1 FROM subscription_transactions WHERE pg_id = ANY($1) \
                 ORDER BY tran_id FOR UPDATE",
            )
            .bind(&pg_ids)
            .execute(&mut *tx)
            .await?;
            let ids: Vec<i64> = states.iter().map(|s| s.subscription_id).collect();
            lock_subscriptions(&mut tx, &ids).await?;
            if record_outcomes(&mut tx, all).await? == all.len() as u64
                && save_states(&mut tx, states).await? == states.len() as u64
            {
                outbox::postgres::enqueue(&mut tx, events, now).await?;
                tx.commit().await?;
                events::committed();
                return Ok(*tally);
            }
            tx.rollback().await?;
        }
        let mut tx = self.pool.begin().await?;
        // Which of the batch's attempts are still pending, locked (in tran_id order) so that
        // they stay pending until this transaction records them.
        let pending: Vec<(String, i64)> = sqlx::query_as(
            "SELECT pg_id, subscription_id FROM subscription_transactions \
             WHERE pg_id = ANY($1) AND merchant_id = $2 AND tran_status = 'P' \
             ORDER BY tran_id FOR UPDATE",
        )
        .bind(&pg_ids)
        .bind(merchant_id)
        .fetch_all(&mut *tx)
        .await?;
        if pending.is_empty() {
            return Ok(Tally::default());
        }
        let mut ids: Vec<i64> = pending.iter().map(|(_, id)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        // Their subscriptions as they stand, locked (in id order) until the new states are
        // written.
        let rows: Vec<SubscriptionRow> = sqlx::query_as(
            "SELECT * FROM subscriptions WHERE subscription_id = ANY($1) \
             ORDER BY subscription_id FOR UPDATE",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
        let subscriptions = typed(rows)?
            .into_iter()
            .map(|sub| (sub.subscription_id, sub))
            .collect();
        let pending: HashSet<&str> = pending.iter().map(|(pg_id, _)| pg_id.as_str()).collect();
        let recorded: Vec<&Outcome> = all
            .iter()
            .copied()
            .filter(|o| pending.contains(o.pg_id.as_str()))
            .collect();
        record_outcomes(&mut tx, &recorded).await?;
        let (changed, tally, new_events) = apply_outcomes(subscriptions, &recorded, now);
        let states: Vec<StateRow> = changed.iter().map(StateRow::from).collect();
        save_states(&mut tx, &states).await?;
        outbox::postgres::enqueue(&mut tx, &new_events, now).await?;
        tx.commit().await?;
        events::committed();
        Ok(tally)
    }
}

#[async_trait]
impl BillingStore for PostgresStore {
    async fn insert_plan(&self, plan: &PlanRow) -> Result<PlanRow, StoreError> {
        let mut insert = QueryBuilder::new(format!("INSERT INTO plans ({PLAN_COLUMNS}) VALUES ("));
        bind_plan(&mut insert, plan);
        insert.push(") RETURNING *");
        insert
            .build_query_as()
            .fetch_one(&self.pool)
            .await
            .map_err(|e| unique_violation_as(e, StoreError::DuplicatePlan))
    }

    async fn plan(&self, merchant_id: i64, plan_code: &str) -> Result<PlanRow, StoreError> {
        sqlx::query_as(
            "SELECT * FROM plans WHERE merchant_id = $1 AND plan_code = $2 AND status <> 'D'",
        )
        .bind(merchant_id)
        .bind(plan_code)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::PlanNotFound)
    }

    async fn browse_plans(
        &self,
        merchant_id: i64,
        query: &BrowseQuery,
    ) -> Result<Page<PlanRow>, StoreError> {
        browse(
            &self.pool,
            "plans",
            "plan_id",
            "status <> 'D' AND",
            merchant_id,
            query,
        )
        .await
    }

    async fn save_plan(&self, plan: &PlanRow) -> Result<PlanRow, StoreError> {
        let mut update = QueryBuilder::new(format!("UPDATE plans SET ({PLAN_COLUMNS}) = ("));
        bind_plan(&mut update, plan);
        update.push(") WHERE plan_id = ").push_bind(plan.plan_id);
        update.push(" RETURNING *");
        update
            .build_query_as()
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| unique_violation_as(e, StoreError::DuplicatePlan))?
            .ok_or(StoreError::PlanNotFound)
    }

    async fn delete_plan(
        &self,
        merchant_id: i64,
        plan_id: i64,
        now: DateTime<Utc>,
    ) -> Result<PlanRow, StoreError> {
        // The plan is looked up as the merchant's first: another merchant's plan is not found,
        // whatever its state, so its use is never told (no "in use" for a plan one cannot see).
        let mut tx = self.pool.begin().await?;
        // Locking the plan row also holds off new subscriptions to it (their foreign key
        // check takes a share lock on it) until this transaction ends; the use is checked in a
        // statement of its own, so it sees every subscription committed before the lock.
        let plan: Option<i64> = sqlx::query_scalar(
            "SELECT plan_id FROM plans WHERE merchant_id = $1 AND plan_id = $2 \
             AND status <> 'D' FOR UPDATE",
        )
        .bind(merchant_id)
        .bind(plan_id)
        .fetch_optional(&mut *tx)
        .await?;
        if plan.is_none() {
            return Err(StoreError::PlanNotFound);
        }
        let in_use: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM subscriptions WHERE plan_id = $2 \
             AND merchant_id = $1 AND status IN ('A', 'P', 'S'))",
        )
        .bind(merchant_id)
        .bind(plan_id)
        .fetch_one(&mut *tx)
        .await?;
        if in_use {
            return Err(StoreError::PlanInUse);
        }
        let plan: PlanRow = sqlx::query_as(
            "UPDATE plans SET status = 'D', mod_timestamp = $1 WHERE merchant_id = $2 \
             AND plan_id = $3 AND status <> 'D' RETURNING *",
        )
        .bind(timestamp(now))
        .bind(merchant_id)
        .bind(plan_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::PlanNotFound)?;
        tx.commit().await?;
        Ok(plan)
    }

    async fn insert_subscription(
        &self,
        subscription: &Subscription,
    ) -> Result<Subscription, StoreError> {
        let row = SubscriptionRow::from(subscription);
        let mut insert = QueryBuilder::new(format!(
            "INSERT INTO subscriptions ({SUBSCRIPTION_COLUMNS}) VALUES ("
        ));
        bind_subscription(&mut insert, &row);
        insert.push(") RETURNING *");
        let row: SubscriptionRow = insert.build_query_as().fetch_one(&self.pool).await?;
        row.try_into()
    }

    async fn subscription(
        &self,
        merchant_id: i64,
        subscription_id: i64,
    ) -> Result<Subscription, StoreError> {
        let row: SubscriptionRow = sqlx::query_as(
            "SELECT * FROM subscriptions WHERE merchant_id = $1 AND subscription_id = $2",
        )
        .bind(merchant_id)
        .bind(subscription_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::SubscriptionNotFound)?;
        row.try_into()
    }

    async fn browse_subscriptions(
        &self,
        merchant_id: i64,
        query: &BrowseQuery,
    ) -> Result<Page<Subscription>, StoreError> {
        let page: Page<SubscriptionRow> = browse(
            &self.pool,
            "subscriptions",
            "subscription_id",
            "",
            merchant_id,
            query,
        )
        .await?;
        Ok(Page {
            items: typed(page.items)?,
            total_records: page.total_records,
        })
    }

    async fn save_subscription(
        &self,
        subscription: &Subscription,
    ) -> Result<Subscription, StoreError> {
        // One statement: PostgreSQL re-checks the version on the newest row after waiting for
        // a concurrent writer, so a change committed in between is always refused.
        let row = SubscriptionRow::from(subscription);
        let mut update = QueryBuilder::new(format!(
            "UPDATE subscriptions SET ({SUBSCRIPTION_COLUMNS}) = ("
        ));
        bind_subscription(&mut update, &row);
        update.push("), version = version + 1 WHERE subscription_id = ");
        update.push_bind(row.subscription_id);
        update
            .push(" AND merchant_id = ")
            .push_bind(row.merchant_id);
        update.push(" AND version = ").push_bind(row.version);
        update.push(" RETURNING *");
        let saved: SubscriptionRow = update
            .build_query_as()
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::Concurrent)?;
        saved.try_into()
    }

    async fn browse_transactions(
        &self,
        merchant_id: i64,
        query: &BrowseQuery,
    ) -> Result<Page<TransactionRow>, StoreError> {
        browse(
            &self.pool,
            "subscription_transactions",
            "tran_id",
            "tran_status <> 'P' AND",
            merchant_id,
            query,
        )
        .await
    }

    async fn due_subscriptions(
        &self,
        merchant_id: i64,
        today: NaiveDate,
        limit: usize,
        lane: Lane,
    ) -> Result<Vec<DueSubscription>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        due_rows(&mut conn, merchant_id, today, limit, lane, DueLock::None).await
    }

    async fn claim_due(
        &self,
        merchant_id: i64,
        now: DateTime<Utc>,
        limit: usize,
        lane: Lane,
    ) -> Result<(usize, Claimed), StoreError> {
        // Each process locks the oldest due subscriptions no other process holds, claims
        // them and commits: processes share the due work instead of racing for the same rows.
        retrying(|| self.claim_due_once(merchant_id, now, limit, lane)).await
    }

    async fn write_claims(&self, plan: ClaimPlan) -> Result<Claimed, StoreError> {
        // Each claim is inserted only if its subscription is exactly as it was read (same
        // version: no pause, cancel or outcome since) and no other engine claimed the attempt
        // first; free events are passed on the same condition.
        if plan.attempts.is_empty() && plan.passed.is_empty() {
            return Ok(Claimed::default());
        }
        let passed: Vec<StateRow> = plan.passed.iter().map(StateRow::from).collect();
        let (plan_ref, passed_ref) = (&plan, passed.as_slice());
        let (ours, passed) = retrying(move || self.write_claims_once(plan_ref, passed_ref)).await?;
        Ok(claimed(plan, &ours, passed))
    }

    async fn last_attempt_id(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(tran_id), 0) FROM subscription_transactions")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn pending(
        &self,
        merchant_id: i64,
        after: i64,
        up_to: i64,
        limit: usize,
    ) -> Result<Vec<TransactionRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT * FROM subscription_transactions WHERE merchant_id = $1 \
             AND tran_status = 'P' AND tran_id > $2 AND tran_id <= $3 ORDER BY tran_id LIMIT $4",
        )
        .bind(merchant_id)
        .bind(after)
        .bind(up_to)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn record(
        &self,
        merchant_id: i64,
        outcomes: &[Outcome],
        claimed: Vec<Subscription>,
        now: DateTime<Utc>,
    ) -> Result<Tally, StoreError> {
        if outcomes.is_empty() {
            return Ok(Tally::default());
        }
        let all: Vec<&Outcome> = outcomes.iter().collect();
        // The usual case is worked out once, before any transaction: every subscription moves
        // on from its claimed copy.
        let fast = (claimed.len() == outcomes.len()).then(|| {
            let subscriptions = claimed
                .into_iter()
                .map(|sub| (sub.subscription_id, sub))
                .collect();
            let (changed, tally, events) = apply_outcomes(subscriptions, &all, now);
            let states: Vec<StateRow> = changed.iter().map(StateRow::from).collect();
            (states, tally, events)
        });
        let (all, fast) = (all.as_slice(), fast.as_ref());
        retrying(move || self.record_once(merchant_id, all, fast, now)).await
    }

    async fn processor_charges(
        &self,
        entries: &[LedgerEntry],
        now: DateTime<Utc>,
    ) -> Result<Vec<ProcessorRecord>, StoreError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        // Each entry stands alone (a key is answered once and never changes), so the insert
        // needs no transaction around it. A key another process is inserting at the same time
        // waits for it, then is left as that process stored it. Keys go in in order, so two
        // batches that share keys (an engine finishing another's pending attempts) wait for
        // each other in one order, not in a cycle; the retry covers what is left.
        let insert = || async {
            sqlx::query(
                "INSERT INTO processor_charges (idempotency_key, merchant_id, amount, approved, \
                 rcode, rmsg, auth_code, charged_at) \
                 SELECT v.key, v.merchant_id, v.amount, v.approved, v.rcode, v.rmsg, \
                 v.auth_code, $8 \
                 FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::boolean[], \
                     $5::text[], $6::text[], $7::text[]) \
                   AS v (key, merchant_id, amount, approved, rcode, rmsg, auth_code) \
                 ORDER BY v.key \
                 ON CONFLICT (idempotency_key) DO NOTHING",
            )
            .bind(&keys)
            .bind(column(entries, |e| e.merchant_id))
            .bind(column(entries, |e| e.amount))
            .bind(column(entries, |e| e.record.approved))
            .bind(column(entries, |e| e.record.rcode.as_str()))
            .bind(column(entries, |e| e.record.rmsg.as_str()))
            .bind(column(entries, |e| e.record.auth_code.as_deref()))
            .bind(timestamp(now))
            .execute(&self.pool)
            .await
            .map_err(StoreError::from)
        };
        let inserted = retrying(insert).await?.rows_affected();
        if inserted == entries.len() as u64 {
            // Every key was new: the answers are the ones just stored.
            return Ok(entries.iter().map(|e| e.record.clone()).collect());
        }
        #[derive(sqlx::FromRow)]
        struct Stored {
            idempotency_key: String,
            #[sqlx(flatten)]
            record: ProcessorRecord,
        }
        let stored: Vec<Stored> = sqlx::query_as(
            "SELECT idempotency_key, approved, rcode, rmsg, auth_code FROM processor_charges \
             WHERE idempotency_key = ANY($1)",
        )
        .bind(&keys)
        .fetch_all(&self.pool)
        .await?;
        let by_key: HashMap<String, ProcessorRecord> = stored
            .into_iter()
            .map(|s| (s.idempotency_key, s.record))
            .collect();
        entries
            .iter()
            .map(|e| {
                by_key.get(&e.key).cloned().ok_or_else(|| {
                    StoreError::Corrupt(format!("the processor has no answer for {}", e.key))
                })
            })
            .collect()
    }

    async fn processor_charge_count(&self, merchant_id: i64) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM processor_charges WHERE merchant_id = $1")
                .bind(merchant_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn clock_offset(&self, merchant_id: i64) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT offset_seconds FROM sandbox_clock WHERE merchant_id = $1")
                .bind(merchant_id)
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or(0),
        )
    }

    async fn swap_clock_offset(
        &self,
        merchant_id: i64,
        expected: i64,
        offset_seconds: i64,
    ) -> Result<bool, StoreError> {
        // A compare-and-swap in one statement. A merchant without a row is at offset 0, so
        // only a swap from 0 may create the row; a concurrent creator makes this insert wait
        // and then meet its row, where the `WHERE` compares against what it stored. A row that
        // exists is changed only if it still holds `expected` (re-checked on the newest row
        // after waiting for a concurrent swap).
        let changed = if expected == 0 {
            sqlx::query(
                "INSERT INTO sandbox_clock (merchant_id, offset_seconds) VALUES ($1, $2) \
                 ON CONFLICT (merchant_id) DO UPDATE SET offset_seconds = EXCLUDED.offset_seconds \
                 WHERE sandbox_clock.offset_seconds = 0",
            )
            .bind(merchant_id)
            .bind(offset_seconds)
            .execute(&self.pool)
            .await?
        } else {
            sqlx::query(
                "UPDATE sandbox_clock SET offset_seconds = $3 \
                 WHERE merchant_id = $1 AND offset_seconds = $2",
            )
            .bind(merchant_id)
            .bind(expected)
            .bind(offset_seconds)
            .execute(&self.pool)
            .await?
        };
        Ok(changed.rows_affected() == 1)
    }

    async fn billing_merchants(&self) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT m.merchant_id, COALESCE(c.offset_seconds, 0) FROM \
             (SELECT merchant_id FROM subscriptions WHERE status = 'A' \
              UNION SELECT merchant_id FROM subscription_transactions WHERE tran_status = 'P') m \
             LEFT JOIN sandbox_clock c ON c.merchant_id = m.merchant_id ORDER BY m.merchant_id",
        )
        .fetch_all(&self.pool)
        .await?)
    }
}
