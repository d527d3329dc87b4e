//! Gateway latency, throughput, upstream calls and CPU per request.
//!
//! `cargo bench --bench gateway`, or `cargo bench --bench gateway -- --quick` for a short run.
//! Part one starts a fake Qualpay in this process (500 customers with 2 cards and 2 shipping
//! addresses each and 1-2 subscriptions on one of 5 plans, each item serialized once at start;
//! it counts every request it gets) and the real `vaultql serve --upstream <fake>` as a child
//! process, then drives `{ __typename }` (the gateway's floor: no field to fetch) and two
//! queries with 1 and 16 concurrent clients: (a) one customer with
//! cards, addresses, subscriptions and their plans, a different customer each request; (b) a
//! page of 50 customers with cards, subscriptions and plans, a different window each request (no
//! two windows make the same page call, so at 16 clients joined reads do not flatter the count).
//! Beside each, the same three REST calls the gateway makes are made directly against the fake.
//! It prints requests a second, p50 and p99, upstream calls per request (exact, from the fake's
//! counter; with one client also per request), reads the gateway joined to an identical call in
//! flight (its `/metrics`) and the gateway's own CPU per request (utime + stime in `/proc`).
//! Part two starts `vaultql serve` over its embedded vault (seeded, plus 200 customers added over
//! REST so that 16 clients rarely ask for the same one at once) and compares
//! `customer { cards shippingAddresses }` with `GET /platform/vault/customer/{id}`, 16 clients.
//! It prints figures; it asserts only that every answer is right (no `errors`, the customers,
//! cards and plans asked for).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{ChildStderr, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use vaultql::gateway::paging::encode_cursor;
use vaultql::qualpay::{ApiResponse, CustomerVault, ListResponse, RecurringPlan, Subscription};
use vaultql::upstream::basic_authorization;

const API_KEY: &str = "bench-key";
const CUSTOMERS: usize = 500;
const PAGE: usize = 50;
/// `(plan_code, plan_name, plan_frequency, amount)`.
const PLANS: [(&str, &str, i32, &str); 5] = [
    ("BASIC-MONTHLY", "Basic, monthly", 3, "9.99"),
    ("PRO-MONTHLY", "Pro, monthly", 3, "29.00"),
    ("TEAM-MONTHLY", "Team, monthly", 3, "79.00"),
    ("PRO-QUARTERLY", "Pro, quarterly", 4, "79.00"),
    ("ANNUAL", "Annual", 6, "299.00"),
];
/// Customers added to the embedded vault beside its demo ones.
const EMBEDDED_EXTRA: usize = 200;

const CUSTOMER_QUERY: &str = "query($id: String!) { customer(customerId: $id) {
  customerId firstName lastName email phone
  cards { cardId maskedNumber brand expDate isExpired isPrimary billingAddress { zip } }
  shippingAddresses { shippingId firstName lastName addr1 city state zip isPrimary }
  subscriptions { subscriptionId status nextBillingDate amount currency
    plan { planCode name amount frequency } } } }";
const PAGE_QUERY: &str = "query($after: String) { customers(first: 50, after: $after) {
  totalCount pageInfo { hasNextPage endCursor }
  nodes { customerId firstName lastName email
    cards { cardId maskedNumber brand expDate isPrimary }
    subscriptions { subscriptionId status nextBillingDate amount
      plan { planCode name amount frequency } } } } }";
const EMBEDDED_QUERY: &str = "query($id: String!) { customer(customerId: $id) {
  customerId firstName lastName
  cards { cardId maskedNumber brand expDate isPrimary }
  shippingAddresses { shippingId firstName lastName addr1 city state zip isPrimary } } }";

#[derive(Clone, Copy)]
struct Effort {
    /// Requests of a one-client run.
    sequential: usize,
    /// Length of a 16-client run.
    concurrent: Duration,
    /// Unmeasured requests before each run.
    warm_up: usize,
}

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let effort = Effort {
        sequential: if quick { 200 } else { 2_000 },
        concurrent: Duration::from_secs(if quick { 1 } else { 5 }),
        warm_up: if quick { 20 } else { 200 },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(bench(effort))
}

