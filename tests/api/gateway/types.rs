//! The object types: every field of Customer, Card, BankAccount, ShippingAddress, the
//! PaymentMethod interface, and `node` / `customer` lookups.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::assert_gateway_snapshot;
use super::support::{EXP, GatewayApp, ROUTING, fake_upstream, masked};

const VISA: &str = "4111111111111111";
const MASTERCARD: &str = "5555555555554444";
const AMEX: &str = "378282246310005";
const DISCOVER: &str = "6011111111111117";
const JCB: &str = "3530111333300000";
const DDA: &str = "123456789012";

const CARD_FIELDS: &str = "
  id cardId last4 maskedNumber brand expMonth expYear expDate isExpired isPrimary verifiedAt
  billingFirstName billingLastName billingFirmName billingEmails
  billingAddress { addr1 addr2 city state zip zip4 country countryCode }
  customer { customerId }";

const BANK_FIELDS: &str = "
  id cardId accountType routingNumber maskedNumber last4 isPrimary verifiedAt
  billingFirstName billingLastName billingFirmName billingEmails
  billingAddress { addr1 addr2 city state zip zip4 country countryCode }
  customer { customerId }";

const ADDRESS_FIELDS: &str = "
  id shippingId firstName lastName firmName addr1 addr2 city state zip zip4 country countryCode
  isPrimary customer { customerId }";

fn customer_query() -> String {
    format!(
        "query Rich($id: String!) {{
          customer(customerId: $id) {{
            id customerId firstName lastName firmName email phone referenceId comments developerId
            cards {{ {CARD_FIELDS} }}
            bankAccounts {{ {BANK_FIELDS} }}
            paymentMethods {{
              __typename id cardId maskedNumber last4 isPrimary verifiedAt
              billingFirstName billingLastName billingFirmName billingEmails
              billingAddress {{ zip }}
              customer {{ customerId }}
              ... on Card {{ brand }}
              ... on BankAccount {{ accountType }}
            }}
            primaryCard {{ cardId }}
            primaryPaymentMethod {{ __typename cardId }}
            shippingAddresses {{ {ADDRESS_FIELDS} }}
            primaryShippingAddress {{ shippingId }}
          }}
        }}"
    )
}

