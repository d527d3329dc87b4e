//! The Account Updater (`/platform/aus/...`): requests that ask card networks for stored cards'
//! new numbers and expiry dates, played in the sandbox by [`test_cards`].
//!
//! A request is INPROGRESS from its creation and completes **3 days later by the merchant's
//! clock**, exactly once: whoever notices first (the scheduler's tick, a sandbox clock advance,
//! or a read of the merchant's requests) applies it, in one transaction guarded by the update
//! that moves it out of INPROGRESS. Completion changes the stored cards (a new expiry, a new
//! number re-encrypted under the same `card_id`, a hold) and writes
//! `account_updater_request_completed` with them. [`harvest`] is vaultql's monthly harvest.

mod completion;
pub mod harvest;
pub mod test_cards;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use crate::qualpay::{AccountUpdaterDetail, AccountUpdaterSummary, RejectedCard};
use crate::vault::clock::Clock;
use crate::vault::error::VaultError;
use crate::vault::events::{EventName, NewEvent};
use crate::vault::service::VaultService;
use crate::vault::store::account_updater::{
    AccountUpdaterStore, Canceled, NewRequest, RequestCardRow, RequestRow, StoredCard,
};
use crate::vault::store::{BrowseQuery, Page, timestamp};

/// The most card ids one request may name.
pub const MAX_CARDS: usize = 100;

/// How long a request takes to complete, by the merchant's clock.
pub const COMPLETES_AFTER_DAYS: i64 = 3;

/// Why a decryption is audited when a request completes.
const AUDIT_PURPOSE: &str = "account updater";

const NOT_FOUND: &str = "Invalid card id. Card not found.";
const NOT_A_CARD: &str = "Only credit cards can be harvested; this is an ACH account.";
const ON_HOLD: &str = "The card is on hold for harvesting.";

pub struct AccountUpdaterService {
    vault: Arc<VaultService>,
    store: Arc<dyn AccountUpdaterStore>,
}

/// Work that falls due by a merchant's clock besides billing; a clock advance runs it after the
/// clock moves and before it bills, the scheduler on each tick.
#[async_trait]
pub trait DueWork: Send + Sync + 'static {
    async fn run_due(&self, merchant_id: i64, now: DateTime<Utc>) -> Result<(), VaultError>;
}

#[async_trait]
impl DueWork for AccountUpdaterService {
    async fn run_due(&self, merchant_id: i64, now: DateTime<Utc>) -> Result<(), VaultError> {
        self.complete_due(merchant_id, now).await?;
        self.harvest_due(merchant_id, now).await?;
        Ok(())
    }
}

/// Completes due requests and harvests for every merchant that has them, every `every`, each
/// at its own time (the clock is read once per merchant and tick).
pub fn spawn_scheduler(service: Arc<AccountUpdaterService>, clock: Clock, every: StdDuration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(error) = service.tick(&clock).await {
                tracing::warn!(?error, "account updater run failed");
            }
        }
    });
}

impl AccountUpdaterService {
    async fn tick(&self, clock: &Clock) -> Result<(), VaultError> {
        for merchant_id in self.store.account_updater_merchants().await? {
            let now = clock.now(merchant_id).await?;
            self.run_due(merchant_id, now).await?;
        }
        Ok(())
    }

    pub fn new(vault: Arc<VaultService>, store: Arc<dyn AccountUpdaterStore>) -> Self {
        Self { vault, store }
    }

    /// Makes a request for the merchant's cards with these ids; its `request_id`. Ids that are
    /// not the merchant's cards (whoever's they are), ACH accounts and held cards are left out
    /// as `rejected_cards`; an id named twice is asked about once.
    pub async fn create(
        &self,
        merchant_id: i64,
        card_ids: Vec<String>,
        now: DateTime<Utc>,
    ) -> Result<i64, VaultError> {
        if card_ids.is_empty() {
            return Err(VaultError::invalid(
                "card_id: at least one card id is required",
            ));
        }
        if card_ids.len() > MAX_CARDS {
            return Err(VaultError::invalid(format!(
                "card_id: at most {MAX_CARDS} card ids in a request ({} given)",
                card_ids.len()
            )));
        }
        let mut seen = HashSet::new();
        let ids: Vec<String> = card_ids
            .into_iter()
            .filter(|id| seen.insert(id.clone()))
            .collect();
        let found = self.store.cards_by_id(merchant_id, &ids).await?;
        let mut cards = Vec::new();
        let mut rejected = Vec::new();
        for id in ids {
            let reason = match found.iter().find(|c| c.card_id == id) {
                None => NOT_FOUND,
                Some(card) if card.kind != "card" => NOT_A_CARD,
                Some(card) if card.on_hold => ON_HOLD,
                Some(card) => {
                    cards.push(card.clone());
                    continue;
                }
            };
            rejected.push(RejectedCard {
                card_id: id.chars().take(64).collect(),
                reject_reason: reason.into(),
            });
        }
        if cards.is_empty() {
            return Err(VaultError::invalid(
                "card_id: none of the cards can be harvested (not found, ACH or on hold)",
            ));
        }
        let request = new_request(merchant_id, "harvest_card_id", cards, &rejected, now);
        let stored = self
            .store
            .insert_requests(&[request], None, &created_events, now)
            .await?
            .unwrap_or_default();
        crate::vault::events::committed();
        stored
            .first()
            .map(|row| row.request_id)
            .ok_or_else(|| VaultError::Internal("the request was not stored".into()))
    }

    pub async fn summary(
        &self,
        merchant_id: i64,
        request_id: i64,
        now: DateTime<Utc>,
    ) -> Result<AccountUpdaterSummary, VaultError> {
        self.complete_due(merchant_id, now).await?;
        Ok(summary(self.stored(merchant_id, request_id).await?))
    }

