//! Parsed query documents, kept per caller so that a client sending the same document again
//! (as frontends do, request after request) does not pay for parsing it again: GraphQL's parser
//! was about 6% of the gateway's CPU, and a kept document is handed out as a copy, which costs a
//! fraction of a parse.
//!
//! Like persisted queries ([`crate::gateway::apq`]), a document is found by the hash of the
//! caller's `Authorization` header with the query's SHA-256, so one caller never learns from the
//! timing of its requests whether another sent a document; only documents that passed the
//! request limits are kept, and never one with a card-like run of digits (a card number may
//! outlive its request only as ciphertext in the vault). The cache holds at most
//! [`MAX_ENTRIES`] documents of at most [`MAX_QUERY_BYTES`] each, and forgets the oldest first.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;
use sha2::{Digest, Sha256};

use crate::redact::{CARD_LIKE_DIGITS, redact_digits};

/// Most documents kept.
pub const MAX_ENTRIES: usize = 512;
/// Longest query whose document is kept: a frontend's queries are a few KiB, and a parsed
/// document takes about ten times its text in memory.
pub const MAX_QUERY_BYTES: usize = 4 * 1024;

type Digest32 = [u8; 32];

/// The caller's credential hashed, and the query's SHA-256.
type Key = (Digest32, Digest32);

/// Parsed documents of every caller.
#[derive(Default)]
pub struct ParsedDocuments {
    inner: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    documents: HashMap<Key, Arc<ExecutableDocument>>,
    /// Insertion order, oldest first.
    order: VecDeque<Key>,
}

impl ParsedDocuments {
    /// The document of `query` as `caller` sent it before, or a fresh one from `parse`, kept
    /// when it may be.
    pub fn get_or_parse<E>(
        &self,
        caller: Digest32,
        query: &str,
        parse: impl FnOnce(&str) -> Result<ExecutableDocument, E>,
    ) -> Result<ExecutableDocument, E> {
        if query.len() > MAX_QUERY_BYTES {
            return parse(query);
        }
        let key = (caller, Sha256::digest(query.as_bytes()).into());
        if let Some(document) = self.lock().documents.get(&key) {
            return Ok(ExecutableDocument::clone(document));
        }
        let document = parse(query)?;
        if matches!(redact_digits(query, CARD_LIKE_DIGITS), Cow::Borrowed(_)) {
            self.put(key, Arc::new(document.clone()));
        }
        Ok(document)
    }

    fn put(&self, key: Key, document: Arc<ExecutableDocument>) {
        let mut cache = self.lock();
        if cache.documents.insert(key, document).is_none() {
            cache.order.push_back(key);
        }
        while cache.documents.len() > MAX_ENTRIES {
            let Some(oldest) = cache.order.pop_front() else {
                break;
            };
            cache.documents.remove(&oldest);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use async_graphql::parser::parse_query;

    use super::*;

    fn parse_counting<'a>(
        count: &'a Cell<usize>,
    ) -> impl Fn(&str) -> Result<ExecutableDocument, ()> + 'a {
        move |query| {
            count.set(count.get() + 1);
            parse_query(query).map_err(|_| ())
        }
    }

    #[test]
    fn a_document_is_parsed_once_per_caller() {
        let documents = ParsedDocuments::default();
        let parses = Cell::new(0);
        for caller in [[1; 32], [1; 32], [2; 32], [1; 32]] {
            let document = documents.get_or_parse(caller, "{ a b }", parse_counting(&parses));
            assert!(document.is_ok());
        }
        assert_eq!(parses.get(), 2, "once for each of the two callers");
    }

    #[test]
    fn refused_long_and_card_bearing_documents_are_not_kept() {
        let documents = ParsedDocuments::default();
        let parses = Cell::new(0);
        let card = r#"{ a(n: "4111111111111111") }"#;
        let long = format!("{{ a{} }}", " b".repeat(MAX_QUERY_BYTES));
        for query in [card, long.as_str(), "{ a(", card, long.as_str(), "{ a("] {
            let _ = documents.get_or_parse([1; 32], query, parse_counting(&parses));
        }
        assert_eq!(parses.get(), 6, "each parsed every time");
        assert!(documents.lock().documents.is_empty());
    }

    #[test]
    fn the_oldest_document_goes_first() {
        let documents = ParsedDocuments::default();
        let parses = Cell::new(0);
        for i in 0..=MAX_ENTRIES {
            let query = format!("{{ a{i} }}");
            let _ = documents.get_or_parse([1; 32], &query, parse_counting(&parses));
        }
        assert_eq!(documents.lock().documents.len(), MAX_ENTRIES);
        let _ = documents.get_or_parse([1; 32], "{ a0 }", parse_counting(&parses));
        let _ = documents.get_or_parse(
            [1; 32],
            &format!("{{ a{MAX_ENTRIES} }}"),
            parse_counting(&parses),
        );
        assert_eq!(
            parses.get(),
            MAX_ENTRIES + 2,
            "a0 was forgotten, the newest kept"
        );
    }
}
