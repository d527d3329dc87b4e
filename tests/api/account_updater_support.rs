//! What the Account Updater tests share: the test cards, requests and their reads, a stored
//! card, a charge by card id, and a webhook receiver that keeps what it is posted.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use chrono::{Datelike, NaiveDate};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::billing_support::all_pages;
use crate::helpers::{Auth, TestApp};

pub use crate::testdata::AU_TEST_CARDS as TEST_CARDS;

/// `POST /aus/request/create`; the new `request_id`.
pub async fn create(app: &TestApp, card_ids: &[String]) -> i64 {
    let data = app
        .post("/aus/request/create", &json!({ "card_id": card_ids }))
        .await
        .ok_data();
    data["request_id"].as_i64().expect("request_id")
}

pub async fn summary(app: &TestApp, request_id: i64) -> Value {
    app.get(&format!("/aus/request/summary/{request_id}"))
        .await
        .ok_data()
}

/// Every row of a detail browse.
pub async fn details(app: &TestApp, path: &str) -> Vec<Value> {
    all_pages(app, &format!("{path}?order_on=card_id")).await
}

/// The first page of a browse.
pub async fn request_of(app: &TestApp, path: &str) -> Vec<Value> {
    app.get(path)
        .await
        .ok_data()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// A stored card as the customer's REST representation shows it.
pub async fn card_of(app: &TestApp, customer_id: &str, card_id: &str) -> Value {
    let cards = app.get_cards(customer_id).await.ok_data();
    cards["billing_cards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["card_id"] == json!(card_id))
        .cloned()
        .unwrap_or_else(|| panic!("no card {card_id} in {cards}"))
}

/// A one-off `/pg/sale` of the stored card; the gateway's answer.
pub async fn sale_by_card_id(app: &TestApp, customer_id: &str, card_id: &str) -> Value {
    let body = json!({ "amt_tran": 5, "card_id": card_id, "customer_id": customer_id });
    let resp = app
        .at_root()
        .send(
            Method::POST,
            "/pg/sale",
            Auth::Key(app.key.clone()),
            Some(body.to_string()),
        )
        .await;
    assert!(resp.status < 500, "{}", resp.text);
    resp.json
}

pub fn first_of_next_month(day: NaiveDate) -> NaiveDate {
    let (year, month) = match day.month() {
        12 => (day.year() + 1, 1),
        m => (day.year(), m + 1),
    };
    NaiveDate::from_ymd_opt(year, month, 1).unwrap()
}

/// A webhook receiver: the bodies posted to it, in order.
#[derive(Clone)]
pub struct Inbox {
    bodies: Arc<Mutex<Vec<Value>>>,
    count: watch::Sender<usize>,
}

async fn receive(State(inbox): State<Inbox>, body: axum::body::Bytes) -> &'static str {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    inbox.bodies.lock().unwrap().push(value);
    inbox.count.send_modify(|n| *n += 1);
    "ok"
}

impl Inbox {
    /// Starts a receiver and registers it for `events` with the app's merchant.
    pub async fn start(app: &TestApp, events: &[&str]) -> Inbox {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://127.0.0.1:{}/hook",
            listener.local_addr().unwrap().port()
        );
        let inbox = Inbox {
            bodies: Arc::default(),
            count: watch::channel(0).0,
        };
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(inbox.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        app.post(
            "/webhook",
            &json!({"label": "aus", "notification_url": url, "events": events}),
        )
        .await
        .assert_ok();
        inbox
    }

    /// Waits until at least `n` posts have come (20 s at most); the bodies.
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        let mut count = self.count.subscribe();
        let arrived = tokio::time::timeout(Duration::from_secs(20), count.wait_for(|c| *c >= n))
            .await
            .is_ok();
        let bodies = self.bodies.lock().unwrap().clone();
        assert!(arrived, "expected {n} posts, got {bodies:#?}");
        bodies
    }
}
