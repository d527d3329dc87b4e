//! The Relay `Node` interface and the lookup behind `Query.node`.

use async_graphql::{Context, ID, Interface, Result};

use super::{BankAccount, Card, Customer, PaymentMethod, ShippingAddress, customer_loader};
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
}

impl Node {
    /// Finds the object behind a global id through the customer loader, so many `node` fields
    /// in one request cost one upstream call. Unknown or malformed ids give null.
    pub async fn find(ctx: &Context<'_>, id: &ID) -> Result<Option<Node>> {
        let Some(node) = ids::decode(id) else {
            return Ok(None);
        };
        let customer_id = match &node {
            NodeRef::Customer(id)
            | NodeRef::PaymentMethod {
                customer_id: id, ..
            }
            | NodeRef::ShippingAddress {
                customer_id: id, ..
            } => id.clone(),
        };
        let Some(customer) = customer_loader(ctx)?.get(&customer_id).await.map_err(gql)? else {
            return Ok(None);
        };
        Ok(match node {
            NodeRef::Customer(_) => Some(Node::Customer(customer)),
            NodeRef::PaymentMethod { card_id, .. } => customer
                .payment_method_list()
                .into_iter()
                .find(|method| method.key() == card_id)
                .map(|method| match method {
                    PaymentMethod::Card(card) => Node::Card(card),
                    PaymentMethod::BankAccount(account) => Node::BankAccount(account),
                }),
            NodeRef::ShippingAddress { shipping_id, .. } => customer
                .shipping_address_list()
                .into_iter()
                .find(|address| address.key() == shipping_id)
                .map(Node::ShippingAddress),
        })
    }
}
