//! The Payment Gateway (`/pg`) and the transaction report, over HTTP: every operation's success
//! path, the lifecycle table, declines by test card, tokens, duplicates, and that a refused
//! request changes nothing. Every `/pg` answer is checked against the spec's schema for its
//! status and scanned for card numbers.

use reqwest::Method;
use serde_json::{Value, json};

use futures_util::future::join_all;

use crate::billing_support::{
    VAULT_EXTENSIONS, advance, billing_app, clock_today, customer_with_card, off_plan, sub_id,
    subscribe,
};
use crate::contract;
use crate::helpers::{Auth, KEY_B, Resp, TestApp, customer_path};
use crate::testdata::{DECLINED_CARD, ROUTING, VISA, VISA_MASKED};

const PARTIAL_CARD: &str = "4000000000000093";
const TIMEOUT_CARD: &str = "4000000000000259";

/// The spec's response schema for a `/pg` answer of this operation and status.
fn pg_schema(path: &str, status: u16) -> &'static str {
    let operation = path
        .trim_start_matches("/pg/")
        .split('/')
        .next()
        .unwrap_or_default();
    match (status, operation) {
        (200, "sale" | "auth" | "credit" | "force") => "PGApiTransactionResponse",
        (200, "verify") => "PGApiVerifyResponse",
        (200, "tokenize") => "PGApiTokenizeResponse",
        (200, "capture") => "PGApiCaptureResponse",
        (200, "void") => "PGApiVoidResponse",
        (200, "refund") => "PGApiRefundResponse",
        (200, "recharge") => "PGApiRechargeResponse",
        (200, "expireToken") => "PGApiExpireTokenResponse",
        (200, "batchClose") => "PGApiBatchCloseResponse",
        (400, _) => "PGApiBadResponse",
        (401, _) => "PGApiUnauthResponse",
        (402, _) => "PGApiDeclineResponse",
        (500, _) => "PGApiInternalErrorResponse",
        (509, _) => "PGApiTimeoutResponse",
        // A state conflict: the spec has no 409; its body is the common one.
        _ => "PGApiResponse",
    }
}

/// Checks a `/pg` answer: its schema, a 32-character `pg_id`, a 3-character `rcode`, no full
/// card number.
#[track_caller]
pub fn check_pg(resp: &Resp) {
    let schema = pg_schema(&resp.path, resp.status);
    contract::assert_conforms(&resp.json, schema, &format!("{} {}", resp.path, resp.text));
    assert_eq!(
        resp.json["pg_id"].as_str().map(str::len),
        Some(32),
        "{}",
        resp.text
    );
    assert_eq!(
        resp.json["rcode"].as_str().map(str::len),
        Some(3),
        "{}",
        resp.text
    );
    for number in [VISA, DECLINED_CARD, PARTIAL_CARD, TIMEOUT_CARD] {
        assert!(
            !resp.text.contains(number),
            "a card number leaked: {}",
            resp.text
        );
    }
}

async fn pg(app: &TestApp, path: &str, body: &Value) -> Resp {
    let resp = app
        .at_root()
        .send(
            Method::POST,
            path,
            Auth::Key(app.key.clone()),
            Some(body.to_string()),
        )
        .await;
    check_pg(&resp);
    resp
}

#[track_caller]
fn assert_rcode(resp: &Resp, status: u16, rcode: &str) {
    assert_eq!(
        (resp.status, resp.json["rcode"].as_str()),
        (status, Some(rcode)),
        "{} -> {}",
        resp.path,
        resp.text
    );
}

fn pg_id(resp: &Resp) -> String {
    resp.json["pg_id"].as_str().expect("a pg_id").to_owned()
}

fn card(amount: impl Into<Value>) -> Value {
    let amount: Value = amount.into();
    json!({"amt_tran": amount, "card_number": VISA, "exp_date": "1230", "cvv2": "123"})
}

