//! Parsed query documents, kept per caller so that a client sending the same document again
//! (as frontends do, request after request) does not pay for parsing it again: GraphQL's parser
//! was about 6% of the gateway's CPU, and a kept document is handed out as a copy, which costs a
//! fraction of a parse.
//!
//! Documents are kept per caller, only when they passed the request limits, never with a card
//! number in them, at most [`MAX_ENTRIES`] of them and only of queries of at most
//! [`MAX_QUERY_BYTES`] (see [`crate::gateway::caller_cache`]).

use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;

use crate::gateway::caller_cache::{CallerCache, Digest32, query_hash};

/// Most documents kept.
pub const MAX_ENTRIES: usize = 512;
/// Longest query whose document is kept: a frontend's queries are a few KiB, and a parsed
/// document takes about ten times its text in memory.
pub const MAX_QUERY_BYTES: usize = 4 * 1024;

/// Parsed documents of every caller, weighed by their query's length.
pub struct ParsedDocuments(CallerCache<Arc<ExecutableDocument>>);

impl Default for ParsedDocuments {
    fn default() -> Self {
        Self(CallerCache::new(MAX_ENTRIES, MAX_ENTRIES * MAX_QUERY_BYTES))
    }
}

impl ParsedDocuments {
    /// The document of `query` as `caller` sent it before, or a fresh one from `parse` (which
    /// checks the request limits), kept when it may be.
    pub fn get_or_parse<E>(
        &self,
        caller: Digest32,
        query: &str,
        parse: impl FnOnce(&str) -> Result<ExecutableDocument, E>,
    ) -> Result<ExecutableDocument, E> {
        if query.len() > MAX_QUERY_BYTES {
            return parse(query);
        }
        let key = (caller, query_hash(query));
        if let Some(document) = self.0.get(&key) {
            return Ok(ExecutableDocument::clone(&document));
        }
        let document = parse(query)?;
        self.0
            .put(key, query, Arc::new(document.clone()), query.len());
        Ok(document)
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
        assert_eq!(documents.0.len(), 0);
    }

    #[test]
    fn the_oldest_document_goes_first() {
        let documents = ParsedDocuments::default();
        let parses = Cell::new(0);
        for i in 0..=MAX_ENTRIES {
            let query = format!("{{ a{i} }}");
            let _ = documents.get_or_parse([1; 32], &query, parse_counting(&parses));
        }
        assert_eq!(documents.0.len(), MAX_ENTRIES);
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
