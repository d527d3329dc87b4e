//! Helpers for the recurring-billing tests: servers with the scheduler off (or on, and
//! stoppable), REST calls checked against the spec fixture, the sandbox clock, plans,
//! subscriptions, transactions, exact money and calendar arithmetic done independently of the
//! code under test.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tempfile::TempDir;
use vaultql::app::Application;
use vaultql::config::VaultArgs;
use vaultql::vault::billing::engine::Engine;
use vaultql::vault::crypto::MasterKey;
use vaultql::vault::service::VaultService;
use vaultql::vault::store::Database;

use crate::contract;
use crate::helpers::{Auth, Resp, TestApp, card_id, default_args, default_vault_args, test_now};
use crate::testdata::{self, masked};

/// How long one request may take before the test gives up with the request in the message
/// (a billing run that loops would otherwise hold the test until the client's 30 s timeout).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Fields the vault sends on top of the spec's schema, on purpose and documented in the code:
/// the suffix of the violation `contract::violations` reports for them.
pub const VAULT_EXTENSIONS: [&str; 5] = [
    // `Transaction`'s additions (see `qualpay::Transaction`): the card charged, the type, the
    // original of a refund or recharge, the amount captured and the response text.
    ".card_id: not a property of Transaction",
    ".tran_type: not a property of Transaction",
    ".pg_id_orig: not a property of Transaction",
    ".amt_captured: not a property of Transaction",
    ".rmsg: not a property of Transaction",
];

// ---- servers ----

/// A fresh sandbox with an in-memory database and the billing scheduler off, so that only the
/// sandbox clock bills and every result is deterministic.
pub async fn billing_app() -> TestApp {
    TestApp::spawn_with(|args| args.billing_interval_secs = 0).await
}

/// A fresh sandbox with the scheduler off whose database others can open beside it (the data
/// dir's, see [`crate::database::data_dir_url`]).
pub async fn billing_app_with_file_db() -> TestApp {
    TestApp::spawn_with(|args| {
        args.database_url = crate::database::data_dir_url(&args.data_dir);
        args.billing_interval_secs = 0;
    })
    .await
}

/// A scratch directory for a database several servers share.
pub fn shared_data_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("vault-billing-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a temporary directory")
}

/// A sandbox on its own runtime, so that the test can stop it (a "crash": every task of the
/// server, its scheduler included, is dropped) and start another on the same data dir.
pub struct OwnServer {
    pub app: TestApp,
    runtime: Option<tokio::runtime::Runtime>,
}

impl OwnServer {
    /// Starts a sandbox with a file database in `data_dir`, the test master key and keys, the
    /// scheduler off unless `customize` turns it on.
    pub async fn start(data_dir: &Path, customize: impl FnOnce(&mut VaultArgs)) -> OwnServer {
        // A handle on the shared server gives a client and installs the log capture before
        // this server logs anything.
        let mut app = TestApp::shared();
        let mut args = default_args(data_dir);
        args.vault.database_url = crate::database::data_dir_url(data_dir);
        args.vault.billing_interval_secs = 0;
        customize(&mut args.vault);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the server");
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        runtime.spawn(async move {
            match Application::build_sandbox(args).await {
                Ok(server) => {
                    let _ = ready_tx.send(Ok(server.port()));
                    let _ = server.run_until_stopped().await;
                }
                Err(error) => {
                    let _ = ready_tx.send(Err(format!("{error:#}")));
                }
            }
        });
        let port = ready_rx
            .await
            .expect("the server task reports")
            .unwrap_or_else(|error| panic!("the sandbox did not start: {error}"));
        app.base_url = format!("http://127.0.0.1:{port}/platform");
        app.data_dir = data_dir.to_path_buf();
        // Fresh connections: none may outlive the server they went to.
        app.client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        OwnServer {
            app,
            runtime: Some(runtime),
        }
    }

