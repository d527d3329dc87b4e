//! `tracing` setup. Log lines carry the request id; no handler logs a body or a header, so no
//! card number, CVV or API key can reach a log line (`tests/api/security.rs` checks it).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::{EnvFilter, fmt};

/// Whether the process logs JSON lines: then everything it writes to stderr is one.
static JSON: AtomicBool = AtomicBool::new(false);

/// Whether `--log-json` is on: what the process says at start goes through the log then,
/// rather than as plain lines among the JSON ones.
pub fn json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// Installs the global subscriber: human-readable on a terminal, JSON with `--log-json`.
/// `RUST_LOG` overrides the default level (`info`).
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    JSON.store(json, Ordering::Relaxed);
    let result = if json {
        // Each line lists its spans once (`spans`), not again as `span`.
        builder.json().with_current_span(false).try_init()
    } else {
        builder.try_init()
    };
    // A subscriber installed earlier (a test harness) wins; that is not an error.
    drop(result);
}
