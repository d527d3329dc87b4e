//! The embedded backend: SQLite through sqlx, one database file in WAL mode (or an in-memory
//! database). Writes open with `BEGIN IMMEDIATE`, taking the write lock before the first read,
//! so a read-then-write transaction cannot fail to upgrade under concurrent writers.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite, SqlitePool, Transaction};

use super::sql::{
    push_assignments, push_billing_assignments, push_conditions, shipping_assignments,
};
use super::{
    BrowseQuery, CardPatch, CardRow, CustomerKey, CustomerRecord, CustomerRow, NewCard,
    NewShippingAddress, Page, SealedCard, ShippingRow, StoreError, VaultStore, timestamp,
};
use crate::qualpay::{CustomerFields, ShippingFields};
use crate::vault::crypto::{KeyPurpose, WrappedKey};

static MIGRATOR: Migrator = sqlx::migrate!("src/vault/store/migrations");

/// Long enough for a queue of concurrent writers; a write transaction takes milliseconds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

pub struct SqliteStore {
    /// Connections for reads.
    pub(super) pool: SqlitePool,
    /// The one connection this process writes through. Writers queue for it in order instead
    /// of meeting SQLite's busy handler, which sleeps and retries (other processes still do),
    /// and its page cache stays warm: SQLite drops a connection's cache whenever another
    /// connection has written. For an in-memory database it is the one connection there is.
    pub(super) writer: SqlitePool,
}

/// A write transaction (`BEGIN IMMEDIATE`) on the writer connection.
pub(super) struct Writer {
    tx: Transaction<'static, Sqlite>,
}

impl Writer {
    pub(super) async fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit().await?)
    }

    pub(super) async fn rollback(self) -> Result<(), StoreError> {
        Ok(self.tx.rollback().await?)
    }
}

impl std::ops::Deref for Writer {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for Writer {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` in WAL mode.
    pub async fn open_file(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        Self::open(options, false).await
    }

    /// Opens a database from a URL such as `sqlite::memory:` or `sqlite:///var/lib/vault.db`.
    pub async fn open_url(url: &str) -> Result<Self, StoreError> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let mut options = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
        if !in_memory {
            options = options.journal_mode(SqliteJournalMode::Wal);
        }
        Self::open(options, in_memory).await
    }

    async fn open(options: SqliteConnectOptions, in_memory: bool) -> Result<Self, StoreError> {
        let options = options
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .pragma("cache_size", "-32768")
            .pragma("mmap_size", "268435456");
        // A local file needs no liveness check before each use (a round trip to the
        // connection's worker thread every time).
        let one = || {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(30))
        };
        // The writer's statements are bounded (a record, or one batch of the billing engine;
        // migrations once at start), so its temporary tables and statement journals are kept in
        // memory: a batch's rows, materialized for `UPDATE ... FROM`, cost no temporary file
        // (3-5% off each batch's writes, measured). Readers keep the default, so a sort over a
        // large table can still spill to disk instead of growing the process.
        let writer = one()
            .connect_with(options.clone().pragma("temp_store", "memory"))
            .await?;
        super::migrate(&MIGRATOR, &writer).await?;
        // An in-memory database lives and dies with its one connection: it is the writer.
        let pool = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(8)
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options)
                .await?
        };
        Ok(Self { pool, writer })
    }

    /// Begins a write transaction once the writer connection is free. `BEGIN IMMEDIATE`
    /// takes the write lock before the first read, so a read-then-write transaction cannot
    /// fail to upgrade under concurrent writers.
    pub(super) async fn write(&self) -> Result<Writer, StoreError> {
        Ok(Writer {
            tx: self.writer.begin_with("BEGIN IMMEDIATE").await?,
        })
    }
}

#[async_trait]
impl VaultStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn keys(&self) -> Result<Vec<WrappedKey>, StoreError> {
        let rows: Vec<(i64, String, Vec<u8>)> =
            sqlx::query_as("SELECT key_id, purpose, wrapped FROM vault_keys ORDER BY key_id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(WrappedKey::from_row).collect())
    }

