//! Captures every log line of the test binary in memory, so tests can look for leaked secrets.
//!
//! The subscriber is global (the servers log from their own worker threads), installed once,
//! before the first server starts, with a fixed filter that ignores `RUST_LOG`.

use std::io;
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::EnvFilter;

/// Targets and levels captured, whatever `RUST_LOG` says.
const FILTER: &str = "vaultql=trace,tower_http=trace,sqlx=debug,axum=trace";

#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct Capture {
    buffer: LogBuffer,
    /// False when someone else had already installed a global subscriber.
    installed: bool,
}

static CAPTURE: OnceLock<Capture> = OnceLock::new();

fn capture() -> &'static Capture {
    CAPTURE.get_or_init(|| {
        let buffer = LogBuffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new(FILTER))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .without_time()
            .with_target(true)
            .finish();
        let installed = tracing::subscriber::set_global_default(subscriber).is_ok();
        Capture { buffer, installed }
    })
}

/// Installs the capturing subscriber; called before any server is built.
pub fn init() {
    capture();
}

/// Whether our subscriber is the global one (the application must not install its own).
pub fn installed() -> bool {
    capture().installed
}

/// Everything logged so far by any test in this binary.
pub fn logs() -> String {
    let bytes = capture()
        .buffer
        .0
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    String::from_utf8_lossy(&bytes).into_owned()
}