/// The transaction as the report shows it.
async fn report(app: &TestApp, pg_id: &str) -> Value {
    let resp = app
        .get(&format!("/reporting/transactions/bypgid/{pg_id}"))
        .await;
    resp.ok_data()
}

async fn browse(app: &TestApp, query: &str) -> Value {
    let resp = app.get(&format!("/reporting/transactions?{query}")).await;
    resp.assert_ok();
    let problems: Vec<String> = contract::violations(&resp.json, "TransactionListResponse")
        .into_iter()
        .filter(|v| !VAULT_EXTENSIONS.iter().any(|ext| v.ends_with(ext)))
        .collect();
    assert!(problems.is_empty(), "{problems:?}: {}", resp.text);
    resp.json
}

#[tokio::test]
async fn a_sale_is_captured_reported_and_voided_once() {
    let app = billing_app().await;
    let sale = pg(&app, "/pg/sale", &card(10.50)).await;
    assert_rcode(&sale, 200, "000");
    assert_eq!(sale.json["auth_code"].as_str().map(str::len), Some(6));
    assert_eq!(sale.json["auth_cvv2_result"], "M");
    let id = pg_id(&sale);
    let row = report(&app, &id).await;
    assert_eq!(row["tran_status"], "C");
    assert_eq!(row["amt_tran"], json!(10.5));
    assert_eq!(row["card_number"], VISA_MASKED);
    assert_eq!(row["tran_type"], "sale");
    assert_rcode(
        &pg(&app, &format!("/pg/void/{id}"), &json!({})).await,
        200,
        "000",
    );
    assert_eq!(report(&app, &id).await["tran_status"], "V");
    assert_rcode(
        &pg(&app, &format!("/pg/void/{id}"), &json!({})).await,
        409,
        "111",
    );
    assert_rcode(
        &pg(&app, &format!("/pg/refund/{id}"), &json!({"amt_tran": 1})).await,
        409,
        "112",
    );
}

#[tokio::test]
async fn the_auth_lifecycle_is_enforced() {
    let app = billing_app().await;
    let auth = pg(&app, "/pg/auth", &card(100.00)).await;
    assert_rcode(&auth, 200, "000");
    let id = pg_id(&auth);
    assert_eq!(report(&app, &id).await["tran_status"], "A");
    // More than authorized, then a refund before capture: refused, nothing changes.
    let over = pg(
        &app,
        &format!("/pg/capture/{id}"),
        &json!({"amt_tran": 100.01}),
    )
    .await;
    assert_rcode(&over, 409, "110");
    assert_rcode(
        &pg(&app, &format!("/pg/refund/{id}"), &json!({"amt_tran": 1})).await,
        409,
        "112",
    );
    assert_eq!(report(&app, &id).await["tran_status"], "A");
    let capture = pg(&app, &format!("/pg/capture/{id}"), &json!({"amt_tran": 80})).await;
    assert_rcode(&capture, 200, "000");
    assert_eq!(pg_id(&capture), id, "a capture completes the auth in place");
    assert_rcode(
        &pg(&app, &format!("/pg/capture/{id}"), &json!({"amt_tran": 1})).await,
        409,
        "110",
    );
    // Not settled yet: refund refused (void it instead).
    assert_rcode(
        &pg(&app, &format!("/pg/refund/{id}"), &json!({"amt_tran": 1})).await,
        409,
        "112",
    );
    let closed = pg(&app, "/pg/batchClose", &json!({})).await;
    assert_rcode(&closed, 200, "000");
    let row = report(&app, &id).await;
    assert_eq!(
        (row["tran_status"].clone(), row["amt_captured"].clone()),
        (json!("S"), json!(80.0))
    );
    assert!(row["batch_date"].is_string());
    assert_rcode(
        &pg(&app, &format!("/pg/void/{id}"), &json!({})).await,
        409,
        "111",
    );
    let first = pg(&app, &format!("/pg/refund/{id}"), &json!({"amt_tran": 30})).await;
    assert_rcode(&first, 200, "000");
    assert_ne!(pg_id(&first), id);
    assert_rcode(
        &pg(
            &app,
            &format!("/pg/refund/{id}"),
            &json!({"amt_tran": 50.01}),
        )
        .await,
        409,
        "112",
    );
    assert_rcode(
        &pg(&app, &format!("/pg/refund/{id}"), &json!({"amt_tran": 50})).await,
        200,
        "000",
    );
    assert_rcode(
        &pg(
            &app,
            &format!("/pg/refund/{id}"),
            &json!({"amt_tran": 0.01}),
        )
        .await,
        409,
        "112",
    );
    assert_eq!(report(&app, &id).await["amt_refunded"], json!(80.0));
    // Voiding the first refund (its batch is open) gives its amount back.
    assert_rcode(
        &pg(&app, &format!("/pg/void/{}", pg_id(&first)), &json!({})).await,
        200,
        "000",
    );
    assert_eq!(report(&app, &id).await["amt_refunded"], json!(50.0));
    let refunds = browse(
        &app,
        &format!("filter=pg_id_orig,EQ,{id}&filter=tran_status,IN,C|S"),
    )
    .await;
    assert_eq!(refunds["totalRecords"], 1);
    // A recharge on a card number that was never stored is refused; recharge of a stored one works.
    assert_rcode(
        &pg(&app, &format!("/pg/recharge/{id}"), &json!({"amt_tran": 5})).await,
        409,
        "113",
    );
}