    pub async fn browse_summaries(
        &self,
        merchant_id: i64,
        query: &BrowseQuery,
        now: DateTime<Utc>,
    ) -> Result<Page<AccountUpdaterSummary>, VaultError> {
        self.complete_due(merchant_id, now).await?;
        let page = self.store.browse_requests(merchant_id, query).await?;
        Ok(Page {
            items: page.items.into_iter().map(summary).collect(),
            total_records: page.total_records,
        })
    }

    /// The cards of the merchant's requests, or of one of them.
    pub async fn details(
        &self,
        merchant_id: i64,
        request_id: Option<i64>,
        query: &BrowseQuery,
        now: DateTime<Utc>,
    ) -> Result<Page<AccountUpdaterDetail>, VaultError> {
        self.complete_due(merchant_id, now).await?;
        if let Some(id) = request_id {
            self.stored(merchant_id, id).await?;
        }
        let page = self
            .store
            .browse_details(merchant_id, request_id, query)
            .await?;
        Ok(Page {
            items: page.items.into_iter().map(detail).collect(),
            total_records: page.total_records,
        })
    }

    /// Cancels an INPROGRESS request. One already due completes first (then it is not
    /// INPROGRESS any more).
    pub async fn cancel(
        &self,
        merchant_id: i64,
        request_id: i64,
        now: DateTime<Utc>,
    ) -> Result<AccountUpdaterSummary, VaultError> {
        self.complete_due(merchant_id, now).await?;
        match self.store.cancel_request(merchant_id, request_id).await? {
            Canceled::Done(row) => Ok(summary(row)),
            Canceled::NotInProgress(status) => Err(VaultError::Conflict(format!(
                "status: only an INPROGRESS request can be canceled; this one is {status}"
            ))),
            Canceled::NotFound => Err(not_found()),
        }
    }

    /// Puts on hold (or releases) a card, or all the cards of a customer when no card is named.
    pub async fn hold(
        &self,
        merchant_id: i64,
        card_id: Option<&str>,
        customer_id: Option<&str>,
        hold: bool,
    ) -> Result<u64, VaultError> {
        let card_id = card_id.map(str::trim).filter(|id| !id.is_empty());
        let customer_id = customer_id.map(str::trim).filter(|id| !id.is_empty());
        if card_id.is_none() && customer_id.is_none() {
            return Err(VaultError::invalid(
                "card_id: either card_id or customer_id is required",
            ));
        }
        let changed = self
            .store
            .set_hold(merchant_id, card_id, customer_id, hold)
            .await?;
        match (changed, card_id) {
            (0, Some(_)) => Err(VaultError::NotFound("card_id: no such card".into())),
            (0, None) => Err(VaultError::NotFound(
                "customer_id: no such customer, or it has no cards".into(),
            )),
            (n, _) => Ok(n),
        }
    }

    /// Completes the merchant's requests that are due at `now`.
    pub async fn complete_due(
        &self,
        merchant_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), VaultError> {
        for request in self
            .store
            .due_requests(merchant_id, &timestamp(now))
            .await?
        {
            self.complete(&request, now).await?;
        }
        Ok(())
    }

    async fn stored(&self, merchant_id: i64, request_id: i64) -> Result<RequestRow, VaultError> {
        self.store
            .request(merchant_id, request_id)
            .await?
            .ok_or_else(not_found)
    }
}

fn not_found() -> VaultError {
    VaultError::NotFound("request_id: no such account updater request".into())
}

/// A new INPROGRESS request of these cards, due 3 days from `now`.
fn new_request(
    merchant_id: i64,
    method: &str,
    cards: Vec<StoredCard>,
    rejected: &[RejectedCard],
    now: DateTime<Utc>,
) -> NewRequest {
    NewRequest {
        merchant_id,
        method: method.into(),
        request_date: timestamp(now),
        due_at: timestamp(now + Duration::days(COMPLETES_AFTER_DAYS)),
        rejected_cards: serde_json::to_string(rejected).unwrap_or_else(|_| "[]".into()),
        cards,
    }
}

/// `account_updater_request_created`, with the request as the REST API shows it.
fn created_events(row: &RequestRow) -> Vec<NewEvent> {
    vec![NewEvent {
        merchant_id: row.merchant_id,
        name: EventName::AccountUpdaterRequestCreated,
        data: to_value(summary(row.clone())),
    }]
}

/// A request as the API shows it.
pub fn summary(row: RequestRow) -> AccountUpdaterSummary {
    AccountUpdaterSummary {
        request_id: row.request_id,
        merchant_id: row.merchant_id,
        status: row.status,
        method: Some(row.method),
        cnt_request: row.cnt_request,
        cnt_response: row.cnt_response,
        cnt_update: row.cnt_update,
        request_date: Some(row.request_date),
        rejected_cards: serde_json::from_str(&row.rejected_cards).unwrap_or_default(),
    }
}

/// A request's card as the API shows it (numbers masked).
fn detail(row: RequestCardRow) -> AccountUpdaterDetail {
    AccountUpdaterDetail {
        merchant_id: row.merchant_id,
        request_id: row.request_id,
        request_date: row.request_date,
        response_date: row.response_date,
        card_id: row.card_id,
        customer_id: Some(row.customer_id),
        card_number: row.card_number,
        exp_date: row.exp_date,
        card_number_new: row.card_number_new,
        exp_date_new: row.exp_date_new,
        billable: row.reason_code.as_deref().is_some_and(test_cards::billable),
        reason_code: row.reason_code,
    }
}

fn to_value(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}
