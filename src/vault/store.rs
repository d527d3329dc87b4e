//! Storage of customers, cards, shipping addresses, keys and the decryption audit.
//!
//! [`VaultStore`] (and [`billing::BillingStore`]) are the interfaces the services use; both
//! backends implement both: [`SqliteStore`], the embedded default, and [`PostgresStore`], for
//! several vault processes on one database. [`Database`] is the pair, as the vault opens it.
//! Every method that writes more than one row runs as one transaction, so a failed request
//! changes nothing and concurrent requests cannot break the invariants the schema also enforces
//! (unique ids, one primary card, one primary address).

pub mod account_updater;
pub mod billing;
mod billing_rows;
pub mod outbox;
pub mod payments;
mod postgres;
mod postgres_billing;
mod rows;
mod sql;
mod sqlite;
mod sqlite_billing;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;

pub use postgres::{PoolSettings, PostgresStore};
pub use rows::{CardRow, CustomerRecord, CustomerRow, ShippingRow};
pub use sqlite::SqliteStore;

use crate::qualpay::{BillingFields, CustomerFields, ShippingFields};
use crate::vault::crypto::{KeyPurpose, Sealed, WrappedKey};
use crate::vault::filter::{Condition, Field, FieldKind};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("customer_id: no such customer")]
    CustomerNotFound,
    #[error("card_id: the customer has no such card")]
    CardNotFound,
    #[error("shipping_id: the customer has no such shipping address")]
    AddressNotFound,
    #[error("customer_id: a customer with this customer_id already exists")]
    DuplicateCustomer,
    #[error("card_number: this card is already stored for the customer")]
    DuplicateCard,
    #[error("plan_code: no such plan")]
    PlanNotFound,
    #[error("plan_code: a plan with this plan_code already exists")]
    DuplicatePlan,
    #[error("plan_id: subscriptions that are not cancelled or complete still use this plan")]
    PlanInUse,
    #[error("subscription_id: no such subscription")]
    SubscriptionNotFound,
    #[error("the record was changed by another request; try again")]
    Concurrent,
    /// A stored row that does not describe a valid record (never shown to clients).
    #[error("corrupt record: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database has a migration this binary does not know: a newer vaultql wrote it.
    #[error(
        "the database's schema is newer than this vaultql (it has migration {0}, which this \
         binary does not know): run the vaultql that upgraded it, or a newer one"
    )]
    SchemaNewer(i64),
    /// The database could not be reached (the message never holds a password).
    #[error("{0}")]
    Unreachable(String),
}

/// Brings a database's schema up to date with the migrations built into the binary. A schema
/// that a newer binary moved on is refused, not run against.
async fn migrate<'a, A>(migrator: &Migrator, database: A) -> Result<(), StoreError>
where
    A: sqlx::Acquire<'a>,
    <A::Connection as std::ops::Deref>::Target: sqlx::migrate::Migrate,
{
    match migrator.run(database).await {
        Err(sqlx::migrate::MigrateError::VersionMissing(version)) => {
            Err(StoreError::SchemaNewer(version))
        }
        result => Ok(result?),
    }
}

/// Both stores of one backend, as the vault opens them.
pub trait Database:
    VaultStore
    + billing::BillingStore
    + payments::PaymentStore
    + outbox::WebhookStore
    + account_updater::AccountUpdaterStore
{
}

impl<T> Database for T where
    T: VaultStore
        + billing::BillingStore
        + payments::PaymentStore
        + outbox::WebhookStore
        + account_updater::AccountUpdaterStore
{
}

/// Which customer a call is about: always scoped by merchant.
#[derive(Debug, Clone, Copy)]
pub struct CustomerKey<'a> {
    pub merchant_id: i64,
    pub customer_id: &'a str,
}

/// A new card or ACH account, already validated, encrypted and fingerprinted.
#[derive(Debug, Clone)]
pub struct NewCard {
    pub card_id: String,
    pub kind: CardKind,
    pub card_type: Option<String>,
    pub type_id: Option<String>,
    pub tr_number: Option<String>,
    pub masked_number: String,
    pub fingerprint: Vec<u8>,
    pub sealed: Sealed,
    pub exp_date: Option<String>,
    pub billing: BillingFields,
    pub primary: bool,
    pub verified_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardKind {
    Card,
    Ach,
}

impl CardKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::Ach => "ach",
        }
    }
}

/// A stored card's encrypted number and what opening it needs (its customer is part of the
/// associated data).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SealedCard {
    pub customer_id: String,
    pub card_id: String,
    pub key_id: i64,
    /// The ciphertext, hex-encoded (the store reads batches as JSON).
    pub ciphertext_hex: String,
    pub exp_date: Option<String>,
}

