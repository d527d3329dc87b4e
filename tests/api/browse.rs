//! Browsing customers: paging, sorting and filters. Each test has its own server, so totals
//! are exact.

use serde_json::{Value, json};

use crate::helpers::{KEY_B, TestApp, enc};
use crate::testdata::{VISA, VISA_MASKED, card};

/// (customer_id, first, last, email or "") — twelve customers, B01..B12.
const PEOPLE: [(&str, &str, &str, &str); 12] = [
    ("B01", "Alice", "Smith", "alice@example.com"),
    ("B02", "Bob", "Smith", ""),
    ("B03", "Carol", "Jones", "carol@example.com"),
    ("B04", "Dave", "Brown", ""),
    ("B05", "Eve", "Smithers", "eve@example.com"),
    ("B06", "Frank", "Jones", ""),
    ("B07", "Grace", "Adams", "grace@example.com"),
    ("B08", "Heidi", "Young", ""),
    ("B09", "Ivan", "Xu", "ivan@example.com"),
    ("B10", "Judy", "Clark", ""),
    ("B11", "Mallory", "Baker", "mallory@example.com"),
    ("B12", "Niaj", "Zimmer", ""),
];

async fn seeded() -> TestApp {
    let app = TestApp::spawn().await;
    for (id, first, last, email) in PEOPLE {
        let mut body =
            json!({ "customer_id": id, "customer_first_name": first, "customer_last_name": last });
        if !email.is_empty() {
            body["customer_email"] = json!(email);
        }
        app.post("/vault/customer", &body).await.assert_ok();
    }
    app
}

