//! Starts vault sandboxes and wraps their REST API in request helpers.
//!
//! Every request made through [`TestApp::call`] is checked on the way back:
//! success bodies against the spec fixture and our invariants (see `contract`),
//! error bodies for the `{code, message}` envelope, and every body for echoed
//! card numbers, account numbers, CVVs or the API key.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, NaiveDate, Utc};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tempfile::TempDir;
use vaultql::app::Application;
use vaultql::config::{ApiKeySpec, SandboxArgs, VaultArgs};
use vaultql::time::TimeSource;

use crate::{capture, contract};

pub const KEY_A: &str = "key-a";
pub const MERCHANT_A: i64 = 1001;
pub const KEY_B: &str = "key-b";
pub const MERCHANT_B: i64 = 2002;
/// Belongs to merchant 3000 and may also act for merchant 1001.
pub const KEY_R: &str = "key-r";
pub const MERCHANT_R: i64 = 3000;

/// The API keys every test server knows.
pub const DEFAULT_KEYS: [&str; 3] = ["key-a:1001", "key-b:2002", "key-r:3000:1001"];

pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The date every test server's clock starts on when `VAULTQL_TEST_START` does not name one:
/// the end of a long month before a short one, where calendar arithmetic goes wrong first.
pub const DEFAULT_TEST_START: &str = "2027-01-31";

/// The instant every test server's clock stands at (`TimeSource::Fixed`): noon UTC on
/// `VAULTQL_TEST_START` (`YYYY-MM-DD`), or on [`DEFAULT_TEST_START`]. Only the sandbox clock moves
/// a merchant's time from there, so no test depends on the date it runs; `.ci/run` runs the
/// billing tests from several start dates through this variable.
pub fn test_now() -> DateTime<Utc> {
    static START: OnceLock<DateTime<Utc>> = OnceLock::new();
    *START.get_or_init(|| {
        let text = std::env::var("VAULTQL_TEST_START")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_TEST_START.to_owned());
        let day = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .unwrap_or_else(|_| panic!("VAULTQL_TEST_START must be YYYY-MM-DD, not {text:?}"));
        day.and_hms_opt(12, 0, 0).expect("noon is a time").and_utc()
    })
}

/// The one place that builds the sandbox's arguments: port 0, an in-memory database, the
/// default keys and the pinned clock.
pub fn default_args(data_dir: &Path) -> SandboxArgs {
    SandboxArgs {
        listen: "127.0.0.1:0".parse().expect("a socket address"),
        vault: default_vault_args(data_dir),
    }
}

/// The vault's settings every test server shares.
pub fn default_vault_args(data_dir: &Path) -> VaultArgs {
    let mut args = VaultArgs::new(data_dir);
    args.database_url = Some(crate::database::private_url());
    args.api_keys = DEFAULT_KEYS.iter().map(|spec| key_spec(spec)).collect();
    args.master_key = Some(BASE64.encode([0x5a_u8; 32]));
    args.max_body_bytes = MAX_BODY_BYTES;
    args.time = TimeSource::Fixed(test_now());
    args
}

/// Parses `KEY:MERCHANT[:ACTS_FOR,...]`.
pub fn key_spec(spec: &str) -> ApiKeySpec {
    spec.parse().expect("a valid key spec")
}

fn scratch_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("vault-test-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a temporary directory")
}

struct SharedServer {
    base_url: String,
    data_dir: PathBuf,
}

static SHARED: OnceLock<SharedServer> = OnceLock::new();

/// One in-memory server for the whole binary, on its own runtime so that it outlives the
/// per-test runtimes.
fn shared_server() -> &'static SharedServer {
    SHARED.get_or_init(|| {
        capture::init();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("shared-vault".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a runtime for the shared server");
                runtime.block_on(async move {
                    // The process exits without dropping statics, so a temp dir would leak;
                    // with an in-memory database and a given master key nothing is written
                    // here, and one fixed directory serves every run.
                    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("vault-shared");
                    std::fs::create_dir_all(&dir).expect("the shared data dir");
                    let app = Application::build_sandbox(default_args(&dir))
                        .await
                        .expect("the shared vault sandbox starts");
                    let base_url = format!("http://127.0.0.1:{}/platform", app.port());
                    ready_tx
                        .send((base_url, dir))
                        .expect("the test thread is waiting");
                    let _ = app.run_until_stopped().await;
                });
            })
            .expect("a thread for the shared server");
        let (base_url, data_dir) = ready_rx
            .recv()
            .expect("the shared vault sandbox failed to start");
        SharedServer { base_url, data_dir }
    })
}