    /// Stops the server at once, as a crash would (nothing is flushed or finished).
    pub fn stop(mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A billing engine of its own (its own connection pool) on the database of `data_dir`: what a
/// second scheduler process, or the same one after a restart, would have. Its batches are
/// small, so a run of a few subscriptions takes several claim and record transactions.
pub async fn engine_on(data_dir: &Path) -> (Engine, Arc<dyn Database>) {
    engine_with_batch(data_dir, 2).await
}

/// A billing engine on the database of `data_dir` claiming `batch` attempts per transaction.
pub async fn engine_with_batch(data_dir: &Path, batch: usize) -> (Engine, Arc<dyn Database>) {
    engine_on_store(crate::database::open(data_dir).await, batch).await
}

/// A billing engine on `store`, with the test servers' master key.
pub async fn engine_on_store(
    store: Arc<dyn Database>,
    batch: usize,
) -> (Engine, Arc<dyn Database>) {
    let encoded = default_vault_args(Path::new("."))
        .master_key
        .expect("the test servers' master key");
    let master = MasterKey::from_base64(&encoded).expect("a valid master key");
    let vault = Arc::new(
        VaultService::open(store.clone(), &master, test_now())
            .await
            .expect("the vault service opens with the servers' master key"),
    );
    (Engine::new(vault, store.clone(), batch), store)
}

/// The merchant's time as the test servers see it: the pinned clock plus the merchant's offset.
pub async fn merchant_now(store: &Arc<dyn Database>, merchant_id: i64) -> DateTime<Utc> {
    let offset = store
        .clock_offset(merchant_id)
        .await
        .expect("the clock offset");
    test_now() + chrono::Duration::seconds(offset)
}

// ---- requests ----

pub fn describe(resp: &Resp) -> String {
    format!(
        "{} {} -> {} {}",
        resp.method, resp.path, resp.status, resp.text
    )
}

/// The request and its answer, for failure messages.
pub fn exchange(resp: &Resp, body: Option<&Value>) -> String {
    match body {
        Some(body) => format!(
            "{} {} {body} -> {} {}",
            resp.method, resp.path, resp.status, resp.text
        ),
        None => describe(resp),
    }
}

/// A request through [`TestApp::call`] (envelope and secret checks), then, on success, the
/// spec's schema and the billing invariants.
pub async fn call(app: &TestApp, method: Method, path: &str, body: Option<&Value>) -> Resp {
    let resp = tokio::time::timeout(REQUEST_TIMEOUT, app.call(method.clone(), path, body))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{method} {path} {} got no answer within {REQUEST_TIMEOUT:?}",
                body.map(Value::to_string).unwrap_or_default()
            )
        });
    assert!(
        resp.status < 500,
        "a server error: {}",
        exchange(&resp, body)
    );
    if resp.status == 200
        && let Some(schema) = schema_for(&method, path)
    {
        let problems = billing_violations(&resp.json, schema);
        assert!(
            problems.is_empty(),
            "response does not match {schema}:\n  {}\nin {}",
            problems.join("\n  "),
            exchange(&resp, body)
        );
    }
    resp
}

pub async fn get(app: &TestApp, path: &str) -> Resp {
    call(app, Method::GET, path, None).await
}

pub async fn post(app: &TestApp, path: &str, body: &Value) -> Resp {
    call(app, Method::POST, path, Some(body)).await
}

pub async fn put(app: &TestApp, path: &str, body: &Value) -> Resp {
    call(app, Method::PUT, path, Some(body)).await
}

pub async fn delete(app: &TestApp, path: &str) -> Resp {
    call(app, Method::DELETE, path, None).await
}

/// Sends a raw body (anything at all), checks nothing.
pub async fn send_raw(app: &TestApp, method: Method, path: &str, body: Option<&str>) -> Resp {
    tokio::time::timeout(
        REQUEST_TIMEOUT,
        app.send(
            method.clone(),
            path,
            Auth::Key(app.key.clone()),
            body.map(str::to_owned),
        ),
    )
    .await
    .unwrap_or_else(|_| panic!("{method} {path} got no answer within {REQUEST_TIMEOUT:?}"))
}

