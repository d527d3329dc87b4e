//! Shipping addresses: add, list, update, delete and the primary address.

use serde_json::{Value, json};

use crate::helpers::{TestApp, customer_path, primary_addresses, shipping_id};
use crate::testdata::{address, full_address, with, without};

async fn assert_address_rejected(app: &TestApp, id: &str, body: &Value, field: &str) {
    let before = app.customer_data(id).await;
    app.add_address(id, body).await.assert_invalid(field);
    app.assert_customer_unchanged(id, &before).await;
}

fn addresses(customer: &Value) -> &Vec<Value> {
    customer["shipping_addresses"]
        .as_array()
        .expect("shipping_addresses is an array")
}

#[tokio::test(flavor = "multi_thread")]
async fn adding_a_shipping_address_returns_the_customer_with_it() {
    let app = TestApp::shared();
    app.create_customer("ShipAdd01").await;
    let resp = app
        .add_address("ShipAdd01", &full_address("Home", "Doe"))
        .await;
    let data = resp.ok_data();
    assert_vault_snapshot!("add_shipping_address", &resp.json);

    let added = &addresses(&data)[0];
    let mut expected = full_address("Home", "Doe");
    expected["shipping_id"] = added["shipping_id"].clone();
    expected["primary"] = json!(true);
    assert!(added["shipping_id"].is_i64(), "shipping_id is an integer");
    assert_eq!(added, &expected);
    assert_eq!(app.customer_data("ShipAdd01").await, data);
}

