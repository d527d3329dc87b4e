//! What the gateway keeps of the documents callers send (persisted queries in
//! [`crate::gateway::apq`], parsed documents in [`crate::gateway::documents`]), under one set
//! of rules:
//!
//! - an entry is found by the hash of the caller's `Authorization` header together with the
//!   SHA-256 of the query, so one caller never learns, not even from timing, whether another
//!   sent a document (which may name a customer);
//! - a query with a card-like run of digits (a number written into the query rather than
//!   passed as a variable) is never kept: a card number may outlive its request only as
//!   ciphertext in the vault;
//! - the cache is bounded in entries and in weight, and forgets the oldest first.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};

use crate::redact::{CARD_LIKE_DIGITS, redact_digits};

pub type Digest32 = [u8; 32];

/// Whose document, and which: the caller's credential hashed, and the query's SHA-256.
pub type Key = (Digest32, Digest32);

/// The caller's side of a key: the `Authorization` header as sent, hashed.
pub fn caller(headers: &HeaderMap) -> Digest32 {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|value| value.as_bytes())
        .unwrap_or_default();
    Sha256::digest(authorization).into()
}

/// The query's side of a key.
pub fn query_hash(query: &str) -> Digest32 {
    Sha256::digest(query.as_bytes()).into()
}

/// Values kept per caller and query, at most `max_entries` of them weighing at most
/// `max_weight` together.
pub struct CallerCache<V> {
    inner: Mutex<Entries<V>>,
    max_entries: usize,
    max_weight: usize,
}

struct Entries<V> {
    values: HashMap<Key, (V, usize)>,
    /// Insertion order, oldest first.
    order: VecDeque<Key>,
    weight: usize,
}

impl<V: Clone> CallerCache<V> {
    pub fn new(max_entries: usize, max_weight: usize) -> Self {
        Self {
            inner: Mutex::new(Entries {
                values: HashMap::new(),
                order: VecDeque::new(),
                weight: 0,
            }),
            max_entries,
            max_weight,
        }
    }

    pub fn get(&self, key: &Key) -> Option<V> {
        self.lock().values.get(key).map(|(value, _)| value.clone())
    }

    /// Keeps `value`, made from `query` and weighing `weight`, unless `query` holds a
    /// card-like run of digits or outweighs the whole cache; then forgets the oldest entries
    /// while the cache is over its bounds.
    pub fn put(&self, key: Key, query: &str, value: V, weight: usize) {
        if weight > self.max_weight
            || matches!(redact_digits(query, CARD_LIKE_DIGITS), Cow::Owned(_))
        {
            return;
        }
        let mut entries = self.lock();
        if entries.values.contains_key(&key) {
            return;
        }
        entries.values.insert(key, (value, weight));
        entries.order.push_back(key);
        entries.weight += weight;
        while entries.values.len() > self.max_entries || entries.weight > self.max_weight {
            let Some(oldest) = entries.order.pop_front() else {
                break;
            };
            if let Some((_, gone)) = entries.values.remove(&oldest) {
                entries.weight -= gone;
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().values.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries<V>> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_per_caller_bounded_and_never_hold_a_card_number() {
        let cache = CallerCache::new(2, 10);
        let query = "{ a }";
        cache.put(([1; 32], query_hash(query)), query, 1, 1);
        assert_eq!(cache.get(&([1; 32], query_hash(query))), Some(1));
        assert_eq!(cache.get(&([2; 32], query_hash(query))), None);

        let card = r#"{ a(n: "4111 1111 1111 1111") }"#;
        cache.put(([1; 32], query_hash(card)), card, 2, 1);
        assert_eq!(cache.get(&([1; 32], query_hash(card))), None);
        cache.put(([1; 32], [9; 32]), "{ heavy }", 3, 11);
        assert_eq!(cache.get(&([1; 32], [9; 32])), None, "outweighs the cache");

        cache.put(([1; 32], [7; 32]), "{ b }", 4, 5);
        cache.put(([1; 32], [8; 32]), "{ c }", 5, 5);
        assert_eq!(cache.len(), 2, "the oldest went for the entry bound");
        assert_eq!(cache.get(&([1; 32], query_hash(query))), None);

        let light = CallerCache::new(10, 10);
        light.put(([1; 32], [7; 32]), "{ b }", 4, 6);
        light.put(([1; 32], [8; 32]), "{ c }", 5, 6);
        assert_eq!(
            light.get(&([1; 32], [7; 32])),
            None,
            "the oldest went for the weight"
        );
        assert_eq!(light.get(&([1; 32], [8; 32])), Some(5));
    }
}