/// How a request authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    /// HTTP Basic with the key as user name and an empty password.
    Key(String),
    /// No `Authorization` header at all.
    Nothing,
    /// This exact `Authorization` header value.
    Header(String),
}

/// A handle on a running vault sandbox, authenticated with one API key.
#[derive(Clone)]
pub struct TestApp {
    /// `http://127.0.0.1:PORT/platform`
    pub base_url: String,
    pub data_dir: PathBuf,
    pub client: reqwest::Client,
    pub key: String,
    _dir: Option<Arc<TempDir>>,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub method: Method,
    pub path: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    /// The parsed body, or `Null` when it is not JSON.
    pub json: Value,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

impl TestApp {
    /// A handle on the shared in-memory server, as `key-a`. Use customer ids no other test uses.
    pub fn shared() -> TestApp {
        let server = shared_server();
        TestApp {
            base_url: server.base_url.clone(),
            data_dir: server.data_dir.clone(),
            client: client(),
            key: KEY_A.into(),
            _dir: None,
        }
    }

    /// A fresh server with an in-memory database, running on the calling test's runtime.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// A fresh server whose arguments `customize` may change (the data dir is a new temp dir).
    pub async fn spawn_with(customize: impl FnOnce(&mut VaultArgs)) -> TestApp {
        capture::init();
        let dir = scratch_dir();
        let mut args = default_args(dir.path());
        customize(&mut args.vault);
        let app = Application::build_sandbox(args)
            .await
            .expect("the vault sandbox starts");
        let base_url = format!("http://127.0.0.1:{}/platform", app.port());
        tokio::spawn(async move {
            let _ = app.run_until_stopped().await;
        });
        TestApp {
            base_url,
            data_dir: dir.path().to_path_buf(),
            client: client(),
            key: KEY_A.into(),
            _dir: Some(Arc::new(dir)),
        }
    }

    /// A fresh server whose database outlives it and can be opened beside it: the file
    /// `<data_dir>/vault.db` on SQLite, the data dir's schema on PostgreSQL
    /// ([`crate::database::data_dir_url`]).
    pub async fn spawn_with_file_db() -> TestApp {
        Self::spawn_with(|args| args.database_url = crate::database::data_dir_url(&args.data_dir))
            .await
    }

    /// The same server with paths taken from its root rather than `/platform` (for `/pg`).
    pub fn at_root(&self) -> TestApp {
        TestApp {
            base_url: self.base_url.trim_end_matches("/platform").to_owned(),
            ..self.clone()
        }
    }

    /// The same server, authenticated with another key.
    pub fn as_key(&self, key: &str) -> TestApp {
        TestApp {
            key: key.into(),
            ..self.clone()
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Sends a request with this app's key and checks the response (see the module doc).
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let resp = self
            .send(
                method,
                path,
                Auth::Key(self.key.clone()),
                body.map(|b| b.to_string()),
            )
            .await;
        check_response(&resp, body, &self.key);
        resp
    }

    /// Sends anything, checks nothing: for malformed requests.
    pub async fn send(&self, method: Method, path: &str, auth: Auth, body: Option<String>) -> Resp {
        let mut request = self.client.request(method.clone(), self.url(path));
        request = match &auth {
            Auth::Key(key) => request.basic_auth(key, Some("")),
            Auth::Nothing => request,
            Auth::Header(value) => request.header("authorization", value),
        };
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path} failed to get a response: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a readable body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            method,
            path: path.into(),
            status,
            headers,
            text,
            json,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, None).await
    }

    // ---- customers ----

    pub async fn create_customer(&self, id: &str) -> Value {
        let body = crate::testdata::customer(id, "Jane", "Doe");
        self.post("/vault/customer", &body).await.ok_data()
    }

    pub async fn get_customer(&self, id: &str) -> Resp {
        self.get(&customer_path(id)).await
    }

    /// The customer's current record; fails unless it exists.
    pub async fn customer_data(&self, id: &str) -> Value {
        self.get_customer(id).await.ok_data()
    }

    /// Asserts that the customer does not exist (404, code 6).
    pub async fn assert_no_customer(&self, id: &str) {
        self.get_customer(id).await.assert_error(404, 6);
    }

    /// Asserts that the customer's record is exactly `before`.
    pub async fn assert_customer_unchanged(&self, id: &str, before: &Value) {
        let after = self.customer_data(id).await;
        assert_eq!(&after, before, "customer {id} changed");
    }

    // ---- cards ----

    pub async fn add_card(&self, id: &str, body: &Value) -> Resp {
        self.post(&format!("{}/billing", customer_path(id)), body)
            .await
    }

