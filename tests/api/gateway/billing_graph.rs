//! Plans and subscriptions through GraphQL: the batching target, the queries and their Relay
//! paging, a year of billing and a declining card driven by the sandbox clock, the error codes
//! and snapshots. (The mutations are in `billing_mutations`.)
//!
//! Every gateway here runs its vault without the billing scheduler
//! ([`GatewayApp::spawn_billing`]): only `POST /platform/sandbox/clock` bills, so what has been
//! billed is exactly what the test advanced the clock over.

use std::collections::BTreeSet;

use insta::internals::Content;
use serde_json::{Value, json};

use super::assert_gateway_snapshot;
use super::support::{
    EXP, GatewayApp, date_plus, masked, plan_body, relative_date, single_error, visa,
};

/// A subscription's fields, for reading one back.
pub(super) const SUBSCRIPTION: &str = "
  subscriptionId status startDate nextBillingDate endDate amount setupAmount
  frequency interval duration
  trial { amount startDate endDate }
  plan { planCode }
  card { cardId maskedNumber }
  customer { customerId }";

/// The card that verifies but declines every charge with `51`.
pub(super) const DECLINING: &str = "4000000000000341";

/// Adds customer `id` through REST with these card numbers (the first is primary); returns
/// their `cardId`s in order.
pub(super) async fn customer_with_cards(
    app: &GatewayApp,
    id: &str,
    numbers: &[&str],
) -> Vec<String> {
    let cards: Vec<Value> = numbers
        .iter()
        .map(|n| json!({ "card_number": n, "exp_date": EXP, "billing_zip": "94107" }))
        .collect();
    let customer = app
        .add_customer(json!({
            "customer_id": id,
            "customer_first_name": "Pat",
            "customer_last_name": id,
            "billing_cards": cards
        }))
        .await;
    let ids: Vec<String> = customer["billing_cards"]
        .as_array()
        .unwrap_or_else(|| panic!("billing_cards in {customer}"))
        .iter()
        .map(|c| c["card_id"].as_str().expect("card_id").to_owned())
        .collect();
    assert_eq!(ids.len(), numbers.len(), "{customer}");
    ids
}

/// Runs a mutation that must succeed; returns its payload.
pub(super) async fn mutate(
    app: &GatewayApp,
    field: &str,
    input_type: &str,
    selection: &str,
    input: Value,
) -> Value {
    let query =
        format!("mutation M($input: {input_type}!) {{ {field}(input: $input) {{ {selection} }} }}");
    app.data(&query, json!({ "input": input })).await[field].clone()
}

/// Runs a mutation expected to fail; returns the whole response.
pub(super) async fn mutate_err(
    app: &GatewayApp,
    field: &str,
    input_type: &str,
    selection: &str,
    input: Value,
) -> Value {
    let query =
        format!("mutation M($input: {input_type}!) {{ {field}(input: $input) {{ {selection} }} }}");
    app.graphql(&query, json!({ "input": input })).await
}

/// `createPlan` with the usual fields; returns the plan.
pub(super) async fn create_plan(
    app: &GatewayApp,
    code: &str,
    frequency: &str,
    amount: &str,
    duration: i32,
) -> Value {
    mutate(
        app,
        "createPlan",
        "CreatePlanInput",
        "plan { planCode name amount frequency duration status }",
        json!({
            "planCode": code,
            "name": format!("Plan {code}"),
            "description": format!("The {code} plan"),
            "frequency": frequency,
            "duration": duration,
            "amount": amount
        }),
    )
    .await["plan"]
        .clone()
}

/// `createSubscription`; returns the subscription (with [`SUBSCRIPTION`]'s fields).
pub(super) async fn subscribe(app: &GatewayApp, input: Value) -> Value {
    mutate(
        app,
        "createSubscription",
        "CreateSubscriptionInput",
        &format!("subscription {{ {SUBSCRIPTION} }}"),
        input,
    )
    .await["subscription"]
        .clone()
}

/// A subscription as a fresh request reads it, with all its transactions (newest first).
pub(super) async fn read_subscription(app: &GatewayApp, id: &str) -> Value {
    let query = format!(
        "query($id: String!) {{ subscription(subscriptionId: $id) {{ {SUBSCRIPTION}
           transactions(first: 100) {{
             totalCount
             edges {{ node {{ transactionId date amount status responseCode authCode
                             maskedCardNumber card {{ cardId }} }} }}
           }} }} }}"
    );
    app.data(&query, json!({ "id": id })).await["subscription"].clone()
}

