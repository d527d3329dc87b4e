//! Response bodies against the spec: field names and JSON types from the fixture
//! `fixtures/vault_schemas.json` (generated once from the Qualpay OpenAPI spec), plus the
//! invariants the vault promises on top of it (arrays always present, one primary, masks...).

use std::sync::OnceLock;

use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::helpers::{KEY_A, TestApp, customer_path};
use crate::testdata::{self, ROUTING, VISA_2};

/// Property name -> JSON type, per response schema.
fn schemas() -> &'static Value {
    static SCHEMAS: OnceLock<Value> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        serde_json::from_str(include_str!("fixtures/vault_schemas.json"))
            .expect("the fixture is JSON")
    })
}

/// Fields the spec leaves out but ACH accounts carry. (Every card also carries vaultql's
/// `on_hold` and, once the Account Updater changed it, `au_updated_at`.)
const ACH_EXTRAS: [&str; 3] = ["type_id", "tr_number", "dda_number"];

/// Fields the vault always sends, by schema (the spec marks nothing as required).
fn required(schema: &str) -> &'static [&'static str] {
    match schema {
        "CustomerResponse" | "GetBillingResponse" | "GetShippingResponse" => {
            &["code", "message", "data"]
        }
        "CustomerListResponse" => &["code", "message", "totalRecords", "totalPages", "data"],
        "QPApiResponse" => &["code", "message"],
        "GetBillingCardsResponse" => &["billing_cards"],
        "GetShippingAddressesResponse" => &["shipping_addresses"],
        "CustomerVault" => &[
            "customer_id",
            "rec_id",
            "node_id",
            "billing_cards",
            "shipping_addresses",
        ],
        "BillingCard" => &["card_id", "card_number", "primary", "on_hold"],
        "ShippingAddress" => &[
            "shipping_id",
            "shipping_first_name",
            "shipping_last_name",
            "primary",
        ],
        _ => &[],
    }
}

/// The response schema of a successful call, from the method and the path (query ignored).
pub fn schema_for(method: &Method, path: &str) -> Option<&'static str> {
    let path = path.split('?').next().unwrap_or_default();
    let rest = path.strip_prefix("/vault/customer")?;
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let m = method.as_str();
    let schema = match (m, segments.as_slice()) {
        ("GET", []) => "CustomerListResponse",
        ("POST", []) => "CustomerResponse",
        ("GET" | "PUT", [_]) => "CustomerResponse",
        ("DELETE", [_]) => "QPApiResponse",
        ("GET", [_, "billing"]) => "GetBillingResponse",
        ("POST" | "PUT", [_, "billing"]) => "CustomerResponse",
        ("PUT", [_, "billing", "primary" | "delete"]) => "CustomerResponse",
        ("GET", [_, "shipping"]) => "GetShippingResponse",
        ("POST" | "PUT", [_, "shipping"]) => "CustomerResponse",
        ("PUT", [_, "shipping", "primary"]) => "CustomerResponse",
        ("DELETE", [_, "shipping", _]) => "CustomerResponse",
        _ => return None,
    };
    Some(schema)
}

/// Panics with every violation of `schema` (and of the vault's invariants) found in `value`.
#[track_caller]
pub fn assert_conforms(value: &Value, schema: &str, context: &str) {
    let problems = violations(value, schema);
    assert!(
        problems.is_empty(),
        "response does not match {schema}:\n  {}\nin {context}",
        problems.join("\n  ")
    );
}

/// Every way in which `value` departs from `schema`; empty when it conforms.
pub fn violations(value: &Value, schema: &str) -> Vec<String> {
    let mut out = Vec::new();
    check_object(value, schema, "$", &mut out);
    out
}

