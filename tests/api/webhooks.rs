//! Webhooks over HTTP: the `/webhook` API and its validation, and deliveries to a receiver this
//! test runs — signed both ways, each event once and in order, retried with backoff, held while
//! disabled, suspended after 48 hours of failures by the sandbox clock, and neither lost nor
//! doubled when a vault stops mid-delivery or two vaults share the outbox.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::{Notify, watch};

use crate::billing_support::{
    OwnServer, advance, billing_app, clock_today, customer_with_card, off_plan, shared_data_dir,
    sub_id, subscribe,
};
use crate::helpers::{Auth, KEY_B, Resp, TestApp};
use crate::testdata::{CHARGE_DECLINE_CARD, VISA};

/// One post the receiver got.
#[derive(Debug, Clone)]
struct Post {
    event_id: String,
    body: Value,
    raw: Bytes,
    qualpay_signature: String,
    vaultql_signature: String,
    authorization: Option<String>,
}

#[derive(Default)]
struct Inbox {
    posts: Vec<Post>,
    /// Statuses to answer, in order; 200 once they run out.
    answers: VecDeque<u16>,
    /// While set, posts are held unanswered.
    hold: bool,
}

#[derive(Clone)]
struct Receiver {
    url: String,
    inbox: Arc<Mutex<Inbox>>,
    count: watch::Sender<usize>,
    released: Arc<Notify>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, raw: Bytes) -> StatusCode {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let post = Post {
        event_id: text("x-vaultql-event-id"),
        body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
        raw,
        qualpay_signature: text("x-qualpay-webhook-signature"),
        vaultql_signature: text("x-vaultql-signature"),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let (status, hold) = {
        let mut inbox = receiver.inbox.lock().unwrap();
        inbox.posts.push(post);
        (inbox.answers.pop_front().unwrap_or(200), inbox.hold)
    };
    receiver.count.send_modify(|n| *n += 1);
    if hold {
        receiver.released.notified().await;
    }
    StatusCode::from_u16(status).unwrap()
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            url: format!(
                "http://127.0.0.1:{}/hook",
                listener.local_addr().unwrap().port()
            ),
            inbox: Arc::default(),
            count: watch::channel(0).0,
            released: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    fn answer(&self, statuses: &[u16]) {
        self.inbox.lock().unwrap().answers.extend(statuses);
    }

    fn hold(&self, hold: bool) {
        self.inbox.lock().unwrap().hold = hold;
        if !hold {
            self.released.notify_waiters();
        }
    }

    fn posts(&self) -> Vec<Post> {
        self.inbox.lock().unwrap().posts.clone()
    }

    /// Waits until at least `n` posts have come (20 s at most).
    async fn wait_for(&self, n: usize) -> Vec<Post> {
        let mut count = self.count.subscribe();
        tokio::time::timeout(Duration::from_secs(20), count.wait_for(|c| *c >= n))
            .await
            .unwrap_or_else(|_| panic!("expected {n} posts, got {:#?}", self.posts()))
            .unwrap();
        self.posts()
    }

    /// Posts by event id, each event's posts counted; the order of first arrival.
    fn unique(&self) -> Vec<(String, Value, usize)> {
        let mut seen: Vec<(String, Value, usize)> = Vec::new();
        for post in self.posts() {
            match seen.iter_mut().find(|(id, _, _)| *id == post.event_id) {
                Some(entry) => entry.2 += 1,
                None => seen.push((post.event_id.clone(), post.body.clone(), 1)),
            }
        }
        seen
    }
}

/// Checks both signatures of a post with the webhook's secret.
#[track_caller]
fn assert_signed(post: &Post, secret: &str) {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&post.raw);
    let expected = BASE64.encode(mac.finalize().into_bytes());
    assert_eq!(post.qualpay_signature, expected, "Qualpay's signature");
    let (t, v1) = post
        .vaultql_signature
        .split_once(",v1=")
        .expect("t=...,v1=...");
    let t = t.strip_prefix("t=").expect("t=");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&post.raw);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, hex, "vaultql's signature");
    assert!(t.parse::<i64>().is_ok());
    assert!(post.event_id.starts_with("ev_"), "{}", post.event_id);
}

async fn call(app: &TestApp, method: Method, path: &str, body: Option<&Value>) -> Resp {
    app.call(method, path, body).await
}

