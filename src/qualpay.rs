//! Qualpay's wire format: the response envelope and the request and response bodies, with the
//! field names and JSON types of Qualpay's OpenAPI spec.
//!
//! The vault serves these shapes and the upstream client reads them, so both sides agree on one
//! definition. Optional values that are not set are left out rather than sent as `null`; arrays
//! are always present.

mod account_updater;
mod billing;
pub mod codes;
mod embedded;
mod envelope;
pub mod filter;
pub mod money;
mod payments;
mod vault;
mod webhooks;

pub use account_updater::*;
pub use billing::*;
pub use embedded::EmbeddedKey;
pub use envelope::{ApiResponse, Envelope, ListResponse, SUCCESS_MESSAGE};
pub use filter::{Filter, FilterError};
pub use payments::*;
pub use vault::*;
pub use webhooks::*;
