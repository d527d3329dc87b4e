//! Starts gateways (with the embedded vault, or in front of a sandbox, a fake or nothing) and
//! wraps `/graphql`, `/metrics` and the vault's REST API in helpers.
//!
//! Every GraphQL response that goes through [`GatewayApp::graphql`] is scanned for the card
//! numbers, account numbers and CVVs this app was ever sent (through GraphQL or REST).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Method, StatusCode, Uri};
use serde_json::{Value, json};
use tempfile::TempDir;
use vaultql::app::Application;
use vaultql::config::{ServeArgs, UpstreamBatch};

use crate::capture;
use crate::helpers::{KEY_A, default_args, default_vault_args};

/// The key the embedded vault accepts for the gateway's merchant.
pub const GATEWAY_KEY: &str = "gateway-key";

/// A far-future expiry: December 2039.
pub const EXP: &str = "1239";

/// Routing number with a valid ABA checksum.
pub const ROUTING: &str = "011000015";

/// The value of `series` (`name{labels}` exactly as written) in a `/metrics` text; 0 when the
/// series is not there.
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.parse().expect("a number"))
}

/// The `n`-th of a family of Luhn-valid 16-digit Visa numbers.
pub fn visa(n: u64) -> String {
    luhn_complete(&format!("4{:014}", 52_000_000_000 + n))
}

/// `payload` followed by its Luhn check digit.
pub fn luhn_complete(payload: &str) -> String {
    let sum: u32 = payload
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).expect("digits only");
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    format!("{payload}{}", (10 - sum % 10) % 10)
}

/// `first6 + x.. + last4`, the vault's mask.
pub fn masked(number: &str) -> String {
    let len = number.len();
    format!(
        "{}{}{}",
        &number[..6],
        "x".repeat(len - 10),
        &number[len - 4..]
    )
}

fn scratch_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("gateway-test-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a temporary directory")
}

/// A client whose every request carries `key` as GraphQL credentials (HTTP Basic, the key as
/// user name, an empty password).
fn client(key: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, basic(key));
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .default_headers(headers)
        .build()
        .expect("an HTTP client")
}

/// `Authorization: Basic` with `key` as user name and an empty password.
pub fn basic(key: &str) -> reqwest::header::HeaderValue {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
    reqwest::header::HeaderValue::from_str(&format!("Basic {encoded}")).expect("a header value")
}

/// Everything secret this app was sent.
#[derive(Default)]
struct Secrets {
    /// Card and account numbers: no response may contain one anywhere.
    numbers: Vec<String>,
    /// CVVs: no JSON string of a response may equal one.
    cvvs: Vec<String>,
}

impl Secrets {
    /// Collects secrets from GraphQL variables or REST bodies, by their field names.
    fn collect(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        (
                            "cardNumber" | "accountNumber" | "card_number" | "dda_number",
                            Value::String(s),
                        ) if s.len() >= 4 => self.add_number(s),
                        ("cardNumber" | "accountNumber", Value::Number(n)) => {
                            self.add_number(&n.to_string())
                        }
                        ("cvv2", Value::String(s)) if !s.is_empty() => self.cvvs.push(s.clone()),
                        _ => self.collect(value),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| self.collect(item)),
            _ => {}
        }
    }

    /// Collects `cardNumber: "..."`, `accountNumber: "..."` and `cvv2: "..."` literals from a
    /// query text.
    fn collect_from_query(&mut self, query: &str) {
        for (name, is_cvv) in [
            ("cardNumber", false),
            ("accountNumber", false),
            ("cvv2", true),
        ] {
            let mut rest = query;
            while let Some(at) = rest.find(name) {
                rest = &rest[at + name.len()..];
                let literal = rest
                    .trim_start()
                    .strip_prefix(':')
                    .map(str::trim_start)
                    .and_then(|r| r.strip_prefix('"'))
                    .and_then(|r| r.split('"').next());
                match literal {
                    Some(value) if is_cvv && !value.is_empty() => self.cvvs.push(value.into()),
                    Some(value) if !is_cvv && value.len() >= 4 => self.add_number(value),
                    _ => {}
                }
            }
        }
    }

    fn add_number(&mut self, number: &str) {
        // A masked echo keeps the first six and the last four digits; anything longer than
        // ten digits cannot appear whole in a masked value.
        self.numbers.push(number.to_owned());
    }

    #[track_caller]
    fn assert_absent(&self, text: &str, json: &Value, what: &str) {
        for number in &self.numbers {
            assert!(
                !text.contains(number.as_str()),
                "a response echoes the full number {number}: {what} -> {text}"
            );
        }
        for cvv in &self.cvvs {
            assert!(
                !string_equals(json, cvv),
                "a response echoes the CVV {cvv}: {what} -> {text}"
            );
        }
        assert!(
            !has_cvv_key(json),
            "a response has a cvv field: {what} -> {text}"
        );
        if let Some(run) = long_digit_run(text) {
            panic!("a response carries a run of {run} digits (a card number?): {what} -> {text}");
        }
    }
}

