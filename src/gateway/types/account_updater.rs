//! `AccountUpdaterRequest`: a request to the card networks for stored cards' new numbers and
//! expiry dates (Qualpay `AccountUpdaterSummary`).

use std::sync::Arc;

use async_graphql::{Enum, ID, Object, SimpleObject};

use crate::qualpay::AccountUpdaterSummary;

#[derive(Clone)]
pub struct AccountUpdaterRequest(Arc<AccountUpdaterSummary>);

impl AccountUpdaterRequest {
    pub fn new(summary: AccountUpdaterSummary) -> Self {
        Self(Arc::new(summary))
    }
}

/// Where a request is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AccountUpdaterStatus {
    /// Sent; it can still be canceled.
    InProgress,
    /// Queued with the networks; it can no longer be canceled.
    Queued,
    /// The answers are in and applied to the cards.
    Completed,
    Canceled,
}

impl AccountUpdaterStatus {
    fn from_wire(status: &str) -> Option<Self> {
        match status {
            "INPROGRESS" => Some(Self::InProgress),
            "QUEUED" => Some(Self::Queued),
            "COMPLETED" => Some(Self::Completed),
            "CANCELED" => Some(Self::Canceled),
            _ => None,
        }
    }
}

/// A card id left out of a request, and why.
#[derive(SimpleObject, Clone)]
pub struct RejectedCard {
    pub card_id: String,
    pub reason: String,
}

#[Object]
impl AccountUpdaterRequest {
    /// The vault's id of the request.
    async fn request_id(&self) -> ID {
        ID(self.0.request_id.to_string())
    }

    /// Null for a status this gateway does not know.
    async fn status(&self) -> Option<AccountUpdaterStatus> {
        AccountUpdaterStatus::from_wire(&self.0.status)
    }

    /// When it was made, as the vault writes it.
    async fn requested_at(&self) -> Option<&str> {
        self.0.request_date.as_deref()
    }

    /// Cards in the request.
    async fn card_count(&self) -> i64 {
        self.0.cnt_request
    }

    /// Cards the networks answered for (0 until it completes).
    async fn reviewed_count(&self) -> i64 {
        self.0.cnt_response
    }

    /// Cards whose number or expiry date changed (0 until it completes).
    async fn updated_count(&self) -> i64 {
        self.0.cnt_update
    }

    async fn rejected_cards(&self) -> Vec<RejectedCard> {
        self.0
            .rejected_cards
            .iter()
            .map(|r| RejectedCard {
                card_id: r.card_id.clone(),
                reason: r.reject_reason.clone(),
            })
            .collect()
    }
}
