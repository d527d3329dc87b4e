//! Mutations, each checked through its payload and through a later query.

use serde_json::{Value, json};

use super::assert_gateway_snapshot;
use super::support::{EXP, GatewayApp, ROUTING, masked, visa};

const CUSTOMER_FIELDS: &str = "
  customerId firstName lastName firmName email phone referenceId comments developerId
  cards { cardId maskedNumber brand expDate expMonth expYear isPrimary verifiedAt
          billingFirstName billingZip: billingAddress { zip } }
  bankAccounts { cardId accountType routingNumber maskedNumber isPrimary billingFirstName }
  primaryCard { cardId }
  shippingAddresses { shippingId firstName lastName city zip isPrimary }
  primaryShippingAddress { shippingId }";

/// The customer as a fresh request sees it (null when there is none).
async fn read(app: &GatewayApp, customer_id: &str) -> Value {
    let query =
        format!("query Read($id: String!) {{ customer(customerId: $id) {{ {CUSTOMER_FIELDS} }} }}");
    app.data(&query, json!({ "id": customer_id })).await["customer"].clone()
}

/// Runs a mutation that must succeed; returns its field's payload.
async fn mutate(
    app: &GatewayApp,
    field: &str,
    input_type: &str,
    selection: &str,
    input: Value,
) -> Value {
    let query =
        format!("mutation M($input: {input_type}!) {{ {field}(input: $input) {{ {selection} }} }}");
    app.data(&query, json!({ "input": input })).await[field].clone()
}

fn card_ids(customer: &Value) -> Vec<String> {
    customer["cards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cardId"].as_str().unwrap().to_owned())
        .collect()
}

/// A customer with two cards (the first primary) and two addresses (the first primary).
async fn two_of_each(app: &GatewayApp, id: &str) -> Value {
    app.add_customer(json!({
        "customer_id": id,
        "customer_first_name": "Two",
        "customer_last_name": "Each",
        "billing_cards": [
            { "card_number": visa(1), "exp_date": EXP, "billing_zip": "94107" },
            { "card_number": visa(2), "exp_date": EXP, "billing_zip": "94107" }
        ],
        "shipping_addresses": [
            { "shipping_first_name": "Home", "shipping_last_name": "Addr", "shipping_city": "Oakland" },
            { "shipping_first_name": "Work", "shipping_last_name": "Addr", "shipping_city": "Berkeley" }
        ]
    }))
    .await;
    read(app, id).await
}

