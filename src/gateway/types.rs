//! The GraphQL object types. Each is a view over the upstream's wire object, shared with the
//! loaders' cache rather than copied, and computes its fields from it; links to other objects
//! go through the request's [`crate::gateway::loaders::Loaders`].

mod account_updater;
mod address;
mod charge;
pub mod codes;
mod customer;
mod event;
mod node;
mod payment;
mod payment_page;
mod plan;
mod subscription;
mod webhook;

pub use account_updater::{AccountUpdaterRequest, AccountUpdaterStatus, RejectedCard};
pub use address::ShippingAddress;
pub use charge::{IDEMPOTENCY_PREFIX, Payment, PaymentKind, PaymentStatus};
pub use codes::{BankAccountType, CardBrand};
pub use customer::Customer;
pub use event::{
    BillingEvent, BillingEventType, CardUpdate, CardUpdateOutcome, PaymentEvent, PaymentEventType,
};
pub use node::Node;
pub use payment::{BankAccount, Card, PaymentMethod};
pub use payment_page::{
    CustomerPaymentFilter, PaymentConnection, PaymentFilter, customer_payments, payment_page,
};
pub use plan::Plan;
pub use subscription::{
    BillingSubscription, BillingSubscriptionConnection, SubscriptionTransaction, subscription_page,
};
pub use webhook::{Webhook, WebhookAuthType, WebhookStatus};

use async_graphql::{Context, Result};

use crate::gateway::context::loaders;
use crate::gateway::error::{GatewayError, gql};

/// The customer behind a link: a customer that vanished between two calls is an error here,
/// since the link promised one.
pub async fn linked_customer(ctx: &Context<'_>, customer_id: &str) -> Result<Customer> {
    loaders(ctx)?
        .customer(customer_id)
        .await
        .map_err(gql)?
        .map(Customer::new)
        .ok_or_else(|| {
            gql(GatewayError::NotFound(format!(
                "customer {customer_id} no longer exists"
            )))
        })
}
