//! Concurrent writes against a file database (WAL): nothing lost, nothing doubled, one primary.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::{Resp, TestApp, primary_cards};
use crate::testdata::{VISA, card, customer, generated_visa, masked};

/// Runs `count` copies of `request` at once and returns every response.
async fn all_at_once<F, Fut>(app: &TestApp, count: usize, request: F) -> Vec<Resp>
where
    F: Fn(TestApp, usize) -> Fut,
    Fut: Future<Output = Resp> + Send + 'static,
{
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(count));
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            let call = request(app.clone(), i);
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                call.await
            })
        })
        .collect();
    let mut responses = Vec::with_capacity(count);
    for task in tasks {
        responses.push(task.await.expect("the request task panicked"));
    }
    responses
}

fn statuses(responses: &[Resp]) -> Vec<u16> {
    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    statuses
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_cards_on_one_customer_are_all_kept_with_exactly_one_primary() {
    let app = TestApp::spawn_with_file_db().await;
    app.create_customer("ConcCards01").await;
    let responses = all_at_once(&app, 50, |app, i| async move {
        app.add_card("ConcCards01", &card(&generated_visa(i as u32)))
            .await
    })
    .await;
    for resp in &responses {
        resp.assert_ok();
    }

    let data = app.customer_data("ConcCards01").await;
    let cards = data["billing_cards"]
        .as_array()
        .expect("billing_cards is an array");
    assert_eq!(cards.len(), 50);
    let numbers: BTreeSet<&str> = cards
        .iter()
        .filter_map(|c| c["card_number"].as_str())
        .collect();
    let expected: BTreeSet<String> = (0..50).map(|i| masked(&generated_visa(i))).collect();
    assert_eq!(numbers, expected.iter().map(String::as_str).collect());
    let ids: BTreeSet<&str> = cards.iter().filter_map(|c| c["card_id"].as_str()).collect();
    assert_eq!(ids.len(), 50, "card ids are unique");
    let primaries = primary_cards(&data);
    assert_eq!(primaries.len(), 1, "exactly one primary: {primaries:?}");
    assert_eq!(
        data["primary_card_number"],
        Value::from(primaries[0].clone())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_concurrent_adds_of_the_same_card_keep_exactly_one() {
    let app = TestApp::spawn_with_file_db().await;
    app.create_customer("ConcSame01").await;
    let responses = all_at_once(&app, 10, |app, _| async move {
        app.add_card("ConcSame01", &card(VISA)).await
    })
    .await;
    assert_eq!(
        statuses(&responses),
        [200, 409, 409, 409, 409, 409, 409, 409, 409, 409]
    );
    for resp in responses.iter().filter(|r| r.status == 409) {
        resp.assert_error(409, 8);
    }
    let data = app.customer_data("ConcSame01").await;
    assert_eq!(data["billing_cards"].as_array().map(Vec::len), Some(1));
    assert_eq!(primary_cards(&data).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_concurrent_creates_of_the_same_customer_id_keep_exactly_one() {
    let app = TestApp::spawn_with_file_db().await;
    for round in 0..5 {
        let id = format!("ConcCust{round:02}");
        let responses = all_at_once(&app, 2, |app, i| {
            let body = customer(&id, &format!("Racer{i}"), "Doe");
            async move { app.post("/vault/customer", &body).await }
        })
        .await;
        assert_eq!(statuses(&responses), [200, 409], "round {round}");
        let winner = responses
            .iter()
            .find(|r| r.status == 200)
            .expect("one winner")
            .ok_data();
        responses
            .iter()
            .find(|r| r.status == 409)
            .expect("one loser")
            .assert_error(409, 8);
        assert_eq!(
            app.customer_data(&id).await,
            winner,
            "the stored customer is the winner's"
        );
    }
    let listed = app.browse("count=100").await;
    assert_eq!(listed.json["totalRecords"], 5);
}
