//! OpenTelemetry traces, from the operator's side: the real binary, started with the standard
//! `OTEL_*` variables pointing at an OTLP/HTTP receiver in this test, stopped with SIGTERM (its
//! graceful shutdown sends the last spans). The tracer is process-global, so these tests run
//! the binary rather than the app in this process, where other tests run in parallel.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use serde_json::{Value, json};

/// Longest a process may take to stop once told to: a failure limit, not a wait.
const STOP_DEADLINE: Duration = Duration::from_secs(30);

/// `SPAN_KIND_SERVER` and `SPAN_KIND_CLIENT` in OTLP.
const SERVER: i32 = 2;
const CLIENT: i32 = 3;

/// The OTLP variables a test machine might have set: none of them reaches the child unless the
/// test sets it.
const OTEL_VARS: [&str; 8] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_SERVICE_NAME",
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
];

/// An OTLP/HTTP receiver: keeps every body POSTed to `/v1/traces`.
struct Receiver {
    endpoint: String,
    bodies: Arc<Mutex<Vec<Bytes>>>,
}

impl Receiver {
    async fn start() -> Receiver {
        Self::start_on("127.0.0.1:0")
            .await
            .expect("a port for the receiver")
    }

    async fn start_on(address: &str) -> std::io::Result<Receiver> {
        let listener = tokio::net::TcpListener::bind(address).await?;
        let bodies: Arc<Mutex<Vec<Bytes>>> = Arc::default();
        let app = Router::new()
            .route(
                "/v1/traces",
                post(
                    |State(bodies): State<Arc<Mutex<Vec<Bytes>>>>, body: Bytes| async move {
                        bodies.lock().unwrap().push(body);
                        // An empty ExportTraceServiceResponse.
                        ""
                    },
                ),
            )
            .with_state(bodies.clone());
        let endpoint = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Receiver { endpoint, bodies })
    }

    fn bytes(&self) -> Vec<u8> {
        self.bodies.lock().unwrap().concat()
    }

    fn spans(&self) -> Vec<Span> {
        let bodies = self.bodies.lock().unwrap();
        let mut spans = Vec::new();
        for body in bodies.iter() {
            let request = ExportTraceServiceRequest::decode(body.clone()).expect("OTLP protobuf");
            for resource in request.resource_spans {
                let service = resource
                    .resource
                    .iter()
                    .flat_map(|r| &r.attributes)
                    .find(|kv| kv.key == "service.name")
                    .and_then(|kv| text(kv.value.as_ref()?.value.as_ref()?));
                for scope in resource.scope_spans {
                    for span in scope.spans {
                        spans.push(Span {
                            service: service.clone().unwrap_or_default(),
                            trace_id: hex(&span.trace_id),
                            span_id: hex(&span.span_id),
                            parent: hex(&span.parent_span_id),
                            name: span.name,
                            kind: span.kind,
                            attributes: span
                                .attributes
                                .iter()
                                .filter_map(|kv| {
                                    Some((
                                        kv.key.clone(),
                                        text(kv.value.as_ref()?.value.as_ref()?)?,
                                    ))
                                })
                                .collect(),
                        });
                    }
                }
            }
        }
        spans
    }
}

#[derive(Debug, Clone)]
struct Span {
    service: String,
    trace_id: String,
    span_id: String,
    parent: String,
    name: String,
    kind: i32,
    attributes: HashMap<String, String>,
}

