//! Embedded card fields, over HTTP: transient keys (lifetime by the sandbox clock, single use,
//! blocked after declines), the tokenize endpoint's credential and origin checks, the hosted
//! page's security headers, and the tokens it makes in the vault.

use reqwest::Method;
use serde_json::{Value, json};

use crate::billing_support::{advance, billing_app};
use crate::helpers::{Auth, KEY_B, Resp, TestApp, customer_path};
use crate::testdata::{DECLINED_CARD, VISA, VISA_MASKED};

/// The vault's own origin, as its fields' page sends it.
fn origin(app: &TestApp) -> String {
    app.base_url.trim_end_matches("/platform").to_owned()
}

async fn transient_key(app: &TestApp) -> String {
    let data = app.get("/embedded").await.ok_data();
    data["transient_key"].as_str().expect("a key").to_owned()
}

async fn tokenize(app: &TestApp, origin: Option<&str>, body: &Value) -> Resp {
    let mut request = app
        .client
        .post(format!("{}/embedded/tokenize", app.at_root().base_url))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let response = request.send().await.expect("an answer");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("a body");
    assert!(
        !text.contains(VISA) && !text.contains(DECLINED_CARD),
        "{text}"
    );
    Resp {
        method: Method::POST,
        path: "/embedded/tokenize".into(),
        status,
        headers,
        json: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

fn card(key: &str, number: &str) -> Value {
    json!({"transient_key": key, "card_number": number, "exp_date": "1230", "cvv2": "123", "avs_zip": "94402"})
}

#[track_caller]
fn assert_refused(resp: &Resp, status: u16, code: &str) {
    assert_eq!(
        (resp.status, resp.json["code"].as_str()),
        (status, Some(code)),
        "{}",
        resp.text
    );
}

#[tokio::test]
async fn a_transient_key_is_the_specs_and_lives_thirty_minutes_by_the_clock() {
    let app = billing_app().await;
    let data = app.get("/embedded").await.ok_data();
    assert_eq!(data["transient_key"].as_str().map(str::len), Some(32));
    assert_eq!(data["merchant_id"], 1001);
    let made = chrono::DateTime::parse_from_str(
        data["db_timestamp"].as_str().unwrap(),
        "%Y-%m-%dT%H:%M:%S%.3f%z",
    )
    .expect("the spec's timestamp format");
    let ends = chrono::DateTime::parse_from_str(
        data["expiry_time"].as_str().unwrap(),
        "%Y-%m-%dT%H:%M:%S%.3f%z",
    )
    .expect("the spec's timestamp format");
    assert_eq!((ends - made).num_minutes(), 30);

    let key = transient_key(&app).await;
    advance(&app, "PT29M").await;
    let other = transient_key(&app).await;
    advance(&app, "PT1M").await;
    assert_refused(
        &tokenize(&app, Some(&origin(&app)), &card(&key, VISA)).await,
        401,
        "key_invalid",
    );
    let ok = tokenize(&app, Some(&origin(&app)), &card(&other, VISA)).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
}

#[tokio::test]
async fn a_key_tokenizes_one_card_and_only_from_the_vaults_own_fields() {
    let app = billing_app().await;
    let key = transient_key(&app).await;
    let own = origin(&app);
    assert_refused(
        &tokenize(&app, None, &card(&key, VISA)).await,
        403,
        "origin_refused",
    );
    assert_refused(
        &tokenize(&app, Some("https://evil.example"), &card(&key, VISA)).await,
        403,
        "origin_refused",
    );
    assert_refused(
        &tokenize(&app, Some(&own), &json!({"card_number": VISA})).await,
        401,
        "key_invalid",
    );
    assert_refused(
        &tokenize(&app, Some(&own), &card("nosuchkey", VISA)).await,
        401,
        "key_invalid",
    );
    // A field problem neither uses the key nor counts against it.
    let bad = tokenize(&app, Some(&own), &card(&key, "4111111111111112")).await;
    assert_refused(&bad, 400, "invalid_card");
    assert_eq!(bad.json["field"], "card_number");
    let ok = tokenize(&app, Some(&own), &card(&key, VISA)).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json["last4"], "1111");
    assert_eq!(ok.json["card_type"], "VS");
    assert_eq!(ok.json["card_id"].as_str().map(str::len), Some(32));
    assert_refused(
        &tokenize(&app, Some(&own), &card(&key, VISA)).await,
        401,
        "key_invalid",
    );
}

#[tokio::test]
async fn three_declines_block_a_key() {
    let app = billing_app().await;
    let key = transient_key(&app).await;
    let own = origin(&app);
    for _ in 0..3 {
        let declined = tokenize(&app, Some(&own), &card(&key, DECLINED_CARD)).await;
        assert_refused(&declined, 402, "declined");
        assert_eq!(declined.json["rcode"], "005");
    }
    assert_refused(
        &tokenize(&app, Some(&own), &card(&key, VISA)).await,
        401,
        "key_invalid",
    );
}

#[tokio::test]
async fn a_token_from_the_fields_is_single_use_and_its_merchants_only() {
    let app = billing_app().await;
    app.create_customer("EMBTOKEN").await;
    let own = origin(&app);
    let token = |key: String| {
        let app = app.clone();
        let own = own.clone();
        async move {
            let ok = tokenize(&app, Some(&own), &card(&key, VISA)).await;
            assert_eq!(ok.status, 200, "{}", ok.text);
            ok.json["card_id"].as_str().unwrap().to_owned()
        }
    };
    let first = token(transient_key(&app).await).await;
    // Another merchant's key does not see it.
    let foreign = json!({"amt_tran": 1, "card_id": first});
    let pg = app.as_key(KEY_B).at_root();
    let resp = pg
        .send(
            Method::POST,
            "/pg/sale",
            Auth::Key(KEY_B.into()),
            Some(foreign.to_string()),
        )
        .await;
    assert_eq!(
        (resp.status, resp.json["rcode"].as_str()),
        (400, Some("104")),
        "{}",
        resp.text
    );
    // It becomes the customer's card once, with verify.
    let path = format!("{}/billing", customer_path("EMBTOKEN"));
    let added = app
        .post(&path, &json!({"card_id": first, "verify": true}))
        .await
        .ok_data();
    assert!(
        added["billing_cards"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["card_id"] == first.as_str() && c["card_number"] == VISA_MASKED)
    );
    app.post(&path, &json!({"card_id": first, "verify": true}))
        .await
        .assert_invalid("card_id");
    // A customer can be created with a token card.
    let second = token(transient_key(&app).await).await;
    let created = app
        .post(
            "/vault/customer",
            &json!({"customer_id": "EMBNEW", "customer_first_name": "Ada", "customer_last_name": "Byron",
                    "billing_cards": [{"card_id": second, "verify": true}]}),
        )
        .await
        .ok_data();
    assert_eq!(created["billing_cards"][0]["card_id"], second.as_str());
}

#[tokio::test]
async fn the_hosted_fields_are_framed_only_by_allowed_origins() {
    let app = TestApp::spawn_with(|args| {
        args.embedded_origins = vec!["https://shop.example".to_owned()];
    })
    .await;
    let root = app.at_root();
    let page = root
        .send(
            Method::GET,
            "/embedded/frame?merchant_id=1001",
            Auth::Nothing,
            None,
        )
        .await;
    assert_eq!(page.status, 200);
    let csp = page.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let own = origin(&app);
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "form-action 'none'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    let ancestors = csp
        .split("frame-ancestors")
        .nth(1)
        .expect("frame-ancestors");
    assert!(
        ancestors.contains(&own) && ancestors.contains("https://shop.example"),
        "{csp}"
    );
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert!(page.text.contains("https://shop.example"));
    assert!(!page.text.contains("<script>"), "no inline script");
    assert!(
        !page.text.contains("http://") || page.text.contains(&own),
        "no third-party asset"
    );
    for asset in [
        "/embedded/frame.js",
        "/embedded/frame.css",
        "/embedded/fields.js",
    ] {
        let resp = root.send(Method::GET, asset, Auth::Nothing, None).await;
        assert_eq!(resp.status, 200, "{asset}");
        assert_eq!(resp.headers["x-content-type-options"], "nosniff");
    }
}
