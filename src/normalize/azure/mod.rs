//! Azure formats, recognized by their keys (never by file name):
//!
//! | format | recognized by | module |
//! |---|---|---|
//! | Activity Log, REST API / portal JSON (`{"value":[...]}` items) | `operationName` is an object | [`activity_rest`] |
//! | Activity Log, diagnostic-settings export (`{"records":[...]}`, JSON Lines) | string `operationName`, `resourceId`, an Activity Log `category` | [`activity_export`] |
//! | Entra ID sign-ins, Microsoft Graph `auditLogs/signIns` items | `status` plus `conditionalAccessStatus` / `clientAppUsed` / `createdDateTime` | [`signin`] |
//! | Entra ID sign-ins, diagnostic-settings export | a sign-in `category`, or `operationName` "Sign-in activity" | [`signin`] |
//! | Entra ID directory audits, Microsoft Graph `auditLogs/directoryAudits` items | two of `activityDateTime` / `initiatedBy` / `loggedByService` | [`directory_audit`] |
//! | Entra ID directory audits, diagnostic-settings export | category `AuditLogs`, the `Microsoft.aadiam` resource id, or a `directoryAudit` in `properties` | [`directory_audit`] |
//! | Log Analytics / Sentinel `SigninLogs` and `AzureActivity` rows (JSON or CSV) | PascalCase columns (`ConditionalAccessStatus`, `OperationNameValue`, ...) | [`log_analytics`] |
//! | Cost Management query responses (`properties.columns` + `rows`) | expanded by [`expand`] into marked rows | [`cost`] |
//! | Cost Management export CSV (EA PascalCase and MCA camelCase columns) | a date or cost column plus an Azure billing column | [`cost`] |
//!
//! Tenant is the Entra directory id when the record names it (`tenantId`, `AADTenantId`), else
//! `None`. Log Analytics' own `TenantId` column is deliberately not read: it holds the *workspace*
//! id, not the directory. Account is the subscription (lowercased, since resource ids in exports
//! are often uppercased and the same subscription must not split in two).

use std::borrow::Cow;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

use super::error::RecordError;
use super::fields::{self, has, text};
use super::RecordContext;
use crate::schema::{Provider, Record};

mod activity;
mod activity_export;
pub(crate) mod activity_rest;
mod cost;
mod directory_audit;
mod log_analytics;
mod resource_id;
pub(crate) mod signin;

/// Keys that mark another cloud's formats; an Azure recognizer never claims such a record, even if
/// it happens to share a column name (FOCUS and Azure cost exports both have `ServiceName`).
const OTHER_FORMATS: &[&str] = &[
    "eventVersion",
    "eventSource",
    "CloudTrailEvent",
    "protoPayload",
    "logName",
    "usage_start_time",
    "ChargePeriodStart",
    "BilledCost",
    "lineItem/UsageStartDate",
    "line_item_usage_start_date",
];

pub(crate) fn map(record: &Value, context: &RecordContext) -> Option<Result<Record, RecordError>> {
    if has(record, cost::QUERY_ROW) {
        return Some(cost::query_row(&record[cost::QUERY_ROW], context));
    }
    if OTHER_FORMATS.iter().any(|key| has(record, key)) {
        return None;
    }
    if activity_rest::recognizes(record) {
        return Some(activity_rest::map(record, context));
    }
    if signin::is_diagnostic_export(record) {
        return Some(signin::diagnostic_export(record, context));
    }
    if directory_audit::is_diagnostic_export(record) {
        return Some(directory_audit::diagnostic_export(record, context));
    }
    if activity_export::recognizes(record) {
        return Some(activity_export::map(record, context));
    }
    if signin::is_graph_item(record) {
        return Some(signin::graph_item(record, context));
    }
    if directory_audit::is_graph_item(record) {
        return Some(directory_audit::graph_item(record, context));
    }
    if log_analytics::is_azure_activity_row(record) {
        return Some(log_analytics::azure_activity_row(record, context));
    }
    if log_analytics::is_signin_row(record) {
        return Some(log_analytics::signin_row(record, context));
    }
    if cost::is_export_row(record) {
        return Some(cost::export_row(record, context));
    }
    None
}

