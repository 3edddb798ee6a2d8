//! The trait an adapter implements: two calls, no judgement.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::PullError;

/// The span of event time to pull, start inclusive, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
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
