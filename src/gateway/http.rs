//! GraphQL over HTTP (the graphql-over-http spec): `GET`/`POST /graphql`, admission by credentials before anything is parsed, media-type negotiation, batching, request limits and error scrubbing.

use crate::gateway::apq::{ApqError, Persisted, PersistedQueries};
use crate::gateway::caller_cache;
use crate::gateway::documents::ParsedDocuments;
use crate::gateway::idle::IdleBatches;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_graphql::parser::parse_query;
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{Executor, ServerError, Value as GqlValue, Variables};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::cost;
use super::error::{code_label, coded};
use super::graphiql;
use super::nulls::FieldTypes;
use crate::metrics::{GraphqlRequest, Metrics};
use crate::redact::{CARD_LIKE_DIGITS, redact_digits};
use crate::telemetry::spans;
use tracing::Instrument;

/// Most operations one batched POST may carry.
pub const MAX_BATCH: usize = 10;
/// Largest accepted query document, in bytes.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;
/// Most aliased fields in one document, each fragment counted once per spread: aliases let a
/// small query fan out into many resolver calls.
pub const MAX_ALIASES: usize = 100;
/// Most fields one document selects, each fragment counted once per spread. Checked before
/// validation, which walks every spread again.
pub const MAX_FIELDS: usize = 5_000;
/// Largest accepted POST body: room for a full batch of maximal queries plus their variables.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Attaches per-request data (the caller's upstream client, dataloaders) to an operation; its
/// dataloaders park their fetches in the operation's [`IdleBatches`].
pub type Prepare =
    Arc<dyn Fn(async_graphql::Request, &IdleBatches) -> async_graphql::Request + Send + Sync>;

/// Admits a request by its headers before anything in it is parsed: what to attach to each of
/// its operations, or why it is refused (a 401).
pub type Admit = Arc<dyn Fn(&HeaderMap) -> Result<Prepare, Unauthenticated> + Send + Sync>;

/// Why a request's credentials were refused; the message never quotes them.
#[derive(Debug, Clone, Copy)]
pub struct Unauthenticated(pub &'static str);

/// The challenges sent with every 401: a secret key (Basic) or a customer session token (Bearer).
const WWW_AUTHENTICATE: [&str; 2] = [
    r#"Basic realm="vaultql", charset="UTF-8""#,
    r#"Bearer realm="vaultql""#,
];

/// async-graphql's own messages (validation, input coercion) quote the caller's values: there
/// any run of this many digits goes, since a CVV has 3 or 4.
const ECHOED_DIGITS: usize = 3;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

struct Shared<E> {
    executor: E,
    /// Puts back the nulls of failed fields.
    field_types: FieldTypes,
    admit: Admit,
    persisted: PersistedQueries,
    documents: ParsedDocuments,
    graphiql: Graphiql,
    max_response_bytes: usize,
    metrics: Arc<Metrics>,
}

/// How `GET /graphql` answers a browser.
#[derive(Clone)]
pub enum Graphiql {
    /// No page: production.
    Off,
    /// The page, with this example query, and headers to start with (the development key, only
    /// when the gateway runs with its embedded vault on loopback).
    On {
        default_query: &'static str,
        default_headers: Option<String>,
    },
}

/// `GET`/`POST /graphql`, plus GraphiQL (its page on `GET /graphql` from browsers, its files under `/graphiql/`).
pub fn router<E: Executor>(
    executor: E,
    field_types: FieldTypes,
    admit: Admit,
    graphiql: Graphiql,
    max_response_bytes: usize,
    metrics: Arc<Metrics>,
) -> Router {
    let shared = Arc::new(Shared {
        executor,
        field_types,
        admit,
        persisted: PersistedQueries::default(),
        documents: ParsedDocuments::default(),
        graphiql,
        max_response_bytes,
        metrics,
    });
    Router::new()
        .route("/graphql", get(get_graphql::<E>).post(post_graphql::<E>))
        .with_state(shared)
        .merge(graphiql::asset_routes())
}

async fn get_graphql<E: Executor>(
    State(shared): State<Arc<Shared<E>>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let raw = uri.query().unwrap_or_default();
    let has_query = form_urlencoded::parse(raw.as_bytes()).any(|(key, _)| key == "query");
    if !has_query
        && accepts(&headers, "text/html")
        && let Graphiql::On {
            default_query,
            default_headers,
        } = &shared.graphiql
    {
        return graphiql::page(default_query, default_headers.as_deref());
    }
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let prepare = match (shared.admit)(&headers) {
        Ok(prepare) => prepare,
        Err(refused) => return reply(media, Err(Rejection::unauthenticated(refused.0))),
    };
    let result = match get_fields(raw) {
        Ok(fields) => {
            let caller = caller_cache::caller(&headers);
            run_json(&shared, &prepare, caller, Value::Object(fields), true).await
        }
        Err(rejection) => Err(rejection),
    };
    reply(media, result)
}

async fn post_graphql<E: Executor>(
    State(shared): State<Arc<Shared<E>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let prepare = match (shared.admit)(&headers) {
        Ok(prepare) => prepare,
        Err(refused) => return reply(media, Err(Rejection::unauthenticated(refused.0))),
    };
    if !is_json_utf8(&headers) {
        let message = "POST bodies must be sent as Content-Type: application/json (UTF-8)";
        return json_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            errors_body(message),
        );
    }
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        let message = format!("request body is over {MAX_BODY_BYTES} bytes or could not be read");
        return json_response(StatusCode::PAYLOAD_TOO_LARGE, media, errors_body(&message));
    };
    let caller = caller_cache::caller(&headers);
    let result = match serde_json::from_slice(&bytes) {
        Ok(Value::Array(batch)) => {
            return run_batch(&shared, &prepare, caller, media, batch).await;
        }
        Ok(single) => run_json(&shared, &prepare, caller, single, false).await,
        Err(error) => Err(Rejection::malformed(format!(
            "malformed JSON body: {error}"
        ))),
    };
    reply(media, result)
}

