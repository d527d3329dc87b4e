//! Webhooks (`/platform/webhook`): the merchant's notification endpoints. Qualpay answers a
//! change (`PUT /webhook/{id}`, `.../enable`, `.../disable`) with no data, so each change here
//! reads the webhook back afterwards rather than counting on the answer to carry it.

use reqwest::Method;

use super::{BrowseParams, Upstream, UpstreamError, data};
use crate::qualpay::{ApiResponse, ListResponse, Webhook};

impl Upstream {
    /// `GET /webhook`: one page of the merchant's webhooks.
    pub async fn browse_webhooks(
        &self,
        params: &BrowseParams,
    ) -> Result<ListResponse<Webhook>, UpstreamError> {
        self.browse("/webhook", &["webhook"], params).await
    }

    /// `GET /webhook/{webhook_id}`.
    pub async fn webhook(&self, webhook_id: i64) -> Result<Webhook, UpstreamError> {
        let id = webhook_id.to_string();
        data(
            self.send(
                Method::GET,
                "/webhook/{webhook_id}",
                &["webhook", &id],
                &[],
                None::<&()>,
            )
            .await?,
        )
    }

    /// `POST /webhook`: the answer is the only one that carries the webhook's `secret`.
    pub async fn add_webhook(&self, request: &Webhook) -> Result<Webhook, UpstreamError> {
        data(
            self.send(Method::POST, "/webhook", &["webhook"], &[], Some(request))
                .await?,
        )
    }

    /// `PUT /webhook/{webhook_id}`, then the webhook as it is now.
    pub async fn update_webhook(
        &self,
        webhook_id: i64,
        request: &Webhook,
    ) -> Result<Webhook, UpstreamError> {
        let id = webhook_id.to_string();
        let _: ApiResponse<serde_json::Value> = self
            .send(
                Method::PUT,
                "/webhook/{webhook_id}",
                &["webhook", &id],
                &[],
                Some(request),
            )
            .await?;
        self.webhook(webhook_id).await
    }

    /// `PUT /webhook/{webhook_id}/enable` or `/disable`, then the webhook as it is now.
    pub async fn set_webhook_enabled(
        &self,
        webhook_id: i64,
        enabled: bool,
    ) -> Result<Webhook, UpstreamError> {
        let id = webhook_id.to_string();
        let (route, action) = if enabled {
            ("/webhook/{webhook_id}/enable", "enable")
        } else {
            ("/webhook/{webhook_id}/disable", "disable")
        };
        let _: ApiResponse<serde_json::Value> = self
            .send(
                Method::PUT,
                route,
                &["webhook", &id, action],
                &[],
                Some(&serde_json::json!({})),
            )
            .await?;
        self.webhook(webhook_id).await
    }
}
