//! Storage of webhooks and their outbox of deliveries. Both backends run the same SQL (`$n`
//! parameters), written once by [`webhook_store`] for each pool type, as the payment store is.
//!
//! Events enter the outbox through [`sqlite::enqueue`] or [`postgres::enqueue`], called inside
//! the transaction of the change that caused them: one delivery row per ACTIVE webhook of the
//! merchant subscribed to the event, none when there is no such webhook.

use async_trait::async_trait;
use sqlx::FromRow;

use super::{BrowseQuery, Page, StoreError};
use crate::vault::filter::{Field, FieldKind};

/// A webhook as stored (secrets sealed).
#[derive(Debug, Clone, FromRow)]
pub struct WebhookRow {
    pub webhook_id: i64,
    pub merchant_id: i64,
    pub label: String,
    pub notification_url: String,
    pub status: String,
    /// A JSON array of addresses.
    pub email_address: String,
    pub auth_type: String,
    pub auth_user_name: Option<String>,
    pub auth_password_key: Option<i64>,
    pub auth_password: Option<Vec<u8>>,
    pub secret_key: i64,
    pub secret: Vec<u8>,
    pub db_timestamp: String,
    pub failing_since: Option<String>,
}

/// A webhook and the events it subscribes to.
#[derive(Debug, Clone)]
pub struct StoredWebhook {
    pub row: WebhookRow,
    pub events: Vec<String>,
}

/// A delivery due to be posted, with what posting it needs from its webhook.
#[derive(Debug, Clone, FromRow)]
pub struct DueDelivery {
    pub delivery_id: i64,
    pub webhook_id: i64,
    pub merchant_id: i64,
    pub event_id: String,
    pub event: String,
    pub data: String,
    pub db_timestamp: String,
    pub attempts: i64,
    pub notification_url: String,
    pub auth_type: String,
    pub auth_user_name: Option<String>,
    pub auth_password_key: Option<i64>,
    pub auth_password: Option<Vec<u8>>,
    pub secret_key: i64,
    pub secret: Vec<u8>,
}

/// One attempt to post a delivery, as the delivery log keeps it.
#[derive(Debug, Clone, FromRow)]
pub struct AttemptRow {
    pub attempt_id: i64,
    pub webhook_id: i64,
    pub delivery_id: i64,
    pub event_id: String,
    pub event: String,
    pub attempt: i64,
    pub attempted_at: String,
    pub http_status: Option<i64>,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub next_attempt_at: Option<String>,
}

/// What came of posting a leased delivery.
#[derive(Debug, Clone)]
pub struct Attempted {
    pub delivery_id: i64,
    pub webhook_id: i64,
    pub lease_owner: String,
    pub event_id: String,
    pub event: String,
    /// The attempt's number (1 for the first post).
    pub attempt: i64,
    /// Merchant time of the attempt.
    pub attempted_at: String,
    pub http_status: Option<i64>,
    pub error: Option<String>,
    pub latency_ms: i64,
    /// `None` when it was delivered (a 2xx); else when to try again (merchant time).
    pub retry_at: Option<String>,
    /// Merchant time before which a webhook failing since then is suspended.
    pub suspend_failing_since: String,
}

/// The webhook fields browse can filter and sort on.
pub static WEBHOOK_FIELDS: &[Field] = &[
    Field {
        name: "webhook_id",
        column: "webhook_id",
        kind: FieldKind::Integer,
    },
    Field {
        name: "label",
        column: "label",
        kind: FieldKind::Text,
    },
    Field {
        name: "notification_url",
        column: "notification_url",
        kind: FieldKind::Text,
    },
    Field {
        name: "status",
        column: "status",
        kind: FieldKind::Text,
    },
    Field {
        name: "auth_type",
        column: "auth_type",
        kind: FieldKind::Text,
    },
    Field {
        name: "db_timestamp",
        column: "db_timestamp",
        kind: FieldKind::Text,
    },
];

