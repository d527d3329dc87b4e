//! `/vault/customer/{customer_id}/billing`: a customer's cards and ACH accounts.

use axum::extract::State;

use super::{PathParams, Reply, customer_reply, reply};
use crate::qualpay::{
    AddBillingCardRequest, BillingCards, CardIdRequest, CustomerVault, UpdateBillingCardRequest,
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
    if let Some(card_id) = names_a_token(&request) {
        return add_token(state, merchant_id, &customer_id, &card_id, request, now).await;
    }
    customer_reply(
        state
            .service
            .add_card(merchant_id, &customer_id, request, now)
            .await?,
    )
}

/// A token from `/pg/tokenize` (or the embedded fields) becomes the customer's card, keeping
/// its `card_id`.
async fn add_token(
    state: VaultState,
    merchant_id: i64,
    customer_id: &str,
    card_id: &str,
    request: AddBillingCardRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> Reply<CustomerVault> {
    // The customer is checked first, so a token is never opened for a customer that is not there.
    state.service.customer(merchant_id, customer_id).await?;
    let request = open_token_card(&state, merchant_id, card_id, request, now).await?;
    let record = state
        .service
        .add_card_opened(merchant_id, customer_id, request, now)
        .await?;
    state.payments.retire_token(merchant_id, card_id).await?;
    customer_reply(record)
}

/// Whether an add-card request names a token rather than a number.
pub fn names_a_token(request: &AddBillingCardRequest) -> Option<String> {
    if request.card_number.is_none() && request.dda_number.is_none() {
        request.card_id.clone()
    } else {
        None
    }
}

/// Fills an add-card request from the token it names: its number (opened, with an audit
/// record), expiry and zip. A single-use token needs `verify: true` (the card is verified as
/// it is added).
pub async fn open_token_card(
    state: &VaultState,
    merchant_id: i64,
    card_id: &str,
    mut request: AddBillingCardRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<AddBillingCardRequest, VaultError> {
    let (token, number) = state
        .payments
        .open_token_for_card(merchant_id, card_id, now)
        .await?;
    if token.single_use && request.verify != Some(true) {
        return Err(VaultError::invalid(
            "verify: a single-use token becomes a customer's card only with verify: true",
        ));
    }
    state
        .payments
        .claim_token(merchant_id, card_id, now)
        .await?;
    if token.kind == "ach" {
        request.dda_number = Some(number);
        request.tr_number = token.tr_number.clone();
        request.type_id = token.type_id.clone();
    } else {
        request.card_number = Some(number);
        request.exp_date = request.exp_date.or(token.exp_date.clone());
    }
    request.billing_zip = request.billing_zip.or(token.avs_zip.clone());
    request.billing_addr1 = request.billing_addr1.or(token.avs_address.clone());
    Ok(request)
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
