//! `createCustomerSession`: a merchant's backend, holding a secret key, makes a token for a
//! browser or app acting for one signed-in customer.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::gateway::access::{self, Permission};
use crate::gateway::context::{SessionIssuer, request_time, upstream};
use crate::gateway::error::{GatewayError, gql};
use crate::gateway::session::{DEFAULT_LIFETIME, MAX_LIFETIME, Session};

#[derive(InputObject)]
pub struct CreateCustomerSessionInput {
    /// The customer the session acts for; it must exist for the caller's merchant.
    pub customer_id: String,
    /// What the session may do; nothing else is allowed.
    pub permissions: Vec<Permission>,
    /// Seconds until the token expires: 900 (15 minutes) unless given, at most 3600.
    pub expires_in_seconds: Option<i32>,
}

#[derive(SimpleObject)]
pub struct CreateCustomerSessionPayload {
    /// Send it as `Authorization: Bearer <token>`. It is shown once: keep it out of logs and
    /// URLs.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub customer_id: String,
    pub permissions: Vec<Permission>,
}

#[derive(Default)]
pub struct SessionMutations;

#[Object]
impl SessionMutations {
    /// Makes a customer session token (secret keys only: a session cannot make another).
    async fn create_customer_session(
        &self,
        ctx: &Context<'_>,
        input: CreateCustomerSessionInput,
    ) -> Result<CreateCustomerSessionPayload> {
        access::merchant_only(ctx)?;
        let issuer = ctx.data::<SessionIssuer>().map_err(|_| {
            gql(GatewayError::Internal(
                "the request cannot make sessions".into(),
            ))
        })?;
        let lifetime = match input.expires_in_seconds {
            None => DEFAULT_LIFETIME,
            Some(seconds) if (1..=MAX_LIFETIME.num_seconds()).contains(&i64::from(seconds)) => {
                chrono::Duration::seconds(seconds.into())
            }
            Some(_) => {
                return Err(gql(GatewayError::BadUserInput(format!(
                    "expiresInSeconds must be 1 to {}",
                    MAX_LIFETIME.num_seconds()
                ))));
            }
        };
        if input.permissions.is_empty() {
            return Err(gql(GatewayError::BadUserInput(
                "a session needs at least one permission".into(),
            )));
        }
        let customer_id = input.customer_id;
        let not_found = || gql(GatewayError::NotFound(format!("no customer {customer_id}")));
        if customer_id.is_empty() || !customer_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(not_found());
        }
        // The caller's key proves the customer is its merchant's and says which merchant that
        // is (`node_id`); the service key must be able to act for that merchant.
        let customer = match upstream(ctx)?.customer(&customer_id).await {
            Ok(customer) => customer,
            Err(error) if error.is_not_found() => return Err(not_found()),
            Err(error) => return Err(gql(error)),
        };
        let merchant_id = customer.node_id.filter(|id| *id > 0).ok_or_else(|| {
            gql(GatewayError::Internal(
                "the vault did not say which merchant the customer belongs to (node_id)".into(),
            ))
        })?;
        if let Err(error) = issuer
            .service
            .for_customer(merchant_id, &customer_id)
            .customer(&customer_id)
            .await
        {
            tracing::warn!(
                merchant_id,
                error = %GatewayError::from(error).code(),
                "the gateway's service key cannot act for a merchant that makes sessions"
            );
            return Err(gql(GatewayError::Internal(format!(
                "this gateway's service key (--upstream-api-key) cannot act for merchant \
                 {merchant_id}, so it cannot serve its customer sessions"
            ))));
        }
        let now = request_time(ctx)?;
        let mut permissions = input.permissions;
        permissions.sort_by_key(|p| *p as u8);
        permissions.dedup();
        let session = Session {
            merchant_id,
            customer_id: customer_id.clone(),
            permissions: permissions.clone(),
            issued_at: now.timestamp(),
            expires_at: (now + lifetime).timestamp(),
        };
        Ok(CreateCustomerSessionPayload {
            token: issuer.keys.mint(&session),
            expires_at: session.expires(),
            customer_id,
            permissions,
        })
    }
}
