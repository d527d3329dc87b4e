//! The request's dataloaders, in one [`Loaders`] value: every link between objects resolves
//! through it. One is made per request (a cache shared across requests would hand one
//! request's data to another). Keys asked for before the request goes idle become one upstream
//! call per kind (see [`crate::gateway::idle`]).
//!
//! Every loader yields the upstream's wire objects, shared (`Arc`) and never copied: the
//! GraphQL types in [`crate::gateway::types`] are views over them.

mod billing;
mod customer;
mod instrumented;
mod payments;

use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};

use crate::config::UpstreamBatch;
use crate::gateway::idle::IdleBatches;
use crate::qualpay::{CustomerVault, RecurringPlan, Subscription, Transaction};
use crate::upstream::{Upstream, UpstreamError};
use billing::{PlanByCode, SubscriptionById, SubscriptionsByCustomer, TransactionsBySubscription};
use customer::CustomerById;
use instrumented::Instrumented;
pub use payments::{Conditions, CustomerPayments, LatestKey, NEWEST_FIRST};
use payments::{LatestByCustomer, PaymentById, RefundsByPayment};

/// A request's loader of `T`: batches start when the request is idle, each counted and in a
/// trace span.
type IdleLoader<T> = DataLoader<Instrumented<T>, HashMapCache>;

/// A list a loader yields for one key (a customer's subscriptions, a subscription's payment
/// attempts), newest first.
pub type List<T> = Arc<[Arc<T>]>;

/// The loaders of one request.
pub struct Loaders {
    customers: IdleLoader<CustomerById>,
    subscriptions: IdleLoader<SubscriptionById>,
    subscriptions_by_customer: IdleLoader<SubscriptionsByCustomer>,
    plans: IdleLoader<PlanByCode>,
    transactions: IdleLoader<TransactionsBySubscription>,
    payments: IdleLoader<PaymentById>,
    latest_payments: IdleLoader<LatestByCustomer>,
    refunds: IdleLoader<RefundsByPayment>,
}

impl Loaders {
    /// Fresh loaders with empty caches, for one request acting through `upstream`;
    /// `batch` says how customers are asked for several at a time.
    pub fn per_request(upstream: &Upstream, batch: UpstreamBatch, batches: &IdleBatches) -> Self {
        Self {
            customers: idle_loader(
                CustomerById::new(upstream.clone(), batch),
                upstream,
                batches,
            ),
            subscriptions: idle_loader(SubscriptionById(upstream.clone()), upstream, batches),
            subscriptions_by_customer: idle_loader(
                SubscriptionsByCustomer(upstream.clone()),
                upstream,
                batches,
            ),
            plans: idle_loader(PlanByCode(upstream.clone()), upstream, batches),
            transactions: idle_loader(
                TransactionsBySubscription(upstream.clone()),
                upstream,
                batches,
            ),
            payments: idle_loader(PaymentById(upstream.clone()), upstream, batches),
            latest_payments: idle_loader(LatestByCustomer(upstream.clone()), upstream, batches),
            refunds: idle_loader(RefundsByPayment(upstream.clone()), upstream, batches),
        }
    }

    /// The customer, with its cards and shipping addresses; `None` when there is none. A
    /// failed batch fails every key in it; with `--upstream-batch none` each key fails alone.
    pub async fn customer(
        &self,
        customer_id: &str,
    ) -> Result<Option<Arc<CustomerVault>>, UpstreamError> {
        self.customers
            .load_one(customer_id.to_owned())
            .await?
            .transpose()
    }

    /// The subscription; `None` when there is none.
    pub async fn subscription(&self, id: i64) -> Result<Option<Arc<Subscription>>, UpstreamError> {
        self.subscriptions.load_one(id).await
    }

    /// The customer's subscriptions, newest first.
    pub async fn subscriptions_of(
        &self,
        customer_id: &str,
    ) -> Result<List<Subscription>, UpstreamError> {
        let found = self
            .subscriptions_by_customer
            .load_one(customer_id.to_owned())
            .await?;
        Ok(found.unwrap_or_else(|| Arc::new([])))
    }

    /// The plan (archived ones too); `None` when there is none.
    pub async fn plan(&self, plan_code: &str) -> Result<Option<Arc<RecurringPlan>>, UpstreamError> {
        self.plans.load_one(plan_code.to_owned()).await
    }