/// Splits a Cost Management query response into one marked value per row.
pub(crate) fn expand(document: &Value) -> Option<Vec<Value>> {
    cost::expand_query(document)
}

/// A nested object that some shapes carry as JSON text: Log Analytics `dynamic` columns in CSV
/// (`LocationDetails`, `Properties_d`), and the Activity Log's `requestbody`. Text that is not a
/// JSON object or array is treated as absent: these fields are optional detail, and a truncated
/// request body must not cost the whole record.
pub(super) fn embedded<'v>(value: Option<&'v Value>) -> Option<Cow<'v, Value>> {
    match value? {
        Value::Object(_) | Value::Array(_) => value.map(Cow::Borrowed),
        Value::String(raw) => match serde_json::from_str::<Value>(raw) {
            Ok(parsed @ (Value::Object(_) | Value::Array(_))) => Some(Cow::Owned(parsed)),
            _ => None,
        },
        _ => None,
    }
}

/// The first of several keys whose value is an embedded object (see [`embedded`]).
pub(super) fn first_embedded<'v>(record: &'v Value, keys: &[&str]) -> Option<Cow<'v, Value>> {
    keys.iter().find_map(|key| embedded(record.get(*key)))
}

/// Reads a required timestamp. Besides [`fields::parse_time`]'s spellings it accepts the Azure
/// portal's display format (`1/15/2024, 9:03:12.345 AM`), which Log Analytics CSV downloads use
/// for their `[UTC]` columns.
/// The time is checked against the run's bounds ([`fields::checked_time`]).
pub(super) fn required_time(
    record: &Value,
    path: &[&str],
    field: &'static str,
    context: &RecordContext,
) -> Result<DateTime<Utc>, RecordError> {
    let raw = text(record, path).ok_or(RecordError::MissingField(field))?;
    fields::checked_time(parse_time(&raw), &raw, field, &Provider::Azure, context)
}

pub(super) fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    fields::parse_time(raw).or_else(|| {
        ["%m/%d/%Y, %I:%M:%S%.f %p", "%m/%d/%Y %I:%M:%S%.f %p"]
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(raw.trim(), format).ok())
            .map(|naive| Utc.from_utc_datetime(&naive))
    })
}

/// Keeps error messages short in the reason field; providers embed whole JSON documents in them.
pub(super) fn truncate(raw: &str, chars: usize) -> String {
    let mut short: String = raw.chars().take(chars).collect();
    if short.len() < raw.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn embedded_objects_as_values_or_text() {
        let record = json!({
            "a": {"city": "Oslo"},
            "b": "{\"city\":\"Oslo\"}",
            "c": "not json",
            "d": "\"a json string\"",
        });
        assert_eq!(embedded(record.get("a")).unwrap()["city"], "Oslo");
        assert_eq!(embedded(record.get("b")).unwrap()["city"], "Oslo");
        assert!(embedded(record.get("c")).is_none());
        assert!(embedded(record.get("d")).is_none());
        assert!(embedded(record.get("missing")).is_none());
    }

    #[test]
    fn portal_display_times() {
        let want = Utc.with_ymd_and_hms(2024, 1, 15, 21, 3, 12).unwrap()
            + chrono::Duration::milliseconds(345);
        assert_eq!(parse_time("1/15/2024, 9:03:12.345 PM"), Some(want));
        assert_eq!(parse_time("01/15/2024 9:03:12.345 PM"), Some(want));
        assert_eq!(parse_time("2024-01-15T21:03:12.345Z"), Some(want));
        assert_eq!(parse_time("15/01/2024, 9:03:12 PM"), None);
    }

    #[test]
    fn records_of_other_clouds_are_not_claimed() {
        let hints = super::super::FileHints::default();
        let context = RecordContext {
            source: crate::schema::SourceRef {
                file: "x".into(),
                record: 1,
            },
            file: &hints,
        };
        // A FOCUS row carries Azure-looking columns but belongs to the FOCUS reader.
        let focus = json!({"ChargePeriodStart": "2024-01-01", "BilledCost": "1",
            "SubscriptionId": "s", "Date": "2024-01-01", "Cost": "1"});
        assert!(map(&focus, &context).is_none());
        let gcp = json!({"protoPayload": {}, "logName": "x", "operationName": {"value": "x"}});
        assert!(map(&gcp, &context).is_none());
    }
}
