//! `/subscription`: subscriptions and their payment attempts.

use axum::Json;
use axum::extract::State;

use super::{PathParams, Reply, browse_query, reply, total_pages};
use crate::qualpay::{
    AddSubscriptionRequest, ListResponse, SUCCESS_MESSAGE, Subscription, SubscriptionActionRequest,
    Transaction, UpdateSubscriptionRequest,
};
use crate::vault::VaultState;
use crate::vault::auth::Caller;
use crate::vault::billing::Action;
use crate::vault::billing::wire::{subscription as to_wire, transaction as transaction_to_wire};
use crate::vault::error::VaultError;
use crate::vault::extract::{JsonBody, QueryPairs};
use crate::vault::store::billing::{SUBSCRIPTION_FIELDS, TRANSACTION_FIELDS};

fn subscription_id(text: &str) -> Result<i64, VaultError> {
    text.parse::<i64>()
        .map_err(|_| VaultError::invalid("subscription_id: must be an integer"))
}

pub async fn browse(
    State(state): State<VaultState>,
    caller: Caller,
    query: QueryPairs,
) -> Result<Json<ListResponse<Subscription>>, VaultError> {
    let merchant_id = caller.merchant_id(None)?;
    let browse = browse_query(&query, SUBSCRIPTION_FIELDS, "date_next", true)?;
    let page = state
        .billing
        .browse_subscriptions(merchant_id, &browse)
        .await?;
    Ok(Json(ListResponse {
        code: 0,
        message: SUCCESS_MESSAGE.to_owned(),
        total_records: page.total_records,
        total_pages: total_pages(page.total_records, browse.count),
        data: page.items.into_iter().map(|s| to_wire(s, None)).collect(),
    }))
}

pub async fn add(
    State(state): State<VaultState>,
    caller: Caller,
    JsonBody(request): JsonBody<AddSubscriptionRequest>,
) -> Reply<Subscription> {
    let merchant_id = caller.merchant_id(request.merchant_id)?;
    let now = state.clock.now(merchant_id).await?;
    reply(to_wire(
        state
            .billing
            .add_subscription(merchant_id, request, now)
            .await?,
        None,
    ))
}

pub async fn get(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Reply<Subscription> {
    let merchant_id = caller.merchant_id(None)?;
    let (sub, last) = state
        .billing
        .subscription(merchant_id, subscription_id(&id)?)
        .await?;
    reply(to_wire(sub, last))
}

pub async fn update(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonBody(request): JsonBody<UpdateSubscriptionRequest>,
) -> Reply<Subscription> {
    let merchant_id = caller.merchant_id(request.merchant_id)?;
    let now = state.clock.now(merchant_id).await?;
    let sub = state
        .billing
        .update_subscription(merchant_id, subscription_id(&id)?, request, now)
        .await?;
    reply(to_wire(sub, None))
}

async fn act(
    state: VaultState,
    caller: Caller,
    id: &str,
    request: SubscriptionActionRequest,
    action: Action,
) -> Reply<Subscription> {
    let merchant_id = caller.merchant_id(request.merchant_id)?;
    let now = state.clock.now(merchant_id).await?;
    let sub = state
        .billing
        .act(merchant_id, subscription_id(id)?, request, action, now)
        .await?;
    reply(to_wire(sub, None))
}

pub async fn pause(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonBody(request): JsonBody<SubscriptionActionRequest>,
) -> Reply<Subscription> {
    act(state, caller, &id, request, Action::Pause).await
}

pub async fn resume(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonBody(request): JsonBody<SubscriptionActionRequest>,
) -> Reply<Subscription> {
    act(state, caller, &id, request, Action::Resume).await
}

pub async fn cancel(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonBody(request): JsonBody<SubscriptionActionRequest>,
) -> Reply<Subscription> {
    act(state, caller, &id, request, Action::Cancel).await
}

pub async fn all_transactions(
    State(state): State<VaultState>,
    caller: Caller,
    query: QueryPairs,
) -> Result<Json<ListResponse<Transaction>>, VaultError> {
    transactions_page(state, caller, query, None).await
}

pub async fn transactions(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    query: QueryPairs,
) -> Result<Json<ListResponse<Transaction>>, VaultError> {
    transactions_page(state, caller, query, Some(subscription_id(&id)?)).await
}

async fn transactions_page(
    state: VaultState,
    caller: Caller,
    query: QueryPairs,
    subscription_id: Option<i64>,
) -> Result<Json<ListResponse<Transaction>>, VaultError> {
    let merchant_id = caller.merchant_id(None)?;
    let browse = browse_query(&query, TRANSACTION_FIELDS, "tran_time", true)?;
    let count = browse.count;
    let page = state
        .billing
        .browse_transactions(merchant_id, browse, subscription_id)
        .await?;
    Ok(Json(ListResponse {
        code: 0,
        message: SUCCESS_MESSAGE.to_owned(),
        total_records: page.total_records,
        total_pages: total_pages(page.total_records, count),
        data: page.items.into_iter().map(transaction_to_wire).collect(),
    }))
}
