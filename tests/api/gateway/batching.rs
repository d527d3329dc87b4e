//! Batching: how many upstream requests a query costs, counted exactly from `/metrics`.

use axum::http::Method;
use serde_json::{Value, json};
use vaultql::config::UpstreamBatch;

use super::support::{GatewayApp, edge_ids};

const PAGE_WITH_EVERYTHING: &str = r#"
query {
  customers(first: 50) {
    totalCount
    edges {
      node {
        customerId
        cards { cardId last4 maskedNumber brand isPrimary }
        shippingAddresses { shippingId firstName lastName isPrimary }
        primaryCard { cardId isPrimary }
        bankAccounts { cardId }
        paymentMethods { ... on Card { cardId } }
      }
    }
  }
}"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_page_of_fifty_customers_with_their_cards_and_addresses_costs_one_upstream_request() {
    let app = GatewayApp::spawn().await;
    let ids = app.seed("Cust", 60, 2, 1).await;

    let (data, cost) = app.counted(PAGE_WITH_EVERYTHING, json!({})).await;

    assert_eq!(cost, 1, "{data:#}");
    let page = &data["customers"];
    assert_eq!(page["totalCount"], 60);
    assert_eq!(edge_ids(page), ids[..50]);
    for edge in page["edges"].as_array().unwrap() {
        let customer = &edge["node"];
        let cards = customer["cards"].as_array().unwrap();
        assert_eq!(cards.len(), 2, "{customer}");
        assert_eq!(customer["shippingAddresses"].as_array().unwrap().len(), 1);
        assert_eq!(customer["bankAccounts"], json!([]));
        assert_eq!(customer["primaryCard"]["cardId"], cards[0]["cardId"]);
        let methods: Vec<&Value> = customer["paymentMethods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| &m["cardId"])
            .collect();
        assert_eq!(methods, [&cards[0]["cardId"], &cards[1]["cardId"]]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn links_from_a_pages_cards_and_addresses_back_to_their_customers_cost_nothing_more() {
    let app = GatewayApp::spawn().await;
    app.seed("Cust", 60, 2, 1).await;
    let query = r#"
      query {
        customers(first: 50) {
          edges {
            node {
              customerId
              cards {
                cardId
                customer { customerId cards { customer { customerId } } }
              }
              shippingAddresses { customer { customerId shippingAddresses { shippingId } } }
              primaryCard { customer { customerId } }
              paymentMethods { customer { customerId } }
            }
          }
        }
      }"#;

    let (data, cost) = app.counted(query, json!({})).await;

    assert_eq!(cost, 1, "the page feeds the loader: {data:#}");
    for edge in data["customers"]["edges"].as_array().unwrap() {
        let customer = &edge["node"];
        let id = &customer["customerId"];
        for card in customer["cards"].as_array().unwrap() {
            assert_eq!(&card["customer"]["customerId"], id);
            for linked in card["customer"]["cards"].as_array().unwrap() {
                assert_eq!(&linked["customer"]["customerId"], id);
            }
        }
        for address in customer["shippingAddresses"].as_array().unwrap() {
            assert_eq!(&address["customer"]["customerId"], id);
        }
        assert_eq!(&customer["primaryCard"]["customer"]["customerId"], id);
        for method in customer["paymentMethods"].as_array().unwrap() {
            assert_eq!(&method["customer"]["customerId"], id);
        }
    }
}

/// `{ c0: customer(customerId: "..") {..} c1: ... }` over `ids`, and a second alias for each.
fn aliased_customers(ids: &[String]) -> String {
    let mut query = String::from("query {");
    for (i, id) in ids.iter().enumerate() {
        query.push_str(&format!(
            " c{i}: customer(customerId: \"{id}\") {{ customerId lastName cards {{ last4 }} }}"
        ));
        query.push_str(&format!(
            " again{i}: customer(customerId: \"{id}\") {{ customerId firstName }}"
        ));
    }
    query.push_str(" }");
    query
}

#[track_caller]
fn assert_each_customer_found(data: &Value, ids: &[String]) {
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(data[format!("c{i}")]["customerId"], id.as_str(), "{data:#}");
        assert_eq!(data[format!("c{i}")]["lastName"], format!("Last{id}"));
        assert_eq!(data[format!("c{i}")]["cards"].as_array().unwrap().len(), 1);
        assert_eq!(data[format!("again{i}")]["customerId"], id.as_str());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_aliased_customer_fields_cost_one_browse_with_in() {
    let app = GatewayApp::spawn().await;
    let ids = app.seed("Alias", 20, 1, 0).await;
    let before = app.upstream_counts().await;

    let (data, cost) = app.counted(&aliased_customers(&ids), json!({})).await;

    assert_each_customer_found(&data, &ids);
    assert_eq!(cost, 1);
    let after = app.upstream_counts().await;
    let browse = r#"method="GET",route="/vault/customer",status="200""#;
    assert_eq!(
        after.get(browse).copied().unwrap_or(0) - before.get(browse).copied().unwrap_or(0),
        1,
        "the one request is a browse: {after:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_in_twenty_customers_cost_twenty_gets_each_key_fetched_once() {
    let app = GatewayApp::spawn_batching(UpstreamBatch::None).await;
    let ids = app.seed("Get", 20, 1, 0).await;

    let (data, cost) = app.counted(&aliased_customers(&ids), json!({})).await;

    assert_each_customer_found(&data, &ids);
    assert_eq!(cost, 20, "one GET per distinct key");
    let counts = app.upstream_counts().await;
    let gets = r#"method="GET",route="/vault/customer/{customer_id}",status="200""#;
    assert_eq!(counts.get(gets), Some(&20), "{counts:?}");
    assert_eq!(counts.values().sum::<u64>(), 20, "{counts:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn node_lookups_of_twenty_cards_of_twenty_customers_cost_one_upstream_request() {
    let app = GatewayApp::spawn().await;
    app.seed("Node", 20, 2, 0).await;
    let listing = app
        .data(
            "{ customers(first: 20) { edges { node { customerId cards { id cardId } } } } }",
            json!({}),
        )
        .await;
    // The second card of each customer, so the node is not always the first of its list.
    let cards: Vec<(String, String, String)> = listing["customers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| {
            let card = &edge["node"]["cards"][1];
            (
                card["id"].as_str().unwrap().to_owned(),
                card["cardId"].as_str().unwrap().to_owned(),
                edge["node"]["customerId"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(cards.len(), 20);
    let mut query = String::from("query {");
    for (i, (id, _, _)) in cards.iter().enumerate() {
        query.push_str(&format!(
            " n{i}: node(id: \"{id}\") {{ id __typename ... on Card {{ cardId isPrimary customer {{ customerId }} }} }}"
        ));
    }
    query.push_str(" }");

    let (data, cost) = app.counted(&query, json!({})).await;

    assert_eq!(cost, 1, "{data:#}");
    for (i, (id, card_id, customer_id)) in cards.iter().enumerate() {
        let node = &data[format!("n{i}")];
        assert_eq!(node["__typename"], "Card");
        assert_eq!(node["id"], id.as_str());
        assert_eq!(node["cardId"], card_id.as_str());
        assert_eq!(node["isPrimary"], false);
        assert_eq!(node["customer"]["customerId"], customer_id.as_str());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_key_twice_in_one_request_is_fetched_once_but_requests_do_not_share_a_cache() {
    let app = GatewayApp::spawn().await;
    app.seed("Same", 1, 1, 0).await;
    let query = r#"{
      a: customer(customerId: "Same00") { firstName }
      b: customer(customerId: "Same00") { firstName cards { customer { firstName } } }
    }"#;

    let (data, cost) = app.counted(query, json!({})).await;
    assert_eq!(cost, 1);
    assert_eq!(data["a"]["firstName"], "First");
    assert_eq!(data["b"]["firstName"], "First");

    app.vault_ok(
        Method::PUT,
        "/vault/customer/Same00",
        Some(json!({ "customer_first_name": "Changed" })),
    )
    .await;

    let (data, cost) = app.counted(query, json!({})).await;
    assert_eq!(cost, 1, "a new request asks the vault again");
    assert_eq!(
        data["a"]["firstName"], "Changed",
        "no cache outlives its request"
    );
    assert_eq!(data["b"]["cards"][0]["customer"]["firstName"], "Changed");
}
