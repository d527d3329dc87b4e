//! `/vault/customer`: browse, add, get, update and delete customers.

use axum::Json;
use axum::extract::State;

use super::{PathParams, Reply, billing, browse_query, customer_reply, total_pages};
use crate::qualpay::{
    AddBillingCardRequest, AddCustomerRequest, ApiResponse, CustomerVault, ListResponse,
    SUCCESS_MESSAGE, UpdateCustomerRequest,
};
use crate::vault::VaultState;
use crate::vault::auth::Caller;
use crate::vault::error::VaultError;
use crate::vault::extract::{JsonBody, QueryPairs};
use crate::vault::store::CUSTOMER_FIELDS;
use crate::vault::wire;

pub async fn browse(
    State(state): State<VaultState>,
    caller: Caller,
    query: QueryPairs,
) -> Result<Json<ListResponse<CustomerVault>>, VaultError> {
    let merchant_id = caller.merchant_id(None)?;
    let browse = browse_query(&query, CUSTOMER_FIELDS, "customer_id", true)?;
    let page = state.service.browse_customers(merchant_id, &browse).await?;
    Ok(Json(ListResponse {
        code: 0,
        message: SUCCESS_MESSAGE.to_owned(),
        total_records: page.total_records,
        total_pages: total_pages(page.total_records, browse.count),
        data: page.items.into_iter().map(wire::customer).collect(),
    }))
}

pub async fn add(
    State(state): State<VaultState>,
    caller: Caller,
    JsonBody(request): JsonBody<AddCustomerRequest>,
) -> Reply<CustomerVault> {
    let merchant_id = caller.merchant_id(request.merchant_id)?;
    let now = state.clock.now(merchant_id).await?;
    // Cards given as tokens become the new customer's cards, keeping their ids.
    let mut request = request;
    let mut tokens = Vec::new();
    if let Some(cards) = request.billing_cards.take() {
        let mut opened = Vec::with_capacity(cards.len());
        for card in cards {
            match billing::names_a_token(&card) {
                Some(card_id) => {
                    opened.push(
                        billing::open_token_card(&state, merchant_id, &card_id, card, now).await?,
                    );
                    tokens.push(card_id);
                }
                // A number keeps no id of the client's choosing.
                None => opened.push(AddBillingCardRequest {
                    card_id: None,
                    ..card
                }),
            }
        }
        request.billing_cards = Some(opened);
    }
    let record = if tokens.is_empty() {
        state
            .service
            .add_customer(merchant_id, request, now)
            .await?
    } else {
        let record = state
            .service
            .add_customer_opened(merchant_id, request, now)
            .await?;
        for card_id in &tokens {
            state.payments.retire_token(merchant_id, card_id).await?;
        }
        record
    };
    customer_reply(record)
}

pub async fn get(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(customer_id): PathParams<String>,
) -> Reply<CustomerVault> {
    let merchant_id = caller.merchant_id(None)?;
    customer_reply(state.service.customer(merchant_id, &customer_id).await?)
}

pub async fn update(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(customer_id): PathParams<String>,
    JsonBody(request): JsonBody<UpdateCustomerRequest>,
) -> Reply<CustomerVault> {
    let merchant_id = caller.merchant_id(request.merchant_id)?;
    let now = state.clock.now(merchant_id).await?;
    customer_reply(
        state
            .service
            .update_customer(merchant_id, &customer_id, request, now)
            .await?,
    )
}

pub async fn delete(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(customer_id): PathParams<String>,
) -> Result<Json<ApiResponse<()>>, VaultError> {
    let merchant_id = caller.merchant_id(None)?;
    state
        .service
        .delete_customer(merchant_id, &customer_id)
        .await?;
    Ok(Json(ApiResponse {
        code: 0,
        message: SUCCESS_MESSAGE.to_owned(),
        data: None,
    }))
}
