//! The embedded vault and the gateway's key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use super::support::{GATEWAY_KEY, GatewayApp};
use crate::helpers::KEY_A;

async fn browse_with(app: &GatewayApp, key: &str) -> (u16, Value) {
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}/platform/vault/customer", app.base))
        .header(
            "authorization",
            format!("Basic {}", BASE64.encode(format!("{key}:"))),
        )
        .send()
        .await
        .expect("a response");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_embedded_vault_accepts_the_gateway_key_and_refuses_a_wrong_one() {
    let app = GatewayApp::spawn().await;
    app.add_customer(json!({ "customer_id": "Mine1", "customer_firm_name": "Mine" }))
        .await;

    let (status, body) = browse_with(&app, GATEWAY_KEY).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["code"], 0, "{body}");
    assert_eq!(body["message"], "Success");
    assert_eq!(body["totalRecords"], 1);
    assert_eq!(body["data"][0]["customer_id"], "Mine1");
    assert_eq!(
        body["data"][0]["node_id"], 210_000_000_001_i64,
        "the gateway's merchant"
    );

    let (status, body) = browse_with(&app, "wrong-key").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], 4, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_sees_only_its_own_merchants_customers() {
    let app = GatewayApp::spawn().await;
    app.add_customer(json!({ "customer_id": "Mine1", "customer_firm_name": "Mine" }))
        .await;
    // Another merchant's key, also known to the embedded vault.
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{}/platform/vault/customer", app.base))
        .basic_auth(KEY_A, Some(""))
        .json(&json!({ "customer_id": "Theirs1", "customer_firm_name": "Theirs" }))
        .send()
        .await
        .expect("a response");
    assert_eq!(response.status().as_u16(), 200);

    let data = app
        .data(
            r#"{ customers { totalCount nodes { customerId } }
                 theirs: customer(customerId: "Theirs1") { customerId } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({ "customers": { "totalCount": 1, "nodes": [{ "customerId": "Mine1" }] }, "theirs": null })
    );
}

/// Under Docker or systemd stderr is the log stream: the binary, started with stderr on a
/// pipe, names the key file and never prints the key. A relative `--data-dir` is printed as
/// the absolute path it resolved to, with how to stop the process.
#[tokio::test(flavor = "multi_thread")]
async fn the_development_key_stays_out_of_stderr_when_it_is_not_a_terminal() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a data dir");
    let lines = start_up_lines(
        &["--listen", "127.0.0.1:0", "--no-seed", "--data-dir", "data"],
        dir.path(),
        "GraphiQL at",
        None,
    )
    .await;

    let text = lines.join("\n");
    assert!(
        text.contains("GraphiQL at"),
        "the server did not start: {text}"
    );
    let data = dir.path().join("data");
    assert!(
        text.contains(&format!("data is in {}", data.display())),
        "stderr says where the data is: {text}"
    );
    assert!(text.contains("Ctrl-C"), "stderr says how to stop: {text}");
    let key_file = data.join("dev-api-key");
    let key = std::fs::read_to_string(&key_file).expect("the key file");
    let key = key.trim();
    assert_eq!(key.len(), 32, "a generated key");
    assert!(!text.contains(key), "the key was printed: {text}");
    assert!(
        text.contains(&key_file.display().to_string()),
        "stderr says where the key is: {text}"
    );
}

/// `vaultql healthcheck` (what the image's HEALTHCHECK runs) passes for a live process and
/// fails for a port nobody listens on.
#[tokio::test(flavor = "multi_thread")]
async fn the_healthcheck_passes_for_a_live_gateway_and_fails_for_a_closed_port() {
    use vaultql::config::HealthcheckArgs;

    let app = super::support::GatewayApp::spawn().await;
    let port: u16 = app.base.rsplit(':').next().unwrap().parse().unwrap();
    for ready in [false, true] {
        let args = HealthcheckArgs {
            listen: format!("0.0.0.0:{port}").parse().unwrap(),
            ready,
            timeout_ms: 5_000,
        };
        assert_eq!(
            vaultql::healthcheck::check(&args).await,
            Ok(()),
            "ready: {ready}"
        );
    }
    let closed = HealthcheckArgs {
        listen: format!("127.0.0.1:{}", super::support::closed_port())
            .parse()
            .unwrap(),
        ready: false,
        timeout_ms: 5_000,
    };
    assert!(vaultql::healthcheck::check(&closed).await.is_err());
}

