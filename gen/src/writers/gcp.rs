//! GCP: Cloud Audit Log entries as a Cloud Logging sink writes them to Cloud Storage, the Google
//! Workspace login audit shared into Cloud Logging, and the Cloud Billing export.
//!
//! - `gcp/<project>/cloudaudit.googleapis.com/activity/YYYY/MM/DD/HH:00:00_HH:59:59_S0.json`:
//!   NDJSON `LogEntry`s. Long-running operations (instance inserts, starts, stops) log a first
//!   entry with the request and a last entry when the operation is done.
//! - `gcp/workspace/<organization>/login/YYYY/MM/DD.json`: NDJSON login audit entries, logged at
//!   the organization (`organizations/<org>/logs/cloudaudit.googleapis.com%2Fdata_access`).
//! - `gcp/<project>/billing/YYYY-MM.json`: BigQuery standard usage cost export rows as NDJSON
//!   (`bq extract --destination_format NEWLINE_DELIMITED_JSON` spells timestamps
//!   `YYYY-MM-DD HH:MM:SS UTC`).

use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration, NaiveDate, Timelike};
use serde_json::{json, Value};

use super::{later, micros, DayFiles, Layout, Scope, WriteStats};
use crate::activity::{Action, Activity, Actor, CostLine, LaunchApi, SignInResult};
use crate::catalog::{self, Cloud};
use crate::random::Rand;
use crate::world::AutomationKind;
use crate::GenError;

/// How long a Compute Engine operation takes between its first and last entry (milliseconds).
pub(crate) const OPERATION_MILLIS: (u32, u32) = (8_000, 60_000);

const AUDIT_LOG: &str = "type.googleapis.com/google.cloud.audit.AuditLog";

/// The e-mail an actor authenticates as: a person's Google account, a service account.
fn principal_email(scope: &Scope, activity: &Activity) -> String {
    match activity.actor {
        Actor::Person(p) => scope.company.upn(&scope.company.people[p]),
        Actor::Automation(a) => {
            let automation = &scope.presence.automations[a];
            let project = &scope.presence.accounts[automation.account];
            match automation.kind {
                AutomationKind::Autoscaler => {
                    format!("{}@cloudservices.gserviceaccount.com", project.number)
                }
                _ => format!("{}@{}.iam.gserviceaccount.com", automation.name, project.id),
            }
        }
    }
}

pub(crate) fn logged_principal(scope: &Scope, activity: &Activity) -> Option<String> {
    Some(principal_email(scope, activity))
}

pub(crate) fn render(scope: &Scope, activity: &Activity, rand: &mut Rand, files: &mut DayFiles) {
    match &activity.action {
        Action::SignIn(_) => workspace_login(scope, activity, rand, files),
        Action::Launch(_) | Action::Call(_) => audit(scope, activity, rand, files),
    }
}

fn insert_id(rand: &mut Rand) -> String {
    format!(
        "-{}",
        rand.string(b"abcdefghijklmnopqrstuvwxyz0123456789", 12)
    )
}

fn request_metadata(activity: &Activity) -> Value {
    let mut metadata = json!({
        "callerSuppliedUserAgent": activity.user_agent,
        "requestAttributes": {"time": micros(activity.time), "auth": {}},
        "destinationAttributes": {},
    });
    if let Some(address) = activity.origin.address() {
        metadata["callerIp"] = json!(address.to_string());
    }
    metadata
}

