//! GraphQL-over-HTTP behaviour of the router (status codes, media types, limits, scrubbing, GraphiQL) against a toy schema.

use std::sync::Arc;

use async_graphql::{Context, EmptySubscription, Object, Schema};
use reqwest::{RequestBuilder, StatusCode, header};
use serde_json::{Value, json};
use vaultql::gateway::graphiql::GRAPHIQL_AVAILABLE;
use vaultql::gateway::http::{self as gql_http, MAX_ALIASES, MAX_BATCH, MAX_QUERY_BYTES};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";
const CARD: &str = "4111111111111111";

struct Query;

#[Object]
impl Query {
    async fn hello(&self, name: Option<String>) -> String {
        format!("Hello, {}", name.as_deref().unwrap_or("world"))
    }

    async fn echo(&self, text: String) -> String {
        text
    }

    async fn double(&self, n: i32) -> i32 {
        n * 2
    }

    async fn boom(&self) -> async_graphql::Result<Option<String>> {
        Err("resolver failed".into())
    }

    /// Proves `prepare` ran: only it puts a `Tag` on the request.
    async fn tag(&self, ctx: &Context<'_>) -> Option<String> {
        ctx.data_opt::<Tag>().map(|tag| tag.0.to_owned())
    }
}

struct Mutation;

#[Object]
impl Mutation {
    async fn bump(&self) -> i32 {
        1
    }
}