/// Runs sequentially: a batch is at most `MAX_BATCH` operations, and this keeps a batch's load on upstreams bounded.
async fn run_batch<E: Executor>(
    shared: &Shared<E>,
    prepare: &Prepare,
    caller: [u8; 32],
    media: Media,
    batch: Vec<Value>,
) -> Response {
    if batch.is_empty() || batch.len() > MAX_BATCH {
        let message = match batch.len() {
            0 => "a batch must hold at least one operation".to_owned(),
            n => format!("batch of {n} operations exceeds the limit of {MAX_BATCH}"),
        };
        tracing::debug!(operations = batch.len(), "GraphQL batch rejected");
        return reply(media, Err(Rejection::malformed(message)));
    }
    let mut results = Vec::with_capacity(batch.len());
    for item in batch {
        match run_json(shared, prepare, caller, item, false).await {
            // The key is the whole batch's: refused for one operation, refused for all.
            Err(rejection @ Rejection::Unauthenticated(_)) => return reply(media, Err(rejection)),
            Err(rejection) => results.push(rejection.into_body().to_string()),
            Ok(text) => results.push(text),
        }
    }
    text_response(StatusCode::OK, media, format!("[{}]", results.join(",")))
}

/// Runs one operation and counts it in the metrics (see [`Seen`]).
async fn run_json<E: Executor>(
    shared: &Shared<E>,
    prepare: &Prepare,
    caller: [u8; 32],
    body: Value,
    via_get: bool,
) -> Result<String, Rejection> {
    let started = std::time::Instant::now();
    let mut seen = Seen::default();
    let result = execute_json(shared, prepare, caller, body, via_get, &mut seen).await;
    seen.record(&shared.metrics, &result, started.elapsed());
    result
}