/// A customer with every field, five cards of five brands (the Visa verified, with every
/// billing field), a business savings account and two shipping addresses.
async fn rich_customer(app: &GatewayApp) {
    app.add_customer(json!({
        "customer_id": "Rich1",
        "customer_first_name": "Jane",
        "customer_last_name": "Doe",
        "customer_firm_name": "Doe Widgets",
        "customer_email": "jane@example.test",
        "customer_phone": "4155550100",
        "reference_id": "ref-123",
        "comments": "prefers email",
        "developer_id": "vaultql-tests",
        "billing_cards": [
            {
                "card_number": VISA, "exp_date": "0731", "cvv2": "123", "verify": true,
                "billing_first_name": "Jane", "billing_last_name": "Doe",
                "billing_firm_name": "Doe Widgets",
                "billing_email": ["jane@example.test", "billing@example.test"],
                "billing_addr1": "1 Market St", "billing_addr2": "Suite 100",
                "billing_city": "San Francisco", "billing_state": "CA",
                "billing_zip": "94107", "billing_zip4": "1234",
                "billing_country": "USA", "billing_country_code": "840"
            },
            { "card_number": MASTERCARD, "exp_date": EXP, "billing_zip": "94107" },
            { "card_number": AMEX, "exp_date": EXP, "billing_zip": "94107" },
            { "card_number": DISCOVER, "exp_date": EXP, "billing_zip": "94107" },
            { "card_number": JCB, "exp_date": EXP, "billing_zip": "94107" },
            {
                "type_id": "V", "tr_number": ROUTING, "dda_number": DDA,
                "billing_first_name": "Jane", "billing_last_name": "Doe",
                "billing_firm_name": "Doe Widgets", "billing_zip": "94107"
            }
        ],
        "shipping_addresses": [
            {
                "shipping_first_name": "Jane", "shipping_last_name": "Doe",
                "shipping_firm_name": "Doe Widgets",
                "shipping_addr1": "500 Howard St", "shipping_addr2": "Floor 3",
                "shipping_city": "San Francisco", "shipping_state": "CA",
                "shipping_zip": "94105", "shipping_zip4": "4321",
                "shipping_country": "USA", "shipping_country_code": "840"
            },
            { "shipping_first_name": "John", "shipping_last_name": "Roe" }
        ]
    }))
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_reads_back_with_every_field_of_its_cards_bank_account_and_addresses() {
    let app = GatewayApp::spawn().await;
    rich_customer(&app).await;

    let body = app
        .graphql(&customer_query(), json!({ "id": "Rich1" }))
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert_gateway_snapshot("customer_with_cards_bank_account_addresses", &body);
    let customer = &body["data"]["customer"];

    assert_eq!(customer["customerId"], "Rich1");
    assert_eq!(customer["firstName"], "Jane");
    assert_eq!(customer["lastName"], "Doe");
    assert_eq!(customer["firmName"], "Doe Widgets");
    assert_eq!(customer["email"], "jane@example.test");
    assert_eq!(customer["phone"], "4155550100");
    assert_eq!(customer["referenceId"], "ref-123");
    assert_eq!(customer["comments"], "prefers email");
    assert_eq!(customer["developerId"], "vaultql-tests");
    assert!(customer["id"].as_str().is_some_and(|id| !id.is_empty()));

    // Cards, oldest first, with their brands from the numbers.
    let cards = customer["cards"].as_array().unwrap();
    let brands: Vec<&str> = cards.iter().map(|c| c["brand"].as_str().unwrap()).collect();
    assert_eq!(brands, ["VISA", "MASTERCARD", "AMEX", "DISCOVER", "JCB"]);
    for (card, number) in cards.iter().zip([VISA, MASTERCARD, AMEX, DISCOVER, JCB]) {
        assert_eq!(card["maskedNumber"], masked(number));
        assert_eq!(card["last4"], &number[number.len() - 4..]);
        assert_eq!(card["isExpired"], false);
        assert_eq!(card["customer"]["customerId"], "Rich1");
        let card_id = card["cardId"].as_str().unwrap();
        assert!(
            card_id.len() == 32 && card_id.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{card_id}"
        );
    }
    let visa = &cards[0];
    assert_eq!(visa["expMonth"], 7);
    assert_eq!(visa["expYear"], 2031);
    assert_eq!(visa["expDate"], "0731");
    assert_eq!(visa["isPrimary"], true);
    let verified: DateTime<Utc> = visa["verifiedAt"]
        .as_str()
        .expect("verifiedAt is set after verify: true")
        .parse()
        .expect("verifiedAt is RFC 3339");
    assert_eq!(
        verified,
        crate::helpers::test_now(),
        "verifiedAt is the vault's time of the verification"
    );
    assert_eq!(visa["billingFirstName"], "Jane");
    assert_eq!(visa["billingLastName"], "Doe");
    assert_eq!(visa["billingFirmName"], "Doe Widgets");
    assert_eq!(
        visa["billingEmails"],
        json!(["jane@example.test", "billing@example.test"])
    );
    assert_eq!(
        visa["billingAddress"],
        json!({
            "addr1": "1 Market St", "addr2": "Suite 100", "city": "San Francisco",
            "state": "CA", "zip": "94107", "zip4": "1234", "country": "USA",
            "countryCode": "840"
        })
    );
    let mastercard = &cards[1];
    assert_eq!(mastercard["expMonth"], 12);
    assert_eq!(mastercard["expYear"], 2039);
    assert_eq!(mastercard["expDate"], EXP);
    assert_eq!(mastercard["isPrimary"], false);
    assert_eq!(mastercard["verifiedAt"], Value::Null);
    assert_eq!(mastercard["billingEmails"], json!([]));
    assert_eq!(mastercard["billingFirstName"], Value::Null);
    assert_eq!(mastercard["billingAddress"]["zip"], "94107");
    assert_eq!(mastercard["billingAddress"]["city"], Value::Null);

    // The bank account.
    let accounts = customer["bankAccounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 1);
    let account = &accounts[0];
    assert_eq!(account["accountType"], "BUSINESS_SAVINGS");
    assert_eq!(account["routingNumber"], ROUTING);
    assert_eq!(account["maskedNumber"], "xxxxxxxx9012");
    assert_eq!(account["last4"], "9012");
    assert_eq!(account["isPrimary"], false);
    assert_eq!(account["verifiedAt"], Value::Null);
    assert_eq!(account["billingFirstName"], "Jane");
    assert_eq!(account["billingFirmName"], "Doe Widgets");
    assert_eq!(account["customer"]["customerId"], "Rich1");

    // PaymentMethod: both kinds, in one list, oldest first.
    let methods = customer["paymentMethods"].as_array().unwrap();
    let kinds: Vec<&str> = methods
        .iter()
        .map(|m| m["__typename"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["Card", "Card", "Card", "Card", "Card", "BankAccount"]
    );
    assert_eq!(methods[0]["brand"], "VISA");
    assert_eq!(methods[5]["accountType"], "BUSINESS_SAVINGS");
    assert_eq!(methods[5]["cardId"], account["cardId"]);
    assert_eq!(methods[5]["maskedNumber"], "xxxxxxxx9012");
    assert_eq!(customer["primaryCard"]["cardId"], visa["cardId"]);
    assert_eq!(
        customer["primaryPaymentMethod"],
        json!({ "__typename": "Card", "cardId": visa["cardId"] })
    );

    // Shipping addresses.
    let addresses = customer["shippingAddresses"].as_array().unwrap();
    assert_eq!(addresses.len(), 2);
    let full = &addresses[0];
    for (field, value) in [
        ("firstName", "Jane"),
        ("lastName", "Doe"),
        ("firmName", "Doe Widgets"),
        ("addr1", "500 Howard St"),
        ("addr2", "Floor 3"),
        ("city", "San Francisco"),
        ("state", "CA"),
        ("zip", "94105"),
        ("zip4", "4321"),
        ("country", "USA"),
        ("countryCode", "840"),
    ] {
        assert_eq!(full[field], value, "{field}");
    }
    assert_eq!(full["isPrimary"], true);
    assert_eq!(full["customer"]["customerId"], "Rich1");
    assert!(full["shippingId"].as_str().unwrap().parse::<i64>().is_ok());
    let minimal = &addresses[1];
    assert_eq!(minimal["firstName"], "John");
    assert_eq!(minimal["isPrimary"], false);
    assert_eq!(minimal["city"], Value::Null);
    assert_eq!(
        customer["primaryShippingAddress"]["shippingId"],
        full["shippingId"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_representative_customers_page_reads_back() {
    let app = GatewayApp::spawn().await;
    rich_customer(&app).await;
    app.add_customer(json!({
        "customer_id": "Firm2",
        "customer_firm_name": "Acme",
        "billing_cards": [{ "card_number": MASTERCARD, "exp_date": "0630", "billing_zip": "10001" }],
        "shipping_addresses": [{ "shipping_first_name": "Ann", "shipping_last_name": "Lee", "shipping_city": "New York" }]
    }))
    .await;
    app.add_customer(
        json!({ "customer_id": "Plain3", "customer_first_name": "Al", "customer_last_name": "Bo" }),
    )
    .await;

    let body = app
        .graphql(
            r#"{
              customers(first: 2, orderBy: { field: CUSTOMER_ID, direction: ASC }) {
                totalCount
                pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
                edges {
                  cursor
                  node {
                    id customerId firstName lastName firmName email
                    cards { cardId brand maskedNumber last4 expDate isPrimary verifiedAt }
                    bankAccounts { accountType maskedNumber isPrimary }
                    primaryCard { last4 }
                    shippingAddresses { shippingId firstName lastName city isPrimary }
                  }
                }
              }
            }"#,
            json!({}),
        )
        .await;

    assert!(body.get("errors").is_none(), "{body:#}");
    let page = &body["data"]["customers"];
    assert_eq!(page["totalCount"], 3);
    assert_eq!(page["edges"][0]["node"]["customerId"], "Firm2");
    assert_eq!(page["edges"][1]["node"]["customerId"], "Plain3");
    assert_gateway_snapshot("customers_page", &body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bank_account_as_primary_leaves_primary_card_null() {
    let app = GatewayApp::spawn().await;
    app.add_customer(json!({
        "customer_id": "AchFirst",
        "customer_first_name": "Ann",
        "customer_last_name": "Lee",
        "billing_cards": [
            { "tr_number": ROUTING, "dda_number": DDA, "billing_first_name": "Ann",
              "billing_last_name": "Lee", "billing_zip": "94107" },
            { "card_number": VISA, "exp_date": EXP, "billing_zip": "94107" }
        ]
    }))
    .await;

    let data = app
        .data(
            r#"{ customer(customerId: "AchFirst") {
                   primaryCard { cardId }
                   primaryPaymentMethod { __typename ... on BankAccount { accountType last4 } }
                   bankAccounts { isPrimary accountType }
                   cards { isPrimary }
               } }"#,
            json!({}),
        )
        .await;

    let customer = &data["customer"];
    assert_eq!(customer["primaryCard"], Value::Null);
    assert_eq!(
        customer["primaryPaymentMethod"],
        json!({ "__typename": "BankAccount", "accountType": "PERSONAL_CHECKING", "last4": "9012" })
    );
    assert_eq!(
        customer["bankAccounts"],
        json!([{ "isPrimary": true, "accountType": "PERSONAL_CHECKING" }])
    );
    assert_eq!(customer["cards"], json!([{ "isPrimary": false }]));
}

#[tokio::test(flavor = "multi_thread")]
async fn node_finds_customers_cards_bank_accounts_and_addresses_and_junk_ids_give_null() {
    let app = GatewayApp::spawn().await;
    rich_customer(&app).await;
    let customer = app
        .data(
            r#"{ customer(customerId: "Rich1") {
                   id cards { id cardId } bankAccounts { id cardId }
                   shippingAddresses { id shippingId }
               } }"#,
            json!({}),
        )
        .await["customer"]
        .clone();
    let query = r#"query Nodes($customer: ID!, $card: ID!, $account: ID!, $address: ID!) {
      customer: node(id: $customer) { __typename id ... on Customer { customerId } }
      card: node(id: $card) { __typename id ... on Card { cardId brand customer { customerId } } }
      account: node(id: $account) {
        __typename id ... on BankAccount { cardId accountType customer { customerId } }
      }
      address: node(id: $address) {
        __typename id ... on ShippingAddress { shippingId firstName customer { customerId } }
      }
    }"#;
    let variables = json!({
        "customer": customer["id"],
        "card": customer["cards"][2]["id"],
        "account": customer["bankAccounts"][0]["id"],
        "address": customer["shippingAddresses"][1]["id"],
    });

    let (data, cost) = app.counted(query, variables.clone()).await;

    assert_eq!(cost, 1, "four nodes of one customer are one load");
    assert_eq!(data["customer"]["__typename"], "Customer");
    assert_eq!(data["customer"]["id"], variables["customer"]);
    assert_eq!(data["customer"]["customerId"], "Rich1");
    assert_eq!(data["card"]["__typename"], "Card");
    assert_eq!(data["card"]["id"], variables["card"]);
    assert_eq!(data["card"]["cardId"], customer["cards"][2]["cardId"]);
    assert_eq!(data["card"]["brand"], "AMEX");
    assert_eq!(data["card"]["customer"]["customerId"], "Rich1");
    assert_eq!(data["account"]["__typename"], "BankAccount");
    assert_eq!(
        data["account"]["cardId"],
        customer["bankAccounts"][0]["cardId"]
    );
    assert_eq!(data["account"]["accountType"], "BUSINESS_SAVINGS");
    assert_eq!(data["address"]["__typename"], "ShippingAddress");
    assert_eq!(
        data["address"]["shippingId"],
        customer["shippingAddresses"][1]["shippingId"]
    );
    assert_eq!(data["address"]["firstName"], "John");
    assert_eq!(data["address"]["customer"]["customerId"], "Rich1");

    let shipping_id = customer["shippingAddresses"][1]["shippingId"]
        .as_str()
        .unwrap();
    let encode = |text: &str| BASE64.encode(text);
    for junk in [
        "junk".to_owned(),
        String::new(),
        "!!!".to_owned(),
        encode("Customer:NOPE"),
        encode("Customer:a|b"),
        encode("PaymentMethod:Rich1:nocard"),
        encode("PaymentMethod:NOPE:nocard"),
        encode("ShippingAddress:Rich1:999999"),
        encode("ShippingAddress:Rich1:abc"),
        encode(&format!("ShippingAddress:NOPE:{shipping_id}")),
        encode("Plan:Rich1"),
    ] {
        let body = app
            .graphql(
                "query N($id: ID!) { node(id: $id) { id } }",
                json!({ "id": junk }),
            )
            .await;
        assert_eq!(body, json!({ "data": { "node": null } }), "{junk}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_customer_is_null_without_errors() {
    let app = GatewayApp::spawn().await;
    app.add_customer(json!({ "customer_id": "Known1", "customer_firm_name": "Known" }))
        .await;

    let body = app
        .graphql(
            r#"{
              nope: customer(customerId: "NOPE") { customerId cards { cardId } }
              empty: customer(customerId: "") { customerId }
              odd: customer(customerId: "a|b;c") { customerId }
              known: customer(customerId: "Known1") { customerId firmName }
              lower: customer(customerId: "known1") { customerId }
            }"#,
            json!({}),
        )
        .await;

    assert_eq!(
        body,
        json!({ "data": {
            "nope": null, "empty": null, "odd": null,
            "known": { "customerId": "Known1", "firmName": "Known" },
            "lower": null
        } })
    );
}

/// A customer as an upstream might send it: a card without any billing field, and card types
/// this vault never makes.
fn odd_customer() -> Value {
    json!({
        "customer_id": "Odd1",
        "customer_first_name": "Odd",
        "customer_last_name": "One",
        "shipping_addresses": [],
        "billing_cards": [
            { "card_id": "c1", "card_number": "411111xxxxxx1111", "card_type": "VS",
              "exp_date": "0120", "primary": true },
            { "card_id": "c2", "card_number": "xxxxxxxx0001", "card_type": "PP" },
            { "card_id": "c3", "card_number": "xxxxxxxx0002", "card_type": "AP" },
            { "card_id": "c4", "card_number": "xxxxxxxx0003", "card_type": "ZZ", "exp_date": "1399" }
        ]
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_cards_without_address_fields_expired_or_of_other_types_read_back_as_such() {
    let url = fake_upstream(|_, uri| {
        let data = if uri.path() == "/platform/vault/customer" {
            json!({ "code": 0, "message": "Success", "totalRecords": 1, "totalPages": 1,
                    "data": [odd_customer()] })
        } else {
            json!({ "code": 0, "message": "Success", "data": odd_customer() })
        };
        (200, data)
    })
    .await;
    let app = GatewayApp::in_front_of_url(&url, "any-key").await;

    let data = app
        .data(
            r#"{ customer(customerId: "Odd1") {
                   cards { cardId brand expMonth expYear expDate isExpired billingAddress { zip } billingEmails }
               } }"#,
            json!({}),
        )
        .await;

    assert_eq!(
        data["customer"]["cards"],
        json!([
            { "cardId": "c1", "brand": "VISA", "expMonth": 1, "expYear": 2020, "expDate": "0120",
              "isExpired": true, "billingAddress": null, "billingEmails": [] },
            { "cardId": "c2", "brand": "PAYPAL", "expMonth": null, "expYear": null, "expDate": null,
              "isExpired": false, "billingAddress": null, "billingEmails": [] },
            { "cardId": "c3", "brand": "APPLE_PAY", "expMonth": null, "expYear": null, "expDate": null,
              "isExpired": false, "billingAddress": null, "billingEmails": [] },
            { "cardId": "c4", "brand": "UNKNOWN", "expMonth": null, "expYear": null, "expDate": "1399",
              "isExpired": false, "billingAddress": null, "billingEmails": [] }
        ])
    );
}
