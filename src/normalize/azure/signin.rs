//! Entra ID (Azure AD) sign-ins: Microsoft Graph `auditLogs/signIns` items, and the same object
//! wrapped in the resource-log envelope by a diagnostic setting (categories `SignInLogs`,
//! `NonInteractiveUserSignInLogs`, and the service-principal and managed-identity variants).
//! The Log Analytics `SigninLogs` table is read in [`super::log_analytics`] into the same
//! [`SignIn`].
//!
//! The outcome is only "error code 0 or not". Which codes mean a wrong password, a blocked
//! account or an MFA interrupt is the detectors' table, not the normalizer's.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::super::error::RecordError;
use super::super::fields::{self, has, text};
use super::super::typed::{self, typed_record, Field, Object};
use super::super::RecordContext;
use super::{parse_time, required_time};
use crate::schema::{Category, Event, Outcome, Provider, Record, Resource};

/// Diagnostic-settings categories that carry sign-in records.
const SIGN_IN_CATEGORIES: &[&str] = &[
    "SignInLogs",
    "NonInteractiveUserSignInLogs",
    "ServicePrincipalSignInLogs",
    "ManagedIdentitySignInLogs",
    "MicrosoftServicePrincipalSignInLogs",
];

/// `operationName` of every sign-in in the diagnostic export and Log Analytics.
pub(super) const SIGN_IN_ACTIVITY: &str = "Sign-in activity";

/// The value of `authenticationRequirement` when a second factor was required.
const MULTI_FACTOR: &str = "multiFactorAuthentication";

/// One sign-in attempt, whichever shape it came in.
pub(super) struct SignIn {
    pub time: DateTime<Utc>,
    pub operation: String,
    pub tenant: Option<String>,
    pub principal: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// `status.errorCode` / `ResultType`: `0` is success, anything else a failure.
    pub error_code: Option<String>,
    pub failure_reason: Option<String>,
    pub application: Option<String>,
    pub authentication_requirement: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    /// The sign-in's `id` (Graph, the export's `properties.id`, the table's `Id`).
    pub id: Option<String>,
}

impl SignIn {
    pub(super) fn into_event(self, context: &RecordContext) -> Event {
        let (outcome, reason) = match self.error_code.as_deref().map(str::trim) {
            None | Some("") => (None, None),
            Some("0") => (Some(Outcome::Success), None),
            Some(code) => (
                Some(Outcome::Failure),
                Some(match self.failure_reason.as_deref() {
                    Some(why) => format!("{code}: {}", super::truncate(why, 200)),
                    None => code.to_string(),
                }),
            ),
        };
        let location = match (self.city, self.country) {
            (Some(city), Some(country)) => Some(format!("{city}, {country}")),
            (city, country) => city.or(country),
        };
        Event {
            time: self.time,
            provider: Provider::Azure,
            tenant: self.tenant,
            account: None,
            region: None,
            category: Category::Login,
            class_uid: Category::Login.class_uid(),
            operation: self.operation,
            principal: self.principal,
            src_ip: fields::ip_address(self.ip),
            user_agent: self.user_agent,
            outcome,
            reason,
            resource: Resource {
                kind: Some("application".into()),
                id: self.application,
                // The requirement, not proof the factor was passed: a sign-in interrupted for MFA
                // (50074) also says multiFactorAuthentication. The outcome tells them apart.
                mfa: self
                    .authentication_requirement
                    .map(|requirement| requirement.eq_ignore_ascii_case(MULTI_FACTOR)),
                location,
                ..Resource::default()
            },
            event_id: self.id,
            source: context.source.clone(),
        }
    }
}

/// A Graph `signIn` item: it has a `status` object and sign-in-only fields.
pub(super) fn is_graph_item(record: &Value) -> bool {
    record.get("status").is_some_and(Value::is_object)
        && [
            "conditionalAccessStatus",
            "clientAppUsed",
            "createdDateTime",
        ]
        .iter()
        .any(|key| has(record, key))
        && [
            "userPrincipalName",
            "appId",
            "appDisplayName",
            "servicePrincipalName",
        ]
        .iter()
        .any(|key| has(record, key))
}

/// A resource-log record of a sign-in category (or, lacking the category, the sign-in
/// operation name with a `properties` object).
pub(super) fn is_diagnostic_export(record: &Value) -> bool {
    let category = text(record, &["category"]).is_some_and(|category| {
        SIGN_IN_CATEGORIES
            .iter()
            .any(|known| known.eq_ignore_ascii_case(&category))
    });
    let operation = text(record, &["operationName"])
        .is_some_and(|operation| operation.eq_ignore_ascii_case(SIGN_IN_ACTIVITY))
        && record.get("properties").is_some_and(Value::is_object);
    category || operation
}