async fn execute_json<E: Executor>(
    shared: &Shared<E>,
    prepare: &Prepare,
    caller: [u8; 32],
    body: Value,
    via_get: bool,
    seen: &mut Seen,
) -> Result<String, Rejection> {
    let mut params = Params::from_json(body)?;
    seen.operation = record_operation(params.operation_name.as_deref()).to_owned();
    // Automatic persisted queries: a known hash stands for its query; a query sent with its
    // hash is kept once it has parsed within the limits.
    let persisted = Persisted::from_extensions(caller, params.extensions.as_ref())?;
    let (query, sent) = match (params.query.take(), &persisted) {
        (Some(query), Some(persisted)) => {
            persisted.check(&query)?;
            (query, true)
        }
        (Some(query), None) => (query, false),
        (None, Some(persisted)) => (shared.persisted.get(persisted)?.to_string(), false),
        (None, None) => return Err(Rejection::malformed("the `query` parameter is missing")),
    };
    let document = shared
        .documents
        .get_or_parse(caller, &query, checked_document)?;
    if let (Some(persisted), true) = (&persisted, sent) {
        shared.persisted.put(persisted, &query);
    }
    seen.operation_type = operation_type(&document, params.operation_name.as_deref());
    if via_get && selects_mutation(&document, params.operation_name.as_deref()) {
        return Err(Rejection::MutationOverGet);
    }
    let batches = IdleBatches::default();
    let operation_name = params.operation_name.clone();
    let span = operation_span(&document, operation_name.as_deref());
    let request = prepare(params.into_request(query.clone(), document)?, &batches);
    let mut response = batches
        .drive(shared.executor.execute(request))
        .instrument(span.clone())
        .await;
    if is_request_error(&response) {
        response.errors.iter_mut().for_each(cost::explain);
    }
    spans::operation_errors(&span, error_codes(&response.errors));
    if response.errors.iter().any(is_unauthenticated) {
        // The upstream refused the caller's key: a 401, not a 200 with field errors.
        return Err(Rejection::Unauthenticated(response.errors));
    }
    if is_request_error(&response) {
        return Err(Rejection::Request(response.errors));
    }
    seen.errors = response.errors.iter().map(code_label).collect();
    shared
        .field_types
        .complete(&mut response, &query, operation_name.as_deref());
    // Serialized once, here: its length is what the limit is checked on.
    let body = response_text(&response);
    let size = body.len();
    if size > shared.max_response_bytes {
        // Execution happened (a mutation's change stands); only its answer is withheld.
        tracing::debug!(size, "GraphQL response over the size limit");
        let codes = error_codes(&response.errors).chain(["RESPONSE_TOO_LARGE"]);
        spans::operation_errors(&span, codes);
        let error = coded(
            "RESPONSE_TOO_LARGE",
            format!(
                "the response of {size} bytes exceeds the limit of {} bytes: ask for smaller \
                 pages or fewer fields",
                shared.max_response_bytes
            ),
        );
        seen.errors = vec![code_label(&error)];
        return Ok(json!({ "data": null, "errors": errors_json(&[error]) }).to_string());
    }
    Ok(body)
}

/// Puts the operation's name on the request's log line (`operation`): a GraphQL name, or
/// `(anonymous)`; anything else the client sent there is not logged, only `(invalid)`, nor is
/// a name with a card-like run of digits (`_4111111111111111` is a GraphQL name).
/// Returns what it logged.
fn record_operation(name: Option<&str>) -> &str {
    let shown = match name {
        None => "(anonymous)",
        Some(name) if is_graphql_name(name) && !has_card_like_digits(name) => name,
        Some(_) => "(invalid)",
    };
    tracing::Span::current().record("operation", tracing::field::display(shown));
    shown
}

/// What the metrics count of one operation: its name as logged, its type once its document
/// parsed, and the codes of the errors of an executed operation. An operation is `ok`,
/// `error` (it executed and its answer has errors) or `rejected` (nothing executed: the
/// request was malformed, did not parse or validate, or its credentials were refused).
#[derive(Default)]
struct Seen {
    /// Empty when the request could not be read far enough to have a name.
    operation: String,
    operation_type: Option<OperationType>,
    errors: Vec<&'static str>,
}