async fn bench(effort: Effort) -> anyhow::Result<()> {
    let fake = Arc::new(Fake::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let upstream = format!("http://{}", listener.local_addr()?);
    tokio::spawn(axum::serve(listener, fake.clone().router()).into_future());
    let gateway = Server::start(&["--upstream", &upstream, "--upstream-api-key", API_KEY])?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let ctx = Arc::new(Ctx {
        http: http.clone(),
        auth: basic_authorization(API_KEY).context("the key fits in a header")?,
        graphql: format!("http://{}/graphql", gateway.address),
        rest: upstream,
        ids: (0..CUSTOMERS).map(customer_id).collect(),
        windows: windows(),
    });
    println!(
        "fake Qualpay at {}: {CUSTOMERS} customers, {} plans; gateway pid {} at {}; {} windows of {PAGE}",
        ctx.rest,
        PLANS.len(),
        gateway.process.id(),
        gateway.address,
        ctx.windows.len(),
    );
    for query in [Query::Customer, Query::Page] {
        *fake.trace.lock().expect("trace lock") = Some(Vec::new());
        ctx.run(query, 7).await.map_err(anyhow::Error::msg)?;
        let trace = fake.trace.lock().expect("trace lock").take();
        let trace = trace.unwrap_or_default();
        println!(
            "{} one request's upstream calls ({}):",
            &query.label()[..3],
            trace.len()
        );
        for call in trace {
            println!("    {}", shorten(&call, 150));
        }
    }
    let ticks = clock_ticks();
    let mut rows = Vec::new();
    for (query, server) in [
        (Query::Floor, Some(&gateway)),
        (Query::Customer, Some(&gateway)),
        (Query::CustomerDirect, None),
        (Query::Page, Some(&gateway)),
        (Query::PageDirect, None),
    ] {
        for concurrency in [1, 16] {
            let phase = Phase {
                query,
                concurrency,
                effort,
                fake: Some(&fake),
                server,
                ticks,
            };
            rows.push(phase.measure(&ctx).await?);
        }
    }
    drop(gateway);

    let server = Server::start(&[
        "--upstream-api-key",
        API_KEY,
        "--billing-interval-secs",
        "0",
    ])?;
    let embedded = Arc::new(ctx.embedded(&server).await?);
    for query in [Query::EmbeddedCustomer, Query::EmbeddedRest] {
        let phase = Phase {
            query,
            concurrency: 16,
            effort,
            fake: None,
            server: None,
            ticks,
        };
        rows.push(phase.measure(&embedded).await?);
    }
    drop(server);
    report(&rows);
    Ok(())
}

fn report(rows: &[Row]) {
    println!(
        "\n{:<32} {:>4} {:>7} {:>7} {:>7}  {:<14} {:>10} {:>13}",
        "query", "conc", "req/s", "p50 ms", "p99 ms", "upstream/req", "joined/req", "gw CPU ms/req"
    );
    for row in rows {
        row.print();
    }
    let find = |query: Query, concurrency: usize| {
        let found = rows
            .iter()
            .find(|r| r.query == query && r.concurrency == concurrency);
        found.expect("every row was measured")
    };
    let ratio = |query: Query, direct: Query| {
        find(query, 1).stats.percentile_ms(0.5) / find(direct, 1).stats.percentile_ms(0.5)
    };
    println!();
    println!(
        "(a) p50 vs direct REST at c=1: {:.2}x (target <= 1.5x)",
        ratio(Query::Customer, Query::CustomerDirect)
    );
    println!(
        "(0) p50 vs (a)'s direct REST at c=1: {:.2}x (the gateway's floor: HTTP and GraphQL, no field)",
        ratio(Query::Floor, Query::CustomerDirect)
    );
    println!(
        "(b) p50 vs direct REST at c=1: {:.2}x (no target)",
        ratio(Query::Page, Query::PageDirect)
    );
    for query in [Query::Customer, Query::Page] {
        let calls = find(query, 1).calls_text();
        println!(
            "{} upstream calls per request at c=1: {calls} (target 3)",
            &query.label()[..3]
        );
    }
    let share = find(Query::EmbeddedCustomer, 16).stats.per_second()
        / find(Query::EmbeddedRest, 16).stats.per_second();
    println!(
        "(e) embedded vault at c=16: GraphQL at {:.0}% of direct REST req/s (target >= 50%)",
        share * 100.0
    );
}

// ---- the fake Qualpay ----------------------------------------------------------------------

/// Qualpay's answers, serialized once, each item with the key it sorts on; it counts (and on
/// demand records) every request it gets.
struct Fake {
    /// In `customer_id` order.
    customers: Vec<(String, String)>,
    index: HashMap<String, usize>,
    /// Each customer's subscriptions, keyed by `subscription_id` (4 digits, so they sort).
    subscriptions: Vec<Vec<(String, String)>>,
    plans: Vec<(String, String)>,
    calls: AtomicU64,
    trace: Mutex<Option<Vec<String>>>,
}

#[derive(Clone, Copy)]
enum Listing {
    Customers,
    Subscriptions,
    Plans,
}

impl Fake {
    fn new() -> Self {
        let bytes = |value: Value| value.to_string();
        let customers: Vec<Value> = (0..CUSTOMERS).map(customer).collect();
        let subscriptions = (0..CUSTOMERS).map(|n| {
            let subscriptions = subscriptions(n, &customers[n]).into_iter();
            subscriptions
                .map(|s| (s["subscription_id"].to_string(), bytes(s)))
                .collect()
        });
        Self {
            index: (0..CUSTOMERS).map(|n| (customer_id(n), n)).collect(),
            subscriptions: subscriptions.collect(),
            customers: customers
                .into_iter()
                .enumerate()
                .map(|(n, c)| (customer_id(n), bytes(c)))
                .collect(),
            plans: (0..PLANS.len())
                .map(|n| (PLANS[n].0.to_owned(), bytes(plan(n))))
                .collect(),
            calls: AtomicU64::new(0),
            trace: Mutex::new(None),
        }
    }

    fn router(self: Arc<Self>) -> axum::Router {
        let listing = |listing| {
            move |fake: State<Arc<Fake>>, query: RawQuery| browse_listing(fake, query, listing)
        };
        axum::Router::new()
            .route("/platform/vault/customer", get(listing(Listing::Customers)))
            .route("/platform/vault/customer/{id}", get(one_customer))
            .route(
                "/platform/subscription",
                get(listing(Listing::Subscriptions)),
            )
            .route("/platform/plan", get(listing(Listing::Plans)))
            .fallback(|request: Request| async move {
                refused(
                    StatusCode::NOT_FOUND,
                    format!("no route for {}", request.uri()),
                )
            })
            .layer(axum::middleware::from_fn_with_state(self.clone(), count))
            .with_state(self)
    }

    /// The items of a listing that `values` (of its filter field) name, all when `None`.
    fn items(&self, listing: Listing, values: Option<&[String]>) -> Vec<&(String, String)> {
        let customers: Vec<usize> = match values {
            None => (0..CUSTOMERS).collect(),
            Some(ids) => ids
                .iter()
                .filter_map(|id| self.index.get(id).copied())
                .collect(),
        };
        match listing {
            Listing::Customers => customers.iter().map(|&n| &self.customers[n]).collect(),
            Listing::Subscriptions => customers
                .iter()
                .flat_map(|&n| &self.subscriptions[n])
                .collect(),
            Listing::Plans => {
                let wanted = |code: &String| values.is_none_or(|v| v.contains(code));
                self.plans.iter().filter(|(code, _)| wanted(code)).collect()
            }
        }
    }
}

async fn count(State(fake): State<Arc<Fake>>, request: Request, next: Next) -> Response {
    fake.calls.fetch_add(1, Ordering::SeqCst);
    if let Some(trace) = fake.trace.lock().expect("trace lock").as_mut() {
        let uri = request.uri().to_string();
        let uri = percent_encoding::percent_decode_str(&uri).decode_utf8_lossy();
        trace.push(format!("{} {uri}", request.method()));
    }
    next.run(request).await
}

/// A browse call, as Qualpay answers it: `count` and `page`, `order_by` over the listing's key
/// and at most one `field,IN|EQ,a|b|c` filter on `customer_id` (or `plan_code` for plans).
async fn browse_listing(
    State(fake): State<Arc<Fake>>,
    RawQuery(query): RawQuery,
    listing: Listing,
) -> Response {
    let params = match BrowseParams::parse(&query.unwrap_or_default(), listing) {
        Ok(params) => params,
        Err(message) => return refused(StatusCode::BAD_REQUEST, message),
    };
    let mut items = fake.items(listing, params.values.as_deref());
    items.sort_by(|a, b| a.0.cmp(&b.0));
    if params.descending {
        items.reverse();
    }
    let (total, count) = (items.len(), params.count);
    let mut body = format!(
        r#"{{"code":0,"message":"Success","totalRecords":{total},"totalPages":{},"data":["#,
        total.div_ceil(count)
    );
    let page = items.into_iter().skip(params.page * count).take(count);
    let page: Vec<&str> = page.map(|(_, item)| item.as_str()).collect();
    body.push_str(&page.join(","));
    body.push_str("]}");
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `GET /vault/customer/{id}`: one customer, as Qualpay answers it.
async fn one_customer(State(fake): State<Arc<Fake>>, Path(id): Path<String>) -> Response {
    let Some(&n) = fake.index.get(&id) else {
        return refused(StatusCode::NOT_FOUND, format!("no customer {id}"));
    };
    let body = format!(
        r#"{{"code":0,"message":"Success","data":{}}}"#,
        fake.customers[n].1
    );
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

struct BrowseParams {
    count: usize,
    page: usize,
    descending: bool,
    /// The values of the filter, if any.
    values: Option<Vec<String>>,
}

impl BrowseParams {
    fn parse(query: &str, listing: Listing) -> Result<Self, String> {
        let mut params = BrowseParams {
            count: 10,
            page: 0,
            descending: true,
            values: None,
        };
        let field = match listing {
            Listing::Plans => "plan_code",
            _ => "customer_id",
        };
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let parts: Vec<&str> = value.splitn(3, ',').collect();
            match (&*name, value.parse::<usize>(), &parts[..]) {
                ("count", Ok(n), _) => params.count = n.clamp(1, 100),
                ("page", Ok(n), _) => params.page = n,
                ("order_by", ..) => params.descending = value != "asc",
                ("order_on", ..) => {}
                ("filter", _, [f, "IN" | "EQ", values])
                    if *f == field && params.values.is_none() =>
                {
                    params.values = Some(values.split('|').map(str::to_owned).collect());
                }
                _ => return Err(format!("unexpected {name}={value}")),
            }
        }
        Ok(params)
    }
}

/// An error in Qualpay's envelope; said on stderr too, since the gateway should not cause one.
fn refused(status: StatusCode, message: String) -> Response {
    eprintln!("fake Qualpay: {message}");
    (status, axum::Json(json!({ "code": 2, "message": message }))).into_response()
}

// ---- the demo data, in Qualpay's field names (`src/qualpay/`) ------------------------------

fn customer_id(n: usize) -> String {
    format!("BENCH{n:04}")
}

fn customer(n: usize) -> Value {
    let card = |k: usize, masked: &str, brand: &str| {
        json!({
            "card_id": format!("{:032}", n * 10 + k), "card_number": masked, "card_type": brand,
            "exp_date": format!("{:02}{}", 1 + (n + k) % 12, 27 + k), "primary": k == 0,
            "billing_first_name": format!("First{n}"), "billing_last_name": format!("Last{n}"),
            "billing_zip": format!("{:05}", 10_000 + n),
        })
    };
    let address = |k: usize| {
        json!({
            "shipping_id": n * 2 + k + 1, "primary": k == 0,
            "shipping_first_name": format!("First{n}"), "shipping_last_name": format!("Last{n}"),
            "shipping_addr1": format!("{} Main Street", n + k), "shipping_city": "San Mateo",
            "shipping_state": "CA", "shipping_zip": "94402", "shipping_country_code": "840",
        })
    };
    json!({
        "customer_id": customer_id(n), "rec_id": n + 1,
        "customer_first_name": format!("First{n}"), "customer_last_name": format!("Last{n}"),
        "customer_email": format!("customer{n}@example.com"),
        "customer_phone": format!("415-555-{n:04}"), "primary_card_number": "411111xxxxxx1111",
        "billing_cards": [card(0, "411111xxxxxx1111", "VS"), card(1, "555555xxxxxx4444", "MC")],
        "shipping_addresses": [address(0), address(1)],
    })
}

/// Customer `n` has 1 or 2 subscriptions, on different plans.
fn subscriptions(n: usize, customer: &Value) -> Vec<Value> {
    (0..1 + n % 2)
        .map(|k| {
            let plan = (n + 2 * k) % PLANS.len();
            let (code, name, frequency, amount) = PLANS[plan];
            json!({
                "subscription_id": 1_000 + n * 2 + k, "merchant_id": 210_000_000_001_i64,
                "customer_id": customer["customer_id"], "card_id": customer["billing_cards"][0]["card_id"],
                "customer_first_name": customer["customer_first_name"],
                "customer_last_name": customer["customer_last_name"],
                "status": "A", "subscription_on_plan": true, "plan_id": plan + 1,
                "plan_code": code, "plan_name": name, "plan_frequency": frequency,
                "plan_duration": -1, "interval": 1, "date_start": "2026-01-15",
                "date_next": "2026-07-15", "recur_date_start": "2026-01-15",
                "recur_amt": amount.parse::<f64>().expect("an amount"), "tran_currency": "840",
            })
        })
        .collect()
}

fn plan(n: usize) -> Value {
    let (code, name, frequency, amount) = PLANS[n];
    json!({
        "merchant_id": 210_000_000_001_i64, "plan_id": n + 1, "plan_code": code,
        "plan_name": name, "plan_desc": format!("{name} (bench plan)"),
        "plan_frequency": frequency, "interval": 1, "plan_duration": -1, "trial_duration": 0,
        "amt_tran": amount.parse::<f64>().expect("an amount"), "tran_currency": "840",
        "bill_specific_day": false, "prorate_first_pmt": false, "status": "E",
        "db_timestamp": "2026-01-01 00:00:00", "mod_timestamp": "2026-01-01 00:00:00",
    })
}

fn extra_customer(n: usize) -> Value {
    let card = |number: &str, primary: bool| {
        json!({
            "card_number": number, "exp_date": "1229", "billing_zip": "94402", "primary": primary,
        })
    };
    let address = |k: usize| {
        json!({
            "shipping_first_name": "Extra", "shipping_last_name": format!("Customer{n}"),
            "shipping_addr1": format!("{} Elm Street", n + k), "shipping_city": "San Mateo",
            "shipping_state": "CA", "shipping_zip": "94402", "shipping_country_code": "840",
        })
    };
    json!({
        "customer_id": format!("EXTRA{n:04}"), "customer_first_name": "Extra",
        "customer_last_name": format!("Customer{n}"), "customer_email": format!("extra{n}@example.com"),
        "billing_cards": [card("4111111111111111", true), card("5555555555554444", false)],
        "shipping_addresses": [address(0), address(1)],
    })
}

/// Windows of 50 customers that the gateway fetches with one page call each, no two with the
/// same call: `(offset, count, page)`, the call chosen as `gateway::paging` chooses it (the
/// smallest page size from 50 to 100 that holds the whole window on one page).
fn windows() -> Vec<(usize, usize, usize)> {
    let mut calls = HashSet::new();
    (0..=CUSTOMERS - PAGE)
        .filter_map(|start| {
            let count = (PAGE..=100).find(|c| start / c == (start + PAGE - 1) / c)?;
            calls
                .insert((count, start / count))
                .then_some((start, count, start / count))
        })
        .collect()
}

// ---- the clients --------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Query {
    Floor,
    Customer,
    CustomerDirect,
    Page,
    PageDirect,
    EmbeddedCustomer,
    EmbeddedRest,
}

impl Query {
    fn label(self) -> &'static str {
        match self {
            Query::Floor => "(0) { __typename }, no upstream",
            Query::Customer => "(a) customer+cards+addr+subs",
            Query::CustomerDirect => "(a) direct REST x3",
            Query::Page => "(b) 50 customers+cards+subs",
            Query::PageDirect => "(b) direct REST x3",
            Query::EmbeddedCustomer => "(e) GraphQL customer{cards,addr}",
            Query::EmbeddedRest => "(e) REST GET customer/{id}",
        }
    }
}

