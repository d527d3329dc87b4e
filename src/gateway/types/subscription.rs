//! `BillingSubscription` and `SubscriptionTransaction`. (Not `Subscription`: GraphQL reserves
//! that name for the root type of live events.)

use std::sync::Arc;

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object, Result, SimpleObject};
use rust_decimal::Decimal;

use super::codes::{BillingFrequency, Date, SubscriptionStatus, TransactionStatus};
use super::{Card, Customer, PaymentMethod, Plan, linked_customer};
use crate::gateway::access::{Needs, Permission};
use crate::gateway::context::{loaders, upstream};
use crate::gateway::error::{GatewayError, gql, null_on_error};
use crate::gateway::ids;
use crate::gateway::paging::{
    ConnectionTotal, PageArgs, Window, browse_window, connection, paginate,
};
use crate::qualpay::{Filter, Subscription, Transaction};

pub type BillingSubscriptionConnection = Connection<String, BillingSubscription, ConnectionTotal>;
pub type SubscriptionTransactionConnection =
    Connection<String, SubscriptionTransaction, ConnectionTotal>;

#[derive(Clone)]
pub struct BillingSubscription(Arc<Subscription>);

impl BillingSubscription {
    pub fn new(subscription: Arc<Subscription>) -> Self {
        Self(subscription)
    }

    pub fn key(&self) -> i64 {
        self.0.subscription_id.unwrap_or_default()
    }

    pub fn raw(&self) -> &Arc<Subscription> {
        &self.0
    }

    async fn find_plan(&self, ctx: &Context<'_>) -> Result<Option<Plan>> {
        let Some(code) = self
            .0
            .plan_code
            .as_deref()
            .filter(|_| self.0.subscription_on_plan != Some(false))
        else {
            return Ok(None);
        };
        let plan = loaders(ctx)?.plan(code).await.map_err(gql)?;
        Ok(plan.map(Plan::new))
    }

    pub fn status_code(&self) -> SubscriptionStatus {
        SubscriptionStatus::from_wire(self.0.status.as_deref())
    }
}

/// The trial part of a subscription.
#[derive(SimpleObject)]
pub struct SubscriptionTrial {
    pub amount: Option<Decimal>,
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
}

/// A customer's recurring payments, on a plan or with their own terms.
#[Object]
impl BillingSubscription {
    /// Global id, for `node(id:)`.
    pub async fn id(&self) -> ID {
        ids::subscription(self.key())
    }

    /// The vault's id of the subscription.
    pub async fn subscription_id(&self) -> ID {
        ID(self.key().to_string())
    }

    pub async fn status(&self) -> SubscriptionStatus {
        self.status_code()
    }

    pub async fn customer(&self, ctx: &Context<'_>) -> Result<Customer> {
        linked_customer(ctx, self.0.customer_id.as_deref().unwrap_or_default()).await
    }

    /// The plan it follows; null for a subscription with its own terms.
    pub async fn plan(&self, ctx: &Context<'_>) -> Option<Plan> {
        null_on_error(ctx, self.find_plan(ctx).await)
    }

    /// The card it charges; null when that is a bank account or no longer stored.
    #[graphql(guard = "Needs(Permission::ReadPaymentMethods)")]
    pub async fn card(&self, ctx: &Context<'_>) -> Option<Card> {
        let customer_id = self.0.customer_id.as_deref().unwrap_or_default();
        let card_id = self.0.card_id.as_deref().unwrap_or_default();
        null_on_error(ctx, find_card(ctx, customer_id, card_id).await)
    }

    pub async fn frequency(&self) -> BillingFrequency {
        BillingFrequency::from_wire(self.0.plan_frequency)
    }

    pub async fn interval(&self) -> i32 {
        self.0.interval.unwrap_or(1)
    }

    /// Billing cycles after the trial; -1 bills until cancelled.
    pub async fn duration(&self) -> i32 {
        self.0.plan_duration.unwrap_or(-1)
    }

    pub async fn start_date(&self) -> Option<Date> {
        Date::parse(self.0.date_start.as_deref())
    }

    /// Null once the subscription is cancelled or complete (whatever date the upstream sends).
    pub async fn next_billing_date(&self) -> Option<Date> {
        if matches!(
            self.status_code(),
            SubscriptionStatus::Cancelled | SubscriptionStatus::Complete
        ) {
            return None;
        }
        Date::parse(self.0.date_next.as_deref())
    }

    /// The last billing date; null for one that bills until cancelled.
    pub async fn end_date(&self) -> Option<Date> {
        Date::parse(self.0.date_end.as_deref())
    }

    /// What each regular billing cycle charges.
    pub async fn amount(&self) -> Decimal {
        self.0.recur_amt.unwrap_or_default()
    }

    pub async fn setup_amount(&self) -> Option<Decimal> {
        self.0.amt_setup
    }

    /// The prorated first payment, charged on the start date.
    pub async fn prorate_amount(&self) -> Option<Decimal> {
        self.0.prorate_amt
    }

    pub async fn currency(&self) -> Option<&str> {
        self.0.tran_currency.as_deref()
    }

