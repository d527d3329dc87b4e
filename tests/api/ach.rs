//! Bank accounts (ACH) added through the billing endpoint.

use serde_json::{Value, json};

use crate::helpers::{TestApp, card_by_number, keys_of, primary_cards};
use crate::testdata::{
    BAD_ROUTING, DDA, DDA_MASKED, ROUTING, ROUTING_2, VISA, VISA_MASKED, ach, card, with, without,
};

async fn assert_account_rejected(app: &TestApp, id: &str, body: &Value, field: &str) {
    let before = app.customer_data(id).await;
    app.add_card(id, body).await.assert_invalid(field);
    app.assert_customer_unchanged(id, &before).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn adding_a_bank_account_returns_it_masked_with_its_routing_number() {
    let app = TestApp::shared();
    app.create_customer("AchAdd01").await;
    let resp = app.add_card("AchAdd01", &ach("S", ROUTING, DDA)).await;
    let data = resp.ok_data();
    assert_vault_snapshot!("add_ach_account", &resp.json);

    let account = card_by_number(&data, DDA_MASKED);
    assert_eq!(account["type_id"], "S");
    assert_eq!(account["tr_number"], ROUTING);
    assert_eq!(account["billing_first_name"], "Jane");
    assert_eq!(account["billing_last_name"], "Doe");
    assert_eq!(account["primary"], true);
    let keys = keys_of(account);
    assert!(
        !keys.contains(&"card_type".to_owned()) && !keys.contains(&"exp_date".to_owned()),
        "{account}"
    );
    assert_eq!(data["primary_card_number"], DDA_MASKED);
    assert_eq!(app.customer_data("AchAdd01").await, data);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_account_type_defaults_to_checking_and_every_type_is_accepted() {
    let app = TestApp::shared();
    app.create_customer("AchTypes01").await;
    let data = app
        .add_card_ok(
            "AchTypes01",
            &without(ach("C", ROUTING, "10000001"), "type_id"),
        )
        .await;
    assert_eq!(card_by_number(&data, "xxxx0001")["type_id"], "C");
    for (type_id, dda) in [
        ("C", "20000002"),
        ("S", "30000003"),
        ("K", "40000004"),
        ("V", "50000005"),
    ] {
        let data = app
            .add_card_ok("AchTypes01", &ach(type_id, ROUTING_2, dda))
            .await;
        let masked = format!("xxxx{}", &dda[4..]);
        assert_eq!(card_by_number(&data, &masked)["type_id"], type_id);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn account_numbers_are_masked_to_their_last_four_digits_and_short_ones_entirely() {
    let app = TestApp::shared();
    app.create_customer("AchLen01").await;
    for (dda, masked) in [("4321", "xxxx"), ("12345678901234567", "xxxxxxxxxxxxx4567")] {
        let data = app.add_card_ok("AchLen01", &ach("C", ROUTING, dda)).await;
        assert_eq!(card_by_number(&data, masked)["tr_number"], ROUTING);
    }
    let data = app.customer_data("AchLen01").await;
    assert_eq!(data["billing_cards"].as_array().map(Vec::len), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_routing_number_with_a_bad_checksum_or_length_is_rejected() {
    let app = TestApp::shared();
    app.create_customer("AchRouting01").await;
    for routing in [BAD_ROUTING, "01100001", "0110000150", "01100001a", ""] {
        assert_account_rejected(&app, "AchRouting01", &ach("C", routing, DDA), "tr_number").await;
    }
    assert_account_rejected(
        &app,
        "AchRouting01",
        &without(ach("C", ROUTING, DDA), "tr_number"),
        "tr_number",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_number_outside_4_to_17_digits_is_rejected() {
    let app = TestApp::shared();
    app.create_customer("AchDda01").await;
    for dda in ["123", "123456789012345678", "12345678a", "1234-5678"] {
        assert_account_rejected(&app, "AchDda01", &ach("C", ROUTING, dda), "dda_number").await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_account_type_or_missing_names_are_rejected() {
    let app = TestApp::shared();
    app.create_customer("AchFields01").await;
    assert_account_rejected(&app, "AchFields01", &ach("X", ROUTING, DDA), "type_id").await;
    for field in ["billing_first_name", "billing_last_name", "billing_zip"] {
        assert_account_rejected(
            &app,
            "AchFields01",
            &without(ach("C", ROUTING, DDA), field),
            field,
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_account_twice_on_one_customer_is_a_conflict() {
    let app = TestApp::shared();
    app.create_customer("AchTwin01").await;
    let before = app.add_card_ok("AchTwin01", &ach("C", ROUTING, DDA)).await;
    app.add_card("AchTwin01", &ach("C", ROUTING, DDA))
        .await
        .assert_error(409, 8);
    app.assert_customer_unchanged("AchTwin01", &before).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_and_cards_share_one_primary() {
    let app = TestApp::shared();
    app.create_customer("AchMixed01").await;
    app.add_card_ok("AchMixed01", &ach("C", ROUTING, DDA)).await;
    let data = app
        .add_card_ok("AchMixed01", &with(card(VISA), json!({ "primary": true })))
        .await;
    assert_eq!(primary_cards(&data), [VISA_MASKED]);
    let resp = app.get_cards("AchMixed01").await;
    assert_eq!(
        resp.ok_data(),
        json!({ "billing_cards": data["billing_cards"] })
    );
}
