//! The delivery worker: posts the outbox's deliveries to their webhooks, signed, one at a time
//! per webhook in the order their events happened, retrying with exponential backoff until a
//! 2xx, and suspending a webhook that has had none for 48 hours of the merchant's clock.
//!
//! Each delivery is leased before it is posted (a conditional update), so several vault
//! processes on one database never post the same delivery at once; a process killed while
//! posting leaves a lease that runs out, and the delivery is posted again with the same event
//! id, which receivers use to drop what they already have. Leases are measured by the machine's
//! own clock, never the sandbox's (they are about processes being alive, not about business).
//!
//! The worker wakes when a transaction that wrote events commits in this process
//! ([`crate::vault::events::committed`]), when an attempt finishes, and every poll interval
//! (for other processes' events and for retries that come due).

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::Semaphore;

use super::{password_aad, secret_aad};
use crate::metrics::Metrics;
use crate::qualpay::WebhookPayload;
use crate::vault::clock::Clock;
use crate::vault::crypto::{Sealed, random_alphanumeric};
use crate::vault::error::VaultError;
use crate::vault::events;
use crate::vault::service::VaultService;
use crate::vault::store::outbox::{Attempted, DueDelivery, WebhookStore};
use crate::vault::store::timestamp;

/// Qualpay's signature header: Base64(HMAC-SHA256(secret, body)).
pub const QUALPAY_SIGNATURE: &str = "x-qualpay-webhook-signature";
/// vaultql's signature header, `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`:
/// the timestamp is signed too, so a receiver can refuse a replayed delivery.
pub const VAULTQL_SIGNATURE: &str = "x-vaultql-signature";
/// The event's id, the same on every attempt: receivers drop ids they have seen.
pub const EVENT_ID: &str = "x-vaultql-event-id";

/// How long a webhook may go without a 2xx before it is SUSPENDED.
pub const SUSPEND_AFTER_HOURS: i64 = 48;
/// The first retry's delay; each next one doubles, up to [`MAX_BACKOFF_SECS`].
const FIRST_BACKOFF_SECS: i64 = 10;
const MAX_BACKOFF_SECS: i64 = 3600;
/// Deliveries posted at once by one process.
const IN_FLIGHT: usize = 16;

#[derive(Debug, Clone, Copy)]
pub struct DeliverySettings {
    /// How long a receiver has to answer.
    pub timeout: Duration,
    /// How long a lease lasts; longer than `timeout`, so a live worker never loses one.
    pub lease: Duration,
    /// How often the worker looks without being woken.
    pub poll: Duration,
}

#[derive(Clone)]
pub struct Deliverer {
    store: Arc<dyn WebhookStore>,
    vault: Arc<VaultService>,
    clock: Clock,
    client: reqwest::Client,
    /// This process's name on its leases.
    owner: Arc<str>,
    settings: DeliverySettings,
    in_flight: Arc<Semaphore>,
    metrics: Arc<Metrics>,
}

/// The delay before retry number `attempts` (1 after the first failure): 10 s, 20 s, 40 s, ...
/// up to an hour.
pub fn backoff(attempts: i64) -> chrono::Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    chrono::Duration::seconds(
        FIRST_BACKOFF_SECS
            .saturating_mul(1_i64 << exponent)
            .min(MAX_BACKOFF_SECS),
    )
}

/// The two signatures of a body: Qualpay's header value, and vaultql's for time `t`.
pub fn signatures(secret: &[u8], body: &[u8], t: i64) -> (String, String) {
    let mut qualpay = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    qualpay.update(body);
    let qualpay = BASE64.encode(qualpay.finalize().into_bytes());
    let mut timed = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    timed.update(format!("{t}.").as_bytes());
    timed.update(body);
    let hex: String = timed
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (qualpay, format!("t={t},v1={hex}"))
}