fn workspace_login(scope: &Scope, activity: &Activity, rand: &mut Rand, files: &mut DayFiles) {
    let Action::SignIn(sign_in) = &activity.action else {
        return;
    };
    let organization = &scope.presence.tenant;
    let success = sign_in.result == SignInResult::Success;
    let method = if success {
        "google.login.LoginService.loginSuccess"
    } else {
        "google.login.LoginService.loginFailure"
    };
    let challenges: Vec<&str> = if success && sign_in.mfa {
        vec!["password", "google_authenticator"]
    } else {
        vec!["password"]
    };
    let mut parameters = vec![
        json!({"type": "TYPE_STRING", "name": "login_type", "value": "google_password"}),
        json!({"type": "TYPE_STRING", "label": "LABEL_REPEATED", "name": "login_challenge_method", "multiStrValue": challenges}),
    ];
    if !success {
        let failure = match sign_in.result {
            SignInResult::MfaRequired => "login_failure_invalid_second_factor",
            SignInResult::Locked | SignInResult::Disabled => "login_failure_account_disabled",
            SignInResult::PasswordExpired => "login_failure_unknown",
            _ => "login_failure_invalid_password",
        };
        parameters
            .push(json!({"type": "TYPE_STRING", "name": "login_failure_type", "value": failure}));
    }
    parameters.push(json!({"type": "TYPE_BOOLEAN", "name": "is_suspicious", "boolValue": false}));
    let event_name = if success {
        "login_success"
    } else {
        "login_failure"
    };
    let entry = json!({
        "protoPayload": {
            "@type": AUDIT_LOG,
            "authenticationInfo": {"principalEmail": principal_email(scope, activity)},
            "requestMetadata": request_metadata(activity),
            "serviceName": "login.googleapis.com",
            "methodName": method,
            "resourceName": format!("organizations/{organization}"),
            "metadata": {
                "@type": "type.googleapis.com/ccc_hosted_reporting.ActivityProto",
                "activityId": {"timeUsec": (activity.time.timestamp_micros()).to_string(), "uniqQualifier": rand.digits(19)},
                "event": [{"eventType": "login", "eventName": event_name, "parameter": parameters}],
            },
        },
        "insertId": insert_id(rand),
        "resource": {"type": "audited_resource", "labels": {"method": method, "service": "login.googleapis.com"}},
        "timestamp": micros(activity.time),
        "severity": "NOTICE",
        "logName": format!("organizations/{organization}/logs/cloudaudit.googleapis.com%2Fdata_access"),
        "receiveTimestamp": micros(later(activity.time, Duration::milliseconds(i64::from(rand.int(300, 4000))))),
    });
    let path = || {
        PathBuf::from(format!(
            "gcp/workspace/{organization}/login/{:04}/{:02}/{:02}.json",
            activity.time.year(),
            activity.time.month(),
            activity.time.day()
        ))
    };
    files.add(
        "workspace".into(),
        path,
        Layout::Lines,
        activity.time,
        &entry,
    );
}

/// The audited resource: its name, `resource.type` and labels.
struct Target {
    name: String,
    kind: &'static str,
    labels: Value,
    instance_id: String,
}

fn target(scope: &Scope, activity: &Activity, rand: &mut Rand) -> Target {
    let project = &scope.presence.accounts[activity.account];
    let p = &project.id;
    let instance_id = rand.digits(19);
    match &activity.action {
        Action::Launch(launch) => {
            let zone = launch.region;
            Target {
                name: format!("projects/{p}/zones/{zone}/instances/{}", launch.name),
                kind: "gce_instance",
                labels: json!({"instance_id": instance_id, "project_id": p, "zone": zone}),
                instance_id,
            }
        }
        Action::Call(call) => {
            let zone = call.region;
            let resource = rand.pick(&project.resources).clone();
            let (name, labels) = match call.op.resource {
                "gce_instance" => (
                    format!("projects/{p}/zones/{zone}/instances/{resource}"),
                    json!({"instance_id": instance_id, "project_id": p, "zone": zone}),
                ),
                "gce_firewall_rule" => (
                    format!("projects/{p}/global/firewalls/allow-{resource}"),
                    json!({"firewall_rule_id": rand.digits(19), "project_id": p}),
                ),
                "gcs_bucket" => (
                    format!("projects/_/buckets/{p}-{resource}"),
                    json!({"bucket_name": format!("{p}-{resource}"), "location": catalog::gcp_region(zone), "project_id": p}),
                ),
                "service_account" => (
                    format!("projects/{p}/serviceAccounts/{resource}@{p}.iam.gserviceaccount.com"),
                    json!({"email_id": format!("{resource}@{p}.iam.gserviceaccount.com"), "project_id": p, "unique_id": rand.digits(21)}),
                ),
                "cloud_run_revision" => (
                    format!("namespaces/{p}/services/{resource}"),
                    json!({"configuration_name": "", "location": catalog::gcp_region(zone), "project_id": p,
                           "revision_name": "", "service_name": resource}),
                ),
                "build" => {
                    let id = rand.uuid();
                    (
                        format!("projects/{p}/builds/{id}"),
                        json!({"build_id": id, "build_trigger_id": "", "project_id": p}),
                    )
                }
                _ => (format!("projects/{p}"), json!({"project_id": p})),
            };
            Target {
                name,
                kind: call.op.resource,
                labels,
                instance_id,
            }
        }
        Action::SignIn(_) => unreachable!("sign-ins are written by workspace_login()"),
    }
}

