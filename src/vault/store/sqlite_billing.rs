//! [`BillingStore`] on SQLite. The engine's batches are a handful of statements each: writes
//! bind every row of the batch into one statement (multi-row `VALUES`), and batch reads come
//! back as one JSON array (see [`json_rows`]).

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use super::billing::{
    BillingStore, Claimed, Lane, LedgerEntry, PlanRow, ProcessorRecord, TransactionRow,
};
use super::billing_rows::{SUBSCRIPTION_COLUMNS, StateRow, SubscriptionRow, subscription_json};
use super::outbox;
use super::sql::{PLAN_COLUMNS, bind_plan, bind_subscription, push_conditions};
use super::sqlite::{SqliteStore, json_rows, unique_violation_as};
use super::{BrowseQuery, Page, SealedCard, StoreError, timestamp};
use crate::vault::billing::attempts::{
    CardSummary, ClaimPlan, DueSubscription, Outcome, Tally, apply_outcomes,
};
use crate::vault::billing::subscription::Subscription;
use crate::vault::events;

/// A browse over one table, scoped to the merchant: the total and one page.
async fn browse<T>(
    pool: &SqlitePool,
    table: &str,
    extra: &str,
    merchant_id: i64,
    query: &BrowseQuery,
) -> Result<Page<T>, StoreError>
where
    T: for<'r> FromRow<'r, SqliteRow> + Send + Unpin,
{
    let mut count = QueryBuilder::new(format!(
        "SELECT COUNT(*) FROM {table} WHERE {extra} merchant_id = "
    ));
    count.push_bind(merchant_id);
    push_conditions(&mut count, &query.conditions);
    let total_records: i64 = count.build_query_scalar().fetch_one(pool).await?;
    let direction = if query.descending { "DESC" } else { "ASC" };
    let mut select = QueryBuilder::new(format!(
        "SELECT * FROM {table} WHERE {extra} merchant_id = "
    ));
    select.push_bind(merchant_id);
    push_conditions(&mut select, &query.conditions);
    select.push(format_args!(
        " ORDER BY {column} {direction}, rowid {direction} LIMIT ",
        column = query.order_on.column
    ));
    select.push_bind(query.count);
    select.push(" OFFSET ");
    select.push_bind(query.count.saturating_mul(query.page));
    let items = select.build_query_as().fetch_all(pool).await?;
    Ok(Page {
        items,
        total_records,
    })
}

fn typed(rows: Vec<SubscriptionRow>) -> Result<Vec<Subscription>, StoreError> {
    rows.into_iter().map(Subscription::try_from).collect()
}

/// SQLite's cap on the variables one statement binds (`SQLITE_MAX_VARIABLE_NUMBER`).
const MAX_VARIABLES: usize = 32_766;

/// `rows` in runs small enough for one statement that binds `columns` variables a row: a batch
/// of any allowed size is written by as few statements as SQLite's cap permits (one for the
/// default batch), in its one transaction.
fn statements<T>(rows: &[T], columns: usize) -> std::slice::Chunks<'_, T> {
    rows.chunks((MAX_VARIABLES / columns).max(1))
}

/// ` IN (?, ?, …)` with one bind per value (a batch's ids: fewer than SQLite's cap).
fn push_in<'a, T>(query: &mut QueryBuilder<'a, Sqlite>, values: impl IntoIterator<Item = T>)
where
    T: 'a + sqlx::Encode<'a, Sqlite> + sqlx::Type<Sqlite> + Send,
{
    query.push(" IN (");
    let mut list = query.separated(", ");
    for value in values {
        list.push_bind(value);
    }
    list.push_unseparated(")");
}

