//! Which card is primary: the first one, `primary: true`, set-primary, and deletion.

use serde_json::json;

use crate::helpers::{TestApp, card_id, primary_cards};
use crate::testdata::{
    DISCOVER, DISCOVER_MASKED, MASTERCARD, MASTERCARD_MASKED, VISA, VISA_MASKED, card, with,
};

#[tokio::test(flavor = "multi_thread")]
async fn adding_a_card_with_primary_true_moves_the_primary_flag() {
    let app = TestApp::shared();
    app.create_customer("PrimAdd01").await;
    app.add_card_ok("PrimAdd01", &card(VISA)).await;
    let data = app
        .add_card_ok(
            "PrimAdd01",
            &with(card(MASTERCARD), json!({ "primary": true })),
        )
        .await;
    assert_eq!(primary_cards(&data), [MASTERCARD_MASKED]);
    assert_eq!(data["primary_card_number"], MASTERCARD_MASKED);

    let data = app
        .add_card_ok(
            "PrimAdd01",
            &with(card(DISCOVER), json!({ "primary": false })),
        )
        .await;
    assert_eq!(
        primary_cards(&data),
        [MASTERCARD_MASKED],
        "primary: false leaves it alone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn set_primary_moves_the_primary_card() {
    let app = TestApp::shared();
    app.create_customer("PrimSet01").await;
    app.add_card_ok("PrimSet01", &card(VISA)).await;
    let data = app.add_card_ok("PrimSet01", &card(MASTERCARD)).await;
    assert_eq!(primary_cards(&data), [VISA_MASKED]);

    let resp = app
        .set_primary_card("PrimSet01", &card_id(&data, MASTERCARD_MASKED))
        .await;
    let data = resp.ok_data();
    assert_eq!(primary_cards(&data), [MASTERCARD_MASKED]);
    assert_eq!(data["primary_card_number"], MASTERCARD_MASKED);
    assert_eq!(app.customer_data("PrimSet01").await, data);

    let again = app
        .set_primary_card("PrimSet01", &card_id(&data, MASTERCARD_MASKED))
        .await
        .ok_data();
    assert_eq!(
        again, data,
        "setting the current primary again changes nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn set_primary_with_an_unknown_or_missing_card_id_changes_nothing() {
    let app = TestApp::shared();
    app.create_customer("PrimSetBad01").await;
    let before = app.add_card_ok("PrimSetBad01", &card(VISA)).await;
    app.set_primary_card("PrimSetBad01", &"c".repeat(32))
        .await
        .assert_error(404, 6);
    app.put("/vault/customer/PrimSetBad01/billing/primary", &json!({}))
        .await
        .assert_invalid("card_id");
    app.assert_customer_unchanged("PrimSetBad01", &before).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn updating_a_card_with_primary_true_moves_the_primary_flag() {
    let app = TestApp::shared();
    app.create_customer("PrimUpd01").await;
    app.add_card_ok("PrimUpd01", &card(VISA)).await;
    let data = app.add_card_ok("PrimUpd01", &card(MASTERCARD)).await;
    let body = json!({ "card_id": card_id(&data, MASTERCARD_MASKED), "primary": true });
    let data = app.update_card("PrimUpd01", &body).await.ok_data();
    assert_eq!(primary_cards(&data), [MASTERCARD_MASKED]);
    assert_eq!(data["primary_card_number"], MASTERCARD_MASKED);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_card_that_is_not_primary_keeps_the_primary() {
    let app = TestApp::shared();
    app.create_customer("PrimDelOther01").await;
    app.add_card_ok("PrimDelOther01", &card(VISA)).await;
    let data = app.add_card_ok("PrimDelOther01", &card(MASTERCARD)).await;
    let data = app
        .delete_card("PrimDelOther01", &card_id(&data, MASTERCARD_MASKED))
        .await
        .ok_data();
    assert_eq!(data["billing_cards"].as_array().map(Vec::len), Some(1));
    assert_eq!(primary_cards(&data), [VISA_MASKED]);
    assert_eq!(app.customer_data("PrimDelOther01").await, data);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_the_primary_card_makes_the_oldest_remaining_card_primary() {
    let app = TestApp::shared();
    app.create_customer("PrimDel01").await;
    app.add_card_ok("PrimDel01", &card(VISA)).await;
    app.add_card_ok("PrimDel01", &card(MASTERCARD)).await;
    let data = app
        .add_card_ok(
            "PrimDel01",
            &with(card(DISCOVER), json!({ "primary": true })),
        )
        .await;
    assert_eq!(primary_cards(&data), [DISCOVER_MASKED]);

    let data = app
        .delete_card("PrimDel01", &card_id(&data, DISCOVER_MASKED))
        .await
        .ok_data();
    assert_eq!(
        primary_cards(&data),
        [VISA_MASKED],
        "the oldest remaining card is promoted"
    );
    assert_eq!(data["primary_card_number"], VISA_MASKED);

    let data = app
        .delete_card("PrimDel01", &card_id(&data, VISA_MASKED))
        .await
        .ok_data();
    assert_eq!(primary_cards(&data), [MASTERCARD_MASKED]);

    let data = app
        .delete_card("PrimDel01", &card_id(&data, MASTERCARD_MASKED))
        .await
        .ok_data();
    assert_eq!(data["billing_cards"], json!([]));
    assert!(
        data.get("primary_card_number").is_none(),
        "no card, no primary_card_number"
    );
    assert_eq!(app.customer_data("PrimDel01").await, data);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_an_unknown_card_is_not_found_and_changes_nothing() {
    let app = TestApp::shared();
    app.create_customer("PrimDelBad01").await;
    let before = app.add_card_ok("PrimDelBad01", &card(VISA)).await;
    app.delete_card("PrimDelBad01", &"d".repeat(32))
        .await
        .assert_error(404, 6);
    app.put("/vault/customer/PrimDelBad01/billing/delete", &json!({}))
        .await
        .assert_invalid("card_id");
    app.assert_customer_unchanged("PrimDelBad01", &before).await;

    let id = card_id(&before, VISA_MASKED);
    app.delete_card("PrimDelBad01", &id).await.assert_ok();
    app.delete_card("PrimDelBad01", &id)
        .await
        .assert_error(404, 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_card_number_can_be_added_again() {
    let app = TestApp::shared();
    app.create_customer("PrimReAdd01").await;
    let data = app.add_card_ok("PrimReAdd01", &card(VISA)).await;
    let old_id = card_id(&data, VISA_MASKED);
    app.delete_card("PrimReAdd01", &old_id).await.assert_ok();
    let data = app.add_card_ok("PrimReAdd01", &card(VISA)).await;
    assert_eq!(primary_cards(&data), [VISA_MASKED]);
}
