//! Rows of the Log Analytics / Microsoft Sentinel tables `SigninLogs` (and its siblings
//! `AADNonInteractiveUserSignInLogs`, `AADServicePrincipalSignInLogs`) and `AzureActivity`,
//! exported as JSON (query API, `az monitor log-analytics query`) or CSV (portal download).
//!
//! Columns are PascalCase. `dynamic` columns (`LocationDetails`, `Status`, `Properties_d`,
//! `Claims_d`) are objects in JSON and JSON text in CSV; both are read. The `TenantId` column is
//! the workspace id, not the directory, so it is never taken as the tenant: sign-in rows name the
//! directory in `AADTenantId`, and `AzureActivity` rows do not name it at all.

use serde_json::Value;

use super::super::error::RecordError;
use super::super::fields::{first_text, has, text};
use super::super::RecordContext;
use super::activity::ActivityRecord;
use super::activity_rest::PRINCIPAL_CLAIMS;
use super::signin::{SignIn, SIGN_IN_ACTIVITY};
use super::{first_embedded, required_time};
use crate::schema::Record;

/// Columns only the sign-in tables have.
const SIGN_IN_COLUMNS: &[&str] = &[
    "ConditionalAccessStatus",
    "AuthenticationRequirement",
    "ClientAppUsed",
];

/// `AzureActivity` is the only table with the `...Value` display columns.
/// The current `AzureActivity` table (`OperationNameValue`, `ActivityStatusValue`), or the older
/// one those columns replaced in 2020, which exports still carry (`OperationName`,
/// `ActivityStatus`, `Caller`).
pub(super) fn is_azure_activity_row(record: &Value) -> bool {
    has(record, "OperationNameValue")
        || has(record, "ActivityStatusValue")
        || (has(record, "OperationName")
            && has(record, "ActivityStatus")
            && (has(record, "Caller") || has(record, "CallerIpAddress")))
}

pub(super) fn is_signin_row(record: &Value) -> bool {
    SIGN_IN_COLUMNS.iter().any(|column| has(record, column))
        || (has(record, "ResultType")
            && [
                "UserPrincipalName",
                "AppDisplayName",
                "ServicePrincipalName",
            ]
            .iter()
            .any(|column| has(record, column)))
}

pub(super) fn signin_row(record: &Value, context: &RecordContext) -> Result<Record, RecordError> {
    let time = match text(record, &["TimeGenerated"]) {
        Some(_) => required_time(record, &["TimeGenerated"], "TimeGenerated", context)?,
        None => required_time(record, &["CreatedDateTime"], "TimeGenerated", context)?,
    };
    let location = first_embedded(record, &["LocationDetails"]);
    let location = location.as_deref();
    let status = first_embedded(record, &["Status"]);
    let status = status.as_deref();
    let sign_in = SignIn {
        time,
        operation: text(record, &["OperationName"]).unwrap_or_else(|| SIGN_IN_ACTIVITY.into()),
        tenant: first_text(
            record,
            &[&["AADTenantId"], &["ResourceTenantId"], &["HomeTenantId"]],
        ),
        principal: first_text(
            record,
            &[
                &["UserPrincipalName"],
                &["ServicePrincipalName"],
                &["UserId"],
                &["ServicePrincipalId"],
                &["Identity"],
            ],
        ),
        ip: text(record, &["IPAddress"]),
        user_agent: text(record, &["UserAgent"]),
        error_code: text(record, &["ResultType"])
            .or_else(|| status.and_then(|s| text(s, &["errorCode"]))),
        failure_reason: text(record, &["ResultDescription"])
            .or_else(|| status.and_then(|s| text(s, &["failureReason"]))),
        application: first_text(record, &[&["AppDisplayName"], &["ResourceDisplayName"]]),
        authentication_requirement: text(record, &["AuthenticationRequirement"]),
        city: location.and_then(|l| text(l, &["city"])),
        // `Location` is the two-letter country the service resolved; `LocationDetails` has it too.
        country: location
            .and_then(|l| text(l, &["countryOrRegion"]))
            .or_else(|| text(record, &["Location"])),
        id: first_text(record, &[&["Id"], &["id"]]),
    };
    Ok(Record::Event(Box::new(sign_in.into_event(context))))
}

