//! The Account Updater over HTTP: requests of card ids and what their completion does to the
//! stored cards (each test card's reason code), cancel, other merchants, exactly-once
//! completion, the events a webhook receiver gets, the monthly harvest, and `/aus/add` refused.
//! Time moves only by the sandbox clock: a request completes 3 days after it was made.

use serde_json::{Value, json};

use crate::account_updater_support::{
    Inbox, TEST_CARDS, card_of, create, details, request_of, summary,
};
use crate::billing_support::{
    add_card, advance, advance_to, billing_app, clock_today, customer_with_card,
};
use crate::helpers::{KEY_B, TestApp};
use crate::testdata::{AU_NEW_NUMBER, VISA, generated_visa};

#[tokio::test]
async fn each_test_card_changes_the_stored_card_as_its_reason_code_says() {
    let app = billing_app().await;
    let first = customer_with_card(&app, "Updated01", TEST_CARDS[0].0).await;
    let mut ids = vec![first];
    for (number, _) in &TEST_CARDS[1..] {
        ids.push(add_card(&app, "Updated01", number).await);
    }
    let request_id = create(&app, &ids).await;
    let made = summary(&app, request_id).await;
    assert_eq!(made["status"], "INPROGRESS");
    assert_eq!(made["cnt_request"], json!(ids.len()));
    assert_eq!(made["cnt_response"], 0);
    assert_eq!(made["method"], "harvest_card_id");

    advance(&app, "P2DT23H").await;
    assert_eq!(summary(&app, request_id).await["status"], "INPROGRESS");
    advance(&app, "PT1H").await;
    let done = summary(&app, request_id).await;
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["cnt_response"], json!(ids.len()));
    assert_eq!(done["cnt_update"], 2, "201 and 202 update a card");

    let rows = details(&app, &format!("/aus/request/detail/{request_id}")).await;
    assert_eq!(rows.len(), ids.len());
    for ((number, reason), card_id) in TEST_CARDS.iter().zip(&ids) {
        let row = rows
            .iter()
            .find(|r| r["card_id"] == json!(card_id))
            .unwrap();
        assert_eq!(row["reason_code"], *reason, "{number}");
        assert_eq!(row["customer_id"], "Updated01");
        assert_eq!(row["exp_date"], "1239");
        let card = card_of(&app, "Updated01", card_id).await;
        let changed = ["201", "202", "203", "204"].contains(reason);
        assert_eq!(
            card["au_updated_at"].is_string(),
            changed,
            "{number}: {card}"
        );
        assert_eq!(
            card["on_hold"],
            json!(["203", "204"].contains(reason)),
            "{number}"
        );
        match *reason {
            "201" => {
                assert_eq!(card["exp_date"], "1242");
                assert_eq!(row["exp_date_new"], "1242");
            }
            "202" => {
                assert_eq!(card["card_number"], "424242xxxxxx4242");
                assert_eq!(row["card_number_new"], "424242xxxxxx4242");
                assert_eq!(row["card_number"], crate::testdata::masked(number));
            }
            _ => {
                assert_eq!(card["exp_date"], "1239", "{number}");
                assert_eq!(card["card_number"], json!(crate::testdata::masked(number)));
                assert!(row.get("card_number_new").is_none(), "{row}");
            }
        }
        assert_eq!(
            row["billable"],
            json!(["201", "202", "203", "204"].contains(reason))
        );
    }

    // The new number is the card now: a charge by its id goes through as 4242...4242.
    let new_id = &ids[TEST_CARDS.iter().position(|(_, r)| *r == "202").unwrap()];
    let sale = crate::account_updater_support::sale_by_card_id(&app, "Updated01", new_id).await;
    assert_eq!(sale["rcode"], "000", "{sale}");
    let pg_id = sale["pg_id"].as_str().unwrap();
    let report = app
        .get(&format!("/reporting/transactions/bypgid/{pg_id}"))
        .await
        .ok_data();
    assert_eq!(report["card_number"], "424242xxxxxx4242", "{report}");
}

#[tokio::test]
async fn more_than_100_card_ids_are_refused_and_nothing_is_made() {
    let app = billing_app().await;
    let card = customer_with_card(&app, "TooMany01", VISA).await;
    let mut ids: Vec<String> = (0..100).map(|n| format!("card{n:028}")).collect();
    ids.push(card);
    app.post("/aus/request/create", &json!({ "card_id": ids }))
        .await
        .assert_invalid("card_id");
    app.post("/aus/request/create", &json!({ "card_id": [] }))
        .await
        .assert_invalid("card_id");
    let list = app.get("/aus/request/summary").await;
    assert_eq!(list.json["totalRecords"], 0, "{}", list.text);
}

