//! One GraphQL request can be followed through the logs: the gateway sends its `x-request-id`
//! on with every upstream call, so the vault's request lines carry the same id, and the
//! gateway's line names the operation.

use serde_json::json;

use super::support::{GATEWAY_KEY, GatewayApp, basic};
use crate::capture;

#[tokio::test(flavor = "multi_thread")]
async fn a_graphql_requests_id_and_operation_name_follow_it_into_the_vaults_log() {
    let app = GatewayApp::spawn().await;
    assert!(capture::installed(), "the test binary captures the logs");
    let id = "follow-me-7f3a9c";
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", app.base))
        .header("authorization", basic(GATEWAY_KEY))
        .header("x-request-id", id)
        .json(&json!({
            "query": "query Followed { customers(first: 1) { totalCount } }",
            "operationName": "Followed"
        }))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], id);
    let logs = capture::logs();
    let ours: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains(&format!("request_id={id}")))
        .collect();
    assert!(
        ours.iter().any(|line| line.contains("path=/graphql")
            && line.contains("operation=Followed")
            && line.contains("response")),
        "the gateway's line: {ours:#?}"
    );
    assert!(
        ours.iter()
            .any(|line| line.contains("path=/platform/vault/customer") && line.contains("response")),
        "the vault's line for the upstream call: {ours:#?}"
    );
}
