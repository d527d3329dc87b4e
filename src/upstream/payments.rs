//! The Payment Gateway (`/pg`) and the transaction reports (`/platform/reporting/transactions`).
//! `/pg` answers one flat body with no envelope: HTTP 200 is an approval, 402 an issuer's
//! decline and 509 a processor timeout (both still a transaction, with a `pg_id`), anything
//! else an error whose `rcode` becomes the error's `code`. A `/pg` call is never retried, and
//! one whose answer is lost after it was sent is [`UpstreamError::OutcomeUnknown`], never
//! "unavailable": the caller must not take it for "nothing happened".

use std::sync::atomic::Ordering;
use std::time::Instant;

use reqwest::Method;
use tracing::Instrument;

use super::{BrowseParams, Upstream, UpstreamError};
use crate::qualpay::{ListResponse, PgRequest, PgResponse, Transaction};
use crate::telemetry::spans;

/// One Payment Gateway operation; the ones on a transaction name its `pg_id`.
#[derive(Debug, Clone, Copy)]
pub enum PgCall<'a> {
    Sale,
    Auth,
    Verify,
    Capture(&'a str),
    Void(&'a str),
    Refund(&'a str),
}

impl PgCall<'_> {
    /// The route template (the metrics label) and the operation's path segment.
    fn route(&self) -> (&'static str, &'static str) {
        match self {
            Self::Sale => ("/pg/sale", "sale"),
            Self::Auth => ("/pg/auth", "auth"),
            Self::Verify => ("/pg/verify", "verify"),
            Self::Capture(_) => ("/pg/capture/{pg_id}", "capture"),
            Self::Void(_) => ("/pg/void/{pg_id}", "void"),
            Self::Refund(_) => ("/pg/refund/{pg_id}", "refund"),
        }
    }

    fn pg_id(&self) -> Option<&str> {
        match self {
            Self::Capture(id) | Self::Void(id) | Self::Refund(id) => Some(id),
            Self::Sale | Self::Auth | Self::Verify => None,
        }
    }
}

impl Upstream {
    /// `GET /reporting/transactions`: one page of the merchant's transactions (a customer
    /// session's client narrows it to its customer and drops anything else from the answer).
    pub async fn browse_payments(
        &self,
        params: &BrowseParams,
    ) -> Result<ListResponse<Transaction>, UpstreamError> {
        let mut page: ListResponse<Transaction> = self
            .browse(
                "/reporting/transactions",
                &["reporting", "transactions"],
                params,
            )
            .await?;
        self.scope
            .retain(&mut page.data, |t| t.customer_id.as_deref());
        Ok(page)
    }

    /// One Payment Gateway operation. An approval, a decline (402) and a processor timeout
    /// (509) are answers; anything else is an error. A customer session's client sends none.
    pub async fn pg(
        &self,
        call: PgCall<'_>,
        request: &PgRequest,
    ) -> Result<PgResponse, UpstreamError> {
        let (route, operation) = call.route();
        let mut segments = vec![operation];
        segments.extend(call.pg_id());
        let base = self.pg.clone();
        let mut built = self.request(&base, &Method::POST, route, &segments, &[], Some(request))?;
        let span = spans::upstream(&Method::POST, route);
        spans::inject(&span, built.headers_mut());
        let started = Instant::now();
        let result = self.http.execute(built).instrument(span.clone()).await;
        let status = result.as_ref().ok().map(|r| r.status().as_u16());
        spans::upstream_answered(&span, status);
        let answer = match result {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().instrument(span).await {
                    Ok(body) => read_pg(status, &body),
                    Err(error) => Err(lost(&error)),
                }
            }
            // Refused before anything was sent: it did not happen.
            Err(error) if error.is_connect() => Err(UpstreamError::from_reqwest(error)),
            Err(error) => Err(lost(&error)),
        };
        self.metrics
            .record_upstream("POST", route, status, started.elapsed());
        let epoch = self.inflight.write_done();
        self.last_write.store(epoch, Ordering::SeqCst);
        answer
    }
}

fn lost(error: &reqwest::Error) -> UpstreamError {
    if error.is_timeout() {
        UpstreamError::OutcomeUnknown("it did not answer in time".into())
    } else {
        UpstreamError::OutcomeUnknown("the connection failed before the answer arrived".into())
    }
}

/// What a `/pg` answer means.
fn read_pg(status: u16, body: &[u8]) -> Result<PgResponse, UpstreamError> {
    match status {
        200 | 402 | 509 => serde_json::from_slice(body).map_err(|_| {
            UpstreamError::OutcomeUnknown(format!("its HTTP {status} answer could not be read"))
        }),
        // A proxy in front of the gateway gave up waiting: the request may have gone through.
        502..=504 => Err(UpstreamError::OutcomeUnknown(format!(
            "a proxy answered HTTP {status}"
        ))),
        _ => {
            #[derive(serde::Deserialize)]
            struct Head {
                rcode: Option<String>,
                rmsg: Option<String>,
            }
            let head: Option<Head> = serde_json::from_slice(body).ok();
            let code = head
                .as_ref()
                .and_then(|h| h.rcode.as_deref())
                .and_then(|rcode| rcode.parse().ok());
            Err(UpstreamError::Status {
                status,
                code,
                message: head
                    .and_then(|h| h.rmsg)
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| format!("the payment gateway answered HTTP {status}")),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approvals_declines_and_timeouts_are_answers_and_the_rest_errors() {
        let declined = read_pg(
            402,
            br#"{"pg_id":"ab","rcode":"005","rmsg":"Do not honor"}"#,
        );
        assert_eq!(declined.expect("an answer").rcode, "005");
        let conflict = read_pg(409, br#"{"rcode":"110","rmsg":"already captured"}"#);
        assert!(matches!(
            conflict,
            Err(UpstreamError::Status { status: 409, code: Some(110), ref message }) if message == "already captured"
        ));
        assert!(matches!(
            read_pg(504, b"<html>"),
            Err(UpstreamError::OutcomeUnknown(_))
        ));
        assert!(matches!(
            read_pg(200, b"not json"),
            Err(UpstreamError::OutcomeUnknown(_))
        ));
    }
}
