//! Customer sessions: a merchant's secret key mints a short-lived token for one of its
//! customers (`createCustomerSession`), and the token (`Authorization: Bearer`) reads and
//! changes that customer only, and only what its permissions list. Everything else is FORBIDDEN
//! before any upstream call, the same whether or not the other customer exists.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::support::{
    Answer, EXP, GATEWAY_KEY, GatewayApp, ROUTING, basic, bearer, errors, input_type, masked,
    plan_body, single_error, visa,
};
use crate::capture;
use crate::helpers::{KEY_A, KEY_B};

/// Every `SessionPermission`.
const ALL: [&str; 10] = [
    "READ_PROFILE",
    "UPDATE_PROFILE",
    "READ_PAYMENT_METHODS",
    "ADD_PAYMENT_METHOD",
    "REMOVE_PAYMENT_METHOD",
    "SET_PRIMARY_PAYMENT_METHOD",
    "READ_SHIPPING_ADDRESSES",
    "MANAGE_SHIPPING_ADDRESSES",
    "READ_SUBSCRIPTIONS",
    "MANAGE_SUBSCRIPTIONS",
];

/// Every permission but `left_out`.
fn all_but(left_out: &str) -> Vec<&'static str> {
    ALL.iter().copied().filter(|p| *p != left_out).collect()
}

/// A customer as the merchant (the gateway's key) reads it: everything a session may change.
const MERCHANT_VIEW: &str = "query($id: String!) { customer(customerId: $id) {
  customerId firstName
  cards { cardId expDate } bankAccounts { cardId } primaryCard { cardId }
  shippingAddresses { shippingId city } primaryShippingAddress { shippingId }
  subscriptions { subscriptionId status amount }
} }";

/// The customer as the merchant sees it (null when there is none).
async fn merchant_view(app: &GatewayApp, id: &str) -> Value {
    app.data(MERCHANT_VIEW, json!({ "id": id })).await["customer"].clone()
}

/// Adds customer `id` of the gateway's merchant through REST, named `first`, with three cards
/// (`visa(base)`, `visa(base + 1)`, `visa(base + 2)`, the first primary) and three shipping
/// addresses; returns it read back with its ids.
async fn seed(app: &GatewayApp, id: &str, first: &str, base: u64) -> Value {
    let cards: Vec<Value> = (0..3)
        .map(|k| json!({ "card_number": visa(base + k), "exp_date": EXP, "billing_zip": "94107" }))
        .collect();
    let addresses: Vec<Value> = (0..3)
        .map(|k| json!({ "shipping_first_name": first, "shipping_last_name": id, "shipping_city": format!("City{k}") }))
        .collect();
    app.add_customer(json!({
        "customer_id": id,
        "customer_first_name": first,
        "customer_last_name": "Tester",
        "billing_cards": cards,
        "shipping_addresses": addresses
    }))
    .await;
    let query = "query($id: String!) { customer(customerId: $id) {
      id customerId firstName
      cards { id cardId maskedNumber }
      shippingAddresses { id shippingId }
    } }";
    app.data(query, json!({ "id": id })).await["customer"].clone()
}

/// A monthly subscription of `customer` with its own terms (5.00), created by the merchant;
/// returns its `subscriptionId`.
async fn subscribe(app: &GatewayApp, customer: &str, start_date: Option<&str>) -> String {
    let mut input =
        json!({ "customerId": customer, "frequency": "MONTHLY", "duration": -1, "amount": "5.00" });
    if let Some(date) = start_date {
        input["startDate"] = json!(date);
    }
    let data = app
        .data(
            "mutation($input: CreateSubscriptionInput!) {
               createSubscription(input: $input) { subscription { subscriptionId } }
             }",
            json!({ "input": input }),
        )
        .await;
    data["createSubscription"]["subscription"]["subscriptionId"]
        .as_str()
        .unwrap_or_else(|| panic!("a subscriptionId in {data}"))
        .to_owned()
}

/// A global id as the gateway makes them: base64url, unpadded, of `Type:ids`.
fn global_id(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

/// The `createCustomerSession` document for these arguments.
fn mint_document(customer_id: &str, permissions: &[&str], expires: Option<i64>) -> String {
    let expires = expires
        .map(|seconds| format!(", expiresInSeconds: {seconds}"))
        .unwrap_or_default();
    format!(
        r#"mutation {{ createCustomerSession(input: {{ customerId: "{customer_id}", permissions: [{}]{expires} }}) {{
             token expiresAt customerId permissions
           }} }}"#,
        permissions.join(", ")
    )
}

/// `createCustomerSession` sent with merchant `key`; the whole answer.
async fn try_mint(
    app: &GatewayApp,
    key: &str,
    customer_id: &str,
    permissions: &[&str],
    expires: Option<i64>,
) -> Answer {
    let document = mint_document(customer_id, permissions, expires);
    app.graphql_as(&basic(key), &document, json!({})).await
}

/// A session minted with merchant `key` for `customer_id` (900 seconds).
async fn mint<'a>(
    app: &'a GatewayApp,
    key: &str,
    customer_id: &str,
    permissions: &[&str],
) -> Session<'a> {
    let answer = try_mint(app, key, customer_id, permissions, None).await;
    let body = &answer.body;
    assert_eq!(answer.status, 200, "{body:#}");
    assert!(body.get("errors").is_none(), "minting failed: {body:#}");
    let token = body["data"]["createCustomerSession"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("a token in {body:#}"))
        .to_owned();
    Session { app, token }
}

/// A customer session: requests to `/graphql` with its token as `Authorization: Bearer`.
struct Session<'a> {
    app: &'a GatewayApp,
    token: String,
}

impl Session<'_> {
    /// The HTTP answer, whatever its status.
    async fn send(&self, query: &str, variables: Value) -> Answer {
        self.app
            .graphql_as(&bearer(&self.token), query, variables)
            .await
    }

    /// The body of a 200 answer and the upstream requests the request made.
    async fn counted(&self, query: &str, variables: Value) -> (Value, u64) {
        let before = self.app.upstream_requests().await;
        let answer = self.send(query, variables).await;
        let after = self.app.upstream_requests().await;
        assert_eq!(answer.status, 200, "{query} -> {:#}", answer.body);
        (answer.body, after - before)
    }

    /// The `data` of an answer without errors.
    async fn data(&self, query: &str, variables: Value) -> Value {
        let answer = self.send(query, variables).await;
        let body = answer.body;
        assert_eq!(answer.status, 200, "{query} -> {body:#}");
        assert!(
            body.get("errors").is_none(),
            "unexpected errors for {query}: {body:#}"
        );
        body["data"].clone()
    }
}

