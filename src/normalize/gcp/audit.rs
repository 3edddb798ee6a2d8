//! Cloud Audit Log entries: a Cloud Logging `LogEntry` whose `protoPayload` is an `AuditLog`.
//!
//! Long-running operations (a Compute Engine `instances.insert`, say) log two entries that share
//! an `operation.id`. The first (`operation.first`) is written when the call is accepted and
//! carries the whole request (machine type, count); the last (`operation.last`) is written when
//! the operation ends and carries the outcome (a non-zero `status` when it failed) but only a
//! stub of the request. So the first entry has no outcome yet: it maps to `outcome: None` with
//! reason `operation started`, and a reader takes the request from the first entry and the
//! outcome from the last. A call rejected outright (permission denied) logs one entry with a
//! non-zero `status` and no operation.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::{has_any, login, organization_of};
use crate::normalize::categories;
use crate::normalize::error::RecordError;
use crate::normalize::fields::{self, has, text};
use crate::normalize::typed::{self, Field, Object};
use crate::normalize::RecordContext;
use crate::schema::{Category, Event, Outcome, Provider, Record, Resource};

const AUDIT_LOG_TYPE: &str = "type.googleapis.com/google.cloud.audit.AuditLog";

/// Workspace shares its login audit into Cloud Logging under this service name.
const WORKSPACE_LOGIN_SERVICE: &str = "login.googleapis.com";

/// Longest status message kept as the reason; messages can quote whole requests.
const REASON_CHARS: usize = 200;

/// A Cloud Logging entry. Entries with another payload (`jsonPayload`, `textPayload`) are
/// claimed too, so that a mixed log export reports them as "not an audit log" instead of as
/// records of an unknown format.
pub(super) fn is_log_entry(record: &Value) -> bool {
    has(record, "protoPayload")
        || (has(record, "logName") && has_any(record, &["jsonPayload", "textPayload"]))
}

/// The fields of a Cloud Logging entry with an audit payload that the schema needs, read straight
/// from its bytes. The request and the metadata stay raw: only provisioning calls and Workspace
/// sign-ins look inside them.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct LogEntry<'a> {
    #[serde(borrow)]
    timestamp: Field<'a>,
    #[serde(rename = "receiveTimestamp", borrow)]
    receive_timestamp: Field<'a>,
    #[serde(rename = "logName", borrow)]
    log_name: Field<'a>,
    #[serde(rename = "insertId", borrow)]
    insert_id: Field<'a>,
    #[serde(borrow)]
    resource: Object<MonitoredResource<'a>>,
    #[serde(rename = "protoPayload", borrow)]
    proto_payload: Object<AuditLog<'a>>,
    #[serde(borrow)]
    operation: Object<Operation<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MonitoredResource<'a> {
    #[serde(rename = "type", borrow)]
    kind: Field<'a>,
    #[serde(borrow)]
    labels: Object<Labels<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Labels<'a> {
    #[serde(borrow)]
    project_id: Field<'a>,
    #[serde(borrow)]
    zone: Field<'a>,
    #[serde(borrow)]
    region: Field<'a>,
    #[serde(borrow)]
    location: Field<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AuditLog<'a> {
    #[serde(rename = "@type", borrow)]
    kind: Field<'a>,
    #[serde(rename = "serviceName", borrow)]
    service_name: Field<'a>,
    #[serde(rename = "methodName", borrow)]
    method_name: Field<'a>,
    #[serde(rename = "resourceName", borrow)]
    resource_name: Field<'a>,
    #[serde(rename = "authenticationInfo", borrow)]
    authentication_info: Object<AuthenticationInfo<'a>>,
    #[serde(rename = "requestMetadata", borrow)]
    request_metadata: Object<RequestMetadata<'a>>,
    #[serde(borrow)]
    status: Object<Status<'a>>,
    #[serde(borrow)]
    request: Option<&'a RawValue>,
    #[serde(borrow)]
    metadata: Option<&'a RawValue>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AuthenticationInfo<'a> {
    #[serde(rename = "principalEmail", borrow)]
    principal_email: Field<'a>,
    #[serde(rename = "principalSubject", borrow)]
    principal_subject: Field<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RequestMetadata<'a> {
    #[serde(rename = "callerIp", borrow)]
    caller_ip: Field<'a>,
    #[serde(rename = "callerSuppliedUserAgent", borrow)]
    caller_supplied_user_agent: Field<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Status<'a> {
    #[serde(borrow)]
    code: Field<'a>,
    #[serde(borrow)]
    message: Field<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Operation<'a> {
    #[serde(borrow)]
    first: Field<'a>,
    #[serde(borrow)]
    last: Field<'a>,
}

