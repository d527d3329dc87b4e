//! `/aus/...`: the Account Updater. `/aus/add` (and its answer `/aus/{requestId}`) is not
//! served: it takes full card numbers and answers with full numbers, which the vault never
//! shows; `/aus/request/create` names stored cards by id instead.

use axum::Json;
use axum::extract::State;

use super::{PathParams, Reply, browse_query, reply, total_pages};
use crate::qualpay::{
    AccountUpdaterDetail, AccountUpdaterSummary, AusHarvestSetting, AusHoldRequest,
    CreateAccountUpdaterRequest, CreateAccountUpdaterResponse, ListResponse, SUCCESS_MESSAGE,
};
use crate::vault::VaultState;
use crate::vault::auth::Caller;
use crate::vault::error::VaultError;
use crate::vault::extract::{JsonBody, OptionalJsonBody, QueryPairs};
use crate::vault::store::Page;
use crate::vault::store::account_updater::{DETAIL_FIELDS, REQUEST_FIELDS};

pub async fn create(
    State(state): State<VaultState>,
    caller: Caller,
    JsonBody(request): JsonBody<CreateAccountUpdaterRequest>,
) -> Reply<CreateAccountUpdaterResponse> {
    let merchant_id = caller.merchant_id(None)?;
    let now = state.clock.now(merchant_id).await?;
    let request_id = state
        .account_updater
        .create(merchant_id, request.card_id, now)
        .await?;
    reply(CreateAccountUpdaterResponse { request_id })
}

pub async fn browse_summaries(
    State(state): State<VaultState>,
    caller: Caller,
    query: QueryPairs,
) -> Result<Json<ListResponse<AccountUpdaterSummary>>, VaultError> {
    let merchant_id = caller.merchant_id(None)?;
    let browse = browse_query(&query, REQUEST_FIELDS, "request_date", true)?;
    let now = state.clock.now(merchant_id).await?;
    let page = state
        .account_updater
        .browse_summaries(merchant_id, &browse, now)
        .await?;
    Ok(list(page, browse.count))
}

pub async fn summary(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(request_id): PathParams<i64>,
) -> Reply<AccountUpdaterSummary> {
    let merchant_id = caller.merchant_id(None)?;
    let now = state.clock.now(merchant_id).await?;
    reply(
        state
            .account_updater
            .summary(merchant_id, request_id, now)
            .await?,
    )
}

pub async fn browse_details(
    State(state): State<VaultState>,
    caller: Caller,
    query: QueryPairs,
) -> Result<Json<ListResponse<AccountUpdaterDetail>>, VaultError> {
    details(state, caller, None, query).await
}

pub async fn request_details(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(request_id): PathParams<i64>,
    query: QueryPairs,
) -> Result<Json<ListResponse<AccountUpdaterDetail>>, VaultError> {
    details(state, caller, Some(request_id), query).await
}

async fn details(
    state: VaultState,
    caller: Caller,
    request_id: Option<i64>,
    query: QueryPairs,
) -> Result<Json<ListResponse<AccountUpdaterDetail>>, VaultError> {
    let merchant_id = caller.merchant_id(None)?;
    let browse = browse_query(&query, DETAIL_FIELDS, "request_date", true)?;
    let now = state.clock.now(merchant_id).await?;
    let page = state
        .account_updater
        .details(merchant_id, request_id, &browse, now)
        .await?;
    Ok(list(page, browse.count))
}

pub async fn cancel(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(request_id): PathParams<i64>,
    OptionalJsonBody(_): OptionalJsonBody<serde_json::Value>,
) -> Reply<AccountUpdaterSummary> {
    let merchant_id = caller.merchant_id(None)?;
    let now = state.clock.now(merchant_id).await?;
    reply(
        state
            .account_updater
            .cancel(merchant_id, request_id, now)
            .await?,
    )
}

pub async fn hold(
    state: State<VaultState>,
    caller: Caller,
    body: JsonBody<AusHoldRequest>,
) -> Result<Json<serde_json::Value>, VaultError> {
    set_hold(state, caller, body, true).await
}

pub async fn release(
    state: State<VaultState>,
    caller: Caller,
    body: JsonBody<AusHoldRequest>,
) -> Result<Json<serde_json::Value>, VaultError> {
    set_hold(state, caller, body, false).await
}

/// `QPApiResponse`: the code and message only, as the spec answers a hold or release.
async fn set_hold(
    State(state): State<VaultState>,
    caller: Caller,
    JsonBody(request): JsonBody<AusHoldRequest>,
    hold: bool,
) -> Result<Json<serde_json::Value>, VaultError> {
    let merchant_id = caller.merchant_id(request.merchant_id)?;
    state
        .account_updater
        .hold(
            merchant_id,
            request.card_id.as_deref(),
            request.customer_id.as_deref(),
            hold,
        )
        .await?;
    Ok(Json(
        serde_json::json!({"code": 0, "message": SUCCESS_MESSAGE}),
    ))
}

pub async fn harvest(State(state): State<VaultState>, caller: Caller) -> Reply<AusHarvestSetting> {
    let merchant_id = caller.merchant_id(None)?;
    reply(state.account_updater.harvest_setting(merchant_id).await?)
}

#[derive(Debug, serde::Deserialize)]
pub struct HarvestRequest {
    enabled: bool,
}

pub async fn set_harvest(
    State(state): State<VaultState>,
    caller: Caller,
    JsonBody(request): JsonBody<HarvestRequest>,
) -> Reply<AusHarvestSetting> {
    let merchant_id = caller.merchant_id(None)?;
    let now = state.clock.now(merchant_id).await?;
    reply(
        state
            .account_updater
            .set_harvest(merchant_id, request.enabled, now)
            .await?,
    )
}

/// `/aus/add`: refused, whoever asks (it would send full card numbers back).
pub async fn add_not_served() -> VaultError {
    VaultError::NotFound(
        "/aus/add is not served: it answers with full card numbers, which this vault never \
         shows; use /aus/request/create with card ids"
            .into(),
    )
}

fn list<T>(page: Page<T>, count: i64) -> Json<ListResponse<T>> {
    Json(ListResponse {
        code: 0,
        message: SUCCESS_MESSAGE.to_owned(),
        total_records: page.total_records,
        total_pages: total_pages(page.total_records, count),
        data: page.items,
    })
}
