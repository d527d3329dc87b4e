//! `SubscriptionFilter` and its translation into the upstream's browse grammar.

use async_graphql::InputObject;

use crate::gateway::error::GatewayError;
use crate::gateway::types::codes::{Date, SubscriptionStatus};
use crate::qualpay::Filter;

/// Conditions on subscriptions; all given conditions must hold.
#[derive(InputObject, Default, Debug)]
pub struct SubscriptionFilter {
    pub customer_id: Option<String>,
    /// Any of these customers.
    pub customer_id_in: Option<Vec<String>>,
    pub plan_code: Option<String>,
    /// Any of these statuses.
    pub status: Option<Vec<SubscriptionStatus>>,
    /// Next billing on or after this date.
    pub next_billing_from: Option<Date>,
    /// Next billing on or before this date.
    pub next_billing_to: Option<Date>,
    /// Started on or after this date.
    pub started_from: Option<Date>,
    /// Started on or before this date.
    pub started_to: Option<Date>,
}

impl SubscriptionFilter {
    /// The upstream `filter` items (statuses are added by the caller, as `status,IN,...`),
    /// under the grammar's one rule ([`Filter`]).
    pub fn to_upstream(&self) -> Result<Vec<Filter>, GatewayError> {
        let mut filters = Vec::new();
        if let Some(id) = &self.customer_id {
            filters.push(Filter::eq("customer_id", id)?);
        }
        if let Some(ids) = &self.customer_id_in {
            filters.push(Filter::any_of("customer_id", ids)?);
        }
        if let Some(code) = &self.plan_code {
            filters.push(Filter::eq("plan_code", code)?);
        }
        for (field, on_or_after, date) in [
            ("date_next", true, self.next_billing_from),
            ("date_next", false, self.next_billing_to),
            ("date_start", true, self.started_from),
            ("date_start", false, self.started_to),
        ] {
            if let Some(date) = date {
                let date = date.to_wire();
                filters.push(if on_or_after {
                    Filter::at_least(field, &date)?
                } else {
                    Filter::at_most(field, &date)?
                });
            }
        }
        Ok(filters)
    }
}