/// Asserts success and returns `data`, with the request in the message.
#[track_caller]
pub fn ok_data(resp: &Resp, body: Option<&Value>) -> Value {
    assert_eq!(resp.status, 200, "expected 200: {}", exchange(resp, body));
    assert_eq!(resp.json["code"], 0, "{}", exchange(resp, body));
    resp.json["data"].clone()
}

/// Asserts an error envelope with this status and code whose message names `field`.
#[track_caller]
pub fn assert_refused(resp: &Resp, body: Option<&Value>, status: u16, code: i64, field: &str) {
    assert_eq!(
        (resp.status, resp.json["code"].as_i64()),
        (status, Some(code)),
        "expected {status} (code {code}) naming `{field}`: {}",
        exchange(resp, body)
    );
    crate::helpers::assert_error_envelope(resp);
    assert!(
        resp.message().contains(field),
        "the message should name `{field}`: {}",
        exchange(resp, body)
    );
}

// ---- the contract ----

/// The response schema of a successful billing call (query ignored).
pub fn schema_for(method: &Method, path: &str) -> Option<&'static str> {
    let path = path.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let schema = match (method.as_str(), segments.as_slice()) {
        ("GET", ["plan"]) => "RecurringPlanListResponse",
        ("POST", ["plan"]) => "RecurringPlanResponse",
        ("GET", ["plan", _]) => "RecurringPlanListResponse",
        ("PUT", ["plan", _]) => "RecurringPlanResponse",
        ("POST", ["plan", _, "archive"]) => "RecurringPlanResponse",
        ("DELETE", ["plan", _, "delete"]) => "RecurringPlanResponse",
        ("GET", ["subscription"]) => "SubscriptionListResponse",
        ("POST", ["subscription"]) => "SubscriptionResponse",
        ("GET", ["subscription", "transactions"]) => "TransactionListResponse",
        ("GET", ["subscription", "transactions", _]) => "TransactionListResponse",
        ("GET" | "PUT", ["subscription", _]) => "SubscriptionResponse",
        ("POST", ["subscription", _, "pause" | "resume" | "cancel"]) => "SubscriptionResponse",
        _ => return None,
    };
    Some(schema)
}

/// Every departure of a billing response from its schema in the fixture (field names and JSON
/// types, through `contract`'s checker) and from what the vault promises on top of it.
pub fn billing_violations(body: &Value, schema: &str) -> Vec<String> {
    let mut out: Vec<String> = contract::violations(body, schema)
        .into_iter()
        .filter(|v| !VAULT_EXTENSIONS.iter().any(|ext| v.ends_with(ext)))
        .collect();
    let list = schema.ends_with("ListResponse");
    let mut envelope = vec!["code", "message", "data"];
    if list {
        envelope.extend(["totalRecords", "totalPages"]);
    }
    for key in envelope {
        if body.get(key).is_none() {
            out.push(format!("$: {schema} lacks `{key}`"));
        }
    }
    let item = match schema {
        "RecurringPlanListResponse" | "RecurringPlanResponse" => "RecurringPlan",
        "SubscriptionListResponse" | "SubscriptionResponse" => "Subscription",
        _ => "Transaction",
    };
    let items: Vec<(String, &Value)> = if list {
        body["data"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("$.data[{i}]"), v))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        vec![("$.data".to_owned(), &body["data"])]
    };
    for (at, value) in items {
        if let Some(object) = value.as_object() {
            invariants(object, item, &at, &mut out);
        }
    }
    out
}

