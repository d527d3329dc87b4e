//! Embedded card fields: the transient key (`GET /platform/embedded`, Qualpay's), and the
//! hosted fields this vault serves: the page and its script and style, the parent page's
//! library, and the tokenize endpoint the fields post to.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Reply, reply};
use crate::qualpay::EmbeddedKey;
use crate::served_page::{escape_attribute, hardened};
use crate::vault::VaultState;
use crate::vault::auth::Caller;
use crate::vault::embedded::{self, Refusal, TokenizeRequest};
use crate::vault::extract::parse_json;

/// `GET /platform/embedded`: a new transient key for the caller's merchant.
pub async fn key(State(state): State<VaultState>, caller: Caller) -> Reply<EmbeddedKey> {
    let merchant_id = caller.merchant_id(None)?;
    let now = state.clock.now(merchant_id).await?;
    reply(
        embedded::issue(
            state.payments.store(),
            state.embedded.lifetime,
            merchant_id,
            now,
        )
        .await?,
    )
}

/// The vault's own origin, as the browser names it in `Origin`, from the request's `Host`.
fn own_origins(headers: &HeaderMap) -> Vec<String> {
    headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .map(|host| vec![format!("http://{host}"), format!("https://{host}")])
        .unwrap_or_default()
}

/// The origins allowed to frame the fields: the vault's own and the configured ones.
fn parent_origins(state: &VaultState, headers: &HeaderMap) -> Vec<String> {
    let mut origins = own_origins(headers);
    origins.extend(state.embedded.origins.iter().cloned());
    origins
}

/// `GET /embedded/frame`: the hosted fields, framable only by the allowed origins.
pub async fn frame(State(state): State<VaultState>, headers: HeaderMap) -> Response {
    let origins = parent_origins(&state, &headers);
    let html =
        embedded::FRAME_HTML.replace("{{PARENT_ORIGINS}}", &escape_attribute(&origins.join(" ")));
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
         img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors {}",
        origins.join(" ")
    );
    let mut response = hardened(html.into_response(), "text/html; charset=utf-8");
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

pub async fn frame_js() -> Response {
    hardened(
        embedded::FRAME_JS.into_response(),
        "text/javascript; charset=utf-8",
    )
}

pub async fn frame_css() -> Response {
    hardened(
        embedded::FRAME_CSS.into_response(),
        "text/css; charset=utf-8",
    )
}

pub async fn fields_js() -> Response {
    hardened(
        embedded::FIELDS_JS.into_response(),
        "text/javascript; charset=utf-8",
    )
}

/// `POST /embedded/tokenize`: only from the vault's own fields (its `Origin`), with a
/// transient key as the only credential.
pub async fn tokenize(
    State(state): State<VaultState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|origin| origin.to_str().ok());
    let from_fields =
        origin.is_some_and(|origin| own_origins(&headers).iter().any(|o| o == origin));
    let answer = if !from_fields {
        Err(Refusal::origin_refused())
    } else {
        match parse_json::<TokenizeRequest>(&body) {
            Ok(request) => {
                embedded::tokenize(
                    state.payments.store(),
                    &state.payments,
                    state.embedded.lifetime,
                    request,
                    &state.clock,
                )
                .await
            }
            Err(error) => Err(Refusal {
                code: "invalid_card",
                message: error.to_string(),
                field: None,
                rcode: None,
            }),
        }
    };
    let mut response = match answer {
        Ok(token) => (StatusCode::OK, Json(token)).into_response(),
        Err(refusal) => (
            StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST),
            Json(refusal),
        )
            .into_response(),
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
