//! `webhook` and `webhooks`: the merchant's webhooks (secret keys only).

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object, Result};

use crate::gateway::access::MerchantOnly;
use crate::gateway::context::upstream;
use crate::gateway::error::{gql, null_on_error};
use crate::gateway::paging::{ConnectionTotal, PageArgs, Window, browse_window, connection};
use crate::gateway::types::Webhook;

pub type WebhookConnection = Connection<String, Webhook, ConnectionTotal>;

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// A webhook by the vault's id; null when there is none.
    #[graphql(guard = "MerchantOnly")]
    async fn webhook(&self, ctx: &Context<'_>, webhook_id: ID) -> Option<Webhook> {
        let webhook_id = webhook_id.parse::<i64>().ok()?;
        let found = match upstream(ctx) {
            Ok(upstream) => match upstream.webhook(webhook_id).await {
                Ok(webhook) => Ok(Some(webhook)),
                Err(error) if error.is_not_found() => Ok(None),
                Err(error) => Err(gql(error)),
            },
            Err(error) => Err(error),
        };
        null_on_error(ctx, found).map(Webhook::new)
    }

    /// The merchant's webhooks, oldest first.
    #[graphql(
        complexity = "crate::gateway::cost::page(first, last, child_complexity)",
        guard = "MerchantOnly"
    )]
    async fn webhooks(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<WebhookConnection> {
        let upstream = upstream(ctx)?;
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let window = browse_window(&args, ("webhook_id", "asc"), &[], |params| async move {
            upstream.browse_webhooks(&params).await
        })
        .await
        .map_err(gql)?;
        Ok(connection(Window {
            items: window.items.into_iter().map(Webhook::new).collect(),
            start: window.start,
            total: window.total,
        }))
    }
}