fn string_equals(value: &Value, needle: &str) -> bool {
    match value {
        Value::String(s) => s == needle,
        Value::Object(map) => map.values().any(|v| string_equals(v, needle)),
        Value::Array(items) => items.iter().any(|v| string_equals(v, needle)),
        _ => false,
    }
}

fn has_cvv_key(value: &Value) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.to_ascii_lowercase().contains("cvv") || has_cvv_key(v)),
        Value::Array(items) => items.iter().any(has_cvv_key),
        _ => false,
    }
}

/// The length of the first run of 13 or more digits, the shortest card number.
fn long_digit_run(text: &str) -> Option<usize> {
    let mut run = 0;
    for byte in text.bytes().chain(std::iter::once(b' ')) {
        if byte.is_ascii_digit() {
            run += 1;
        } else if run >= 13 {
            return Some(run);
        } else {
            run = 0;
        }
    }
    None
}

/// Where and how the test reaches the vault's REST API directly (to seed data).
#[derive(Clone)]
pub struct VaultAccess {
    /// `http://127.0.0.1:PORT/platform`
    pub platform: String,
    pub key: String,
}

/// A running gateway.
pub struct GatewayApp {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The vault behind the gateway, for seeding; `None` when there is none reachable.
    pub vault: Option<VaultAccess>,
    client: reqwest::Client,
    secrets: Arc<Mutex<Secrets>>,
    _dirs: Vec<Arc<TempDir>>,
}

/// A standalone vault sandbox (`vaultql sandbox`) on port 0, keys as in `helpers::DEFAULT_KEYS`.
pub struct Sandbox {
    pub port: u16,
    dir: Arc<TempDir>,
}