/// The delivery log's fields browse can filter and sort on.
pub static ATTEMPT_FIELDS: &[Field] = &[
    Field {
        name: "attempt_id",
        column: "attempt_id",
        kind: FieldKind::Integer,
    },
    Field {
        name: "event_id",
        column: "event_id",
        kind: FieldKind::Text,
    },
    Field {
        name: "event",
        column: "event",
        kind: FieldKind::Text,
    },
    Field {
        name: "attempt",
        column: "attempt",
        kind: FieldKind::Integer,
    },
    Field {
        name: "attempted_at",
        column: "attempted_at",
        kind: FieldKind::Text,
    },
    Field {
        name: "http_status",
        column: "http_status",
        kind: FieldKind::Integer,
    },
    Field {
        name: "latency_ms",
        column: "latency_ms",
        kind: FieldKind::Integer,
    },
];

#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    /// Stores a new webhook and its events; its `webhook_id` is assigned.
    async fn insert_webhook(
        &self,
        row: &WebhookRow,
        events: &[String],
    ) -> Result<StoredWebhook, StoreError>;
    async fn webhook(
        &self,
        merchant_id: i64,
        webhook_id: i64,
    ) -> Result<Option<StoredWebhook>, StoreError>;
    async fn browse_webhooks(
        &self,
        merchant_id: i64,
        query: &BrowseQuery,
    ) -> Result<Page<StoredWebhook>, StoreError>;
    /// Writes the webhook's editable columns (label, URL, addresses, auth) and, when given, its
    /// events, in one transaction.
    async fn update_webhook(
        &self,
        row: &WebhookRow,
        events: Option<&[String]>,
    ) -> Result<Option<StoredWebhook>, StoreError>;
    /// Sets the status; making it ACTIVE also forgets earlier failures. `None` when there is
    /// no such webhook.
    async fn set_webhook_status(
        &self,
        merchant_id: i64,
        webhook_id: i64,
        status: &str,
    ) -> Result<Option<StoredWebhook>, StoreError>;
    /// Subscribes (or, with `add` false, unsubscribes) the webhook to an event.
    async fn set_webhook_event(
        &self,
        merchant_id: i64,
        webhook_id: i64,
        event: &str,
        add: bool,
    ) -> Result<Option<StoredWebhook>, StoreError>;

    /// Merchants with deliveries not yet delivered.
    async fn delivery_merchants(&self) -> Result<Vec<i64>, StoreError>;
    /// The merchant's deliveries that can be posted now: the oldest undelivered delivery of
    /// each ACTIVE webhook, if it is due by `merchant_now` and not leased at `process_now`.
    async fn due_deliveries(
        &self,
        merchant_id: i64,
        merchant_now: &str,
        process_now: &str,
        limit: i64,
    ) -> Result<Vec<DueDelivery>, StoreError>;
    /// Leases a delivery to `owner` until `until` unless someone else holds it; whether it did.
    async fn lease_delivery(
        &self,
        delivery_id: i64,
        owner: &str,
        until: &str,
        process_now: &str,
    ) -> Result<bool, StoreError>;
    /// In one transaction: logs the attempt and, if the lease is still the caller's, marks the
    /// delivery delivered (clearing the webhook's failures) or schedules its retry (and
    /// suspends the webhook when it has been failing since before `suspend_failing_since`).
    /// Whether the webhook was suspended by it.
    async fn record_attempt(&self, attempted: &Attempted) -> Result<bool, StoreError>;
    /// A webhook's delivery log, newest first by default.
    async fn browse_attempts(
        &self,
        webhook_id: i64,
        query: &BrowseQuery,
    ) -> Result<Page<AttemptRow>, StoreError>;
}

/// The SQL that writes a merchant's event to the outbox, once per subscribed ACTIVE webhook.
const ENQUEUE: &str = "INSERT INTO webhook_deliveries (webhook_id, merchant_id, event_id, \
     event, data, db_timestamp, next_attempt_at) \
     SELECT w.webhook_id, w.merchant_id, $1, $2, $3, $4, $4 FROM webhooks w \
     JOIN webhook_event_names n ON n.webhook_id = w.webhook_id \
     WHERE w.merchant_id = $5 AND w.status = 'ACTIVE' AND n.event = $2 \
     ORDER BY w.webhook_id";

