//! A gateway in front of a separate vault sandbox (`--upstream`) answers like the one with the
//! embedded vault: nothing in the gateway depends on the vault being in-process.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64;
use serde_json::{Value, json};

use super::support::{GatewayApp, ROUTING, Sandbox, seed_body};
use crate::helpers::KEY_A;

/// Replaces what differs between two vaults holding the same data: random card ids (also
/// inside global ids) and verification times.
fn normalized(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let value = match (key.as_str(), value) {
                        ("cardId" | "removedCardId", Value::String(_)) => json!("<card_id>"),
                        ("verifiedAt", Value::String(_)) => json!("<verified_at>"),
                        ("id", Value::String(id)) => {
                            let decoded = BASE64
                                .decode(id)
                                .ok()
                                .and_then(|b| String::from_utf8(b).ok())
                                .unwrap_or_default();
                            match decoded.rsplit_once(':') {
                                Some((prefix, _)) if decoded.starts_with("PaymentMethod:") => {
                                    json!(format!("<{prefix}:card_id>"))
                                }
                                _ => value.clone(),
                            }
                        }
                        _ => normalized(value),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalized).collect()),
        _ => value.clone(),
    }
}

async fn seed(app: &GatewayApp) {
    for i in 0..12 {
        app.add_customer(seed_body(&format!("Up{i:02}"), i, 2, 1))
            .await;
    }
    app.add_customer(json!({
        "customer_id": "UpBank",
        "customer_firm_name": "Bank Co",
        "customer_email": "bank@example.test",
        "billing_cards": [
            { "type_id": "S", "tr_number": ROUTING, "dda_number": "55554444",
              "billing_first_name": "B", "billing_last_name": "C", "billing_zip": "94107" },
            { "card_number": "4111111111111111", "exp_date": "0731", "cvv2": "123",
              "verify": true, "billing_zip": "94107" }
        ]
    }))
    .await;
}

const QUERIES: [&str; 8] = [
    r#"{ customers(first: 5) {
           totalCount pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
           edges { cursor node {
             id customerId firstName lastName
             cards { id cardId maskedNumber brand expDate isPrimary customer { customerId } }
             shippingAddresses { id shippingId firstName addr1 isPrimary }
             primaryCard { last4 }
           } }
       } }"#,
    r#"{ customers(last: 3, orderBy: { field: CREATED_AT, direction: DESC }) {
           totalCount edges { node { customerId } } pageInfo { hasPreviousPage hasNextPage }
       } }"#,
    r#"{ customers(filter: { customerIdPrefix: "Up0", lastNamePrefix: "LastUp0" }, first: 4, after: "b2Zmc2V0OjE") {
           totalCount nodes { customerId }
       } }"#,
    r#"{ a: customer(customerId: "Up03") { customerId cards { last4 } }
         b: customer(customerId: "UpBank") {
           firmName email
           bankAccounts { accountType routingNumber maskedNumber isPrimary }
           paymentMethods { __typename cardId verifiedAt }
           primaryPaymentMethod { __typename }
           primaryCard { cardId }
         }
         nope: customer(customerId: "NOPE") { customerId } }"#,
    r#"{ node(id: "Q3VzdG9tZXI6VXAwNw") { __typename ... on Customer { customerId } } }"#,
    r#"mutation { addCard(input: { customerId: "Up01", cardNumber: "5555555555554444", expDate: "0830",
                                   billingZip: "10001", primary: true }) {
         card { cardId maskedNumber isPrimary } customer { primaryCard { maskedNumber } cards { last4 } }
       } }"#,
    r#"mutation { a: updateShippingAddress(input: { customerId: "Up02", shippingId: "3", city: "Reno" }) {
                    shippingAddress { shippingId firstName lastName city } }
                  b: deleteCustomer(input: { customerId: "Up04" }) { deletedCustomerId } }"#,
    r#"mutation { addCard(input: { customerId: "NOPE", cardNumber: "4111111111111111", expDate: "1239",
                                   billingZip: "1" }) { card { cardId } } }"#,
];

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_in_front_of_a_sandbox_answers_like_the_one_with_the_embedded_vault() {
    let sandbox = Sandbox::spawn().await;
    let pure = GatewayApp::in_front_of(&sandbox, KEY_A).await;
    let embedded = GatewayApp::spawn().await;
    seed(&pure).await;
    seed(&embedded).await;

    for query in QUERIES {
        let from_pure = pure.graphql(query, json!({})).await;
        let from_embedded = embedded.graphql(query, json!({})).await;
        assert_eq!(
            normalized(&from_pure),
            normalized(&from_embedded),
            "{query}\npure: {from_pure:#}\nembedded: {from_embedded:#}"
        );
    }
    // What the comparisons compared is what they were meant to.
    let first_page = pure.data(QUERIES[0], json!({})).await;
    assert_eq!(
        first_page["customers"]["totalCount"], 12,
        "Up04 was deleted: {first_page:#}"
    );
    assert_eq!(
        first_page["customers"]["edges"][1]["node"]["primaryCard"]["last4"],
        "4444"
    );
    let node = pure.data(QUERIES[4], json!({})).await;
    assert_eq!(node["node"]["customerId"], "Up07");
    let moved = pure
        .data(
            r#"{ customer(customerId: "Up02") { shippingAddresses { shippingId city } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        moved["customer"]["shippingAddresses"],
        json!([{ "shippingId": "3", "city": "Reno" }])
    );
    let last = pure.graphql(QUERIES[7], json!({})).await;
    assert_eq!(last["errors"][0]["extensions"]["code"], "NOT_FOUND");
    assert_eq!(
        embedded.graphql(QUERIES[6], json!({})).await["errors"][0]["extensions"]["code"],
        "NOT_FOUND",
        "the customer was deleted the first time"
    );

    // The pure gateway serves no vault of its own, and went upstream for everything.
    assert_eq!(pure.get("/platform/vault/customer").await.0, 404);
    assert!(pure.upstream_requests().await >= QUERIES.len() as u64);
    assert_eq!(pure.get("/readyz").await.0, 200);

    // Batching works the same way upstream.
    let (data, cost) = pure
        .counted(
            r#"{ a: customer(customerId: "Up05") { customerId }
                 b: customer(customerId: "Up06") { customerId }
                 c: customer(customerId: "Up07") { customerId cards { customer { customerId } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(cost, 1, "{data:#}");
    assert_eq!(data["c"]["cards"][0]["customer"]["customerId"], "Up07");
}