/// The fast path: a log entry with an audit payload object at the start of `rest` (more input
/// may follow), and its length; `None` sends the record to the `Value` path.
pub(crate) fn entry_from_prefix(rest: &str) -> Option<(LogEntry<'_>, usize)> {
    typed::parse_prefix::<LogEntry>(rest).filter(|(entry, _)| entry.proto_payload.0.is_some())
}

pub(super) fn map_entry_value(
    entry: &Value,
    context: &RecordContext,
) -> Result<Record, RecordError> {
    audit_payload(entry)?;
    let text = entry.to_string();
    let typed: LogEntry = serde_json::from_str(&text)
        .map_err(|err| RecordError::Syntax(format!("a log entry that cannot be read: {err}")))?;
    map_entry(&typed, context)
}

pub(crate) fn map_entry(entry: &LogEntry, context: &RecordContext) -> Result<Record, RecordError> {
    let payload = entry
        .proto_payload
        .0
        .as_ref()
        .ok_or(RecordError::MissingField("protoPayload"))?;
    if let Some(kind) = payload.kind.as_str().filter(|kind| *kind != AUDIT_LOG_TYPE) {
        return Err(RecordError::bad(
            "protoPayload.@type",
            kind,
            "not a Cloud Audit Log entry",
        ));
    }
    // `receiveTimestamp` (when Logging received the entry) stands in when `timestamp` is absent.
    let raw_time = entry
        .timestamp
        .as_str()
        .or(entry.receive_timestamp.as_str())
        .ok_or(RecordError::MissingField("timestamp"))?;
    let time = fields::checked_time(
        fields::parse_time(raw_time),
        raw_time,
        "timestamp",
        &Provider::Gcp,
        context,
    )?;
    let service = payload
        .service_name
        .as_str()
        .ok_or(RecordError::MissingField("protoPayload.serviceName"))?;
    let operation = payload
        .method_name
        .as_str()
        .ok_or(RecordError::MissingField("protoPayload.methodName"))?;
    let method = without_version(operation);
    let category = categories::GCP.category(service, method);

    let log = entry
        .log_name
        .as_str()
        .map(LogParent::parse)
        .unwrap_or_default();
    let resource = entry.resource.0.as_ref();
    let labels = resource.and_then(|resource| resource.labels.0.as_ref());
    let account = labels
        .and_then(|labels| labels.project_id.text())
        .or(log.project);
    let tenant = log
        .organization
        .or_else(|| account.clone())
        .or_else(|| payload.resource_name.as_str().and_then(organization_of));

    let (outcome, reason, resource) =
        if category == Category::Login && service.eq_ignore_ascii_case(WORKSPACE_LOGIN_SERVICE) {
            let metadata = json!({ "metadata": raw_value(payload.metadata) });
            let sign_in = login::sign_in(&metadata, method);
            (sign_in.outcome, sign_in.reason, sign_in.resource)
        } else {
            let (outcome, reason) = outcome(entry, payload);
            let resource = match category {
                Category::Provision => provisioned(entry, payload, method),
                Category::Login | Category::Api => touched_resource(entry, payload),
            };
            (outcome, reason, resource)
        };

    Ok(Record::Event(Box::new(Event {
        time,
        provider: Provider::Gcp,
        tenant,
        account,
        region: labels
            .and_then(place)
            .map(|place| region_of(&place).to_string()),
        category,
        class_uid: category.class_uid(),
        operation: operation.to_string(),
        principal: payload.authentication_info.0.as_ref().and_then(|info| {
            info.principal_email
                .text()
                .or_else(|| info.principal_subject.text())
        }),
        // `callerIp` may say `private` or `gce-internal-ip` instead of an address.
        src_ip: fields::ip_address(
            payload
                .request_metadata
                .0
                .as_ref()
                .and_then(|metadata| metadata.caller_ip.text()),
        ),
        user_agent: payload
            .request_metadata
            .0
            .as_ref()
            .and_then(|metadata| metadata.caller_supplied_user_agent.text()),
        outcome,
        reason,
        resource,
        event_id: entry.insert_id.text(),
        source: context.source.clone(),
    })))
}

