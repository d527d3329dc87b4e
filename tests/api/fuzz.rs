//! Junk in, never a 5xx out: random methods, vault paths, query strings and bodies against the
//! shared server. Every answer must be a JSON envelope with an integer code.

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::Config;
use reqwest::Method;
use serde_json::{Map, Value};

use crate::helpers::{Auth, TestApp, assert_error_envelope};
use crate::testdata::{AMEX, BAD_LUHN, ROUTING, VISA};

const FIELDS: [&str; 24] = [
    "customer_id",
    "auto_generate_customer_id",
    "customer_first_name",
    "customer_last_name",
    "customer_firm_name",
    "customer_email",
    "merchant_id",
    "billing_cards",
    "shipping_addresses",
    "card_number",
    "exp_date",
    "cvv2",
    "card_id",
    "billing_zip",
    "billing_zip4",
    "billing_email",
    "verify",
    "primary",
    "type_id",
    "tr_number",
    "dda_number",
    "shipping_id",
    "shipping_first_name",
    "shipping_zip4",
];

const QUERY_KEYS: [&str; 7] = [
    "count",
    "page",
    "order_on",
    "order_by",
    "filter",
    "merchant_id",
    "junk",
];

/// Customer-id-like path segments; valid ones start with `Fz` so they never collide with other tests.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "Fz[A-Za-z0-9]{0,8}",
        "[0-9]{1,12}",
        "-?[0-9]{1,22}",
        ".{0,40}",
        Just(String::new()),
    ]
    .prop_map(|s| {
        if s == "." || s == ".." {
            "Fzdot".into()
        } else {
            s
        }
    })
}

/// Vault routes (`{id}` a customer id, `{n}` any segment) and the methods each supports.
const ROUTES: [(&[&str], &[&str]); 9] = [
    (&["vault", "customer"], &["GET", "POST"]),
    (&["vault", "customer", "{id}"], &["GET", "PUT", "DELETE"]),
    (
        &["vault", "customer", "{id}", "billing"],
        &["GET", "POST", "PUT"],
    ),
    (
        &["vault", "customer", "{id}", "billing", "primary"],
        &["PUT"],
    ),
    (
        &["vault", "customer", "{id}", "billing", "delete"],
        &["PUT"],
    ),
    (
        &["vault", "customer", "{id}", "shipping"],
        &["GET", "POST", "PUT"],
    ),
    (
        &["vault", "customer", "{id}", "shipping", "primary"],
        &["PUT"],
    ),
    (
        &["vault", "customer", "{id}", "shipping", "{n}"],
        &["DELETE"],
    ),
    (&["vault", "{n}"], &["GET"]),
];

/// The customer the fuzzer finds, with a card and an address, most of the time.
const FUZZ_CUSTOMER: &str = "FzFuzz01";

/// A route with its segments filled in, and a method: usually one the route supports.
fn route() -> impl Strategy<Value = (Method, Vec<String>)> {
    let id = prop_oneof![3 => Just(FUZZ_CUSTOMER.to_owned()), 2 => segment()];
    (0..ROUTES.len(), id, segment(), 0..8_usize, method()).prop_map(
        |(route, id, n, pick, random_method)| {
            let (template, methods) = ROUTES[route];
            let segments = template
                .iter()
                .map(|part| match *part {
                    "{id}" => id.clone(),
                    "{n}" => n.clone(),
                    literal => literal.to_owned(),
                })
                .collect();
            let method = match methods.get(pick) {
                Some(name) => Method::from_bytes(name.as_bytes()).expect("a method"),
                None if pick < 6 => Method::from_bytes(methods[0].as_bytes()).expect("a method"),
                None => random_method,
            };
            (method, segments)
        },
    )
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "Fz[a-z0-9]{0,5}".prop_map(Value::from),
        "[0-9]{0,20}".prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        prop::sample::select(vec![
            VISA, AMEX, BAD_LUHN, ROUTING, "1239", "0000", "999", "C"
        ])
        .prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(FIELDS.to_vec()), inner), 0..6).prop_map(
                |pairs| {
                    Value::Object(
                        pairs
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), v))
                            .collect::<Map<_, _>>(),
                    )
                }
            ),
        ]
    })
}

fn body() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        json_value().prop_map(|v| Some(v.to_string())),
        ".{0,200}".prop_map(Some),
        "[\\[\\]{}:,\"0-9a-z_ ]{0,80}".prop_map(Some),
    ]
}

fn query() -> impl Strategy<Value = Vec<(String, String)>> {
    let value = prop_oneof![
        "-?[0-9]{0,25}",
        ".{0,30}",
        "[a-z_]{1,20},[A-Z_]{1,12},.{0,10}",
        "asc|desc|ASC",
    ];
    prop::collection::vec(
        (
            prop::sample::select(QUERY_KEYS.to_vec()).prop_map(String::from),
            value,
        ),
        0..5,
    )
}

fn method() -> impl Strategy<Value = Method> {
    prop::sample::select(vec![
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
    ])
}

/// A runtime for the requests, and the fuzz customer created once on the shared server.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the fuzz test");
        runtime.block_on(async {
            let app = TestApp::shared();
            app.create_customer(FUZZ_CUSTOMER).await;
            app.add_card_ok(FUZZ_CUSTOMER, &crate::testdata::card(VISA))
                .await;
            app.add_address(FUZZ_CUSTOMER, &crate::testdata::address("Fuzz", "Target"))
                .await
                .assert_ok();
        });
        runtime
    })
}

proptest! {
    #![proptest_config(Config { cases: 64, failure_persistence: None, ..Config::default() })]

    #[test]
    fn junk_requests_never_cause_a_server_error(
        (method, segments) in route(),
        query in query(),
        body in body(),
    ) {
        let app = TestApp::shared();
        let mut url = reqwest::Url::parse(&app.base_url).expect("a base URL");
        url.path_segments_mut().expect("a base").extend(&segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(&query);
        }
        let path = url.as_str().strip_prefix(app.base_url.as_str()).expect("under the base URL").to_owned();
        let resp = runtime().block_on(app.send(method, &path, Auth::Key(app.key.clone()), body));
        prop_assert!(resp.status < 500, "{} {} -> {} {}", resp.method, resp.path, resp.status, resp.text);
        prop_assert!(resp.json["code"].is_i64(), "not an envelope: {} {} -> {} {}", resp.method, resp.path, resp.status, resp.text);
        if resp.status != 200 {
            assert_error_envelope(&resp);
        }
    }
}
