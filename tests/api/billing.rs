//! Adding, reading and updating payment cards, and the validation of card fields.

use serde_json::{Value, json};

use crate::helpers::{TestApp, card_by_number, card_id, keys_of};
use crate::testdata::{
    AMEX, AMEX_MASKED, BAD_LUHN, DISCOVER, DISCOVER_MASKED, FUTURE_EXP, JCB, JCB_MASKED,
    MASTERCARD, MASTERCARD_MASKED, VISA, VISA_2, VISA_2_MASKED, VISA_MASKED, card,
    exp_months_from_now, full_card, luhn_complete, with, without,
};

/// A shared-server customer named `id`, and its record.
async fn customer(app: &TestApp, id: &str) -> Value {
    app.create_customer(id).await
}

/// Tries `body` as a new card for a fresh customer: asserts a 400 naming `field`
/// and that the customer is unchanged afterwards.
async fn assert_card_rejected(app: &TestApp, id: &str, body: &Value, field: &str) {
    let before = app.customer_data(id).await;
    app.add_card(id, body).await.assert_invalid(field);
    app.assert_customer_unchanged(id, &before).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn adding_a_card_returns_the_customer_with_the_masked_card() {
    let app = TestApp::shared();
    customer(&app, "CardAdd01").await;
    let resp = app.add_card("CardAdd01", &full_card(VISA, "123")).await;
    let data = resp.ok_data();
    assert_vault_snapshot!("add_card_with_every_billing_field", &resp.json);

    let card = card_by_number(&data, VISA_MASKED);
    assert_eq!(card["card_type"], "VS");
    assert_eq!(card["exp_date"], FUTURE_EXP);
    assert_eq!(card["primary"], true, "the first card is primary");
    assert_eq!(
        card["billing_email"],
        json!(["jane@example.com", "billing@example.com"])
    );
    assert!(
        card.get("verified_date").is_none(),
        "not verified unless asked"
    );
    assert!(card.get("cvv2").is_none());
    assert_eq!(data["primary_card_number"], VISA_MASKED);
    assert_eq!(app.customer_data("CardAdd01").await, data);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_minimal_card_has_only_the_fields_that_were_given() {
    let app = TestApp::shared();
    customer(&app, "CardMinimal01").await;
    let data = app.add_card_ok("CardMinimal01", &card(VISA)).await;
    assert_eq!(
        keys_of(card_by_number(&data, VISA_MASKED)),
        [
            "billing_zip",
            "card_id",
            "card_number",
            "card_type",
            "exp_date",
            "on_hold",
            "primary"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn each_brand_is_recognised_and_masked() {
    let app = TestApp::shared();
    customer(&app, "CardBrands01").await;
    let cases = [
        (VISA, VISA_MASKED, "VS"),
        (MASTERCARD, MASTERCARD_MASKED, "MC"),
        (AMEX, AMEX_MASKED, "AM"),
        (DISCOVER, DISCOVER_MASKED, "DS"),
        (JCB, JCB_MASKED, "JC"),
    ];
    for (number, masked, brand) in cases {
        let data = app.add_card_ok("CardBrands01", &card(number)).await;
        let card = card_by_number(&data, masked);
        assert_eq!(card["card_type"], brand, "{masked}");
    }
    let data = app.customer_data("CardBrands01").await;
    assert_eq!(data["billing_cards"].as_array().map(Vec::len), Some(5));
    assert_eq!(
        data["primary_card_number"], VISA_MASKED,
        "the first card stays primary"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn adding_a_card_with_a_bad_luhn_digit_is_rejected_and_changes_nothing() {
    let app = TestApp::shared();
    customer(&app, "CardLuhn01").await;
    app.add_card_ok("CardLuhn01", &card(MASTERCARD)).await;
    assert_card_rejected(&app, "CardLuhn01", &card(BAD_LUHN), "card_number").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn card_numbers_that_are_not_digits_or_have_the_wrong_length_for_their_brand_are_rejected() {
    let app = TestApp::shared();
    customer(&app, "CardShape01").await;
    let amex_with_16_digits = luhn_complete("378282246310005");
    let visa_with_15_digits = luhn_complete("41111111111111");
    for number in [
        "4111-1111-1111-1111",
        "4111 1111 1111 1111",
        "411111111111111a",
        "",
        "4",
        &amex_with_16_digits,
        &visa_with_15_digits,
        "41111111111111111111",
    ] {
        assert_card_rejected(&app, "CardShape01", &card(number), "card_number").await;
    }
    assert_card_rejected(
        &app,
        "CardShape01",
        &without(card(VISA), "card_number"),
        "card_number",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exp_date_in_a_bad_format_is_rejected_and_changes_nothing() {
    let app = TestApp::shared();
    customer(&app, "CardExpFmt01").await;
    for exp in ["12/39", "1239 ", "12390", "239", "ab39", "12-3", ""] {
        let body = with(card(VISA), json!({ "exp_date": exp }));
        assert_card_rejected(&app, "CardExpFmt01", &body, "exp_date").await;
    }
    assert_card_rejected(
        &app,
        "CardExpFmt01",
        &without(card(VISA), "exp_date"),
        "exp_date",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exp_date_with_month_13_or_00_is_rejected() {
    let app = TestApp::shared();
    customer(&app, "CardExpMonth01").await;
    for exp in ["1339", "0039"] {
        let body = with(card(VISA), json!({ "exp_date": exp }));
        assert_card_rejected(&app, "CardExpMonth01", &body, "exp_date").await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_card_is_rejected_but_one_expiring_this_month_is_accepted() {
    let app = TestApp::shared();
    customer(&app, "CardExpired01").await;
    for months_ago in [1, 13] {
        let body = with(
            card(VISA),
            json!({ "exp_date": exp_months_from_now(-months_ago) }),
        );
        assert_card_rejected(&app, "CardExpired01", &body, "exp_date").await;
    }
    let this_month = exp_months_from_now(0);
    let data = app
        .add_card_ok(
            "CardExpired01",
            &with(card(VISA), json!({ "exp_date": this_month })),
        )
        .await;
    assert_eq!(
        card_by_number(&data, VISA_MASKED)["exp_date"],
        json!(this_month)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn billing_zip_is_required() {
    let app = TestApp::shared();
    customer(&app, "CardZip01").await;
    assert_card_rejected(
        &app,
        "CardZip01",
        &without(card(VISA), "billing_zip"),
        "billing_zip",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cvv2_must_be_three_digits_or_four_for_amex() {
    let app = TestApp::shared();
    customer(&app, "CardCvv01").await;
    for (number, cvv) in [
        (VISA, "12"),
        (VISA, "1234"),
        (VISA, "12a"),
        (AMEX, "123"),
        (AMEX, "12345"),
    ] {
        let body = with(card(number), json!({ "cvv2": cvv }));
        assert_card_rejected(&app, "CardCvv01", &body, "cvv2").await;
    }
    app.add_card_ok("CardCvv01", &with(card(VISA), json!({ "cvv2": "123" })))
        .await;
    let data = app
        .add_card_ok("CardCvv01", &with(card(AMEX), json!({ "cvv2": "1234" })))
        .await;
    assert!(
        !data.to_string().contains("cvv2"),
        "the CVV is never returned"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn billing_fields_with_the_wrong_shape_are_rejected() {
    let app = TestApp::shared();
    customer(&app, "CardFields01").await;
    let cases = [
        (json!({ "billing_zip4": "123" }), "billing_zip4"),
        (json!({ "billing_zip4": "12345" }), "billing_zip4"),
        (json!({ "billing_state": "CALI" }), "billing_state"),
        (
            json!({ "billing_country_code": "84" }),
            "billing_country_code",
        ),
        (
            json!({ "billing_email": "jane@example.com" }),
            "billing_email",
        ),
    ];
    for (extra, field) in cases {
        assert_card_rejected(&app, "CardFields01", &with(card(VISA), extra), field).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_card_twice_on_one_customer_is_a_conflict_but_fine_on_another() {
    let app = TestApp::shared();
    customer(&app, "CardTwinA01").await;
    customer(&app, "CardTwinB01").await;
    app.add_card_ok("CardTwinA01", &card(VISA)).await;
    let before = app.customer_data("CardTwinA01").await;
    let again = with(
        card(VISA),
        json!({ "exp_date": "0138", "billing_zip": "10001" }),
    );
    app.add_card("CardTwinA01", &again)
        .await
        .assert_error(409, 8);
    app.assert_customer_unchanged("CardTwinA01", &before).await;

    let other = app.add_card_ok("CardTwinB01", &card(VISA)).await;
    assert_ne!(
        card_id(&other, VISA_MASKED),
        card_id(&before, VISA_MASKED),
        "each customer gets its own card_id"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn get_billing_lists_the_customers_cards() {
    let app = TestApp::shared();
    customer(&app, "CardList01").await;
    let empty = app.get_cards("CardList01").await;
    assert_eq!(empty.ok_data(), json!({ "billing_cards": [] }));

    app.add_card_ok("CardList01", &card(VISA)).await;
    let data = app.add_card_ok("CardList01", &card(MASTERCARD)).await;
    let resp = app.get_cards("CardList01").await;
    assert_eq!(
        resp.ok_data(),
        json!({ "billing_cards": data["billing_cards"] })
    );
    assert_vault_snapshot!("get_billing_cards", &resp.json);
}

#[tokio::test(flavor = "multi_thread")]
async fn updating_a_card_changes_only_the_given_fields() {
    let app = TestApp::shared();
    customer(&app, "CardUpd01").await;
    let data = app.add_card_ok("CardUpd01", &full_card(VISA, "123")).await;
    let before = card_by_number(&data, VISA_MASKED).clone();
    let id = card_id(&data, VISA_MASKED);

    let change = json!({ "card_id": id, "exp_date": "0641", "billing_city": "Oakland", "billing_email": ["new@example.com"] });
    let updated = app.update_card("CardUpd01", &change).await.ok_data();
    let mut expected = before.clone();
    expected["exp_date"] = json!("0641");
    expected["billing_city"] = json!("Oakland");
    expected["billing_email"] = json!(["new@example.com"]);
    assert_eq!(card_by_number(&updated, VISA_MASKED), &expected);
    assert_eq!(app.customer_data("CardUpd01").await, updated);
}

#[tokio::test(flavor = "multi_thread")]
async fn updating_a_card_with_bad_fields_is_rejected_and_changes_nothing() {
    let app = TestApp::shared();
    customer(&app, "CardUpdBad01").await;
    let data = app.add_card_ok("CardUpdBad01", &card(VISA)).await;
    let id = card_id(&data, VISA_MASKED);
    let cases = [
        (json!({ "exp_date": "1339" }), "exp_date"),
        (json!({ "exp_date": "12/39" }), "exp_date"),
        (json!({ "exp_date": exp_months_from_now(-1) }), "exp_date"),
        (json!({ "cvv2": "12" }), "cvv2"),
        (json!({ "billing_zip4": "1" }), "billing_zip4"),
    ];
    for (extra, field) in cases {
        let body = with(json!({ "card_id": id }), extra);
        let before = app.customer_data("CardUpdBad01").await;
        app.update_card("CardUpdBad01", &body)
            .await
            .assert_invalid(field);
        app.assert_customer_unchanged("CardUpdBad01", &before).await;
    }
    let before = app.customer_data("CardUpdBad01").await;
    app.update_card("CardUpdBad01", &json!({ "billing_city": "Nowhere" }))
        .await
        .assert_invalid("card_id");
    app.update_card(
        "CardUpdBad01",
        &json!({ "card_id": "b".repeat(32), "billing_city": "Nowhere" }),
    )
    .await
    .assert_error(404, 6);
    app.assert_customer_unchanged("CardUpdBad01", &before).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_id_of_another_customer_is_not_found() {
    let app = TestApp::shared();
    customer(&app, "CardOwnerA01").await;
    customer(&app, "CardOwnerB01").await;
    let a = app.add_card_ok("CardOwnerA01", &card(VISA)).await;
    let b = app.add_card_ok("CardOwnerB01", &card(VISA_2)).await;
    assert_eq!(card_by_number(&b, VISA_2_MASKED)["card_type"], "VS");
    let foreign = card_id(&a, VISA_MASKED);
    let before_b = app.customer_data("CardOwnerB01").await;

    app.delete_card("CardOwnerB01", &foreign)
        .await
        .assert_error(404, 6);
    app.set_primary_card("CardOwnerB01", &foreign)
        .await
        .assert_error(404, 6);
    app.update_card(
        "CardOwnerB01",
        &json!({ "card_id": foreign, "billing_city": "X" }),
    )
    .await
    .assert_error(404, 6);
    app.assert_customer_unchanged("CardOwnerB01", &before_b)
        .await;
    app.assert_customer_unchanged("CardOwnerA01", &a).await;
}
