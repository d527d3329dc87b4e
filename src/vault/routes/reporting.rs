//! `/reporting/transactions`: the merchant's gateway transactions (and recurring billing's
//! charges), browsed or by `pg_id`.

use axum::Json;
use axum::extract::State;

use super::{PathParams, Reply, browse_query, reply, total_pages};
use crate::qualpay::{ListResponse, SUCCESS_MESSAGE, Transaction};
use crate::vault::VaultState;
use crate::vault::auth::Caller;
use crate::vault::error::VaultError;
use crate::vault::extract::QueryPairs;
use crate::vault::store::payments::REPORT_FIELDS;
use crate::vault::wire;

pub async fn browse(
    State(state): State<VaultState>,
    caller: Caller,
    query: QueryPairs,
) -> Result<Json<ListResponse<Transaction>>, VaultError> {
    let merchant_id = caller.merchant_id(None)?;
    let browse = browse_query(&query, REPORT_FIELDS, "tran_time", true)?;
    let now = state.clock.now(merchant_id).await?;
    let page = state
        .payments
        .report_store(merchant_id, now)
        .await?
        .browse_report(merchant_id, &browse)
        .await?;
    Ok(Json(ListResponse {
        code: 0,
        message: SUCCESS_MESSAGE.to_owned(),
        total_records: page.total_records,
        total_pages: total_pages(page.total_records, browse.count),
        data: page.items.into_iter().map(wire::report).collect(),
    }))
}

pub async fn by_pg_id(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(pg_id): PathParams<String>,
) -> Reply<Transaction> {
    let merchant_id = caller.merchant_id(None)?;
    let now = state.clock.now(merchant_id).await?;
    let row = state
        .payments
        .report_store(merchant_id, now)
        .await?
        .report(merchant_id, &pg_id)
        .await?
        .ok_or_else(|| VaultError::NotFound("pg_id: no such transaction".to_owned()))?;
    reply(wire::report(row))
}