/// Asserts the answer is one FORBIDDEN error at `path`, with nothing at its root field, and
/// that the request made no upstream call.
#[track_caller]
fn assert_forbidden(body: &Value, calls: u64, path: Value) {
    let error = single_error(body, "FORBIDDEN");
    assert_eq!(error["path"], path, "{body:#}");
    let root = path[0].as_str().expect("a root field");
    assert!(
        body["data"].is_null() || body["data"][root].is_null(),
        "nothing at {root}: {body:#}"
    );
    assert_eq!(calls, 0, "no upstream call for a forbidden field: {body:#}");
}

/// `body` with each of `ids` replaced by a placeholder wherever a string holds it as a whole
/// word: two answers that differ only in the id they were asked about compare equal.
fn normalized(body: &Value, ids: &[&str]) -> Value {
    match body {
        Value::String(text) => Value::String(replace_words(text, ids)),
        Value::Array(items) => Value::Array(items.iter().map(|v| normalized(v, ids)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), normalized(v, ids)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `text` with each word (a run of letters, digits, `_` and `-`) that is one of `ids`
/// replaced by `[id N]`.
fn replace_words(text: &str, ids: &[&str]) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        match ids.iter().position(|id| id == word) {
            Some(i) => out.push_str(&format!("[id {i}]")),
            None => out.push_str(word),
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn sorted(values: &Value) -> Vec<String> {
    let mut items: Vec<String> = values
        .as_array()
        .unwrap_or_else(|| panic!("a list: {values}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect();
    items.sort();
    items
}

/// `expiresAt` in seconds since the epoch (an RFC 3339 date-time, or a number of seconds).
fn expiry_seconds(value: &Value) -> i64 {
    match value {
        Value::String(text) => chrono::DateTime::parse_from_rfc3339(text)
            .unwrap_or_else(|e| panic!("expiresAt {text} is not RFC 3339: {e}"))
            .timestamp(),
        Value::Number(n) => n.as_i64().expect("whole seconds"),
        other => panic!("expiresAt is {other}"),
    }
}

/// `token` with one character near `at` changed: one inside a run of letters and digits, so
/// the change is never in the unused bits at the end of a base64 segment.
fn altered(token: &str, at: usize) -> String {
    let bytes = token.as_bytes();
    let position = (at..bytes.len() - 1)
        .chain((1..at).rev())
        .find(|&i| {
            bytes[i].is_ascii_alphanumeric()
                && bytes[i - 1].is_ascii_alphanumeric()
                && bytes[i + 1].is_ascii_alphanumeric()
        })
        .unwrap_or_else(|| panic!("no character to change in {token}"));
    let mut changed = bytes.to_vec();
    changed[position] = if bytes[position] == b'A' { b'B' } else { b'A' };
    String::from_utf8(changed).expect("ASCII")
}

/// The mutation `field(input: $input) { selection }` with its input type.
fn mutation(field: &str, input_type: &str, selection: &str) -> String {
    format!("mutation($input: {input_type}!) {{ {field}(input: $input) {{ {selection} }} }}")
}

/// A merchant key mints a token for its own customer with exactly the permissions asked for
/// and an expiry `expiresInSeconds` (900 by default, 1 to 3600) ahead; an expiry out of range
/// is BAD_USER_INPUT, an unknown customer NOT_FOUND, and the token reads its customer.
#[tokio::test(flavor = "multi_thread")]
async fn a_merchant_key_mints_a_session_with_the_permissions_and_lifetime_it_asks_for() {
    let app = GatewayApp::spawn().await;
    seed(&app, "ALICE", "Alice", 10).await;

    let asked = ["READ_PROFILE", "READ_PAYMENT_METHODS"];
    let answer = try_mint(&app, GATEWAY_KEY, "ALICE", &asked, Some(600)).await;
    assert_eq!(answer.status, 200, "{:#}", answer.body);
    assert!(answer.body.get("errors").is_none(), "{:#}", answer.body);
    let minted = answer.body["data"]["createCustomerSession"].clone();
    assert_eq!(minted["customerId"], "ALICE", "{minted:#}");
    assert_eq!(
        sorted(&minted["permissions"]),
        ["READ_PAYMENT_METHODS", "READ_PROFILE"]
    );
    let token = minted["token"].as_str().expect("a token").to_owned();
    assert!(token.len() >= 16, "a token worth the name: {token}");
    assert!(!token.contains(GATEWAY_KEY), "the token carries the key");

    // The default lifetime is 900 seconds: 300 more than the 600 asked for above.
    let default = try_mint(&app, GATEWAY_KEY, "ALICE", &asked, None).await;
    assert!(default.body.get("errors").is_none(), "{:#}", default.body);
    let longer = expiry_seconds(&default.body["data"]["createCustomerSession"]["expiresAt"])
        - expiry_seconds(&minted["expiresAt"]);
    assert!(
        (240..=360).contains(&longer),
        "900 s against 600 s: {longer}"
    );
    assert_ne!(
        default.body["data"]["createCustomerSession"]["token"], minted["token"],
        "every session has its own token"
    );

    for seconds in [1, 3600] {
        let answer = try_mint(&app, GATEWAY_KEY, "ALICE", &asked, Some(seconds)).await;
        assert!(
            answer.body.get("errors").is_none(),
            "{seconds}: {:#}",
            answer.body
        );
    }
    for seconds in [0, -1, 3601, 86_400] {
        let answer = try_mint(&app, GATEWAY_KEY, "ALICE", &asked, Some(seconds)).await;
        assert_eq!(answer.status, 200, "{:#}", answer.body);
        single_error(&answer.body, "BAD_USER_INPUT");
        assert!(
            answer.body["data"].is_null(),
            "{seconds}: no token: {:#}",
            answer.body
        );
    }
    let unknown = try_mint(&app, GATEWAY_KEY, "NOBODY", &asked, None).await;
    single_error(&unknown.body, "NOT_FOUND");
    assert!(unknown.body["data"].is_null(), "{:#}", unknown.body);

    let session = Session { app: &app, token };
    let data = session
        .data(
            r#"{ customer(customerId: "ALICE") { customerId firstName cards { maskedNumber } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["customer"]["customerId"], "ALICE");
    assert_eq!(data["customer"]["firstName"], "Alice");
    assert_eq!(
        data["customer"]["cards"][0]["maskedNumber"],
        masked(&visa(10))
    );
}

/// A bearer token that is garbage, altered, cut short or extended, or a merchant key sent as
/// a bearer token, is refused with a 401 that says how to authenticate, before any upstream
/// call and without quoting it; the real token still works afterwards.
#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_or_altered_bearer_token_is_a_401_before_any_upstream_call() {
    let app = GatewayApp::spawn_with(|args| args.max_auth_failures = 1_000).await;
    seed(&app, "ALICE", "Alice", 10).await;
    let session = mint(&app, GATEWAY_KEY, "ALICE", &["READ_PROFILE"]).await;
    let token = session.token.clone();
    let len = token.len();
    let query = r#"{ customer(customerId: "ALICE") { customerId firstName } }"#;

    let forged = [
        altered(&token, len / 4),
        altered(&token, len / 2),
        altered(&token, len * 3 / 4),
        token[..len - 6].to_owned(),
        format!("{token}AAAA"),
        format!("x{token}"),
        "garbage".to_owned(),
        "not.a.token".to_owned(),
        GATEWAY_KEY.to_owned(),
        STANDARD.encode(format!("{GATEWAY_KEY}:")),
    ];
    let before = app.upstream_requests().await;
    for candidate in &forged {
        assert_ne!(candidate, &token);
        let answer = app.graphql_as(&bearer(candidate), query, json!({})).await;
        let body = &answer.body;
        assert_eq!(answer.status, 401, "{candidate}: {body:#}");
        assert!(
            answer.www_authenticate.is_some(),
            "{candidate}: a 401 says how to authenticate"
        );
        assert!(
            body.get("data").is_none_or(Value::is_null),
            "{candidate}: {body:#}"
        );
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{candidate}: {body:#}"
        );
        assert!(
            !body.to_string().contains(candidate.as_str()),
            "the token is quoted: {body:#}"
        );
    }
    assert_eq!(
        app.upstream_requests().await,
        before,
        "no upstream call for a refused token"
    );

    let data = session.data(query, json!({})).await;
    assert_eq!(data["customer"]["firstName"], "Alice");
}

/// `customer(customerId:)` of another customer, existing or not, an alias beside the
/// session's own customer, and `node(id:)` with forged ids of another customer's customer,
/// card or address are FORBIDDEN (the same answer whether the other customer exists or not)
/// and cost no upstream call; a forged id pairing the session's customer with another
/// customer's card or address finds nothing, and a plan is FORBIDDEN too.
#[tokio::test(flavor = "multi_thread")]
async fn a_session_cannot_read_another_customer_through_customer_node_or_aliases() {
    let app = GatewayApp::spawn().await;
    let alice = seed(&app, "ALICE", "Alice", 10).await;
    let bob = seed(&app, "BOB", "Bob", 20).await;
    app.add_plan(plan_body("GOLD", "Gold", 3, 10.0, -1)).await;
    let session = mint(
        &app,
        GATEWAY_KEY,
        "ALICE",
        &[
            "READ_PROFILE",
            "READ_PAYMENT_METHODS",
            "READ_SHIPPING_ADDRESSES",
        ],
    )
    .await;
    let by_id = "query($id: String!) { customer(customerId: $id) { customerId firstName } }";

    let (own, own_calls) = session.counted(by_id, json!({ "id": "ALICE" })).await;
    assert!(own.get("errors").is_none(), "{own:#}");
    assert_eq!(own["data"]["customer"]["firstName"], "Alice");

    let mut answers = Vec::new();
    for other in ["BOB", "NOBODY"] {
        let (body, calls) = session.counted(by_id, json!({ "id": other })).await;
        assert_forbidden(&body, calls, json!(["customer"]));
        answers.push(normalized(&body, &[other]));
    }
    assert_eq!(
        answers[0], answers[1],
        "the same for an existing and a missing customer"
    );

    // Aliases: the session's own customer is answered, the other one is not, and only the
    // own customer's upstream calls are made.
    for query in [
        r#"{ a: customer(customerId: "ALICE") { firstName } b: customer(customerId: "BOB") { firstName } }"#,
        r#"{ b: customer(customerId: "BOB") { firstName } a: customer(customerId: "ALICE") { firstName } }"#,
    ] {
        let (body, calls) = session.counted(query, json!({})).await;
        assert_eq!(body["data"]["a"]["firstName"], "Alice", "{body:#}");
        assert!(body["data"]["b"].is_null(), "{body:#}");
        let error = single_error(&body, "FORBIDDEN");
        assert_eq!(error["path"], json!(["b"]), "{body:#}");
        assert!(!body.to_string().contains("Bob"), "{body:#}");
        assert_eq!(calls, own_calls, "only a's upstream calls: {body:#}");
    }

    // Nodes of another customer, forged, whether or not that customer exists.
    let node = "query($id: ID!) { node(id: $id) { id __typename
      ... on Customer { firstName } ... on Card { maskedNumber } ... on ShippingAddress { city } } }";
    let bob_card = bob["cards"][0]["cardId"].as_str().unwrap();
    let bob_address = bob["shippingAddresses"][0]["shippingId"].as_str().unwrap();
    for kind in [
        "Customer:{}",
        "PaymentMethod:{}:{card}",
        "ShippingAddress:{}:{address}",
    ] {
        let mut answers = Vec::new();
        for other in ["BOB", "NOBODY"] {
            let id = global_id(
                &kind
                    .replace("{}", other)
                    .replace("{card}", bob_card)
                    .replace("{address}", bob_address),
            );
            let (body, calls) = session.counted(node, json!({ "id": id })).await;
            assert_forbidden(&body, calls, json!(["node"]));
            answers.push(normalized(&body, &[id.as_str(), other]));
        }
        assert_eq!(
            answers[0], answers[1],
            "{kind}: the same whether it exists or not"
        );
    }
    let (body, calls) = session
        .counted(node, json!({ "id": global_id("Plan:GOLD") }))
        .await;
    assert_forbidden(&body, calls, json!(["node"]));

    // The session's own nodes are found.
    let data = session.data(node, json!({ "id": alice["id"] })).await;
    assert_eq!(data["node"]["firstName"], "Alice");
    let data = session
        .data(node, json!({ "id": alice["cards"][0]["id"] }))
        .await;
    assert_eq!(
        data["node"]["maskedNumber"],
        alice["cards"][0]["maskedNumber"]
    );
    let data = session
        .data(node, json!({ "id": alice["shippingAddresses"][0]["id"] }))
        .await;
    assert_eq!(data["node"]["city"], "City0");

    // The session's customer with another customer's card or address: nothing of the other.
    for forged in [
        format!("PaymentMethod:ALICE:{bob_card}"),
        format!("ShippingAddress:ALICE:{bob_address}"),
    ] {
        let answer = session
            .send(node, json!({ "id": global_id(&forged) }))
            .await;
        assert_eq!(answer.status, 200, "{:#}", answer.body);
        assert!(
            answer.body["data"]["node"].is_null(),
            "{forged}: {:#}",
            answer.body
        );
        let text = answer.body.to_string();
        let bob_masked = bob["cards"][0]["maskedNumber"].as_str().unwrap();
        assert!(!text.contains(bob_masked), "{forged}: {text}");
        assert!(!text.contains("Bob"), "{forged}: {text}");
    }
}

/// `customers`, `plans`, `plan`, `subscriptions` and `subscription` are FORBIDDEN to a
/// session with every permission, even filtered to its own customer or naming its own
/// subscription, before any upstream call; so is `Plan.subscriptions` reached through the
/// session's own subscription, at no upstream call of its own.
#[tokio::test(flavor = "multi_thread")]
async fn lists_plans_and_subscriptions_at_the_root_are_forbidden_to_every_session() {
    let app = GatewayApp::spawn().await;
    seed(&app, "ALICE", "Alice", 10).await;
    app.add_plan(plan_body("GOLD", "Gold", 3, 10.0, -1)).await;
    let own = app
        .data(
            r#"mutation { createSubscription(input: { customerId: "ALICE", planCode: "GOLD" }) {
                 subscription { subscriptionId } } }"#,
            json!({}),
        )
        .await["createSubscription"]["subscription"]["subscriptionId"]
        .clone();
    let session = mint(&app, GATEWAY_KEY, "ALICE", &ALL).await;

    for (query, field) in [
        ("{ customers { totalCount } }", "customers"),
        (
            r#"{ customers(filter: { customerId: "ALICE" }) { edges { node { customerId } } } }"#,
            "customers",
        ),
        ("{ plans { totalCount } }", "plans"),
        (r#"{ plan(planCode: "GOLD") { planCode } }"#, "plan"),
        ("{ subscriptions { totalCount } }", "subscriptions"),
        (
            r#"{ subscriptions(filter: { customerId: "ALICE" }) { totalCount } }"#,
            "subscriptions",
        ),
        (
            "query($id: String!) { subscription(subscriptionId: $id) { subscriptionId } }",
            "subscription",
        ),
    ] {
        let (body, calls) = session.counted(query, json!({ "id": own })).await;
        assert_forbidden(&body, calls, json!([field]));
    }

    let base = r#"{ customer(customerId: "ALICE") { subscriptions { subscriptionId plan { planCode } } } }"#;
    let with_list = r#"{ customer(customerId: "ALICE") { subscriptions { subscriptionId
      plan { planCode subscriptions { totalCount } } } } }"#;
    let (_, base_calls) = session.counted(base, json!({})).await;
    let (body, calls) = session.counted(with_list, json!({})).await;
    let error = single_error(&body, "FORBIDDEN");
    let path = error["path"].as_array().cloned().unwrap_or_default();
    assert!(
        path.starts_with(&[
            json!("customer"),
            json!("subscriptions"),
            json!(0),
            json!("plan")
        ]),
        "at the plan or its subscriptions: {body:#}"
    );
    // (Where the null lands is `a_forbidden_field_is_null_..._nearest_nullable_parent`'s.)
    assert!(
        body["data"]["customer"]["subscriptions"][0]["plan"]["subscriptions"].is_null(),
        "no subscriptions of the plan: {body:#}"
    );
    assert_eq!(
        calls, base_calls,
        "Plan.subscriptions made no call: {body:#}"
    );
}

