//! `POST /webhooks/qualpay`: the gateway's receiver of Qualpay's webhooks. A delivery is taken
//! only when its `x-qualpay-webhook-signature` is Base64(HMAC-SHA256(secret, raw body)) for one
//! of the configured secrets (compared in constant time); then it is published to the live
//! GraphQL subscriptions through the [`EventBroker`], once however often it is delivered.
//!
//! The secrets are those of `--qualpay-webhook-secret` (the webhooks the operator registered
//! at Qualpay) plus, with the embedded vault, the one the gateway registered there itself. With
//! none, the route answers 404, as any unknown path does.

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::events::{EventBroker, LiveEvent};
use crate::metrics::Metrics;
use crate::secret::Secret;
use crate::time::TimeSource;

/// Largest delivery accepted, in bytes.
pub const MAX_DELIVERY_BYTES: usize = 256 * 1024;

pub const SIGNATURE_HEADER: &str = "x-qualpay-webhook-signature";

/// The secrets deliveries may be signed with; more can be added while the gateway runs.
#[derive(Default)]
pub struct ReceiverSecrets(RwLock<Vec<Secret<String>>>);

impl ReceiverSecrets {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        Self(RwLock::new(secrets.into_iter().map(Secret::new).collect()))
    }

    pub fn add(&self, secret: String) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Secret::new(secret));
    }

    fn is_empty(&self) -> bool {
        self.0.read().unwrap_or_else(|e| e.into_inner()).is_empty()
    }

    /// Whether `signature` (Base64) is the HMAC-SHA256 of `body` under one of the secrets.
    fn verify(&self, body: &[u8], signature: &str) -> bool {
        let Ok(signature) = BASE64.decode(signature.trim()) else {
            return false;
        };
        let secrets = self.0.read().unwrap_or_else(|e| e.into_inner());
        secrets.iter().any(|secret| {
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else {
                return false;
            };
            mac.update(body);
            mac.verify_slice(&signature).is_ok()
        })
    }
}

#[derive(Clone)]
struct Receiver {
    broker: EventBroker,
    secrets: Arc<ReceiverSecrets>,
    time: TimeSource,
    metrics: Arc<Metrics>,
}

pub fn routes(
    broker: EventBroker,
    secrets: Arc<ReceiverSecrets>,
    time: TimeSource,
    metrics: Arc<Metrics>,
) -> Router {
    Router::new()
        .route("/webhooks/qualpay", post(receive))
        .with_state(Receiver {
            broker,
            secrets,
            time,
            metrics,
        })
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Body) -> Response {
    if receiver.secrets.is_empty() {
        return answer(
            StatusCode::NOT_FOUND,
            "No such path: set --qualpay-webhook-secret to receive Qualpay's webhooks",
        );
    }
    let Ok(body) = to_bytes(body, MAX_DELIVERY_BYTES).await else {
        receiver.metrics.record_delivery("too_large");
        return answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("a delivery is at most {MAX_DELIVERY_BYTES} bytes"),
        );
    };
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok());
    if !signature.is_some_and(|signature| receiver.secrets.verify(&body, signature)) {
        tracing::warn!("a webhook delivery with a missing or wrong signature was refused");
        receiver.metrics.record_delivery("bad_signature");
        return answer(
            StatusCode::UNAUTHORIZED,
            "the x-qualpay-webhook-signature header does not match the body",
        );
    }
    let id = hex(&Sha256::digest(&body));
    let parsed = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|json| LiveEvent::from_delivery(id, &json, receiver.time.now()));
    let Some(event) = parsed else {
        receiver.metrics.record_delivery("malformed");
        return answer(
            StatusCode::BAD_REQUEST,
            "a delivery must be a JSON object with an `event`",
        );
    };
    let name = event.name.clone();
    let new = receiver.broker.publish(event);
    let outcome = if new { "published" } else { "duplicate" };
    receiver.metrics.record_delivery(outcome);
    tracing::info!(event = %name, duplicate = !new, "webhook delivery received");
    (
        StatusCode::OK,
        axum::Json(json!({ "received": true, "duplicate": !new })),
    )
        .into_response()
}

fn answer(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
