//! The vault's REST routes, under `/platform` as in Qualpay's spec.

mod account_updater;
mod billing;
mod customers;
mod embedded;
mod pg;
mod plans;
mod reporting;
mod sandbox;
mod shipping;
mod subscriptions;
mod webhooks;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::routing::{delete, get, post, put};
use serde::de::DeserializeOwned;

use crate::qualpay::{ApiResponse, CustomerVault};
use crate::vault::VaultState;
use crate::vault::error::VaultError;
use crate::vault::extract::QueryPairs;
use crate::vault::filter::{self, Field, find_field};
use crate::vault::store::{BrowseQuery, CustomerRecord};
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
        .route("/platform/plan", get(plans::browse).post(plans::add))
        .route("/platform/plan/{plan}", get(plans::get).put(plans::update))
        .route("/platform/plan/{plan}/archive", post(plans::archive))
        .route("/platform/plan/{plan}/delete", delete(plans::delete))
        .route(
            "/platform/subscription",
            get(subscriptions::browse).post(subscriptions::add),
        )
        .route(
            "/platform/subscription/transactions",
            get(subscriptions::all_transactions),
        )
        .route(
            "/platform/subscription/transactions/{subscription_id}",
            get(subscriptions::transactions),
        )
        .route(
            "/platform/subscription/{subscription_id}",
            get(subscriptions::get).put(subscriptions::update),
        )
        .route(
            "/platform/subscription/{subscription_id}/pause",
            post(subscriptions::pause),
        )
        .route(
            "/platform/subscription/{subscription_id}/resume",
            post(subscriptions::resume),
        )
        .route(
            "/platform/subscription/{subscription_id}/cancel",
            post(subscriptions::cancel),
        )
        .route(
            "/platform/webhook",
            get(webhooks::browse).post(webhooks::add),
        )
        .route(
            "/platform/webhook/{webhook_id}",
            get(webhooks::get).put(webhooks::update),
        )
        .route(
            "/platform/webhook/{webhook_id}/enable",
            put(webhooks::enable),
        )
        .route(
            "/platform/webhook/{webhook_id}/disable",
            put(webhooks::disable),
        )
        .route(
            "/platform/webhook/{webhook_id}/event",
            get(webhooks::events),
        )
        .route(
            "/platform/webhook/{webhook_id}/event/{event}",
            post(webhooks::add_event).delete(webhooks::remove_event),
        )
        .route(
            "/platform/webhook/{webhook_id}/deliveries",
            get(webhooks::deliveries),
        )
        .route(
            "/platform/aus/request/create",
            post(account_updater::create),
        )
        .route(
            "/platform/aus/request/summary",
            get(account_updater::browse_summaries),
        )
        .route(
            "/platform/aus/request/summary/{request_id}",
            get(account_updater::summary),
        )
        .route(
            "/platform/aus/request/detail",
            get(account_updater::browse_details),
        )
        .route(
            "/platform/aus/request/detail/{request_id}",
            get(account_updater::request_details),
        )
        .route(
            "/platform/aus/request/cancel/{request_id}",
            post(account_updater::cancel),
        )
        .route("/platform/aus/hold", post(account_updater::hold))
        .route("/platform/aus/release", post(account_updater::release))
        .route(
            "/platform/aus/harvest",
            get(account_updater::harvest).put(account_updater::set_harvest),
        )
        .route("/platform/aus/add", post(account_updater::add_not_served))
        .route("/platform/embedded", get(embedded::key))
        .route("/platform/reporting/transactions", get(reporting::browse))
        .route(
            "/platform/reporting/transactions/bypgid/{pg_id}",
            get(reporting::by_pg_id),
        )
        .route(
            "/platform/sandbox/clock",
            get(sandbox::clock).post(sandbox::advance),
        )
        .route("/platform/sandbox/clock/jobs/{job_id}", get(sandbox::job))
        .method_not_allowed_fallback(|| async { VaultError::MethodNotAllowed })
        .merge(pg::routes())
        .route("/embedded/frame", get(embedded::frame))
        .route("/embedded/frame.js", get(embedded::frame_js))
        .route("/embedded/frame.css", get(embedded::frame_css))
        .route("/embedded/fields.js", get(embedded::fields_js))
        .route("/embedded/tokenize", post(embedded::tokenize))
        .route_layer(axum::middleware::from_fn(
            crate::vault::extract::refuse_nul_characters,
        ))
}

const DEFAULT_COUNT: i64 = 10;
const MAX_COUNT: i64 = 100;

/// `count`, `page`, `order_on`, `order_by` and `filter`, as the browse endpoints take them.
pub fn browse_query(
    query: &QueryPairs,
    fields: &'static [Field],
    default_order_on: &str,
    default_descending: bool,
) -> Result<BrowseQuery, VaultError> {
    let mut problems = Vec::new();
    let count = query.int32("count")?.unwrap_or(DEFAULT_COUNT);
    if !(1..=MAX_COUNT).contains(&count) {
        problems.push(format!("count: must be between 1 and {MAX_COUNT}"));
    }
    let page = query.int32("page")?.unwrap_or(0);
    if page < 0 {
        problems.push("page: must be 0 or more".to_owned());
    }
    let order_on_name = query
        .get("order_on")
        .filter(|v| !v.is_empty())
        .unwrap_or(default_order_on);
    let order_on = find_field(fields, order_on_name);
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
        None | Some("") => default_descending,
        Some("desc") => true,
        Some("asc") => false,
        Some(_) => {
            problems.push("order_by: must be asc or desc".to_owned());
            true
        }
    };
    let conditions = filter::parse(&query.all("filter"), fields)
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

/// `totalPages` of a browse answer.
fn total_pages(total_records: i64, count: i64) -> i64 {
    (total_records + count - 1) / count
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
