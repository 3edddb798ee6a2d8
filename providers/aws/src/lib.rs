//! auditsweep's AWS adapter. It fetches native records and nothing else, page by page, through
//! the official SDK and its credential chain:
//!
//! - [`LookupEvents`]: CloudTrail event history per account and region (the last 90 days);
//! - [`TrailBucket`]: a trail's log files in S3, for older history and organisation trails;
//! - [`CostAndUsage`]: Cost Explorer daily costs by service and linked account.
//!
//! Each page is a document auditsweep's file readers accept (`docs/formats.md`); paging, retries,
//! rate limits and resuming are `auditsweep_source::pull`'s. The main crate deserializes a
//! tenant's table into [`TenantConfig`], prints [`TenantConfig::check`] for `config check`, and
//! pulls the [`TenantConfig::sources`].

mod config;
pub mod cost;
pub mod error;
mod fresh;
pub mod lookup_events;
mod sdk;
mod tenant;
pub mod trail_bucket;

pub use config::{
    Check, CostExplorerConfig, Endpoints, StaticCredentials, TenantConfig, TrailBucketConfig,
    LOOKUP_EVENTS_PER_SECOND,
};
pub use cost::CostAndUsage;
pub use lookup_events::LookupEvents;
pub use trail_bucket::TrailBucket;
