//! Pages of payments: the merchant's (`payments`), one browse each, and a customer's
//! (`Customer.payments`), whose pages come from one batched browse for all the customers of a
//! request (see [`crate::gateway::loaders`]); and their filters.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, InputObject, Object, Result};

use super::codes::Date;
use super::{Payment, PaymentStatus};
use crate::gateway::context::{loaders, upstream};
use crate::gateway::error::{GatewayError, gql};
use crate::gateway::loaders::{Conditions, NEWEST_FIRST};
use crate::gateway::paging::{PageArgs, Window, browse_window, encode_cursor, paginate};
use crate::qualpay::{Filter, Transaction};
use crate::upstream::BrowseParams;

pub type PaymentConnection = Connection<String, Payment, PaymentTotal>;

/// Conditions on the merchant's payments; all given conditions must hold.
#[derive(InputObject, Default, Debug)]
pub struct PaymentFilter {
    pub customer_id: Option<String>,
    /// Any of these statuses (`UNKNOWN` cannot be asked for).
    pub status: Option<Vec<PaymentStatus>>,
    /// Made on or after this date.
    pub created_from: Option<Date>,
    /// Made on or before this date.
    pub created_to: Option<Date>,
}

/// Conditions on one customer's payments; all given conditions must hold.
#[derive(InputObject, Default, Debug)]
pub struct CustomerPaymentFilter {
    /// Any of these statuses (`UNKNOWN` cannot be asked for).
    pub status: Option<Vec<PaymentStatus>>,
    /// Made on or after this date.
    pub created_from: Option<Date>,
    /// Made on or before this date.
    pub created_to: Option<Date>,
}

impl PaymentFilter {
    pub fn to_upstream(&self) -> Result<Vec<Filter>, GatewayError> {
        let mut filters = Vec::new();
        if let Some(id) = &self.customer_id {
            filters.push(Filter::eq("customer_id", id)?);
        }
        filters.extend(conditions(
            self.status.as_deref(),
            self.created_from,
            self.created_to,
        )?);
        Ok(filters)
    }
}

impl CustomerPaymentFilter {
    fn to_upstream(&self) -> Result<Vec<Filter>, GatewayError> {
        conditions(self.status.as_deref(), self.created_from, self.created_to)
    }
}

fn conditions(
    status: Option<&[PaymentStatus]>,
    from: Option<Date>,
    to: Option<Date>,
) -> Result<Vec<Filter>, GatewayError> {
    let mut filters = Vec::new();
    if let Some(statuses) = status.filter(|s| !s.is_empty()) {
        let codes = statuses
            .iter()
            .map(|s| s.code())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                GatewayError::BadUserInput("payments cannot be filtered on UNKNOWN".into())
            })?;
        filters.push(Filter::any_of("tran_status", codes)?);
    }
    if let Some(from) = from {
        filters.push(Filter::at_least("tran_date", &from.to_wire())?);
    }
    if let Some(to) = to {
        filters.push(Filter::at_most("tran_date", &to.to_wire())?);
    }
    Ok(filters)
}

/// `totalCount` of a payment connection: known from the browse, or, for a customer's payments
/// whose batched browse stopped before their end, counted when asked for (one call).
pub struct PaymentTotal {
    known: Option<usize>,
    customer: Option<(String, Conditions)>,
}

#[Object]
impl PaymentTotal {
    /// How many payments match, on all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i64> {
        if let Some(total) = self.known {
            return Ok(total as i64);
        }
        let Some((customer_id, conditions)) = &self.customer else {
            return Ok(0);
        };
        let mut filters = vec![Filter::eq("customer_id", customer_id).map_err(gql)?];
        filters.extend(conditions.0.iter().cloned());
        let params = BrowseParams {
            count: 1,
            page: 0,
            order_on: None,
            order_by: None,
            filters,
        };
        let page = upstream(ctx)?.browse_payments(&params).await.map_err(gql)?;
        Ok(page.total_records)
    }
}

fn payment_connection(window: Window<Payment>, total: PaymentTotal) -> PaymentConnection {
    let mut connection = Connection::with_additional_fields(
        window.has_previous_page(),
        window.has_next_page(),
        total,
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

/// A page of the customer's payments, newest first, through the batched loader: it holds at
/// least one payment past the page (so `hasNextPage` is exact); `last` without `before` reads
/// them all (it counts from the end).
pub async fn customer_payments(
    ctx: &Context<'_>,
    customer_id: &str,
    args: PageArgs,
    filter: Option<CustomerPaymentFilter>,
) -> Result<PaymentConnection> {
    let filters = filter.unwrap_or_default().to_upstream().map_err(gql)?;
    let conditions = Conditions(filters.into());
    let loaders = loaders(ctx)?;
    let everything = args.last.is_some() && args.before.is_none();
    // Whether every read saw all of the customer's payments, so that the total is exact.
    let complete = std::sync::atomic::AtomicBool::new(true);
    let window = paginate(&args, |count, page| {
        let conditions = conditions.clone();
        let complete = &complete;
        async move {
            let end = count.saturating_mul(page.saturating_add(1));
            let need = if everything {
                usize::MAX
            } else {
                end.saturating_add(1)
            };
            let found = loaders
                .latest_payments(customer_id, need, conditions)
                .await?;
            // Unless they are all there, there are at least as many as were asked for.
            let total = if found.complete {
                found.rows.len()
            } else {
                complete.store(false, std::sync::atomic::Ordering::Relaxed);
                found.rows.len().max(need)
            };
            let items: Vec<Arc<Transaction>> = found
                .rows
                .iter()
                .skip(count.saturating_mul(page))
                .take(count)
                .cloned()
                .collect();
            Ok::<_, GatewayError>((items, total))
        }
    })
    .await
    .map_err(gql)?;
    let total = PaymentTotal {
        known: complete.into_inner().then_some(window.total),
        customer: Some((customer_id.to_owned(), conditions)),
    };
    let items = window.items.into_iter().map(Payment::new).collect();
    Ok(payment_connection(
        Window {
            items,
            start: window.start,
            total: window.total,
        },
        total,
    ))
}

/// A page of the merchant's payments matching `filters`, newest first (one browse).
pub async fn payment_page(
    ctx: &Context<'_>,
    args: PageArgs,
    filters: Vec<Filter>,
) -> Result<PaymentConnection> {
    let upstream = upstream(ctx)?;
    let window = browse_window(&args, NEWEST_FIRST, &filters, |params| async move {
        upstream.browse_payments(&params).await
    })
    .await
    .map_err(gql)?;
    let rows: Vec<Arc<Transaction>> = window.items.into_iter().map(Arc::new).collect();
    loaders(ctx)?.remember_payments(rows.iter().cloned()).await;
    let total = PaymentTotal {
        known: Some(window.total),
        customer: None,
    };
    Ok(payment_connection(
        Window {
            items: rows.into_iter().map(Payment::new).collect(),
            start: window.start,
            total: window.total,
        },
        total,
    ))
}
