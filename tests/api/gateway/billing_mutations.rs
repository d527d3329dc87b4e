//! Plan and subscription mutations, each checked through its payload (`plan`, or
//! `subscription` with `customer`) and through what is billed afterwards on the sandbox clock.

use serde_json::{Value, json};

use super::billing_graph::{
    DECLINING, SUBSCRIPTION, charges, create_plan, customer_with_cards, id_of, mutate, mutate_err,
    read_subscription, subscribe,
};
use super::support::{GatewayApp, date_plus, input_type, masked, single_error, visa};

const PLAN_FIELDS: &str = "
  planCode name description frequency interval duration amount setupAmount trialAmount
  trialDuration currency status billSpecificDay dayOfWeek dayOfMonth month
  prorateFirstPayment prorateAmount";

async fn read_plan(app: &GatewayApp, code: &str) -> Value {
    let query = format!("query($code: String!) {{ plan(planCode: $code) {{ {PLAN_FIELDS} }} }}");
    app.data(&query, json!({ "code": code })).await["plan"].clone()
}

async fn act(app: &GatewayApp, action: &str, id: &str) -> Value {
    mutate(
        app,
        action,
        &input_type(action),
        &format!("subscription {{ {SUBSCRIPTION} }} customer {{ customerId subscriptions {{ subscriptionId status }} }}"),
        json!({ "subscriptionId": id }),
    )
    .await
}