/// What the clients send to: a gateway (`graphql`) and a Qualpay REST API (`rest`) holding the
/// customers `ids`.
struct Ctx {
    http: reqwest::Client,
    auth: HeaderValue,
    graphql: String,
    rest: String,
    ids: Vec<String>,
    windows: Vec<(usize, usize, usize)>,
}

fn expect(ok: bool, problem: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(problem()) }
}

impl Ctx {
    /// Request number `i` of a query; an error says what was wrong with the answer.
    async fn run(&self, query: Query, i: usize) -> Result<(), String> {
        let id = &self.ids[i % self.ids.len()];
        let (start, count, page) = self.windows[i % self.windows.len()];
        match query {
            Query::Floor => {
                let data = self.graphql("{ __typename }", json!({})).await?;
                expect(data["__typename"] == "Query", || {
                    format!("{{ __typename }} came back wrong: {}", wrong(&data))
                })
            }
            Query::Customer => {
                let data = self.graphql(CUSTOMER_QUERY, json!({ "id": id })).await?;
                let customer = &data["customer"];
                let len = |field: &str| customer[field].as_array().map_or(0, Vec::len);
                let right = customer["customerId"] == **id
                    && (len("cards"), len("shippingAddresses")) == (2, 2)
                    && len("subscriptions") == 1 + (i % self.ids.len()) % 2
                    && with_plans(customer);
                expect(right, || {
                    format!("customer {id} came back wrong: {}", wrong(&data))
                })
            }
            Query::CustomerDirect => {
                let customer: ApiResponse<CustomerVault> =
                    self.rest(&format!("/vault/customer/{id}"), &[]).await?;
                let found = customer.data.is_some_and(|c| c.customer_id == *id);
                expect(found, || format!("no customer {id}"))?;
                self.subscriptions_and_plans(&format!("customer_id,IN,{id}"))
                    .await
            }
            Query::Page => {
                let after = start.checked_sub(1).map(encode_cursor);
                let data = self.graphql(PAGE_QUERY, json!({ "after": after })).await?;
                let nodes = data["customers"]["nodes"].as_array();
                let nodes = nodes.map_or(&[][..], Vec::as_slice);
                let cards = |c: &Value| c["cards"].as_array().map_or(0, Vec::len);
                let right = nodes.len() == PAGE
                    && nodes[0]["customerId"] == *customer_id(start)
                    && nodes.iter().all(|c| cards(c) == 2 && with_plans(c));
                expect(right, || {
                    format!("page at {start} came back wrong: {}", wrong(&data))
                })
            }
            Query::PageDirect => {
                let mut params = vec![("count", count.to_string()), ("page", page.to_string())];
                params.push(("order_on", "customer_id".into()));
                params.push(("order_by", "asc".into()));
                let answer: ListResponse<CustomerVault> =
                    self.rest("/vault/customer", &params).await?;
                let page = answer
                    .data
                    .into_iter()
                    .skip(start - count * page)
                    .take(PAGE);
                let ids: Vec<String> = page.map(|c| c.customer_id).collect();
                expect(ids.len() == PAGE, || {
                    format!("the page at {start} is short")
                })?;
                self.subscriptions_and_plans(&format!("customer_id,IN,{}", ids.join("|")))
                    .await
            }
            Query::EmbeddedCustomer => {
                let data = self.graphql(EMBEDDED_QUERY, json!({ "id": id })).await?;
                let found =
                    data["customer"]["customerId"] == **id && data["customer"]["cards"].is_array();
                expect(found, || format!("customer {id} came back wrong: {data}"))
            }
            Query::EmbeddedRest => {
                let answer: ApiResponse<CustomerVault> =
                    self.rest(&format!("/vault/customer/{id}"), &[]).await?;
                let found = answer.data.is_some_and(|c| c.customer_id == *id);
                expect(found, || format!("GET customer {id} answered another"))
            }
        }
    }