/// The transaction nodes of a subscription read with [`read_subscription`].
pub(super) fn transactions(subscription: &Value) -> Vec<Value> {
    subscription["transactions"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no transactions in {subscription}"))
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// `(date, amount, status)` of each transaction, newest first.
pub(super) fn charges(subscription: &Value) -> Vec<(String, String, String)> {
    transactions(subscription)
        .iter()
        .map(|t| {
            (
                t["date"].as_str().unwrap_or("?").to_owned(),
                t["amount"].as_str().unwrap_or("?").to_owned(),
                t["status"].as_str().unwrap_or("?").to_owned(),
            )
        })
        .collect()
}

pub(super) fn id_of(subscription: &Value) -> String {
    subscription["subscriptionId"]
        .as_str()
        .unwrap_or_else(|| panic!("subscriptionId in {subscription}"))
        .to_owned()
}

/// The `selection` of every node of a Relay connection field, walking forward `page` at a
/// time, then backward; asserts both walks see the same nodes in the same order (and the
/// `totalCount`) and returns them.
pub(super) async fn walk_both_ways(
    app: &GatewayApp,
    field: &str,
    args: &str,
    selection: &str,
    page: i32,
) -> Vec<Value> {
    walk_both_ways_with(app, field, "", args, json!({}), selection, page).await
}

/// [`walk_both_ways`] with more variables: `declarations` (`, $filter: SubscriptionFilter`)
/// and their values `variables`, used in `args`.
pub(super) async fn walk_both_ways_with(
    app: &GatewayApp,
    field: &str,
    declarations: &str,
    args: &str,
    variables: Value,
    selection: &str,
    page: i32,
) -> Vec<Value> {
    let with = |n: i32, cursor: &Value| {
        let mut all = variables.clone();
        all["n"] = json!(n);
        all["cursor"] = cursor.clone();
        all
    };
    let connection = |paging: &str| {
        format!(
            "query($n: Int, $cursor: String{declarations}) {{ {field}({paging}{args}) {{
               totalCount
               pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
               edges {{ cursor node {{ {selection} }} }} }} }}"
        )
    };
    let nodes = |page: &Value| -> Vec<Value> {
        page["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("edges in {page}"))
            .iter()
            .map(|e| e["node"].clone())
            .collect()
    };
    let forward_query = connection("first: $n, after: $cursor");
    let mut forward = Vec::new();
    let mut cursor = Value::Null;
    let mut total = None;
    for step in 0.. {
        assert!(step < 100, "the forward walk of {field} does not end");
        let data = app.data(&forward_query, with(page, &cursor)).await;
        let page_data = &data[field];
        total.get_or_insert(page_data["totalCount"].clone());
        assert_eq!(
            Some(&page_data["totalCount"]),
            total.as_ref(),
            "{page_data}"
        );
        let items = nodes(page_data);
        assert!(items.len() <= page as usize, "{page_data}");
        assert_eq!(
            page_data["pageInfo"]["hasPreviousPage"],
            step > 0,
            "{page_data}"
        );
        forward.extend(items);
        if page_data["pageInfo"]["hasNextPage"] != true {
            break;
        }
        cursor = page_data["pageInfo"]["endCursor"].clone();
    }
    let backward_query = connection("last: $n, before: $cursor");
    let mut backward: Vec<Value> = Vec::new();
    let mut cursor = Value::Null;
    for step in 0.. {
        assert!(step < 100, "the backward walk of {field} does not end");
        let data = app.data(&backward_query, with(page, &cursor)).await;
        let page_data = &data[field];
        assert_eq!(
            Some(&page_data["totalCount"]),
            total.as_ref(),
            "{page_data}"
        );
        assert_eq!(
            page_data["pageInfo"]["hasNextPage"],
            step > 0,
            "{page_data}"
        );
        let mut items = nodes(page_data);
        items.extend(backward);
        backward = items;
        if page_data["pageInfo"]["hasPreviousPage"] != true {
            break;
        }
        cursor = page_data["pageInfo"]["startCursor"].clone();
    }
    assert_eq!(
        forward, backward,
        "{field}({args}): forward and backward walks differ"
    );
    assert_eq!(
        total.and_then(|t| t.as_u64()),
        Some(forward.len() as u64),
        "{field}({args}): totalCount"
    );
    forward
}

fn strings(values: &[Value], key: &str) -> Vec<String> {
    values
        .iter()
        .map(|v| {
            v[key]
                .as_str()
                .unwrap_or_else(|| panic!("{key} in {v}"))
                .to_owned()
        })
        .collect()
}

/// Snapshots a billing response: `assert_gateway_snapshot`'s redactions, plus the vault's
/// generated ids and codes, and every date as its distance from `today` (`[today+1M]`).
pub(super) fn assert_billing_snapshot(name: &str, today: &str, value: &Value) {
    let mut settings = insta::Settings::clone_current();
    for field in ["subscriptionId", "transactionId", "authCode", "planId"] {
        let placeholder = format!("[{field}]");
        settings.add_dynamic_redaction(&format!(".**.{field}"), move |value, _| {
            if value.as_str().is_some() {
                Content::from(placeholder.as_str())
            } else {
                value
            }
        });
    }
    for field in ["date", "startDate", "nextBillingDate", "endDate"] {
        let today = today.to_owned();
        settings.add_dynamic_redaction(&format!(".**.{field}"), move |value, _| {
            match value.as_str() {
                Some(date) => Content::from(relative_date(&today, date)),
                None => value,
            }
        });
    }
    settings.bind(|| assert_gateway_snapshot(name, value));
}

// ---- 1. batching ----