#[tokio::test]
async fn batches_close_at_21_and_auths_expire_after_28_days_by_the_clock() {
    let app = billing_app().await;
    // The test clock stands at noon.
    let sale = pg_id(&pg(&app, "/pg/sale", &card(5)).await);
    let auth = pg_id(&pg(&app, "/pg/auth", &card(5)).await);
    advance(&app, "PT8H59M").await;
    assert_eq!(report(&app, &sale).await["tran_status"], "C");
    advance(&app, "PT1M").await;
    assert_eq!(report(&app, &sale).await["tran_status"], "S");
    assert_eq!(report(&app, &auth).await["tran_status"], "A");
    advance(&app, "P27D").await;
    assert_eq!(report(&app, &auth).await["tran_status"], "A");
    advance(&app, "PT15H").await;
    assert_eq!(
        report(&app, &auth).await["tran_status"],
        "v",
        "voided by the system"
    );
    assert_rcode(
        &pg(
            &app,
            &format!("/pg/capture/{auth}"),
            &json!({"amt_tran": 5}),
        )
        .await,
        409,
        "110",
    );
}

#[tokio::test]
async fn test_cards_decline_with_their_codes_and_only_the_common_fields() {
    let app = TestApp::shared();
    for (number, status, rcode) in [
        (DECLINED_CARD, 402, "005"),
        ("4000000000000341", 402, "051"),
        ("4000000000000044", 402, "004"),
        ("4000000000000069", 402, "054"),
        (PARTIAL_CARD, 402, "051"),
        (TIMEOUT_CARD, 509, "998"),
    ] {
        let resp = pg(
            &app,
            "/pg/sale",
            &json!({"amt_tran": 10, "card_number": number, "exp_date": "1230"}),
        )
        .await;
        assert_rcode(&resp, status, rcode);
        let row = report(&app, &pg_id(&resp)).await;
        let expected = if rcode == "998" { "F" } else { "D" };
        assert_eq!(row["tran_status"], expected, "{number}");
        assert_eq!(
            row["amt_tran"],
            json!(10.0),
            "a decline is reported for its amount"
        );
    }
    let cvv = pg(
        &app,
        "/pg/sale",
        &json!({"amt_tran": 10, "card_number": VISA, "exp_date": "1230", "cvv2": "999"}),
    )
    .await;
    assert_rcode(&cvv, 402, "0N7");
    let expired = pg(
        &app,
        "/pg/sale",
        &json!({"amt_tran": 10, "card_number": VISA, "exp_date": "0120"}),
    )
    .await;
    assert_rcode(&expired, 402, "054");
    let partial = pg(
        &app,
        "/pg/auth",
        &json!({"amt_tran": 10.01, "card_number": PARTIAL_CARD, "exp_date": "1230", "partial_auth": true}),
    )
    .await;
    assert_rcode(&partial, 200, "010");
    assert_eq!(partial.json["amt_tran"], json!(5.0));
    let avs = pg(
        &app,
        "/pg/verify",
        &json!({"card_number": VISA, "exp_date": "1230", "avs_zip": "99999"}),
    )
    .await;
    assert_rcode(&avs, 200, "000");
    assert_eq!(avs.json["auth_avs_result"], "N");
    assert_eq!(avs.json["card_number"], VISA_MASKED);
}