impl Sandbox {
    pub async fn spawn() -> Sandbox {
        capture::init();
        let dir = scratch_dir();
        let app = Application::build_sandbox(default_args(dir.path()))
            .await
            .expect("the vault sandbox starts");
        let port = app.port();
        tokio::spawn(async move {
            let _ = app.run_until_stopped().await;
        });
        Sandbox {
            port,
            dir: Arc::new(dir),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl GatewayApp {
    /// A gateway with the embedded vault, no demo data, batching with IN.
    pub async fn spawn() -> GatewayApp {
        Self::spawn_with(|_| {}).await
    }

    /// A gateway with the embedded vault, no demo data and this batching.
    pub async fn spawn_batching(batch: UpstreamBatch) -> GatewayApp {
        Self::spawn_with(|args| args.upstream_batch = batch).await
    }

    /// A gateway with the embedded vault; `customize` may change its arguments.
    pub async fn spawn_with(customize: impl FnOnce(&mut ServeArgs)) -> GatewayApp {
        let dir = scratch_dir();
        let mut args = Self::args(dir.path().to_path_buf());
        customize(&mut args);
        let mut app = Self::start(args, vec![Arc::new(dir)]).await;
        app.vault = Some(VaultAccess {
            platform: format!("{}/platform", app.base),
            key: GATEWAY_KEY.into(),
        });
        app
    }

    /// A pure gateway in front of `sandbox`, authenticating with `key`.
    pub async fn in_front_of(sandbox: &Sandbox, key: &str) -> GatewayApp {
        let mut app = Self::in_front_of_url(&sandbox.url(), key).await;
        app._dirs.push(sandbox.dir.clone());
        app.vault = Some(VaultAccess {
            platform: format!("{}/platform", sandbox.url()),
            key: KEY_A.into(),
        });
        app
    }

    /// A pure gateway in front of whatever answers at `url`.
    pub async fn in_front_of_url(url: &str, key: &str) -> GatewayApp {
        Self::in_front_of_url_with(url, key, UpstreamBatch::In).await
    }

    /// A pure gateway in front of whatever answers at `url`, batching as `batch` says.
    pub async fn in_front_of_url_with(url: &str, key: &str, batch: UpstreamBatch) -> GatewayApp {
        Self::in_front_of_url_customized(url, key, |args| args.upstream_batch = batch).await
    }

    /// A pure gateway in front of whatever answers at `url`, with settings of the test's.
    pub async fn in_front_of_url_customized(
        url: &str,
        key: &str,
        customize: impl FnOnce(&mut ServeArgs),
    ) -> GatewayApp {
        let dir = scratch_dir();
        let mut args = Self::args(dir.path().to_path_buf());
        customize(&mut args);
        args.upstream = Some(url.to_owned());
        args.upstream_api_key = Some(key.to_owned());
        args.upstream_connect_timeout_ms = 1_000;
        args.upstream_timeout_ms = 5_000;
        Self::start(args, vec![Arc::new(dir)]).await
    }

    fn args(data_dir: PathBuf) -> ServeArgs {
        let mut args = ServeArgs::new(&data_dir);
        args.listen = "127.0.0.1:0".parse().expect("a socket address");
        args.no_seed = true;
        args.upstream_api_key = Some(GATEWAY_KEY.into());
        args.vault = default_vault_args(&data_dir);
        args.upstream_batch = UpstreamBatch::In;
        // Only the live subscription tests want the vault's events posted to the gateway.
        args.embedded_webhooks = vaultql::config::Toggle::Off;
        args
    }

    async fn start(args: ServeArgs, dirs: Vec<Arc<TempDir>>) -> GatewayApp {
        capture::init();
        let key = args
            .upstream_api_key
            .clone()
            .unwrap_or_else(|| GATEWAY_KEY.to_owned());
        let app = Application::build(args).await.expect("the gateway starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(async move {
            let _ = app.run_until_stopped().await;
        });
        GatewayApp {
            base,
            vault: None,
            client: client(&key),
            secrets: Arc::default(),
            _dirs: dirs,
        }
    }

    // ---- GraphQL ----

    /// POSTs a GraphQL request as `application/json`; asserts a 200 with a JSON object body
    /// that carries none of the secrets this app was ever sent, and returns the body.
    #[track_caller]
    pub fn graphql<'a>(
        &'a self,
        query: &'a str,
        variables: Value,
    ) -> impl Future<Output = Value> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            let (status, body) = self.graphql_status(query, variables).await;
            assert_eq!(status, 200, "({caller}) {query} -> {status} {body}");
            body
        }
    }

    /// Like [`Self::graphql`], with the HTTP status, which is not checked.
    pub async fn graphql_status(&self, query: &str, variables: Value) -> (u16, Value) {
        let answer = self.post_graphql(None, query, variables).await;
        (answer.status, answer.body)
    }

    /// `graphql`, asserting there are no errors; returns `data`.
    #[track_caller]
    pub fn data<'a>(
        &'a self,
        query: &'a str,
        variables: Value,
    ) -> impl Future<Output = Value> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            let body = self.graphql(query, variables).await;
            assert!(
                body.get("errors").is_none(),
                "({caller}) unexpected errors for {query}: {body:#}"
            );
            body["data"].clone()
        }
    }

    // ---- metrics and probes ----

    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path} failed: {e}"));
        let status = response.status().as_u16();
        (status, response.text().await.expect("a readable body"))
    }

    /// Waits until `/metrics` has the line `line` (a gauge reaching a value: the state the test
    /// needs, observed rather than waited out).
    pub async fn wait_for_metric(&self, line: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let (_, metrics) = self.get("/metrics").await;
            if metrics.lines().any(|l| l == line) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "/metrics never had {line}: {metrics}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The value of one series on `/metrics`, written exactly as it is there
    /// (`name{label="value",...}`); 0 when it is not there yet.
    pub async fn metric(&self, series: &str) -> f64 {
        self.metrics(&[series]).await[0]
    }

    /// [`Self::metric`] of each series, from one scrape.
    pub async fn metrics(&self, series: &[&str]) -> Vec<f64> {
        let (status, text) = self.get("/metrics").await;
        assert_eq!(status, 200, "/metrics: {text}");
        series.iter().map(|s| metric_value(&text, s)).collect()
    }

    /// POSTs `query` as the operation `operation_name` (no variables); returns the status and
    /// the body.
    pub async fn graphql_named(&self, operation_name: &str, query: &str) -> (u16, Value) {
        let body = json!({ "query": query, "operationName": operation_name });
        let response = self
            .client
            .post(format!("{}/graphql", self.base))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /graphql failed: {e}"));
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// `vaultql_upstream_requests_total` by its labels (`method="GET",route="...",status="200"`).
    pub async fn upstream_counts(&self) -> BTreeMap<String, u64> {
        let (status, text) = self.get("/metrics").await;
        assert_eq!(status, 200, "/metrics: {text}");
        text.lines()
            .filter_map(|line| line.strip_prefix("vaultql_upstream_requests_total{"))
            .map(|rest| {
                let (labels, count) = rest.rsplit_once("} ").expect("`{labels} count`");
                let count = count.trim().parse().expect("an integer count");
                (labels.to_owned(), count)
            })
            .collect()
    }

    /// Upstream requests the gateway has sent so far, from `/metrics`.
    pub async fn upstream_requests(&self) -> u64 {
        self.upstream_counts().await.values().sum()
    }

    /// Runs `query` and returns its data with the number of upstream requests it cost.
    #[track_caller]
    pub fn counted<'a>(
        &'a self,
        query: &'a str,
        variables: Value,
    ) -> impl Future<Output = (Value, u64)> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            let before = self.upstream_requests().await;
            let body = self.graphql(query, variables).await;
            assert!(
                body.get("errors").is_none(),
                "({caller}) unexpected errors: {body:#}"
            );
            let after = self.upstream_requests().await;
            (body["data"].clone(), after - before)
        }
    }

    // ---- the vault's REST API ----

    fn vault_access(&self) -> &VaultAccess {
        self.vault
            .as_ref()
            .expect("this gateway has no vault the test can reach")
    }

    /// Sends a REST request to the vault with its key; returns status and body.
    pub async fn vault_call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let access = self.vault_access();
        if let Some(body) = body {
            self.secrets.lock().unwrap().collect(body);
        }
        let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).expect("a method");
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", access.platform))
            .basic_auth(&access.key, Some(""));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path} failed: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.expect("a readable body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A REST call that must succeed; returns the envelope's `data`.
    #[track_caller]
    pub fn vault_ok<'a>(
        &'a self,
        method: Method,
        path: &'a str,
        body: Option<Value>,
    ) -> impl Future<Output = Value> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            let (status, json) = self.vault_call(method.clone(), path, body.as_ref()).await;
            assert!(
                status == 200 && json["code"] == 0,
                "({caller}) {method} {path} -> {status} {json}"
            );
            json["data"].clone()
        }
    }

    /// `POST /vault/customer` (or another path) with the gateway's vault key.
    #[track_caller]
    pub fn vault_post<'a>(
        &'a self,
        path: &'a str,
        body: Value,
    ) -> impl Future<Output = Value> + 'a {
        self.vault_ok(Method::POST, path, Some(body))
    }

    /// Adds one customer through REST.
    #[track_caller]
    pub fn add_customer(&self, body: Value) -> impl Future<Output = Value> + '_ {
        self.vault_post("/vault/customer", body)
    }

    /// Adds `count` customers `{prefix}{i:02}` (i from 0), each with `cards` generated Visa cards
    /// (numbers `visa(i * 10 + k)`) and `addresses` shipping addresses.
    pub async fn seed(
        &self,
        prefix: &str,
        count: usize,
        cards: usize,
        addresses: usize,
    ) -> Vec<String> {
        let mut ids = Vec::new();
        for i in 0..count {
            let id = format!("{prefix}{i:02}");
            self.add_customer(seed_body(&id, i, cards, addresses)).await;
            ids.push(id);
        }
        ids
    }
}

