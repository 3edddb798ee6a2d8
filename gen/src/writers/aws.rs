//! AWS: CloudTrail log files as a trail delivers them to S3, and the Cost and Usage Report.
//!
//! - `aws/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_YYYYMMDDTHHMMZ_<random>.json.gz`:
//!   `{"Records":[...]}`, minified and gzipped, one file per account, region and hour. Global
//!   events (IAM, console sign-ins) are delivered in us-east-1.
//! - `aws/cur/<account>/<account>-cur-YYYY-MM.csv.gz`: legacy CUR columns, one line per service
//!   and day.
//!
//! Console sign-in failures carry no ARN, only the user name (as CloudTrail writes them), so the
//! normalizer reports the user name for failures and the ARN for successes.

use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration, NaiveDate, Timelike};
use serde_json::{json, Value};

use super::{seconds, DayFiles, Layout, Scope, WriteStats};
use crate::activity::{Action, Activity, Actor, CostLine, Launch, LaunchApi, Origin, SignInResult};
use crate::catalog::{self, Cloud};
use crate::random::{fnv1a, Rand};
use crate::world::{Automation, AutomationKind};
use crate::GenError;

const EVENT_VERSION: &str = "1.09";
/// Where CloudTrail delivers global service events and console sign-ins.
const GLOBAL_REGION: &str = "us-east-1";

/// The identity of an automation principal: role name and session name.
fn role_session(automation: &Automation) -> (&str, String) {
    match automation.kind {
        AutomationKind::Deployer => (automation.name.as_str(), "GitHubActions".to_string()),
        AutomationKind::Poller => (automation.name.as_str(), "poller".to_string()),
        // An EC2 instance profile: the session is named after the scheduler's instance.
        AutomationKind::NightlyBatch => (
            automation.name.as_str(),
            format!("i-0{:016x}", fnv1a(automation.id.as_bytes())),
        ),
        AutomationKind::Autoscaler => (automation.name.as_str(), "AutoScaling".to_string()),
    }
}

fn user_arn(account: &str, handle: &str) -> String {
    format!("arn:aws:iam::{account}:user/{handle}")
}

pub(crate) fn logged_principal(scope: &Scope, activity: &Activity) -> Option<String> {
    let account =
        &scope.presence.accounts[activity.account.min(scope.presence.accounts.len() - 1)].id;
    Some(match activity.actor {
        Actor::Person(p) => {
            let handle = &scope.company.people[p].handle;
            match &activity.action {
                Action::SignIn(sign_in) if sign_in.result != SignInResult::Success => {
                    handle.clone()
                }
                _ => user_arn(account, handle),
            }
        }
        Actor::Automation(a) => {
            let automation = &scope.presence.automations[a];
            let (role, session) = role_session(automation);
            format!("arn:aws:sts::{account}:assumed-role/{role}/{session}")
        }
    })
}

fn user_identity(scope: &Scope, activity: &Activity, rand: &mut Rand) -> Value {
    let account = &scope.presence.accounts[activity.account].id;
    match activity.actor {
        Actor::Person(p) => {
            let person = &scope.company.people[p];
            if let Action::SignIn(sign_in) = &activity.action {
                return if sign_in.result == SignInResult::Success {
                    json!({"type": "IAMUser", "principalId": person.aws_user_id, "arn": user_arn(account, &person.handle),
                           "accountId": account, "userName": person.handle})
                } else {
                    json!({"type": "IAMUser", "principalId": person.aws_user_id, "accountId": account,
                           "accessKeyId": "", "userName": person.handle})
                };
            }
            let console = activity.user_agent.starts_with("console.");
            let key = if console {
                format!("ASIA{}", rand.upper_alnum(16))
            } else {
                person.aws_access_key.clone()
            };
            let mut identity = json!({"type": "IAMUser", "principalId": person.aws_user_id,
                "arn": user_arn(account, &person.handle), "accountId": account, "accessKeyId": key,
                "userName": person.handle});
            if console {
                identity["sessionContext"] = json!({"sessionIssuer": {}, "webIdFederationData": {},
                    "attributes": {"creationDate": seconds(activity.time - Duration::minutes(5)),
                                   "mfaAuthenticated": if person.habits.mfa { "true" } else { "false" }}});
            }
            identity
        }
        Actor::Automation(a) => {
            let automation = &scope.presence.automations[a];
            let (role, session) = role_session(automation);
            let mut identity = json!({"type": "AssumedRole",
                "principalId": format!("{}:{session}", automation.id),
                "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
                "accountId": account, "accessKeyId": format!("ASIA{}", rand.upper_alnum(16)),
                "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": automation.id,
                        "arn": format!("arn:aws:iam::{account}:role/{}{role}",
                            if automation.kind == AutomationKind::Autoscaler { "aws-service-role/autoscaling.amazonaws.com/" } else { "" }),
                        "accountId": account, "userName": role},
                    "attributes": {"creationDate": seconds(activity.time - Duration::minutes(12)), "mfaAuthenticated": "false"}}});
            if automation.kind == AutomationKind::Autoscaler {
                identity["invokedBy"] = json!("autoscaling.amazonaws.com");
            }
            identity
        }
    }
}

