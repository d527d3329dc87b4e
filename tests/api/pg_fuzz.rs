//! An independent tester for the Payment Gateway: requests built from the spec's request
//! schemas of the `payment-gateway` tag (every field name with its JSON type, plus values of
//! the wrong type, junk and test cards), sent to every `/pg` operation. No answer may be a 5xx
//! other than the documented processor timeout (509, `998`), and every answer must match the
//! spec's response schema for its status (`payments::check_pg`).

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::Config;
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::helpers::{Auth, TestApp};
use crate::payments::check_pg;
use crate::testdata::{AMEX, BAD_LUHN, DECLINED_CARD, ROUTING, VISA};

/// The request fields of the spec's `/pg` request schemas, with their JSON types.
const FIELDS: [(&str, &str); 54] = [
    ("merchant_id", "integer"),
    ("amt_convenience_fee", "number"),
    ("amt_fbo", "number"),
    ("amt_tax", "number"),
    ("amt_tran", "number"),
    ("amt_tran_fee", "number"),
    ("auth_code", "string"),
    ("avs_address", "string"),
    ("avs_zip", "string"),
    ("card_id", "string"),
    ("card_number", "string"),
    ("card_swipe", "string"),
    ("cardholder_name", "string"),
    ("cavv_3ds", "string"),
    ("client_ip", "string"),
    ("customer", "object"),
    ("customer_code", "string"),
    ("customer_email", "string"),
    ("customer_id", "string"),
    ("cvv2", "string"),
    ("dba_name", "string"),
    ("developer_id", "string"),
    ("duplicate_seconds", "integer"),
    ("echo_fields", "string"),
    ("email_address", "array"),
    ("email_receipt", "boolean"),
    ("emv_tran_id", "string"),
    ("exp_date", "string"),
    ("fbo_id", "integer"),
    ("line_items", "string"),
    ("loc_id", "string"),
    ("mc_ucaf_data", "string"),
    ("mc_ucaf_ind", "string"),
    ("merch_ref_num", "string"),
    ("moto_ecomm_ind", "string"),
    ("partial_auth", "boolean"),
    ("payload_google_pay", "string"),
    ("payload_apple_pay", "string"),
    ("pg_id", "string"),
    ("profile_id", "string"),
    ("purchase_id", "string"),
    ("report_data", "string"),
    ("session_id", "string"),
    ("subscription_id", "integer"),
    ("tokenize", "boolean"),
    ("tran_currency", "integer"),
    ("user_id", "integer"),
    ("xid_3ds", "string"),
    ("dba_suffix", "string"),
    ("dda_number", "string"),
    ("tr_number", "string"),
    ("type_id", "string"),
    ("vendor_id", "integer"),
    ("single_use", "boolean"),
];

const OPERATIONS: [&str; 12] = [
    "sale",
    "auth",
    "verify",
    "credit",
    "force",
    "tokenize",
    "expireToken",
    "batchClose",
    "capture/{pg_id}",
    "void/{pg_id}",
    "refund/{pg_id}",
    "recharge/{pg_id}",
];

const FUZZ_CUSTOMER: &str = "PgFuzzCustomer";

