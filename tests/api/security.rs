//! Card numbers, account numbers, CVVs and API keys never reach the disk, the responses or the logs.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::Method;
use serde_json::{Value, json};

use crate::capture;
use crate::helpers::{
    Auth, Resp, Secrets, TestApp, assert_no_secrets_in, card_id, customer_path, key_spec,
};
use crate::testdata::{
    ALL_FIXED_PANS, AMEX, BAD_LUHN, DECLINED_CARD, MISMATCH_CVV, ROUTING, VISA, card, customer,
    exp_months_from_now, full_card, generated_visa, masked, with,
};

/// Every file under `dir`, recursively, as (path, bytes).
fn read_all_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the data dir is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(read_all_files(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            files.push((path.display().to_string(), bytes));
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Runs every card-handling operation, successful and failing, for customer `id`; returns
/// the full card and account numbers used, and every response.
async fn exercise_card_operations(app: &TestApp, id: &str, first: u32) -> (Vec<String>, Vec<Resp>) {
    let pans: Vec<String> = (first..first + 6).map(generated_visa).collect();
    let ddas = [format!("55{first:08}11"), format!("66{first:08}22")];
    let mut responses = Vec::new();

    let body = with(
        customer(id, "Secure", "Person"),
        json!({ "billing_cards": [full_card(&pans[0], "123")] }),
    );
    responses.push(app.post("/vault/customer", &body).await);
    responses.push(
        app.add_card(
            id,
            &with(card(&pans[1]), json!({ "cvv2": "456", "verify": true })),
        )
        .await,
    );
    let append = json!({ "billing_cards": [card(&pans[2])] });
    responses.push(app.put(&customer_path(id), &append).await);
    responses.push(
        app.add_card(id, &with(card(AMEX), json!({ "cvv2": "7319" })))
            .await,
    );
    responses.push(
        app.add_card(id, &crate::testdata::ach("C", ROUTING, &ddas[0]))
            .await,
    );
    let append_ach = json!({ "billing_cards": [crate::testdata::ach("S", ROUTING, &ddas[1])] });
    responses.push(app.put(&customer_path(id), &append_ach).await);

    // Failures: each must be rejected without echoing the secret.
    responses.push(app.add_card(id, &card(&pans[0])).await); // duplicate
    responses.push(app.add_card(id, &card(BAD_LUHN)).await);
    responses.push(
        app.add_card(
            id,
            &with(
                card(DECLINED_CARD),
                json!({ "verify": true, "cvv2": "888" }),
            ),
        )
        .await,
    );
    let mismatch = with(
        card(&pans[3]),
        json!({ "verify": true, "cvv2": MISMATCH_CVV }),
    );
    responses.push(app.add_card(id, &mismatch).await);
    let expired = with(
        card(&pans[3]),
        json!({ "exp_date": exp_months_from_now(-2), "cvv2": "135" }),
    );
    responses.push(app.add_card(id, &expired).await);
    responses.push(
        app.add_card(id, &with(card(&pans[3]), json!({ "cvv2": "12345" })))
            .await,
    );
    responses.push(app.add_card("SecNobody01", &card(&pans[3])).await);

    let current = app.customer_data(id).await;
    let first_card = card_id(&current, &masked(&pans[0]));
    let update =
        json!({ "card_id": first_card, "verify": true, "cvv2": "246", "billing_city": "Oakland" });
    responses.push(app.update_card(id, &update).await);
    responses.push(app.get_cards(id).await);
    responses.push(app.get_customer(id).await);
    responses.push(app.browse("count=100").await);

    // The Payment Gateway: a sale on a number, a tokenize onto the customer, a single-use
    // token charged, a verification and a decline, each with a CVV.
    let pg = |path: &'static str, body: Value| {
        let root = app.at_root();
        async move {
            root.send(
                Method::POST,
                path,
                Auth::Key(root.key.clone()),
                Some(body.to_string()),
            )
            .await
        }
    };
    let number = |pan: &str| json!({ "card_number": pan, "exp_date": "1230", "cvv2": "321" });
    responses.push(pg("/pg/sale", with(number(&pans[4]), json!({ "amt_tran": 3 }))).await);
    responses.push(
        pg(
            "/pg/sale",
            with(
                number(&pans[5]),
                json!({ "amt_tran": 4, "tokenize": true, "customer_id": id, "avs_zip": "94402" }),
            ),
        )
        .await,
    );
    let token = pg(
        "/pg/tokenize",
        with(number(&pans[4]), json!({ "single_use": true })),
    )
    .await;
    let token_id = token.json["card_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    responses.push(token);
    responses.push(pg("/pg/sale", json!({ "amt_tran": 5, "card_id": token_id })).await);
    responses.push(pg("/pg/verify", number(&pans[4])).await);
    responses.push(
        pg(
            "/pg/sale",
            with(number(DECLINED_CARD), json!({ "amt_tran": 6 })),
        )
        .await,
    );
    responses.push(app.get("/reporting/transactions?count=100").await);

    let mut numbers = pans;
    numbers.extend(ddas);
    numbers.push(AMEX.to_owned());
    (numbers, responses)
}

#[tokio::test(flavor = "multi_thread")]
async fn no_full_card_or_account_number_is_written_to_the_data_directory() {
    // SQLite only, whatever the suite runs on: it reads the database file in the data dir.
    // On PostgreSQL, `no_full_card_or_account_number_reaches_postgresql` scans the server.
    let app = TestApp::spawn_with(|args| args.database_url = None).await;
    let (numbers, responses) = exercise_card_operations(&app, "SecDisk01", 500).await;
    assert_eq!(
        responses.iter().filter(|r| r.status == 200).count(),
        16,
        "the successful operations succeeded: {:?}",
        responses
            .iter()
            .map(|r| (r.path.as_str(), r.status))
            .collect::<Vec<_>>()
    );
    let cards = app.customer_data("SecDisk01").await["billing_cards"]
        .as_array()
        .map(Vec::len);
    assert_eq!(cards, Some(7));

    let files = read_all_files(&app.data_dir);
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    assert!(
        names.iter().any(|n| n.ends_with("vault.db")),
        "the database file is in the data dir: {names:?}"
    );
    assert!(
        files.iter().any(|(_, bytes)| contains(bytes, b"SecDisk01")),
        "the customer id is stored somewhere in {names:?}, so these are the right files"
    );
    for (name, bytes) in &files {
        for number in &numbers {
            assert!(
                !contains(bytes, number.as_bytes()),
                "{name} contains a full card/account number"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_response_body_contains_a_full_card_number_or_a_cvv() {
    let app = TestApp::shared();
    let (numbers, responses) = exercise_card_operations(&app, "SecResp01", 600).await;
    let secrets = Secrets {
        numbers,
        cvvs: [
            "123",
            "456",
            "7319",
            "888",
            MISMATCH_CVV,
            "135",
            "12345",
            "246",
            "321",
        ]
        .map(String::from)
        .to_vec(),
    };
    for resp in &responses {
        assert_no_secrets_in(resp, &secrets, &app.key);
    }
}

/// Logging must not depend on `RUST_LOG`, and must be installed by us, not by the app.
#[tokio::test(flavor = "multi_thread")]
async fn logs_never_contain_card_numbers_cvvs_or_api_keys() {
    const KEY: &str = "LogTest-Secret-Key-7f3a9c";
    const WRONG_KEY: &str = "LogTest-Wrong-Key-5q2z8w";
    let app = TestApp::spawn_with(|args| {
        args.api_keys.push(key_spec(&format!("{KEY}:4004")));
    })
    .await
    .as_key(KEY);
    assert!(
        capture::installed(),
        "the application installed its own global tracing subscriber"
    );

    let (numbers, _) = exercise_card_operations(&app, "SecLog01", 700).await;
    let body = customer("SecLog02", "Jane", "Doe").to_string();
    for auth in [
        Auth::Key(WRONG_KEY.into()),
        Auth::Header(format!("Bearer {WRONG_KEY}")),
        Auth::Nothing,
    ] {
        let resp = app
            .send(Method::POST, "/vault/customer", auth, Some(body.clone()))
            .await;
        assert_eq!(resp.status, 401);
    }
    let broken = format!(
        r#"{{"card_number":"{}","cvv2":"975","exp_date":"#,
        generated_visa(799)
    );
    let resp = app
        .send(
            Method::POST,
            &format!("{}/billing", customer_path("SecLog01")),
            Auth::Key(KEY.into()),
            Some(broken),
        )
        .await;
    assert_eq!(resp.status, 400, "{}", resp.text);

    // Card numbers where no card number belongs: in a path (plain and percent-encoded with
    // spaces) and as the request id, which the trace spans carry.
    let in_path = generated_visa(798);
    let spaced = generated_visa(797);
    let spaced_path = format!(
        "{}%20{}%20{}%20{}",
        &spaced[..4],
        &spaced[4..8],
        &spaced[8..12],
        &spaced[12..]
    );
    for path in [
        format!("/vault/customer/{in_path}"),
        format!("/vault/customer/{spaced_path}/billing"),
    ] {
        let resp = app
            .send(Method::GET, &path, Auth::Key(KEY.into()), None)
            .await;
        assert_eq!(resp.status, 404, "{}", resp.text);
    }
    let as_request_id = generated_visa(796);
    let resp = app
        .client
        .get(app.url("/vault/customer"))
        .basic_auth(KEY, Some(""))
        .header("x-request-id", &as_request_id)
        .send()
        .await
        .expect("an answer");
    assert_eq!(resp.status(), 200);

    let logs = capture::logs();
    assert!(
        logs.contains("/vault/customer/[REDACTED]"),
        "the paths with card numbers were not logged at all, so this test cannot see a leak"
    );
    assert!(
        !logs.trim().is_empty(),
        "nothing was logged, so this test cannot see a leak"
    );
    assert!(
        logs.contains("SecLog01"),
        "this test's requests were not logged, so it cannot see a leak"
    );
    let mut forbidden: Vec<String> = numbers;
    forbidden.extend([
        generated_visa(799),
        in_path,
        spaced,
        spaced_path,
        as_request_id,
    ]);
    forbidden.extend(ALL_FIXED_PANS.map(String::from));
    for key in [KEY, WRONG_KEY, "key-a", "key-b", "key-r"] {
        forbidden.push(key.to_owned());
        forbidden.push(BASE64.encode(format!("{key}:")));
    }
    for secret in &forbidden {
        if let Some(line) = logs.lines().find(|line| line.contains(secret.as_str())) {
            panic!(
                "the logs contain a secret in: {}",
                line.replace(secret.as_str(), "[SECRET]")
            );
        }
    }
    let cvvs = [
        "123",
        "456",
        "7319",
        "888",
        MISMATCH_CVV,
        "135",
        "12345",
        "246",
        "975",
    ];
    for line in logs.lines() {
        for cvv in cvvs {
            let quoted = line.contains(&format!("\"{cvv}\""));
            // The digits shortly after a mention of cvv (`cvv2: Some(..)`, `cvv2=..`).
            let near_name = line.match_indices("cvv").any(|(at, _)| {
                line[at..]
                    .chars()
                    .take(24)
                    .collect::<String>()
                    .contains(cvv)
            });
            assert!(
                !quoted && !near_name,
                "the logs may contain a CVV in: {line}"
            );
        }
    }
}

#[test]
fn the_leak_checks_themselves_can_fail() {
    let leaked = Resp {
        method: Method::GET,
        path: "/x".into(),
        status: 200,
        headers: Default::default(),
        text: r#"{"data":{"card_number":"4111111111111111","cvv2":"123"}}"#.into(),
        json: serde_json::from_str::<Value>(
            r#"{"data":{"card_number":"4111111111111111","cvv2":"123"}}"#,
        )
        .expect("JSON"),
    };
    let secrets = Secrets::of(&json!({ "card_number": "4111111111111111", "cvv2": "123" }));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert_no_secrets_in(&leaked, &secrets, "key-a");
    }));
    assert!(caught.is_err());
    assert!(contains(b"abc4111111111111111def", b"4111111111111111"));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_decryption_of_a_stored_number_leaves_an_audit_record() {
    let app = TestApp::spawn_with_file_db().await;
    app.create_customer("SecAudit01").await;
    let data = app.add_card_ok("SecAudit01", &card(VISA)).await;
    let card_id = card_id(&data, &masked(VISA));
    let audit_rows = || async {
        let pool = crate::database::RawPool::of(&app.data_dir).await;
        let rows: Vec<(i64, String, String)> = pool
            .rows("SELECT merchant_id, card_id, purpose FROM decryption_audit")
            .await;
        pool.close().await;
        rows
    };
    assert!(
        audit_rows().await.is_empty(),
        "adding a card decrypts nothing"
    );

    app.update_card("SecAudit01", &json!({ "card_id": card_id, "verify": true }))
        .await
        .assert_ok();
    assert_eq!(
        audit_rows().await,
        vec![(1001, card_id.clone(), "verify".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vault_refuses_to_start_with_another_master_key() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut args = crate::helpers::default_args(dir.path());
    args.vault.database_url = crate::database::data_dir_url(dir.path());
    let first = vaultql::app::Application::build_sandbox(args.clone()).await;
    assert!(first.is_ok(), "the vault starts on a new data directory");
    drop(first);

    args.vault.master_key = Some(BASE64.encode([0x11_u8; 32]));
    let error = match vaultql::app::Application::build_sandbox(args).await {
        Ok(_) => panic!("a wrong master key must be refused"),
        Err(error) => format!("{error:#}"),
    };
    assert!(error.contains("master key"), "{error}");
}
