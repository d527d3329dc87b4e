//! Credentials on `/graphql`: deny by default, the caller's own key passed through, 401s that
//! say so on every media type and method, and GraphiQL's Headers tab filled in only where it is
//! safe.

use reqwest::Method;
use serde_json::{Value, json};
use vaultql::config::Toggle;
use vaultql::gateway::graphiql::GRAPHIQL_AVAILABLE;

use super::support::{Answer, GATEWAY_KEY, GatewayApp, Sandbox, basic};
use crate::helpers::{KEY_A, KEY_B};

/// Sends `/graphql` with exactly the `authorization` given (none when `None`).
async fn send(
    app: &GatewayApp,
    method: Method,
    accept: &str,
    authorization: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let client = reqwest::Client::new();
    let mut request = match (&method, &body) {
        (&Method::GET, _) => client.get(format!("{}/graphql?query=%7B__typename%7D", app.base)),
        (_, Some(body)) => client
            .post(format!("{}/graphql", app.base))
            .header("content-type", "application/json")
            .body(body.to_string()),
        (_, None) => unreachable!("a POST has a body"),
    };
    request = request.header("accept", accept);
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let response = request.send().await.expect("an answer");
    let status = response.status().as_u16();
    let www_authenticate = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    Answer {
        status,
        www_authenticate,
        body,
    }
}

