//! Retries: exponential backoff with jitter, `Retry-After` honoured, a refused credential
//! refreshed once per failure, and no retry of what cannot succeed by repetition.

use std::future::Future;
use std::time::Duration;

use crate::PullError;

/// How hard to try one request.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The first backoff; each further one doubles, plus up to half again of jitter.
    pub base: Duration,
    /// No single wait is longer, whatever `Retry-After` asks: a longer one fails the request and
    /// the cursor resumes it on the next run.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 6,
            base: Duration::from_millis(250),
            max_wait: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before try `attempt + 1` after `error` (`attempt` counts from 0).
    pub fn wait(&self, attempt: u32, error: &PullError) -> Duration {
        let wait = match error {
            PullError::Throttled {
                retry_after: Some(after),
                ..
            } => *after,
            // A refreshed credential needs no wait.
            PullError::Unauthorized(_) if attempt == 0 => Duration::ZERO,
            _ => backoff(self.base, attempt),
        };
        wait.min(self.max_wait)
    }

    /// Runs `call` until it succeeds, fails for good, or runs out of tries. `call` gets the
    /// previous error, so an adapter can refresh its token after an `Unauthorized`.
    pub async fn run<T, F, Fut>(&self, what: &str, mut call: F) -> Result<T, PullError>
    where
        F: FnMut(Option<&PullError>) -> Fut,
        Fut: Future<Output = Result<T, PullError>>,
    {
        let mut last: Option<PullError> = None;
        for attempt in 0..self.attempts.max(1) {
            match call(last.as_ref()).await {
                Ok(value) => return Ok(value),
                Err(error) if !error.is_retryable() => return Err(error),
                Err(error) => {
                    if attempt + 1 < self.attempts {
                        let wait = self.wait(attempt, &error);
                        tracing::warn!(%what, %error, attempt = attempt + 1, wait_ms = wait.as_millis() as u64, "retrying");
                        tokio::time::sleep(wait).await;
                    }
                    last = Some(error);
                }
            }
        }
        Err(last.unwrap_or_else(|| PullError::Fatal(format!("{what}: no attempt made"))))
    }
}

/// `base * 2^attempt` plus up to half of that again, at random.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let exponential = base.saturating_mul(1u32 << attempt.min(16));
    let half = exponential.as_nanos() as u64 / 2;
    let jitter = if half == 0 { 0 } else { random() % (half + 1) };
    exponential + Duration::from_nanos(jitter)
}

/// A `Retry-After` value: delay seconds, or an HTTP date (waiting from now).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Enough randomness to spread retries: clients that failed together do not retry together.
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_its_jitter() {
        for attempt in 0..6 {
            let wait = backoff(Duration::from_millis(100), attempt);
            let floor = Duration::from_millis(100 << attempt);
            assert!(
                wait >= floor && wait <= floor * 3 / 2,
                "{attempt}: {wait:?}"
            );
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-3"), None);
    }

    #[test]
    fn the_provider_s_wait_is_honoured_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let throttled = |secs| PullError::Throttled {
            message: "429".into(),
            retry_after: Some(Duration::from_secs(secs)),
        };
        assert_eq!(policy.wait(3, &throttled(2)), Duration::from_secs(2));
        assert_eq!(policy.wait(0, &throttled(3600)), policy.max_wait);
    }

    #[tokio::test(start_paused = true)]
    async fn a_fatal_error_is_not_retried_and_a_transient_one_is() {
        let policy = RetryPolicy::default();
        let mut calls = 0;
        let result: Result<(), _> = policy
            .run("x", |_| {
                calls += 1;
                async { Err(PullError::Fatal("403".into())) }
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls, 1);
        let mut calls = 0;
        let result = policy
            .run("x", |previous| {
                calls += 1;
                let failed = previous.is_none();
                async move {
                    if failed {
                        Err(PullError::Transient("503".into()))
                    } else {
                        Ok(7)
                    }
                }
            })
            .await;
        assert_eq!(result, Ok(7));
        assert_eq!(calls, 2);
    }
}
