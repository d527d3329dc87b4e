//! Builds and runs the process: binds the listener, stacks the HTTP layers every route shares
//! (request id, trace, panic catcher, body limit) and shuts down gracefully on SIGTERM or Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;
use tracing::Level;

use crate::config::{ApiKeySpec, SandboxArgs, ServeArgs, Toggle};
use crate::gateway;
use crate::gateway::events::EventBroker;
use crate::gateway::receiver::ReceiverSecrets;
use crate::gateway::session::SessionKeys;
use crate::metrics::Metrics;
use crate::readiness;
use crate::redact::redacted_path;
use crate::telemetry::spans;
use crate::time::TimeSource;
use crate::upstream::{Upstream, UpstreamConfig};
use crate::vault::extract::BodyLimit;
use crate::vault::{self, DEV_MERCHANT_ID, VaultError};

/// The session key file's name in the data directory.
const SESSION_KEYS_FILE: &str = "session-keys";

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub struct Application {
    listener: TcpListener,
    router: Router,
    /// What `serve` does once it listens: seed the embedded vault, say where GraphiQL is.
    startup: Option<Startup>,
}

struct Startup {
    /// Sends [`QuietRequests`]' id: seeding's requests are not logged one by one.
    upstream: Upstream,
    seed: bool,
    time: TimeSource,
    /// What the first lines say besides GraphiQL's address.
    banner: Vec<String>,
}

