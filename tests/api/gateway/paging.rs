//! Relay paging of `customers`, its filter and its order.

use serde_json::{Value, json};

use super::support::{EXP, GatewayApp, edge_ids, single_error, visa};

const PAGE: &str = r#"
query Page($first: Int, $after: String, $last: Int, $before: String,
           $filter: CustomerFilter, $orderBy: CustomerOrder) {
  customers(first: $first, after: $after, last: $last, before: $before,
            filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
    edges { cursor node { customerId } }
  }
}"#;

/// Adds customers `P01`..`P{count}` in a shuffled order (so creation order is not id order).
async fn numbered(count: usize) -> (GatewayApp, Vec<String>) {
    let app = GatewayApp::spawn().await;
    let mut order: Vec<usize> = (1..=count).collect();
    // A fixed shuffle: every 7th, wrapping.
    order.sort_by_key(|i| (i * 7) % count);
    for i in order {
        app.add_customer(json!({
            "customer_id": format!("P{i:03}"),
            "customer_first_name": "Page",
            "customer_last_name": "Walker"
        }))
        .await;
    }
    let ids = (1..=count).map(|i| format!("P{i:03}")).collect();
    (app, ids)
}

async fn page(app: &GatewayApp, variables: Value) -> Value {
    app.data(PAGE, variables).await["customers"].clone()
}

