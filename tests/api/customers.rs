//! Creating, reading, updating and deleting customers.

use serde_json::{Value, json};

use crate::helpers::{MERCHANT_A, TestApp, customer_path, keys_of, primary_cards};
use crate::testdata::{
    BAD_LUHN, MASTERCARD, MASTERCARD_MASKED, VISA, VISA_MASKED, address, card, customer,
    full_address, with, without,
};

fn full_customer(id: &str) -> Value {
    json!({
        "customer_id": id,
        "customer_first_name": "Jane",
        "customer_last_name": "Doe",
        "customer_firm_name": "Doe Widgets",
        "customer_phone": "4155550100",
        "customer_email": "jane@example.com",
        "reference_id": "ref-123",
        "comments": "prefers email",
        "developer_id": "vaultql-tests"
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn creating_a_customer_with_every_field_returns_the_full_record() {
    let app = TestApp::shared();
    let created = app
        .post("/vault/customer", &full_customer("CustFull01"))
        .await;
    let data = created.ok_data();
    assert_vault_snapshot!("create_customer_with_every_field", &created.json);
    assert_eq!(data["node_id"], json!(MERCHANT_A));
    assert!(data["rec_id"].is_i64());
    assert_eq!(
        app.customer_data("CustFull01").await,
        data,
        "GET returns what POST returned"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unset_optional_fields_are_omitted_and_the_arrays_are_always_present() {
    let app = TestApp::shared();
    let data = app.create_customer("CustMinimal01").await;
    assert_eq!(
        keys_of(&data),
        [
            "billing_cards",
            "customer_first_name",
            "customer_id",
            "customer_last_name",
            "node_id",
            "rec_id",
            "shipping_addresses"
        ]
    );
    assert_eq!(data["billing_cards"], json!([]));
    assert_eq!(data["shipping_addresses"], json!([]));
    assert_eq!(data["customer_id"], "CustMinimal01");
    assert_eq!(data["customer_first_name"], "Jane");
    assert_eq!(data["customer_last_name"], "Doe");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_firm_name_alone_is_enough_to_create_a_customer() {
    let app = TestApp::shared();
    let body = json!({ "customer_id": "CustFirmOnly01", "customer_firm_name": "Acme Corp" });
    let data = app.post("/vault/customer", &body).await.ok_data();
    assert_eq!(data["customer_firm_name"], "Acme Corp");
    assert!(data.get("customer_first_name").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_without_a_firm_name_or_both_person_names_is_rejected_and_not_stored() {
    let app = TestApp::shared();
    let bodies = [
        json!({ "customer_id": "CustNoName01" }),
        json!({ "customer_id": "CustNoName01", "customer_first_name": "Jane" }),
        json!({ "customer_id": "CustNoName01", "customer_last_name": "Doe" }),
    ];
    for body in &bodies {
        app.post("/vault/customer", body).await.assert_error(400, 2);
    }
    app.assert_no_customer("CustNoName01").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_auto_generated_customer_id_is_returned_and_can_be_fetched() {
    let app = TestApp::shared();
    let body = json!({ "auto_generate_customer_id": true, "customer_first_name": "Auto", "customer_last_name": "Gen" });
    let first = app.post("/vault/customer", &body).await.ok_data();
    let second = app.post("/vault/customer", &body).await.ok_data();
    let id = first["customer_id"]
        .as_str()
        .expect("a generated customer_id");
    assert!(
        !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric()),
        "generated id {id:?} is not 1..32 alphanumerics"
    );
    assert_ne!(
        first["customer_id"], second["customer_id"],
        "generated ids are unique"
    );
    assert_eq!(app.customer_data(id).await, first);
}

#[tokio::test(flavor = "multi_thread")]
async fn giving_both_a_customer_id_and_auto_generate_is_rejected() {
    let app = TestApp::shared();
    let body = with(
        customer("CustBothIds01", "Jane", "Doe"),
        json!({ "auto_generate_customer_id": true }),
    );
    app.post("/vault/customer", &body)
        .await
        .assert_invalid("customer_id");
    app.assert_no_customer("CustBothIds01").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn giving_neither_a_customer_id_nor_auto_generate_is_rejected() {
    let app = TestApp::shared();
    let body = json!({ "customer_first_name": "Jane", "customer_last_name": "Doe" });
    app.post("/vault/customer", &body)
        .await
        .assert_invalid("customer_id");
    let body = json!({ "auto_generate_customer_id": false, "customer_first_name": "Jane", "customer_last_name": "Doe" });
    app.post("/vault/customer", &body)
        .await
        .assert_invalid("customer_id");
}

#[tokio::test(flavor = "multi_thread")]
async fn customer_ids_must_be_up_to_32_letters_and_digits() {
    let app = TestApp::shared();
    let too_long = format!("CustLen{}", "9".repeat(26));
    assert_eq!(too_long.len(), 33);
    for bad in [
        "Cust-Dash01",
        "Cust Space01",
        "Cust_Under01",
        "",
        too_long.as_str(),
        "Cüst01",
    ] {
        let resp = app
            .post("/vault/customer", &customer(bad, "Jane", "Doe"))
            .await;
        resp.assert_invalid("customer_id");
    }
    let longest = format!("CustLen{}", "9".repeat(25));
    assert_eq!(longest.len(), 32);
    app.create_customer(&longest).await;
    app.assert_no_customer(&too_long).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn customer_ids_are_case_sensitive() {
    let app = TestApp::shared();
    app.post("/vault/customer", &customer("CaseCust01", "Upper", "Case"))
        .await
        .assert_ok();
    app.post("/vault/customer", &customer("casecust01", "Lower", "Case"))
        .await
        .assert_ok();
    assert_eq!(
        app.customer_data("CaseCust01").await["customer_first_name"],
        "Upper"
    );
    assert_eq!(
        app.customer_data("casecust01").await["customer_first_name"],
        "Lower"
    );
    app.assert_no_customer("CASECUST01").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_customer_id_is_a_conflict_and_keeps_the_original() {
    let app = TestApp::shared();
    let original = app.create_customer("CustDup01").await;
    let resp = app
        .post("/vault/customer", &customer("CustDup01", "Other", "Person"))
        .await;
    resp.assert_error(409, 8);
    app.assert_customer_unchanged("CustDup01", &original).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn updating_a_customer_changes_only_the_given_fields() {
    let app = TestApp::shared();
    let before = app
        .post("/vault/customer", &full_customer("CustUpd01"))
        .await
        .ok_data();
    let change = json!({ "customer_email": "new@example.com", "comments": "moved", "customer_phone": "4155550199" });
    let updated = app
        .put(&customer_path("CustUpd01"), &change)
        .await
        .ok_data();

    let mut expected = before.clone();
    for (key, value) in change.as_object().expect("an object") {
        expected[key] = value.clone();
    }
    assert_eq!(updated, expected);
    assert_eq!(app.customer_data("CustUpd01").await, expected);

    let names = json!({
        "customer_first_name": "Janet", "customer_last_name": "Dough", "customer_firm_name": "Dough Ltd",
        "reference_id": "ref-456", "developer_id": "dev-2"
    });
    let renamed = app.put(&customer_path("CustUpd01"), &names).await.ok_data();
    for (key, value) in names.as_object().expect("an object") {
        assert_eq!(&renamed[key], value, "{key} was updated");
    }
    assert_eq!(renamed["customer_email"], "new@example.com");
    assert_eq!(renamed["rec_id"], before["rec_id"], "rec_id is stable");
}

#[tokio::test(flavor = "multi_thread")]
async fn updating_a_customer_with_an_empty_body_changes_nothing() {
    let app = TestApp::shared();
    let before = app
        .post("/vault/customer", &full_customer("CustUpdEmpty01"))
        .await
        .ok_data();
    let after = app
        .put(&customer_path("CustUpdEmpty01"), &json!({}))
        .await
        .ok_data();
    assert_eq!(after, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn updating_a_customer_appends_cards_and_addresses() {
    let app = TestApp::shared();
    app.create_customer("CustAppend01").await;
    let body =
        json!({ "billing_cards": [card(VISA)], "shipping_addresses": [address("Ship", "One")] });
    let once = app
        .put(&customer_path("CustAppend01"), &body)
        .await
        .ok_data();
    assert_eq!(once["billing_cards"].as_array().map(Vec::len), Some(1));
    assert_eq!(once["shipping_addresses"].as_array().map(Vec::len), Some(1));
    assert_eq!(once["primary_card_number"], VISA_MASKED);

    let body = json!({ "billing_cards": [card(MASTERCARD)], "shipping_addresses": [address("Ship", "Two")] });
    let twice = app
        .put(&customer_path("CustAppend01"), &body)
        .await
        .ok_data();
    assert_eq!(twice["billing_cards"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        twice["shipping_addresses"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        primary_cards(&twice),
        [VISA_MASKED],
        "the first card stays primary"
    );
    assert_eq!(app.customer_data("CustAppend01").await, twice);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_with_one_bad_card_changes_nothing() {
    let app = TestApp::shared();
    let before = app.create_customer("CustUpdBad01").await;
    let body =
        json!({ "customer_first_name": "Changed", "billing_cards": [card(VISA), card(BAD_LUHN)] });
    app.put(&customer_path("CustUpdBad01"), &body)
        .await
        .assert_invalid("card_number");
    app.assert_customer_unchanged("CustUpdBad01", &before).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_customer_can_bring_cards_and_addresses() {
    let app = TestApp::shared();
    let body = with(
        customer("CustWithAll01", "Jane", "Doe"),
        json!({
            "billing_cards": [card(VISA), with(card(MASTERCARD), json!({ "primary": true }))],
            "shipping_addresses": [full_address("Home", "Doe"), address("Work", "Doe")]
        }),
    );
    let created = app.post("/vault/customer", &body).await;
    let data = created.ok_data();
    assert_vault_snapshot!("create_customer_with_cards_and_addresses", &created.json);
    assert_eq!(primary_cards(&data), [MASTERCARD_MASKED]);
    assert_eq!(data["primary_card_number"], MASTERCARD_MASKED);
    assert_eq!(
        crate::helpers::primary_addresses(&data),
        ["Home"],
        "the first address is primary"
    );
    assert_eq!(app.customer_data("CustWithAll01").await, data);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_bad_card_in_a_new_customer_rejects_the_whole_customer() {
    let app = TestApp::shared();
    let body = with(
        customer("CustBadCard01", "Jane", "Doe"),
        json!({ "billing_cards": [card(VISA), card(BAD_LUHN)], "shipping_addresses": [address("A", "B")] }),
    );
    app.post("/vault/customer", &body)
        .await
        .assert_invalid("card_number");
    app.assert_no_customer("CustBadCard01").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_bad_address_in_a_new_customer_rejects_the_whole_customer() {
    let app = TestApp::shared();
    let body = with(
        customer("CustBadAddr01", "Jane", "Doe"),
        json!({ "billing_cards": [card(VISA)], "shipping_addresses": [without(address("A", "B"), "shipping_last_name")] }),
    );
    app.post("/vault/customer", &body)
        .await
        .assert_invalid("shipping_last_name");
    app.assert_no_customer("CustBadAddr01").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_card_twice_in_a_new_customer_is_a_conflict() {
    let app = TestApp::shared();
    let body = with(
        customer("CustTwinCards01", "Jane", "Doe"),
        json!({ "billing_cards": [card(VISA), card(VISA)] }),
    );
    app.post("/vault/customer", &body)
        .await
        .assert_error(409, 8);
    app.assert_no_customer("CustTwinCards01").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_customer_answers_success_without_data_and_then_it_is_gone() {
    let app = TestApp::shared();
    app.create_customer("CustDel01").await;
    app.add_card_ok("CustDel01", &card(VISA)).await;
    let resp = app.delete(&customer_path("CustDel01")).await;
    resp.assert_ok();
    assert_eq!(resp.json, json!({ "code": 0, "message": "Success" }));
    app.assert_no_customer("CustDel01").await;
    app.get_cards("CustDel01").await.assert_error(404, 6);
    app.delete(&customer_path("CustDel01"))
        .await
        .assert_error(404, 6);

    let again = app.create_customer("CustDel01").await;
    assert_eq!(
        again["billing_cards"],
        json!([]),
        "a re-created customer starts empty"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn merchant_id_zero_or_the_keys_own_merchant_means_the_keys_own_merchant() {
    let app = TestApp::shared();
    let body = with(
        customer("CustMid01", "Jane", "Doe"),
        json!({ "merchant_id": 0 }),
    );
    app.post("/vault/customer?merchant_id=0", &body)
        .await
        .assert_ok();
    let body = with(
        customer("CustMid02", "Jane", "Doe"),
        json!({ "merchant_id": MERCHANT_A }),
    );
    app.post("/vault/customer", &body).await.assert_ok();

    for query in ["?merchant_id=0", &format!("?merchant_id={MERCHANT_A}")] {
        let data = app
            .get(&format!("{}{query}", customer_path("CustMid01")))
            .await
            .ok_data();
        assert_eq!(data["node_id"], json!(MERCHANT_A));
        app.get(&format!("{}/billing{query}", customer_path("CustMid02")))
            .await
            .assert_ok();
        app.get(&format!("{}/shipping{query}", customer_path("CustMid02")))
            .await
            .assert_ok();
        app.get(&format!("/vault/customer{query}"))
            .await
            .assert_ok();
    }
    let change = json!({ "comments": "via merchant_id", "merchant_id": 0 });
    let data = app
        .put(
            &format!("{}?merchant_id=0", customer_path("CustMid01")),
            &change,
        )
        .await
        .ok_data();
    assert_eq!(data["comments"], "via merchant_id");
    let path = format!("{}/billing?merchant_id=0", customer_path("CustMid01"));
    app.post(&path, &with(card(VISA), json!({ "merchant_id": 0 })))
        .await
        .assert_ok();
    app.delete(&format!("{}?merchant_id=0", customer_path("CustMid02")))
        .await
        .assert_ok();
    app.assert_no_customer("CustMid02").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn operations_on_an_unknown_customer_are_not_found() {
    let app = TestApp::shared();
    let id = "CustNobody01";
    app.get_customer(id).await.assert_error(404, 6);
    app.put(&customer_path(id), &json!({ "comments": "x" }))
        .await
        .assert_error(404, 6);
    app.delete(&customer_path(id)).await.assert_error(404, 6);
    app.get_cards(id).await.assert_error(404, 6);
    app.add_card(id, &card(VISA)).await.assert_error(404, 6);
    app.update_card(
        id,
        &json!({ "card_id": "a".repeat(32), "billing_zip": "10001" }),
    )
    .await
    .assert_error(404, 6);
    app.set_primary_card(id, &"a".repeat(32))
        .await
        .assert_error(404, 6);
    app.delete_card(id, &"a".repeat(32))
        .await
        .assert_error(404, 6);
    app.get_addresses(id).await.assert_error(404, 6);
    app.add_address(id, &address("A", "B"))
        .await
        .assert_error(404, 6);
    app.update_address(id, &with(address("A", "B"), json!({ "shipping_id": 1 })))
        .await
        .assert_error(404, 6);
    app.set_primary_address(id, 1).await.assert_error(404, 6);
    app.delete_address(id, 1).await.assert_error(404, 6);
    app.assert_no_customer(id).await;
}
