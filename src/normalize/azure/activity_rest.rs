//! Activity Log events as the REST API (`GET .../providers/Microsoft.Insights/eventtypes/management/values`),
//! `az monitor activity-log list` and the portal's JSON view return them: localizable fields are
//! objects (`operationName.value`, `status.value`), the caller is `caller`, the address is
//! `httpRequest.clientIpAddress`.

use serde_json::Value;

use super::super::error::RecordError;
use super::super::fields::{first_text, text};
use super::super::RecordContext;
use super::activity::ActivityRecord;
use super::{embedded, required_time};
use crate::schema::Record;

/// Claims that name the caller, most specific first.
pub(super) const PRINCIPAL_CLAIMS: &[&str] = &[
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
    "upn",
    "unique_name",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
    "appid",
    "name",
];

/// The REST shape is the only one whose `operationName` is an object; `eventDataId`,
/// `submissionTimestamp` and friends confirm it.
pub(super) fn recognizes(record: &Value) -> bool {
    record.get("operationName").is_some_and(Value::is_object)
        && [
            "eventTimestamp",
            "submissionTimestamp",
            "eventDataId",
            "resourceProviderName",
            "subscriptionId",
        ]
        .iter()
        .any(|key| record.get(*key).is_some())
}

pub(super) fn map(record: &Value, context: &RecordContext) -> Result<Record, RecordError> {
    let time = required_time(record, &["eventTimestamp"], "eventTimestamp")?;
    let operation = first_text(
        record,
        &[
            &["operationName", "value"],
            &["operationName", "localizedValue"],
        ],
    )
    .ok_or(RecordError::MissingField("operationName.value"))?;
    let claims = embedded(record.get("claims"));
    let claim = |keys: &[&str]| {
        claims
            .as_deref()
            .and_then(|claims| keys.iter().find_map(|key| text(claims, &[key])))
    };
    let event = ActivityRecord {
        time,
        operation,
        resource_provider: text(record, &["resourceProviderName", "value"]),
        resource_id: text(record, &["resourceId"]),
        subscription: text(record, &["subscriptionId"]),
        tenant: text(record, &["tenantId"]),
        principal: text(record, &["caller"]).or_else(|| claim(PRINCIPAL_CLAIMS)),
        caller_ip: text(record, &["httpRequest", "clientIpAddress"]).or_else(|| claim(&["ipaddr"])),
        status: first_text(
            record,
            &[&["status", "value"], &["status", "localizedValue"]],
        ),
        sub_status: first_text(
            record,
            &[&["subStatus", "value"], &["subStatus", "localizedValue"]],
        ),
        properties: embedded(record.get("properties")),
        location: None,
    }
    .into_event(context);
    Ok(Record::Event(Box::new(event)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::FileHints;
    use crate::schema::{Category, Outcome, SourceRef};
    use serde_json::json;

    fn run(record: &Value) -> Result<Record, RecordError> {
        let hints = FileHints::default();
        let context = RecordContext {
            source: SourceRef {
                file: "t.json".into(),
                record: 1,
            },
            file: &hints,
        };
        assert!(recognizes(record));
        map(record, &context)
    }

    fn vm_write(status: &str) -> Value {
        json!({
            "caller": "mallory@contoso.example",
            "eventDataId": "e1",
            "eventTimestamp": "2024-03-02T10:00:00.1234567Z",
            "httpRequest": {"clientIpAddress": "203.0.113.7", "method": "PUT"},
            "operationName": {"value": "Microsoft.Compute/virtualMachines/write"},
            "resourceProviderName": {"value": "Microsoft.Compute"},
            "resourceId": "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/miner01",
            "status": {"value": status},
            "subStatus": {"value": ""},
            "subscriptionId": "11111111-2222-3333-4444-555555555555",
            "properties": {
                "requestbody": "{\"location\":\"westeurope\",\"properties\":{\"hardwareProfile\":{\"vmSize\":\"Standard_NC6s_v3\"}}}"
            }
        })
    }

    #[test]
    fn started_write_is_provisioning_without_outcome() {
        let Record::Event(event) = run(&vm_write("Started")).unwrap() else {
            panic!("not an event")
        };
        assert_eq!(event.category, Category::Provision);
        assert_eq!(event.outcome, None);
        assert_eq!(event.reason.as_deref(), Some("Started"));
        assert_eq!(event.region.as_deref(), Some("westeurope"));
        assert_eq!(
            event.resource.instance_type.as_deref(),
            Some("Standard_NC6s_v3")
        );
        assert_eq!(event.resource.instance_count, Some(1));
    }

    #[test]
    fn unparseable_request_body_leaves_size_unknown() {
        let mut record = vm_write("Succeeded");
        record["properties"]["requestbody"] = json!("{\"location\":\"westeurope\",\"prope");
        let Record::Event(event) = run(&record).unwrap() else {
            panic!("not an event")
        };
        assert_eq!(event.outcome, Some(Outcome::Success));
        assert_eq!(event.resource.instance_type, None);
        assert_eq!(event.resource.instance_count, Some(1));
        assert_eq!(event.region, None);
    }

    #[test]
    fn request_body_as_object_is_read_too() {
        let mut record = vm_write("Succeeded");
        record["properties"]["requestbody"] =
            json!({"properties": {"hardwareProfile": {"vmSize": "Standard_B1s"}}});
        let Record::Event(event) = run(&record).unwrap() else {
            panic!("not an event")
        };
        assert_eq!(
            event.resource.instance_type.as_deref(),
            Some("Standard_B1s")
        );
    }

    #[test]
    fn missing_event_timestamp_is_named() {
        let mut record = vm_write("Succeeded");
        record.as_object_mut().unwrap().remove("eventTimestamp");
        assert_eq!(
            run(&record).unwrap_err(),
            RecordError::MissingField("eventTimestamp")
        );
    }

    #[test]
    fn principal_and_address_fall_back_to_claims() {
        let mut record = vm_write("Succeeded");
        let object = record.as_object_mut().unwrap();
        object.remove("caller");
        object.remove("httpRequest");
        object.insert(
            "claims".into(),
            json!({"ipaddr": "198.51.100.20", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "eve@contoso.example"}),
        );
        let Record::Event(event) = run(&record).unwrap() else {
            panic!("not an event")
        };
        assert_eq!(event.principal.as_deref(), Some("eve@contoso.example"));
        assert_eq!(event.src_ip.as_deref(), Some("198.51.100.20"));
    }
}
