//! Writers of the providers' native formats, one module per cloud.
//!
//! A tenant-cloud's day is rendered record by record into in-memory buckets, one per output
//! file (a CloudTrail file per account, region and hour; an Activity Log page per subscription
//! and day; a GCS sink object per project and hour...), then each bucket is sorted by time and
//! written once. Memory holds one tenant-cloud's day, never the world.
//!
//! Record ids (event ids, request ids, instance ids) come from a random stream named after the
//! tenant-cloud and day, so they are as deterministic as everything else.

pub(crate) mod aws;
pub(crate) mod azure;
pub(crate) mod gcp;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use flate2::write::GzEncoder;
use flate2::Compression;

use super::activity::{Action, Activity, CostLine};
use super::catalog::Cloud;
use super::random::Rand;
use super::world::{Company, Presence, World};
use super::GenError;

/// How a file holds its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// CloudTrail's `{"Records":[...]}`, gzipped.
    CloudTrail,
    /// Azure REST and Graph pages: `{"value":[...]}` with an optional `@odata.context` first.
    Page(Option<&'static str>),
    /// One JSON value per line (GCS sinks of Cloud Logging).
    Lines,
}

struct Bucket {
    path: PathBuf,
    layout: Layout,
    records: Vec<(DateTime<Utc>, u32, String)>,
}

/// The files of one tenant-cloud's day, filled record by record.
pub(crate) struct DayFiles {
    /// Keyed by a short name of the file (cheaper to compare than paths); the path is computed
    /// once, when the file's first record arrives.
    buckets: BTreeMap<String, Bucket>,
    next: u32,
}

/// Counts of what was written.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriteStats {
    pub files: u64,
    pub events: u64,
    pub billing_rows: u64,
    pub bytes: u64,
}

impl WriteStats {
    pub fn add(&mut self, other: WriteStats) {
        self.files += other.files;
        self.events += other.events;
        self.billing_rows += other.billing_rows;
        self.bytes += other.bytes;
    }
}

impl DayFiles {
    pub fn new() -> DayFiles {
        DayFiles {
            buckets: BTreeMap::new(),
            next: 0,
        }
    }

    /// Adds one record to the file known as `key`, whose path (relative to the output
    /// directory) `path` makes when the file is new.
    pub fn add(
        &mut self,
        key: String,
        path: impl FnOnce() -> PathBuf,
        layout: Layout,
        time: DateTime<Utc>,
        record: &serde_json::Value,
    ) {
        let text = record.to_string();
        self.next += 1;
        self.buckets
            .entry(key)
            .or_insert_with(|| Bucket {
                path: path(),
                layout,
                records: Vec::new(),
            })
            .records
            .push((time, self.next, text));
    }

    /// Writes every file, records in time order.
    pub fn write(self, root: &Path) -> Result<WriteStats, GenError> {
        let mut stats = WriteStats::default();
        for (_, mut bucket) in self.buckets {
            bucket
                .records
                .sort_by_key(|(time, order, _)| (*time, *order));
            let path = root.join(&bucket.path);
            let mut body = Vec::with_capacity(
                bucket.records.iter().map(|r| r.2.len() + 1).sum::<usize>() + 64,
            );
            match bucket.layout {
                Layout::CloudTrail => {
                    body.extend_from_slice(b"{\"Records\":[");
                    join(&mut body, &bucket.records, b",");
                    body.extend_from_slice(b"]}");
                }
                Layout::Page(context) => {
                    body.extend_from_slice(b"{");
                    if let Some(context) = context {
                        body.extend_from_slice(
                            format!("\"@odata.context\":\"{context}\",").as_bytes(),
                        );
                    }
                    body.extend_from_slice(b"\"value\":[");
                    join(&mut body, &bucket.records, b",");
                    body.extend_from_slice(b"]}");
                }
                Layout::Lines => {
                    for (_, _, record) in &bucket.records {
                        body.extend_from_slice(record.as_bytes());
                        body.push(b'\n');
                    }
                }
            }
            let gzip = bucket.layout == Layout::CloudTrail;
            stats.bytes += write_file(&path, &body, gzip)?;
            stats.files += 1;
            stats.events += bucket.records.len() as u64;
        }
        Ok(stats)
    }
}

