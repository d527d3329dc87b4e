//! Merchants never see each other's customers; a key may act for the merchants it is given.

use serde_json::json;

use crate::helpers::{
    KEY_B, KEY_R, MERCHANT_A, MERCHANT_B, MERCHANT_R, TestApp, card_id, customer_path, enc,
    shipping_id,
};
use crate::testdata::{MASTERCARD, VISA, VISA_MASKED, address, card, customer, with};

#[tokio::test(flavor = "multi_thread")]
async fn another_merchants_key_cannot_touch_a_customer_and_it_stays_unchanged() {
    let a = TestApp::shared();
    let b = a.as_key(KEY_B);
    a.create_customer("IsoPriv01").await;
    a.add_card_ok("IsoPriv01", &card(VISA)).await;
    let before = a
        .add_address("IsoPriv01", &address("Home", "Doe"))
        .await
        .ok_data();
    let cid = card_id(&before, VISA_MASKED);
    let ship = shipping_id(&before, "Home");
    let path = customer_path("IsoPriv01");

    b.get(&path).await.assert_error(404, 6);
    b.put(&path, &json!({ "comments": "mine now" }))
        .await
        .assert_error(404, 6);
    b.get(&format!("{path}/billing")).await.assert_error(404, 6);
    b.add_card("IsoPriv01", &card(MASTERCARD))
        .await
        .assert_error(404, 6);
    b.update_card("IsoPriv01", &json!({ "card_id": cid, "billing_city": "X" }))
        .await
        .assert_error(404, 6);
    b.set_primary_card("IsoPriv01", &cid)
        .await
        .assert_error(404, 6);
    b.delete_card("IsoPriv01", &cid).await.assert_error(404, 6);
    b.get(&format!("{path}/shipping"))
        .await
        .assert_error(404, 6);
    b.add_address("IsoPriv01", &address("Evil", "Twin"))
        .await
        .assert_error(404, 6);
    b.update_address(
        "IsoPriv01",
        &with(address("Evil", "Twin"), json!({ "shipping_id": ship })),
    )
    .await
    .assert_error(404, 6);
    b.set_primary_address("IsoPriv01", ship)
        .await
        .assert_error(404, 6);
    b.delete_address("IsoPriv01", ship)
        .await
        .assert_error(404, 6);
    b.delete(&path).await.assert_error(404, 6);

    let listed = b
        .browse(&format!("filter={}", enc("customer_id,EQ,IsoPriv01")))
        .await;
    assert_eq!(listed.json["totalRecords"], 0);
    assert_eq!(listed.json["data"], json!([]));
    a.assert_customer_unchanged("IsoPriv01", &before).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_customer_id_can_exist_for_two_merchants() {
    let a = TestApp::shared();
    let b = a.as_key(KEY_B);
    let mine = a
        .post("/vault/customer", &customer("IsoSame01", "Alice", "A"))
        .await
        .ok_data();
    let theirs = b
        .post("/vault/customer", &customer("IsoSame01", "Bob", "B"))
        .await
        .ok_data();
    assert_eq!(mine["node_id"], json!(MERCHANT_A));
    assert_eq!(theirs["node_id"], json!(MERCHANT_B));
    assert_ne!(mine["rec_id"], theirs["rec_id"]);

    let a_card = a.add_card_ok("IsoSame01", &card(VISA)).await;
    b.add_card_ok("IsoSame01", &card(VISA)).await;
    b.delete_card("IsoSame01", &card_id(&a_card, VISA_MASKED))
        .await
        .assert_error(404, 6);
    b.delete(&customer_path("IsoSame01")).await.assert_ok();

    a.assert_customer_unchanged("IsoSame01", &a_card).await;
    b.assert_no_customer("IsoSame01").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_may_act_for_a_merchant_it_was_given() {
    let a = TestApp::shared();
    let r = a.as_key(KEY_R);
    let original = a.create_customer("IsoActFor01").await;
    let q = format!("?merchant_id={MERCHANT_A}");
    let path = customer_path("IsoActFor01");

    assert_eq!(r.get(&format!("{path}{q}")).await.ok_data(), original);
    let listed = r
        .browse(&format!(
            "merchant_id={MERCHANT_A}&filter={}",
            enc("customer_id,EQ,IsoActFor01")
        ))
        .await;
    assert_eq!(listed.json["totalRecords"], 1);
    let data = r
        .post(&format!("{path}/billing{q}"), &card(VISA))
        .await
        .ok_data();
    assert_eq!(data["node_id"], json!(MERCHANT_A));

    let body = with(
        customer("IsoActFor02", "On", "Behalf"),
        json!({ "merchant_id": MERCHANT_A }),
    );
    let created = r.post("/vault/customer", &body).await.ok_data();
    assert_eq!(created["node_id"], json!(MERCHANT_A));
    assert_eq!(
        a.customer_data("IsoActFor02").await,
        created,
        "merchant 1001 owns it"
    );
    r.get(&customer_path("IsoActFor02"))
        .await
        .assert_error(404, 6);
    assert_eq!(a.customer_data("IsoActFor01").await, data);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_without_merchant_id_acts_for_its_own_merchant_only() {
    let a = TestApp::shared();
    let r = a.as_key(KEY_R);
    a.create_customer("IsoOwn01").await;
    r.get(&customer_path("IsoOwn01")).await.assert_error(404, 6);
    let own = r
        .post("/vault/customer", &customer("IsoOwnR01", "Rita", "R"))
        .await
        .ok_data();
    assert_eq!(own["node_id"], json!(MERCHANT_R));
    assert_eq!(
        r.get(&format!(
            "{}?merchant_id={MERCHANT_R}",
            customer_path("IsoOwnR01")
        ))
        .await
        .ok_data(),
        own
    );
    a.assert_no_customer("IsoOwnR01").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_acting_for_a_merchant_it_was_not_given_is_forbidden() {
    let a = TestApp::shared();
    let r = a.as_key(KEY_R);
    let b = a.as_key(KEY_B);
    let before = b.create_customer("IsoForbid01").await;
    let q = format!("?merchant_id={MERCHANT_B}");
    let path = customer_path("IsoForbid01");
    r.get(&format!("{path}{q}")).await.assert_error(403, 5);
    r.get(&format!("/vault/customer{q}"))
        .await
        .assert_error(403, 5);
    r.post(&format!("{path}/billing{q}"), &card(VISA))
        .await
        .assert_error(403, 5);
    r.delete(&format!("{path}{q}")).await.assert_error(403, 5);
    let body = with(
        customer("IsoForbid02", "No", "Way"),
        json!({ "merchant_id": MERCHANT_B }),
    );
    r.post("/vault/customer", &body).await.assert_error(403, 5);
    b.assert_customer_unchanged("IsoForbid01", &before).await;
    b.assert_no_customer("IsoForbid02").await;

    a.get(&format!("{path}?merchant_id={MERCHANT_R}"))
        .await
        .assert_error(403, 5);
}