const PAGE_WITH_BILLING: &str = r#"
query($n: Int) {
  customers(first: $n) {
    edges {
      node {
        customerId
        cards { cardId }
        subscriptions {
          subscriptionId
          plan { planCode name amount }
          card { maskedNumber }
          transactions(first: 3) { totalCount edges { node { amount status date } } }
        }
      }
    }
  }
}"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_page_of_fifty_customers_with_subscriptions_plans_cards_and_transactions_costs_at_most_four_upstream_requests()
 {
    let app = GatewayApp::spawn_billing().await;
    let plans = [
        ("GOLD", "Gold", 3, "19.99"),
        ("SILVER", "Silver", 4, "29.99"),
        ("BRONZE", "Bronze", 6, "99.00"),
    ];
    for (code, name, frequency, amount) in plans {
        app.add_plan(plan_body(
            code,
            name,
            frequency,
            amount.parse().unwrap(),
            -1,
        ))
        .await;
    }
    let today = app.vault_today().await;
    let next_year = date_plus(&today, 12, 0);
    let ids = app.seed("Sub", 50, 1, 0).await;
    // Customer i: one subscription from today on GOLD (i % 5 == 0, monthly), SILVER (odd,
    // quarterly) or BRONZE (even, annually); even ones a second, on the next plan, from next
    // year (never billed here). 50 customers, 75 subscriptions, 3 plans.
    //
    // Two months of billing then make 10 * 3 + 20 * 1 + 20 * 1 = 70 transactions. Keep the
    // page's subscriptions and their transactions at most 100 each: the loaders read one
    // upstream page of 100 per browse, and each further 100 costs one more request.
    let mut expected: Vec<Vec<(&str, usize)>> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let first = if i % 5 == 0 {
            0
        } else if i % 2 == 1 {
            1
        } else {
            2
        };
        app.add_subscription(json!({
            "customer_id": id, "plan_code": plans[first].0, "date_start": today
        }))
        .await;
        let billed = [3, 1, 1][first];
        let mut subs = vec![(plans[first].0, billed)];
        if i % 2 == 0 {
            let second = (first + 1) % 3;
            app.add_subscription(json!({
                "customer_id": id, "plan_code": plans[second].0, "date_start": next_year
            }))
            .await;
            subs.push((plans[second].0, 0));
        }
        expected.push(subs);
    }
    let clock = app.advance_clock("P2M").await;
    assert_eq!(clock["approved"], 70, "{clock}");
    assert_eq!(clock["declined"], 0, "{clock}");

    let before = app.upstream_counts().await;
    let (data, cost) = app.counted(PAGE_WITH_BILLING, json!({ "n": 50 })).await;
    let by_route = counts_since(&before, &app.upstream_counts().await);
    println!(
        "customers(first: 50) with subscriptions, plans, cards and transactions: \
         {cost} upstream requests: {by_route:#?}"
    );
    assert!(
        cost <= 4,
        "{cost} upstream requests (at most 4): {by_route:#?}"
    );

    let edges = data["customers"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 50);
    let mut transaction_count = 0;
    for (i, edge) in edges.iter().enumerate() {
        let customer = &edge["node"];
        assert_eq!(customer["customerId"], ids[i]);
        assert_eq!(customer["cards"].as_array().unwrap().len(), 1, "{customer}");
        let subscriptions = customer["subscriptions"].as_array().unwrap();
        let mut seen: Vec<(&str, usize)> = subscriptions
            .iter()
            .map(|s| {
                let code = s["plan"]["planCode"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{s}"));
                let plan = plans.iter().find(|p| p.0 == code).unwrap();
                assert_eq!(s["plan"]["name"], plan.1, "{s}");
                assert_eq!(s["plan"]["amount"], plan.3, "{s}");
                assert_eq!(
                    s["card"]["maskedNumber"],
                    masked(&visa(i as u64 * 10)),
                    "{s}"
                );
                let page = &s["transactions"];
                let total = page["totalCount"].as_u64().unwrap() as usize;
                let shown = page["edges"].as_array().unwrap();
                assert_eq!(shown.len(), total.min(3), "{s}");
                for t in shown {
                    assert_eq!(t["node"]["amount"], plan.3, "{s}");
                    assert_eq!(t["node"]["status"], "APPROVED", "{s}");
                }
                transaction_count += total;
                (plans.iter().find(|p| p.0 == code).unwrap().0, total)
            })
            .collect();
        seen.sort();
        let mut want = expected[i].clone();
        want.sort();
        assert_eq!(seen, want, "customer {i}: {customer}");
    }
    assert_eq!(transaction_count, 70);

    // The cost does not grow with the page: a smaller page costs the same.
    let (_, small) = app.counted(PAGE_WITH_BILLING, json!({ "n": 7 })).await;
    println!("customers(first: 7) with the same fields: {small} upstream requests");
    assert!(small <= 4, "{small} upstream requests (at most 4)");
}

/// The upstream requests made between two readings of `upstream_counts`, by their labels.
fn counts_since(
    before: &std::collections::BTreeMap<String, u64>,
    after: &std::collections::BTreeMap<String, u64>,
) -> std::collections::BTreeMap<String, u64> {
    after
        .iter()
        .filter_map(|(labels, n)| {
            let delta = n - before.get(labels).copied().unwrap_or(0);
            (delta > 0).then(|| (labels.clone(), delta))
        })
        .collect()
}

// ---- 2. queries ----

#[tokio::test(flavor = "multi_thread")]
async fn plans_page_both_ways_without_archived_ones_unless_asked_and_plan_finds_any() {
    let app = GatewayApp::spawn_billing().await;
    for (n, frequency) in [
        "MONTHLY",
        "WEEKLY",
        "QUARTERLY",
        "ANNUALLY",
        "DAILY",
        "BI_WEEKLY",
        "BI_ANNUALLY",
    ]
    .iter()
    .enumerate()
    {
        create_plan(
            &app,
            &format!("P{n}"),
            frequency,
            &format!("{}.50", n + 1),
            12,
        )
        .await;
    }
    for code in ["P2", "P5"] {
        let plan = mutate(
            &app,
            "archivePlan",
            "ArchivePlanInput",
            "plan { planCode status }",
            json!({ "planCode": code }),
        )
        .await;
        assert_eq!(
            plan["plan"],
            json!({ "planCode": code, "status": "ARCHIVED" })
        );
    }

    let active = walk_both_ways(&app, "plans", "", "planCode status", 2).await;
    assert_eq!(strings(&active, "planCode"), ["P0", "P1", "P3", "P4", "P6"]);
    assert!(active.iter().all(|p| p["status"] == "ACTIVE"), "{active:?}");
    let explicit = walk_both_ways(&app, "plans", ", includeArchived: false", "planCode", 3).await;
    assert_eq!(
        strings(&explicit, "planCode"),
        ["P0", "P1", "P3", "P4", "P6"]
    );
    let all = walk_both_ways(
        &app,
        "plans",
        ", includeArchived: true",
        "planCode status",
        2,
    )
    .await;
    assert_eq!(
        strings(&all, "planCode"),
        ["P0", "P1", "P2", "P3", "P4", "P5", "P6"]
    );
    assert_eq!(all[2]["status"], "ARCHIVED");
    assert_eq!(all[5]["status"], "ARCHIVED");

    let data = app
        .data(
            r#"{
              archived: plan(planCode: "P2") { planCode name description frequency amount duration status }
              active: plan(planCode: "P6") { planCode frequency amount status }
              none: plan(planCode: "NOPE") { planCode }
            }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({
            "archived": {
                "planCode": "P2", "name": "Plan P2", "description": "The P2 plan",
                "frequency": "QUARTERLY", "amount": "3.50", "duration": 12, "status": "ARCHIVED"
            },
            "active": { "planCode": "P6", "frequency": "BI_ANNUALLY", "amount": "7.50", "status": "ACTIVE" },
            "none": null
        })
    );
}

/// Three customers, two plans, five subscriptions (one cancelled); nothing billed.
struct Subscriptions {
    today: String,
    /// s1 A GOLD today; s2 A SILVER +10D; s3 B GOLD +20D; s4 B off-plan today; s5 C SILVER
    /// today, cancelled.
    ids: Vec<String>,
}

