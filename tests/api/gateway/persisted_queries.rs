//! Automatic persisted queries (Apollo's APQ protocol): a hash stands for a query its caller
//! sent before; an unknown one is answered `PersistedQueryNotFound` (200, so that clients retry
//! with the text), a wrong one is refused, and one caller's queries are not another's.

use reqwest::header::HeaderValue;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::support::{GATEWAY_KEY, GatewayApp, basic};
use crate::helpers::KEY_A;

const QUERY: &str = "{ customers(first: 1) { totalCount } }";

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn extension(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn post(app: &GatewayApp, key: &HeaderValue, accept: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", app.base))
        .header("content-type", "application/json")
        .header("accept", accept)
        .header("authorization", key.clone())
        .body(body.to_string())
        .send()
        .await
        .expect("POST /graphql");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

async fn get(app: &GatewayApp, key: &HeaderValue, extensions: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}/graphql", app.base))
        .query(&[("extensions", extensions.to_string())])
        .header("accept", "application/json")
        .header("authorization", key.clone())
        .send()
        .await
        .expect("GET /graphql");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

fn is_not_found(body: &Value) -> bool {
    body["errors"][0]["message"] == "PersistedQueryNotFound"
        && body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        && body.get("data").is_none()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hash_stands_for_the_query_its_caller_registered() {
    let app = GatewayApp::spawn().await;
    let key = basic(GATEWAY_KEY);
    let hash = sha256_hex(QUERY);

    // Unknown: 200 under either media type, so that a client retries with the text; nothing
    // is sent upstream.
    let before = app.upstream_requests().await;
    for accept in ["application/json", "application/graphql-response+json"] {
        let request = json!({ "extensions": extension(&hash) });
        let (status, body) = post(&app, &key, accept, request).await;
        assert_eq!(status, 200, "{body}");
        assert!(is_not_found(&body), "{body}");
    }
    assert_eq!(
        app.upstream_requests().await,
        before,
        "nothing was sent upstream"
    );

    // Registered with its text, then answered from the hash alone, by POST and by GET.
    let body = json!({ "query": QUERY, "extensions": extension(&hash) });
    let (status, registered) = post(&app, &key, "application/json", body).await;
    assert_eq!(status, 200, "{registered}");
    let total = registered["data"]["customers"]["totalCount"].clone();
    assert!(total.is_number(), "{registered}");
    let (status, by_hash) = post(
        &app,
        &key,
        "application/json",
        json!({ "extensions": extension(&hash) }),
    )
    .await;
    assert_eq!(
        (status, &by_hash["data"]["customers"]["totalCount"]),
        (200, &total),
        "{by_hash}"
    );
    let (status, by_get) = get(&app, &key, &extension(&hash)).await;
    assert_eq!(
        (status, &by_get["data"]["customers"]["totalCount"]),
        (200, &total),
        "{by_get}"
    );

    // Another credential has not registered it.
    let (status, other) = post(
        &app,
        &basic(KEY_A),
        "application/json",
        json!({ "extensions": extension(&hash) }),
    )
    .await;
    assert_eq!(status, 200, "{other}");
    assert!(is_not_found(&other), "{other}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_hash_or_version_is_refused_and_registers_nothing() {
    let app = GatewayApp::spawn().await;
    let key = basic(GATEWAY_KEY);
    let other = "{ __typename }";
    let mismatched = json!({ "query": QUERY, "extensions": extension(&sha256_hex(other)) });
    let (status, body) = post(&app, &key, "application/json", mismatched).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["errors"][0]["message"],
        "provided sha does not match query"
    );
    let (_, body) = post(
        &app,
        &key,
        "application/json",
        json!({ "extensions": extension(&sha256_hex(other)) }),
    )
    .await;
    assert!(
        is_not_found(&body),
        "the mismatched pair was not kept: {body}"
    );

    for persisted in [
        json!({ "version": 2, "sha256Hash": sha256_hex(QUERY) }),
        json!({ "version": 1, "sha256Hash": "not-hex" }),
        json!("a string"),
    ] {
        let body = json!({ "query": QUERY, "extensions": { "persistedQuery": persisted } });
        let (status, answer) = post(&app, &key, "application/json", body).await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("persistedQuery")
        );
    }

    // A query that does not parse is not kept under its hash.
    let broken = "{ customers(";
    let body = json!({ "query": broken, "extensions": extension(&sha256_hex(broken)) });
    let (status, _) = post(&app, &key, "application/json", body).await;
    assert_eq!(status, 200, "a request error on application/json");
    let (_, body) = post(
        &app,
        &key,
        "application/json",
        json!({ "extensions": extension(&sha256_hex(broken)) }),
    )
    .await;
    assert!(is_not_found(&body), "{body}");
}
