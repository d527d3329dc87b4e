//! Integration tests for the Customer Vault REST service (`vaultql sandbox`), over real HTTP.
//!
//! Most tests share one in-memory server (`TestApp::shared()`) and keep out of each other's way
//! by using their own customer ids; tests that need exact totals, a file database or special
//! keys start their own server (`TestApp::spawn()` / `TestApp::spawn_with(..)`). Every response
//! that goes through the request helpers is checked against the spec fixture (see `contract`)
//! and for leaked card numbers, CVVs and API keys.

/// Snapshots a response body with the server-generated ids and timestamps redacted.
/// Object keys are sorted so a reordering of struct fields does not churn the snapshots.
macro_rules! assert_vault_snapshot {
    ($name:expr, $value:expr) => {{
        let mut settings = insta::Settings::clone_current();
        settings.set_sort_maps(true);
        settings.add_redaction(".**.rec_id", "[rec_id]");
        settings.add_redaction(".**.card_id", "[card_id]");
        settings.add_redaction(".**.shipping_id", "[shipping_id]");
        settings.add_redaction(".**.verified_date", "[verified_date]");
        settings.bind(|| insta::assert_json_snapshot!($name, $value));
    }};
}

mod account_updater;
mod account_updater_billing;
mod account_updater_support;
mod ach;
mod backends;
mod billing;
mod billing_calendar;
mod billing_cancel_race;
mod billing_engine;
mod billing_exactly_once;
mod billing_jobs;
mod billing_plans;
mod billing_processes;
mod billing_subscriptions;
mod billing_support;
mod browse;
mod browser;
mod capture;
mod concurrency;
mod contract;
mod customers;
mod database;
mod dockerfile;
mod embedded;
mod errors;
mod fuzz;
mod gateway;
mod graphql_http;
mod helpers;
mod isolation;
mod migrations;
mod payments;
mod pg_fuzz;
mod primary_cards;
mod security;
mod shipping;
mod testdata;
mod verification;
mod webhooks;