impl Application {
    /// The gateway (`vaultql serve`), with the embedded vault unless `--upstream` is set.
    pub async fn build(mut args: ServeArgs) -> anyhow::Result<Self> {
        // Resolved once, so that what is printed is where the data is, whatever the directory
        // the process was started from.
        args.vault.data_dir =
            std::path::absolute(&args.vault.data_dir).context("could not resolve --data-dir")?;
        let mut banner = Vec::new();
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("could not listen on {}", args.listen))?;
        let metrics = Arc::new(Metrics::default());
        let (embedded, base_url, api_key) = match &args.upstream {
            Some(url) => {
                let key = args
                    .upstream_api_key
                    .clone()
                    .context("--upstream needs --upstream-api-key (or VAULTQL_UPSTREAM_API_KEY)")?;
                (None, url.clone(), key)
            }
            None => {
                let key = match &args.upstream_api_key {
                    Some(key) => key.clone(),
                    None => {
                        let dev = vault::dev_key(&args.vault.data_dir)?;
                        let address = listener.local_addr()?;
                        banner.push(
                            dev.describe(&format!("http://{address}/platform/vault/customer")),
                        );
                        dev.spec.key
                    }
                };
                // The gateway's own key acts for every merchant of this vault, so that it can
                // serve their customer sessions.
                let gateway_key = ApiKeySpec {
                    key: key.clone(),
                    merchant_id: DEV_MERCHANT_ID,
                    acts_for: args.vault.api_keys.iter().map(|k| k.merchant_id).collect(),
                };
                let vault = vault::open(&args.vault, &[gateway_key], metrics.clone()).await?;
                let base_url = format!("http://{}", loopback(listener.local_addr()?));
                (Some(vault), base_url, key)
            }
        };
        let upstream = Upstream::new(
            &UpstreamConfig {
                base_url,
                api_key: api_key.clone(),
                connect_timeout: Duration::from_millis(args.upstream_connect_timeout_ms),
                request_timeout: Duration::from_millis(args.upstream_timeout_ms),
            },
            metrics.clone(),
        )?;
        // The development key fills GraphiQL's Headers tab only for the embedded vault on a
        // loopback address: never for Qualpay (--upstream), never for a page others can reach.
        let development_key =
            (embedded.is_some() && args.listen.ip().is_loopback()).then(|| api_key.clone());
        let session_keys_file = args
            .session_keys_file
            .clone()
            .unwrap_or_else(|| args.vault.data_dir.join(SESSION_KEYS_FILE));
        let session_keys = Arc::new(SessionKeys::load_or_create(&session_keys_file)?);
        let receiver_secrets = Arc::new(ReceiverSecrets::new(
            args.qualpay_webhook_secrets.iter().cloned(),
        ));
        if let Some(vault) = &embedded
            && args.embedded_webhooks == Toggle::On
        {
            let url = format!(
                "http://{}/webhooks/qualpay",
                loopback(listener.local_addr()?)
            );
            let merchants = std::iter::once(DEV_MERCHANT_ID)
                .chain(args.vault.api_keys.iter().map(|key| key.merchant_id))
                .collect::<std::collections::BTreeSet<_>>();
            for merchant_id in merchants {
                let secret = vault
                    .register_gateway_webhook(merchant_id, &url)
                    .await
                    .map_err(|error| {
                        anyhow::anyhow!("registering the gateway's webhook: {error}")
                    })?;
                receiver_secrets.add(secret);
            }
        }
        let settings = gateway::Settings {
            upstream_batch: args.upstream_batch,
            time: args.vault.time,
            cors_origins: args.cors_origins.clone(),
            graphiql: args.graphiql == Toggle::On,
            development_key,
            max_upstream_calls: args.max_upstream_calls,
            max_response_bytes: args.max_response_bytes,
            max_concurrent_requests: args.max_concurrent_requests,
            max_auth_failures: args.max_auth_failures,
            session_keys,
            readiness: embedded.iter().map(|v| v.readiness.clone()).collect(),
            card_fields: embedded.is_some().then(|| "/embedded/frame".to_owned()),
            demo: embedded.is_some() && args.listen.ip().is_loopback(),
            broker: EventBroker::default(),
            receiver_secrets,
        };
        let mut router = gateway::router(upstream.clone(), metrics, settings);
        let seed = embedded.is_some() && !args.no_seed;
        match &args.upstream {
            Some(url) => banner.push(format!("the gateway's upstream is {url}")),
            None => banner.push(format!(
                "the embedded vault's data is in {}",
                args.vault.data_dir.display()
            )),
        }
        banner.push("stop it with Ctrl-C".to_owned());
        if let Some(vault) = embedded {
            router = router.merge(vault.routes);
        }
        let router = router.fallback(|| async { VaultError::NotFound("No such path".into()) });
        let quiet = QuietRequests::new();
        Ok(Self {
            listener,
            router: with_http_layers(router, args.vault.max_body_bytes, Some(quiet.clone())),
            startup: Some(Startup {
                upstream: upstream.with_request_id(&quiet.0),
                seed,
                time: args.vault.time,
                banner,
            }),
        })
    }

    /// The vault alone (`vaultql sandbox`).
    pub async fn build_sandbox(mut args: SandboxArgs) -> anyhow::Result<Self> {
        args.vault.data_dir =
            std::path::absolute(&args.vault.data_dir).context("could not resolve --data-dir")?;
        let metrics = Arc::new(Metrics::default());
        let vault = vault::open(&args.vault, &[], metrics.clone()).await?;
        let checks: Arc<[Arc<dyn readiness::Check>]> = Arc::new([vault.readiness]);
        let router = vault
            .routes
            .merge(crate::metrics::router(metrics))
            .route("/healthz", get(|| async { "ok" }))
            .route(
                "/readyz",
                get(move || {
                    let checks = checks.clone();
                    async move { readiness::report(&checks).await }
                }),
            )
            .fallback(|| async { VaultError::NotFound("No such path".into()) });
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("could not listen on {}", args.listen))?;
        Ok(Self {
            listener,
            router: with_http_layers(router, args.vault.max_body_bytes, None),
            startup: None,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|addr| addr.port())
            .unwrap_or_default()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let address = self.listener.local_addr()?;
        tracing::info!(%address, "listening");
        let server = tokio::spawn(
            axum::serve(
                self.listener,
                self.router
                    .into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown_signal())
            .into_future(),
        );
        if let Some(startup) = self.startup {
            startup.run(address).await;
        }
        server.await.map_err(std::io::Error::other)?
    }
}

/// The request id of the requests the process sends itself at start (seeding the demo data):
/// their spans and lines are DEBUG, so that seeding is one INFO line, not one per request. It
/// is random per process, so that no client can hide its own requests from the log.
#[derive(Clone)]
struct QuietRequests(HeaderValue);

impl QuietRequests {
    fn new() -> Self {
        let id = format!("seed-{}", vault::crypto::random_alphanumeric(16));
        Self(HeaderValue::from_str(&id).expect("letters and digits make a header value"))
    }
}

