//! `/vault/customer/{customer_id}/billing`: a customer's cards and ACH accounts.

use axum::extract::State;

use super::{PathParams, Reply, customer_reply, reply};
use crate::qualpay::{
    AddBillingCardRequest, BillingCards, CardIdRequest, CustomerVault, UpdateBillingCardRequest,
};
use crate::vault::VaultState;
use crate::vault::auth::Caller;
use crate::vault::extract::JsonBody;
use crate::vault::wire;

pub async fn list(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(customer_id): PathParams<String>,
) -> Reply<BillingCards> {
    let merchant_id = caller.merchant_id(None)?;
    let record = state.service.customer(merchant_id, &customer_id).await?;
    reply(BillingCards {
        billing_cards: record.cards.into_iter().map(wire::billing_card).collect(),
    })
}

pub async fn add(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(customer_id): PathParams<String>,
    JsonBody(request): JsonBody<AddBillingCardRequest>,
) -> Reply<CustomerVault> {
    let merchant_id = caller.merchant_id(request.merchant_id)?;
    let now = state.clock.now(merchant_id).await?;
    customer_reply(
        state
            .service
            .add_card(merchant_id, &customer_id, request, now)
            .await?,
    )
}

pub async fn update(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(customer_id): PathParams<String>,
    JsonBody(request): JsonBody<UpdateBillingCardRequest>,
) -> Reply<CustomerVault> {
    let merchant_id = caller.merchant_id(request.merchant_id)?;
    let now = state.clock.now(merchant_id).await?;
    customer_reply(
        state
            .service
            .update_card(merchant_id, &customer_id, request, now)
            .await?,
    )
}

pub async fn delete(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(customer_id): PathParams<String>,
    JsonBody(request): JsonBody<CardIdRequest>,
) -> Reply<CustomerVault> {
    let merchant_id = caller.merchant_id(request.merchant_id)?;
    customer_reply(
        state
            .service
            .delete_card(merchant_id, &customer_id, &request.card_id)
            .await?,
    )
}

pub async fn set_primary(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(customer_id): PathParams<String>,
    JsonBody(request): JsonBody<CardIdRequest>,
) -> Reply<CustomerVault> {
    let merchant_id = caller.merchant_id(request.merchant_id)?;
    customer_reply(
        state
            .service
            .set_primary_card(merchant_id, &customer_id, &request.card_id)
            .await?,
    )
}