#[track_caller]
fn assert_page_info(connection: &Value, has_previous: bool, has_next: bool) {
    let info = &connection["pageInfo"];
    assert_eq!(info["hasPreviousPage"], has_previous, "{connection:#}");
    assert_eq!(info["hasNextPage"], has_next, "{connection:#}");
    let edges = connection["edges"].as_array().unwrap();
    if let (Some(first), Some(last)) = (edges.first(), edges.last()) {
        assert_eq!(info["startCursor"], first["cursor"], "{connection:#}");
        assert_eq!(info["endCursor"], last["cursor"], "{connection:#}");
    } else {
        assert_eq!(info["startCursor"], Value::Null, "{connection:#}");
        assert_eq!(info["endCursor"], Value::Null, "{connection:#}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_first_or_last_a_page_has_ten_customers_in_customer_id_order() {
    let (app, ids) = numbered(23).await;

    let connection = page(&app, json!({})).await;

    assert_eq!(connection["totalCount"], 23);
    assert_eq!(edge_ids(&connection), ids[..10]);
    assert_page_info(&connection, false, true);
}

#[tokio::test(flavor = "multi_thread")]
async fn first_is_capped_at_one_hundred() {
    let (app, ids) = numbered(105).await;

    let connection = page(&app, json!({ "first": 500 })).await;

    assert_eq!(connection["totalCount"], 105);
    assert_eq!(edge_ids(&connection), ids[..100]);
    assert_page_info(&connection, false, true);

    let connection = page(&app, json!({ "last": 500 })).await;
    assert_eq!(edge_ids(&connection), ids[5..]);
    assert_page_info(&connection, true, false);
}

#[tokio::test(flavor = "multi_thread")]
async fn forward_and_backward_walks_give_the_same_customers_in_the_same_order() {
    let (app, ids) = numbered(23).await;

    let mut forward = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let connection = page(&app, json!({ "first": 7, "after": after })).await;
        pages += 1;
        let has_next = connection["pageInfo"]["hasNextPage"] == true;
        assert_page_info(&connection, pages > 1, has_next);
        assert_eq!(connection["totalCount"], 23);
        forward.extend(edge_ids(&connection));
        if !has_next {
            assert_eq!(edge_ids(&connection).len(), 2, "23 = 3 × 7 + 2");
            break;
        }
        assert_eq!(edge_ids(&connection).len(), 7);
        after = connection["pageInfo"]["endCursor"].clone();
        assert!(pages < 10, "the forward walk does not end");
    }
    assert_eq!(pages, 4);

    let mut backward = Vec::new();
    let mut before = Value::Null;
    let mut pages = 0;
    loop {
        let connection = page(&app, json!({ "last": 7, "before": before })).await;
        pages += 1;
        let has_previous = connection["pageInfo"]["hasPreviousPage"] == true;
        assert_page_info(&connection, has_previous, pages > 1);
        let mut items = edge_ids(&connection);
        if !has_previous {
            assert_eq!(items.len(), 2);
        }
        items.extend(backward);
        backward = items;
        if !has_previous {
            break;
        }
        before = connection["pageInfo"]["startCursor"].clone();
        assert!(pages < 10, "the backward walk does not end");
    }
    assert_eq!(pages, 4);

    assert_eq!(forward, ids);
    assert_eq!(backward, forward);
}

#[tokio::test(flavor = "multi_thread")]
async fn last_alone_gives_the_last_customers_and_after_with_before_gives_the_window_between() {
    let (app, ids) = numbered(23).await;

    let connection = page(&app, json!({ "last": 3 })).await;
    assert_eq!(edge_ids(&connection), ids[20..]);
    assert_page_info(&connection, true, false);

    let all = page(&app, json!({ "first": 23 })).await;
    let cursor = |i: usize| all["edges"][i]["cursor"].clone();
    let connection = page(
        &app,
        json!({ "first": 10, "after": cursor(2), "before": cursor(6) }),
    )
    .await;
    assert_eq!(edge_ids(&connection), ids[3..6]);
    let connection = page(
        &app,
        json!({ "last": 2, "after": cursor(2), "before": cursor(9) }),
    )
    .await;
    assert_eq!(edge_ids(&connection), ids[7..9]);
    let connection = page(&app, json!({ "first": 0 })).await;
    assert_eq!(edge_ids(&connection), Vec::<String>::new());
    assert_eq!(connection["totalCount"], 23);
    assert_page_info(&connection, false, true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_cursor_or_a_negative_size_is_bad_user_input() {
    let app = GatewayApp::spawn().await;
    app.add_customer(json!({ "customer_id": "Only1", "customer_firm_name": "Only" }))
        .await;
    for variables in [
        json!({ "after": "junk" }),
        json!({ "before": "not a cursor" }),
        json!({ "after": "b2Zmc2V0Om5vcGU" }), // base64 of "offset:nope"
        json!({ "first": -1 }),
        json!({ "last": -5 }),
    ] {
        let body = app.graphql(PAGE, variables.clone()).await;
        let error = single_error(&body, "BAD_USER_INPUT");
        assert_eq!(error["path"], json!(["customers"]), "{variables}: {body:#}");
        assert!(
            error["extensions"].get("upstreamCode").is_none(),
            "{body:#}"
        );
        assert_eq!(body["data"], Value::Null, "{variables}: {body:#}");
    }
}

/// Six customers whose fields sort differently, added in the order K3 K1 K5 K2 K4 Q1.
async fn directory() -> GatewayApp {
    let app = GatewayApp::spawn().await;
    let people = [
        (
            "K3",
            "Eli",
            "Baker",
            "Delta Co",
            "amy@example.test",
            "4155550103",
            "REF-300",
        ),
        (
            "K1",
            "Dora",
            "Evans",
            "Bravo Inc",
            "cat@example.test",
            "4155550101",
            "REF-100",
        ),
        (
            "K5",
            "Cid",
            "Adams",
            "Echo LLC",
            "bea@example.test",
            "4155550105",
            "REF-500",
        ),
        (
            "K2",
            "Ben",
            "Davis",
            "Alpha Ltd",
            "eva@example.test",
            "4155550102",
            "REF-200",
        ),
        (
            "K4",
            "Ann",
            "Clark",
            "Charlie SA",
            "dee@example.test",
            "4155550104",
            "ALT-400",
        ),
    ];
    for (id, first, last, firm, email, phone, reference) in people {
        app.add_customer(json!({
            "customer_id": id,
            "customer_first_name": first,
            "customer_last_name": last,
            "customer_firm_name": firm,
            "customer_email": email,
            "customer_phone": phone,
            "reference_id": reference,
            "billing_cards": [{ "card_number": visa(900), "exp_date": EXP, "billing_zip": "94107" }]
        }))
        .await;
    }
    app.add_customer(json!({
        "customer_id": "Q1",
        "customer_firm_name": "Quiet Corp",
        "customer_phone": "2125550000"
    }))
    .await;
    app
}

#[tokio::test(flavor = "multi_thread")]
async fn each_filter_field_selects_exactly_its_matches() {
    let app = directory().await;
    let cases = [
        (json!({ "customerId": "K2" }), vec!["K2"]),
        (
            json!({ "customerIdPrefix": "K" }),
            vec!["K1", "K2", "K3", "K4", "K5"],
        ),
        (json!({ "customerIdPrefix": "Q" }), vec!["Q1"]),
        (
            json!({ "customerIdIn": ["K4", "K1", "NOPE"] }),
            vec!["K1", "K4"],
        ),
        (json!({ "firstName": "Ben" }), vec!["K2"]),
        (json!({ "firstName": "Be" }), vec![]),
        (json!({ "firstNamePrefix": "D" }), vec!["K1"]),
        (json!({ "lastName": "Clark" }), vec!["K4"]),
        (json!({ "lastNamePrefix": "Da" }), vec!["K2"]),
        (json!({ "firmName": "Echo LLC" }), vec!["K5"]),
        (json!({ "firmNamePrefix": "Qu" }), vec!["Q1"]),
        (json!({ "email": "dee@example.test" }), vec!["K4"]),
        (json!({ "emailPrefix": "cat" }), vec!["K1"]),
        (json!({ "phone": "4155550103" }), vec!["K3"]),
        (
            json!({ "phonePrefix": "415" }),
            vec!["K1", "K2", "K3", "K4", "K5"],
        ),
        (json!({ "referenceId": "REF-300" }), vec!["K3"]),
        (json!({ "referenceIdPrefix": "ALT" }), vec!["K4"]),
        (
            json!({ "firstNamePrefix": "E", "lastName": "Baker" }),
            vec!["K3"],
        ),
        (
            json!({ "firstNamePrefix": "E", "lastName": "Adams" }),
            vec![],
        ),
        (json!({}), vec!["K1", "K2", "K3", "K4", "K5", "Q1"]),
    ];
    for (filter, expected) in cases {
        let connection = page(&app, json!({ "filter": filter })).await;
        assert_eq!(edge_ids(&connection), expected, "filter {filter}");
        assert_eq!(connection["totalCount"], expected.len(), "filter {filter}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_filter_value_the_upstream_grammar_cannot_carry_is_refused() {
    let app = directory().await;
    for filter in [
        json!({ "lastName": "Baker;customer_id,EQ,K1" }),
        json!({ "emailPrefix": "%" }),
        json!({ "customerIdIn": ["K1|K2"] }),
        json!({ "customerIdIn": [] }),
    ] {
        let body = app.graphql(PAGE, json!({ "filter": filter })).await;
        single_error(&body, "BAD_USER_INPUT");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn order_by_each_field_sorts_ascending_and_descending() {
    let app = directory().await;
    let cases = [
        ("CUSTOMER_ID", ["K1", "K2", "K3", "K4", "K5"]),
        ("FIRST_NAME", ["K4", "K2", "K5", "K1", "K3"]),
        ("LAST_NAME", ["K5", "K3", "K4", "K2", "K1"]),
        ("FIRM_NAME", ["K2", "K1", "K4", "K3", "K5"]),
        ("EMAIL", ["K3", "K5", "K1", "K4", "K2"]),
        ("CREATED_AT", ["K3", "K1", "K5", "K2", "K4"]),
    ];
    let filter = json!({ "customerIdPrefix": "K" });
    for (field, ascending) in cases {
        let connection = page(
            &app,
            json!({ "filter": filter, "orderBy": { "field": field, "direction": "ASC" } }),
        )
        .await;
        assert_eq!(edge_ids(&connection), ascending, "{field} ASC");
        let connection = page(
            &app,
            json!({ "filter": filter, "orderBy": { "field": field, "direction": "DESC" } }),
        )
        .await;
        let descending: Vec<&str> = ascending.iter().rev().copied().collect();
        assert_eq!(edge_ids(&connection), descending, "{field} DESC");
    }
    // Paging keeps the order: the second page of two by last name, descending.
    let connection = page(
        &app,
        json!({
            "filter": filter,
            "orderBy": { "field": "LAST_NAME", "direction": "DESC" },
            "first": 2,
            "after": page(&app, json!({
                "filter": filter,
                "orderBy": { "field": "LAST_NAME", "direction": "DESC" },
                "first": 2
            })).await["pageInfo"]["endCursor"]
        }),
    )
    .await;
    assert_eq!(edge_ids(&connection), ["K4", "K3"]);
}
