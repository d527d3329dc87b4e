//! GraphQL over WebSocket on `/graphql`: `graphql-transport-ws` (and the older `graphql-ws`),
//! served by async-graphql-axum's transport, with what it does not do wrapped around it:
//!
//! - the `Origin` of a browser's socket must be the gateway's own or one of the CORS list;
//! - `connection_init` must come within [`INIT_TIMEOUT`] (else close 4408) and carry an
//!   `Authorization` (Basic secret key or Bearer session token, as on HTTP): a missing or bad
//!   one closes the socket with 4403 before anything else is read;
//! - a session's socket closes (4403) when its token expires;
//! - every operation runs as the HTTP ones do ([`LiveExecutor`]): admitted by the credential,
//!   with fresh loaders, a fresh budget of upstream calls and its own time, once — or, for a
//!   subscription, once per received event.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Executor, Response, ServerError, Variables};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response as HttpResponse};
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt};
use futures_util::{SinkExt, future};
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;
use tracing::Instrument;

use super::error::coded;
use super::events::{EventBroker, LiveEvent};
use super::http::{self, Admit};
use super::idle::IdleBatches;
use super::live_query::CurrentEvent;
use crate::metrics::Metrics;
use crate::telemetry::spans;

/// How long a client has to send `connection_init`.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

const MAX_CLOSE_REASON: usize = 123;

/// Most sockets open at once; one more is answered 503 at the handshake.
pub const MAX_SOCKETS: usize = 4096;

/// Largest message a client may send (a subscription's document and variables).
pub const MAX_MESSAGE_BYTES: usize = http::MAX_BODY_BYTES;

/// Most subscriptions running at once on one socket.
pub const MAX_SUBSCRIPTIONS: usize = 32;

/// Checks a socket's credential: `Ok(Some(expiry))` for a session token, `Ok(None)` for a
/// secret key the upstream accepts, `Err(why)` otherwise.
pub type Verify = Arc<
    dyn Fn(HeaderMap) -> BoxFuture<'static, Result<Option<DateTime<Utc>>, &'static str>>
        + Send
        + Sync,
>;

/// What every socket shares; `E` is the schema.
pub struct Live<E> {
    pub schema: E,
    pub admit: Admit,
    pub verify: Verify,
    pub broker: EventBroker,
    /// Browser origins allowed besides the gateway's own (the CORS list).
    pub origins: Vec<String>,
    /// When the process's clock says it is.
    pub now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    pub metrics: Arc<Metrics>,
    /// Sockets open now.
    pub open: Arc<AtomicUsize>,
}

/// Serves `GET /graphql` with `Upgrade: websocket` as a GraphQL socket; anything else goes on.
pub async fn upgrade_or_next<E: Executor>(
    State(live): State<Arc<Live<E>>>,
    request: Request,
    next: Next,
) -> HttpResponse {
    let upgrading = request
        .headers()
        .get(header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"));
    if !upgrading {
        return next.run(request).await;
    }
    if !origin_allowed(request.headers(), &live.origins) {
        return (
            StatusCode::FORBIDDEN,
            "this page's origin may not open a GraphQL socket here (see --cors-origin)",
        )
            .into_response();
    }
    let (mut parts, _body) = request.into_parts();
    let protocol = match GraphQLProtocol::from_request_parts(&mut parts, &()).await {
        Ok(protocol) => protocol,
        Err(_) => {
            return (
                StatusCode::BAD_REQUEST,
                "Sec-WebSocket-Protocol must name graphql-transport-ws or graphql-ws",
            )
                .into_response();
        }
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    if live.open.fetch_add(1, Ordering::SeqCst) >= MAX_SOCKETS {
        live.open.fetch_sub(1, Ordering::SeqCst);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many GraphQL sockets are open: try again later",
        )
            .into_response();
    }
    let open = Open(live.open.clone());
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| async move {
            serve(live, socket, protocol).await;
            drop(open);
        })
}

/// Counts a socket as open until it is dropped (the upgrade failed, or the socket ended).
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Browsers always say where a page is from; other clients need not. A page may connect from
/// the gateway's own origin (GraphiQL) or a listed one.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let own = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .is_some_and(|host| {
            origin.strip_prefix("http://") == Some(host)
                || origin.strip_prefix("https://") == Some(host)
        });
    own || allowed.iter().any(|allowed| allowed == origin)
}