/// Whether the merchant has an ACTIVE webhook at all (most events then need no insert).
pub(crate) const HAS_WEBHOOKS: &str =
    "SELECT COUNT(*) FROM webhooks WHERE merchant_id = $1 AND status = 'ACTIVE'";

macro_rules! enqueue_fn {
    ($conn:ty) => {
        /// Writes events to the outbox inside the caller's transaction, in order; `now` is the
        /// merchant's time. Call [`crate::vault::events::committed`] after the commit.
        pub async fn enqueue(
            conn: &mut $conn,
            events: &[$crate::vault::events::NewEvent],
            now: chrono::DateTime<chrono::Utc>,
        ) -> Result<(), $crate::vault::store::StoreError> {
            let mut checked: Vec<(i64, bool)> = Vec::new();
            let at = $crate::vault::store::timestamp(now);
            let ids = $crate::vault::crypto::random_alphanumerics(events.len(), 24);
            for (event, id) in events.iter().zip(ids) {
                let has = match checked.iter().find(|(m, _)| *m == event.merchant_id) {
                    Some((_, has)) => *has,
                    None => {
                        let count: i64 = sqlx::query_scalar(super::HAS_WEBHOOKS)
                            .bind(event.merchant_id)
                            .fetch_one(&mut *conn)
                            .await?;
                        checked.push((event.merchant_id, count > 0));
                        count > 0
                    }
                };
                if !has {
                    continue;
                }
                sqlx::query(super::ENQUEUE)
                    .bind(format!("ev_{id}"))
                    .bind(event.name.as_str())
                    .bind(event.data.to_string())
                    .bind(&at)
                    .bind(event.merchant_id)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(())
        }
    };
}

pub mod sqlite {
    enqueue_fn!(sqlx::SqliteConnection);
}

pub mod postgres {
    enqueue_fn!(sqlx::PgConnection);
}

macro_rules! webhook_store {
    ($store:ty, $db:ty, reader: $reader:ident, writer: $writer:ident, begin: $begin:expr) => {
        impl $store {
            async fn webhook_events_of(
                &self,
                ids: &[i64],
            ) -> Result<Vec<(i64, String)>, $crate::vault::store::StoreError> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut select = sqlx::QueryBuilder::<$db>::new(
                    "SELECT webhook_id, event FROM webhook_event_names WHERE webhook_id IN (",
                );
                let mut list = select.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                select.push(") ORDER BY webhook_id, event");
                Ok(select.build_query_as().fetch_all(&self.$reader).await?)
            }

            async fn with_events(
                &self,
                rows: Vec<$crate::vault::store::outbox::WebhookRow>,
            ) -> Result<
                Vec<$crate::vault::store::outbox::StoredWebhook>,
                $crate::vault::store::StoreError,
            > {
                let ids: Vec<i64> = rows.iter().map(|r| r.webhook_id).collect();
                let events = self.webhook_events_of(&ids).await?;
                Ok(rows
                    .into_iter()
                    .map(|row| $crate::vault::store::outbox::StoredWebhook {
                        events: events
                            .iter()
                            .filter(|(id, _)| *id == row.webhook_id)
                            .map(|(_, e)| e.clone())
                            .collect(),
                        row,
                    })
                    .collect())
            }
        }

        #[async_trait::async_trait]
        impl $crate::vault::store::outbox::WebhookStore for $store {
            async fn insert_webhook(
                &self,
                row: &$crate::vault::store::outbox::WebhookRow,
                events: &[String],
            ) -> Result<
                $crate::vault::store::outbox::StoredWebhook,
                $crate::vault::store::StoreError,
            > {
                let mut tx = self.$writer.begin_with($begin).await?;
                let stored: $crate::vault::store::outbox::WebhookRow = sqlx::query_as(
                    "INSERT INTO webhooks (merchant_id, label, notification_url, status, \
                     email_address, auth_type, auth_user_name, auth_password_key, \
                     auth_password, secret_key, secret, db_timestamp) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *",
                )
                .bind(row.merchant_id)
                .bind(&row.label)
                .bind(&row.notification_url)
                .bind(&row.status)
                .bind(&row.email_address)
                .bind(&row.auth_type)
                .bind(&row.auth_user_name)
                .bind(row.auth_password_key)
                .bind(&row.auth_password)
                .bind(row.secret_key)
                .bind(&row.secret)
                .bind(&row.db_timestamp)
                .fetch_one(&mut *tx)
                .await?;
                for event in events {
                    sqlx::query(
                        "INSERT INTO webhook_event_names (webhook_id, event) VALUES ($1, $2)",
                    )
                    .bind(stored.webhook_id)
                    .bind(event)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok($crate::vault::store::outbox::StoredWebhook {
                    row: stored,
                    events: events.to_vec(),
                })
            }

            async fn webhook(
                &self,
                merchant_id: i64,
                webhook_id: i64,
            ) -> Result<
                Option<$crate::vault::store::outbox::StoredWebhook>,
                $crate::vault::store::StoreError,
            > {
                let row: Option<$crate::vault::store::outbox::WebhookRow> = sqlx::query_as(
                    "SELECT * FROM webhooks WHERE merchant_id = $1 AND webhook_id = $2",
                )
                .bind(merchant_id)
                .bind(webhook_id)
                .fetch_optional(&self.$reader)
                .await?;
                Ok(self.with_events(row.into_iter().collect()).await?.pop())
            }

            async fn browse_webhooks(
                &self,
                merchant_id: i64,
                query: &$crate::vault::store::BrowseQuery,
            ) -> Result<
                $crate::vault::store::Page<$crate::vault::store::outbox::StoredWebhook>,
                $crate::vault::store::StoreError,
            > {
                use $crate::vault::store::sql::push_conditions;
                let mut count = sqlx::QueryBuilder::<$db>::new(
                    "SELECT COUNT(*) FROM webhooks WHERE merchant_id = ",
                );
                count.push_bind(merchant_id);
                push_conditions(&mut count, &query.conditions);
                let total_records: i64 =
                    count.build_query_scalar().fetch_one(&self.$reader).await?;
                let direction = if query.descending { "DESC" } else { "ASC" };
                let mut select =
                    sqlx::QueryBuilder::<$db>::new("SELECT * FROM webhooks WHERE merchant_id = ");
                select.push_bind(merchant_id);
                push_conditions(&mut select, &query.conditions);
                select.push(format_args!(
                    " ORDER BY {column} {direction}, webhook_id {direction} LIMIT ",
                    column = query.order_on.column
                ));
                select.push_bind(query.count);
                select.push(" OFFSET ");
                select.push_bind(query.count.saturating_mul(query.page));
                let rows = select.build_query_as().fetch_all(&self.$reader).await?;
                Ok($crate::vault::store::Page {
                    items: self.with_events(rows).await?,
                    total_records,
                })
            }

            async fn update_webhook(
                &self,
                row: &$crate::vault::store::outbox::WebhookRow,
                events: Option<&[String]>,
            ) -> Result<
                Option<$crate::vault::store::outbox::StoredWebhook>,
                $crate::vault::store::StoreError,
            > {
                let mut tx = self.$writer.begin_with($begin).await?;
                let updated = sqlx::query(
                    "UPDATE webhooks SET label = $1, notification_url = $2, email_address = $3, \
                     auth_type = $4, auth_user_name = $5, auth_password_key = $6, \
                     auth_password = $7 WHERE merchant_id = $8 AND webhook_id = $9",
                )
                .bind(&row.label)
                .bind(&row.notification_url)
                .bind(&row.email_address)
                .bind(&row.auth_type)
                .bind(&row.auth_user_name)
                .bind(row.auth_password_key)
                .bind(&row.auth_password)
                .bind(row.merchant_id)
                .bind(row.webhook_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    return Ok(None);
                }
                if let Some(events) = events {
                    sqlx::query("DELETE FROM webhook_event_names WHERE webhook_id = $1")
                        .bind(row.webhook_id)
                        .execute(&mut *tx)
                        .await?;
                    for event in events {
                        sqlx::query(
                            "INSERT INTO webhook_event_names (webhook_id, event) \
                             VALUES ($1, $2)",
                        )
                        .bind(row.webhook_id)
                        .bind(event)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                tx.commit().await?;

                self.webhook(row.merchant_id, row.webhook_id).await
            }

            async fn set_webhook_status(
                &self,
                merchant_id: i64,
                webhook_id: i64,
                status: &str,
            ) -> Result<
                Option<$crate::vault::store::outbox::StoredWebhook>,
                $crate::vault::store::StoreError,
            > {
                let updated = sqlx::query(
                    "UPDATE webhooks SET status = $1, failing_since = CASE WHEN $1 = 'ACTIVE' \
                     THEN NULL ELSE failing_since END \
                     WHERE merchant_id = $2 AND webhook_id = $3",
                )
                .bind(status)
                .bind(merchant_id)
                .bind(webhook_id)
                .execute(&self.$writer)
                .await?
                .rows_affected();
                if updated == 0 {
                    return Ok(None);
                }

                self.webhook(merchant_id, webhook_id).await
            }

            async fn set_webhook_event(
                &self,
                merchant_id: i64,
                webhook_id: i64,
                event: &str,
                add: bool,
            ) -> Result<
                Option<$crate::vault::store::outbox::StoredWebhook>,
                $crate::vault::store::StoreError,
            > {

                if self.webhook(merchant_id, webhook_id).await?.is_none() {
                    return Ok(None);
                }
                let statement = if add {
                    "INSERT INTO webhook_event_names (webhook_id, event) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING"
                } else {
                    "DELETE FROM webhook_event_names WHERE webhook_id = $1 AND event = $2"
                };
                sqlx::query(statement)
                    .bind(webhook_id)
                    .bind(event)
                    .execute(&self.$writer)
                    .await?;
                self.webhook(merchant_id, webhook_id).await
            }

            async fn delivery_merchants(
                &self,
            ) -> Result<Vec<i64>, $crate::vault::store::StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT DISTINCT merchant_id FROM webhook_deliveries \
                     WHERE delivered_at IS NULL",
                )
                .fetch_all(&self.$reader)
                .await?)
            }

            async fn due_deliveries(
                &self,
                merchant_id: i64,
                merchant_now: &str,
                process_now: &str,
                limit: i64,
            ) -> Result<
                Vec<$crate::vault::store::outbox::DueDelivery>,
                $crate::vault::store::StoreError,
            > {
                Ok(sqlx::query_as(
                    "SELECT d.delivery_id, d.webhook_id, d.merchant_id, d.event_id, d.event, \
                     d.data, d.db_timestamp, d.attempts, w.notification_url, w.auth_type, \
                     w.auth_user_name, w.auth_password_key, w.auth_password, w.secret_key, \
                     w.secret FROM webhook_deliveries d \
                     JOIN webhooks w ON w.webhook_id = d.webhook_id \
                     WHERE d.merchant_id = $1 AND d.delivered_at IS NULL \
                     AND w.status = 'ACTIVE' \
                     AND d.delivery_id = (SELECT MIN(o.delivery_id) FROM webhook_deliveries o \
                         WHERE o.webhook_id = d.webhook_id AND o.delivered_at IS NULL) \
                     AND d.next_attempt_at <= $2 \
                     AND (d.lease_until IS NULL OR d.lease_until < $3) \
                     ORDER BY d.delivery_id LIMIT $4",
                )
                .bind(merchant_id)
                .bind(merchant_now)
                .bind(process_now)
                .bind(limit)
                .fetch_all(&self.$reader)
                .await?)
            }

            async fn lease_delivery(
                &self,
                delivery_id: i64,
                owner: &str,
                until: &str,
                process_now: &str,
            ) -> Result<bool, $crate::vault::store::StoreError> {
                Ok(sqlx::query(
                    "UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $2 \
                     WHERE delivery_id = $3 AND delivered_at IS NULL \
                     AND (lease_until IS NULL OR lease_until < $4)",
                )
                .bind(owner)
                .bind(until)
                .bind(delivery_id)
                .bind(process_now)
                .execute(&self.$writer)
                .await?
                .rows_affected()
                    == 1)
            }

            async fn record_attempt(
                &self,
                a: &$crate::vault::store::outbox::Attempted,
            ) -> Result<bool, $crate::vault::store::StoreError> {
                let mut tx = self.$writer.begin_with($begin).await?;
                sqlx::query(
                    "INSERT INTO webhook_attempts (webhook_id, delivery_id, event_id, event, \
                     attempt, attempted_at, http_status, error, latency_ms, next_attempt_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(a.webhook_id)
                .bind(a.delivery_id)
                .bind(&a.event_id)
                .bind(&a.event)
                .bind(a.attempt)
                .bind(&a.attempted_at)
                .bind(a.http_status)
                .bind(&a.error)
                .bind(a.latency_ms)
                .bind(&a.retry_at)
                .execute(&mut *tx)
                .await?;
                let mut suspended = false;
                match &a.retry_at {
                    None => {
                        let done = sqlx::query(
                            "UPDATE webhook_deliveries SET delivered_at = $1, \
                             attempts = attempts + 1, lease_owner = NULL, lease_until = NULL \
                             WHERE delivery_id = $2 AND lease_owner = $3 \
                             AND delivered_at IS NULL",
                        )
                        .bind(&a.attempted_at)
                        .bind(a.delivery_id)
                        .bind(&a.lease_owner)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        if done == 1 {
                            sqlx::query(
                                "UPDATE webhooks SET failing_since = NULL WHERE webhook_id = $1",
                            )
                            .bind(a.webhook_id)
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                    Some(retry_at) => {
                        let failed = sqlx::query(
                            "UPDATE webhook_deliveries SET next_attempt_at = $1, \
                             attempts = attempts + 1, lease_owner = NULL, lease_until = NULL \
                             WHERE delivery_id = $2 AND lease_owner = $3 \
                             AND delivered_at IS NULL",
                        )
                        .bind(retry_at)
                        .bind(a.delivery_id)
                        .bind(&a.lease_owner)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        if failed == 1 {
                            sqlx::query(
                                "UPDATE webhooks SET failing_since = \
                                 COALESCE(failing_since, $1) WHERE webhook_id = $2",
                            )
                            .bind(&a.attempted_at)
                            .bind(a.webhook_id)
                            .execute(&mut *tx)
                            .await?;
                            suspended = sqlx::query(
                                "UPDATE webhooks SET status = 'SUSPENDED' WHERE webhook_id = $1 \
                                 AND status = 'ACTIVE' AND failing_since <= $2",
                            )
                            .bind(a.webhook_id)
                            .bind(&a.suspend_failing_since)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected()
                                == 1;
                        }
                    }
                }
                tx.commit().await?;
                Ok(suspended)
            }

            async fn browse_attempts(
                &self,
                webhook_id: i64,
                query: &$crate::vault::store::BrowseQuery,
            ) -> Result<
                $crate::vault::store::Page<$crate::vault::store::outbox::AttemptRow>,
                $crate::vault::store::StoreError,
            > {
                use $crate::vault::store::sql::push_conditions;
                let mut count = sqlx::QueryBuilder::<$db>::new(
                    "SELECT COUNT(*) FROM webhook_attempts WHERE webhook_id = ",
                );
                count.push_bind(webhook_id);
                push_conditions(&mut count, &query.conditions);
                let total_records: i64 =
                    count.build_query_scalar().fetch_one(&self.$reader).await?;
                let direction = if query.descending { "DESC" } else { "ASC" };
                let mut select = sqlx::QueryBuilder::<$db>::new(
                    "SELECT * FROM webhook_attempts WHERE webhook_id = ",
                );
                select.push_bind(webhook_id);
                push_conditions(&mut select, &query.conditions);
                select.push(format_args!(
                    " ORDER BY {column} {direction}, attempt_id {direction} LIMIT ",
                    column = query.order_on.column
                ));
                select.push_bind(query.count);
                select.push(" OFFSET ");
                select.push_bind(query.count.saturating_mul(query.page));
                let items = select.build_query_as().fetch_all(&self.$reader).await?;
                Ok($crate::vault::store::Page {
                    items,
                    total_records,
                })
            }
        }
    };
}

webhook_store!(
    super::SqliteStore,
    sqlx::Sqlite,
    reader: pool,
    writer: writer,
    begin: "BEGIN IMMEDIATE"
);

webhook_store!(
    super::PostgresStore,
    sqlx::Postgres,
    reader: pool,
    writer: pool,
    begin: "BEGIN"
);