async fn five_subscriptions(app: &GatewayApp) -> Subscriptions {
    create_plan(app, "GOLD", "MONTHLY", "10.00", -1).await;
    create_plan(app, "SILVER", "MONTHLY", "20.00", -1).await;
    for (n, id) in ["CustA", "CustB", "CustC"].iter().enumerate() {
        customer_with_cards(app, id, &[&visa(20 + n as u64)]).await;
    }
    let today = app.vault_today().await;
    let on = |customer: &str, plan: &str, start: String| json!({ "customerId": customer, "planCode": plan, "startDate": start });
    let mut ids = Vec::new();
    for input in [
        on("CustA", "GOLD", today.clone()),
        on("CustA", "SILVER", date_plus(&today, 0, 10)),
        on("CustB", "GOLD", date_plus(&today, 0, 20)),
        json!({ "customerId": "CustB", "frequency": "MONTHLY", "duration": -1, "amount": "5.00", "startDate": today }),
        on("CustC", "SILVER", today.clone()),
    ] {
        ids.push(id_of(&subscribe(app, input).await));
    }
    let cancelled = mutate(
        app,
        "cancelSubscription",
        "CancelSubscriptionInput",
        "subscription { status }",
        json!({ "subscriptionId": ids[4] }),
    )
    .await;
    assert_eq!(cancelled["subscription"]["status"], "CANCELLED");
    Subscriptions { today, ids }
}

