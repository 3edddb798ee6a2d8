//! Activity Log events as the REST API (`GET .../providers/Microsoft.Insights/eventtypes/management/values`),
//! `az monitor activity-log list` and the portal's JSON view return them: localizable fields are
//! objects (`operationName.value`, `status.value`), the caller is `caller`, the address is
//! `httpRequest.clientIpAddress`.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::super::error::RecordError;
use super::super::fields::{self, text};
use super::super::typed::{self, typed_record, Field, Object};
use super::super::RecordContext;
use super::activity::ActivityRecord;
use super::{embedded, parse_time};
use crate::schema::{Provider, Record};

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

typed_record! {
    /// The fields of a REST Activity Log event the schema needs, read straight from its bytes.
    /// `properties` is always looked into (status message, location, request body); `claims` only
    /// when `caller` or the address is missing.
    pub(crate) struct RestEvent<'a> {
        #[serde(rename = "eventTimestamp", borrow)]
        event_timestamp: Field<'a>,
        #[serde(rename = "submissionTimestamp", borrow)]
        submission_timestamp: Field<'a>,
        #[serde(rename = "eventDataId", borrow)]
        event_data_id: Field<'a>,
        #[serde(rename = "subscriptionId", borrow)]
        subscription_id: Field<'a>,
        #[serde(rename = "operationName", borrow)]
        operation_name: Object<Localized<'a>>,
        #[serde(rename = "resourceProviderName", borrow)]
        resource_provider_name: Object<Localized<'a>>,
        #[serde(borrow)]
        status: Object<Localized<'a>>,
        #[serde(rename = "subStatus", borrow)]
        sub_status: Object<Localized<'a>>,
        #[serde(rename = "resourceId", borrow)]
        resource_id: Field<'a>,
        #[serde(rename = "tenantId", borrow)]
        tenant_id: Field<'a>,
        #[serde(borrow)]
        caller: Field<'a>,
        #[serde(rename = "httpRequest", borrow)]
        http_request: Object<HttpRequest<'a>>,
        #[serde(borrow)]
        claims: Option<&'a RawValue>,
        #[serde(borrow)]
        properties: Option<&'a RawValue>,
}
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Localized<'a> {
    #[serde(borrow)]
    value: Field<'a>,
    #[serde(rename = "localizedValue", borrow)]
    localized_value: Field<'a>,
}

impl Localized<'_> {
    fn text(&self) -> Option<String> {
        self.value.text().or_else(|| self.localized_value.text())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HttpRequest<'a> {
    #[serde(rename = "clientIpAddress", borrow)]
    client_ip_address: Field<'a>,
}

impl RestEvent<'_> {
    /// What [`recognizes`] asks of a `Value`, for the typed fast path: `None` when another
    /// format could claim the record first, and the caller takes the `Value` path.
    fn is_rest_event(&self) -> bool {
        self.operation_name.0.is_some()
            && (self.event_timestamp.is_present()
                || self.submission_timestamp.is_present()
                || self.event_data_id.is_present()
                || self.resource_provider_name.0.is_some()
                || self.subscription_id.is_present())
            && !self.other_format()
    }
}

/// The fast path: a REST Activity Log event at the start of `rest` (more input may follow),
/// its `properties` read once, and its length; `None` sends the record to the `Value` path.
pub(crate) fn from_prefix(rest: &str) -> Option<(RestEvent<'_>, Option<Value>, usize)> {
    let (event, length) = typed::parse_prefix::<RestEvent>(rest)?;
    checked(event).map(|(event, properties)| (event, properties, length))
}

fn checked(event: RestEvent) -> Option<(RestEvent, Option<Value>)> {
    if !event.is_rest_event() {
        return None;
    }
    let properties = raw_value(event.properties);
    // A `properties` with `columns` and `rows` makes the record a Cost Management table.
    let table = properties.as_ref().is_some_and(|p| {
        p.get("columns").is_some_and(Value::is_array) && p.get("rows").is_some_and(Value::is_array)
    });
    (!table).then_some((event, properties))
}

/// [`embedded`] for a value the caller owns: an object or array as it is, or one written as
/// JSON text.
fn embedded_owned(value: Value) -> Option<Value> {
    match value {
        Value::Object(_) | Value::Array(_) => Some(value),
        Value::String(raw) => match serde_json::from_str::<Value>(&raw) {
            Ok(parsed @ (Value::Object(_) | Value::Array(_))) => Some(parsed),
            _ => None,
        },
        _ => None,
    }
}

fn raw_value(raw: Option<&RawValue>) -> Option<Value> {
    raw.and_then(|raw| serde_json::from_str(raw.get()).ok())
}

pub(super) fn map(record: &Value, context: &RecordContext) -> Result<Record, RecordError> {
    let text = record.to_string();
    let event: RestEvent = serde_json::from_str(&text).map_err(|err| {
        RecordError::Syntax(format!("an Activity Log event that cannot be read: {err}"))
    })?;
    let properties = raw_value(event.properties);
    map_event(&event, properties, context)
}

/// Maps a REST event; `properties` is its `properties` value, read once by the caller.
pub(crate) fn map_event(
    record: &RestEvent,
    properties: Option<Value>,
    context: &RecordContext,
) -> Result<Record, RecordError> {
    let raw_time = record
        .event_timestamp
        .as_str()
        .ok_or(RecordError::MissingField("eventTimestamp"))?;
    let time = fields::checked_time(
        parse_time(raw_time),
        raw_time,
        "eventTimestamp",
        &Provider::Azure,
        context,
    )?;
    let operation = record
        .operation_name
        .0
        .as_ref()
        .and_then(Localized::text)
        .ok_or(RecordError::MissingField("operationName.value"))?;
    // Read only when `caller` or the address is missing: most events name both.
    let claim = |keys: &[&str]| {
        let claims = raw_value(record.claims);
        let claims = embedded(claims.as_ref())?;
        keys.iter().find_map(|key| text(&claims, &[key]))
    };
    let localized = |field: &Object<Localized>| field.0.as_ref().and_then(Localized::text);
    let event = ActivityRecord {
        time,
        operation,
        resource_provider: record
            .resource_provider_name
            .0
            .as_ref()
            .and_then(|name| name.value.text()),
        resource_id: record.resource_id.text(),
        subscription: record.subscription_id.text(),
        tenant: record.tenant_id.text(),
        principal: record.caller.text().or_else(|| claim(PRINCIPAL_CLAIMS)),
        caller_ip: record
            .http_request
            .0
            .as_ref()
            .and_then(|request| request.client_ip_address.text())
            .or_else(|| claim(&["ipaddr"])),
        status: localized(&record.status),
        sub_status: localized(&record.sub_status),
        properties: properties.and_then(embedded_owned).map(Cow::Owned),
        location: None,
        event_id: record.event_data_id.text(),
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
