//! The query root: `node`, `customer` and `customers`.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, MergedObject, Object, Result, SimpleObject};

use crate::gateway::access::{self, MerchantOnly};
use crate::gateway::customer_query::{CustomerFilter, CustomerOrder};
use crate::gateway::error::{gql, null_on_error};
use crate::gateway::paging::{PageArgs, Window, browse_window, encode_cursor};
use crate::gateway::subscription_query::SubscriptionFilter;
use crate::gateway::types::{
    BillingSubscription, BillingSubscriptionConnection, Customer, Node, Plan, billing_loaders,
    customer_loader, subscription_page,
};
use crate::gateway::upstream;
use crate::qualpay::Filter;

/// The query root: customers, and billing.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(CustomerQuery, BillingQuery);

#[derive(Default)]
pub struct CustomerQuery;

#[derive(Default)]
pub struct BillingQuery;

pub type PlanConnection = Connection<String, Plan, ConnectionTotal>;

/// Fields a connection has beside `edges` and `pageInfo`.
#[derive(SimpleObject)]
pub struct ConnectionTotal {
    /// How many items match, on all pages.
    pub total_count: i64,
}

pub type CustomerConnection = Connection<String, Customer, ConnectionTotal>;

#[Object]
impl CustomerQuery {
    /// Any object by its global id; null when there is none.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Option<Node> {
        null_on_error(ctx, Node::find(ctx, &id).await)
    }

    /// A customer by the vault's `customerId`; null when there is none. A customer session
    /// reaches its own customer only.
    async fn customer(&self, ctx: &Context<'_>, customer_id: String) -> Option<Customer> {
        let found = match access::customer(ctx, &customer_id, None).and(customer_loader(ctx)) {
            Ok(loader) => loader.get(&customer_id).await.map_err(gql),
            Err(error) => Err(error),
        };
        null_on_error(ctx, found)
    }

    /// Customers, a page at a time: 10 when neither `first` nor `last` is given, at most 100.
    /// Ordered by `customerId` ascending unless `orderBy` says otherwise.
    #[expect(
        clippy::too_many_arguments,
        reason = "a Relay connection field takes its four paging arguments plus filter and order"
    )]
    #[graphql(
        complexity = "crate::gateway::cost::page(first, last, child_complexity)",
        guard = "MerchantOnly"
    )]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CustomerFilter>,
        order_by: Option<CustomerOrder>,
    ) -> Result<CustomerConnection> {
        let upstream = upstream(ctx)?;
        let filters = filter.unwrap_or_default().to_upstream().map_err(gql)?;
        let (order_on, order_by) = order_by.map_or(("customer_id", "asc"), |o| o.to_upstream());
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let window = browse_window(&args, (order_on, order_by), &filters, |params| async move {
            upstream.browse_customers(&params).await
        })
        .await
        .map_err(gql)?;
        let customers: Vec<Customer> = window.items.into_iter().map(Customer::new).collect();
        // Links from this page's cards and addresses back to their customers cost nothing more.
        customer_loader(ctx)?
            .remember(customers.iter().cloned())
            .await;
        Ok(connection(Window {
            items: customers,
            start: window.start,
            total: window.total,
        }))
    }
}

#[Object]
impl BillingQuery {
    /// A plan by its code (archived ones too); null when there is none.
    #[graphql(guard = "MerchantOnly")]
    async fn plan(&self, ctx: &Context<'_>, plan_code: String) -> Option<Plan> {
        let found = match billing_loaders(ctx) {
            Ok(loaders) => loaders.plans.load_one(plan_code).await.map_err(gql),
            Err(error) => Err(error),
        };
        null_on_error(ctx, found).map(Plan::new)
    }

    /// Plans by code; archived ones only with `includeArchived`.
    #[graphql(
        complexity = "crate::gateway::cost::page(first, last, child_complexity)",
        guard = "MerchantOnly"
    )]
    async fn plans(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default = false)] include_archived: bool,
    ) -> Result<PlanConnection> {
        let upstream = upstream(ctx)?;
        let filters = if include_archived {
            Vec::new()
        } else {
            // Qualpay marks an active plan `E`.
            vec![Filter::eq("status", "E").map_err(gql)?]
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let window = browse_window(&args, ("plan_code", "asc"), &filters, |params| async move {
            upstream.browse_plans(&params).await
        })
        .await
        .map_err(gql)?;
        let plans: Vec<Plan> = window.items.into_iter().map(Plan::new).collect();
        billing_loaders(ctx)?
            .plans
            .feed_many(plans.iter().map(|p| (p.code().to_owned(), p.raw().clone())))
            .await;
        Ok(connection(Window {
            items: plans,
            start: window.start,
            total: window.total,
        }))
    }

    /// A subscription by the vault's id; null when there is none.
    #[graphql(guard = "MerchantOnly")]
    async fn subscription(
        &self,
        ctx: &Context<'_>,
        subscription_id: String,
    ) -> Option<BillingSubscription> {
        let Ok(id) = subscription_id.parse::<i64>() else {
            return None;
        };
        let found = match billing_loaders(ctx) {
            Ok(loaders) => loaders.subscriptions.load_one(id).await.map_err(gql),
            Err(error) => Err(error),
        };
        null_on_error(ctx, found).map(BillingSubscription::new)
    }

    /// Subscriptions, newest first, a page at a time (like `customers`).
    #[graphql(
        complexity = "crate::gateway::cost::page(first, last, child_complexity)",
        guard = "MerchantOnly"
    )]
    async fn subscriptions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<SubscriptionFilter>,
    ) -> Result<BillingSubscriptionConnection> {
        let filter = filter.unwrap_or_default();
        let filters = filter.to_upstream().map_err(gql)?;
        subscription_page(
            ctx,
            PageArgs {
                first,
                after,
                last,
                before,
            },
            filters,
            filter.status,
        )
        .await
    }
}

/// A Relay connection from a window; each edge's cursor is its item's offset.
pub fn connection<T: async_graphql::OutputType>(
    window: Window<T>,
) -> Connection<String, T, ConnectionTotal> {
    let mut connection = Connection::with_additional_fields(
        window.has_previous_page(),
        window.has_next_page(),
        ConnectionTotal {
            total_count: window.total as i64,
        },
    );
    let start = window.start;
    connection.edges.extend(
        window
            .items
            .into_iter()
            .enumerate()
            .map(|(i, item)| Edge::new(encode_cursor(start + i), item)),
    );
    connection
}
