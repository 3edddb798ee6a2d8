//! auditsweep's GCP adapter. It fetches native records and nothing else:
//! - Cloud Audit Logs of projects and an organization, and the Workspace login audit shared
//!   into the organization's logs, as Cloud Logging `entries.list` pages
//!   (`{"entries": [...], "nextPageToken": ...}`), the bytes Google returned;
//! - the Cloud Billing export table through a BigQuery query job, each page a JSON array of
//!   rows as a BigQuery JSON export writes them;
//! - export files in Cloud Storage buckets (a log sink's NDJSON, exported billing rows), each
//!   object whole, as stored.
//!
//! Credentials come from `google-cloud-auth` (Application Default Credentials or a named
//! credentials file). Paging, retries, rate limits and resuming are
//! [`auditsweep_source::pull`]'s. See `README.md` for the calls, permissions and limits.

mod auth;
mod bigquery;
mod config;
mod gcs;
mod logging;
mod rows;

pub use auth::SCOPE;
pub use config::{
    AuditLog, BillingConfig, BucketConfig, Check, Endpoints, TenantConfig, BIGQUERY, LOGGING,
    STORAGE,
};
