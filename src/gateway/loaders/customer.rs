//! Customers by `customer_id`, with their cards and shipping addresses.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use futures_util::{StreamExt, stream};

use crate::config::UpstreamBatch;
use crate::qualpay::{CustomerVault, Filter};
use crate::upstream::{BrowseParams, Upstream, UpstreamError};

/// Most ids in one `customer_id,IN,...` browse: the upstream's page size limit.
const IN_CHUNK: usize = 100;
/// Most concurrent GETs when the upstream has no IN (`--upstream-batch none`).
const GET_CONCURRENCY: usize = 8;

pub(super) struct CustomerById {
    upstream: Upstream,
    batch: UpstreamBatch,
}

impl CustomerById {
    pub(super) fn new(upstream: Upstream, batch: UpstreamBatch) -> Self {
        Self { upstream, batch }
    }

    async fn browse_in(&self, ids: &[&str]) -> Result<Vec<CustomerVault>, UpstreamError> {
        let params = BrowseParams {
            count: IN_CHUNK as i64,
            page: 0,
            order_on: None,
            order_by: None,
            filters: vec![Filter::any_of("customer_id", ids)?],
        };
        Ok(self.upstream.browse_customers(&params).await?.data)
    }

    async fn get(&self, id: &str) -> Result<Option<CustomerVault>, UpstreamError> {
        match self.upstream.customer(id).await {
            Ok(customer) => Ok(Some(customer)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// Values are per-key results, so one customer failing to load (with bounded GETs) does not
/// fail the others.
type Loaded = Result<Arc<CustomerVault>, UpstreamError>;

impl Loader<String> for CustomerById {
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
            // One key is the vault's own lookup by id, cheaper for it than a filtered browse.
            UpstreamBatch::In if ids.len() == 1 => {
                let found = self.get(ids[0]).await?;
                Ok(found
                    .map(|customer| (ids[0].to_owned(), Ok(Arc::new(customer))))
                    .into_iter()
                    .collect())
            }
            UpstreamBatch::In => {
                let pages = futures_util::future::try_join_all(
                    ids.chunks(IN_CHUNK).map(|chunk| self.browse_in(chunk)),
                )
                .await?;
                Ok(pages
                    .into_iter()
                    .flatten()
                    .map(|customer| (customer.customer_id.clone(), Ok(Arc::new(customer))))
                    .collect())
            }
            UpstreamBatch::None => {
                let gets: Vec<_> = ids
                    .iter()
                    .map(|id| async move { (id.to_string(), self.get(id).await) })
                    .collect();
                let results: Vec<(String, Result<Option<CustomerVault>, UpstreamError>)> =
                    stream::iter(gets)
                        .buffer_unordered(GET_CONCURRENCY)
                        .collect()
                        .await;
                Ok(results
                    .into_iter()
                    .filter_map(|(id, result)| {
                        result.transpose().map(|found| (id, found.map(Arc::new)))
                    })
                    .collect())
            }
        }
    }
}