fn source_address(origin: Origin) -> String {
    match origin {
        Origin::Address(address) => address.to_string(),
        Origin::Service(name) => name.to_string(),
    }
}

fn instance_id(rand: &mut Rand) -> String {
    format!("i-0{}", rand.hex(16))
}

fn zone(region: &str, rand: &mut Rand) -> String {
    format!("{region}{}", char::from(*rand.pick(b"abc")))
}

pub(crate) fn render(scope: &Scope, activity: &Activity, rand: &mut Rand, files: &mut DayFiles) {
    let account = &scope.presence.accounts[activity.account].id;
    let mut record = json!({
        "eventVersion": EVENT_VERSION,
        "userIdentity": user_identity(scope, activity, rand),
        "eventTime": seconds(activity.time),
    });
    let region;
    match &activity.action {
        Action::SignIn(sign_in) => {
            region = GLOBAL_REGION;
            let success = sign_in.result == SignInResult::Success;
            extend(
                &mut record,
                json!({
                    "eventSource": "signin.amazonaws.com",
                    "eventName": "ConsoleLogin",
                    "awsRegion": region,
                    "sourceIPAddress": source_address(activity.origin),
                    "userAgent": activity.user_agent,
                    "requestParameters": null,
                    "responseElements": {"ConsoleLogin": if success { "Success" } else { "Failure" }},
                    "additionalEventData": {
                        "LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
                        "MobileVersion": "No",
                        "MFAUsed": if success && sign_in.mfa { "Yes" } else { "No" },
                    },
                    "eventID": rand.uuid(),
                    "readOnly": false,
                    "eventType": "AwsConsoleSignIn",
                    "managementEvent": true,
                    "recipientAccountId": account,
                    "eventCategory": "Management",
                    "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                                   "clientProvidedHostHeader": "signin.aws.amazon.com"},
                }),
            );
            if !success {
                record["errorMessage"] = json!("Failed authentication");
            }
        }
        Action::Launch(launch) => {
            region = launch.region;
            let (source, name, request, response) = launch_shape(scope, activity, launch, rand);
            extend(
                &mut record,
                api_call(scope, activity, source, name, region, false, rand),
            );
            record["requestParameters"] = request;
            record["responseElements"] = if launch.failure.is_some() {
                Value::Null
            } else {
                response
            };
            if let Some(failure) = launch.failure {
                record["errorCode"] = json!(failure.code);
                record["errorMessage"] = json!(failure.message);
            }
        }
        Action::Call(call) => {
            region = call.region;
            extend(
                &mut record,
                api_call(
                    scope,
                    activity,
                    call.op.service,
                    call.op.name,
                    region,
                    call.op.read_only,
                    rand,
                ),
            );
            let (request, response) = call_shape(call.op.name, activity, scope, rand);
            record["requestParameters"] = request;
            record["responseElements"] = if call.failure.is_some() {
                Value::Null
            } else {
                response
            };
            if let Some(failure) = call.failure {
                record["errorCode"] = json!(failure.code);
                record["errorMessage"] = json!(failure.message);
            }
        }
    }
    let hour = activity
        .time
        .date_naive()
        .and_hms_opt(activity.time.hour(), 0, 0)
        .unwrap_or_default();
    let key = format!("{account}/{region}/{}", activity.time.hour());
    let path = || {
        let delivered = hour + Duration::minutes(55);
        let mut name_rand = Rand::new(
            scope.world.seed,
            &format!("cloudtrail/{account}/{region}/{hour}"),
        );
        PathBuf::from(format!(
            "aws/AWSLogs/{account}/CloudTrail/{region}/{:04}/{:02}/{:02}/{account}_CloudTrail_{region}_{}_{}.json.gz",
            hour.year(),
            hour.month(),
            hour.day(),
            delivered.format("%Y%m%dT%H%MZ"),
            name_rand.alnum(16),
        ))
    };
    files.add(key, path, Layout::CloudTrail, activity.time, &record);
}