fn invariants(
    object: &serde_json::Map<String, Value>,
    schema: &str,
    at: &str,
    out: &mut Vec<String>,
) {
    let required: &[&str] = match schema {
        "RecurringPlan" => &[
            "plan_id",
            "plan_code",
            "plan_name",
            "plan_desc",
            "plan_frequency",
            "interval",
            "plan_duration",
            "amt_tran",
            "tran_currency",
            "status",
        ],
        "Subscription" => &[
            "subscription_id",
            "customer_id",
            "card_id",
            "status",
            "date_start",
            "plan_frequency",
            "plan_duration",
            "recur_amt",
        ],
        _ => &[
            "pg_id",
            "subscription_id",
            "customer_id",
            "tran_status",
            "tran_date",
            "tran_time",
            "amt_tran",
            "rcode",
            "card_number",
        ],
    };
    for key in required {
        if !object.contains_key(*key) {
            out.push(format!("{at}: {schema} lacks `{key}`"));
        }
    }
    for (key, value) in object {
        let is_amount = key.starts_with("amt_") || key.ends_with("_amt");
        if is_amount && value.is_number() && !is_money(value) {
            out.push(format!(
                "{at}.{key}: {value} is not a non-negative amount with at most 2 decimals"
            ));
        }
        let is_date = key.starts_with("date_") || key.ends_with("_date") || key.contains("_date_");
        if is_date
            && key != "tran_date"
            && value
                .as_str()
                .is_some_and(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err())
        {
            out.push(format!("{at}.{key}: {value} is not YYYY-MM-DD"));
        }
    }
    let text = |key: &str| object.get(key).and_then(Value::as_str);
    match schema {
        "RecurringPlan" => {
            if !matches!(text("status"), Some("E" | "A" | "D")) {
                out.push(format!(
                    "{at}.status: {:?} is not E, A or D",
                    text("status")
                ));
            }
        }
        "Subscription" => {
            let status = text("status");
            if !matches!(status, Some("A" | "P" | "C" | "S" | "D")) {
                out.push(format!("{at}.status: {status:?} is not A, P, C, S or D"));
            }
            let ended = matches!(status, Some("C" | "D"));
            if ended == object.contains_key("date_next") {
                out.push(format!(
                    "{at}.date_next: must be absent exactly when the subscription has ended (status {status:?})"
                ));
            }
            if let Some(id) = text("card_id")
                && !(id.len() == 32 && id.bytes().all(|b| b.is_ascii_alphanumeric()))
            {
                out.push(format!("{at}.card_id: not 32 alphanumerics: {id}"));
            }
            if let Some(number) = object
                .get("response")
                .and_then(|r| r.get("card_number"))
                .and_then(Value::as_str)
                && !is_masked(number)
            {
                out.push(format!("{at}.response.card_number: not masked: {number}"));
            }
        }
        _ => {
            let status = text("tran_status");
            match status {
                Some("A") => {
                    if text("rcode") != Some("000") || !object.contains_key("auth_code") {
                        out.push(format!(
                            "{at}: an approved transaction has rcode 000 and an auth_code"
                        ));
                    }
                }
                Some("D") => {
                    if text("rcode") == Some("000") || object.contains_key("auth_code") {
                        out.push(format!(
                            "{at}: a declined transaction has no rcode 000 and no auth_code"
                        ));
                    }
                }
                other => out.push(format!("{at}.tran_status: {other:?} is not A or D")),
            }
            if let Some(rcode) = text("rcode")
                && rcode.len() != 3
            {
                out.push(format!(
                    "{at}.rcode: {rcode:?} is not the spec's fixed length of 3"
                ));
            }
            if let Some(number) = text("card_number")
                && !is_masked(number)
            {
                out.push(format!("{at}.card_number: not masked: {number}"));
            }
            let date = text("tran_date").unwrap_or_default();
            if NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
                out.push(format!("{at}.tran_date: {date:?} is not YYYY-MM-DD"));
            }
            let time = text("tran_time").unwrap_or_default();
            if chrono::NaiveDateTime::parse_from_str(time, "%Y-%m-%d %H:%M:%S").is_err()
                || !time.starts_with(date)
            {
                out.push(format!(
                    "{at}.tran_time: {time:?} is not `YYYY-MM-DD HH:MM:SS` on tran_date"
                ));
            }
        }
    }
}

