//! The events live subscriptions yield ([`crate::gateway::live_query`]): what happened, when,
//! and the objects it happened to, loaded with the subscriber's own credential like any query.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object, Result};
use chrono::{DateTime, Utc};

use super::{BillingSubscription, Card, Customer, Payment};
use crate::gateway::context::loaders;
use crate::gateway::error::gql;
use crate::gateway::events::LiveEvent;
use crate::qualpay::{Subscription, Transaction};

/// What happened to a subscription.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum BillingEventType {
    /// A recurring payment was approved (`subscription_payment_success`).
    PaymentSucceeded,
    /// A recurring payment was declined (`subscription_payment_failure`).
    PaymentFailed,
    /// Billing gave up after failed payments (`subscription_suspended`).
    Suspended,
    /// The last payment of the plan was made (`subscription_complete`).
    Completed,
}

impl BillingEventType {
    /// The type of a Qualpay event name, when it is a subscription's event.
    pub fn of(name: &str) -> Option<Self> {
        Some(match name {
            "subscription_payment_success" => Self::PaymentSucceeded,
            "subscription_payment_failure" => Self::PaymentFailed,
            "subscription_suspended" => Self::Suspended,
            "subscription_complete" => Self::Completed,
            _ => return None,
        })
    }
}

/// Something that happened to a subscription.
pub struct BillingEvent {
    pub event: Arc<LiveEvent>,
    pub kind: BillingEventType,
    pub subscription: Arc<Subscription>,
}

#[Object]
impl BillingEvent {
    /// The same for every delivery of one event (a retried webhook is not a new event).
    async fn event_id(&self) -> ID {
        ID(self.event.id.clone())
    }

    #[graphql(name = "type")]
    async fn kind(&self) -> BillingEventType {
        self.kind
    }

    async fn occurred_at(&self) -> DateTime<Utc> {
        self.event.occurred_at
    }

    /// Sent by a webhook test rather than by a real change.
    async fn is_test(&self) -> bool {
        self.event.is_test
    }

    /// The subscription as it is now.
    async fn subscription(&self) -> BillingSubscription {
        BillingSubscription::new(self.subscription.clone())
    }

    /// The payment attempt, for `PAYMENT_SUCCEEDED` and `PAYMENT_FAILED`.
    async fn payment(&self, ctx: &Context<'_>) -> Result<Option<Payment>> {
        let Some(pg_id) = self.event.pg_id() else {
            return Ok(None);
        };
        let payment = loaders(ctx)?.payment(&pg_id).await.map_err(gql)?;
        Ok(payment.map(Payment::new))
    }
}

/// What happened to a payment.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PaymentEventType {
    /// A subscription's recurring payment was approved.
    SubscriptionPaymentSucceeded,
    /// A subscription's recurring payment was declined.
    SubscriptionPaymentFailed,
    /// The payment's status changed: captured, voided, settled, refunded
    /// (`transaction_status_updated`).
    StatusUpdated,
}

impl PaymentEventType {
    pub fn of(name: &str) -> Option<Self> {
        Some(match name {
            "subscription_payment_success" => Self::SubscriptionPaymentSucceeded,
            "subscription_payment_failure" => Self::SubscriptionPaymentFailed,
            "transaction_status_updated" => Self::StatusUpdated,
            _ => return None,
        })
    }
}

/// Something that happened to one of a customer's payments.
pub struct PaymentEvent {
    pub event: Arc<LiveEvent>,
    pub kind: PaymentEventType,
    pub payment: Arc<Transaction>,
}

#[Object]
impl PaymentEvent {
    async fn event_id(&self) -> ID {
        ID(self.event.id.clone())
    }

    #[graphql(name = "type")]
    async fn kind(&self) -> PaymentEventType {
        self.kind
    }

    async fn occurred_at(&self) -> DateTime<Utc> {
        self.event.occurred_at
    }

    async fn is_test(&self) -> bool {
        self.event.is_test
    }

    /// The payment as it is now.
    async fn payment(&self) -> Payment {
        Payment::new(self.payment.clone())
    }

    /// The subscription the payment was for, if it was a recurring one.
    async fn subscription(&self, ctx: &Context<'_>) -> Result<Option<BillingSubscription>> {
        let id = self
            .payment
            .subscription_id
            .as_deref()
            .and_then(|id| id.parse().ok())
            .or_else(|| self.event.subscription_id());
        let Some(id) = id else {
            return Ok(None);
        };
        let found = loaders(ctx)?.subscription(id).await.map_err(gql)?;
        Ok(found.map(BillingSubscription::new))
    }
}

/// What the card brands' updater answered for a card (its reason code).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CardUpdateOutcome {
    /// `200`: nothing changed.
    NoChange,
    /// `201`: a new expiry date.
    NewExpiry,
    /// `202`: a new card number (same card id, new masked number).
    NewNumber,
    /// `203`: the account is closed; the card is on hold.
    AccountClosed,
    /// `204`: the cardholder should be contacted; the card is on hold.
    ContactCardholder,
    /// `206`: the brand has no record of the card.
    NoMatch,
    /// Any other reason code: see `reasonCode`.
    Other,
}

impl CardUpdateOutcome {
    pub fn of(reason_code: &str) -> Self {
        match reason_code {
            "200" => Self::NoChange,
            "201" => Self::NewExpiry,
            "202" => Self::NewNumber,
            "203" => Self::AccountClosed,
            "204" => Self::ContactCardholder,
            "206" => Self::NoMatch,
            _ => Self::Other,
        }
    }
}

/// The account updater's answer for one of a customer's cards
/// (`account_updater_request_completed`).
pub struct CardUpdate {
    pub event: Arc<LiveEvent>,
    pub reason_code: String,
    pub customer: Customer,
    pub card: Card,
}

#[Object]
impl CardUpdate {
    async fn event_id(&self) -> ID {
        ID(self.event.id.clone())
    }

    async fn occurred_at(&self) -> DateTime<Utc> {
        self.event.occurred_at
    }

    async fn is_test(&self) -> bool {
        self.event.is_test
    }

    /// The brand's reason code, e.g. `201`.
    async fn reason_code(&self) -> &str {
        &self.reason_code
    }

    async fn outcome(&self) -> CardUpdateOutcome {
        CardUpdateOutcome::of(&self.reason_code)
    }

    /// The card as it is now.
    async fn card(&self) -> Card {
        self.card.clone()
    }

    async fn customer(&self) -> Customer {
        self.customer.clone()
    }
}
