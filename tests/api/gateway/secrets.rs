//! No GraphQL response carries a full card number, account number or CVV. Every response read
//! through `GatewayApp::graphql` is scanned for all the secrets the app was sent; these tests
//! send many, through every input that takes one, including inputs that are refused.

use serde_json::json;

use super::support::{EXP, GATEWAY_KEY, GatewayApp, ROUTING, basic, visa};

const CREATE: &str = "mutation C($input: CreateCustomerInput!) {
  createCustomer(input: $input) {
    customer {
      cards { cardId maskedNumber last4 }
      bankAccounts { maskedNumber last4 routingNumber }
      paymentMethods { maskedNumber last4 }
    }
  }
}";

const EVERYTHING: &str = r#"{
  customers(first: 100) {
    edges { node {
      id customerId
      cards { id cardId last4 maskedNumber brand expDate billingEmails billingAddress { zip } }
      bankAccounts { id cardId maskedNumber last4 routingNumber accountType }
      paymentMethods { __typename id maskedNumber last4 }
      primaryCard { maskedNumber } primaryPaymentMethod { maskedNumber }
    } }
  }
}"#;

#[tokio::test(flavor = "multi_thread")]
async fn no_graphql_response_carries_a_full_card_number_account_number_or_cvv() {
    let app = GatewayApp::spawn().await;

    // Created through GraphQL, verified with CVVs.
    let cards: Vec<_> = ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117", "3530111333300000"]
        .iter()
        .zip(["123", "456", "7890", "321", "654"])
        .map(|(number, cvv)| json!({ "cardNumber": number, "expDate": EXP, "cvv2": cvv, "verify": true, "billingZip": "94107" }))
        .collect();
    let body = app
        .graphql(
            CREATE,
            json!({ "input": {
                "customerId": "Sec1", "firstName": "Sec", "lastName": "Ret", "cards": cards,
                "bankAccounts": [{ "routingNumber": ROUTING, "accountNumber": "000123456789",
                                   "billingFirstName": "S", "billingLastName": "R", "billingZip": "94107" }]
            } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");

    // Added one by one, in literals and in variables.
    for n in 0..5 {
        let number = visa(500 + n);
        app.data(
            &format!(
                r#"mutation {{ addCard(input: {{ customerId: "Sec1", cardNumber: "{number}", expDate: "{EXP}",
                                                cvv2: "11{n}", verify: true, billingZip: "94107" }}) {{
                     card {{ maskedNumber }} customer {{ cards {{ maskedNumber }} }} }} }}"#
            ),
            json!({}),
        )
        .await;
    }
    app.data(
        "mutation A($input: AddBankAccountInput!) { addBankAccount(input: $input) { bankAccount { maskedNumber last4 } } }",
        json!({ "input": { "customerId": "Sec1", "routingNumber": ROUTING, "accountNumber": "99887766554433",
                           "billingFirstName": "S", "billingLastName": "R", "billingZip": "94107" } }),
    )
    .await;
    let card_id = app
        .data(
            r#"{ customer(customerId: "Sec1") { cards { cardId } } }"#,
            json!({}),
        )
        .await["customer"]["cards"][0]["cardId"]
        .clone();
    app.data(
        "mutation U($input: UpdateCardInput!) { updateCard(input: $input) { card { maskedNumber verifiedAt } } }",
        json!({ "input": { "customerId": "Sec1", "cardId": card_id, "cvv2": "246", "verify": true } }),
    )
    .await;

    // Refused inputs: the vault's and the gateway's messages must not quote them either.
    for (number, cvv) in [
        ("4111111111111112", "135"),    // bad Luhn
        ("4000000000000002", "579"),    // declined
        ("4111111111111111", "999"),    // CVV mismatch, and already stored
        ("41111111111111111111", "12"), // too long, bad CVV
        ("5555 5555 5555 4444", "1x3"), // not digits
    ] {
        let body = app
            .graphql(
                "mutation A($input: AddCardInput!) { addCard(input: $input) { card { maskedNumber } } }",
                json!({ "input": { "customerId": "Sec1", "cardNumber": number, "cvv2": cvv, "verify": true,
                                   "expDate": EXP, "billingZip": "94107" } }),
            )
            .await;
        assert!(
            body.get("errors").is_some(),
            "{number} was refused: {body:#}"
        );
    }
    // Inputs of the wrong type, refused by GraphQL validation before any resolver runs.
    for input in [
        json!({ "customerId": "Sec1", "cardNumber": 4111111111111111_u64, "expDate": EXP, "billingZip": "1" }),
        json!({ "customerId": "Sec1", "cardNumber": "4012888888881881", "expDate": EXP, "billingZip": 94107, "cvv2": "864" }),
        json!({ "customerId": "Sec1", "cardNumber": "4012888888881881", "expDate": EXP, "cvv2": "864" }),
    ] {
        let (status, body) = app
            .graphql_status(
                "mutation A($input: AddCardInput!) { addCard(input: $input) { card { maskedNumber } } }",
                json!({ "input": input }),
            )
            .await;
        assert!(status == 200 || status == 400, "{status}: {body:#}");
        assert!(body.get("errors").is_some(), "refused: {body:#}");
    }
    let (status, body) = app
        .graphql_status(
            r#"mutation { addCard(input: { customerId: "Sec1", cardNumber: 4012888888881881, expDate: "1239", billingZip: "1" }) { __typename } }"#,
            json!({}),
        )
        .await;
    assert!(status == 200 || status == 400, "{status}: {body:#}");
    assert!(body.get("errors").is_some(), "refused: {body:#}");

    // Everything read back, masked.
    let data = app.data(EVERYTHING, json!({})).await;
    let customer = &data["customers"]["edges"][0]["node"];
    assert_eq!(customer["cards"].as_array().unwrap().len(), 10);
    assert_eq!(customer["bankAccounts"].as_array().unwrap().len(), 2);
    for card in customer["cards"].as_array().unwrap() {
        assert!(
            card["maskedNumber"].as_str().unwrap().contains("xxxxx"),
            "{card}"
        );
    }
}

