//! The Account Updater (`/platform/aus/...`): requests of stored cards' ids and the harvest
//! hold. Qualpay answers a hold or release with no data, and a create with the request's id
//! only, so the gateway reads what it shows afterwards.

use reqwest::Method;

use super::{Upstream, UpstreamError, data};
use crate::qualpay::{
    AccountUpdaterSummary, ApiResponse, AusHoldRequest, CreateAccountUpdaterRequest,
    CreateAccountUpdaterResponse,
};

impl Upstream {
    /// `POST /aus/request/create`: the new request's id.
    pub async fn create_account_updater_request(
        &self,
        card_ids: &[String],
    ) -> Result<i64, UpstreamError> {
        let request = CreateAccountUpdaterRequest {
            card_id: card_ids.to_vec(),
        };
        let created: CreateAccountUpdaterResponse = data(
            self.send(
                Method::POST,
                "/aus/request/create",
                &["aus", "request", "create"],
                &[],
                Some(&request),
            )
            .await?,
        )?;
        Ok(created.request_id)
    }

    /// `GET /aus/request/summary/{request_id}`.
    pub async fn account_updater_summary(
        &self,
        request_id: i64,
    ) -> Result<AccountUpdaterSummary, UpstreamError> {
        let id = request_id.to_string();
        data(
            self.send(
                Method::GET,
                "/aus/request/summary/{request_id}",
                &["aus", "request", "summary", &id],
                &[],
                None::<&()>,
            )
            .await?,
        )
    }

    /// `POST /aus/hold` (or `/aus/release` when `hold` is false) of one card.
    pub async fn set_card_hold(&self, card_id: &str, hold: bool) -> Result<(), UpstreamError> {
        let (route, action) = if hold {
            ("/aus/hold", "hold")
        } else {
            ("/aus/release", "release")
        };
        let request = AusHoldRequest {
            card_id: Some(card_id.to_owned()),
            ..AusHoldRequest::default()
        };
        let _: ApiResponse<serde_json::Value> = self
            .send(Method::POST, route, &["aus", action], &[], Some(&request))
            .await?;
        Ok(())
    }
}
