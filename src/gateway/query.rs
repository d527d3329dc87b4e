//! The query root: `node`, `customer` and `customers`.

use std::sync::Arc;

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, MergedObject, Object, Result};

use crate::gateway::access::{self, MerchantOnly};
use crate::gateway::context::{loaders, upstream};
use crate::gateway::customer_query::{CustomerFilter, CustomerOrder};
use crate::gateway::error::{gql, null_on_error};
use crate::gateway::paging::{ConnectionTotal, PageArgs, Window, browse_window, connection};
use crate::gateway::payment_query::PaymentQuery;
use crate::gateway::subscription_query::SubscriptionFilter;
use crate::gateway::types::{
    BillingSubscription, BillingSubscriptionConnection, Customer, Node, Plan, subscription_page,
};
use crate::gateway::webhook_query::WebhookQuery;
use crate::qualpay::codes::PlanStatus;
use crate::qualpay::{CustomerVault, Filter, RecurringPlan};

/// The query root: customers, billing and payments.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(CustomerQuery, BillingQuery, PaymentQuery, WebhookQuery);

#[derive(Default)]
pub struct CustomerQuery;

#[derive(Default)]
pub struct BillingQuery;

pub type PlanConnection = Connection<String, Plan, ConnectionTotal>;

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
        let found = match access::customer(ctx, &customer_id, None).and(loaders(ctx)) {
            Ok(loaders) => loaders.customer(&customer_id).await.map_err(gql),
            Err(error) => Err(error),
        };
        null_on_error(ctx, found).map(Customer::new)
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
        let customers: Vec<Arc<CustomerVault>> = window.items.into_iter().map(Arc::new).collect();
        // Links from this page's cards and addresses back to their customers cost nothing more.
        loaders(ctx)?
            .remember_customers(customers.iter().cloned())
            .await;
        Ok(connection(Window {
            items: customers.into_iter().map(Customer::new).collect(),
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
        let found = match loaders(ctx) {
            Ok(loaders) => loaders.plan(&plan_code).await.map_err(gql),
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
            vec![Filter::eq("status", PlanStatus::Active.code()).map_err(gql)?]
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
        let plans: Vec<Arc<RecurringPlan>> = window.items.into_iter().map(Arc::new).collect();
        loaders(ctx)?.remember_plans(plans.iter().cloned()).await;
        Ok(connection(Window {
            items: plans.into_iter().map(Plan::new).collect(),
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
        let found = match loaders(ctx) {
            Ok(loaders) => loaders.subscription(id).await.map_err(gql),
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