    async fn graphql(&self, query: &str, variables: Value) -> Result<Value, String> {
        let failed = |e: reqwest::Error| format!("POST /graphql: {e}");
        let request = self
            .http
            .post(&self.graphql)
            .header(header::AUTHORIZATION, &self.auth);
        let body = json!({ "query": query, "variables": variables });
        let response = request.json(&body).send().await.map_err(failed)?;
        let status = response.status();
        let mut body: Value = response.json().await.map_err(failed)?;
        if !status.is_success() || body.get("errors").is_some() {
            return Err(format!(
                "the gateway answered HTTP {status}: {}",
                wrong(&body)
            ));
        }
        Ok(body["data"].take())
    }

    async fn rest<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, String> {
        let failed = |e: &dyn std::fmt::Display| format!("GET {path}: {e}");
        let url = format!("{}/platform{path}", self.rest);
        let request = self.http.get(url).header(header::AUTHORIZATION, &self.auth);
        let response = request.query(query).send().await.map_err(|e| failed(&e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| failed(&e))?;
        if !status.is_success() {
            return Err(failed(&format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            )));
        }
        serde_json::from_slice(&body).map_err(|e| failed(&e))
    }

    /// The subscriptions of the customers a filter names, then their plans: two calls, as the
    /// gateway's loaders make them.
    async fn subscriptions_and_plans(&self, customer_filter: &str) -> Result<(), String> {
        let params = browse_params(Some("subscription_id"), customer_filter);
        let subscriptions: ListResponse<Subscription> = self.rest("/subscription", &params).await?;
        let codes: BTreeSet<String> = subscriptions
            .data
            .into_iter()
            .filter_map(|s| s.plan_code)
            .collect();
        let codes: Vec<String> = codes.into_iter().collect();
        let params = browse_params(
            Some("plan_code"),
            &format!("plan_code,IN,{}", codes.join("|")),
        );
        let plans: ListResponse<RecurringPlan> = self.rest("/plan", &params).await?;
        expect(plans.data.len() == codes.len(), || {
            format!("plans {codes:?}: {} found", plans.data.len())
        })
    }

