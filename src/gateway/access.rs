//! What a request's caller may use in the graph, checked before a field resolves (so a refused
//! field makes no upstream call). A secret key may use everything of its merchant; a customer
//! session only its own customer, and of that only what its permissions list. The upstream
//! client of a session checks again, on every REST call (see [`crate::upstream::Scope`]).

use async_graphql::{Context, Guard, Result};

use crate::gateway::error::{GatewayError, gql};
pub use crate::gateway::session::Permission;
use crate::gateway::session::Session;

/// Who a GraphQL request acts for (per-request data).
#[derive(Debug, Clone)]
pub enum Caller {
    /// A secret key: everything its merchant has.
    Merchant,
    /// A customer session: one customer, some permissions.
    Customer(Session),
}

impl Caller {
    /// The caller of the request.
    pub fn of<'a>(ctx: &Context<'a>) -> Result<&'a Caller> {
        ctx.data::<Caller>()
            .map_err(|_| gql(GatewayError::Internal("the request has no caller".into())))
    }

    /// The session, when the caller is one.
    pub fn session(&self) -> Option<&Session> {
        match self {
            Caller::Merchant => None,
            Caller::Customer(session) => Some(session),
        }
    }
}

fn forbidden(message: &str) -> async_graphql::Error {
    gql(GatewayError::Forbidden(message.to_owned()))
}

/// Merchant-wide fields (lists of all customers, plans, all subscriptions, sessions): secret
/// keys only.
pub struct MerchantOnly;

impl Guard for MerchantOnly {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        merchant_only(ctx)
    }
}

/// Refuses customer sessions.
pub fn merchant_only(ctx: &Context<'_>) -> Result<()> {
    match Caller::of(ctx)? {
        Caller::Merchant => Ok(()),
        Caller::Customer(_) => Err(forbidden(
            "a customer session cannot use merchant-wide data; use a secret key",
        )),
    }
}

/// A field of the session's own customer that needs one permission.
pub struct Needs(pub Permission);

impl Guard for Needs {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        needs(ctx, self.0)
    }
}

/// Refuses a session without `permission`.
pub fn needs(ctx: &Context<'_>, permission: Permission) -> Result<()> {
    match Caller::of(ctx)? {
        Caller::Merchant => Ok(()),
        Caller::Customer(session) if session.allows(permission) => Ok(()),
        Caller::Customer(_) => Err(forbidden(&format!(
            "this customer session does not have the {} permission",
            permission_name(permission)
        ))),
    }
}

/// Refuses a session for another customer than `customer_id` (whether or not that one
/// exists), or without `permission` when one is needed.
pub fn customer(
    ctx: &Context<'_>,
    customer_id: &str,
    permission: Option<Permission>,
) -> Result<()> {
    if let Caller::Customer(session) = Caller::of(ctx)?
        && session.customer_id != customer_id
    {
        return Err(forbidden(
            "a customer session can reach its own customer only",
        ));
    }
    match permission {
        Some(permission) => needs(ctx, permission),
        None => Ok(()),
    }
}

/// The permission as the schema spells it, e.g. `READ_PROFILE`.
fn permission_name(permission: Permission) -> String {
    serde_json::to_value(permission)
        .ok()
        .and_then(|name| name.as_str().map(str::to_owned))
        .unwrap_or_default()
}
