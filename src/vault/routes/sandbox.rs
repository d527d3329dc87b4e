//! `/sandbox/clock`: the sandbox's clock, per merchant. Not part of Qualpay's API.
//!
//! `POST {"advance": "P3M"}` moves the merchant's time forward by an ISO 8601 duration and bills
//! every event that fell due in between, oldest first, as a job that runs to its end even if
//! the client goes away. The answer is the finished job (200), or, when billing takes longer
//! than the configured wait, the job so far (202) to follow at `/sandbox/clock/jobs/{job_id}`.
//! Either way the answer comes after the clock has moved, and carries the new `now` and `today`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::{PathParams, Reply, reply};
use crate::qualpay::ApiResponse;
use crate::vault::VaultState;
use crate::vault::auth::Caller;
use crate::vault::billing::jobs::{JobReport, JobStatus};
use crate::vault::clock::IsoDuration;
use crate::vault::error::VaultError;
use crate::vault::extract::{JsonBody, QueryPairs};

/// The longest a job lookup may wait for the job to finish (`wait_ms`).
const MAX_LOOKUP_WAIT: Duration = Duration::from_secs(30);

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
}

fn clock_state(merchant_id: i64, now: DateTime<Utc>) -> ClockState {
    ClockState {
        merchant_id,
        now: now.to_rfc3339(),
        today: now.date_naive().format("%Y-%m-%d").to_string(),
    }
}

pub async fn clock(State(state): State<VaultState>, caller: Caller) -> Reply<ClockState> {
    let merchant_id = caller.merchant_id(None)?;
    reply(clock_state(
        merchant_id,
        state.clock.now(merchant_id).await?,
    ))
}

pub async fn advance(
    State(state): State<VaultState>,
    caller: Caller,
    JsonBody(request): JsonBody<AdvanceRequest>,
) -> Result<Response, VaultError> {
    let merchant_id = caller.merchant_id(request.merchant_id)?;
    let by = IsoDuration::parse(&request.advance)?;
    let mut job = state.billing.advance_clock(merchant_id, by);
    // The answer comes once the clock has moved (a quick write), whatever the wait: a 202
    // then carries the new date, and a read after it sees that date. Only the billing runs on.
    let _ = job
        .wait_for(|r| r.today.is_some() || r.status != JobStatus::Running)
        .await;
    job_response(job, state.advance_wait).await
}

pub async fn job(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(job_id): PathParams<String>,
    query: QueryPairs,
) -> Result<Response, VaultError> {
    let merchant_id = caller.merchant_id(None)?;
    let wait = match query.int32("wait_ms")? {
        Some(ms) => Duration::from_millis(
            u64::try_from(ms).map_err(|_| VaultError::invalid("wait_ms: must be 0 or more"))?,
        )
        .min(MAX_LOOKUP_WAIT),
        None => Duration::ZERO,
    };
    let job = state
        .billing
        .jobs
        .get(merchant_id, &job_id)
        .ok_or_else(|| VaultError::NotFound("job_id: no such job".into()))?;
    job_response(job, wait).await
}

/// The job's report once it finishes or `wait` passes, whichever is first: 200 when it has
/// finished, 202 while it runs, the job's own error when it failed.
async fn job_response(
    mut job: watch::Receiver<JobReport>,
    wait: Duration,
) -> Result<Response, VaultError> {
    // Whether the wait ran out or not, the report says where the job is.
    let _ = tokio::time::timeout(wait, job.wait_for(|r| r.status != JobStatus::Running)).await;
    let report = job.borrow().clone();
    let status = match report.status {
        JobStatus::Complete => StatusCode::OK,
        JobStatus::Running => StatusCode::ACCEPTED,
        JobStatus::Failed => {
            return Err(report
                .failure
                .unwrap_or_else(|| VaultError::Internal("the job failed".into())));
        }
    };
    Ok((status, Json(ApiResponse::success(report))).into_response())
}