/// With `--log-json` everything the process writes to stderr is a JSON line, each listing its
/// spans once; the start-up lines are log lines too, the last `ready` with GraphiQL's address,
/// and the development key is never among them. Seeding the demo data is one INFO line: its
/// requests are logged at DEBUG only (this run logs DEBUG to see them).
#[tokio::test(flavor = "multi_thread")]
async fn with_log_json_every_line_is_json_and_the_start_is_logged() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a data dir");
    let lines = start_up_lines(
        &[
            "--log-json",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            "data",
        ],
        dir.path(),
        r#""message":"ready""#,
        Some("debug"),
    )
    .await;
    let key_file = dir.path().join("data").join("dev-api-key");
    let key = std::fs::read_to_string(key_file).expect("the key file");
    let mut entries = Vec::new();
    for line in &lines {
        let entry: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(entry.get("span").is_none(), "a span twice: {line}");
        assert!(!line.contains(key.trim()), "the key was logged: {line}");
        entries.push(entry);
    }
    let last = entries.last().expect("some lines");
    assert_eq!(last["fields"]["message"], "ready", "{lines:#?}");
    assert!(
        last["fields"]["graphiql"]
            .as_str()
            .is_some_and(|url| url.starts_with("http://127.0.0.1:") && url.ends_with("/graphql")),
        "{last}"
    );
    let seeding = |entry: &&serde_json::Value| {
        entry["spans"][0]["name"] == "request"
            && entry["spans"][0]["request_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("seed-"))
    };
    // Seeding's requests carry the request span, listed once in `spans`, at DEBUG.
    let requests: Vec<_> = entries.iter().filter(seeding).collect();
    assert!(requests.len() > 10, "{lines:#?}");
    assert!(
        requests.iter().all(|entry| entry["level"] == "DEBUG"),
        "{requests:#?}"
    );
    // At INFO, seeding is the one line that says what it added.
    let info: Vec<_> = entries
        .iter()
        .filter(|entry| entry["level"] == "INFO")
        .filter(|entry| {
            let path = entry["spans"][0]["path"].as_str().unwrap_or_default();
            path.starts_with("/platform") || path.starts_with("/pg") || {
                let message = entry["fields"]["message"].as_str().unwrap_or_default();
                message.contains("demo")
            }
        })
        .collect();
    assert_eq!(info.len(), 1, "{info:#?}");
    assert_eq!(info[0]["fields"]["customers"], 5, "{info:#?}");
}

/// Runs the binary in `dir` with `args` and stderr on a pipe (as under Docker or systemd),
/// `RUST_LOG` set to `log` (unset if `None`), reads its lines up to the one holding `ready`,
/// and stops it.
async fn start_up_lines(
    args: &[&str],
    dir: &std::path::Path,
    ready: &'static str,
    log: Option<&str>,
) -> Vec<String> {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut command = Command::new(env!("CARGO_BIN_EXE_vaultql"));
    command.args(args).current_dir(dir).env_remove("RUST_LOG");
    if let Some(log) = log {
        command.env("RUST_LOG", log);
    }
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stderr = child.stderr.take().expect("stderr is piped");
    let lines = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let done = line.contains(ready);
            seen.push(line);
            if done {
                break;
            }
        }
        seen
    })
    .await
    .expect("stderr was read");
    let _ = child.kill();
    let _ = child.wait();
    lines
}
