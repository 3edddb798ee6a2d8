//! Entra ID (Azure AD) directory audits: Microsoft Graph `auditLogs/directoryAudits` items, and the
//! same object wrapped in the resource-log envelope by a diagnostic setting (category `AuditLogs`,
//! or in some exports the audit's own category: `UserManagement`, `Policy`, ...).
//!
//! These are the "account created or modified" events of the T1584.003 card: a user, a service
//! principal credential or a role assignment added by whoever holds the directory. They are API
//! activity (OCSF 6003) of the directory, with no subscription.
//!
//! The envelope's `category` cannot tell them from the Activity Log (both use `Policy`), so they
//! are recognized by the Graph object's own fields: `activityDateTime`, `initiatedBy`,
//! `loggedByService`, or the directory's resource id `/tenants/<id>/providers/Microsoft.aadiam`.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::super::error::RecordError;
use super::super::fields::{self, first_text, has, text};
use super::super::RecordContext;
use super::{embedded, required_time, truncate};
use crate::schema::{Category, Event, Outcome, Provider, Record, Resource};

/// Fields only a `directoryAudit` object has (sign-ins and Activity Log events have none).
const AUDIT_FIELDS: &[&str] = &["activityDateTime", "initiatedBy", "loggedByService"];

/// The resource provider of the directory in the envelope's `resourceId`.
const DIRECTORY_PROVIDER: &str = "/providers/microsoft.aadiam";

/// A Graph `directoryAudit` item: the audit fields, and an activity name.
pub(super) fn is_graph_item(record: &Value) -> bool {
    AUDIT_FIELDS.iter().filter(|key| has(record, key)).count() >= 2
        && (has(record, "activityDisplayName") || has(record, "operationType"))
}

/// A resource-log record of a directory audit: category `AuditLogs`, the directory's resource
/// id, or a `properties` object that is a `directoryAudit`.
pub(super) fn is_diagnostic_export(record: &Value) -> bool {
    if !record.get("operationName").is_some_and(Value::is_string) {
        return false;
    }
    let audit_category = text(record, &["category"])
        .is_some_and(|category| category.eq_ignore_ascii_case("AuditLogs"));
    let directory = text(record, &["resourceId"])
        .is_some_and(|id| id.to_ascii_lowercase().ends_with(DIRECTORY_PROVIDER));
    let audit_properties = embedded(record.get("properties"))
        .is_some_and(|properties| AUDIT_FIELDS.iter().any(|key| has(&properties, key)));
    audit_category || directory || audit_properties
}

pub(super) fn graph_item(record: &Value, context: &RecordContext) -> Result<Record, RecordError> {
    let time = required_time(record, &["activityDateTime"], "activityDateTime", context)?;
    let operation = text(record, &["activityDisplayName"])
        .or_else(|| text(record, &["operationType"]))
        .ok_or(RecordError::MissingField("activityDisplayName"))?;
    let audit = from_graph_object(record, time, operation, None, None);
    Ok(Record::Event(Box::new(audit.into_event(context))))
}

/// The envelope supplies time, tenant, operation and caller address; `properties` is the Graph
/// `directoryAudit` object and fills in the rest.
pub(super) fn diagnostic_export(
    record: &Value,
    context: &RecordContext,
) -> Result<Record, RecordError> {
    let properties = embedded(record.get("properties"));
    let inner = properties.as_deref().unwrap_or(&Value::Null);
    let time = match text(record, &["time"]) {
        Some(_) => required_time(record, &["time"], "time", context)?,
        None => required_time(inner, &["activityDateTime"], "time", context)?,
    };
    let operation =
        text(record, &["operationName"]).ok_or(RecordError::MissingField("operationName"))?;
    let audit = from_graph_object(
        inner,
        time,
        operation,
        text(record, &["tenantId"]),
        text(record, &["callerIpAddress"]),
    );
    // `identity` is the initiator's display name; only a fallback when properties name no one.
    let audit = DirectoryAudit {
        principal: audit.principal.or_else(|| text(record, &["identity"])),
        ..audit
    };
    Ok(Record::Event(Box::new(audit.into_event(context))))
}

/// One directory change, whichever shape it came in.
struct DirectoryAudit {
    time: DateTime<Utc>,
    operation: String,
    tenant: Option<String>,
    principal: Option<String>,
    ip: Option<String>,
    /// `success`, `failure`, `timeout` or `unknownFutureValue`.
    result: Option<String>,
    result_reason: Option<String>,
    target_kind: Option<String>,
    target: Option<String>,
    /// The audit record's `id`.
    id: Option<String>,
}

impl DirectoryAudit {
    fn into_event(self, context: &RecordContext) -> Event {
        let (outcome, reason) = match self.result.as_deref().map(str::to_ascii_lowercase) {
            Some(result) if result == "success" => (Some(Outcome::Success), None),
            Some(result) if result == "failure" || result == "timeout" => {
                let why = self.result_reason.map(|why| truncate(&why, 200));
                let label = if result == "timeout" {
                    "Timeout"
                } else {
                    "Failure"
                };
                (
                    Some(Outcome::Failure),
                    Some(why.map_or(label.to_string(), |why| format!("{label}: {why}"))),
                )
            }
            _ => (None, None),
        };
        Event {
            time: self.time,
            provider: Provider::Azure,
            tenant: self.tenant,
            account: None,
            region: None,
            category: Category::Api,
            class_uid: Category::Api.class_uid(),
            operation: self.operation,
            principal: self.principal,
            src_ip: fields::ip_address(self.ip),
            user_agent: None,
            outcome,
            reason,
            resource: Resource {
                kind: self.target_kind,
                id: self.target,
                ..Resource::default()
            },
            event_id: self.id,
            source: context.source.clone(),
        }
    }
}