    /// The same clients for the embedded vault of `server`, once its demo data is in and
    /// [`EMBEDDED_EXTRA`] customers are added; its ids are every customer's.
    async fn embedded(&self, server: &Server) -> anyhow::Result<Ctx> {
        let base = format!("http://{}", server.address);
        let mut ctx = Ctx {
            http: self.http.clone(),
            auth: self.auth.clone(),
            graphql: format!("{base}/graphql"),
            rest: base.clone(),
            ids: Vec::new(),
            windows: self.windows.clone(),
        };
        let seeded = ctx.customer_ids().await?;
        if seeded.is_empty() {
            bail!("the embedded vault has no customers once started: it was not seeded");
        }
        let adding = Instant::now();
        for n in 0..EMBEDDED_EXTRA {
            let request = ctx.http.post(format!("{base}/platform/vault/customer"));
            let request = request.header(header::AUTHORIZATION, ctx.auth.clone());
            let response = request.json(&extra_customer(n)).send().await?;
            if !response.status().is_success() {
                bail!("adding a customer: {}", response.text().await?);
            }
        }
        ctx.ids = ctx.customer_ids().await?;
        println!(
            "embedded vault pid {} at {}: {} demo customers, {EMBEDDED_EXTRA} added over REST in {:.1} s",
            server.process.id(),
            server.address,
            seeded.len(),
            adding.elapsed().as_secs_f64()
        );
        Ok(ctx)
    }