fn basic_text(key: &str) -> String {
    basic(key).to_str().expect("ASCII").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_or_malformed_credentials_are_a_401_everywhere_before_any_upstream_call() {
    // Thirty refusals from one address: more than the default allows before it answers 429.
    let app = GatewayApp::spawn_with(|args| args.max_auth_failures = 1_000).await;
    let single = json!({ "query": "{ customers(first: 5) { totalCount } }" });
    let batch = json!([single, { "query": "mutation { deleteCustomer(input: { customerId: \"ADA\" }) { deletedCustomerId } }" }]);
    let wrong_forms = [
        None,
        Some("Bearer abc".to_owned()),
        Some(format!("Basic {}", "@@@")),
        Some(basic_text(&format!("{GATEWAY_KEY}:password"))),
        Some("Basic".to_owned()),
    ];
    let before = app.upstream_requests().await;
    for authorization in &wrong_forms {
        for accept in ["application/json", "application/graphql-response+json"] {
            for (method, body) in [
                (Method::GET, None),
                (Method::POST, Some(single.clone())),
                (Method::POST, Some(batch.clone())),
            ] {
                let answer =
                    send(&app, method.clone(), accept, authorization.as_deref(), body).await;
                let what = format!("{method} {accept} {authorization:?}");
                assert_eq!(answer.status, 401, "{what}: {:#}", answer.body);
                assert!(
                    answer
                        .www_authenticate
                        .as_deref()
                        .is_some_and(|c| c.starts_with("Basic realm=")),
                    "{what}"
                );
                assert!(
                    answer.body.get("data").is_none(),
                    "{what}: {:#}",
                    answer.body
                );
                assert_eq!(
                    answer.body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
                    "{what}: {:#}",
                    answer.body
                );
                if let Some((_, token)) = authorization.as_deref().and_then(|a| a.split_once(' ')) {
                    let text = answer.body.to_string();
                    assert!(!text.contains(token), "echoed: {text}");
                }
            }
        }
    }
    assert_eq!(app.upstream_requests().await, before, "no upstream call");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_merchant_sees_its_own_customer_of_the_same_id_through_its_own_key() {
    let app = GatewayApp::spawn().await;
    for (key, name) in [(KEY_A, "Alice"), (KEY_B, "Bob")] {
        let response = reqwest::Client::new()
            .post(format!("{}/platform/vault/customer", app.base))
            .header("authorization", basic(key))
            .json(&json!({ "customer_id": "TWIN", "customer_first_name": name, "customer_last_name": "T" }))
            .send()
            .await
            .expect("an answer");
        assert_eq!(
            response.status(),
            200,
            "{}",
            response.text().await.unwrap_or_default()
        );
    }
    let query = json!({ "query": r#"{ customer(customerId: "TWIN") { firstName } customers { totalCount } }"# });
    for (key, name, total) in [
        (KEY_A, json!("Alice"), 1),
        (KEY_B, json!("Bob"), 1),
        (GATEWAY_KEY, Value::Null, 0),
    ] {
        let answer = send(
            &app,
            Method::POST,
            "application/json",
            Some(&basic_text(key)),
            Some(query.clone()),
        )
        .await;
        assert_eq!(answer.status, 200, "{:#}", answer.body);
        let data = &answer.body["data"];
        assert_eq!(
            data["customer"]["firstName"].clone(),
            name,
            "{key}: {:#}",
            answer.body
        );
        if name.is_null() {
            assert!(data["customer"].is_null(), "{:#}", answer.body);
        }
        assert_eq!(
            data["customers"]["totalCount"], total,
            "{key}: {:#}",
            answer.body
        );
    }
}

async fn graphiql_page(app: &GatewayApp) -> (u16, String, String) {
    let response = reqwest::Client::new()
        .get(format!("{}/graphql", app.base))
        .header("accept", "text/html")
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    let cache = response
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, cache, response.text().await.expect("a page"))
}

#[tokio::test(flavor = "multi_thread")]
async fn graphiql_holds_the_development_key_only_for_the_embedded_vault_on_loopback() {
    let encoded = basic_text(GATEWAY_KEY);
    let embedded = GatewayApp::spawn().await;
    let (status, cache, page) = graphiql_page(&embedded).await;
    assert_eq!(status, 200);
    if GRAPHIQL_AVAILABLE {
        assert_eq!(cache, "no-store");
        assert!(page.contains(&encoded), "the key is filled in: {page}");
    }

    let everywhere = GatewayApp::spawn_with(|args| {
        args.listen = "0.0.0.0:0".parse().expect("an address");
    })
    .await;
    let (status, _, page) = graphiql_page(&everywhere).await;
    assert_eq!(status, 200);
    assert!(
        !page.contains(&encoded),
        "never on a non-loopback address: {page}"
    );

    let sandbox = Sandbox::spawn().await;
    let upstream = GatewayApp::in_front_of(&sandbox, KEY_A).await;
    let (status, _, page) = graphiql_page(&upstream).await;
    assert_eq!(status, 200);
    assert!(
        !page.contains(&basic_text(KEY_A)),
        "never with --upstream: {page}"
    );
    if GRAPHIQL_AVAILABLE {
        assert!(
            page.contains("YOUR_API_KEY"),
            "the page says how to give a key: {page}"
        );
    }

    let off = GatewayApp::spawn_with(|args| args.graphiql = Toggle::Off).await;
    let (status, _, page) = graphiql_page(&off).await;
    assert_ne!(status, 200, "{page}");
    assert!(!page.contains(&encoded), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_address_that_keeps_failing_authentication_is_answered_429_even_with_a_good_key() {
    let app = GatewayApp::spawn_with(|args| args.max_auth_failures = 3).await;
    let query = json!({ "query": "{ customers(first: 1) { totalCount } }" });
    let good = basic_text(GATEWAY_KEY);
    let answer = send(
        &app,
        Method::POST,
        "application/json",
        Some(&good),
        Some(query.clone()),
    )
    .await;
    assert_eq!(
        answer.status, 200,
        "a good key is not a failure: {:#}",
        answer.body
    );
    for guess in ["guess-1", "guess-2", "guess-3"] {
        let answer = send(
            &app,
            Method::POST,
            "application/json",
            Some(&basic_text(guess)),
            Some(query.clone()),
        )
        .await;
        assert_eq!(answer.status, 401, "{:#}", answer.body);
    }
    let before = app.upstream_requests().await;
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", app.base))
        .header("authorization", &good)
        .json(&query)
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "TOO_MANY_FAILED_AUTHENTICATIONS",
        "{body:#}"
    );
    assert_eq!(
        app.upstream_requests().await,
        before,
        "refused before any upstream call"
    );
}
