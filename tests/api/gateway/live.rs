//! Live events: GraphQL subscriptions over WebSocket (`graphql-transport-ws`, `graphql-ws`),
//! fed by the embedded vault's webhooks or by signed deliveries to `POST /webhooks/qualpay`.
//!
//! Silence is proven by order, not by waiting: a subscriber that must not hear of an event is
//! sent one of its own afterwards, and the first thing it receives must be that one.

use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use vaultql::config::Toggle;

use super::billing_graph::{DECLINING, create_plan, customer_with_cards, subscribe};
use super::support::{EXP, GATEWAY_KEY, GatewayApp, Sandbox, VaultAccess, masked, visa};
use crate::helpers::{KEY_A, KEY_B};
use crate::testdata::{AU_NEW_NUMBER, AU_TEST_CARDS};

/// Longest a test waits for a message it expects.
const PATIENCE: Duration = Duration::from_secs(20);

const SECRET: &str = "qualpay-webhook-secret-for-tests";

fn basic(key: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
    format!("Basic {encoded}")
}

/// One GraphQL socket, as a client library would drive it.
struct Socket {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    protocol: &'static str,
    /// Messages of other subscriptions read while looking for one's.
    held: Vec<Value>,
}

/// What the server sent next.
#[derive(Debug)]
enum Received {
    Json(Value),
    Closed(u16, String),
}

