//! The demo checkout page, `/demo/add-card?customer_id=ID`: the embedded card fields end to end,
//! as a frontend developer would copy them. The page plays the merchant's whole side: its
//! "server" part is this handler, which mints a customer session (`ADD_PAYMENT_METHOD`,
//! `READ_PAYMENT_METHODS`, 15 minutes) for the customer and puts it in the page; the page asks
//! `createCardSetup` for a transient key, frames the fields, and adds the token with `addCard`.
//!
//! Minting a session for whoever asks is a demo's shortcut: the page is served only with the
//! embedded vault on a loopback address, as the development key in GraphiQL is.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Duration;

use crate::gateway::session::{Permission, Session, SessionKeys};
use crate::served_page::{escape_attribute, hardened};
use crate::time::TimeSource;
use crate::upstream::Upstream;

const PAGE: &str = include_str!("demo/add-card.html");
const SCRIPT: &str = include_str!("demo/add-card.js");
const DEFAULT_CUSTOMER: &str = "ADALOVELACE";
const SESSION_MINUTES: i64 = 15;

#[derive(Clone)]
struct Demo {
    keys: Arc<SessionKeys>,
    /// The gateway's own client (its service key).
    service: Upstream,
    time: TimeSource,
}

pub fn routes(keys: Arc<SessionKeys>, service: Upstream, time: TimeSource) -> Router {
    Router::new()
        .route("/demo/add-card", get(page))
        .route("/demo/add-card.js", get(script))
        .with_state(Demo {
            keys,
            service,
            time,
        })
}

async fn page(
    State(demo): State<Demo>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let customer_id = query
        .get("customer_id")
        .map_or(DEFAULT_CUSTOMER, String::as_str);
    if customer_id.is_empty()
        || customer_id.len() > 32
        || !customer_id.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return (
            StatusCode::BAD_REQUEST,
            "customer_id: 1 to 32 letters and digits",
        )
            .into_response();
    }
    let merchant_id = match demo.service.customer(customer_id).await {
        Ok(customer) => customer.node_id.unwrap_or_default(),
        Err(error) if error.is_not_found() => {
            return (StatusCode::NOT_FOUND, "no such customer").into_response();
        }
        Err(_) => {
            return (StatusCode::BAD_GATEWAY, "the vault did not answer").into_response();
        }
    };
    let now = demo.time.now();
    let session = Session {
        merchant_id,
        customer_id: customer_id.to_owned(),
        permissions: vec![Permission::AddPaymentMethod, Permission::ReadPaymentMethods],
        issued_at: now.timestamp(),
        expires_at: (now + Duration::minutes(SESSION_MINUTES)).timestamp(),
    };
    let origin = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .map(|host| format!("http://{host}"))
        .unwrap_or_default();
    let html = PAGE
        .replace(
            "{{SESSION_TOKEN}}",
            &escape_attribute(&demo.keys.mint(&session)),
        )
        .replace("{{CUSTOMER_ID}}", &escape_attribute(customer_id))
        .replace("{{VAULT_URL}}", &escape_attribute(&origin))
        .replace("{{MERCHANT_ID}}", &merchant_id.to_string());
    let mut response = hardened(html.into_response(), "text/html; charset=utf-8");
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
             frame-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'none'",
        ),
    );
    response
}

async fn script() -> Response {
    hardened(SCRIPT.into_response(), "text/javascript; charset=utf-8")
}