    /// Adds a card and returns the customer record from the response.
    pub async fn add_card_ok(&self, id: &str, body: &Value) -> Value {
        self.add_card(id, body).await.ok_data()
    }

    pub async fn update_card(&self, id: &str, body: &Value) -> Resp {
        self.put(&format!("{}/billing", customer_path(id)), body)
            .await
    }

    pub async fn set_primary_card(&self, id: &str, card_id: &str) -> Resp {
        let body = json!({ "card_id": card_id });
        self.put(&format!("{}/billing/primary", customer_path(id)), &body)
            .await
    }

    pub async fn delete_card(&self, id: &str, card_id: &str) -> Resp {
        let body = json!({ "card_id": card_id });
        self.put(&format!("{}/billing/delete", customer_path(id)), &body)
            .await
    }

    pub async fn get_cards(&self, id: &str) -> Resp {
        self.get(&format!("{}/billing", customer_path(id))).await
    }

    // ---- shipping ----

    pub async fn add_address(&self, id: &str, body: &Value) -> Resp {
        self.post(&format!("{}/shipping", customer_path(id)), body)
            .await
    }

    pub async fn update_address(&self, id: &str, body: &Value) -> Resp {
        self.put(&format!("{}/shipping", customer_path(id)), body)
            .await
    }

    pub async fn set_primary_address(&self, id: &str, shipping_id: i64) -> Resp {
        let body = json!({ "shipping_id": shipping_id });
        self.put(&format!("{}/shipping/primary", customer_path(id)), &body)
            .await
    }

    pub async fn delete_address(&self, id: &str, shipping_id: i64) -> Resp {
        self.delete(&format!("{}/shipping/{shipping_id}", customer_path(id)))
            .await
    }

    pub async fn get_addresses(&self, id: &str) -> Resp {
        self.get(&format!("{}/shipping", customer_path(id))).await
    }

    // ---- browse ----

    /// `GET /vault/customer?{query}`; `query` is already URL-encoded.
    pub async fn browse(&self, query: &str) -> Resp {
        if query.is_empty() {
            self.get("/vault/customer").await
        } else {
            self.get(&format!("/vault/customer?{query}")).await
        }
    }
}

pub fn customer_path(id: &str) -> String {
    format!("/vault/customer/{id}")
}

/// Percent-encodes one query-string value.
pub fn enc(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

impl Resp {
    fn describe(&self) -> String {
        format!(
            "{} {} -> {} {}",
            self.method, self.path, self.status, self.text
        )
    }

    /// Asserts a success envelope and returns `data`.
    #[track_caller]
    pub fn ok_data(&self) -> Value {
        self.assert_ok();
        self.json
            .get("data")
            .cloned()
            .unwrap_or_else(|| panic!("no data in {}", self.describe()))
    }

    /// Asserts 200 with `code` 0 and `message` "Success".
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.status, 200, "expected 200: {}", self.describe());
        assert_eq!(self.json["code"], json!(0), "{}", self.describe());
        assert_eq!(
            self.json["message"],
            json!("Success"),
            "{}",
            self.describe()
        );
        self
    }

    /// Asserts the status, the code and the `{code, message}` envelope without data.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: i64) -> &Self {
        assert_eq!(
            self.status,
            status,
            "unexpected status: {}",
            self.describe()
        );
        assert_error_envelope(self);
        assert_eq!(
            self.json["code"],
            json!(code),
            "unexpected code: {}",
            self.describe()
        );
        self
    }

    /// Asserts a 400 (code 2) whose message mentions `field`.
    #[track_caller]
    pub fn assert_invalid(&self, field: &str) -> &Self {
        self.assert_error(400, 2);
        let message = self.message();
        assert!(
            message.contains(field),
            "the message should name `{field}`: {}",
            self.describe()
        );
        self
    }

    pub fn message(&self) -> &str {
        self.json["message"].as_str().unwrap_or_default()
    }
}

/// An error body is exactly `{"code": int, "message": non-empty string}`.
#[track_caller]
pub fn assert_error_envelope(resp: &Resp) {
    let object = resp
        .json
        .as_object()
        .unwrap_or_else(|| panic!("the error body is not a JSON object: {}", resp.describe()));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["code", "message"],
        "error envelope keys: {}",
        resp.describe()
    );
    assert!(
        resp.json["code"].is_i64(),
        "code is an integer: {}",
        resp.describe()
    );
    assert!(
        !resp.message().is_empty(),
        "message is a non-empty string: {}",
        resp.describe()
    );
}

