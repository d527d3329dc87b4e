//! Subscriptions over REST: validation, the card they bill, browse and its filters, merchant
//! isolation, the transactions endpoints and their pages, exact amounts, and junk input on
//! every billing endpoint.

use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::billing_support::{
    act, add_card, add_plan, advance, advance_times, all_pages, assert_refused, billing_app, brief,
    clock_today, customer_with_card, day, dec, describe, exchange, get, money, monthly_dates,
    off_plan, ok_data, on_plan, plan_body, plus_days, post, put, send_raw, sub_id, subscribe,
    subscription, transactions,
};
use crate::helpers::{KEY_B, TestApp};
use crate::testdata::{MASTERCARD, MASTERCARD_MASKED, VISA, VISA_2, with, without};

/// The subscription ids a browse answers, in order, and the envelope.
async fn browse_ids(app: &TestApp, query: &str) -> (Vec<i64>, Value) {
    let resp = get(app, &format!("/subscription?{query}")).await;
    let data = ok_data(&resp, None);
    let ids = data
        .as_array()
        .expect("a list")
        .iter()
        .map(sub_id)
        .collect();
    (ids, resp.json)
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_subscriptions_are_refused_naming_the_field_and_nothing_is_stored() {
    let app = billing_app().await;
    let today = clock_today(&app).await;
    customer_with_card(&app, "SubVal01", VISA).await;
    let foreign_card = customer_with_card(&app, "SubVal02", MASTERCARD).await;
    app.create_customer("SubVal03").await; // no card at all
    add_plan(&app, &plan_body("VALPLAN", 10.0, 12)).await;
    let base = off_plan("SubVal01", today, 10.0, 12);

    let yesterday = today.pred_opt().expect("a date");
    let refused_400: Vec<(Value, &str)> = vec![
        (
            with(base.clone(), json!({ "date_start": day(yesterday) })),
            "date_start",
        ),
        (
            with(base.clone(), json!({ "date_start": "2030/01/01" })),
            "date_start",
        ),
        (
            with(base.clone(), json!({ "date_start": "2030-02-30" })),
            "date_start",
        ),
        (without(base.clone(), "date_start"), "date_start"),
        (without(base.clone(), "customer_id"), "customer_id"),
        (without(base.clone(), "plan_frequency"), "plan_frequency"),
        (
            with(base.clone(), json!({ "plan_frequency": 2 })),
            "plan_frequency",
        ),
        (without(base.clone(), "plan_duration"), "plan_duration"),
        (without(base.clone(), "amt_tran"), "amt_tran"),
        (
            with(base.clone(), json!({ "amt_tran": 10.001 })),
            "amt_tran",
        ),
        (with(base.clone(), json!({ "amt_tran": -5 })), "amt_tran"),
        (
            with(base.clone(), json!({ "amt_setup": 1.234 })),
            "amt_setup",
        ),
        (with(base.clone(), json!({ "interval": 0 })), "interval"),
        (off_plan("SubVal03", today, 10.0, 12), "card_id"),
    ];
    for (body, field) in &refused_400 {
        let resp = post(&app, "/subscription", body).await;
        assert_refused(&resp, Some(body), 400, 2, field);
    }

    let unknown_customer = off_plan("NoSuchCustomer", today, 10.0, 12);
    let resp = post(&app, "/subscription", &unknown_customer).await;
    assert_eq!(
        (resp.status, resp.json["code"].as_i64()),
        (404, Some(6)),
        "{}",
        exchange(&resp, Some(&unknown_customer))
    );
    let unknown_plan = on_plan("SubVal01", "NOPLAN", today);
    let resp = post(&app, "/subscription", &unknown_plan).await;
    assert_refused(&resp, Some(&unknown_plan), 404, 6, "plan");
    let other_card = with(base.clone(), json!({ "card_id": foreign_card }));
    let resp = post(&app, "/subscription", &other_card).await;
    assert!(
        matches!(resp.status, 400 | 404),
        "another customer's card: {}",
        exchange(&resp, Some(&other_card))
    );
    assert!(
        resp.message().contains("card_id"),
        "{}",
        exchange(&resp, Some(&other_card))
    );

    let (ids, list) = browse_ids(&app, "").await;
    assert!(ids.is_empty(), "nothing was stored: {list}");
    let transactions = get(&app, "/subscription/transactions?count=10").await;
    assert_eq!(
        transactions.json["totalRecords"], 0,
        "{}",
        transactions.text
    );

    // The base body is fine, and date_start today is allowed.
    let sub = subscribe(&app, &base).await;
    assert_eq!(sub["date_start"], day(today));
    assert_eq!(sub["subscription_on_plan"], false, "{sub}");
    let on = subscribe(&app, &on_plan("SubVal01", "VALPLAN", plus_days(today, 3))).await;
    assert_eq!(on["subscription_on_plan"], true, "{on}");
    assert_eq!(on["plan_code"], "VALPLAN");
    assert_eq!(on["date_next"], day(plus_days(today, 3)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_bills_the_customers_primary_card_unless_told_otherwise() {
    let app = billing_app().await;
    let today = clock_today(&app).await;
    let first = customer_with_card(&app, "SubCard01", VISA).await;
    let second = add_card(&app, "SubCard01", MASTERCARD).await;
    app.set_primary_card("SubCard01", &second).await.assert_ok();

    let default = subscribe(&app, &off_plan("SubCard01", today, 5.0, 1)).await;
    assert_eq!(default["card_id"], second, "the primary card: {default}");
    let named = subscribe(
        &app,
        &with(
            off_plan("SubCard01", today, 5.0, 1),
            json!({ "card_id": first }),
        ),
    )
    .await;
    assert_eq!(named["card_id"], first, "the card named: {named}");

    advance(&app, "P1D").await;
    let charged = transactions(&app, sub_id(&default)).await;
    assert_eq!(charged.len(), 1, "{}", brief(&charged));
    assert_eq!(charged[0]["card_id"], second);
    assert_eq!(charged[0]["card_number"], MASTERCARD_MASKED);
    assert_eq!(charged[0]["card_type"], "MC");
    let sub = subscription(&app, sub_id(&default)).await;
    assert_eq!(sub["status"], "D", "one cycle, billed: {sub}");
    assert_eq!(
        sub["response"]["status"], "Approved",
        "the last attempt: {sub}"
    );
    assert_eq!(sub["response"]["rcode"], "000", "{sub}");
    assert_eq!(sub["response"]["card_id"], second, "{sub}");
    assert_eq!(
        sub["response"]["pg_id"], charged[0]["pg_id"],
        "the response is the transaction: {sub}"
    );
    let resp = put(
        &app,
        &format!("/subscription/{}", sub_id(&default)),
        &json!({ "card_id": first }),
    )
    .await;
    assert_eq!(
        resp.status, 400,
        "a complete subscription cannot change: {}",
        resp.text
    );

    let named_charges = transactions(&app, sub_id(&named)).await;
    assert_eq!(
        named_charges[0]["card_id"],
        first,
        "{}",
        brief(&named_charges)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn subscriptions_browse_by_customer_status_next_date_and_amount() {
    let app = billing_app().await;
    let today = clock_today(&app).await;
    for id in ["BrA", "BrB", "BrC"] {
        customer_with_card(&app, id, VISA).await;
    }
    let a1 = sub_id(&subscribe(&app, &off_plan("BrA", plus_days(today, 1), 10.0, -1)).await);
    let a2 = sub_id(&subscribe(&app, &off_plan("BrA", plus_days(today, 5), 20.0, -1)).await);
    let b1 = sub_id(&subscribe(&app, &off_plan("BrB", plus_days(today, 10), 30.0, -1)).await);
    let c1 = sub_id(&subscribe(&app, &off_plan("BrC", plus_days(today, 15), 40.0, -1)).await);
    let cancelled = act(&app, b1, "cancel", "BrB").await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);

    let (ids, list) = browse_ids(&app, "").await;
    assert_eq!(list["totalRecords"], 4, "{list}");
    assert_eq!(ids.len(), 4);

    let (mut ids, _) = browse_ids(&app, "filter=customer_id,IN,BrA%7CBrB").await;
    ids.sort_unstable();
    assert_eq!(ids, [a1, a2, b1]);
    let (ids, _) = browse_ids(&app, "filter=status,EQ,C").await;
    assert_eq!(ids, [b1]);
    let (mut ids, _) = browse_ids(&app, "filter=status,EQ,A").await;
    ids.sort_unstable();
    assert_eq!(ids, [a1, a2, c1]);
    let between = format!(
        "filter=date_next,BETWEEN,{}%7C{}&order_on=date_next&order_by=asc",
        day(plus_days(today, 2)),
        day(plus_days(today, 20))
    );
    let (ids, _) = browse_ids(&app, &between).await;
    assert_eq!(ids, [a2, c1], "the cancelled one has no next date");
    let (ids, _) = browse_ids(&app, "filter=recur_amt,GE,20&filter=customer_id,EQ,BrA").await;
    assert_eq!(ids, [a2]);
    let (ids, _) = browse_ids(
        &app,
        "filter=recur_amt,IN,10%7C40&order_on=recur_amt&order_by=desc",
    )
    .await;
    assert_eq!(ids, [c1, a1]);
    let (ids, _) = browse_ids(
        &app,
        &format!("filter=date_start,EQ,{}", day(plus_days(today, 5))),
    )
    .await;
    assert_eq!(ids, [a2]);
    let (ids, page) =
        browse_ids(&app, "count=3&page=1&order_on=subscription_id&order_by=asc").await;
    assert_eq!(ids, [c1]);
    assert_eq!(page["totalPages"], 2, "{page}");

    for (query, field) in [
        ("filter=nope,EQ,1", "nope"),
        ("filter=date_next,EQ,tomorrow", "date_next"),
        ("filter=recur_amt,GT,lots", "recur_amt"),
        ("order_on=card_number", "order_on"),
        ("count=101", "count"),
    ] {
        let resp = get(&app, &format!("/subscription?{query}")).await;
        assert_refused(&resp, None, 400, 2, field);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn another_merchant_sees_none_of_the_subscriptions_nor_their_clock() {
    let app = billing_app().await;
    let today = clock_today(&app).await;
    customer_with_card(&app, "IsoSub01", VISA).await;
    let sub = subscribe(&app, &off_plan("IsoSub01", today, 10.0, -1)).await;
    let id = sub_id(&sub);
    let other = app.as_key(KEY_B);
    let before_b = clock_today(&other).await;

    advance(&app, "P1M").await;
    assert_eq!(
        clock_today(&other).await,
        before_b,
        "merchant 2002's clock did not move"
    );

    for path in [
        format!("/subscription/{id}"),
        format!("/subscription/transactions/{id}"),
    ] {
        let resp = get(&other, &path).await;
        assert_eq!(
            (resp.status, resp.json["code"].as_i64()),
            (404, Some(6)),
            "{}",
            describe(&resp)
        );
    }
    for action in ["pause", "resume", "cancel"] {
        let resp = act(&other, id, action, "IsoSub01").await;
        assert_eq!(resp.status, 404, "{action}: {}", describe(&resp));
    }
    let change = json!({ "date_start": day(plus_days(today, 60)) });
    let resp = put(&other, &format!("/subscription/{id}"), &change).await;
    assert_eq!(resp.status, 404, "{}", exchange(&resp, Some(&change)));
    let resp = get(&other, "/subscription").await;
    assert_eq!(resp.json["totalRecords"], 0, "{}", resp.text);
    let resp = get(&other, "/subscription/transactions").await;
    assert_eq!(resp.json["totalRecords"], 0, "{}", resp.text);
    // Merchant 2002 cannot subscribe merchant 1001's customer either.
    let body = off_plan("IsoSub01", before_b, 10.0, -1);
    let resp = post(&other, "/subscription", &body).await;
    assert_eq!(resp.status, 404, "{}", exchange(&resp, Some(&body)));

    let mine = subscription(&app, id).await;
    assert_eq!(mine["status"], "A", "untouched: {mine}");
    assert_eq!(transactions(&app, id).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn transactions_page_and_amounts_add_up_exactly() {
    let app = billing_app().await;
    let today = clock_today(&app).await;
    customer_with_card(&app, "TxPage01", VISA).await;
    customer_with_card(&app, "TxPage02", VISA_2).await;
    let yearly = sub_id(&subscribe(&app, &off_plan("TxPage01", today, 19.99, 12)).await);
    let other = sub_id(&subscribe(&app, &off_plan("TxPage02", today, 0.1, 3)).await);
    advance_times(&app, "P1M", 12).await;

    let expected_dates: Vec<String> = monthly_dates(today, 12).into_iter().map(day).collect();
    let mut seen = Vec::new();
    for page in 0..3 {
        let path = format!(
            "/subscription/transactions/{yearly}?count=5&page={page}&order_on=tran_date&order_by=asc"
        );
        let resp = get(&app, &path).await;
        let data = ok_data(&resp, None);
        assert_eq!(resp.json["totalRecords"], 12, "{}", resp.text);
        assert_eq!(resp.json["totalPages"], 3, "{}", resp.text);
        let items = data.as_array().expect("a list");
        assert_eq!(items.len(), if page < 2 { 5 } else { 2 }, "page {page}");
        seen.extend(items.iter().cloned());
    }
    let resp = get(
        &app,
        &format!("/subscription/transactions/{yearly}?count=5&page=3"),
    )
    .await;
    assert_eq!(
        ok_data(&resp, None),
        json!([]),
        "past the end: {}",
        resp.text
    );
    let dates: Vec<&str> = seen
        .iter()
        .map(|t| t["tran_date"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(dates, expected_dates, "pages neither overlap nor skip");
    let mut pg_ids: Vec<&str> = seen
        .iter()
        .map(|t| t["pg_id"].as_str().unwrap_or_default())
        .collect();
    pg_ids.sort_unstable();
    pg_ids.dedup();
    assert_eq!(pg_ids.len(), 12, "every charge has its own pg_id");

    // Newest first by default.
    let resp = get(
        &app,
        &format!("/subscription/transactions/{yearly}?count=1"),
    )
    .await;
    assert_eq!(
        resp.json["data"][0]["tran_date"], expected_dates[11],
        "{}",
        resp.text
    );

    for t in &seen {
        assert_eq!(
            t["subscription_id"],
            yearly.to_string(),
            "a string, as the spec types it: {t}"
        );
        assert_eq!(t["customer_id"], "TxPage01");
        assert_eq!(t["amt_tran"], json!(19.99), "the JSON number 19.99: {t}");
        assert_eq!(t["tran_currency"], "840");
    }
    let total: Decimal = seen.iter().map(|t| money(&t["amt_tran"])).sum();
    assert_eq!(total, dec("239.88"), "19.99 × 12, exactly");
    assert_eq!(total.to_string(), "239.88");

    let all = all_pages(
        &app,
        "/subscription/transactions?order_on=tran_date&order_by=asc",
    )
    .await;
    assert_eq!(
        all.len(),
        15,
        "12 + 3 across subscriptions: {}",
        brief(&all)
    );
    let tenths: Decimal = all
        .iter()
        .filter(|t| t["subscription_id"].as_str() == Some(other.to_string().as_str()))
        .map(|t| money(&t["amt_tran"]))
        .sum();
    assert_eq!(
        tenths,
        dec("0.3"),
        "0.1 × 3 is 0.3, not 0.30000000000000004"
    );
    let resp = get(
        &app,
        &format!("/subscription/transactions?filter=subscription_id,EQ,{other}&count=2"),
    )
    .await;
    assert_eq!(
        (
            resp.json["totalRecords"].as_i64(),
            resp.json["totalPages"].as_i64()
        ),
        (Some(3), Some(2)),
        "{}",
        resp.text
    );
    let resp = get(
        &app,
        "/subscription/transactions?filter=amt_tran,GT,1&count=100",
    )
    .await;
    assert_eq!(resp.json["totalRecords"], 12, "{}", resp.text);
    let resp = get(&app, "/subscription/transactions?filter=tran_status,EQ,D").await;
    assert_eq!(resp.json["totalRecords"], 0, "{}", resp.text);

    let resp = get(&app, "/subscription/transactions/999999").await;
    assert_eq!(resp.status, 404, "no such subscription: {}", resp.text);
    let resp = get(&app, "/subscription/transactions/abc").await;
    assert_refused(&resp, None, 400, 2, "subscription_id");
    let resp = get(&app, "/subscription/999999").await;
    assert_eq!(resp.status, 404, "{}", resp.text);
}

/// A method and path, a valid body for it, and wrong-typed fields to put in that body.
type Endpoint = (Method, String, Value, Vec<(&'static str, Value)>);

/// Raw bodies that no billing endpoint may accept.
const JUNK: [&str; 10] = [
    "",
    "not json",
    "{",
    "{\"a\": 1,}",
    "[]",
    "null",
    "42",
    "\"text\"",
    "[{\"customer_id\": \"x\"}]",
    "{\"customer_id\": \"x\"} trailing",
];

#[tokio::test(flavor = "multi_thread")]
async fn junk_bodies_and_wrong_types_get_400_envelopes_on_every_billing_endpoint() {
    let app = billing_app().await;
    let today = clock_today(&app).await;
    customer_with_card(&app, "Junk01", VISA).await;
    add_plan(&app, &plan_body("JUNK", 10.0, 12)).await;
    let id = sub_id(&subscribe(&app, &off_plan("Junk01", today, 10.0, 12)).await);
    let plan_id = get(&app, "/plan/JUNK").await.json["data"][0]["plan_id"].clone();

    let plan_full = plan_body("JUNK2", 10.0, 12);
    let sub_full = off_plan("Junk01", today, 10.0, 12);
    let endpoints: Vec<Endpoint> = vec![
        (
            Method::POST,
            "/plan".into(),
            plan_full.clone(),
            vec![
                ("plan_code", json!(5)),
                ("plan_name", json!(["a"])),
                ("plan_frequency", json!("3")),
                ("plan_frequency", json!(3.5)),
                ("plan_frequency", json!(99_999_999_999_i64)),
                ("plan_duration", json!(true)),
                ("amt_tran", json!("abc")),
                ("amt_tran", json!(true)),
                ("amt_tran", json!({})),
                ("bill_specific_day", json!("yes")),
            ],
        ),
        (
            Method::PUT,
            "/plan/JUNK".into(),
            json!({ "plan_name": "x" }),
            vec![
                ("plan_name", json!(1)),
                ("interval", json!("2")),
                ("amt_setup", json!([])),
            ],
        ),
        (
            Method::POST,
            "/plan/JUNK/archive".into(),
            json!({ "plan_name": "Plan JUNK" }),
            vec![("plan_name", json!(7)), ("merchant_id", json!("me"))],
        ),
        (
            Method::POST,
            "/subscription".into(),
            sub_full.clone(),
            vec![
                ("customer_id", json!(123)),
                ("date_start", json!(20_300_101)),
                ("plan_frequency", json!("monthly")),
                ("amt_tran", json!("ten")),
                ("amt_setup_ignore", json!("true")),
                ("card_id", json!({})),
            ],
        ),
        (
            Method::PUT,
            format!("/subscription/{id}"),
            json!({ "profile_id": "p" }),
            vec![
                ("date_start", json!(1)),
                ("card_id", json!(false)),
                ("amt_tran", json!("x")),
            ],
        ),
        (
            Method::POST,
            format!("/subscription/{id}/pause"),
            json!({ "customer_id": "Junk01" }),
            vec![("customer_id", json!(1)), ("customer_id", json!(null))],
        ),
        (
            Method::POST,
            format!("/subscription/{id}/resume"),
            json!({ "customer_id": "Junk01" }),
            vec![("customer_id", json!([]))],
        ),
        (
            Method::POST,
            format!("/subscription/{id}/cancel"),
            json!({ "customer_id": "Junk01" }),
            vec![("customer_id", json!(true))],
        ),
        (
            Method::POST,
            "/sandbox/clock".into(),
            json!({ "advance": "P1D" }),
            vec![
                ("advance", json!(1)),
                ("advance", json!("one day")),
                ("advance", json!("P-1D")),
            ],
        ),
    ];

    let mut problems = Vec::new();
    for (method, path, valid, fields) in &endpoints {
        for junk in JUNK {
            if junk.trim().is_empty() && path.ends_with("/archive") {
                // The spec makes the archive body optional: no body is a valid archive.
                continue;
            }
            let resp = send_raw(&app, method.clone(), path, Some(junk)).await;
            if resp.status != 400
                || resp.json["code"] != 2
                || resp.json.as_object().is_none_or(|o| o.len() != 2)
            {
                problems.push(format!(
                    "{method} {path} body {junk:?} -> {} {}",
                    resp.status, resp.text
                ));
            }
        }
        for (field, value) in fields {
            let body = with(valid.clone(), json!({ *field: value }));
            let resp = send_raw(&app, method.clone(), path, Some(&body.to_string())).await;
            let named = resp.json["message"]
                .as_str()
                .is_some_and(|m| m.contains(field));
            if resp.status != 400 || resp.json["code"] != 2 || !named {
                problems.push(format!(
                    "{method} {path} {body} -> {} {}",
                    resp.status, resp.text
                ));
            }
        }
    }
    // Bad path parameters.
    for (method, path, body) in [
        (Method::GET, "/subscription/abc".to_owned(), None),
        (
            Method::GET,
            "/subscription/99999999999999999999".to_owned(),
            None,
        ),
        (Method::PUT, "/subscription/1.5".to_owned(), Some("{}")),
        (
            Method::POST,
            "/subscription/abc/pause".to_owned(),
            Some("{\"customer_id\":\"Junk01\"}"),
        ),
        (Method::DELETE, "/plan/abc/delete".to_owned(), None),
        (
            Method::GET,
            "/subscription/transactions/abc".to_owned(),
            None,
        ),
        (Method::GET, "/plan?count=abc".to_owned(), None),
        (Method::GET, "/subscription?page=x".to_owned(), None),
        // `page` and `count` are int32 in the spec.
        (
            Method::GET,
            "/subscription?page=2147483648".to_owned(),
            None,
        ),
        (Method::GET, "/plan?page=-2147483649".to_owned(), None),
        (
            Method::GET,
            "/subscription/transactions?count=4294967297".to_owned(),
            None,
        ),
        (
            Method::GET,
            "/subscription/transactions?order_by=up".to_owned(),
            None,
        ),
    ] {
        let resp = send_raw(&app, method.clone(), &path, body).await;
        if resp.status != 400 || resp.json["code"] != 2 {
            problems.push(format!("{method} {path} -> {} {}", resp.status, resp.text));
        }
    }
    assert!(
        problems.is_empty(),
        "not a 400 envelope:\n  {}",
        problems.join("\n  ")
    );

    // Nothing changed.
    let resp = get(&app, "/plan").await;
    assert_eq!(resp.json["totalRecords"], 1, "{}", resp.text);
    let sub = subscription(&app, id).await;
    assert_eq!(sub["status"], "A", "{sub}");
    assert_eq!(clock_today(&app).await, today, "the clock did not move");
    assert_eq!(
        get(&app, "/plan/JUNK").await.json["data"][0]["plan_id"],
        plan_id
    );
}
