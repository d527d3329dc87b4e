//! Errors: each `extensions.code`, `extensions.upstreamCode` when the vault answered, and
//! failures that null only their own field.

use serde_json::{Value, json};
use vaultql::config::UpstreamBatch;

use super::assert_gateway_snapshot;
use super::support::{EXP, GatewayApp, Sandbox, closed_port, errors, fake_upstream, single_error};

const ADD_CARD: &str = "mutation Add($input: AddCardInput!) {
  addCard(input: $input) { card { cardId } }
}";

const CUSTOMER_CARDS: &str =
    "query Cards($id: String!) { customer(customerId: $id) { cards { cardId } } }";

const CODES: [&str; 6] = [
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "UNAUTHENTICATED",
    "UPSTREAM_ERROR",
    "UPSTREAM_UNAVAILABLE",
    "INTERNAL",
];

/// Asserts one error at `path` with this code and the vault's envelope code and status.
#[track_caller]
fn assert_upstream_error(body: &Value, path: &str, code: &str, upstream: Option<(i64, i64)>) {
    let error = single_error(body, code);
    assert_eq!(error["path"], json!([path]), "{body:#}");
    let extensions = &error["extensions"];
    match upstream {
        Some((upstream_code, status)) => {
            assert_eq!(extensions["upstreamCode"], upstream_code, "{body:#}");
            assert_eq!(extensions["upstreamStatus"], status, "{body:#}");
        }
        None => {
            assert!(extensions.get("upstreamCode").is_none(), "{body:#}");
            assert!(extensions.get("upstreamStatus").is_none(), "{body:#}");
        }
    }
}

async fn cards_of(app: &GatewayApp, id: &str) -> Value {
    app.data(CUSTOMER_CARDS, json!({ "id": id })).await["customer"]["cards"].clone()
}

