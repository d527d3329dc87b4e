//! Payments in the graph: `chargeCustomer`, `capturePayment`, `voidPayment`, `refundPayment`,
//! `verifyCard`, `Customer.payments`, `payment(pgId:)` and `payments`, over the embedded vault's
//! Payment Gateway (`/pg`) and transaction report. Upstream calls are counted exactly; a proxy
//! that cuts the vault's answer after the vault has acted stands in for a lost answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::{Method, StatusCode, Uri};
use serde_json::{Value, json};

use super::support::{
    Answer, EXP, GATEWAY_KEY, GatewayApp, Sandbox, basic, bearer, errors, single_error, visa,
};
use crate::helpers::KEY_A;

/// Every field of a payment, links included.
const PAYMENT_FIELDS: &str = "fragment P on Payment {
  id pgId kind status amount capturedAmount refundedAmount currency authCode responseCode
  responseMessage avsResult cardCodeResult maskedCardNumber merchantReference purchaseId createdAt
  customer { customerId } card { cardId }
}";

fn charge_document() -> String {
    format!(
        "mutation($input: ChargeCustomerInput!) {{ chargeCustomer(input: $input) {{ payment {{ ...P }} }} }} {PAYMENT_FIELDS}"
    )
}

/// A customer with one card; returns its `card_id`.
async fn customer_with_card(app: &GatewayApp, customer_id: &str, number: &str) -> String {
    let customer = app
        .add_customer(json!({
            "customer_id": customer_id,
            "customer_first_name": "Pat",
            "customer_last_name": customer_id,
            "billing_cards": [{ "card_number": number, "exp_date": EXP, "billing_zip": "94107" }]
        }))
        .await;
    customer["billing_cards"][0]["card_id"]
        .as_str()
        .expect("a card id")
        .to_owned()
}

/// `chargeCustomer` with this input; the whole answer.
async fn charge(app: &GatewayApp, input: Value) -> Value {
    app.graphql(&charge_document(), json!({ "input": input }))
        .await
}

/// A charge that must be approved; returns the payment.
async fn charged(app: &GatewayApp, input: Value) -> Value {
    let body = charge(app, input).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    body["data"]["chargeCustomer"]["payment"].clone()
}

/// One payment mutation (`capturePayment`, `voidPayment`) on `pgId`; the whole answer.
async fn act(app: &GatewayApp, mutation: &str, input: Value) -> Value {
    let stem = super::support::input_type(mutation);
    let document = format!(
        "mutation($input: {stem}!) {{ {mutation}(input: $input) {{ payment {{ ...P }} }} }} {PAYMENT_FIELDS}"
    );
    app.graphql(&document, json!({ "input": input })).await
}