fn text(value: &AnyValue) -> Option<String> {
    match value {
        AnyValue::StringValue(s) => Some(s.clone()),
        AnyValue::IntValue(n) => Some(n.to_string()),
        AnyValue::BoolValue(b) => Some(b.to_string()),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A `vaultql serve` process with its embedded vault in a temporary directory.
struct Gateway {
    child: Child,
    base: String,
    authorization: String,
    log: Arc<Mutex<Vec<String>>>,
    dir: tempfile::TempDir,
}

impl Gateway {
    /// Starts the binary with `env` and waits for its ready line; its log when it exits first.
    async fn start(env: &[(&str, &str)]) -> Result<Gateway, String> {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a data dir");
        let mut command = Command::new(env!("CARGO_BIN_EXE_vaultql"));
        command
            .args(["--listen", "127.0.0.1:0", "--data-dir", "data"])
            .current_dir(dir.path())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for var in OTEL_VARS {
            command.env_remove(var);
        }
        command.envs(env.iter().copied());
        let mut child = command.spawn().expect("the binary starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let lines = log.clone();
        // Drained to the end on a thread of its own, so the process never blocks on the pipe.
        std::thread::spawn(move || {
            let mut ready = Some(ready_tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(at) = line.find("GraphiQL at ")
                    && let Some(ready) = ready.take()
                {
                    let url = line[at + "GraphiQL at ".len()..].trim().to_owned();
                    let _ = ready.send(url);
                }
                lines.lock().unwrap().push(line);
            }
        });
        let Ok(graphiql) = ready_rx.await else {
            let _ = child.wait();
            return Err(log.lock().unwrap().join("\n"));
        };
        let key = std::fs::read_to_string(dir.path().join("data").join("dev-api-key"))
            .expect("the development key file");
        Ok(Gateway {
            child,
            base: graphiql.trim_end_matches("/graphql").to_owned(),
            authorization: format!("Basic {}", BASE64.encode(format!("{}:", key.trim()))),
            log,
            dir,
        })
    }

    async fn graphql(&self, query: &str, variables: Value, traceparent: Option<&str>) -> Value {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut request = client
            .post(format!("{}/graphql", self.base))
            .header("authorization", &self.authorization)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(traceparent) = traceparent {
            request = request.header("traceparent", traceparent);
        }
        let response = request.send().await.expect("a response");
        response.json().await.expect("a JSON answer")
    }

    /// SIGTERM, then waits for the process to exit (its graceful shutdown flushes the spans).
    async fn stop(self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(status.is_ok_and(|s| s.success()), "SIGTERM was sent");
        let mut child = self.child;
        let waited = tokio::time::timeout(
            STOP_DEADLINE,
            tokio::task::spawn_blocking(move || {
                let status = child.wait();
                (child, status)
            }),
        )
        .await;
        match waited {
            Ok(Ok((_, status))) => {
                let status = status.expect("the exit status");
                assert!(status.success(), "exit {status}: {:#?}", self.log);
            }
            _ => panic!("the process did not stop: {:#?}", self.log.lock().unwrap()),
        }
    }
}

const CUSTOMER_PAGE: &str = "query CustomerPage {
  customers(first: 5) { nodes { customerId subscriptions { __typename } } }
}";

/// A caller's trace: version 00, its trace id, its span id, sampled.
const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// A card number that only this test sends (Luhn-valid), in a mutation that fails.
const CARD: &str = "4000056655665556";
/// Text that is only in the mutation's document.
const DOCUMENT_MARKER: &str = "only_in_the_document_7f3a";

#[tokio::test(flavor = "multi_thread")]
async fn a_query_is_one_trace_through_gateway_loaders_and_vault_and_nothing_secret_is_exported() {
    let receiver = Receiver::start().await;
    let gateway = Gateway::start(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint)])
        .await
        .expect("the gateway starts");

    let page = gateway.graphql(CUSTOMER_PAGE, json!({}), None).await;
    assert!(page["errors"].is_null(), "{page}");
    assert!(
        !page["data"]["customers"]["nodes"]
            .as_array()
            .unwrap()
            .is_empty(),
        "the demo customers: {page}"
    );
    let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let joined = gateway
        .graphql(CUSTOMER_PAGE, json!({}), Some(&traceparent))
        .await;
    assert!(joined["errors"].is_null(), "{joined}");
    let failed = gateway
        .graphql(
            &format!(
                "mutation AddCard($input: AddCardInput!) {{
                   {DOCUMENT_MARKER}: addCard(input: $input) {{ card {{ cardId }} }}
                 }}"
            ),
            json!({ "input": {
                "customerId": "NoSuchCustomer", "cardNumber": CARD, "expDate": "1239",
                "billingZip": "94107"
            } }),
            None,
        )
        .await;
    assert!(!failed["errors"].is_null(), "the mutation fails: {failed}");
    // A card number fits the GraphQL name grammar after an underscore.
    let named = gateway
        .graphql(&format!("query _{CARD} {{ __typename }}"), json!({}), None)
        .await;
    assert!(named["errors"].is_null(), "{named}");
    let key = std::fs::read_to_string(gateway.dir.path().join("data").join("dev-api-key")).unwrap();
    gateway.stop().await;

    let spans = receiver.spans();
    let named = |name: &'static str| spans.iter().filter(move |s| s.name == name);
    let by_id = |id: &str| spans.iter().find(|s| s.span_id == id);

    // The first query: its own trace, from the gateway's request down to the vault's.
    let operation = named("query CustomerPage")
        .find(|s| s.trace_id != CALLER_TRACE)
        .unwrap_or_else(|| panic!("no operation span: {spans:#?}"));
    assert_eq!(operation.service, "vaultql");
    assert_eq!(
        operation.attributes["graphql.operation.name"],
        "CustomerPage"
    );
    assert_eq!(operation.attributes["graphql.operation.type"], "query");
    assert!(
        operation.attributes["graphql.cost"].parse::<u64>().unwrap() > 0,
        "{operation:?}"
    );
    let request = by_id(&operation.parent).expect("the operation's parent");
    assert_eq!(
        (request.name.as_str(), request.kind),
        ("POST /graphql", SERVER)
    );
    let trace = |span: &&Span| span.trace_id == operation.trace_id;
    let loader = named("load SubscriptionsByCustomer")
        .find(trace)
        .unwrap_or_else(|| panic!("no loader batch: {spans:#?}"));
    assert_eq!(loader.parent, operation.span_id, "{loader:?}");
    assert!(loader.attributes["loader.keys"].parse::<u64>().unwrap() > 1);
    let upstream = named("GET /subscription")
        .find(trace)
        .unwrap_or_else(|| panic!("no upstream call: {spans:#?}"));
    assert_eq!(upstream.kind, CLIENT);
    assert_eq!(upstream.parent, loader.span_id);
    assert_eq!(upstream.attributes["url.template"], "/subscription");
    assert_eq!(upstream.attributes["http.response.status_code"], "200");
    let vault = spans
        .iter()
        .find(|s| s.kind == SERVER && s.parent == upstream.span_id)
        .unwrap_or_else(|| panic!("no vault span under the call: {spans:#?}"));
    assert_eq!(vault.trace_id, operation.trace_id);
    assert_eq!(vault.name, "GET /platform/subscription");

    // The second: the caller's trace, its span the parent of the gateway's request.
    let caller = named("query CustomerPage")
        .find(|s| s.trace_id == CALLER_TRACE)
        .unwrap_or_else(|| panic!("the operation did not join the caller's trace: {spans:#?}"));
    let request = by_id(&caller.parent).expect("the request span");
    assert_eq!(request.parent, CALLER_SPAN);
    assert!(
        spans.iter().any(|s| s.trace_id == CALLER_TRACE
            && s.kind == SERVER
            && s.name.contains("/platform")),
        "the vault's spans joined the caller's trace too"
    );

    // The failed mutation: its error code and its call's route, never its variables, its
    // document or the concrete path it called.
    let mutation = named("mutation AddCard")
        .next()
        .expect("the mutation's span");
    assert_eq!(
        mutation.attributes["graphql.error.codes"], "NOT_FOUND",
        "{mutation:?}"
    );
    let call = named("POST /vault/customer/{customer_id}/billing")
        .find(|s| s.parent == mutation.span_id)
        .unwrap_or_else(|| panic!("the mutation's upstream call: {spans:#?}"));
    assert_eq!(call.attributes["http.response.status_code"], "404");
    assert!(
        call.attributes
            .values()
            .all(|v| !v.contains("NoSuchCustomer"))
    );
    let exported = receiver.bytes();
    assert!(!exported.is_empty());
    for secret in [CARD, DOCUMENT_MARKER, key.trim()] {
        assert!(
            memchr::memmem::find(&exported, secret.as_bytes()).is_none(),
            "{secret} was exported"
        );
    }
}