fn extend(record: &mut Value, more: Value) {
    if let (Value::Object(target), Value::Object(source)) = (record, more) {
        target.extend(source);
    }
}

fn api_call(
    scope: &Scope,
    activity: &Activity,
    source: &str,
    name: &str,
    region: &str,
    read_only: bool,
    rand: &mut Rand,
) -> Value {
    let account = &scope.presence.accounts[activity.account].id;
    let service_host = source.trim_end_matches(".amazonaws.com");
    let mut call = json!({
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": source_address(activity.origin),
        "userAgent": activity.user_agent,
        "requestID": rand.uuid(),
        "eventID": rand.uuid(),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": account,
        "eventCategory": "Management",
    });
    if let Origin::Address(_) = activity.origin {
        call["tlsDetails"] = json!({"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": format!("{service_host}.{region}.amazonaws.com")});
    }
    call
}

/// The request and response a launch API logs.
fn launch_shape(
    scope: &Scope,
    activity: &Activity,
    launch: &Launch,
    rand: &mut Rand,
) -> (&'static str, &'static str, Value, Value) {
    let account = &scope.presence.accounts[activity.account].id;
    let image = format!("ami-0{}", rand.hex(16));
    match launch.api {
        LaunchApi::LightsailCreateInstances => {
            let names: Vec<String> = (0..launch.count)
                .map(|n| format!("{}-{}", launch.name, n + 1))
                .collect();
            let az = format!("{}a", launch.region);
            let operations: Vec<Value> = names
                .iter()
                .map(|name| json!({"id": rand.uuid(), "resourceName": name, "resourceType": "Instance",
                    "createdAt": seconds(activity.time), "location": {"availabilityZone": az, "regionName": launch.region},
                    "isTerminal": false, "operationType": "CreateInstance", "status": "Started",
                    "statusChangedAt": seconds(activity.time)}))
                .collect();
            (
                "lightsail.amazonaws.com",
                "CreateInstances",
                json!({"instanceNames": names, "availabilityZone": az, "blueprintId": "ubuntu_22_04", "bundleId": launch.machine_type}),
                json!({"operations": operations}),
            )
        }
        LaunchApi::Ec2RequestSpotInstances => {
            let requests: Vec<Value> = (0..launch.count)
                .map(|_| {
                    json!({"spotInstanceRequestId": format!("sir-{}", rand.hex(8)), "state": "open",
                    "status": {"code": "pending-evaluation"}})
                })
                .collect();
            (
                "ec2.amazonaws.com",
                "RequestSpotInstances",
                json!({"instanceCount": launch.count, "type": "one-time",
                    "launchSpecification": {"imageId": image, "instanceType": launch.machine_type,
                        "placement": {"availabilityZone": zone(launch.region, rand)}, "monitoring": {"enabled": false}}}),
                json!({"requestId": rand.uuid(), "spotInstanceRequestSet": {"items": requests}}),
            )
        }
        _ => {
            let az = zone(launch.region, rand);
            let instances: Vec<Value> = (0..launch.count)
                .map(|_| json!({"instanceId": instance_id(rand), "imageId": image,
                    "instanceState": {"code": 0, "name": "pending"}, "instanceType": launch.machine_type,
                    "placement": {"availabilityZone": az, "tenancy": "default"},
                    "tagSet": {"items": [{"key": "Name", "value": launch.name}]}}))
                .collect();
            (
                "ec2.amazonaws.com",
                "RunInstances",
                json!({"instancesSet": {"items": [{"imageId": image, "minCount": launch.count, "maxCount": launch.count}]},
                    "instanceType": launch.machine_type, "blockDeviceMapping": {}, "monitoring": {"enabled": false},
                    "disableApiTermination": false, "disableApiStop": false, "clientToken": rand.uuid(),
                    "subnetId": format!("subnet-0{}", rand.hex(16)),
                    "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [{"key": "Name", "value": launch.name}]}]}}),
                json!({"requestId": rand.uuid(), "reservationId": format!("r-0{}", rand.hex(16)), "ownerId": account,
                    "groupSet": {}, "instancesSet": {"items": instances}}),
            )
        }
    }
}

/// Request and response of ordinary calls: reads log no response; the few writes worth
/// detailing get their real shape.
fn call_shape(name: &str, activity: &Activity, scope: &Scope, rand: &mut Rand) -> (Value, Value) {
    match name {
        "TerminateInstances" | "StopInstances" | "StartInstances" => {
            let ids: Vec<String> = (0..rand.int(1, 4)).map(|_| instance_id(rand)).collect();
            let items: Vec<Value> = ids.iter().map(|id| json!({"instanceId": id})).collect();
            let states: Vec<Value> = ids
                .iter()
                .map(|id| {
                    json!({"instanceId": id, "currentState": {"code": 32, "name": "shutting-down"},
                    "previousState": {"code": 16, "name": "running"}})
                })
                .collect();
            (
                json!({"instancesSet": {"items": items}}),
                json!({"requestId": rand.uuid(), "instancesSet": {"items": states}}),
            )
        }
        "CreateAccessKey" => {
            let user = match activity.actor {
                Actor::Person(p) => scope.company.people[p].handle.clone(),
                Actor::Automation(a) => scope.presence.automations[a].name.clone(),
            };
            (
                json!({"userName": user}),
                json!({"accessKey": {"userName": user, "accessKeyId": format!("AKIA{}", rand.upper_alnum(16)),
                    "status": "Active", "createDate": seconds(activity.time)}}),
            )
        }
        "DescribeInstances" => (json!({"instancesSet": {}, "filterSet": {}}), Value::Null),
        _ => (Value::Null, Value::Null),
    }
}

/// CUR column names (legacy CUR): the ones the normalizer reads and those a reviewer expects.
const CUR_COLUMNS: &[&str] = &[
    "identity/LineItemId",
    "identity/TimeInterval",
    "bill/PayerAccountId",
    "bill/BillingPeriodStartDate",
    "bill/BillingPeriodEndDate",
    "lineItem/UsageAccountId",
    "lineItem/LineItemType",
    "lineItem/UsageStartDate",
    "lineItem/UsageEndDate",
    "lineItem/ProductCode",
    "lineItem/UsageType",
    "lineItem/UsageAmount",
    "lineItem/CurrencyCode",
    "lineItem/UnblendedCost",
    "lineItem/LineItemDescription",
    "product/ProductName",
    "product/region",
];

pub(crate) fn write_cur(
    scope: &Scope,
    account: usize,
    month: NaiveDate,
    lines: &[CostLine],
    root: &Path,
) -> Result<WriteStats, GenError> {
    let id = &scope.presence.accounts[account].id;
    let mut rand = Rand::new(scope.world.seed, &format!("cur/{id}/{month}"));
    let next_month = month
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(month);
    let mut csv = csv::Writer::from_writer(Vec::new());
    let path = root.join(format!(
        "aws/cur/{id}/{id}-cur-{}.csv.gz",
        month.format("%Y-%m")
    ));
    let csv_error = |err: csv::Error| GenError::Write {
        path: path.clone(),
        source: err.into(),
    };
    csv.write_record(CUR_COLUMNS).map_err(csv_error)?;
    let midnight = |day: NaiveDate| format!("{}T00:00:00Z", day.format("%Y-%m-%d"));
    for line in lines {
        let service = catalog::service_name(Cloud::Aws, line.spend);
        let monthly = line.line_type != "Usage";
        let (start, end) = if monthly {
            (midnight(line.day), midnight(next_month))
        } else {
            (midnight(line.day), midnight(line.day + Duration::days(1)))
        };
        let description = if monthly {
            format!("{} monthly charge", service.name)
        } else {
            format!("{} usage", service.name)
        };
        let record = [
            rand.string(b"abcdefghijklmnopqrstuvwxyz234567", 52),
            format!("{start}/{end}"),
            id.clone(),
            midnight(month),
            midnight(next_month),
            id.clone(),
            line.line_type.to_string(),
            start,
            end,
            service.code.to_string(),
            service.usage.to_string(),
            format!("{:.4}", if monthly { 1.0 } else { 24.0 }),
            scope.presence.currency.to_string(),
            format!("{:.6}", line.cost),
            description,
            service.name.to_string(),
            line.region.unwrap_or("").to_string(),
        ];
        csv.write_record(&record).map_err(csv_error)?;
    }
    let body = csv.into_inner().map_err(|err| GenError::Write {
        path: path.clone(),
        source: err.into_error(),
    })?;
    let bytes = super::write_file(&path, &body, true)?;
    Ok(WriteStats {
        files: 1,
        events: 0,
        billing_rows: lines.len() as u64,
        bytes,
    })
}
