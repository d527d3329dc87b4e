//! [`AccountUpdaterStore`](super::AccountUpdaterStore) for both backends: one body of SQL with
//! `$n` parameters, instantiated per pool type.

const CARD_COLUMNS: &str = "c.card_id, cu.customer_id, c.kind, c.masked_number, c.exp_date, \
     c.on_hold FROM billing_cards c JOIN customers cu ON cu.rec_id = c.customer_rec_id";

const HARVEST: &str = "SELECT h.enabled, h.since, (SELECT MAX(r.month) FROM aus_harvest_runs r \
     WHERE r.merchant_id = h.merchant_id) AS last_month FROM aus_harvest h \
     WHERE h.merchant_id = $1";

macro_rules! account_updater_store {
    ($store:ty, $db:ty, reader: $reader:ident, writer: $writer:ident, begin: $begin:expr,
     enqueue: $enqueue:path) => {
        #[async_trait::async_trait]
        impl $crate::vault::store::account_updater::AccountUpdaterStore for $store {
            async fn cards_by_id(
                &self,
                merchant_id: i64,
                card_ids: &[String],
            ) -> Result<Vec<StoredCard>, StoreError> {
                if card_ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut select = sqlx::QueryBuilder::<$db>::new("SELECT ");
                select.push(CARD_COLUMNS);
                select.push(" WHERE c.merchant_id = ");
                select.push_bind(merchant_id);
                select.push(" AND c.card_id IN (");
                let mut list = select.separated(", ");
                for id in card_ids {
                    list.push_bind(id.clone());
                }
                select.push(")");
                Ok(select.build_query_as().fetch_all(&self.$reader).await?)
            }

            async fn unheld_cards(&self, merchant_id: i64) -> Result<Vec<StoredCard>, StoreError> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {CARD_COLUMNS} WHERE c.merchant_id = $1 AND c.kind = 'card' \
                     AND c.on_hold = $2 ORDER BY c.rec_id"
                ))
                .bind(merchant_id)
                .bind(false)
                .fetch_all(&self.$reader)
                .await?)
            }

            async fn insert_requests(
                &self,
                requests: &[NewRequest],
                harvest: Option<(i64, &str)>,
                events: EventsOf<'_>,
                now: DateTime<Utc>,
            ) -> Result<Option<Vec<RequestRow>>, StoreError> {
                let mut tx = self.$writer.begin_with($begin).await?;
                if let Some((merchant_id, month)) = harvest {
                    let first = sqlx::query(
                        "INSERT INTO aus_harvest_runs (merchant_id, month, ran_at) \
                         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(merchant_id)
                    .bind(month)
                    .bind(timestamp(now))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if first == 0 {
                        return Ok(None);
                    }
                }
                let mut stored = Vec::with_capacity(requests.len());
                let mut all_events = Vec::new();
                for request in requests {
                    let row: RequestRow = sqlx::query_as(
                        "INSERT INTO aus_requests (merchant_id, status, method, cnt_request, \
                         request_date, due_at, rejected_cards) \
                         VALUES ($1, 'INPROGRESS', $2, $3, $4, $5, $6) RETURNING *",
                    )
                    .bind(request.merchant_id)
                    .bind(&request.method)
                    .bind(i64::try_from(request.cards.len()).unwrap_or(i64::MAX))
                    .bind(&request.request_date)
                    .bind(&request.due_at)
                    .bind(&request.rejected_cards)
                    .fetch_one(&mut *tx)
                    .await?;
                    for card in &request.cards {
                        sqlx::query(
                            "INSERT INTO aus_request_cards (request_id, merchant_id, card_id, \
                             customer_id, card_number, exp_date, request_date) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        )
                        .bind(row.request_id)
                        .bind(row.merchant_id)
                        .bind(&card.card_id)
                        .bind(&card.customer_id)
                        .bind(&card.masked_number)
                        .bind(&card.exp_date)
                        .bind(&row.request_date)
                        .execute(&mut *tx)
                        .await?;
                    }
                    all_events.extend(events(&row));
                    stored.push(row);
                }
                $enqueue(&mut *tx, &all_events, now).await?;
                tx.commit().await?;
                Ok(Some(stored))
            }

            async fn request(
                &self,
                merchant_id: i64,
                request_id: i64,
            ) -> Result<Option<RequestRow>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT * FROM aus_requests WHERE merchant_id = $1 AND request_id = $2",
                )
                .bind(merchant_id)
                .bind(request_id)
                .fetch_optional(&self.$reader)
                .await?)
            }

            async fn browse_requests(
                &self,
                merchant_id: i64,
                query: &BrowseQuery,
            ) -> Result<Page<RequestRow>, StoreError> {
                let mut count = sqlx::QueryBuilder::<$db>::new(
                    "SELECT COUNT(*) FROM aus_requests WHERE merchant_id = ",
                );
                count.push_bind(merchant_id);
                push_conditions(&mut count, &query.conditions);
                let total_records: i64 =
                    count.build_query_scalar().fetch_one(&self.$reader).await?;
                let mut select = sqlx::QueryBuilder::<$db>::new(
                    "SELECT * FROM aus_requests WHERE merchant_id = ",
                );
                select.push_bind(merchant_id);
                push_conditions(&mut select, &query.conditions);
                push_page(&mut select, query, "request_id");
                let items = select.build_query_as().fetch_all(&self.$reader).await?;
                Ok(Page {
                    items,
                    total_records,
                })
            }

            async fn browse_details(
                &self,
                merchant_id: i64,
                request_id: Option<i64>,
                query: &BrowseQuery,
            ) -> Result<Page<RequestCardRow>, StoreError> {
                let scope = |q: &mut sqlx::QueryBuilder<'_, $db>| {
                    q.push_bind(merchant_id);
                    if let Some(id) = request_id {
                        q.push(" AND request_id = ");
                        q.push_bind(id);
                    }
                    push_conditions(q, &query.conditions);
                };
                let mut count = sqlx::QueryBuilder::<$db>::new(
                    "SELECT COUNT(*) FROM aus_request_cards WHERE merchant_id = ",
                );
                scope(&mut count);
                let total_records: i64 =
                    count.build_query_scalar().fetch_one(&self.$reader).await?;
                let mut select = sqlx::QueryBuilder::<$db>::new(
                    "SELECT * FROM aus_request_cards WHERE merchant_id = ",
                );
                scope(&mut select);
                push_page(&mut select, query, "request_id, card_id");
                let items = select.build_query_as().fetch_all(&self.$reader).await?;
                Ok(Page {
                    items,
                    total_records,
                })
            }

            async fn request_cards(
                &self,
                request_id: i64,
            ) -> Result<Vec<RequestCardRow>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT * FROM aus_request_cards WHERE request_id = $1 ORDER BY card_id",
                )
                .bind(request_id)
                .fetch_all(&self.$reader)
                .await?)
            }

            async fn cancel_request(
                &self,
                merchant_id: i64,
                request_id: i64,
            ) -> Result<Canceled, StoreError> {
                let canceled: Option<RequestRow> = sqlx::query_as(
                    "UPDATE aus_requests SET status = 'CANCELED' WHERE merchant_id = $1 \
                     AND request_id = $2 AND status = 'INPROGRESS' RETURNING *",
                )
                .bind(merchant_id)
                .bind(request_id)
                .fetch_optional(&self.$writer)
                .await?;
                Ok(match canceled {
                    Some(row) => Canceled::Done(row),
                    None => match self.request(merchant_id, request_id).await? {
                        Some(row) => Canceled::NotInProgress(row.status),
                        None => Canceled::NotFound,
                    },
                })
            }

            async fn due_requests(
                &self,
                merchant_id: i64,
                now: &str,
            ) -> Result<Vec<RequestRow>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT * FROM aus_requests WHERE status = 'INPROGRESS' \
                     AND merchant_id = $1 AND due_at <= $2 ORDER BY request_id",
                )
                .bind(merchant_id)
                .bind(now)
                .fetch_all(&self.$reader)
                .await?)
            }

            async fn complete_request(
                &self,
                request: &RequestRow,
                answers: &[CardAnswer],
                cnt_update: i64,
                event: &NewEvent,
                now: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                let at = timestamp(now);
                let mut tx = self.$writer.begin_with($begin).await?;
                // The guard: of concurrent completions, one moves the request; the others
                // find it moved and change nothing.
                let moved = sqlx::query(
                    "UPDATE aus_requests SET status = 'COMPLETED', cnt_response = cnt_request, \
                     cnt_update = $1, response_date = $2 \
                     WHERE request_id = $3 AND status = 'INPROGRESS'",
                )
                .bind(cnt_update)
                .bind(&at)
                .bind(request.request_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if moved == 0 {
                    return Ok(false);
                }
                for answer in answers {
                    apply_answer(&mut tx, request, answer, &at).await?;
                }
                $enqueue(&mut *tx, std::slice::from_ref(event), now).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn set_hold(
                &self,
                merchant_id: i64,
                card_id: Option<&str>,
                customer_id: Option<&str>,
                hold: bool,
            ) -> Result<u64, StoreError> {
                let mut update =
                    sqlx::QueryBuilder::<$db>::new("UPDATE billing_cards SET on_hold = ");
                update.push_bind(hold);
                update.push(" WHERE kind = 'card' AND merchant_id = ");
                update.push_bind(merchant_id);
                match (card_id, customer_id) {
                    (Some(card_id), _) => {
                        update.push(" AND card_id = ");
                        update.push_bind(card_id.to_owned());
                    }
                    (None, Some(customer_id)) => {
                        update.push(
                            " AND customer_rec_id = (SELECT rec_id FROM customers \
                             WHERE merchant_id = ",
                        );
                        update.push_bind(merchant_id);
                        update.push(" AND customer_id = ");
                        update.push_bind(customer_id.to_owned());
                        update.push(")");
                    }
                    (None, None) => return Ok(0),
                }
                Ok(update.build().execute(&self.$writer).await?.rows_affected())
            }

            async fn harvest(&self, merchant_id: i64) -> Result<Option<HarvestRow>, StoreError> {
                Ok(sqlx::query_as(HARVEST)
                    .bind(merchant_id)
                    .fetch_optional(&self.$reader)
                    .await?)
            }

            async fn set_harvest(
                &self,
                merchant_id: i64,
                enabled: bool,
                now: &str,
            ) -> Result<HarvestRow, StoreError> {
                // `since` moves only when the setting changes.
                sqlx::query(
                    "INSERT INTO aus_harvest (merchant_id, enabled, since) VALUES ($1, $2, $3) \
                     ON CONFLICT (merchant_id) DO UPDATE SET enabled = excluded.enabled, \
                     since = CASE WHEN aus_harvest.enabled = excluded.enabled \
                     THEN aus_harvest.since ELSE excluded.since END",
                )
                .bind(merchant_id)
                .bind(enabled)
                .bind(now)
                .execute(&self.$writer)
                .await?;
                Ok(sqlx::query_as(HARVEST)
                    .bind(merchant_id)
                    .fetch_one(&self.$writer)
                    .await?)
            }

            async fn account_updater_merchants(&self) -> Result<Vec<i64>, StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT merchant_id FROM aus_requests WHERE status = 'INPROGRESS' \
                     UNION SELECT merchant_id FROM aus_harvest WHERE enabled = $1",
                )
                .bind(true)
                .fetch_all(&self.$reader)
                .await?)
            }
        }
    };
}

mod sqlite {
    use super::*;
    use crate::vault::store::outbox::sqlite::enqueue;
    apply_answer_fn!(sqlx::Sqlite);
    account_updater_store!(
        crate::vault::store::SqliteStore,
        sqlx::Sqlite,
        reader: pool,
        writer: writer,
        begin: "BEGIN IMMEDIATE",
        enqueue: enqueue
    );
}

mod postgres {
    use super::*;
    use crate::vault::store::outbox::postgres::enqueue;
    apply_answer_fn!(sqlx::Postgres);
    account_updater_store!(
        crate::vault::store::PostgresStore,
        sqlx::Postgres,
        reader: pool,
        writer: pool,
        begin: "BEGIN",
        enqueue: enqueue
    );
}

use chrono::{DateTime, Utc};

use super::answers::push_page;
use super::{
    Canceled, CardAnswer, EventsOf, HarvestRow, NewRequest, RequestCardRow, RequestRow, StoredCard,
};
use crate::vault::events::NewEvent;
use crate::vault::store::sql::push_conditions;
use crate::vault::store::{BrowseQuery, Page, StoreError, timestamp};
