//! The embedded card fields through the graph: `createCardSetup` for a secret key or a session
//! with `ADD_PAYMENT_METHOD`, and tokens from the fields in `addCard`, `createCustomer` and
//! `chargeCustomer`.

use serde_json::{Value, json};

use super::support::{Answer, EXP, GatewayApp, bearer, single_error};

const SETUP: &str = "mutation($input: CreateCardSetupInput!) { createCardSetup(input: $input) { transientKey merchantId expiresAt frameUrl } }";

async fn customer(app: &GatewayApp, id: &str) {
    app.add_customer(
        json!({"customer_id": id, "customer_first_name": "Pat", "customer_last_name": id}),
    )
    .await;
}

/// A single-use token from the hosted fields, made as the frame makes it.
async fn token(app: &GatewayApp, transient_key: &str, number: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/embedded/tokenize", app.base))
        .header("origin", &app.base)
        .json(
            &json!({"transient_key": transient_key, "card_number": number, "exp_date": EXP,
                      "cvv2": "123", "avs_zip": "94107"}),
        )
        .send()
        .await
        .expect("an answer")
}

async fn card_token(app: &GatewayApp, customer_id: &str) -> String {
    let setup = app
        .data(SETUP, json!({"input": {"customerId": customer_id}}))
        .await;
    let key = setup["createCardSetup"]["transientKey"]
        .as_str()
        .expect("a key");
    let answer: Value = token(app, key, "4111111111111111")
        .await
        .json()
        .await
        .expect("json");
    answer["card_id"].as_str().expect("a token").to_owned()
}

async fn session(app: &GatewayApp, customer_id: &str, permissions: &str) -> String {
    let document = format!(
        "mutation {{ createCustomerSession(input: {{ customerId: \"{customer_id}\", permissions: [{permissions}] }}) {{ token }} }}"
    );
    app.data(&document, json!({})).await["createCustomerSession"]["token"]
        .as_str()
        .expect("a token")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_setup_gives_a_key_and_the_fields_page() {
    let app = GatewayApp::spawn().await;
    customer(&app, "SETUP1").await;
    let setup = app
        .data(SETUP, json!({"input": {"customerId": "SETUP1"}}))
        .await;
    let setup = &setup["createCardSetup"];
    assert_eq!(setup["transientKey"].as_str().map(str::len), Some(32));
    let merchant = setup["merchantId"].as_str().expect("a merchant id");
    assert_eq!(
        setup["frameUrl"].as_str(),
        Some(format!("/embedded/frame?merchant_id={merchant}").as_str())
    );
    assert!(setup["expiresAt"].is_string());
    let missing = app
        .graphql(SETUP, json!({"input": {"customerId": "NOSUCH"}}))
        .await;
    single_error(&missing, "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_sets_up_cards_only_with_add_payment_method() {
    let app = GatewayApp::spawn().await;
    customer(&app, "SETUP2").await;
    customer(&app, "SETUP3").await;
    let allowed = session(&app, "SETUP2", "ADD_PAYMENT_METHOD").await;
    let ok: Answer = app
        .graphql_as(
            &bearer(&allowed),
            SETUP,
            json!({"input": {"customerId": "SETUP2"}}),
        )
        .await;
    assert!(
        ok.body["data"]["createCardSetup"]["transientKey"].is_string(),
        "{:#}",
        ok.body
    );
    let reader = session(&app, "SETUP2", "READ_PROFILE").await;
    let before = app.upstream_requests().await;
    let other = app
        .graphql_as(
            &bearer(&allowed),
            SETUP,
            json!({"input": {"customerId": "SETUP3"}}),
        )
        .await;
    single_error(&other.body, "FORBIDDEN");
    let refused = app
        .graphql_as(
            &bearer(&reader),
            SETUP,
            json!({"input": {"customerId": "SETUP2"}}),
        )
        .await;
    single_error(&refused.body, "FORBIDDEN");
    assert_eq!(
        app.upstream_requests().await,
        before,
        "refused before any upstream call"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_from_the_fields_add_cards_create_customers_and_pay() {
    let app = GatewayApp::spawn().await;
    customer(&app, "TOKEN1").await;
    let add = "mutation($input: AddCardInput!) { addCard(input: $input) { card { cardId maskedNumber } customer { cards { cardId } } } }";
    let first = card_token(&app, "TOKEN1").await;
    let added = app
        .data(
            add,
            json!({"input": {"customerId": "TOKEN1", "cardToken": first, "verify": true}}),
        )
        .await;
    assert_eq!(added["addCard"]["card"]["cardId"], first.as_str());
    assert_eq!(added["addCard"]["card"]["maskedNumber"], "411111xxxxxx1111");
    // A number and a token, or neither: refused before any upstream call.
    let before = app.upstream_requests().await;
    for input in [
        json!({"customerId": "TOKEN1", "cardToken": first, "cardNumber": "4111111111111111", "expDate": EXP, "billingZip": "94107"}),
        json!({"customerId": "TOKEN1"}),
        json!({"customerId": "TOKEN1", "cardNumber": "4111111111111111"}),
    ] {
        let answer = app.graphql(add, json!({"input": input})).await;
        single_error(&answer, "BAD_USER_INPUT");
    }
    assert_eq!(app.upstream_requests().await, before);

    let second = card_token(&app, "TOKEN1").await;
    let create = "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { customerId cards { cardId } } } }";
    let created = app
        .data(
            create,
            json!({"input": {"customerId": "TOKEN2", "firstName": "Ada", "lastName": "Byron",
                              "cards": [{"cardToken": second, "verify": true}]}}),
        )
        .await;
    assert_eq!(
        created["createCustomer"]["customer"]["cards"][0]["cardId"],
        second.as_str()
    );

    customer(&app, "TOKEN3").await;
    let third = card_token(&app, "TOKEN3").await;
    let charge = "mutation($input: ChargeCustomerInput!) { chargeCustomer(input: $input) { payment { status amount card { cardId } } } }";
    let paid = app
        .graphql(
            charge,
            json!({"input": {"customerId": "TOKEN3", "cardToken": third, "amount": "5.00"}}),
        )
        .await;
    assert!(paid.get("errors").is_none(), "{paid:#}");
    assert_eq!(
        paid["data"]["chargeCustomer"]["payment"]["status"],
        "CAPTURED"
    );
    let cards = app
        .data(
            "{ customer(customerId: \"TOKEN3\") { cards { cardId } } }",
            json!({}),
        )
        .await;
    assert_eq!(cards["customer"]["cards"][0]["cardId"], third.as_str());
}
