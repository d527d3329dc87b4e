//! What each request brings to its resolvers, and the one way they reach it: the request's
//! time, its upstream client (for its credential, on its budget of calls) and its
//! [`Loaders`]. The HTTP layer puts them in the request's data; nothing else does.

use std::sync::Arc;

use async_graphql::{Context, Result};
use chrono::{DateTime, Utc};

use crate::gateway::error::{GatewayError, gql};
use crate::gateway::loaders::Loaders;
use crate::gateway::session::SessionKeys;
use crate::upstream::Upstream;

/// When the request arrived: the one time its resolvers go by.
#[derive(Clone, Copy)]
pub struct RequestTime(pub DateTime<Utc>);

/// What `createCustomerSession` needs (data of secret-key requests only): the keys that sign
/// tokens, and the gateway's service client (on the request's budget of calls), to check that
/// it can act for the customer's merchant.
#[derive(Clone)]
pub struct SessionIssuer {
    pub keys: Arc<SessionKeys>,
    pub service: Upstream,
}

/// Where the hosted card fields are served (the embedded vault's `/embedded/frame`), when the
/// gateway knows: request data.
#[derive(Clone)]
pub struct CardFields(pub Option<String>);

/// The hosted card fields page, if the gateway serves one.
pub fn card_fields(ctx: &Context<'_>) -> Option<String> {
    ctx.data::<CardFields>()
        .ok()
        .and_then(|fields| fields.0.clone())
}

/// The request's time.
pub fn request_time(ctx: &Context<'_>) -> Result<DateTime<Utc>> {
    ctx.data::<RequestTime>()
        .map(|time| time.0)
        .map_err(|_| missing("time"))
}

/// The request's upstream client.
pub fn upstream<'a>(ctx: &Context<'a>) -> Result<&'a Upstream> {
    ctx.data::<Upstream>()
        .map_err(|_| missing("upstream client"))
}

/// The request's loaders.
pub fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders> {
    ctx.data::<Loaders>().map_err(|_| missing("loaders"))
}

fn missing(what: &str) -> async_graphql::Error {
    gql(GatewayError::Internal(format!("the request has no {what}")))
}
