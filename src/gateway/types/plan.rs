//! `Plan`: a recurring billing plan.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result};
use rust_decimal::Decimal;

use super::codes::{BillingFrequency, PlanStatus, SubscriptionStatus};
use super::subscription::{BillingSubscriptionConnection, subscription_page};
use crate::gateway::access::MerchantOnly;
use crate::gateway::error::gql;
use crate::gateway::ids;
use crate::gateway::paging::PageArgs;
use crate::qualpay::{Filter, RecurringPlan};

#[derive(Clone)]
pub struct Plan(Arc<RecurringPlan>);

impl Plan {
    pub fn new(plan: Arc<RecurringPlan>) -> Self {
        Self(plan)
    }

    pub fn code(&self) -> &str {
        self.0.plan_code.as_deref().unwrap_or_default()
    }
}

/// A recurring billing plan. Subscriptions copy its values when they start; changing the plan
/// later does not change them.
#[Object]
impl Plan {
    /// Global id, for `node(id:)`.
    pub async fn id(&self) -> ID {
        ids::plan(self.code())
    }

    /// The merchant's code for the plan.
    pub async fn plan_code(&self) -> &str {
        self.code()
    }

    /// The vault's numeric id of the plan.
    pub async fn plan_id(&self) -> Option<ID> {
        self.0.plan_id.map(|id| ID(id.to_string()))
    }

    pub async fn name(&self) -> Option<&str> {
        self.0.plan_name.as_deref()
    }

    pub async fn description(&self) -> Option<&str> {
        self.0.plan_desc.as_deref()
    }

    pub async fn frequency(&self) -> BillingFrequency {
        BillingFrequency::from_wire(self.0.plan_frequency)
    }

    /// Bills every `interval` weeks or months (weekly and monthly plans).
    pub async fn interval(&self) -> i32 {
        self.0.interval.unwrap_or(1)
    }

    /// Billing cycles after the trial; -1 bills until cancelled.
    pub async fn duration(&self) -> i32 {
        self.0.plan_duration.unwrap_or(-1)
    }

    /// What each billing cycle charges.
    pub async fn amount(&self) -> Decimal {
        self.0.amt_tran.unwrap_or_default()
    }

    /// A one-time fee charged when a subscription starts.
    pub async fn setup_amount(&self) -> Option<Decimal> {
        self.0.amt_setup
    }

    /// What each trial cycle charges.
    pub async fn trial_amount(&self) -> Option<Decimal> {
        self.0.amt_trial
    }

    /// Billing cycles of the trial.
    pub async fn trial_duration(&self) -> i32 {
        self.0.trial_duration.unwrap_or(0)
    }

    /// ISO 4217 numeric currency code, e.g. `840` (US dollars).
    pub async fn currency(&self) -> Option<&str> {
        self.0.tran_currency.as_deref()
    }

    pub async fn status(&self) -> PlanStatus {
        PlanStatus::from_wire(self.0.status.as_deref())
    }

    /// Whether billing falls on a given day (`dayOfWeek`, `dayOfMonth`, `month`).
    pub async fn bill_specific_day(&self) -> bool {
        self.0.bill_specific_day.unwrap_or(false)
    }

    /// 1 = Sunday ... 7 = Saturday (weekly plans).
    pub async fn day_of_week(&self) -> Option<i32> {
        self.0.day_of_week
    }

    /// 1-31, or 32 for the last day of the month.
    pub async fn day_of_month(&self) -> Option<i32> {
        self.0.day_of_month
    }

    pub async fn month(&self) -> Option<i32> {
        self.0.month
    }

    /// Whether a subscription's first payment is prorated up to the first billing day.
    pub async fn prorate_first_payment(&self) -> bool {
        self.0.prorate_first_pmt.unwrap_or(false)
    }

    /// A fixed prorated first payment; null computes it from the days.
    pub async fn prorate_amount(&self) -> Option<Decimal> {
        self.0.amt_prorate.filter(|a| !a.is_zero())
    }

    /// The subscriptions on this plan (merchant-wide: not for customer sessions).
    #[graphql(
        complexity = "crate::gateway::cost::page(first, last, child_complexity)",
        guard = "MerchantOnly"
    )]
    pub async fn subscriptions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        status: Option<Vec<SubscriptionStatus>>,
    ) -> Result<BillingSubscriptionConnection> {
        let filters = vec![Filter::eq("plan_code", self.code()).map_err(gql)?];
        subscription_page(
            ctx,
            PageArgs {
                first,
                after,
                last,
                before,
            },
            filters,
            status,
        )
        .await
    }
}