/// A Graph `signIn` item that arrived as a `Value`: written back to text once and read by the
/// same typed mapping as the fast path.
pub(super) fn graph_item(record: &Value, context: &RecordContext) -> Result<Record, RecordError> {
    let text = record.to_string();
    let item: GraphItem = serde_json::from_str(&text)
        .map_err(|err| RecordError::Syntax(format!("a sign-in that cannot be read: {err}")))?;
    map_graph_item(&item, context)
}

/// The fast path: a Graph `signIn` item at the start of `rest` (more input may follow), and its
/// length; `None` when it is not one, or is one the `Value` path must judge (a key another format
/// claims first), and the caller reads it as a `serde_json::Value`.
pub(crate) fn graph_item_from_prefix(rest: &str) -> Option<(GraphItem<'_>, usize)> {
    object_text(rest)?;
    typed::parse_prefix::<GraphItem>(rest).filter(|(item, _)| item.is_graph_item())
}

/// Maps a Graph `signIn` item, however it was read.
pub(crate) fn map_graph_item(
    item: &GraphItem,
    context: &RecordContext,
) -> Result<Record, RecordError> {
    let raw = item
        .created_date_time
        .as_str()
        .ok_or(RecordError::MissingField("createdDateTime"))?;
    let time = fields::checked_time(
        parse_time(raw),
        raw,
        "createdDateTime",
        &Provider::Azure,
        context,
    )?;
    Ok(Record::Event(Box::new(
        item.sign_in(time, "signIn".into(), None)
            .into_event(context),
    )))
}

/// The envelope supplies time, tenant, caller address and result; `properties` is the Graph
/// `signIn` object and fills in the rest.
pub(super) fn diagnostic_export(
    record: &Value,
    context: &RecordContext,
) -> Result<Record, RecordError> {
    let time = required_time(record, &["time"], "time", context)?;
    let operation = text(record, &["operationName"]).unwrap_or_else(|| SIGN_IN_ACTIVITY.into());
    let mut sign_in = inner_sign_in(
        record.get("properties"),
        time,
        operation,
        text(record, &["tenantId"]),
    );
    sign_in.ip = text(record, &["callerIpAddress"]).or(sign_in.ip);
    match text(record, &["resultType"]) {
        // The envelope's code is the record's own: it wins over the inner status.
        Some(code) if code.parse::<i64>().is_ok() => {
            sign_in.error_code = Some(code);
            sign_in.failure_reason =
                text(record, &["resultDescription"]).or(sign_in.failure_reason);
        }
        // Some exports write a word ("Success", "Failure") there. It must not override a code
        // in `properties.status`; it decides the outcome only when there is none.
        Some(word) if sign_in.error_code.is_none() => {
            if word.eq_ignore_ascii_case("success") {
                sign_in.error_code = Some("0".into());
            } else if word.eq_ignore_ascii_case("failure") || word.eq_ignore_ascii_case("failed") {
                sign_in.error_code = Some("Failure".into());
                sign_in.failure_reason =
                    text(record, &["resultDescription"]).or(sign_in.failure_reason);
            }
        }
        _ => {}
    }
    // `identity` is the display name; only a fallback when properties name no one.
    sign_in.principal = sign_in.principal.or_else(|| text(record, &["identity"]));
    Ok(Record::Event(Box::new(sign_in.into_event(context))))
}

/// The sign-in of a Graph `signIn` object inside an export's `properties` (an object, or JSON
/// text of one; anything else names nothing).
fn inner_sign_in(
    properties: Option<&Value>,
    time: DateTime<Utc>,
    operation: String,
    envelope_tenant: Option<String>,
) -> SignIn {
    let text = match properties {
        Some(object @ Value::Object(_)) => Cow::Owned(object.to_string()),
        Some(Value::String(raw)) => Cow::Borrowed(raw.as_str()),
        _ => Cow::Borrowed(""),
    };
    object_text(&text)
        .and_then(|text| serde_json::from_str::<GraphItem>(text).ok())
        .unwrap_or_default()
        .sign_in(time, operation, envelope_tenant)
}

/// `text` when it is a JSON object's: a struct would also read an array, by position.
fn object_text(text: &str) -> Option<&str> {
    text.trim_start().starts_with('{').then_some(text)
}