    /// The subscription's payment attempts, newest first.
    pub async fn transactions_of(
        &self,
        subscription_id: i64,
    ) -> Result<List<Transaction>, UpstreamError> {
        let found = self.transactions.load_one(subscription_id).await?;
        Ok(found.unwrap_or_else(|| Arc::new([])))
    }

    /// The Payment Gateway transaction with this `pg_id`, from the reporting API; `None` when
    /// there is none.
    pub async fn payment(&self, pg_id: &str) -> Result<Option<Arc<Transaction>>, UpstreamError> {
        self.payments.load_one(pg_id.to_owned()).await
    }

    /// At least the `need` latest payments of the customer that match `conditions` (or all of
    /// them, when it has fewer), newest first.
    pub async fn latest_payments(
        &self,
        customer_id: &str,
        need: usize,
        conditions: Conditions,
    ) -> Result<Arc<CustomerPayments>, UpstreamError> {
        let key = LatestKey {
            customer_id: customer_id.to_owned(),
            need,
            conditions,
        };
        let found = self.latest_payments.load_one(key).await?;
        Ok(found.unwrap_or_default())
    }

    /// The refunds of the customer's payment `pg_id`, newest first.
    pub async fn refunds_of(
        &self,
        customer_id: &str,
        pg_id: &str,
    ) -> Result<List<Transaction>, UpstreamError> {
        let key = (customer_id.to_owned(), pg_id.to_owned());
        let found = self.refunds.load_one(key).await?;
        Ok(found.unwrap_or_else(|| Arc::new([])))
    }

    /// Payments read some other way (a page, a fresh read after a write).
    pub async fn remember_payments(&self, payments: impl IntoIterator<Item = Arc<Transaction>>) {
        self.payments
            .feed_many(
                payments
                    .into_iter()
                    .filter_map(|p| Some((p.pg_id.clone()?, p))),
            )
            .await;
    }

    /// After a payment changed: lists that may hold it are asked for again.
    pub fn forget_payment_lists(&self) {
        self.latest_payments.clear::<LatestKey>();
        self.refunds.clear::<(String, String)>();
    }

    /// Customers fetched some other way (a page, a write's answer): later links to them in
    /// this request cost nothing more, and see the write.
    pub async fn remember_customers(
        &self,
        customers: impl IntoIterator<Item = Arc<CustomerVault>>,
    ) {
        self.customers
            .feed_many(
                customers
                    .into_iter()
                    .map(|c| (c.customer_id.clone(), Ok(c))),
            )
            .await;
    }

    /// Plans fetched some other way (a page, a write's answer).
    pub async fn remember_plans(&self, plans: impl IntoIterator<Item = Arc<RecurringPlan>>) {
        self.plans
            .feed_many(
                plans
                    .into_iter()
                    .filter_map(|p| Some((p.plan_code.clone()?, p))),
            )
            .await;
    }

    /// Subscriptions fetched some other way (a page, a write's answer).
    pub async fn remember_subscriptions(
        &self,
        subscriptions: impl IntoIterator<Item = Arc<Subscription>>,
    ) {
        self.subscriptions
            .feed_many(
                subscriptions
                    .into_iter()
                    .filter_map(|s| Some((s.subscription_id?, s))),
            )
            .await;
    }

    /// After a customer is deleted: no customer this request loaded is trusted any more.
    pub fn forget_customers(&self) {
        self.customers.clear::<String>();
    }

    /// After a plan is deleted.
    pub fn forget_plans(&self) {
        self.plans.clear::<String>();
    }

    /// After a subscription changed: lists that may hold it, and its payment attempts, are
    /// asked for again.
    pub fn forget_subscription_lists(&self) {
        self.subscriptions_by_customer.clear::<String>();
        self.transactions.clear::<i64>();
    }
}

/// A loader whose fetches start when its request is idle (see [`crate::gateway::idle`]): with
/// no delay, a fetch takes every key asked for by then as soon as it starts. Its batches are
/// counted in `upstream`'s metrics.
fn idle_loader<T, K>(inner: T, upstream: &Upstream, batches: &IdleBatches) -> IdleLoader<T>
where
    T: Loader<K>,
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
{
    let inner = Instrumented::new(inner, upstream.metrics().clone());
    DataLoader::with_cache(inner, batches.spawner(), HashMapCache::default())
        .delay(std::time::Duration::ZERO)
        .max_batch_size(1000)
}