#[tokio::test]
async fn bad_requests_are_refused_in_the_pg_body_and_change_nothing() {
    let app = billing_app().await;
    let before = browse(&app, "count=1").await["totalRecords"].clone();
    let root = app.at_root();
    let cases: Vec<(Auth, &str, String, u16, &str)> = vec![
        (Auth::Nothing, "/pg/sale", card(1).to_string(), 401, "101"),
        (
            Auth::Key("nope".into()),
            "/pg/sale",
            card(1).to_string(),
            401,
            "101",
        ),
        (
            Auth::Key(app.key.clone()),
            "/pg/sale",
            "{\"amt_tran\":".into(),
            400,
            "100",
        ),
        (
            Auth::Key(app.key.clone()),
            "/pg/sale",
            format!("{{\"card_number\":{VISA}}}"),
            400,
            "100",
        ),
        (
            Auth::Key(app.key.clone()),
            "/pg/sale",
            json!({"card_number": VISA, "exp_date": "1230"}).to_string(),
            400,
            "103",
        ),
        (
            Auth::Key(app.key.clone()),
            "/pg/sale",
            json!({"amt_tran": -1, "card_number": VISA, "exp_date": "1230"}).to_string(),
            400,
            "103",
        ),
        (
            Auth::Key(app.key.clone()),
            "/pg/sale",
            json!({"amt_tran": 1.001, "card_number": VISA, "exp_date": "1230"}).to_string(),
            400,
            "103",
        ),
        (
            Auth::Key(app.key.clone()),
            "/pg/sale",
            json!({"amt_tran": 1, "card_number": "4111111111111112", "exp_date": "1230"})
                .to_string(),
            400,
            "103",
        ),
        (
            Auth::Key(app.key.clone()),
            "/pg/sale",
            json!({"amt_tran": 1}).to_string(),
            400,
            "103",
        ),
        (
            Auth::Key(app.key.clone()),
            "/pg/sale",
            json!({"amt_tran": 1, "card_id": "nosuchcard"}).to_string(),
            400,
            "104",
        ),
        (
            Auth::Key(app.key.clone()),
            "/pg/sale",
            json!({"amt_tran": 1, "customer_id": "NOSUCHCUSTOMER"}).to_string(),
            400,
            "104",
        ),
        (
            Auth::Key(app.key.clone()),
            "/pg/sale",
            json!({"amt_tran": 1, "merchant_id": 2002, "card_number": VISA, "exp_date": "1230"})
                .to_string(),
            401,
            "101",
        ),
        (
            Auth::Key(app.key.clone()),
            "/pg/capture/nosuchtransaction",
            json!({"amt_tran": 1}).to_string(),
            400,
            "102",
        ),
        (
            Auth::Key(app.key.clone()),
            "/pg/nosuchoperation",
            "{}".into(),
            400,
            "103",
        ),
    ];
    for (auth, path, body, status, rcode) in cases {
        let resp = root
            .send(Method::POST, path, auth, Some(body.clone()))
            .await;
        check_pg(&resp);
        assert_rcode(&resp, status, rcode);
        assert!(!resp.text.contains(VISA), "{}", resp.text);
    }
    // Another merchant's transaction does not exist for this key.
    let sale = pg_id(&pg(&app, "/pg/sale", &card(1)).await);
    let other = app.as_key(KEY_B);
    assert_rcode(
        &pg(&other, &format!("/pg/void/{sale}"), &json!({})).await,
        400,
        "102",
    );
    other
        .get(&format!("/reporting/transactions/bypgid/{sale}"))
        .await
        .assert_error(404, 6);
    assert_eq!(report(&app, &sale).await["tran_status"], "C");
    let after = browse(&app, "count=1").await["totalRecords"].clone();
    assert_eq!(after.as_i64(), before.as_i64().map(|n| n + 1));
}

