//! The trait an adapter implements: two calls, no judgement.

use async_trait::async_trait;
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::PullError;

/// The span of event time to pull, start inclusive, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    /// The window cut at UTC midnights, each piece keyed by its day (`2026-11-01`): streams
    /// whose keys stay the same across runs, and whose queries stay small.
    pub fn days(&self) -> Vec<(String, Window)> {
        self.split(|date| date.succ_opt(), "%Y-%m-%d")
    }

    /// The window cut at the first of each UTC month, keyed `2026-11`.
    pub fn months(&self) -> Vec<(String, Window)> {
        self.split(
            |date| {
                let (year, month) = match date.month() {
                    12 => (date.year() + 1, 1),
                    month => (date.year(), month + 1),
                };
                NaiveDate::from_ymd_opt(year, month, 1)
            },
            "%Y-%m",
        )
    }

    fn split(
        &self,
        next: impl Fn(NaiveDate) -> Option<NaiveDate>,
        key: &str,
    ) -> Vec<(String, Window)> {
        let mut pieces = Vec::new();
        let mut start = self.start;
        while start < self.end {
            let boundary = next(start.date_naive())
                .and_then(|date| date.and_hms_opt(0, 0, 0))
                .map(|at| Utc.from_utc_datetime(&at));
            // A month or day after the last date chrono knows: the rest is one piece.
            let end = boundary.map_or(self.end, |at| at.min(self.end));
            pieces.push((start.format(key).to_string(), Window { start, end }));
            start = end;
        }
        pieces
    }
}

/// One independent sequence of pages inside a source: an account and region of `LookupEvents`,
/// one S3 object of a trail, one subscription's Activity Log. Its key is stable across runs, so
/// a cursor can say which streams are done.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stream {
    pub key: String,
}

impl Stream {
    pub fn new(key: impl Into<String>) -> Stream {
        Stream { key: key.into() }
    }
}

/// One page as the provider returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The native bytes: a `LookupEvents` response, a trail's `.json.gz` object, a Graph page.
    pub bytes: Vec<u8>,
    /// How a file of these bytes is named for the readers: `json`, `json.gz`, `csv`, `csv.gz`.
    pub extension: &'static str,
    /// Records the page holds, as the provider counted them (progress and the pull summary).
    pub records: u64,
    /// Where the next page starts; `None` ends the stream.
    pub next: Option<String>,
}

/// A provider's records, page by page. Implementations fetch and never decide what is
/// anomalous; retries, backoff, rate limits and resuming are the driver's ([`crate::pull`]).
#[async_trait]
pub trait Source: Send + Sync {
    /// Names the source in cursors, saved files and logs: `aws/111122223333/cloudtrail`.
    fn id(&self) -> &str;

    /// The streams that may hold records of `window`. Listing may itself page (S3
    /// `ListObjectsV2`); it is retried as a whole.
    async fn list(&self, window: &Window) -> Result<Vec<Stream>, PullError>;

    /// One page of `stream`, the first when `token` is `None`.
    async fn fetch(
        &self,
        stream: &Stream,
        window: &Window,
        token: Option<&str>,
    ) -> Result<Page, PullError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn windows_split_at_days_and_months() {
        let window = Window {
            start: at("2026-11-30T18:00:00Z"),
            end: at("2026-12-02T06:00:00Z"),
        };
        let days: Vec<_> = window
            .days()
            .into_iter()
            .map(|(key, w)| (key, w.start.to_rfc3339(), w.end.to_rfc3339()))
            .collect();
        assert_eq!(
            days,
            [
                (
                    "2026-11-30".into(),
                    "2026-11-30T18:00:00+00:00".into(),
                    "2026-12-01T00:00:00+00:00".into()
                ),
                (
                    "2026-12-01".into(),
                    "2026-12-01T00:00:00+00:00".into(),
                    "2026-12-02T00:00:00+00:00".into()
                ),
                (
                    "2026-12-02".into(),
                    "2026-12-02T00:00:00+00:00".into(),
                    "2026-12-02T06:00:00+00:00".into()
                ),
            ]
        );
        let months: Vec<_> = window
            .months()
            .into_iter()
            .map(|(key, w)| (key, w.end))
            .collect();
        assert_eq!(
            months,
            [
                ("2026-11".to_string(), at("2026-12-01T00:00:00Z")),
                ("2026-12".to_string(), at("2026-12-02T06:00:00Z")),
            ]
        );
        let empty = Window {
            start: window.end,
            end: window.end,
        };
        assert!(empty.days().is_empty());
    }
}
