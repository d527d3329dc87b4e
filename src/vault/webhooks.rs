//! Webhooks (`/platform/webhook`): what a merchant registers to hear about events, checked and
//! stored here; [`delivery`] posts the outbox to them.
//!
//! A webhook's signing secret is made by the vault, answered once (by the request that makes
//! the webhook) and kept sealed under the data key, as is a BASIC password: both must be read
//! back to sign and to log in, so they cannot be hashes.

pub mod delivery;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::qualpay::{Webhook, WebhookAuthSetting, WebhookDelivery};
use crate::vault::crypto::{Sealed, random_alphanumeric};
use crate::vault::error::VaultError;
use crate::vault::events::EventName;
use crate::vault::service::VaultService;
use crate::vault::store::outbox::{AttemptRow, StoredWebhook, WebhookRow, WebhookStore};
use crate::vault::store::{BrowseQuery, Page, timestamp};
use crate::vault::validate::Problems;

const MAX_LABEL: usize = 64;
const MAX_URL: usize = 256;
const MAX_AUTH_FIELD: usize = 128;
const MAX_EMAILS: usize = 10;
const MAX_EMAIL: usize = 254;
const SECRET_LEN: usize = 32;

pub struct WebhookService {
    vault: Arc<VaultService>,
    store: Arc<dyn WebhookStore>,
}

/// What the associated data of a sealed webhook secret or password says.
pub fn secret_aad(merchant_id: i64) -> Vec<u8> {
    format!("webhook-secret:{merchant_id}").into_bytes()
}

pub fn password_aad(merchant_id: i64) -> Vec<u8> {
    format!("webhook-password:{merchant_id}").into_bytes()
}

/// A request's webhook fields, checked.
struct Checked {
    label: String,
    notification_url: String,
    email_address: Vec<String>,
    events: Option<Vec<String>>,
    auth: Auth,
}

enum Auth {
    None,
    /// The password is `None` on an update that keeps the stored one.
    Basic {
        user_name: String,
        user_password: Option<String>,
    },
}

impl WebhookService {
    pub fn new(vault: Arc<VaultService>, store: Arc<dyn WebhookStore>) -> Self {
        Self { vault, store }
    }

    /// Makes a webhook, ACTIVE, with a new secret: the only answer that shows the secret.
    pub async fn add(
        &self,
        merchant_id: i64,
        request: Webhook,
        now: DateTime<Utc>,
    ) -> Result<Webhook, VaultError> {
        let checked = check(&request)?;
        if let Auth::Basic {
            user_password: None,
            ..
        } = &checked.auth
        {
            return Err(VaultError::invalid(
                "auth_settings.user_password: is required when auth_type is BASIC",
            ));
        }
        let secret = random_alphanumeric(SECRET_LEN);
        let sealed = self.vault.seal_secret(&secret, &secret_aad(merchant_id));
        let mut row = WebhookRow {
            webhook_id: 0,
            merchant_id,
            label: String::new(),
            notification_url: String::new(),
            status: "ACTIVE".into(),
            email_address: String::new(),
            auth_type: String::new(),
            auth_user_name: None,
            auth_password_key: None,
            auth_password: None,
            secret_key: sealed.key_id,
            secret: sealed.blob,
            db_timestamp: timestamp(now),
            failing_since: None,
        };
        let events = checked.events.clone().unwrap_or_default();
        self.apply(&mut row, checked, None);
        let stored = self.store.insert_webhook(&row, &events).await?;
        let mut answer = wire(stored);
        answer.secret = Some(secret);
        Ok(answer)
    }

    /// The embedded gateway's own webhook on `merchant_id`, to `notification_url`, subscribed
    /// to every event: those of earlier runs (same label, still ACTIVE) are disabled first,
    /// since their secrets went with the process that made them. Answers the new one, with its
    /// secret.
    pub async fn register_gateway(
        &self,
        merchant_id: i64,
        label: &str,
        notification_url: &str,
        now: DateTime<Utc>,
    ) -> Result<Webhook, VaultError> {
        let mut page = 1;
        loop {
            let query = BrowseQuery {
                conditions: Vec::new(),
                order_on: &crate::vault::store::outbox::WEBHOOK_FIELDS[0],
                descending: false,
                count: 100,
                page,
            };
            let found = self.store.browse_webhooks(merchant_id, &query).await?;
            for webhook in &found.items {
                if webhook.row.label == label && webhook.row.status == "ACTIVE" {
                    self.set_enabled(merchant_id, webhook.row.webhook_id, false)
                        .await?;
                }
            }
            if found.items.len() < 100 {
                break;
            }
            page += 1;
        }
        let request = Webhook {
            label: Some(label.to_owned()),
            notification_url: Some(notification_url.to_owned()),
            events: Some(
                EventName::ALL
                    .iter()
                    .map(|e| e.as_str().to_owned())
                    .collect(),
            ),
            auth_type: Some("NONE".into()),
            ..Webhook::default()
        };
        self.add(merchant_id, request, now).await
    }