fn audit(scope: &Scope, activity: &Activity, rand: &mut Rand, files: &mut DayFiles) {
    let project = &scope.presence.accounts[activity.account];
    let target = target(scope, activity, rand);
    let email = principal_email(scope, activity);
    let (service, method, failure, zone) = match &activity.action {
        Action::Launch(launch) => (
            "compute.googleapis.com",
            if launch.api == LaunchApi::GceBulkInsert {
                "v1.compute.instances.bulkInsert"
            } else {
                "v1.compute.instances.insert"
            },
            launch.failure,
            launch.region,
        ),
        Action::Call(call) => (call.op.service, call.op.name, call.failure, call.region),
        Action::SignIn(_) => return,
    };
    let long_running = service == "compute.googleapis.com" && failure.is_none();
    let operation_id = format!(
        "operation-{}-{}",
        activity.time.timestamp_millis(),
        rand.hex(14)
    );
    let short_method = method.strip_prefix("v1.").unwrap_or(method);
    let request = match &activity.action {
        Action::Launch(launch) if launch.api == LaunchApi::GceBulkInsert => json!({
            "@type": "type.googleapis.com/compute.instances.bulkInsert",
            "count": launch.count.to_string(),
            "minCount": launch.count.to_string(),
            "namePattern": format!("{}-####", launch.name),
            "instanceProperties": {"machineType": launch.machine_type,
                "disks": [{"boot": true, "autoDelete": true, "initializeParams": {"sourceImage": "projects/debian-cloud/global/images/family/debian-12"}}]},
        }),
        Action::Launch(launch) => json!({
            "@type": "type.googleapis.com/compute.instances.insert",
            "name": launch.name,
            "machineType": format!("zones/{zone}/machineTypes/{}", launch.machine_type),
            "canIpForward": false,
            "networkInterfaces": [{"network": format!("https://www.googleapis.com/compute/v1/projects/{}/global/networks/default", project.id),
                "accessConfigs": [{"type": "ONE_TO_ONE_NAT", "name": "External NAT"}]}],
            "disks": [{"boot": true, "autoDelete": true, "initializeParams": {"sourceImage": "projects/debian-cloud/global/images/family/debian-12", "diskSizeGb": "10"}}],
            "scheduling": {"preemptible": false, "automaticRestart": true, "onHostMaintenance": "MIGRATE"},
        }),
        _ => json!({"@type": format!("type.googleapis.com/{short_method}")}),
    };
    let permission = match &activity.action {
        Action::Launch(_) => "compute.instances.create".to_string(),
        _ => short_method.trim_start_matches("compute.").to_string(),
    };
    let mut payload = json!({
        "@type": AUDIT_LOG,
        "status": {},
        "authenticationInfo": {"principalEmail": email},
        "requestMetadata": request_metadata(activity),
        "serviceName": service,
        "methodName": method,
        "authorizationInfo": [{"permission": permission, "granted": failure.is_none(),
            "resourceAttributes": {"service": service.trim_end_matches(".googleapis.com"), "name": target.name}}],
        "resourceName": target.name,
        "request": request,
        "resourceLocation": {"currentLocations": [zone]},
    });
    if let Some(failure) = failure {
        payload["status"] =
            json!({"code": failure.code.parse::<i64>().unwrap_or(7), "message": failure.message});
    } else if long_running {
        payload["response"] = json!({
            "@type": "type.googleapis.com/operation",
            "id": rand.digits(19),
            "name": operation_id,
            "operationType": short_method.rsplit('.').next().unwrap_or("insert"),
            "progress": "0",
            "status": "RUNNING",
            "targetId": target.instance_id,
            "targetLink": format!("https://www.googleapis.com/compute/v1/{}", target.name),
            "user": email,
            "zone": format!("https://www.googleapis.com/compute/v1/projects/{}/zones/{zone}", project.id),
            "insertTime": micros(activity.time),
            "startTime": micros(activity.time),
        });
    }
    let log_name = format!(
        "projects/{}/logs/cloudaudit.googleapis.com%2Factivity",
        project.id
    );
    let severity = if failure.is_some() { "ERROR" } else { "NOTICE" };
    let mut first = json!({
        "protoPayload": payload,
        "insertId": insert_id(rand),
        "resource": {"type": target.kind, "labels": target.labels},
        "timestamp": micros(activity.time),
        "severity": severity,
        "logName": log_name,
        "receiveTimestamp": micros(later(activity.time, Duration::milliseconds(i64::from(rand.int(200, 2500))))),
    });
    if long_running {
        first["operation"] = json!({"id": operation_id, "producer": service, "first": true});
    }
    add_entry(scope, activity.account, activity.time, &first, files);
    if long_running {
        let done = later(
            activity.time,
            Duration::milliseconds(i64::from(rand.int(OPERATION_MILLIS.0, OPERATION_MILLIS.1))),
        );
        let last = json!({
            "protoPayload": {
                "@type": AUDIT_LOG,
                "status": {},
                "authenticationInfo": {"principalEmail": email},
                "requestMetadata": request_metadata(activity),
                "serviceName": service,
                "methodName": method,
                "resourceName": target.name,
                "request": {"@type": format!("type.googleapis.com/{short_method}")},
            },
            "insertId": insert_id(rand),
            "resource": {"type": target.kind, "labels": target.labels},
            "timestamp": micros(done),
            "severity": severity,
            "logName": log_name,
            "operation": {"id": operation_id, "producer": service, "last": true},
            "receiveTimestamp": micros(later(done, Duration::milliseconds(i64::from(rand.int(200, 2500))))),
        });
        add_entry(scope, activity.account, done, &last, files);
    }
}