impl Seen {
    fn record(
        self,
        metrics: &Metrics,
        result: &Result<String, Rejection>,
        elapsed: std::time::Duration,
    ) {
        let (outcome, errors) = match result {
            Ok(_) if self.errors.is_empty() => ("ok", self.errors),
            Ok(_) => ("error", self.errors),
            Err(Rejection::Request(errors) | Rejection::Unauthenticated(errors)) => {
                ("rejected", errors.iter().map(code_label).collect())
            }
            Err(Rejection::PersistedQueryNotFound) => {
                ("rejected", vec!["PERSISTED_QUERY_NOT_FOUND"])
            }
            Err(Rejection::Malformed(_) | Rejection::MutationOverGet) => ("rejected", vec!["NONE"]),
        };
        for code in errors {
            metrics.record_graphql_error(code);
        }
        metrics.record_graphql(GraphqlRequest {
            operation: match self.operation.as_str() {
                "" => "(invalid)",
                name => name,
            },
            operation_type: match self.operation_type {
                Some(OperationType::Query) => "query",
                Some(OperationType::Mutation) => "mutation",
                Some(OperationType::Subscription) => "subscription",
                None => "unknown",
            },
            outcome,
            elapsed,
        });
    }
}

fn has_card_like_digits(name: &str) -> bool {
    matches!(
        redact_digits(name, CARD_LIKE_DIGITS),
        std::borrow::Cow::Owned(_)
    )
}

/// The operation's trace span (see [`spans::operation`]): its type and name (a parsed GraphQL
/// name, so never anything else the client sent) as the executor will pick them.
pub(super) fn operation_span(document: &ExecutableDocument, name: Option<&str>) -> tracing::Span {
    if !crate::telemetry::traces() {
        return tracing::Span::none();
    }
    let Some((name, ty)) = selected_operation(document, name) else {
        return spans::operation(None, None);
    };
    // `_4111111111111111` is a GraphQL name: such a name is left out, as on the log line.
    let name = name.filter(|name| !has_card_like_digits(name));
    let ty = match ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    spans::operation(Some(ty), name)
}

/// The `extensions.code` of each error that has one, as the metrics label it: one of the
/// gateway's own codes or `OTHER`, so nothing else a message carried can reach a span.
pub(super) fn error_codes(errors: &[ServerError]) -> impl Iterator<Item = &'static str> + '_ {
    errors.iter().map(code_label).filter(|code| *code != "NONE")
}

/// `[_A-Za-z][_0-9A-Za-z]*`, at most 100 characters (`_4111...` is one: see `has_card_like_digits`).
fn is_graphql_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 100
        && chars
            .next()
            .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

fn is_unauthenticated(error: &ServerError) -> bool {
    error
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.get("code"))
        .is_some_and(|code| *code == GqlValue::from("UNAUTHENTICATED"))
}

/// async-graphql gives parse, validation, variable-coercion and operation-selection failures `data: null` and
/// errors without a `path`; resolver errors always carry their field's path, even when they null the whole root.
/// So "errors, null data, no paths" means nothing executed, which the spec calls a request error.
fn is_request_error(response: &async_graphql::Response) -> bool {
    !response.errors.is_empty()
        && response.data == GqlValue::Null
        && response.errors.iter().all(|error| error.path.is_empty())
}

/// Parses once here (the executor reuses the document) so the limits run before any validation work.
fn checked_document(query: &str) -> Result<ExecutableDocument, Rejection> {
    if query.len() > MAX_QUERY_BYTES {
        let size = query.len();
        tracing::debug!(size, "GraphQL query over the size limit");
        return Err(Rejection::request(
            "QUERY_TOO_LARGE",
            format!("query of {size} bytes exceeds the limit of {MAX_QUERY_BYTES} bytes"),
        ));
    }
    let document =
        parse_query(query).map_err(|error| Rejection::Request(vec![syntax_error(error)]))?;
    let Selections { fields, aliases } = selections(&document);
    if fields > MAX_FIELDS {
        tracing::debug!(fields, "GraphQL query over the field limit");
        return Err(Rejection::request(
            "QUERY_TOO_COMPLEX",
            format!(
                "query selects {fields} fields (fragments counted at each spread), exceeding \
                 the limit of {MAX_FIELDS}"
            ),
        ));
    }
    if aliases > MAX_ALIASES {
        tracing::debug!(aliases, "GraphQL query over the alias limit");
        return Err(Rejection::request(
            "QUERY_TOO_COMPLEX",
            format!("query has {aliases} aliased fields, exceeding the limit of {MAX_ALIASES}"),
        ));
    }
    Ok(document)
}

