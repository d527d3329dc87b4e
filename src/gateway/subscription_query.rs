//! `SubscriptionFilter` and its translation into the upstream's browse grammar.

use async_graphql::InputObject;

use crate::gateway::error::GatewayError;
use crate::gateway::types::codes::{Date, SubscriptionStatus};

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
    /// The upstream `filter` items (statuses are added by the caller, as `status,IN,...`).
    pub fn to_upstream(&self) -> Result<Vec<String>, GatewayError> {
        let mut filters = Vec::new();
        let plain = |v: &str| -> Result<String, GatewayError> {
            if v.is_empty() || v.contains([';', '|']) {
                Err(GatewayError::BadUserInput(format!(
                    "'{v}' cannot be used as a filter value"
                )))
            } else {
                Ok(v.to_owned())
            }
        };
        if let Some(id) = &self.customer_id {
            filters.push(format!("customer_id,EQ,{}", plain(id)?));
        }
        if let Some(ids) = &self.customer_id_in {
            if ids.is_empty() {
                return Err(GatewayError::BadUserInput(
                    "customerIdIn must list at least one id".into(),
                ));
            }
            let ids = ids
                .iter()
                .map(|id| plain(id))
                .collect::<Result<Vec<_>, _>>()?;
            filters.push(format!("customer_id,IN,{}", ids.join("|")));
        }
        if let Some(code) = &self.plan_code {
            filters.push(format!("plan_code,EQ,{}", plain(code)?));
        }
        for (field, op, date) in [
            ("date_next", "GE", self.next_billing_from),
            ("date_next", "LE", self.next_billing_to),
            ("date_start", "GE", self.started_from),
            ("date_start", "LE", self.started_to),
        ] {
            if let Some(date) = date {
                filters.push(format!("{field},{op},{}", date.to_wire()));
            }
        }
        Ok(filters)
    }
}