#[tokio::test(flavor = "multi_thread")]
async fn subscriptions_filter_by_customer_plan_status_and_next_billing_and_page_both_ways() {
    let app = GatewayApp::spawn_billing().await;
    let Subscriptions { today, ids } = five_subscriptions(&app).await;
    let s = |n: usize| ids[n - 1].clone();

    // Newest first, both ways.
    let all = walk_both_ways(&app, "subscriptions", "", "subscriptionId", 2).await;
    assert_eq!(
        strings(&all, "subscriptionId"),
        [s(5), s(4), s(3), s(2), s(1)]
    );

    let filtered = |filter: Value| {
        let app = &app;
        async move {
            let nodes = walk_both_ways_with(
                app,
                "subscriptions",
                ", $filter: SubscriptionFilter",
                ", filter: $filter",
                json!({ "filter": filter }),
                "subscriptionId",
                1,
            )
            .await;
            strings(&nodes, "subscriptionId")
        }
    };
    assert_eq!(
        filtered(json!({ "customerId": "CustA" })).await,
        [s(2), s(1)]
    );
    assert_eq!(
        filtered(json!({ "customerIdIn": ["CustA", "CustB"] })).await,
        [s(4), s(3), s(2), s(1)]
    );
    assert_eq!(
        filtered(json!({ "planCode": "SILVER" })).await,
        [s(5), s(2)]
    );
    assert_eq!(
        filtered(json!({ "status": ["ACTIVE"] })).await,
        [s(4), s(3), s(2), s(1)]
    );
    assert_eq!(
        filtered(json!({ "status": ["CANCELLED", "PAUSED"] })).await,
        [s(5)]
    );
    assert_eq!(
        filtered(json!({
            "nextBillingFrom": date_plus(&today, 0, 5),
            "nextBillingTo": date_plus(&today, 0, 25)
        }))
        .await,
        [s(3), s(2)]
    );
    assert_eq!(
        filtered(json!({ "customerIdIn": ["CustA", "CustC"], "planCode": "SILVER", "status": ["ACTIVE"] })).await,
        [s(2)]
    );
    assert_eq!(
        filtered(json!({ "customerId": "Nobody" })).await,
        Vec::<String>::new()
    );

    // Plan.subscriptions(status:), Customer.subscriptions (newest first).
    let data = app
        .data(
            r#"{
              plan(planCode: "SILVER") {
                all: subscriptions { totalCount edges { node { subscriptionId } } }
                active: subscriptions(status: [ACTIVE]) { totalCount edges { node { subscriptionId status } } }
                cancelled: subscriptions(status: [CANCELLED]) { totalCount edges { node { subscriptionId status } } }
                firstOne: subscriptions(first: 1) { totalCount pageInfo { hasNextPage } edges { node { subscriptionId } } }
              }
              customer(customerId: "CustB") {
                subscriptions { subscriptionId plan { planCode } }
                active: subscriptions(status: [ACTIVE]) { subscriptionId }
                suspended: subscriptions(status: [SUSPENDED]) { subscriptionId }
              }
            }"#,
            json!({}),
        )
        .await;
    let plan = &data["plan"];
    assert_eq!(plan["all"]["totalCount"], 2, "{plan}");
    assert_eq!(plan["active"]["totalCount"], 1, "{plan}");
    assert_eq!(
        plan["active"]["edges"][0]["node"],
        json!({ "subscriptionId": s(2), "status": "ACTIVE" })
    );
    assert_eq!(
        plan["cancelled"]["edges"][0]["node"],
        json!({ "subscriptionId": s(5), "status": "CANCELLED" })
    );
    assert_eq!(plan["firstOne"]["totalCount"], 2, "{plan}");
    assert_eq!(plan["firstOne"]["pageInfo"]["hasNextPage"], true, "{plan}");
    assert_eq!(
        plan["firstOne"]["edges"][0]["node"]["subscriptionId"],
        s(5),
        "{plan}"
    );
    let customer = &data["customer"];
    assert_eq!(
        customer["subscriptions"],
        json!([
            { "subscriptionId": s(4), "plan": null },
            { "subscriptionId": s(3), "plan": { "planCode": "GOLD" } }
        ])
    );
    assert_eq!(
        customer["active"],
        json!([{ "subscriptionId": s(4) }, { "subscriptionId": s(3) }])
    );
    assert_eq!(customer["suspended"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_reads_back_with_its_dates_amounts_trial_plan_card_and_customer() {
    let app = GatewayApp::spawn_billing().await;
    let cards = customer_with_cards(&app, "Trialist", &[&visa(1), &visa(2)]).await;
    let plan = mutate(
        &app,
        "createPlan",
        "CreatePlanInput",
        "plan { planCode trialAmount trialDuration setupAmount }",
        json!({
            "planCode": "TRIAL", "name": "Trial", "description": "With a trial and a setup fee",
            "frequency": "MONTHLY", "duration": 3, "amount": "20.00",
            "setupAmount": "5.00", "trialAmount": "1.00", "trialDuration": 2
        }),
    )
    .await;
    assert_eq!(
        plan["plan"],
        json!({ "planCode": "TRIAL", "trialAmount": "1.00", "trialDuration": 2, "setupAmount": "5.00" })
    );
    let today = app.vault_today().await;
    let on_plan = subscribe(
        &app,
        json!({ "customerId": "Trialist", "planCode": "TRIAL", "cardId": cards[1], "startDate": today }),
    )
    .await;
    let off_plan = subscribe(
        &app,
        json!({
            "customerId": "Trialist", "frequency": "WEEKLY", "duration": 4, "amount": "7.50",
            "startDate": date_plus(&today, 0, 2), "description": "Weekly box"
        }),
    )
    .await;

    let read = read_subscription(&app, &id_of(&on_plan)).await;
    let expected_on_plan = json!({
        "subscriptionId": id_of(&on_plan),
        "status": "ACTIVE",
        "startDate": today,
        // The setup fee is due on the start date.
        "nextBillingDate": today,
        // Two trial cycles, then three regular ones.
        "endDate": date_plus(&today, 4, 0),
        "amount": "20.00",
        "setupAmount": "5.00",
        "frequency": "MONTHLY",
        "interval": 1,
        "duration": 3,
        "trial": { "amount": "1.00", "startDate": today, "endDate": date_plus(&today, 1, 0) },
        "plan": { "planCode": "TRIAL" },
        "card": { "cardId": cards[1], "maskedNumber": masked(&visa(2)) },
        "customer": { "customerId": "Trialist" },
        "transactions": { "totalCount": 0, "edges": [] }
    });
    assert_eq!(read, expected_on_plan);
    let mut created = expected_on_plan.clone();
    created.as_object_mut().unwrap().remove("transactions");
    assert_eq!(
        on_plan, created,
        "the payload shows what a later read shows"
    );

    let read = read_subscription(&app, &id_of(&off_plan)).await;
    let start = date_plus(&today, 0, 2);
    assert_eq!(
        read,
        json!({
            "subscriptionId": id_of(&off_plan),
            "status": "ACTIVE",
            "startDate": start,
            "nextBillingDate": start,
            "endDate": date_plus(&start, 0, 21),
            "amount": "7.50",
            "setupAmount": null,
            "frequency": "WEEKLY",
            "interval": 1,
            "duration": 4,
            "trial": null,
            "plan": null,
            // The primary card, as none was named.
            "card": { "cardId": cards[0], "maskedNumber": masked(&visa(1)) },
            "customer": { "customerId": "Trialist" },
            "transactions": { "totalCount": 0, "edges": [] }
        })
    );

    // Five months bill the setup fee, two trial cycles and three regular ones: complete.
    let clock = app.advance_clock("P5M").await;
    assert_eq!(clock["approved"], 6 + 4, "{clock}");
    let read = read_subscription(&app, &id_of(&on_plan)).await;
    assert_eq!(read["status"], "COMPLETE", "{read:#}");
    assert_eq!(read["nextBillingDate"], Value::Null, "{read:#}");
    let mut got = charges(&read);
    got.sort();
    let approved = |months: u32, amount: &str| {
        (
            date_plus(&today, months, 0),
            amount.to_owned(),
            "APPROVED".to_owned(),
        )
    };
    let mut want = vec![
        approved(0, "5.00"),
        approved(0, "1.00"),
        approved(1, "1.00"),
        approved(2, "20.00"),
        approved(3, "20.00"),
        approved(4, "20.00"),
    ];
    want.sort();
    assert_eq!(got, want, "{read:#}");
    for t in transactions(&read) {
        assert_eq!(t["responseCode"], "000", "{t}");
        assert_eq!(t["card"]["cardId"], cards[1], "{t}");
        assert_eq!(t["maskedCardNumber"], masked(&visa(2)), "{t}");
        assert!(t["authCode"].as_str().is_some_and(|c| !c.is_empty()), "{t}");
    }
    let dates: Vec<String> = charges(&read).into_iter().map(|c| c.0).collect();
    let mut newest_first = dates.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, newest_first, "transactions are newest first");

    // The weekly one: four weeks, then complete.
    let read = read_subscription(&app, &id_of(&off_plan)).await;
    assert_eq!(read["status"], "COMPLETE", "{read:#}");
    assert_eq!(
        charges(&read),
        (0..4)
            .rev()
            .map(|w| (
                date_plus(&start, 0, 7 * w),
                "7.50".to_owned(),
                "APPROVED".to_owned()
            ))
            .collect::<Vec<_>>()
    );

    // Transactions page both ways (in memory), and with first/after.
    let query = "query($id: String!, $n: Int, $after: String) { subscription(subscriptionId: $id) {
           transactions(first: $n, after: $after) {
             totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
             edges { node { transactionId } } } } }";
    let first = app
        .data(query, json!({ "id": id_of(&on_plan), "n": 4 }))
        .await["subscription"]["transactions"]
        .clone();
    assert_eq!(first["totalCount"], 6);
    assert_eq!(first["edges"].as_array().unwrap().len(), 4);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let rest = app
        .data(
            query,
            json!({ "id": id_of(&on_plan), "n": 4, "after": first["pageInfo"]["endCursor"] }),
        )
        .await["subscription"]["transactions"]
        .clone();
    assert_eq!(rest["edges"].as_array().unwrap().len(), 2);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    assert_eq!(rest["pageInfo"]["hasPreviousPage"], true);
    let paged: Vec<Value> = first["edges"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["edges"].as_array().unwrap())
        .map(|e| e["node"]["transactionId"].clone())
        .collect();
    let whole: Vec<Value> = transactions(&read_subscription(&app, &id_of(&on_plan)).await)
        .iter()
        .map(|t| t["transactionId"].clone())
        .collect();
    assert_eq!(paged, whole);
    let distinct: BTreeSet<String> = whole
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(distinct.len(), 6, "{whole:?}");

    // The same through a walk in both directions, 4 at a time, inside `subscription`.
    let walked = walk_transactions_both_ways(&app, &id_of(&on_plan), 4).await;
    assert_eq!(walked, whole);
}

