//! The vault's REST routes, under `/platform` as in Qualpay's spec.

mod billing;
mod customers;
mod shipping;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::routing::{delete, get, put};
use serde::de::DeserializeOwned;

use crate::qualpay::{ApiResponse, CustomerVault};
use crate::vault::VaultState;
use crate::vault::error::VaultError;
use crate::vault::store::CustomerRecord;
use crate::vault::wire;

/// A success envelope, or an error envelope.
type Reply<T> = Result<Json<ApiResponse<T>>, VaultError>;

fn reply<T>(data: T) -> Reply<T> {
    Ok(Json(ApiResponse::success(data)))
}

/// `CustomerResponse`: most writes answer with the whole customer as it is after the change.
fn customer_reply(record: CustomerRecord) -> Reply<CustomerVault> {
    reply(wire::customer(record))
}

pub fn router() -> Router<VaultState> {
    let customer = "/platform/vault/customer/{customer_id}";
    Router::new()
        .route(
            "/platform/vault/customer",
            get(customers::browse).post(customers::add),
        )
        .route(
            customer,
            get(customers::get)
                .put(customers::update)
                .delete(customers::delete),
        )
        .route(
            &format!("{customer}/billing"),
            get(billing::list).post(billing::add).put(billing::update),
        )
        .route(&format!("{customer}/billing/delete"), put(billing::delete))
        .route(
            &format!("{customer}/billing/primary"),
            put(billing::set_primary),
        )
        .route(
            &format!("{customer}/shipping"),
            get(shipping::list)
                .post(shipping::add)
                .put(shipping::update),
        )
        .route(
            &format!("{customer}/shipping/primary"),
            put(shipping::set_primary),
        )
        .route(
            &format!("{customer}/shipping/{{id}}"),
            delete(shipping::delete),
        )
        .method_not_allowed_fallback(|| async { VaultError::MethodNotAllowed })
}

/// Path parameters, with malformed ones answered in the vault's envelope.
pub struct PathParams<T>(pub T);

impl<T, S> FromRequestParts<S> for PathParams<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = VaultError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| PathParams(value))
            .map_err(|_| VaultError::invalid("path: a path parameter is malformed"))
    }
}