/// The state columns of subscriptions the engine moved on, as statements that write each only
/// if its version is still the one it was read with.
fn save_states(rows: &[StateRow]) -> Vec<QueryBuilder<'_, Sqlite>> {
    statements(rows, 9)
        .map(|rows| {
            let mut update = QueryBuilder::new(
                "WITH v (id, version, status, next_event, date_next, next_attempt_on, \
                 failed_attempts, retry_base, updated_at) AS (",
            );
            update.push_values(rows, |mut values, row| {
                values
                    .push_bind(row.subscription_id)
                    .push_bind(row.version)
                    .push_bind(row.status)
                    .push_bind(row.next_event)
                    .push_bind(row.date_next.as_deref())
                    .push_bind(row.next_attempt_on.as_deref())
                    .push_bind(row.failed_attempts)
                    .push_bind(row.retry_base)
                    .push_bind(row.updated_at.as_str());
            });
            update.push(
                ") UPDATE subscriptions SET status = v.status, next_event = v.next_event, \
                 date_next = v.date_next, next_attempt_on = v.next_attempt_on, \
                 failed_attempts = v.failed_attempts, retry_base = v.retry_base, \
                 updated_at = v.updated_at, version = subscriptions.version + 1 \
                 FROM v WHERE subscriptions.subscription_id = v.id \
                 AND subscriptions.version = v.version",
            );
            update
        })
        .collect()
}

/// The outcomes of attempts, as statements that store each only if its attempt is still
/// pending.
fn record_outcomes<'a>(outcomes: &[&'a Outcome]) -> Vec<QueryBuilder<'a, Sqlite>> {
    statements(outcomes, 5)
        .map(|outcomes| {
            let mut update =
                QueryBuilder::new("WITH v (pg_id, tran_status, rcode, rmsg, auth_code) AS (");
            update.push_values(outcomes, |mut values, o| {
                values
                    .push_bind(o.pg_id.as_str())
                    .push_bind(if o.approved { "A" } else { "D" })
                    .push_bind(o.rcode.as_str())
                    .push_bind(o.rmsg.as_str())
                    .push_bind(o.auth_code.as_deref());
            });
            update.push(
                ") UPDATE subscription_transactions SET tran_status = v.tran_status, \
                 rcode = v.rcode, rmsg = v.rmsg, auth_code = v.auth_code \
                 FROM v WHERE subscription_transactions.pg_id = v.pg_id \
                 AND +subscription_transactions.tran_status = 'P'",
            );
            update
        })
        .collect()
}

/// Claims, as statements that insert each only if its subscription is still active at the
/// version it was read with and no other engine claimed the attempt first.
fn insert_claims<'a>(
    attempts: &'a [TransactionRow],
    versions: &'a [i64],
) -> Vec<QueryBuilder<'a, Sqlite>> {
    let claims: Vec<(&TransactionRow, i64)> =
        attempts.iter().zip(versions.iter().copied()).collect();
    statements(&claims, 19)
        .map(|claims| {
            let mut insert = QueryBuilder::new(
                "WITH v (pg_id, merchant_id, subscription_id, version, customer_id, event, \
                 attempt, kind, tran_date, tran_time, amt_tran, tran_currency, card_id, \
                 card_number, card_type, cardholder_first_name, cardholder_last_name, \
                 purchase_id, claimed_at) AS (",
            );
            insert.push_values(claims, |mut values, (a, version)| {
                values
                    .push_bind(a.pg_id.as_str())
                    .push_bind(a.merchant_id)
                    .push_bind(a.subscription_id)
                    .push_bind(*version)
                    .push_bind(a.customer_id.as_str())
                    .push_bind(a.event)
                    .push_bind(a.attempt)
                    .push_bind(a.kind.as_str())
                    .push_bind(a.tran_date.as_str())
                    .push_bind(a.tran_time.as_str())
                    .push_bind(a.amt_tran)
                    .push_bind(a.tran_currency.as_str())
                    .push_bind(a.card_id.as_str())
                    .push_bind(a.card_number.as_str())
                    .push_bind(a.card_type.as_deref())
                    .push_bind(a.cardholder_first_name.as_deref())
                    .push_bind(a.cardholder_last_name.as_deref())
                    .push_bind(a.purchase_id.as_deref())
                    .push_bind(a.claimed_at.as_str());
            });
            insert.push(
                ") INSERT INTO subscription_transactions (pg_id, merchant_id, subscription_id, \
                 customer_id, event, attempt, kind, tran_date, tran_time, amt_tran, \
                 tran_currency, tran_status, card_id, card_number, card_type, \
                 cardholder_first_name, cardholder_last_name, purchase_id, claimed_at) \
                 SELECT v.pg_id, v.merchant_id, v.subscription_id, v.customer_id, v.event, \
                 v.attempt, v.kind, v.tran_date, v.tran_time, v.amt_tran, v.tran_currency, 'P', \
                 v.card_id, v.card_number, v.card_type, v.cardholder_first_name, \
                 v.cardholder_last_name, v.purchase_id, v.claimed_at \
                 FROM v JOIN subscriptions s ON s.subscription_id = v.subscription_id \
                 AND s.version = v.version AND s.status = 'A' \
                 WHERE true ON CONFLICT DO NOTHING",
            );
            insert
        })
        .collect()
}