/// Every `transactionId` of a subscription, walking `transactions` forward and backward.
async fn walk_transactions_both_ways(app: &GatewayApp, id: &str, page: i32) -> Vec<Value> {
    let query = |paging: &str| {
        format!(
            "query($id: String!, $n: Int, $cursor: String) {{ subscription(subscriptionId: $id) {{
               transactions({paging}) {{
                 pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
                 edges {{ node {{ transactionId }} }} }} }} }}"
        )
    };
    let ids = |page: &Value| -> Vec<Value> {
        page["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["transactionId"].clone())
            .collect()
    };
    let (forward_query, backward_query) = (
        query("first: $n, after: $cursor"),
        query("last: $n, before: $cursor"),
    );
    let mut forward = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let data = app
            .data(
                &forward_query,
                json!({ "id": id, "n": page, "cursor": cursor }),
            )
            .await;
        let page = &data["subscription"]["transactions"];
        forward.extend(ids(page));
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        cursor = page["pageInfo"]["endCursor"].clone();
        assert!(forward.len() < 1000);
    }
    let mut backward: Vec<Value> = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let data = app
            .data(
                &backward_query,
                json!({ "id": id, "n": page, "cursor": cursor }),
            )
            .await;
        let page = &data["subscription"]["transactions"];
        let mut items = ids(page);
        items.extend(backward);
        backward = items;
        if page["pageInfo"]["hasPreviousPage"] != true {
            break;
        }
        cursor = page["pageInfo"]["startCursor"].clone();
        assert!(backward.len() < 1000);
    }
    assert_eq!(
        forward, backward,
        "transactions: forward and backward walks differ"
    );
    forward
}

#[tokio::test(flavor = "multi_thread")]
async fn node_finds_plans_subscriptions_and_transactions_by_their_global_ids() {
    let app = GatewayApp::spawn_billing().await;
    create_plan(&app, "NODE", "MONTHLY", "12.00", -1).await;
    customer_with_cards(&app, "Noder", &[&visa(3)]).await;
    let today = app.vault_today().await;
    let subscription = subscribe(
        &app,
        json!({ "customerId": "Noder", "planCode": "NODE", "startDate": today }),
    )
    .await;
    app.advance_clock("P1M").await;
    let data = app
        .data(
            r#"query($id: String!) {
                 plan(planCode: "NODE") { id }
                 subscription(subscriptionId: $id) {
                   id transactions { edges { node { id transactionId amount date } } }
                 }
               }"#,
            json!({ "id": id_of(&subscription) }),
        )
        .await;
    let transaction = data["subscription"]["transactions"]["edges"][0]["node"].clone();
    assert_eq!(
        data["subscription"]["transactions"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{data}"
    );
    let found = app
        .data(
            r#"query($plan: ID!, $subscription: ID!, $transaction: ID!) {
                 plan: node(id: $plan) { __typename id ... on Plan { planCode amount } }
                 subscription: node(id: $subscription) {
                   __typename id ... on BillingSubscription { subscriptionId status plan { planCode } }
                 }
                 transaction: node(id: $transaction) {
                   __typename id ... on SubscriptionTransaction { transactionId amount date status }
                 }
               }"#,
            json!({
                "plan": data["plan"]["id"],
                "subscription": data["subscription"]["id"],
                "transaction": transaction["id"],
            }),
        )
        .await;
    assert_eq!(
        found,
        json!({
            "plan": { "__typename": "Plan", "id": data["plan"]["id"], "planCode": "NODE", "amount": "12.00" },
            "subscription": {
                "__typename": "BillingSubscription", "id": data["subscription"]["id"],
                "subscriptionId": id_of(&subscription), "status": "ACTIVE", "plan": { "planCode": "NODE" }
            },
            "transaction": {
                "__typename": "SubscriptionTransaction", "id": transaction["id"],
                "transactionId": transaction["transactionId"], "amount": "12.00",
                "date": date_plus(&today, 1, 0), "status": "APPROVED"
            }
        })
    );
    // Ids of plans, subscriptions and transactions that are not there are null, without errors.
    let ids: Vec<String> = [
        data["plan"]["id"].as_str().unwrap(),
        data["subscription"]["id"].as_str().unwrap(),
        transaction["id"].as_str().unwrap(),
    ]
    .iter()
    .map(|id| {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let text = String::from_utf8(engine.decode(id).unwrap()).unwrap();
        let other = text
            .replace("NODE", "GONE")
            .replace(&format!(":{}", id_of(&subscription)), ":987654");
        engine.encode(other)
    })
    .collect();
    let gone = app
        .graphql(
            "query($a: ID!, $b: ID!, $c: ID!) { a: node(id: $a) { id } b: node(id: $b) { id } c: node(id: $c) { id } }",
            json!({ "a": ids[0], "b": ids[1], "c": ids[2] }),
        )
        .await;
    assert_eq!(gone, json!({ "data": { "a": null, "b": null, "c": null } }));
}

// ---- 4. a year of billing ----

