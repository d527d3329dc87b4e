//! A clock advance outlives its request: it runs as a job that finishes even when the client
//! hangs up, answers 202 with the job when it takes longer than the configured wait, and can
//! be followed at `/sandbox/clock/jobs/{job_id}`.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::billing_support::{
    OwnServer, billing_app_with_file_db, call, clock_today, customer_with_card, describe, get,
    send_raw, shared_data_dir, subscribe,
};
use crate::helpers::{KEY_B, TestApp};
use crate::testdata::VISA;

/// `count` customers with a daily subscription each, from today.
async fn daily_subscriptions(app: &TestApp, prefix: &str, count: usize) -> NaiveDate {
    let today = clock_today(app).await;
    for n in 0..count {
        let customer_id = format!("{prefix}{n:03}");
        customer_with_card(app, &customer_id, VISA).await;
        subscribe(
            app,
            &json!({
                "customer_id": customer_id,
                "date_start": today.to_string(),
                "plan_frequency": 7,
                "plan_duration": -1,
                "amt_tran": 2.5
            }),
        )
        .await;
    }
    today
}

/// Recorded attempts of the merchant.
async fn recorded(app: &TestApp) -> u64 {
    let resp = get(app, "/subscription/transactions?count=1").await;
    resp.json["totalRecords"]
        .as_u64()
        .unwrap_or_else(|| panic!("totalRecords: {}", describe(&resp)))
}

/// Waits (polling, up to a minute) until the merchant has `expected` recorded attempts.
async fn until_recorded(app: &TestApp, expected: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = recorded(app).await;
        if now >= expected || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_advance_whose_client_hangs_up_still_bills_everything_it_passed_over() {
    let dir = shared_data_dir();
    let server = OwnServer::start(dir.path(), |_| {}).await;
    let app = server.app.clone();
    let today = daily_subscriptions(&app, "Cut", 40).await;

    // The whole request; once its job has moved the clock (and is billing), the client hangs
    // up, which drops the handler's future.
    let body = json!({ "advance": "P365D" }).to_string();
    let address = app
        .base_url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .expect("host:port")
        .to_owned();
    let auth = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:", app.key),
    );
    let mut socket = tokio::net::TcpStream::connect(&address)
        .await
        .expect("the server listens");
    socket
        .write_all(
            format!(
                "POST /platform/sandbox/clock HTTP/1.1\r\nHost: {address}\r\n\
                 Authorization: Basic {auth}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .expect("the request is sent");
    let moved = today + chrono::Days::new(365);
    let deadline = Instant::now() + Duration::from_secs(30);
    while clock_today(&app).await != moved {
        assert!(Instant::now() < deadline, "the advance never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(socket);

    // Day 0 to day 365 for each of the 40: every one of them billed, none twice.
    let expected = 40 * 366;
    assert_eq!(until_recorded(&app, expected).await, expected);
    let again = call(
        &app,
        Method::POST,
        "/sandbox/clock",
        Some(&json!({ "advance": "P0D" })),
    )
    .await;
    assert_eq!(again.status, 200, "{}", describe(&again));
    assert_eq!(again.json["data"]["approved"], 0, "nothing was left due");
    drop(server);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_advance_longer_than_the_wait_answers_202_with_a_job_to_follow() {
    let dir = shared_data_dir();
    let server = OwnServer::start(dir.path(), |args| args.advance_wait_ms = 0).await;
    let app = server.app.clone();
    daily_subscriptions(&app, "Job", 20).await;

    // `send_raw`: a 202 carries data, which the error-envelope check of `call` refuses.
    let body = json!({ "advance": "P90D" }).to_string();
    let resp = send_raw(&app, Method::POST, "/sandbox/clock", Some(&body)).await;
    assert_eq!(resp.status, 202, "{}", describe(&resp));
    let job: &Value = &resp.json["data"];
    assert_eq!(job["status"], "running", "{job}");
    let job_id = job["job_id"].as_str().expect("a job_id").to_owned();

    let other = call(
        &app.as_key(KEY_B),
        Method::GET,
        &format!("/sandbox/clock/jobs/{job_id}"),
        None,
    )
    .await;
    assert_eq!(
        other.status,
        404,
        "another merchant's job: {}",
        describe(&other)
    );
    let unknown = call(&app, Method::GET, "/sandbox/clock/jobs/nosuchjob", None).await;
    assert_eq!(unknown.status, 404, "{}", describe(&unknown));

    let done = call(
        &app,
        Method::GET,
        &format!("/sandbox/clock/jobs/{job_id}?wait_ms=30000"),
        None,
    )
    .await;
    assert_eq!(done.status, 200, "{}", describe(&done));
    let report = &done.json["data"];
    assert_eq!(report["status"], "complete", "{report}");
    assert_eq!(report["approved"], 20 * 91, "{report}");
    assert_eq!(report["declined"], 0, "{report}");
    assert_eq!(
        report["today"],
        clock_today(&app).await.to_string(),
        "{report}"
    );
    assert_eq!(recorded(&app).await, 20 * 91);
    drop(server);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quick_advance_answers_200_with_what_it_billed() {
    let app = billing_app_with_file_db().await;
    daily_subscriptions(&app, "Quick", 3).await;
    let body = json!({ "advance": "P2D" });
    let resp = call(&app, Method::POST, "/sandbox/clock", Some(&body)).await;
    assert_eq!(resp.status, 200, "{}", describe(&resp));
    let data = &resp.json["data"];
    assert_eq!(data["status"], "complete", "{data}");
    assert_eq!(data["approved"], 9, "days 0, 1 and 2 for each of 3: {data}");
    assert!(
        data["job_id"].as_str().is_some_and(|id| id.len() == 16),
        "{data}"
    );
}