/// A customer with generated cards and addresses, as `GatewayApp::seed` sends it.
pub fn seed_body(id: &str, i: usize, cards: usize, addresses: usize) -> Value {
    let cards: Vec<Value> = (0..cards)
        .map(|k| {
            json!({
                "card_number": visa((i * 10 + k) as u64),
                "exp_date": EXP,
                "billing_zip": "94107"
            })
        })
        .collect();
    let addresses: Vec<Value> = (0..addresses)
        .map(|k| {
            json!({
                "shipping_first_name": format!("Ship{k}"),
                "shipping_last_name": id,
                "shipping_addr1": format!("{k} Main St"),
                "shipping_zip": "94107"
            })
        })
        .collect();
    json!({
        "customer_id": id,
        "customer_first_name": "First",
        "customer_last_name": format!("Last{id}"),
        "billing_cards": cards,
        "shipping_addresses": addresses
    })
}

/// The errors of a response.
#[track_caller]
pub fn errors(body: &Value) -> &Vec<Value> {
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("expected errors: {body:#}"))
}

/// Asserts that the response has exactly one error, with this `extensions.code`; returns it.
#[track_caller]
pub fn single_error<'a>(body: &'a Value, code: &str) -> &'a Value {
    let errors = errors(body);
    assert_eq!(errors.len(), 1, "expected one error: {body:#}");
    let error = &errors[0];
    assert_eq!(error["extensions"]["code"], code, "{body:#}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "an error has a message: {body:#}"
    );
    error
}

