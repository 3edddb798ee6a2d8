//! Cloud Billing export rows: the BigQuery standard usage cost export
//! (`gcp_billing_export_v1_<account>`), read as JSON/NDJSON with nested records
//! (`service.description` is `{"service": {"description": ...}}`) or as CSV, whose headers spell
//! nested columns with a dot (`service.description`) or, in console downloads, as words
//! (`Service description`, `Project ID`, `Usage start date`, `Cost`).
//!
//! Cost is the `cost` column, before credits. Credits (free trial, sustained-use and
//! committed-use discounts, promotions) are listed apart in `credits[]`; netting them would hide
//! exactly the usage a hijacked free-trial project runs up, which shows as a cost with an equal
//! credit.

use serde_json::Value;

use super::{has_any, organization_of};
use crate::normalize::error::RecordError;
use crate::normalize::fields::{self, first_text, text};
use crate::normalize::RecordContext;
use crate::schema::{BillingCategory, BillingRecord, Provider, Record};

/// Candidate spellings of each column: nested JSON, BigQuery CSV, console CSV.
const USAGE_START: &[&[&str]] = &[&["usage_start_time"], &["Usage start date"]];
const COST: &[&[&str]] = &[&["cost"], &["Cost"]];
const CURRENCY: &[&[&str]] = &[&["currency"], &["Currency"]];
const SERVICE: &[&[&str]] = &[
    &["service", "description"],
    &["service.description"],
    &["Service description"],
];
const PROJECT: &[&[&str]] = &[&["project", "id"], &["project.id"], &["Project ID"]];
const ANCESTRY_NUMBERS: &[&[&str]] = &[
    &["project", "ancestry_numbers"],
    &["project.ancestry_numbers"],
];

/// Top-level keys that only a GCP billing row has, in any spelling.
const GCP_COLUMNS: &[&str] = &[
    "billing_account_id",
    "Billing account ID",
    "service",
    "service.description",
    "Service description",
    "sku",
    "sku.description",
    "SKU description",
    "project",
    "project.id",
    "Project ID",
];

pub(super) fn is_billing_row(record: &Value) -> bool {
    has_any(record, &["usage_start_time", "Usage start date"])
        && has_any(record, &["cost", "Cost"])
        && has_any(record, GCP_COLUMNS)
}

pub(super) fn map_row(row: &Value, context: &RecordContext) -> Result<Record, RecordError> {
    let start = USAGE_START
        .iter()
        .find(|path| text(row, path).is_some())
        .ok_or(RecordError::MissingField("usage_start_time"))?;
    let time = fields::required_time(row, start, "usage_start_time", &Provider::Gcp, context)?;
    let cost_path = COST
        .iter()
        .find(|path| fields::at(row, path).is_some_and(|v| !v.is_null()))
        .ok_or(RecordError::MissingField("cost"))?;
    let cost = fields::required_cost(row, cost_path, "cost")?;
    let project = first_text(row, PROJECT);
    Ok(Record::Billing(BillingRecord {
        time: fields::start_of_day(time),
        provider: Provider::Gcp,
        tenant: organization(row).or_else(|| project.clone()),
        account: project,
        category: BillingCategory::Billing,
        service: first_text(row, SERVICE),
        cost,
        currency: first_text(row, CURRENCY),
        source: context.source.clone(),
    }))
}

/// The project's organization: the `organizations/<id>` entry of `project.ancestors`, or the
/// first number of `project.ancestry_numbers` (`/<organization>/<folder>/.../`), whose path
/// starts at the organization. A project outside any organization has neither.
fn organization(row: &Value) -> Option<String> {
    let from_ancestors = fields::at(row, &["project", "ancestors"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|ancestor| text(ancestor, &["resource_name"]))
        .find_map(|name| organization_of(&name));
    from_ancestors.or_else(|| {
        let numbers = first_text(row, ANCESTRY_NUMBERS)?;
        numbers
            .split('/')
            .find(|part| !part.is_empty())
            .filter(|part| part.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_string)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::FileHints;
    use crate::schema::SourceRef;
    use serde_json::json;

    fn billing(row: Value) -> Result<BillingRecord, RecordError> {
        let hints = FileHints::default();
        let context = RecordContext {
            source: SourceRef {
                file: "test".into(),
                record: 1,
            },
            file: &hints,
        };
        match map_row(&row, &context)? {
            Record::Billing(record) => Ok(record),
            Record::Event(_) => panic!("a billing row maps to a billing record"),
        }
    }

    #[test]
    fn the_organization_is_the_first_ancestor() {
        let row =
            json!({"project": {"id": "p", "ancestry_numbers": "/123456789012/345678901234/"}});
        assert_eq!(organization(&row).as_deref(), Some("123456789012"));
        let flat = json!({"project.ancestry_numbers": "/111/"});
        assert_eq!(organization(&flat).as_deref(), Some("111"));
        let ancestors = json!({"project": {"ancestors": [
            {"resource_name": "projects/998877", "display_name": "p"},
            {"resource_name": "folders/345678901234", "display_name": "f"},
            {"resource_name": "organizations/123456789012", "display_name": "example.com"},
        ]}});
        assert_eq!(organization(&ancestors).as_deref(), Some("123456789012"));
        assert_eq!(
            organization(&json!({"project": {"ancestry_numbers": "/"}})),
            None
        );
        assert_eq!(organization(&json!({"project": {"id": "p"}})), None);
    }

    #[test]
    fn console_csv_spelling() {
        let row = json!({
            "Billing account ID": "012345-6789AB-CDEF01",
            "Project ID": "example-dev-2",
            "Service description": "Compute Engine",
            "Usage start date": "2024-09-18",
            "Cost": "1,234.50",
            "Currency": "EUR",
        });
        assert!(is_billing_row(&row));
        let record = billing(row).unwrap();
        assert_eq!(record.time.to_rfc3339(), "2024-09-18T00:00:00+00:00");
        assert_eq!(record.account.as_deref(), Some("example-dev-2"));
        assert_eq!(record.tenant.as_deref(), Some("example-dev-2"));
        assert_eq!(record.service.as_deref(), Some("Compute Engine"));
        assert_eq!(record.cost, 1234.5);
        assert_eq!(record.currency.as_deref(), Some("EUR"));
    }

    #[test]
    fn bad_or_missing_values_name_the_field() {
        let no_cost =
            json!({"usage_start_time": "2024-09-18 00:00:00 UTC", "cost": null, "service": {}});
        assert_eq!(billing(no_cost), Err(RecordError::MissingField("cost")));
        let bad_cost =
            json!({"usage_start_time": "2024-09-18 00:00:00 UTC", "cost": "n/a", "service": {}});
        assert!(matches!(
            billing(bad_cost),
            Err(RecordError::BadField { field: "cost", .. })
        ));
        let bad_time = json!({"usage_start_time": "soon", "cost": 1, "service": {}});
        assert!(matches!(
            billing(bad_time),
            Err(RecordError::BadField {
                field: "usage_start_time",
                ..
            })
        ));
    }

    #[test]
    fn other_billing_formats_are_not_claimed() {
        // FOCUS and Azure cost rows have neither a usage start time nor GCP columns.
        assert!(!is_billing_row(
            &json!({"ChargePeriodStart": "x", "BilledCost": "1"})
        ));
        assert!(!is_billing_row(
            &json!({"Date": "x", "CostInBillingCurrency": "1"})
        ));
        // A start time and a cost alone are not enough.
        assert!(!is_billing_row(
            &json!({"usage_start_time": "x", "cost": "1"})
        ));
    }
}
