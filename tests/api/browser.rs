//! The embedded card fields in a real browser: the demo checkout (`/demo/add-card`) in headless
//! Chromium, driven over WebDriver. Typing a card into the vault's iframe saves it on the
//! customer, and the card number and CVV are never in the merchant's page, the console or any
//! request but the one to the vault's `/embedded/tokenize`. And GraphiQL, with its bundled
//! WebSocket client, runs a subscription and shows the event it hears of.
//!
//! Opt-in: set `VAULTQL_TEST_BROWSER=1` (and install `chromium chromium-driver`); the paths
//! can be changed with `VAULTQL_TEST_CHROMEDRIVER` and `VAULTQL_TEST_CHROMIUM`.

mod webdriver;

use axum::http::Method;
use serde_json::{Value, json};

use crate::gateway::support::GatewayApp;
use webdriver::{Browser, Programs};

const APPROVED: &str = "4111111111111111";
const DECLINED: &str = "4000000000000002";
/// A CVV nothing else on the page or in the logs is likely to hold as a whole token.
const CVV: &str = "737";

/// An expiry in the future of both clocks that judge it: the browser's (the fields' check uses
/// the machine's date, which no test can pin) and the vault's pinned test clock (2027-2028).
/// Returns what is typed (`12/YY`) and what the vault stores (`12YY`).
fn expiry() -> (String, String) {
    use chrono::Datelike;
    let year = (chrono::Utc::now().year().max(2028) + 3) % 100;
    (format!("12/{year:02}"), format!("12{year:02}"))
}

/// Starts a gateway with a customer `id` and opens the demo checkout for it.
async fn open_checkout(programs: &Programs, id: &str) -> (GatewayApp, Browser) {
    let app = GatewayApp::spawn().await;
    app.add_customer(json!({
        "customer_id": id,
        "customer_first_name": "Brow",
        "customer_last_name": "Ser",
    }))
    .await;
    let browser = Browser::start(programs).await;
    browser
        .navigate(&format!("{}/demo/add-card?customer_id={id}", app.base))
        .await;
    // "Save card" is enabled once the frame answered the init with "ready".
    browser.wait_until_enabled("#save-card").await;
    (app, browser)
}

/// Types a card into the iframe's fields and leaves the frame again.
async fn type_card(browser: &Browser, number: &str, exp: &str, cvv: &str, zip: &str) {
    browser.enter_frame().await;
    browser.type_into("#card-number", number).await;
    browser.type_into("#card-exp", exp).await;
    browser.type_into("#card-cvv", cvv).await;
    browser.type_into("#card-zip", zip).await;
    browser.leave_frame().await;
}