    async fn insert_key(
        &self,
        purpose: KeyPurpose,
        wrapped: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT OR IGNORE INTO vault_keys (purpose, wrapped, created_at) VALUES (?, ?, ?)",
        )
        .bind(purpose.as_str())
        .bind(wrapped)
        .bind(timestamp(now))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn create_customer(
        &self,
        key: CustomerKey<'_>,
        fields: &CustomerFields,
        cards: &[NewCard],
        addresses: &[NewShippingAddress],
        now: DateTime<Utc>,
    ) -> Result<CustomerRecord, StoreError> {
        let mut tx = self.write().await?;
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT rec_id FROM customers WHERE merchant_id = ? AND customer_id = ?",
        )
        .bind(key.merchant_id)
        .bind(key.customer_id)
        .fetch_optional(&mut *tx)
        .await?;
        if exists.is_some() {
            return Err(StoreError::DuplicateCustomer);
        }
        let created = timestamp(now);
        let rec_id: i64 = sqlx::query_scalar(
            "INSERT INTO customers (merchant_id, customer_id, first_name, last_name, firm_name, \
             phone, email, reference_id, comments, developer_id, created_at, updated_at) \
             VALUES (?, ?, NULLIF(?, ''), NULLIF(?, ''), NULLIF(?, ''), NULLIF(?, ''), \
             NULLIF(?, ''), NULLIF(?, ''), NULLIF(?, ''), NULLIF(?, ''), ?, ?) RETURNING rec_id",
        )
        .bind(key.merchant_id)
        .bind(key.customer_id)
        .bind(&fields.customer_first_name)
        .bind(&fields.customer_last_name)
        .bind(&fields.customer_firm_name)
        .bind(&fields.customer_phone)
        .bind(&fields.customer_email)
        .bind(&fields.reference_id)
        .bind(&fields.comments)
        .bind(&fields.developer_id)
        .bind(&created)
        .bind(&created)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique_violation_as(e, StoreError::DuplicateCustomer))?;
        add_children(&mut tx, rec_id, key.merchant_id, cards, addresses, now).await?;
        let record = load_record(&mut tx, rec_id).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn customer(&self, key: CustomerKey<'_>) -> Result<CustomerRecord, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rec_id = customer_rec_id(&mut conn, key).await?;
        load_record(&mut conn, rec_id).await
    }

    async fn browse_customers(
        &self,
        merchant_id: i64,
        query: &BrowseQuery,
    ) -> Result<Page<CustomerRecord>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let mut count = QueryBuilder::new("SELECT COUNT(*) FROM customers WHERE merchant_id = ");
        count.push_bind(merchant_id);
        push_conditions(&mut count, &query.conditions);
        let total_records: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;

        let direction = if query.descending { "DESC" } else { "ASC" };
        let mut select = QueryBuilder::new("SELECT * FROM customers WHERE merchant_id = ");
        select.push_bind(merchant_id);
        push_conditions(&mut select, &query.conditions);
        select.push(format_args!(
            " ORDER BY {column} {direction}, rec_id {direction} LIMIT ",
            column = query.order_on.column
        ));
        select.push_bind(query.count);
        select.push(" OFFSET ");
        select.push_bind(query.count.saturating_mul(query.page));
        let customers: Vec<CustomerRow> = select.build_query_as().fetch_all(&mut *conn).await?;
        let items = load_children(&mut conn, customers).await?;
        Ok(Page {
            items,
            total_records,
        })
    }

    async fn update_customer(
        &self,
        key: CustomerKey<'_>,
        fields: &CustomerFields,
        cards: &[NewCard],
        addresses: &[NewShippingAddress],
        now: DateTime<Utc>,
    ) -> Result<CustomerRecord, StoreError> {
        let mut tx = self.write().await?;
        let rec_id = customer_rec_id(&mut tx, key).await?;
        let mut update = QueryBuilder::new("UPDATE customers SET updated_at = ");
        update.push_bind(timestamp(now));
        push_assignments(
            &mut update,
            &[
                ("first_name", &fields.customer_first_name),
                ("last_name", &fields.customer_last_name),
                ("firm_name", &fields.customer_firm_name),
                ("phone", &fields.customer_phone),
                ("email", &fields.customer_email),
                ("reference_id", &fields.reference_id),
                ("comments", &fields.comments),
                ("developer_id", &fields.developer_id),
            ],
        );
        update.push(" WHERE rec_id = ").push_bind(rec_id);
        update.build().execute(&mut *tx).await?;
        add_children(&mut tx, rec_id, key.merchant_id, cards, addresses, now).await?;
        let record = load_record(&mut tx, rec_id).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn delete_customer(&self, key: CustomerKey<'_>) -> Result<(), StoreError> {
        let deleted =
            sqlx::query("DELETE FROM customers WHERE merchant_id = ? AND customer_id = ?")
                .bind(key.merchant_id)
                .bind(key.customer_id)
                .execute(&self.writer)
                .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::CustomerNotFound);
        }
        Ok(())
    }

    async fn card(&self, key: CustomerKey<'_>, card_id: &str) -> Result<CardRow, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rec_id = customer_rec_id(&mut conn, key).await?;
        card_row(&mut conn, rec_id, card_id).await
    }

    async fn update_card(
        &self,
        key: CustomerKey<'_>,
        card_id: &str,
        patch: &CardPatch,
        now: DateTime<Utc>,
    ) -> Result<CustomerRecord, StoreError> {
        let mut tx = self.write().await?;
        let rec_id = customer_rec_id(&mut tx, key).await?;
        let card = card_row(&mut tx, rec_id, card_id).await?;
        let mut update = QueryBuilder::new("UPDATE billing_cards SET updated_at = ");
        update.push_bind(timestamp(now));
        if let Some(exp_date) = &patch.exp_date {
            update.push(", exp_date = ").push_bind(exp_date);
        }
        if let Some(verified_at) = patch.verified_at {
            update
                .push(", verified_at = ")
                .push_bind(timestamp(verified_at));
        }
        push_billing_assignments(&mut update, &patch.billing);
        update.push(" WHERE rec_id = ").push_bind(card.rec_id);
        update.build().execute(&mut *tx).await?;
        if patch.primary {
            make_primary_card(&mut tx, rec_id, card.rec_id).await?;
        }
        let record = load_record(&mut tx, rec_id).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn delete_card(
        &self,
        key: CustomerKey<'_>,
        card_id: &str,
    ) -> Result<CustomerRecord, StoreError> {
        let mut tx = self.write().await?;
        let rec_id = customer_rec_id(&mut tx, key).await?;
        let card = card_row(&mut tx, rec_id, card_id).await?;
        sqlx::query("DELETE FROM billing_cards WHERE rec_id = ?")
            .bind(card.rec_id)
            .execute(&mut *tx)
            .await?;
        if card.is_primary {
            // The oldest remaining card takes over.
            sqlx::query(
                "UPDATE billing_cards SET is_primary = 1 WHERE rec_id = \
                 (SELECT MIN(rec_id) FROM billing_cards WHERE customer_rec_id = ?)",
            )
            .bind(rec_id)
            .execute(&mut *tx)
            .await?;
        }
        let record = load_record(&mut tx, rec_id).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn set_primary_card(
        &self,
        key: CustomerKey<'_>,
        card_id: &str,
    ) -> Result<CustomerRecord, StoreError> {
        let mut tx = self.write().await?;
        let rec_id = customer_rec_id(&mut tx, key).await?;
        let card = card_row(&mut tx, rec_id, card_id).await?;
        make_primary_card(&mut tx, rec_id, card.rec_id).await?;
        let record = load_record(&mut tx, rec_id).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn sealed_cards(
        &self,
        merchant_id: i64,
        card_ids: &[&str],
    ) -> Result<Vec<SealedCard>, StoreError> {
        let mut select = QueryBuilder::new(
            "SELECT json_group_array(json_object('customer_id', cu.customer_id, \
             'card_id', c.card_id, 'key_id', c.key_id, 'ciphertext_hex', hex(c.ciphertext), \
             'exp_date', c.exp_date)) \
             FROM billing_cards c JOIN customers cu ON cu.rec_id = c.customer_rec_id \
             WHERE c.merchant_id = ",
        );
        select.push_bind(merchant_id).push(" AND c.card_id IN (");
        let mut ids = select.separated(", ");
        for id in card_ids {
            ids.push_bind(*id);
        }
        select.push(")");
        json_rows(select.build_query_scalar().fetch_one(&self.pool).await?)
    }

    async fn held_cards(
        &self,
        merchant_id: i64,
        card_ids: &[&str],
    ) -> Result<Vec<String>, StoreError> {
        if card_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut select = QueryBuilder::new(
            "SELECT card_id FROM billing_cards WHERE on_hold = 1 AND merchant_id = ",
        );
        select.push_bind(merchant_id).push(" AND card_id IN (");
        let mut ids = select.separated(", ");
        for id in card_ids {
            ids.push_bind(*id);
        }
        select.push(")");
        Ok(select.build_query_scalar().fetch_all(&self.pool).await?)
    }

    async fn audit_decryptions(
        &self,
        merchant_id: i64,
        card_ids: &[&str],
        purpose: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if card_ids.is_empty() {
            return Ok(());
        }
        // One statement (its own transaction) with one bind for the batch's ids, however many:
        // SQLite caps a statement's variables.
        let ids = serde_json::to_string(card_ids)
            .map_err(|e| StoreError::Corrupt(format!("card ids: {e}")))?;
        sqlx::query(
            "INSERT INTO decryption_audit (merchant_id, card_id, purpose, at) \
             SELECT ?, value, ?, ? FROM json_each(?)",
        )
        .bind(merchant_id)
        .bind(purpose)
        .bind(timestamp(now))
        .bind(ids)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn update_shipping_address(
        &self,
        key: CustomerKey<'_>,
        shipping_id: i64,
        fields: &ShippingFields,
        primary: bool,
        now: DateTime<Utc>,
    ) -> Result<CustomerRecord, StoreError> {
        let mut tx = self.write().await?;
        let rec_id = customer_rec_id(&mut tx, key).await?;
        let address = shipping_row(&mut tx, rec_id, shipping_id).await?;
        let mut update = QueryBuilder::new("UPDATE shipping_addresses SET updated_at = ");
        update.push_bind(timestamp(now));
        push_assignments(&mut update, &shipping_assignments(fields));
        update
            .push(" WHERE shipping_id = ")
            .push_bind(address.shipping_id);
        update.build().execute(&mut *tx).await?;
        if primary {
            make_primary_address(&mut tx, rec_id, shipping_id).await?;
        }
        let record = load_record(&mut tx, rec_id).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn delete_shipping_address(
        &self,
        key: CustomerKey<'_>,
        shipping_id: i64,
    ) -> Result<CustomerRecord, StoreError> {
        let mut tx = self.write().await?;
        let rec_id = customer_rec_id(&mut tx, key).await?;
        let address = shipping_row(&mut tx, rec_id, shipping_id).await?;
        sqlx::query("DELETE FROM shipping_addresses WHERE shipping_id = ?")
            .bind(shipping_id)
            .execute(&mut *tx)
            .await?;
        if address.is_primary {
            sqlx::query(
                "UPDATE shipping_addresses SET is_primary = 1 WHERE shipping_id = \
                 (SELECT MIN(shipping_id) FROM shipping_addresses WHERE customer_rec_id = ?)",
            )
            .bind(rec_id)
            .execute(&mut *tx)
            .await?;
        }
        let record = load_record(&mut tx, rec_id).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn set_primary_shipping_address(
        &self,
        key: CustomerKey<'_>,
        shipping_id: i64,
    ) -> Result<CustomerRecord, StoreError> {
        let mut tx = self.write().await?;
        let rec_id = customer_rec_id(&mut tx, key).await?;
        shipping_row(&mut tx, rec_id, shipping_id).await?;
        make_primary_address(&mut tx, rec_id, shipping_id).await?;
        let record = load_record(&mut tx, rec_id).await?;
        tx.commit().await?;
        Ok(record)
    }
}

/// Rows read as one JSON array (`json_group_array`). sqlx's SQLite driver hands each row
/// from its worker thread to the async side on its own, which costs more than the row itself
/// for the engine's batches of hundreds; one array is one hand-over.
pub(super) fn json_rows<T: serde::de::DeserializeOwned>(
    array: String,
) -> Result<Vec<T>, StoreError> {
    serde_json::from_str(&array).map_err(|e| StoreError::Corrupt(format!("a batch read: {e}")))
}

pub(super) fn unique_violation_as(error: sqlx::Error, as_error: StoreError) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => as_error,
        _ => StoreError::Database(error),
    }
}

async fn customer_rec_id(
    conn: &mut SqliteConnection,
    key: CustomerKey<'_>,
) -> Result<i64, StoreError> {
    sqlx::query_scalar("SELECT rec_id FROM customers WHERE merchant_id = ? AND customer_id = ?")
        .bind(key.merchant_id)
        .bind(key.customer_id)
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::CustomerNotFound)
}

async fn card_row(
    conn: &mut SqliteConnection,
    customer_rec_id: i64,
    card_id: &str,
) -> Result<CardRow, StoreError> {
    sqlx::query_as("SELECT * FROM billing_cards WHERE customer_rec_id = ? AND card_id = ?")
        .bind(customer_rec_id)
        .bind(card_id)
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::CardNotFound)
}

async fn shipping_row(
    conn: &mut SqliteConnection,
    customer_rec_id: i64,
    shipping_id: i64,
) -> Result<ShippingRow, StoreError> {
    sqlx::query_as("SELECT * FROM shipping_addresses WHERE customer_rec_id = ? AND shipping_id = ?")
        .bind(customer_rec_id)
        .bind(shipping_id)
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::AddressNotFound)
}

