//! A loader whose every batch is counted and traced: `vaultql_loader_batch_keys{loader}` and a
//! trace span, both with the loader's name and how many keys it loads (never the keys, which
//! are customer and payment ids).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use tracing::Instrument;

use crate::metrics::Metrics;
use crate::telemetry::spans;

/// `T`, each of its batches counted in `metrics` and run in a [`spans::loader_batch`] span.
pub struct Instrumented<T> {
    inner: T,
    metrics: Arc<Metrics>,
}

impl<T> Instrumented<T> {
    pub fn new(inner: T, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }
}

impl<K, T> Loader<K> for Instrumented<T>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    T: Loader<K>,
{
    type Value = T::Value;
    type Error = T::Error;

    async fn load(&self, keys: &[K]) -> Result<HashMap<K, Self::Value>, Self::Error> {
        let name = name::<T>();
        self.metrics.record_loader_batch(name, keys.len());
        let span = spans::loader_batch(name, keys.len());
        self.inner.load(keys).instrument(span).await
    }
}

/// The loader's type name without its path: `CustomerById`.
fn name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_loader_is_named_by_its_type() {
        struct CustomerById;
        assert_eq!(super::name::<CustomerById>(), "CustomerById");
    }
}
