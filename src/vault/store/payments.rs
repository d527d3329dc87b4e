//! Storage of Payment Gateway transactions and tokens. Both backends run the very same SQL
//! (numbered `$n` parameters, which SQLite takes too), so [`payment_store`] writes the one
//! implementation for each pool type; what differs is how a write transaction begins and how
//! concurrent requests on one card are kept in order (SQLite's single writer connection does it
//! by itself, PostgreSQL takes a transaction-scoped advisory lock per card).
//!
//! Every lifecycle change is one conditional `UPDATE` (`... WHERE tran_status = 'A'`), so two
//! concurrent captures or refunds of one transaction cannot both pass their check.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{BrowseQuery, Page, StoreError};
use crate::vault::filter::{Field, FieldKind};

/// A `/pg` transaction as stored.
#[derive(Debug, Clone, FromRow)]
pub struct PgTransactionRow {
    pub pg_id: String,
    pub merchant_id: i64,
    pub tran_type: String,
    pub pg_id_orig: Option<String>,
    pub tran_status: String,
    pub rcode: String,
    pub rmsg: String,
    pub auth_code: Option<String>,
    pub avs_result: Option<String>,
    pub cvv2_result: Option<String>,
    pub amt_requested: i64,
    pub amt_tran: i64,
    pub amt_captured: Option<i64>,
    pub amt_refunded: i64,
    pub tran_currency: String,
    pub card_id: Option<String>,
    pub card_number: Option<String>,
    pub card_type: Option<String>,
    pub fingerprint: Option<Vec<u8>>,
    pub customer_id: Option<String>,
    pub cardholder_first_name: Option<String>,
    pub cardholder_last_name: Option<String>,
    pub purchase_id: Option<String>,
    pub merch_ref_num: Option<String>,
    pub tran_time: String,
    pub tran_date: String,
    pub expires_at: Option<String>,
    pub batch_due: Option<String>,
    pub batch_date: Option<String>,
    pub settle_date: Option<String>,
}

/// A row of the reporting view: `/pg` transactions and recurring billing's charges.
#[derive(Debug, Clone, FromRow)]
pub struct ReportRow {
    pub pg_id: String,
    pub merchant_id: i64,
    pub tran_type: String,
    pub pg_id_orig: Option<String>,
    pub tran_status: String,
    pub rcode: Option<String>,
    pub rmsg: Option<String>,
    pub auth_code: Option<String>,
    pub amt_tran: i64,
    pub amt_captured: Option<i64>,
    pub amt_refunded: i64,
    pub tran_currency: String,
    pub card_id: Option<String>,
    pub card_number: Option<String>,
    pub card_type: Option<String>,
    pub customer_id: Option<String>,
    pub subscription_id: Option<i64>,
    pub cardholder_first_name: Option<String>,
    pub cardholder_last_name: Option<String>,
    pub purchase_id: Option<String>,
    pub merch_ref_num: Option<String>,
    pub tran_time: String,
    pub tran_date: String,
    pub batch_date: Option<String>,
    pub settle_date: Option<String>,
}

/// The fields `GET /reporting/transactions` filters and sorts on.
pub static REPORT_FIELDS: &[Field] = &[
    Field {
        name: "pg_id",
        column: "pg_id",
        kind: FieldKind::Text,
    },
    Field {
        name: "customer_id",
        column: "customer_id",
        kind: FieldKind::Text,
    },
    Field {
        name: "card_id",
        column: "card_id",
        kind: FieldKind::Text,
    },
    Field {
        name: "tran_status",
        column: "tran_status",
        kind: FieldKind::Text,
    },
    Field {
        name: "tran_type",
        column: "tran_type",
        kind: FieldKind::Text,
    },
    Field {
        name: "tran_date",
        column: "tran_date",
        kind: FieldKind::Date,
    },
    Field {
        name: "tran_time",
        column: "tran_time",
        kind: FieldKind::Text,
    },
    Field {
        name: "amt_tran",
        column: "amt_tran",
        kind: FieldKind::Decimal,
    },
    Field {
        name: "merch_ref_num",
        column: "merch_ref_num",
        kind: FieldKind::Text,
    },
    Field {
        name: "purchase_id",
        column: "purchase_id",
        kind: FieldKind::Text,
    },
    Field {
        name: "subscription_id",
        column: "subscription_id",
        kind: FieldKind::Integer,
    },
    Field {
        name: "pg_id_orig",
        column: "pg_id_orig",
        kind: FieldKind::Text,
    },
];

