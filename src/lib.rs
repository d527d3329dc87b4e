//! vaultql: a GraphQL gateway over the Qualpay Customer Vault API, and a
//! Customer Vault service that speaks Qualpay's own REST API.
//!
//! - [`config`] holds the command line (`clap`) structs; their doc comments are `--help`.
//! - [`app`] builds and runs the process: the gateway, with the vault embedded or alone.
//! - [`gateway`] is the GraphQL gateway; it reaches the vault only through [`upstream`].
//! - [`qualpay`] is Qualpay's wire format (envelope and bodies, named as the OpenAPI spec names them).
//! - [`vault`] is the Customer Vault service: REST routes, validation, storage, encryption.
//! - [`redact`] takes card-like digits out of error messages and logged paths.
//! - [`secret`] wraps values (card numbers, CVVs, keys) that must never reach a log or a response.
//! - [`upstream`] is the Qualpay REST client the gateway uses; [`metrics`] is the process's one
//!   registry of Prometheus metrics (gateway, upstream, loaders, vault, process).
//! - [`private_files`] writes the data directory and key files only their owner may read.
//! - [`seed`] adds demo customers to a fresh embedded vault.
//! - [`telemetry`] sets up `tracing`; [`time`] is where the process reads the time.

pub mod app;
pub mod config;
pub mod gateway;
pub mod healthcheck;
pub mod metrics;
pub mod private_files;
pub mod qualpay;
pub mod readiness;
pub mod redact;
pub mod secret;
pub mod seed;
pub mod served_page;
pub mod telemetry;
pub mod time;
pub mod upstream;
pub mod vault;
