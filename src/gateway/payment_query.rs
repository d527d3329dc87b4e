//! The payment queries: `payment(pgId:)` and the merchant's `payments`.

use async_graphql::{Context, Object, Result};

use crate::gateway::access::{MerchantOnly, Needs, Permission};
use crate::gateway::context::loaders;
use crate::gateway::error::{gql, null_on_error};
use crate::gateway::paging::PageArgs;
use crate::gateway::types::{Payment, PaymentConnection, PaymentFilter, payment_page};

/// The payment and payments queries.
#[derive(Default)]
pub struct PaymentQuery;

#[Object]
impl PaymentQuery {
    /// A payment by its `pgId`; null when there is none (for a customer session, when it is
    /// not its customer's).
    #[graphql(guard = "Needs(Permission::ReadPayments)")]
    async fn payment(&self, ctx: &Context<'_>, pg_id: String) -> Option<Payment> {
        let found = match loaders(ctx) {
            Ok(loaders) => loaders.payment(&pg_id).await.map_err(gql),
            Err(error) => Err(error),
        };
        null_on_error(ctx, found).map(Payment::new)
    }

    /// The merchant's payments, newest first, a page at a time (like `customers`).
    #[graphql(
        complexity = "crate::gateway::cost::page(first, last, child_complexity)",
        guard = "MerchantOnly"
    )]
    async fn payments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<PaymentFilter>,
    ) -> Result<PaymentConnection> {
        let filters = filter.unwrap_or_default().to_upstream().map_err(gql)?;
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        payment_page(ctx, args, filters).await
    }
}
