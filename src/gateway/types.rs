//! The GraphQL object types. Each wraps the upstream's wire object and computes its fields;
//! links to other objects go through the per-request loaders in [`crate::gateway::loaders`].

mod address;
pub mod codes;
mod customer;
mod node;
mod payment;
mod plan;
mod subscription;

pub use address::ShippingAddress;
pub use customer::Customer;
pub use node::Node;
pub use payment::{BankAccount, BankAccountType, Card, CardBrand, PaymentMethod};
pub use plan::Plan;
pub use subscription::{
    BillingSubscription, BillingSubscriptionConnection, SubscriptionTransaction, subscription_page,
};

use async_graphql::{Context, Result};

use crate::gateway::error::{GatewayError, gql};
use crate::gateway::loaders::CustomerLoader;
use crate::gateway::loaders::billing::BillingLoaders;

/// The request's customer loader (put there by the HTTP handler).
pub fn customer_loader<'a>(ctx: &Context<'a>) -> Result<&'a CustomerLoader> {
    ctx.data::<CustomerLoader>().map_err(|_| {
        gql(GatewayError::Internal(
            "the request has no customer loader".into(),
        ))
    })
}

/// The request's billing loaders (put there by the HTTP handler).
pub fn billing_loaders<'a>(ctx: &Context<'a>) -> Result<&'a BillingLoaders> {
    ctx.data::<BillingLoaders>().map_err(|_| {
        gql(GatewayError::Internal(
            "the request has no billing loaders".into(),
        ))
    })
}

/// The customer behind a link: a customer that vanished between two calls is an error here,
/// since the link promised one.
pub async fn linked_customer(ctx: &Context<'_>, customer_id: &str) -> Result<Customer> {
    customer_loader(ctx)?
        .get(customer_id)
        .await
        .map_err(gql)?
        .ok_or_else(|| {
            gql(GatewayError::NotFound(format!(
                "customer {customer_id} no longer exists"
            )))
        })
}
