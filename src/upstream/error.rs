//! The one error type of the upstream client. It is `Clone` because dataloaders share errors
//! between the fields that waited on the same batch.

#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// The vault answered with an error envelope (or a non-2xx status).
    #[error("{message}")]
    Status {
        status: u16,
        code: Option<i32>,
        message: String,
    },
    #[error("the vault did not answer in time")]
    Timeout,
    #[error("could not reach the vault: {0}")]
    Transport(String),
    #[error("the vault's answer could not be read: {0}")]
    Decode(String),
    /// The GraphQL request has made all the upstream calls one request may make.
    #[error(
        "this request has made the {limit} upstream calls one request may make: ask for less \
         in one request"
    )]
    CallBudgetSpent { limit: u32 },
    /// A customer session's client was asked for something outside its customer; nothing was
    /// sent.
    #[error("{0}")]
    OutOfScope(&'static str),
    /// A customer session's client found no such object of its customer (there may be one of
    /// another customer: the answer is the same).
    #[error("{0}")]
    NotFound(&'static str),
    /// A Payment Gateway write was sent but its answer was lost (a timeout, a connection reset,
    /// a proxy's 502-504, an unreadable 200): it may or may not have happened.
    #[error("the payment gateway's answer was lost: {0}")]
    OutcomeUnknown(String),
    /// A browse condition the filter grammar cannot carry; nothing was sent.
    #[error(transparent)]
    Filter(#[from] crate::qualpay::FilterError),
}

impl UpstreamError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Status { status: 404, .. } | Self::NotFound(_))
    }

    pub(super) fn from_reqwest(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            Self::Timeout
        } else if error.is_decode() {
            Self::Decode(error.without_url().to_string())
        } else {
            // Without the URL: its query string can carry filter values.
            Self::Transport(error.without_url().to_string())
        }
    }
}
