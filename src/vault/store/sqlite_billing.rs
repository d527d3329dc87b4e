//! [`BillingStore`] on SQLite. The engine's batches travel as one JSON array per statement
//! (`json_each`), so a claim or a record of hundreds of attempts is a handful of statements.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use super::billing::{
    BillingStore, Claimed, LedgerEntry, PlanRow, ProcessorRecord, TransactionRow,
};
use super::billing_rows::{SUBSCRIPTION_COLUMNS, SubscriptionRow};
use super::sqlite::{SqliteStore, push_conditions, unique_violation_as};
use super::{BrowseQuery, Page, StoreError, timestamp};
use crate::vault::billing::attempts::{
    CardSummary, Outcome, Recorded, Tally, apply_outcomes, plan_claims,
};
use crate::vault::billing::subscription::Subscription;

const PLAN_COLUMNS: &str = "merchant_id, plan_code, plan_name, plan_desc, plan_frequency, \
    interval, plan_duration, trial_duration, amt_trial, amt_setup, amt_tran, tran_currency, \
    profile_id, bill_specific_day, day_of_week, day_of_month, month, prorate_first_pmt, \
    amt_prorate, status, db_timestamp, mod_timestamp";

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

fn bind_plan<'a>(query: &mut QueryBuilder<'a, Sqlite>, plan: &'a PlanRow) {
    let mut values = query.separated(", ");
    values.push_bind(plan.merchant_id);
    values.push_bind(&plan.plan_code);
    values.push_bind(&plan.plan_name);
    values.push_bind(&plan.plan_desc);
    values.push_bind(plan.plan_frequency);
    values.push_bind(plan.interval);
    values.push_bind(plan.plan_duration);
    values.push_bind(plan.trial_duration);
    values.push_bind(plan.amt_trial);
    values.push_bind(plan.amt_setup);
    values.push_bind(plan.amt_tran);
    values.push_bind(&plan.tran_currency);
    values.push_bind(&plan.profile_id);
    values.push_bind(plan.bill_specific_day);
    values.push_bind(plan.day_of_week);
    values.push_bind(plan.day_of_month);
    values.push_bind(plan.month);
    values.push_bind(plan.prorate_first_pmt);
    values.push_bind(plan.amt_prorate);
    values.push_bind(&plan.status);
    values.push_bind(&plan.db_timestamp);
    values.push_bind(&plan.mod_timestamp);
}

fn bind_subscription<'a>(query: &mut QueryBuilder<'a, Sqlite>, s: &'a SubscriptionRow) {
    let mut values = query.separated(", ");
    values.push_bind(s.merchant_id);
    values.push_bind(&s.customer_id);
    values.push_bind(&s.card_id);
    values.push_bind(s.plan_id);
    values.push_bind(&s.plan_code);
    values.push_bind(&s.plan_name);
    values.push_bind(&s.plan_desc);
    values.push_bind(s.plan_frequency);
    values.push_bind(s.interval);
    values.push_bind(s.plan_duration);
    values.push_bind(s.trial_duration);
    values.push_bind(s.bill_specific_day);
    values.push_bind(s.day_of_week);
    values.push_bind(s.day_of_month);
    values.push_bind(s.month);
    values.push_bind(s.anchor_day);
    values.push_bind(s.amt_setup);
    values.push_bind(s.trial_amt);
    values.push_bind(s.recur_amt);
    values.push_bind(s.prorate_amt);
    values.push_bind(&s.tran_currency);
    values.push_bind(&s.profile_id);
    values.push_bind(&s.purchase_id);
    values.push_bind(s.cancel_on_setup_fail);
    values.push_bind(&s.status);
    values.push_bind(&s.date_start);
    values.push_bind(&s.first_billing);
    values.push_bind(s.next_event);
    values.push_bind(&s.date_next);
    values.push_bind(&s.next_attempt_on);
    values.push_bind(s.failed_attempts);
    values.push_bind(s.retry_base);
    values.push_bind(&s.created_at);
    values.push_bind(&s.updated_at);
}

fn typed(rows: Vec<SubscriptionRow>) -> Result<Vec<Subscription>, StoreError> {
    rows.into_iter().map(Subscription::try_from).collect()
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("a batch: {e}")))
}

