//! vaultql: a GraphQL gateway over the Qualpay Customer Vault API, and a
//! Customer Vault service that speaks Qualpay's own REST API.
//!
//! - [`config`] holds the command line (`clap`) structs; their doc comments are `--help`.
//! - [`app`] builds and runs the process: the vault service, and later the gateway.
//! - [`qualpay`] is Qualpay's wire format (envelope and bodies, named as the OpenAPI spec names them).
//! - [`vault`] is the Customer Vault service: REST routes, validation, storage, encryption.
//! - [`secret`] wraps values (card numbers, CVVs, keys) that must never reach a log or a response.
//! - [`telemetry`] sets up `tracing`.

pub mod app;
pub mod config;
pub mod qualpay;
pub mod secret;
pub mod telemetry;
pub mod vault;
