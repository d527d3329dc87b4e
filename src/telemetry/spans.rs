//! The spans only the trace exporter sees, and W3C trace context over HTTP.
//!
//! Each constructor returns [`Span::none`] when traces are off, so a process without an OTLP
//! endpoint makes none of them. What they carry is chosen, never caught: an operation's type,
//! name, cost and error codes, a loader's name and batch size, an upstream call's method, route
//! template and status. Never a variable, a document, a concrete path, a header or a body, so
//! no card number, CVV, key or token can be exported.
//!
//! Incoming requests are joined to their caller's trace through `traceparent` alone: a
//! `tracestate` could carry anything a client puts there, so it is neither kept nor sent on.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::{TRACE_TARGET, traces};

const TRACEPARENT: &str = "traceparent";

/// Makes the HTTP request span (`app::with_http_layers`) a server span named after its route,
/// the child of the caller's span when the request carries a valid `traceparent`. The span must
/// declare `otel.name`, `otel.kind` and `http.route` (empty) and not have been entered yet.
pub fn server(span: &Span, method: &Method, route: Option<&str>, headers: &HeaderMap) {
    if !traces() {
        return;
    }
    span.record("otel.kind", "server");
    match route {
        Some(route) => {
            span.record("otel.name", format!("{method} {route}"));
            span.record("http.route", route);
        }
        None => {
            span.record("otel.name", method.as_str());
        }
    }
    let parent = TraceContextPropagator::new().extract(&OnlyTraceparent(headers));
    if parent.span().span_context().is_valid() {
        // Fails only when the span is disabled or started: then it stays a root.
        let _ = span.set_parent(parent);
    }
}

/// The server's answer on its request span: a 5xx marks the span failed.
pub fn server_answered(span: &Span, status: u16) {
    if !traces() {
        return;
    }
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "error");
    }
}

/// One GraphQL operation: `query CustomerPage`, `mutation`, ... `ty` and `name` as the
/// executor will run them (`name` as the document spells it, so always a GraphQL name).
pub fn operation(ty: Option<&'static str>, name: Option<&str>) -> Span {
    if !traces() {
        return Span::none();
    }
    let title = match (ty, name) {
        (Some(ty), Some(name)) => format!("{ty} {name}"),
        (Some(ty), None) => ty.to_owned(),
        (None, _) => "GraphQL operation".to_owned(),
    };
    tracing::info_span!(
        target: TRACE_TARGET,
        "graphql.operation",
        otel.name = title,
        graphql.operation.type = ty,
        graphql.operation.name = name,
        graphql.cost = Empty,
        graphql.error.codes = Empty,
        otel.status_code = Empty,
    )
}

/// The cost async-graphql computed while validating, on the current operation's span.
pub fn record_cost(cost: usize) {
    Span::current().record("graphql.cost", cost);
}

/// The `extensions.code` values of an operation's errors, each once, on its span; any error
/// marks the span failed. Only codes of `[A-Z0-9_]` are kept (ours all are).
pub fn operation_errors<'a>(span: &Span, codes: impl IntoIterator<Item = &'a str>) {
    if !traces() {
        return;
    }
    let mut kept: Vec<&str> = Vec::new();
    let mut any = false;
    for code in codes {
        any = true;
        let fits = !code.is_empty()
            && code.len() <= 64
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if fits && !kept.contains(&code) {
            kept.push(code);
        }
    }
    if any {
        span.record("graphql.error.codes", kept.join(","));
        span.record("otel.status_code", "error");
    }
}

/// One batch of a dataloader: its name and how many keys it loads.
pub fn loader_batch(loader: &'static str, keys: usize) -> Span {
    if !traces() {
        return Span::none();
    }
    tracing::info_span!(
        target: TRACE_TARGET,
        "loader",
        otel.name = format!("load {loader}"),
        loader.name = loader,
        loader.keys = keys,
    )
}

/// One upstream call, a client span named by its method and route template (`GET
/// /vault/customer/{customer_id}`): never the concrete path, which holds ids.
pub fn upstream(method: &Method, route: &'static str) -> Span {
    if !traces() {
        return Span::none();
    }
    tracing::info_span!(
        target: TRACE_TARGET,
        "upstream",
        otel.name = format!("{method} {route}"),
        otel.kind = "client",
        http.request.method = method.as_str(),
        url.template = route,
        http.response.status_code = Empty,
        upstream.joined = Empty,
        otel.status_code = Empty,
    )
}

/// The upstream's answer on its call's span: no answer or a 4xx/5xx marks it failed.
pub fn upstream_answered(span: &Span, status: Option<u16>) {
    if !traces() {
        return;
    }
    if let Some(status) = status {
        span.record("http.response.status_code", status);
    }
    if status.is_none_or(|status| status >= 400) {
        span.record("otel.status_code", "error");
    }
}

/// A read that joined an identical call already in flight (nothing was sent for it).
pub fn upstream_joined(span: &Span) {
    span.record("upstream.joined", true);
}

/// Puts `span`'s `traceparent` on an outgoing request, so that the other side's spans join
/// its trace (Qualpay ignores it).
pub fn inject(span: &Span, headers: &mut HeaderMap) {
    if !traces() {
        return;
    }
    let context = span.context();
    TraceContextPropagator::new().inject_context(&context, &mut OnlyTraceparentOut(headers));
}

/// Reads `traceparent` only.
struct OnlyTraceparent<'a>(&'a HeaderMap);

impl Extractor for OnlyTraceparent<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        if key != TRACEPARENT {
            return None;
        }
        self.0.get(TRACEPARENT).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT]
    }
}

/// Writes `traceparent` only.
struct OnlyTraceparentOut<'a>(&'a mut HeaderMap);

impl Injector for OnlyTraceparentOut<'_> {
    fn set(&mut self, key: &str, value: String) {
        if key != TRACEPARENT {
            return;
        }
        if let Ok(value) = HeaderValue::from_str(&value) {
            self.0.insert(HeaderName::from_static(TRACEPARENT), value);
        }
    }
}