async fn vault_cards(app: &GatewayApp, id: &str) -> Vec<Value> {
    let data = app
        .vault_ok(Method::GET, &format!("/vault/customer/{id}"), None)
        .await;
    data["billing_cards"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Whether `text` holds `cvv` as a whole token (not inside a longer run of digits, letters or a
/// decimal number such as a timestamp).
fn holds_token(text: &str, cvv: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices(cvv).any(|(at, _)| {
        let joined = |b: u8| b.is_ascii_alphanumeric() || b == b'.';
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + cvv.len()).copied();
        !before.is_some_and(joined) && !after.is_some_and(joined)
    })
}

#[track_caller]
fn assert_no_secrets(what: &str, text: &str, number: &str, cvv: &str) {
    let grouped = number
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        !text.contains(number) && !text.contains(&grouped),
        "{what} holds the card number: {text}"
    );
    assert!(!holds_token(text, cvv), "{what} holds the CVV: {text}");
}

/// The requests of a performance log: `(method, url, the request as JSON text)`.
fn requests(performance: &[Value]) -> Vec<(String, String, String)> {
    performance
        .iter()
        .filter_map(|entry| serde_json::from_str::<Value>(entry["message"].as_str()?).ok())
        .filter(|message| message["message"]["method"] == "Network.requestWillBeSent")
        .map(|message| {
            let request = &message["message"]["params"]["request"];
            (
                request["method"].as_str().unwrap_or_default().to_owned(),
                request["url"].as_str().unwrap_or_default().to_owned(),
                request.to_string(),
            )
        })
        .collect()
}

/// Whether a request stays on this machine: HTTP to loopback, or a browser-internal URL (the
/// new-tab page Chromium opens before the test navigates loads `chrome:` resources).
fn is_local(url: &str) -> bool {
    let parsed = reqwest::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    match parsed.scheme() {
        "http" | "https" | "ws" | "wss" => {
            matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
        }
        "data" | "about" | "blob" | "chrome" | "chrome-untrusted" => true,
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_typed_into_the_frame_is_saved_and_never_reaches_the_page() {
    let Some(programs) = Programs::from_env("browser::a_card_typed_into_the_frame") else {
        return;
    };
    let (app, browser) = open_checkout(&programs, "BrowserHappy").await;
    let (typed_expiry, stored_expiry) = expiry();
    type_card(&browser, APPROVED, &typed_expiry, CVV, "94402").await;

    // The frame formats what it is typed, in groups of four.
    browser.enter_frame().await;
    assert_eq!(
        browser.property("#card-number", "value").await,
        json!("4111 1111 1111 1111")
    );
    assert_eq!(browser.text("#card-brand").await, "Visa");
    browser.leave_frame().await;

    browser.click("#save-card").await;
    let status = browser
        .wait_for_text("#status", |t| t.contains("saved"))
        .await;
    assert_eq!(status, "Card saved");
    assert_eq!(browser.text("#error").await, "");
    let listed = browser.text("#cards").await;
    assert!(listed.contains("411111xxxxxx1111"), "#cards: {listed}");

    let cards = vault_cards(&app, "BrowserHappy").await;
    assert_eq!(cards.len(), 1, "{cards:?}");
    assert_eq!(cards[0]["card_number"], "411111xxxxxx1111");
    assert_eq!(cards[0]["exp_date"], stored_expiry.as_str());

    // The frame forgot the number and the CVV once it had the token.
    browser.enter_frame().await;
    assert_eq!(browser.property("#card-number", "value").await, json!(""));
    assert_eq!(browser.property("#card-cvv", "value").await, json!(""));
    browser.leave_frame().await;

    let source = browser.source().await;
    assert_no_secrets("the page's source", &source, APPROVED, CVV);
    let console = browser.log("browser").await;
    let console_text = Value::Array(console.clone()).to_string();
    assert_no_secrets("the console log", &console_text, APPROVED, CVV);
    assert!(
        !console_text.contains("Content Security Policy"),
        "a page broke its CSP: {console_text}"
    );

    let performance = browser.log("performance").await;
    let requests = requests(&performance);
    let tokenize = format!("{}/embedded/tokenize", app.base);
    for (method, url, request) in &requests {
        assert!(is_local(url), "a request left the machine: {method} {url}");
        if !(method == "POST" && url == &tokenize) {
            assert_no_secrets(&format!("{method} {url}"), request, APPROVED, CVV);
        }
    }
    assert_eq!(
        requests
            .iter()
            .filter(|(method, url, _)| method == "POST" && url == &tokenize)
            .count(),
        1,
        "the card went to the vault exactly once: {requests:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_card_shows_an_error_in_the_frame_and_the_page_and_is_not_saved() {
    let Some(programs) = Programs::from_env("browser::a_declined_card") else {
        return;
    };
    let (app, browser) = open_checkout(&programs, "BrowserDecline").await;
    type_card(&browser, DECLINED, &expiry().0, CVV, "94402").await;
    browser.click("#save-card").await;

    let page_error = browser.wait_for_text("#error", |t| !t.is_empty()).await;
    browser.enter_frame().await;
    let frame_error = browser.text("#fields-error").await;
    let number_error = browser.text("#card-number-error").await;
    assert!(
        !frame_error.is_empty() || !number_error.is_empty(),
        "the frame shows no error (the page says {page_error:?})"
    );
    browser.leave_frame().await;
    assert_eq!(browser.text("#status").await, "");
    assert_eq!(browser.text("#cards").await, "");
    assert!(vault_cards(&app, "BrowserDecline").await.is_empty());

    let source = browser.source().await;
    assert_no_secrets("the page's source", &source, DECLINED, CVV);
}

/// GraphiQL's editor holding `text`: its CodeMirror, set as typing would.
const SET_QUERY: &str = "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(arguments[0]);";

/// Presses GraphiQL's run button.
const RUN: &str = "document.querySelector('.graphiql-execute-button').click();";

/// What GraphiQL's result pane holds.
const RESULT: &str = "var pane = document.querySelector('.result-window .CodeMirror'); return pane ? pane.CodeMirror.getValue() : '';";

#[tokio::test(flavor = "multi_thread")]
async fn graphiql_runs_a_subscription_and_shows_the_decline_it_hears_of() {
    let Some(programs) = Programs::from_env("browser::graphiql_runs_a_subscription") else {
        return;
    };
    let app = GatewayApp::spawn_with(|args| {
        args.vault.billing_interval_secs = 0;
        args.embedded_webhooks = vaultql::config::Toggle::On;
    })
    .await;
    app.add_plan(crate::gateway::support::plan_body(
        "GRAPHIQL", "GraphiQL", 3, 5.0, -1,
    ))
    .await;
    app.add_customer(json!({
        "customer_id": "Watched", "customer_first_name": "Graph", "customer_last_name": "IQL",
        "billing_cards": [{ "card_number": "4000000000000341", "exp_date": "1239", "billing_zip": "94107" }],
    }))
    .await;
    let today = app.vault_today().await;
    app.add_subscription(json!({ "customer_id": "Watched", "plan_code": "GRAPHIQL",
                                 "date_start": today }))
        .await;

    let browser = Browser::start(&programs).await;
    browser.navigate(&format!("{}/graphql", app.base)).await;
    // GraphiQL runs nothing until both editors exist (they load after the page).
    browser.find(".graphiql-query-editor .CodeMirror").await;
    browser.find(".result-window .CodeMirror").await;
    browser
        .execute(
            SET_QUERY,
            json!(["subscription Watch { billingEvents { type subscription { customer { customerId } } } }"]),
        )
        .await;
    // GraphiQL picks the transport from the parsed document, which it parses a moment after
    // an edit; its tab takes the operation's name when it has.
    browser
        .wait_for_text(".graphiql-sessions", |text| text.starts_with("Watch\n"))
        .await;
    browser.execute(RUN, json!([])).await;
    // The gateway counts the subscription once it listens; only then can an event reach it.
    app.wait_for_metric("vaultql_graphql_subscriptions_active 1")
        .await;
    app.advance_clock("P0D").await;
    let shown = browser
        .wait_for_text(".result-window", |text| text.contains("PAYMENT_FAILED"))
        .await;
    let result: Value = serde_json::from_str(
        browser
            .execute(RESULT, json!([]))
            .await
            .as_str()
            .unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("the result pane holds JSON ({e}): {shown}"));
    assert_eq!(
        result["data"]["billingEvents"]["type"], "PAYMENT_FAILED",
        "{result:#}"
    );
    assert!(shown.contains("Watched"), "{shown}");
    let console = Value::Array(browser.log("browser").await).to_string();
    assert!(
        !console.contains("Content Security Policy"),
        "the page broke its CSP: {console}"
    );
}
