//! The vault's errors and their one mapping to Qualpay's envelope and an HTTP status.
//!
//! | HTTP | code | meaning |
//! |------|------|---------|
//! | 400  | 2    | request validation failed |
//! | 401  | 4    | missing or unknown API key |
//! | 402  | 3    | card verification declined |
//! | 403  | 5    | the key may not act for that `merchant_id` |
//! | 404  | 6    | no such customer, card, shipping address or path |
//! | 405  | 7    | method not supported on this path |
//! | 409  | 8    | duplicate `customer_id`, or the card is already stored for the customer |
//! | 413  | 9    | request body too large |
//! | 500  | 99   | internal error (details only in the log) |

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::qualpay::ApiResponse;
use crate::vault::billing::subscription::TransitionError;
use crate::vault::crypto::CryptoError;
use crate::vault::store::StoreError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum VaultError {
    /// One message per invalid field, each starting with the field's name.
    #[error("Request validation failed: {}", .0.join("; "))]
    Validation(Vec<String>),
    #[error("Card verification declined: {message} (response code {response_code})")]
    Declined {
        response_code: &'static str,
        message: &'static str,
    },
    #[error("Unauthorized: send the API key as the user name of HTTP Basic authentication")]
    Unauthorized,
    #[error("This API key may not act for merchant_id {0}")]
    ForbiddenMerchant(i64),
    #[error("{0}")]
    NotFound(String),
    #[error("Method not allowed on this path")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("Request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// The cause is logged; the client sees a generic message.
    #[error("Internal error")]
    Internal(String),
}

impl VaultError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Validation(vec![message.into()])
    }

    /// Qualpay's response `code` and the HTTP status.
    pub fn code_and_status(&self) -> (i32, StatusCode) {
        match self {
            Self::Validation(_) => (2, StatusCode::BAD_REQUEST),
            Self::Declined { .. } => (3, StatusCode::PAYMENT_REQUIRED),
            Self::Unauthorized => (4, StatusCode::UNAUTHORIZED),
            Self::ForbiddenMerchant(_) => (5, StatusCode::FORBIDDEN),
            Self::NotFound(_) => (6, StatusCode::NOT_FOUND),
            Self::MethodNotAllowed => (7, StatusCode::METHOD_NOT_ALLOWED),
            Self::Conflict(_) => (8, StatusCode::CONFLICT),
            Self::PayloadTooLarge(_) => (9, StatusCode::PAYLOAD_TOO_LARGE),
            Self::Internal(_) => (99, StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

impl From<StoreError> for VaultError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::CustomerNotFound
            | StoreError::CardNotFound
            | StoreError::AddressNotFound
            | StoreError::PlanNotFound
            | StoreError::SubscriptionNotFound => Self::NotFound(error.to_string()),
            StoreError::DuplicateCustomer
            | StoreError::DuplicateCard
            | StoreError::DuplicatePlan
            | StoreError::PlanInUse
            | StoreError::Concurrent => Self::Conflict(error.to_string()),
            StoreError::Database(_)
            | StoreError::Migrate(_)
            | StoreError::SchemaNewer(_)
            | StoreError::Unreachable(_)
            | StoreError::Corrupt(_) => Self::Internal(error.to_string()),
        }
    }
}

impl From<TransitionError> for VaultError {
    fn from(error: TransitionError) -> Self {
        match error {
            TransitionError::NotAllowed { .. } => Self::Conflict(error.to_string()),
            TransitionError::Ended
            | TransitionError::StartChargesPending
            | TransitionError::InThePast(_) => Self::invalid(error.to_string()),
        }
    }
}

impl From<CryptoError> for VaultError {
    fn from(error: CryptoError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl IntoResponse for VaultError {
    fn into_response(self) -> Response {
        let (code, status) = self.code_and_status();
        if let Self::Internal(cause) = &self {
            tracing::error!(%cause, "internal error");
        }
        let body = ApiResponse::<()> {
            code,
            message: self.to_string(),
            data: None,
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"vaultql\""),
            );
        }
        response
    }
}