/// Runs built statements; how many rows they changed.
async fn run(
    conn: &mut SqliteConnection,
    queries: Vec<QueryBuilder<'_, Sqlite>>,
) -> Result<u64, StoreError> {
    let mut changed = 0;
    for mut query in queries {
        changed += query.build().execute(&mut *conn).await?.rows_affected();
    }
    Ok(changed)
}

/// Subscriptions by id, read as one JSON array.
async fn subscriptions_by_id(
    conn: &mut SqliteConnection,
    ids: &[i64],
) -> Result<Vec<Subscription>, StoreError> {
    let mut select = QueryBuilder::new(format!(
        "SELECT json_group_array({}) FROM subscriptions s WHERE s.subscription_id",
        subscription_json("s")
    ));
    push_in(&mut select, ids.iter().copied());
    let rows: Vec<SubscriptionRow> =
        json_rows(select.build_query_scalar().fetch_one(&mut *conn).await?)?;
    typed(rows)
}

#[async_trait]
impl BillingStore for SqliteStore {
    async fn insert_plan(&self, plan: &PlanRow) -> Result<PlanRow, StoreError> {
        let mut insert = QueryBuilder::new(format!("INSERT INTO plans ({PLAN_COLUMNS}) VALUES ("));
        bind_plan(&mut insert, plan);
        insert.push(") RETURNING *");
        insert
            .build_query_as()
            .fetch_one(&self.writer)
            .await
            .map_err(|e| unique_violation_as(e, StoreError::DuplicatePlan))
    }

    async fn plan(&self, merchant_id: i64, plan_code: &str) -> Result<PlanRow, StoreError> {
        sqlx::query_as(
            "SELECT * FROM plans WHERE merchant_id = ? AND plan_code = ? AND status <> 'D'",
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
        browse(&self.pool, "plans", "status <> 'D' AND", merchant_id, query).await
    }

    async fn save_plan(&self, plan: &PlanRow) -> Result<PlanRow, StoreError> {
        let mut update = QueryBuilder::new(format!("UPDATE plans SET ({PLAN_COLUMNS}) = ("));
        bind_plan(&mut update, plan);
        update.push(") WHERE plan_id = ").push_bind(plan.plan_id);
        update.push(" RETURNING *");
        update
            .build_query_as()
            .fetch_optional(&self.writer)
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
        let mut tx = self.write().await?;
        let in_use: Option<bool> = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM subscriptions s WHERE s.plan_id = p.plan_id \
             AND s.merchant_id = p.merchant_id AND s.status IN ('A', 'P', 'S')) \
             FROM plans p WHERE p.merchant_id = ? AND p.plan_id = ? AND p.status <> 'D'",
        )
        .bind(merchant_id)
        .bind(plan_id)
        .fetch_optional(&mut *tx)
        .await?;
        match in_use {
            None => return Err(StoreError::PlanNotFound),
            Some(true) => return Err(StoreError::PlanInUse),
            Some(false) => {}
        }
        let plan: PlanRow = sqlx::query_as(
            "UPDATE plans SET status = 'D', mod_timestamp = ? WHERE merchant_id = ? AND plan_id = ? \
             AND status <> 'D' RETURNING *",
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
        let row: SubscriptionRow = insert.build_query_as().fetch_one(&self.writer).await?;
        row.try_into()
    }

