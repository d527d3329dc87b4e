//! The PostgreSQL backend, for a vault that outgrows one machine: several vault processes on
//! one database. The same tables and invariants as SQLite (unique ids, one primary card and one
//! primary address per customer, unique card fingerprints per customer), kept by PostgreSQL's
//! own constraints. SQLite serializes every write; here writes run side by side, so a write
//! that reads a customer before changing it locks that customer's row first (`FOR UPDATE`):
//! two requests changing one customer take turns, requests for different customers do not wait.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions, PgRow};
use sqlx::{FromRow, PgPool, QueryBuilder};

use super::sql::{
    push_assignments, push_billing_assignments, push_conditions, shipping_assignments,
};
use super::{
    BrowseQuery, CardPatch, CardRow, CustomerKey, CustomerRecord, CustomerRow, NewCard,
    NewShippingAddress, Page, SealedCard, ShippingRow, StoreError, VaultStore, timestamp,
};
use crate::qualpay::{CustomerFields, ShippingFields};
use crate::vault::crypto::{KeyPurpose, WrappedKey};
use crate::vault::filter::FieldKind;

static MIGRATOR: Migrator = sqlx::migrate!("src/vault/store/postgres");

/// The connection pool of one vault process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Connections this process opens at most.
    pub max_connections: u32,
    /// Connections kept open while idle.
    pub min_connections: u32,
    /// How long a request waits for a free connection (or a new one) before it fails.
    pub acquire_timeout: Duration,
    /// How long an unused connection above `min_connections` stays open.
    pub idle_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            min_connections: 1,
            acquire_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
        }
    }
}

