//! Dataloaders: every link between objects resolves through one of these, created per request
//! (a loader cache shared across requests would hand one request's data to another). Keys
//! asked for in the same tick become one upstream call.

pub mod billing;

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use futures_util::{StreamExt, stream};

use crate::config::UpstreamBatch;
use crate::gateway::types::Customer;
use crate::upstream::{BrowseParams, Upstream, UpstreamError};

/// Most ids in one `customer_id,IN,...` browse: the upstream's page size limit.
const IN_CHUNK: usize = 100;
/// Most concurrent GETs when the upstream has no IN (`--upstream-batch none`).
const GET_CONCURRENCY: usize = 8;

/// How the request's loaders batch: which way to fetch customers, and how long to wait for more
/// keys before calling the upstream (`--batch-window-ms`). The window is longer than
/// async-graphql's 1 ms because a batch's answers wake the waiting fields one by one on another
/// worker thread: on a busy machine a 1 ms window can close between the first and the last, and
/// what they load next splits into several batches.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    pub mode: UpstreamBatch,
    pub window: std::time::Duration,
}

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
    pub fn per_request(upstream: Upstream, batching: Batching) -> CustomerLoader {
        let batch = batching.mode;
        CustomerLoader(
            DataLoader::with_cache(
                Self { upstream, batch },
                tokio::spawn,
                HashMapCache::default(),
            )
            .delay(batching.window)
            .max_batch_size(1000),
        )
    }

    async fn browse_in(&self, ids: &[&str]) -> Result<Vec<Customer>, UpstreamError> {
        let params = BrowseParams {
            count: IN_CHUNK as i64,
            page: 0,
            order_on: None,
            order_by: None,
            filters: vec![format!("customer_id,IN,{}", ids.join("|"))],
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