fn is_masked(number: &str) -> bool {
    number.contains('x')
        && number.bytes().all(|b| b.is_ascii_digit() || b == b'x')
        && number.bytes().filter(u8::is_ascii_digit).count() <= 10
}

fn is_money(value: &Value) -> bool {
    Decimal::from_str(&value.to_string())
        .or_else(|_| Decimal::from_scientific(&value.to_string()))
        .is_ok_and(|d| d >= Decimal::ZERO && d.normalize().scale() <= 2)
}

// ---- money and dates ----

/// An amount from a JSON number, exactly (through its decimal text, never a float sum).
#[track_caller]
pub fn money(value: &Value) -> Decimal {
    assert!(value.is_number(), "an amount is a JSON number: {value}");
    Decimal::from_str(&value.to_string())
        .unwrap_or_else(|_| panic!("not a decimal amount: {value}"))
}

#[track_caller]
pub fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).expect("a decimal")
}

#[track_caller]
pub fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_else(|_| panic!("not a date: {text}"))
}

pub fn day(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

pub fn plus_days(date: NaiveDate, days: u64) -> NaiveDate {
    date + chrono::Days::new(days)
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(next_year, next_month, 1)
        .expect("a date")
        .pred_opt()
        .expect("a date")
        .day()
}

/// `months` (may be negative) calendar months after `date`'s month, on `anchor` (or the month's last day when the
/// month is shorter): a subscription anchored on the 31st bills Jan 31, Feb 28, Mar 31, ...
pub fn months_after(date: NaiveDate, months: i32, anchor: u32) -> NaiveDate {
    let index = date.year() * 12 + date.month0() as i32 + months;
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
    NaiveDate::from_ymd_opt(year, month, anchor.min(days_in_month(year, month))).expect("a date")
}

/// The first `count` monthly billing dates from `first`, anchored on its day.
pub fn monthly_dates(first: NaiveDate, count: usize) -> Vec<NaiveDate> {
    (0..count)
        .map(|n| months_after(first, n as i32, first.day()))
        .collect()
}

/// The first day-31 date on or after `from`.
pub fn next_31st(from: NaiveDate) -> NaiveDate {
    let mut d = from;
    while d.day() != 31 {
        d = d.succ_opt().expect("a date");
    }
    d
}

// ---- the sandbox clock ----

/// The merchant's date on the sandbox clock.
pub async fn clock_today(app: &TestApp) -> NaiveDate {
    let resp = get(app, "/sandbox/clock").await;
    let data = ok_data(&resp, None);
    let today = date(data["today"].as_str().expect("today is a string"));
    let now = chrono::DateTime::parse_from_rfc3339(data["now"].as_str().expect("now"))
        .unwrap_or_else(|_| panic!("now is RFC 3339: {}", describe(&resp)));
    assert_eq!(now.date_naive(), today, "{}", describe(&resp));
    today
}

/// What one clock advance did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advanced {
    pub today: NaiveDate,
    pub approved: u64,
    pub declined: u64,
}

/// `POST /sandbox/clock {"advance": by}`: moves the clock and bills what fell due.
pub async fn advance(app: &TestApp, by: &str) -> Advanced {
    let body = json!({ "advance": by });
    let resp = post(app, "/sandbox/clock", &body).await;
    let data = ok_data(&resp, Some(&body));
    Advanced {
        today: date(data["today"].as_str().expect("today")),
        approved: data["approved"]
            .as_u64()
            .unwrap_or_else(|| panic!("approved: {}", describe(&resp))),
        declined: data["declined"]
            .as_u64()
            .unwrap_or_else(|| panic!("declined: {}", describe(&resp))),
    }
}

/// Advances the clock to `date` exactly, in days (chained `P1M` advances drift at month ends:
/// January 31, February 28, March 28).
pub async fn advance_to(app: &TestApp, date: NaiveDate) -> Advanced {
    let today = clock_today(app).await;
    let days = (date - today).num_days();
    assert!(days >= 0, "the clock only goes forward: {today} -> {date}");
    advance(app, &format!("P{days}D")).await
}

