//! Account Updater (`/platform/aus/...`): requests to refresh stored cards' numbers and expiry
//! dates, their summaries and per-card details, and the harvest hold. Field names and types are
//! the spec's (`CreateAccountUpdaterRequest`, `AccountUpdaterSummary`, `AccountUpdaterDetail`,
//! `AusHoldRequest`, `AusReleaseRequest`); the additions are vaultql's and say so.

use serde::{Deserialize, Serialize};

/// `CreateAccountUpdaterRequest`: up to 100 vault card ids to harvest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CreateAccountUpdaterRequest {
    #[serde(default)]
    pub card_id: Vec<String>,
}

/// `CreateAccountUpdaterResponse`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CreateAccountUpdaterResponse {
    pub request_id: i64,
}

/// `RejectedCards`: a card id left out of a request, and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RejectedCard {
    pub card_id: String,
    pub reject_reason: String,
}

/// `AccountUpdaterSummary` (also `CancelAccountUpdaterResponse`, a subset of it).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AccountUpdaterSummary {
    pub request_id: i64,
    #[serde(default)]
    pub merchant_id: i64,
    /// `INPROGRESS`, `QUEUED`, `COMPLETED` or `CANCELED`.
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default)]
    pub cnt_request: i64,
    #[serde(default)]
    pub cnt_response: i64,
    #[serde(default)]
    pub cnt_update: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_date: Option<String>,
    #[serde(default)]
    pub rejected_cards: Vec<RejectedCard>,
}

/// `AccountUpdaterDetail`: one card of a request. `customer_id` is vaultql's addition (the
/// vault's cards belong to customers).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AccountUpdaterDetail {
    pub merchant_id: i64,
    pub request_id: i64,
    pub request_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_date: Option<String>,
    pub card_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// Masked, as every number the vault shows.
    pub card_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp_date: Option<String>,
    /// Masked; only when the number changed (reason code 202).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_number_new: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp_date_new: Option<String>,
    /// Absent until the request completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    #[serde(default)]
    pub billable: bool,
}

/// `AusHoldRequest` and `AusReleaseRequest`: a card, or every card of a customer (the card
/// wins when both are given).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AusHoldRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}

/// `GET|PUT /platform/aus/harvest` (vaultql's own): the monthly harvest of every eligible card.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AusHarvestSetting {
    pub enabled: bool,
    /// The month (`YYYY-MM`) of the last harvest, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_harvest: Option<String>,
}
