//! Dataloaders: every link between objects resolves through one of these, created per request
//! (a loader cache shared across requests would hand one request's data to another). Keys
//! asked for before the request goes idle become one upstream call (see [`crate::gateway::idle`]).

pub mod billing;

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use futures_util::{StreamExt, stream};

use crate::config::UpstreamBatch;
use crate::gateway::idle::IdleBatches;
use crate::gateway::types::Customer;
use crate::qualpay::Filter;
use crate::upstream::{BrowseParams, Upstream, UpstreamError};

/// A loader whose fetches start when its request is idle (see [`crate::gateway::idle`]): with
/// no delay, a fetch takes every key asked for by then as soon as it starts.
pub fn idle_loader<T, K>(inner: T, batches: &IdleBatches) -> DataLoader<T, HashMapCache>
where
    T: Loader<K>,
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
{
    DataLoader::with_cache(inner, batches.spawner(), HashMapCache::default())
        .delay(std::time::Duration::ZERO)
        .max_batch_size(1000)
}

/// Most ids in one `customer_id,IN,...` browse: the upstream's page size limit.
const IN_CHUNK: usize = 100;
/// Most concurrent GETs when the upstream has no IN (`--upstream-batch none`).
const GET_CONCURRENCY: usize = 8;

/// The request's customers by `customer_id`, each fetched at most once.
pub struct CustomerLoader(DataLoader<CustomerByIdLoader, HashMapCache>);

impl CustomerLoader {
    /// The customer, `None` when there is none. A failed batch fails every key in it; with
    /// `--upstream-batch none` each key fails alone.
    pub async fn get(&self, customer_id: &str) -> Result<Option<Customer>, UpstreamError> {
        self.0.load_one(customer_id.to_owned()).await?.transpose()
    }

    /// Puts customers fetched some other way (a page, a mutation's answer) in the cache.
    pub async fn remember(&self, customers: impl IntoIterator<Item = Customer>) {
        self.0
            .feed_many(customers.into_iter().map(|c| (c.key().to_owned(), Ok(c))))
            .await;
    }

    /// Empties the cache (after a customer is deleted).
    pub fn forget_all(&self) {
        self.0.clear::<String>();
    }
}

/// Customers by `customer_id`, with their cards and shipping addresses.
pub struct CustomerByIdLoader {
    upstream: Upstream,
    batch: UpstreamBatch,
}

impl CustomerByIdLoader {
    /// A fresh loader with an empty cache, for one request.
    pub fn per_request(
        upstream: Upstream,
        batch: UpstreamBatch,
        batches: &IdleBatches,
    ) -> CustomerLoader {
        CustomerLoader(idle_loader(Self { upstream, batch }, batches))
    }

    async fn browse_in(&self, ids: &[&str]) -> Result<Vec<Customer>, UpstreamError> {
        let params = BrowseParams {
            count: IN_CHUNK as i64,
            page: 0,
            order_on: None,
            order_by: None,
            filters: vec![Filter::any_of("customer_id", ids)?],
        };
        let page = self.upstream.browse_customers(&params).await?;
        Ok(page.data.into_iter().map(Customer::new).collect())
    }

    async fn get(&self, id: &str) -> Result<Option<Customer>, UpstreamError> {
        match self.upstream.customer(id).await {
            Ok(customer) => Ok(Some(Customer::new(customer))),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// Values are per-key results, so one customer failing to load (with bounded GETs) does not
/// fail the others.
type Loaded = Result<Customer, UpstreamError>;

impl Loader<String> for CustomerByIdLoader {
    type Value = Loaded;
    type Error = UpstreamError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Loaded>, Self::Error> {
        // A customer_id is letters and digits; anything else cannot exist, and could break
        // the filter grammar (`|`, `;`), so it is not sent.
        let ids: Vec<&str> = keys
            .iter()
            .map(String::as_str)
            .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()))
            .collect();
        match self.batch {
            UpstreamBatch::In => {
                let pages = futures_util::future::try_join_all(
                    ids.chunks(IN_CHUNK).map(|chunk| self.browse_in(chunk)),
                )
                .await?;
                Ok(pages
                    .into_iter()
                    .flatten()
                    .map(|customer| (customer.key().to_owned(), Ok(customer)))
                    .collect())
            }
            UpstreamBatch::None => {
                let gets: Vec<_> = ids
                    .iter()
                    .map(|id| async move { (id.to_string(), self.get(id).await) })
                    .collect();
                let results: Vec<(String, Result<Option<Customer>, UpstreamError>)> =
                    stream::iter(gets)
                        .buffer_unordered(GET_CONCURRENCY)
                        .collect()
                        .await;
                Ok(results
                    .into_iter()
                    .filter_map(|(id, result)| result.transpose().map(|found| (id, found)))
                    .collect())
            }
        }
    }
}