pub(super) fn azure_activity_row(
    record: &Value,
    context: &RecordContext,
) -> Result<Record, RecordError> {
    let time = required_time(record, &["TimeGenerated"], "TimeGenerated", context)?;
    let authorization = first_embedded(record, &["Authorization_d", "Authorization"]);
    // The older table's `OperationName` may be the localized display name ("Create or Update
    // Virtual Machine"); the authorized action is the operation's own name.
    let operation = text(record, &["OperationNameValue"])
        .or_else(|| authorization.as_deref().and_then(|a| text(a, &["action"])))
        .or_else(|| text(record, &["OperationName"]))
        .ok_or(RecordError::MissingField("OperationNameValue"))?;
    let claims = first_embedded(record, &["Claims_d", "Claims"]);
    let claim = |keys: &[&str]| {
        claims
            .as_deref()
            .and_then(|claims| keys.iter().find_map(|key| text(claims, &[key])))
    };
    let http_request = first_embedded(record, &["HTTPRequest"]);
    let event = ActivityRecord {
        time,
        operation,
        resource_provider: first_text(record, &[&["ResourceProviderValue"], &["ResourceProvider"]]),
        resource_id: first_text(record, &[&["ResourceId"], &["_ResourceId"]]),
        subscription: first_text(record, &[&["SubscriptionId"], &["_SubscriptionId"]]),
        tenant: None,
        principal: text(record, &["Caller"]).or_else(|| claim(PRINCIPAL_CLAIMS)),
        caller_ip: text(record, &["CallerIpAddress"])
            .or_else(|| {
                http_request
                    .as_deref()
                    .and_then(|h| text(h, &["clientIpAddress"]))
            })
            .or_else(|| claim(&["ipaddr"])),
        status: first_text(record, &[&["ActivityStatusValue"], &["ActivityStatus"]]),
        sub_status: first_text(
            record,
            &[&["ActivitySubstatusValue"], &["ActivitySubstatus"]],
        ),
        properties: first_embedded(record, &["Properties_d", "Properties"]),
        location: None,
        event_id: text(record, &["EventDataId"]),
    }
    .into_event(context);
    Ok(Record::Event(Box::new(event)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::FileHints;
    use crate::schema::{Category, Event, Outcome, SourceRef};
    use serde_json::json;

    fn event(record: &Value) -> Result<Event, RecordError> {
        let hints = FileHints::default();
        let context = RecordContext {
            source: SourceRef {
                file: "t.csv".into(),
                record: 1,
            },
            file: &hints,
        };
        let mapped = if is_azure_activity_row(record) {
            azure_activity_row(record, &context)
        } else {
            assert!(is_signin_row(record), "not recognized: {record}");
            signin_row(record, &context)
        };
        match mapped? {
            Record::Event(event) => Ok(*event),
            Record::Billing(_) => panic!("an event became billing"),
        }
    }

    #[test]
    fn workspace_tenant_id_is_not_the_directory() {
        let row = json!({"TimeGenerated": "2024-01-01T00:00:00Z", "TenantId": "workspace-guid",
            "UserPrincipalName": "u@contoso.example", "ResultType": "0"});
        assert_eq!(event(&row).unwrap().tenant, None);
        let row = json!({"TimeGenerated": "2024-01-01T00:00:00Z", "TenantId": "workspace-guid",
            "AADTenantId": "directory-guid", "UserPrincipalName": "u@contoso.example", "ResultType": "0"});
        assert_eq!(
            event(&row).unwrap().tenant.as_deref(),
            Some("directory-guid")
        );
    }

    #[test]
    fn status_column_stands_in_for_result_type() {
        let row = json!({"TimeGenerated": "2024-01-01T00:00:00Z", "AppDisplayName": "Azure Portal",
            "ConditionalAccessStatus": "notApplied",
            "Status": "{\"errorCode\":50053,\"failureReason\":\"Account is locked.\"}"});
        let event = event(&row).unwrap();
        assert_eq!(event.outcome, Some(Outcome::Failure));
        assert_eq!(event.reason.as_deref(), Some("50053: Account is locked."));
    }

    #[test]
    fn activity_row_with_double_encoded_request_body() {
        let row = json!({
            "TimeGenerated": "2024-01-01T00:00:00Z",
            "OperationNameValue": "MICROSOFT.COMPUTE/VIRTUALMACHINESCALESETS/WRITE",
            "ActivityStatusValue": "Success",
            "ResourceProviderValue": "MICROSOFT.COMPUTE",
            "_ResourceId": "/subscriptions/AAAA/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/pool",
            "Properties_d": "{\"requestbody\":\"{\\\"sku\\\":{\\\"name\\\":\\\"Standard_F72s_v2\\\",\\\"capacity\\\":30}}\"}"
        });
        let event = event(&row).unwrap();
        assert_eq!(event.category, Category::Provision);
        assert_eq!(event.outcome, Some(Outcome::Success));
        assert_eq!(event.account.as_deref(), Some("aaaa"));
        assert_eq!(
            event.resource.kind.as_deref(),
            Some("Microsoft.Compute/virtualMachineScaleSets")
        );
        assert_eq!(
            event.resource.instance_type.as_deref(),
            Some("Standard_F72s_v2")
        );
        assert_eq!(event.resource.instance_count, Some(30));
    }

    #[test]
    fn activity_row_without_operation_is_named() {
        let row =
            json!({"TimeGenerated": "2024-01-01T00:00:00Z", "ActivityStatusValue": "Success"});
        assert_eq!(
            event(&row).unwrap_err(),
            RecordError::MissingField("OperationNameValue")
        );
    }
}