/// Layers every route shares. Trace spans carry the method, the path (never the query, which
/// can hold filter values; segments that look like card numbers redacted) and the request id;
/// no body or header is logged. Requests carrying `quiet`'s id are logged at DEBUG.
fn with_http_layers(router: Router, max_body_bytes: usize, quiet: Option<QuietRequests>) -> Router {
    let body_limit = BodyLimit(max_body_bytes);
    router
        .layer(axum::middleware::from_fn(
            move |mut request: Request, next: axum::middleware::Next| async move {
                request.extensions_mut().insert(body_limit);
                next.run(request).await
            },
        ))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| -> Response {
                VaultError::Internal("a handler panicked".into()).into_response()
            },
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(move |request: &Request| {
                    let header = request.headers().get(REQUEST_ID);
                    let quiet = quiet.as_ref().is_some_and(|q| header == Some(&q.0));
                    // A client can put anything in the path or its own request id: a card
                    // number there is redacted before it reaches the log.
                    let request_id = header.and_then(|v| v.to_str().ok()).unwrap_or_default();
                    macro_rules! request_span {
                        ($level:expr) => {
                            tracing::span!(
                                $level,
                                "request",
                                method = %request.method(),
                                path = %redacted_path(request.uri().path()),
                                request_id = %redacted_path(request_id),
                                // GraphQL requests fill it in (see gateway::http).
                                operation = tracing::field::Empty,
                                // Filled in only when traces are exported (see telemetry::spans).
                                otel.name = tracing::field::Empty,
                                otel.kind = tracing::field::Empty,
                                otel.status_code = tracing::field::Empty,
                                http.route = tracing::field::Empty,
                                http.response.status_code = tracing::field::Empty,
                            )
                        };
                    }
                    let span = if quiet {
                        request_span!(Level::DEBUG)
                    } else {
                        request_span!(Level::INFO)
                    };
                    let route = request.extensions().get::<MatchedPath>();
                    spans::server(
                        &span,
                        request.method(),
                        route.map(MatchedPath::as_str),
                        request.headers(),
                    );
                    span
                })
                .on_response(
                    |response: &Response, latency: Duration, span: &tracing::Span| {
                        let status = response.status().as_u16();
                        let latency_ms = latency.as_millis() as u64;
                        spans::server_answered(span, status);
                        // A quiet request's span is DEBUG (or, below that level, disabled).
                        let quiet = span.is_disabled()
                            || span.metadata().is_some_and(|m| *m.level() == Level::DEBUG);
                        if quiet {
                            tracing::debug!(status, latency_ms, "response");
                        } else {
                            tracing::info!(status, latency_ms, "response");
                        }
                    },
                ),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, RandomRequestId))
}

impl Startup {
    async fn run(self, address: SocketAddr) {
        if self.seed {
            let today = self.time.now().date_naive();
            match crate::seed::seed_if_empty(&self.upstream, today).await {
                Ok(None) => {}
                Ok(Some(seeded)) => tracing::info!(
                    customers = seeded.customers,
                    plans = seeded.plans,
                    subscriptions = seeded.subscriptions,
                    payments = seeded.payments,
                    "added demo data to the empty vault"
                ),
                Err(error) => tracing::warn!(%error, "could not add the demo customers"),
            }
        }
        // The last line says the process is ready (tests and benchmarks wait for it). With
        // --log-json it is all log lines, the last one `ready` with GraphiQL's address.
        let graphiql = format!("http://{address}/graphql");
        if crate::telemetry::json() {
            for line in &self.banner {
                tracing::info!("{line}");
            }
            tracing::info!(%graphiql, "ready");
        } else {
            for line in &self.banner {
                eprintln!("vaultql: {line}");
            }
            eprintln!("vaultql: GraphiQL at {graphiql}");
        }
    }
}

/// The address this machine reaches a listener on: the gateway its embedded vault, the
/// health check its process.
pub fn loopback(address: SocketAddr) -> SocketAddr {
    let ip = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, address.port())
}

#[derive(Clone, Copy)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let id = vault::crypto::random_alphanumeric(16);
        axum::http::HeaderValue::from_str(&id)
            .ok()
            .map(RequestId::new)
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
