//! auditsweep's Azure adapter. It fetches native records and nothing else: each page is the
//! document Azure returned, in a shape auditsweep's file readers accept (docs/formats.md):
//!
//! - the Activity Log of each subscription (`{"value":[...],"nextLink":...}`),
//! - Entra ID sign-ins and directory audits from Microsoft Graph (`{"value":[...],
//!   "@odata.nextLink":...}`),
//! - daily cost by service from a Cost Management query (`properties.columns`/`rows`).
//!
//! Credentials come from azure_identity (client secret, managed identity, workload identity,
//! Azure CLI); the APIs are called over REST (README: why not azure_mgmt_monitor). Paging
//! loops, retries and resuming are `auditsweep_source::pull`'s.

mod activity_log;
mod config;
mod cost;
mod credential;
mod graph;
mod paging;
mod transport;

pub use activity_log::ActivityLog;
pub use config::{Auth, Check, Cloud, Endpoints, InlineSecret, SourceKind, TenantConfig};
pub use cost::CostQuery;
pub use graph::{GraphKind, GraphLog};
