//! The `Subscription` root: live events over WebSocket ([`super::websocket`]).
//!
//! Each received event is run as its own GraphQL execution of the subscriber's document, with
//! fresh loaders and the event in the request's data ([`CurrentEvent`]); the execution made
//! when the subscription starts has no event and only checks access. A field yields the event
//! only when the subscriber's own credential loads the objects it names — a subscription, a
//! payment, a customer's cards — through the same loaders as queries, so whatever a credential
//! may not read, it is never told about. The event's own `data` only says where to look.

use std::sync::Arc;

use async_graphql::{Context, Result, Subscription};
use futures_util::stream::{self, BoxStream, StreamExt};

use crate::gateway::access::{self, Permission};
use crate::gateway::context::loaders;
use crate::gateway::error::gql;
use crate::gateway::events::LiveEvent;
use crate::gateway::types::{
    BillingEvent, BillingEventType, CardUpdate, Customer, PaymentEvent, PaymentEventType,
};

/// The event one execution of a subscription is for (request data).
#[derive(Clone)]
pub struct CurrentEvent(pub Arc<LiveEvent>);

fn current(ctx: &Context<'_>) -> Option<Arc<LiveEvent>> {
    ctx.data_opt::<CurrentEvent>().map(|event| event.0.clone())
}

fn yielding<T: Send + 'static>(items: Vec<T>) -> BoxStream<'static, T> {
    stream::iter(items).boxed()
}

/// The `Subscription` root type.
#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// A customer's payments as something happens to them: a recurring payment approved or
    /// declined, a status change (capture, void, settlement, refund).
    async fn payment_events(
        &self,
        ctx: &Context<'_>,
        customer_id: String,
    ) -> Result<BoxStream<'static, PaymentEvent>> {
        access::customer(ctx, &customer_id, Some(Permission::ReadPayments))?;
        let Some(event) = current(ctx) else {
            return Ok(yielding(Vec::new()));
        };
        let (Some(kind), Some(pg_id)) = (PaymentEventType::of(&event.name), event.pg_id()) else {
            return Ok(yielding(Vec::new()));
        };
        let named = event.customer_id();
        if named.as_ref().is_some_and(|id| *id != customer_id) {
            return Ok(yielding(Vec::new()));
        }
        let payment = loaders(ctx)?.payment(&pg_id).await.map_err(gql)?;
        // The payment's own customer decides; a payment that names none is the event's.
        let events = payment
            .filter(|payment| payment.customer_id.as_ref().or(named.as_ref()) == Some(&customer_id))
            .map(|payment| PaymentEvent {
                event,
                kind,
                payment,
            });
        Ok(yielding(events.into_iter().collect()))
    }

    /// What happens to a customer's subscriptions (or to one of them): payments approved and
    /// declined, suspension, completion.
    async fn subscription_events(
        &self,
        ctx: &Context<'_>,
        customer_id: String,
        subscription_id: Option<String>,
    ) -> Result<BoxStream<'static, BillingEvent>> {
        access::customer(ctx, &customer_id, Some(Permission::ReadSubscriptions))?;
        let wanted = subscription_id.map(|id| id.parse::<i64>().unwrap_or(-1));
        let events = billing_event(ctx, Some(&customer_id), wanted).await?;
        Ok(yielding(events.into_iter().collect()))
    }

    /// Everything that happens to the merchant's subscriptions: secret keys only.
    #[graphql(guard = "access::MerchantOnly")]
    async fn billing_events(&self, ctx: &Context<'_>) -> Result<BoxStream<'static, BillingEvent>> {
        let events = billing_event(ctx, None, None).await?;
        Ok(yielding(events.into_iter().collect()))
    }

    /// The account updater's answers for a customer's cards (new expiry, new number, closed),
    /// one per card, with the card as it is after the update.
    async fn card_updates(
        &self,
        ctx: &Context<'_>,
        customer_id: String,
    ) -> Result<BoxStream<'static, CardUpdate>> {
        access::customer(ctx, &customer_id, Some(Permission::ReadPaymentMethods))?;
        let Some(event) = current(ctx) else {
            return Ok(yielding(Vec::new()));
        };
        if event.name != "account_updater_request_completed" {
            return Ok(yielding(Vec::new()));
        }
        let cards: Vec<_> = event
            .updated_cards()
            .into_iter()
            .filter(|(_, customer, _)| *customer == customer_id)
            .collect();
        if cards.is_empty() {
            return Ok(yielding(Vec::new()));
        }
        let Some(customer) = loaders(ctx)?.customer(&customer_id).await.map_err(gql)? else {
            return Ok(yielding(Vec::new()));
        };
        let customer = Customer::new(customer);
        let updates = cards
            .into_iter()
            .filter_map(|(card_id, _, reason_code)| {
                let card = customer.payment_method(&card_id)?.into_card()?;
                Some(CardUpdate {
                    event: event.clone(),
                    reason_code,
                    customer: customer.clone(),
                    card,
                })
            })
            .collect();
        Ok(yielding(updates))
    }
}

/// The subscription event of the current execution, when it is one, of `customer_id`'s (when
/// given) subscription `wanted` (when given), and the subscriber can load the subscription.
async fn billing_event(
    ctx: &Context<'_>,
    customer_id: Option<&str>,
    wanted: Option<i64>,
) -> Result<Option<BillingEvent>> {
    let Some(event) = current(ctx) else {
        return Ok(None);
    };
    let (Some(kind), Some(id)) = (BillingEventType::of(&event.name), event.subscription_id())
    else {
        return Ok(None);
    };
    let other_customer =
        customer_id.is_some_and(|customer| event.customer_id().is_some_and(|id| id != customer));
    if other_customer || wanted.is_some_and(|wanted| wanted != id) {
        return Ok(None);
    }
    let subscription = loaders(ctx)?.subscription(id).await.map_err(gql)?;
    Ok(subscription
        .filter(|subscription| {
            customer_id.is_none_or(|customer| subscription.customer_id.as_deref() == Some(customer))
        })
        .map(|subscription| BillingEvent {
            event,
            kind,
            subscription,
        }))
}