    pub async fn get(&self, merchant_id: i64, webhook_id: i64) -> Result<Webhook, VaultError> {
        Ok(wire(self.stored(merchant_id, webhook_id).await?))
    }

    pub async fn browse(
        &self,
        merchant_id: i64,
        query: &BrowseQuery,
    ) -> Result<Page<Webhook>, VaultError> {
        let page = self.store.browse_webhooks(merchant_id, query).await?;
        Ok(Page {
            items: page.items.into_iter().map(wire).collect(),
            total_records: page.total_records,
        })
    }

    /// Changes the label, URL, addresses, auth and (when given) events. A BASIC webhook's
    /// password is kept when the request leaves it out.
    pub async fn update(
        &self,
        merchant_id: i64,
        webhook_id: i64,
        request: Webhook,
    ) -> Result<Webhook, VaultError> {
        let checked = check(&request)?;
        let stored = self.stored(merchant_id, webhook_id).await?;
        let kept = match (&checked.auth, stored.row.auth_password_key) {
            (
                Auth::Basic {
                    user_password: None,
                    ..
                },
                Some(key_id),
            ) => stored
                .row
                .auth_password
                .clone()
                .map(|blob| Sealed { key_id, blob }),
            _ => None,
        };
        if let (
            Auth::Basic {
                user_password: None,
                ..
            },
            None,
        ) = (&checked.auth, &kept)
        {
            return Err(VaultError::invalid(
                "auth_settings.user_password: is required when auth_type is BASIC",
            ));
        }
        let mut row = stored.row;
        let events = checked.events.clone();
        self.apply(&mut row, checked, kept);
        let updated = self.store.update_webhook(&row, events.as_deref()).await?;
        updated.map(wire).ok_or_else(not_found)
    }

    /// Enables (ACTIVE: held deliveries go out again, earlier failures are forgotten) or
    /// disables (DISABLED: no new deliveries, queued ones held) a webhook.
    pub async fn set_enabled(
        &self,
        merchant_id: i64,
        webhook_id: i64,
        enabled: bool,
    ) -> Result<Webhook, VaultError> {
        let status = if enabled { "ACTIVE" } else { "DISABLED" };
        self.store
            .set_webhook_status(merchant_id, webhook_id, status)
            .await?
            .map(wire)
            .ok_or_else(not_found)
    }

    pub async fn events(
        &self,
        merchant_id: i64,
        webhook_id: i64,
    ) -> Result<Vec<String>, VaultError> {
        Ok(self.stored(merchant_id, webhook_id).await?.events)
    }

    /// Subscribes the webhook to `event`, or with `add` false unsubscribes it.
    pub async fn set_event(
        &self,
        merchant_id: i64,
        webhook_id: i64,
        event: &str,
        add: bool,
    ) -> Result<Vec<String>, VaultError> {
        let Some(name) = EventName::parse(event) else {
            return Err(VaultError::invalid(format!(
                "event: unknown event; the events are {}",
                event_names()
            )));
        };
        self.store
            .set_webhook_event(merchant_id, webhook_id, name.as_str(), add)
            .await?
            .map(|w| w.events)
            .ok_or_else(not_found)
    }

    /// The webhook's delivery log.
    pub async fn deliveries(
        &self,
        merchant_id: i64,
        webhook_id: i64,
        query: &BrowseQuery,
    ) -> Result<Page<WebhookDelivery>, VaultError> {
        self.stored(merchant_id, webhook_id).await?;
        let page = self.store.browse_attempts(webhook_id, query).await?;
        Ok(Page {
            items: page.items.into_iter().map(delivery_wire).collect(),
            total_records: page.total_records,
        })
    }

    async fn stored(&self, merchant_id: i64, webhook_id: i64) -> Result<StoredWebhook, VaultError> {
        self.store
            .webhook(merchant_id, webhook_id)
            .await?
            .ok_or_else(not_found)
    }

    fn apply(&self, row: &mut WebhookRow, checked: Checked, kept_password: Option<Sealed>) {
        row.label = checked.label;
        row.notification_url = checked.notification_url;
        row.email_address =
            serde_json::to_string(&checked.email_address).unwrap_or_else(|_| "[]".into());
        match checked.auth {
            Auth::None => {
                row.auth_type = "NONE".into();
                row.auth_user_name = None;
                row.auth_password_key = None;
                row.auth_password = None;
            }
            Auth::Basic {
                user_name,
                user_password,
            } => {
                let sealed = match user_password {
                    Some(password) => Some(
                        self.vault
                            .seal_secret(&password, &password_aad(row.merchant_id)),
                    ),
                    None => kept_password,
                };
                row.auth_type = "BASIC".into();
                row.auth_user_name = Some(user_name);
                row.auth_password_key = sealed.as_ref().map(|s| s.key_id);
                row.auth_password = sealed.map(|s| s.blob);
            }
        }
    }
}