fn add_entry(
    scope: &Scope,
    account: usize,
    time: chrono::DateTime<chrono::Utc>,
    entry: &Value,
    files: &mut DayFiles,
) {
    let project = &scope.presence.accounts[account].id;
    let hour = time.hour();
    let path = || {
        PathBuf::from(format!(
            "gcp/{project}/cloudaudit.googleapis.com/activity/{:04}/{:02}/{:02}/{hour:02}:00:00_{hour:02}:59:59_S0.json",
            time.year(),
            time.month(),
            time.day()
        ))
    };
    files.add(
        format!("{project}/{hour}"),
        path,
        Layout::Lines,
        time,
        entry,
    );
}

pub(crate) fn write_billing(
    scope: &Scope,
    account: usize,
    month: NaiveDate,
    lines: &[CostLine],
    root: &Path,
) -> Result<WriteStats, GenError> {
    let project = &scope.presence.accounts[account];
    let organization = &scope.presence.tenant;
    let path = root.join(format!(
        "gcp/{}/billing/{}.json",
        project.id,
        month.format("%Y-%m")
    ));
    let mut rand = Rand::new(
        scope.world.seed,
        &format!("gcp-billing/{}/{month}", project.id),
    );
    let mut body = Vec::new();
    let timestamp = |day: NaiveDate| format!("{} 00:00:00 UTC", day.format("%Y-%m-%d"));
    for line in lines {
        let service = catalog::service_name(Cloud::Gcp, line.spend);
        let region = line.region.map(catalog::gcp_region);
        let end = if line.line_type == "Usage" {
            line.day + Duration::days(1)
        } else {
            month
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(month)
        };
        let row = json!({
            "billing_account_id": scope.presence.billing_account,
            "service": {"id": service.code, "description": service.name},
            "sku": {"id": format!("{}-{}-{}", rand.upper_alnum(4), rand.upper_alnum(4), rand.upper_alnum(4)), "description": service.usage},
            "usage_start_time": timestamp(line.day),
            "usage_end_time": timestamp(end),
            "project": {"id": project.id, "number": project.number, "name": project.name, "labels": [],
                        "ancestry_numbers": format!("/{organization}/{}/", project.folder)},
            "labels": [],
            "system_labels": [],
            "location": {"location": region, "country": region.map(catalog::gcp_country), "region": region, "zone": null},
            "export_time": format!("{} 06:12:41.118 UTC", (line.day + Duration::days(1)).format("%Y-%m-%d")),
            "cost": line.cost,
            "currency": scope.presence.currency,
            "currency_conversion_rate": 1.0,
            "usage": {"amount": 86400.0, "unit": "seconds", "amount_in_pricing_units": 24.0, "pricing_unit": "hour"},
            "credits": [],
            "invoice": {"month": month.format("%Y%m").to_string()},
            "cost_type": "regular",
        });
        body.extend_from_slice(row.to_string().as_bytes());
        body.push(b'\n');
    }
    let bytes = super::write_file(&path, &body, false)?;
    Ok(WriteStats {
        files: 1,
        events: 0,
        billing_rows: lines.len() as u64,
        bytes,
    })
}