/// Card numbers as people type them, and CVVs, inside documents that do not parse or do not
/// validate: the error may say where and what was expected, never quote what was sent.
#[tokio::test(flavor = "multi_thread")]
async fn parse_and_validation_errors_never_echo_card_numbers_or_cvvs() {
    let app = GatewayApp::spawn().await;
    let broken = [
        // Syntax errors (an unclosed object, a missing colon, a stray token) on the line with
        // the number.
        r#"mutation { addCard(input: { customerId: "S", cardNumber: "4111 1111 1111 1111" cvv2: "737" ) { __typename } }"#,
        r#"mutation { addCard(input: { customerId: "S", cardNumber: "4111-1111-1111-1111", cvv2 "737" }) { __typename } }"#,
        "mutation { addCard(input: { customerId: \"S\", cardNumber: 4111111111111111, cvv2: 737 } { __typename } }",
        "{ customer(customerId: 4111 1111 1111 1111 737) { id } }",
        // Valid syntax, values of the wrong type: the coercion messages quote values.
        r#"mutation { addCard(input: { customerId: "S", cardNumber: 4111111111111111, expDate: "1239", cvv2: 737 }) { __typename } }"#,
        r#"mutation { createSubscription(input: { customerId: "S", frequency: "4111 1111 1111 1111", amount: "737" }) { __typename } }"#,
        r#"{ customers(first: "4111-1111-1111-1111", orderBy: { field: "737", direction: ASC }) { totalCount } }"#,
    ];
    for query in broken {
        for accept in ["application/json", "application/graphql-response+json"] {
            let response = reqwest::Client::new()
                .post(format!("{}/graphql", app.base))
                .header("authorization", basic(GATEWAY_KEY))
                .header("content-type", "application/json")
                .header("accept", accept)
                .body(json!({ "query": query }).to_string())
                .send()
                .await
                .expect("the gateway answers");
            let status = response.status().as_u16();
            let text = response.text().await.expect("a body");
            assert!(status == 200 || status == 400, "{status} {text}");
            assert!(text.contains("\"errors\""), "refused: {text}");
            for echo in ["4111", "1111", "737"] {
                assert!(!text.contains(echo), "{echo} echoed for {query}: {text}");
            }
        }
    }
    // The position is still there to find the mistake by.
    let (_, body) = app.graphql_status(broken[0], json!({})).await;
    let error = &body["errors"][0];
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("syntax error at line 1, column")),
        "{body:#}"
    );
    assert_eq!(error["locations"][0]["line"], 1, "{body:#}");
}
