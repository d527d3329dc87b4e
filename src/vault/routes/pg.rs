//! `/pg`: Qualpay's Payment Gateway. Unlike `/platform` there is no envelope: every answer,
//! errors included, is one flat `PgResponse` with an `rcode`, and the HTTP status follows it.

use axum::Json;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::response::{IntoResponse, Response};

use crate::qualpay::PgRequest;
use crate::vault::VaultState;
use crate::vault::auth::Caller;
use crate::vault::crypto::random_alphanumeric;
use crate::vault::error::VaultError;
use crate::vault::extract::{parse_json, read_body};
use crate::vault::payments::{Kind, PgError, PgReply};

/// The operations `/pg` serves.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    Transact(Kind),
    Capture,
    Void,
    Refund,
    Recharge,
    Tokenize,
    ExpireToken,
    BatchClose,
}

impl IntoResponse for PgReply {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl IntoResponse for PgError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = crate::qualpay::PgResponse {
            pg_id: Some(random_alphanumeric(32)),
            rcode: self.rcode.to_owned(),
            rmsg: self.message,
            ..Default::default()
        };
        (status, Json(body)).into_response()
    }
}

/// Answers one `/pg` request: authenticates, reads the body, runs the operation at the
/// merchant's time.
pub async fn handle(state: VaultState, op: Op, request: Request) -> Response {
    match run(state, op, request).await {
        Ok(reply) => reply.into_response(),
        Err(error) => error.into_response(),
    }
}

async fn run(state: VaultState, op: Op, request: Request) -> Result<PgReply, PgError> {
    let (mut parts, body) = request.into_parts();
    if parts.method != axum::http::Method::POST {
        return Err(PgError {
            rcode: "103",
            message: "every Payment Gateway operation is a POST".to_owned(),
        });
    }
    // No field may hold a NUL character (see `extract::refuse_nul_characters`).
    if parts.uri.to_string().contains("%00") {
        return Err(PgError {
            rcode: "103",
            message: "the request holds a NUL character (%00), which no field may hold".to_owned(),
        });
    }
    let caller = Caller::from_request_parts(&mut parts, &state)
        .await
        .map_err(|_| PgError {
            rcode: "101",
            message: VaultError::Unauthorized.to_string(),
        })?;
    let pg_id = match op {
        Op::Capture | Op::Void | Op::Refund | Op::Recharge => {
            let Path(id) = Path::<String>::from_request_parts(&mut parts, &state)
                .await
                .map_err(|_| PgError {
                    rcode: "102",
                    message: "Invalid PG Identifier".to_owned(),
                })?;
            id
        }
        _ => String::new(),
    };
    let bytes = read_body(Request::from_parts(parts, body), &state)
        .await
        .map_err(|error| PgError {
            rcode: "103",
            message: error.to_string(),
        })?;
    let request: PgRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
        PgRequest::default()
    } else {
        parse_json(&bytes).map_err(|error| PgError {
            rcode: "100",
            message: error.to_string(),
        })?
    };
    let merchant_id = caller
        .merchant_id(request.merchant_id)
        .map_err(|_| PgError {
            rcode: "101",
            message: "merchant_id: this API key may not act for that merchant".to_owned(),
        })?;
    let now = state.clock.now(merchant_id).await?;
    let payments = &state.payments;
    match op {
        Op::Transact(kind) => payments.transact(kind, merchant_id, request, now).await,
        Op::Capture => payments.capture(merchant_id, &pg_id, request, now).await,
        Op::Void => payments.void(merchant_id, &pg_id, request, now).await,
        Op::Refund => payments.refund(merchant_id, &pg_id, request, now).await,
        Op::Recharge => payments.recharge(merchant_id, &pg_id, request, now).await,
        Op::Tokenize => payments.tokenize(merchant_id, request, now).await,
        Op::ExpireToken => payments.expire_token(merchant_id, request).await,
        Op::BatchClose => payments.close_batch(merchant_id, request, now).await,
    }
}

/// Answers a `/pg` path that is not an operation, or a method other than POST, in the PG body.
pub async fn unknown() -> Response {
    PgError {
        rcode: "103",
        message: "no such Payment Gateway operation (POST /pg/sale, /pg/auth, ...)".to_owned(),
    }
    .into_response()
}

/// The routes. Each is a POST; other methods are answered in the PG body too.
pub fn routes() -> axum::Router<VaultState> {
    use axum::routing::any;
    let op = |op: Op| {
        any(move |State(state): State<VaultState>, request: Request| handle(state, op, request))
    };
    axum::Router::new()
        .route("/pg/sale", op(Op::Transact(Kind::Sale)))
        .route("/pg/auth", op(Op::Transact(Kind::Auth)))
        .route("/pg/verify", op(Op::Transact(Kind::Verify)))
        .route("/pg/credit", op(Op::Transact(Kind::Credit)))
        .route("/pg/force", op(Op::Transact(Kind::Force)))
        .route("/pg/capture/{pg_id}", op(Op::Capture))
        .route("/pg/void/{pg_id}", op(Op::Void))
        .route("/pg/refund/{pg_id}", op(Op::Refund))
        .route("/pg/recharge/{pg_id}", op(Op::Recharge))
        .route("/pg/tokenize", op(Op::Tokenize))
        .route("/pg/expireToken", op(Op::ExpireToken))
        .route("/pg/batchClose", op(Op::BatchClose))
        .route("/pg/{*rest}", any(unknown))
}