fn join(body: &mut Vec<u8>, records: &[(DateTime<Utc>, u32, String)], separator: &[u8]) {
    for (index, (_, _, record)) in records.iter().enumerate() {
        if index > 0 {
            body.extend_from_slice(separator);
        }
        body.extend_from_slice(record.as_bytes());
    }
}

/// Writes a whole file (creating its directory); returns the bytes written.
pub(crate) fn write_file(path: &Path, body: &[u8], gzip: bool) -> Result<u64, GenError> {
    let io = |source: io::Error| GenError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io)?;
    }
    let file = File::create(path).map_err(io)?;
    let mut out = BufWriter::new(file);
    if gzip {
        // flate2 writes a zero mtime and no file name: the bytes depend on the content only.
        let mut encoder = GzEncoder::new(out, Compression::fast());
        encoder.write_all(body).map_err(io)?;
        out = encoder.finish().map_err(io)?;
    } else {
        out.write_all(body).map_err(io)?;
    }
    out.flush().map_err(io)?;
    let file = out.into_inner().map_err(|err| io(err.into_error()))?;
    Ok(file.metadata().map_err(io)?.len())
}

/// What a writer needs to know about the tenant-cloud it writes for.
pub(crate) struct Scope<'w> {
    pub world: &'w World,
    pub company: &'w Company,
    pub presence: &'w Presence,
}

/// Renders one activity into the day's files.
pub(crate) fn render(scope: &Scope, activity: &Activity, rand: &mut Rand, files: &mut DayFiles) {
    match scope.presence.cloud {
        Cloud::Aws => aws::render(scope, activity, rand, files),
        Cloud::Azure => azure::render(scope, activity, rand, files),
        Cloud::Gcp => gcp::render(scope, activity, rand, files),
    }
}

/// Writes the billing export of one account and month.
pub(crate) fn write_billing(
    scope: &Scope,
    account: usize,
    month: NaiveDate,
    lines: &[CostLine],
    root: &Path,
) -> Result<WriteStats, GenError> {
    match scope.presence.cloud {
        Cloud::Aws => aws::write_cur(scope, account, month, lines, root),
        Cloud::Azure => azure::write_cost(scope, account, month, lines, root),
        Cloud::Gcp => gcp::write_billing(scope, account, month, lines, root),
    }
}

/// The principal the normalizer will report for an activity's record (the caller of an API
/// call, the user of a sign-in), or `None` when the record names no one.
pub(crate) fn logged_principal(
    world: &World,
    company: &Company,
    presence: &Presence,
    activity: &Activity,
) -> Option<String> {
    let scope = Scope {
        world,
        company,
        presence,
    };
    match presence.cloud {
        Cloud::Aws => aws::logged_principal(&scope, activity),
        Cloud::Azure => azure::logged_principal(&scope, activity),
        Cloud::Gcp => gcp::logged_principal(&scope, activity),
    }
}

/// The latest time a record caused by `activity` can carry: the activity's own time, or the
/// outcome record of an operation that logs one later. Labels end there.
pub(crate) fn last_record_bound(cloud: Cloud, activity: &Activity) -> DateTime<Utc> {
    let millis = match (cloud, &activity.action) {
        (Cloud::Azure, Action::Launch(_)) => azure::LAUNCH_MILLIS.1,
        (Cloud::Azure, Action::Call(_)) => azure::WRITE_MILLIS.1.max(azure::FAILURE_MILLIS.1),
        (Cloud::Gcp, Action::Launch(_) | Action::Call(_)) => gcp::OPERATION_MILLIS.1,
        _ => 0,
    };
    later(activity.time, Duration::milliseconds(i64::from(millis)))
}

