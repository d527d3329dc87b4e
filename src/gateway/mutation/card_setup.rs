//! `createCardSetup`: what a page needs to collect a card with the embedded card fields, so
//! that the card number never passes through the page or the merchant's server.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::gateway::access::{self, Permission};
use crate::gateway::context::{card_fields, loaders, upstream};
use crate::gateway::error::{GatewayError, gql};

#[derive(Default)]
pub struct CardSetupMutations;

#[derive(InputObject)]
pub struct CreateCardSetupInput {
    /// The customer the card is for: the token the fields make goes to `addCard` (or
    /// `createCustomer`, `chargeCustomer`) for this customer.
    pub customer_id: String,
}

/// A transient key and where the fields are. The key tokenizes one card and does nothing else;
/// it ends at `expiresAt`, after one card is tokenized, or after three declined cards.
#[derive(SimpleObject)]
pub struct CreateCardSetupPayload {
    /// Hand it to the fields (`VaultqlFields.loadFrame(merchantId, {transientKey, ...})`).
    pub transient_key: String,
    /// The merchant the fields tokenize for (an id wider than `Int`).
    pub merchant_id: String,
    pub expires_at: Option<DateTime<Utc>>,
    /// The hosted fields page, relative to the gateway (`/embedded/frame?merchant_id=...`)
    /// when it runs the embedded vault; null against Qualpay, whose Embedded Fields script
    /// takes the same transient key.
    pub frame_url: Option<String>,
}

/// The spec's timestamp, `2016-02-21T12:57:47.000-0700`.
fn parse_spec_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.3f%z")
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

#[Object]
impl CardSetupMutations {
    /// Starts collecting a card with the embedded fields: a secret key, or a customer session
    /// with `ADD_PAYMENT_METHOD` for its own customer.
    async fn create_card_setup(
        &self,
        ctx: &Context<'_>,
        input: CreateCardSetupInput,
    ) -> Result<CreateCardSetupPayload> {
        access::customer(ctx, &input.customer_id, Some(Permission::AddPaymentMethod))?;
        if loaders(ctx)?
            .customer(&input.customer_id)
            .await
            .map_err(gql)?
            .is_none()
        {
            return Err(gql(GatewayError::NotFound(format!(
                "no customer {}",
                input.customer_id
            ))));
        }
        let key = upstream(ctx)?.embedded_key().await.map_err(gql)?;
        let transient_key = key.transient_key.ok_or_else(|| {
            gql(GatewayError::Internal(
                "the vault answered no transient_key".into(),
            ))
        })?;
        let merchant_id = key.merchant_id.map(|id| id.to_string()).unwrap_or_default();
        let frame_url = card_fields(ctx).map(|page| format!("{page}?merchant_id={merchant_id}"));
        Ok(CreateCardSetupPayload {
            transient_key,
            expires_at: key.expiry_time.as_deref().and_then(parse_spec_time),
            frame_url,
            merchant_id,
        })
    }
}
