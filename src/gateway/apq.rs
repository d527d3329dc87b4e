//! Automatic persisted queries (Apollo's APQ protocol, version 1): a client sends only the
//! SHA-256 of a query it sent before (`extensions.persistedQuery.sha256Hash`), and sends the
//! full text only when the gateway answers `PersistedQueryNotFound`.
//!
//! Each credential has its own queries, the cache is bounded and never keeps a card number
//! ([`crate::gateway::caller_cache`]); a forgotten query costs the client one retry.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::gateway::caller_cache::{CallerCache, Digest32, Key, query_hash};

/// Most queries kept.
pub const MAX_ENTRIES: usize = 10_000;
/// Most bytes of query text kept (each query is at most the request limit of 64 KiB).
pub const MAX_BYTES: usize = 32 * 1024 * 1024;

/// The persisted queries of every caller (see [`crate::gateway::caller_cache`] for how they
/// are kept apart, bounded, and never hold a card number).
pub struct PersistedQueries(CallerCache<Arc<str>>);

impl Default for PersistedQueries {
    fn default() -> Self {
        Self(CallerCache::new(MAX_ENTRIES, MAX_BYTES))
    }
}

/// What a request's `persistedQuery` extension asks for.
pub struct Persisted {
    key: Key,
}

/// Why a request's persisted query cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub enum ApqError {
    /// The extension is not `{version: 1, sha256Hash: <64 hex digits>}`.
    Malformed(&'static str),
    /// The hash is unknown (for this caller): the client should send the query with it.
    NotFound,
    /// The query sent does not have the hash sent with it.
    HashMismatch,
}

impl Persisted {
    /// The request's `persistedQuery` extension, if it has one.
    pub fn from_extensions(
        caller: Digest32,
        extensions: Option<&Map<String, Value>>,
    ) -> Result<Option<Self>, ApqError> {
        let Some(extension) = extensions.and_then(|e| e.get("persistedQuery")) else {
            return Ok(None);
        };
        let Value::Object(extension) = extension else {
            return Err(ApqError::Malformed("persistedQuery must be an object"));
        };
        if extension.get("version") != Some(&Value::from(1)) {
            return Err(ApqError::Malformed(
                "persistedQuery.version must be 1, the only version supported",
            ));
        }
        let Some(Value::String(hash)) = extension.get("sha256Hash") else {
            return Err(ApqError::Malformed("persistedQuery.sha256Hash is missing"));
        };
        let hash = hex_digest(hash).ok_or(ApqError::Malformed(
            "persistedQuery.sha256Hash must be 64 hexadecimal digits",
        ))?;
        Ok(Some(Self {
            key: (caller, hash),
        }))
    }

    /// Checks a query sent with its hash.
    pub fn check(&self, query: &str) -> Result<(), ApqError> {
        if query_hash(query) == self.key.1 {
            Ok(())
        } else {
            Err(ApqError::HashMismatch)
        }
    }
}

impl PersistedQueries {
    /// The query persisted under `persisted`, for its caller.
    pub fn get(&self, persisted: &Persisted) -> Result<Arc<str>, ApqError> {
        self.0.get(&persisted.key).ok_or(ApqError::NotFound)
    }

    /// Keeps a query that was checked against its hash (and parsed).
    pub fn put(&self, persisted: &Persisted, query: &str) {
        self.0
            .put(persisted.key, query, Arc::from(query), query.len());
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.len()
    }
}

fn hex_digest(text: &str) -> Option<Digest32> {
    if text.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(text.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sha2::{Digest, Sha256};

    use super::*;

    fn hex(query: &str) -> String {
        Sha256::digest(query.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn persisted(caller: Digest32, hash: &str) -> Result<Option<Persisted>, ApqError> {
        let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
        Persisted::from_extensions(caller, extensions.as_object())
    }

    #[test]
    fn a_query_is_found_by_its_hash_for_its_caller_only() {
        let cache = PersistedQueries::default();
        let query = "{ __typename }";
        let alice = persisted([1; 32], &hex(query)).unwrap().unwrap();
        assert_eq!(cache.get(&alice).unwrap_err(), ApqError::NotFound);
        alice.check(query).unwrap();
        cache.put(&alice, query);
        assert_eq!(&*cache.get(&alice).unwrap(), query);
        let bob = persisted([2; 32], &hex(query)).unwrap().unwrap();
        assert_eq!(cache.get(&bob).unwrap_err(), ApqError::NotFound);
    }

    #[test]
    fn a_query_with_a_card_number_in_its_text_is_never_kept() {
        let cache = PersistedQueries::default();
        let query = r#"mutation { addCard(input: {customerId: "A", cardNumber: "4111 1111 1111 1111", expDate: "1229"}) { __typename } }"#;
        let key = persisted([1; 32], &hex(query)).unwrap().unwrap();
        cache.put(&key, query);
        assert_eq!(cache.get(&key).unwrap_err(), ApqError::NotFound);
    }

    #[test]
    fn a_query_must_have_the_hash_sent_with_it() {
        let sent = persisted([1; 32], &hex("{ a }")).unwrap().unwrap();
        assert_eq!(sent.check("{ b }"), Err(ApqError::HashMismatch));
    }

    #[test]
    fn malformed_extensions_are_refused_and_absent_ones_ignored() {
        assert!(Persisted::from_extensions([0; 32], None).unwrap().is_none());
        let other = json!({ "tracing": true });
        assert!(
            Persisted::from_extensions([0; 32], other.as_object())
                .unwrap()
                .is_none()
        );
        for extension in [
            json!({ "persistedQuery": "abc" }),
            json!({ "persistedQuery": { "version": 2, "sha256Hash": hex("x") } }),
            json!({ "persistedQuery": { "version": 1 } }),
            json!({ "persistedQuery": { "version": 1, "sha256Hash": "zz" } }),
            json!({ "persistedQuery": { "version": 1, "sha256Hash": "é".repeat(32) } }),
        ] {
            assert!(matches!(
                Persisted::from_extensions([0; 32], extension.as_object()),
                Err(ApqError::Malformed(_))
            ));
        }
    }

    #[test]
    fn the_cache_forgets_the_oldest_past_its_bounds() {
        let cache = PersistedQueries::default();
        let big = "x".repeat(MAX_BYTES / 2);
        let keys: Vec<Persisted> = (0..3)
            .map(|i| persisted([i; 32], &hex(&big)).unwrap().unwrap())
            .collect();
        for key in &keys {
            cache.put(key, &big);
        }
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&keys[0]).unwrap_err(), ApqError::NotFound);
        assert!(cache.get(&keys[2]).is_ok());
        for i in 0..MAX_ENTRIES + 10 {
            let query = format!("{{ a{i} }}");
            let key = persisted([9; 32], &hex(&query)).unwrap().unwrap();
            cache.put(&key, &query);
        }
        assert_eq!(cache.len(), MAX_ENTRIES);
    }
}