typed_record! {
/// The Graph `signIn` fields (camelCase) the schema needs, read straight from a record's bytes.
pub(crate) struct GraphItem<'a> {
    #[serde(rename = "createdDateTime", borrow)]
    created_date_time: Field<'a>,
    #[serde(borrow)]
    status: Object<Status<'a>>,
    #[serde(rename = "conditionalAccessStatus", borrow)]
    conditional_access_status: Field<'a>,
    #[serde(rename = "clientAppUsed", borrow)]
    client_app_used: Field<'a>,
    #[serde(rename = "tenantId", borrow)]
    tenant_id: Field<'a>,
    #[serde(rename = "resourceTenantId", borrow)]
    resource_tenant_id: Field<'a>,
    #[serde(rename = "homeTenantId", borrow)]
    home_tenant_id: Field<'a>,
    #[serde(rename = "userPrincipalName", borrow)]
    user_principal_name: Field<'a>,
    #[serde(rename = "servicePrincipalName", borrow)]
    service_principal_name: Field<'a>,
    #[serde(rename = "userId", borrow)]
    user_id: Field<'a>,
    #[serde(rename = "servicePrincipalId", borrow)]
    service_principal_id: Field<'a>,
    #[serde(rename = "appId", borrow)]
    app_id: Field<'a>,
    #[serde(rename = "appDisplayName", borrow)]
    app_display_name: Field<'a>,
    #[serde(rename = "resourceDisplayName", borrow)]
    resource_display_name: Field<'a>,
    #[serde(rename = "ipAddress", borrow)]
    ip_address: Field<'a>,
    #[serde(rename = "userAgent", borrow)]
    user_agent: Field<'a>,
    #[serde(rename = "authenticationRequirement", borrow)]
    authentication_requirement: Field<'a>,
    /// An object, or (some exports) JSON text of one.
    #[serde(borrow)]
    location: Option<&'a RawValue>,
    #[serde(borrow)]
    id: Field<'a>,
    /// Keys that make the `Value` path judge the record: another format may claim it first
    /// (the other clouds' keys; every Azure shape recognized before Graph items has an
    /// `operationName` or a `category`; a `properties` table is a Cost Management response).
    /// Graph items have a `resourceId` of their own (the resource application's).
    #[serde(rename = "operationName", borrow)]
    operation_name: Field<'a>,
    #[serde(borrow)]
    category: Field<'a>,
    #[serde(borrow)]
    properties: Field<'a>,
}
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Status<'a> {
    #[serde(rename = "errorCode", borrow)]
    error_code: Field<'a>,
    #[serde(rename = "failureReason", borrow)]
    failure_reason: Field<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Location<'a> {
    #[serde(borrow)]
    city: Field<'a>,
    #[serde(rename = "countryOrRegion", borrow)]
    country_or_region: Field<'a>,
}