/// Advances the clock to each date in turn; the summed counts and the last date.
pub async fn advance_through(app: &TestApp, dates: &[NaiveDate]) -> Advanced {
    let mut total = Advanced {
        today: clock_today(app).await,
        approved: 0,
        declined: 0,
    };
    for date in dates {
        let step = advance_to(app, *date).await;
        total.today = step.today;
        total.approved += step.approved;
        total.declined += step.declined;
    }
    total
}

/// Advances the clock `times` times by `by`; the summed counts and the last date.
pub async fn advance_times(app: &TestApp, by: &str, times: usize) -> Advanced {
    let mut total = Advanced {
        today: clock_today(app).await,
        approved: 0,
        declined: 0,
    };
    for _ in 0..times {
        let step = advance(app, by).await;
        total.today = step.today;
        total.approved += step.approved;
        total.declined += step.declined;
    }
    total
}

// ---- customers, plans, subscriptions ----

/// A customer with one card (primary); returns the card's `card_id`.
pub async fn customer_with_card(app: &TestApp, id: &str, number: &str) -> String {
    app.create_customer(id).await;
    let customer = app.add_card_ok(id, &testdata::card(number)).await;
    card_id(&customer, &masked(number))
}

/// Adds a card to an existing customer; returns its `card_id`.
pub async fn add_card(app: &TestApp, id: &str, number: &str) -> String {
    let customer = app.add_card_ok(id, &testdata::card(number)).await;
    card_id(&customer, &masked(number))
}

/// A valid add-plan body: monthly, `duration` cycles of `amount`.
pub fn plan_body(code: &str, amount: f64, duration: i32) -> Value {
    json!({
        "plan_code": code,
        "plan_name": format!("Plan {code}"),
        "plan_desc": "A monthly plan",
        "plan_frequency": 3,
        "plan_duration": duration,
        "amt_tran": amount
    })
}

pub async fn add_plan(app: &TestApp, body: &Value) -> Value {
    let resp = post(app, "/plan", body).await;
    ok_data(&resp, Some(body))
}

/// A valid off-plan subscription body: monthly from `start`, `duration` cycles of `amount`.
pub fn off_plan(customer_id: &str, start: NaiveDate, amount: f64, duration: i32) -> Value {
    json!({
        "customer_id": customer_id,
        "date_start": day(start),
        "plan_frequency": 3,
        "plan_duration": duration,
        "amt_tran": amount
    })
}

pub fn on_plan(customer_id: &str, plan_code: &str, start: NaiveDate) -> Value {
    json!({ "customer_id": customer_id, "plan_code": plan_code, "date_start": day(start) })
}

pub async fn subscribe(app: &TestApp, body: &Value) -> Value {
    let resp = post(app, "/subscription", body).await;
    ok_data(&resp, Some(body))
}

#[track_caller]
pub fn sub_id(subscription: &Value) -> i64 {
    subscription["subscription_id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no subscription_id in {subscription}"))
}

pub async fn subscription(app: &TestApp, id: i64) -> Value {
    let resp = get(app, &format!("/subscription/{id}")).await;
    ok_data(&resp, None)
}

/// `POST /subscription/{id}/{action}` with the customer's id.
pub async fn act(app: &TestApp, id: i64, action: &str, customer_id: &str) -> Resp {
    let body = json!({ "customer_id": customer_id });
    post(app, &format!("/subscription/{id}/{action}"), &body).await
}

/// Every payment attempt of the subscription, oldest first (by date, then as made).
pub async fn transactions(app: &TestApp, id: i64) -> Vec<Value> {
    all_pages(
        app,
        &format!("/subscription/transactions/{id}?order_on=tran_date&order_by=asc"),
    )
    .await
}