/// `2025-03-10T08:12:33Z`
pub(crate) fn seconds(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `2025-03-10T08:12:33.123456Z`
pub(crate) fn micros(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A moment `delay` after `time`, kept inside the same UTC day so that the follow-up record of
/// an operation lands in the same day's files.
pub(crate) fn later(time: DateTime<Utc>, delay: Duration) -> DateTime<Utc> {
    let end_of_day = time
        .date_naive()
        .and_hms_milli_opt(23, 59, 59, 900)
        .map(|t| t.and_utc())
        .unwrap_or(time);
    (time + delay).min(end_of_day).max(time)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use serde_json::Value;

    use super::*;
    use crate::activity::{Action, Actor, Launch, LaunchApi, Origin, SignIn, SignInResult};
    use crate::world::World;

    fn world() -> World {
        World::build(3, NaiveDate::from_ymd_opt(2025, 3, 3).unwrap(), 14, 6, 1.0)
    }

    /// Renders one activity for the first tenant-cloud on `cloud` and returns every record
    /// written, with the relative path of its file.
    fn rendered(world: &World, cloud: Cloud, action: Action) -> Vec<(String, Value)> {
        let company = world
            .companies
            .iter()
            .find(|c| c.presences.iter().any(|p| p.cloud == cloud))
            .unwrap();
        let presence = company.presences.iter().find(|p| p.cloud == cloud).unwrap();
        let scope = Scope {
            world,
            company,
            presence,
        };
        let activity = Activity {
            time: world.day_start(2) + Duration::hours(10),
            account: 0,
            actor: Actor::Person(presence.users[0]),
            origin: Origin::Address("134.209.20.7".parse().unwrap()),
            user_agent: "test-agent",
            action,
        };
        let mut files = DayFiles::new();
        render(&scope, &activity, &mut Rand::new(1, "test"), &mut files);
        files
            .buckets
            .into_values()
            .flat_map(|bucket| {
                let path = bucket.path.display().to_string();
                bucket
                    .records
                    .into_iter()
                    .map(move |(_, _, text)| (path.clone(), serde_json::from_str(&text).unwrap()))
            })
            .collect()
    }

    fn sign_in(result: SignInResult) -> Action {
        Action::SignIn(SignIn {
            result,
            city: "Amsterdam",
            country: "NL",
            mfa: false,
            client: "Browser",
        })
    }

    fn launch(
        api: LaunchApi,
        region: &'static str,
        machine_type: &'static str,
        count: u32,
    ) -> Action {
        Action::Launch(Launch {
            api,
            region,
            machine_type,
            count,
            name: "miner".into(),
            failure: None,
        })
    }

    #[test]
    fn cloudtrail_failed_console_logins_name_the_user_but_carry_no_arn() {
        let world = world();
        let records = rendered(&world, Cloud::Aws, sign_in(SignInResult::WrongPassword));
        let (path, record) = &records[0];
        assert!(
            path.starts_with("aws/AWSLogs/") && path.contains("/CloudTrail/us-east-1/2025/03/05/"),
            "{path}"
        );
        assert!(path.ends_with(".json.gz"));
        assert_eq!(record["eventName"], "ConsoleLogin");
        assert_eq!(record["responseElements"]["ConsoleLogin"], "Failure");
        assert_eq!(record["errorMessage"], "Failed authentication");
        assert!(record["userIdentity"].get("arn").is_none());
        assert!(record["userIdentity"]["userName"].is_string());
        let success = rendered(&world, Cloud::Aws, sign_in(SignInResult::Success));
        assert!(success[0].1["userIdentity"]["arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:iam::"));
        assert_eq!(success[0].1["additionalEventData"]["MFAUsed"], "No");
    }

    #[test]
    fn cloudtrail_run_instances_lists_every_instance() {
        let records = rendered(
            &world(),
            Cloud::Aws,
            launch(LaunchApi::Ec2RunInstances, "sa-east-1", "p3.16xlarge", 3),
        );
        let record = &records[0].1;
        assert!(records[0].0.contains("/CloudTrail/sa-east-1/"));
        assert_eq!(record["requestParameters"]["instanceType"], "p3.16xlarge");
        assert_eq!(
            record["requestParameters"]["instancesSet"]["items"][0]["maxCount"],
            3
        );
        assert_eq!(
            record["responseElements"]["instancesSet"]["items"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        assert_eq!(record["sourceIPAddress"], "134.209.20.7");
    }

    #[test]
    fn azure_scale_set_writes_log_started_then_succeeded() {
        let records = rendered(
            &world(),
            Cloud::Azure,
            launch(
                LaunchApi::AzureScaleSet,
                "brazilsouth",
                "Standard_NC6s_v3",
                12,
            ),
        );
        let statuses: Vec<&str> = records
            .iter()
            .map(|(_, r)| r["status"]["value"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["Started", "Succeeded"]);
        let started = &records[0].1;
        assert_eq!(
            started["operationName"]["value"],
            "Microsoft.Compute/virtualMachineScaleSets/write"
        );
        let body: Value =
            serde_json::from_str(started["properties"]["requestbody"].as_str().unwrap()).unwrap();
        assert_eq!(body["location"], "brazilsouth");
        assert_eq!(body["sku"]["capacity"], 12);
        assert_eq!(started["httpRequest"]["clientIpAddress"], "134.209.20.7");
        assert!(records[0].0.contains("/activity/"));
    }

    #[test]
    fn entra_sign_ins_carry_the_error_code_and_the_tenant() {
        let records = rendered(
            &world(),
            Cloud::Azure,
            sign_in(SignInResult::PasswordExpired),
        );
        let (path, record) = &records[0];
        assert!(path.contains("/signins/2025-03-05.json"), "{path}");
        assert_eq!(record["status"]["errorCode"], 50055);
        assert_eq!(record["resourceTenantId"], record["homeTenantId"]);
        assert_eq!(
            record["authenticationRequirement"],
            "singleFactorAuthentication"
        );
        assert_eq!(record["location"]["countryOrRegion"], "NL");
    }

    #[test]
    fn gcp_inserts_log_a_first_and_a_last_entry_of_one_operation() {
        let records = rendered(
            &world(),
            Cloud::Gcp,
            launch(LaunchApi::GceInsert, "asia-south1-a", "c2-standard-16", 1),
        );
        assert_eq!(records.len(), 2);
        let (first, last) = (&records[0].1, &records[1].1);
        assert_eq!(first["operation"]["first"], true);
        assert_eq!(last["operation"]["last"], true);
        assert_eq!(first["operation"]["id"], last["operation"]["id"]);
        assert_eq!(
            first["protoPayload"]["request"]["machineType"],
            "zones/asia-south1-a/machineTypes/c2-standard-16"
        );
        assert_eq!(first["resource"]["labels"]["zone"], "asia-south1-a");
        assert!(records[0]
            .0
            .contains("/cloudaudit.googleapis.com/activity/2025/03/05/10:00:00_10:59:59_S0.json"));
    }

    #[test]
    fn workspace_failures_say_why() {
        let records = rendered(&world(), Cloud::Gcp, sign_in(SignInResult::WrongPassword));
        let (path, record) = &records[0];
        assert!(
            path.starts_with("gcp/workspace/") && path.ends_with("/login/2025/03/05.json"),
            "{path}"
        );
        assert!(record["logName"]
            .as_str()
            .unwrap()
            .starts_with("organizations/"));
        assert_eq!(
            record["protoPayload"]["methodName"],
            "google.login.LoginService.loginFailure"
        );
        let parameters = record["protoPayload"]["metadata"]["event"][0]["parameter"]
            .as_array()
            .unwrap();
        assert!(parameters
            .iter()
            .any(|p| p["name"] == "login_failure_type"
                && p["value"] == "login_failure_invalid_password"));
    }

    #[test]
    fn follow_up_records_stay_in_their_day() {
        let late = NaiveDate::from_ymd_opt(2025, 3, 3)
            .unwrap()
            .and_hms_opt(23, 59, 30)
            .unwrap()
            .and_utc();
        assert_eq!(
            later(late, Duration::minutes(5)).date_naive(),
            late.date_naive()
        );
        assert!(later(late, Duration::seconds(10)) > late);
    }
}
