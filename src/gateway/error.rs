//! The gateway's errors and their one mapping to GraphQL errors. Every error carries
//! `extensions.code`, one of:
//!
//! | code | meaning |
//! |------|---------|
//! | `BAD_USER_INPUT` | the input was refused (by the gateway, or by the vault with a 400, 402, 409 or 413) |
//! | `NOT_FOUND` | no such customer, card or address |
//! | `FORBIDDEN` | the caller's credential may not use the field (a customer session's limits) |
//! | `UNAUTHENTICATED` | the vault refused the caller's API key (401, 403): the answer is a 401 |
//! | `UPSTREAM_ERROR` | the vault failed or answered something unreadable |
//! | `UPSTREAM_UNAVAILABLE` | the vault could not be reached or timed out |
//! | `TOO_MANY_UPSTREAM_CALLS` | the GraphQL request has made all its upstream calls |
//! | `CARD_DECLINED` | the card's issuer declined a payment (`extensions.responseCode`); the payload still holds the declined payment |
//! | `PAYMENT_FAILED` | the processor did not answer (`998`): the payment is recorded as failed, nothing was charged |
//! | `CONFLICT` | the payment's state does not allow it (capture twice, void a settled one, refund more than is left) |
//! | `OUTCOME_UNKNOWN` | a payment request was sent but its answer was lost: it may have happened; the message says how to find out |
//! | `INTERNAL` | a fault in the gateway itself |
//!
//! When the vault answered, `extensions.upstreamCode` is its envelope `code` (for `/pg`, the
//! numeric `rcode`) and `extensions.upstreamStatus` its HTTP status.

use async_graphql::{Error, ErrorExtensions};

use crate::upstream::UpstreamError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum GatewayError {
    #[error("{0}")]
    BadUserInput(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("{0}")]
    Internal(String),
    /// The issuer declined a payment (`rcode` `0xx`).
    #[error("the card was declined: {message}")]
    CardDeclined {
        response_code: String,
        message: String,
    },
    /// The processor did not answer (`rcode` `998`): recorded as failed, nothing charged.
    #[error("the payment failed, nothing was charged: {message}")]
    PaymentFailed {
        response_code: String,
        message: String,
    },
    /// The payment's state does not allow the operation (`/pg` 409, `rcode` 110-113).
    #[error("{message}")]
    Conflict {
        message: String,
        upstream_code: Option<i32>,
    },
    /// A payment request was sent and its answer lost; the message says how to find out.
    #[error("{0}")]
    OutcomeUnknown(String),
}

impl From<crate::qualpay::FilterError> for GatewayError {
    fn from(error: crate::qualpay::FilterError) -> Self {
        Self::BadUserInput(error.to_string())
    }
}

impl GatewayError {
    /// A Payment Gateway failure: a state conflict (409) is `CONFLICT`, an unknown `pg_id`
    /// (`102`), card or customer (`104`) `NOT_FOUND`; the rest as any upstream error.
    pub fn from_pg(error: UpstreamError) -> Self {
        match error {
            UpstreamError::Status {
                status: 409,
                code,
                message,
            } => Self::Conflict {
                message,
                upstream_code: code,
            },
            UpstreamError::Status {
                status: 400,
                code: Some(102 | 104),
                message,
            } => Self::NotFound(message),
            other => Self::Upstream(other),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::CardDeclined { .. } => "CARD_DECLINED",
            Self::PaymentFailed { .. } => "PAYMENT_FAILED",
            Self::Conflict { .. } => "CONFLICT",
            Self::OutcomeUnknown(_) => "OUTCOME_UNKNOWN",
            Self::BadUserInput(_) | Self::Upstream(UpstreamError::Filter(_)) => "BAD_USER_INPUT",
            Self::NotFound(_) | Self::Upstream(UpstreamError::NotFound(_)) => "NOT_FOUND",
            Self::Forbidden(_) | Self::Upstream(UpstreamError::OutOfScope(_)) => "FORBIDDEN",
            Self::Internal(_) => "INTERNAL",
            Self::Upstream(UpstreamError::Status { status, .. }) => match status {
                400 | 402 | 405 | 409 | 413 | 422 => "BAD_USER_INPUT",
                401 | 403 => "UNAUTHENTICATED",
                404 => "NOT_FOUND",
                _ => "UPSTREAM_ERROR",
            },
            Self::Upstream(UpstreamError::Decode(_)) => "UPSTREAM_ERROR",
            Self::Upstream(UpstreamError::Timeout | UpstreamError::Transport(_)) => {
                "UPSTREAM_UNAVAILABLE"
            }
            Self::Upstream(UpstreamError::CallBudgetSpent { .. }) => "TOO_MANY_UPSTREAM_CALLS",
            Self::Upstream(UpstreamError::OutcomeUnknown(_)) => "OUTCOME_UNKNOWN",
        }
    }
}