/// Adds cards and addresses to a customer inside the caller's transaction. The first card or
/// address a customer gets is primary, and one marked `primary` takes over.
async fn add_children(
    conn: &mut SqliteConnection,
    customer_rec_id: i64,
    merchant_id: i64,
    cards: &[NewCard],
    addresses: &[NewShippingAddress],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let now = timestamp(now);
    for card in cards {
        let duplicate: Option<i64> = sqlx::query_scalar(
            "SELECT rec_id FROM billing_cards WHERE customer_rec_id = ? AND fingerprint = ?",
        )
        .bind(customer_rec_id)
        .bind(&card.fingerprint)
        .fetch_optional(&mut *conn)
        .await?;
        if duplicate.is_some() {
            return Err(StoreError::DuplicateCard);
        }
        let card_rec_id: i64 = sqlx::query_scalar(
            "INSERT INTO billing_cards (card_id, customer_rec_id, merchant_id, kind, card_type, \
             type_id, tr_number, masked_number, fingerprint, key_id, ciphertext, exp_date, \
             verified_at, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING rec_id",
        )
        .bind(&card.card_id)
        .bind(customer_rec_id)
        .bind(merchant_id)
        .bind(card.kind.as_str())
        .bind(&card.card_type)
        .bind(&card.type_id)
        .bind(&card.tr_number)
        .bind(&card.masked_number)
        .bind(&card.fingerprint)
        .bind(card.sealed.key_id)
        .bind(&card.sealed.blob)
        .bind(&card.exp_date)
        .bind(card.verified_at.map(timestamp))
        .bind(&now)
        .bind(&now)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| unique_violation_as(e, StoreError::DuplicateCard))?;
        let mut billing = QueryBuilder::new("UPDATE billing_cards SET updated_at = updated_at");
        push_billing_assignments(&mut billing, &card.billing);
        billing.push(" WHERE rec_id = ").push_bind(card_rec_id);
        billing.build().execute(&mut *conn).await?;
        if card.primary || !has_primary(conn, "billing_cards", customer_rec_id).await? {
            make_primary_card(conn, customer_rec_id, card_rec_id).await?;
        }
    }
    for address in addresses {
        let shipping_id: i64 = sqlx::query_scalar(
            "INSERT INTO shipping_addresses (customer_rec_id, created_at, updated_at) \
             VALUES (?, ?, ?) RETURNING shipping_id",
        )
        .bind(customer_rec_id)
        .bind(&now)
        .bind(&now)
        .fetch_one(&mut *conn)
        .await?;
        let mut update = QueryBuilder::new("UPDATE shipping_addresses SET updated_at = updated_at");
        push_assignments(&mut update, &shipping_assignments(&address.fields));
        update.push(" WHERE shipping_id = ").push_bind(shipping_id);
        update.build().execute(&mut *conn).await?;
        if address.primary || !has_primary(conn, "shipping_addresses", customer_rec_id).await? {
            make_primary_address(conn, customer_rec_id, shipping_id).await?;
        }
    }
    if !cards.is_empty() || !addresses.is_empty() {
        sqlx::query("UPDATE customers SET updated_at = ? WHERE rec_id = ?")
            .bind(&now)
            .bind(customer_rec_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn has_primary(
    conn: &mut SqliteConnection,
    table: &'static str,
    customer_rec_id: i64,
) -> Result<bool, StoreError> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM {table} WHERE customer_rec_id = ? AND is_primary = 1)"
    );
    Ok(sqlx::query_scalar(&sql)
        .bind(customer_rec_id)
        .fetch_one(conn)
        .await?)
}