/// A fake Qualpay upstream: answers every request with what `answer(method, uri)` says.
pub async fn fake_upstream(
    answer: impl Fn(&Method, &Uri) -> (u16, Value) + Send + Sync + 'static,
) -> String {
    let answer = Arc::new(answer);
    let router = axum::Router::new().fallback(move |method: Method, uri: Uri| {
        let answer = answer.clone();
        async move {
            let (status, body) = answer(&method, &uri);
            (
                StatusCode::from_u16(status).expect("a status"),
                axum::Json(body),
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port for the fake upstream");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    url
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("an address").port();
    drop(listener);
    port
}

/// `customerId`s of a connection's edges.
#[track_caller]
pub fn edge_ids(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no edges in {connection}"))
        .iter()
        .map(|edge| {
            edge["node"]["customerId"]
                .as_str()
                .expect("customerId")
                .to_owned()
        })
        .collect()
}

#[test]
fn the_card_generator_makes_luhn_valid_visa_numbers() {
    assert_eq!(luhn_complete("411111111111111"), "4111111111111111");
    assert_eq!(luhn_complete("400000000000000"), "4000000000000002");
    let number = visa(7);
    assert_eq!(number.len(), 16);
    assert!(number.starts_with('4'));
    assert_eq!(masked("4111111111111111"), "411111xxxxxx1111");
    assert_eq!(long_digit_run("a 4111111111111111 b"), Some(16));
    assert_eq!(long_digit_run("20390101 415555010 1234567890123"), Some(13));
    assert_eq!(long_digit_run("123456789012"), None);
}

#[test]
fn the_secret_scan_finds_echoed_numbers_and_cvvs() {
    let mut secrets = Secrets::default();
    secrets.collect(
        &json!({ "input": { "cards": [{ "cardNumber": "4111111111111111", "cvv2": "123" }] } }),
    );
    secrets.collect_from_query(
        r#"mutation { addCard(input: { cardNumber: "5555555555554444", cvv2: "456" }) { x } }"#,
    );
    assert_eq!(secrets.numbers, ["4111111111111111", "5555555555554444"]);
    assert_eq!(secrets.cvvs, ["123", "456"]);
    let scan = |json: Value| {
        let text = json.to_string();
        std::panic::catch_unwind(|| secrets.assert_absent(&text, &json, "test")).is_err()
    };
    assert!(!scan(
        json!({ "data": { "maskedNumber": "555555xxxxxx4444", "zip": "94123" } })
    ));
    assert!(scan(
        json!({ "errors": [{ "message": "bad 5555555555554444" }] })
    ));
    assert!(scan(json!({ "data": { "x": "456" } })));
    assert!(scan(json!({ "data": { "cvv2": null } })));
    assert!(
        scan(json!({ "data": { "n": "6011111111111117" } })),
        "any long digit run"
    );
}

// ---- recurring billing ----

impl GatewayApp {
    /// A gateway with the embedded vault and no demo data, whose vault runs no billing
    /// scheduler (`billing_interval_secs = 0`): only the sandbox clock bills, so what is billed
    /// and when is deterministic.
    pub async fn spawn_billing() -> GatewayApp {
        Self::spawn_with(|args| args.vault.billing_interval_secs = 0).await
    }

    /// The vault's date for the gateway's merchant (`GET /sandbox/clock`), `YYYY-MM-DD`.
    pub async fn vault_today(&self) -> String {
        let clock = self.vault_ok(Method::GET, "/sandbox/clock", None).await;
        clock["today"]
            .as_str()
            .expect("the clock's today")
            .to_owned()
    }

    /// Moves the merchant's clock forward by an ISO 8601 duration (`P1M`, `P10D`, `PT1S`), which
    /// bills everything that fell due; returns the clock's answer (`today`, `approved`,
    /// `declined`).
    pub async fn advance_clock(&self, by: &str) -> Value {
        self.vault_ok(
            Method::POST,
            "/sandbox/clock",
            Some(json!({ "advance": by })),
        )
        .await
    }

    /// Moves the merchant's clock forward to `date` (`YYYY-MM-DD`) in days, billing what falls
    /// due. Chained `P1M` advances drift at month ends (January 31, then February 28, then
    /// March 28); this lands on the day asked for.
    pub async fn advance_clock_to(&self, date: &str) -> Value {
        let parse =
            |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("a YYYY-MM-DD date");
        let today = self.vault_today().await;
        let days = (parse(date) - parse(&today)).num_days();
        assert!(days >= 0, "the clock only goes forward: {today} -> {date}");
        self.advance_clock(&format!("P{days}D")).await
    }

    /// `POST /plan` through REST; returns the plan.
    #[track_caller]
    pub fn add_plan(&self, body: Value) -> impl Future<Output = Value> + '_ {
        self.vault_post("/plan", body)
    }

    /// `POST /subscription` through REST; returns the subscription.
    #[track_caller]
    pub fn add_subscription(&self, body: Value) -> impl Future<Output = Value> + '_ {
        self.vault_post("/subscription", body)
    }
}

/// A REST `POST /plan` body: `frequency` is Qualpay's code (3 monthly, 4 quarterly, 6 annually).
pub fn plan_body(code: &str, name: &str, frequency: i32, amount: f64, duration: i32) -> Value {
    json!({
        "plan_code": code,
        "plan_name": name,
        "plan_desc": format!("{name} plan"),
        "plan_frequency": frequency,
        "interval": 1,
        "plan_duration": duration,
        "amt_tran": amount
    })
}

/// `date` (`YYYY-MM-DD`) plus `months` months and `days` days, as the vault's schedule counts
/// them (a month later keeps the day, or the month's last day when it has fewer).
pub fn date_plus(date: &str, months: u32, days: u64) -> String {
    let start = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("a YYYY-MM-DD date");
    (start + chrono::Months::new(months) + chrono::Days::new(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// `date` relative to `base` (both `YYYY-MM-DD`), as `[today]`, `[today+1M]`, `[today+1M+3D]`,
/// `[today-2D]`: snapshots of billing dates stay the same whatever day they run.
pub fn relative_date(base: &str, date: &str) -> String {
    use chrono::NaiveDate;
    let parse = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
    let (Some(base), Some(date)) = (parse(base), parse(date)) else {
        return date.to_owned();
    };
    if date < base {
        return format!("[today-{}D]", (base - date).num_days());
    }
    let mut months = 0;
    while base + chrono::Months::new(months + 1) <= date {
        months += 1;
    }
    let days = (date - (base + chrono::Months::new(months))).num_days();
    match (months, days) {
        (0, 0) => "[today]".to_owned(),
        (m, 0) => format!("[today+{m}M]"),
        (0, d) => format!("[today+{d}D]"),
        (m, d) => format!("[today+{m}M+{d}D]"),
    }
}

#[test]
fn billing_dates_count_months_then_days() {
    assert_eq!(date_plus("2025-01-31", 1, 0), "2025-02-28");
    assert_eq!(date_plus("2025-01-31", 2, 0), "2025-03-31");
    assert_eq!(date_plus("2025-12-30", 0, 5), "2026-01-04");
    assert_eq!(relative_date("2025-01-15", "2025-01-15"), "[today]");
    assert_eq!(relative_date("2025-01-15", "2025-03-15"), "[today+2M]");
    assert_eq!(relative_date("2025-01-15", "2025-01-20"), "[today+5D]");
    assert_eq!(relative_date("2025-01-15", "2025-02-18"), "[today+1M+3D]");
    assert_eq!(relative_date("2025-01-15", "2025-01-13"), "[today-2D]");
    assert_eq!(relative_date("2025-01-31", "2025-02-28"), "[today+1M]");
}

// ---- other credentials: merchant keys and customer sessions ----

/// What `/graphql` answered a request sent with credentials of the test's choosing.
pub struct Answer {
    pub status: u16,
    /// The `WWW-Authenticate` header, when there is one.
    pub www_authenticate: Option<String>,
    pub body: Value,
}

/// `Authorization: Bearer {token}`.
pub fn bearer(token: &str) -> reqwest::header::HeaderValue {
    reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).expect("a header value")
}

impl GatewayApp {
    /// POSTs a GraphQL request with this `Authorization` header instead of the gateway's key;
    /// the body must be a JSON object and is scanned for secrets like [`Self::graphql_status`]'s.
    pub async fn graphql_as(
        &self,
        authorization: &reqwest::header::HeaderValue,
        query: &str,
        variables: Value,
    ) -> Answer {
        self.post_graphql(Some(authorization), query, variables)
            .await
    }

    /// POSTs a GraphQL request, with `authorization` or else the gateway's key, and checks that
    /// the answer is a JSON object with no secret this app was sent.
    async fn post_graphql(
        &self,
        authorization: Option<&reqwest::header::HeaderValue>,
        query: &str,
        variables: Value,
    ) -> Answer {
        {
            let mut secrets = self.secrets.lock().unwrap();
            secrets.collect(&variables);
            secrets.collect_from_query(query);
        }
        let body = json!({ "query": query, "variables": variables });
        let mut request = self
            .client
            .post(format!("{}/graphql", self.base))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(body.to_string());
        if let Some(authorization) = authorization {
            request = request.header(reqwest::header::AUTHORIZATION, authorization.clone());
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /graphql failed: {e}"));
        let status = response.status().as_u16();
        let www_authenticate = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await.expect("a readable body");
        let json: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("/graphql answered {status} with non-JSON ({e}): {text}"));
        assert!(json.is_object(), "not a JSON object: {text}");
        // A session token is random text, which may hold a long run of digits by chance.
        let mut scanned = json.clone();
        let mut tokens = Vec::new();
        take_tokens(&mut scanned, &mut tokens);
        let scanned_text = tokens
            .iter()
            .fold(text, |text, token| text.replace(token.as_str(), "[token]"));
        self.secrets
            .lock()
            .unwrap()
            .assert_absent(&scanned_text, &scanned, query);
        Answer {
            status,
            www_authenticate,
            body: json,
        }
    }

    /// A REST `POST` to the vault with another merchant's `key` that must succeed; returns the
    /// envelope's `data`.
    pub async fn vault_post_as(&self, key: &str, path: &str, body: Value) -> Value {
        let access = self.vault_access();
        self.secrets.lock().unwrap().collect(&body);
        let response = self
            .client
            .post(format!("{}{path}", access.platform))
            .basic_auth(key, Some(""))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path} failed: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.expect("a readable body");
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert!(
            status == 200 && json["code"] == 0,
            "POST {path} as {key} -> {status} {text}"
        );
        json["data"].clone()
    }
}

/// Replaces every string `token` field of `value` by `[token]`, collecting the tokens.
fn take_tokens(value: &mut Value, tokens: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match value {
                    Value::String(token) if key == "token" && !token.is_empty() => {
                        tokens.push(std::mem::replace(token, "[token]".to_owned()));
                    }
                    _ => take_tokens(value, tokens),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| take_tokens(item, tokens)),
        _ => {}
    }
}

/// The input type the schema's contract gives a mutation: `<MutationName>Input`.
pub fn input_type(mutation: &str) -> String {
    let mut chars = mutation.chars();
    let first = chars.next().map(|c| c.to_ascii_uppercase());
    first
        .into_iter()
        .chain(chars)
        .chain("Input".chars())
        .collect()
}