    /// Null when the subscription has no trial.
    pub async fn trial(&self) -> Option<SubscriptionTrial> {
        self.0.trial_date_start.as_ref()?;
        Some(SubscriptionTrial {
            amount: self.0.trial_amt,
            start_date: Date::parse(self.0.trial_date_start.as_deref()),
            end_date: Date::parse(self.0.trial_date_end.as_deref()),
        })
    }

    /// Payment attempts, newest first.
    #[graphql(complexity = "crate::gateway::cost::page(first, last, child_complexity)")]
    pub async fn transactions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<SubscriptionTransactionConnection> {
        let all = loaders(ctx)?
            .transactions_of(self.key())
            .await
            .map_err(gql)?;
        let customer_id: Arc<str> = Arc::from(self.0.customer_id.as_deref().unwrap_or_default());
        let total = all.len();
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        // The loader already holds every attempt of the subscription: page in memory.
        let window = paginate(&args, |count, page| {
            let items: Vec<Arc<Transaction>> =
                all.iter().skip(count * page).take(count).cloned().collect();
            async move { Ok::<_, GatewayError>((items, total)) }
        })
        .await
        .map_err(gql)?;
        Ok(connection(Window {
            items: window
                .items
                .into_iter()
                .map(|t| SubscriptionTransaction::new(customer_id.clone(), t))
                .collect(),
            start: window.start,
            total: window.total,
        }))
    }
}

/// One payment attempt of a subscription.
#[derive(Clone)]
pub struct SubscriptionTransaction {
    customer_id: Arc<str>,
    transaction: Arc<Transaction>,
}

impl SubscriptionTransaction {
    fn new(customer_id: Arc<str>, transaction: Arc<Transaction>) -> Self {
        Self {
            customer_id,
            transaction,
        }
    }

    pub fn of(customer_id: &str, transaction: Arc<Transaction>) -> Self {
        Self::new(Arc::from(customer_id), transaction)
    }
}

#[Object]
impl SubscriptionTransaction {
    /// Global id, for `node(id:)`.
    pub async fn id(&self) -> ID {
        let subscription_id = self
            .transaction
            .subscription_id
            .as_deref()
            .unwrap_or_default();
        ids::transaction(
            subscription_id,
            self.transaction.pg_id.as_deref().unwrap_or_default(),
        )
    }

    /// The gateway's id of the payment (Qualpay `pg_id`).
    pub async fn transaction_id(&self) -> Option<&str> {
        self.transaction.pg_id.as_deref()
    }

    /// The billing date the attempt was for.
    pub async fn date(&self) -> Option<Date> {
        Date::parse(self.transaction.tran_date.as_deref())
    }

    pub async fn amount(&self) -> Decimal {
        self.transaction.amt_tran.unwrap_or_default()
    }

    pub async fn status(&self) -> TransactionStatus {
        TransactionStatus::from_code(self.transaction.tran_status.as_deref())
    }

    /// The processor's response code (`000` approved).
    pub async fn response_code(&self) -> Option<&str> {
        self.transaction.rcode.as_deref()
    }

    pub async fn auth_code(&self) -> Option<&str> {
        self.transaction.auth_code.as_deref()
    }

    /// The number charged, masked.
    pub async fn masked_card_number(&self) -> Option<&str> {
        self.transaction.card_number.as_deref()
    }

    /// The card charged, when the vault says which and it is still stored.
    #[graphql(guard = "Needs(Permission::ReadPaymentMethods)")]
    pub async fn card(&self, ctx: &Context<'_>) -> Option<Card> {
        let card_id = self.transaction.card_id.as_deref()?;
        null_on_error(ctx, find_card(ctx, &self.customer_id, card_id).await)
    }
}

async fn find_card(ctx: &Context<'_>, customer_id: &str, card_id: &str) -> Result<Option<Card>> {
    let customer = loaders(ctx)?.customer(customer_id).await.map_err(gql)?;
    Ok(customer
        .map(Customer::new)
        .and_then(|customer| customer.payment_method(card_id))
        .and_then(PaymentMethod::into_card))
}

/// A page of subscriptions matching `filters` (and any of `statuses`), newest first.
pub async fn subscription_page(
    ctx: &Context<'_>,
    args: PageArgs,
    mut filters: Vec<Filter>,
    statuses: Option<Vec<SubscriptionStatus>>,
) -> Result<BillingSubscriptionConnection> {
    if let Some(statuses) = statuses.filter(|s| !s.is_empty()) {
        let codes = statuses.iter().map(|s| s.code());
        filters.push(Filter::any_of("status", codes).map_err(gql)?);
    }
    let upstream = upstream(ctx)?;
    let window = browse_window(
        &args,
        ("subscription_id", "desc"),
        &filters,
        |params| async move { upstream.browse_subscriptions(&params).await },
    )
    .await
    .map_err(gql)?;
    let items: Vec<Arc<Subscription>> = window.items.into_iter().map(Arc::new).collect();
    loaders(ctx)?
        .remember_subscriptions(items.iter().cloned())
        .await;
    let items = items.into_iter().map(BillingSubscription::new).collect();
    Ok(connection(Window {
        items,
        start: window.start,
        total: window.total,
    }))
}