/// Secrets found in a request body: card numbers, account numbers and CVVs.
#[derive(Default, Debug)]
pub struct Secrets {
    pub numbers: Vec<String>,
    pub cvvs: Vec<String>,
}

impl Secrets {
    pub fn of(body: &Value) -> Secrets {
        let mut secrets = Secrets::default();
        collect_secrets(body, &mut secrets);
        secrets
    }
}

fn collect_secrets(value: &Value, out: &mut Secrets) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value.as_str()) {
                    ("card_number" | "dda_number", Some(s)) if s.len() >= 8 => {
                        out.numbers.push(s.into())
                    }
                    ("cvv2", Some(s)) if !s.is_empty() => out.cvvs.push(s.into()),
                    _ => collect_secrets(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_secrets(item, out)),
        _ => {}
    }
}

/// No JSON string anywhere in `value` equals `needle`, and no key is named `cvv2`.
fn find_cvv(value: &Value, needle: &str) -> bool {
    match value {
        Value::String(s) => s == needle,
        Value::Object(map) => map.iter().any(|(k, v)| k == "cvv2" || find_cvv(v, needle)),
        Value::Array(items) => items.iter().any(|item| find_cvv(item, needle)),
        _ => false,
    }
}

/// Asserts that the response echoes none of the request's secrets nor the API key.
#[track_caller]
pub fn assert_no_secrets_in(resp: &Resp, secrets: &Secrets, key: &str) {
    for number in &secrets.numbers {
        assert!(
            !resp.text.contains(number.as_str()),
            "response echoes a full card/account number: {}",
            resp.describe()
        );
    }
    for cvv in &secrets.cvvs {
        assert!(
            !find_cvv(&resp.json, cvv),
            "response echoes the CVV: {}",
            resp.describe()
        );
        assert!(
            resp.status == 200 || cvv.len() < 3 || !resp.message().contains(cvv.as_str()),
            "the error message echoes the CVV: {}",
            resp.describe()
        );
    }
    assert!(
        key.len() < 4 || !resp.text.contains(key),
        "response contains the API key: {}",
        resp.describe()
    );
}

#[track_caller]
fn check_response(resp: &Resp, request_body: Option<&Value>, key: &str) {
    let secrets = request_body.map(Secrets::of).unwrap_or_default();
    assert_no_secrets_in(resp, &secrets, key);
    if resp.status == 200 {
        assert_eq!(resp.json["code"], json!(0), "{}", resp.describe());
        assert_eq!(
            resp.json["message"],
            json!("Success"),
            "{}",
            resp.describe()
        );
        if let Some(schema) = contract::schema_for(&resp.method, &resp.path) {
            contract::assert_conforms(&resp.json, schema, &resp.describe());
        }
    } else {
        assert_error_envelope(resp);
    }
}

/// The card in `customer.billing_cards` whose `card_number` is `masked`.
#[track_caller]
pub fn card_by_number<'a>(customer: &'a Value, masked: &str) -> &'a Value {
    customer["billing_cards"]
        .as_array()
        .expect("billing_cards is an array")
        .iter()
        .find(|card| card["card_number"] == masked)
        .unwrap_or_else(|| panic!("no card {masked} in {customer}"))
}

/// The `card_id` of the card whose masked number is `masked`.
#[track_caller]
pub fn card_id(customer: &Value, masked: &str) -> String {
    card_by_number(customer, masked)["card_id"]
        .as_str()
        .expect("card_id is a string")
        .to_owned()
}

/// Masked numbers of the cards flagged primary.
pub fn primary_cards(customer: &Value) -> Vec<String> {
    customer["billing_cards"]
        .as_array()
        .expect("billing_cards is an array")
        .iter()
        .filter(|card| card["primary"] == json!(true))
        .map(|card| card["card_number"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The `shipping_id` of the address with this first name.
#[track_caller]
pub fn shipping_id(customer: &Value, first_name: &str) -> i64 {
    customer["shipping_addresses"]
        .as_array()
        .expect("shipping_addresses is an array")
        .iter()
        .find(|address| address["shipping_first_name"] == first_name)
        .and_then(|address| address["shipping_id"].as_i64())
        .unwrap_or_else(|| panic!("no address for {first_name} in {customer}"))
}

/// First names of the addresses flagged primary.
pub fn primary_addresses(customer: &Value) -> Vec<String> {
    customer["shipping_addresses"]
        .as_array()
        .expect("shipping_addresses is an array")
        .iter()
        .filter(|address| address["primary"] == json!(true))
        .map(|address| {
            address["shipping_first_name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// Sorted names of the object's keys.
pub fn keys_of(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    keys.sort_unstable();
    keys
}