impl GraphItem<'_> {
    /// What [`is_graph_item`] asks of a `Value`, and no key by which a format tried before
    /// Graph items could claim the record.
    fn is_graph_item(&self) -> bool {
        let claimed_before = [&self.operation_name, &self.category, &self.properties];
        self.status.0.is_some()
            && [
                &self.conditional_access_status,
                &self.client_app_used,
                &self.created_date_time,
            ]
            .iter()
            .any(|field| field.is_present())
            && [
                &self.user_principal_name,
                &self.app_id,
                &self.app_display_name,
                &self.service_principal_name,
            ]
            .iter()
            .any(|field| field.is_present())
            && !claimed_before.iter().any(|field| field.is_present())
            && !self.other_format()
    }

    /// `location.city` and `location.countryOrRegion`; `location` may be JSON text of the
    /// object, and anything else reads as no location.
    fn location_parts(&self) -> (Option<String>, Option<String>) {
        fn parts(text: &str) -> (Option<String>, Option<String>) {
            object_text(text)
                .and_then(|text| serde_json::from_str::<Location>(text).ok())
                .map_or((None, None), |location| {
                    (location.city.text(), location.country_or_region.text())
                })
        }
        match self.location.map(RawValue::get) {
            Some(raw) if raw.starts_with('"') => {
                serde_json::from_str::<String>(raw).map_or((None, None), |text| parts(&text))
            }
            Some(raw) => parts(raw),
            None => (None, None),
        }
    }

    /// The sign-in this item describes, at `time`.
    fn sign_in(
        &self,
        time: DateTime<Utc>,
        operation: String,
        envelope_tenant: Option<String>,
    ) -> SignIn {
        let status = self.status.0.as_ref();
        let (city, country) = self.location_parts();
        SignIn {
            time,
            operation,
            // The directory the log belongs to is the resource tenant; the home tenant differs
            // only for guests and is the last resort.
            tenant: envelope_tenant.or_else(|| {
                [
                    &self.tenant_id,
                    &self.resource_tenant_id,
                    &self.home_tenant_id,
                ]
                .into_iter()
                .find_map(Field::text)
            }),
            principal: [
                &self.user_principal_name,
                &self.service_principal_name,
                &self.user_id,
                &self.service_principal_id,
            ]
            .into_iter()
            .find_map(Field::text),
            ip: self.ip_address.text(),
            user_agent: self.user_agent.text(),
            error_code: status.and_then(|status| status.error_code.text()),
            failure_reason: status.and_then(|status| status.failure_reason.text()),
            application: self
                .app_display_name
                .text()
                .or_else(|| self.resource_display_name.text()),
            authentication_requirement: self.authentication_requirement.text(),
            city,
            country,
            id: self.id.text(),
        }
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
            Record::Billing(_) => panic!("a sign-in became billing"),
        }
    }

    #[test]
    fn success_keeps_no_reason_even_with_filler_text() {
        // Graph writes failureReason "Other." on successful sign-ins.
        let record = json!({"createdDateTime": "2024-01-01T00:00:00Z", "appId": "a",
            "userPrincipalName": "u@contoso.example", "conditionalAccessStatus": "success",
            "status": {"errorCode": 0, "failureReason": "Other."}});
        let event = event(&record).unwrap();
        assert_eq!(event.outcome, Some(Outcome::Success));
        assert_eq!(event.reason, None);
        assert_eq!(event.resource.mfa, None);
        assert_eq!(event.resource.location, None);
    }

    #[test]
    fn missing_status_code_is_no_outcome() {
        let record = json!({"createdDateTime": "2024-01-01T00:00:00Z", "appId": "a",
            "clientAppUsed": "Browser", "status": {}});
        let event = event(&record).unwrap();
        assert_eq!((event.outcome, event.reason), (None, None));
        assert_eq!(event.principal.as_deref(), None);
    }

    #[test]
    fn missing_created_time_is_named() {
        let record = json!({"appId": "a", "clientAppUsed": "Browser", "status": {"errorCode": 0}});
        assert_eq!(
            event(&record).unwrap_err(),
            RecordError::MissingField("createdDateTime")
        );
    }

    #[test]
    fn country_alone_is_a_location() {
        let record = json!({"createdDateTime": "2024-01-01T00:00:00Z", "appId": "a",
            "clientAppUsed": "Browser", "status": {"errorCode": 50126},
            "location": {"countryOrRegion": "NL"}});
        let event = event(&record).unwrap();
        assert_eq!(event.resource.location.as_deref(), Some("NL"));
        assert_eq!(event.reason.as_deref(), Some("50126"));
    }

    #[test]
    fn a_word_in_result_type_does_not_override_the_status_code() {
        let export = |result_type: &str, code: Option<i64>| {
            let mut properties = json!({"userPrincipalName": "u@contoso.example"});
            if let Some(code) = code {
                properties["status"] =
                    json!({"errorCode": code, "failureReason": "Invalid password"});
            }
            json!({"time": "2024-01-01T00:00:00Z", "category": "SignInLogs",
                "operationName": "Sign-in activity", "resultType": result_type,
                "properties": properties})
        };
        let success = event(&export("Success", Some(0))).unwrap();
        assert_eq!(
            (success.outcome, success.reason),
            (Some(Outcome::Success), None)
        );
        let wrong_password = event(&export("Failure", Some(50126))).unwrap();
        assert_eq!(wrong_password.outcome, Some(Outcome::Failure));
        assert_eq!(
            wrong_password.reason.as_deref(),
            Some("50126: Invalid password")
        );
        let word_only = event(&export("Success", None)).unwrap();
        assert_eq!(word_only.outcome, Some(Outcome::Success));
        let failure_only = event(&export("Failure", None)).unwrap();
        assert_eq!(failure_only.outcome, Some(Outcome::Failure));
        let numeric = event(&export("50053", Some(0))).unwrap();
        assert_eq!(numeric.outcome, Some(Outcome::Failure));
        assert!(numeric.reason.unwrap().starts_with("50053"));
    }

    #[test]
    fn service_principal_sign_in_from_the_export() {
        let record = json!({"time": "2024-01-01T00:00:00Z", "category": "ServicePrincipalSignInLogs",
            "operationName": "Sign-in activity", "resultType": "7000215",
            "resultDescription": "Invalid client secret provided.",
            "tenantId": "t1", "callerIpAddress": "198.51.100.9",
            "properties": {"servicePrincipalName": "ci-deployer", "appDisplayName": "ci-deployer"}});
        let event = event(&record).unwrap();
        assert_eq!(event.principal.as_deref(), Some("ci-deployer"));
        assert_eq!(event.tenant.as_deref(), Some("t1"));
        assert_eq!(
            event.reason.as_deref(),
            Some("7000215: Invalid client secret provided.")
        );
    }
}