fn check_value(value: &Value, ty: &str, at: &str, out: &mut Vec<String>) {
    let ok = match ty {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "boolean" => value.is_boolean(),
        "number" => value.is_number(),
        _ => {
            if let Some(item_ty) = ty.strip_prefix("array of ") {
                match value.as_array() {
                    Some(items) => {
                        for (i, item) in items.iter().enumerate() {
                            check_value(item, item_ty, &format!("{at}[{i}]"), out);
                        }
                        true
                    }
                    None => false,
                }
            } else {
                let name = ty.strip_prefix("object ").unwrap_or(ty);
                check_object(value, name, at, out);
                true
            }
        }
    };
    if !ok {
        out.push(format!("{at}: expected {ty}, found {value}"));
    }
}

fn check_object(value: &Value, schema: &str, at: &str, out: &mut Vec<String>) {
    let Some(props) = schemas()[schema].as_object() else {
        out.push(format!("{at}: schema {schema} is not in the fixture"));
        return;
    };
    let Some(object) = value.as_object() else {
        out.push(format!("{at}: expected an object {schema}, found {value}"));
        return;
    };
    for (key, field) in object {
        let ty = match props.get(key).and_then(Value::as_str) {
            Some(ty) => ty,
            None if schema == "BillingCard" && ACH_EXTRAS.contains(&key.as_str()) => "string",
            None if schema == "BillingCard" && key == "on_hold" => "boolean",
            None if schema == "BillingCard" && key == "au_updated_at" => "string",
            None => {
                out.push(format!("{at}.{key}: not a property of {schema}"));
                continue;
            }
        };
        check_value(field, ty, &format!("{at}.{key}"), out);
    }
    for key in required(schema) {
        if !object.contains_key(*key) {
            out.push(format!("{at}: {schema} lacks `{key}`"));
        }
    }
    match schema {
        "CustomerVault" => customer_invariants(object, at, out),
        "BillingCard" => card_invariants(object, at, out),
        _ => {}
    }
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

fn customer_invariants(customer: &Map<String, Value>, at: &str, out: &mut Vec<String>) {
    let named = customer.contains_key("customer_firm_name")
        || (customer.contains_key("customer_first_name")
            && customer.contains_key("customer_last_name"));
    if !named {
        out.push(format!(
            "{at}: neither a firm name nor first and last names"
        ));
    }
    if let Some(Value::Array(cards)) = customer.get("billing_cards") {
        let primaries: Vec<&Value> = cards
            .iter()
            .filter(|c| c["primary"] == json!(true))
            .collect();
        match (cards.is_empty(), primaries.as_slice()) {
            (true, _) => {
                if customer.contains_key("primary_card_number") {
                    out.push(format!("{at}: primary_card_number without any card"));
                }
            }
            (false, [primary]) => {
                if customer.get("primary_card_number") != primary.get("card_number") {
                    out.push(format!(
                        "{at}: primary_card_number is not the primary card's number"
                    ));
                }
            }
            (false, _) => out.push(format!(
                "{at}: {} primary cards among {}",
                primaries.len(),
                cards.len()
            )),
        }
        let mut ids: Vec<&str> = cards.iter().filter_map(|c| c["card_id"].as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != cards.len() {
            out.push(format!("{at}: card ids are not unique"));
        }
    }
    if let Some(Value::Array(addresses)) = customer.get("shipping_addresses") {
        let primaries = addresses
            .iter()
            .filter(|a| a["primary"] == json!(true))
            .count();
        if !addresses.is_empty() && primaries != 1 {
            out.push(format!(
                "{at}: {primaries} primary addresses among {}",
                addresses.len()
            ));
        }
        let mut ids: Vec<i64> = addresses
            .iter()
            .filter_map(|a| a["shipping_id"].as_i64())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != addresses.len() {
            out.push(format!("{at}: shipping ids are not unique"));
        }
    }
}

fn card_invariants(card: &Map<String, Value>, at: &str, out: &mut Vec<String>) {
    let text = |key: &str| card.get(key).and_then(Value::as_str);
    if let Some(id) = text("card_id")
        && !(id.len() == 32 && id.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        out.push(format!("{at}.card_id: not 32 alphanumerics: {id}"));
    }
    if let Some(date) = text("verified_date")
        && !(date.len() == 14 && all_digits(date))
    {
        out.push(format!("{at}.verified_date: not YYYYMMDDhhmmss: {date}"));
    }
    let number = text("card_number").unwrap_or_default();
    let digits = number.bytes().filter(u8::is_ascii_digit).count();
    if !number.bytes().all(|b| b.is_ascii_digit() || b == b'x') || digits > 10 {
        out.push(format!("{at}.card_number: not masked: {number}"));
    }
    if card.contains_key("type_id") {
        // A bank account: x's, then at most the last four digits; and no card fields.
        // (How a 4-digit account is shown is asserted in the `ach` tests, not here.)
        let (mask, last4) = number.split_at(number.len().saturating_sub(4));
        let tail_ok = last4.len() == 4 && last4.bytes().all(|b| b.is_ascii_digit() || b == b'x');
        if !mask.bytes().all(|b| b == b'x')
            || !tail_ok
            || last4.trim_start_matches('x').contains('x')
        {
            out.push(format!(
                "{at}.card_number: an account number masked otherwise than x..+last4: {number}"
            ));
        }
        for key in ["card_type", "exp_date"] {
            if card.contains_key(key) {
                out.push(format!("{at}.{key}: present on a bank account"));
            }
        }
        if let Some(dda) = text("dda_number")
            && dda.bytes().filter(u8::is_ascii_digit).count() > 4
        {
            out.push(format!("{at}.dda_number: not masked: {dda}"));
        }
    } else {
        if !number.contains('x') {
            out.push(format!("{at}.card_number: not masked: {number}"));
        }
        match text("card_type") {
            Some("VS" | "MC" | "AM" | "DS" | "JC") => {}
            other => out.push(format!(
                "{at}.card_type: {other:?} is not VS, MC, AM, DS or JC"
            )),
        }
        match text("exp_date") {
            Some(date) if date.len() == 4 && all_digits(date) => {}
            other => out.push(format!("{at}.exp_date: {other:?} is not MMYY")),
        }
    }
}

fn property_names(schema: &str) -> Vec<String> {
    let mut names: Vec<String> = schemas()[schema]
        .as_object()
        .expect("a schema")
        .keys()
        .cloned()
        .collect();
    names.sort_unstable();
    names
}

fn present_names(value: &Value) -> Vec<String> {
    let mut names: Vec<String> = value
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    names.sort_unstable();
    names
}

#[test]
fn the_fixture_describes_every_vault_response_schema() {
    for schema in [
        "CustomerVault",
        "BillingCard",
        "ShippingAddress",
        "CustomerListResponse",
        "CustomerResponse",
        "GetBillingResponse",
        "GetShippingResponse",
        "GetBillingCardsResponse",
        "GetShippingAddressesResponse",
        "QPApiResponse",
    ] {
        assert!(
            schemas()[schema].is_object(),
            "{schema} is missing from the fixture"
        );
    }
    assert_eq!(
        schemas()["CustomerVault"]["billing_cards"],
        "array of BillingCard"
    );
    assert_eq!(
        schemas()["CustomerResponse"]["data"],
        "object CustomerVault"
    );
}

#[test]
fn the_contract_check_catches_unknown_fields_wrong_types_nulls_and_broken_invariants() {
    let good = json!({
        "code": 0, "message": "Success",
        "data": {
            "customer_id": "C1", "rec_id": 1, "node_id": 1001,
            "customer_first_name": "A", "customer_last_name": "B",
            "primary_card_number": "411111xxxxxx1111",
            "billing_cards": [{
                "card_id": "a".repeat(32), "card_number": "411111xxxxxx1111",
                "card_type": "VS", "exp_date": "1239", "billing_zip": "94107", "primary": true,
                "on_hold": false
            }],
            "shipping_addresses": []
        }
    });
    assert_eq!(violations(&good, "CustomerResponse"), Vec::<String>::new());

    let cases = [
        ("/data/customer_phone", json!(5551234), "expected string"),
        ("/data/customer_email", Value::Null, "expected string"),
        (
            "/data/surprise",
            json!("x"),
            "not a property of CustomerVault",
        ),
        (
            "/data/billing_cards/0/primary",
            json!("true"),
            "expected boolean",
        ),
        (
            "/data/billing_cards/0/card_number",
            json!("4111111111111111"),
            "not masked",
        ),
        (
            "/data/billing_cards/0/card_id",
            json!("short"),
            "not 32 alphanumerics",
        ),
        (
            "/data/billing_cards/0/card_type",
            json!("VISA"),
            "is not VS",
        ),
        (
            "/data/primary_card_number",
            json!("555555xxxxxx4444"),
            "primary card's number",
        ),
        (
            "/data/shipping_addresses",
            json!("x"),
            "expected array of ShippingAddress",
        ),
    ];
    for (pointer, replacement, expected) in cases {
        let mut bad = good.clone();
        let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
        bad.pointer_mut(parent).expect("the parent exists")[key] = replacement;
        let found = violations(&bad, "CustomerResponse");
        assert!(
            found.iter().any(|v| v.contains(expected)),
            "{pointer}: expected a violation containing {expected:?}, got {found:?}"
        );
    }

    let mut no_arrays = good.clone();
    no_arrays["data"]
        .as_object_mut()
        .expect("an object")
        .remove("shipping_addresses");
    assert!(!violations(&no_arrays, "CustomerResponse").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn every_vault_endpoint_answers_in_the_shape_of_the_spec() {
    let app = TestApp::shared();
    assert_eq!(app.key, KEY_A);
    let id = "ContractFull01";
    let full = json!({
        "customer_id": id,
        "customer_first_name": "Jane",
        "customer_last_name": "Doe",
        "customer_firm_name": "Doe Widgets",
        "customer_phone": "4155550100",
        "customer_email": "jane@example.com",
        "reference_id": "ref-123",
        "comments": "contract test",
        "developer_id": "vaultql-tests",
        "billing_cards": [with_verify(testdata::full_card(VISA_2, "123"))],
        "shipping_addresses": [testdata::full_address("Jane", "Doe")]
    });
    let created = app.post("/vault/customer", &full).await;
    assert_conforms(&created.json, "CustomerResponse", "create");
    let customer = created.ok_data();
    assert_eq!(
        present_names(&customer),
        property_names("CustomerVault"),
        "every CustomerVault field is returned once set"
    );
    // The spec's fields and vaultql's `on_hold` (`au_updated_at` comes with an update).
    let mut card_fields = property_names("BillingCard");
    card_fields.push("on_hold".into());
    card_fields.sort_unstable();
    assert_eq!(
        present_names(&customer["billing_cards"][0]),
        card_fields,
        "every BillingCard field is returned once set (a verified card with all billing fields)"
    );
    assert_eq!(
        present_names(&customer["shipping_addresses"][0]),
        property_names("ShippingAddress"),
        "every ShippingAddress field is returned once set"
    );

    let ach = app
        .add_card(id, &testdata::ach("K", ROUTING, "987654321"))
        .await;
    assert_conforms(&ach.json, "CustomerResponse", "add ACH");

    let reads = [
        (customer_path(id), "CustomerResponse"),
        (
            format!("{}/billing", customer_path(id)),
            "GetBillingResponse",
        ),
        (
            format!("{}/shipping", customer_path(id)),
            "GetShippingResponse",
        ),
        (
            format!("/vault/customer?filter=customer_id,EQ,{id}"),
            "CustomerListResponse",
        ),
    ];
    for (path, schema) in reads {
        let resp = app.get(&path).await;
        resp.assert_ok();
        assert_conforms(&resp.json, schema, &path);
    }

    let updated = app
        .put(&customer_path(id), &json!({ "comments": "updated" }))
        .await;
    assert_conforms(&updated.json, "CustomerResponse", "update");
    let deleted = app.delete(&customer_path(id)).await;
    deleted.assert_ok();
    assert_conforms(&deleted.json, "QPApiResponse", "delete");
}

fn with_verify(card: Value) -> Value {
    testdata::with(card, json!({ "verify": true }))
}