async fn customer_with_no_cards(app: &GatewayApp, id: &str) {
    app.add_customer(
        json!({ "customer_id": id, "customer_first_name": "E", "customer_last_name": "R" }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_number_failing_luhn_is_bad_user_input_naming_card_number() {
    let app = GatewayApp::spawn().await;
    customer_with_no_cards(&app, "Luhn1").await;

    let body = app
        .graphql(
            ADD_CARD,
            json!({ "input": { "customerId": "Luhn1", "cardNumber": "4111111111111112",
                               "expDate": EXP, "billingZip": "94107" } }),
        )
        .await;

    assert_upstream_error(&body, "addCard", "BAD_USER_INPUT", Some((2, 400)));
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("card_number"), "{message}");
    assert_eq!(body["data"], Value::Null);
    assert_gateway_snapshot("error_bad_user_input", &body);
    assert_eq!(
        cards_of(&app, "Luhn1").await,
        json!([]),
        "nothing was stored"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_verification_is_bad_user_input_with_upstream_code_3() {
    let app = GatewayApp::spawn().await;
    customer_with_no_cards(&app, "Decl1").await;

    for input in [
        json!({ "customerId": "Decl1", "cardNumber": "4000000000000002", "expDate": EXP,
                "billingZip": "94107", "verify": true }),
        json!({ "customerId": "Decl1", "cardNumber": "4111111111111111", "expDate": EXP,
                "billingZip": "94107", "verify": true, "cvv2": "999" }),
    ] {
        let body = app.graphql(ADD_CARD, json!({ "input": input })).await;
        assert_upstream_error(&body, "addCard", "BAD_USER_INPUT", Some((3, 402)));
    }
    assert_eq!(
        cards_of(&app, "Decl1").await,
        json!([]),
        "nothing was stored"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_customer_id_or_card_is_bad_user_input_with_upstream_code_8() {
    let app = GatewayApp::spawn().await;
    let create = "mutation C($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { customerId } } }";
    let input = json!({ "customerId": "Dup1", "firstName": "A", "lastName": "B" });
    app.data(create, json!({ "input": input })).await;

    let body = app.graphql(create, json!({ "input": input })).await;
    assert_upstream_error(&body, "createCustomer", "BAD_USER_INPUT", Some((8, 409)));

    let card = json!({ "customerId": "Dup1", "cardNumber": "4111111111111111", "expDate": EXP,
                       "billingZip": "94107" });
    app.data(ADD_CARD, json!({ "input": card })).await;
    let body = app.graphql(ADD_CARD, json!({ "input": card })).await;
    assert_upstream_error(&body, "addCard", "BAD_USER_INPUT", Some((8, 409)));
    assert_eq!(cards_of(&app, "Dup1").await.as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_to_an_unknown_customer_card_or_address_are_not_found() {
    let app = GatewayApp::spawn().await;
    customer_with_no_cards(&app, "Known1").await;

    let body = app
        .graphql(
            ADD_CARD,
            json!({ "input": { "customerId": "NOPE", "cardNumber": "4111111111111111",
                               "expDate": EXP, "billingZip": "94107" } }),
        )
        .await;
    assert_upstream_error(&body, "addCard", "NOT_FOUND", Some((6, 404)));
    assert_gateway_snapshot("error_not_found", &body);

    for (field, input_type, input) in [
        (
            "updateCustomer",
            "UpdateCustomerInput",
            json!({ "customerId": "NOPE", "email": "x@example.test" }),
        ),
        (
            "deleteCustomer",
            "DeleteCustomerInput",
            json!({ "customerId": "NOPE" }),
        ),
        (
            "updateCard",
            "UpdateCardInput",
            json!({ "customerId": "Known1", "cardId": "nocard", "expDate": EXP }),
        ),
        (
            "removeCard",
            "RemoveCardInput",
            json!({ "customerId": "Known1", "cardId": "nocard" }),
        ),
        (
            "setPrimaryCard",
            "SetPrimaryCardInput",
            json!({ "customerId": "Known1", "cardId": "nocard" }),
        ),
        (
            "removeShippingAddress",
            "RemoveShippingAddressInput",
            json!({ "customerId": "Known1", "shippingId": "999999" }),
        ),
        (
            "setPrimaryShippingAddress",
            "SetPrimaryShippingAddressInput",
            json!({ "customerId": "Known1", "shippingId": "999999" }),
        ),
        (
            "updateShippingAddress",
            "UpdateShippingAddressInput",
            json!({ "customerId": "Known1", "shippingId": "999999", "firstName": "A", "lastName": "B" }),
        ),
    ] {
        let query = format!(
            "mutation M($input: {input_type}!) {{ {field}(input: $input) {{ __typename }} }}"
        );
        let body = app.graphql(&query, json!({ "input": input })).await;
        assert_upstream_error(&body, field, "NOT_FOUND", Some((6, 404)));
    }

    // With only a city the gateway looks the address up first, and finds none itself.
    let body = app
        .graphql(
            "mutation M($input: UpdateShippingAddressInput!) { updateShippingAddress(input: $input) { __typename } }",
            json!({ "input": { "customerId": "Known1", "shippingId": "999999", "city": "Nowhere" } }),
        )
        .await;
    assert_upstream_error(&body, "updateShippingAddress", "NOT_FOUND", None);
}

#[tokio::test(flavor = "multi_thread")]
async fn input_the_gateway_itself_refuses_is_bad_user_input_without_upstream_code() {
    let app = GatewayApp::spawn().await;
    customer_with_no_cards(&app, "Self1").await;
    let before = app.upstream_requests().await;

    let body = app
        .graphql(
            "mutation { removeShippingAddress(input: { customerId: \"Self1\", shippingId: \"abc\" }) { __typename } }",
            json!({}),
        )
        .await;
    assert_upstream_error(&body, "removeShippingAddress", "BAD_USER_INPUT", None);
    let body = app
        .graphql(
            "{ customers(filter: { lastName: \"a;b\" }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_upstream_error(&body, "customers", "BAD_USER_INPUT", None);

    assert_eq!(
        app.upstream_requests().await,
        before,
        "refused before any upstream call"
    );
}

/// Filters too large to send (a 50,000-id list, a 900 KB value) are the caller's mistake,
/// refused before any upstream call and without echoing the value, not a failure of the
/// upstream's HTTP client.
#[tokio::test(flavor = "multi_thread")]
async fn oversized_filters_are_bad_user_input_before_any_upstream_call() {
    let app = GatewayApp::spawn().await;
    let before = app.upstream_requests().await;
    let many: Vec<String> = (0..50_000).map(|i| format!("C{i}")).collect();
    let huge = format!("4111111111111111{}", "x".repeat(900 * 1024));
    let cases = [
        (
            "query($ids: [String!]) { customers(filter: { customerIdIn: $ids }) { totalCount } }",
            json!({ "ids": many }),
            "customers",
        ),
        (
            "query($id: String) { customers(filter: { customerId: $id }) { totalCount } }",
            json!({ "id": huge }),
            "customers",
        ),
        (
            "query($id: String) { subscriptions(filter: { customerId: $id }) { totalCount } }",
            json!({ "id": huge }),
            "subscriptions",
        ),
        (
            "query($ids: [String!]) { subscriptions(filter: { customerIdIn: $ids }) { totalCount } }",
            json!({ "ids": many }),
            "subscriptions",
        ),
    ];
    for (query, variables, field) in cases {
        let body = app.graphql(query, variables).await;
        assert_upstream_error(&body, field, "BAD_USER_INPUT", None);
        let text = body.to_string();
        assert!(
            !text.contains("4111111111"),
            "the value is not echoed: {text:.300}"
        );
        assert!(text.len() < 2_000, "a short answer: {text:.300}");
    }
    assert_eq!(
        app.upstream_requests().await,
        before,
        "refused before any upstream call"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_with_a_wrong_key_is_unauthenticated_and_not_ready() {
    let sandbox = Sandbox::spawn().await;
    let app = GatewayApp::in_front_of(&sandbox, "wrong-key").await;

    // The key is passed through and the upstream refuses it: a 401 with the upstream's
    // error, not a 200 with field errors.
    let (status, body) = app
        .graphql_status(
            r#"{ customer(customerId: "Anyone") { customerId } }"#,
            json!({}),
        )
        .await;
    assert_eq!(status, 401, "{body:#}");
    assert_upstream_error(&body, "customer", "UNAUTHENTICATED", Some((4, 401)));

    let (status, body) = app
        .graphql_status(
            "mutation { deleteCustomer(input: { customerId: \"Anyone\" }) { deletedCustomerId } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 401, "{body:#}");
    assert_upstream_error(&body, "deleteCustomer", "UNAUTHENTICATED", Some((4, 401)));
    assert_gateway_snapshot("error_unauthenticated", &body);

    assert_eq!(app.get("/readyz").await.0, 503);
    assert_eq!(app.get("/healthz").await.0, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_whose_upstream_is_down_answers_upstream_unavailable_and_is_not_ready() {
    let app =
        GatewayApp::in_front_of_url(&format!("http://127.0.0.1:{}", closed_port()), "key").await;

    let body = app
        .graphql(
            r#"{ customer(customerId: "Anyone") { customerId } }"#,
            json!({}),
        )
        .await;
    assert_upstream_error(&body, "customer", "UPSTREAM_UNAVAILABLE", None);

    let body = app.graphql("{ customers { totalCount } }", json!({})).await;
    assert_upstream_error(&body, "customers", "UPSTREAM_UNAVAILABLE", None);

    let body = app
        .graphql(
            "mutation { createCustomer(input: { firmName: \"X\" }) { customer { customerId } } }",
            json!({}),
        )
        .await;
    assert_upstream_error(&body, "createCustomer", "UPSTREAM_UNAVAILABLE", None);
    assert_gateway_snapshot("error_upstream_unavailable", &body);

    let (status, text) = app.get("/readyz").await;
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("UPSTREAM_UNAVAILABLE"), "{text}");
    assert_eq!(app.get("/healthz").await.0, 200);
    let counts = app.upstream_counts().await;
    assert!(
        counts
            .keys()
            .any(|labels| labels.contains(r#"status="error""#)),
        "failed requests are counted with status=\"error\": {counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_failing_with_500_is_upstream_error_with_its_code() {
    let url = fake_upstream(|_, _| (500, json!({ "code": 99, "message": "Internal error" }))).await;
    let app = GatewayApp::in_front_of_url(&url, "key").await;

    let body = app
        .graphql(
            r#"{ customer(customerId: "Anyone") { customerId } }"#,
            json!({}),
        )
        .await;
    assert_upstream_error(&body, "customer", "UPSTREAM_ERROR", Some((99, 500)));
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("Internal error"), "{message}");

    let body = app
        .graphql(
            "mutation { createCustomer(input: { firmName: \"X\" }) { customer { customerId } } }",
            json!({}),
        )
        .await;
    assert_upstream_error(&body, "createCustomer", "UPSTREAM_ERROR", Some((99, 500)));
    assert_gateway_snapshot("error_upstream_error", &body);
    assert_eq!(app.get("/readyz").await.0, 503);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_answer_that_cannot_be_read_is_upstream_error() {
    let url = fake_upstream(|_, _| {
        (
            200,
            json!({ "code": 0, "message": "Success", "data": "not a customer" }),
        )
    })
    .await;
    let app = GatewayApp::in_front_of_url(&url, "key").await;

    let body = app.graphql("{ customers { totalCount } }", json!({})).await;
    assert_upstream_error(&body, "customers", "UPSTREAM_ERROR", None);
    let body = app
        .graphql(
            "mutation { createCustomer(input: { firmName: \"X\" }) { customer { customerId } } }",
            json!({}),
        )
        .await;
    assert_upstream_error(&body, "createCustomer", "UPSTREAM_ERROR", None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_field_nulls_only_itself() {
    let app = GatewayApp::spawn().await;
    customer_with_no_cards(&app, "A").await;

    let body = app
        .graphql(
            r#"{ good: customer(customerId: "A") { customerId } bad: customers(after: "junk") { totalCount } }"#,
            json!({}),
        )
        .await;

    let errors = errors(&body);
    assert_eq!(errors.len(), 1, "{body:#}");
    assert_eq!(errors[0]["path"], json!(["bad"]), "{body:#}");
    assert_eq!(
        errors[0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body:#}"
    );
    assert_eq!(
        body["data"]["good"],
        json!({ "customerId": "A" }),
        "the good field keeps its data: {body:#}"
    );
    assert_eq!(body["data"]["bad"], Value::Null, "{body:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_nullable_field_is_null_in_data_beside_its_siblings() {
    // Browsing works; looking customers up by id (a GET, or a browse with IN) fails.
    let url = fake_upstream(|_, uri| {
        if uri.query().unwrap_or_default().contains("filter=") || uri.path().ends_with("/B") {
            (500, json!({ "code": 99, "message": "Internal error" }))
        } else {
            (200, json!({ "code": 0, "message": "Success", "totalRecords": 0, "totalPages": 0, "data": [] }))
        }
    })
    .await;
    let app = GatewayApp::in_front_of_url(&url, "key").await;

    let body = app
        .graphql(
            r#"{ page: customers { totalCount } bad: customer(customerId: "B") { customerId } }"#,
            json!({}),
        )
        .await;
    assert_upstream_error(&body, "bad", "UPSTREAM_ERROR", Some((99, 500)));
    assert_eq!(
        body["data"],
        json!({ "page": { "totalCount": 0 }, "bad": null }),
        "GraphQL spec 6.4.4: a field error makes a nullable field null: {body:#}"
    );

    let body = app
        .graphql(r#"{ customer(customerId: "B") { customerId } }"#, json!({}))
        .await;
    assert_upstream_error(&body, "customer", "UPSTREAM_ERROR", Some((99, 500)));
    assert_eq!(
        body["data"],
        json!({ "customer": null }),
        "the only field failing makes it null, not data: {body:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_gateway_error_carries_one_of_the_documented_codes() {
    let app = GatewayApp::spawn().await;
    customer_with_no_cards(&app, "Codes1").await;
    let queries = [
        r#"{ customers(first: -1) { totalCount } }"#,
        r#"{ customers(before: "x") { totalCount } }"#,
        r#"mutation { addCard(input: { customerId: "Codes1", cardNumber: "4111111111111112", expDate: "1239", billingZip: "1" }) { __typename } }"#,
        r#"mutation { addCard(input: { customerId: "Codes1", cardNumber: "4111111111111111", expDate: "0120", billingZip: "1" }) { __typename } }"#,
        r#"mutation { createCustomer(input: { customerId: "bad id!" , firmName: "X" }) { __typename } }"#,
        r#"mutation { createCustomer(input: { customerId: "Codes2" }) { __typename } }"#,
        r#"mutation { addBankAccount(input: { customerId: "Codes1", routingNumber: "011000016", accountNumber: "12345", billingFirstName: "A", billingLastName: "B", billingZip: "1" }) { __typename } }"#,
        r#"mutation { removeCard(input: { customerId: "NOPE", cardId: "x" }) { __typename } }"#,
    ];
    for query in queries {
        let body = app.graphql(query, json!({})).await;
        let errors = errors(&body);
        assert!(!errors.is_empty(), "{query}: {body:#}");
        for error in errors {
            let code = error["extensions"]["code"].as_str().unwrap_or_default();
            assert!(
                CODES.contains(&code),
                "{query}: undocumented code in {body:#}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_in_one_customer_failing_to_load_does_not_fail_the_others() {
    // Each customer is its own GET: Good answers, Bad fails.
    let url = fake_upstream(|_, uri| match uri.path() {
        "/platform/vault/customer/Good" => (
            200,
            json!({ "code": 0, "message": "Success", "data": {
                "customer_id": "Good", "customer_firm_name": "Good Co",
                "billing_cards": [], "shipping_addresses": [] } }),
        ),
        _ => (500, json!({ "code": 99, "message": "Internal error" })),
    })
    .await;
    let app = GatewayApp::in_front_of_url_with(&url, "key", UpstreamBatch::None).await;

    let body = app
        .graphql(
            r#"{ good: customer(customerId: "Good") { customerId } bad: customer(customerId: "Bad") { customerId } }"#,
            json!({}),
        )
        .await;

    assert_upstream_error(&body, "bad", "UPSTREAM_ERROR", Some((99, 500)));
    assert_eq!(
        body["data"]["good"],
        json!({ "customerId": "Good" }),
        "{body:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_envelope_with_http_200_is_an_upstream_error_with_its_code() {
    // Some answers say success in HTTP and failure in the envelope: the envelope wins.
    let url = fake_upstream(|_, _| {
        (
            200,
            json!({ "code": 99, "message": "Internal error", "data": null }),
        )
    })
    .await;
    let app = GatewayApp::in_front_of_url(&url, "key").await;
    let body = app
        .graphql(r#"{ customer(customerId: "B") { customerId } }"#, json!({}))
        .await;
    assert_upstream_error(&body, "customer", "UPSTREAM_ERROR", Some((99, 200)));
    assert_eq!(body["data"], json!({ "customer": null }), "{body:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_answer_is_an_upstream_error_that_never_quotes_a_card_number() {
    // serde quotes a value of the wrong type in its message; the single exit for error
    // messages (`http::errors_json`) leaves a card number there out.
    let url = fake_upstream(|_, _| {
        (
            200,
            json!({ "code": 0, "message": "Success", "data": { "customer_id": 4111111111111111u64 } }),
        )
    })
    .await;
    let app = GatewayApp::in_front_of_url(&url, "key").await;
    let body = app
        .graphql(r#"{ customer(customerId: "B") { customerId } }"#, json!({}))
        .await;
    let error = single_error(&body, "UPSTREAM_ERROR");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("could not be read"), "{body:#}");
    assert!(!body.to_string().contains("4111111111111111"), "{body:#}");
}