/// The limits [`checked_document`] applies, for operations that arrive over WebSocket: the
/// parsed document, or the request errors to answer.
pub fn check_document(query: &str) -> Result<ExecutableDocument, Vec<ServerError>> {
    checked_document(query).map_err(|rejection| match rejection {
        Rejection::Request(mut errors) => {
            scrub_errors(&mut errors);
            errors
        }
        _ => vec![coded("BAD_REQUEST", "the operation could not be read")],
    })
}

/// The type of the operation the executor will pick; `None` when it is ambiguous or unknown
/// (the executor reports that).
pub fn operation_type(document: &ExecutableDocument, name: Option<&str>) -> Option<OperationType> {
    selected_operation(document, name).map(|(_, ty)| ty)
}

/// The name (if it has one) and type of the operation the executor will pick.
fn selected_operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<(Option<&'a str>, OperationType)> {
    let mut operations = document.operations.iter();
    let selected = match name {
        Some(name) => operations.find(|(op_name, _)| op_name.is_some_and(|n| n.as_str() == name)),
        None if operations.len() == 1 => operations.next(),
        None => None,
    };
    selected.map(|(name, operation)| (name.map(|n| n.as_str()), operation.node.ty))
}

/// Scrubs error messages as [`errors_json`] does, for answers that are not written by it (those
/// sent over WebSocket).
pub fn scrub_errors(errors: &mut [ServerError]) {
    for error in errors {
        let ours = error
            .extensions
            .as_ref()
            .is_some_and(|extensions| extensions.get("code").is_some());
        let min_digits = if ours {
            CARD_LIKE_DIGITS
        } else {
            ECHOED_DIGITS
        };
        error.message = redact_digits(&error.message, min_digits).into_owned();
    }
}

/// The parser's message quotes the offending source line, which may hold a card number or a
/// CVV typed into a literal: only its position and what was expected there are kept.
fn syntax_error(error: async_graphql::parser::Error) -> ServerError {
    let locations: Vec<_> = error.positions().collect();
    let expected = error
        .to_string()
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("= ").map(str::to_owned));
    let at = locations
        .first()
        .map(|pos| format!(" at line {}, column {}", pos.line, pos.column))
        .unwrap_or_default();
    let message = match expected {
        Some(expected) => format!("syntax error{at}: {expected}"),
        None => format!("syntax error{at}"),
    };
    let mut error = ServerError::new(message, None);
    error.locations = locations;
    error
}

/// What a document selects when it runs.
#[derive(Clone, Copy, Default)]
struct Selections {
    fields: usize,
    aliases: usize,
}

impl std::ops::AddAssign for Selections {
    fn add_assign(&mut self, other: Self) {
        self.fields = self.fields.saturating_add(other.fields);
        self.aliases = self.aliases.saturating_add(other.aliases);
    }
}

/// Fragments spread inside fragments deeper than this count as over every limit.
const MAX_FRAGMENT_NESTING: usize = 32;

/// Fields and aliases of every operation, each fragment counted once per spread (a fragment's
/// own count is worked out once). A spread of an unknown fragment, or of one already being
/// expanded (a cycle), counts nothing here: validation refuses both.
fn selections(document: &ExecutableDocument) -> Selections {
    let mut walk = SpreadWalk {
        document,
        counted: HashMap::new(),
        expanding: Vec::new(),
    };
    let mut total = Selections::default();
    for (_, operation) in document.operations.iter() {
        total += walk.set(&operation.node.selection_set.node);
    }
    total
}

struct SpreadWalk<'a> {
    document: &'a ExecutableDocument,
    counted: HashMap<&'a str, Selections>,
    expanding: Vec<&'a str>,
}

