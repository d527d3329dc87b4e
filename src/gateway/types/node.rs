//! The Relay `Node` interface and the lookup behind `Query.node`.

use async_graphql::{Context, ID, Interface, Result};

use super::{
    BankAccount, BillingSubscription, Card, Customer, Payment, PaymentMethod, Plan,
    ShippingAddress, SubscriptionTransaction,
};
use crate::gateway::access::{self, Permission};
use crate::gateway::context::loaders;
use crate::gateway::error::gql;
use crate::gateway::ids::{self, NodeRef};

/// An object with a global id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Global id, for `node(id:)`."))]
pub enum Node {
    Customer(Customer),
    Card(Card),
    BankAccount(BankAccount),
    ShippingAddress(ShippingAddress),
    Plan(Plan),
    BillingSubscription(BillingSubscription),
    SubscriptionTransaction(SubscriptionTransaction),
    Payment(Payment),
}

impl Node {
    /// Finds the object behind a global id through the loaders, so many `node` fields in one
    /// request cost one upstream call per kind. Unknown or malformed ids give null. A customer
    /// session is refused another customer's objects before any call, and plans altogether;
    /// subscriptions are looked up among its customer's only (another's is not found).
    pub async fn find(ctx: &Context<'_>, id: &ID) -> Result<Option<Node>> {
        let Some(node) = ids::decode(id) else {
            return Ok(None);
        };
        match &node {
            NodeRef::Plan(_) => access::merchant_only(ctx)?,
            NodeRef::Subscription(_) | NodeRef::Transaction { .. } => {
                access::needs(ctx, Permission::ReadSubscriptions)?
            }
            NodeRef::Payment(_) => access::needs(ctx, Permission::ReadPayments)?,
            NodeRef::Customer(customer_id) => access::customer(ctx, customer_id, None)?,
            NodeRef::PaymentMethod { customer_id, .. } => {
                access::customer(ctx, customer_id, Some(Permission::ReadPaymentMethods))?
            }
            NodeRef::ShippingAddress { customer_id, .. } => {
                access::customer(ctx, customer_id, Some(Permission::ReadShippingAddresses))?
            }
        }
        match node {
            NodeRef::Plan(code) => {
                let plan = loaders(ctx)?.plan(&code).await.map_err(gql)?;
                Ok(plan.map(|p| Node::Plan(Plan::new(p))))
            }
            NodeRef::Subscription(id) => {
                Ok(subscription(ctx, id).await?.map(Node::BillingSubscription))
            }
            NodeRef::Transaction {
                subscription_id,
                pg_id,
            } => {
                let Some(subscription) = subscription(ctx, subscription_id).await? else {
                    return Ok(None);
                };
                let all = loaders(ctx)?
                    .transactions_of(subscription_id)
                    .await
                    .map_err(gql)?;
                let customer_id = subscription
                    .raw()
                    .customer_id
                    .as_deref()
                    .unwrap_or_default();
                Ok(all
                    .iter()
                    .find(|t| t.pg_id.as_deref() == Some(pg_id.as_str()))
                    .map(|t| {
                        let transaction = SubscriptionTransaction::of(customer_id, t.clone());
                        Node::SubscriptionTransaction(transaction)
                    }))
            }
            NodeRef::Payment(pg_id) => {
                let found = loaders(ctx)?.payment(&pg_id).await.map_err(gql)?;
                Ok(found.map(|row| Node::Payment(Payment::new(row))))
            }
            NodeRef::Customer(customer_id) => {
                Ok(customer(ctx, &customer_id).await?.map(Node::Customer))
            }
            NodeRef::PaymentMethod {
                customer_id,
                card_id,
            } => Ok(customer(ctx, &customer_id).await?.and_then(|customer| {
                customer
                    .payment_method(&card_id)
                    .map(|method| match method {
                        PaymentMethod::Card(card) => Node::Card(card),
                        PaymentMethod::BankAccount(account) => Node::BankAccount(account),
                    })
            })),
            NodeRef::ShippingAddress {
                customer_id,
                shipping_id,
            } => Ok(customer(ctx, &customer_id).await?.and_then(|customer| {
                customer
                    .shipping_address(shipping_id)
                    .map(Node::ShippingAddress)
            })),
        }
    }
}

async fn customer(ctx: &Context<'_>, customer_id: &str) -> Result<Option<Customer>> {
    let found = loaders(ctx)?.customer(customer_id).await.map_err(gql)?;
    Ok(found.map(Customer::new))
}

async fn subscription(ctx: &Context<'_>, id: i64) -> Result<Option<BillingSubscription>> {
    let found = loaders(ctx)?.subscription(id).await.map_err(gql)?;
    Ok(found.map(BillingSubscription::new))
}