fn not_found() -> VaultError {
    VaultError::NotFound("webhook_id: no such webhook".into())
}

fn event_names() -> String {
    EventName::ALL
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks a request's fields; every problem is reported, none is echoed beyond its field name
/// (a URL or a password could be anything).
fn check(request: &Webhook) -> Result<Checked, VaultError> {
    let mut problems = Problems::default();
    let label = request.label.clone().unwrap_or_default();
    if label.trim().is_empty() {
        problems.push("label: is required");
    } else if label.chars().count() > MAX_LABEL {
        problems.push(format!("label: at most {MAX_LABEL} characters"));
    }
    let notification_url = request.notification_url.clone().unwrap_or_default();
    if notification_url.is_empty() {
        problems.push("notification_url: is required");
    } else if let Err(problem) = check_url(&notification_url) {
        problems.push(format!("notification_url: {problem}"));
    }
    let email_address = request.email_address.clone().unwrap_or_default();
    if email_address.len() > MAX_EMAILS {
        problems.push(format!("email_address: at most {MAX_EMAILS} addresses"));
    }
    for (i, address) in email_address.iter().enumerate() {
        let valid = address.len() <= MAX_EMAIL
            && address
                .split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
            && !address.chars().any(|c| c.is_whitespace() || c.is_control());
        if !valid {
            problems.push(format!("email_address[{i}]: not an email address"));
        }
    }
    let events = request.events.as_ref().map(|events| {
        let mut names = Vec::new();
        for (i, event) in events.iter().enumerate() {
            match EventName::parse(event) {
                Some(name) if !names.contains(&name.as_str().to_owned()) => {
                    names.push(name.as_str().to_owned());
                }
                Some(_) => {}
                None => problems.push(format!(
                    "events[{i}]: unknown event; the events are {}",
                    event_names()
                )),
            }
        }
        names
    });
    let auth = match request.auth_type.as_deref().unwrap_or("NONE") {
        "NONE" => Auth::None,
        "BASIC" => {
            let settings = request.auth_settings.clone().unwrap_or_default();
            let WebhookAuthSetting {
                user_name,
                user_password,
            } = settings;
            let user_name = user_name.unwrap_or_default();
            if user_name.is_empty() {
                problems.push("auth_settings.user_name: is required when auth_type is BASIC");
            } else if user_name.chars().count() > MAX_AUTH_FIELD || user_name.contains(':') {
                problems.push(format!(
                    "auth_settings.user_name: at most {MAX_AUTH_FIELD} characters, no ':'"
                ));
            }
            if user_password
                .as_ref()
                .is_some_and(|p| p.is_empty() || p.chars().count() > MAX_AUTH_FIELD)
            {
                problems.push(format!(
                    "auth_settings.user_password: 1 to {MAX_AUTH_FIELD} characters"
                ));
            }
            Auth::Basic {
                user_name,
                user_password,
            }
        }
        _ => {
            problems.push("auth_type: must be NONE or BASIC");
            Auth::None
        }
    };
    problems.into_result()?;
    Ok(Checked {
        label,
        notification_url,
        email_address,
        events,
        auth,
    })
}

/// A notification URL must be `https`, or plain `http` to this machine (a receiver under
/// development): no credentials in it (use BASIC auth) and no fragment.
fn check_url(text: &str) -> Result<(), String> {
    if text.len() > MAX_URL {
        return Err(format!("at most {MAX_URL} characters"));
    }
    let url = reqwest::Url::parse(text).map_err(|_| "not a valid URL".to_owned())?;
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Err("needs a host".into());
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err("must use https (plain http only to localhost)".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not hold credentials: use auth_type BASIC".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment".into());
    }
    Ok(())
}

/// A webhook as the API shows it (never its secret or password).
pub fn wire(stored: StoredWebhook) -> Webhook {
    let row = stored.row;
    Webhook {
        webhook_id: Some(row.webhook_id),
        webhook_node: Some(row.merchant_id.to_string()),
        status: Some(row.status),
        label: Some(row.label),
        notification_url: Some(row.notification_url),
        email_address: Some(serde_json::from_str(&row.email_address).unwrap_or_default()),
        events: Some(stored.events),
        db_timestamp: Some(row.db_timestamp),
        secret: None,
        auth_settings: (row.auth_type == "BASIC").then_some(WebhookAuthSetting {
            user_name: row.auth_user_name,
            user_password: None,
        }),
        auth_type: Some(row.auth_type),
    }
}

fn delivery_wire(row: AttemptRow) -> WebhookDelivery {
    WebhookDelivery {
        attempt_id: row.attempt_id,
        webhook_id: row.webhook_id,
        event_id: row.event_id,
        event: row.event,
        attempt: row.attempt,
        attempted_at: row.attempted_at,
        http_status: row.http_status,
        error: row.error,
        latency_ms: row.latency_ms,
        next_attempt_at: row.next_attempt_at,
    }
}