/// A value of the field's type, most often a plausible one.
fn typed(field: &'static str, ty: &'static str) -> BoxedStrategy<Value> {
    let plausible: BoxedStrategy<Value> = match (field, ty) {
        ("card_number", _) => prop::sample::select(vec![
            VISA,
            AMEX,
            DECLINED_CARD,
            BAD_LUHN,
            "4000000000000093",
        ])
        .prop_map(Value::from)
        .boxed(),
        ("exp_date", _) => prop::sample::select(vec!["1230", "0120", "1399", "12", "abcd"])
            .prop_map(Value::from)
            .boxed(),
        ("cvv2", _) => prop::sample::select(vec!["123", "999", "1234", "12345", "x"])
            .prop_map(Value::from)
            .boxed(),
        ("tr_number", _) => prop::sample::select(vec![ROUTING, "011000016", "1"])
            .prop_map(Value::from)
            .boxed(),
        ("customer_id", _) => prop::sample::select(vec![FUZZ_CUSTOMER, "PgFuzzNobody", ""])
            .prop_map(Value::from)
            .boxed(),
        ("merchant_id", _) => prop::sample::select(vec![0_i64, 1001, 2002, -1])
            .prop_map(Value::from)
            .boxed(),
        ("customer", _) => {
            json!({"customer_first_name": "Fuzz", "customer_last_name": "Payer"}).prop_map_just()
        }
        (_, "number") => prop_oneof![
            (0_i64..100_000).prop_map(|c| json!(c as f64 / 100.0)),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ]
        .boxed(),
        (_, "integer") => prop_oneof![0_i64..100_000, any::<i64>()]
            .prop_map(Value::from)
            .boxed(),
        (_, "boolean") => any::<bool>().prop_map(Value::from).boxed(),
        (_, "array") => prop::collection::vec("[a-z]{1,8}@example\\.com", 0..3)
            .prop_map(|v| json!(v))
            .boxed(),
        _ => prop_oneof!["[A-Za-z0-9]{0,12}", ".{0,40}"]
            .prop_map(Value::from)
            .boxed(),
    };
    let wrong = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        Just(json!([1, "x"])),
        Just(json!({"nested": true})),
    ];
    prop_oneof![4 => plausible, 1 => wrong].boxed()
}

trait JustValue {
    fn prop_map_just(self) -> BoxedStrategy<Value>;
}

impl JustValue for Value {
    fn prop_map_just(self) -> BoxedStrategy<Value> {
        Just(self).boxed()
    }
}

fn request_body() -> impl Strategy<Value = String> {
    let fields = prop::sample::subsequence(FIELDS.to_vec(), 0..10);
    let body = fields.prop_flat_map(|chosen| {
        chosen
            .into_iter()
            .map(|(name, ty)| typed(name, ty).prop_map(move |v| (name.to_owned(), v)))
            .collect::<Vec<_>>()
    });
    prop_oneof![
        8 => body.prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>()).to_string()),
        1 => ".{0,60}",
        1 => Just(String::new()),
    ]
}

/// A runtime for the requests, and a customer with a card and a settled sale to act on.
fn runtime() -> &'static (tokio::runtime::Runtime, String) {
    static RUNTIME: OnceLock<(tokio::runtime::Runtime, String)> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the fuzz test");
        let pg_id = runtime.block_on(async {
            let app = TestApp::shared();
            app.create_customer(FUZZ_CUSTOMER).await;
            app.add_card_ok(FUZZ_CUSTOMER, &crate::testdata::card(VISA))
                .await;
            let sale = app
                .at_root()
                .send(
                    Method::POST,
                    "/pg/sale",
                    Auth::Key(app.key.clone()),
                    Some(json!({"amt_tran": 50, "customer_id": FUZZ_CUSTOMER}).to_string()),
                )
                .await;
            sale.json["pg_id"].as_str().expect("a sale").to_owned()
        });
        (runtime, pg_id)
    })
}

proptest! {
    #![proptest_config(Config { cases: 160, failure_persistence: None, ..Config::default() })]

    #[test]
    fn generated_pg_requests_get_answers_in_the_spec_and_no_server_error(
        operation in prop::sample::select(OPERATIONS.to_vec()),
        known_id in any::<bool>(),
        other_id in "[A-Za-z0-9]{0,40}",
        body in request_body(),
    ) {
        let (runtime, pg_id) = runtime();
        let id = if known_id { pg_id.clone() } else { other_id };
        let path = format!("/pg/{}", operation.replace("{pg_id}", &id));
        let app = TestApp::shared();
        let resp = runtime.block_on(app.at_root().send(Method::POST, &path, Auth::Key(app.key.clone()), Some(body)));
        let timeout = resp.status == 509 && resp.json["rcode"] == "998";
        prop_assert!(resp.status < 500 || timeout, "{} -> {} {}", path, resp.status, resp.text);
        check_pg(&resp);
    }
}
