//! Embedded Fields: `EmbeddedKey`, the transient key `GET /embedded` answers.

use serde::{Deserialize, Serialize};

/// `EmbeddedKey`. Timestamps are written as the spec's example (`2016-02-21T12:57:47.000-0700`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EmbeddedKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transient_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_time: Option<String>,
}
