//! `/vault/customer/{customer_id}/shipping`: a customer's shipping addresses.

use axum::extract::State;

use super::{PathParams, Reply, customer_reply, reply};
use crate::qualpay::{
    AddShippingAddressRequest, CustomerVault, ShippingAddresses, ShippingIdRequest,
    UpdateShippingAddressRequest,
};
use crate::vault::VaultState;
use crate::vault::auth::Caller;
use crate::vault::error::VaultError;
use crate::vault::extract::JsonBody;
use crate::vault::wire;

pub async fn list(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(customer_id): PathParams<String>,
) -> Reply<ShippingAddresses> {
    let merchant_id = caller.merchant_id(None)?;
    let record = state.service.customer(merchant_id, &customer_id).await?;
    reply(ShippingAddresses {
        shipping_addresses: record
            .addresses
            .into_iter()
            .map(wire::shipping_address)
            .collect(),
    })
}

pub async fn add(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(customer_id): PathParams<String>,
    JsonBody(request): JsonBody<AddShippingAddressRequest>,
) -> Reply<CustomerVault> {
    let merchant_id = caller.merchant_id(request.merchant_id)?;
    let now = state.clock.now(merchant_id).await?;
    customer_reply(
        state
            .service
            .add_shipping_address(merchant_id, &customer_id, request, now)
            .await?,
    )
}

pub async fn update(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(customer_id): PathParams<String>,
    JsonBody(request): JsonBody<UpdateShippingAddressRequest>,
) -> Reply<CustomerVault> {
    let merchant_id = caller.merchant_id(request.merchant_id)?;
    let now = state.clock.now(merchant_id).await?;
    customer_reply(
        state
            .service
            .update_shipping_address(merchant_id, &customer_id, request, now)
            .await?,
    )
}

pub async fn delete(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams((customer_id, shipping_id)): PathParams<(String, String)>,
) -> Reply<CustomerVault> {
    let merchant_id = caller.merchant_id(None)?;
    let shipping_id = shipping_id
        .parse::<i64>()
        .map_err(|_| VaultError::invalid("id: the shipping_id in the path must be an integer"))?;
    customer_reply(
        state
            .service
            .delete_shipping_address(merchant_id, &customer_id, shipping_id)
            .await?,
    )
}

pub async fn set_primary(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(customer_id): PathParams<String>,
    JsonBody(request): JsonBody<ShippingIdRequest>,
) -> Reply<CustomerVault> {
    let merchant_id = caller.merchant_id(request.merchant_id)?;
    customer_reply(
        state
            .service
            .set_primary_shipping_address(merchant_id, &customer_id, request.shipping_id)
            .await?,
    )
}
