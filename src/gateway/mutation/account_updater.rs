//! `startAccountUpdater`, `holdCard`, `releaseCard`: the Account Updater (secret keys only; a
//! customer session gets FORBIDDEN before any upstream call).

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::{changed, per_mutation};
use crate::gateway::access;
use crate::gateway::context::upstream;
use crate::gateway::error::{GatewayError, gql};
use crate::gateway::types::{AccountUpdaterRequest, Card, Customer, PaymentMethod};

/// The most cards one request may name.
const MAX_CARDS: usize = 100;

#[derive(Default)]
pub struct AccountUpdaterMutations;

/// The stored cards to ask the card networks about.
#[derive(InputObject)]
pub struct StartAccountUpdaterInput {
    /// 1 to 100 of the merchant's `cardId`s. Ids that are not the merchant's cards, bank
    /// accounts and cards on hold are left out (`rejectedCards`).
    pub card_ids: Vec<ID>,
}

#[derive(SimpleObject)]
pub struct StartAccountUpdaterPayload {
    /// The new request, in progress: it completes in a few days (3 by the embedded vault's
    /// clock) and then changes the cards it has news of.
    pub request: AccountUpdaterRequest,
}

per_mutation! {
    /// Names one card of a customer.
    #[derive(InputObject)]
    { customer_id: String, card_id: String }
    as HoldCardInput, ReleaseCardInput
}

per_mutation! {
    #[derive(SimpleObject)]
    { customer: Customer, card: Option<Card> }
    as HoldCardPayload, ReleaseCardPayload
}

#[Object]
impl AccountUpdaterMutations {
    /// Asks the card networks for new numbers and expiry dates of stored cards.
    async fn start_account_updater(
        &self,
        ctx: &Context<'_>,
        input: StartAccountUpdaterInput,
    ) -> Result<StartAccountUpdaterPayload> {
        access::merchant_only(ctx)?;
        if input.card_ids.is_empty() || input.card_ids.len() > MAX_CARDS {
            return Err(gql(GatewayError::BadUserInput(format!(
                "cardIds: 1 to {MAX_CARDS} card ids ({} given)",
                input.card_ids.len()
            ))));
        }
        let card_ids: Vec<String> = input.card_ids.into_iter().map(|id| id.0).collect();
        let upstream = upstream(ctx)?;
        let request_id = upstream
            .create_account_updater_request(&card_ids)
            .await
            .map_err(gql)?;
        let summary = upstream
            .account_updater_summary(request_id)
            .await
            .map_err(gql)?;
        Ok(StartAccountUpdaterPayload {
            request: AccountUpdaterRequest::new(summary),
        })
    }

    /// Puts a card on hold: the account updater leaves it out and recurring billing does not
    /// charge it (with the embedded vault) until it is released.
    async fn hold_card(&self, ctx: &Context<'_>, input: HoldCardInput) -> Result<HoldCardPayload> {
        let (customer, card) = set_hold(ctx, &input.customer_id, &input.card_id, true).await?;
        Ok(HoldCardPayload { customer, card })
    }

    /// Releases a held card.
    async fn release_card(
        &self,
        ctx: &Context<'_>,
        input: ReleaseCardInput,
    ) -> Result<ReleaseCardPayload> {
        let (customer, card) = set_hold(ctx, &input.customer_id, &input.card_id, false).await?;
        Ok(ReleaseCardPayload { customer, card })
    }
}

/// Holds or releases the customer's card: the card must be the customer's (the hold itself
/// names only the card), and the answer is the customer as it is afterwards.
async fn set_hold(
    ctx: &Context<'_>,
    customer_id: &str,
    card_id: &str,
    hold: bool,
) -> Result<(Customer, Option<Card>)> {
    access::merchant_only(ctx)?;
    let upstream = upstream(ctx)?;
    let before = upstream.customer(customer_id).await.map_err(gql)?;
    if !before.billing_cards.iter().any(|c| c.card_id == card_id) {
        return Err(gql(GatewayError::NotFound(
            "cardId: the customer has no such card".into(),
        )));
    }
    upstream.set_card_hold(card_id, hold).await.map_err(gql)?;
    let customer = changed(ctx, upstream.customer(customer_id).await).await?;
    let card = customer
        .payment_method(card_id)
        .and_then(PaymentMethod::into_card);
    Ok((customer, card))
}
