//! GCP formats: Cloud Audit Log entries (a `gcloud logging read --format=json` array, a sink's
//! NDJSON export to Cloud Storage, `entries.list` pages), the Google Workspace login audit that
//! Workspace shares into Cloud Logging, and Cloud Billing export rows (BigQuery standard usage
//! export as JSON/NDJSON or CSV).
//!
//! Recognition is by content: a Cloud Logging entry carries a `protoPayload` (or a `logName` with
//! another payload), a billing row carries a usage start time, a cost and a GCP column such as
//! `service.description`. None of these keys appear in AWS or Azure records.
//!
//! Tenant: the organization when the record says (an organization-level `logName`, or a
//! project's `ancestry_numbers` in billing rows), otherwise the project itself.

pub(crate) mod audit;
mod billing;
mod login;

use serde_json::Value;

use super::fields::has;
use super::{RecordContext, RecordError};
use crate::schema::Record;

pub(crate) fn map(record: &Value, context: &RecordContext) -> Option<Result<Record, RecordError>> {
    if audit::is_log_entry(record) {
        return Some(audit::map_entry_value(record, context));
    }
    if billing::is_billing_row(record) {
        return Some(billing::map_row(record, context));
    }
    None
}

/// Whether any of several keys is present; CSV headers and JSON exports spell the same column
/// differently (`service.description`, `Service description`).
fn has_any(record: &Value, keys: &[&str]) -> bool {
    keys.iter().any(|key| has(record, key))
}

/// The organization id of a resource name such as `organizations/123456789012/...`.
fn organization_of(name: &str) -> Option<String> {
    let rest = name.strip_prefix("organizations/")?;
    let id = rest.split('/').next()?;
    (!id.is_empty()).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_ids_come_from_resource_names() {
        assert_eq!(
            organization_of("organizations/123456789012/logs/x").as_deref(),
            Some("123456789012")
        );
        assert_eq!(organization_of("organizations/42").as_deref(), Some("42"));
        assert_eq!(organization_of("organizations/"), None);
        assert_eq!(organization_of("projects/p/logs/x"), None);
    }
}
