//! `verify: true` and the built-in test processor.

use serde_json::{Value, json};

use crate::helpers::{TestApp, card_by_number, card_id};
use crate::testdata::{
    CHARGE_DECLINE_CARD, DECLINED_CARD, MASTERCARD, MASTERCARD_MASKED, MISMATCH_CVV, VISA,
    VISA_MASKED, card, masked, with,
};

fn verified(body: Value) -> Value {
    with(body, json!({ "verify": true }))
}

#[track_caller]
fn assert_recently_verified(card: &Value) {
    let date = card["verified_date"].as_str().expect("a verified_date");
    assert_eq!(date.len(), 14, "YYYYMMDDhhmmss: {date}");
    // The test servers' clock stands still at `test_now`, and this merchant's is not moved.
    let now = crate::helpers::test_now()
        .format("%Y%m%d%H%M%S")
        .to_string();
    assert_eq!(
        date, now,
        "verified_date is the vault's time of the verification"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn verifying_a_good_card_records_the_verified_date() {
    let app = TestApp::shared();
    app.create_customer("VerifyOk01").await;
    let body = verified(with(card(VISA), json!({ "cvv2": "123" })));
    let data = app.add_card_ok("VerifyOk01", &body).await;
    assert_recently_verified(card_by_number(&data, VISA_MASKED));
    assert_eq!(app.customer_data("VerifyOk01").await, data);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_charge_decline_test_card_still_verifies() {
    let app = TestApp::shared();
    app.create_customer("VerifyOk0341").await;
    let data = app
        .add_card_ok("VerifyOk0341", &verified(card(CHARGE_DECLINE_CARD)))
        .await;
    assert_recently_verified(card_by_number(&data, &masked(CHARGE_DECLINE_CARD)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_verification_is_402_and_stores_nothing() {
    let app = TestApp::shared();
    let before = app.create_customer("VerifyDecl01").await;
    app.add_card("VerifyDecl01", &verified(card(DECLINED_CARD)))
        .await
        .assert_error(402, 3);
    app.assert_customer_unchanged("VerifyDecl01", &before).await;

    let data = app.add_card_ok("VerifyDecl01", &card(DECLINED_CARD)).await;
    let card = card_by_number(&data, &masked(DECLINED_CARD));
    assert!(
        card.get("verified_date").is_none(),
        "without verify the card is stored unverified"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cvv_999_is_declined_as_a_cvv_mismatch() {
    let app = TestApp::shared();
    app.create_customer("VerifyCvv01").await;
    let before = app.add_card_ok("VerifyCvv01", &card(MASTERCARD)).await;
    let body = verified(with(card(VISA), json!({ "cvv2": MISMATCH_CVV })));
    app.add_card("VerifyCvv01", &body)
        .await
        .assert_error(402, 3);
    app.assert_customer_unchanged("VerifyCvv01", &before).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_customer_whose_card_is_declined_is_not_created() {
    let app = TestApp::shared();
    let body = json!({
        "customer_id": "VerifyNewCust01", "customer_first_name": "Jane", "customer_last_name": "Doe",
        "billing_cards": [verified(card(DECLINED_CARD))]
    });
    app.post("/vault/customer", &body)
        .await
        .assert_error(402, 3);
    app.assert_no_customer("VerifyNewCust01").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verifying_on_update_sets_the_verified_date_and_a_decline_changes_nothing() {
    let app = TestApp::shared();
    app.create_customer("VerifyUpd01").await;
    let data = app.add_card_ok("VerifyUpd01", &card(MASTERCARD)).await;
    let id = card_id(&data, MASTERCARD_MASKED);

    let declined =
        json!({ "card_id": id, "verify": true, "cvv2": MISMATCH_CVV, "billing_city": "Declined" });
    app.update_card("VerifyUpd01", &declined)
        .await
        .assert_error(402, 3);
    app.assert_customer_unchanged("VerifyUpd01", &data).await;

    let data = app
        .update_card(
            "VerifyUpd01",
            &json!({ "card_id": id, "verify": true, "cvv2": "321" }),
        )
        .await
        .ok_data();
    assert_recently_verified(card_by_number(&data, MASTERCARD_MASKED));
    assert_eq!(app.customer_data("VerifyUpd01").await, data);
}
