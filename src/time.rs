//! Where the process reads the time. Only the edges read it (an HTTP handler, a scheduler tick,
//! the gateway's request setup); everything below them takes `now` or `today` as an argument.

use chrono::{DateTime, Utc};

/// The source of "now" for the whole process, gateway and vault alike.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeSource {
    /// The machine's clock.
    #[default]
    System,
    /// Stands still at this instant: tests and benchmarks pin their dates with it. A merchant's
    /// time still moves with the sandbox clock, which is an offset on top of this.
    Fixed(DateTime<Utc>),
}

impl TimeSource {
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Self::System => Utc::now(),
            Self::Fixed(at) => *at,
        }
    }
}
