//! Holds and billing: a card on Account Updater hold is declined by recurring billing without a
//! call to the processor (rcode `0AH`), the subscription takes its usual failure path with its
//! event, and a released card is charged again. A one-off charge by card id still goes through.

use serde_json::json;

use crate::account_updater_support::{Inbox, card_of, create, sale_by_card_id, summary};
use crate::billing_support::{
    advance, billing_app, clock_today, customer_with_card, off_plan, sub_id, subscribe,
    transactions,
};
use crate::helpers::TestApp;
use crate::testdata::{VISA, VISA_2};

#[tokio::test]
async fn a_held_card_is_not_charged_by_recurring_billing_until_it_is_released() {
    let app = billing_app().await;
    let inbox = Inbox::start(&app, &["subscription_payment_failure"]).await;
    let card = customer_with_card(&app, "Held01", VISA).await;
    let start = clock_today(&app).await + chrono::Days::new(1);
    let sub = sub_id(&subscribe(&app, &off_plan("Held01", start, 10.0, -1)).await);
    app.post("/aus/hold", &json!({ "card_id": card }))
        .await
        .assert_ok();
    let held = card_of(&app, "Held01", &card).await;
    assert_eq!(held["on_hold"], true);
    assert!(held.get("au_updated_at").is_none(), "{held}");

    let first = advance(&app, "P1D").await;
    assert_eq!((first.approved, first.declined), (0, 1));
    let attempts = transactions(&app, sub).await;
    assert_eq!(attempts[0]["tran_status"], "D");
    assert_eq!(attempts[0]["rcode"], "0AH");
    let failure = &inbox.wait_for(1).await[0];
    assert_eq!(failure["event"], "subscription_payment_failure");
    assert_eq!(failure["data"]["transaction"]["rcode"], "0AH");

    // A one-off charge is the merchant's own choice: a hold does not stop it.
    assert_eq!(sale_by_card_id(&app, "Held01", &card).await["rcode"], "000");

    app.post("/aus/release", &json!({ "customer_id": "Held01" }))
        .await
        .assert_ok();
    assert_eq!(card_of(&app, "Held01", &card).await["on_hold"], false);
    let retried = advance(&app, "P1D").await;
    assert_eq!((retried.approved, retried.declined), (1, 0));
    let subscription = app.get(&format!("/subscription/{sub}")).await.ok_data();
    assert_eq!(subscription["status"], "A");
}

#[tokio::test]
async fn a_card_closed_by_the_account_updater_is_held_and_left_out_of_new_requests() {
    let app = billing_app().await;
    let closed = customer_with_card(&app, "Closed01", "4000000000202038").await;
    let request_id = create(&app, std::slice::from_ref(&closed)).await;
    advance(&app, "P3D").await;
    assert_eq!(summary(&app, request_id).await["status"], "COMPLETED");
    assert_eq!(card_of(&app, "Closed01", &closed).await["on_hold"], true);
    let again = app
        .post("/aus/request/create", &json!({ "card_id": [closed] }))
        .await;
    again.assert_invalid("card_id");
}

#[tokio::test]
async fn hold_and_release_need_a_card_or_a_customer_of_the_merchant() {
    let app = TestApp::shared();
    let card = customer_with_card(&app, "HoldArgs01", VISA_2).await;
    app.post("/aus/hold", &json!({}))
        .await
        .assert_invalid("card_id");
    app.post("/aus/hold", &json!({ "card_id": "nosuchcard" }))
        .await
        .assert_error(404, 6);
    app.post("/aus/release", &json!({ "customer_id": "NoSuchCustomer" }))
        .await
        .assert_error(404, 6);
    // The card wins over the customer when both are given.
    app.post(
        "/aus/hold",
        &json!({ "card_id": card, "customer_id": "NoSuchCustomer" }),
    )
    .await
    .assert_ok();
    assert_eq!(card_of(&app, "HoldArgs01", &card).await["on_hold"], true);
}
