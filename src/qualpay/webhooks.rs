//! Webhooks: `Webhook` (what `/webhook` takes and answers), `WebhookEvent` (a webhook's event
//! list), the body of a delivery, and the delivery log (a vaultql extension).

use serde::{Deserialize, Serialize};

/// `Webhook`. `secret` is only ever answered by the request that made the webhook.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Webhook {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_settings: Option<WebhookAuthSetting>,
}

/// `WebhookAuthSetting`. The password is taken, never answered.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WebhookAuthSetting {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_password: Option<String>,
}

/// `WebhookEvent`: the events a webhook subscribes to.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WebhookEvent {
    #[serde(default)]
    pub events: Vec<String>,
}

/// The body of a webhook delivery, as Qualpay posts it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookPayload {
    pub webhook_id: i64,
    pub db_timestamp: String,
    pub event: String,
    pub is_test: bool,
    pub data: serde_json::Value,
}

/// One attempt to deliver an event (`GET /webhook/{webhook_id}/deliveries`, vaultql's own).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub attempt_id: i64,
    pub webhook_id: i64,
    pub event_id: String,
    pub event: String,
    /// 1 for the first post of the event, 2 for its first retry, ...
    pub attempt: i64,
    pub attempted_at: String,
    /// The receiver's HTTP status; absent when no answer came (refused, timed out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub latency_ms: i64,
    /// When it is tried again; absent once delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
}
