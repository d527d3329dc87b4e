//! Identical reads in flight are made once: a second request that needs the same upstream GET,
//! with the same credential, while the first is still waiting for it, joins that call; another
//! credential never does.

use serde_json::{Value, json};

use super::cost::held_upstream;
use super::support::{GATEWAY_KEY, GatewayApp, basic};
use crate::helpers::KEY_A;

const QUERY: &str = "{ customers(first: 1) { totalCount } }";

async fn send(base: String, key: &'static str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .header("authorization", basic(key))
        .json(&json!({ "query": QUERY }))
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

/// The count of reads answered by joining a call in flight, from `/metrics`.
async fn shared_reads(app: &GatewayApp) -> u64 {
    let (_, metrics) = app.get("/metrics").await;
    metrics
        .lines()
        .filter(|line| line.starts_with("vaultql_upstream_shared_reads_total"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_in_flight_is_shared_by_the_same_credential_only() {
    let (url, mut arrivals, release) = held_upstream().await;
    let app = GatewayApp::in_front_of_url(&url, GATEWAY_KEY).await;

    let first = tokio::spawn(send(app.base.clone(), GATEWAY_KEY));
    arrivals.recv().await.expect("the first call arrives");
    // The same read, same key, while the first is held: it joins (the metric is the event).
    let second = tokio::spawn(send(app.base.clone(), GATEWAY_KEY));
    while shared_reads(&app).await == 0 {
        assert!(
            arrivals.try_recv().is_err(),
            "the second request made a call of its own"
        );
        tokio::task::yield_now().await;
    }
    // Another key: its own call.
    let other = tokio::spawn(send(app.base.clone(), KEY_A));
    arrivals.recv().await.expect("the other key's call arrives");

    release.add_permits(1_000);
    for request in [first, second, other] {
        let (status, body) = request.await.expect("the request ends");
        assert_eq!(status, 200, "{body:#}");
        assert_eq!(body["data"]["customers"]["totalCount"], 0, "{body:#}");
    }
    assert_eq!(shared_reads(&app).await, 1);
    assert_eq!(
        app.upstream_requests().await,
        2,
        "two calls for three requests"
    );
    assert!(arrivals.try_recv().is_err(), "no third call");

    // No cache: the same read once the call has answered is a new call.
    let (status, _) = send(app.base.clone(), GATEWAY_KEY).await;
    assert_eq!(status, 200);
    assert_eq!(app.upstream_requests().await, 3);
}