#[tokio::test]
async fn only_an_inprogress_request_can_be_canceled_and_then_changes_nothing() {
    let app = billing_app().await;
    let card = customer_with_card(&app, "Cancel01", TEST_CARDS[1].0).await;
    let canceled = create(&app, std::slice::from_ref(&card)).await;
    let answer = app
        .post(&format!("/aus/request/cancel/{canceled}"), &json!({}))
        .await
        .ok_data();
    assert_eq!(answer["status"], "CANCELED");
    app.post(&format!("/aus/request/cancel/{canceled}"), &json!({}))
        .await
        .assert_error(409, 8);

    let completed = create(&app, std::slice::from_ref(&card)).await;
    advance(&app, "P3D").await;
    let resp = app
        .post(&format!("/aus/request/cancel/{completed}"), &json!({}))
        .await;
    resp.assert_error(409, 8);
    assert!(resp.message().contains("COMPLETED"), "{}", resp.text);
    assert_eq!(summary(&app, canceled).await["status"], "CANCELED");
    let rows = details(&app, &format!("/aus/request/detail/{canceled}")).await;
    assert!(rows[0].get("reason_code").is_none(), "{rows:?}");
    // Moved once, by the completed request only.
    assert_eq!(card_of(&app, "Cancel01", &card).await["exp_date"], "1242");
    app.post("/aus/request/cancel/999999", &json!({}))
        .await
        .assert_error(404, 6);
}

#[tokio::test]
async fn another_merchants_cards_are_rejected_and_its_requests_are_not_found() {
    let app = TestApp::shared();
    let other = app.as_key(KEY_B);
    let theirs = customer_with_card(&other, "AusOther01", VISA).await;
    let ours = customer_with_card(&app, "AusOwn01", VISA).await;
    let request_id = create(&app, &[ours.clone(), theirs.clone(), "nosuchcard".into()]).await;
    let made = summary(&app, request_id).await;
    assert_eq!(made["cnt_request"], 1);
    let rejected = made["rejected_cards"].as_array().unwrap();
    assert_eq!(rejected.len(), 2);
    // Another merchant's card reads exactly as a card that does not exist.
    assert_eq!(rejected[0]["card_id"], json!(theirs));
    assert_eq!(rejected[0]["reject_reason"], rejected[1]["reject_reason"]);

    for path in [
        format!("/aus/request/summary/{request_id}"),
        format!("/aus/request/detail/{request_id}"),
    ] {
        other.get(&path).await.assert_error(404, 6);
    }
    other
        .post(&format!("/aus/request/cancel/{request_id}"), &json!({}))
        .await
        .assert_error(404, 6);
    other
        .post("/aus/request/create", &json!({ "card_id": [ours] }))
        .await
        .assert_invalid("card_id");
    other
        .post("/aus/hold", &json!({ "card_id": ours }))
        .await
        .assert_error(404, 6);
}