    async fn customer_ids(&self) -> anyhow::Result<Vec<String>> {
        let mut ids = Vec::new();
        for page in 0.. {
            let params = [("count", "100".to_owned()), ("page", page.to_string())];
            let answer: ListResponse<CustomerVault> = self
                .rest("/vault/customer", &params)
                .await
                .map_err(anyhow::Error::msg)?;
            ids.extend(answer.data.into_iter().map(|c| c.customer_id));
            if ids.len() as i64 >= answer.total_records {
                break;
            }
        }
        Ok(ids)
    }
}

/// A first page of 100 with one filter, ordered by `order_on` descending when given.
fn browse_params(order_on: Option<&str>, filter: &str) -> Vec<(&'static str, String)> {
    let mut params = vec![("count", "100".to_owned()), ("page", "0".to_owned())];
    if let Some(order_on) = order_on {
        params.push(("order_on", order_on.to_owned()));
        params.push(("order_by", "desc".to_owned()));
    }
    params.push(("filter", filter.to_owned()));
    params
}

/// Whether every subscription of a customer came with its plan.
fn with_plans(customer: &Value) -> bool {
    let subscriptions = customer["subscriptions"].as_array();
    subscriptions.is_some_and(|list| list.iter().all(|s| s["plan"]["planCode"].is_string()))
}

/// An answer, shortened, for an error message.
fn wrong(answer: &Value) -> String {
    shorten(&answer.to_string(), 2000)
}

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}... ({} bytes)", &text[..at], text.len()),
        None => text.to_owned(),
    }
}

