//! `/metrics` from the user's side: each counter scraped before and after a known request
//! moves by exactly what that request did, operation names stay bounded and never carry a
//! card number, the embedded vault's billing counts on the same page, and the process's own
//! metrics are there.

use serde_json::json;
use vaultql::metrics::MAX_OPERATION_NAMES;

use super::billing_graph::{DECLINING, create_plan, customer_with_cards, subscribe};
use super::support::{GatewayApp, Sandbox, metric_value, visa};

const REQUESTS: &str = "vaultql_graphql_requests_total";

/// `vaultql_graphql_requests_total` of one operation, type and outcome.
fn requests(operation: &str, operation_type: &str, outcome: &str) -> String {
    format!(
        "{REQUESTS}{{operation=\"{operation}\",operation_type=\"{operation_type}\",outcome=\"{outcome}\"}}"
    )
}

/// How far each series moved between two scrapes.
fn moved(before: &[f64], after: &[f64]) -> Vec<f64> {
    after.iter().zip(before).map(|(a, b)| a - b).collect()
}

fn errors(code: &str) -> String {
    format!("vaultql_graphql_errors_total{{code=\"{code}\"}}")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_named_query_of_three_customers_counts_one_request_one_upstream_call_and_one_batch_of_three()
 {
    let app = GatewayApp::spawn().await;
    let ids = app.seed("Metered", 3, 1, 0).await;
    let query = format!(
        "query ThreeCustomers {{ {} }}",
        ids.iter()
            .enumerate()
            .map(|(i, id)| format!("c{i}: customer(customerId: \"{id}\") {{ customerId }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let ok = requests("ThreeCustomers", "query", "ok");
    let duration =
        "vaultql_graphql_request_duration_seconds_count{operation_type=\"query\",outcome=\"ok\"}";
    let batches = "vaultql_loader_batch_keys_count{loader=\"CustomerById\"}";
    let keys = "vaultql_loader_batch_keys_sum{loader=\"CustomerById\"}";
    let series = [ok.as_str(), duration, batches, keys];
    let before = (app.metrics(&series).await, app.upstream_requests().await);

    let (status, body) = app.graphql_named("ThreeCustomers", &query).await;

    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["c2"]["customerId"], ids[2].as_str());
    let after = (app.metrics(&series).await, app.upstream_requests().await);
    assert_eq!(
        moved(&before.0, &after.0),
        [1.0, 1.0, 1.0, 3.0],
        "one request, one duration, one loader batch of three keys: {series:?}"
    );
    assert_eq!(after.1 - before.1, 1, "one upstream request");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_mutation_counts_its_error_code_and_a_document_that_does_not_parse_is_rejected() {
    let app = GatewayApp::spawn().await;
    let failing = "mutation AddToNobody { addCard(input: { customerId: \"NOPE\", \
                   cardNumber: \"4111111111111111\", expDate: \"1239\", billingZip: \"94107\" }) \
                   { card { cardId } } }";
    let error = requests("AddToNobody", "mutation", "error");
    let rejected = requests("Broken", "unknown", "rejected");
    let (not_found, none) = (errors("NOT_FOUND"), errors("NONE"));
    let series = [error.as_str(), &not_found, &rejected, &none];
    let before = app.metrics(&series).await;

    let (_, body) = app.graphql_named("AddToNobody", failing).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{body}"
    );
    let (_, body) = app.graphql_named("Broken", "query Broken {").await;
    assert!(body["errors"][0]["message"].as_str().is_some(), "{body}");

    let after = app.metrics(&series).await;
    // A syntax error has no code: NONE.
    assert_eq!(moved(&before, &after), [1.0; 4], "{series:?}");
}

/// The distinct `operation` values on `vaultql_graphql_requests_total`, with their totals.
fn operations(text: &str) -> std::collections::BTreeMap<String, f64> {
    let mut found = std::collections::BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(&format!("{REQUESTS}{{operation=\"")) else {
            continue;
        };
        let (name, _) = rest.split_once('"').expect("a quoted name");
        let (_, value) = line.rsplit_once(' ').expect("a value");
        *found.entry(name.to_owned()).or_default() += value.parse::<f64>().expect("a number");
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn operation_names_past_the_cap_are_counted_as_other() {
    let app = GatewayApp::spawn().await;
    let extra = 5;
    for i in 0..MAX_OPERATION_NAMES + extra {
        let name = format!("Op{i}");
        let (status, body) = app
            .graphql_named(&name, &format!("query {name} {{ __typename }}"))
            .await;
        assert_eq!(
            (status, &body["data"]["__typename"]),
            (200, &json!("Query"))
        );
    }
    let (_, text) = app.get("/metrics").await;
    let found = operations(&text);
    assert_eq!(found.len(), MAX_OPERATION_NAMES + 1, "{found:?}");
    assert_eq!(found["(other)"], extra as f64);
    assert_eq!(found["Op0"], 1.0);
    assert!(!found.contains_key(&format!("Op{MAX_OPERATION_NAMES}")));
    // A name counted before the cap keeps its own series.
    app.graphql_named("Op0", "query Op0 { __typename }").await;
    assert_eq!(app.metric(&requests("Op0", "query", "ok")).await, 2.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_number_sent_as_an_operation_name_never_reaches_metrics() {
    let app = GatewayApp::spawn().await;
    let card = "4111111111111111";
    let long = "A".repeat(65);
    let sent = [
        (card.to_owned(), "query Q { __typename }".to_owned()),
        (
            format!("_{card}"),
            format!("query _{card} {{ __typename }}"),
        ),
        (long.clone(), format!("query {long} {{ __typename }}")),
    ];
    for (name, query) in &sent {
        app.graphql_named(name, query).await;
    }
    let (_, text) = app.get("/metrics").await;
    assert!(!text.contains(card), "{text}");
    assert!(!text.contains(&long), "{text}");
    let found = operations(&text);
    assert_eq!(found.keys().collect::<Vec<_>>(), ["(invalid)"], "{found:?}");
    assert_eq!(found["(invalid)"], 3.0);
    assert_eq!(
        metric_value(&text, &requests("(invalid)", "unknown", "rejected")),
        1.0,
        "no operation of that name in the document"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_process_metrics_are_on_the_gateways_and_the_sandboxs_pages() {
    let app = GatewayApp::spawn().await;
    let sandbox = Sandbox::spawn().await;
    let (_, gateway) = app.get("/metrics").await;
    let sandbox = reqwest::get(format!("{}/metrics", sandbox.url()))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("a body");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64();
    for text in [&gateway, &sandbox] {
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
        ] {
            assert!(metric_value(text, name) > 0.0, "{name}: {text}");
        }
        let start = metric_value(text, "process_start_time_seconds");
        assert!(start > 0.0 && start <= now + 1.0, "{start}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clock_advance_counts_the_embedded_vaults_charges_by_outcome_and_its_run() {
    let app = GatewayApp::spawn_billing().await;
    create_plan(&app, "METER", "MONTHLY", "10.00", -1).await;
    customer_with_cards(&app, "Payer1", &[&visa(401)]).await;
    customer_with_cards(&app, "Payer2", &[&visa(402)]).await;
    customer_with_cards(&app, "Decliner", &[DECLINING]).await;
    let today = app.vault_today().await;
    for customer in ["Payer1", "Payer2", "Decliner"] {
        subscribe(
            &app,
            json!({ "customerId": customer, "planCode": "METER", "startDate": today }),
        )
        .await;
    }
    let approved = "vaultql_billing_charges_total{outcome=\"approved\"}";
    let declined = "vaultql_billing_charges_total{outcome=\"declined\"}";
    let runs = "vaultql_billing_run_duration_seconds_count{result=\"ok\"}";
    let series = [approved, declined, runs];
    let before = app.metrics(&series).await;

    let clock = app.advance_clock("P1D").await;

    assert_eq!(clock["approved"], 2, "{clock}");
    assert_eq!(
        clock["declined"], 2,
        "today's charge and the first retry: {clock}"
    );
    let after = app.metrics(&series).await;
    assert_eq!(moved(&before, &after), [2.0, 2.0, 1.0], "{series:?}");
    assert_eq!(
        app.metric("vaultql_billing_run_duration_seconds_count{result=\"error\"}")
            .await,
        0.0
    );
}
