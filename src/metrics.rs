//! The process's metrics, on one `prometheus-client` [`Registry`] served as Prometheus text at
//! `/metrics`: upstream requests, GraphQL requests and their error codes, dataloader batches,
//! live subscriptions, webhooks received and sent, billing runs, and the process itself.
//!
//! Every label value comes from a fixed set, a route template, or an operation name that
//! [`names`] validated and capped: never a path with ids, a card number, a key or a token.

mod names;
#[cfg(target_os = "linux")]
mod process;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use names::{MAX_OPERATION_NAME, MAX_OPERATION_NAMES};

/// Upper bounds of the latency histograms' buckets, in seconds.
const SECONDS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Upper bounds of a billing run's duration, in seconds: runs bill thousands of subscriptions.
const RUN_SECONDS: [f64; 10] = [0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0];

/// Upper bounds of the keys in one dataloader batch (a loader takes at most 1000).
const KEYS: [f64; 10] = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0];

/// A family of histograms sharing one set of buckets.
type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    method: String,
    route: &'static str,
    /// The HTTP status, or `error` when no response came.
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLatencyLabels {
    method: String,
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GraphqlLabels {
    operation: String,
    operation_type: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GraphqlLatencyLabels {
    operation_type: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoaderLabels {
    loader: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// One GraphQL operation answered over HTTP, as [`Metrics::record_graphql`] counts it.
pub struct GraphqlRequest<'a> {
    /// What the request's log line shows: a GraphQL name, `(anonymous)` or `(invalid)`.
    pub operation: &'a str,
    /// `query`, `mutation`, `subscription`, or `unknown` when the document did not parse or
    /// named no operation the executor could pick.
    pub operation_type: &'static str,
    /// `ok`, `error` (executed, with errors) or `rejected` (nothing executed).
    pub outcome: &'static str,
    pub elapsed: Duration,
}

/// The process's metrics: one per process, shared by the gateway, the upstream client, the
/// dataloaders and the embedded vault.
pub struct Metrics {
    registry: Registry,
    upstream_requests: Family<UpstreamLabels, Counter>,
    upstream_latency: Histograms<UpstreamLatencyLabels>,
    shared_reads: Family<RouteLabels, Counter>,
    live_subscriptions: Gauge,
    deliveries_received: Family<OutcomeLabels, Counter>,
    graphql_requests: Family<GraphqlLabels, Counter>,
    graphql_latency: Histograms<GraphqlLatencyLabels>,
    graphql_errors: Family<CodeLabels, Counter>,
    loader_batches: Histograms<LoaderLabels>,
    billing_charges: Family<OutcomeLabels, Counter>,
    billing_runs: Histograms<ResultLabels>,
    deliveries_sent: Family<OutcomeLabels, Counter>,
    operations: names::OperationNames,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let metrics = Self {
            registry: Registry::default(),
            upstream_requests: Family::default(),
            upstream_latency: Family::new_with_constructor(|| Histogram::new(SECONDS)),
            shared_reads: Family::default(),
            live_subscriptions: Gauge::default(),
            deliveries_received: Family::default(),
            graphql_requests: Family::default(),
            graphql_latency: Family::new_with_constructor(|| Histogram::new(SECONDS)),
            graphql_errors: Family::default(),
            loader_batches: Family::new_with_constructor(|| Histogram::new(KEYS)),
            billing_charges: Family::default(),
            billing_runs: Family::new_with_constructor(|| Histogram::new(RUN_SECONDS)),
            deliveries_sent: Family::default(),
            operations: names::OperationNames::default(),
        };
        metrics.registered()
    }

    fn registered(mut self) -> Self {
        let r = &mut self.registry;
        // Counters are registered without `_total`: the encoder adds it.
        r.register(
            "vaultql_upstream_requests",
            "Requests the gateway sent to the vault API",
            self.upstream_requests.clone(),
        );
        r.register(
            "vaultql_upstream_request_duration_seconds",
            "Latency of requests to the vault API",
            self.upstream_latency.clone(),
        );
        r.register(
            "vaultql_upstream_shared_reads",
            "Reads answered by joining an identical call in flight",
            self.shared_reads.clone(),
        );
        r.register(
            "vaultql_graphql_subscriptions_active",
            "GraphQL subscriptions listening for events",
            self.live_subscriptions.clone(),
        );
        r.register(
            "vaultql_webhook_deliveries_received",
            "Deliveries to /webhooks/qualpay, by outcome",
            self.deliveries_received.clone(),
        );
        r.register(
            "vaultql_graphql_requests",
            "GraphQL operations answered over HTTP, by operation name, type and outcome",
            self.graphql_requests.clone(),
        );
        r.register(
            "vaultql_graphql_request_duration_seconds",
            "Time to answer a GraphQL operation over HTTP, by type and outcome",
            self.graphql_latency.clone(),
        );
        r.register(
            "vaultql_graphql_errors",
            "Errors in GraphQL answers over HTTP, by extensions.code",
            self.graphql_errors.clone(),
        );
        r.register(
            "vaultql_loader_batch_keys",
            "Keys in one dataloader batch (one load), by loader",
            self.loader_batches.clone(),
        );
        r.register(
            "vaultql_billing_charges",
            "Recurring charges the billing engine recorded, by outcome",
            self.billing_charges.clone(),
        );
        r.register(
            "vaultql_billing_run_duration_seconds",
            "Duration of one billing run for a merchant, by result",
            self.billing_runs.clone(),
        );
        r.register(
            "vaultql_webhook_deliveries_sent",
            "Webhook deliveries the vault posted, by outcome",
            self.deliveries_sent.clone(),
        );
        #[cfg(target_os = "linux")]
        r.register_collector(Box::new(process::ProcessCollector::new()));
        self
    }

    /// Records one upstream request; `status` is `None` when no response came back.
    pub fn record_upstream(
        &self,
        method: &str,
        route: &'static str,
        status: Option<u16>,
        elapsed: Duration,
    ) {
        let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        self.upstream_requests
            .get_or_create(&UpstreamLabels {
                method: method.to_owned(),
                route,
                status,
            })
            .inc();
        self.upstream_latency
            .get_or_create(&UpstreamLatencyLabels {
                method: method.to_owned(),
                route,
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Records a read answered by a call another request had in flight (not a request sent).
    pub fn record_shared_read(&self, route: &'static str) {
        self.shared_reads
            .get_or_create(&RouteLabels { route })
            .inc();
    }

    /// A GraphQL subscription started (`true`) or stopped listening for events.
    pub fn record_live_subscription(&self, started: bool) {
        if started {
            self.live_subscriptions.inc();
        } else {
            self.live_subscriptions.dec();
        }
    }

    /// A webhook delivery was answered: `published`, `duplicate`, `bad_signature`,
    /// `malformed` or `too_large`.
    pub fn record_delivery(&self, outcome: &'static str) {
        self.deliveries_received
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// One GraphQL operation answered over HTTP. Its name is capped (see [`names`]).
    pub fn record_graphql(&self, request: GraphqlRequest<'_>) {
        let GraphqlRequest {
            operation,
            operation_type,
            outcome,
            elapsed,
        } = request;
        self.graphql_requests
            .get_or_create(&GraphqlLabels {
                operation: self.operations.label(operation),
                operation_type,
                outcome,
            })
            .inc();
        self.graphql_latency
            .get_or_create(&GraphqlLatencyLabels {
                operation_type,
                outcome,
            })
            .observe(elapsed.as_secs_f64());
    }

    /// One error in a GraphQL answer, by its `extensions.code` (one of the gateway's own,
    /// `OTHER` or `NONE`: the caller maps it).
    pub fn record_graphql_error(&self, code: &'static str) {
        self.graphql_errors
            .get_or_create(&CodeLabels { code })
            .inc();
    }

    /// One dataloader batch of `keys` keys.
    pub fn record_loader_batch(&self, loader: &'static str, keys: usize) {
        self.loader_batches
            .get_or_create(&LoaderLabels { loader })
            .observe(keys as f64);
    }

    /// Charges one billing batch recorded: `approved` and `declined` of them.
    pub fn record_billing_charges(&self, approved: u64, declined: u64) {
        for (outcome, count) in [("approved", approved), ("declined", declined)] {
            self.billing_charges
                .get_or_create(&OutcomeLabels { outcome })
                .inc_by(count);
        }
    }

    /// One billing run for a merchant ended, `ok` or with an error.
    pub fn record_billing_run(&self, ok: bool, elapsed: Duration) {
        let result = if ok { "ok" } else { "error" };
        self.billing_runs
            .get_or_create(&ResultLabels { result })
            .observe(elapsed.as_secs_f64());
    }

    /// One webhook delivery the vault posted: `delivered` (a 2xx), `failed` (anything else,
    /// to be retried) or `suspended` (failed, and its webhook is suspended).
    pub fn record_delivery_sent(&self, outcome: &'static str) {
        self.deliveries_sent
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// The text exposition format (version 0.0.4) served at `/metrics`.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail; a collector that fails leaves what it wrote.
        let _ = prometheus_text::encode(&mut text, &self.registry);
        text
    }
}

/// `GET /metrics`, for the gateway and the sandbox alike.
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .with_state(metrics)
}

async fn metrics_text(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
        metrics.render(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_buckets_render_in_prometheus_text_format() {
        let metrics = Metrics::default();
        let ms = Duration::from_millis;
        metrics.record_upstream("GET", "/vault/customer", Some(200), ms(3));
        metrics.record_upstream("GET", "/vault/customer", Some(200), ms(30));
        metrics.record_upstream("POST", "/vault/customer", None, Duration::from_secs(20));
        let text = metrics.render();
        assert!(text.contains(
            "vaultql_upstream_requests_total{method=\"GET\",route=\"/vault/customer\",status=\"200\"} 2\n"
        ), "{text}");
        assert!(text.contains("status=\"error\"} 1\n"), "{text}");
        assert!(text.contains(
            "vaultql_upstream_request_duration_seconds_bucket{method=\"GET\",route=\"/vault/customer\",le=\"0.005\"} 1\n"
        ), "{text}");
        assert!(text.contains(
            "vaultql_upstream_request_duration_seconds_bucket{method=\"POST\",route=\"/vault/customer\",le=\"+Inf\"} 1\n"
        ), "{text}");
        assert!(text.contains("# TYPE vaultql_upstream_requests_total counter\n"));
    }

    #[test]
    fn the_subscription_gauge_goes_up_and_down_without_labels() {
        let metrics = Metrics::default();
        metrics.record_live_subscription(true);
        metrics.record_live_subscription(true);
        metrics.record_live_subscription(false);
        assert!(
            metrics
                .render()
                .contains("\nvaultql_graphql_subscriptions_active 1\n")
        );
    }

    #[test]
    fn each_family_gets_its_own_buckets() {
        let metrics = Metrics::default();
        metrics.record_loader_batch("CustomerById", 7);
        metrics.record_billing_run(true, Duration::from_secs(2));
        let text = metrics.render();
        assert!(
            text.contains(
                "vaultql_loader_batch_keys_bucket{loader=\"CustomerById\",le=\"10\"} 1\n"
            ),
            "{text}"
        );
        assert!(text.contains("vaultql_loader_batch_keys_sum{loader=\"CustomerById\"} 7"));
        assert!(
            text.contains(
                "vaultql_billing_run_duration_seconds_bucket{result=\"ok\",le=\"5\"} 1\n"
            ),
            "{text}"
        );
    }
}