#[tokio::test(flavor = "multi_thread")]
async fn a_year_of_monthly_billing_makes_twelve_approved_transactions_then_complete() {
    let app = GatewayApp::spawn_billing().await;
    create_plan(&app, "YEAR", "MONTHLY", "9.99", 12).await;
    customer_with_cards(&app, "Yearly", &[&visa(5)]).await;
    let today = app.vault_today().await;
    let subscription = subscribe(
        &app,
        json!({ "customerId": "Yearly", "planCode": "YEAR", "startDate": today }),
    )
    .await;
    assert_eq!(
        subscription["endDate"],
        date_plus(&today, 11, 0),
        "{subscription}"
    );
    assert_eq!(subscription["nextBillingDate"], today, "{subscription}");

    let mut approved = 0;
    for month in 1..=13 {
        let clock = app.advance_clock_to(&date_plus(&today, month, 0)).await;
        approved += clock["approved"].as_u64().unwrap();
        let read = read_subscription(&app, &id_of(&subscription)).await;
        let billed = (month + 1).min(12);
        assert_eq!(
            read["transactions"]["totalCount"], billed,
            "after {month} months: {read:#}"
        );
        if billed < 12 {
            assert_eq!(read["status"], "ACTIVE", "{read:#}");
            assert_eq!(
                read["nextBillingDate"],
                date_plus(&today, billed, 0),
                "{read:#}"
            );
        }
    }
    assert_eq!(approved, 12);
    let read = read_subscription(&app, &id_of(&subscription)).await;
    assert_eq!(read["status"], "COMPLETE", "{read:#}");
    assert_eq!(read["nextBillingDate"], Value::Null, "{read:#}");
    assert_eq!(read["endDate"], date_plus(&today, 11, 0), "{read:#}");
    assert_eq!(
        charges(&read),
        (0..12)
            .rev()
            .map(|m| (
                date_plus(&today, m, 0),
                "9.99".to_owned(),
                "APPROVED".to_owned()
            ))
            .collect::<Vec<_>>(),
        "{read:#}"
    );
    for t in transactions(&read) {
        assert_eq!(t["responseCode"], "000", "{t}");
        assert_eq!(t["maskedCardNumber"], masked(&visa(5)), "{t}");
    }
    let complete = app
        .data(
            r#"{ subscriptions(filter: {status: [COMPLETE]}) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(complete["subscriptions"]["totalCount"], 1);
}

// ---- 5. a declining card ----

#[tokio::test(flavor = "multi_thread")]
async fn a_declining_card_is_retried_after_one_three_and_five_days_then_suspended() {
    let app = GatewayApp::spawn_billing().await;
    create_plan(&app, "DECL", "MONTHLY", "15.00", -1).await;
    let cards = customer_with_cards(&app, "Decliner", &[DECLINING, &visa(7)]).await;
    let today = app.vault_today().await;
    let failing = subscribe(
        &app,
        json!({ "customerId": "Decliner", "planCode": "DECL", "startDate": today }),
    )
    .await;
    assert_eq!(
        failing["card"]["cardId"], cards[0],
        "the primary card: {failing}"
    );
    let paying = subscribe(
        &app,
        json!({ "customerId": "Decliner", "planCode": "DECL", "cardId": cards[1], "startDate": today }),
    )
    .await;

    let clock = app.advance_clock("P10D").await;
    assert_eq!(clock["declined"], 4, "{clock}");
    assert_eq!(clock["approved"], 1, "{clock}");
    let read = read_subscription(&app, &id_of(&failing)).await;
    assert_eq!(read["status"], "SUSPENDED", "{read:#}");
    assert_eq!(
        charges(&read),
        [5, 3, 1, 0]
            .iter()
            .map(|d| (
                date_plus(&today, 0, *d),
                "15.00".to_owned(),
                "DECLINED".to_owned()
            ))
            .collect::<Vec<_>>(),
        "the charge and its three retries, newest first: {read:#}"
    );
    for t in transactions(&read) {
        assert_eq!(t["responseCode"], "051", "{t}");
        assert_eq!(t["authCode"], Value::Null, "{t}");
        assert_eq!(t["maskedCardNumber"], masked(DECLINING), "{t}");
        assert_eq!(t["card"]["cardId"], cards[0], "{t}");
    }

    // Customer.subscriptions(status:) and the status filter see it suspended.
    let data = app
        .data(
            r#"{
              customer(customerId: "Decliner") {
                all: subscriptions { subscriptionId status }
                suspended: subscriptions(status: [SUSPENDED]) { subscriptionId status }
                active: subscriptions(status: [ACTIVE]) { subscriptionId }
                either: subscriptions(status: [ACTIVE, SUSPENDED]) { subscriptionId }
              }
              subscriptions(filter: {status: [SUSPENDED]}) { totalCount edges { node { subscriptionId } } }
            }"#,
            json!({}),
        )
        .await;
    let customer = &data["customer"];
    assert_eq!(customer["all"].as_array().unwrap().len(), 2, "{customer}");
    assert_eq!(
        customer["suspended"],
        json!([{ "subscriptionId": id_of(&failing), "status": "SUSPENDED" }])
    );
    assert_eq!(
        customer["active"],
        json!([{ "subscriptionId": id_of(&paying) }])
    );
    assert_eq!(
        customer["either"].as_array().unwrap().len(),
        2,
        "{customer}"
    );
    assert_eq!(data["subscriptions"]["totalCount"], 1, "{data}");
    assert_eq!(
        data["subscriptions"]["edges"][0]["node"]["subscriptionId"],
        id_of(&failing)
    );

    // Nothing more is tried while it is suspended.
    app.advance_clock("P1M").await;
    let read = read_subscription(&app, &id_of(&failing)).await;
    assert_eq!(read["transactions"]["totalCount"], 4, "{read:#}");
    assert_eq!(read["status"], "SUSPENDED");
}

// ---- 6. error codes ----