#[tokio::test(flavor = "multi_thread")]
async fn create_customer_stores_the_customer_with_its_cards_bank_accounts_and_addresses() {
    let app = GatewayApp::spawn().await;
    let input = json!({
        "customerId": "Made1",
        "firstName": "Jane",
        "lastName": "Doe",
        "firmName": "Doe Widgets",
        "email": "jane@example.test",
        "phone": "4155550100",
        "referenceId": "ref-1",
        "comments": "via GraphQL",
        "developerId": "tests",
        "cards": [
            { "cardNumber": "4111111111111111", "expDate": "0731", "cvv2": "123", "verify": true,
              "billingZip": "94107", "billingFirstName": "Jane" },
            { "cardNumber": "5555555555554444", "expDate": EXP, "billingZip": "94107", "primary": true }
        ],
        "bankAccounts": [
            { "accountType": "PERSONAL_SAVINGS", "routingNumber": ROUTING, "accountNumber": "123456789012",
              "billingFirstName": "Jane", "billingLastName": "Doe", "billingZip": "94107" }
        ],
        "shippingAddresses": [
            { "firstName": "Jane", "lastName": "Doe", "city": "San Francisco", "zip": "94105" },
            { "firstName": "Jim", "lastName": "Doe", "city": "Oakland", "primary": true }
        ]
    });
    let query = format!(
        "mutation Create($input: CreateCustomerInput!) {{
           createCustomer(input: $input) {{ customer {{ {CUSTOMER_FIELDS} }} }}
         }}"
    );

    let body = app.graphql(&query, json!({ "input": input })).await;

    assert!(body.get("errors").is_none(), "{body:#}");
    assert_gateway_snapshot("create_customer_payload", &body);
    let created = &body["data"]["createCustomer"]["customer"];
    assert_eq!(created["customerId"], "Made1");
    assert_eq!(created["email"], "jane@example.test");
    assert_eq!(created["developerId"], "tests");
    let cards = created["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 2);
    assert_eq!(cards[0]["maskedNumber"], "411111xxxxxx1111");
    assert!(
        cards[0]["verifiedAt"].is_string(),
        "verify: true verified it"
    );
    assert_eq!(cards[0]["isPrimary"], false);
    assert_eq!(
        cards[1]["isPrimary"], true,
        "the card that says primary is primary"
    );
    assert_eq!(created["primaryCard"]["cardId"], cards[1]["cardId"]);
    assert_eq!(
        created["bankAccounts"][0]["accountType"],
        "PERSONAL_SAVINGS"
    );
    assert_eq!(created["bankAccounts"][0]["maskedNumber"], "xxxxxxxx9012");
    let addresses = created["shippingAddresses"].as_array().unwrap();
    assert_eq!(addresses.len(), 2);
    assert_eq!(addresses[1]["isPrimary"], true);
    assert_eq!(
        created["primaryShippingAddress"]["shippingId"],
        addresses[1]["shippingId"]
    );

    assert_eq!(
        &read(&app, "Made1").await,
        created,
        "a later query sees what the payload said"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn create_customer_without_an_id_gets_one_from_the_vault() {
    let app = GatewayApp::spawn().await;

    let payload = mutate(
        &app,
        "createCustomer",
        "CreateCustomerInput",
        "customer { customerId firmName cards { cardId } }",
        json!({ "firmName": "Nameless Inc" }),
    )
    .await;

    let id = payload["customer"]["customerId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{id}"
    );
    assert_eq!(payload["customer"]["firmName"], "Nameless Inc");
    assert_eq!(payload["customer"]["cards"], json!([]));
    assert_eq!(read(&app, &id).await["firmName"], "Nameless Inc");
}

#[tokio::test(flavor = "multi_thread")]
async fn update_customer_changes_the_given_fields_and_an_empty_string_clears_one() {
    let app = GatewayApp::spawn().await;
    app.add_customer(json!({
        "customer_id": "Upd1", "customer_first_name": "Old", "customer_last_name": "Name",
        "customer_phone": "4155550100", "customer_email": "old@example.test", "comments": "keep"
    }))
    .await;

    let payload = mutate(
        &app,
        "updateCustomer",
        "UpdateCustomerInput",
        "customer { customerId firstName lastName email phone comments }",
        json!({ "customerId": "Upd1", "firstName": "New", "email": "new@example.test", "phone": "" }),
    )
    .await;

    let expected = json!({
        "customerId": "Upd1", "firstName": "New", "lastName": "Name",
        "email": "new@example.test", "phone": null, "comments": "keep"
    });
    assert_eq!(payload["customer"], expected);
    let later = read(&app, "Upd1").await;
    for field in ["firstName", "lastName", "email", "phone", "comments"] {
        assert_eq!(later[field], expected[field], "{field}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_customer_answers_its_id_and_the_customer_is_gone() {
    let app = GatewayApp::spawn().await;
    two_of_each(&app, "Gone1").await;

    let payload = mutate(
        &app,
        "deleteCustomer",
        "DeleteCustomerInput",
        "deletedCustomerId",
        json!({ "customerId": "Gone1" }),
    )
    .await;

    assert_eq!(payload, json!({ "deletedCustomerId": "Gone1" }));
    assert_eq!(read(&app, "Gone1").await, Value::Null);
    let page = app.data("{ customers { totalCount } }", json!({})).await;
    assert_eq!(page["customers"]["totalCount"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn add_card_answers_the_new_card() {
    let app = GatewayApp::spawn().await;
    let before = two_of_each(&app, "AddC1").await;
    let number = visa(77);

    let payload = mutate(
        &app,
        "addCard",
        "AddCardInput",
        "customer { cards { cardId } } card { cardId maskedNumber expDate isPrimary billingFirstName billingAddress { zip city } }",
        json!({ "customerId": "AddC1", "cardNumber": number, "expDate": "0830",
                "billingZip": "10001", "billingCity": "New York", "billingFirstName": "Card" }),
    )
    .await;

    let card = &payload["card"];
    assert_eq!(card["maskedNumber"], masked(&number));
    assert_eq!(card["expDate"], "0830");
    assert_eq!(card["isPrimary"], false);
    assert_eq!(card["billingFirstName"], "Card");
    assert_eq!(
        card["billingAddress"],
        json!({ "zip": "10001", "city": "New York" })
    );
    let card_id = card["cardId"].as_str().unwrap();
    assert!(
        !card_ids(&before).iter().any(|id| id == card_id),
        "a new card"
    );
    assert_eq!(payload["customer"]["cards"].as_array().unwrap().len(), 3);
    let later = read(&app, "AddC1").await;
    assert_eq!(card_ids(&later)[2], card_id);
    assert_eq!(later["cards"][2]["maskedNumber"], masked(&number));

    // A card added as primary: the payload names it, and it is the primary card.
    let payload = mutate(
        &app,
        "addCard",
        "AddCardInput",
        "card { cardId maskedNumber }",
        json!({ "customerId": "AddC1", "cardNumber": "5555555555554444", "expDate": EXP,
                "billingZip": "10001", "primary": true }),
    )
    .await;
    let later = read(&app, "AddC1").await;
    assert_eq!(payload["card"]["cardId"], later["cards"][3]["cardId"]);
    assert_eq!(later["primaryCard"]["cardId"], payload["card"]["cardId"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn add_bank_account_answers_the_new_account() {
    let app = GatewayApp::spawn().await;
    two_of_each(&app, "AddB1").await;

    let payload = mutate(
        &app,
        "addBankAccount",
        "AddBankAccountInput",
        "customer { bankAccounts { cardId } } bankAccount { cardId accountType routingNumber maskedNumber last4 isPrimary billingFirstName billingLastName }",
        json!({ "customerId": "AddB1", "accountType": "BUSINESS_CHECKING", "routingNumber": ROUTING,
                "accountNumber": "987654321", "billingFirstName": "Biz", "billingLastName": "Owner",
                "billingZip": "94107" }),
    )
    .await;

    let account = &payload["bankAccount"];
    assert_eq!(account["accountType"], "BUSINESS_CHECKING");
    assert_eq!(account["routingNumber"], ROUTING);
    assert_eq!(account["last4"], "4321");
    assert!(account["maskedNumber"].as_str().unwrap().ends_with("4321"));
    assert_eq!(account["isPrimary"], false);
    assert_eq!(account["billingFirstName"], "Biz");
    assert_eq!(
        payload["customer"]["bankAccounts"],
        json!([{ "cardId": account["cardId"] }])
    );
    let later = read(&app, "AddB1").await;
    assert_eq!(later["bankAccounts"][0]["cardId"], account["cardId"]);
    assert_eq!(later["bankAccounts"][0]["accountType"], "BUSINESS_CHECKING");
    assert_eq!(
        later["cards"].as_array().unwrap().len(),
        2,
        "cards are not bank accounts"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn update_card_changes_the_expiry_and_verify_sets_verified_at() {
    let app = GatewayApp::spawn().await;
    let before = two_of_each(&app, "UpdC1").await;
    let card_id = card_ids(&before)[1].clone();
    assert_eq!(before["cards"][1]["verifiedAt"], Value::Null);

    let payload = mutate(
        &app,
        "updateCard",
        "UpdateCardInput",
        "customer { cards { cardId expDate } } card { __typename cardId ... on Card { expDate expMonth expYear verifiedAt } }",
        json!({ "customerId": "UpdC1", "cardId": card_id, "expDate": "0832" }),
    )
    .await;

    assert_eq!(payload["card"]["__typename"], "Card");
    assert_eq!(payload["card"]["cardId"], card_id.as_str());
    assert_eq!(payload["card"]["expDate"], "0832");
    assert_eq!(payload["card"]["expMonth"], 8);
    assert_eq!(payload["card"]["expYear"], 2032);
    assert_eq!(payload["card"]["verifiedAt"], Value::Null);
    assert_eq!(read(&app, "UpdC1").await["cards"][1]["expDate"], "0832");

    let payload = mutate(
        &app,
        "updateCard",
        "UpdateCardInput",
        "card { ... on Card { verifiedAt expDate } }",
        json!({ "customerId": "UpdC1", "cardId": card_id, "verify": true, "cvv2": "321" }),
    )
    .await;
    assert!(payload["card"]["verifiedAt"].is_string(), "{payload}");
    assert_eq!(
        payload["card"]["expDate"], "0832",
        "an update without expDate keeps it"
    );
    let later = read(&app, "UpdC1").await;
    assert_eq!(
        later["cards"][1]["verifiedAt"],
        payload["card"]["verifiedAt"]
    );
    assert_eq!(
        later["cards"][0]["verifiedAt"],
        Value::Null,
        "only that card"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn remove_card_moves_primary_to_the_oldest_remaining_card() {
    let app = GatewayApp::spawn().await;
    let before = two_of_each(&app, "RemC1").await;
    let ids = card_ids(&before);
    assert_eq!(before["primaryCard"]["cardId"], ids[0].as_str());

    let payload = mutate(
        &app,
        "removeCard",
        "RemoveCardInput",
        "removedCardId customer { cards { cardId isPrimary } primaryCard { cardId } }",
        json!({ "customerId": "RemC1", "cardId": ids[0] }),
    )
    .await;

    assert_eq!(payload["removedCardId"], ids[0].as_str());
    assert_eq!(
        payload["customer"]["cards"],
        json!([{ "cardId": ids[1], "isPrimary": true }])
    );
    let later = read(&app, "RemC1").await;
    assert_eq!(card_ids(&later), [ids[1].clone()]);
    assert_eq!(later["primaryCard"]["cardId"], ids[1].as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn set_primary_card_makes_the_card_primary() {
    let app = GatewayApp::spawn().await;
    let ids = card_ids(&two_of_each(&app, "PriC1").await);

    let payload = mutate(
        &app,
        "setPrimaryCard",
        "SetPrimaryCardInput",
        "card { cardId isPrimary } customer { primaryCard { cardId } cards { isPrimary } }",
        json!({ "customerId": "PriC1", "cardId": ids[1] }),
    )
    .await;

    assert_eq!(
        payload["card"],
        json!({ "cardId": ids[1], "isPrimary": true })
    );
    assert_eq!(
        payload["customer"]["primaryCard"]["cardId"],
        ids[1].as_str()
    );
    assert_eq!(
        payload["customer"]["cards"],
        json!([{ "isPrimary": false }, { "isPrimary": true }])
    );
    let later = read(&app, "PriC1").await;
    assert_eq!(later["primaryCard"]["cardId"], ids[1].as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn add_shipping_address_answers_the_new_address() {
    let app = GatewayApp::spawn().await;
    let before = two_of_each(&app, "AddS1").await;

    let payload = mutate(
        &app,
        "addShippingAddress",
        "AddShippingAddressInput",
        "shippingAddress { shippingId firstName lastName firmName addr1 addr2 city state zip zip4 country countryCode isPrimary } customer { shippingAddresses { shippingId } }",
        json!({ "customerId": "AddS1", "firstName": "Third", "lastName": "Place", "firmName": "Depot",
                "addr1": "1 Dock Rd", "addr2": "Bay 4", "city": "Richmond", "state": "CA", "zip": "94801",
                "zip4": "1111", "country": "USA", "countryCode": "840", "primary": true }),
    )
    .await;

    let address = &payload["shippingAddress"];
    assert_eq!(address["firstName"], "Third");
    assert_eq!(address["countryCode"], "840");
    assert_eq!(address["zip4"], "1111");
    assert_eq!(address["isPrimary"], true);
    let old: Vec<&Value> = before["shippingAddresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["shippingId"])
        .collect();
    assert!(!old.contains(&&address["shippingId"]), "a new address");
    assert_eq!(
        payload["customer"]["shippingAddresses"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let later = read(&app, "AddS1").await;
    assert_eq!(
        later["shippingAddresses"][2]["shippingId"],
        address["shippingId"]
    );
    assert_eq!(
        later["primaryShippingAddress"]["shippingId"],
        address["shippingId"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn update_shipping_address_with_only_a_city_keeps_the_names() {
    let app = GatewayApp::spawn().await;
    let before = two_of_each(&app, "UpdS1").await;
    let shipping_id = before["shippingAddresses"][1]["shippingId"].clone();

    let payload = mutate(
        &app,
        "updateShippingAddress",
        "UpdateShippingAddressInput",
        "shippingAddress { shippingId firstName lastName city }",
        json!({ "customerId": "UpdS1", "shippingId": shipping_id, "city": "Alameda" }),
    )
    .await;

    assert_eq!(
        payload["shippingAddress"],
        json!({ "shippingId": shipping_id, "firstName": "Work", "lastName": "Addr", "city": "Alameda" })
    );
    let later = read(&app, "UpdS1").await;
    assert_eq!(later["shippingAddresses"][1]["city"], "Alameda");
    assert_eq!(later["shippingAddresses"][1]["firstName"], "Work");
    assert_eq!(later["shippingAddresses"][1]["lastName"], "Addr");
    assert_eq!(
        later["shippingAddresses"][0], before["shippingAddresses"][0],
        "the other is untouched"
    );

    // Only a last name: the first name is kept.
    let payload = mutate(
        &app,
        "updateShippingAddress",
        "UpdateShippingAddressInput",
        "shippingAddress { firstName lastName city }",
        json!({ "customerId": "UpdS1", "shippingId": shipping_id, "lastName": "Office" }),
    )
    .await;
    assert_eq!(
        payload["shippingAddress"],
        json!({ "firstName": "Work", "lastName": "Office", "city": "Alameda" })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn remove_shipping_address_moves_primary_to_the_oldest_remaining_address() {
    let app = GatewayApp::spawn().await;
    let before = two_of_each(&app, "RemS1").await;
    let first = before["shippingAddresses"][0]["shippingId"].clone();
    let second = before["shippingAddresses"][1]["shippingId"].clone();

    let payload = mutate(
        &app,
        "removeShippingAddress",
        "RemoveShippingAddressInput",
        "removedShippingId customer { shippingAddresses { shippingId isPrimary } }",
        json!({ "customerId": "RemS1", "shippingId": first }),
    )
    .await;

    assert_eq!(payload["removedShippingId"], first);
    assert_eq!(
        payload["customer"]["shippingAddresses"],
        json!([{ "shippingId": second, "isPrimary": true }])
    );
    let later = read(&app, "RemS1").await;
    assert_eq!(later["shippingAddresses"].as_array().unwrap().len(), 1);
    assert_eq!(later["primaryShippingAddress"]["shippingId"], second);
}

#[tokio::test(flavor = "multi_thread")]
async fn set_primary_shipping_address_makes_the_address_primary() {
    let app = GatewayApp::spawn().await;
    let before = two_of_each(&app, "PriS1").await;
    let second = before["shippingAddresses"][1]["shippingId"].clone();

    let payload = mutate(
        &app,
        "setPrimaryShippingAddress",
        "SetPrimaryShippingAddressInput",
        "shippingAddress { shippingId isPrimary } customer { primaryShippingAddress { shippingId } }",
        json!({ "customerId": "PriS1", "shippingId": second }),
    )
    .await;

    assert_eq!(
        payload["shippingAddress"],
        json!({ "shippingId": second, "isPrimary": true })
    );
    assert_eq!(
        payload["customer"]["primaryShippingAddress"]["shippingId"],
        second
    );
    let later = read(&app, "PriS1").await;
    assert_eq!(later["primaryShippingAddress"]["shippingId"], second);
    assert_eq!(later["shippingAddresses"][0]["isPrimary"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn mutation_fields_run_one_after_another() {
    let app = GatewayApp::spawn().await;
    app.add_customer(json!({ "customer_id": "Serial1", "customer_firm_name": "Serial" }))
        .await;

    let data = app
        .data(
            r#"mutation {
              a: addCard(input: { customerId: "Serial1", cardNumber: "4111111111111111",
                                  expDate: "1239", billingZip: "94107" }) {
                customer { cards { cardId } }
              }
              b: addCard(input: { customerId: "Serial1", cardNumber: "5555555555554444",
                                  expDate: "1239", billingZip: "94107" }) {
                customer { cards { cardId } }
              }
              c: updateCustomer(input: { customerId: "Serial1", email: "s@example.test" }) {
                customer { email cards { brand } }
              }
            }"#,
            json!({}),
        )
        .await;

    assert_eq!(data["a"]["customer"]["cards"].as_array().unwrap().len(), 1);
    assert_eq!(data["b"]["customer"]["cards"].as_array().unwrap().len(), 2);
    assert_eq!(
        data["c"]["customer"],
        json!({ "email": "s@example.test", "cards": [{ "brand": "VISA" }, { "brand": "MASTERCARD" }] })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_customer_is_gone_for_later_fields_of_the_same_mutation() {
    let app = GatewayApp::spawn().await;
    two_of_each(&app, "Del2").await;

    let body = app
        .graphql(
            r#"mutation {
              before: updateCustomer(input: { customerId: "Del2", comments: "bye" }) {
                customer { comments }
              }
              gone: deleteCustomer(input: { customerId: "Del2" }) { deletedCustomerId }
              again: addShippingAddress(input: { customerId: "Del2", firstName: "X", lastName: "Y" }) {
                customer { customerId }
              }
            }"#,
            json!({}),
        )
        .await;

    // The fields before the failing one ran, and their results are kept.
    assert_eq!(
        body["data"]["before"],
        json!({ "customer": { "comments": "bye" } }),
        "{body:#}"
    );
    assert_eq!(
        body["data"]["gone"],
        json!({ "deletedCustomerId": "Del2" }),
        "{body:#}"
    );
    assert_eq!(body["data"]["again"], Value::Null, "{body:#}");
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{body:#}");
    assert_eq!(errors[0]["path"], json!(["again"]));
    assert_eq!(errors[0]["extensions"]["code"], "NOT_FOUND");
    assert_eq!(read(&app, "Del2").await, Value::Null);
}
