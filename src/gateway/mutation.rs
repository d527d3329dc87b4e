//! The mutation root. Each mutation takes one `input` argument and returns a payload that holds
//! the changed object under its own name and, always, the customer as it is after the change.

mod address;
mod billing;
mod card;
mod customer;
mod session;

use async_graphql::{Context, MergedObject, Result};

use crate::gateway::error::gql;
use crate::gateway::types::{Customer, customer_loader};
use crate::qualpay::CustomerVault;
use crate::upstream::UpstreamError;

#[derive(MergedObject, Default)]
pub struct MutationRoot(
    customer::CustomerMutations,
    card::CardMutations,
    address::AddressMutations,
    billing::BillingMutations,
    session::SessionMutations,
);

/// Wraps the customer a write returned, and puts it in the request's loader so later fields
/// of the same request see the change.
async fn changed(
    ctx: &Context<'_>,
    result: Result<CustomerVault, UpstreamError>,
) -> Result<Customer> {
    let customer = Customer::new(result.map_err(gql)?);
    customer_loader(ctx)?.remember([customer.clone()]).await;
    Ok(customer)
}