/// Off unless asked for: with no endpoint nothing reaches the default one (the receiver sits on
/// 4318 when that port is free), with `OTEL_SDK_DISABLED=true` nothing reaches the one named;
/// gRPC, not built in, is refused at start with what to set instead.
/// An operation over the GraphQL socket (`graphql-transport-ws`) is traced as one over HTTP
/// is: its operation span, the loader batch and upstream call under it, the vault's span joined.
#[tokio::test(flavor = "multi_thread")]
async fn an_operation_over_the_socket_is_one_trace_down_to_the_vault() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let receiver = Receiver::start().await;
    let gateway = Gateway::start(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint)])
        .await
        .expect("the gateway starts");
    let url = gateway.base.replacen("http://", "ws://", 1) + "/graphql";
    let mut request = url.into_client_request().expect("a request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the socket opens");
    let mut answers = Vec::new();
    for message in [
        json!({ "type": "connection_init", "payload": { "Authorization": gateway.authorization } }),
        json!({ "id": "1", "type": "subscribe", "payload": { "query": CUSTOMER_PAGE } }),
    ] {
        socket
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("sent");
        // Up to the acknowledgement, then up to the operation's `complete`.
        loop {
            let next = tokio::time::timeout(STOP_DEADLINE, socket.next())
                .await
                .expect("an answer in time");
            let Some(Ok(Message::Text(text))) = next else {
                panic!("the socket ended: {next:?}; {answers:?}");
            };
            let answer: Value = serde_json::from_str(&text).expect("JSON");
            let done = matches!(answer["type"].as_str(), Some("connection_ack" | "complete"));
            answers.push(answer);
            if done {
                break;
            }
        }
    }
    let result = answers
        .iter()
        .find(|answer| answer["type"] == "next")
        .unwrap_or_else(|| panic!("no result: {answers:?}"));
    assert!(result["payload"]["errors"].is_null(), "{result}");
    let _ = socket.close(None).await;
    gateway.stop().await;

    let spans = receiver.spans();
    let operation = spans
        .iter()
        .find(|s| s.name == "query CustomerPage")
        .unwrap_or_else(|| panic!("no operation span: {spans:#?}"));
    assert_eq!(operation.attributes["graphql.operation.type"], "query");
    let in_trace = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name && s.trace_id == operation.trace_id)
            .unwrap_or_else(|| panic!("no {name} in the operation's trace: {spans:#?}"))
    };
    let loader = in_trace("load SubscriptionsByCustomer");
    assert_eq!(loader.parent, operation.span_id);
    let upstream = in_trace("GET /subscription");
    assert_eq!((upstream.kind, &upstream.parent), (CLIENT, &loader.span_id));
    assert!(
        spans
            .iter()
            .any(|s| s.kind == SERVER && s.parent == upstream.span_id),
        "the vault's span joins the call: {spans:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn traces_stay_off_unless_asked_for_and_grpc_is_refused_at_start() {
    let receiver = match Receiver::start_on("127.0.0.1:4318").await {
        Ok(receiver) => receiver,
        Err(error) => {
            eprintln!("4318 is taken ({error}): the no-endpoint case proves less here");
            Receiver::start().await
        }
    };
    for env in [
        vec![
            ("OTEL_SERVICE_NAME", "vaultql-test"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ],
        vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint.as_str()),
            ("OTEL_SDK_DISABLED", "true"),
        ],
    ] {
        let gateway = Gateway::start(&env).await.expect("the gateway starts");
        let page = gateway.graphql(CUSTOMER_PAGE, json!({}), None).await;
        assert!(page["errors"].is_null(), "{page}");
        gateway.stop().await;
        assert!(
            receiver.bytes().is_empty(),
            "nothing is exported with {env:?}"
        );
    }

    let refused = Gateway::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
    ])
    .await
    .err()
    .expect("the gateway refuses to start");
    assert!(refused.contains("gRPC is not built in"), "{refused}");
}