    async fn subscription(
        &self,
        merchant_id: i64,
        subscription_id: i64,
    ) -> Result<Subscription, StoreError> {
        let row: SubscriptionRow = sqlx::query_as(
            "SELECT * FROM subscriptions WHERE merchant_id = ? AND subscription_id = ?",
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
        let page: Page<SubscriptionRow> =
            browse(&self.pool, "subscriptions", "", merchant_id, query).await?;
        Ok(Page {
            items: typed(page.items)?,
            total_records: page.total_records,
        })
    }

    async fn save_subscription(
        &self,
        subscription: &Subscription,
    ) -> Result<Subscription, StoreError> {
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
            .fetch_optional(&self.writer)
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
        // A due attempt not made yet has no row at its (subscription, event, attempt). That
        // also skips subscriptions with an attempt in flight, which is always at that position.
        // Each row comes with its card: what a transaction shows of it, and the card sealed,
        // for the charge.
        let due: Vec<(SubscriptionRow, Option<(SealedCard, CardSummary)>)> = json_rows(
            sqlx::query_scalar(&format!(
                "SELECT json_group_array(json_array({}, CASE WHEN c.card_id IS NULL THEN NULL \
                 ELSE json_array( \
                   json_array(cu.customer_id, c.card_id, c.key_id, hex(c.ciphertext), c.exp_date), \
                   json_array(c.masked_number, c.card_type, c.billing_first_name, \
                     c.billing_last_name)) END)) \
                 FROM (SELECT * FROM subscriptions s \
                 WHERE s.merchant_id = ? AND s.status = 'A' AND s.next_attempt_on <= ? \
                 AND s.subscription_id % ? = ? \
                 AND NOT EXISTS (SELECT 1 FROM subscription_transactions t \
                     WHERE t.subscription_id = s.subscription_id AND t.event = s.next_event \
                     AND t.attempt = s.failed_attempts) \
                 ORDER BY s.next_attempt_on, s.subscription_id LIMIT ?) s \
                 LEFT JOIN billing_cards c ON c.card_id = s.card_id AND c.merchant_id = s.merchant_id \
                 LEFT JOIN customers cu ON cu.rec_id = c.customer_rec_id",
                subscription_json("s")
            ))
            .bind(merchant_id)
            .bind(today.to_string())
            .bind(i64::from(lane.of.max(1)))
            .bind(i64::from(lane.index))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_one(&self.pool)
            .await?,
        )?;
        due.into_iter()
            .map(|(row, card)| Ok((Subscription::try_from(row)?, card)))
            .collect()
    }

    async fn write_claims(&self, mut plan: ClaimPlan) -> Result<Claimed, StoreError> {
        // Each claim is inserted only if its subscription is exactly as it was read (same
        // version: no pause, cancel or outcome since) and no other engine claimed the attempt
        // first; free events are passed on the same condition.
        if plan.attempts.is_empty() && plan.passed.is_empty() {
            return Ok(Claimed::default());
        }
        let versions: Vec<i64> = plan.claimed.iter().map(|sub| sub.version).collect();
        let passed: Vec<StateRow> = plan.passed.iter().map(StateRow::from).collect();
        let insert = insert_claims(&plan.attempts, &versions);
        // No transaction around them: every claim and every pass is guarded by its own
        // subscription's version, so each statement stands alone (a write statement takes the
        // write lock before it reads), and a run that stops between two leaves nothing half
        // done. One connection keeps the reads of our own claims on what was just written.
        let mut conn = self.writer.acquire().await?;
        let inserted = run(&mut conn, insert).await?;
        let passed = run(&mut conn, save_states(&passed)).await?;
        if inserted < plan.attempts.len() as u64 {
            // Some subscriptions changed, or another engine claimed them first: keep only the
            // claims that are ours.
            let mut select = QueryBuilder::new(
                "SELECT json_group_array(pg_id) FROM subscription_transactions WHERE pg_id",
            );
            push_in(&mut select, plan.attempts.iter().map(|a| a.pg_id.as_str()));
            let ours: HashSet<String> =
                json_rows::<String>(select.build_query_scalar().fetch_one(&mut *conn).await?)?
                    .into_iter()
                    .collect();
            let keep: Vec<bool> = plan
                .attempts
                .iter()
                .map(|a| ours.contains(&a.pg_id))
                .collect();
            let mut keep_attempt = keep.iter().copied();
            plan.attempts
                .retain(|_| keep_attempt.next().unwrap_or(false));
            let kept: HashSet<i64> = plan.attempts.iter().map(|a| a.subscription_id).collect();
            plan.claimed
                .retain(|sub| kept.contains(&sub.subscription_id));
            let cards: HashSet<&str> = plan.attempts.iter().map(|a| a.card_id.as_str()).collect();
            plan.cards
                .retain(|card| cards.contains(card.card_id.as_str()));
        }
        drop(conn);
        Ok(Claimed {
            attempts: plan.attempts,
            subscriptions: plan.claimed,
            cards: plan.cards,
            passed: usize::try_from(passed).unwrap_or(usize::MAX),
        })
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
            "SELECT * FROM subscription_transactions WHERE merchant_id = ? AND tran_status = 'P' \
             AND tran_id > ? AND tran_id <= ? ORDER BY tran_id LIMIT ?",
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
        // The usual case, worked out before the write transaction and written in two
        // statements: every attempt is still pending and no subscription changed since its
        // claim, so each moves on from its claimed copy. Anything else (a pause or cancel
        // meanwhile, another engine that recorded first, attempts an earlier run left) shows in
        // the row counts, is rolled back and done the careful way.
        if claimed.len() == outcomes.len() {
            let subscriptions = claimed
                .into_iter()
                .map(|sub| (sub.subscription_id, sub))
                .collect();
            let (changed, tally, new_events) = apply_outcomes(subscriptions, &all, now);
            let states: Vec<StateRow> = changed.iter().map(StateRow::from).collect();
            let recorded = record_outcomes(&all);
            let moved = save_states(&states);
            let mut tx = self.write().await?;
            if run(&mut tx, recorded).await? == all.len() as u64
                && run(&mut tx, moved).await? == states.len() as u64
            {
                outbox::sqlite::enqueue(&mut tx, &new_events, now).await?;
                tx.commit().await?;
                events::committed();
                return Ok(tally);
            }
            tx.rollback().await?;
        }
        let mut tx = self.write().await?;
        // Which of the batch's attempts are still pending. The unary `+`s keep SQLite from
        // driving the lookup from the merchant's pending rows: each is found by `pg_id`.
        let mut select = QueryBuilder::new(
            "SELECT json_group_array(json_array(pg_id, subscription_id)) \
             FROM subscription_transactions WHERE +tran_status = 'P' AND +merchant_id = ",
        );
        select.push_bind(merchant_id).push(" AND pg_id");
        push_in(&mut select, outcomes.iter().map(|o| o.pg_id.as_str()));
        let pending: Vec<(String, i64)> =
            json_rows(select.build_query_scalar().fetch_one(&mut *tx).await?)?;
        if pending.is_empty() {
            return Ok(Tally::default());
        }
        let mut ids: Vec<i64> = pending.iter().map(|(_, id)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        let subscriptions = subscriptions_by_id(&mut tx, &ids)
            .await?
            .into_iter()
            .map(|sub| (sub.subscription_id, sub))
            .collect();
        let pending: HashSet<&str> = pending.iter().map(|(pg_id, _)| pg_id.as_str()).collect();
        let recorded: Vec<&Outcome> = all
            .into_iter()
            .filter(|o| pending.contains(o.pg_id.as_str()))
            .collect();
        run(&mut tx, record_outcomes(&recorded)).await?;
        let (changed, tally, new_events) = apply_outcomes(subscriptions, &recorded, now);
        let states: Vec<StateRow> = changed.iter().map(StateRow::from).collect();
        run(&mut tx, save_states(&states)).await?;
        outbox::sqlite::enqueue(&mut tx, &new_events, now).await?;
        tx.commit().await?;
        events::committed();
        Ok(tally)
    }

    async fn processor_charges(
        &self,
        entries: &[LedgerEntry],
        now: DateTime<Utc>,
    ) -> Result<Vec<ProcessorRecord>, StoreError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let charged_at = timestamp(now);
        let inserts = statements(entries, 8)
            .map(|entries| {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO processor_charges (idempotency_key, merchant_id, amount, \
                     approved, rcode, rmsg, auth_code, charged_at) ",
                );
                insert.push_values(entries, |mut values, e| {
                    values
                        .push_bind(&e.key)
                        .push_bind(e.merchant_id)
                        .push_bind(e.amount)
                        .push_bind(e.record.approved)
                        .push_bind(&e.record.rcode)
                        .push_bind(&e.record.rmsg)
                        .push_bind(&e.record.auth_code)
                        .push_bind(&charged_at);
                });
                insert.push(" ON CONFLICT (idempotency_key) DO NOTHING");
                insert
            })
            .collect();
        // Each entry stands alone (a key is answered once and never changes), so the inserts
        // need no transaction around them: each statement is atomic by itself.
        let mut conn = self.writer.acquire().await?;
        let inserted = run(&mut conn, inserts).await?;
        drop(conn);
        if inserted == entries.len() as u64 {
            // Every key was new: the answers are the ones just stored.
            return Ok(entries.iter().map(|e| e.record.clone()).collect());
        }
        #[derive(serde::Deserialize)]
        struct Stored {
            key: String,
            approved: i64,
            rcode: String,
            rmsg: String,
            auth_code: Option<String>,
        }
        let mut select = QueryBuilder::new(
            "SELECT json_group_array(json_object('key', idempotency_key, \
             'approved', approved, 'rcode', rcode, 'rmsg', rmsg, 'auth_code', auth_code)) \
             FROM processor_charges WHERE idempotency_key",
        );
        push_in(&mut select, entries.iter().map(|e| e.key.as_str()));
        let stored: Vec<Stored> =
            json_rows(select.build_query_scalar().fetch_one(&self.pool).await?)?;
        let by_key: HashMap<String, ProcessorRecord> = stored
            .into_iter()
            .map(|s| {
                let record = ProcessorRecord {
                    approved: s.approved != 0,
                    rcode: s.rcode,
                    rmsg: s.rmsg,
                    auth_code: s.auth_code,
                };
                (s.key, record)
            })
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
            sqlx::query_scalar("SELECT COUNT(*) FROM processor_charges WHERE merchant_id = ?")
                .bind(merchant_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn clock_offset(&self, merchant_id: i64) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT offset_seconds FROM sandbox_clock WHERE merchant_id = ?")
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
        let mut tx = self.write().await?;
        let current: i64 =
            sqlx::query_scalar("SELECT offset_seconds FROM sandbox_clock WHERE merchant_id = ?")
                .bind(merchant_id)
                .fetch_optional(&mut *tx)
                .await?
                .unwrap_or(0);
        if current != expected {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO sandbox_clock (merchant_id, offset_seconds) VALUES (?, ?) \
             ON CONFLICT (merchant_id) DO UPDATE SET offset_seconds = excluded.offset_seconds",
        )
        .bind(merchant_id)
        .bind(offset_seconds)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
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
