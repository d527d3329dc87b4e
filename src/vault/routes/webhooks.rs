//! `/webhook`: webhooks, their events, and their delivery log (`/deliveries`, vaultql's own).

use axum::Json;
use axum::extract::State;

use super::{PathParams, Reply, browse_query, reply, total_pages};
use crate::qualpay::{ListResponse, SUCCESS_MESSAGE, Webhook, WebhookDelivery, WebhookEvent};
use crate::vault::VaultState;
use crate::vault::auth::Caller;
use crate::vault::error::VaultError;
use crate::vault::extract::{JsonBody, OptionalJsonBody, QueryPairs};
use crate::vault::store::outbox::{ATTEMPT_FIELDS, WEBHOOK_FIELDS};

pub async fn browse(
    State(state): State<VaultState>,
    caller: Caller,
    query: QueryPairs,
) -> Result<Json<ListResponse<Webhook>>, VaultError> {
    let merchant_id = caller.merchant_id(None)?;
    let browse = browse_query(&query, WEBHOOK_FIELDS, "webhook_id", false)?;
    let page = state.webhooks.browse(merchant_id, &browse).await?;
    Ok(Json(ListResponse {
        code: 0,
        message: SUCCESS_MESSAGE.to_owned(),
        total_records: page.total_records,
        total_pages: total_pages(page.total_records, browse.count),
        data: page.items,
    }))
}

pub async fn add(
    State(state): State<VaultState>,
    caller: Caller,
    JsonBody(request): JsonBody<Webhook>,
) -> Reply<Webhook> {
    let merchant_id = caller.merchant_id(node(request.webhook_node.as_deref())?)?;
    let now = state.clock.now(merchant_id).await?;
    reply(state.webhooks.add(merchant_id, request, now).await?)
}

pub async fn get(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(webhook_id): PathParams<i64>,
) -> Reply<Webhook> {
    let merchant_id = caller.merchant_id(None)?;
    reply(state.webhooks.get(merchant_id, webhook_id).await?)
}

pub async fn update(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(webhook_id): PathParams<i64>,
    JsonBody(request): JsonBody<Webhook>,
) -> Reply<Webhook> {
    let merchant_id = caller.merchant_id(node(request.webhook_node.as_deref())?)?;
    reply(
        state
            .webhooks
            .update(merchant_id, webhook_id, request)
            .await?,
    )
}

pub async fn enable(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(webhook_id): PathParams<i64>,
    OptionalJsonBody(_): OptionalJsonBody<serde_json::Value>,
) -> Reply<Webhook> {
    let merchant_id = caller.merchant_id(None)?;
    let webhook = state
        .webhooks
        .set_enabled(merchant_id, webhook_id, true)
        .await?;
    // Its held deliveries may go now.
    crate::vault::events::committed();
    reply(webhook)
}

pub async fn disable(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(webhook_id): PathParams<i64>,
    OptionalJsonBody(_): OptionalJsonBody<serde_json::Value>,
) -> Reply<Webhook> {
    let merchant_id = caller.merchant_id(None)?;
    reply(
        state
            .webhooks
            .set_enabled(merchant_id, webhook_id, false)
            .await?,
    )
}

pub async fn events(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(webhook_id): PathParams<i64>,
) -> Reply<WebhookEvent> {
    let merchant_id = caller.merchant_id(None)?;
    let events = state.webhooks.events(merchant_id, webhook_id).await?;
    reply(WebhookEvent { events })
}

pub async fn add_event(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams((webhook_id, event)): PathParams<(i64, String)>,
) -> Reply<WebhookEvent> {
    set_event(state, caller, webhook_id, &event, true).await
}

pub async fn remove_event(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams((webhook_id, event)): PathParams<(i64, String)>,
) -> Reply<WebhookEvent> {
    set_event(state, caller, webhook_id, &event, false).await
}

async fn set_event(
    state: VaultState,
    caller: Caller,
    webhook_id: i64,
    event: &str,
    add: bool,
) -> Reply<WebhookEvent> {
    let merchant_id = caller.merchant_id(None)?;
    let events = state
        .webhooks
        .set_event(merchant_id, webhook_id, event, add)
        .await?;
    reply(WebhookEvent { events })
}

/// The webhook's delivery log, newest first unless asked otherwise.
pub async fn deliveries(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(webhook_id): PathParams<i64>,
    query: QueryPairs,
) -> Result<Json<ListResponse<WebhookDelivery>>, VaultError> {
    let merchant_id = caller.merchant_id(None)?;
    let browse = browse_query(&query, ATTEMPT_FIELDS, "attempt_id", true)?;
    let page = state
        .webhooks
        .deliveries(merchant_id, webhook_id, &browse)
        .await?;
    Ok(Json(ListResponse {
        code: 0,
        message: SUCCESS_MESSAGE.to_owned(),
        total_records: page.total_records,
        total_pages: total_pages(page.total_records, browse.count),
        data: page.items,
    }))
}

/// `webhook_node`: the merchant the webhook is for (the key's own when absent).
fn node(webhook_node: Option<&str>) -> Result<Option<i64>, VaultError> {
    match webhook_node.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(node) => node
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0 && node.len() <= 16)
            .map(Some)
            .ok_or_else(|| VaultError::invalid("webhook_node: must be a merchant id")),
    }
}