#[tokio::test(flavor = "multi_thread")]
async fn get_shipping_lists_the_customers_addresses() {
    let app = TestApp::shared();
    app.create_customer("ShipList01").await;
    assert_eq!(
        app.get_addresses("ShipList01").await.ok_data(),
        json!({ "shipping_addresses": [] })
    );
    app.add_address("ShipList01", &address("One", "Doe"))
        .await
        .assert_ok();
    let data = app
        .add_address("ShipList01", &address("Two", "Doe"))
        .await
        .ok_data();
    let resp = app.get_addresses("ShipList01").await;
    assert_eq!(
        resp.ok_data(),
        json!({ "shipping_addresses": data["shipping_addresses"] })
    );
    assert_vault_snapshot!("get_shipping_addresses", &resp.json);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_address_without_first_or_last_name_is_rejected_and_changes_nothing() {
    let app = TestApp::shared();
    app.create_customer("ShipNames01").await;
    for field in ["shipping_first_name", "shipping_last_name"] {
        assert_address_rejected(
            &app,
            "ShipNames01",
            &without(address("A", "B"), field),
            field,
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn address_fields_with_the_wrong_shape_are_rejected() {
    let app = TestApp::shared();
    app.create_customer("ShipFields01").await;
    let cases = [
        (json!({ "shipping_zip4": "123" }), "shipping_zip4"),
        (json!({ "shipping_zip4": "12345" }), "shipping_zip4"),
        (json!({ "shipping_zip4": "12a4" }), "shipping_zip4"),
        (json!({ "shipping_state": "CALI" }), "shipping_state"),
        (
            json!({ "shipping_country_code": "84" }),
            "shipping_country_code",
        ),
        (
            json!({ "shipping_country_code": "8400" }),
            "shipping_country_code",
        ),
        (json!({ "shipping_city": 7 }), "shipping_city"),
    ];
    for (extra, field) in cases {
        assert_address_rejected(&app, "ShipFields01", &with(address("A", "B"), extra), field).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn updating_an_address_replaces_its_fields() {
    let app = TestApp::shared();
    app.create_customer("ShipUpd01").await;
    app.add_address("ShipUpd01", &address("Keep", "Doe"))
        .await
        .assert_ok();
    let data = app
        .add_address("ShipUpd01", &full_address("Move", "Doe"))
        .await
        .ok_data();
    let id = shipping_id(&data, "Move");

    let mut change = full_address("Moved", "Dough");
    change["shipping_id"] = json!(id);
    change["shipping_city"] = json!("Oakland");
    let data = app.update_address("ShipUpd01", &change).await.ok_data();
    let updated = addresses(&data)
        .iter()
        .find(|a| a["shipping_id"] == json!(id))
        .expect("the address is still there");
    let mut expected = change.clone();
    expected["primary"] = json!(false);
    assert_eq!(updated, &expected);
    assert_eq!(primary_addresses(&data), ["Keep"]);
    assert_eq!(app.customer_data("ShipUpd01").await, data);
}

#[tokio::test(flavor = "multi_thread")]
async fn updating_an_unknown_or_invalid_address_changes_nothing() {
    let app = TestApp::shared();
    app.create_customer("ShipUpdBad01").await;
    let before = app
        .add_address("ShipUpdBad01", &address("Only", "Doe"))
        .await
        .ok_data();
    let id = shipping_id(&before, "Only");

    let unknown = with(address("X", "Y"), json!({ "shipping_id": id + 100_000 }));
    app.update_address("ShipUpdBad01", &unknown)
        .await
        .assert_error(404, 6);
    let bad_zip4 = with(
        address("X", "Y"),
        json!({ "shipping_id": id, "shipping_zip4": "1" }),
    );
    app.update_address("ShipUpdBad01", &bad_zip4)
        .await
        .assert_invalid("shipping_zip4");
    app.update_address("ShipUpdBad01", &address("X", "Y"))
        .await
        .assert_invalid("shipping_id");
    let wrong_type = with(address("X", "Y"), json!({ "shipping_id": "one" }));
    app.update_address("ShipUpdBad01", &wrong_type)
        .await
        .assert_invalid("shipping_id");
    app.assert_customer_unchanged("ShipUpdBad01", &before).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn adding_an_address_with_primary_true_moves_the_primary_flag() {
    let app = TestApp::shared();
    app.create_customer("ShipPrimAdd01").await;
    let data = app
        .add_address("ShipPrimAdd01", &address("First", "Doe"))
        .await
        .ok_data();
    assert_eq!(primary_addresses(&data), ["First"]);
    let body = with(address("Second", "Doe"), json!({ "primary": true }));
    let data = app.add_address("ShipPrimAdd01", &body).await.ok_data();
    assert_eq!(primary_addresses(&data), ["Second"]);
    let data = app
        .add_address("ShipPrimAdd01", &address("Third", "Doe"))
        .await
        .ok_data();
    assert_eq!(primary_addresses(&data), ["Second"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn set_primary_moves_the_primary_address() {
    let app = TestApp::shared();
    app.create_customer("ShipPrimSet01").await;
    app.add_address("ShipPrimSet01", &address("First", "Doe"))
        .await
        .assert_ok();
    let data = app
        .add_address("ShipPrimSet01", &address("Second", "Doe"))
        .await
        .ok_data();
    let data = app
        .set_primary_address("ShipPrimSet01", shipping_id(&data, "Second"))
        .await
        .ok_data();
    assert_eq!(primary_addresses(&data), ["Second"]);
    assert_eq!(app.customer_data("ShipPrimSet01").await, data);

    app.set_primary_address("ShipPrimSet01", 987_654_321)
        .await
        .assert_error(404, 6);
    app.put(
        &format!("{}/shipping/primary", customer_path("ShipPrimSet01")),
        &json!({}),
    )
    .await
    .assert_invalid("shipping_id");
    app.assert_customer_unchanged("ShipPrimSet01", &data).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_the_primary_address_makes_the_oldest_remaining_one_primary() {
    let app = TestApp::shared();
    app.create_customer("ShipDel01").await;
    app.add_address("ShipDel01", &address("First", "Doe"))
        .await
        .assert_ok();
    app.add_address("ShipDel01", &address("Second", "Doe"))
        .await
        .assert_ok();
    let body = with(address("Third", "Doe"), json!({ "primary": true }));
    let data = app.add_address("ShipDel01", &body).await.ok_data();

    let data = app
        .delete_address("ShipDel01", shipping_id(&data, "Third"))
        .await
        .ok_data();
    assert_eq!(primary_addresses(&data), ["First"]);
    let data = app
        .delete_address("ShipDel01", shipping_id(&data, "Second"))
        .await
        .ok_data();
    assert_eq!(
        primary_addresses(&data),
        ["First"],
        "deleting another address keeps the primary"
    );
    let data = app
        .delete_address("ShipDel01", shipping_id(&data, "First"))
        .await
        .ok_data();
    assert_eq!(data["shipping_addresses"], json!([]));
    assert_eq!(app.customer_data("ShipDel01").await, data);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_an_unknown_address_is_not_found_and_a_non_numeric_id_is_invalid() {
    let app = TestApp::shared();
    app.create_customer("ShipDelBad01").await;
    let before = app
        .add_address("ShipDelBad01", &address("Only", "Doe"))
        .await
        .ok_data();
    app.delete_address("ShipDelBad01", 987_654_321)
        .await
        .assert_error(404, 6);
    for bad in ["abc", "1.5", "-x"] {
        app.delete(&format!("{}/shipping/{bad}", customer_path("ShipDelBad01")))
            .await
            .assert_error(400, 2);
    }
    app.assert_customer_unchanged("ShipDelBad01", &before).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_address_of_another_customer_is_not_found() {
    let app = TestApp::shared();
    app.create_customer("ShipOwnerA01").await;
    app.create_customer("ShipOwnerB01").await;
    let a = app
        .add_address("ShipOwnerA01", &address("Mine", "Doe"))
        .await
        .ok_data();
    let b = app
        .add_address("ShipOwnerB01", &address("Theirs", "Doe"))
        .await
        .ok_data();
    let foreign = shipping_id(&a, "Mine");

    app.delete_address("ShipOwnerB01", foreign)
        .await
        .assert_error(404, 6);
    app.set_primary_address("ShipOwnerB01", foreign)
        .await
        .assert_error(404, 6);
    let change = with(address("Stolen", "Doe"), json!({ "shipping_id": foreign }));
    app.update_address("ShipOwnerB01", &change)
        .await
        .assert_error(404, 6);
    app.assert_customer_unchanged("ShipOwnerA01", &a).await;
    app.assert_customer_unchanged("ShipOwnerB01", &b).await;
}
