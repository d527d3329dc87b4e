//! Process metrics in Prometheus text format: upstream request counts and latencies. Labels
//! are the method, the route template (never a concrete path with ids) and the status.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
pub struct Metrics {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// (method, route, status) -> count; status is the HTTP status or `error` when none came.
    requests: BTreeMap<(String, &'static str, String), u64>,
    /// (method, route) -> latency histogram.
    latency: BTreeMap<(String, &'static str), Histogram>,
    /// route -> reads answered by joining the same call already in flight.
    shared_reads: BTreeMap<&'static str, u64>,
    /// GraphQL subscriptions listening for events now.
    live_subscriptions: u64,
    /// outcome -> webhook deliveries `POST /webhooks/qualpay` answered.
    deliveries: BTreeMap<&'static str, u64>,
}

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    /// Records one upstream request; `status` is `None` when no response came back.
    pub fn record_upstream(
        &self,
        method: &str,
        route: &'static str,
        status: Option<u16>,
        elapsed: Duration,
    ) {
        let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        let seconds = elapsed.as_secs_f64();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *state
            .requests
            .entry((method.to_owned(), route, status))
            .or_default() += 1;
        let histogram = state.latency.entry((method.to_owned(), route)).or_default();
        for (bound, count) in BUCKETS.iter().zip(histogram.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    /// Records a read answered by a call another request had in flight (not a request sent).
    pub fn record_shared_read(&self, route: &'static str) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *state.shared_reads.entry(route).or_default() += 1;
    }

    /// A GraphQL subscription started (`true`) or stopped listening for events.
    pub fn record_live_subscription(&self, started: bool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.live_subscriptions = if started {
            state.live_subscriptions + 1
        } else {
            state.live_subscriptions.saturating_sub(1)
        };
    }

    /// A webhook delivery was answered: `published`, `duplicate`, `bad_signature`,
    /// `malformed` or `too_large`.
    pub fn record_delivery(&self, outcome: &'static str) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *state.deliveries.entry(outcome).or_default() += 1;
    }

    /// The total number of upstream requests so far.
    pub fn upstream_requests(&self) -> u64 {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.requests.values().sum()
    }

    /// The text exposition format served at `/metrics`.
    pub fn render(&self) -> String {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        out.push_str(
            "# HELP vaultql_upstream_requests_total Requests the gateway sent to the vault API.\n",
        );
        out.push_str("# TYPE vaultql_upstream_requests_total counter\n");
        for ((method, route, status), count) in &state.requests {
            let _ = writeln!(
                out,
                "vaultql_upstream_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP vaultql_upstream_shared_reads_total Reads answered by joining an identical call in flight.\n",
        );
        out.push_str("# TYPE vaultql_upstream_shared_reads_total counter\n");
        for (route, count) in &state.shared_reads {
            let _ = writeln!(
                out,
                "vaultql_upstream_shared_reads_total{{route=\"{route}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP vaultql_graphql_subscriptions_active GraphQL subscriptions listening for events.\n",
        );
        out.push_str("# TYPE vaultql_graphql_subscriptions_active gauge\n");
        let _ = writeln!(
            out,
            "vaultql_graphql_subscriptions_active {}",
            state.live_subscriptions
        );
        out.push_str(
            "# HELP vaultql_webhook_deliveries_received_total Deliveries to /webhooks/qualpay, by outcome.\n",
        );
        out.push_str("# TYPE vaultql_webhook_deliveries_received_total counter\n");
        for (outcome, count) in &state.deliveries {
            let _ = writeln!(
                out,
                "vaultql_webhook_deliveries_received_total{{outcome=\"{outcome}\"}} {count}"
            );
        }
        out.push_str("# HELP vaultql_upstream_request_duration_seconds Latency of requests to the vault API.\n");
        out.push_str("# TYPE vaultql_upstream_request_duration_seconds histogram\n");
        for ((method, route), histogram) in &state.latency {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (bound, count) in BUCKETS.iter().zip(histogram.counts.iter()) {
                let _ = writeln!(
                    out,
                    "vaultql_upstream_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "vaultql_upstream_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                histogram.count
            );
            let _ = writeln!(
                out,
                "vaultql_upstream_request_duration_seconds_sum{{{labels}}} {}",
                histogram.sum
            );
            let _ = writeln!(
                out,
                "vaultql_upstream_request_duration_seconds_count{{{labels}}} {}",
                histogram.count
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_buckets_render_in_prometheus_text_format() {
        let metrics = Metrics::default();
        metrics.record_upstream(
            "GET",
            "/vault/customer",
            Some(200),
            Duration::from_millis(3),
        );
        metrics.record_upstream(
            "GET",
            "/vault/customer",
            Some(200),
            Duration::from_millis(30),
        );
        metrics.record_upstream("POST", "/vault/customer", None, Duration::from_secs(20));
        let text = metrics.render();
        assert!(text.contains(
            "vaultql_upstream_requests_total{method=\"GET\",route=\"/vault/customer\",status=\"200\"} 2"
        ));
        assert!(text.contains("status=\"error\"} 1"));
        assert!(text.contains(
            "vaultql_upstream_request_duration_seconds_bucket{method=\"GET\",route=\"/vault/customer\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "vaultql_upstream_request_duration_seconds_bucket{method=\"POST\",route=\"/vault/customer\",le=\"+Inf\"} 1"
        ));
        assert_eq!(metrics.upstream_requests(), 3);
    }
}