impl ErrorExtensions for GatewayError {
    fn extend(&self) -> Error {
        let message = match self {
            Self::Upstream(UpstreamError::Status { status, .. }) if *status >= 500 => {
                format!("The vault failed: {self}")
            }
            _ => self.to_string(),
        };
        Error::new(message).extend_with(|_, extensions| {
            extensions.set("code", self.code());
            match self {
                Self::Upstream(UpstreamError::Status { status, code, .. }) => {
                    if let Some(code) = code {
                        extensions.set("upstreamCode", *code);
                    }
                    extensions.set("upstreamStatus", *status);
                }
                Self::CardDeclined { response_code, .. }
                | Self::PaymentFailed { response_code, .. } => {
                    extensions.set("responseCode", response_code.as_str());
                }
                Self::Conflict {
                    upstream_code: Some(code),
                    ..
                } => {
                    extensions.set("upstreamCode", *code);
                    extensions.set("upstreamStatus", 409);
                }
                _ => {}
            }
        })
    }
}

/// An error the gateway raises around execution (a limit, a refusal), with its
/// `extensions.code`.
pub fn coded(code: &str, message: impl Into<String>) -> async_graphql::ServerError {
    let mut error = async_graphql::ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
    error
}

/// Every `extensions.code` the gateway itself sets (the table above, the request limits and
/// refusals of `gateway::http`, `guard` and `websocket`): the only codes the error metric
/// names.
pub const CODES: [&str; 21] = [
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "FORBIDDEN",
    "UNAUTHENTICATED",
    "UPSTREAM_ERROR",
    "UPSTREAM_UNAVAILABLE",
    "TOO_MANY_UPSTREAM_CALLS",
    "CARD_DECLINED",
    "PAYMENT_FAILED",
    "CONFLICT",
    "OUTCOME_UNKNOWN",
    "INTERNAL",
    "BAD_REQUEST",
    "QUERY_TOO_LARGE",
    "QUERY_TOO_COMPLEX",
    "RESPONSE_TOO_LARGE",
    "PERSISTED_QUERY_NOT_FOUND",
    "OVERLOADED",
    "TOO_MANY_FAILED_AUTHENTICATIONS",
    "TOO_MANY_SUBSCRIPTIONS",
    "EVENTS_LOST",
];

/// The error's code as a metric label: one of [`CODES`], `OTHER` for any other code, `NONE`
/// when it has none (async-graphql's own parse and validation errors).
pub fn code_label(error: &async_graphql::ServerError) -> &'static str {
    let code = error
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.get("code"));
    match code {
        None => "NONE",
        Some(async_graphql::Value::String(code)) => CODES
            .iter()
            .find(|known| *known == code)
            .unwrap_or(&"OTHER"),
        Some(_) => "OTHER",
    }
}

/// For a nullable field: reports the error and makes the field null, so its siblings still
/// resolve. (async-graphql 7 drops a failed field from `data` rather than setting it to null.)
pub fn null_on_error<T>(
    ctx: &async_graphql::Context<'_>,
    result: async_graphql::Result<Option<T>>,
) -> Option<T> {
    result.unwrap_or_else(|error| {
        ctx.add_error(ctx.set_error_path(error.into_server_error(ctx.item.pos)));
        None
    })
}

/// For `map_err`: any gateway error as a GraphQL error with its extensions.
pub fn gql(error: impl Into<GatewayError>) -> Error {
    error.into().extend()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> GatewayError {
        GatewayError::Upstream(UpstreamError::Status {
            status,
            code: Some(2),
            message: "x".into(),
        })
    }

    #[test]
    fn error_codes_are_labels_only_when_the_gateway_defines_them() {
        assert_eq!(code_label(&coded("NOT_FOUND", "x")), "NOT_FOUND");
        assert_eq!(code_label(&coded("4111111111111111", "x")), "OTHER");
        let none = async_graphql::ServerError::new("x", None);
        assert_eq!(code_label(&none), "NONE");
        for upstream in [status(400), status(401), status(404), status(500)] {
            assert!(CODES.contains(&upstream.code()));
        }
    }

    #[test]
    fn upstream_statuses_map_to_one_documented_code_each() {
        assert_eq!(status(400).code(), "BAD_USER_INPUT");
        assert_eq!(status(401).code(), "UNAUTHENTICATED");
        assert_eq!(status(404).code(), "NOT_FOUND");
        assert_eq!(status(409).code(), "BAD_USER_INPUT");
        assert_eq!(status(500).code(), "UPSTREAM_ERROR");
        assert_eq!(
            GatewayError::Upstream(UpstreamError::Timeout).code(),
            "UPSTREAM_UNAVAILABLE"
        );
        let conflict = GatewayError::from_pg(UpstreamError::Status {
            status: 409,
            code: Some(110),
            message: "already captured".into(),
        });
        assert_eq!(conflict.code(), "CONFLICT");
        let unknown = GatewayError::from_pg(UpstreamError::Status {
            status: 400,
            code: Some(102),
            message: "no such pg_id".into(),
        });
        assert_eq!(unknown.code(), "NOT_FOUND");
        assert_eq!(
            GatewayError::Upstream(UpstreamError::OutcomeUnknown("x".into())).code(),
            "OUTCOME_UNKNOWN"
        );
        let declined = GatewayError::CardDeclined {
            response_code: "005".into(),
            message: "Do not honor".into(),
        }
        .extend();
        assert_eq!(
            declined.extensions.unwrap().get("responseCode"),
            Some(&async_graphql::Value::from("005"))
        );
        let error = status(400).extend();
        let extensions = error.extensions.unwrap();
        assert_eq!(
            extensions.get("upstreamCode"),
            Some(&async_graphql::Value::from(2))
        );
    }
}
