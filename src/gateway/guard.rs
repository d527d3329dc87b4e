//! Limits in front of `/graphql` that need no GraphQL: how many requests run at once, and how
//! many failed authentications one client address may make.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

/// Works on a request only while fewer than the limit are in progress; one more is answered
/// 503 at once rather than queued, so a hung upstream cannot pile up work.
pub async fn at_most_so_many(
    State(in_progress): State<Arc<Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(_permit) = in_progress.try_acquire() else {
        return refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "OVERLOADED",
            "the gateway is working on as many requests as it may: try again shortly",
            1,
        );
    };
    next.run(request).await
}

/// Failed authentications (401 answers) counted per client address over a fixed window. An
/// address that reaches the limit is answered 429 for the rest of the window, before its
/// credentials are looked at, so the gateway cannot be used to guess keys quickly.
pub struct AuthFailures {
    limit: u32,
    window: Duration,
    by_address: Mutex<HashMap<IpAddr, Window>>,
}

#[derive(Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// Addresses tracked at most; past it, windows that ended are dropped first.
const MAX_ADDRESSES: usize = 100_000;

impl AuthFailures {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            by_address: Mutex::new(HashMap::new()),
        }
    }

    /// How long `address` must wait at `now`, if it has used up its failures.
    fn blocked_for(&self, address: IpAddr, now: Instant) -> Option<Duration> {
        let windows = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
        let window = windows.get(&address)?;
        let ends = window.started + self.window;
        (window.failures >= self.limit && now < ends).then(|| ends - now)
    }

    fn failed(&self, address: IpAddr, now: Instant) {
        let mut windows = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= MAX_ADDRESSES && !windows.contains_key(&address) {
            windows.retain(|_, w| now < w.started + self.window);
            if windows.len() >= MAX_ADDRESSES {
                // Every tracked address is inside its window: forget the oldest half.
                let mut starts: Vec<Instant> = windows.values().map(|w| w.started).collect();
                starts.sort_unstable();
                let cut = starts[starts.len() / 2];
                windows.retain(|_, w| w.started > cut);
            }
        }
        let window = windows.entry(address).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now >= window.started + self.window {
            *window = Window {
                started: now,
                failures: 0,
            };
        }
        window.failures = window.failures.saturating_add(1);
    }
}

/// Refuses an address that failed authentication too often; counts each 401 it gets. A
/// server started without connection info (some tests) is not limited.
pub async fn limit_auth_failures(
    State(failures): State<Arc<AuthFailures>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(address) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
    else {
        return next.run(request).await;
    };
    if let Some(wait) = failures.blocked_for(address, Instant::now()) {
        return refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "TOO_MANY_FAILED_AUTHENTICATIONS",
            "too many requests from this address failed authentication: try again later",
            wait.as_secs().max(1),
        );
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        failures.failed(address, Instant::now());
    }
    response
}

fn refusal(status: StatusCode, code: &str, message: &str, retry_after_secs: u64) -> Response {
    let body = serde_json::json!({ "errors": [{
        "message": message,
        "extensions": { "code": code },
    }] });
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                "application/json; charset=utf-8".to_owned(),
            ),
            (header::RETRY_AFTER, retry_after_secs.to_string()),
        ],
        body.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_blocked_after_its_failures_until_its_window_ends() {
        let limit = AuthFailures::new(3, Duration::from_secs(60));
        let at = Instant::now();
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for s in 0..3 {
            assert_eq!(limit.blocked_for(one, at + Duration::from_secs(s)), None);
            limit.failed(one, at + Duration::from_secs(s));
        }
        assert_eq!(
            limit.blocked_for(one, at + Duration::from_secs(10)),
            Some(Duration::from_secs(50))
        );
        assert_eq!(limit.blocked_for(other, at + Duration::from_secs(10)), None);
        assert_eq!(limit.blocked_for(one, at + Duration::from_secs(60)), None);
        limit.failed(one, at + Duration::from_secs(61));
        assert_eq!(
            limit.blocked_for(one, at + Duration::from_secs(62)),
            None,
            "a new window"
        );
    }

    #[test]
    fn the_table_of_addresses_stays_bounded() {
        let limit = AuthFailures::new(3, Duration::from_secs(60));
        let at = Instant::now();
        for n in 0..(MAX_ADDRESSES as u32 + 10) {
            limit.failed(IpAddr::from(n.to_be_bytes()), at);
        }
        assert!(limit.by_address.lock().unwrap().len() <= MAX_ADDRESSES);
    }
}
