//! Integration tests of the GraphQL gateway (`vaultql serve`), over real HTTP: batching counted
//! through `/metrics`, Relay paging, the types, the mutations, the error codes, the pure
//! upstream mode, the schema and the absence of card numbers and CVVs from every response.
//!
//! Every test starts its own gateway (with an in-memory embedded vault unless it says
//! otherwise), so upstream request counts are exact. Helpers are in [`support`].

mod account_updater;
mod batching;
mod billing_graph;
mod billing_mutations;
mod card_setup;
mod cors;
mod cost;
mod credentials;
mod errors;
mod live;
mod metrics;
mod modules;
mod mutations;
mod paging;
mod payments;
mod persisted_queries;
mod request_ids;
mod schema;
mod secrets;
mod sessions;
mod shared_reads;
pub(crate) mod support;
mod traces;
mod types;
mod upstream_mode;
mod vault_key;
mod webhooks;

use serde_json::Value;

/// Snapshots a GraphQL response under `tests/api/snapshots/api__gateway__{name}.snap`, with the
/// generated ids, cursors and times redacted (only when set: a null stays visible) and object
/// keys sorted.
pub fn assert_gateway_snapshot(name: &str, value: &Value) {
    let mut settings = insta::Settings::clone_current();
    settings.set_sort_maps(true);
    settings.set_prepend_module_to_snapshot(true);
    for field in [
        "id",
        "cursor",
        "startCursor",
        "endCursor",
        "cardId",
        "removedCardId",
        "shippingId",
        "removedShippingId",
        "verifiedAt",
    ] {
        let placeholder = format!("[{field}]");
        settings.add_dynamic_redaction(&format!(".**.{field}"), move |value, _| {
            if value.as_str().is_some() {
                insta::internals::Content::from(placeholder.as_str())
            } else {
                value
            }
        });
    }
    settings.bind(|| insta::assert_json_snapshot!(name, value));
}