impl Deliverer {
    pub fn new(
        store: Arc<dyn WebhookStore>,
        vault: Arc<VaultService>,
        clock: Clock,
        settings: DeliverySettings,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            // A redirect is not a 2xx: the merchant fixes the URL instead.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("vaultql-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            store,
            vault,
            clock,
            client,
            owner: random_alphanumeric(16).into(),
            settings,
            in_flight: Arc::new(Semaphore::new(IN_FLIGHT)),
            metrics,
        })
    }

    /// Delivers for as long as the process lives.
    pub fn spawn(self) {
        tokio::spawn(async move {
            let mut woken = events::watch_committed();
            loop {
                woken.borrow_and_update();
                if let Err(error) = self.post_due().await {
                    tracing::warn!(?error, "webhook delivery pass failed");
                }
                tokio::select! {
                    _ = woken.changed() => {}
                    () = tokio::time::sleep(self.settings.poll) => {}
                }
            }
        });
    }

    /// Leases every delivery that can be posted now and posts each in its own task; how many
    /// it started.
    pub async fn post_due(&self) -> Result<usize, VaultError> {
        let mut started = 0;
        for merchant_id in self.store.delivery_merchants().await? {
            let merchant_now = self.clock.now(merchant_id).await?;
            let machine_now = Utc::now();
            let due = self
                .store
                .due_deliveries(
                    merchant_id,
                    &timestamp(merchant_now),
                    &timestamp(machine_now),
                    IN_FLIGHT as i64,
                )
                .await?;
            for delivery in due {
                let until = machine_now
                    + chrono::Duration::from_std(self.settings.lease).unwrap_or_default();
                let Ok(permit) = self.in_flight.clone().acquire_owned().await else {
                    return Ok(started);
                };
                if !self
                    .store
                    .lease_delivery(
                        delivery.delivery_id,
                        &self.owner,
                        &timestamp(until),
                        &timestamp(machine_now),
                    )
                    .await?
                {
                    continue;
                }
                started += 1;
                let worker = self.clone();
                tokio::spawn(async move {
                    if let Err(error) = worker.post(delivery).await {
                        tracing::warn!(?error, "webhook delivery failed to record");
                    }
                    drop(permit);
                    // Its webhook's next delivery may go now.
                    events::committed();
                });
            }
        }
        Ok(started)
    }

    /// Posts one leased delivery and records what came of it.
    async fn post(&self, delivery: DueDelivery) -> Result<(), VaultError> {
        let merchant_id = delivery.merchant_id;
        let secret = self.vault.open_secret(
            &Sealed {
                key_id: delivery.secret_key,
                blob: delivery.secret.clone(),
            },
            &secret_aad(merchant_id),
        )?;
        let payload = WebhookPayload {
            webhook_id: delivery.webhook_id,
            db_timestamp: display_time(&delivery.db_timestamp),
            event: delivery.event.clone(),
            is_test: false,
            data: serde_json::from_str(&delivery.data).unwrap_or_default(),
        };
        let body = serde_json::to_vec(&payload)
            .map_err(|e| VaultError::Internal(format!("a delivery does not serialize: {e}")))?;
        let t = self.clock.process_now().timestamp();
        let (qualpay, vaultql) = signatures(secret.expose().as_bytes(), &body, t);
        let mut request = self
            .client
            .post(&delivery.notification_url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(QUALPAY_SIGNATURE, qualpay)
            .header(VAULTQL_SIGNATURE, vaultql)
            .header(EVENT_ID, &delivery.event_id);
        if delivery.auth_type == "BASIC" {
            let password = match (delivery.auth_password_key, &delivery.auth_password) {
                (Some(key_id), Some(blob)) => Some(self.vault.open_secret(
                    &Sealed {
                        key_id,
                        blob: blob.clone(),
                    },
                    &password_aad(merchant_id),
                )?),
                _ => None,
            };
            request = request.basic_auth(
                delivery.auth_user_name.clone().unwrap_or_default(),
                password.as_ref().map(|p| p.expose().clone()),
            );
        }
        let started = Instant::now();
        let answer = request.body(body).send().await;
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (http_status, error) = match answer {
            Ok(response) => (Some(i64::from(response.status().as_u16())), None),
            Err(error) => (None, Some(transport_error(&error))),
        };
        let delivered = http_status.is_some_and(|s| (200..300).contains(&s));
        let merchant_now = self.clock.now(merchant_id).await?;
        let attempt = delivery.attempts + 1;
        let attempted = Attempted {
            delivery_id: delivery.delivery_id,
            webhook_id: delivery.webhook_id,
            lease_owner: self.owner.to_string(),
            event_id: delivery.event_id,
            event: delivery.event,
            attempt,
            attempted_at: timestamp(merchant_now),
            http_status,
            error,
            latency_ms,
            retry_at: (!delivered).then(|| timestamp(merchant_now + backoff(attempt))),
            suspend_failing_since: timestamp(
                merchant_now - chrono::Duration::hours(SUSPEND_AFTER_HOURS),
            ),
        };
        let suspended = self.store.record_attempt(&attempted).await?;
        if suspended {
            // No mail server: the suspension is in the log and in the webhook's status.
            tracing::warn!(
                webhook_id = delivery.webhook_id,
                merchant_id,
                "webhook suspended: no 2xx answer for {SUSPEND_AFTER_HOURS} hours"
            );
        }
        self.metrics
            .record_delivery_sent(match (delivered, suspended) {
                (true, _) => "delivered",
                (false, true) => "suspended",
                (false, false) => "failed",
            });
        Ok(())
    }
}

/// What went wrong in words that never hold the URL (it may carry a token in its query).
fn transport_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "could not connect".into()
    } else if error.is_redirect() {
        "redirected".into()
    } else {
        "no answer".into()
    }
}

/// The outbox's time (`2027-01-31T12:00:00.000000Z`) as Qualpay writes `db_timestamp`
/// (`2027-01-31 12:00:00`).
fn display_time(stored: &str) -> String {
    stored
        .parse::<DateTime<Utc>>()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| stored.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_ten_seconds_up_to_an_hour() {
        let secs: Vec<i64> = (1..=11).map(|n| backoff(n).num_seconds()).collect();
        assert_eq!(
            secs,
            [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
        assert_eq!(backoff(i64::MAX).num_seconds(), 3600);
    }

    #[test]
    fn signatures_match_a_known_hmac() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), RFC 4231 style.
        let (qualpay, _) = signatures(b"key", b"The quick brown fox jumps over the lazy dog", 0);
        assert_eq!(qualpay, "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg=");
        let (_, timed) = signatures(b"key", b"body", 1_700_000_000);
        assert!(timed.starts_with("t=1700000000,v1="));
        assert_eq!(timed.len(), "t=1700000000,v1=".len() + 64);
    }
}