async fn serve<E: Executor>(live: Arc<Live<E>>, socket: WebSocket, protocol: GraphQLProtocol) {
    let (mut sink, mut incoming) = socket.split();
    let init = match tokio::time::timeout(INIT_TIMEOUT, first_message(&mut incoming)).await {
        Err(_) => return close(&mut sink, 4408, "Connection initialisation timeout").await,
        Ok(None) => return,
        Ok(Some(init)) => init,
    };
    let parsed: Option<Value> = serde_json::from_str(&init).ok();
    let is_init = parsed
        .as_ref()
        .and_then(|message| message.get("type"))
        .is_some_and(|kind| kind == "connection_init");
    if !is_init {
        return close(&mut sink, 4401, "Unauthorized: send connection_init first").await;
    }
    let payload = parsed.as_ref().and_then(|message| message.get("payload"));
    let Some(authorization) = payload.and_then(authorization) else {
        return close(
            &mut sink,
            4403,
            "Forbidden: connection_init needs an Authorization in its payload",
        )
        .await;
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, authorization);
    let expires = match (live.verify)(headers.clone()).await {
        Ok(expires) => expires,
        Err(why) => return close(&mut sink, 4403, &format!("Forbidden: {why}")).await,
    };
    let executor = LiveExecutor {
        live: live.clone(),
        auth: Arc::new(headers),
        running: Arc::default(),
    };
    // The transport reads connection_init again and acknowledges it.
    let input = stream::once(future::ready(Ok(Message::Text(init.into())))).chain(incoming);
    let (outgoing, mut replies) = futures_channel::mpsc::channel::<Message>(16);
    let transport = GraphQLWebSocket::new_with_pair(outgoing, input, executor, protocol)
        .on_connection_init(|_| async { Ok(async_graphql::Data::default()) });
    let transport = tokio::spawn(transport.serve());
    // A session's socket lives as long as its token, as the clock read now says.
    let left = expires
        .map(|expires| (expires - (live.now)()).to_std().unwrap_or_default())
        .unwrap_or(Duration::MAX);
    let expiry = tokio::time::sleep(left.min(Duration::from_secs(365 * 86_400)));
    tokio::pin!(expiry);
    loop {
        tokio::select! {
            reply = replies.next() => match reply {
                Some(reply) => {
                    if sink.send(reply).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            () = &mut expiry, if expires.is_some() => {
                close(&mut sink, 4403, "Forbidden: the session token expired").await;
                break;
            }
        }
    }
    transport.abort();
}

/// The first text the client sends; `None` when it goes away first.
async fn first_message(
    incoming: &mut (impl futures_util::Stream<Item = Result<Message, axum::Error>> + Unpin),
) -> Option<String> {
    while let Some(Ok(message)) = incoming.next().await {
        match message {
            Message::Text(text) => return Some(text.to_string()),
            Message::Binary(bytes) => return Some(String::from_utf8_lossy(&bytes).into_owned()),
            Message::Close(_) => return None,
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }
    None
}

/// `Authorization` from `connection_init`'s payload: `{"Authorization": ...}` or
/// `{"headers": {"Authorization": ...}}`, the name in any case.
fn authorization(payload: &Value) -> Option<HeaderValue> {
    let value = authorization_in(payload).or_else(|| authorization_in(payload.get("headers")?))?;
    HeaderValue::from_str(value).ok()
}

fn authorization_in(object: &Value) -> Option<&str> {
    object.as_object()?.iter().find_map(|(name, value)| {
        name.eq_ignore_ascii_case("authorization")
            .then(|| value.as_str())
            .flatten()
    })
}

async fn close(sink: &mut (impl futures_util::Sink<Message> + Unpin), code: u16, reason: &str) {
    // A close frame's reason is at most 123 bytes.
    let mut end = reason.len().min(MAX_CLOSE_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let frame = CloseFrame {
        code,
        reason: reason[..end].into(),
    };
    let _ = sink.send(Message::Close(Some(frame))).await;
}

/// Runs one socket's operations with its credential.
pub struct LiveExecutor<E> {
    live: Arc<Live<E>>,
    /// The socket's `Authorization`, admitted again for every execution (a session token is
    /// checked at each event's time).
    auth: Arc<HeaderMap>,
    /// Subscriptions running on the socket.
    running: Arc<AtomicUsize>,
}

/// What a socket's operation asked for; each execution makes its request from it.
#[derive(Clone)]
struct Operation {
    query: String,
    /// Parsed (within the HTTP limits) once, when the operation arrives; each execution
    /// takes a copy rather than parsing again.
    document: ExecutableDocument,
    operation_name: Option<String>,
    variables: Variables,
}

impl Operation {
    /// The operation of `request`, or the request errors to answer it with.
    fn parse(request: async_graphql::Request) -> Result<Self, Vec<ServerError>> {
        let document = http::check_document(&request.query)?;
        Ok(Self {
            query: request.query,
            document,
            operation_name: request.operation_name,
            variables: request.variables,
        })
    }
}

/// Ends a subscription's count on its socket (and in the metrics) when its stream is dropped.
struct Running(Arc<AtomicUsize>, Arc<Metrics>);

impl Running {
    fn start(on_socket: Arc<AtomicUsize>, metrics: Arc<Metrics>) -> Self {
        metrics.record_live_subscription(true);
        Self(on_socket, metrics)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
        self.1.record_live_subscription(false);
    }
}

impl<E> Clone for LiveExecutor<E> {
    fn clone(&self) -> Self {
        Self {
            live: self.live.clone(),
            auth: self.auth.clone(),
            running: self.running.clone(),
        }
    }
}

impl<E: Executor> Executor for LiveExecutor<E> {
    async fn execute(&self, request: async_graphql::Request) -> Response {
        let operation = match Operation::parse(request) {
            Ok(operation) => operation,
            Err(errors) => return Response::from_errors(errors),
        };
        let mut responses = self.run(&operation, None).await;
        responses.pop().unwrap_or_default()
    }

    fn execute_stream(
        &self,
        request: async_graphql::Request,
        _session_data: Option<Arc<async_graphql::Data>>,
    ) -> BoxStream<'static, Response> {
        let this = self.clone();
        stream::once(async move {
            match Operation::parse(request) {
                Ok(operation) => this.start(operation).await,
                Err(errors) => stream::iter([Response::from_errors(errors)]).boxed(),
            }
        })
        .flatten()
        .boxed()
    }
}

impl<E: Executor> LiveExecutor<E> {
    /// A query or mutation runs once; a subscription is checked once without an event (access
    /// and arguments), then runs for every event received after it started.
    async fn start(self, operation: Operation) -> BoxStream<'static, Response> {
        let kind = http::operation_type(&operation.document, operation.operation_name.as_deref());
        if kind != Some(OperationType::Subscription) {
            return stream::iter(self.run(&operation, None).await).boxed();
        }
        if self.running.fetch_add(1, Ordering::SeqCst) >= MAX_SUBSCRIPTIONS {
            self.running.fetch_sub(1, Ordering::SeqCst);
            let error = coded(
                "TOO_MANY_SUBSCRIPTIONS",
                format!("a socket may run at most {MAX_SUBSCRIPTIONS} subscriptions at once"),
            );
            return stream::iter([Response::from_errors(vec![error])]).boxed();
        }
        // Listening before the check, so nothing that happens after it is missed.
        let events = self.live.broker.subscribe();
        let refused = self.run(&operation, None).await;
        if !refused.is_empty() {
            self.running.fetch_sub(1, Ordering::SeqCst);
            return stream::iter(refused).boxed();
        }
        // Counted as listening once checked: from here every event reaches it.
        let running = Running::start(self.running.clone(), self.live.metrics.clone());
        // After an UNAUTHENTICATED answer (the session token expired) the subscription ends.
        stream::unfold(
            Some((self, operation, events, running)),
            |state| async move {
                let (this, operation, mut events, running) = state?;
                loop {
                    let responses = match events.recv().await {
                        Ok(event) => this.run(&operation, Some(event)).await,
                        Err(RecvError::Lagged(missed)) => vec![events_lost(missed)],
                        Err(RecvError::Closed) => return None,
                    };
                    if responses.is_empty() {
                        continue;
                    }
                    let ended = responses.iter().any(is_unauthenticated);
                    let next = (!ended).then_some((this, operation, events, running));
                    return Some((stream::iter(responses), next));
                }
            },
        )
        .flatten()
        .boxed()
    }

    /// One execution of `operation`, for `event` when there is one: admitted now, with fresh
    /// loaders and budget, driven as an HTTP request is ([`IdleBatches`]), in an operation
    /// span of its own when traces are exported.
    async fn run(&self, operation: &Operation, event: Option<Arc<LiveEvent>>) -> Vec<Response> {
        let prepare = match (self.live.admit)(&self.auth) {
            Ok(prepare) => prepare,
            Err(refused) => {
                return vec![Response::from_errors(vec![coded(
                    "UNAUTHENTICATED",
                    refused.0,
                )])];
            }
        };
        let mut request = async_graphql::Request::new(operation.query.clone())
            .variables(operation.variables.clone());
        request.operation_name = operation.operation_name.clone();
        request.set_parsed_query(operation.document.clone());
        let batches = IdleBatches::default();
        let mut request = prepare(request, &batches);
        if let Some(event) = event {
            request = request.data(CurrentEvent(event));
        }
        let execution = self
            .live
            .schema
            .execute_stream(request, None)
            .collect::<Vec<_>>();
        // Each execution is a trace of its own, as an HTTP request is: a socket may live for
        // hours, an execution takes milliseconds.
        let span = http::operation_span(&operation.document, operation.operation_name.as_deref());
        let mut responses = batches.drive(execution).instrument(span.clone()).await;
        let codes = responses.iter().flat_map(|r| http::error_codes(&r.errors));
        spans::operation_errors(&span, codes);
        for response in &mut responses {
            http::scrub_errors(&mut response.errors);
        }
        responses
    }
}

fn events_lost(missed: u64) -> Response {
    Response::from_errors(vec![coded(
        "EVENTS_LOST",
        format!(
            "this subscription fell behind and {missed} events were not delivered to it; it \
             goes on with the next"
        ),
    )])
}

fn is_unauthenticated(response: &Response) -> bool {
    response.errors.iter().any(|error: &ServerError| {
        error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .is_some_and(|code| *code == async_graphql::Value::from("UNAUTHENTICATED"))
    })
}