impl Socket {
    /// Opens `/graphql` with `protocol`, from a page of `origin` when given; the handshake's
    /// HTTP status when it is refused.
    async fn open(
        app: &GatewayApp,
        protocol: &'static str,
        origin: Option<&str>,
    ) -> Result<Socket, u16> {
        let url = app.base.replacen("http://", "ws://", 1) + "/graphql";
        let mut request = url.into_client_request().expect("a request");
        let headers = request.headers_mut();
        headers.insert("sec-websocket-protocol", protocol.parse().unwrap());
        if let Some(origin) = origin {
            headers.insert("origin", origin.parse().unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((stream, _)) => Ok(Socket {
                stream,
                protocol,
                held: Vec::new(),
            }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(error) => panic!("the socket did not open: {error}"),
        }
    }

    async fn send(&mut self, message: Value) {
        self.stream
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("the message is sent");
    }

    /// `connection_init` with this `Authorization`; answers what came back.
    async fn init(&mut self, authorization: Option<&str>) -> Received {
        let payload = match authorization {
            Some(authorization) => json!({ "Authorization": authorization }),
            None => json!({}),
        };
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        self.next().await
    }

    /// A socket acknowledged for `authorization`.
    async fn ready(app: &GatewayApp, authorization: &str) -> Socket {
        let mut socket = Socket::open(app, "graphql-transport-ws", None)
            .await
            .expect("the socket opens");
        let ack = socket.init(Some(authorization)).await;
        assert!(
            matches!(&ack, Received::Json(message) if message["type"] == "connection_ack"),
            "{ack:?}"
        );
        socket
    }

    async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let kind = match self.protocol {
            "graphql-ws" => "start",
            _ => "subscribe",
        };
        self.send(json!({ "id": id, "type": kind, "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next message (pings answered and skipped), or the close.
    async fn next(&mut self) -> Received {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.stream.next())
                .await
                .unwrap_or_else(|_| panic!("no message in time; held: {:?}", self.held));
            match message {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).expect("JSON");
                    if value["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    if value["type"] == "ka" {
                        continue;
                    }
                    return Received::Json(value);
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    return Received::Closed(code, reason);
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Received::Closed(1006, String::new()),
            }
        }
    }

    /// The next `next` (or `data`) message's payload for subscription `id`; messages of other
    /// subscriptions read meanwhile are held for them.
    async fn event(&mut self, id: &str) -> Value {
        let message = match self.held.iter().position(|m| m["id"] == id) {
            Some(at) => self.held.remove(at),
            None => loop {
                match self.next().await {
                    Received::Json(message) if message["id"] == id => break message,
                    Received::Json(message) if message["id"].is_string() => self.held.push(message),
                    other => panic!("expected an event for {id}, got {other:?}"),
                }
            },
        };
        assert!(
            message["type"] == "next" || message["type"] == "data",
            "expected an event for {id}, got {message}"
        );
        message["payload"].clone()
    }

    /// Subscription `id` has ended: `complete` is the next thing the server sends.
    async fn completed(&mut self, id: &str) {
        let message = self.next().await;
        assert!(
            matches!(&message, Received::Json(m) if m["type"] == "complete" && m["id"] == id),
            "{message:?}"
        );
    }

    /// The close code and reason, the next thing the server must send.
    async fn closed(&mut self) -> (u16, String) {
        match self.next().await {
            Received::Closed(code, reason) => (code, reason),
            other => panic!("expected the socket to close, got {other:?}"),
        }
    }
}

/// A customer session token minted with the gateway's key.
async fn session_token(
    app: &GatewayApp,
    customer_id: &str,
    permissions: &[&str],
    expires: Option<i64>,
) -> String {
    let expires = expires
        .map(|seconds| format!(", expiresInSeconds: {seconds}"))
        .unwrap_or_default();
    let document = format!(
        r#"mutation {{ createCustomerSession(input: {{ customerId: "{customer_id}", permissions: [{}]{expires} }}) {{ token }} }}"#,
        permissions.join(", ")
    );
    let data = app.data(&document, json!({})).await;
    data["createCustomerSession"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("a token in {data}"))
        .to_owned()
}

const BILLING_EVENT: &str = "eventId type occurredAt subscription { subscriptionId status customer { customerId } } payment { status responseCode amount }";

async fn spawn_live() -> GatewayApp {
    GatewayApp::spawn_with(|args| {
        args.vault.billing_interval_secs = 0;
        args.embedded_webhooks = Toggle::On;
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merchant_subscriber_hears_each_billing_event_once_in_order_right_after_the_clock_advance()
 {
    let app = spawn_live().await;
    create_plan(&app, "LIVE", "MONTHLY", "15.00", -1).await;
    customer_with_cards(&app, "Decliner", &[DECLINING]).await;
    let today = app.vault_today().await;
    let failing = subscribe(
        &app,
        json!({ "customerId": "Decliner", "planCode": "LIVE", "startDate": today }),
    )
    .await;
    let subscription_id = failing["subscriptionId"].clone();

    let mut merchant = Socket::ready(&app, &basic(GATEWAY_KEY)).await;
    merchant
        .subscribe(
            "all",
            &format!("subscription {{ billingEvents {{ {BILLING_EVENT} }} }}"),
            json!({}),
        )
        .await;
    merchant
        .subscribe(
            "payments",
            "subscription($c: String!) { paymentEvents(customerId: $c) { type payment { status customer { customerId } } subscription { subscriptionId } } }",
            json!({ "c": "Decliner" }),
        )
        .await;

    // Both listen before anything happens (the gateway counts a subscription once it listens).
    app.wait_for_metric("vaultql_graphql_subscriptions_active 2")
        .await;
    let advanced = Instant::now();
    let clock = app.advance_clock("P1D").await;
    assert_eq!(
        clock["declined"], 2,
        "today's charge and the first retry: {clock}"
    );
    let first = merchant.event("all").await;
    println!(
        "the first decline reached the subscriber {} ms after the clock advance was sent",
        advanced.elapsed().as_millis()
    );
    let event = &first["data"]["billingEvents"];
    assert_eq!(event["type"], "PAYMENT_FAILED", "{first:#}");
    assert_eq!(event["subscription"]["subscriptionId"], subscription_id);
    assert_eq!(event["subscription"]["customer"]["customerId"], "Decliner");
    assert_eq!(event["payment"]["status"], "DECLINED", "{first:#}");
    let payment = merchant.event("payments").await;
    assert_eq!(
        payment["data"]["paymentEvents"]["type"], "SUBSCRIPTION_PAYMENT_FAILED",
        "{payment:#}"
    );
    assert_eq!(
        payment["data"]["paymentEvents"]["subscription"]["subscriptionId"],
        subscription_id
    );

    // Retries after one, three and five days, then suspension: each once, in order.
    let clock = app.advance_clock("P10D").await;
    assert_eq!(clock["declined"], 2, "{clock}");
    let mut kinds = Vec::new();
    let mut ids = vec![event["eventId"].clone()];
    for _ in 0..4 {
        let next = merchant.event("all").await;
        kinds.push(next["data"]["billingEvents"]["type"].clone());
        ids.push(next["data"]["billingEvents"]["eventId"].clone());
    }
    assert_eq!(
        kinds,
        [
            "PAYMENT_FAILED",
            "PAYMENT_FAILED",
            "PAYMENT_FAILED",
            "SUSPENDED"
        ],
        "{ids:?}"
    );
    ids.sort_by_key(Value::to_string);
    ids.dedup();
    assert_eq!(ids.len(), 5, "every event has its own id");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_session_hears_only_its_own_customers_events() {
    let app = spawn_live().await;
    create_plan(&app, "MINE", "MONTHLY", "9.00", -1).await;
    customer_with_cards(&app, "Decliner", &[DECLINING]).await;
    customer_with_cards(&app, "Payer", &[&visa(300)]).await;
    let today = app.vault_today().await;
    subscribe(
        &app,
        json!({ "customerId": "Decliner", "planCode": "MINE", "startDate": today }),
    )
    .await;
    let tomorrow = super::support::date_plus(&today, 0, 1);
    subscribe(
        &app,
        json!({ "customerId": "Payer", "planCode": "MINE", "startDate": tomorrow }),
    )
    .await;
    let token = session_token(
        &app,
        "Payer",
        &["READ_SUBSCRIPTIONS", "READ_PAYMENTS"],
        None,
    )
    .await;
    let mut session = Socket::ready(&app, &format!("Bearer {token}")).await;
    session
        .subscribe(
            "mine",
            "subscription { subscriptionEvents(customerId: \"Payer\") { type subscription { customer { customerId } } } }",
            json!({}),
        )
        .await;
    session
        .subscribe(
            "paid",
            "subscription { paymentEvents(customerId: \"Payer\") { type payment { status } } }",
            json!({}),
        )
        .await;
    // Another customer's subscription, or the merchant's whole stream: refused at once.
    for (id, query) in [
        (
            "theirs",
            "subscription { subscriptionEvents(customerId: \"Decliner\") { type } }",
        ),
        ("everything", "subscription { billingEvents { type } }"),
    ] {
        session.subscribe(id, query, json!({})).await;
        let refused = session.event(id).await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{refused}"
        );
        session.completed(id).await;
    }

    app.wait_for_metric("vaultql_graphql_subscriptions_active 2")
        .await;
    // Today Decliner's payment fails; tomorrow Payer's is approved. The session's first event
    // must be Payer's: it never heard of Decliner's.
    let clock = app.advance_clock("P1D").await;
    assert_eq!(
        (clock["declined"].clone(), clock["approved"].clone()),
        (json!(2), json!(1)),
        "{clock}"
    );
    let mine = session.event("mine").await;
    assert_eq!(
        mine["data"]["subscriptionEvents"],
        json!({ "type": "PAYMENT_SUCCEEDED", "subscription": { "customer": { "customerId": "Payer" } } })
    );
    let paid = session.event("paid").await;
    assert_eq!(
        paid["data"]["paymentEvents"]["type"], "SUBSCRIPTION_PAYMENT_SUCCEEDED",
        "{paid:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sockets_without_good_credentials_in_time_are_closed_with_the_protocols_codes() {
    let app = spawn_live().await;
    // No Authorization, a key the upstream refuses, a forged token.
    for authorization in [
        None,
        Some(basic("not-a-key")),
        Some("Bearer vqs1.forged".to_owned()),
    ] {
        let mut socket = Socket::open(&app, "graphql-transport-ws", None)
            .await
            .unwrap();
        let answer = socket.init(authorization.as_deref()).await;
        assert!(
            matches!(&answer, Received::Closed(4403, _)),
            "{authorization:?}: {answer:?}"
        );
    }
    // Subscribing before connection_init.
    let mut early = Socket::open(&app, "graphql-transport-ws", None)
        .await
        .unwrap();
    early
        .subscribe("1", "subscription { billingEvents { type } }", json!({}))
        .await;
    assert_eq!(early.closed().await.0, 4401);
    // A browser page of another origin may not open one; the gateway's own may.
    assert_eq!(
        Socket::open(&app, "graphql-transport-ws", Some("https://evil.example"))
            .await
            .err(),
        Some(403)
    );
    let own = app.base.clone();
    assert!(
        Socket::open(&app, "graphql-transport-ws", Some(&own))
            .await
            .is_ok()
    );
    // A message over 1 MiB ends the socket.
    let mut flooding = Socket::ready(&app, &basic(GATEWAY_KEY)).await;
    let huge = format!("{{ __typename {} }}", " ".repeat(2 * 1024 * 1024));
    let message = json!({ "id": "big", "type": "subscribe", "payload": { "query": huge } });
    // The server may close while the message is still being written: either way it ends.
    let sent = flooding
        .stream
        .send(Message::Text(message.to_string().into()))
        .await;
    assert!(sent.is_err() || matches!(flooding.next().await, Received::Closed(_, _)));
    // Nothing sent: closed after ten seconds.
    let mut silent = Socket::open(&app, "graphql-transport-ws", None)
        .await
        .unwrap();
    let started = Instant::now();
    assert_eq!(silent.closed().await.0, 4408);
    assert!(started.elapsed() >= Duration::from_secs(9));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sessions_socket_closes_when_its_token_expires_and_queries_run_once() {
    let app = spawn_live().await;
    customer_with_cards(&app, "Brief", &[&visa(301)]).await;
    let token = session_token(&app, "Brief", &["READ_PROFILE"], Some(1)).await;
    let mut socket = Socket::ready(&app, &format!("Bearer {token}")).await;
    socket
        .subscribe(
            "q",
            "{ customer(customerId: \"Brief\") { customerId } }",
            json!({}),
        )
        .await;
    let answer = socket.event("q").await;
    assert_eq!(answer["data"]["customer"]["customerId"], "Brief");
    socket.completed("q").await;
    let (code, reason) = socket.closed().await;
    assert_eq!(code, 4403, "{reason}");
    assert!(reason.contains("expired"), "{reason}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_updater_run_reaches_card_update_subscribers_with_the_cards_as_changed() {
    let app = spawn_live().await;
    let [new_expiry, new_number, closed] = ["201", "202", "203"].map(|code| {
        AU_TEST_CARDS
            .iter()
            .find(|(_, reason)| *reason == code)
            .expect("a test card")
            .0
    });
    let ids = customer_with_cards(&app, "Updated", &[new_expiry, new_number, closed]).await;
    let mut socket = Socket::ready(&app, &basic(GATEWAY_KEY)).await;
    socket
        .subscribe(
            "cards",
            "subscription { cardUpdates(customerId: \"Updated\") { reasonCode outcome card { cardId maskedNumber expYear isOnHold updatedByAccountUpdaterAt } } }",
            json!({}),
        )
        .await;
    app.wait_for_metric("vaultql_graphql_subscriptions_active 1")
        .await;
    let started = app
        .data(
            "mutation($ids: [ID!]!) { startAccountUpdater(input: { cardIds: $ids }) { request { status } } }",
            json!({ "ids": ids }),
        )
        .await;
    assert_eq!(
        started["startAccountUpdater"]["request"]["status"], "IN_PROGRESS",
        "{started}"
    );
    // The brands answer 3 days later by the merchant's clock.
    app.advance_clock("P3D").await;
    let mut updates = Vec::new();
    for _ in 0..3 {
        updates.push(socket.event("cards").await["data"]["cardUpdates"].clone());
    }
    updates.sort_by_key(|update| update["reasonCode"].to_string());
    let summary: Vec<_> = updates
        .iter()
        .map(|u| {
            (
                u["outcome"].clone(),
                u["card"]["maskedNumber"].clone(),
                u["card"]["expYear"].clone(),
                u["card"]["isOnHold"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                json!("NEW_EXPIRY"),
                json!(masked(new_expiry)),
                json!(2042),
                json!(false)
            ),
            (
                json!("NEW_NUMBER"),
                json!(masked(AU_NEW_NUMBER)),
                json!(2039),
                json!(false)
            ),
            (
                json!("ACCOUNT_CLOSED"),
                json!(masked(closed)),
                json!(2039),
                json!(true)
            ),
        ],
        "{updates:#?}"
    );
    let same_cards: Vec<_> = updates
        .iter()
        .map(|u| u["card"]["cardId"].clone())
        .collect();
    assert_eq!(
        same_cards,
        ids.iter().map(|id| json!(id)).collect::<Vec<_>>()
    );
    assert!(
        updates
            .iter()
            .all(|u| u["card"]["updatedByAccountUpdaterAt"].is_string())
    );
}

/// A delivery as Qualpay posts it, with its signature under `secret`.
fn signed(body: &Value, secret: &str) -> (String, String) {
    let text = body.to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(text.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (text, signature)
}

async fn deliver(app: &GatewayApp, body: &str, signature: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/webhooks/qualpay", app.base))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("x-qualpay-webhook-signature", signature);
    }
    let response = request.send().await.expect("an answer");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn card_update(card_id: &str, customer_id: &str, reason_code: &str, request_id: i64) -> Value {
    json!({ "webhook_id": 77, "db_timestamp": "2027-03-04 05:06:07", "is_test": false,
            "event": "account_updater_request_completed",
            "data": { "request_id": request_id, "status": "COMPLETED",
                      "cards": [{ "card_id": card_id, "customer_id": customer_id, "reason_code": reason_code }] } })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_receiver_publishes_signed_deliveries_once_and_refuses_forged_ones() {
    let sandbox = Sandbox::spawn().await;
    let mut app = GatewayApp::in_front_of_url_customized(&sandbox.url(), KEY_A, |args| {
        args.qualpay_webhook_secrets = vec![SECRET.to_owned()];
    })
    .await;
    app.vault = Some(VaultAccess {
        platform: format!("{}/platform", sandbox.url()),
        key: KEY_A.into(),
    });
    let cards = customer_with_cards(&app, "Cardy", &[&visa(302)]).await;
    let theirs = app
        .vault_post_as(
            KEY_B,
            "/vault/customer",
            json!({ "customer_id": "Cardy", "customer_first_name": "Other", "customer_last_name": "Merchant",
                    "billing_cards": [{ "card_number": visa(303), "exp_date": EXP, "billing_zip": "94107" }] }),
        )
        .await;
    let their_card = theirs["billing_cards"][0]["card_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let updates = "subscription { cardUpdates(customerId: \"Cardy\") { reasonCode outcome occurredAt card { cardId expYear } } }";
    let mut mine = Socket::ready(&app, &basic(KEY_A)).await;
    mine.subscribe("cards", updates, json!({})).await;
    // The older protocol too, for the other merchant.
    let mut other = Socket::open(&app, "graphql-ws", None).await.unwrap();
    let ack = other.init(Some(&basic(KEY_B))).await;
    assert!(
        matches!(&ack, Received::Json(m) if m["type"] == "connection_ack"),
        "{ack:?}"
    );
    other.subscribe("cards", updates, json!({})).await;
    app.wait_for_metric("vaultql_graphql_subscriptions_active 2")
        .await;

    let (body, signature) = signed(&card_update(&cards[0], "Cardy", "201", 1), SECRET);
    assert_eq!(
        deliver(&app, &body, Some(&signature)).await,
        (200, json!({ "received": true, "duplicate": false }))
    );
    let event = mine.event("cards").await;
    assert_eq!(
        event["data"]["cardUpdates"],
        json!({ "reasonCode": "201", "outcome": "NEW_EXPIRY", "occurredAt": "2027-03-04T05:06:07+00:00",
                "card": { "cardId": cards[0], "expYear": 2039 } })
    );
    // The same delivery again, a forged one, an unsigned one: none is published.
    assert_eq!(
        deliver(&app, &body, Some(&signature)).await,
        (200, json!({ "received": true, "duplicate": true }))
    );
    let (forged, _) = signed(&card_update(&cards[0], "Cardy", "203", 2), SECRET);
    let (_, wrong) = signed(&card_update(&cards[0], "Cardy", "203", 2), "another-secret");
    assert_eq!(deliver(&app, &forged, Some(&wrong)).await.0, 401);
    assert_eq!(deliver(&app, &forged, None).await.0, 401);
    assert_eq!(
        deliver(&app, "{\"event\":", Some("bm90IGEgc2lnbmF0dXJl"))
            .await
            .0,
        401
    );

    // The other merchant's own card: the first (and only) thing each socket hears next.
    let (body, signature) = signed(&card_update(&their_card, "Cardy", "206", 3), SECRET);
    assert_eq!(deliver(&app, &body, Some(&signature)).await.0, 200);
    let (body, signature) = signed(&card_update(&cards[0], "Cardy", "200", 4), SECRET);
    assert_eq!(deliver(&app, &body, Some(&signature)).await.0, 200);
    let theirs = other.event("cards").await;
    assert_eq!(
        theirs["data"]["cardUpdates"]["card"]["cardId"],
        their_card.as_str(),
        "{theirs:#}"
    );
    assert_eq!(theirs["data"]["cardUpdates"]["outcome"], "NO_MATCH");
    let next = mine.event("cards").await;
    assert_eq!(next["data"]["cardUpdates"]["reasonCode"], "200", "{next:#}");

    // Too large: refused unread.
    let huge = format!("{{\"event\":\"{}\"}}", "x".repeat(300 * 1024));
    assert_eq!(deliver(&app, &huge, Some(&signature)).await.0, 413);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_webhook_secret_the_receiver_is_not_there() {
    let sandbox = Sandbox::spawn().await;
    let app = GatewayApp::in_front_of(&sandbox, KEY_A).await;
    let (body, signature) = signed(&card_update("x", "y", "200", 1), SECRET);
    assert_eq!(deliver(&app, &body, Some(&signature)).await.0, 404);
}