/// A card stored without a customer by `/pg` (`tokenize`, `/pg/tokenize`).
#[derive(Debug, Clone, FromRow)]
pub struct TokenRow {
    pub card_id: String,
    pub merchant_id: i64,
    pub kind: String,
    pub card_type: Option<String>,
    pub type_id: Option<String>,
    pub tr_number: Option<String>,
    pub masked_number: String,
    pub fingerprint: Vec<u8>,
    pub key_id: i64,
    pub ciphertext: Vec<u8>,
    pub exp_date: Option<String>,
    pub cardholder_name: Option<String>,
    pub avs_address: Option<String>,
    pub avs_zip: Option<String>,
    pub single_use: bool,
    pub expires_at: Option<String>,
    pub used_at: Option<String>,
    pub created_at: String,
}

/// A vault card found by `card_id` alone, with its owner.
#[derive(Debug, Clone, FromRow)]
pub struct OwnedCard {
    pub customer_id: String,
    pub card_id: String,
    pub kind: String,
    pub card_type: Option<String>,
    pub masked_number: String,
    pub fingerprint: Vec<u8>,
    pub key_id: i64,
    pub ciphertext: Vec<u8>,
    pub exp_date: Option<String>,
    pub billing_first_name: Option<String>,
    pub billing_last_name: Option<String>,
}

/// A transient key of the embedded fields, as stored (its digest, never the key).
#[derive(Debug, Clone, FromRow)]
pub struct EmbeddedKeyRow {
    pub key_digest: Vec<u8>,
    pub merchant_id: i64,
    pub created_at: String,
    pub expires_at: String,
    pub ends_at: String,
    pub declines: i64,
    pub used_at: Option<String>,
}

/// An earlier approved transaction that a new request repeats.
#[derive(Debug, Clone)]
pub struct DuplicateKey {
    pub fingerprint: Vec<u8>,
    pub tran_type: String,
    pub merch_ref_num: Option<String>,
    pub purchase_id: Option<String>,
    /// `tran_time` of the earliest transaction that still counts.
    pub since: String,
}

/// What recording a new transaction did.
#[derive(Debug)]
pub enum Recorded {
    New(PgTransactionRow),
    /// An approved transaction within the duplicate window: the new one was not recorded.
    Duplicate(PgTransactionRow),
}

/// Why a lifecycle change was refused, for the caller to explain.
#[derive(Debug)]
pub enum Refused {
    /// No such transaction of this merchant.
    NotFound,
    /// It exists, in this state.
    State(Box<PgTransactionRow>),
}

#[async_trait]
pub trait PaymentStore: Send + Sync {
    /// Settles the merchant's captured transactions whose batch date is before `open_batch`,
    /// and voids the auths that expired by `now`.
    async fn catch_up(
        &self,
        merchant_id: i64,
        now: DateTime<Utc>,
        open_batch: &str,
    ) -> Result<(), StoreError>;

    /// Records a transaction in one database transaction with its duplicate check (when
    /// `duplicate` is given). `now` is the merchant's time, as every method's that writes:
    /// each change writes its `transaction_status_updated` event with it.
    async fn record(
        &self,
        row: &PgTransactionRow,
        duplicate: Option<&DuplicateKey>,
        now: DateTime<Utc>,
    ) -> Result<Recorded, StoreError>;

    /// Uses up a single-use token (or finds a permanent one live): whether it could be used
    /// at `now`. Two requests with one single-use token: one of them gets it.
    async fn claim_token(
        &self,
        merchant_id: i64,
        card_id: &str,
        now: &str,
    ) -> Result<bool, StoreError>;

    async fn transaction(
        &self,
        merchant_id: i64,
        pg_id: &str,
    ) -> Result<Option<PgTransactionRow>, StoreError>;

