//! Recurring billing plans: create, read, update, archive, delete, validation, browse.

use reqwest::Method;
use serde_json::{Value, json};

use crate::billing_support::{
    act, add_plan, advance, assert_refused, billing_app, clock_today, customer_with_card, dec,
    delete, describe, exchange, get, money, ok_data, on_plan, plan_body, post, put, send_raw,
    sub_id, subscribe, subscription, transactions,
};
use crate::helpers::KEY_B;
use crate::testdata::{VISA, with, without};

/// The one plan `GET /plan/{code}` answers (a list response with one item).
async fn plan(app: &crate::helpers::TestApp, code: &str) -> Value {
    let resp = get(app, &format!("/plan/{code}")).await;
    let data = ok_data(&resp, None);
    assert_eq!(resp.json["totalRecords"], 1, "{}", resp.text);
    let items = data.as_array().expect("a list");
    assert_eq!(items.len(), 1, "{}", resp.text);
    items[0].clone()
}

/// The codes a browse answers, in order.
async fn browse_codes(app: &crate::helpers::TestApp, query: &str) -> (Vec<String>, Value) {
    let resp = get(app, &format!("/plan?{query}")).await;
    let data = ok_data(&resp, None);
    let codes = data
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| p["plan_code"].as_str().unwrap_or_default().to_owned())
        .collect();
    (codes, resp.json)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_is_created_read_and_updated_with_exact_amounts() {
    let app = billing_app().await;
    let body = json!({
        "plan_code": "GOLD-1",
        "plan_name": "Gold",
        "plan_desc": "Gold membership",
        "plan_frequency": 3,
        "interval": 2,
        "plan_duration": 12,
        "trial_duration": 1,
        "amt_trial": 0.99,
        "amt_setup": 10.5,
        "amt_tran": 19.99,
        "tran_currency": "840",
        "profile_id": "212000000001000008401"
    });
    let created = add_plan(&app, &body).await;
    assert!(
        created["plan_id"].as_i64().is_some_and(|id| id > 0),
        "{created}"
    );
    assert_eq!(
        created["status"], "E",
        "a new plan is active (E): {created}"
    );
    assert_eq!(created["merchant_id"], 1001);
    for key in [
        "plan_code",
        "plan_name",
        "plan_desc",
        "plan_frequency",
        "interval",
        "plan_duration",
        "trial_duration",
        "tran_currency",
        "profile_id",
    ] {
        assert_eq!(created[key], body[key], "{key}: {created}");
    }
    for key in ["amt_trial", "amt_setup", "amt_tran"] {
        assert!(
            created[key].is_number(),
            "{key} is a JSON number: {created}"
        );
        assert_eq!(money(&created[key]), money(&body[key]), "{key}: {created}");
    }
    let snapshot = {
        let mut s = created.clone();
        for key in ["plan_id", "db_timestamp", "mod_timestamp"] {
            s[key] = json!(format!("[{key}]"));
        }
        s
    };
    insta::with_settings!({ sort_maps => true }, {
        insta::assert_json_snapshot!("billing_plan_created", snapshot);
    });

    let read = plan(&app, "GOLD-1").await;
    assert_eq!(read, created, "GET answers what POST stored");

    let change = json!({ "plan_name": "Gold Plus", "amt_tran": 24.5 });
    let resp = put(&app, "/plan/GOLD-1", &change).await;
    let updated = ok_data(&resp, Some(&change));
    assert_eq!(updated["plan_name"], "Gold Plus");
    assert_eq!(money(&updated["amt_tran"]), dec("24.5"));
    assert_eq!(updated["plan_id"], created["plan_id"]);
    assert_eq!(
        updated["plan_desc"], "Gold membership",
        "other fields are kept"
    );
    assert_eq!(plan(&app, "GOLD-1").await, updated);

    let rename = json!({ "plan_code": "OTHER" });
    let resp = put(&app, "/plan/GOLD-1", &rename).await;
    assert_refused(&resp, Some(&rename), 400, 2, "plan_code");
    let bad = json!({ "interval": 0 });
    let resp = put(&app, "/plan/GOLD-1", &bad).await;
    assert_refused(&resp, Some(&bad), 400, 2, "interval");
    assert_eq!(
        plan(&app, "GOLD-1").await,
        updated,
        "a refused update changes nothing"
    );

    let resp = get(&app, "/plan/NOPE").await;
    assert_refused(&resp, None, 404, 6, "plan");
    let resp = put(&app, "/plan/NOPE", &change).await;
    assert_eq!(resp.status, 404, "{}", exchange(&resp, Some(&change)));

    // Plans belong to their merchant.
    let other = app.as_key(KEY_B);
    let resp = get(&other, "/plan/GOLD-1").await;
    assert_eq!(resp.status, 404, "{}", resp.text);
    let resp = put(&other, "/plan/GOLD-1", &change).await;
    assert_eq!(resp.status, 404, "{}", resp.text);
    let id = created["plan_id"].as_i64().expect("plan_id");
    let resp = delete(&other, &format!("/plan/{id}/delete")).await;
    assert_eq!(resp.status, 404, "{}", resp.text);
    add_plan(&other, &body).await;
    assert_eq!(
        plan(&app, "GOLD-1").await,
        updated,
        "another merchant's plan of the same code"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_plan_code_is_a_conflict() {
    let app = billing_app().await;
    add_plan(&app, &plan_body("DUP", 5.0, 3)).await;
    let again = plan_body("DUP", 7.0, 6);
    let resp = post(&app, "/plan", &again).await;
    assert_eq!(
        (resp.status, resp.json["code"].as_i64()),
        (409, Some(8)),
        "{}",
        exchange(&resp, Some(&again))
    );
    let current = plan(&app, "DUP").await;
    assert_eq!(
        money(&current["amt_tran"]),
        dec("5"),
        "the first plan is untouched"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_plans_are_refused_with_a_400_naming_the_field_and_nothing_is_stored() {
    let app = billing_app().await;
    let base = plan_body("VALID", 10.0, 12);
    let mut cases: Vec<(Value, &str)> = [
        "plan_code",
        "plan_name",
        "plan_desc",
        "plan_frequency",
        "plan_duration",
        "amt_tran",
    ]
    .into_iter()
    .map(|field| (without(base.clone(), field), field))
    .collect();
    cases.extend([
        (
            with(base.clone(), json!({ "plan_frequency": 2 })),
            "plan_frequency",
        ),
        (
            with(base.clone(), json!({ "plan_frequency": 8 })),
            "plan_frequency",
        ),
        (with(base.clone(), json!({ "interval": 0 })), "interval"),
        (with(base.clone(), json!({ "interval": 100 })), "interval"),
        (with(base.clone(), json!({ "amt_tran": 1.999 })), "amt_tran"),
        (with(base.clone(), json!({ "amt_tran": -1 })), "amt_tran"),
        (
            with(base.clone(), json!({ "amt_setup": -0.01 })),
            "amt_setup",
        ),
        (
            with(base.clone(), json!({ "amt_trial": 0.001 })),
            "amt_trial",
        ),
        (
            with(base.clone(), json!({ "plan_duration": 0 })),
            "plan_duration",
        ),
        (
            with(base.clone(), json!({ "plan_duration": -2 })),
            "plan_duration",
        ),
        (
            with(base.clone(), json!({ "trial_duration": -1 })),
            "trial_duration",
        ),
        (with(base.clone(), json!({ "plan_code": "" })), "plan_code"),
        (
            with(base.clone(), json!({ "plan_code": "has space" })),
            "plan_code",
        ),
        (
            with(base.clone(), json!({ "plan_code": "A".repeat(17) })),
            "plan_code",
        ),
        (with(base.clone(), json!({ "plan_name": "" })), "plan_name"),
        (
            with(
                base.clone(),
                json!({ "bill_specific_day": true, "day_of_month": 33 }),
            ),
            "day_of_month",
        ),
        (
            with(
                base.clone(),
                json!({ "bill_specific_day": true, "day_of_month": 0 }),
            ),
            "day_of_month",
        ),
        (
            with(base.clone(), json!({ "bill_specific_day": true })),
            "day_of_month",
        ),
        (
            with(base.clone(), json!({ "prorate_first_pmt": true })),
            "prorate_first_pmt",
        ),
    ]);
    for (body, field) in &cases {
        let resp = post(&app, "/plan", body).await;
        assert_refused(&resp, Some(body), 400, 2, field);
    }
    // Every problem at once.
    let body = json!({ "plan_frequency": 2, "interval": 0 });
    let resp = post(&app, "/plan", &body).await;
    for field in [
        "plan_code",
        "plan_name",
        "plan_desc",
        "plan_duration",
        "amt_tran",
        "plan_frequency",
    ] {
        assert_refused(&resp, Some(&body), 400, 2, field);
    }

    let resp = get(&app, "/plan").await;
    assert_eq!(
        resp.json["totalRecords"], 0,
        "nothing was stored: {}",
        resp.text
    );
    // The base body itself is fine.
    add_plan(&app, &base).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_archives_with_no_body_at_all_as_the_spec_allows() {
    let app = billing_app().await;
    add_plan(&app, &plan_body("BARE", 5.0, -1)).await;
    let resp = send_raw(&app, Method::POST, "/plan/BARE/archive", None).await;
    assert_eq!(resp.status, 200, "{}", describe(&resp));
    assert_eq!(resp.json["data"]["status"], "A", "{}", describe(&resp));
    assert_eq!(plan(&app, "BARE").await["status"], "A");
    let resp = send_raw(&app, Method::POST, "/plan/GONE/archive", None).await;
    assert_eq!(resp.status, 404, "{}", describe(&resp));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_archived_plan_takes_no_new_subscriptions_but_its_subscriptions_keep_billing() {
    let app = billing_app().await;
    let today = clock_today(&app).await;
    customer_with_card(&app, "Archive01", VISA).await;
    add_plan(&app, &plan_body("OLD", 9.99, -1)).await;
    let sub = subscribe(&app, &on_plan("Archive01", "OLD", today)).await;

    let no_name = json!({});
    let resp = post(&app, "/plan/OLD/archive", &no_name).await;
    assert_refused(&resp, Some(&no_name), 400, 2, "plan_name");
    assert_eq!(
        plan(&app, "OLD").await["status"],
        "E",
        "a refused archive changes nothing"
    );

    let body = json!({ "plan_name": "Plan OLD" });
    let resp = post(&app, "/plan/OLD/archive", &body).await;
    let archived = ok_data(&resp, Some(&body));
    assert_eq!(archived["status"], "A", "{archived}");
    assert_eq!(plan(&app, "OLD").await["status"], "A");
    let resp = post(&app, "/plan/NOPE/archive", &body).await;
    assert_eq!(resp.status, 404, "{}", exchange(&resp, Some(&body)));

    let new = on_plan("Archive01", "OLD", today);
    let resp = post(&app, "/subscription", &new).await;
    assert_refused(&resp, Some(&new), 400, 2, "plan_code");

    let billed = advance(&app, "P1M").await;
    assert_eq!(
        billed.approved, 2,
        "the existing subscription keeps billing"
    );
    let charges = transactions(&app, sub_id(&sub)).await;
    assert_eq!(charges.len(), 2);
    assert_eq!(subscription(&app, sub_id(&sub)).await["status"], "A");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_in_use_cannot_be_deleted_until_its_subscriptions_end() {
    let app = billing_app().await;
    let today = clock_today(&app).await;
    customer_with_card(&app, "PlanDel01", VISA).await;
    let created = add_plan(&app, &plan_body("GONE", 5.0, -1)).await;
    let plan_id = created["plan_id"].as_i64().expect("plan_id");
    let sub = subscribe(&app, &on_plan("PlanDel01", "GONE", today)).await;

    let path = format!("/plan/{plan_id}/delete");
    let resp = delete(&app, &path).await;
    assert_eq!(
        (resp.status, resp.json["code"].as_i64()),
        (409, Some(8)),
        "an active subscription uses it: {}",
        resp.text
    );
    // Another merchant learns nothing: the plan in use is as absent as one that never was.
    let other = app.as_key(KEY_B);
    let theirs = delete(&other, &path).await;
    let never = delete(&other, "/plan/999999/delete").await;
    assert_eq!(theirs.status, 404, "{}", theirs.text);
    assert_eq!(
        theirs.json, never.json,
        "the same answer as for no plan at all"
    );
    let paused = act(&app, sub_id(&sub), "pause", "PlanDel01").await;
    assert_eq!(paused.status, 200, "{}", paused.text);
    let resp = delete(&app, &path).await;
    assert_eq!(
        resp.status, 409,
        "a paused subscription uses it too: {}",
        resp.text
    );
    assert_eq!(plan(&app, "GONE").await["status"], "E");

    let cancelled = act(&app, sub_id(&sub), "cancel", "PlanDel01").await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    let resp = delete(&app, &path).await;
    let deleted = ok_data(&resp, None);
    assert_eq!(deleted["plan_code"], "GONE", "{deleted}");
    assert_eq!(deleted["status"], "D", "{deleted}");

    let resp = get(&app, "/plan/GONE").await;
    assert_eq!(resp.status, 404, "a deleted plan is gone: {}", resp.text);
    let resp = get(&app, "/plan").await;
    assert_eq!(resp.json["totalRecords"], 0, "{}", resp.text);
    let resp = delete(&app, &path).await;
    assert_eq!(resp.status, 404, "deleting twice: {}", resp.text);
    let resp = delete(&app, "/plan/GONE/delete").await;
    assert_refused(&resp, None, 400, 2, "plan_id");
    let resp = delete(&app, "/plan/999999/delete").await;
    assert_eq!(resp.status, 404, "{}", resp.text);

    // The code is free again, and the cancelled subscription still reads.
    add_plan(&app, &plan_body("GONE", 6.0, 3)).await;
    assert_eq!(subscription(&app, sub_id(&sub)).await["status"], "C");
}

#[tokio::test(flavor = "multi_thread")]
async fn plans_browse_with_filters_order_and_pages() {
    let app = billing_app().await;
    for (code, amount) in [
        ("B1", 5.0),
        ("B2", 10.0),
        ("B3", 15.5),
        ("B4", 20.0),
        ("B5", 10.01),
    ] {
        add_plan(&app, &plan_body(code, amount, 12)).await;
    }

    let (codes, list) = browse_codes(&app, "").await;
    assert_eq!(
        codes,
        ["B1", "B2", "B3", "B4", "B5"],
        "plan_code ascending by default"
    );
    assert_eq!(
        (list["totalRecords"].as_i64(), list["totalPages"].as_i64()),
        (Some(5), Some(1))
    );

    let (codes, _) = browse_codes(&app, "filter=plan_code,IN,B1%7CB3%7CB4").await;
    assert_eq!(codes, ["B1", "B3", "B4"]);
    let (codes, _) = browse_codes(
        &app,
        "filter=amt_tran,GT,10&order_on=amt_tran&order_by=desc",
    )
    .await;
    assert_eq!(
        codes,
        ["B4", "B3", "B5"],
        "amounts compare exactly: 10.01 > 10, 10 is not"
    );
    let (codes, _) = browse_codes(
        &app,
        "filter=amt_tran,GT,10&filter=plan_code,IN,B1%7CB3%7CB5",
    )
    .await;
    assert_eq!(codes, ["B3", "B5"], "all filters hold");
    let (codes, _) = browse_codes(&app, "filter=amt_tran,EQ,10.00").await;
    assert_eq!(codes, ["B2"]);
    let (codes, _) = browse_codes(&app, "order_on=amt_tran&order_by=asc").await;
    assert_eq!(codes, ["B1", "B2", "B5", "B3", "B4"]);

    let (codes, page) = browse_codes(&app, "count=2&page=1&order_on=plan_code&order_by=desc").await;
    assert_eq!(codes, ["B3", "B2"]);
    assert_eq!(
        (page["totalRecords"].as_i64(), page["totalPages"].as_i64()),
        (Some(5), Some(3))
    );
    let (codes, _) = browse_codes(&app, "count=2&page=3").await;
    assert!(codes.is_empty(), "a page past the end is empty");

    for (query, field) in [
        ("filter=nope,EQ,1", "nope"),
        ("filter=amt_tran,GT,abc", "amt_tran"),
        ("filter=plan_code,NOPE,x", "NOPE"),
        ("order_on=nope", "order_on"),
        ("order_by=sideways", "order_by"),
        ("count=0", "count"),
        ("count=abc", "count"),
        ("page=-1", "page"),
    ] {
        let resp = get(&app, &format!("/plan?{query}")).await;
        assert_refused(&resp, None, 400, 2, field);
    }

    let (codes, _) = browse_codes(&app.as_key(KEY_B), "").await;
    assert!(
        codes.is_empty(),
        "another merchant sees none of them: {codes:?}"
    );
}
