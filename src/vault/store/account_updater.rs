//! Storage of Account Updater requests, their cards, the harvest setting and the holds. Both
//! backends run the same SQL (`$n` parameters), written once in [`backend`] for each pool
//! type, as the webhook store is.
//!
//! Every change of more than one row is one transaction: a request with its cards and its
//! `account_updater_request_created` event; a completion with the card changes, the answers
//! and its `account_updater_request_completed` event, guarded by the `UPDATE` that moves the
//! request out of INPROGRESS (so of several noticers exactly one applies it); a month's harvest
//! with the row whose key makes it happen once.

#[macro_use]
mod answers;
mod backend;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{BrowseQuery, Page, StoreError};
use crate::vault::events::NewEvent;
use crate::vault::filter::{Field, FieldKind};

/// A request as stored.
#[derive(Debug, Clone, FromRow)]
pub struct RequestRow {
    pub request_id: i64,
    pub merchant_id: i64,
    pub status: String,
    pub method: String,
    pub cnt_request: i64,
    pub cnt_response: i64,
    pub cnt_update: i64,
    pub request_date: String,
    pub due_at: String,
    pub response_date: Option<String>,
    /// A JSON array of `RejectedCards`.
    pub rejected_cards: String,
}

/// One card of a request as stored.
#[derive(Debug, Clone, FromRow)]
pub struct RequestCardRow {
    pub request_id: i64,
    pub merchant_id: i64,
    pub card_id: String,
    pub customer_id: String,
    pub card_number: String,
    pub exp_date: Option<String>,
    pub request_date: String,
    pub response_date: Option<String>,
    pub card_number_new: Option<String>,
    pub exp_date_new: Option<String>,
    pub reason_code: Option<String>,
}

/// A stored card as a request looks at it.
#[derive(Debug, Clone, FromRow)]
pub struct StoredCard {
    pub card_id: String,
    pub customer_id: String,
    pub kind: String,
    pub masked_number: String,
    pub exp_date: Option<String>,
    pub on_hold: bool,
}

/// A request to store: its cards (`request_id` is assigned) and what it rejected.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub merchant_id: i64,
    pub method: String,
    pub request_date: String,
    pub due_at: String,
    pub rejected_cards: String,
    pub cards: Vec<StoredCard>,
}

/// A new number for a card (reason code 202), sealed and fingerprinted.
#[derive(Debug, Clone)]
pub struct NewNumber {
    pub masked: String,
    pub fingerprint: Vec<u8>,
    pub key_id: i64,
    pub ciphertext: Vec<u8>,
}

/// What a completed request does to one of its cards.
#[derive(Debug, Clone)]
pub struct CardAnswer {
    pub card_id: String,
    pub reason_code: &'static str,
    pub exp_date_new: Option<String>,
    pub number_new: Option<NewNumber>,
    /// Put the card on hold (203 account closed, 204 contact cardholder).
    pub hold: bool,
    /// The stored card changes (a billable answer on a card still on file).
    pub changes_card: bool,
}

/// The merchant's harvest setting.
#[derive(Debug, Clone, FromRow)]
pub struct HarvestRow {
    pub enabled: bool,
    /// Merchant time it was last switched.
    pub since: String,
    pub last_month: Option<String>,
}

/// What a cancel found.
#[derive(Debug, Clone)]
pub enum Canceled {
    Done(RequestRow),
    /// The request is not INPROGRESS: its status.
    NotInProgress(String),
    NotFound,
}

/// Builds a request's events once its `request_id` is known.
pub type EventsOf<'a> = &'a (dyn Fn(&RequestRow) -> Vec<NewEvent> + Send + Sync);

/// The request fields browse can filter and sort on.
pub static REQUEST_FIELDS: &[Field] = &[
    Field {
        name: "request_id",
        column: "request_id",
        kind: FieldKind::Integer,
    },
    Field {
        name: "status",
        column: "status",
        kind: FieldKind::Text,
    },
    Field {
        name: "method",
        column: "method",
        kind: FieldKind::Text,
    },
    Field {
        name: "cnt_request",
        column: "cnt_request",
        kind: FieldKind::Integer,
    },
    Field {
        name: "cnt_update",
        column: "cnt_update",
        kind: FieldKind::Integer,
    },
    Field {
        name: "request_date",
        column: "request_date",
        kind: FieldKind::Text,
    },
];