/// Each customer field beyond `id` and `customerId` needs its permission: with only that
/// permission it is answered, with every other one it is FORBIDDEN, without its data, at no
/// upstream call of its own. The card of a subscription or of a subscription's payment needs
/// READ_PAYMENT_METHODS as well.
#[tokio::test(flavor = "multi_thread")]
async fn each_customer_field_needs_the_permission_that_covers_it() {
    let app = GatewayApp::spawn_billing().await;
    let alice = seed(&app, "ALICE", "Alice", 10).await;
    let today = app.vault_today().await;
    subscribe(&app, "ALICE", Some(&today)).await;
    app.advance_clock("P1M").await;

    let bare = r#"{ customer(customerId: "ALICE") { id customerId } }"#;
    let nothing_to_read = mint(&app, GATEWAY_KEY, "ALICE", &["UPDATE_PROFILE"]).await;
    let data = nothing_to_read.data(bare, json!({})).await;
    assert_eq!(data["customer"]["id"], alice["id"]);
    assert_eq!(data["customer"]["customerId"], "ALICE");

    let fields: [(&str, &str, &str); 17] = [
        ("READ_PROFILE", "firstName", ""),
        ("READ_PROFILE", "lastName", ""),
        ("READ_PROFILE", "firmName", ""),
        ("READ_PROFILE", "email", ""),
        ("READ_PROFILE", "phone", ""),
        ("READ_PROFILE", "referenceId", ""),
        ("READ_PROFILE", "comments", ""),
        ("READ_PROFILE", "developerId", ""),
        ("READ_PAYMENT_METHODS", "cards", "{ cardId }"),
        ("READ_PAYMENT_METHODS", "bankAccounts", "{ cardId }"),
        ("READ_PAYMENT_METHODS", "paymentMethods", "{ cardId }"),
        ("READ_PAYMENT_METHODS", "primaryCard", "{ cardId }"),
        ("READ_PAYMENT_METHODS", "primaryPaymentMethod", "{ cardId }"),
        (
            "READ_SHIPPING_ADDRESSES",
            "shippingAddresses",
            "{ shippingId }",
        ),
        (
            "READ_SHIPPING_ADDRESSES",
            "primaryShippingAddress",
            "{ shippingId }",
        ),
        ("READ_SUBSCRIPTIONS", "subscriptions", "{ subscriptionId }"),
        (
            "READ_SUBSCRIPTIONS",
            "subscriptions",
            "{ transactions { totalCount } }",
        ),
    ];
    for permission in [
        "READ_PROFILE",
        "READ_PAYMENT_METHODS",
        "READ_SHIPPING_ADDRESSES",
        "READ_SUBSCRIPTIONS",
    ] {
        let only = mint(&app, GATEWAY_KEY, "ALICE", &[permission]).await;
        let without = mint(&app, GATEWAY_KEY, "ALICE", &all_but(permission)).await;
        let (_, bare_calls) = without.counted(bare, json!({})).await;
        for (_, field, selection) in fields.iter().filter(|(p, ..)| *p == permission) {
            let query = format!(
                r#"{{ customer(customerId: "ALICE") {{ id customerId {field} {selection} }} }}"#
            );
            let data = only.data(&query, json!({})).await;
            assert_eq!(data["customer"]["customerId"], "ALICE", "{field}: {data:#}");

            let (body, calls) = without.counted(&query, json!({})).await;
            let error = single_error(&body, "FORBIDDEN");
            assert_eq!(error["path"], json!(["customer", field]), "{body:#}");
            // No data of the field; where its null lands is the next test's.
            assert!(
                body["data"]["customer"][field].is_null(),
                "{field}: {body:#}"
            );
            assert_eq!(
                calls, bare_calls,
                "{field} made no call of its own: {body:#}"
            );
        }
    }

    // The cards of subscriptions and of their payments.
    let subscription_card = r#"{ customer(customerId: "ALICE") { subscriptions {
      subscriptionId card { cardId } } } }"#;
    let payment_card = r#"{ customer(customerId: "ALICE") { subscriptions {
      subscriptionId transactions { nodes { amount card { cardId } } } } } }"#;
    let subscriptions_only = mint(&app, GATEWAY_KEY, "ALICE", &["READ_SUBSCRIPTIONS"]).await;
    let (body, _) = subscriptions_only
        .counted(subscription_card, json!({}))
        .await;
    let error = single_error(&body, "FORBIDDEN");
    assert_eq!(
        error["path"],
        json!(["customer", "subscriptions", 0, "card"]),
        "{body:#}"
    );
    let subscription = &body["data"]["customer"]["subscriptions"][0];
    assert!(subscription["subscriptionId"].is_string(), "{body:#}");
    assert!(subscription["card"].is_null(), "{body:#}");

    let (body, _) = subscriptions_only.counted(payment_card, json!({})).await;
    let payments = body["data"]["customer"]["subscriptions"][0]["transactions"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("payments: {body:#}"))
        .clone();
    assert!(!payments.is_empty(), "a month was billed: {body:#}");
    assert_eq!(
        errors(&body).len(),
        payments.len(),
        "one per payment: {body:#}"
    );
    for (error, payment) in errors(&body).iter().zip(&payments) {
        assert_eq!(error["extensions"]["code"], "FORBIDDEN", "{body:#}");
        assert_eq!(
            error["path"].as_array().unwrap().last(),
            Some(&json!("card")),
            "{body:#}"
        );
        assert!(payment["amount"].is_string(), "{body:#}");
        assert!(payment["card"].is_null(), "{body:#}");
    }

    let with_cards = mint(
        &app,
        GATEWAY_KEY,
        "ALICE",
        &["READ_SUBSCRIPTIONS", "READ_PAYMENT_METHODS"],
    )
    .await;
    let data = with_cards.data(subscription_card, json!({})).await;
    assert_eq!(
        data["customer"]["subscriptions"][0]["card"]["cardId"],
        alice["cards"][0]["cardId"]
    );
    with_cards.data(payment_card, json!({})).await;
}