/// `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`: the same spans as OTLP's JSON, and the service
/// named by `OTEL_SERVICE_NAME`.
#[tokio::test(flavor = "multi_thread")]
async fn http_json_is_sent_when_asked_for() {
    let receiver = Receiver::start().await;
    let gateway = Gateway::start(&[
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            &format!("{}/v1/traces", receiver.endpoint),
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_SERVICE_NAME", "vaultql-json"),
    ])
    .await
    .expect("the gateway starts");
    let page = gateway.graphql(CUSTOMER_PAGE, json!({}), None).await;
    assert!(page["errors"].is_null(), "{page}");
    gateway.stop().await;
    let bodies = receiver.bodies.lock().unwrap().clone();
    let names: Vec<String> = bodies
        .iter()
        .map(|body| serde_json::from_slice::<Value>(body).expect("OTLP JSON"))
        .flat_map(|request| {
            let mut names = Vec::new();
            for resource in request["resourceSpans"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let attributes = resource["resource"]["attributes"].as_array().cloned();
                let service = attributes
                    .unwrap_or_default()
                    .into_iter()
                    .find(|kv| kv["key"] == "service.name")
                    .map(|kv| kv["value"]["stringValue"].clone());
                assert_eq!(service, Some(json!("vaultql-json")), "{resource}");
                for scope in resource["scopeSpans"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                {
                    for span in scope["spans"].as_array().cloned().unwrap_or_default() {
                        names.push(span["name"].as_str().unwrap_or_default().to_owned());
                    }
                }
            }
            names
        })
        .collect();
    for name in [
        "POST /graphql",
        "query CustomerPage",
        "load SubscriptionsByCustomer",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
}
