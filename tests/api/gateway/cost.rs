//! Query cost: pages multiply, fragments count at every spread, aliases at every use; a query
//! over the limit is refused before any upstream call.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::support::{GATEWAY_KEY, GatewayApp, basic, errors};

/// The amplification query of the issue: 50 aliased pages of 100 customers, each spreading a
/// fragment with 50 aliased `cards { customer { ... } }`.
fn amplification() -> String {
    let cards: Vec<String> = (0..50)
        .map(|i| format!("c{i}: cards {{ cardId customer {{ customerId cards {{ cardId }} }} }}"))
        .collect();
    let pages: Vec<String> = (0..50)
        .map(|i| format!("p{i}: customers(first: 100) {{ edges {{ node {{ ...F }} }} }}"))
        .collect();
    format!(
        "{{ {} }} fragment F on Customer {{ customerId {} }}",
        pages.join(" "),
        cards.join(" ")
    )
}

async fn refused_without_upstream_calls(app: &GatewayApp, query: &str) -> Value {
    let before = app.upstream_requests().await;
    let (status, body) = app.graphql_status(query, json!({})).await;
    assert_eq!(
        app.upstream_requests().await,
        before,
        "no upstream call: {body:#}"
    );
    assert_eq!(status, 200, "{body:#}");
    assert!(body.get("data").is_none_or(Value::is_null), "{body:#}");
    let errors = errors(&body);
    assert_eq!(errors.len(), 1, "{body:#}");
    errors[0].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_amplification_query_is_refused_before_any_upstream_call() {
    let app = GatewayApp::spawn().await;
    let query = amplification();
    assert!(
        query.len() < 6 * 1024,
        "a small document: {} bytes",
        query.len()
    );
    let error = refused_without_upstream_calls(&app, &query).await;
    assert_eq!(
        error["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{error:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_costs_its_selection_once_per_item_and_the_message_says_the_limit() {
    let app = GatewayApp::spawn().await;
    // 1 + 100 × (edges 1 + node 1 + customerId 1 + cards (1 + 10 × (1 + …))) stays under the
    // limit; five such pages, and pages of 100 inside pages of 100, do not.
    let page = "customers(first: 100) { edges { node { customerId cards { cardId last4 } } } }";
    let (_, body) = app
        .graphql_status(&format!("{{ {page} }}"), json!({}))
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");

    let nested = "{ customers(first: 100) { edges { node { customerId subscriptions { \
                  transactions(first: 100) { edges { node { transactionId } } } } } } } }";
    let error = refused_without_upstream_calls(&app, nested).await;
    assert_eq!(
        error["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{error:#}"
    );
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("query costs over the limit of 50000"),
        "{message}"
    );
    let without_first = "{ customers { edges { node { customerId subscriptions { \
                         transactions { edges { node { transactionId } } } } } } } }";
    let (_, body) = app.graphql_status(without_first, json!({})).await;
    assert!(body.get("errors").is_none(), "10 by default: {body:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn aliases_count_at_every_spread_of_their_fragment() {
    let app = GatewayApp::spawn().await;
    let aliases: Vec<String> = (0..60).map(|i| format!("a{i}: customerId")).collect();
    let fragment = format!("fragment F on Customer {{ {} }}", aliases.join(" "));
    let once = format!(r#"{{ x: customer(customerId: "NONE") {{ ...F }} }} {fragment}"#);
    let (_, body) = app.graphql_status(&once, json!({})).await;
    assert!(body.get("errors").is_none(), "61 aliases: {body:#}");
    let twice = format!(
        r#"{{ x: customer(customerId: "NONE") {{ ...F }} y: customer(customerId: "NONE") {{ ...F }} }} {fragment}"#
    );
    let error = refused_without_upstream_calls(&app, &twice).await;
    assert_eq!(
        error["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{error:#}"
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("122 aliased fields"),
        "{error:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fragments_spread_inside_fragments_are_counted_without_walking_them_all() {
    let app = GatewayApp::spawn().await;
    // F0 spreads F1 ten times, F1 spreads F2 ten times, …: 10^8 fields once expanded.
    let mut fragments = vec!["fragment F8 on Customer { customerId }".to_owned()];
    for level in (0..8).rev() {
        let spreads = vec![format!("...F{}", level + 1); 10].join(" ");
        fragments.push(format!("fragment F{level} on Customer {{ {spreads} }}"));
    }
    let query = format!(
        r#"{{ customer(customerId: "NONE") {{ ...F0 }} }} {}"#,
        fragments.join(" ")
    );
    let error = refused_without_upstream_calls(&app, &query).await;
    assert_eq!(
        error["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{error:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_request_makes_at_most_its_upstream_calls() {
    let app = GatewayApp::spawn_with(|args| args.max_upstream_calls = 2).await;
    // Three pages with different filters: three browse calls, one too many.
    let query = r#"{
      a: customers(first: 1, filter: { customerId: "A" }) { totalCount }
      b: customers(first: 1, filter: { customerId: "B" }) { totalCount }
      c: customers(first: 1, filter: { customerId: "C" }) { totalCount }
    }"#;
    let before = app.upstream_requests().await;
    let (status, body) = app.graphql_status(query, json!({})).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(app.upstream_requests().await - before, 2, "{body:#}");
    let errors = errors(&body);
    assert_eq!(errors.len(), 1, "{body:#}");
    assert_eq!(
        errors[0]["extensions"]["code"], "TOO_MANY_UPSTREAM_CALLS",
        "{body:#}"
    );
    let answered = ["a", "b", "c"]
        .iter()
        .filter(|alias| body["data"][**alias]["totalCount"].is_number())
        .count();
    assert_eq!(answered, 2, "{body:#}");

    // The budget is the request's: the next one has its own.
    let (status, body) = app
        .graphql_status(r#"{ customers(first: 1) { totalCount } }"#, json!({}))
        .await;
    assert_eq!(status, 200);
    assert!(body.get("errors").is_none(), "{body:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_response_over_the_size_limit_is_replaced_by_an_error() {
    let app = GatewayApp::spawn_with(|args| args.max_response_bytes = 2_000).await;
    let (status, body) = app.graphql_status("{ __typename }", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["__typename"], "Query", "{body:#}");

    let (status, body) = app
        .graphql_status("{ __schema { types { name description } } }", json!({}))
        .await;
    assert_eq!(status, 200, "{body:#}");
    assert!(body["data"].is_null(), "{body:#}");
    let error = &errors(&body)[0];
    assert_eq!(
        error["extensions"]["code"], "RESPONSE_TOO_LARGE",
        "{error:#}"
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("exceeds the limit of 2000 bytes"),
        "{error:#}"
    );
}

/// An upstream that tells the test when each request arrives and answers only once released.
pub(super) async fn held_upstream() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<()>,
    Arc<Semaphore>,
) {
    let (arrived, arrivals) = tokio::sync::mpsc::unbounded_channel();
    let release = Arc::new(Semaphore::new(0));
    let gate = release.clone();
    let router = axum::Router::new().fallback(move || {
        let arrived = arrived.clone();
        let gate = gate.clone();
        async move {
            let _ = arrived.send(());
            gate.acquire().await.expect("the gate stays open").forget();
            axum::Json(json!({ "code": 0, "message": "Success", "totalRecords": 0, "data": [] }))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, arrivals, release)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_over_the_concurrency_limit_is_answered_503_at_once() {
    let (url, mut arrivals, release) = held_upstream().await;
    let app = GatewayApp::in_front_of_url_customized(&url, GATEWAY_KEY, |args| {
        args.max_concurrent_requests = 2;
    })
    .await;
    // Each request asks for a different page size: identical reads in flight would be one
    // upstream call, and this test needs each request to hold its own.
    let send = |base: String, first: u32| {
        let query = json!({ "query": format!("{{ customers(first: {first}) {{ totalCount }} }}") });
        async move {
            let response = reqwest::Client::new()
                .post(format!("{base}/graphql"))
                .header("authorization", basic(GATEWAY_KEY))
                .json(&query)
                .send()
                .await
                .expect("an answer");
            let status = response.status().as_u16();
            let retry_after = response.headers().get("retry-after").cloned();
            let body: Value = response.json().await.expect("JSON");
            (status, retry_after, body)
        }
    };
    let first = tokio::spawn(send(app.base.clone(), 1));
    let second = tokio::spawn(send(app.base.clone(), 2));
    // Both are in progress once the upstream has both of their calls.
    for _ in 0..2 {
        arrivals.recv().await.expect("a call arrives");
    }
    let (status, retry_after, body) = send(app.base.clone(), 3).await;
    assert_eq!(status, 503, "{body:#}");
    assert!(retry_after.is_some());
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "OVERLOADED",
        "{body:#}"
    );

    release.add_permits(1_000);
    for held in [first, second] {
        let (status, _, body) = held.await.expect("the request ends");
        assert_eq!(status, 200, "{body:#}");
    }
    let (status, _, body) = send(app.base.clone(), 4).await;
    assert_eq!(status, 200, "the places are free again: {body:#}");
}
