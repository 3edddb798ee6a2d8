//! Why a request failed, in the classes the retry policy tells apart.

use std::time::Duration;

/// What went wrong, in words that never carry a secret: adapters build messages from status
/// codes, error codes and provider messages, never from headers or request URLs with tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PullError {
    /// HTTP 429, 503, or a throttling error code (AWS `ThrottlingException` comes back as a
    /// 400). Waits `retry_after` when the provider said so.
    #[error("throttled: {message}")]
    Throttled {
        message: String,
        retry_after: Option<Duration>,
    },
    /// A 5xx, a timeout, a reset connection, a truncated page: worth trying again.
    #[error("{0}")]
    Transient(String),
    /// The credential was refused (HTTP 401, an expired token). The adapter refreshes its token
    /// before the retry.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Nothing a retry can fix: a 403, a 404, a bad request, a missing setting.
    #[error("{0}")]
    Fatal(String),
}

impl PullError {
    pub fn is_retryable(&self) -> bool {
        !matches!(self, PullError::Fatal(_))
    }
}