fn ids(resp: &Value) -> Vec<String> {
    resp["data"]
        .as_array()
        .expect("data is an array")
        .iter()
        .map(|c| c["customer_id"].as_str().expect("a customer_id").to_owned())
        .collect()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Customer ids matching one `filter=` value, sorted.
async fn filtered(app: &TestApp, filter: &str) -> Vec<String> {
    let resp = app
        .browse(&format!("count=100&filter={}", enc(filter)))
        .await;
    resp.assert_ok();
    let found = ids(&resp.json);
    assert_eq!(
        resp.json["totalRecords"],
        json!(found.len()),
        "totalRecords for {filter}"
    );
    sorted(found)
}

#[tokio::test(flavor = "multi_thread")]
async fn browsing_defaults_to_ten_customers_by_customer_id_descending() {
    let app = seeded().await;
    let resp = app.browse("").await;
    resp.assert_ok();
    assert_eq!(resp.json["totalRecords"], 12);
    assert_eq!(resp.json["totalPages"], 2);
    assert_eq!(
        ids(&resp.json),
        strings(&[
            "B12", "B11", "B10", "B09", "B08", "B07", "B06", "B05", "B04", "B03"
        ])
    );
    assert_eq!(resp.json["data"][0]["customer_first_name"], "Niaj");
    assert_eq!(resp.json["data"][0]["billing_cards"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_vault_browses_to_no_customers() {
    let app = TestApp::spawn().await;
    let resp = app.browse("").await;
    resp.assert_ok();
    assert_eq!(resp.json["totalRecords"], 0);
    assert_eq!(resp.json["data"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn count_and_page_walk_through_every_customer_exactly_once() {
    let app = seeded().await;
    let mut seen = Vec::new();
    for (page, expected_len) in [(0, 5), (1, 5), (2, 2)] {
        let resp = app
            .browse(&format!("count=5&page={page}&order_by=asc"))
            .await;
        resp.assert_ok();
        assert_eq!(resp.json["totalRecords"], 12);
        assert_eq!(resp.json["totalPages"], 3);
        let page_ids = ids(&resp.json);
        assert_eq!(page_ids.len(), expected_len, "page {page}");
        seen.extend(page_ids);
    }
    let expected: Vec<String> = PEOPLE.iter().map(|p| p.0.to_owned()).collect();
    assert_eq!(
        seen, expected,
        "ascending pages in order, no overlap, nothing missing"
    );

    let past_the_end = app.browse("count=5&page=3").await;
    past_the_end.assert_ok();
    assert_eq!(past_the_end.json["data"], json!([]));
    assert_eq!(past_the_end.json["totalRecords"], 12);

    let all = app.browse("count=100").await;
    assert_eq!(ids(&all.json).len(), 12);
    assert_eq!(all.json["totalPages"], 1);
    let one = app.browse("count=1&page=11").await;
    assert_eq!(ids(&one.json), strings(&["B01"]));
    assert_eq!(one.json["totalPages"], 12);
}

#[tokio::test(flavor = "multi_thread")]
async fn order_on_and_order_by_sort_the_results() {
    let app = seeded().await;
    let asc = app
        .browse("count=100&order_on=customer_last_name&order_by=asc")
        .await;
    let last_names: Vec<&str> = asc.json["data"]
        .as_array()
        .expect("an array")
        .iter()
        .map(|c| c["customer_last_name"].as_str().expect("a last name"))
        .collect();
    let mut expected = last_names.clone();
    expected.sort_unstable();
    assert_eq!(last_names, expected);
    assert_eq!(last_names.first(), Some(&"Adams"));

    let desc = app
        .browse("count=3&order_on=customer_first_name&order_by=desc")
        .await;
    assert_eq!(
        ids(&desc.json),
        strings(&["B12", "B11", "B10"]),
        "Niaj, Mallory, Judy"
    );

    let asc_ids = app.browse("count=3&order_by=asc").await;
    assert_eq!(ids(&asc_ids.json), strings(&["B01", "B02", "B03"]));

    for field in [
        "customer_id",
        "customer_first_name",
        "customer_last_name",
        "customer_firm_name",
        "customer_email",
        "customer_phone",
        "reference_id",
        "comments",
        "developer_id",
        "rec_id",
        "node_id",
    ] {
        for direction in ["asc", "desc"] {
            let resp = app
                .browse(&format!("count=100&order_on={field}&order_by={direction}"))
                .await;
            resp.assert_ok();
            assert_eq!(resp.json["totalRecords"], 12, "order_on={field}");
        }
    }

    let by_rec_id = app.browse("count=100&order_on=rec_id&order_by=asc").await;
    let rec_ids: Vec<i64> = by_rec_id.json["data"]
        .as_array()
        .expect("an array")
        .iter()
        .map(|c| c["rec_id"].as_i64().expect("a rec_id"))
        .collect();
    assert!(
        rec_ids.windows(2).all(|w| w[0] < w[1]),
        "rec_ids ascend: {rec_ids:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn comparison_filters_select_the_matching_customers() {
    let app = seeded().await;
    let cases: [(&str, &[&str]); 10] = [
        ("customer_last_name,EQ,Smith", &["B01", "B02"]),
        ("customer_last_name,LIKE,Smith%", &["B01", "B02", "B05"]),
        ("customer_last_name,LIKE,%ones", &["B03", "B06"]),
        ("customer_id,IN,B01|B04|B99", &["B01", "B04"]),
        ("customer_id,BETWEEN,B03|B05", &["B03", "B04", "B05"]),
        ("customer_id,GT,B10", &["B11", "B12"]),
        ("customer_id,GE,B10", &["B10", "B11", "B12"]),
        ("customer_id,LT,B03", &["B01", "B02"]),
        ("customer_id,LE,B02", &["B01", "B02"]),
        ("customer_first_name,EQ,Nobody", &[]),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            filtered(&app, filter).await,
            strings(expected),
            "filter={filter}"
        );
    }
    let not_smith = filtered(&app, "customer_last_name,NE,Smith").await;
    assert_eq!(not_smith.len(), 10);
    assert!(!not_smith.contains(&"B01".to_owned()));
    let not_in = filtered(&app, "customer_id,NOT_IN,B01|B02|B03").await;
    assert_eq!(not_in.len(), 9);
    assert!(!not_in.contains(&"B03".to_owned()));
}

#[tokio::test(flavor = "multi_thread")]
async fn null_filters_select_customers_with_and_without_a_field() {
    let app = seeded().await;
    let with_email = strings(&["B01", "B03", "B05", "B07", "B09", "B11"]);
    let without_email = strings(&["B02", "B04", "B06", "B08", "B10", "B12"]);
    assert_eq!(
        filtered(&app, "customer_email,IS_NOT_NULL").await,
        with_email
    );
    assert_eq!(
        filtered(&app, "customer_email,IS_NULL").await,
        without_email
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn several_filters_are_combined_with_and_whether_repeated_or_joined_by_semicolons() {
    let app = seeded().await;
    let repeated = app
        .browse(&format!(
            "filter={}&filter={}",
            enc("customer_last_name,EQ,Smith"),
            enc("customer_first_name,EQ,Bob")
        ))
        .await;
    repeated.assert_ok();
    assert_eq!(ids(&repeated.json), strings(&["B02"]));
    assert_eq!(repeated.json["totalRecords"], 1);
    assert_eq!(repeated.json["totalPages"], 1);

    let joined = filtered(
        &app,
        "customer_last_name,LIKE,Smith%;customer_email,IS_NOT_NULL",
    )
    .await;
    assert_eq!(joined, strings(&["B01", "B05"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_and_paging_work_together() {
    let app = seeded().await;
    let resp = app
        .browse(&format!(
            "count=2&page=1&order_by=asc&filter={}",
            enc("customer_id,GE,B05")
        ))
        .await;
    resp.assert_ok();
    assert_eq!(resp.json["totalRecords"], 8);
    assert_eq!(resp.json["totalPages"], 4);
    assert_eq!(ids(&resp.json), strings(&["B07", "B08"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn browsed_customers_carry_their_cards_and_addresses() {
    let app = seeded().await;
    app.add_card_ok("B07", &card(VISA)).await;
    app.add_address("B07", &crate::testdata::address("Grace", "Adams"))
        .await
        .assert_ok();
    let resp = app
        .browse(&format!("filter={}", enc("customer_id,EQ,B07")))
        .await;
    let listed = &resp.json["data"][0];
    assert_eq!(listed["primary_card_number"], VISA_MASKED);
    assert_eq!(
        listed,
        &app.customer_data("B07").await,
        "the list shows the same record as GET"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_paging_and_sorting_parameters_are_rejected() {
    let app = seeded().await;
    let cases = [
        ("count=0", "count"),
        ("count=101", "count"),
        ("count=-1", "count"),
        ("count=ten", "count"),
        ("page=-1", "page"),
        ("page=first", "page"),
        ("order_by=up", "order_by"),
        ("order_by=ASCENDING", "order_by"),
        ("order_on=card_number", "order_on"),
        (
            "order_on=customer_id%3B%20DROP%20TABLE%20customers",
            "order_on",
        ),
        ("merchant_id=abc", "merchant_id"),
    ];
    for (query, field) in cases {
        app.browse(query).await.assert_invalid(field);
    }
    assert_eq!(
        app.browse("count=100").await.json["totalRecords"],
        12,
        "nothing was harmed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_filter_field_or_operator_is_rejected_by_name() {
    let app = seeded().await;
    let cases = [
        ("shoe_size,EQ,10", "shoe_size"),
        ("card_number,EQ,4111111111111111", "card_number"),
        ("customer_id,CONTAINS,B0", "CONTAINS"),
        ("customer_id,eqq,B01", "eqq"),
    ];
    for (filter, named) in cases {
        app.browse(&format!("filter={}", enc(filter)))
            .await
            .assert_invalid(named);
    }
    for malformed in ["customer_id", ",,", "customer_id,BETWEEN,B01"] {
        app.browse(&format!("filter={}", enc(malformed)))
            .await
            .assert_error(400, 2);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn filter_values_are_data_not_sql() {
    let app = seeded().await;
    for value in ["x' OR '1'='1", "B01\" OR 1=1 --", "%' OR 1=1 --"] {
        let found = filtered(&app, &format!("customer_id,EQ,{value}")).await;
        assert!(found.is_empty(), "{value} matched {found:?}");
    }
    assert_eq!(app.browse("count=100").await.json["totalRecords"], 12);
}

#[tokio::test(flavor = "multi_thread")]
async fn browsing_lists_only_the_keys_own_merchant() {
    let app = seeded().await;
    let b = app.as_key(KEY_B);
    b.post(
        "/vault/customer",
        &crate::testdata::customer("B01", "Other", "Merchant"),
    )
    .await
    .assert_ok();
    let resp = b.browse("count=100").await;
    assert_eq!(resp.json["totalRecords"], 1);
    assert_eq!(resp.json["data"][0]["customer_first_name"], "Other");
    assert_eq!(app.browse("count=100").await.json["totalRecords"], 12);
}