/// Writes the state columns of subscriptions the engine moved on, in one statement.
async fn save_states(
    conn: &mut SqliteConnection,
    subscriptions: &[Subscription],
) -> Result<(), StoreError> {
    if subscriptions.is_empty() {
        return Ok(());
    }
    let rows: Vec<SubscriptionRow> = subscriptions.iter().map(SubscriptionRow::from).collect();
    sqlx::query(
        "UPDATE subscriptions SET status = j.value ->> 'status', \
         next_event = j.value ->> 'next_event', date_next = j.value ->> 'date_next', \
         next_attempt_on = j.value ->> 'next_attempt_on', \
         failed_attempts = j.value ->> 'failed_attempts', retry_base = j.value ->> 'retry_base', \
         updated_at = j.value ->> 'updated_at', version = version + 1 \
         FROM json_each(?) AS j WHERE subscriptions.subscription_id = j.value ->> 'subscription_id'",
    )
    .bind(json(&rows)?)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What the claimed subscriptions' cards show on a transaction, by `card_id`.
async fn card_summaries(
    conn: &mut SqliteConnection,
    merchant_id: i64,
    card_ids: Vec<&str>,
) -> Result<HashMap<String, CardSummary>, StoreError> {
    let cards: Vec<CardSummary> = sqlx::query_as(
        "SELECT card_id, masked_number, card_type, billing_first_name, billing_last_name \
         FROM billing_cards WHERE merchant_id = ? AND card_id IN (SELECT value FROM json_each(?))",
    )
    .bind(merchant_id)
    .bind(json(&card_ids)?)
    .fetch_all(&mut *conn)
    .await?;
    Ok(cards.into_iter().map(|c| (c.card_id.clone(), c)).collect())
}

#[async_trait]
impl BillingStore for SqliteStore {
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
        let mut tx = self.write().await?;
        let in_use: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM subscriptions WHERE plan_id = ? AND status IN ('A', 'P', 'S'))",
        )
        .bind(plan_id)
        .fetch_one(&mut *tx)
        .await?;
        if in_use {
            return Err(StoreError::PlanInUse);
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
        let row: SubscriptionRow = insert.build_query_as().fetch_one(&self.pool).await?;
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
            "tran_status <> 'P' AND",
            merchant_id,
            query,
        )
        .await
    }

    async fn claim_due(
        &self,
        merchant_id: i64,
        today: NaiveDate,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Claimed, StoreError> {
        let mut tx = self.write().await?;
        // Skip subscriptions with an attempt in flight, and any whose due attempt was already
        // made (its outcome is recorded; charging it again could only double-bill).
        let rows: Vec<SubscriptionRow> = sqlx::query_as(
            "SELECT s.* FROM subscriptions s \
             WHERE s.merchant_id = ? AND s.status = 'A' AND s.next_attempt_on <= ? \
             AND NOT EXISTS (SELECT 1 FROM subscription_transactions t \
                 WHERE t.subscription_id = s.subscription_id AND t.tran_status = 'P') \
             AND NOT EXISTS (SELECT 1 FROM subscription_transactions t \
                 WHERE t.subscription_id = s.subscription_id AND t.event = s.next_event \
                 AND t.attempt = s.failed_attempts) \
             ORDER BY s.next_attempt_on, s.subscription_id LIMIT ?",
        )
        .bind(merchant_id)
        .bind(today.format("%Y-%m-%d").to_string())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(Claimed::default());
        }
        let subscriptions = typed(rows)?;
        let card_ids = subscriptions.iter().map(|s| s.card_id.as_str()).collect();
        let cards = card_summaries(&mut tx, merchant_id, card_ids).await?;
        let plan = plan_claims(subscriptions, &cards, today, now);
        let attempts: Vec<TransactionRow> = if plan.attempts.is_empty() {
            Vec::new()
        } else {
            sqlx::query_as(
                "INSERT INTO subscription_transactions (pg_id, merchant_id, subscription_id, \
                 customer_id, event, attempt, kind, tran_date, tran_time, amt_tran, tran_currency, \
                 tran_status, card_id, card_number, card_type, cardholder_first_name, \
                 cardholder_last_name, purchase_id, claimed_at) \
                 SELECT v ->> 'pg_id', v ->> 'merchant_id', v ->> 'subscription_id', \
                 v ->> 'customer_id', v ->> 'event', v ->> 'attempt', v ->> 'kind', \
                 v ->> 'tran_date', v ->> 'tran_time', v ->> 'amt_tran', v ->> 'tran_currency', 'P', \
                 v ->> 'card_id', v ->> 'card_number', v ->> 'card_type', \
                 v ->> 'cardholder_first_name', v ->> 'cardholder_last_name', v ->> 'purchase_id', \
                 v ->> 'claimed_at' \
                 FROM (SELECT value AS v FROM json_each(?)) WHERE true \
                 ON CONFLICT DO NOTHING RETURNING *",
            )
            .bind(json(&plan.attempts)?)
            .fetch_all(&mut *tx)
            .await?
        };
        save_states(&mut tx, &plan.passed).await?;
        tx.commit().await?;
        Ok(Claimed {
            attempts,
            passed: plan.passed.len(),
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
        now: DateTime<Utc>,
    ) -> Result<Tally, StoreError> {
        if outcomes.is_empty() {
            return Ok(Tally::default());
        }
        let batch: Vec<serde_json::Value> = outcomes
            .iter()
            .map(|o| {
                serde_json::json!({
                    "pg_id": o.pg_id,
                    "tran_status": if o.approved { "A" } else { "D" },
                    "rcode": o.rcode,
                    "rmsg": o.rmsg,
                    "auth_code": o.auth_code,
                })
            })
            .collect();
        let mut tx = self.write().await?;
        let recorded: Vec<Recorded> = sqlx::query_as(
            "UPDATE subscription_transactions SET tran_status = j.value ->> 'tran_status', \
             rcode = j.value ->> 'rcode', rmsg = j.value ->> 'rmsg', \
             auth_code = j.value ->> 'auth_code' \
             FROM json_each(?) AS j \
             WHERE subscription_transactions.pg_id = j.value ->> 'pg_id' \
             AND subscription_transactions.merchant_id = ? \
             AND subscription_transactions.tran_status = 'P' \
             RETURNING subscription_id, event, attempt, tran_status = 'A' AS approved",
        )
        .bind(json(&batch)?)
        .bind(merchant_id)
        .fetch_all(&mut *tx)
        .await?;
        if recorded.is_empty() {
            return Ok(Tally::default());
        }
        let ids: Vec<i64> = recorded.iter().map(|r| r.subscription_id).collect();
        let rows: Vec<SubscriptionRow> = sqlx::query_as(
            "SELECT * FROM subscriptions WHERE subscription_id IN (SELECT value FROM json_each(?))",
        )
        .bind(json(&ids)?)
        .fetch_all(&mut *tx)
        .await?;
        let (changed, tally) = apply_outcomes(typed(rows)?, &recorded, now);
        save_states(&mut tx, &changed).await?;
        tx.commit().await?;
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
        let batch: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "key": e.key,
                    "merchant_id": e.merchant_id,
                    "amount": e.amount,
                    "approved": e.record.approved,
                    "rcode": e.record.rcode,
                    "rmsg": e.record.rmsg,
                    "auth_code": e.record.auth_code,
                })
            })
            .collect();
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO processor_charges (idempotency_key, merchant_id, amount, approved, rcode, \
             rmsg, auth_code, charged_at) \
             SELECT v ->> 'key', v ->> 'merchant_id', v ->> 'amount', v ->> 'approved', \
             v ->> 'rcode', v ->> 'rmsg', v ->> 'auth_code', ? \
             FROM (SELECT value AS v FROM json_each(?)) WHERE true \
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(timestamp(now))
        .bind(json(&batch)?)
        .execute(&mut *tx)
        .await?;
        let stored: Vec<(String, bool, String, String, Option<String>)> = sqlx::query_as(
            "SELECT idempotency_key, approved, rcode, rmsg, auth_code FROM processor_charges \
             WHERE idempotency_key IN (SELECT value FROM json_each(?))",
        )
        .bind(json(&keys)?)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let by_key: HashMap<String, ProcessorRecord> = stored
            .into_iter()
            .map(|(key, approved, rcode, rmsg, auth_code)| {
                let record = ProcessorRecord {
                    approved,
                    rcode,
                    rmsg,
                    auth_code,
                };
                (key, record)
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
