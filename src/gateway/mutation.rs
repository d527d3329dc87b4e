//! The mutation root. Each mutation takes one `input: <Mutation>Input!` and returns a
//! `<Mutation>Payload!` that holds the changed object under its own name and the customer as it
//! is after the change (the schema's contract: every mutation has its own input and payload
//! types, so a client's variables name the mutation they are for).

mod account_updater;
mod address;
mod billing;
mod card;
mod card_setup;
mod customer;
mod payment;
mod session;
mod webhook;

use std::sync::Arc;

use async_graphql::{Context, MergedObject, Result};

use crate::gateway::context::loaders;
use crate::gateway::error::gql;
use crate::gateway::types::Customer;
use crate::qualpay::CustomerVault;
use crate::upstream::UpstreamError;

/// Declares one GraphQL type per name with the same fields: mutations whose inputs or payloads
/// have the same shape still get a type of their own each. `from` a shared value makes each
/// convertible from it, field by field.
macro_rules! per_mutation {
    (
        $(#[doc = $doc:literal])*
        #[derive($derive:ident)]
        $(from $shared:ident)?
        { $($fields:tt)* }
        as $($name:ident),+
    ) => {
        per_mutation!(
            @each [$(#[doc = $doc])* #[derive($derive)]] [$($shared)?] { $($fields)* } $($name)+
        );
    };
    (@each $attrs:tt $shared:tt $fields:tt $name:ident $($rest:ident)*) => {
        per_mutation!(@type $attrs $name $fields);
        per_mutation!(@from $shared $name $fields);
        per_mutation!(@each $attrs $shared $fields $($rest)*);
    };
    (@each $attrs:tt $shared:tt $fields:tt) => {};
    (@type [$($attr:tt)*] $name:ident { $($(#[doc = $field_doc:literal])* $field:ident: $ty:ty),+ $(,)? }) => {
        $($attr)*
        pub struct $name {
            $($(#[doc = $field_doc])* pub $field: $ty),+
        }
    };
    (@from [] $name:ident $fields:tt) => {};
    (@from [$shared:ident] $name:ident { $($(#[doc = $field_doc:literal])* $field:ident: $ty:ty),+ $(,)? }) => {
        impl From<$shared> for $name {
            fn from(shared: $shared) -> Self {
                Self { $($field: shared.$field),+ }
            }
        }
    };
}
pub(crate) use per_mutation;

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    customer::CustomerMutations,
    card::CardMutations,
    card_setup::CardSetupMutations,
    address::AddressMutations,
    billing::BillingMutations,
    payment::PaymentMutations,
    session::SessionMutations,
    webhook::WebhookMutations,
    account_updater::AccountUpdaterMutations,
);

/// Wraps the customer a write returned, and puts it in the request's loader so later fields
/// of the same request see the change.
async fn changed(
    ctx: &Context<'_>,
    result: Result<CustomerVault, UpstreamError>,
) -> Result<Customer> {
    let customer = Arc::new(result.map_err(gql)?);
    loaders(ctx)?.remember_customers([customer.clone()]).await;
    Ok(Customer::new(customer))
}