impl<'a> SpreadWalk<'a> {
    fn set(&mut self, set: &'a SelectionSet) -> Selections {
        let mut total = Selections::default();
        for item in &set.items {
            total += match &item.node {
                Selection::Field(field) => {
                    let mut field_total = Selections {
                        fields: 1,
                        aliases: usize::from(field.node.alias.is_some()),
                    };
                    field_total += self.set(&field.node.selection_set.node);
                    field_total
                }
                Selection::InlineFragment(inline) => self.set(&inline.node.selection_set.node),
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str())
                }
            };
        }
        total
    }

    fn fragment(&mut self, name: &'a str) -> Selections {
        if let Some(counted) = self.counted.get(name) {
            return *counted;
        }
        if self.expanding.len() >= MAX_FRAGMENT_NESTING {
            return Selections {
                fields: usize::MAX,
                aliases: usize::MAX,
            };
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            return Selections::default();
        };
        if self.expanding.contains(&name) {
            return Selections::default();
        }
        self.expanding.push(name);
        let counted = self.set(&fragment.node.selection_set.node);
        self.expanding.pop();
        self.counted.insert(name, counted);
        counted
    }
}

/// Whether the operation the executor will pick is a mutation.
fn selects_mutation(document: &ExecutableDocument, name: Option<&str>) -> bool {
    operation_type(document, name) == Some(OperationType::Mutation)
}

/// The request parameters of the spec, with their types already checked.
struct Params {
    /// Absent when the request names a persisted query by its hash instead.
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
    extensions: Option<Map<String, Value>>,
}

impl Params {
    fn from_json(body: Value) -> Result<Self, Rejection> {
        let Value::Object(mut fields) = body else {
            return Err(Rejection::malformed(
                "a GraphQL request must be a JSON object",
            ));
        };
        let query = match fields.remove("query") {
            Some(Value::String(query)) => Some(query),
            None | Some(Value::Null) => None,
            Some(_) => {
                return Err(Rejection::malformed(
                    "the `query` parameter must be a string",
                ));
            }
        };
        Ok(Self {
            query,
            operation_name: optional_string(&mut fields, "operationName")?,
            variables: optional_object(&mut fields, "variables")?,
            extensions: optional_object(&mut fields, "extensions")?,
        })
    }

    fn into_request(
        self,
        query: String,
        document: ExecutableDocument,
    ) -> Result<async_graphql::Request, Rejection> {
        let mut request = async_graphql::Request::new(query);
        request.operation_name = self.operation_name;
        if let Some(variables) = self.variables {
            request.variables = Variables::from_json(Value::Object(variables));
        }
        if let Some(extensions) = self.extensions {
            request.extensions = serde_json::from_value(Value::Object(extensions))
                .map_err(|_| Rejection::malformed("the `extensions` parameter is not valid"))?;
        }
        request.set_parsed_query(document);
        Ok(request)
    }
}

fn optional_string(
    fields: &mut Map<String, Value>,
    name: &str,
) -> Result<Option<String>, Rejection> {
    match fields.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(Rejection::malformed(format!(
            "the `{name}` parameter must be a string or null"
        ))),
    }
}

fn optional_object(
    fields: &mut Map<String, Value>,
    name: &str,
) -> Result<Option<Map<String, Value>>, Rejection> {
    match fields.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(value)) => Ok(Some(value)),
        Some(_) => Err(Rejection::malformed(format!(
            "the `{name}` parameter must be an object or null"
        ))),
    }
}

/// Turns a GET query string into the same shape as a POST body; the first occurrence of a key wins.
fn get_fields(raw: &str) -> Result<Map<String, Value>, Rejection> {
    let mut fields = Map::new();
    for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
        if fields.contains_key(key.as_ref()) {
            continue;
        }
        let value = match key.as_ref() {
            "query" | "operationName" => Value::String(value.into_owned()),
            // An empty value is what many clients send for "none".
            "variables" | "extensions" if value.is_empty() => Value::Null,
            "variables" | "extensions" => serde_json::from_str(&value).map_err(|_| {
                Rejection::malformed(format!(
                    "the `{key}` parameter must be a JSON-encoded object"
                ))
            })?,
            _ => continue,
        };
        fields.insert(key.into_owned(), value);
    }
    Ok(fields)
}

/// Why a request was answered without running anything.
enum Rejection {
    /// Not a well-formed GraphQL-over-HTTP request (bad JSON, parameter types, batch shape): 400 under either media type.
    Malformed(String),
    /// A request error in the spec's sense (the document cannot run); its status depends on the media type.
    Request(Vec<ServerError>),
    /// The spec requires 405 whatever the media type.
    MutationOverGet,
    /// No usable credentials, or the upstream refused them: 401 whatever the media type.
    Unauthenticated(Vec<ServerError>),
    /// A hash-only request whose query this caller has not sent before: 200 whatever the
    /// media type, since APQ clients take any 400 to mean the server does not support it.
    PersistedQueryNotFound,
}