struct Tag(&'static str);

async fn spawn() -> String {
    let schema = Schema::build(Query, Mutation, EmptySubscription).finish();
    // Admits every request: credentials are the gateway's, tested in `gateway::credentials`.
    let admit: gql_http::Admit = Arc::new(|_| {
        Ok(
            Arc::new(|request: async_graphql::Request, _: &_| request.data(Tag("prepared")))
                as gql_http::Prepare,
        )
    });
    let graphiql = gql_http::Graphiql::On {
        default_query: "{ hello }",
        default_headers: None,
    };
    let field_types = vaultql::gateway::nulls::FieldTypes::of_sdl(&schema.sdl());
    let app = gql_http::router(
        schema,
        field_types,
        admit,
        graphiql,
        1024 * 1024,
        Arc::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{addr}")
}

struct Reply {
    status: StatusCode,
    content_type: String,
    headers: header::HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    fn first_message(&self) -> String {
        self.json()["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

async fn send(request: RequestBuilder) -> Reply {
    let response = request.send().await.expect("request");
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let text = response.text().await.expect("body");
    Reply {
        status,
        content_type,
        headers,
        text,
    }
}

fn post(base: &str, accept: &str, body: &Value) -> RequestBuilder {
    post_raw(base, accept, JSON, body.to_string())
}

fn post_raw(base: &str, accept: &str, content_type: &str, body: String) -> RequestBuilder {
    reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .header(header::ACCEPT, accept)
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
}

fn get(base: &str, accept: &str, params: &[(&str, &str)]) -> RequestBuilder {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    reqwest::Client::new()
        .get(format!("{base}/graphql?{query}"))
        .header(header::ACCEPT, accept)
}

/// A GraphQL request error: 400 under graphql-response+json, 200 under application/json, never `data`.
fn assert_request_error(reply: &Reply, accept: &str) {
    let expected = if accept == GRAPHQL_RESPONSE {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    assert_eq!(reply.status, expected, "{}", reply.text);
    assert!(
        reply.content_type.starts_with(accept),
        "{}",
        reply.content_type
    );
    assert_errors_without_data(reply);
}

/// Not a well-formed GraphQL-over-HTTP request: 400 whatever the client accepts.
fn assert_malformed(reply: &Reply, accept: &str) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert!(
        reply.content_type.starts_with(accept),
        "{}",
        reply.content_type
    );
    assert_errors_without_data(reply);
}

fn assert_errors_without_data(reply: &Reply) {
    let body = reply.json();
    assert!(
        body.get("data").is_none(),
        "no data before execution: {body}"
    );
    assert!(body["errors"][0]["message"].is_string(), "{body}");
}

fn aliased_query(count: usize) -> String {
    let fields: Vec<String> = (0..count).map(|i| format!("a{i}: hello")).collect();
    format!("{{ {} }}", fields.join(" "))
}

#[tokio::test]
async fn post_json_executes() {
    let base = spawn().await;
    let reply = send(post(&base, JSON, &json!({ "query": "{ hello }" }))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type, "application/json; charset=utf-8");
    assert_eq!(reply.json(), json!({ "data": { "hello": "Hello, world" } }));
}

#[tokio::test]
async fn post_matches_graphql_response_json_and_takes_all_parameters() {
    let base = spawn().await;
    let body = json!({
        "query": "query Greet($name: String) { hello(name: $name) }",
        "operationName": "Greet",
        "variables": { "name": "Ada" },
        "extensions": { "some": "value" },
    });
    let reply = send(post(&base, GRAPHQL_RESPONSE, &body)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.content_type,
        "application/graphql-response+json; charset=utf-8"
    );
    assert_eq!(reply.json(), json!({ "data": { "hello": "Hello, Ada" } }));
}

#[tokio::test]
async fn wildcard_accept_gets_application_json() {
    let base = spawn().await;
    let reply = send(post(&base, "*/*", &json!({ "query": "{ hello }" }))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.content_type.starts_with(JSON));
}

#[tokio::test]
async fn null_optional_parameters_are_allowed() {
    let base = spawn().await;
    let body = json!({ "query": "{ hello }", "operationName": null, "variables": null, "extensions": null });
    let reply = send(post(&base, GRAPHQL_RESPONSE, &body)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({ "data": { "hello": "Hello, world" } }));
}

#[tokio::test]
async fn prepare_runs_before_execution() {
    let base = spawn().await;
    let reply = send(post(&base, JSON, &json!({ "query": "{ tag }" }))).await;
    assert_eq!(reply.json(), json!({ "data": { "tag": "prepared" } }));
}

#[tokio::test]
async fn get_executes_queries_with_variables() {
    let base = spawn().await;
    let params = [
        ("query", "query($name: String) { hello(name: $name) }"),
        ("variables", r#"{"name":"Grace"}"#),
    ];
    let reply = send(get(&base, GRAPHQL_RESPONSE, &params)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json(), json!({ "data": { "hello": "Hello, Grace" } }));
}

#[tokio::test]
async fn get_refuses_mutations_with_405() {
    let base = spawn().await;
    for accept in [GRAPHQL_RESPONSE, JSON] {
        let reply = send(get(&base, accept, &[("query", "mutation { bump }")])).await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(reply.headers[header::ALLOW], "POST");
        assert!(reply.json().get("data").is_none());
    }
    let named = [
        ("query", "query Q { hello } mutation M { bump }"),
        ("operationName", "M"),
    ];
    let reply = send(get(&base, JSON, &named)).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn get_without_query_or_with_bad_variables_is_400() {
    let base = spawn().await;
    for accept in [GRAPHQL_RESPONSE, JSON] {
        assert_malformed(&send(get(&base, accept, &[])).await, accept);
    }
    let bad_variables = [("query", "{ hello }"), ("variables", "[1]")];
    assert_malformed(&send(get(&base, JSON, &bad_variables)).await, JSON);
}

#[tokio::test]
async fn syntax_error_is_400_under_graphql_response_json() {
    let base = spawn().await;
    let reply = send(post(&base, GRAPHQL_RESPONSE, &json!({ "query": "{" }))).await;
    assert_request_error(&reply, GRAPHQL_RESPONSE);
}

#[tokio::test]
async fn syntax_error_is_200_under_application_json() {
    let base = spawn().await;
    let reply = send(post(&base, JSON, &json!({ "query": "{" }))).await;
    assert_request_error(&reply, JSON);
}

#[tokio::test]
async fn validation_error_is_a_request_error() {
    let base = spawn().await;
    for accept in [GRAPHQL_RESPONSE, JSON] {
        let reply = send(post(&base, accept, &json!({ "query": "{ noSuchField }" }))).await;
        assert_request_error(&reply, accept);
    }
}

#[tokio::test]
async fn variable_coercion_and_unknown_operation_are_request_errors() {
    let base = spawn().await;
    let coercion =
        json!({ "query": "query($n: Int!) { double(n: $n) }", "variables": { "n": "x" } });
    let unknown = json!({ "query": "query A { hello }", "operationName": "B" });
    for body in [coercion, unknown] {
        let reply = send(post(&base, GRAPHQL_RESPONSE, &body)).await;
        assert_request_error(&reply, GRAPHQL_RESPONSE);
    }
}

#[tokio::test]
async fn field_error_is_200_with_data_and_errors() {
    let base = spawn().await;
    let reply = send(post(
        &base,
        GRAPHQL_RESPONSE,
        &json!({ "query": "{ hello boom }" }),
    ))
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    // async-graphql 7 leaves an errored field out of `data`; the layer puts its null back.
    assert_eq!(body["data"], json!({"hello": "Hello, world", "boom": null}));
    assert_eq!(body["errors"][0]["path"], json!(["boom"]));

    // Every root field failing: execution ran, so it is not a request error.
    let reply = send(post(
        &base,
        GRAPHQL_RESPONSE,
        &json!({ "query": "{ boom }" }),
    ))
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["data"], json!({"boom": null}));
}

#[tokio::test]
async fn unsupported_content_types_get_415() {
    let base = spawn().await;
    let body = json!({ "query": "{ hello }" }).to_string();
    for content_type in [
        "text/plain",
        "application/json; charset=latin1",
        "application/graphql",
    ] {
        let reply = send(post_raw(&base, JSON, content_type, body.clone())).await;
        assert_eq!(
            reply.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
    }
    let bare = reqwest::Client::new().post(format!("{base}/graphql"));
    assert_eq!(send(bare).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let utf8 = send(post_raw(
        &base,
        JSON,
        "application/json; charset=UTF-8",
        body,
    ))
    .await;
    assert_eq!(utf8.status, StatusCode::OK);
}

#[tokio::test]
async fn unacceptable_accept_gets_406() {
    let base = spawn().await;
    let reply = send(post(&base, "text/plain", &json!({ "query": "{ hello }" }))).await;
    assert_eq!(reply.status, StatusCode::NOT_ACCEPTABLE);
    let refused = "application/json;q=0, text/plain";
    let reply = send(post(&base, refused, &json!({ "query": "{ hello }" }))).await;
    assert_eq!(reply.status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn batch_of_two_answers_an_array() {
    let base = spawn().await;
    let batch = json!([{ "query": "{ hello }" }, { "query": "{ nope }" }]);
    let reply = send(post(&base, GRAPHQL_RESPONSE, &batch)).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body[0], json!({ "data": { "hello": "Hello, world" } }));
    assert!(
        body[1].get("data").is_none() && body[1]["errors"].is_array(),
        "{body}"
    );
}

#[tokio::test]
async fn batch_over_the_limit_is_rejected() {
    let base = spawn().await;
    let batch = Value::Array(vec![json!({ "query": "{ hello }" }); MAX_BATCH + 1]);
    let reply = send(post(&base, GRAPHQL_RESPONSE, &batch)).await;
    assert_malformed(&reply, GRAPHQL_RESPONSE);
    assert_eq!(
        reply.first_message(),
        "batch of 11 operations exceeds the limit of 10"
    );
    assert_malformed(&send(post(&base, JSON, &batch)).await, JSON);
    assert_malformed(&send(post(&base, JSON, &json!([]))).await, JSON);

    let full = Value::Array(vec![json!({ "query": "{ hello }" }); MAX_BATCH]);
    let reply = send(post(&base, JSON, &full)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json().as_array().map(Vec::len), Some(MAX_BATCH));
}

#[tokio::test]
async fn alias_limit_counts_operations_and_fragments() {
    let base = spawn().await;
    let ok = send(post(
        &base,
        GRAPHQL_RESPONSE,
        &json!({ "query": aliased_query(20) }),
    ))
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.json()["data"]["a19"], "Hello, world");

    let over = send(post(
        &base,
        GRAPHQL_RESPONSE,
        &json!({ "query": aliased_query(MAX_ALIASES + 1) }),
    ))
    .await;
    assert_request_error(&over, GRAPHQL_RESPONSE);
    assert!(
        over.first_message().contains("101 aliased fields"),
        "{}",
        over.text
    );

    let spread = format!(
        "{{ ...F b: hello }} fragment F on Query {}",
        aliased_query(MAX_ALIASES)
    );
    let over = send(post(&base, GRAPHQL_RESPONSE, &json!({ "query": spread }))).await;
    assert_request_error(&over, GRAPHQL_RESPONSE);
}

#[tokio::test]
async fn oversized_query_is_rejected() {
    let base = spawn().await;
    let query = format!("{{ hello }} # {}", "x".repeat(MAX_QUERY_BYTES));
    let reply = send(post(&base, GRAPHQL_RESPONSE, &json!({ "query": query }))).await;
    assert_request_error(&reply, GRAPHQL_RESPONSE);
    assert!(
        reply.first_message().contains("exceeds the limit"),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn deep_nesting_is_refused_without_harming_the_server() {
    let base = spawn().await;
    let query = format!("{}{}", "{ a ".repeat(5_000), "}".repeat(5_000));
    let reply = send(post(&base, GRAPHQL_RESPONSE, &json!({ "query": query }))).await;
    assert_request_error(&reply, GRAPHQL_RESPONSE);
    let after = send(post(&base, JSON, &json!({ "query": "{ hello }" }))).await;
    assert_eq!(after.status, StatusCode::OK);
}

#[tokio::test]
async fn invalid_parameters_are_400() {
    let base = spawn().await;
    let bodies = [
        json!({ "query": "{ hello }", "variables": "string" }),
        json!({ "query": "{ hello }", "variables": 0 }),
        json!({ "query": "{ hello }", "variables": ["array"] }),
        json!({ "query": "{ hello }", "extensions": false }),
        json!({ "query": "{ hello }", "operationName": 0 }),
        json!({ "query": { "obj": "ect" } }),
        json!({ "notquery": "{ hello }" }),
        json!("just a string"),
    ];
    for body in &bodies {
        for accept in [GRAPHQL_RESPONSE, JSON] {
            let reply = send(post(&base, accept, body)).await;
            assert_malformed(&reply, accept);
        }
    }
}

#[tokio::test]
async fn malformed_json_and_empty_body_are_400() {
    let base = spawn().await;
    for body in [r#"{ "not a JSON"#, ""] {
        for accept in [GRAPHQL_RESPONSE, JSON] {
            let reply = send(post_raw(&base, accept, JSON, body.to_owned())).await;
            assert_malformed(&reply, accept);
        }
    }
}

#[tokio::test]
async fn long_digit_runs_never_leave_the_server() {
    let base = spawn().await;
    let queries = [
        format!("{{ echo(text: {CARD}) }}"),
        format!("{{ {CARD} }}"),
        format!("{{ double(n: {CARD}) }}"),
    ];
    for query in queries {
        let reply = send(post(&base, GRAPHQL_RESPONSE, &json!({ "query": query }))).await;
        assert!(reply.json()["errors"].is_array(), "{}", reply.text);
        assert!(!reply.text.contains(CARD), "leaked: {}", reply.text);
    }
}

#[tokio::test]
async fn graphiql_page_uses_only_same_origin_assets() {
    let base = spawn().await;
    let page = send(
        reqwest::Client::new()
            .get(format!("{base}/graphql"))
            .header(header::ACCEPT, "text/html"),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.content_type, "text/html; charset=utf-8");
    if !GRAPHIQL_AVAILABLE {
        assert!(
            page.text.contains("npm pack graphiql@4.1.2"),
            "{}",
            page.text
        );
        return;
    }
    let urls: Vec<&str> = page
        .text
        .split(['"', '\''])
        .filter(|s| s.contains("/graphiql/"))
        .collect();
    assert_eq!(urls.len(), 5, "{urls:?}");
    assert!(
        urls.iter().all(|url| url.starts_with("/graphiql/")),
        "{urls:?}"
    );
    assert!(
        !page.text.contains("//"),
        "no absolute or protocol-relative URLs: {}",
        page.text
    );
    assert!(page.text.contains(r#"data-default-query="{ hello }""#));
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap_or_default();
    assert!(csp.contains("script-src 'self'"), "{csp}");
}

#[tokio::test]
async fn graphiql_assets_are_served_with_their_types() {
    let base = spawn().await;
    let assets = [
        ("graphiql.min.js", "text/javascript"),
        ("graphiql.min.css", "text/css"),
        ("react.production.min.js", "text/javascript"),
        ("react-dom.production.min.js", "text/javascript"),
        ("start.js", "text/javascript"),
        ("LICENSES.txt", "text/plain"),
    ];
    for (file, content_type) in assets {
        let reply = send(reqwest::Client::new().get(format!("{base}/graphiql/{file}"))).await;
        if !GRAPHIQL_AVAILABLE {
            assert_eq!(reply.status, StatusCode::NOT_FOUND);
            continue;
        }
        assert_eq!(reply.status, StatusCode::OK, "{file}");
        assert!(
            reply.content_type.starts_with(content_type),
            "{file}: {}",
            reply.content_type
        );
        assert!(!reply.text.is_empty(), "{file}");
        let cache = reply.headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap_or_default();
        assert!(cache.contains("max-age=31536000"), "{file}: {cache}");
    }
}
