//! A loader whose every batch is a trace span: the loader's name and how many keys it loads
//! (never the keys, which are customer and payment ids).

use std::collections::HashMap;
use std::hash::Hash;

use async_graphql::dataloader::Loader;
use tracing::Instrument;

use crate::telemetry::spans;

/// `T`, each of its batches in a [`spans::loader_batch`] span.
pub struct Traced<T>(pub T);

impl<K, T> Loader<K> for Traced<T>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    T: Loader<K>,
{
    type Value = T::Value;
    type Error = T::Error;

    async fn load(&self, keys: &[K]) -> Result<HashMap<K, Self::Value>, Self::Error> {
        let span = spans::loader_batch(name::<T>(), keys.len());
        self.0.load(keys).instrument(span).await
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