pub struct PostgresStore {
    pub(super) pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`), then brings the
    /// schema up to date. A database that cannot be reached, or whose schema a newer vaultql
    /// wrote, is an error that says so (and never shows the URL's password).
    pub async fn open(url: &str, settings: PoolSettings) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(|e| {
            StoreError::Unreachable(format!("the database URL is not valid: {}", redacted(&e)))
        })?;
        let place = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("(default database)")
        );
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .min_connections(settings.min_connections.min(settings.max_connections))
            .acquire_timeout(settings.acquire_timeout)
            .idle_timeout(Some(settings.idle_timeout))
            .connect_with(options)
            .await
            .map_err(|e| {
                StoreError::Unreachable(format!(
                    "could not connect to PostgreSQL at {place}: {}",
                    redacted(&e)
                ))
            })?;
        super::migrate(&MIGRATOR, &pool).await?;
        Ok(Self { pool })
    }
}

/// An error's text without anything that looks like a URL's credentials.
fn redacted(error: &dyn std::fmt::Display) -> String {
    let text = error.to_string();
    match (text.find("://"), text.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…{}", &text[..scheme], &text[at..])
        }
        _ => text,
    }
}

#[async_trait]
impl VaultStore for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
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
        // Two processes starting on a new database both make a fingerprint key; the unique
        // index keeps the first.
        sqlx::query(
            "INSERT INTO vault_keys (purpose, wrapped, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(purpose.as_str())
        .bind(wrapped)
        .bind(timestamp(now))
        .execute(&self.pool)
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
        let mut tx = self.pool.begin().await?;
        let created = timestamp(now);
        // A concurrent insert of the same id waits for this one and then meets the unique
        // constraint: one is created, the other is told it exists.
        let rec_id: i64 = sqlx::query_scalar(
            "INSERT INTO customers (merchant_id, customer_id, first_name, last_name, firm_name, \
             phone, email, reference_id, comments, developer_id, created_at, updated_at) \
             VALUES ($1, $2, NULLIF($3, ''), NULLIF($4, ''), NULLIF($5, ''), NULLIF($6, ''), \
             NULLIF($7, ''), NULLIF($8, ''), NULLIF($9, ''), NULLIF($10, ''), $11, $11) \
             RETURNING rec_id",
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
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique_violation_as(e, StoreError::DuplicateCustomer))?;
        add_children(&mut tx, rec_id, key.merchant_id, cards, addresses, now).await?;
        let record = load_record(&mut tx, rec_id).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn customer(&self, key: CustomerKey<'_>) -> Result<CustomerRecord, StoreError> {
        // One snapshot for the customer and its cards and addresses.
        let mut tx = snapshot(&self.pool).await?;
        let rec_id = customer_rec_id(&mut tx, key, false).await?;
        let record = load_record(&mut tx, rec_id).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn browse_customers(
        &self,
        merchant_id: i64,
        query: &BrowseQuery,
    ) -> Result<Page<CustomerRecord>, StoreError> {
        let mut tx = snapshot(&self.pool).await?;
        let page: Page<CustomerRow> =
            browse_page(&mut tx, "customers", "rec_id", "", merchant_id, query).await?;
        let total_records = page.total_records;
        let customers = page.items;
        let items = load_children(&mut tx, customers).await?;
        tx.commit().await?;
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
        let mut tx = self.pool.begin().await?;
        let rec_id = customer_rec_id(&mut tx, key, true).await?;
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
            sqlx::query("DELETE FROM customers WHERE merchant_id = $1 AND customer_id = $2")
                .bind(key.merchant_id)
                .bind(key.customer_id)
                .execute(&self.pool)
                .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::CustomerNotFound);
        }
        Ok(())
    }

    async fn card(&self, key: CustomerKey<'_>, card_id: &str) -> Result<CardRow, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rec_id = customer_rec_id(&mut conn, key, false).await?;
        card_row(&mut conn, rec_id, card_id).await
    }

    async fn update_card(
        &self,
        key: CustomerKey<'_>,
        card_id: &str,
        patch: &CardPatch,
        now: DateTime<Utc>,
    ) -> Result<CustomerRecord, StoreError> {
        let mut tx = self.pool.begin().await?;
        let rec_id = customer_rec_id(&mut tx, key, true).await?;
        let card = card_row(&mut tx, rec_id, card_id).await?;
        let mut update = QueryBuilder::new("UPDATE billing_cards SET updated_at = ");
        update.push_bind(timestamp(now));
        if let Some(exp_date) = &patch.exp_date {
            update.push(", exp_date = ").push_bind(exp_date.clone());
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
            make_primary(&mut tx, Children::Cards, rec_id, card.rec_id).await?;
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
        let mut tx = self.pool.begin().await?;
        let rec_id = customer_rec_id(&mut tx, key, true).await?;
        let card = card_row(&mut tx, rec_id, card_id).await?;
        sqlx::query("DELETE FROM billing_cards WHERE rec_id = $1")
            .bind(card.rec_id)
            .execute(&mut *tx)
            .await?;
        if card.is_primary {
            promote_oldest(&mut tx, Children::Cards, rec_id).await?;
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
        let mut tx = self.pool.begin().await?;
        let rec_id = customer_rec_id(&mut tx, key, true).await?;
        let card = card_row(&mut tx, rec_id, card_id).await?;
        make_primary(&mut tx, Children::Cards, rec_id, card.rec_id).await?;
        let record = load_record(&mut tx, rec_id).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn sealed_cards(
        &self,
        merchant_id: i64,
        card_ids: &[&str],
    ) -> Result<Vec<SealedCard>, StoreError> {
        let rows: Vec<(String, String, i64, Vec<u8>, Option<String>)> = sqlx::query_as(
            "SELECT cu.customer_id, c.card_id, c.key_id, c.ciphertext, c.exp_date \
             FROM billing_cards c JOIN customers cu ON cu.rec_id = c.customer_rec_id \
             WHERE c.merchant_id = $1 AND c.card_id = ANY($2)",
        )
        .bind(merchant_id)
        .bind(card_ids)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(customer_id, card_id, key_id, ciphertext, exp_date)| SealedCard {
                    customer_id,
                    card_id,
                    key_id,
                    ciphertext_hex: hex(&ciphertext),
                    exp_date,
                },
            )
            .collect())
    }

    async fn held_cards(
        &self,
        merchant_id: i64,
        card_ids: &[&str],
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT card_id FROM billing_cards WHERE on_hold AND merchant_id = $1 \
             AND card_id = ANY($2)",
        )
        .bind(merchant_id)
        .bind(card_ids)
        .fetch_all(&self.pool)
        .await?)
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
        sqlx::query(
            "INSERT INTO decryption_audit (merchant_id, card_id, purpose, at) \
             SELECT $1, card_id, $2, $3 FROM UNNEST($4::text[]) AS ids (card_id)",
        )
        .bind(merchant_id)
        .bind(purpose)
        .bind(timestamp(now))
        .bind(card_ids)
        .execute(&self.pool)
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
        let mut tx = self.pool.begin().await?;
        let rec_id = customer_rec_id(&mut tx, key, true).await?;
        let address = shipping_row(&mut tx, rec_id, shipping_id).await?;
        let mut update = QueryBuilder::new("UPDATE shipping_addresses SET updated_at = ");
        update.push_bind(timestamp(now));
        push_assignments(&mut update, &shipping_assignments(fields));
        update
            .push(" WHERE shipping_id = ")
            .push_bind(address.shipping_id);
        update.build().execute(&mut *tx).await?;
        if primary {
            make_primary(&mut tx, Children::Addresses, rec_id, shipping_id).await?;
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
        let mut tx = self.pool.begin().await?;
        let rec_id = customer_rec_id(&mut tx, key, true).await?;
        let address = shipping_row(&mut tx, rec_id, shipping_id).await?;
        sqlx::query("DELETE FROM shipping_addresses WHERE shipping_id = $1")
            .bind(shipping_id)
            .execute(&mut *tx)
            .await?;
        if address.is_primary {
            promote_oldest(&mut tx, Children::Addresses, rec_id).await?;
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
        let mut tx = self.pool.begin().await?;
        let rec_id = customer_rec_id(&mut tx, key, true).await?;
        shipping_row(&mut tx, rec_id, shipping_id).await?;
        make_primary(&mut tx, Children::Addresses, rec_id, shipping_id).await?;
        let record = load_record(&mut tx, rec_id).await?;
        tx.commit().await?;
        Ok(record)
    }
}

/// A browse over one table, scoped to the merchant (and to `extra`, conditions ending in
/// `AND`): the total and one page. `key` is the table's primary key, the tie-break that keeps
/// pages stable. Run it in a [`snapshot`] so that the total and the page agree.
pub(super) async fn browse_page<T>(
    conn: &mut PgConnection,
    table: &str,
    key: &str,
    extra: &str,
    merchant_id: i64,
    query: &BrowseQuery,
) -> Result<Page<T>, StoreError>
where
    T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let mut count = QueryBuilder::new(format!(
        "SELECT COUNT(*) FROM {table} WHERE {extra} merchant_id = "
    ));
    count.push_bind(merchant_id);
    push_conditions(&mut count, &query.conditions);
    let total_records: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;

    let direction = if query.descending { "DESC" } else { "ASC" };
    // NULLs sort first ascending, as SQLite sorts them.
    let nulls = if query.descending {
        "NULLS LAST"
    } else {
        "NULLS FIRST"
    };
    // Text in code-point order, as SQLite compares it, whatever the database's collation.
    let collate = match query.order_on.kind {
        FieldKind::Text => " COLLATE \"C\"",
        _ => "",
    };
    let mut select = QueryBuilder::new(format!(
        "SELECT * FROM {table} WHERE {extra} merchant_id = "
    ));
    select.push_bind(merchant_id);
    push_conditions(&mut select, &query.conditions);
    select.push(format_args!(
        " ORDER BY {column}{collate} {direction} {nulls}, {key} {direction} LIMIT ",
        column = query.order_on.column
    ));
    select.push_bind(query.count);
    select.push(" OFFSET ");
    select.push_bind(query.count.saturating_mul(query.page));
    let items = select.build_query_as().fetch_all(&mut *conn).await?;
    Ok(Page {
        items,
        total_records,
    })
}

/// A read-only transaction that sees one snapshot of the database throughout, so that a page's
/// total, its rows and their children agree.
pub(super) async fn snapshot(
    pool: &PgPool,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
    // One round trip: the isolation level comes with the `BEGIN`.
    Ok(pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?)
}

pub(super) fn unique_violation_as(error: sqlx::Error, as_error: StoreError) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => as_error,
        _ => StoreError::Database(error),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

/// The customer's row id; `lock` takes the row's lock for the rest of the transaction, so the
/// writes that follow see no concurrent change to the customer, its cards or its addresses.
async fn customer_rec_id(
    conn: &mut PgConnection,
    key: CustomerKey<'_>,
    lock: bool,
) -> Result<i64, StoreError> {
    let sql = if lock {
        "SELECT rec_id FROM customers WHERE merchant_id = $1 AND customer_id = $2 FOR UPDATE"
    } else {
        "SELECT rec_id FROM customers WHERE merchant_id = $1 AND customer_id = $2"
    };
    sqlx::query_scalar(sql)
        .bind(key.merchant_id)
        .bind(key.customer_id)
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::CustomerNotFound)
}

async fn card_row(
    conn: &mut PgConnection,
    customer_rec_id: i64,
    card_id: &str,
) -> Result<CardRow, StoreError> {
    sqlx::query_as("SELECT * FROM billing_cards WHERE customer_rec_id = $1 AND card_id = $2")
        .bind(customer_rec_id)
        .bind(card_id)
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::CardNotFound)
}

async fn shipping_row(
    conn: &mut PgConnection,
    customer_rec_id: i64,
    shipping_id: i64,
) -> Result<ShippingRow, StoreError> {
    sqlx::query_as(
        "SELECT * FROM shipping_addresses WHERE customer_rec_id = $1 AND shipping_id = $2",
    )
    .bind(customer_rec_id)
    .bind(shipping_id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::AddressNotFound)
}

/// Adds cards and addresses to a customer inside the caller's transaction, which holds the
/// customer's row (locked, or just inserted). The first card or address a customer gets is
/// primary, and one marked `primary` takes over.
async fn add_children(
    conn: &mut PgConnection,
    customer_rec_id: i64,
    merchant_id: i64,
    cards: &[NewCard],
    addresses: &[NewShippingAddress],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let now = timestamp(now);
    for card in cards {
        // The unique (customer, fingerprint) constraint refuses a card stored twice, however
        // many requests add it at once.
        let card_rec_id: i64 = sqlx::query_scalar(
            "INSERT INTO billing_cards (card_id, customer_rec_id, merchant_id, kind, card_type, \
             type_id, tr_number, masked_number, fingerprint, key_id, ciphertext, exp_date, \
             verified_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
             RETURNING rec_id",
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
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| unique_violation_as(e, StoreError::DuplicateCard))?;
        let mut billing = QueryBuilder::new("UPDATE billing_cards SET updated_at = updated_at");
        push_billing_assignments(&mut billing, &card.billing);
        billing.push(" WHERE rec_id = ").push_bind(card_rec_id);
        billing.build().execute(&mut *conn).await?;
        if card.primary || !has_primary(conn, Children::Cards, customer_rec_id).await? {
            make_primary(conn, Children::Cards, customer_rec_id, card_rec_id).await?;
        }
    }
    for address in addresses {
        let shipping_id: i64 = sqlx::query_scalar(
            "INSERT INTO shipping_addresses (customer_rec_id, created_at, updated_at) \
             VALUES ($1, $2, $2) RETURNING shipping_id",
        )
        .bind(customer_rec_id)
        .bind(&now)
        .fetch_one(&mut *conn)
        .await?;
        let mut update = QueryBuilder::new("UPDATE shipping_addresses SET updated_at = updated_at");
        push_assignments(&mut update, &shipping_assignments(&address.fields));
        update.push(" WHERE shipping_id = ").push_bind(shipping_id);
        update.build().execute(&mut *conn).await?;
        if address.primary || !has_primary(conn, Children::Addresses, customer_rec_id).await? {
            make_primary(conn, Children::Addresses, customer_rec_id, shipping_id).await?;
        }
    }
    if !cards.is_empty() || !addresses.is_empty() {
        sqlx::query("UPDATE customers SET updated_at = $1 WHERE rec_id = $2")
            .bind(&now)
            .bind(customer_rec_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A customer's cards or addresses: the table and its id column.
#[derive(Clone, Copy)]
enum Children {
    Cards,
    Addresses,
}

impl Children {
    fn table(self) -> &'static str {
        match self {
            Self::Cards => "billing_cards",
            Self::Addresses => "shipping_addresses",
        }
    }

    fn id(self) -> &'static str {
        match self {
            Self::Cards => "rec_id",
            Self::Addresses => "shipping_id",
        }
    }
}

async fn has_primary(
    conn: &mut PgConnection,
    children: Children,
    customer_rec_id: i64,
) -> Result<bool, StoreError> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE customer_rec_id = $1 AND is_primary)",
        children.table()
    );
    Ok(sqlx::query_scalar(&sql)
        .bind(customer_rec_id)
        .fetch_one(conn)
        .await?)
}

/// Moves the primary flag; the old primary is cleared first because a unique index allows only
/// one.
async fn make_primary(
    conn: &mut PgConnection,
    children: Children,
    customer_rec_id: i64,
    id: i64,
) -> Result<(), StoreError> {
    let (table, column) = (children.table(), children.id());
    sqlx::query(&format!(
        "UPDATE {table} SET is_primary = FALSE \
         WHERE customer_rec_id = $1 AND is_primary AND {column} <> $2"
    ))
    .bind(customer_rec_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(&format!(
        "UPDATE {table} SET is_primary = TRUE WHERE {column} = $1"
    ))
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// After the primary one is removed, the oldest remaining takes over.
async fn promote_oldest(
    conn: &mut PgConnection,
    children: Children,
    customer_rec_id: i64,
) -> Result<(), StoreError> {
    let (table, column) = (children.table(), children.id());
    sqlx::query(&format!(
        "UPDATE {table} SET is_primary = TRUE WHERE {column} = \
         (SELECT MIN({column}) FROM {table} WHERE customer_rec_id = $1)"
    ))
    .bind(customer_rec_id)
    .execute(conn)
    .await?;
    Ok(())
}

async fn load_record(conn: &mut PgConnection, rec_id: i64) -> Result<CustomerRecord, StoreError> {
    let customer: CustomerRow = sqlx::query_as("SELECT * FROM customers WHERE rec_id = $1")
        .bind(rec_id)
        .fetch_one(&mut *conn)
        .await?;
    let mut records = load_children(conn, vec![customer]).await?;
    Ok(records.remove(0))
}

/// Loads the cards and addresses of a page of customers with one query each.
async fn load_children(
    conn: &mut PgConnection,
    customers: Vec<CustomerRow>,
) -> Result<Vec<CustomerRecord>, StoreError> {
    if customers.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = customers.iter().map(|c| c.rec_id).collect();
    let cards: Vec<CardRow> = sqlx::query_as(
        "SELECT * FROM billing_cards WHERE customer_rec_id = ANY($1) ORDER BY rec_id",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let addresses: Vec<ShippingRow> = sqlx::query_as(
        "SELECT * FROM shipping_addresses WHERE customer_rec_id = ANY($1) ORDER BY shipping_id",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    Ok(CustomerRecord::assemble(customers, cards, addresses))
}