/// Every item of a browse, page by page (100 a page).
pub async fn all_pages(app: &TestApp, path_and_query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 0.. {
        let path = format!("{path_and_query}&count=100&page={page}");
        let resp = get(app, &path).await;
        let data = ok_data(&resp, None);
        let items = data.as_array().expect("data is an array").clone();
        let total = resp.json["totalRecords"].as_u64().expect("totalRecords");
        let done = items.is_empty() || out.len() + items.len() >= total as usize;
        out.extend(items);
        if done {
            break;
        }
    }
    out
}

/// `tran_date`s of the transactions with this status.
pub fn dates_with_status(transactions: &[Value], status: &str) -> Vec<String> {
    transactions
        .iter()
        .filter(|t| t["tran_status"] == status)
        .map(|t| t["tran_date"].as_str().unwrap_or_default().to_owned())
        .collect()
}

pub fn days(dates: &[NaiveDate]) -> Vec<String> {
    dates.iter().copied().map(day).collect()
}

/// A short description of the transactions for failure messages.
pub fn brief(transactions: &[Value]) -> String {
    transactions
        .iter()
        .map(|t| {
            format!(
                "{} {} {} {}",
                t["tran_date"].as_str().unwrap_or("?"),
                t["tran_status"].as_str().unwrap_or("?"),
                t["rcode"].as_str().unwrap_or("?"),
                t["amt_tran"]
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn the_billing_contract_check_catches_unknown_fields_wrong_types_and_broken_invariants() {
    let good = json!({
        "code": 0, "message": "Success", "totalRecords": 1, "totalPages": 1,
        "data": [{
            "pg_id": "p1", "subscription_id": "7", "customer_id": "C1", "merchant_id": 1001,
            "tran_status": "A", "tran_date": "2027-01-31", "tran_time": "2027-01-31 10:00:00",
            "amt_tran": 19.99, "tran_currency": "840", "rcode": "000", "auth_code": "ABC123",
            "card_number": "411111xxxxxx1111", "card_type": "VS", "card_id": "c".repeat(32)
        }]
    });
    assert_eq!(
        billing_violations(&good, "TransactionListResponse"),
        Vec::<String>::new()
    );
    let cases = [
        (
            "/data/0/surprise",
            json!(1),
            "not a property of Transaction",
        ),
        ("/data/0/amt_tran", json!("19.99"), "expected number"),
        ("/data/0/amt_tran", json!(1.999), "at most 2 decimals"),
        ("/data/0/tran_status", json!("P"), "is not A or D"),
        ("/data/0/rcode", json!("51"), "rcode 000"),
        ("/data/0/rcode", json!("0000"), "fixed length of 3"),
        (
            "/data/0/card_number",
            json!("4111111111111111"),
            "not masked",
        ),
        ("/data/0/tran_date", json!("31/01/2027"), "YYYY-MM-DD"),
        ("/data/0/subscription_id", json!(7), "expected string"),
    ];
    for (pointer, replacement, expected) in cases {
        let mut bad = good.clone();
        let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
        bad.pointer_mut(parent).expect("the parent exists")[key] = replacement;
        let found = billing_violations(&bad, "TransactionListResponse");
        assert!(
            found.iter().any(|v| v.contains(expected)),
            "{pointer}: expected a violation containing {expected:?}, got {found:?}"
        );
    }
    let cancelled_with_next = json!({
        "code": 0, "message": "Success",
        "data": {
            "subscription_id": 1, "customer_id": "C1", "card_id": "c".repeat(32), "status": "C",
            "date_start": "2027-01-31", "date_next": "2027-02-28", "plan_frequency": 3,
            "plan_duration": -1, "recur_amt": 10.0
        }
    });
    let found = billing_violations(&cancelled_with_next, "SubscriptionResponse");
    assert!(found.iter().any(|v| v.contains("date_next")), "{found:?}");
    let plan = json!({ "code": 0, "message": "Success", "data": { "plan_code": "X" } });
    let found = billing_violations(&plan, "RecurringPlanResponse");
    assert!(
        found.iter().any(|v| v.contains("lacks `plan_id`")),
        "{found:?}"
    );
}