/// Reads the Graph `directoryAudit` fields of `object`. The initiator is a user (by UPN) or an
/// app (by service principal name, display name or id); the target is the first of
/// `targetResources`, the object the change was made to.
fn from_graph_object(
    object: &Value,
    time: DateTime<Utc>,
    operation: String,
    envelope_tenant: Option<String>,
    envelope_ip: Option<String>,
) -> DirectoryAudit {
    let initiated = embedded(object.get("initiatedBy"));
    let initiated = initiated.as_deref().unwrap_or(&Value::Null);
    let target = object
        .get("targetResources")
        .and_then(Value::as_array)
        .and_then(|targets| targets.first())
        .unwrap_or(&Value::Null);
    // Exports write `<null>` (or nothing) as the caller address of app-initiated changes.
    let envelope_ip = envelope_ip.filter(|ip| ip.parse::<std::net::IpAddr>().is_ok());
    DirectoryAudit {
        time,
        operation,
        tenant: envelope_tenant.or_else(|| {
            first_text(
                initiated,
                &[&["user", "homeTenantId"], &["app", "homeTenantId"]],
            )
        }),
        principal: first_text(
            initiated,
            &[
                &["user", "userPrincipalName"],
                &["user", "id"],
                &["app", "servicePrincipalName"],
                &["app", "displayName"],
                &["app", "appId"],
                &["app", "servicePrincipalId"],
            ],
        ),
        ip: envelope_ip.or_else(|| text(initiated, &["user", "ipAddress"])),
        result: text(object, &["result"]),
        result_reason: text(object, &["resultReason"]),
        target_kind: text(target, &["type"]),
        target: first_text(target, &[&["userPrincipalName"], &["displayName"], &["id"]]),
        id: text(object, &["id"]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::FileHints;
    use crate::schema::SourceRef;
    use serde_json::json;

    fn event(record: &Value) -> Result<Event, RecordError> {
        let hints = FileHints::default();
        let context = RecordContext {
            source: SourceRef {
                file: "t.json".into(),
                record: 1,
            },
            file: &hints,
        };
        let mapped = if is_diagnostic_export(record) {
            diagnostic_export(record, &context)
        } else {
            assert!(is_graph_item(record), "not recognized: {record}");
            graph_item(record, &context)
        };
        match mapped? {
            Record::Event(event) => Ok(*event),
            Record::Billing(_) => panic!("an audit became billing"),
        }
    }

    #[test]
    fn app_initiated_change_has_no_address_and_names_the_app() {
        let record = json!({"time": "2024-03-01T10:00:00Z", "operationName": "Add service principal credentials",
            "category": "ApplicationManagement", "callerIpAddress": "<null>", "tenantId": "t1",
            "resourceId": "/tenants/t1/providers/Microsoft.aadiam",
            "properties": {"result": "success", "activityDateTime": "2024-03-01T10:00:00Z",
                "initiatedBy": {"app": {"displayName": "deploy-bot", "servicePrincipalId": "sp-1"}},
                "targetResources": [{"type": "ServicePrincipal", "displayName": "render-farm"}]}});
        let event = event(&record).unwrap();
        assert_eq!(event.principal.as_deref(), Some("deploy-bot"));
        assert_eq!(event.src_ip, None);
        assert_eq!(event.outcome, Some(Outcome::Success));
        assert_eq!(event.resource.kind.as_deref(), Some("ServicePrincipal"));
        assert_eq!(event.resource.id.as_deref(), Some("render-farm"));
    }

    #[test]
    fn policy_category_is_a_directory_audit_not_activity() {
        let record = json!({"time": "2024-03-01T10:00:00Z", "operationName": "Update conditional access policy",
            "category": "Policy", "tenantId": "t1", "resourceId": "/tenants/t1/providers/Microsoft.aadiam",
            "properties": {"result": "failure", "resultReason": "Policy is locked",
                "initiatedBy": {"user": {"userPrincipalName": "eve@contoso.example", "ipAddress": "203.0.113.7"}}}});
        assert!(is_diagnostic_export(&record));
        let event = event(&record).unwrap();
        assert_eq!(event.principal.as_deref(), Some("eve@contoso.example"));
        assert_eq!(event.src_ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(event.reason.as_deref(), Some("Failure: Policy is locked"));
    }

    #[test]
    fn graph_item_needs_its_time() {
        let record = json!({"activityDisplayName": "Add user", "loggedByService": "Core Directory",
            "initiatedBy": {"user": {"userPrincipalName": "a@b.example"}}});
        assert_eq!(
            event(&record).unwrap_err(),
            RecordError::MissingField("activityDateTime")
        );
    }

    #[test]
    fn activity_log_and_sign_ins_are_not_audits() {
        let activity = json!({"time": "2024-01-01T00:00:00Z", "operationName": "X/Y/write",
            "resourceId": "/subscriptions/s", "category": "Policy", "properties": {"eventCategory": "Policy"}});
        assert!(!is_diagnostic_export(&activity));
        let sign_in = json!({"createdDateTime": "2024-01-01T00:00:00Z", "appId": "a",
            "userPrincipalName": "u", "status": {"errorCode": 0}, "clientAppUsed": "Browser"});
        assert!(!is_graph_item(&sign_in));
    }
}