// ---- load and figures -----------------------------------------------------------------------

/// One measured run: a query at a concurrency, with what to read around it.
struct Phase<'a> {
    query: Query,
    concurrency: usize,
    effort: Effort,
    /// The fake whose calls are counted, if the query reaches it.
    fake: Option<&'a Arc<Fake>>,
    /// The gateway whose CPU and joined reads are read, if the query goes through one.
    server: Option<&'a Server>,
    ticks: Option<f64>,
}

struct Row {
    query: Query,
    concurrency: usize,
    stats: Stats,
    upstream_per_request: Option<f64>,
    /// Fewest and most upstream calls of one request (one client only).
    calls_each: Option<(u64, u64)>,
    joined_per_request: Option<f64>,
    cpu_ms_per_request: Option<f64>,
}

impl Phase<'_> {
    async fn measure(&self, ctx: &Arc<Ctx>) -> anyhow::Result<Row> {
        let warm_up = Load::Requests(self.effort.warm_up.max(self.concurrency));
        drive(ctx, self.query, self.concurrency, warm_up, None).await?;
        let load = match self.concurrency {
            1 => Load::Requests(self.effort.sequential),
            _ => Load::For(self.effort.concurrent),
        };
        let (joined, calls, cpu) = (self.joined(ctx).await, self.calls(), self.cpu());
        let probe = self.fake.filter(|_| self.concurrency == 1);
        let (stats, calls_each) = drive(ctx, self.query, self.concurrency, load, probe).await?;
        let (cpu, calls, joined) = (
            delta(cpu, self.cpu()),
            delta(calls, self.calls()),
            delta(joined, self.joined(ctx).await),
        );
        let per_request =
            |total: Option<u64>| total.map(|t| t as f64 / stats.latencies.len() as f64);
        let row = Row {
            query: self.query,
            concurrency: self.concurrency,
            upstream_per_request: per_request(calls),
            calls_each,
            joined_per_request: per_request(joined),
            cpu_ms_per_request: per_request(cpu)
                .zip(self.ticks)
                .map(|(t, ticks)| t * 1000.0 / ticks),
            stats,
        };
        eprintln!("measured {} at c={}", row.query.label(), row.concurrency);
        Ok(row)
    }

    fn calls(&self) -> Option<u64> {
        self.fake.map(|fake| fake.calls.load(Ordering::SeqCst))
    }

    fn cpu(&self) -> Option<u64> {
        self.server.and_then(Server::cpu_ticks)
    }

    async fn joined(&self, ctx: &Ctx) -> Option<u64> {
        self.server?.shared_reads(&ctx.http).await
    }
}

fn delta(before: Option<u64>, after: Option<u64>) -> Option<u64> {
    Some(after? - before?)
}

impl Row {
    fn calls_text(&self) -> String {
        let Some(average) = self.upstream_per_request else {
            return "-".into();
        };
        match self.calls_each {
            Some((low, high)) if low == high => format!("{average:.2} ({low} each)"),
            Some((low, high)) => format!("{average:.2} ({low}-{high})"),
            None => format!("{average:.2}"),
        }
    }

    fn print(&self) {
        let figure = |value: Option<f64>, places: usize| {
            value.map_or("-".into(), |v| format!("{v:.places$}"))
        };
        println!(
            "{:<32} {:>4} {:>7.0} {:>7.2} {:>7.2}  {:<14} {:>10} {:>13}",
            self.query.label(),
            self.concurrency,
            self.stats.per_second(),
            self.stats.percentile_ms(0.5),
            self.stats.percentile_ms(0.99),
            self.calls_text(),
            figure(self.joined_per_request, 2),
            figure(self.cpu_ms_per_request, 3),
        );
    }
}

#[derive(Clone, Copy)]
enum Load {
    Requests(usize),
    For(Duration),
}

struct Stats {
    /// Sorted.
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Stats {
    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        let at = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        self.latencies[at].as_secs_f64() * 1000.0
    }
}

/// Runs a query from `concurrency` tasks, each sending its next request when its last one has
/// answered. With `probe` (one task only), also the fewest and most calls one request made.
async fn drive(
    ctx: &Arc<Ctx>,
    query: Query,
    concurrency: usize,
    load: Load,
    probe: Option<&Arc<Fake>>,
) -> anyhow::Result<(Stats, Option<(u64, u64)>)> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let (limit, deadline) = match load {
        Load::Requests(n) => (n, None),
        Load::For(length) => (usize::MAX, Some(started + length)),
    };
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (ctx, next, probe) = (ctx.clone(), next.clone(), probe.cloned());
            tokio::spawn(async move {
                let (mut latencies, mut each) = (Vec::new(), None::<(u64, u64)>);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= limit || deadline.is_some_and(|d| Instant::now() >= d) {
                        return Ok::<_, String>((latencies, each));
                    }
                    let calls_before = probe.as_ref().map(|f| f.calls.load(Ordering::SeqCst));
                    let sent = Instant::now();
                    ctx.run(query, i)
                        .await
                        .map_err(|e| format!("request {i}: {e}"))?;
                    latencies.push(sent.elapsed());
                    if let Some((fake, before)) = probe.as_ref().zip(calls_before) {
                        let calls = fake.calls.load(Ordering::SeqCst) - before;
                        each = Some(
                            each.map_or((calls, calls), |(l, h)| (l.min(calls), h.max(calls))),
                        );
                    }
                }
            })
        })
        .collect();
    let (mut latencies, mut each) = (Vec::new(), None);
    for task in tasks {
        let (mine, my_each) = task.await?.map_err(anyhow::Error::msg)?;
        latencies.extend(mine);
        each = each.or(my_each);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Ok((Stats { latencies, elapsed }, each))
}