#[tokio::test(flavor = "multi_thread")]
async fn billing_errors_carry_their_codes_and_junk_ids_never_reach_a_5xx() {
    let app = GatewayApp::spawn_billing().await;
    create_plan(&app, "REAL", "MONTHLY", "10.00", -1).await;
    customer_with_cards(&app, "Erring", &[&visa(9)]).await;
    let selection = "subscription { subscriptionId }";

    let unknown_plan = mutate_err(
        &app,
        "createSubscription",
        "CreateSubscriptionInput",
        selection,
        json!({ "customerId": "Erring", "planCode": "NOSUCHPLAN" }),
    )
    .await;
    single_error(&unknown_plan, "NOT_FOUND");
    assert_eq!(unknown_plan["data"], Value::Null, "{unknown_plan:#}");

    let unknown_customer = mutate_err(
        &app,
        "createSubscription",
        "CreateSubscriptionInput",
        selection,
        json!({ "customerId": "Nobody", "planCode": "REAL" }),
    )
    .await;
    single_error(&unknown_customer, "NOT_FOUND");

    // Nothing was made.
    let data = app
        .data("{ subscriptions { totalCount } }", json!({}))
        .await;
    assert_eq!(data, json!({ "subscriptions": { "totalCount": 0 } }));

    // Junk subscription ids: null from the query, BAD_USER_INPUT from the mutations.
    for junk in [
        "junk",
        "",
        "12abc",
        "-1",
        "99999999999999999999",
        "1|2",
        "1;status,EQ,A",
    ] {
        let (status, body) = app
            .graphql_status(
                "query($id: String!) { subscription(subscriptionId: $id) { subscriptionId } }",
                json!({ "id": junk }),
            )
            .await;
        assert_eq!(status, 200, "{junk:?}: {body}");
        assert_eq!(
            body["data"]["subscription"],
            Value::Null,
            "{junk:?}: {body}"
        );
        assert!(
            body.get("errors").is_none()
                || body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT",
            "{junk:?}: {body}"
        );
        for field in [
            "pauseSubscription",
            "resumeSubscription",
            "cancelSubscription",
        ] {
            let (status, body) = app
                .graphql_status(
                    &format!(
                        "mutation($id: ID!) {{ {field}(input: {{subscriptionId: $id}}) {{ subscription {{ status }} }} }}"
                    ),
                    json!({ "id": junk }),
                )
                .await;
            assert_eq!(status, 200, "{field} {junk:?}: {body}");
            let code = &body["errors"][0]["extensions"]["code"];
            assert!(
                code == "BAD_USER_INPUT" || code == "NOT_FOUND",
                "{field} {junk:?}: {body}"
            );
        }
        let (status, body) = app
            .graphql_status(
                "mutation($id: ID!) { updateSubscription(input: {subscriptionId: $id, amount: \"5.00\"}) { subscription { status } } }",
                json!({ "id": junk }),
            )
            .await;
        assert_eq!(status, 200, "updateSubscription {junk:?}: {body}");
        let code = &body["errors"][0]["extensions"]["code"];
        assert!(
            code == "BAD_USER_INPUT" || code == "NOT_FOUND",
            "updateSubscription {junk:?}: {body}"
        );
    }
    // A well-formed id that names nothing.
    let body = app
        .graphql(
            r#"{ subscription(subscriptionId: "424242") { subscriptionId } }"#,
            json!({}),
        )
        .await;
    assert_eq!(body, json!({ "data": { "subscription": null } }));
    let body = mutate_err(
        &app,
        "pauseSubscription",
        "PauseSubscriptionInput",
        "subscription { status }",
        json!({ "subscriptionId": "424242" }),
    )
    .await;
    single_error(&body, "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_amount_with_three_decimals_is_refused_by_the_vault_not_rounded() {
    let app = GatewayApp::spawn_billing().await;
    create_plan(&app, "REAL", "MONTHLY", "10.00", -1).await;
    customer_with_cards(&app, "Erring", &[&visa(9)]).await;

    let bad_amount = mutate_err(
        &app,
        "createSubscription",
        "CreateSubscriptionInput",
        "subscription { subscriptionId amount }",
        json!({ "customerId": "Erring", "planCode": "REAL", "amount": "10.999" }),
    )
    .await;
    let error = single_error(&bad_amount, "BAD_USER_INPUT");
    assert_eq!(error["extensions"]["upstreamCode"], 2, "{bad_amount:#}");
    assert_eq!(error["extensions"]["upstreamStatus"], 400, "{bad_amount:#}");

    let bad_plan_amount = mutate_err(
        &app,
        "createPlan",
        "CreatePlanInput",
        "plan { planCode amount }",
        json!({ "planCode": "CHEAP", "name": "x", "description": "x", "frequency": "MONTHLY",
                "duration": -1, "amount": "1.001" }),
    )
    .await;
    let error = single_error(&bad_plan_amount, "BAD_USER_INPUT");
    assert_eq!(
        error["extensions"]["upstreamCode"], 2,
        "{bad_plan_amount:#}"
    );

    // Nothing was made.
    let data = app
        .data(
            r#"{ subscriptions { totalCount } plan(planCode: "CHEAP") { planCode } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({ "subscriptions": { "totalCount": 0 }, "plan": null })
    );
}

// ---- 7. snapshots ----

#[tokio::test(flavor = "multi_thread")]
async fn snapshots_of_a_plan_a_create_subscription_payload_and_a_billed_subscription() {
    let app = GatewayApp::spawn_billing().await;
    let plan = mutate(
        &app,
        "createPlan",
        "CreatePlanInput",
        "plan { planCode }",
        json!({
            "planCode": "SNAP-1", "name": "Snapshot", "description": "A plan with a trial",
            "frequency": "MONTHLY", "interval": 1, "duration": 3, "amount": "15.00",
            "trialAmount": "1.00", "trialDuration": 1, "currency": "840"
        }),
    )
    .await;
    assert_eq!(plan["plan"]["planCode"], "SNAP-1");
    let read = app
        .data(
            r#"{ plan(planCode: "SNAP-1") {
                   id planCode planId name description frequency interval duration amount
                   setupAmount trialAmount trialDuration currency status billSpecificDay
                   dayOfWeek dayOfMonth month prorateFirstPayment prorateAmount
                   subscriptions { totalCount }
                 } }"#,
            json!({}),
        )
        .await;
    let today = app.vault_today().await;
    assert_billing_snapshot("billing_plan", &today, &read);

    customer_with_cards(&app, "Snappy", &[&visa(11)]).await;
    let payload = mutate(
        &app,
        "createSubscription",
        "CreateSubscriptionInput",
        &format!(
            "subscription {{ id {SUBSCRIPTION} prorateAmount currency transactions {{ totalCount }} }}
             customer {{ customerId firstName lastName cards {{ maskedNumber isPrimary }}
                        subscriptions {{ subscriptionId status plan {{ planCode }} }} }}"
        ),
        json!({ "customerId": "Snappy", "planCode": "SNAP-1", "startDate": today }),
    )
    .await;
    assert_eq!(
        payload["customer"]["subscriptions"][0]["subscriptionId"],
        payload["subscription"]["subscriptionId"],
        "the payload's customer has the new subscription"
    );
    assert_billing_snapshot("billing_create_subscription_payload", &today, &payload);

    app.advance_clock("P2M").await;
    let billed = read_subscription(&app, &id_of(&payload["subscription"])).await;
    assert_billing_snapshot("billing_subscription_with_transactions", &today, &billed);
}