#[tokio::test]
async fn single_use_tokens_expire_after_ten_minutes_or_their_first_use() {
    let app = billing_app().await;
    let token =
        |single_use| json!({"card_number": VISA, "exp_date": "1230", "single_use": single_use});
    let first = pg(&app, "/pg/tokenize", &token(true)).await;
    assert_rcode(&first, 200, "000");
    assert_eq!(first.json["card_number"], VISA_MASKED);
    let card_id = first.json["card_id"].as_str().unwrap().to_owned();
    let use_it = json!({"amt_tran": 2, "card_id": card_id});
    assert_rcode(&pg(&app, "/pg/sale", &use_it).await, 200, "000");
    assert_rcode(&pg(&app, "/pg/sale", &use_it).await, 400, "105");
    // Another merchant cannot use a token.
    let second = pg(&app, "/pg/tokenize", &token(true)).await;
    let second_id = second.json["card_id"].as_str().unwrap().to_owned();
    let foreign = json!({"amt_tran": 2, "card_id": second_id});
    assert_rcode(
        &pg(&app.as_key(KEY_B), "/pg/sale", &foreign).await,
        400,
        "104",
    );
    advance(&app, "PT10M").await;
    assert_rcode(&pg(&app, "/pg/sale", &foreign).await, 400, "105");
    // A permanent token stays; expireToken removes it.
    let permanent = pg(&app, "/pg/tokenize", &token(false)).await;
    let permanent_id = permanent.json["card_id"].as_str().unwrap().to_owned();
    let charge = json!({"amt_tran": 2, "card_id": permanent_id});
    assert_rcode(&pg(&app, "/pg/sale", &charge).await, 200, "000");
    assert_rcode(&pg(&app, "/pg/sale", &charge).await, 200, "000");
    assert_rcode(
        &pg(&app, "/pg/expireToken", &json!({"card_id": permanent_id})).await,
        200,
        "000",
    );
    assert_rcode(&pg(&app, "/pg/sale", &charge).await, 400, "104");
}