/// Moves the primary flag; the old primary is cleared first because a unique index allows only one.
async fn make_primary_card(
    conn: &mut SqliteConnection,
    customer_rec_id: i64,
    card_rec_id: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE billing_cards SET is_primary = 0 WHERE customer_rec_id = ? AND is_primary = 1 AND rec_id <> ?")
        .bind(customer_rec_id)
        .bind(card_rec_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE billing_cards SET is_primary = 1 WHERE rec_id = ?")
        .bind(card_rec_id)
        .execute(conn)
        .await?;
    Ok(())
}

async fn make_primary_address(
    conn: &mut SqliteConnection,
    customer_rec_id: i64,
    shipping_id: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE shipping_addresses SET is_primary = 0 WHERE customer_rec_id = ? AND is_primary = 1 AND shipping_id <> ?")
        .bind(customer_rec_id)
        .bind(shipping_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE shipping_addresses SET is_primary = 1 WHERE shipping_id = ?")
        .bind(shipping_id)
        .execute(conn)
        .await?;
    Ok(())
}

async fn load_record(
    conn: &mut SqliteConnection,
    rec_id: i64,
) -> Result<CustomerRecord, StoreError> {
    let customer: CustomerRow = sqlx::query_as("SELECT * FROM customers WHERE rec_id = ?")
        .bind(rec_id)
        .fetch_one(&mut *conn)
        .await?;
    let mut records = load_children(conn, vec![customer]).await?;
    Ok(records.remove(0))
}

/// Loads the cards and addresses of a page of customers with one query each.
async fn load_children(
    conn: &mut SqliteConnection,
    customers: Vec<CustomerRow>,
) -> Result<Vec<CustomerRecord>, StoreError> {
    if customers.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = customers.iter().map(|c| c.rec_id).collect();
    let mut cards_query =
        QueryBuilder::new("SELECT * FROM billing_cards WHERE customer_rec_id IN ");
    push_id_list(&mut cards_query, &ids);
    cards_query.push(" ORDER BY rec_id");
    let cards: Vec<CardRow> = cards_query.build_query_as().fetch_all(&mut *conn).await?;
    let mut address_query =
        QueryBuilder::new("SELECT * FROM shipping_addresses WHERE customer_rec_id IN ");
    push_id_list(&mut address_query, &ids);
    address_query.push(" ORDER BY shipping_id");
    let addresses: Vec<ShippingRow> = address_query.build_query_as().fetch_all(&mut *conn).await?;

    Ok(CustomerRecord::assemble(customers, cards, addresses))
}

fn push_id_list(query: &mut QueryBuilder<'_, Sqlite>, ids: &[i64]) {
    query.push("(");
    let mut separated = query.separated(", ");
    for id in ids {
        separated.push_bind(*id);
    }
    separated.push_unseparated(")");
}