async fn update(app: &GatewayApp, input: Value) -> Value {
    mutate(
        app,
        "updateSubscription",
        "UpdateSubscriptionInput",
        &format!("subscription {{ {SUBSCRIPTION} }} customer {{ customerId }}"),
        input,
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn create_plan_takes_every_field_and_update_plan_changes_only_what_it_is_given() {
    let app = GatewayApp::spawn_billing().await;
    let full = json!({
        "planCode": "FULL_1", "name": "Full", "description": "Every field",
        "frequency": "MONTHLY", "interval": 2, "duration": 6, "amount": "49.95",
        "setupAmount": "10.00", "trialAmount": "4.95", "trialDuration": 1, "currency": "840",
        "billSpecificDay": true, "dayOfMonth": 15, "prorateFirstPayment": true,
        "prorateAmount": "12.34"
    });
    let created = mutate(
        &app,
        "createPlan",
        "CreatePlanInput",
        &format!("plan {{ {PLAN_FIELDS} }}"),
        full,
    )
    .await;
    let expected = json!({
        "planCode": "FULL_1", "name": "Full", "description": "Every field",
        "frequency": "MONTHLY", "interval": 2, "duration": 6, "amount": "49.95",
        "setupAmount": "10.00", "trialAmount": "4.95", "trialDuration": 1, "currency": "840",
        "status": "ACTIVE", "billSpecificDay": true, "dayOfWeek": null, "dayOfMonth": 15,
        "month": null, "prorateFirstPayment": true, "prorateAmount": "12.34"
    });
    assert_eq!(created["plan"], expected);
    assert_eq!(read_plan(&app, "FULL_1").await, expected);

    // The other specific days: a weekday for weekly plans, a day and a month for annual ones.
    let weekly = mutate(
        &app,
        "createPlan",
        "CreatePlanInput",
        "plan { planCode frequency interval billSpecificDay dayOfWeek dayOfMonth month setupAmount trialAmount trialDuration prorateAmount currency }",
        json!({ "planCode": "WEEKLY-TUE", "name": "Tuesdays", "description": "Weekly on Tuesday",
                "frequency": "WEEKLY", "duration": -1, "amount": "3.00",
                "billSpecificDay": true, "dayOfWeek": 3 }),
    )
    .await;
    assert_eq!(
        weekly["plan"],
        json!({ "planCode": "WEEKLY-TUE", "frequency": "WEEKLY", "interval": 1,
                "billSpecificDay": true, "dayOfWeek": 3, "dayOfMonth": null, "month": null,
                "setupAmount": null, "trialAmount": null, "trialDuration": 0,
                "prorateAmount": null, "currency": "840" })
    );
    let annual = mutate(
        &app,
        "createPlan",
        "CreatePlanInput",
        "plan { frequency billSpecificDay dayOfMonth month }",
        json!({ "planCode": "JULY4", "name": "July", "description": "Every fourth of July",
                "frequency": "ANNUALLY", "duration": 5, "amount": "100.00",
                "billSpecificDay": true, "dayOfMonth": 4, "month": 7 }),
    )
    .await;
    assert_eq!(
        annual["plan"],
        json!({ "frequency": "ANNUALLY", "billSpecificDay": true, "dayOfMonth": 4, "month": 7 })
    );

    // A subscription started before the update keeps the plan's old terms.
    customer_with_cards(&app, "Planner", &[&visa(1)]).await;
    let before = subscribe(
        &app,
        json!({ "customerId": "Planner", "planCode": "FULL_1" }),
    )
    .await;
    assert_eq!(before["amount"], "49.95");

    let updated = mutate(
        &app,
        "updatePlan",
        "UpdatePlanInput",
        &format!("plan {{ {PLAN_FIELDS} }}"),
        json!({ "planCode": "FULL_1", "name": "Fuller", "amount": "59.95", "trialDuration": 2 }),
    )
    .await;
    let mut changed = expected.clone();
    changed["name"] = json!("Fuller");
    changed["amount"] = json!("59.95");
    changed["trialDuration"] = json!(2);
    assert_eq!(updated["plan"], changed);
    assert_eq!(read_plan(&app, "FULL_1").await, changed);
    let after = read_subscription(&app, &id_of(&before)).await;
    assert_eq!(after["amount"], "49.95", "{after:#}");

    let turned_off = mutate(
        &app,
        "updatePlan",
        "UpdatePlanInput",
        "plan { frequency interval billSpecificDay prorateFirstPayment description }",
        json!({ "planCode": "FULL_1", "frequency": "QUARTERLY", "interval": 1,
                "billSpecificDay": false, "prorateFirstPayment": false, "description": "Less" }),
    )
    .await;
    assert_eq!(
        turned_off["plan"],
        json!({ "frequency": "QUARTERLY", "interval": 1, "billSpecificDay": false,
                "prorateFirstPayment": false, "description": "Less" })
    );

    // An unknown plan cannot be updated.
    let body = mutate_err(
        &app,
        "updatePlan",
        "UpdatePlanInput",
        "plan { planCode }",
        json!({ "planCode": "NOPE", "name": "x" }),
    )
    .await;
    single_error(&body, "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_archived_plan_refuses_new_subscriptions_and_keeps_billing_the_old_ones() {
    let app = GatewayApp::spawn_billing().await;
    create_plan(&app, "OLD", "MONTHLY", "8.00", -1).await;
    customer_with_cards(&app, "Archie", &[&visa(2)]).await;
    let today = app.vault_today().await;
    let existing = subscribe(
        &app,
        json!({ "customerId": "Archie", "planCode": "OLD", "startDate": today }),
    )
    .await;

    let archived = mutate(
        &app,
        "archivePlan",
        "ArchivePlanInput",
        "plan { planCode name status }",
        json!({ "planCode": "OLD" }),
    )
    .await;
    assert_eq!(
        archived["plan"],
        json!({ "planCode": "OLD", "name": "Plan OLD", "status": "ARCHIVED" })
    );

    let body = mutate_err(
        &app,
        "createSubscription",
        "CreateSubscriptionInput",
        "subscription { subscriptionId }",
        json!({ "customerId": "Archie", "planCode": "OLD" }),
    )
    .await;
    let error = single_error(&body, "BAD_USER_INPUT");
    assert!(
        error["message"].as_str().unwrap().contains("plan_code"),
        "the error names plan_code: {body:#}"
    );
    assert_eq!(error["extensions"]["upstreamCode"], 2, "{body:#}");

    app.advance_clock("P1M").await;
    let read = read_subscription(&app, &id_of(&existing)).await;
    assert_eq!(read["status"], "ACTIVE");
    assert_eq!(read["plan"]["planCode"], "OLD");
    assert_eq!(read["transactions"]["totalCount"], 2, "{read:#}");

    let unknown = mutate_err(
        &app,
        "archivePlan",
        "ArchivePlanInput",
        "plan { planCode }",
        json!({ "planCode": "NOPE" }),
    )
    .await;
    single_error(&unknown, "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_plan_is_refused_while_a_live_subscription_uses_it_and_allowed_after_cancel() {
    let app = GatewayApp::spawn_billing().await;
    create_plan(&app, "DOOMED", "MONTHLY", "5.00", -1).await;
    create_plan(&app, "UNUSED", "MONTHLY", "5.00", -1).await;
    customer_with_cards(&app, "Deleter", &[&visa(3)]).await;
    let live = subscribe(
        &app,
        json!({ "customerId": "Deleter", "planCode": "DOOMED" }),
    )
    .await;

    let body = mutate_err(
        &app,
        "deletePlan",
        "DeletePlanInput",
        "deletedPlanCode",
        json!({ "planCode": "DOOMED" }),
    )
    .await;
    let error = single_error(&body, "BAD_USER_INPUT");
    assert_eq!(error["extensions"]["upstreamCode"], 8, "{body:#}");
    assert_eq!(error["extensions"]["upstreamStatus"], 409, "{body:#}");
    assert_eq!(read_plan(&app, "DOOMED").await["status"], "ACTIVE");

    // A paused subscription is still live.
    act(&app, "pauseSubscription", &id_of(&live)).await;
    let body = mutate_err(
        &app,
        "deletePlan",
        "DeletePlanInput",
        "deletedPlanCode",
        json!({ "planCode": "DOOMED" }),
    )
    .await;
    single_error(&body, "BAD_USER_INPUT");

    let cancelled = act(&app, "cancelSubscription", &id_of(&live)).await;
    assert_eq!(cancelled["subscription"]["status"], "CANCELLED");
    let deleted = mutate(
        &app,
        "deletePlan",
        "DeletePlanInput",
        "deletedPlanCode",
        json!({ "planCode": "DOOMED" }),
    )
    .await;
    assert_eq!(deleted, json!({ "deletedPlanCode": "DOOMED" }));
    let deleted = mutate(
        &app,
        "deletePlan",
        "DeletePlanInput",
        "deletedPlanCode",
        json!({ "planCode": "UNUSED" }),
    )
    .await;
    assert_eq!(deleted, json!({ "deletedPlanCode": "UNUSED" }));

    let data = app
        .data(
            r#"{ doomed: plan(planCode: "DOOMED") { status } plans(includeArchived: true) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({ "doomed": null, "plans": { "totalCount": 0 } }),
        "deleted plans are gone"
    );
    let body = mutate_err(
        &app,
        "deletePlan",
        "DeletePlanInput",
        "deletedPlanCode",
        json!({ "planCode": "NEVER" }),
    )
    .await;
    single_error(&body, "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread")]
async fn create_subscription_on_a_plan_or_with_its_own_terms_bills_the_primary_card_unless_told() {
    let app = GatewayApp::spawn_billing().await;
    create_plan(&app, "MONTH", "MONTHLY", "19.99", -1).await;
    let cards = customer_with_cards(&app, "Subby", &[&visa(4), &visa(5)]).await;
    let other = customer_with_cards(&app, "Other", &[&visa(6)]).await;
    let today = app.vault_today().await;

    let payload = mutate(
        &app,
        "createSubscription",
        "CreateSubscriptionInput",
        &format!(
            "subscription {{ {SUBSCRIPTION} }}
             customer {{ customerId subscriptions {{ subscriptionId status }} primaryCard {{ cardId }} }}"
        ),
        json!({ "customerId": "Subby", "planCode": "MONTH" }),
    )
    .await;
    let on_plan = &payload["subscription"];
    assert_eq!(on_plan["status"], "ACTIVE");
    assert_eq!(on_plan["plan"]["planCode"], "MONTH");
    assert_eq!(on_plan["amount"], "19.99");
    assert_eq!(on_plan["frequency"], "MONTHLY");
    assert_eq!(on_plan["duration"], -1);
    assert_eq!(on_plan["endDate"], Value::Null);
    // The start date defaults to today (UTC); the vault's clock has not moved.
    assert_eq!(on_plan["startDate"], today);
    assert_eq!(
        on_plan["card"],
        json!({ "cardId": cards[0], "maskedNumber": masked(&visa(4)) }),
        "the primary card"
    );
    assert_eq!(payload["customer"]["primaryCard"]["cardId"], cards[0]);
    assert_eq!(
        payload["customer"]["subscriptions"],
        json!([{ "subscriptionId": on_plan["subscriptionId"], "status": "ACTIVE" }])
    );

    let with_card = subscribe(
        &app,
        json!({ "customerId": "Subby", "planCode": "MONTH", "cardId": cards[1],
                "amount": "17.00", "setupAmount": "2.50", "startDate": date_plus(&today, 0, 3) }),
    )
    .await;
    assert_eq!(with_card["card"]["cardId"], cards[1]);
    assert_eq!(
        with_card["amount"], "17.00",
        "the amount overrides the plan's"
    );
    assert_eq!(with_card["setupAmount"], "2.50");
    assert_eq!(with_card["startDate"], date_plus(&today, 0, 3));

    let own_terms = subscribe(
        &app,
        json!({ "customerId": "Subby", "frequency": "QUARTERLY", "duration": 4,
                "amount": "30.00", "description": "Quarterly box", "startDate": today }),
    )
    .await;
    assert_eq!(own_terms["plan"], Value::Null);
    assert_eq!(own_terms["frequency"], "QUARTERLY");
    assert_eq!(own_terms["duration"], 4);
    assert_eq!(own_terms["amount"], "30.00");
    assert_eq!(own_terms["endDate"], date_plus(&today, 9, 0));
    assert_eq!(own_terms["card"]["cardId"], cards[0]);

    // Another customer's card is refused, and nothing is made.
    let body = mutate_err(
        &app,
        "createSubscription",
        "CreateSubscriptionInput",
        "subscription { subscriptionId }",
        json!({ "customerId": "Subby", "planCode": "MONTH", "cardId": other[0] }),
    )
    .await;
    let error = single_error(&body, "BAD_USER_INPUT");
    assert!(
        error["message"].as_str().unwrap().contains("card_id"),
        "{body:#}"
    );
    assert_eq!(body["data"], Value::Null);

    // Without a plan, the terms are required.
    let body = mutate_err(
        &app,
        "createSubscription",
        "CreateSubscriptionInput",
        "subscription { subscriptionId }",
        json!({ "customerId": "Subby", "amount": "1.00" }),
    )
    .await;
    let error = single_error(&body, "BAD_USER_INPUT");
    assert_eq!(error["extensions"]["upstreamCode"], 2, "{body:#}");

    let data = app
        .data(
            r#"{ customer(customerId: "Subby") { subscriptions { subscriptionId } }
                 other: customer(customerId: "Other") { subscriptions { subscriptionId } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data["customer"]["subscriptions"].as_array().unwrap().len(),
        3,
        "{data}"
    );
    assert_eq!(data["other"]["subscriptions"], json!([]));

    // The first two bill today, on their cards.
    app.advance_clock("PT1S").await;
    let read = read_subscription(&app, &id_of(on_plan)).await;
    assert_eq!(
        charges(&read),
        [(today.clone(), "19.99".to_owned(), "APPROVED".to_owned())]
    );
    let read = read_subscription(&app, &id_of(&own_terms)).await;
    assert_eq!(
        charges(&read),
        [(today.clone(), "30.00".to_owned(), "APPROVED".to_owned())]
    );
    let read = read_subscription(&app, &id_of(&with_card)).await;
    assert_eq!(
        read["transactions"]["totalCount"], 0,
        "starts in three days: {read:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_card_reactivates_a_suspended_subscription_and_pays_the_unpaid_cycle() {
    let app = GatewayApp::spawn_billing().await;
    create_plan(&app, "RESCUE", "MONTHLY", "11.00", -1).await;
    let cards = customer_with_cards(&app, "Rescued", &[DECLINING, &visa(8)]).await;
    let today = app.vault_today().await;
    let subscription = subscribe(
        &app,
        json!({ "customerId": "Rescued", "planCode": "RESCUE", "startDate": today }),
    )
    .await;
    app.advance_clock("P6D").await;
    assert_eq!(
        read_subscription(&app, &id_of(&subscription)).await["status"],
        "SUSPENDED"
    );

    let updated = update(
        &app,
        json!({ "subscriptionId": id_of(&subscription), "cardId": cards[1] }),
    )
    .await;
    assert_eq!(updated["subscription"]["status"], "ACTIVE", "{updated:#}");
    assert_eq!(
        updated["subscription"]["card"],
        json!({ "cardId": cards[1], "maskedNumber": masked(&visa(8)) })
    );
    assert_eq!(updated["customer"]["customerId"], "Rescued");

    let clock = app.advance_clock("PT1S").await;
    assert_eq!(
        clock["approved"], 1,
        "the unpaid cycle is charged at once: {clock}"
    );
    let read = read_subscription(&app, &id_of(&subscription)).await;
    assert_eq!(read["status"], "ACTIVE");
    let got = charges(&read);
    assert_eq!(got.len(), 5, "{read:#}");
    assert_eq!(got[0].1, "11.00");
    assert_eq!(got[0].2, "APPROVED");
    assert!(got[1..].iter().all(|c| c.2 == "DECLINED"), "{got:?}");
    assert_eq!(read["nextBillingDate"], date_plus(&today, 1, 0), "{read:#}");

    // The next cycle bills the new card, once.
    app.advance_clock("P1M").await;
    let read = read_subscription(&app, &id_of(&subscription)).await;
    assert_eq!(read["transactions"]["totalCount"], 6, "{read:#}");
    let newest = &read["transactions"]["edges"][0]["node"];
    assert_eq!(newest["date"], date_plus(&today, 1, 0));
    assert_eq!(newest["status"], "APPROVED");
    assert_eq!(newest["card"]["cardId"], cards[1]);

    // Another customer's card is refused.
    let other = customer_with_cards(&app, "Stranger", &[&visa(9)]).await;
    let body = mutate_err(
        &app,
        "updateSubscription",
        "UpdateSubscriptionInput",
        "subscription { subscriptionId }",
        json!({ "subscriptionId": id_of(&subscription), "cardId": other[0] }),
    )
    .await;
    let code = &body["errors"][0]["extensions"]["code"];
    assert!(code == "BAD_USER_INPUT" || code == "NOT_FOUND", "{body:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn update_subscription_moves_the_next_billing_date_and_changes_the_amount_and_the_plan() {
    let app = GatewayApp::spawn_billing().await;
    create_plan(&app, "BASIC", "MONTHLY", "10.00", -1).await;
    create_plan(&app, "PREMIUM", "MONTHLY", "30.00", -1).await;
    customer_with_cards(&app, "Changer", &[&visa(10)]).await;
    let today = app.vault_today().await;
    let subscription = subscribe(
        &app,
        json!({ "customerId": "Changer", "planCode": "BASIC", "startDate": today }),
    )
    .await;
    let id = id_of(&subscription);
    app.advance_clock("PT1S").await;

    // Move the next billing five days later: nothing is billed before.
    let moved_to = date_plus(&today, 1, 5);
    let moved = update(
        &app,
        json!({ "subscriptionId": id, "nextBillingDate": moved_to }),
    )
    .await;
    assert_eq!(
        moved["subscription"]["nextBillingDate"], moved_to,
        "{moved:#}"
    );
    assert_eq!(
        read_subscription(&app, &id).await["nextBillingDate"],
        moved_to
    );
    app.advance_clock("P1M4D").await;
    assert_eq!(app.vault_today().await, date_plus(&today, 1, 4));
    assert_eq!(
        read_subscription(&app, &id).await["transactions"]["totalCount"],
        1
    );
    app.advance_clock("P1D").await;
    let read = read_subscription(&app, &id).await;
    assert_eq!(
        charges(&read)[0],
        (moved_to.clone(), "10.00".to_owned(), "APPROVED".to_owned())
    );

    // A new amount is what the next cycle charges.
    let amount = update(&app, json!({ "subscriptionId": id, "amount": "12.50" })).await;
    assert_eq!(amount["subscription"]["amount"], "12.50");
    assert_eq!(amount["subscription"]["plan"]["planCode"], "BASIC");
    let next = bill_next_cycle(&app, &id).await;
    assert_eq!(next.1, "12.50", "{next:?}");

    // So is a new plan's.
    let plan = update(&app, json!({ "subscriptionId": id, "planCode": "PREMIUM" })).await;
    assert_eq!(
        plan["subscription"]["plan"]["planCode"], "PREMIUM",
        "{plan:#}"
    );
    assert_eq!(plan["subscription"]["amount"], "30.00", "{plan:#}");
    let next = bill_next_cycle(&app, &id).await;
    assert_eq!(next.1, "30.00", "{next:?}");

    let read = read_subscription(&app, &id).await;
    let amounts: Vec<String> = charges(&read).into_iter().map(|c| c.1).collect();
    assert_eq!(amounts, ["30.00", "12.50", "10.00", "10.00"], "{read:#}");

    // A billing date in the past is refused.
    let body = mutate_err(
        &app,
        "updateSubscription",
        "UpdateSubscriptionInput",
        "subscription { subscriptionId }",
        json!({ "subscriptionId": id, "nextBillingDate": today }),
    )
    .await;
    let error = single_error(&body, "BAD_USER_INPUT");
    assert_eq!(error["extensions"]["upstreamCode"], 2, "{body:#}");
    let body = mutate_err(
        &app,
        "updateSubscription",
        "UpdateSubscriptionInput",
        "subscription { subscriptionId }",
        json!({ "subscriptionId": id, "planCode": "NOSUCH" }),
    )
    .await;
    single_error(&body, "NOT_FOUND");
}

/// Advances the clock to the subscription's next billing date; returns the charge made then.
async fn bill_next_cycle(app: &GatewayApp, id: &str) -> (String, String, String) {
    let read = read_subscription(app, id).await;
    let due = read["nextBillingDate"]
        .as_str()
        .expect("a next billing date")
        .to_owned();
    let today = app.vault_today().await;
    let days = (chrono::NaiveDate::parse_from_str(&due, "%Y-%m-%d").unwrap()
        - chrono::NaiveDate::parse_from_str(&today, "%Y-%m-%d").unwrap())
    .num_days();
    assert!(days > 0, "next billing {due} is after today {today}");
    let billed_before = read["transactions"]["totalCount"].as_u64().unwrap();
    app.advance_clock(&format!("P{days}D")).await;
    let read = read_subscription(app, id).await;
    assert_eq!(
        read["transactions"]["totalCount"].as_u64().unwrap(),
        billed_before + 1,
        "{read:#}"
    );
    let charge = charges(&read)[0].clone();
    assert_eq!(charge.0, due);
    assert_eq!(charge.2, "APPROVED");
    charge
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paused_subscription_skips_its_cycles_resume_bills_the_next_and_cancel_ends_it() {
    let app = GatewayApp::spawn_billing().await;
    create_plan(&app, "PAUSY", "MONTHLY", "6.00", -1).await;
    customer_with_cards(&app, "Pauser", &[&visa(12)]).await;
    let today = app.vault_today().await;
    let subscription = subscribe(
        &app,
        json!({ "customerId": "Pauser", "planCode": "PAUSY", "startDate": today }),
    )
    .await;
    let id = id_of(&subscription);
    app.advance_clock("PT1S").await;

    let paused = act(&app, "pauseSubscription", &id).await;
    assert_eq!(paused["subscription"]["status"], "PAUSED");
    assert_eq!(
        paused["customer"]["subscriptions"],
        json!([{ "subscriptionId": id, "status": "PAUSED" }])
    );
    let data = app
        .data(
            r#"{ subscriptions(filter: {status: [PAUSED]}) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["subscriptions"]["totalCount"], 1);

    // Two cycles fall in the pause: neither is billed.
    app.advance_clock("P2M10D").await;
    let read = read_subscription(&app, &id).await;
    assert_eq!(read["status"], "PAUSED");
    assert_eq!(read["transactions"]["totalCount"], 1, "{read:#}");

    // Pausing twice is refused.
    let body = mutate_err(
        &app,
        "pauseSubscription",
        "PauseSubscriptionInput",
        "subscription { status }",
        json!({ "subscriptionId": id }),
    )
    .await;
    let error = single_error(&body, "BAD_USER_INPUT");
    assert_eq!(error["extensions"]["upstreamCode"], 8, "{body:#}");

    let resumed = act(&app, "resumeSubscription", &id).await;
    assert_eq!(resumed["subscription"]["status"], "ACTIVE");
    assert_eq!(
        resumed["subscription"]["nextBillingDate"],
        date_plus(&today, 3, 0)
    );
    app.advance_clock("P1M").await;
    let read = read_subscription(&app, &id).await;
    assert_eq!(
        charges(&read),
        [
            (
                date_plus(&today, 3, 0),
                "6.00".to_owned(),
                "APPROVED".to_owned()
            ),
            (today.clone(), "6.00".to_owned(), "APPROVED".to_owned()),
        ],
        "the paused cycles ({}, {}) are not billed: {read:#}",
        date_plus(&today, 1, 0),
        date_plus(&today, 2, 0)
    );

    let cancelled = act(&app, "cancelSubscription", &id).await;
    assert_eq!(cancelled["subscription"]["status"], "CANCELLED");
    assert_eq!(cancelled["subscription"]["nextBillingDate"], Value::Null);
    app.advance_clock("P2M").await;
    let read = read_subscription(&app, &id).await;
    assert_eq!(read["status"], "CANCELLED");
    assert_eq!(
        read["transactions"]["totalCount"], 2,
        "nothing after the cancel: {read:#}"
    );

    for action in [
        "resumeSubscription",
        "pauseSubscription",
        "cancelSubscription",
    ] {
        let body = mutate_err(
            &app,
            action,
            &input_type(action),
            "subscription { status }",
            json!({ "subscriptionId": id }),
        )
        .await;
        single_error(&body, "BAD_USER_INPUT");
    }
    let body = mutate_err(
        &app,
        "updateSubscription",
        "UpdateSubscriptionInput",
        "subscription { status }",
        json!({ "subscriptionId": id, "amount": "1.00" }),
    )
    .await;
    single_error(&body, "BAD_USER_INPUT");
}