/// A raw subtree as a `Value`, for the few entries that look deep inside one.
fn raw_value(raw: Option<&RawValue>) -> Value {
    raw.and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or(Value::Null)
}

/// The `AuditLog` payload, or why the entry has none.
fn audit_payload(entry: &Value) -> Result<&Value, RecordError> {
    let payload = entry
        .get("protoPayload")
        .ok_or(RecordError::MissingField("protoPayload"))?;
    if !payload.is_object() {
        return Err(RecordError::bad(
            "protoPayload",
            payload.to_string().chars().take(40).collect::<String>(),
            "not an object",
        ));
    }
    match text(payload, &["@type"]) {
        Some(kind) if kind != AUDIT_LOG_TYPE => Err(RecordError::bad(
            "protoPayload.@type",
            kind,
            "not a Cloud Audit Log entry",
        )),
        _ => Ok(payload),
    }
}

/// What a `logName` says about where the entry was logged.
#[derive(Debug, Default, PartialEq)]
struct LogParent {
    organization: Option<String>,
    project: Option<String>,
}

impl LogParent {
    /// `projects/P/logs/...` or `organizations/O/logs/...`; folder and billing-account logs
    /// name neither an organization nor a project.
    fn parse(log_name: &str) -> Self {
        let mut parts = log_name.split('/');
        match (parts.next(), parts.next()) {
            (Some("organizations"), Some(id)) if !id.is_empty() => LogParent {
                organization: Some(id.to_string()),
                project: None,
            },
            (Some("projects"), Some(id)) if !id.is_empty() => LogParent {
                organization: None,
                project: Some(id.to_string()),
            },
            _ => LogParent::default(),
        }
    }
}

/// `v1.compute.instances.insert` -> `compute.instances.insert`: the category table lists each
/// method once, whichever API version (`v1`, `beta`, `alpha`) the caller used.
pub(super) fn without_version(method: &str) -> &str {
    match method.split_once('.') {
        Some((prefix, rest)) if is_api_version(prefix) => rest,
        _ => method,
    }
}

fn is_api_version(segment: &str) -> bool {
    let mut chars = segment.chars();
    let numbered = chars.next() == Some('v')
        && chars.next().is_some_and(|c| c.is_ascii_digit())
        && segment.chars().all(|c| c.is_ascii_alphanumeric());
    numbered || segment == "beta" || segment == "alpha"
}

/// A non-zero `status.code` is a failure whatever else the entry says; the first entry of a
/// long-running operation has no outcome yet (see the module docs).
fn outcome(entry: &LogEntry, payload: &AuditLog) -> (Option<Outcome>, Option<String>) {
    let status = payload.status.0.as_ref();
    if let Some(code) = status
        .and_then(|status| status.code.text())
        .filter(|code| code != "0")
    {
        let reason = match status.and_then(|status| status.message.as_str()) {
            Some(message) => format!("{code}: {}", truncate(message, REASON_CHARS)),
            None => code,
        };
        return (Some(Outcome::Failure), Some(reason));
    }
    let operation = entry.operation.0.as_ref();
    let first = operation.and_then(|op| op.first.as_bool()).unwrap_or(false);
    let last = operation.and_then(|op| op.last.as_bool()).unwrap_or(false);
    if first && !last {
        return (None, Some("operation started".into()));
    }
    (Some(Outcome::Success), None)
}

fn truncate(raw: &str, chars: usize) -> String {
    raw.chars().take(chars).collect()
}

