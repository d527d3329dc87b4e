//! [`BillingStore`] on SQLite.

use async_trait::async_trait;
use chrono::Utc;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, QueryBuilder, Sqlite, SqlitePool};

use super::billing::{BillingStore, PlanRow, ProcessorRecord, SubscriptionRow, TransactionRow};
use super::sqlite::{SqliteStore, push_conditions, unique_violation_as};
use super::{BrowseQuery, Page, StoreError, timestamp};

const PLAN_COLUMNS: &str = "merchant_id, plan_code, plan_name, plan_desc, plan_frequency, \
    interval, plan_duration, trial_duration, amt_trial, amt_setup, amt_tran, tran_currency, \
    profile_id, bill_specific_day, day_of_week, day_of_month, month, prorate_first_pmt, \
    amt_prorate, status, db_timestamp, mod_timestamp";

const SUBSCRIPTION_COLUMNS: &str = "merchant_id, customer_id, card_id, plan_id, plan_code, \
    plan_name, plan_desc, plan_frequency, interval, plan_duration, trial_duration, \
    bill_specific_day, day_of_week, day_of_month, month, anchor_day, amt_setup, trial_amt, \
    recur_amt, prorate_amt, tran_currency, profile_id, purchase_id, cancel_on_setup_fail, status, \
    date_start, first_billing, next_event, date_next, next_attempt_on, failed_attempts, \
    retry_base, created_at, updated_at";

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

    async fn delete_plan(&self, merchant_id: i64, plan_id: i64) -> Result<PlanRow, StoreError> {
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
        .bind(timestamp(Utc::now()))
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
        subscription: &SubscriptionRow,
    ) -> Result<SubscriptionRow, StoreError> {
        let mut insert = QueryBuilder::new(format!(
            "INSERT INTO subscriptions ({SUBSCRIPTION_COLUMNS}) VALUES ("
        ));
        bind_subscription(&mut insert, subscription);
        insert.push(") RETURNING *");
        Ok(insert.build_query_as().fetch_one(&self.pool).await?)
    }

    async fn subscription(
        &self,
        merchant_id: i64,
        subscription_id: i64,
    ) -> Result<SubscriptionRow, StoreError> {
        sqlx::query_as("SELECT * FROM subscriptions WHERE merchant_id = ? AND subscription_id = ?")
            .bind(merchant_id)
            .bind(subscription_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::SubscriptionNotFound)
    }

    async fn browse_subscriptions(
        &self,
        merchant_id: i64,
        query: &BrowseQuery,
    ) -> Result<Page<SubscriptionRow>, StoreError> {
        browse(&self.pool, "subscriptions", "", merchant_id, query).await
    }

    async fn save_subscription(
        &self,
        subscription: &SubscriptionRow,
        expected_updated_at: &str,
    ) -> Result<SubscriptionRow, StoreError> {
        let mut update = QueryBuilder::new(format!(
            "UPDATE subscriptions SET ({SUBSCRIPTION_COLUMNS}) = ("
        ));
        bind_subscription(&mut update, subscription);
        update
            .push(") WHERE subscription_id = ")
            .push_bind(subscription.subscription_id);
        update
            .push(" AND updated_at = ")
            .push_bind(expected_updated_at);
        update.push(" RETURNING *");
        update
            .build_query_as()
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::Concurrent)
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

    async fn next_due(
        &self,
        merchant_id: Option<i64>,
        now_utc: &str,
    ) -> Result<Option<SubscriptionRow>, StoreError> {
        let mut query = QueryBuilder::new(
            "SELECT s.* FROM subscriptions s LEFT JOIN sandbox_clock c ON c.merchant_id = s.merchant_id \
             WHERE s.status = 'A' AND s.next_attempt_on IS NOT NULL \
             AND s.next_attempt_on <= date(",
        );
        query.push_bind(now_utc);
        query.push(", '+' || COALESCE(c.offset_seconds, 0) || ' seconds') ");
        // Skip subscriptions with an attempt in flight, and any whose due attempt was already
        // made (its outcome is recorded; charging it again could only double-bill).
        query.push(
            "AND NOT EXISTS (SELECT 1 FROM subscription_transactions t \
             WHERE t.subscription_id = s.subscription_id AND (t.tran_status = 'P' \
             OR (t.event = s.next_event AND t.attempt = s.failed_attempts))) ",
        );
        if let Some(merchant_id) = merchant_id {
            query.push("AND s.merchant_id = ").push_bind(merchant_id);
        }
        query.push(" ORDER BY s.next_attempt_on, s.subscription_id LIMIT 1");
        Ok(query.build_query_as().fetch_optional(&self.pool).await?)
    }

    async fn claim(&self, attempt: &TransactionRow) -> Result<Option<TransactionRow>, StoreError> {
        let result = sqlx::query_as(
            "INSERT INTO subscription_transactions (pg_id, merchant_id, subscription_id, customer_id, \
             event, attempt, kind, tran_date, tran_time, amt_tran, tran_currency, tran_status, card_id, \
             card_number, card_type, cardholder_first_name, cardholder_last_name, purchase_id, claimed_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'P', ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(&attempt.pg_id)
        .bind(attempt.merchant_id)
        .bind(attempt.subscription_id)
        .bind(&attempt.customer_id)
        .bind(attempt.event)
        .bind(attempt.attempt)
        .bind(&attempt.kind)
        .bind(&attempt.tran_date)
        .bind(&attempt.tran_time)
        .bind(attempt.amt_tran)
        .bind(&attempt.tran_currency)
        .bind(&attempt.card_id)
        .bind(&attempt.card_number)
        .bind(&attempt.card_type)
        .bind(&attempt.cardholder_first_name)
        .bind(&attempt.cardholder_last_name)
        .bind(&attempt.purchase_id)
        .bind(timestamp(Utc::now()))
        .fetch_one(&self.pool)
        .await;
        match result {
            Ok(row) => Ok(Some(row)),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    async fn pending(&self) -> Result<Vec<TransactionRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT * FROM subscription_transactions WHERE tran_status = 'P' ORDER BY tran_id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn record(
        &self,
        attempt: &TransactionRow,
        subscription: &SubscriptionRow,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let recorded = sqlx::query(
            "UPDATE subscription_transactions SET tran_status = ?, rcode = ?, rmsg = ?, auth_code = ? \
             WHERE tran_id = ? AND tran_status = 'P'",
        )
        .bind(&attempt.tran_status)
        .bind(&attempt.rcode)
        .bind(&attempt.rmsg)
        .bind(&attempt.auth_code)
        .bind(attempt.tran_id)
        .execute(&mut *tx)
        .await?;
        if recorded.rows_affected() == 0 {
            return Ok(false);
        }
        let mut update = QueryBuilder::new(format!(
            "UPDATE subscriptions SET ({SUBSCRIPTION_COLUMNS}) = ("
        ));
        bind_subscription(&mut update, subscription);
        update
            .push(") WHERE subscription_id = ")
            .push_bind(subscription.subscription_id);
        update.build().execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn processor_charge(
        &self,
        key: &str,
        merchant_id: i64,
        amount: i64,
        record: &ProcessorRecord,
    ) -> Result<(ProcessorRecord, bool), StoreError> {
        let inserted = sqlx::query(
            "INSERT OR IGNORE INTO processor_charges (idempotency_key, merchant_id, amount, approved, \
             rcode, rmsg, auth_code, charged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(key)
        .bind(merchant_id)
        .bind(amount)
        .bind(record.approved)
        .bind(&record.rcode)
        .bind(&record.rmsg)
        .bind(&record.auth_code)
        .bind(timestamp(Utc::now()))
        .execute(&self.pool)
        .await?;
        let stored: ProcessorRecord = sqlx::query_as(
            "SELECT approved, rcode, rmsg, auth_code FROM processor_charges WHERE idempotency_key = ?",
        )
        .bind(key)
        .fetch_one(&self.pool)
        .await?;
        Ok((stored, inserted.rows_affected() == 1))
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

    async fn set_clock_offset(
        &self,
        merchant_id: i64,
        offset_seconds: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sandbox_clock (merchant_id, offset_seconds) VALUES (?, ?) \
             ON CONFLICT (merchant_id) DO UPDATE SET offset_seconds = excluded.offset_seconds",
        )
        .bind(merchant_id)
        .bind(offset_seconds)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