/// Clock ticks a second, the unit of `/proc/<pid>/stat` times: `getconf CLK_TCK` (this crate has
/// no `libc` to call `sysconf`), else Linux's usual 100. `None` where there is no `/proc`.
fn clock_ticks() -> Option<f64> {
    std::path::Path::new("/proc/self/stat").exists().then(|| {
        let output = Command::new("getconf").arg("CLK_TCK").output().ok();
        let text = output.and_then(|out| String::from_utf8(out.stdout).ok());
        text.and_then(|t| t.trim().parse().ok()).unwrap_or(100.0)
    })
}

// ---- the vaultql child process --------------------------------------------------------------

/// `vaultql serve` in a child process, killed when dropped (also on a panic or an error).
struct Server {
    process: std::process::Child,
    address: SocketAddr,
    _data_dir: tempfile::TempDir,
}

enum LogEvent {
    Listening(SocketAddr),
    /// `serve` says where GraphiQL is once it has started (after seeding an embedded vault).
    Started,
    Closed(Vec<String>),
}

impl Server {
    fn start(args: &[&str]) -> anyhow::Result<Self> {
        let data_dir = tempfile::tempdir()?;
        let mut process = Command::new(env!("CARGO_BIN_EXE_vaultql"))
            .args([
                "serve",
                "--log-json",
                "--listen",
                "127.0.0.1:0",
                "--graphiql",
                "off",
            ])
            .arg("--data-dir")
            .arg(data_dir.path())
            .args(args)
            // The production default: a log line per request, which this process reads and drops.
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("could not start vaultql")?;
        let stderr = process.stderr.take().context("vaultql has no stderr")?;
        let unknown = SocketAddr::from(([0, 0, 0, 0], 0));
        let mut server = Server {
            process,
            address: unknown,
            _data_dir: data_dir,
        };
        let (events, received) = mpsc::channel();
        std::thread::spawn(move || read_log(stderr, &events));
        loop {
            match received.recv_timeout(Duration::from_secs(120)) {
                Ok(LogEvent::Listening(address)) => server.address = address,
                Ok(LogEvent::Started) if server.address != unknown => return Ok(server),
                Ok(LogEvent::Started) => bail!("vaultql started without saying where it listens"),
                Ok(LogEvent::Closed(tail)) => {
                    bail!("vaultql stopped; it said:\n{}", tail.join("\n"))
                }
                Err(_) => bail!("vaultql did not say it had started within 120 s"),
            }
        }
    }

    /// The process's user + system CPU time so far, all threads, in clock ticks.
    fn cpu_ticks(&self) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.process.id())).ok()?;
        // After the command name (which may hold spaces) come fields 3 (`state`) onwards;
        // `utime` and `stime` are fields 14 and 15.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    }

    /// Reads joined to an identical call in flight so far (`/metrics`).
    async fn shared_reads(&self, http: &reqwest::Client) -> Option<u64> {
        let url = format!("http://{}/metrics", self.address);
        let text = http.get(url).send().await.ok()?.text().await.ok()?;
        let lines = text
            .lines()
            .filter(|l| l.starts_with("vaultql_upstream_shared_reads_total{"));
        Some(
            lines
                .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
                .sum(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Follows the child's log: where it listens, when it has started, and its warnings (echoed).
fn read_log(stderr: ChildStderr, events: &mpsc::Sender<LogEvent>) {
    let mut tail = VecDeque::new();
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if line.starts_with("vaultql: GraphiQL at ") {
            let _ = events.send(LogEvent::Started);
        } else if let Ok(entry) = serde_json::from_str::<Value>(&line) {
            let fields = &entry["fields"];
            if fields["message"] == "ready" {
                let _ = events.send(LogEvent::Started);
            } else if fields["message"] == "listening"
                && let Some(address) = fields["address"].as_str().and_then(|a| a.parse().ok())
            {
                let _ = events.send(LogEvent::Listening(address));
            }
            if matches!(entry["level"].as_str(), Some("WARN" | "ERROR")) {
                eprintln!("vaultql: {line}");
            }
        }
        tail.push_back(line);
        if tail.len() > 20 {
            tail.pop_front();
        }
    }
    let _ = events.send(LogEvent::Closed(tail.into()));
}
