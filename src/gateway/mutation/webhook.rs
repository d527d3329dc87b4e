//! `createWebhook`, `updateWebhook`, `enableWebhook`, `disableWebhook`: the merchant's
//! webhooks (secret keys only).

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::per_mutation;
use crate::gateway::access;
use crate::gateway::context::upstream;
use crate::gateway::error::{GatewayError, gql};
use crate::gateway::types::{Webhook, WebhookAuthType};
use crate::qualpay::{self, WebhookAuthSetting};

#[derive(Default)]
pub struct WebhookMutations;

/// HTTP basic authentication the vault sends with each post.
#[derive(InputObject)]
pub struct WebhookBasicAuthInput {
    pub user_name: String,
    pub password: String,
}

/// A new webhook; it starts ACTIVE.
#[derive(InputObject)]
pub struct CreateWebhookInput {
    pub label: String,
    /// An https URL (http is accepted for loopback receivers by the embedded vault).
    pub notification_url: String,
    /// Event names as Qualpay spells them, e.g. `subscription_payment_failure`.
    pub events: Vec<String>,
    /// Told when the webhook is suspended.
    pub email_addresses: Option<Vec<String>>,
    /// Sends basic authentication with each post; none when absent.
    pub basic_auth: Option<WebhookBasicAuthInput>,
}

/// Fields that are given change; the rest stay as they are.
#[derive(InputObject)]
pub struct UpdateWebhookInput {
    pub webhook_id: ID,
    pub label: Option<String>,
    pub notification_url: Option<String>,
    /// Replaces the webhook's event list.
    pub events: Option<Vec<String>>,
    pub email_addresses: Option<Vec<String>>,
    /// Switches to (or changes) basic authentication.
    pub basic_auth: Option<WebhookBasicAuthInput>,
    /// `NONE` turns basic authentication off; `BASIC` needs `basicAuth` unless it is on already.
    pub auth_type: Option<WebhookAuthType>,
}

per_mutation! {
    /// Names one of the merchant's webhooks.
    #[derive(InputObject)]
    { webhook_id: ID }
    as EnableWebhookInput, DisableWebhookInput
}

per_mutation! {
    #[derive(SimpleObject)]
    { webhook: Webhook }
    as UpdateWebhookPayload, EnableWebhookPayload, DisableWebhookPayload
}

#[derive(SimpleObject)]
pub struct CreateWebhookPayload {
    pub webhook: Webhook,
    /// The key the webhook's posts are signed with (`x-qualpay-webhook-signature`). Shown
    /// this once: keep it with the receiver.
    pub secret: Option<String>,
}

#[Object]
impl WebhookMutations {
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookInput,
    ) -> Result<CreateWebhookPayload> {
        access::merchant_only(ctx)?;
        let mut request = qualpay::Webhook {
            label: Some(input.label),
            notification_url: Some(input.notification_url),
            events: Some(input.events),
            email_address: input.email_addresses,
            ..qualpay::Webhook::default()
        };
        set_auth(&mut request, input.basic_auth, Some(WebhookAuthType::None));
        let mut created = upstream(ctx)?.add_webhook(&request).await.map_err(gql)?;
        let secret = created.secret.take();
        Ok(CreateWebhookPayload {
            webhook: Webhook::new(created),
            secret,
        })
    }

    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        input: UpdateWebhookInput,
    ) -> Result<UpdateWebhookPayload> {
        access::merchant_only(ctx)?;
        let webhook_id = parse_id(&input.webhook_id)?;
        let upstream = upstream(ctx)?;
        // A change replaces the webhook's fields, so it starts from what is there now.
        let current = upstream.webhook(webhook_id).await.map_err(gql)?;
        let mut request = qualpay::Webhook {
            label: input.label.or(current.label),
            notification_url: input.notification_url.or(current.notification_url),
            events: input.events,
            email_address: input.email_addresses.or(current.email_address),
            auth_type: current.auth_type,
            auth_settings: current.auth_settings.map(|settings| WebhookAuthSetting {
                user_name: settings.user_name,
                user_password: None,
            }),
            ..qualpay::Webhook::default()
        };
        set_auth(&mut request, input.basic_auth, input.auth_type);
        let webhook = upstream
            .update_webhook(webhook_id, &request)
            .await
            .map_err(gql)?;
        Ok(UpdateWebhookPayload {
            webhook: Webhook::new(webhook),
        })
    }

    /// Posts again: held events go out, and a suspended webhook gets a fresh 48 hours.
    async fn enable_webhook(
        &self,
        ctx: &Context<'_>,
        input: EnableWebhookInput,
    ) -> Result<EnableWebhookPayload> {
        let webhook = set_enabled(ctx, &input.webhook_id, true).await?;
        Ok(EnableWebhookPayload { webhook })
    }

    /// Stops posting; events that happen meanwhile are held until it is enabled.
    async fn disable_webhook(
        &self,
        ctx: &Context<'_>,
        input: DisableWebhookInput,
    ) -> Result<DisableWebhookPayload> {
        let webhook = set_enabled(ctx, &input.webhook_id, false).await?;
        Ok(DisableWebhookPayload { webhook })
    }
}

async fn set_enabled(ctx: &Context<'_>, webhook_id: &ID, enabled: bool) -> Result<Webhook> {
    access::merchant_only(ctx)?;
    let webhook_id = parse_id(webhook_id)?;
    let webhook = upstream(ctx)?
        .set_webhook_enabled(webhook_id, enabled)
        .await
        .map_err(gql)?;
    Ok(Webhook::new(webhook))
}

/// Basic auth when given; otherwise `auth_type` (or the request's own) decides.
fn set_auth(
    request: &mut qualpay::Webhook,
    basic: Option<WebhookBasicAuthInput>,
    auth_type: Option<WebhookAuthType>,
) {
    if let Some(basic) = basic {
        request.auth_type = Some(WebhookAuthType::Basic.wire().into());
        request.auth_settings = Some(WebhookAuthSetting {
            user_name: Some(basic.user_name),
            user_password: Some(basic.password),
        });
    } else if let Some(auth_type) = auth_type {
        request.auth_type = Some(auth_type.wire().into());
        if auth_type == WebhookAuthType::None {
            request.auth_settings = None;
        }
    }
}

fn parse_id(id: &ID) -> Result<i64> {
    id.parse::<i64>().map_err(|_| {
        gql(GatewayError::BadUserInput(
            "webhookId: must be the vault's numeric webhook id".into(),
        ))
    })
}
