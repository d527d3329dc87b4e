//! The Account Updater through the graph: `startAccountUpdater` (the request with its counts),
//! `holdCard` and `releaseCard`, and `Card.isOnHold` and `Card.updatedByAccountUpdaterAt` after
//! a request completes on the embedded vault (3 days later by its sandbox clock).

use serde_json::{Value, json};

use super::billing_graph::{mutate, mutate_err};
use super::support::{EXP, GatewayApp, single_error};

const REQUEST: &str = "request { requestId status cardCount reviewedCount updatedCount
  rejectedCards { cardId reason } }";

const CARD: &str = "cardId expDate maskedNumber isOnHold updatedByAccountUpdaterAt";

/// A customer with these cards, through REST; their card ids in order.
async fn customer_with(app: &GatewayApp, id: &str, numbers: &[&str]) -> Vec<String> {
    let cards: Vec<Value> = numbers
        .iter()
        .map(|n| json!({ "card_number": n, "exp_date": EXP, "billing_zip": "94107" }))
        .collect();
    let made = app
        .add_customer(json!({
            "customer_id": id, "customer_first_name": "Ada", "customer_last_name": "Lovelace",
            "billing_cards": cards,
        }))
        .await;
    let stored = made["billing_cards"].as_array().expect("cards");
    numbers
        .iter()
        .map(|n| {
            let masked = format!("{}xxxxxx{}", &n[..6], &n[n.len() - 4..]);
            stored
                .iter()
                .find(|c| c["card_number"] == json!(masked))
                .and_then(|c| c["card_id"].as_str())
                .expect("the card")
                .to_owned()
        })
        .collect()
}

async fn cards(app: &GatewayApp, customer_id: &str) -> Vec<Value> {
    let query =
        format!("query($id: String!) {{ customer(customerId: $id) {{ cards {{ {CARD} }} }} }}");
    app.data(&query, json!({ "id": customer_id })).await["customer"]["cards"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn start_account_updater_answers_the_request_and_its_completion_shows_on_the_cards() {
    let app = GatewayApp::spawn_billing().await;
    let ids = customer_with(
        &app,
        "AusGraph01",
        &["4000000000202012", "4000000000202038"],
    )
    .await;
    let started = mutate(
        &app,
        "startAccountUpdater",
        "StartAccountUpdaterInput",
        REQUEST,
        json!({ "cardIds": [ids[0], ids[1], "nosuchcard"] }),
    )
    .await;
    let request = &started["request"];
    assert_eq!(request["status"], "IN_PROGRESS", "{started:#}");
    assert_eq!(request["cardCount"], 2);
    assert_eq!(request["reviewedCount"], 0);
    assert_eq!(request["rejectedCards"][0]["cardId"], "nosuchcard");
    assert!(request["requestId"].is_string());
    for card in cards(&app, "AusGraph01").await {
        assert_eq!(card["isOnHold"], false);
        assert_eq!(card["updatedByAccountUpdaterAt"], Value::Null);
    }

    app.advance_clock("P3D").await;
    let after = cards(&app, "AusGraph01").await;
    let moved = after.iter().find(|c| c["cardId"] == json!(ids[0])).unwrap();
    assert_eq!(moved["expDate"], "1242", "{after:#?}");
    assert_eq!(moved["isOnHold"], false);
    assert!(moved["updatedByAccountUpdaterAt"].is_string(), "{moved:#}");
    let closed = after.iter().find(|c| c["cardId"] == json!(ids[1])).unwrap();
    assert_eq!(closed["isOnHold"], true, "account closed: held");
}

#[tokio::test(flavor = "multi_thread")]
async fn hold_card_and_release_card_answer_the_card_as_it_is_after() {
    let app = GatewayApp::spawn().await;
    let ids = customer_with(&app, "AusGraph02", &["4111111111111111"]).await;
    let input = json!({ "customerId": "AusGraph02", "cardId": ids[0] });
    let held = mutate(
        &app,
        "holdCard",
        "HoldCardInput",
        &format!("card {{ {CARD} }}"),
        input.clone(),
    )
    .await;
    assert_eq!(held["card"]["isOnHold"], true, "{held:#}");
    assert_eq!(cards(&app, "AusGraph02").await[0]["isOnHold"], true);
    let released = mutate(
        &app,
        "releaseCard",
        "ReleaseCardInput",
        &format!("card {{ {CARD} }} customer {{ customerId }}"),
        input,
    )
    .await;
    assert_eq!(released["card"]["isOnHold"], false, "{released:#}");
    assert_eq!(released["customer"]["customerId"], "AusGraph02");

    // A card of another customer (or none) is not found, and nothing is held.
    customer_with(&app, "AusGraph03", &["4012888888881881"]).await;
    let wrong = mutate_err(
        &app,
        "holdCard",
        "HoldCardInput",
        "card { isOnHold }",
        json!({ "customerId": "AusGraph03", "cardId": ids[0] }),
    )
    .await;
    single_error(&wrong, "NOT_FOUND");
    assert_eq!(cards(&app, "AusGraph02").await[0]["isOnHold"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn start_account_updater_wants_1_to_100_card_ids_before_any_upstream_call() {
    let app = GatewayApp::spawn().await;
    let many: Vec<String> = (0..101).map(|n| format!("card{n}")).collect();
    for ids in [json!([]), json!(many)] {
        let before = app.upstream_requests().await;
        let answer = mutate_err(
            &app,
            "startAccountUpdater",
            "StartAccountUpdaterInput",
            REQUEST,
            json!({ "cardIds": ids }),
        )
        .await;
        single_error(&answer, "BAD_USER_INPUT");
        assert_eq!(app.upstream_requests().await, before);
    }
}
