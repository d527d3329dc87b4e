//! The merchant's webhooks through the graph: `createWebhook` (the secret shown once),
//! `updateWebhook`, `enableWebhook`, `disableWebhook`, `webhook` and `webhooks`, all on the
//! embedded vault's `/platform/webhook`.

use serde_json::{Value, json};

use super::billing_graph::{mutate, mutate_err};
use super::support::{GatewayApp, single_error};

const WEBHOOK: &str = "webhookId label notificationUrl events status authType authUserName
  emailAddresses createdAt";

async fn create(app: &GatewayApp, input: Value) -> Value {
    mutate(
        app,
        "createWebhook",
        "CreateWebhookInput",
        &format!("secret webhook {{ {WEBHOOK} }}"),
        input,
    )
    .await
}

async fn read(app: &GatewayApp, id: &Value) -> Value {
    let query = format!("query($id: ID!) {{ webhook(webhookId: $id) {{ {WEBHOOK} }} }}");
    app.data(&query, json!({ "id": id })).await["webhook"].clone()
}

fn receiver_input(label: &str) -> Value {
    json!({
        "label": label,
        "notificationUrl": "https://hooks.example.com/qualpay",
        "events": ["subscription_payment_failure", "subscription_suspended"],
        "emailAddresses": ["ops@example.com"],
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn create_webhook_answers_its_secret_once_and_the_webhook_reads_back_without_it() {
    let app = GatewayApp::spawn().await;
    let created = create(&app, receiver_input("Billing alerts")).await;
    let secret = created["secret"].as_str().expect("a secret on create");
    assert!(secret.len() >= 16, "a real secret: {created:#}");
    let webhook = &created["webhook"];
    assert_eq!(webhook["label"], "Billing alerts");
    assert_eq!(
        webhook["notificationUrl"],
        "https://hooks.example.com/qualpay"
    );
    assert_eq!(
        webhook["events"],
        json!(["subscription_payment_failure", "subscription_suspended"])
    );
    assert_eq!(webhook["status"], "ACTIVE");
    assert_eq!(webhook["authType"], "NONE");
    assert_eq!(webhook["authUserName"], Value::Null);
    assert_eq!(webhook["emailAddresses"], json!(["ops@example.com"]));
    assert!(webhook["createdAt"].is_string(), "{webhook:#}");

    let id = webhook["webhookId"].clone();
    let read_back = read(&app, &id).await;
    assert_eq!(&read_back, webhook);
    let listed = app
        .data(
            &format!("{{ webhooks {{ totalCount edges {{ node {{ {WEBHOOK} }} }} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(listed["webhooks"]["totalCount"], 1);
    assert_eq!(&listed["webhooks"]["edges"][0]["node"], webhook);
    let text = listed.to_string() + &read_back.to_string();
    assert!(!text.contains(secret), "the secret is shown only on create");
}

#[tokio::test(flavor = "multi_thread")]
async fn update_webhook_changes_what_it_is_given_and_keeps_the_rest() {
    let app = GatewayApp::spawn().await;
    let created = create(&app, receiver_input("Before")).await;
    let id = created["webhook"]["webhookId"].clone();

    let updated = mutate(
        &app,
        "updateWebhook",
        "UpdateWebhookInput",
        &format!("webhook {{ {WEBHOOK} }}"),
        json!({ "webhookId": id, "label": "After",
                "basicAuth": { "userName": "hooks", "password": "s3cret-pass" } }),
    )
    .await["webhook"]
        .clone();
    assert_eq!(updated["label"], "After");
    assert_eq!(updated["authType"], "BASIC");
    assert_eq!(updated["authUserName"], "hooks");
    assert_eq!(
        updated["notificationUrl"],
        created["webhook"]["notificationUrl"]
    );
    assert_eq!(updated["events"], created["webhook"]["events"]);
    assert_eq!(updated["emailAddresses"], json!(["ops@example.com"]));
    assert!(!updated.to_string().contains("s3cret-pass"));
    assert_eq!(read(&app, &id).await, updated);

    // Only the events: the label and the basic auth stay.
    let events_only = mutate(
        &app,
        "updateWebhook",
        "UpdateWebhookInput",
        &format!("webhook {{ {WEBHOOK} }}"),
        json!({ "webhookId": id, "events": ["transaction_status_updated"] }),
    )
    .await["webhook"]
        .clone();
    assert_eq!(events_only["events"], json!(["transaction_status_updated"]));
    assert_eq!(events_only["label"], "After");
    assert_eq!(events_only["authType"], "BASIC");
    assert_eq!(events_only["authUserName"], "hooks");

    // NONE turns basic auth off.
    let plain = mutate(
        &app,
        "updateWebhook",
        "UpdateWebhookInput",
        &format!("webhook {{ {WEBHOOK} }}"),
        json!({ "webhookId": id, "authType": "NONE" }),
    )
    .await["webhook"]
        .clone();
    assert_eq!(plain["authType"], "NONE");
    assert_eq!(plain["authUserName"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn disable_and_enable_webhook_change_its_status() {
    let app = GatewayApp::spawn().await;
    let id = create(&app, receiver_input("Toggle")).await["webhook"]["webhookId"].clone();
    for (field, input_type, status) in [
        ("disableWebhook", "DisableWebhookInput", "DISABLED"),
        ("enableWebhook", "EnableWebhookInput", "ACTIVE"),
    ] {
        let answer = mutate(
            &app,
            field,
            input_type,
            "webhook { webhookId status }",
            json!({ "webhookId": id }),
        )
        .await;
        assert_eq!(answer["webhook"]["status"], status, "{field}: {answer:#}");
        assert_eq!(read(&app, &id).await["status"], status);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_webhook_input_is_refused_and_changes_nothing() {
    let app = GatewayApp::spawn().await;
    let mut bad_event = receiver_input("Bad event");
    bad_event["events"] = json!(["no_such_event"]);
    let mut bad_url = receiver_input("Bad url");
    bad_url["notificationUrl"] = json!("not a url");
    for input in [bad_event, bad_url] {
        let body = mutate_err(
            &app,
            "createWebhook",
            "CreateWebhookInput",
            "secret webhook { webhookId }",
            input,
        )
        .await;
        single_error(&body, "BAD_USER_INPUT");
    }
    let count = app.data("{ webhooks { totalCount } }", json!({})).await;
    assert_eq!(count["webhooks"]["totalCount"], 0, "nothing was made");

    // An id that is not the vault's, and one that names no webhook.
    let body = mutate_err(
        &app,
        "enableWebhook",
        "EnableWebhookInput",
        "webhook { webhookId }",
        json!({ "webhookId": "abc" }),
    )
    .await;
    single_error(&body, "BAD_USER_INPUT");
    let body = mutate_err(
        &app,
        "disableWebhook",
        "DisableWebhookInput",
        "webhook { webhookId }",
        json!({ "webhookId": "987654" }),
    )
    .await;
    single_error(&body, "NOT_FOUND");
    assert_eq!(read(&app, &json!("987654")).await, Value::Null);
}
