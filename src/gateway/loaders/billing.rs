//! Plans, subscriptions and their payment attempts. Each groups the keys asked for before its
//! request went idle into `field,IN,a|b|c` browses (100 ids per browse, every page of the
//! answer).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use async_graphql::dataloader::Loader;

use super::List;
use crate::qualpay::{Filter, ListResponse, RecurringPlan, Subscription, Transaction};
use crate::upstream::{BrowseParams, Upstream, UpstreamError};

const IN_CHUNK: usize = 100;
const PAGE: i64 = 100;

/// Every item whose `field` is one of `ids`: one browse per 100 ids, all pages of each.
pub(super) async fn browse_in<T, F, Fut>(
    field: &'static str,
    ids: &[String],
    order_on: &'static str,
    fetch: F,
) -> Result<Vec<T>, UpstreamError>
where
    F: Fn(BrowseParams) -> Fut,
    Fut: Future<Output = Result<ListResponse<T>, UpstreamError>>,
{
    let filters = ids
        .chunks(IN_CHUNK)
        .map(|chunk| Filter::any_of(field, chunk))
        .collect::<Result<Vec<_>, _>>()?;
    let chunks = filters.into_iter().map(|filter| {
        let fetch = &fetch;
        async move {
            let mut items = Vec::new();
            for page in 0.. {
                let params = BrowseParams {
                    count: PAGE,
                    page,
                    order_on: Some(order_on),
                    order_by: Some("desc"),
                    filters: vec![filter.clone()],
                };
                let answer = fetch(params).await?;
                let done = (page + 1) * PAGE >= answer.total_records || answer.data.is_empty();
                items.extend(answer.data);
                if done {
                    break;
                }
            }
            Ok::<_, UpstreamError>(items)
        }
    });
    Ok(futures_util::future::try_join_all(chunks)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

/// Keys that can be sent in the filter grammar; no object can have the others.
pub(super) fn sendable(keys: &[String]) -> Vec<String> {
    keys.iter()
        .filter(|k| Filter::sendable(k))
        .cloned()
        .collect()
}

/// Plans by `plan_code` (archived ones too).
pub(super) struct PlanByCode(pub(super) Upstream);

impl Loader<String> for PlanByCode {
    type Value = Arc<RecurringPlan>;
    type Error = UpstreamError;

    async fn load(
        &self,
        keys: &[String],
    ) -> Result<HashMap<String, Arc<RecurringPlan>>, UpstreamError> {
        let plans = browse_in("plan_code", &sendable(keys), "plan_code", |p| async move {
            self.0.browse_plans(&p).await
        })
        .await?;
        Ok(plans
            .into_iter()
            .filter_map(|plan| Some((plan.plan_code.clone()?, Arc::new(plan))))
            .collect())
    }
}

/// Subscriptions by `subscription_id`.
pub(super) struct SubscriptionById(pub(super) Upstream);

impl Loader<i64> for SubscriptionById {
    type Value = Arc<Subscription>;
    type Error = UpstreamError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Arc<Subscription>>, UpstreamError> {
        let ids: Vec<String> = keys.iter().map(i64::to_string).collect();
        let subscriptions = browse_in("subscription_id", &ids, "subscription_id", |p| async move {
            self.0.browse_subscriptions(&p).await
        })
        .await?;
        Ok(subscriptions
            .into_iter()
            .filter_map(|s| Some((s.subscription_id?, Arc::new(s))))
            .collect())
    }
}

/// A customer's subscriptions, newest first, by `customer_id`.
pub(super) struct SubscriptionsByCustomer(pub(super) Upstream);

impl Loader<String> for SubscriptionsByCustomer {
    type Value = List<Subscription>;
    type Error = UpstreamError;

    async fn load(
        &self,
        keys: &[String],
    ) -> Result<HashMap<String, List<Subscription>>, UpstreamError> {
        let subscriptions = browse_in(
            "customer_id",
            &sendable(keys),
            "subscription_id",
            |p| async move { self.0.browse_subscriptions(&p).await },
        )
        .await?;
        let mut by_customer: HashMap<String, Vec<Arc<Subscription>>> =
            keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for subscription in subscriptions {
            if let Some(list) = subscription
                .customer_id
                .as_ref()
                .and_then(|id| by_customer.get_mut(id))
            {
                list.push(Arc::new(subscription));
            }
        }
        Ok(by_customer
            .into_iter()
            .map(|(id, list)| (id, list.into()))
            .collect())
    }
}

/// A subscription's payment attempts, newest first, by `subscription_id`.
pub(super) struct TransactionsBySubscription(pub(super) Upstream);

impl Loader<i64> for TransactionsBySubscription {
    type Value = List<Transaction>;
    type Error = UpstreamError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, List<Transaction>>, UpstreamError> {
        let ids: Vec<String> = keys.iter().map(i64::to_string).collect();
        let transactions = browse_in("subscription_id", &ids, "tran_time", |p| async move {
            self.0.browse_transactions(&p).await
        })
        .await?;
        let mut by_subscription: HashMap<i64, Vec<Arc<Transaction>>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for transaction in transactions {
            let id = transaction
                .subscription_id
                .as_deref()
                .and_then(|id| id.parse().ok());
            if let Some(list) = id.and_then(|id| by_subscription.get_mut(&id)) {
                list.push(Arc::new(transaction));
            }
        }
        Ok(by_subscription
            .into_iter()
            .map(|(id, list)| (id, list.into()))
            .collect())
    }
}