impl From<ApqError> for Rejection {
    fn from(error: ApqError) -> Self {
        match error {
            ApqError::Malformed(message) => Self::malformed(message),
            ApqError::HashMismatch => Self::malformed("provided sha does not match query"),
            ApqError::NotFound => Self::PersistedQueryNotFound,
        }
    }
}

impl Rejection {
    fn malformed(message: impl Into<String>) -> Self {
        Self::Malformed(message.into())
    }

    fn unauthenticated(message: &str) -> Self {
        Self::Unauthenticated(vec![coded("UNAUTHENTICATED", message)])
    }

    /// A request error of ours, with its `extensions.code`.
    fn request(code: &str, message: impl Into<String>) -> Self {
        Self::Request(vec![coded(code, message)])
    }

    fn status(&self, media: Media) -> StatusCode {
        match self {
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::Request(_) => media.request_error_status(),
            Self::MutationOverGet => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::PersistedQueryNotFound => StatusCode::OK,
        }
    }

    /// Never has a `data` entry: the spec reserves that for responses whose execution started.
    fn into_body(self) -> Value {
        match self {
            Self::Malformed(message) => errors_body(&message),
            Self::Request(errors) | Self::Unauthenticated(errors) => {
                json!({ "errors": errors_json(&errors) })
            }
            Self::MutationOverGet => errors_body("mutations are only accepted over POST"),
            Self::PersistedQueryNotFound => json!({ "errors": [{
                "message": "PersistedQueryNotFound",
                "extensions": { "code": "PERSISTED_QUERY_NOT_FOUND" },
            }] }),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Media {
    Json,
    GraphqlResponseJson,
}

impl Media {
    fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json; charset=utf-8",
            Self::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
        }
    }

    /// Legacy application/json clients treat non-2xx as transport failures, so the spec keeps them on 200 once the
    /// request itself is well-formed.
    fn request_error_status(self) -> StatusCode {
        match self {
            Self::Json => StatusCode::OK,
            Self::GraphqlResponseJson => StatusCode::BAD_REQUEST,
        }
    }
}

/// A missing Accept, `*/*` or `application/json` get application/json; naming graphql-response+json opts in to it.
fn negotiate(headers: &HeaderMap) -> Option<Media> {
    let ranges = accepted_ranges(headers);
    if ranges.is_empty() {
        return Some(Media::Json);
    }
    if ranges.iter().any(|range| range == GRAPHQL_RESPONSE_JSON) {
        return Some(Media::GraphqlResponseJson);
    }
    let json = ["application/json", "application/*", "*/*"];
    ranges
        .iter()
        .any(|range| json.contains(&range.as_str()))
        .then_some(Media::Json)
}

fn accepts(headers: &HeaderMap, media_type: &str) -> bool {
    accepted_ranges(headers)
        .iter()
        .any(|range| range == media_type)
}

/// Media ranges from every Accept header, lower-cased and without parameters; `q=0` ones are refusals, so dropped.
fn accepted_ranges(headers: &HeaderMap) -> Vec<String> {
    let values = headers.get_all(header::ACCEPT).into_iter();
    let items = values
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','));
    items
        .filter_map(|item| {
            let mut parts = item.split(';');
            let range = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let refused = parts.any(is_q_zero);
            (!range.is_empty() && !refused).then_some(range)
        })
        .collect()
}

fn is_q_zero(param: &str) -> bool {
    param.split_once('=').is_some_and(|(key, value)| {
        key.trim().eq_ignore_ascii_case("q") && value.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)
    })
}

/// The spec requires UTF-8; an absent charset means UTF-8, any other charset is unsupported.
fn is_json_utf8(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json") && parts.all(charset_is_utf8)
}