#[tokio::test]
async fn an_auth_with_tokenize_creates_the_vault_customer_and_recharges_its_card() {
    let app = billing_app().await;
    let auth = pg(
        &app,
        "/pg/auth",
        &json!({
            "amt_tran": 1, "card_number": VISA, "exp_date": "1230", "avs_zip": "94402",
            "cardholder_name": "Ada Lovelace", "tokenize": true, "customer_id": "PGADA",
            "customer": {"customer_first_name": "Ada", "customer_last_name": "Lovelace",
                         "customer_email": "ada@example.com"}
        }),
    )
    .await;
    assert_rcode(&auth, 200, "000");
    let card_id = auth.json["card_id"].as_str().expect("card_id").to_owned();
    let customer = app.customer_data("PGADA").await;
    assert_eq!(customer["billing_cards"][0]["card_id"], card_id.as_str());
    assert_eq!(customer["billing_cards"][0]["primary"], true);
    assert_eq!(customer["customer_email"], "ada@example.com");
    // The customer alone pays with its primary card; the report links both.
    let sale = pg(
        &app,
        "/pg/sale",
        &json!({"amt_tran": 3, "customer_id": "PGADA"}),
    )
    .await;
    assert_rcode(&sale, 200, "000");
    let row = report(&app, &pg_id(&sale)).await;
    assert_eq!(
        (row["customer_id"].clone(), row["card_id"].clone()),
        (json!("PGADA"), json!(card_id))
    );
    let recharge = pg(
        &app,
        &format!("/pg/recharge/{}", pg_id(&sale)),
        &json!({"amt_tran": 4}),
    )
    .await;
    assert_rcode(&recharge, 200, "000");
    let row = report(&app, &pg_id(&recharge)).await;
    assert_eq!(row["tran_type"], "recharge");
    assert_eq!(row["pg_id_orig"], pg_id(&sale).as_str());
    // Storing a card on a customer needs its billing zip (`avs_zip`): refused, nothing charged.
    let before = browse(&app, "count=1").await["totalRecords"].clone();
    let no_zip = json!({"amt_tran": 1, "card_number": "5555555555554444", "exp_date": "1230",
                        "tokenize": true, "customer_id": "PGADA"});
    let refused = pg(&app, "/pg/sale", &no_zip).await;
    assert_rcode(&refused, 400, "103");
    assert!(
        refused.json["rmsg"]
            .as_str()
            .unwrap_or_default()
            .contains("avs_zip")
    );
    assert_eq!(browse(&app, "count=1").await["totalRecords"], before);
    assert_eq!(
        app.customer_data("PGADA").await["billing_cards"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // A card_id of another customer is refused.
    app.create_customer("PGOTHER").await;
    let wrong = json!({"amt_tran": 1, "customer_id": "PGOTHER", "card_id": card_id});
    assert_rcode(&pg(&app, "/pg/sale", &wrong).await, 400, "104");
    // Reporting filters by customers with IN.
    let page = browse(
        &app,
        "filter=customer_id,IN,PGADA|PGOTHER&order_on=tran_time&order_by=asc",
    )
    .await;
    assert_eq!(page["totalRecords"], 3);
}

#[tokio::test]
async fn a_single_use_token_becomes_a_customer_card_with_verify() {
    let app = billing_app().await;
    app.create_customer("PGTOKEN").await;
    let token = pg(
        &app,
        "/pg/tokenize",
        &json!({"card_number": VISA, "exp_date": "1230", "single_use": true, "avs_zip": "94402"}),
    )
    .await;
    let card_id = token.json["card_id"].as_str().unwrap().to_owned();
    let path = format!("{}/billing", customer_path("PGTOKEN"));
    app.post(&path, &json!({"card_id": card_id}))
        .await
        .assert_invalid("verify");
    let added = app
        .post(&path, &json!({"card_id": card_id, "verify": true}))
        .await;
    let customer = added.ok_data();
    let cards = customer["billing_cards"].as_array().unwrap();
    assert!(
        cards
            .iter()
            .any(|c| c["card_id"] == card_id.as_str() && c["card_number"] == VISA_MASKED)
    );
    // The token is gone; the card is permanent.
    assert_rcode(
        &pg(
            &app,
            "/pg/sale",
            &json!({"amt_tran": 1, "card_id": card_id}),
        )
        .await,
        200,
        "000",
    );
    assert_rcode(
        &pg(
            &app,
            "/pg/sale",
            &json!({"amt_tran": 1, "card_id": card_id}),
        )
        .await,
        200,
        "000",
    );
    app.post(&path, &json!({"card_id": card_id, "verify": true}))
        .await
        .assert_invalid("card_id");
}

#[tokio::test]
async fn a_duplicate_within_its_window_answers_the_first_and_charges_once() {
    let app = billing_app().await;
    let request = json!({"amt_tran": 7, "card_number": VISA, "exp_date": "1230",
                         "merch_ref_num": "order-17", "duplicate_seconds": 600});
    let answers =
        futures_util::future::join_all((0..8).map(|_| pg(&app, "/pg/sale", &request))).await;
    let first = pg_id(&answers[0]);
    for answer in &answers {
        assert_rcode(answer, 200, "000");
        assert_eq!(pg_id(answer), first);
    }
    let charged = browse(&app, "filter=merch_ref_num,EQ,order-17").await;
    assert_eq!(charged["totalRecords"], 1);
    // After the window, the same request charges again.
    advance(&app, "PT10M1S").await;
    assert_ne!(pg_id(&pg(&app, "/pg/sale", &request).await), first);
    let charged = browse(&app, "filter=merch_ref_num,EQ,order-17").await;
    assert_eq!(charged["totalRecords"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_refunds_and_captures_never_pass_their_limits() {
    let app = billing_app().await;
    let sale = pg_id(&pg(&app, "/pg/sale", &card(10)).await);
    assert_rcode(&pg(&app, "/pg/batchClose", &json!({})).await, 200, "000");
    let refund = json!({"amt_tran": 1});
    let path = format!("/pg/refund/{sale}");
    let answers = join_all((0..14).map(|_| pg(&app, &path, &refund))).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        4,
        "{statuses:?}"
    );
    assert_eq!(report(&app, &sale).await["amt_refunded"], json!(10.0));

    let auth = pg_id(&pg(&app, "/pg/auth", &card(10)).await);
    let path = format!("/pg/capture/{auth}");
    let capture = json!({"amt_tran": 10});
    let answers = join_all((0..6).map(|_| pg(&app, &path, &capture))).await;
    let captured = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(captured, 1, "an auth is captured once");
}

#[tokio::test]
async fn credits_forces_and_bank_accounts_follow_their_rules() {
    let app = billing_app().await;
    let credit = pg(&app, "/pg/credit", &card(12)).await;
    assert_rcode(&credit, 200, "000");
    let credit_id = pg_id(&credit);
    assert_eq!(report(&app, &credit_id).await["tran_type"], "credit");
    assert_rcode(&pg(&app, "/pg/batchClose", &json!({})).await, 200, "000");
    assert_rcode(
        &pg(
            &app,
            &format!("/pg/refund/{credit_id}"),
            &json!({"amt_tran": 1}),
        )
        .await,
        409,
        "112",
    );

    let force = |code: Option<&str>| {
        let mut body = card(3);
        if let Some(code) = code {
            body["auth_code"] = json!(code);
        }
        body
    };
    assert_rcode(&pg(&app, "/pg/force", &force(None)).await, 400, "103");
    assert_rcode(&pg(&app, "/pg/force", &force(Some("12"))).await, 400, "103");
    let forced = pg(&app, "/pg/force", &force(Some("VOICE1"))).await;
    assert_rcode(&forced, 200, "000");
    assert_eq!(forced.json["auth_code"], "VOICE1");

    let ach = json!({"amt_tran": 20, "tr_number": ROUTING, "dda_number": "123456789", "type_id": "S",
                     "cardholder_name": "Ada Lovelace"});
    let sale = pg(&app, "/pg/sale", &ach).await;
    assert_rcode(&sale, 200, "000");
    let row = report(&app, &pg_id(&sale)).await;
    assert_eq!(row["card_number"], "xxxxx6789");
    assert_eq!(row["cardholder_last_name"], "Lovelace");
    let both = json!({"amt_tran": 1, "tr_number": ROUTING, "dda_number": "123456789", "card_number": VISA, "exp_date": "1230"});
    assert_rcode(&pg(&app, "/pg/sale", &both).await, 400, "103");
    let swipe = json!({"amt_tran": 1, "card_swipe": "%B4111111111111111^DOE/JOHN^3012?"});
    assert_rcode(&pg(&app, "/pg/sale", &swipe).await, 400, "103");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_charge_of_a_stored_card_leaves_an_audit_record() {
    let app = TestApp::spawn_with_file_db().await;
    let card_id = customer_with_card(&app, "PGAUDIT", VISA).await;
    let charge = json!({"amt_tran": 1, "customer_id": "PGAUDIT"});
    assert_rcode(&pg(&app, "/pg/sale", &charge).await, 200, "000");
    assert_rcode(
        &pg(&app, "/pg/verify", &json!({"card_id": card_id})).await,
        200,
        "000",
    );
    let pool = crate::database::RawPool::of(&app.data_dir).await;
    let rows: Vec<(String, String)> = pool
        .rows("SELECT card_id, purpose FROM decryption_audit ORDER BY audit_id")
        .await;
    pool.close().await;
    assert_eq!(
        rows,
        vec![
            (card_id.clone(), "charge".to_owned()),
            (card_id, "verify".to_owned())
        ]
    );
}

#[tokio::test]
async fn recurring_billing_charges_are_reported_with_their_subscription() {
    let app = billing_app().await;
    customer_with_card(&app, "PGSUB", VISA).await;
    let today = clock_today(&app).await;
    let tomorrow = today.succ_opt().expect("a next day");
    let subscription = subscribe(&app, &off_plan("PGSUB", tomorrow, 9.99, 3)).await;
    advance(&app, "P1D").await;
    let id = sub_id(&subscription);
    let page = browse(&app, &format!("filter=subscription_id,EQ,{id}")).await;
    assert_eq!(page["totalRecords"], 1, "{page}");
    let row = &page["data"][0];
    assert_eq!(row["tran_status"], "S");
    assert_eq!(row["amt_tran"], json!(9.99));
    assert_eq!(row["customer_id"], "PGSUB");
    assert_eq!(row["subscription_id"], id.to_string().as_str());
    let refund = format!("/pg/refund/{}", row["pg_id"].as_str().unwrap());
    assert_rcode(
        &pg(&app, &refund, &json!({"amt_tran": 1})).await,
        400,
        "102",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_single_use_token_is_used_once_however_many_requests_race_for_it() {
    let app = billing_app().await;
    let tokenize =
        json!({"card_number": VISA, "exp_date": "1230", "single_use": true, "avs_zip": "94402"});
    let token = pg(&app, "/pg/tokenize", &tokenize).await;
    let card_id = token.json["card_id"].as_str().unwrap().to_owned();
    let sale = json!({"amt_tran": 3, "card_id": card_id});
    let answers = join_all((0..8).map(|_| pg(&app, "/pg/sale", &sale))).await;
    let rcodes: Vec<&str> = answers
        .iter()
        .filter_map(|a| a.json["rcode"].as_str())
        .collect();
    assert_eq!(
        rcodes.iter().filter(|r| **r == "000").count(),
        1,
        "{rcodes:?}"
    );
    assert_eq!(
        rcodes.iter().filter(|r| **r == "105").count(),
        7,
        "{rcodes:?}"
    );
    let charged = browse(&app, &format!("filter=card_id,EQ,{card_id}")).await;
    assert_eq!(charged["totalRecords"], 1);

    // Two customers racing to add one token: one gets the card.
    for id in ["PGRACE1", "PGRACE2"] {
        app.create_customer(id).await;
    }
    let token = pg(&app, "/pg/tokenize", &tokenize).await;
    let card_id = token.json["card_id"].as_str().unwrap().to_owned();
    let add = |id: &'static str| {
        let app = app.clone();
        let card_id = card_id.clone();
        async move {
            app.post(
                &format!("{}/billing", customer_path(id)),
                &json!({"card_id": card_id, "verify": true}),
            )
            .await
            .status
        }
    };
    let (first, second) = tokio::join!(add("PGRACE1"), add("PGRACE2"));
    let mut statuses = [first, second];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400]);

    // A token's zip goes with it onto the customer a charge stores it on.
    let token = pg(&app, "/pg/tokenize", &tokenize).await;
    let card_id = token.json["card_id"].as_str().unwrap().to_owned();
    app.create_customer("PGZIP").await;
    let charge =
        json!({"amt_tran": 4, "card_id": card_id, "customer_id": "PGZIP", "tokenize": true});
    let charged = pg(&app, "/pg/sale", &charge).await;
    assert_rcode(&charged, 200, "000");
    assert_eq!(charged.json["card_id"], card_id.as_str());
}