/// The detail fields browse can filter and sort on.
pub static DETAIL_FIELDS: &[Field] = &[
    Field {
        name: "request_id",
        column: "request_id",
        kind: FieldKind::Integer,
    },
    Field {
        name: "card_id",
        column: "card_id",
        kind: FieldKind::Text,
    },
    Field {
        name: "customer_id",
        column: "customer_id",
        kind: FieldKind::Text,
    },
    Field {
        name: "reason_code",
        column: "reason_code",
        kind: FieldKind::Text,
    },
    Field {
        name: "request_date",
        column: "request_date",
        kind: FieldKind::Text,
    },
    Field {
        name: "response_date",
        column: "response_date",
        kind: FieldKind::Text,
    },
];

#[async_trait]
pub trait AccountUpdaterStore: Send + Sync + 'static {
    /// The merchant's stored cards with these ids (never another merchant's).
    async fn cards_by_id(
        &self,
        merchant_id: i64,
        card_ids: &[String],
    ) -> Result<Vec<StoredCard>, StoreError>;
    /// Every card (not ACH account) of the merchant that is not on hold.
    async fn unheld_cards(&self, merchant_id: i64) -> Result<Vec<StoredCard>, StoreError>;
    /// Stores requests with their cards and events in one transaction. With `harvest` (a
    /// merchant and month), that month's harvest row too: `None` when the month was harvested
    /// already (nothing is stored then).
    async fn insert_requests(
        &self,
        requests: &[NewRequest],
        harvest: Option<(i64, &str)>,
        events: EventsOf<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<RequestRow>>, StoreError>;
    async fn request(
        &self,
        merchant_id: i64,
        request_id: i64,
    ) -> Result<Option<RequestRow>, StoreError>;
    async fn browse_requests(
        &self,
        merchant_id: i64,
        query: &BrowseQuery,
    ) -> Result<Page<RequestRow>, StoreError>;
    /// The cards of the merchant's requests (of one request when given).
    async fn browse_details(
        &self,
        merchant_id: i64,
        request_id: Option<i64>,
        query: &BrowseQuery,
    ) -> Result<Page<RequestCardRow>, StoreError>;
    async fn request_cards(&self, request_id: i64) -> Result<Vec<RequestCardRow>, StoreError>;
    /// Moves an INPROGRESS request to CANCELED.
    async fn cancel_request(
        &self,
        merchant_id: i64,
        request_id: i64,
    ) -> Result<Canceled, StoreError>;
    /// The merchant's INPROGRESS requests due by `now` (merchant time), oldest first.
    async fn due_requests(
        &self,
        merchant_id: i64,
        now: &str,
    ) -> Result<Vec<RequestRow>, StoreError>;
    /// Completes an INPROGRESS request with its answers and event, in one transaction;
    /// `false` (and nothing changed) when it is no longer INPROGRESS.
    async fn complete_request(
        &self,
        request: &RequestRow,
        answers: &[CardAnswer],
        cnt_update: i64,
        event: &NewEvent,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Puts on hold (or releases) a card, or every card of a customer: how many cards.
    async fn set_hold(
        &self,
        merchant_id: i64,
        card_id: Option<&str>,
        customer_id: Option<&str>,
        hold: bool,
    ) -> Result<u64, StoreError>;
    async fn harvest(&self, merchant_id: i64) -> Result<Option<HarvestRow>, StoreError>;
    async fn set_harvest(
        &self,
        merchant_id: i64,
        enabled: bool,
        now: &str,
    ) -> Result<HarvestRow, StoreError>;
    /// Merchants with INPROGRESS requests or the harvest on: who a scheduler tick looks at.
    async fn account_updater_merchants(&self) -> Result<Vec<i64>, StoreError>;
}
