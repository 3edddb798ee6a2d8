//! A request rate that a quota allows (CloudTrail `LookupEvents`: 2 per second per account and
//! region; Cloud Logging `entries.list`: 60 per minute per project).

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// Spaces requests at least `1 / per_second` apart. Shared by every task that draws on the
/// same quota.
#[derive(Debug)]
pub struct RateLimit {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl RateLimit {
    pub fn per_second(rate: f64) -> RateLimit {
        let interval = if rate.is_finite() && rate > 0.0 {
            Duration::from_secs_f64(1.0 / rate)
        } else {
            Duration::ZERO
        };
        RateLimit {
            interval,
            next: Mutex::new(None),
        }
    }

    pub fn per_minute(rate: f64) -> RateLimit {
        RateLimit::per_second(rate / 60.0)
    }

    /// Waits until the next request may go.
    pub async fn acquire(&self) {
        let mut next = self.next.lock().await;
        let now = Instant::now();
        let at = next.map_or(now, |at| at.max(now));
        *next = Some(at + self.interval);
        drop(next);
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_by_the_rate() {
        let limit = RateLimit::per_second(2.0);
        let start = Instant::now();
        for _ in 0..5 {
            limit.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(2000));
    }
}
