//! Authentication, malformed requests, unknown paths and methods, body limits: exact status,
//! exact code, the error envelope, and proof that nothing changed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{Auth, MAX_BODY_BYTES, TestApp, assert_error_envelope, customer_path};
use crate::testdata::{VISA, card, customer, with};

#[track_caller]
fn assert_unauthorized(resp: &crate::helpers::Resp) {
    assert_eq!(resp.status, 401, "{} {}", resp.path, resp.text);
    assert_error_envelope(resp);
    assert_eq!(resp.json["code"], 4);
    let challenge = resp
        .headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        challenge.starts_with("Basic"),
        "WWW-Authenticate: {challenge:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_without_a_valid_api_key_is_unauthorized_and_changes_nothing() {
    let app = TestApp::shared();
    let before = app.create_customer("ErrAuth01").await;
    let body = customer("ErrAuth02", "Jane", "Doe").to_string();
    let change = json!({ "comments": "hacked" }).to_string();
    let encoded = |s: &str| format!("Basic {}", BASE64.encode(s));
    let bad_auths = [
        Auth::Nothing,
        Auth::Key("no-such-key".into()),
        Auth::Key("KEY-A".into()),
        Auth::Header("Bearer key-a".into()),
        Auth::Header("Basic".into()),
        Auth::Header("Basic !!!not-base64!!!".into()),
        Auth::Header(encoded("key-a-but-longer:")),
        Auth::Header(encoded("no colon at all")),
        Auth::Header(format!("Basic {}", BASE64.encode([0xff, 0xfe, b':']))),
    ];
    for auth in bad_auths {
        let create = app
            .send(
                Method::POST,
                "/vault/customer",
                auth.clone(),
                Some(body.clone()),
            )
            .await;
        assert_unauthorized(&create);
        let update = app
            .send(
                Method::PUT,
                &customer_path("ErrAuth01"),
                auth.clone(),
                Some(change.clone()),
            )
            .await;
        assert_unauthorized(&update);
        for path in [
            "/vault/customer",
            "/vault/customer/ErrAuth01",
            "/vault/customer/ErrAuth01/billing",
        ] {
            assert_unauthorized(&app.send(Method::GET, path, auth.clone(), None).await);
        }
        assert_unauthorized(
            &app.send(Method::DELETE, &customer_path("ErrAuth01"), auth, None)
                .await,
        );
    }
    app.assert_customer_unchanged("ErrAuth01", &before).await;
    app.assert_no_customer("ErrAuth02").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_is_invalid_and_creates_nothing() {
    let app = TestApp::shared();
    let bodies = [
        r#"{"customer_id":"ErrJson01","customer_first_name":"Jane""#,
        r#"{"customer_id":"ErrJson01",}"#,
        "customer_id=ErrJson01",
        "",
        "null",
        "[]",
        r#""ErrJson01""#,
    ];
    for body in bodies {
        let resp = app
            .send(
                Method::POST,
                "/vault/customer",
                Auth::Key(app.key.clone()),
                Some(body.into()),
            )
            .await;
        resp.assert_error(400, 2);
    }
    app.assert_no_customer("ErrJson01").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_json_types_are_invalid_and_name_the_field() {
    let app = TestApp::shared();
    let cases = [
        (json!({ "customer_first_name": 5 }), "customer_first_name"),
        (json!({ "billing_cards": "x" }), "billing_cards"),
        (json!({ "shipping_addresses": {} }), "shipping_addresses"),
        (
            json!({ "customer_phone": 4_155_550_100_u64 }),
            "customer_phone",
        ),
        (
            json!({ "auto_generate_customer_id": "yes" }),
            "auto_generate_customer_id",
        ),
        (json!({ "merchant_id": "1001" }), "merchant_id"),
        (
            json!({ "billing_cards": [{ "card_number": 4_111_111_111_111_111_u64, "exp_date": "1239", "billing_zip": "1" }] }),
            "card_number",
        ),
        (
            json!({ "billing_cards": [{ "card_number": VISA, "exp_date": 1239, "billing_zip": "1" }] }),
            "exp_date",
        ),
    ];
    for (extra, field) in cases {
        let body = with(customer("ErrType01", "Jane", "Doe"), extra);
        app.post("/vault/customer", &body)
            .await
            .assert_invalid(field);
    }
    app.assert_no_customer("ErrType01").await;

    let before = app.create_customer("ErrType02").await;
    let updates = [
        (json!({ "customer_first_name": 5 }), "customer_first_name"),
        (json!({ "billing_cards": "x" }), "billing_cards"),
        (json!({ "comments": ["a"] }), "comments"),
    ];
    for (body, field) in updates {
        app.put(&customer_path("ErrType02"), &body)
            .await
            .assert_invalid(field);
    }
    let card_types = [
        (
            json!({ "card_number": VISA, "exp_date": "1239", "billing_zip": 94107 }),
            "billing_zip",
        ),
        (
            json!({ "card_number": VISA, "exp_date": "1239", "billing_zip": "94107", "verify": "true" }),
            "verify",
        ),
        (
            json!({ "card_number": VISA, "exp_date": "1239", "billing_zip": "94107", "primary": 1 }),
            "primary",
        ),
    ];
    for (body, field) in card_types {
        app.add_card("ErrType02", &body).await.assert_invalid(field);
    }
    app.assert_customer_unchanged("ErrType02", &before).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_path_is_not_found() {
    let app = TestApp::shared();
    for path in [
        "/vault/nothing",
        "/vault/customer/ErrPath01/billing/everything",
        "/vault/customer/ErrPath01/shipping/1/extra",
        "/nothing",
        "/vault",
    ] {
        app.get(path).await.assert_error(404, 6);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unsupported_method_is_not_allowed_and_changes_nothing() {
    let app = TestApp::shared();
    let before = app.create_customer("ErrMethod01").await;
    let body = Some(json!({}));
    let cases = [
        (Method::PATCH, "/vault/customer".to_owned()),
        (Method::PUT, "/vault/customer".to_owned()),
        (Method::DELETE, "/vault/customer".to_owned()),
        (Method::POST, customer_path("ErrMethod01")),
        (Method::PATCH, customer_path("ErrMethod01")),
        (
            Method::DELETE,
            format!("{}/billing", customer_path("ErrMethod01")),
        ),
        (
            Method::GET,
            format!("{}/billing/primary", customer_path("ErrMethod01")),
        ),
        (
            Method::POST,
            format!("{}/billing/delete", customer_path("ErrMethod01")),
        ),
        (
            Method::DELETE,
            format!("{}/shipping", customer_path("ErrMethod01")),
        ),
        (
            Method::GET,
            format!("{}/shipping/1", customer_path("ErrMethod01")),
        ),
        (
            Method::POST,
            format!("{}/shipping/primary", customer_path("ErrMethod01")),
        ),
    ];
    for (method, path) in cases {
        app.call(method, &path, body.as_ref())
            .await
            .assert_error(405, 7);
    }
    app.assert_customer_unchanged("ErrMethod01", &before).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_the_limit_is_too_large_and_creates_nothing() {
    let app = TestApp::shared();
    let huge = with(
        customer("ErrHuge01", "Jane", "Doe"),
        json!({ "comments": "x".repeat(MAX_BODY_BYTES + 1) }),
    );
    app.post("/vault/customer", &huge)
        .await
        .assert_error(413, 9);
    app.assert_no_customer("ErrHuge01").await;

    let before = app.create_customer("ErrHuge02").await;
    let huge_card = with(
        card(VISA),
        json!({ "billing_addr1": "y".repeat(2 * MAX_BODY_BYTES) }),
    );
    app.add_card("ErrHuge02", &huge_card)
        .await
        .assert_error(413, 9);
    app.assert_customer_unchanged("ErrHuge02", &before).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merchant_id_the_key_may_not_act_for_is_forbidden_and_changes_nothing() {
    let app = TestApp::shared();
    let before = app.create_customer("ErrMerchant01").await;
    let path = customer_path("ErrMerchant01");
    for merchant in ["2002", "3000", "999999"] {
        let q = format!("?merchant_id={merchant}");
        app.get(&format!("{path}{q}")).await.assert_error(403, 5);
        app.get(&format!("/vault/customer{q}"))
            .await
            .assert_error(403, 5);
        app.get(&format!("{path}/billing{q}"))
            .await
            .assert_error(403, 5);
        app.delete(&format!("{path}{q}")).await.assert_error(403, 5);
        app.put(&format!("{path}{q}"), &json!({ "comments": "x" }))
            .await
            .assert_error(403, 5);
    }
    let id: i64 = 2002;
    let body = with(
        customer("ErrMerchant02", "Jane", "Doe"),
        json!({ "merchant_id": id }),
    );
    app.post("/vault/customer", &body)
        .await
        .assert_error(403, 5);
    app.put(&path, &json!({ "comments": "x", "merchant_id": id }))
        .await
        .assert_error(403, 5);
    app.add_card(
        "ErrMerchant01",
        &with(card(VISA), json!({ "merchant_id": id })),
    )
    .await
    .assert_error(403, 5);
    app.assert_customer_unchanged("ErrMerchant01", &before)
        .await;
    app.assert_no_customer("ErrMerchant02").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_merchant_id_query_parameter_is_invalid() {
    let app = TestApp::shared();
    app.create_customer("ErrMerchant03").await;
    for bad in ["abc", "1.5", "1001x", "99999999999999999999999"] {
        let path = format!("{}?merchant_id={bad}", customer_path("ErrMerchant03"));
        app.get(&path).await.assert_invalid("merchant_id");
    }
}