/// A FORBIDDEN field is null beside its siblings, and a FORBIDDEN non-null field makes its
/// nearest nullable parent null (GraphQL spec 6.4.4), like any other field error: the keys
/// stay in `data`.
#[tokio::test(flavor = "multi_thread")]
async fn a_forbidden_field_is_null_and_a_forbidden_non_null_field_nulls_its_nearest_nullable_parent()
 {
    let app = GatewayApp::spawn().await;
    seed(&app, "ALICE", "Alice", 10).await;
    seed(&app, "BOB", "Bob", 20).await;
    app.add_plan(plan_body("GOLD", "Gold", 3, 10.0, -1)).await;
    let own = app
        .data(
            r#"mutation { createSubscription(input: { customerId: "ALICE", planCode: "GOLD" }) {
                 subscription { subscriptionId } } }"#,
            json!({}),
        )
        .await["createSubscription"]["subscription"]["subscriptionId"]
        .clone();
    let session = mint(&app, GATEWAY_KEY, "ALICE", &["READ_SUBSCRIPTIONS"]).await;

    let cases = [
        (
            r#"{ own: customer(customerId: "ALICE") { customerId } other: customer(customerId: "BOB") { customerId } }"#,
            json!({ "own": { "customerId": "ALICE" }, "other": null }),
        ),
        (
            r#"{ customer(customerId: "ALICE") { customerId firstName } }"#,
            json!({ "customer": { "customerId": "ALICE", "firstName": null } }),
        ),
        (
            r#"{ customer(customerId: "ALICE") { customerId cards { cardId } } }"#,
            json!({ "customer": null }),
        ),
        (
            r#"{ customer(customerId: "ALICE") { customerId subscriptions { subscriptionId card { cardId } } } }"#,
            json!({ "customer": { "customerId": "ALICE",
                                  "subscriptions": [{ "subscriptionId": own, "card": null }] } }),
        ),
        (
            r#"{ customer(customerId: "ALICE") { customerId subscriptions { subscriptionId
                 plan { planCode subscriptions { totalCount } } } } }"#,
            json!({ "customer": { "customerId": "ALICE",
                                  "subscriptions": [{ "subscriptionId": own, "plan": null }] } }),
        ),
    ];
    let mut wrong = Vec::new();
    for (query, expected) in cases {
        let answer = session.send(query, json!({})).await;
        assert_eq!(answer.status, 200, "{:#}", answer.body);
        single_error(&answer.body, "FORBIDDEN");
        if answer.body["data"] != expected {
            wrong.push(format!(
                "{query}\n  expected data {expected}\n  got data      {}",
                answer.body["data"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Every customer mutation open to sessions needs its permission and the session's own
/// customer: without the permission, or for another customer (existing or not), it is
/// FORBIDDEN before any upstream call and changes nothing; with only that permission it
/// changes the session's customer.
#[tokio::test(flavor = "multi_thread")]
async fn each_session_mutation_needs_its_permission_and_the_sessions_own_customer() {
    let app = GatewayApp::spawn().await;
    let alice = seed(&app, "ALICE", "Alice", 10).await;
    let bob = seed(&app, "BOB", "Bob", 20).await;
    let card = |who: &Value, n: usize| who["cards"][n]["cardId"].clone();
    let address = |who: &Value, n: usize| who["shippingAddresses"][n]["shippingId"].clone();

    // (permission, field, input type, input for ALICE, input for BOB)
    let cases = [
        (
            "UPDATE_PROFILE",
            "updateCustomer",
            "UpdateCustomerInput",
            json!({ "firstName": "Alicia" }),
            json!({ "firstName": "Alicia" }),
        ),
        (
            "ADD_PAYMENT_METHOD",
            "addCard",
            "AddCardInput",
            json!({ "cardNumber": visa(31), "expDate": EXP, "billingZip": "94107" }),
            json!({ "cardNumber": visa(32), "expDate": EXP, "billingZip": "94107" }),
        ),
        (
            "ADD_PAYMENT_METHOD",
            "addBankAccount",
            "AddBankAccountInput",
            json!({ "routingNumber": ROUTING, "accountNumber": "111122223333", "billingFirstName": "A",
                    "billingLastName": "T", "billingZip": "94107" }),
            json!({ "routingNumber": ROUTING, "accountNumber": "444455556666", "billingFirstName": "B",
                    "billingLastName": "T", "billingZip": "94107" }),
        ),
        (
            "ADD_PAYMENT_METHOD",
            "updateCard",
            "UpdateCardInput",
            json!({ "cardId": card(&alice, 0), "expDate": "0833" }),
            json!({ "cardId": card(&bob, 0), "expDate": "0833" }),
        ),
        (
            "SET_PRIMARY_PAYMENT_METHOD",
            "setPrimaryCard",
            "SetPrimaryCardInput",
            json!({ "cardId": card(&alice, 1) }),
            json!({ "cardId": card(&bob, 1) }),
        ),
        (
            "REMOVE_PAYMENT_METHOD",
            "removeCard",
            "RemoveCardInput",
            json!({ "cardId": card(&alice, 2) }),
            json!({ "cardId": card(&bob, 2) }),
        ),
        (
            "MANAGE_SHIPPING_ADDRESSES",
            "addShippingAddress",
            "AddShippingAddressInput",
            json!({ "firstName": "New", "lastName": "Place", "city": "Fresno" }),
            json!({ "firstName": "New", "lastName": "Place", "city": "Fresno" }),
        ),
        (
            "MANAGE_SHIPPING_ADDRESSES",
            "updateShippingAddress",
            "UpdateShippingAddressInput",
            json!({ "shippingId": address(&alice, 0), "city": "Alameda" }),
            json!({ "shippingId": address(&bob, 0), "city": "Alameda" }),
        ),
        (
            "MANAGE_SHIPPING_ADDRESSES",
            "setPrimaryShippingAddress",
            "SetPrimaryShippingAddressInput",
            json!({ "shippingId": address(&alice, 1) }),
            json!({ "shippingId": address(&bob, 1) }),
        ),
        (
            "MANAGE_SHIPPING_ADDRESSES",
            "removeShippingAddress",
            "RemoveShippingAddressInput",
            json!({ "shippingId": address(&alice, 2) }),
            json!({ "shippingId": address(&bob, 2) }),
        ),
        (
            "MANAGE_SUBSCRIPTIONS",
            "createSubscription",
            "CreateSubscriptionInput",
            json!({ "frequency": "MONTHLY", "duration": -1, "amount": "5.00" }),
            json!({ "frequency": "MONTHLY", "duration": -1, "amount": "5.00" }),
        ),
    ];

    let bob_before = merchant_view(&app, "BOB").await;
    for (permission, field, input_type, own, other) in cases {
        let document = mutation(field, input_type, "customer { customerId }");
        let with_customer = |mut input: Value, id: &str| {
            input["customerId"] = json!(id);
            json!({ "input": input })
        };
        let alice_before = merchant_view(&app, "ALICE").await;

        let without = mint(&app, GATEWAY_KEY, "ALICE", &all_but(permission)).await;
        let (body, calls) = without
            .counted(&document, with_customer(own.clone(), "ALICE"))
            .await;
        assert_forbidden(&body, calls, json!([field]));

        let only = mint(&app, GATEWAY_KEY, "ALICE", &[permission]).await;
        let mut answers = Vec::new();
        for id in ["BOB", "NOBODY"] {
            let (body, calls) = only
                .counted(&document, with_customer(other.clone(), id))
                .await;
            assert_forbidden(&body, calls, json!([field]));
            answers.push(normalized(&body, &[id]));
        }
        assert_eq!(
            answers[0], answers[1],
            "{field}: the same for a missing customer"
        );
        assert_eq!(
            merchant_view(&app, "ALICE").await,
            alice_before,
            "{field}: refused, so nothing changed"
        );

        let data = only.data(&document, with_customer(own, "ALICE")).await;
        assert_eq!(data[field]["customer"]["customerId"], "ALICE", "{data:#}");
        assert_ne!(
            merchant_view(&app, "ALICE").await,
            alice_before,
            "{field} changed the session's customer"
        );
    }
    assert_eq!(
        merchant_view(&app, "BOB").await,
        bob_before,
        "BOB is untouched"
    );
}

/// Changing another customer's subscription (update, pause, resume, cancel) answers NOT_FOUND
/// exactly like a subscription that does not exist, with at most one lookup, and changes
/// nothing; `node` of that subscription is null like one that does not exist. The session's
/// own subscription can be read, and paused and resumed only with MANAGE_SUBSCRIPTIONS.
#[tokio::test(flavor = "multi_thread")]
async fn another_customers_subscription_is_not_found_to_a_session_and_stays_unchanged() {
    let app = GatewayApp::spawn().await;
    seed(&app, "ALICE", "Alice", 10).await;
    seed(&app, "BOB", "Bob", 20).await;
    let own = subscribe(&app, "ALICE", None).await;
    let bobs = subscribe(&app, "BOB", None).await;
    let missing = "987654321".to_owned();
    assert!(own != missing && bobs != missing);
    let read = "query($id: String!) { subscription(subscriptionId: $id) { status amount customer { customerId } } }";
    let bob_before = app.data(read, json!({ "id": bobs })).await["subscription"].clone();
    assert_eq!(bob_before["status"], "ACTIVE");
    let session = mint(&app, GATEWAY_KEY, "ALICE", &ALL).await;

    let actions = [
        (
            "updateSubscription",
            "UpdateSubscriptionInput",
            json!({ "amount": "1.00" }),
        ),
        ("pauseSubscription", "PauseSubscriptionInput", json!({})),
        ("resumeSubscription", "ResumeSubscriptionInput", json!({})),
        ("cancelSubscription", "CancelSubscriptionInput", json!({})),
    ];
    for (field, input_type, input) in &actions {
        let document = mutation(field, input_type, "subscription { subscriptionId status }");
        let mut answers = Vec::new();
        for id in [bobs.as_str(), missing.as_str()] {
            let mut input = input.clone();
            input["subscriptionId"] = json!(id);
            let (body, calls) = session.counted(&document, json!({ "input": input })).await;
            let error = single_error(&body, "NOT_FOUND");
            assert_eq!(error["path"], json!([field]), "{body:#}");
            assert!(
                body["data"].is_null() || body["data"][field].is_null(),
                "{body:#}"
            );
            assert!(
                calls <= 1,
                "{field}: at most one lookup, not {calls}: {body:#}"
            );
            answers.push(normalized(&body, &[id]));
        }
        assert_eq!(
            answers[0], answers[1],
            "{field}: exactly like a missing subscription"
        );
    }
    assert_eq!(
        app.data(read, json!({ "id": bobs })).await["subscription"],
        bob_before,
        "BOB's subscription is still active and unchanged"
    );

    let node = "query($id: ID!) { node(id: $id) { __typename ... on BillingSubscription { subscriptionId status } } }";
    let mut answers = Vec::new();
    for id in [bobs.as_str(), missing.as_str()] {
        let global = global_id(&format!("BillingSubscription:{id}"));
        let answer = session.send(node, json!({ "id": global })).await;
        assert_eq!(answer.status, 200, "{:#}", answer.body);
        assert!(answer.body["data"]["node"].is_null(), "{:#}", answer.body);
        answers.push(normalized(&answer.body, &[global.as_str(), id]));
    }
    assert_eq!(
        answers[0], answers[1],
        "node: exactly like a missing subscription"
    );
    let data = session
        .data(
            node,
            json!({ "id": global_id(&format!("BillingSubscription:{own}")) }),
        )
        .await;
    assert_eq!(data["node"]["subscriptionId"], own.as_str());

    // Without MANAGE_SUBSCRIPTIONS, not even the session's own subscription changes.
    let own_before = app.data(read, json!({ "id": own })).await["subscription"].clone();
    let read_only = mint(&app, GATEWAY_KEY, "ALICE", &all_but("MANAGE_SUBSCRIPTIONS")).await;
    for (field, input_type, input) in &actions {
        let document = mutation(field, input_type, "subscription { subscriptionId status }");
        let mut input = input.clone();
        input["subscriptionId"] = json!(own);
        let (body, calls) = read_only
            .counted(&document, json!({ "input": input }))
            .await;
        assert_forbidden(&body, calls, json!([field]));
    }
    assert_eq!(
        app.data(read, json!({ "id": own })).await["subscription"],
        own_before
    );

    for (field, status) in [
        ("pauseSubscription", "PAUSED"),
        ("resumeSubscription", "ACTIVE"),
    ] {
        let document = mutation(
            field,
            &input_type(field),
            "subscription { subscriptionId status }",
        );
        let data = session
            .data(&document, json!({ "input": { "subscriptionId": own } }))
            .await;
        assert_eq!(data[field]["subscription"]["status"], status, "{data:#}");
    }
}

/// Creating or deleting customers, managing plans and minting sessions are the merchant's:
/// FORBIDDEN to a session with every permission, even for its own customer, before any
/// upstream call, and nothing changes.
#[tokio::test(flavor = "multi_thread")]
async fn a_session_cannot_create_or_delete_customers_manage_plans_or_mint_sessions() {
    let app = GatewayApp::spawn().await;
    seed(&app, "ALICE", "Alice", 10).await;
    app.add_plan(plan_body("GOLD", "Gold", 3, 10.0, -1)).await;
    let session = mint(&app, GATEWAY_KEY, "ALICE", &ALL).await;
    let alice_before = merchant_view(&app, "ALICE").await;
    let all_plans = "{ plans(includeArchived: true) { nodes { planCode name amount status } } }";
    let plans_before = app.data(all_plans, json!({})).await;
    assert_eq!(
        plans_before["plans"]["nodes"][0]["status"], "ACTIVE",
        "{plans_before:#}"
    );

    let refused = [
        (
            "createCustomer",
            "CreateCustomerInput",
            "customer { customerId }",
            json!({ "customerId": "EVE", "firstName": "Eve", "lastName": "Tester" }),
        ),
        (
            "deleteCustomer",
            "DeleteCustomerInput",
            "deletedCustomerId",
            json!({ "customerId": "ALICE" }),
        ),
        (
            "createPlan",
            "CreatePlanInput",
            "plan { planCode }",
            json!({ "planCode": "FREE", "name": "Free", "description": "Free", "frequency": "MONTHLY",
                    "duration": -1, "amount": "0.01" }),
        ),
        (
            "updatePlan",
            "UpdatePlanInput",
            "plan { planCode }",
            json!({ "planCode": "GOLD", "name": "Stolen", "amount": "0.01" }),
        ),
        (
            "archivePlan",
            "ArchivePlanInput",
            "plan { planCode }",
            json!({ "planCode": "GOLD" }),
        ),
        (
            "deletePlan",
            "DeletePlanInput",
            "deletedPlanCode",
            json!({ "planCode": "GOLD" }),
        ),
    ];
    for (field, input_type, selection, input) in refused {
        let (body, calls) = session
            .counted(
                &mutation(field, input_type, selection),
                json!({ "input": input }),
            )
            .await;
        assert_forbidden(&body, calls, json!([field]));
    }
    let (body, calls) = session
        .counted(&mint_document("ALICE", &ALL, Some(3600)), json!({}))
        .await;
    assert_forbidden(&body, calls, json!(["createCustomerSession"]));

    assert_eq!(merchant_view(&app, "ALICE").await, alice_before);
    assert!(merchant_view(&app, "EVE").await.is_null());
    assert_eq!(app.data(all_plans, json!({})).await, plans_before);
}

/// Links from the session's customer (a card's, an address's, a subscription's customer, a
/// subscription's card's customer, a node's customer) all lead back to that customer.
#[tokio::test(flavor = "multi_thread")]
async fn links_from_a_sessions_customer_lead_back_to_the_same_customer() {
    let app = GatewayApp::spawn().await;
    let alice = seed(&app, "ALICE", "Alice", 10).await;
    seed(&app, "BOB", "Bob", 20).await;
    subscribe(&app, "ALICE", None).await;
    let session = mint(
        &app,
        GATEWAY_KEY,
        "ALICE",
        &[
            "READ_PROFILE",
            "READ_PAYMENT_METHODS",
            "READ_SHIPPING_ADDRESSES",
            "READ_SUBSCRIPTIONS",
        ],
    )
    .await;

    let data = session
        .data(
            r#"query($card: ID!) {
              customer(customerId: "ALICE") {
                customerId
                cards { customer { customerId firstName cards { customer { customerId } } } }
                paymentMethods { customer { customerId } }
                primaryCard { customer { customerId } }
                primaryPaymentMethod { customer { customerId } }
                shippingAddresses { customer { customerId firstName } }
                primaryShippingAddress { customer { customerId } }
                subscriptions { customer { customerId } card { customer { customerId } } }
              }
              node(id: $card) { ... on Card { customer { customerId firstName } } }
            }"#,
            json!({ "card": alice["cards"][0]["id"] }),
        )
        .await;
    let text = data.to_string();
    let links = text.matches(r#""customerId":"ALICE""#).count();
    assert!(links >= 20, "{links} links: {data:#}");
    assert_eq!(
        text.matches(r#""customerId":"#).count(),
        links,
        "every link is ALICE: {data:#}"
    );
    assert!(!text.contains("Bob"), "{data:#}");
    assert_eq!(data["node"]["customer"]["firstName"], "Alice");
}

/// With the same customer id at two merchants, a session minted with merchant 1001's key sees
/// 1001's customer (name, cards) and one minted with 2002's key sees 2002's, neither the
/// other's; a key of a merchant without that customer cannot mint a session for it.
#[tokio::test(flavor = "multi_thread")]
async fn sessions_of_two_merchants_for_the_same_customer_id_each_see_their_own_merchants_customer()
{
    let app = GatewayApp::spawn().await;
    for (key, name, number) in [(KEY_A, "Alice", visa(41)), (KEY_B, "Bob", visa(42))] {
        app.vault_post_as(
            key,
            "/vault/customer",
            json!({ "customer_id": "TWIN", "customer_first_name": name, "customer_last_name": "Twin",
                    "billing_cards": [{ "card_number": number, "exp_date": EXP, "billing_zip": "94107" }] }),
        )
        .await;
    }
    let permissions = ["READ_PROFILE", "READ_PAYMENT_METHODS"];
    let query =
        r#"{ customer(customerId: "TWIN") { id firstName cards { id cardId maskedNumber } } }"#;
    let mut seen = Vec::new();
    for (key, name, number, other_number) in [
        (KEY_A, "Alice", visa(41), visa(42)),
        (KEY_B, "Bob", visa(42), visa(41)),
    ] {
        let session = mint(&app, key, "TWIN", &permissions).await;
        let data = session.data(query, json!({})).await;
        let twin = &data["customer"];
        assert_eq!(twin["firstName"], name, "{key}: {data:#}");
        assert_eq!(
            twin["cards"],
            json!([{ "id": twin["cards"][0]["id"], "cardId": twin["cards"][0]["cardId"],
                     "maskedNumber": masked(&number) }]),
            "{key}: {data:#}"
        );
        assert!(
            !data.to_string().contains(&masked(&other_number)),
            "{key}: {data:#}"
        );
        let node = session
            .data(
                "query($id: ID!) { node(id: $id) { ... on Customer { firstName } } }",
                json!({ "id": twin["id"] }),
            )
            .await;
        assert_eq!(node["node"]["firstName"], name, "{key}: {node:#}");
        seen.push((
            session,
            twin["cards"][0]["cardId"].as_str().unwrap().to_owned(),
        ));
    }
    // Merchant 1001's session asking for 2002's card of TWIN by a forged id, and back.
    for (session, other_card) in [(&seen[0].0, &seen[1].1), (&seen[1].0, &seen[0].1)] {
        let id = global_id(&format!("PaymentMethod:TWIN:{other_card}"));
        let answer = session
            .send(
                "query($id: ID!) { node(id: $id) { ... on Card { maskedNumber } } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(answer.status, 200, "{:#}", answer.body);
        assert!(answer.body["data"]["node"].is_null(), "{:#}", answer.body);
    }

    let answer = try_mint(&app, GATEWAY_KEY, "TWIN", &permissions, None).await;
    single_error(&answer.body, "NOT_FOUND");
    assert!(answer.body["data"].is_null(), "{:#}", answer.body);
}

/// Minting a session with a merchant key, using its token (and an altered one) and adding a
/// card with a CVV through it logs none of the token, the key, the card number or the CVV.
#[tokio::test(flavor = "multi_thread")]
async fn no_log_line_carries_a_session_token_key_card_number_or_cvv() {
    const CUSTOMER: &str = "SessLog01";
    const CVV: &str = "582";
    let app = GatewayApp::spawn().await;
    app.vault_post_as(
        KEY_A,
        "/vault/customer",
        json!({ "customer_id": CUSTOMER, "customer_first_name": "Log", "customer_last_name": "Test" }),
    )
    .await;
    let session = mint(
        &app,
        KEY_A,
        CUSTOMER,
        &["READ_PAYMENT_METHODS", "ADD_PAYMENT_METHOD"],
    )
    .await;
    let number = visa(8_801);
    let data = session
        .data(
            "mutation($input: AddCardInput!) { addCard(input: $input) { customer { customerId } } }",
            json!({ "input": { "customerId": CUSTOMER, "cardNumber": number, "expDate": EXP,
                               "cvv2": CVV, "verify": true, "billingZip": "94107" } }),
        )
        .await;
    assert_eq!(data["addCard"]["customer"]["customerId"], CUSTOMER);
    let data = session
        .data(
            &format!(r#"{{ customer(customerId: "{CUSTOMER}") {{ cards {{ maskedNumber verifiedAt }} }} }}"#),
            json!({}),
        )
        .await;
    assert_eq!(
        data["customer"]["cards"][0]["maskedNumber"],
        masked(&number)
    );
    let forged = altered(&session.token, session.token.len() / 2);
    let refused = app
        .graphql_as(&bearer(&forged), "{ __typename }", json!({}))
        .await;
    assert_eq!(refused.status, 401, "{:#}", refused.body);

    let logs = capture::logs();
    assert!(
        logs.contains(CUSTOMER),
        "this test's requests were not logged, so it cannot see a leak"
    );
    let token = &session.token;
    let middle = token.len() / 2;
    let mut secrets = vec![
        token.clone(),
        forged,
        number,
        KEY_A.to_owned(),
        STANDARD.encode(format!("{KEY_A}:")),
    ];
    if token.len() >= 24 && token.is_ascii() {
        secrets.push(token[middle - 10..middle + 10].to_owned());
    }
    for secret in &secrets {
        if let Some(line) = logs.lines().find(|line| line.contains(secret.as_str())) {
            panic!(
                "the logs contain a secret in: {}",
                line.replace(secret.as_str(), "[SECRET]")
            );
        }
    }
    for line in logs.lines() {
        let quoted = line.contains(&format!("\"{CVV}\""));
        let near_name = line.match_indices("cvv").any(|(at, _)| {
            line[at..]
                .chars()
                .take(24)
                .collect::<String>()
                .contains(CVV)
        });
        assert!(
            !quoted && !near_name,
            "the logs may contain the CVV in: {line}"
        );
    }
}

/// The merchant's webhooks are not a customer's: reading or changing them is FORBIDDEN to a
/// session with every permission, before any upstream call.
#[tokio::test(flavor = "multi_thread")]
async fn webhooks_are_forbidden_to_every_session() {
    let app = GatewayApp::spawn().await;
    seed(&app, "ALICE", "Alice", 10).await;
    let session = mint(&app, GATEWAY_KEY, "ALICE", &ALL).await;
    for (query, field) in [
        ("{ webhooks { totalCount } }", "webhooks"),
        (r#"{ webhook(webhookId: "1") { label } }"#, "webhook"),
        (
            r#"mutation { createWebhook(input: { label: "x", notificationUrl: "https://example.com/h",
                 events: ["subscription_suspended"] }) { secret } }"#,
            "createWebhook",
        ),
        (
            r#"mutation { updateWebhook(input: { webhookId: "1", label: "x" }) { webhook { label } } }"#,
            "updateWebhook",
        ),
        (
            r#"mutation { enableWebhook(input: { webhookId: "1" }) { webhook { status } } }"#,
            "enableWebhook",
        ),
        (
            r#"mutation { disableWebhook(input: { webhookId: "1" }) { webhook { status } } }"#,
            "disableWebhook",
        ),
    ] {
        let (body, calls) = session.counted(query, json!({})).await;
        assert_forbidden(&body, calls, json!([field]));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_account_updater_is_forbidden_to_every_session() {
    let app = GatewayApp::spawn().await;
    let alice = seed(&app, "ALICE", "Alice", 10).await;
    let card_id = alice["cards"][0]["cardId"].as_str().unwrap().to_owned();
    let session = mint(&app, GATEWAY_KEY, "ALICE", &ALL).await;
    for (query, field) in [
        (
            format!(
                r#"mutation {{ startAccountUpdater(input: {{ cardIds: ["{card_id}"] }}) {{
                     request {{ status }} }} }}"#
            ),
            "startAccountUpdater",
        ),
        (
            format!(
                r#"mutation {{ holdCard(input: {{ customerId: "ALICE", cardId: "{card_id}" }}) {{
                     card {{ isOnHold }} }} }}"#
            ),
            "holdCard",
        ),
        (
            format!(
                r#"mutation {{ releaseCard(input: {{ customerId: "ALICE", cardId: "{card_id}" }}) {{
                     card {{ isOnHold }} }} }}"#
            ),
            "releaseCard",
        ),
    ] {
        let (body, calls) = session.counted(&query, json!({})).await;
        assert_forbidden(&body, calls, json!([field]));
    }
}