/// A change to a stored card: fields that are `Some` are set (an empty string clears).
#[derive(Debug, Clone, Default)]
pub struct CardPatch {
    pub exp_date: Option<String>,
    pub billing: BillingFields,
    pub primary: bool,
    pub verified_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewShippingAddress {
    pub fields: ShippingFields,
    pub primary: bool,
}

/// A page request of a browse: conditions are ANDed.
#[derive(Debug, Clone)]
pub struct BrowseQuery {
    pub conditions: Vec<Condition>,
    pub order_on: &'static Field,
    pub descending: bool,
    pub count: i64,
    pub page: i64,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total_records: i64,
}

/// The customer fields browse can filter and sort on, with their columns.
pub static CUSTOMER_FIELDS: &[Field] = &[
    Field {
        name: "customer_id",
        column: "customer_id",
        kind: FieldKind::Text,
    },
    Field {
        name: "rec_id",
        column: "rec_id",
        kind: FieldKind::Integer,
    },
    Field {
        name: "node_id",
        column: "merchant_id",
        kind: FieldKind::Integer,
    },
    Field {
        name: "customer_first_name",
        column: "first_name",
        kind: FieldKind::Text,
    },
    Field {
        name: "customer_last_name",
        column: "last_name",
        kind: FieldKind::Text,
    },
    Field {
        name: "customer_firm_name",
        column: "firm_name",
        kind: FieldKind::Text,
    },
    Field {
        name: "customer_phone",
        column: "phone",
        kind: FieldKind::Text,
    },
    Field {
        name: "customer_email",
        column: "email",
        kind: FieldKind::Text,
    },
    Field {
        name: "reference_id",
        column: "reference_id",
        kind: FieldKind::Text,
    },
    Field {
        name: "comments",
        column: "comments",
        kind: FieldKind::Text,
    },
    Field {
        name: "developer_id",
        column: "developer_id",
        kind: FieldKind::Text,
    },
    Field {
        name: "db_timestamp",
        column: "created_at",
        kind: FieldKind::Text,
    },
];

#[async_trait]
pub trait VaultStore: Send + Sync + 'static {
    /// Which backend this is (`sqlite`, `postgres`), as readiness reports name it.
    fn backend(&self) -> &'static str;
    /// Whether the database answers a query (for readiness).
    async fn ping(&self) -> Result<(), StoreError>;

    async fn keys(&self) -> Result<Vec<WrappedKey>, StoreError>;
    /// Stores a key; a second fingerprint key is ignored (the first one stays).
    async fn insert_key(
        &self,
        purpose: KeyPurpose,
        wrapped: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn create_customer(
        &self,
        key: CustomerKey<'_>,
        fields: &CustomerFields,
        cards: &[NewCard],
        addresses: &[NewShippingAddress],
        now: DateTime<Utc>,
    ) -> Result<CustomerRecord, StoreError>;
    async fn customer(&self, key: CustomerKey<'_>) -> Result<CustomerRecord, StoreError>;
    async fn browse_customers(
        &self,
        merchant_id: i64,
        query: &BrowseQuery,
    ) -> Result<Page<CustomerRecord>, StoreError>;
    /// Sets the fields that are `Some` (an empty string clears) and adds cards and addresses.
    async fn update_customer(
        &self,
        key: CustomerKey<'_>,
        fields: &CustomerFields,
        cards: &[NewCard],
        addresses: &[NewShippingAddress],
        now: DateTime<Utc>,
    ) -> Result<CustomerRecord, StoreError>;
    async fn delete_customer(&self, key: CustomerKey<'_>) -> Result<(), StoreError>;

    async fn card(&self, key: CustomerKey<'_>, card_id: &str) -> Result<CardRow, StoreError>;
    async fn update_card(
        &self,
        key: CustomerKey<'_>,
        card_id: &str,
        patch: &CardPatch,
        now: DateTime<Utc>,
    ) -> Result<CustomerRecord, StoreError>;
    async fn delete_card(
        &self,
        key: CustomerKey<'_>,
        card_id: &str,
    ) -> Result<CustomerRecord, StoreError>;
    async fn set_primary_card(
        &self,
        key: CustomerKey<'_>,
        card_id: &str,
    ) -> Result<CustomerRecord, StoreError>;
    /// The merchant's stored cards with these ids, sealed, each with its customer's id.
    async fn sealed_cards(
        &self,
        merchant_id: i64,
        card_ids: &[&str],
    ) -> Result<Vec<SealedCard>, StoreError>;
    /// Which of the merchant's cards with these ids are on Account Updater hold.
    async fn held_cards(
        &self,
        merchant_id: i64,
        card_ids: &[&str],
    ) -> Result<Vec<String>, StoreError>;
    /// Records that stored numbers were decrypted, and why (PCI DSS 10.2): one record per card.
    async fn audit_decryptions(
        &self,
        merchant_id: i64,
        card_ids: &[&str],
        purpose: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn update_shipping_address(
        &self,
        key: CustomerKey<'_>,
        shipping_id: i64,
        fields: &ShippingFields,
        primary: bool,
        now: DateTime<Utc>,
    ) -> Result<CustomerRecord, StoreError>;
    async fn delete_shipping_address(
        &self,
        key: CustomerKey<'_>,
        shipping_id: i64,
    ) -> Result<CustomerRecord, StoreError>;
    async fn set_primary_shipping_address(
        &self,
        key: CustomerKey<'_>,
        shipping_id: i64,
    ) -> Result<CustomerRecord, StoreError>;
}

/// Timestamps are stored as fixed-width UTC text so that they sort as strings.
pub fn timestamp(at: DateTime<Utc>) -> String {
    // `2027-01-31T12:00:00.000000Z`, as `%Y-%m-%dT%H:%M:%S%.6fZ` would write it, without
    // parsing a format string on every call (the billing engine writes thousands a second).
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
