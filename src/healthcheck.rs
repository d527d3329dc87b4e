//! `vaultql healthcheck`: asks a running process whether it is up, for a container's
//! `HEALTHCHECK` (the image has no curl).

use std::time::Duration;

use crate::app::loopback;
use crate::config::HealthcheckArgs;

/// `Ok` when the process on `args.listen` answers `/healthz` (or `/readyz`) with 200.
pub async fn check(args: &HealthcheckArgs) -> Result<(), String> {
    let path = if args.ready { "/readyz" } else { "/healthz" };
    let url = format!("http://{}{path}", loopback(args.listen));
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(args.timeout_ms))
        .build()
        .map_err(|error| error.to_string())?;
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|error| format!("{url}: {}", error.without_url()))?;
    match response.status().as_u16() {
        200 => Ok(()),
        status => Err(format!("{url} answered {status}")),
    }
}
