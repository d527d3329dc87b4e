//! The query root: `node`, `customer` and `customers`.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, Object, Result, SimpleObject};

use crate::gateway::customer_query::{CustomerFilter, CustomerOrder};
use crate::gateway::error::{GatewayError, gql, null_on_error};
use crate::gateway::paging::{PageArgs, Window, encode_cursor, paginate};
use crate::gateway::types::{Customer, Node, customer_loader};
use crate::gateway::upstream;
use crate::upstream::BrowseParams;

pub struct QueryRoot;

/// Fields a connection has beside `edges` and `pageInfo`.
#[derive(SimpleObject)]
pub struct ConnectionTotal {
    /// How many items match, on all pages.
    pub total_count: i64,
}

pub type CustomerConnection = Connection<String, Customer, ConnectionTotal>;

#[Object]
impl QueryRoot {
    /// Any object by its global id; null when there is none.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Option<Node> {
        null_on_error(ctx, Node::find(ctx, &id).await)
    }

    /// A customer by the vault's `customerId`; null when there is none.
    async fn customer(&self, ctx: &Context<'_>, customer_id: String) -> Option<Customer> {
        let found = match customer_loader(ctx) {
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
        let window = paginate(&args, |count, page| {
            let params = BrowseParams {
                count: count as i64,
                page: page as i64,
                order_on: Some(order_on),
                order_by: Some(order_by),
                filters: filters.clone(),
            };
            async move {
                let page = upstream.browse_customers(&params).await?;
                let total = usize::try_from(page.total_records).unwrap_or_default();
                Ok::<_, GatewayError>((page.data, total))
            }
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
