//! `tracing` setup. Log lines carry the request id; no handler logs a body or a header, so no
//! card number, CVV or API key can reach a log line (`tests/api/security.rs` checks it).
//!
//! OpenTelemetry traces are opt-in: when the standard `OTEL_EXPORTER_OTLP_*` variables name a
//! collector, [`otlp`] installs a second layer beside the log's that exports spans over
//! OTLP/HTTP, and [`spans`] makes the spans only that layer sees (one per GraphQL operation,
//! loader batch and upstream call) and carries W3C `traceparent` in and out. Without them no
//! exporter, no layer and none of those spans exist.

mod otlp;
pub mod spans;

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, fmt};

pub use otlp::{Protocol, TracesConfig, traces_config};

/// The target of the spans made for the trace exporter alone: the log never shows them.
pub const TRACE_TARGET: &str = "vaultql::trace";

/// Whether the process logs JSON lines: then everything it writes to stderr is one.
static JSON: AtomicBool = AtomicBool::new(false);

/// Whether spans are exported (the OTLP layer is installed).
static TRACES: AtomicBool = AtomicBool::new(false);

/// Whether `--log-json` is on: what the process says at start goes through the log then,
/// rather than as plain lines among the JSON ones.
pub fn json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// Whether OpenTelemetry traces are exported: code that would only make work for the exporter
/// (an extension, a header) asks this first.
pub fn traces() -> bool {
    TRACES.load(Ordering::Relaxed)
}

/// What [`init`] installed that must be shut down: the trace exporter, when there is one.
#[must_use = "shut it down at exit, or the last spans are lost"]
pub struct Telemetry {
    exporter: Option<otlp::Exporter>,
}

impl Telemetry {
    /// Exports the spans still buffered and stops the exporter (on a graceful shutdown).
    pub async fn shutdown(self) {
        if let Some(exporter) = self.exporter {
            exporter.shutdown().await;
        }
    }
}

/// Installs the global subscriber: human-readable on a terminal, JSON with `--log-json`.
/// `RUST_LOG` overrides the default level (`info`). With an OTLP endpoint in the environment
/// (see [`traces_config`]) spans are exported too; a configuration that cannot be honoured
/// (gRPC, a malformed endpoint) is an error rather than silently exporting nothing.
/// Must run inside the tokio runtime (the exporter's batches are sent from a task).
pub fn init(json: bool) -> anyhow::Result<Telemetry> {
    let config = traces_config(|name| std::env::var(name).ok())?;
    JSON.store(json, Ordering::Relaxed);
    let base = fmt::layer()
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let log = if json {
        // Each line lists its spans once (`spans`), not again as `span`.
        base.json().with_current_span(false).boxed()
    } else {
        base.boxed()
    };
    let log = log.with_filter(log_filter());
    let (exporter, layer) = match config {
        Some(config) => {
            let (exporter, layer) = otlp::Exporter::start(&config)?;
            (Some(exporter), Some(layer))
        }
        None => (None, None),
    };
    let installed = tracing_subscriber::registry()
        .with(log)
        .with(layer)
        .try_init()
        .is_ok();
    // A subscriber installed earlier (a test harness) wins; that is not an error, but then
    // nothing would reach this exporter.
    TRACES.store(installed && exporter.is_some(), Ordering::Relaxed);
    Ok(Telemetry {
        exporter: exporter.filter(|_| installed),
    })
}

/// `RUST_LOG` or `info`, never the exporter's own spans.
fn log_filter() -> EnvFilter {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    match format!("{TRACE_TARGET}=off").parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}