/// `POST /pg{path}` on the embedded vault with the gateway's key.
async fn pg_post(app: &GatewayApp, path: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/pg{path}", app.base))
        .basic_auth(GATEWAY_KEY, Some(""))
        .json(&body)
        .send()
        .await
        .expect("the vault answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A sale straight through REST (`POST /pg/sale`) of the customer's primary card.
async fn sale(app: &GatewayApp, customer_id: &str, amount: &str) {
    let body = json!({ "customer_id": customer_id, "amt_tran": amount });
    let (status, answer) = pg_post(app, "/sale", body).await;
    assert_eq!(status, 200, "{answer}");
}

/// Settles every captured transaction now (refunds need a settled one).
async fn close_batch(app: &GatewayApp) {
    let (status, body) = pg_post(app, "/batchClose", json!({})).await;
    assert_eq!(status, 200, "{body}");
}

/// How many transactions the vault reports for the customer (straight from REST).
async fn reported(app: &GatewayApp, customer_id: &str) -> i64 {
    let path = format!("/reporting/transactions?filter=customer_id,EQ,{customer_id}");
    let (status, body) = app.vault_call(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{body}");
    body["totalRecords"].as_i64().expect("totalRecords")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sale_and_an_auth_answer_their_payment_and_an_auth_captures_once() {
    let app = GatewayApp::spawn().await;
    let card_id = customer_with_card(&app, "PAYER", &visa(1)).await;

    let sale = charged(
        &app,
        json!({ "customerId": "PAYER", "amount": "19.99", "purchaseId": "INV-1",
                "merchantReference": "order 1" }),
    )
    .await;
    assert_eq!(sale["kind"], "SALE", "{sale:#}");
    assert_eq!(sale["status"], "CAPTURED");
    assert_eq!(sale["amount"], "19.99");
    assert_eq!(sale["capturedAmount"], "19.99");
    assert_eq!(sale["refundedAmount"], "0.00");
    assert_eq!(sale["currency"], "840");
    assert_eq!(sale["responseCode"], "000");
    assert_eq!(sale["authCode"].as_str().map(str::len), Some(6));
    assert_eq!(sale["purchaseId"], "INV-1");
    assert_eq!(sale["merchantReference"], "order 1");
    assert_eq!(sale["customer"]["customerId"], "PAYER");
    assert_eq!(sale["card"]["cardId"], card_id.as_str());
    assert!(sale["createdAt"].is_string(), "{sale:#}");

    let auth = charged(
        &app,
        json!({ "customerId": "PAYER", "cardId": card_id, "amount": "50.00", "capture": false }),
    )
    .await;
    assert_eq!(auth["kind"], "AUTH");
    assert_eq!(auth["status"], "AUTHORIZED");
    assert_eq!(auth["capturedAmount"], Value::Null);
    let auth_id = auth["pgId"].as_str().unwrap().to_owned();

    let captured = act(
        &app,
        "capturePayment",
        json!({ "pgId": auth_id, "amount": "30.00" }),
    )
    .await;
    assert!(captured.get("errors").is_none(), "{captured:#}");
    let payment = &captured["data"]["capturePayment"]["payment"];
    assert_eq!(
        payment["kind"], "AUTH",
        "a capture completes the auth in place"
    );
    assert_eq!(payment["status"], "CAPTURED");
    assert_eq!(payment["amount"], "50.00");
    assert_eq!(payment["capturedAmount"], "30.00");

    let again = act(&app, "capturePayment", json!({ "pgId": auth_id })).await;
    let error = single_error(&again, "CONFLICT");
    assert_eq!(error["extensions"]["upstreamCode"], 110, "{again:#}");

    let unknown = act(
        &app,
        "capturePayment",
        json!({ "pgId": "0123456789abcdef0123456789abcdef", "amount": "1.00" }),
    )
    .await;
    single_error(&unknown, "NOT_FOUND");

    // The same payments, read back.
    let read = app
        .data(
            &format!("query($id: String!) {{ payment(pgId: $id) {{ ...P }} }} {PAYMENT_FIELDS}"),
            json!({ "id": auth_id }),
        )
        .await;
    assert_eq!(read["payment"]["capturedAmount"], "30.00");
    assert_eq!(read["payment"]["avsResult"], Value::Null);
    let none = app
        .data(
            "{ payment(pgId: \"0123456789abcdef0123456789abcdef\") { pgId } }",
            json!({}),
        )
        .await;
    assert_eq!(none["payment"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_void_voids_once_and_a_verify_checks_the_card() {
    let app = GatewayApp::spawn().await;
    customer_with_card(&app, "VOIDER", &visa(2)).await;
    let sale = charged(&app, json!({ "customerId": "VOIDER", "amount": "12.00" })).await;
    let pg_id = sale["pgId"].as_str().unwrap();

    let voided = act(&app, "voidPayment", json!({ "pgId": pg_id })).await;
    assert!(voided.get("errors").is_none(), "{voided:#}");
    assert_eq!(voided["data"]["voidPayment"]["payment"]["status"], "VOIDED");
    let twice = act(&app, "voidPayment", json!({ "pgId": pg_id })).await;
    single_error(&twice, "CONFLICT");
    // With a key, a retried void answers the voided payment.
    let retried = act(
        &app,
        "voidPayment",
        json!({ "pgId": pg_id, "idempotencyKey": "void-1" }),
    )
    .await;
    assert!(retried.get("errors").is_none(), "{retried:#}");
    assert_eq!(
        retried["data"]["voidPayment"]["payment"]["status"],
        "VOIDED"
    );

    let verified = act(&app, "verifyCard", json!({ "customerId": "VOIDER" })).await;
    assert!(verified.get("errors").is_none(), "{verified:#}");
    let payment = &verified["data"]["verifyCard"]["payment"];
    assert_eq!(payment["kind"], "VERIFY");
    assert_eq!(payment["responseCode"], "000");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_charge_answers_the_declined_payment_and_card_declined() {
    let app = GatewayApp::spawn().await;
    customer_with_card(&app, "DECLINED", "4000000000000002").await;

    let body = charge(&app, json!({ "customerId": "DECLINED", "amount": "10.00" })).await;

    let error = single_error(&body, "CARD_DECLINED");
    assert_eq!(error["extensions"]["responseCode"], "005", "{body:#}");
    assert_eq!(error["path"], json!(["chargeCustomer"]));
    let payment = &body["data"]["chargeCustomer"]["payment"];
    assert_eq!(payment["status"], "DECLINED", "{body:#}");
    assert_eq!(payment["responseCode"], "005");
    assert_eq!(payment["capturedAmount"], Value::Null);
    assert!(payment["pgId"].is_string());

    // A processor timeout charged nothing: the failed payment, and PAYMENT_FAILED.
    customer_with_card(&app, "TIMEOUT", "4000000000000259").await;
    let body = charge(&app, json!({ "customerId": "TIMEOUT", "amount": "10.00" })).await;
    let error = single_error(&body, "PAYMENT_FAILED");
    assert_eq!(error["extensions"]["responseCode"], "998", "{body:#}");
    assert_eq!(
        body["data"]["chargeCustomer"]["payment"]["status"],
        "FAILED"
    );

    // A refused input is not a decline.
    let bad = charge(&app, json!({ "customerId": "DECLINED", "amount": "0" })).await;
    single_error(&bad, "BAD_USER_INPUT");
    let missing = charge(&app, json!({ "customerId": "NOBODY", "amount": "1.00" })).await;
    single_error(&missing, "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_settled_sale_refunds_in_parts_and_then_what_is_left() {
    let app = GatewayApp::spawn().await;
    customer_with_card(&app, "REFUNDED", &visa(3)).await;
    let sale = charged(&app, json!({ "customerId": "REFUNDED", "amount": "30.00" })).await;
    let pg_id = sale["pgId"].as_str().unwrap().to_owned();
    let refund_document = format!(
        "mutation($input: RefundPaymentInput!) {{ refundPayment(input: $input) {{
           refund {{ ...P original {{ pgId }} }} payment {{ ...P }} }} }} {PAYMENT_FIELDS}"
    );

    let unsettled = app
        .graphql(&refund_document, json!({ "input": { "pgId": pg_id } }))
        .await;
    single_error(&unsettled, "CONFLICT");

    close_batch(&app).await;
    let part = app
        .data(
            &refund_document,
            json!({ "input": { "pgId": pg_id, "amount": "10.00" } }),
        )
        .await;
    let refund = &part["refundPayment"]["refund"];
    assert_eq!(refund["kind"], "REFUND", "{part:#}");
    assert_eq!(refund["amount"], "10.00");
    assert_eq!(refund["original"]["pgId"], pg_id.as_str());
    assert_eq!(part["refundPayment"]["payment"]["status"], "SETTLED");
    assert_eq!(part["refundPayment"]["payment"]["refundedAmount"], "10.00");

    let rest = app
        .data(&refund_document, json!({ "input": { "pgId": pg_id } }))
        .await;
    assert_eq!(
        rest["refundPayment"]["refund"]["amount"], "20.00",
        "{rest:#}"
    );
    assert_eq!(rest["refundPayment"]["payment"]["refundedAmount"], "30.00");

    let nothing_left = app
        .graphql(&refund_document, json!({ "input": { "pgId": pg_id } }))
        .await;
    single_error(&nothing_left, "CONFLICT");

    let read = app
        .data(
            "query($id: String!) { payment(pgId: $id) { refundedAmount refunds { amount kind } } }",
            json!({ "id": pg_id }),
        )
        .await;
    let mut amounts: Vec<&str> = read["payment"]["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["amount"].as_str().unwrap())
        .collect();
    amounts.sort_unstable();
    assert_eq!(amounts, ["10.00", "20.00"], "{read:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_customers_with_their_latest_payments_cost_one_upstream_call_for_the_payments() {
    let app = GatewayApp::spawn().await;
    let ids = app.seed("Payer", 50, 1, 0).await;
    for (round, amount) in ["1.00", "2.00"].iter().enumerate() {
        for id in &ids {
            sale(&app, id, amount).await;
        }
        if round == 0 {
            // The second round is a minute newer.
            app.advance_clock("PT1M").await;
        }
    }

    let (data, cost) = app
        .counted(
            "{ customers(first: 50) { edges { node { customerId
                 payments(first: 5) { totalCount pageInfo { hasNextPage }
                   edges { node { amount status kind customer { customerId } } } } } } } }",
            json!({}),
        )
        .await;

    assert_eq!(
        cost, 2,
        "the page of customers and one browse of their payments"
    );
    let edges = data["customers"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 50);
    for edge in edges {
        let customer = &edge["node"];
        let payments = &customer["payments"];
        assert_eq!(payments["totalCount"], 2, "{customer:#}");
        assert_eq!(payments["pageInfo"]["hasNextPage"], false);
        let amounts: Vec<&str> = payments["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["amount"].as_str().unwrap())
            .collect();
        assert_eq!(amounts, ["2.00", "1.00"], "newest first: {customer:#}");
        let owner = &payments["edges"][0]["node"]["customer"]["customerId"];
        assert_eq!(owner, &customer["customerId"]);
    }

    // The merchant-wide list, filtered.
    let filtered = app
        .data(
            "{ payments(first: 3, filter: { customerId: \"Payer07\", status: [CAPTURED] }) {
                 totalCount edges { node { amount } } } }",
            json!({}),
        )
        .await;
    assert_eq!(filtered["payments"]["totalCount"], 2, "{filtered:#}");
    let all = app
        .data("{ payments(first: 1) { totalCount } }", json!({}))
        .await;
    assert_eq!(all["payments"]["totalCount"], 100);

    // A page that stops before a customer's last payment says so.
    let (first, _) = app
        .counted(
            "{ customer(customerId: \"Payer03\") { payments(first: 1) {
                 totalCount pageInfo { hasNextPage endCursor } edges { node { amount } } } } }",
            json!({}),
        )
        .await;
    let page = &first["customer"]["payments"];
    assert_eq!(page["pageInfo"]["hasNextPage"], true, "{first:#}");
    assert_eq!(page["totalCount"], 2);
    assert_eq!(page["edges"][0]["node"]["amount"], "2.00");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idempotency_key_charges_once_and_refuses_another_input() {
    let app = GatewayApp::spawn().await;
    customer_with_card(&app, "IDEM", &visa(4)).await;
    let input = json!({ "customerId": "IDEM", "amount": "25.00", "idempotencyKey": "order-42",
                        "merchantReference": "INV-42" });

    let first = charged(&app, input.clone()).await;
    let again = charged(&app, input.clone()).await;
    assert_eq!(first["pgId"], again["pgId"], "one payment");
    assert_eq!(again["merchantReference"], "INV-42");
    assert_eq!(reported(&app, "IDEM").await, 1);

    // Concurrent first tries of one key charge once too (the vault's duplicate window).
    let concurrent =
        json!({ "customerId": "IDEM", "amount": "7.00", "idempotencyKey": "order-43" });
    let (one, two) = tokio::join!(
        charged(&app, concurrent.clone()),
        charged(&app, concurrent.clone())
    );
    assert_eq!(one["pgId"], two["pgId"]);
    assert_eq!(reported(&app, "IDEM").await, 2);

    let other_amount = charge(
        &app,
        json!({ "customerId": "IDEM", "amount": "26.00", "idempotencyKey": "order-42" }),
    )
    .await;
    single_error(&other_amount, "BAD_USER_INPUT");
    assert_eq!(reported(&app, "IDEM").await, 2, "nothing charged");

    let before = app.upstream_requests().await;
    for key in ["", "has space", "a:b", &"k".repeat(65)] {
        let bad = charge(
            &app,
            json!({ "customerId": "IDEM", "amount": "1.00", "idempotencyKey": key }),
        )
        .await;
        single_error(&bad, "BAD_USER_INPUT");
    }
    assert_eq!(
        app.upstream_requests().await,
        before,
        "refused before any call"
    );
}