#[tokio::test]
async fn a_request_completes_exactly_once_under_concurrent_reads_and_a_clock_advance() {
    let app = billing_app().await;
    let inbox = Inbox::start(&app, &["account_updater_request_completed"]).await;
    let first = customer_with_card(&app, "Race01", TEST_CARDS[1].0).await;
    let second = add_card(&app, "Race01", TEST_CARDS[2].0).await;
    let request_id = create(&app, &[first.clone(), second]).await;

    // One second before it is due: from then on every read and advance may be the one that
    // notices it, and each round sends many at once.
    advance(&app, "P2DT23H59M59S").await;
    let mut rounds = 0;
    while summary(&app, request_id).await["status"] == "INPROGRESS" {
        rounds += 1;
        assert!(rounds < 500, "the request never completed");
        let reads = (0..12).map(|n| {
            let app = app.clone();
            async move {
                let path = match n % 3 {
                    0 => format!("/aus/request/summary/{request_id}"),
                    1 => "/aus/request/detail".to_owned(),
                    _ => "/aus/request/summary".to_owned(),
                };
                app.get(&path).await.status
            }
        });
        let (_, statuses) =
            tokio::join!(advance(&app, "PT1S"), futures_util::future::join_all(reads));
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    }
    assert_eq!(summary(&app, request_id).await["status"], "COMPLETED");
    assert_eq!(card_of(&app, "Race01", &first).await["exp_date"], "1242");

    // A later event is posted after any earlier one: once it is in, a second completion
    // would be too.
    let marker = customer_with_card(&app, "Race02", VISA).await;
    let later = create(&app, &[marker]).await;
    advance(&app, "P3D").await;
    let posts = inbox.wait_for(2).await;
    let ids: Vec<i64> = posts
        .iter()
        .map(|p| p["data"]["request_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [request_id, later], "{posts:#?}");
}

#[tokio::test]
async fn created_and_completed_events_reach_a_webhook_receiver_without_card_numbers() {
    let app = billing_app().await;
    let inbox = Inbox::start(
        &app,
        &[
            "account_updater_request_created",
            "account_updater_request_completed",
        ],
    )
    .await;
    let moved = customer_with_card(&app, "Events01", TEST_CARDS[1].0).await;
    let renumbered = add_card(&app, "Events01", TEST_CARDS[2].0).await;
    let request_id = create(&app, &[moved.clone(), renumbered, "nosuchcard".into()]).await;
    advance(&app, "P3D").await;
    let posts = inbox.wait_for(2).await;
    let created = &posts[0];
    assert_eq!(created["event"], "account_updater_request_created");
    assert_eq!(created["data"]["request_id"], request_id);
    assert_eq!(created["data"]["status"], "INPROGRESS");
    assert_eq!(created["data"]["cnt_request"], 2);
    assert_eq!(
        created["data"]["rejected_cards"][0]["card_id"],
        "nosuchcard"
    );
    let completed = &posts[1];
    assert_eq!(completed["event"], "account_updater_request_completed");
    assert_eq!(completed["data"]["status"], "COMPLETED");
    assert_eq!(completed["data"]["cnt_update"], 2);
    let cards = completed["data"]["cards"].as_array().unwrap();
    let entry = cards.iter().find(|c| c["card_id"] == json!(moved)).unwrap();
    assert_eq!(
        entry,
        &json!({"card_id": moved, "customer_id": "Events01", "reason_code": "201",
                "exp_date_new": "1242"})
    );
    assert!(cards.iter().any(|c| c["reason_code"] == "202"));
    let raw: Vec<String> = posts.iter().map(Value::to_string).collect();
    for number in [TEST_CARDS[1].0, TEST_CARDS[2].0, AU_NEW_NUMBER] {
        assert!(raw.iter().all(|r| !r.contains(number)), "{raw:?}");
    }
}

#[tokio::test]
async fn the_harvest_runs_once_a_month_for_cards_not_held_in_batches_of_100() {
    let app = billing_app().await;
    app.create_customer("Harvest01").await;
    for n in 0..101 {
        app.add_card_ok("Harvest01", &crate::testdata::card(&generated_visa(n)))
            .await;
    }
    let held = customer_with_card(&app, "Harvest02", VISA).await;
    app.post("/aus/hold", &json!({ "customer_id": "Harvest02" }))
        .await
        .assert_ok();
    assert_eq!(card_of(&app, "Harvest02", &held).await["on_hold"], true);
    let setting = app
        .put("/aus/harvest", &json!({ "enabled": true }))
        .await
        .ok_data();
    assert_eq!(setting, json!({ "enabled": true }));

    let today = clock_today(&app).await;
    let next = crate::account_updater_support::first_of_next_month(today);
    advance_to(&app, next - chrono::Days::new(1)).await;
    assert_eq!(requests(&app).await.len(), 0, "not before the 1st");
    advance_to(&app, next).await;
    let made = requests(&app).await;
    let mut counts: Vec<i64> = made
        .iter()
        .map(|r| r["cnt_request"].as_i64().unwrap())
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, [1, 100], "the held card is left out");
    assert!(made.iter().all(|r| r["method"] == "harvest_cust_vault"));
    advance(&app, "P1D").await;
    assert_eq!(requests(&app).await.len(), 2, "once a month");
    let setting = app.get("/aus/harvest").await.ok_data();
    assert_eq!(setting["last_harvest"], next.format("%Y-%m").to_string());

    let after = crate::account_updater_support::first_of_next_month(next);
    advance_to(&app, after).await;
    assert_eq!(requests(&app).await.len(), 4);
    app.put("/aus/harvest", &json!({ "enabled": false }))
        .await
        .assert_ok();
    advance_to(
        &app,
        crate::account_updater_support::first_of_next_month(after),
    )
    .await;
    assert_eq!(requests(&app).await.len(), 4, "off");
}

#[tokio::test]
async fn aus_add_is_not_served_because_it_answers_with_full_card_numbers() {
    let app = TestApp::shared();
    let resp = app
        .post(
            "/aus/add",
            &json!({ "data": [{ "card_number": VISA, "exp_date": "1239" }] }),
        )
        .await;
    resp.assert_error(404, 6);
    assert!(
        resp.message().contains("full card numbers"),
        "{}",
        resp.text
    );
}

async fn requests(app: &TestApp) -> Vec<Value> {
    request_of(app, "/aus/request/summary?count=100").await
}
