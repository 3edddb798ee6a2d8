//! Activity Log events as a diagnostic setting writes them to a storage account or event hub
//! (`insights-activity-logs/.../PT1H.json`, JSON Lines since November 2018, or a `{"records":[...]}`
//! envelope): the common resource-log schema, with `time`, a string `operationName`,
//! `resultType`/`resultSignature` for the status, `callerIpAddress`, and the caller's token in
//! `identity.claims`.

use serde_json::Value;

use super::super::error::RecordError;
use super::super::fields::{first_text, text};
use super::super::RecordContext;
use super::activity::ActivityRecord;
use super::activity_rest::PRINCIPAL_CLAIMS;
use super::{embedded, required_time};
use crate::schema::Record;

/// The `category` values the Activity Log uses in this export. Older exports name the operation
/// kind (`Write`, `Delete`, `Action`) instead of `Administrative`.
const ACTIVITY_CATEGORIES: &[&str] = &[
    "Administrative",
    "Write",
    "Delete",
    "Action",
    "Policy",
    "Security",
    "ServiceHealth",
    "ResourceHealth",
    "Alert",
    "Autoscale",
    "Recommendation",
];

/// A resource-log record (string `operationName`, `resourceId`) of an Activity Log category.
/// Other resource logs share the envelope but not the categories, and are not ours to read.
pub(super) fn recognizes(record: &Value) -> bool {
    let activity_category = text(record, &["category"]).is_some_and(|category| {
        ACTIVITY_CATEGORIES
            .iter()
            .any(|known| known.eq_ignore_ascii_case(&category))
    }) || record
        .get("properties")
        .is_some_and(|p| p.get("eventCategory").is_some());
    record.get("operationName").is_some_and(Value::is_string)
        && record.get("resourceId").is_some()
        && activity_category
}

pub(super) fn map(record: &Value, context: &RecordContext) -> Result<Record, RecordError> {
    let time = required_time(record, &["time"], "time", context)?;
    let operation =
        text(record, &["operationName"]).ok_or(RecordError::MissingField("operationName"))?;
    let identity = embedded(record.get("identity"));
    let claims = identity
        .as_deref()
        .and_then(|identity| embedded(identity.get("claims")));
    let claim = |keys: &[&str]| {
        claims
            .as_deref()
            .and_then(|claims| keys.iter().find_map(|key| text(claims, &[key])))
    };
    let (status, sub_status) = status(record);
    let event = ActivityRecord {
        time,
        operation,
        resource_provider: None,
        resource_id: text(record, &["resourceId"]),
        subscription: None,
        tenant: text(record, &["tenantId"]),
        principal: claim(PRINCIPAL_CLAIMS).or_else(|| {
            identity
                .as_deref()
                .and_then(|identity| text(identity, &["authorization", "evidence", "principalId"]))
        }),
        caller_ip: text(record, &["callerIpAddress"]).or_else(|| claim(&["ipaddr"])),
        status,
        sub_status,
        properties: embedded(record.get("properties")),
        location: text(record, &["location"]),
        event_id: first_text(record, &[&["eventDataId"], &["properties", "eventDataId"]]),
    }
    .into_event(context);
    Ok(Record::Event(Box::new(event)))
}

/// `resultType` is the status (`Started`, `Accepted`, `Succeeded`, `Failed`; older exports
/// `Start`, `Success`, `Failure`) and `resultSignature` the sub-status. Some exports spell both in
/// the signature (`Failed.Conflict`, `Started.`); others put only the sub-status there, often an
/// HTTP code (`"200"`, `"403"`), which must not hide the status.
fn status(record: &Value) -> (Option<String>, Option<String>) {
    let result_type = text(record, &["resultType"]);
    let Some(signature) = text(record, &["resultSignature"]) else {
        return (result_type, None);
    };
    let nonempty = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    match signature.split_once('.') {
        Some((status, sub_status)) => (nonempty(status).or(result_type), nonempty(sub_status)),
        None if result_type.is_some() => {
            let sub_status = Some(signature).filter(|s| !is_status_word(s));
            (result_type, sub_status)
        }
        None => (Some(signature), None),
    }
}

/// A signature that repeats the status (`Succeeded` beside `resultType: Success`) is no sub-status.
fn is_status_word(signature: &str) -> bool {
    [
        "succeeded",
        "success",
        "failed",
        "failure",
        "started",
        "start",
        "accepted",
        "accept",
    ]
    .iter()
    .any(|word| signature.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn signature_splits_into_status_and_sub_status() {
        let status_of = |record: Value| status(&record);
        assert_eq!(
            status_of(json!({"resultType": "Failure", "resultSignature": "Failed.Conflict"})),
            (Some("Failed".into()), Some("Conflict".into()))
        );
        assert_eq!(
            status_of(json!({"resultType": "Start", "resultSignature": "Started."})),
            (Some("Started".into()), None)
        );
        assert_eq!(
            status_of(json!({"resultType": "Success"})),
            (Some("Success".into()), None)
        );
        assert_eq!(
            status_of(json!({"resultType": "Failed", "resultSignature": "403"})),
            (Some("Failed".into()), Some("403".into()))
        );
        assert_eq!(
            status_of(json!({"resultType": "Success", "resultSignature": "Succeeded"})),
            (Some("Success".into()), None)
        );
        assert_eq!(
            status_of(json!({"resultSignature": "Succeeded"})),
            (Some("Succeeded".into()), None)
        );
        assert_eq!(
            status_of(json!({"resultType": "Failure", "resultSignature": ".Conflict"})),
            (Some("Failure".into()), Some("Conflict".into()))
        );
    }

    #[test]
    fn only_activity_categories_are_claimed() {
        let record = |category: &str| {
            json!({"time": "2024-01-01T00:00:00Z", "operationName": "X/Y/write",
                   "resourceId": "/subscriptions/s", "category": category})
        };
        assert!(recognizes(&record("Administrative")));
        assert!(recognizes(&record("write")));
        assert!(!recognizes(&record("AuditEvent")));
    }
}