/// What a provisioning call asked for, from whichever request shape the method uses.
fn provisioned(entry: &LogEntry, payload: &AuditLog, method: &str) -> Resource {
    let request = &raw_value(payload.request);
    let (instance_type, instance_count) = match method {
        // One instance per call by definition; the last entry of the operation carries no
        // machine type, only the request's `@type`.
        "compute.instances.insert" => (machine_type(request, &["machineType"]), Some(1)),
        "compute.instances.bulkInsert" | "compute.regionInstances.bulkInsert" => (
            machine_type(request, &["instanceProperties", "machineType"]),
            count(request, &["count"]),
        ),
        "compute.instanceGroupManagers.insert" | "compute.regionInstanceGroupManagers.insert" => {
            (None, count(request, &["targetSize"]))
        }
        "compute.instanceGroupManagers.resize" | "compute.regionInstanceGroupManagers.resize" => {
            (None, count(request, &["size"]))
        }
        _ if method.ends_with(".ClusterManager.CreateNodePool") => (
            machine_type(request, &["nodePool", "config", "machineType"]),
            count(request, &["nodePool", "initialNodeCount"]),
        ),
        _ if method.ends_with(".NotebookService.CreateInstance") => {
            (machine_type(request, &["instance", "machineType"]), Some(1))
        }
        _ if method.ends_with(".JobService.CreateCustomJob") => {
            let pool = fields::at(request, &["customJob", "jobSpec", "workerPoolSpecs"])
                .and_then(Value::as_array)
                .and_then(|pools| pools.first());
            (
                pool.and_then(|pool| machine_type(pool, &["machineSpec", "machineType"])),
                pool.and_then(|pool| count(pool, &["replicaCount"])),
            )
        }
        _ => (None, None),
    };
    Resource {
        instance_type,
        instance_count,
        ..touched_resource(entry, payload)
    }
}

/// The machine type's name, whether the request gives a bare name (`n1-standard-8`), a partial
/// URL (`zones/us-central1-a/machineTypes/n1-standard-8`) or a full one.
fn machine_type(request: &Value, path: &[&str]) -> Option<String> {
    let raw = text(request, path)?;
    raw.rsplit('/')
        .next()
        .filter(|name| !name.is_empty())
        .map(str::to_string)
}

/// Counts are int64 in the API, which JSON renders as strings (`"count": "4"`).
fn count(value: &Value, path: &[&str]) -> Option<u32> {
    match fields::number(value, path)? {
        Ok(n) if n >= 0.0 => Some(n.min(u32::MAX as f64) as u32),
        _ => None,
    }
}

fn touched_resource(entry: &LogEntry, payload: &AuditLog) -> Resource {
    let resource = entry.resource.0.as_ref();
    Resource {
        kind: resource.and_then(|resource| resource.kind.text()),
        id: payload.resource_name.text(),
        // The event's region is the zone's region; the zone itself is where the resource is.
        location: resource
            .and_then(|resource| resource.labels.0.as_ref())
            .and_then(place)
            .filter(|zone| region_of(zone) != zone.as_str()),
        ..Resource::default()
    }
}

/// Where the resource is, by whichever label its type uses (a zone or a region).
fn place(labels: &Labels) -> Option<String> {
    [&labels.zone, &labels.region, &labels.location]
        .into_iter()
        .find_map(Field::text)
}

