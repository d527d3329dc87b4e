//! `Webhook`: one of the merchant's notification endpoints (Qualpay `Webhook`). Its signing
//! secret is never a field here: it is answered once, by `createWebhook`.

use std::sync::Arc;

use async_graphql::{Enum, ID, Object};

use crate::qualpay;

#[derive(Clone)]
pub struct Webhook(Arc<qualpay::Webhook>);

impl Webhook {
    pub fn new(webhook: qualpay::Webhook) -> Self {
        Self(Arc::new(webhook))
    }

    pub fn wire(&self) -> &qualpay::Webhook {
        &self.0
    }
}

/// Whether a webhook is posted to.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WebhookStatus {
    Active,
    /// Turned off by the merchant: events are kept and posted once it is enabled again.
    Disabled,
    /// Turned off after 48 hours without a 2xx answer; enabling it resumes delivery.
    Suspended,
}

/// How the webhook's receiver is authenticated, besides the signature.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WebhookAuthType {
    None,
    /// HTTP basic authentication with a user name and password.
    Basic,
}

impl WebhookAuthType {
    pub fn wire(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Basic => "BASIC",
        }
    }
}

/// A URL the vault posts events to, signed with the webhook's secret.
#[Object]
impl Webhook {
    /// The vault's id of the webhook.
    async fn webhook_id(&self) -> Option<ID> {
        self.0.webhook_id.map(|id| ID(id.to_string()))
    }

    async fn label(&self) -> Option<&str> {
        self.0.label.as_deref()
    }

    async fn notification_url(&self) -> Option<&str> {
        self.0.notification_url.as_deref()
    }

    /// Event names it is posted, as Qualpay spells them (`subscription_payment_failure`, ...).
    async fn events(&self) -> Vec<&str> {
        self.0.events.iter().flatten().map(String::as_str).collect()
    }

    /// Null when the upstream answered a status this gateway does not know.
    async fn status(&self) -> Option<WebhookStatus> {
        match self.0.status.as_deref()? {
            "ACTIVE" => Some(WebhookStatus::Active),
            "DISABLED" => Some(WebhookStatus::Disabled),
            "SUSPENDED" => Some(WebhookStatus::Suspended),
            _ => None,
        }
    }

    async fn auth_type(&self) -> WebhookAuthType {
        match self.0.auth_type.as_deref() {
            Some("BASIC") => WebhookAuthType::Basic,
            _ => WebhookAuthType::None,
        }
    }

    /// The basic-auth user name; the password is never answered.
    async fn auth_user_name(&self) -> Option<&str> {
        self.0.auth_settings.as_ref()?.user_name.as_deref()
    }

    /// Addresses told when the webhook is suspended.
    async fn email_addresses(&self) -> Vec<&str> {
        self.0
            .email_address
            .iter()
            .flatten()
            .map(String::as_str)
            .collect()
    }

    /// When it was made (the vault's `db_timestamp`, as answered).
    async fn created_at(&self) -> Option<&str> {
        self.0.db_timestamp.as_deref()
    }
}
