//! `/sandbox/clock`: the sandbox's clock, per merchant. Not part of Qualpay's API.
//!
//! `POST {"advance": "P3M"}` moves the merchant's time forward by an ISO 8601 duration and runs
//! every billing event that fell due in between, oldest first, before it answers.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Reply, reply};
use crate::vault::VaultState;
use crate::vault::auth::Caller;
use crate::vault::billing::clock::IsoDuration;
use crate::vault::extract::JsonBody;

#[derive(Debug, Deserialize)]
pub struct AdvanceRequest {
    advance: String,
    #[serde(default)]
    merchant_id: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct ClockState {
    merchant_id: i64,
    /// The merchant's time, RFC 3339.
    now: String,
    /// The merchant's date, which billing goes by.
    today: String,
    /// Payment attempts the advance made.
    #[serde(skip_serializing_if = "Option::is_none")]
    approved: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    declined: Option<u64>,
}

fn clock_state(merchant_id: i64, now: DateTime<Utc>) -> ClockState {
    ClockState {
        merchant_id,
        now: now.to_rfc3339(),
        today: now.date_naive().format("%Y-%m-%d").to_string(),
        approved: None,
        declined: None,
    }
}

pub async fn clock(State(state): State<VaultState>, caller: Caller) -> Reply<ClockState> {
    let merchant_id = caller.merchant_id(None)?;
    reply(clock_state(
        merchant_id,
        state.billing.clock.now(merchant_id).await?,
    ))
}

pub async fn advance(
    State(state): State<VaultState>,
    caller: Caller,
    JsonBody(request): JsonBody<AdvanceRequest>,
) -> Reply<ClockState> {
    let merchant_id = caller.merchant_id(request.merchant_id)?;
    let by = IsoDuration::parse(&request.advance)?;
    let now = state.billing.clock.advance(merchant_id, &by).await?;
    let summary = state.billing.engine.run(Some(merchant_id)).await?;
    let mut answer = clock_state(merchant_id, now);
    answer.approved = Some(summary.approved);
    answer.declined = Some(summary.declined);
    reply(answer)
}