/// The region of a zone (`asia-northeast3-a` is in `asia-northeast3`); a region or `global` is
/// its own. Zones are their region plus a one-letter suffix.
fn region_of(place: &str) -> &str {
    match place.rsplit_once('-') {
        Some((region, zone))
            if region.contains('-')
                && zone.len() == 1
                && zone.bytes().all(|b| b.is_ascii_lowercase()) =>
        {
            region
        }
        _ => place,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_is_in_its_region() {
        assert_eq!(region_of("asia-northeast3-a"), "asia-northeast3");
        assert_eq!(region_of("us-central1-f"), "us-central1");
        assert_eq!(region_of("us-central1"), "us-central1");
        assert_eq!(region_of("europe-west4"), "europe-west4");
        assert_eq!(region_of("global"), "global");
        assert_eq!(region_of("us"), "us");
    }
    use serde_json::json;

    #[test]
    fn api_versions_are_dropped_from_method_names() {
        assert_eq!(
            without_version("v1.compute.instances.insert"),
            "compute.instances.insert"
        );
        assert_eq!(
            without_version("beta.compute.instances.bulkInsert"),
            "compute.instances.bulkInsert"
        );
        assert_eq!(
            without_version("alpha.compute.instances.insert"),
            "compute.instances.insert"
        );
        assert_eq!(
            without_version("google.login.LoginService.loginFailure"),
            "google.login.LoginService.loginFailure"
        );
        // A service whose name merely starts with `v` keeps it.
        assert_eq!(
            without_version("vpcaccess.connectors.create"),
            "vpcaccess.connectors.create"
        );
        assert_eq!(without_version("SetIamPolicy"), "SetIamPolicy");
    }

    #[test]
    fn log_names_say_organization_or_project() {
        assert_eq!(
            LogParent::parse("organizations/123/logs/cloudaudit.googleapis.com%2Factivity"),
            LogParent {
                organization: Some("123".into()),
                project: None
            }
        );
        assert_eq!(
            LogParent::parse("projects/p-1/logs/cloudaudit.googleapis.com%2Factivity"),
            LogParent {
                organization: None,
                project: Some("p-1".into())
            }
        );
        assert_eq!(
            LogParent::parse("folders/456/logs/cloudaudit.googleapis.com%2Factivity"),
            LogParent::default()
        );
        assert_eq!(LogParent::parse("projects/"), LogParent::default());
    }

    /// The outcome of an entry built from its top level and its payload.
    fn outcome_of(entry: &Value, payload: &Value) -> (Option<Outcome>, Option<String>) {
        let mut entry = entry.clone();
        entry["protoPayload"] = payload.clone();
        let text = entry.to_string();
        let entry: LogEntry = serde_json::from_str(&text).unwrap();
        outcome(&entry, entry.proto_payload.0.as_ref().unwrap())
    }

    #[test]
    fn failure_status_wins_over_operation_flags() {
        let entry = json!({"operation": {"id": "op", "first": true}});
        let payload = json!({"status": {"code": 8, "message": "QUOTA_EXCEEDED"}});
        assert_eq!(
            outcome_of(&entry, &payload),
            (Some(Outcome::Failure), Some("8: QUOTA_EXCEEDED".into()))
        );
        let no_message = json!({"status": {"code": 7}});
        assert_eq!(
            outcome_of(&json!({}), &no_message),
            (Some(Outcome::Failure), Some("7".into()))
        );
    }

    #[test]
    fn operations_have_an_outcome_only_when_they_end() {
        let empty_status = json!({"status": {}});
        let first = json!({"operation": {"id": "op", "first": true}});
        let last = json!({"operation": {"id": "op", "last": true}});
        let both = json!({"operation": {"id": "op", "first": true, "last": true}});
        assert_eq!(
            outcome_of(&first, &empty_status),
            (None, Some("operation started".into()))
        );
        assert_eq!(
            outcome_of(&last, &empty_status),
            (Some(Outcome::Success), None)
        );
        assert_eq!(
            outcome_of(&both, &empty_status),
            (Some(Outcome::Success), None)
        );
        let zero = json!({"status": {"code": 0}});
        assert_eq!(
            outcome_of(&json!({}), &zero),
            (Some(Outcome::Success), None)
        );
    }

    #[test]
    fn machine_types_from_names_and_urls() {
        let request = json!({
            "a": "zones/us-central1-a/machineTypes/n1-standard-8",
            "b": "https://www.googleapis.com/compute/v1/projects/p/zones/z/machineTypes/a2-highgpu-8g",
            "c": "e2-micro",
            "d": "zones/us-central1-a/machineTypes/",
        });
        assert_eq!(
            machine_type(&request, &["a"]).as_deref(),
            Some("n1-standard-8")
        );
        assert_eq!(
            machine_type(&request, &["b"]).as_deref(),
            Some("a2-highgpu-8g")
        );
        assert_eq!(machine_type(&request, &["c"]).as_deref(), Some("e2-micro"));
        assert_eq!(machine_type(&request, &["d"]), None);
    }

    #[test]
    fn counts_from_strings_and_numbers() {
        let request = json!({"a": "4", "b": 12, "c": "-1", "d": "many"});
        assert_eq!(count(&request, &["a"]), Some(4));
        assert_eq!(count(&request, &["b"]), Some(12));
        assert_eq!(count(&request, &["c"]), None);
        assert_eq!(count(&request, &["d"]), None);
        assert_eq!(count(&request, &["missing"]), None);
    }

    #[test]
    fn other_payloads_are_claimed_but_refused() {
        let request_log = json!({
            "logName": "projects/p/logs/appengine.googleapis.com%2Frequest_log",
            "protoPayload": {"@type": "type.googleapis.com/google.appengine.logging.v1.RequestLog"},
        });
        assert!(is_log_entry(&request_log));
        assert!(matches!(
            audit_payload(&request_log),
            Err(RecordError::BadField {
                field: "protoPayload.@type",
                ..
            })
        ));
        let json_log = json!({"logName": "projects/p/logs/syslog", "jsonPayload": {"x": 1}});
        assert!(is_log_entry(&json_log));
        assert_eq!(
            audit_payload(&json_log),
            Err(RecordError::MissingField("protoPayload"))
        );
        assert!(!is_log_entry(&json!({"logName": "x"})));
    }
}