/// Makes a webhook for `events` posting to the receiver; returns its id and secret.
async fn webhook(app: &TestApp, receiver: &Receiver, events: &[&str]) -> (i64, String) {
    let resp = app
        .post(
            "/webhook",
            &json!({"label": "test", "notification_url": receiver.url, "events": events}),
        )
        .await;
    let data = resp.ok_data();
    (
        data["webhook_id"].as_i64().expect("webhook_id"),
        data["secret"].as_str().expect("secret").to_owned(),
    )
}

async fn sale(app: &TestApp, amount: f64) -> String {
    let resp = app
        .at_root()
        .send(
            Method::POST,
            "/pg/sale",
            Auth::Key(app.key.clone()),
            Some(json!({"amt_tran": amount, "card_number": VISA, "exp_date": "1230"}).to_string()),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.json["pg_id"].as_str().unwrap().to_owned()
}

/// The webhook's delivery log, oldest first, once it has at least `n` attempts (20 s at most).
async fn attempts(app: &TestApp, id: i64, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let resp = app
            .get(&format!("/webhook/{id}/deliveries?order_by=asc&count=100"))
            .await;
        let rows = resp.ok_data().as_array().cloned().unwrap_or_default();
        if rows.len() >= n {
            return rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "expected {n} attempts, log: {rows:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn webhooks_are_made_read_changed_and_kept_to_their_merchant() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let made = app
        .post(
            "/webhook",
            &json!({
                "label": "orders",
                "notification_url": receiver.url,
                "events": ["subscription_payment_failure", "transaction_status_updated"],
                "email_address": ["ops@example.com"],
                "auth_type": "BASIC",
                "auth_settings": {"user_name": "hooks", "user_password": "s3cret-pass"}
            }),
        )
        .await;
    let data = made.ok_data();
    let id = data["webhook_id"].as_i64().unwrap();
    assert_eq!(data["status"], "ACTIVE");
    assert_eq!(data["secret"].as_str().map(str::len), Some(32));
    assert_eq!(data["auth_settings"], json!({"user_name": "hooks"}));
    assert!(!made.text.contains("s3cret-pass"));

    let read = app.get(&format!("/webhook/{id}")).await.ok_data();
    assert!(
        read.get("secret").is_none(),
        "the secret is shown once: {read}"
    );
    assert_eq!(
        read["events"],
        json!(["subscription_payment_failure", "transaction_status_updated"])
    );
    let listed = app.get("/webhook").await;
    assert_eq!(listed.json["totalRecords"], 1);
    assert!(!listed.text.contains(data["secret"].as_str().unwrap()));

    let changed = app
        .put(
            &format!("/webhook/{id}"),
            &json!({"label": "renamed", "notification_url": receiver.url,
                    "auth_type": "BASIC", "auth_settings": {"user_name": "other"}}),
        )
        .await
        .ok_data();
    assert_eq!(changed["label"], "renamed");
    assert_eq!(changed["auth_settings"]["user_name"], "other");
    let events = call(
        &app,
        Method::POST,
        &format!("/webhook/{id}/event/subscription_suspended"),
        None,
    )
    .await
    .ok_data();
    assert_eq!(events["events"].as_array().unwrap().len(), 3);
    let events = call(
        &app,
        Method::DELETE,
        &format!("/webhook/{id}/event/transaction_status_updated"),
        None,
    )
    .await
    .ok_data();
    assert_eq!(
        events["events"],
        json!(["subscription_payment_failure", "subscription_suspended"])
    );
    let listed = app.get(&format!("/webhook/{id}/event")).await.ok_data();
    assert_eq!(listed, events);
    let disabled = app.put(&format!("/webhook/{id}/disable"), &json!({})).await;
    assert_eq!(disabled.ok_data()["status"], "DISABLED");
    let enabled = app.put(&format!("/webhook/{id}/enable"), &json!({})).await;
    assert_eq!(enabled.ok_data()["status"], "ACTIVE");

    // Another merchant's key learns nothing, changes nothing.
    let other = app.as_key(KEY_B);
    for resp in [
        other.get(&format!("/webhook/{id}")).await,
        other
            .put(&format!("/webhook/{id}/disable"), &json!({}))
            .await,
        other.get(&format!("/webhook/{id}/deliveries")).await,
        call(
            &other,
            Method::POST,
            &format!("/webhook/{id}/event/subscription_complete"),
            None,
        )
        .await,
    ] {
        resp.assert_error(404, 6);
    }
    assert_eq!(other.get("/webhook").await.json["totalRecords"], 0);
    assert_eq!(
        app.get(&format!("/webhook/{id}")).await.ok_data()["status"],
        "ACTIVE"
    );

    // Bad requests are refused, field by field, and change nothing.
    for (body, field) in [
        (json!({"notification_url": receiver.url}), "label"),
        (json!({"label": "x"}), "notification_url"),
        (
            json!({"label": "x", "notification_url": "http://example.com/hook"}),
            "notification_url",
        ),
        (
            json!({"label": "x", "notification_url": "https://u:p@example.com/hook"}),
            "notification_url",
        ),
        (
            json!({"label": "x", "notification_url": "not a url"}),
            "notification_url",
        ),
        (
            json!({"label": "x", "notification_url": receiver.url, "events": ["nope"]}),
            "events[0]",
        ),
        (
            json!({"label": "x", "notification_url": receiver.url, "auth_type": "DIGEST"}),
            "auth_type",
        ),
        (
            json!({"label": "x", "notification_url": receiver.url, "auth_type": "BASIC"}),
            "auth_settings.user_name",
        ),
        (
            json!({"label": "x", "notification_url": receiver.url, "email_address": ["nobody"]}),
            "email_address[0]",
        ),
        (
            json!({"label": "x".repeat(65), "notification_url": receiver.url}),
            "label",
        ),
    ] {
        app.post("/webhook", &body).await.assert_invalid(field);
    }
    call(
        &app,
        Method::POST,
        &format!("/webhook/{id}/event/no_such_event"),
        None,
    )
    .await
    .assert_invalid("event");
    app.get("/webhook/99999").await.assert_error(404, 6);
    app.get("/webhook/abc").await.assert_invalid("path");
    assert_eq!(app.get("/webhook").await.json["totalRecords"], 1);
}

#[tokio::test]
async fn payments_are_posted_signed_once_each_in_the_order_they_happened() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let (_, secret) = webhook(&app, &receiver, &["transaction_status_updated"]).await;
    let first = sale(&app, 10.0).await;
    let second = sale(&app, 20.0).await;
    let resp = app
        .at_root()
        .send(
            Method::POST,
            &format!("/pg/void/{first}"),
            Auth::Key(app.key.clone()),
            Some("{}".into()),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text);

    let posts = receiver.wait_for(3).await;
    let seen: Vec<(String, String)> = posts
        .iter()
        .map(|p| {
            (
                p.body["data"]["pg_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                p.body["data"]["tran_status"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (first.clone(), "C".to_owned()),
            (second, "C".to_owned()),
            (first, "V".to_owned())
        ],
        "{posts:#?}"
    );
    for post in &posts {
        assert_signed(post, &secret);
        assert_eq!(post.body["event"], "transaction_status_updated");
        assert_eq!(post.body["is_test"], false);
        assert!(post.body["webhook_id"].is_i64());
        assert!(post.authorization.is_none());
        let raw = String::from_utf8_lossy(&post.raw);
        assert!(!raw.contains(VISA), "no full card number in a delivery");
    }
    assert_eq!(receiver.unique().len(), 3, "each event once");
}

#[tokio::test]
async fn billing_events_arrive_once_each_in_order_with_basic_auth() {
    let app = billing_app().await;
    let receiver = Receiver::start().await;
    let made = app
        .post(
            "/webhook",
            &json!({"label": "billing", "notification_url": receiver.url,
                    "events": ["subscription_payment_success", "subscription_payment_failure",
                               "subscription_suspended", "subscription_complete"],
                    "auth_type": "BASIC",
                    "auth_settings": {"user_name": "hooks", "user_password": "pw"}}),
        )
        .await
        .ok_data();
    let secret = made["secret"].as_str().unwrap().to_owned();
    let t = clock_today(&app).await;
    customer_with_card(&app, "Hooked01", CHARGE_DECLINE_CARD).await;
    let declining = sub_id(&subscribe(&app, &off_plan("Hooked01", t, 10.0, -1)).await);
    customer_with_card(&app, "Hooked02", VISA).await;
    let paying = sub_id(&subscribe(&app, &off_plan("Hooked02", t, 5.0, 1)).await);

    // Day 1: the due date and a retry decline, the other pays its only cycle and completes.
    advance(&app, "P1D").await;
    advance(&app, "P2D").await;
    advance(&app, "P2D").await;
    // Failures on days 0, 1, 3 and 5, then the suspension; a success and the completion.
    let posts = receiver.wait_for(7).await;
    for post in &posts {
        assert_signed(post, &secret);
        assert_eq!(
            post.authorization.as_deref(),
            Some(format!("Basic {}", BASE64.encode("hooks:pw")).as_str())
        );
    }
    let of = |id: i64| -> Vec<String> {
        receiver
            .unique()
            .iter()
            .filter(|(_, body, _)| body["data"]["subscription_id"] == json!(id))
            .map(|(_, body, _)| body["event"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        of(declining),
        [
            "subscription_payment_failure",
            "subscription_payment_failure",
            "subscription_payment_failure",
            "subscription_payment_failure",
            "subscription_suspended"
        ]
    );
    assert_eq!(
        of(paying),
        ["subscription_payment_success", "subscription_complete"]
    );
    let unique = receiver.unique();
    assert!(unique.iter().all(|(_, _, n)| *n == 1), "{unique:#?}");
    let failure = &unique
        .iter()
        .find(|(_, b, _)| b["event"] == "subscription_payment_failure")
        .unwrap()
        .1;
    assert_eq!(failure["data"]["customer_id"], "Hooked01");
    assert_eq!(failure["data"]["transaction"]["tran_status"], "D");
    assert!(failure["data"]["transaction"]["pg_id"].is_string());
}

/// Waits until the sandbox's `/metrics` counts `n` deliveries posted with `outcome` (20 s at
/// most); fails if it counts more.
async fn wait_for_sent(app: &TestApp, outcome: &str, n: f64) {
    let series = format!("vaultql_webhook_deliveries_sent_total{{outcome=\"{outcome}\"}}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = app
            .at_root()
            .send(Method::GET, "/metrics", Auth::Nothing, None)
            .await
            .text;
        let counted = crate::gateway::support::metric_value(&text, &series);
        assert!(counted <= n, "{series} is {counted}, over {n}");
        if counted == n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{series} stayed at {counted}, not {n}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_sandbox_counts_each_delivery_it_posts_by_outcome() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    receiver.answer(&[500]);
    let (id, _) = webhook(&app, &receiver, &["transaction_status_updated"]).await;
    sale(&app, 1.0).await;
    attempts(&app, id, 1).await;
    wait_for_sent(&app, "failed", 1.0).await;
    // The retry comes due by the sandbox clock, and is answered with a 200.
    advance(&app, "PT10S").await;
    attempts(&app, id, 2).await;
    wait_for_sent(&app, "delivered", 1.0).await;
    wait_for_sent(&app, "failed", 1.0).await;
    wait_for_sent(&app, "suspended", 0.0).await;
}

#[tokio::test]
async fn a_failing_receiver_is_retried_with_backoff_then_suspended_after_48_hours() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    receiver.answer(&[500, 503, 500]);
    let (id, _) = webhook(&app, &receiver, &["transaction_status_updated"]).await;
    sale(&app, 1.0).await;
    attempts(&app, id, 1).await;
    // Retries come due by the sandbox clock: 10 s, then 20 s later.
    advance(&app, "PT10S").await;
    attempts(&app, id, 2).await;
    advance(&app, "PT20S").await;
    let log = attempts(&app, id, 3).await;
    let statuses: Vec<Value> = log.iter().map(|a| a["http_status"].clone()).collect();
    assert_eq!(statuses, [json!(500), json!(503), json!(500)]);
    let at = |a: &Value, field: &str| {
        a[field]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    };
    let gaps: Vec<i64> = log
        .iter()
        .map(|a| (at(a, "next_attempt_at") - at(a, "attempted_at")).num_seconds())
        .collect();
    assert_eq!(gaps, [10, 20, 40], "exponential backoff: {log:#?}");
    assert!(log.iter().all(|a| a["event_id"] == log[0]["event_id"]));

    // Failing for 48 hours by the clock suspends the webhook; its delivery is held.
    receiver.answer(&[500; 100]);
    advance(&app, "P2DT1H").await;
    attempts(&app, id, 4).await;
    let hook = app.get(&format!("/webhook/{id}")).await.ok_data();
    assert_eq!(hook["status"], "SUSPENDED", "{hook}");
    let posted = receiver.posts().len();
    sale(&app, 2.0).await;
    advance(&app, "PT2H").await;

    // Enabled again (and answering), the held delivery goes; the event of the suspended
    // time was never queued.
    receiver.inbox.lock().unwrap().answers.clear();
    app.put(&format!("/webhook/{id}/enable"), &json!({}))
        .await
        .ok_data();
    receiver.wait_for(posted + 1).await;
    let third = sale(&app, 3.0).await;
    let posts = receiver.wait_for(posted + 2).await;
    let unique = receiver.unique();
    assert_eq!(unique.len(), 2, "{unique:#?}");
    assert_eq!(posts.last().unwrap().body["data"]["pg_id"], json!(third));
}

#[tokio::test]
async fn a_disabled_webhook_holds_its_queue_and_gets_no_new_events() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    receiver.answer(&[500]);
    let (id, _) = webhook(&app, &receiver, &["transaction_status_updated"]).await;
    let first = sale(&app, 1.0).await;
    attempts(&app, id, 1).await;
    app.put(&format!("/webhook/{id}/disable"), &json!({}))
        .await
        .ok_data();
    let during = sale(&app, 2.0).await;
    advance(&app, "PT1H").await;
    assert_eq!(attempts(&app, id, 1).await.len(), 1, "held while disabled");
    app.put(&format!("/webhook/{id}/enable"), &json!({}))
        .await
        .ok_data();
    let after = sale(&app, 3.0).await;
    receiver.wait_for(3).await;
    let pg_ids: Vec<Value> = receiver
        .unique()
        .iter()
        .map(|(_, body, _)| body["data"]["pg_id"].clone())
        .collect();
    assert_eq!(pg_ids, [json!(first), json!(after)]);
    assert!(!pg_ids.contains(&json!(during)));
}

#[tokio::test]
async fn a_vault_stopped_mid_delivery_loses_nothing_and_two_vaults_post_each_event_once() {
    let dir = shared_data_dir();
    let settings = |args: &mut vaultql::config::VaultArgs| {
        args.webhook_timeout_ms = 1_500;
        args.webhook_lease_ms = 2_000;
        args.webhook_poll_ms = 50;
    };
    let first = OwnServer::start(dir.path(), settings).await;
    let receiver = Receiver::start().await;
    let (id, secret) = webhook(&first.app, &receiver, &["transaction_status_updated"]).await;
    receiver.hold(true);
    let held = sale(&first.app, 1.0).await;
    receiver.wait_for(1).await;
    // The vault stops while the receiver holds its post: nothing was recorded.
    first.stop();
    receiver.hold(false);

    let a = OwnServer::start(dir.path(), settings).await;
    let b = OwnServer::start(dir.path(), settings).await;
    // Its lease runs out and one of the two posts it again, with the same event id.
    receiver.wait_for(2).await;
    let mut made = vec![held];
    for i in 0..10 {
        let app = if i % 2 == 0 { &a.app } else { &b.app };
        made.push(sale(app, f64::from(i) + 1.0).await);
    }
    let posts = receiver.wait_for(12).await;
    for post in &posts {
        assert_signed(post, &secret);
    }
    let unique = receiver.unique();
    let per_event: BTreeMap<String, usize> = unique
        .iter()
        .map(|(_, body, n)| (body["data"]["pg_id"].as_str().unwrap().to_owned(), *n))
        .collect();
    assert_eq!(unique.len(), 11, "every event arrived: {per_event:#?}");
    assert_eq!(
        per_event[&made[0]], 2,
        "the interrupted post was made again"
    );
    assert!(
        made[1..].iter().all(|pg_id| per_event[pg_id] == 1),
        "no other event twice: {per_event:#?}"
    );
    let log = attempts(&a.app, id, 11).await;
    assert_eq!(log.len(), 11, "one recorded attempt per event: {log:#?}");
    drop(b);
}