    /// Captures an approved auth for `amount` (at most what was authorized).
    async fn capture(
        &self,
        merchant_id: i64,
        pg_id: &str,
        amount: i64,
        batch_due: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<PgTransactionRow, Refused>, StoreError>;

    /// Voids an auth or an unsettled captured transaction; a voided refund gives its amount
    /// back to its original.
    async fn void(
        &self,
        merchant_id: i64,
        pg_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<PgTransactionRow, Refused>, StoreError>;

    /// Adds a refund of a settled sale, capture, force or recharge, within what is left.
    async fn refund(
        &self,
        refund: &PgTransactionRow,
        now: DateTime<Utc>,
    ) -> Result<Result<PgTransactionRow, Refused>, StoreError>;

    /// Settles every captured transaction of the merchant; the number settled.
    async fn close_batch(
        &self,
        merchant_id: i64,
        today: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    async fn browse_report(
        &self,
        merchant_id: i64,
        query: &BrowseQuery,
    ) -> Result<Page<ReportRow>, StoreError>;

    async fn report(&self, merchant_id: i64, pg_id: &str) -> Result<Option<ReportRow>, StoreError>;

    async fn insert_token(&self, token: &TokenRow) -> Result<(), StoreError>;

    async fn token(&self, merchant_id: i64, card_id: &str) -> Result<Option<TokenRow>, StoreError>;

    /// Removes a token; whether there was one.
    async fn delete_token(&self, merchant_id: i64, card_id: &str) -> Result<bool, StoreError>;

    /// A customer's card by `card_id` alone (any customer of the merchant).
    async fn owned_card(
        &self,
        merchant_id: i64,
        card_id: &str,
    ) -> Result<Option<OwnedCard>, StoreError>;

    /// The `card_id` of the customer's card with this fingerprint, if it has one.
    async fn card_by_fingerprint(
        &self,
        merchant_id: i64,
        customer_id: &str,
        fingerprint: &[u8],
    ) -> Result<Option<String>, StoreError>;

    /// Keeps a new transient key of the embedded fields (its digest).
    async fn insert_embedded_key(&self, key: &EmbeddedKeyRow) -> Result<(), StoreError>;

    /// The merchant of a transient key, whatever its state.
    async fn embedded_key_merchant(&self, digest: &[u8]) -> Result<Option<i64>, StoreError>;

    /// Claims a transient key for one tokenization: the key's merchant when the key is live
    /// (not used, not expired at `now`, fewer than `max_declines` declines), and marks it used.
    async fn claim_embedded_key(
        &self,
        digest: &[u8],
        now: &str,
        max_declines: i64,
    ) -> Result<Option<i64>, StoreError>;

    /// Gives a claimed key back after its card was refused; a decline counts, and moves the
    /// key's end to `expires_at` (never past its last moment).
    async fn release_embedded_key(
        &self,
        digest: &[u8],
        declined: bool,
        expires_at: &str,
    ) -> Result<(), StoreError>;

    /// A customer's primary payment method.
    async fn primary_card(
        &self,
        merchant_id: i64,
        customer_id: &str,
    ) -> Result<Option<OwnedCard>, StoreError>;
}

const OWNED_CARD: &str = "SELECT cu.customer_id, c.card_id, c.kind, c.card_type, c.masked_number, \
     c.fingerprint, c.key_id, c.ciphertext, c.exp_date, c.billing_first_name, \
     c.billing_last_name FROM billing_cards c JOIN customers cu ON cu.rec_id = c.customer_rec_id";

const INSERT_TRANSACTION: &str = "INSERT INTO pg_transactions (pg_id, merchant_id, tran_type, \
     pg_id_orig, tran_status, rcode, rmsg, auth_code, avs_result, cvv2_result, amt_requested, \
     amt_tran, amt_captured, amt_refunded, tran_currency, card_id, card_number, card_type, \
     fingerprint, customer_id, cardholder_first_name, cardholder_last_name, purchase_id, \
     merch_ref_num, tran_time, tran_date, expires_at, batch_due, batch_date, settle_date) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
     $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30) RETURNING *";

/// Binds a row's columns in [`INSERT_TRANSACTION`]'s order.
macro_rules! bind_transaction {
    ($query:expr, $row:expr) => {
        $query
            .bind(&$row.pg_id)
            .bind($row.merchant_id)
            .bind(&$row.tran_type)
            .bind(&$row.pg_id_orig)
            .bind(&$row.tran_status)
            .bind(&$row.rcode)
            .bind(&$row.rmsg)
            .bind(&$row.auth_code)
            .bind(&$row.avs_result)
            .bind(&$row.cvv2_result)
            .bind($row.amt_requested)
            .bind($row.amt_tran)
            .bind($row.amt_captured)
            .bind($row.amt_refunded)
            .bind(&$row.tran_currency)
            .bind(&$row.card_id)
            .bind(&$row.card_number)
            .bind(&$row.card_type)
            .bind(&$row.fingerprint)
            .bind(&$row.customer_id)
            .bind(&$row.cardholder_first_name)
            .bind(&$row.cardholder_last_name)
            .bind(&$row.purchase_id)
            .bind(&$row.merch_ref_num)
            .bind(&$row.tran_time)
            .bind(&$row.tran_date)
            .bind(&$row.expires_at)
            .bind(&$row.batch_due)
            .bind(&$row.batch_date)
            .bind(&$row.settle_date)
    };
}

/// Implements [`PaymentStore`] for a store with a `$reader` and a `$writer` pool of database
/// `$db`, whose write transactions begin with `$begin`; `$lock_card` is the statement that
/// orders concurrent requests on one card (its parameter is the fingerprint in hex), if the
/// backend needs one.
macro_rules! payment_store {
    ($store:ty, $db:ty, reader: $reader:ident, writer: $writer:ident, begin: $begin:expr,
     lock_card: $lock_card:expr, outbox: $($outbox:ident)::+) => {
        impl $store {
            /// Writes a `transaction_status_updated` event for each of the transactions, as
            /// the report shows them, inside the transaction that changed them.
            async fn status_events(
                conn: &mut <$db as sqlx::Database>::Connection,
                merchant_id: i64,
                pg_ids: &[String],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::vault::store::StoreError> {
                use $crate::vault::events::{EventName, NewEvent};
                use $crate::vault::store::payments::ReportRow;
                if pg_ids.is_empty() {
                    return Ok(());
                }
                let webhooks: i64 = sqlx::query_scalar($crate::vault::store::outbox::HAS_WEBHOOKS)
                    .bind(merchant_id)
                    .fetch_one(&mut *conn)
                    .await?;
                if webhooks == 0 {
                    return Ok(());
                }
                let mut select = sqlx::QueryBuilder::<$db>::new(
                    "SELECT * FROM reporting_transactions WHERE merchant_id = ",
                );
                select.push_bind(merchant_id).push(" AND pg_id IN (");
                let mut list = select.separated(", ");
                for pg_id in pg_ids {
                    list.push_bind(pg_id);
                }
                select.push(") ORDER BY tran_time, pg_id");
                let rows: Vec<ReportRow> = select.build_query_as().fetch_all(&mut *conn).await?;
                let events: Vec<NewEvent> = rows
                    .into_iter()
                    .map(|row| NewEvent {
                        merchant_id,
                        name: EventName::TransactionStatusUpdated,
                        data: serde_json::to_value($crate::vault::wire::report(row))
                            .unwrap_or_default(),
                    })
                    .collect();
                $($outbox)::+::enqueue(conn, &events, now).await
            }
        }

        #[async_trait::async_trait]
        impl $crate::vault::store::payments::PaymentStore for $store {
            async fn catch_up(
                &self,
                merchant_id: i64,
                at: chrono::DateTime<chrono::Utc>,
                open_batch: &str,
            ) -> Result<(), $crate::vault::store::StoreError> {
                let now = &$crate::vault::payments::time_text(at);
                // Cheap when there is nothing to do: both read the partial index of open rows.
                let due: Option<String> = sqlx::query_scalar(
                    "SELECT pg_id FROM pg_transactions WHERE merchant_id = $1 AND \
                     ((tran_status = 'C' AND batch_due < $2) OR \
                      (tran_status = 'A' AND tran_type = 'auth' AND expires_at <= $3)) LIMIT 1",
                )
                .bind(merchant_id)
                .bind(open_batch)
                .bind(now)
                .fetch_optional(&self.$reader)
                .await?;
                if due.is_none() {
                    return Ok(());
                }
                let mut tx = self.$writer.begin_with($begin).await?;
                let mut changed: Vec<String> = sqlx::query_scalar(
                    "UPDATE pg_transactions SET tran_status = 'S', batch_date = batch_due, \
                     settle_date = batch_due WHERE merchant_id = $1 AND tran_status = 'C' \
                     AND batch_due < $2 RETURNING pg_id",
                )
                .bind(merchant_id)
                .bind(open_batch)
                .fetch_all(&mut *tx)
                .await?;
                let voided: Vec<String> = sqlx::query_scalar(
                    "UPDATE pg_transactions SET tran_status = 'v' WHERE merchant_id = $1 \
                     AND tran_status = 'A' AND tran_type = 'auth' AND expires_at <= $2 \
                     RETURNING pg_id",
                )
                .bind(merchant_id)
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
                changed.extend(voided);
                Self::status_events(&mut tx, merchant_id, &changed, at).await?;
                tx.commit().await?;
                $crate::vault::events::committed();
                Ok(())
            }

            async fn record(
                &self,
                row: &$crate::vault::store::payments::PgTransactionRow,
                duplicate: Option<&$crate::vault::store::payments::DuplicateKey>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::vault::store::payments::Recorded, $crate::vault::store::StoreError>
            {
                use $crate::vault::store::payments::{PgTransactionRow, Recorded};
                let mut tx = self.$writer.begin_with($begin).await?;
                let lock: Option<&str> = $lock_card;
                if let (Some(lock), Some(fingerprint)) = (lock, &row.fingerprint) {
                    let hex: String = fingerprint.iter().map(|b| format!("{b:02x}")).collect();
                    sqlx::query(lock).bind(hex).execute(&mut *tx).await?;
                }
                if let Some(key) = duplicate {
                    let first: Option<PgTransactionRow> = sqlx::query_as(
                        "SELECT * FROM pg_transactions WHERE merchant_id = $1 \
                         AND fingerprint = $2 AND tran_type = $3 AND tran_time >= $4 \
                         AND rcode IN ('000', '010') \
                         AND COALESCE(merch_ref_num, '') = COALESCE($5, '') \
                         AND COALESCE(purchase_id, '') = COALESCE($6, '') \
                         ORDER BY tran_time, pg_id LIMIT 1",
                    )
                    .bind(row.merchant_id)
                    .bind(&key.fingerprint)
                    .bind(&key.tran_type)
                    .bind(&key.since)
                    .bind(&key.merch_ref_num)
                    .bind(&key.purchase_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(first) = first {
                        return Ok(Recorded::Duplicate(first));
                    }
                }
                let saved: PgTransactionRow =
                    bind_transaction!(sqlx::query_as($crate::vault::store::payments::INSERT_TRANSACTION), row)
                        .fetch_one(&mut *tx)
                        .await?;
                Self::status_events(&mut tx, saved.merchant_id, std::slice::from_ref(&saved.pg_id), now)
                    .await?;
                tx.commit().await?;
                $crate::vault::events::committed();
                Ok(Recorded::New(saved))
            }

            async fn claim_token(
                &self,
                merchant_id: i64,
                card_id: &str,
                now: &str,
            ) -> Result<bool, $crate::vault::store::StoreError> {
                let used = sqlx::query(
                    "UPDATE pg_tokens SET used_at = CASE WHEN single_use THEN $1 END \
                     WHERE merchant_id = $2 AND card_id = $3 AND used_at IS NULL \
                     AND (expires_at IS NULL OR expires_at > $1)",
                )
                .bind(now)
                .bind(merchant_id)
                .bind(card_id)
                .execute(&self.$writer)
                .await?;
                Ok(used.rows_affected() == 1)
            }

            async fn transaction(
                &self,
                merchant_id: i64,
                pg_id: &str,
            ) -> Result<
                Option<$crate::vault::store::payments::PgTransactionRow>,
                $crate::vault::store::StoreError,
            > {
                Ok(sqlx::query_as(
                    "SELECT * FROM pg_transactions WHERE merchant_id = $1 AND pg_id = $2",
                )
                .bind(merchant_id)
                .bind(pg_id)
                .fetch_optional(&self.$reader)
                .await?)
            }

            async fn capture(
                &self,
                merchant_id: i64,
                pg_id: &str,
                amount: i64,
                batch_due: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<
                Result<
                    $crate::vault::store::payments::PgTransactionRow,
                    $crate::vault::store::payments::Refused,
                >,
                $crate::vault::store::StoreError,
            > {
                let mut tx = self.$writer.begin_with($begin).await?;
                let captured: Option<$crate::vault::store::payments::PgTransactionRow> =
                    sqlx::query_as(
                        "UPDATE pg_transactions SET tran_status = 'C', amt_captured = $3, \
                         batch_due = $4 WHERE merchant_id = $1 AND pg_id = $2 \
                         AND tran_type = 'auth' AND tran_status = 'A' AND amt_tran >= $3 \
                         RETURNING *",
                    )
                    .bind(merchant_id)
                    .bind(pg_id)
                    .bind(amount)
                    .bind(batch_due)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = captured else {
                    drop(tx);
                    return Ok(Err(self.refused(merchant_id, pg_id).await?));
                };
                Self::status_events(&mut tx, merchant_id, std::slice::from_ref(&row.pg_id), now).await?;
                tx.commit().await?;
                $crate::vault::events::committed();
                Ok(Ok(row))
            }

            async fn void(
                &self,
                merchant_id: i64,
                pg_id: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<
                Result<
                    $crate::vault::store::payments::PgTransactionRow,
                    $crate::vault::store::payments::Refused,
                >,
                $crate::vault::store::StoreError,
            > {
                use $crate::vault::store::payments::PgTransactionRow;
                let mut tx = self.$writer.begin_with($begin).await?;
                let voided: Option<PgTransactionRow> = sqlx::query_as(
                    "UPDATE pg_transactions SET tran_status = 'V' WHERE merchant_id = $1 \
                     AND pg_id = $2 AND tran_status IN ('A', 'C') RETURNING *",
                )
                .bind(merchant_id)
                .bind(pg_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(voided) = voided else {
                    drop(tx);
                    return Ok(Err(self.refused(merchant_id, pg_id).await?));
                };
                if voided.tran_type == "refund" {
                    sqlx::query(
                        "UPDATE pg_transactions SET amt_refunded = amt_refunded - $3 \
                         WHERE merchant_id = $1 AND pg_id = $2",
                    )
                    .bind(merchant_id)
                    .bind(&voided.pg_id_orig)
                    .bind(voided.amt_tran)
                    .execute(&mut *tx)
                    .await?;
                }
                Self::status_events(&mut tx, merchant_id, std::slice::from_ref(&voided.pg_id), now).await?;
                tx.commit().await?;
                $crate::vault::events::committed();
                Ok(Ok(voided))
            }

            async fn refund(
                &self,
                refund: &$crate::vault::store::payments::PgTransactionRow,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<
                Result<
                    $crate::vault::store::payments::PgTransactionRow,
                    $crate::vault::store::payments::Refused,
                >,
                $crate::vault::store::StoreError,
            > {
                use $crate::vault::store::payments::PgTransactionRow;
                let Some(orig) = refund.pg_id_orig.as_deref() else {
                    return Err($crate::vault::store::StoreError::Corrupt(
                        "a refund without its original".into(),
                    ));
                };
                let mut tx = self.$writer.begin_with($begin).await?;
                let original: Option<PgTransactionRow> = sqlx::query_as(
                    "UPDATE pg_transactions SET amt_refunded = amt_refunded + $3 \
                     WHERE merchant_id = $1 AND pg_id = $2 AND tran_status = 'S' \
                     AND tran_type IN ('sale', 'auth', 'force', 'recharge') \
                     AND amt_refunded + $3 <= amt_captured RETURNING *",
                )
                .bind(refund.merchant_id)
                .bind(orig)
                .bind(refund.amt_tran)
                .fetch_optional(&mut *tx)
                .await?;
                if original.is_none() {
                    drop(tx);
                    return Ok(Err(self.refused(refund.merchant_id, orig).await?));
                }
                let saved: PgTransactionRow = bind_transaction!(
                    sqlx::query_as($crate::vault::store::payments::INSERT_TRANSACTION),
                    refund
                )
                .fetch_one(&mut *tx)
                .await?;
                Self::status_events(&mut tx, saved.merchant_id, std::slice::from_ref(&saved.pg_id), now)
                    .await?;
                tx.commit().await?;
                $crate::vault::events::committed();
                Ok(Ok(saved))
            }

            async fn close_batch(
                &self,
                merchant_id: i64,
                today: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, $crate::vault::store::StoreError> {
                let mut tx = self.$writer.begin_with($begin).await?;
                let settled: Vec<String> = sqlx::query_scalar(
                    "UPDATE pg_transactions SET tran_status = 'S', batch_date = $2, \
                     settle_date = $2 WHERE merchant_id = $1 AND tran_status = 'C' \
                     RETURNING pg_id",
                )
                .bind(merchant_id)
                .bind(today)
                .fetch_all(&mut *tx)
                .await?;
                Self::status_events(&mut tx, merchant_id, &settled, now).await?;
                tx.commit().await?;
                $crate::vault::events::committed();
                Ok(settled.len() as u64)
            }

            async fn browse_report(
                &self,
                merchant_id: i64,
                query: &$crate::vault::store::BrowseQuery,
            ) -> Result<
                $crate::vault::store::Page<$crate::vault::store::payments::ReportRow>,
                $crate::vault::store::StoreError,
            > {
                use $crate::vault::store::sql::push_conditions;
                let mut count = sqlx::QueryBuilder::<$db>::new(
                    "SELECT COUNT(*) FROM reporting_transactions WHERE merchant_id = ",
                );
                count.push_bind(merchant_id);
                push_conditions(&mut count, &query.conditions);
                let total_records: i64 =
                    count.build_query_scalar().fetch_one(&self.$reader).await?;
                let direction = if query.descending { "DESC" } else { "ASC" };
                let mut select = sqlx::QueryBuilder::<$db>::new(
                    "SELECT * FROM reporting_transactions WHERE merchant_id = ",
                );
                select.push_bind(merchant_id);
                push_conditions(&mut select, &query.conditions);
                select.push(format_args!(
                    " ORDER BY {column} {direction}, pg_id {direction} LIMIT ",
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

            async fn report(
                &self,
                merchant_id: i64,
                pg_id: &str,
            ) -> Result<
                Option<$crate::vault::store::payments::ReportRow>,
                $crate::vault::store::StoreError,
            > {
                Ok(sqlx::query_as(
                    "SELECT * FROM reporting_transactions WHERE merchant_id = $1 AND pg_id = $2",
                )
                .bind(merchant_id)
                .bind(pg_id)
                .fetch_optional(&self.$reader)
                .await?)
            }

            async fn insert_token(
                &self,
                token: &$crate::vault::store::payments::TokenRow,
            ) -> Result<(), $crate::vault::store::StoreError> {
                sqlx::query(
                    "INSERT INTO pg_tokens (card_id, merchant_id, kind, card_type, type_id, \
                     tr_number, masked_number, fingerprint, key_id, ciphertext, exp_date, \
                     cardholder_name, avs_address, avs_zip, single_use, expires_at, used_at, \
                     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                     $13, $14, $15, $16, $17, $18)",
                )
                .bind(&token.card_id)
                .bind(token.merchant_id)
                .bind(&token.kind)
                .bind(&token.card_type)
                .bind(&token.type_id)
                .bind(&token.tr_number)
                .bind(&token.masked_number)
                .bind(&token.fingerprint)
                .bind(token.key_id)
                .bind(&token.ciphertext)
                .bind(&token.exp_date)
                .bind(&token.cardholder_name)
                .bind(&token.avs_address)
                .bind(&token.avs_zip)
                .bind(token.single_use)
                .bind(&token.expires_at)
                .bind(&token.used_at)
                .bind(&token.created_at)
                .execute(&self.$writer)
                .await?;
                Ok(())
            }

            async fn token(
                &self,
                merchant_id: i64,
                card_id: &str,
            ) -> Result<
                Option<$crate::vault::store::payments::TokenRow>,
                $crate::vault::store::StoreError,
            > {
                Ok(sqlx::query_as(
                    "SELECT * FROM pg_tokens WHERE merchant_id = $1 AND card_id = $2",
                )
                .bind(merchant_id)
                .bind(card_id)
                .fetch_optional(&self.$reader)
                .await?)
            }

            async fn delete_token(
                &self,
                merchant_id: i64,
                card_id: &str,
            ) -> Result<bool, $crate::vault::store::StoreError> {
                Ok(sqlx::query("DELETE FROM pg_tokens WHERE merchant_id = $1 AND card_id = $2")
                    .bind(merchant_id)
                    .bind(card_id)
                    .execute(&self.$writer)
                    .await?
                    .rows_affected()
                    == 1)
            }

            async fn owned_card(
                &self,
                merchant_id: i64,
                card_id: &str,
            ) -> Result<
                Option<$crate::vault::store::payments::OwnedCard>,
                $crate::vault::store::StoreError,
            > {
                Ok(sqlx::query_as(&format!(
                    "{} WHERE c.merchant_id = $1 AND c.card_id = $2",
                    $crate::vault::store::payments::OWNED_CARD
                ))
                .bind(merchant_id)
                .bind(card_id)
                .fetch_optional(&self.$reader)
                .await?)
            }

            async fn card_by_fingerprint(
                &self,
                merchant_id: i64,
                customer_id: &str,
                fingerprint: &[u8],
            ) -> Result<Option<String>, $crate::vault::store::StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT c.card_id FROM billing_cards c \
                     JOIN customers cu ON cu.rec_id = c.customer_rec_id \
                     WHERE cu.merchant_id = $1 AND cu.customer_id = $2 AND c.fingerprint = $3",
                )
                .bind(merchant_id)
                .bind(customer_id)
                .bind(fingerprint)
                .fetch_optional(&self.$reader)
                .await?)
            }

            async fn insert_embedded_key(
                &self,
                key: &$crate::vault::store::payments::EmbeddedKeyRow,
            ) -> Result<(), $crate::vault::store::StoreError> {
                sqlx::query(
                    "INSERT INTO embedded_keys (key_digest, merchant_id, created_at, expires_at, \
                     ends_at, declines, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&key.key_digest)
                .bind(key.merchant_id)
                .bind(&key.created_at)
                .bind(&key.expires_at)
                .bind(&key.ends_at)
                .bind(key.declines)
                .bind(&key.used_at)
                .execute(&self.$writer)
                .await?;
                Ok(())
            }

            async fn embedded_key_merchant(
                &self,
                digest: &[u8],
            ) -> Result<Option<i64>, $crate::vault::store::StoreError> {
                Ok(sqlx::query_scalar("SELECT merchant_id FROM embedded_keys WHERE key_digest = $1")
                    .bind(digest)
                    .fetch_optional(&self.$reader)
                    .await?)
            }

            async fn claim_embedded_key(
                &self,
                digest: &[u8],
                now: &str,
                max_declines: i64,
            ) -> Result<Option<i64>, $crate::vault::store::StoreError> {
                Ok(sqlx::query_scalar(
                    "UPDATE embedded_keys SET used_at = $2 WHERE key_digest = $1 \
                     AND used_at IS NULL AND declines < $3 AND expires_at > $2 AND ends_at > $2 \
                     RETURNING merchant_id",
                )
                .bind(digest)
                .bind(now)
                .bind(max_declines)
                .fetch_optional(&self.$writer)
                .await?)
            }

            async fn release_embedded_key(
                &self,
                digest: &[u8],
                declined: bool,
                expires_at: &str,
            ) -> Result<(), $crate::vault::store::StoreError> {
                sqlx::query(
                    "UPDATE embedded_keys SET used_at = NULL, \
                     declines = declines + CASE WHEN $2 THEN 1 ELSE 0 END, \
                     expires_at = CASE WHEN $2 THEN \
                         CASE WHEN $3 < ends_at THEN $3 ELSE ends_at END \
                       ELSE expires_at END \
                     WHERE key_digest = $1",
                )
                .bind(digest)
                .bind(declined)
                .bind(expires_at)
                .execute(&self.$writer)
                .await?;
                Ok(())
            }

            async fn primary_card(
                &self,
                merchant_id: i64,
                customer_id: &str,
            ) -> Result<
                Option<$crate::vault::store::payments::OwnedCard>,
                $crate::vault::store::StoreError,
            > {
                Ok(sqlx::query_as(&format!(
                    "{} WHERE cu.merchant_id = $1 AND cu.customer_id = $2 AND c.is_primary",
                    $crate::vault::store::payments::OWNED_CARD
                ))
                .bind(merchant_id)
                .bind(customer_id)
                .fetch_optional(&self.$reader)
                .await?)
            }
        }

        impl $store {
            /// Why a conditional change matched no row: the row is not there, or in this state.
            async fn refused(
                &self,
                merchant_id: i64,
                pg_id: &str,
            ) -> Result<$crate::vault::store::payments::Refused, $crate::vault::store::StoreError>
            {
                use $crate::vault::store::payments::{PaymentStore, Refused};
                Ok(match self.transaction(merchant_id, pg_id).await? {
                    Some(row) => Refused::State(Box::new(row)),
                    None => Refused::NotFound,
                })
            }
        }
    };
}

payment_store!(
    super::SqliteStore,
    sqlx::Sqlite,
    reader: pool,
    writer: writer,
    begin: "BEGIN IMMEDIATE",
    lock_card: None,
    outbox: crate::vault::store::outbox::sqlite
);

payment_store!(
    super::PostgresStore,
    sqlx::Postgres,
    reader: pool,
    writer: pool,
    begin: "BEGIN",
    lock_card: Some("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))::text"),
    outbox: crate::vault::store::outbox::postgres
);