/// A proxy in front of `sandbox` that forwards everything and cuts the answer of the first
/// `cut` `/pg/sale` requests after the vault has made them.
async fn cutting_proxy(sandbox: &Sandbox, cut: usize) -> String {
    let target = sandbox.url();
    let sales = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::new();
    let router = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let (target, sales, client) = (target.clone(), sales.clone(), client.clone());
            async move {
                let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap();
                let mut request = client
                    .request(method, format!("{target}{uri}"))
                    .body(body.to_vec());
                for name in ["authorization", "content-type"] {
                    if let Some(value) = headers.get(name) {
                        request = request.header(name, value.as_bytes());
                    }
                }
                let answer = request.send().await.expect("the sandbox answers");
                let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
                let bytes = answer.bytes().await.expect("a body");
                if uri.path() == "/pg/sale" && sales.fetch_add(1, Ordering::SeqCst) < cut {
                    // The sale happened; its answer never arrives whole.
                    let broken = futures_util::stream::once(async {
                        Err::<axum::body::Bytes, _>(std::io::Error::other("connection reset"))
                    });
                    return (status, axum::body::Body::from_stream(broken));
                }
                (status, axum::body::Body::from(bytes))
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_answer_is_outcome_unknown_and_a_retry_with_the_key_charges_nothing_more() {
    let sandbox = Sandbox::spawn().await;
    let proxy = cutting_proxy(&sandbox, 2).await;
    let app = GatewayApp::in_front_of_url(&proxy, KEY_A).await;
    let vault = GatewayApp::in_front_of(&sandbox, KEY_A).await;
    customer_with_card(&vault, "LOST", &visa(5)).await;
    let input = json!({ "customerId": "LOST", "amount": "40.00", "idempotencyKey": "lost-1" });

    let lost = charge(&app, input.clone()).await;
    let error = single_error(&lost, "OUTCOME_UNKNOWN");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("idempotencyKey"), "{message}");
    assert_eq!(reported(&vault, "LOST").await, 1, "the vault charged");

    let retried = charged(&app, input.clone()).await;
    assert_eq!(retried["status"], "CAPTURED", "{retried:#}");
    assert_eq!(retried["amount"], "40.00");
    assert_eq!(reported(&vault, "LOST").await, 1, "no second charge");
    // The key lives upstream, not in a gateway: another gateway process answers it alike.
    let elsewhere = charged(&vault, input).await;
    assert_eq!(elsewhere["pgId"], retried["pgId"]);
    assert_eq!(reported(&vault, "LOST").await, 1);

    // Without a key, the message says where to look.
    let keyless = charge(&app, json!({ "customerId": "LOST", "amount": "3.00" })).await;
    let error = single_error(&keyless, "OUTCOME_UNKNOWN");
    assert!(
        error["message"].as_str().unwrap().contains("payments"),
        "{keyless:#}"
    );
}

/// A session token for `customer_id` with these permissions.
async fn session(app: &GatewayApp, customer_id: &str, permissions: &[&str]) -> String {
    let document = format!(
        "mutation {{ createCustomerSession(input: {{ customerId: \"{customer_id}\", permissions: [{}] }}) {{ token }} }}",
        permissions.join(", ")
    );
    let data = app.data(&document, json!({})).await;
    data["createCustomerSession"]["token"]
        .as_str()
        .expect("a token")
        .to_owned()
}

async fn as_session(app: &GatewayApp, token: &str, query: &str) -> (Answer, u64) {
    let before = app.upstream_requests().await;
    let answer = app.graphql_as(&bearer(token), query, json!({})).await;
    assert_eq!(answer.status, 200, "{:#}", answer.body);
    (answer, app.upstream_requests().await - before)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_reads_its_own_payments_with_read_payments_and_never_moves_money() {
    let app = GatewayApp::spawn().await;
    customer_with_card(&app, "ALICE", &visa(6)).await;
    customer_with_card(&app, "BOB", &visa(7)).await;
    let own = charged(&app, json!({ "customerId": "ALICE", "amount": "5.00" })).await;
    let other = charged(&app, json!({ "customerId": "BOB", "amount": "6.00" })).await;

    let reader = session(&app, "ALICE", &["READ_PAYMENTS"]).await;
    let (answer, _) = as_session(
        &app,
        &reader,
        "{ customer(customerId: \"ALICE\") { payments { edges { node { pgId amount } } } } }",
    )
    .await;
    assert!(answer.body.get("errors").is_none(), "{:#}", answer.body);
    let edges = &answer.body["data"]["customer"]["payments"]["edges"];
    assert_eq!(edges.as_array().unwrap().len(), 1);
    assert_eq!(edges[0]["node"]["pgId"], own["pgId"]);

    let query = format!(
        "{{ mine: payment(pgId: {}) {{ amount }} theirs: payment(pgId: {}) {{ amount }} }}",
        own["pgId"], other["pgId"]
    );
    let (answer, _) = as_session(&app, &reader, &query).await;
    assert_eq!(
        answer.body["data"]["mine"]["amount"], "5.00",
        "{:#}",
        answer.body
    );
    assert_eq!(
        answer.body["data"]["theirs"],
        Value::Null,
        "another customer's"
    );

    let (answer, calls) = as_session(&app, &reader, "{ payments { totalCount } }").await;
    single_error(&answer.body, "FORBIDDEN");
    assert_eq!(calls, 0);

    let profile = session(&app, "ALICE", &["READ_PROFILE"]).await;
    let (answer, _) = as_session(
        &app,
        &profile,
        "{ customer(customerId: \"ALICE\") { firstName payments { totalCount } } }",
    )
    .await;
    let error = single_error(&answer.body, "FORBIDDEN");
    assert_eq!(error["path"], json!(["customer", "payments"]));
    // `payments` cannot be null: its customer is.
    assert_eq!(answer.body["data"]["customer"], Value::Null);

    let every = session(
        &app,
        "ALICE",
        &[
            "READ_PAYMENTS",
            "READ_PAYMENT_METHODS",
            "ADD_PAYMENT_METHOD",
        ],
    )
    .await;
    for mutation in [
        "chargeCustomer(input: { customerId: \"ALICE\", amount: \"1.00\" })",
        "capturePayment(input: { pgId: \"abc\" })",
        "voidPayment(input: { pgId: \"abc\" })",
        "refundPayment(input: { pgId: \"abc\" })",
        "verifyCard(input: { customerId: \"ALICE\" })",
    ] {
        let (answer, calls) = as_session(
            &app,
            &every,
            &format!("mutation {{ {mutation} {{ payment {{ pgId }} }} }}"),
        )
        .await;
        let error = &errors(&answer.body)[0];
        assert_eq!(error["extensions"]["code"], "FORBIDDEN", "{mutation}");
        assert_eq!(calls, 0, "{mutation}: refused before any upstream call");
    }
    assert_eq!(reported(&app, "ALICE").await, 1);
    // A merchant key still works the same way.
    let answer = app
        .graphql_as(
            &basic(GATEWAY_KEY),
            "{ payments { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(answer.body["data"]["payments"]["totalCount"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn keyed_captures_and_refunds_answer_their_first_outcome_on_a_retry() {
    let app = GatewayApp::spawn().await;
    customer_with_card(&app, "RETRY", &visa(8)).await;
    let auth = charged(
        &app,
        json!({ "customerId": "RETRY", "amount": "20.00", "capture": false }),
    )
    .await;
    let pg_id = auth["pgId"].as_str().unwrap().to_owned();
    let capture = json!({ "pgId": pg_id, "idempotencyKey": "cap-1" });
    for _ in 0..2 {
        let answer = act(&app, "capturePayment", capture.clone()).await;
        assert!(answer.get("errors").is_none(), "{answer:#}");
        let payment = &answer["data"]["capturePayment"]["payment"];
        assert_eq!(payment["capturedAmount"], "20.00", "{answer:#}");
    }

    close_batch(&app).await;
    let document = "mutation($input: RefundPaymentInput!) {
        refundPayment(input: $input) { refund { pgId amount } payment { refundedAmount } } }";
    let refund = json!({ "pgId": pg_id, "amount": "5.00", "idempotencyKey": "ref-1" });
    let first = app.data(document, json!({ "input": refund })).await;
    let again = app.data(document, json!({ "input": refund })).await;
    assert_eq!(
        first["refundPayment"]["refund"]["pgId"],
        again["refundPayment"]["refund"]["pgId"]
    );
    assert_eq!(again["refundPayment"]["payment"]["refundedAmount"], "5.00");
    let other = app
        .graphql(
            document,
            json!({ "input": { "pgId": pg_id, "amount": "6.00", "idempotencyKey": "ref-1" } }),
        )
        .await;
    single_error(&other, "BAD_USER_INPUT");
    // The auth, and its one refund.
    assert_eq!(reported(&app, "RETRY").await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customers_payments_page_both_ways_and_a_payment_is_a_node() {
    let app = GatewayApp::spawn().await;
    customer_with_card(&app, "PAGER", &visa(9)).await;
    let mut made = Vec::new();
    for amount in ["1.00", "2.00", "3.00", "4.00", "5.00"] {
        made.push(charged(&app, json!({ "customerId": "PAGER", "amount": amount })).await);
        // Each a minute newer than the one before.
        app.advance_clock("PT1M").await;
    }
    let page = |args: &str| {
        format!(
            "{{ customer(customerId: \"PAGER\") {{ payments({args}) {{ totalCount
                 pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
                 edges {{ node {{ id amount }} }} }} }} }}"
        )
    };
    let amounts = |data: &Value| -> Vec<String> {
        data["customer"]["payments"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["amount"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = app.data(&page("first: 2"), json!({})).await;
    assert_eq!(amounts(&first), ["5.00", "4.00"]);
    let info = &first["customer"]["payments"]["pageInfo"];
    assert_eq!(info["hasNextPage"], true);
    let after = info["endCursor"].as_str().unwrap();
    let next = app
        .data(&page(&format!("first: 2, after: \"{after}\"")), json!({}))
        .await;
    assert_eq!(amounts(&next), ["3.00", "2.00"]);
    let last = app.data(&page("last: 2"), json!({})).await;
    assert_eq!(amounts(&last), ["2.00", "1.00"]);
    assert_eq!(last["customer"]["payments"]["totalCount"], 5);
    assert_eq!(
        last["customer"]["payments"]["pageInfo"]["hasPreviousPage"],
        true
    );

    let filtered = app
        .data(
            "{ customer(customerId: \"PAGER\") { payments(filter: { status: [VOIDED] }) { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(filtered["customer"]["payments"]["totalCount"], 0);

    let id = first["customer"]["payments"]["edges"][0]["node"]["id"].clone();
    let node = app
        .data(
            "query($id: ID!) { node(id: $id) { __typename ... on Payment { amount } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(node["node"]["__typename"], "Payment");
    assert_eq!(node["node"]["amount"], "5.00");
    assert_eq!(made.len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_charge_of_recurring_billing_is_a_payment_linked_to_its_subscription() {
    let app = GatewayApp::spawn_billing().await;
    customer_with_card(&app, "SUBSCRIBER", &visa(10)).await;
    app.add_plan(super::support::plan_body("GOLD", "Gold", 3, 9.99, -1))
        .await;
    let today = app.vault_today().await;
    let subscription = app
        .add_subscription(
            json!({ "customer_id": "SUBSCRIBER", "plan_code": "GOLD", "date_start": today }),
        )
        .await;
    app.advance_clock("P1D").await;

    let data = app
        .data(
            "{ customer(customerId: \"SUBSCRIBER\") { payments { edges { node {
                 kind status amount subscription { subscriptionId } } } } } }",
            json!({}),
        )
        .await;
    let edges = data["customer"]["payments"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1, "{data:#}");
    let payment = &edges[0]["node"];
    assert_eq!(payment["amount"], "9.99");
    assert_eq!(payment["kind"], "SALE");
    assert_eq!(
        payment["subscription"]["subscriptionId"],
        subscription["subscription_id"].to_string().as_str()
    );
}

/// When one page of the batched browse cannot hold what each customer's page needs, the loader
/// reads the next page, and only then.
#[tokio::test(flavor = "multi_thread")]
async fn customers_payments_read_a_further_page_only_when_the_first_cannot_hold_them() {
    let app = GatewayApp::spawn().await;
    let ids = app.seed("Busy", 2, 1, 0).await;
    // Busy01's two payments are older than every one of Busy00's 101.
    sale(&app, &ids[1], "7.00").await;
    sale(&app, &ids[1], "8.00").await;
    app.advance_clock("PT1M").await;
    for _ in 0..101 {
        sale(&app, &ids[0], "1.00").await;
    }
    let query = "{ a: customer(customerId: \"Busy00\") { payments(first: 2) { totalCount edges { node { amount } } } }
                   b: customer(customerId: \"Busy01\") { payments(first: 2) { totalCount edges { node { amount } } } } }";

    let (data, cost) = app.counted(query, json!({})).await;

    assert_eq!(
        cost, 3,
        "the two customers, and two pages of their payments: {data:#}"
    );
    assert_eq!(data["a"]["payments"]["totalCount"], 101);
    assert_eq!(data["b"]["payments"]["totalCount"], 2);
    let amounts: Vec<&str> = data["b"]["payments"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["amount"].as_str().unwrap())
        .collect();
    assert_eq!(amounts.len(), 2);
    assert!(
        amounts.contains(&"7.00") && amounts.contains(&"8.00"),
        "{data:#}"
    );

    // Busy00 alone: its first page holds what it needs; totalCount then takes a count.
    let (alone, cost) = app
        .counted(
            "{ customer(customerId: \"Busy00\") { payments(first: 2) { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(alone["customer"]["payments"]["totalCount"], 101);
    assert_eq!(cost, 3, "the customer, one page of payments, and the count");
}

#[tokio::test]
async fn the_demo_data_has_a_sale_an_auth_and_a_decline() {
    // The seed runs as `serve` runs it after it listens, here awaited rather than raced.
    let app = GatewayApp::spawn().await;
    let config = vaultql::upstream::UpstreamConfig {
        base_url: app.base.clone(),
        api_key: GATEWAY_KEY.to_owned(),
        connect_timeout: std::time::Duration::from_secs(2),
        request_timeout: std::time::Duration::from_secs(15),
    };
    let upstream = vaultql::upstream::Upstream::new(&config, Arc::default()).expect("a client");
    let today = crate::helpers::test_now().date_naive();
    let added = vaultql::seed::seed_if_empty(&upstream, today)
        .await
        .expect("the seed");
    assert!(
        added.is_some_and(|seeded| seeded.payments == 3),
        "{added:?}"
    );
    let data = app
        .data(
            "{ payments(first: 20) { edges { node { kind status customer { customerId } } } } }",
            json!({}),
        )
        .await;
    let seen: Vec<(String, String, String)> = data["payments"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| {
            let node = &edge["node"];
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (
                text(&node["customer"]["customerId"]),
                text(&node["kind"]),
                text(&node["status"]),
            )
        })
        .collect();
    for (customer, kind, status) in [
        ("ACMECORP", "SALE", "DECLINED"),
        ("ADALOVELACE", "SALE", "CAPTURED"),
        ("GRACEHOPPER", "AUTH", "AUTHORIZED"),
    ] {
        let payment = (customer.to_owned(), kind.to_owned(), status.to_owned());
        assert!(seen.contains(&payment), "{payment:?} in {seen:?}");
    }
}