fn charset_is_utf8(param: &str) -> bool {
    match param.split_once('=') {
        Some((key, value)) if key.trim().eq_ignore_ascii_case("charset") => {
            value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => true,
    }
}

fn reply(media: Media, result: Result<String, Rejection>) -> Response {
    let rejection = match result {
        Ok(body) => return text_response(StatusCode::OK, media, body),
        Err(rejection) => rejection,
    };
    let extra: &[(HeaderName, &'static str)] = match rejection {
        Rejection::MutationOverGet => &[(header::ALLOW, "POST")],
        Rejection::Unauthenticated(_) => &[
            (header::WWW_AUTHENTICATE, WWW_AUTHENTICATE[0]),
            (header::WWW_AUTHENTICATE, WWW_AUTHENTICATE[1]),
        ],
        _ => &[],
    };
    let mut response = json_response(rejection.status(media), media, rejection.into_body());
    for (name, value) in extra {
        response
            .headers_mut()
            .append(name, HeaderValue::from_static(value));
    }
    response
}

/// The client accepts neither JSON media type, so the body's type is ours to pick.
fn not_acceptable() -> Response {
    let message = "Accept must allow application/graphql-response+json or application/json";
    json_response(
        StatusCode::NOT_ACCEPTABLE,
        Media::Json,
        errors_body(message),
    )
}

fn json_response(status: StatusCode, media: Media, body: Value) -> Response {
    text_response(status, media, body.to_string())
}

fn text_response(status: StatusCode, media: Media, body: String) -> Response {
    let content_type = [(header::CONTENT_TYPE, media.content_type())];
    (status, content_type, body).into_response()
}

/// An executed operation's answer as JSON text, written straight from the GraphQL values.
fn response_text(response: &async_graphql::Response) -> String {
    #[derive(serde::Serialize)]
    struct Body<'a> {
        data: &'a GqlValue,
        #[serde(skip_serializing_if = "Option::is_none")]
        errors: Option<Value>,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        extensions: &'a BTreeMap<String, GqlValue>,
    }
    let body = Body {
        data: &response.data,
        errors: (!response.errors.is_empty()).then(|| errors_json(&response.errors)),
        extensions: &response.extensions,
    };
    serde_json::to_string(&body).unwrap_or_else(|_| {
        let error = coded("INTERNAL", "the answer could not be written as JSON");
        json!({ "data": null, "errors": errors_json(&[error]) }).to_string()
    })
}

fn errors_body(message: &str) -> Value {
    json!({ "errors": [{ "message": redact_digits(message, CARD_LIKE_DIGITS) }] })
}

/// The single exit for error messages, so scrubbing cannot be bypassed. Ours carry an
/// `extensions.code` and numbers that matter (limits), so only card-like runs go; async-graphql's
/// own (validation, coercion: they quote values the caller sent) lose every run of 3 digits.
fn errors_json(errors: &[ServerError]) -> Value {
    let mut errors = errors.to_vec();
    scrub_errors(&mut errors);
    let values = errors
        .iter()
        .map(|error| serde_json::to_value(error).unwrap_or_else(|_| json!({})));
    Value::Array(values.collect())
}

#[cfg(test)]
mod tests {
    use super::{record_operation, syntax_error};

    #[test]
    fn an_operation_name_is_logged_only_when_it_cannot_be_a_card_number() {
        assert_eq!(record_operation(Some("CustomerPage")), "CustomerPage");
        assert_eq!(record_operation(None), "(anonymous)");
        for sent in ["4111111111111111", "_4111111111111111", "a b"] {
            assert_eq!(record_operation(Some(sent)), "(invalid)", "{sent}");
        }
    }

    #[test]
    fn a_syntax_error_keeps_its_position_and_never_the_source() {
        for query in [
            r#"mutation { addCard(cardNumber:"4111 1111 1111 1111" cvv2:"737" }"#,
            "{ customer(customerId: 4111-1111-1111-1111 cvv2: 737 }",
            "{ a(b: 4111111111111111, c: 737) ",
        ] {
            let error = async_graphql::parser::parse_query(query).expect_err(query);
            let error = syntax_error(error);
            assert!(
                error.message.starts_with("syntax error at line 1, column"),
                "{}",
                error.message
            );
            assert!(
                !error.message.contains("111") && !error.message.contains("737"),
                "{}",
                error.message
            );
            assert_eq!(error.locations.len(), 1);
        }
    }
}
