//! `/vault/customer`: browse, add, get, update and delete customers.

use axum::Json;
use axum::extract::State;

use super::{PathParams, Reply, customer_reply};
use crate::qualpay::{
    AddCustomerRequest, ApiResponse, CustomerVault, ListResponse, SUCCESS_MESSAGE,
    UpdateCustomerRequest,
};
use crate::vault::VaultState;
use crate::vault::auth::Caller;
use crate::vault::error::VaultError;
use crate::vault::extract::{JsonBody, QueryPairs};
use crate::vault::filter::{self, find_field};
use crate::vault::store::{BrowseQuery, CUSTOMER_FIELDS};
use crate::vault::wire;

const DEFAULT_COUNT: i64 = 10;
const MAX_COUNT: i64 = 100;

pub async fn browse(
    State(state): State<VaultState>,
    caller: Caller,
    query: QueryPairs,
) -> Result<Json<ListResponse<CustomerVault>>, VaultError> {
    let merchant_id = caller.merchant_id(None)?;
    let browse = browse_query(&query)?;
    let page = state.service.browse_customers(merchant_id, &browse).await?;
    Ok(Json(ListResponse {
        code: 0,
        message: SUCCESS_MESSAGE.to_owned(),
        total_records: page.total_records,
        total_pages: (page.total_records + browse.count - 1) / browse.count,
        data: page.items.into_iter().map(wire::customer).collect(),
    }))
}

/// `count`, `page`, `order_on`, `order_by` and `filter`, as the browse endpoints take them.
fn browse_query(query: &QueryPairs) -> Result<BrowseQuery, VaultError> {
    let mut problems = Vec::new();
    let count = query.integer("count")?.unwrap_or(DEFAULT_COUNT);
    if !(1..=MAX_COUNT).contains(&count) {
        problems.push(format!("count: must be between 1 and {MAX_COUNT}"));
    }
    let page = query.integer("page")?.unwrap_or(0);
    if page < 0 {
        problems.push("page: must be 0 or more".to_owned());
    }
    let order_on_name = query
        .get("order_on")
        .filter(|v| !v.is_empty())
        .unwrap_or("customer_id");
    let order_on = find_field(CUSTOMER_FIELDS, order_on_name);
    if order_on.is_none() {
        problems.push(format!(
            "order_on: unknown field '{}'",
            truncate(order_on_name)
        ));
    }
    let descending = match query
        .get("order_by")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("") | Some("desc") => true,
        Some("asc") => false,
        Some(_) => {
            problems.push("order_by: must be asc or desc".to_owned());
            true
        }
    };
    let conditions = filter::parse(&query.all("filter"), CUSTOMER_FIELDS)
        .map_err(|e| problems.push(e.to_string()))
        .unwrap_or_default();
    match order_on {
        Some(order_on) if problems.is_empty() => Ok(BrowseQuery {
            conditions,
            order_on,
            descending,
            count,
            page,
        }),
        _ => Err(VaultError::Validation(problems)),
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(64).collect()
}

pub async fn add(
    State(state): State<VaultState>,
    caller: Caller,
    JsonBody(request): JsonBody<AddCustomerRequest>,
) -> Reply<CustomerVault> {
    let merchant_id = caller.merchant_id(request.merchant_id)?;
    customer_reply(state.service.add_customer(merchant_id, request).await?)
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
    customer_reply(
        state
            .service
            .update_customer(merchant_id, &customer_id, request)
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
