//! `GET /readyz`: whether this process can do its work, one line per dependency it checks
//! (the upstream the gateway calls, the vault's database), 200 when every check passes and 503
//! naming the ones that fail. A load balancer sends traffic to a process only while it is
//! ready; `/healthz` only says the process is up.

use std::sync::Arc;

use async_trait::async_trait;
use axum::http::StatusCode;
use futures_util::future::join_all;

/// One dependency a process needs to serve requests.
#[async_trait]
pub trait Check: Send + Sync + 'static {
    /// What is checked, as the report names it (`upstream`, `database (postgres)`).
    fn name(&self) -> String;
    /// `Err` says why the dependency cannot be used; it is shown, so it never holds a secret.
    async fn check(&self) -> Result<(), String>;
}

/// Runs every check at once: `ready` and a line per check, or 503 and the same lines.
pub async fn report(checks: &[Arc<dyn Check>]) -> (StatusCode, String) {
    let outcomes = join_all(
        checks
            .iter()
            .map(|check| async move { (check.name(), check.check().await) }),
    )
    .await;
    let ready = outcomes.iter().all(|(_, outcome)| outcome.is_ok());
    let mut text = String::from(if ready { "ready" } else { "not ready" });
    for (name, outcome) in outcomes {
        match outcome {
            Ok(()) => text.push_str(&format!("\n{name}: ok")),
            Err(why) => text.push_str(&format!("\n{name}: {why}")),
        }
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, text)
}
