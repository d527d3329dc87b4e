//! Payment Gateway transactions, from the reporting API (`/reporting/transactions`), newest
//! first: by `pg_id`, a customer's latest ones, and the refunds of a payment. Each groups the
//! keys asked for before its request went idle into `field,IN,a|b|c` browses.

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use async_graphql::dataloader::Loader;

use super::List;
use super::billing::{browse_in, sendable};
use crate::qualpay::{Filter, Transaction};
use crate::upstream::{BrowseParams, Upstream, UpstreamError};

const IN_CHUNK: usize = 100;
/// Qualpay's largest page.
const PAGE: i64 = 100;
/// The order of every payment list: newest first.
pub const NEWEST_FIRST: (&str, &str) = ("tran_time", "desc");

/// Conditions on payments beside the customer (statuses, dates), as one loader key part:
/// payments asked for with the same conditions share a browse.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Conditions(pub Arc<[Filter]>);

impl Hash for Conditions {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for filter in self.0.iter() {
            filter.to_string().hash(state);
        }
    }
}

impl fmt::Debug for Conditions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(ToString::to_string))
            .finish()
    }
}

/// A customer's latest payments: `rows` newest first; `complete` when they are all of them.
#[derive(Debug, Default)]
pub struct CustomerPayments {
    pub rows: Vec<Arc<Transaction>>,
    pub complete: bool,
}

/// What one key asks for: a customer's `need` latest payments matching `conditions`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LatestKey {
    pub customer_id: String,
    pub need: usize,
    pub conditions: Conditions,
}

/// Payments by `pg_id`.
pub(super) struct PaymentById(pub(super) Upstream);

impl Loader<String> for PaymentById {
    type Value = Arc<Transaction>;
    type Error = UpstreamError;

    async fn load(
        &self,
        keys: &[String],
    ) -> Result<HashMap<String, Arc<Transaction>>, UpstreamError> {
        let rows = browse_in("pg_id", &sendable(keys), NEWEST_FIRST.0, |p| async move {
            self.0.browse_payments(&p).await
        })
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|t| Some((t.pg_id.clone()?, Arc::new(t))))
            .collect())
    }
}

/// The latest payments of customers: one browse of `customer_id,IN,...` (per 100 customers
/// and set of conditions), newest first, 100 a page; a further page only while some customer
/// has fewer than it needs and the pages are not exhausted.
pub(super) struct LatestByCustomer(pub(super) Upstream);

impl Loader<LatestKey> for LatestByCustomer {
    type Value = Arc<CustomerPayments>;
    type Error = UpstreamError;

    async fn load(
        &self,
        keys: &[LatestKey],
    ) -> Result<HashMap<LatestKey, Arc<CustomerPayments>>, UpstreamError> {
        let mut groups: HashMap<&Conditions, HashMap<&str, usize>> = HashMap::new();
        for key in keys {
            let need = groups
                .entry(&key.conditions)
                .or_default()
                .entry(key.customer_id.as_str())
                .or_default();
            *need = (*need).max(key.need);
        }
        let browses = groups.iter().flat_map(|(conditions, needs)| {
            let ids: Vec<&str> = needs
                .keys()
                .copied()
                .filter(|id| Filter::sendable(id))
                .collect();
            let chunks: Vec<Vec<&str>> = ids.chunks(IN_CHUNK).map(<[&str]>::to_vec).collect();
            chunks
                .into_iter()
                .map(move |chunk| self.latest(conditions, needs, chunk))
        });
        let found: HashMap<(&Conditions, String), Arc<CustomerPayments>> =
            futures_util::future::try_join_all(browses)
                .await?
                .into_iter()
                .flatten()
                .collect();
        Ok(keys
            .iter()
            .map(|key| {
                let value = found
                    .get(&(&key.conditions, key.customer_id.clone()))
                    .cloned()
                    // Not sendable in a filter: no payment can have it.
                    .unwrap_or_else(|| {
                        Arc::new(CustomerPayments {
                            rows: Vec::new(),
                            complete: true,
                        })
                    });
                (key.clone(), value)
            })
            .collect())
    }
}

impl LatestByCustomer {
    async fn latest<'a>(
        &self,
        conditions: &'a Conditions,
        needs: &HashMap<&str, usize>,
        customers: Vec<&str>,
    ) -> Result<Vec<((&'a Conditions, String), Arc<CustomerPayments>)>, UpstreamError> {
        let mut filters = vec![Filter::any_of("customer_id", &customers)?];
        filters.extend(conditions.0.iter().cloned());
        let mut rows: HashMap<&str, Vec<Arc<Transaction>>> =
            customers.iter().map(|c| (*c, Vec::new())).collect();
        let mut complete = false;
        for page in 0.. {
            let params = BrowseParams {
                count: PAGE,
                page,
                order_on: Some(NEWEST_FIRST.0),
                order_by: Some(NEWEST_FIRST.1),
                filters: filters.clone(),
            };
            let answer = self.0.browse_payments(&params).await?;
            complete = (page + 1) * PAGE >= answer.total_records || answer.data.is_empty();
            for row in answer.data {
                if let Some(list) = row.customer_id.as_deref().and_then(|c| rows.get_mut(c)) {
                    list.push(Arc::new(row));
                }
            }
            let satisfied = rows
                .iter()
                .all(|(customer, list)| list.len() >= needs.get(customer).copied().unwrap_or(0));
            if complete || satisfied {
                break;
            }
        }
        Ok(rows
            .into_iter()
            .map(|(customer, rows)| {
                let value = Arc::new(CustomerPayments { rows, complete });
                ((conditions, customer.to_owned()), value)
            })
            .collect())
    }
}

/// The refunds of payments, by (customer, `pg_id` of the payment refunded): the customers'
/// refunds (`tran_type` `refund`), grouped by `pg_id_orig`. An upstream that reports neither
/// (Qualpay's report has no type or original) gives every payment no refunds.
pub(super) struct RefundsByPayment(pub(super) Upstream);

impl Loader<(String, String)> for RefundsByPayment {
    type Value = List<Transaction>;
    type Error = UpstreamError;

    async fn load(
        &self,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), List<Transaction>>, UpstreamError> {
        let mut customers: Vec<String> = keys.iter().map(|(c, _)| c.clone()).collect();
        customers.sort();
        customers.dedup();
        let refund = Filter::eq("tran_type", "refund")?;
        let rows = browse_in(
            "customer_id",
            &sendable(&customers),
            NEWEST_FIRST.0,
            |mut p| {
                p.filters.push(refund.clone());
                async move { self.0.browse_payments(&p).await }
            },
        )
        .await?;
        let mut by_original: HashMap<(String, String), Vec<Arc<Transaction>>> =
            keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for row in rows {
            let key = (
                row.customer_id.clone().unwrap_or_default(),
                row.pg_id_orig.clone().unwrap_or_default(),
            );
            if let Some(list) = by_original.get_mut(&key) {
                list.push(Arc::new(row));
            }
        }
        Ok(by_original
            .into_iter()
            .map(|(key, list)| (key, list.into()))
            .collect())
    }
}
