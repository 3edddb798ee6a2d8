//! `auditsweep sweep` end to end: a hand-built month of one AWS account (nightly automation, a
//! team signing in with the odd typo, a daily bill) with one intrusion at the end: stuffing then
//! a console sign-in from a Hetzner address, a GPU burst in a region never used, and the bill
//! that follows. The report must validate against docs/report.schema.json, parse back into the
//! report types, name exactly those three incidents, and keep its ids across runs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use auditsweep::report::{Detector, Report, Severity};
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use serde_json::json;

const ACCOUNT: &str = "111122223333";
const ATTACK_DAY: u32 = 33;
const ATTACKER_IP: &str = "116.202.44.9";
const VICTIM: &str = "carol";
const AUTOMATION: &str = "arn:aws:sts::111122223333:assumed-role/ci-nightly";

fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 4, 1).unwrap() + Duration::days(n as i64 - 1)
}

fn at(n: u32, hour: u32, minute: u32) -> String {
    let t = Utc.from_utc_datetime(&day(n).and_hms_opt(hour, minute, 0).unwrap());
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn console_login(time: String, user: &str, ip: &str, success: bool) -> serde_json::Value {
    let mut record = json!({
        "eventVersion": "1.08", "eventTime": time, "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin", "awsRegion": "us-east-1", "sourceIPAddress": ip,
        "userAgent": "Mozilla/5.0", "eventType": "AwsConsoleSignIn", "recipientAccountId": ACCOUNT,
        "userIdentity": {"type": "IAMUser", "accountId": ACCOUNT, "userName": user,
                          "arn": format!("arn:aws:iam::{ACCOUNT}:user/{user}")},
        "additionalEventData": {"MFAUsed": "No"},
        "responseElements": {"ConsoleLogin": if success { "Success" } else { "Failure" }},
    });
    if !success {
        // As CloudTrail writes failed console sign-ins: the user name, no ARN.
        record["errorMessage"] = json!("Failed authentication");
        record["userIdentity"] =
            json!({"type": "IAMUser", "accountId": ACCOUNT, "accessKeyId": "", "userName": user});
    }
    record
}

fn run_instances(
    time: String,
    principal: &str,
    ip: &str,
    region: &str,
    itype: &str,
    count: u32,
) -> serde_json::Value {
    json!({
        "eventVersion": "1.08", "eventTime": time, "eventSource": "ec2.amazonaws.com",
        "eventName": "RunInstances", "awsRegion": region, "sourceIPAddress": ip,
        "userAgent": "aws-cli/2.15.0", "eventType": "AwsApiCall", "recipientAccountId": ACCOUNT,
        "userIdentity": {"type": "AssumedRole", "accountId": ACCOUNT, "arn": format!("{principal}/session-{time}")},
        "requestParameters": {"instanceType": itype, "instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": count, "maxCount": count}]}},
        "responseElements": null,
    })
}

/// Writes the world as a CloudTrail NDJSON export and a CUR CSV; returns the directory.
fn write_world(dir: &Path) -> PathBuf {
    let world = dir.join("world");
    std::fs::create_dir_all(&world).unwrap();
    let mut trail = String::new();
    let mut push = |record: serde_json::Value| writeln!(trail, "{record}").unwrap();
    let users = ["alice", "bob", VICTIM, "dave", "erin", "frank"];
    for n in 1..ATTACK_DAY {
        push(run_instances(
            at(n, 2, 0),
            AUTOMATION,
            "18.232.10.10",
            "us-east-1",
            "m5.large",
            38 + n % 5,
        ));
        if n % 4 == 0 {
            let region = ["eu-west-1", "us-west-2", "eu-central-1"][(n / 4) as usize % 3];
            push(run_instances(
                at(n, 14, 0),
                AUTOMATION,
                "18.232.10.10",
                region,
                "m5.large",
                1 + n % 2,
            ));
        }
        for (i, user) in users.iter().enumerate() {
            let ip = format!("203.0.113.{}", 10 + i);
            if (n as usize + i).is_multiple_of(7) {
                push(console_login(at(n, 9, i as u32 * 5), user, &ip, false));
            }
            push(console_login(at(n, 9, i as u32 * 5 + 1), user, &ip, true));
        }
    }
    // The intrusion: 30 guesses in ten minutes, a success, then mining in a region never used.
    for m in 0..30 {
        push(console_login(
            at(ATTACK_DAY, 3, m / 3),
            VICTIM,
            ATTACKER_IP,
            false,
        ));
    }
    push(console_login(
        at(ATTACK_DAY, 3, 11),
        VICTIM,
        ATTACKER_IP,
        true,
    ));
    push(run_instances(
        at(ATTACK_DAY, 2, 0),
        AUTOMATION,
        "18.232.10.10",
        "us-east-1",
        "m5.large",
        40,
    ));
    let attacker_role = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{VICTIM}-console");
    push(run_instances(
        at(ATTACK_DAY, 3, 20),
        &attacker_role,
        ATTACKER_IP,
        "ap-southeast-1",
        "p3.16xlarge",
        24,
    ));
    std::fs::write(world.join("cloudtrail.ndjson"), trail).unwrap();

    let mut cur = String::from("identity/LineItemId,lineItem/UsageAccountId,lineItem/UsageStartDate,lineItem/ProductCode,product/ProductName,lineItem/UnblendedCost,lineItem/CurrencyCode\n");
    for n in 1..=ATTACK_DAY + 1 {
        let weekend = [6, 7].contains(&day(n).format("%u").to_string().parse::<u32>().unwrap());
        let mut ec2 = if weekend { 60.0 } else { 100.0 } + (n % 3) as f64;
        if n >= ATTACK_DAY {
            ec2 += 24.0 * 24.48 * if n == ATTACK_DAY { 0.8 } else { 1.0 };
        }
        writeln!(
            cur,
            "li-{n}-ec2,{ACCOUNT},{}T00:00:00Z,AmazonEC2,Amazon Elastic Compute Cloud,{ec2:.2},USD",
            day(n)
        )
        .unwrap();
        writeln!(
            cur,
            "li-{n}-s3,{ACCOUNT},{}T00:00:00Z,AmazonS3,Amazon Simple Storage Service,0.02,USD",
            day(n)
        )
        .unwrap();
    }
    std::fs::write(world.join("cur.csv"), cur).unwrap();
    world
}

fn sweep(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditsweep"))
        .arg("sweep")
        .args(args)
        .args([
            "--ip-ranges",
            concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/ip-ranges"),
        ])
        .output()
        .expect("the binary runs")
}

fn report_of(output: &Output) -> (serde_json::Value, Report) {
    assert!(output.status.code().is_some(), "{output:?}");
    let value: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("stdout is the JSON report");
    let report: Report =
        serde_json::from_value(value.clone()).expect("the report parses into its types");
    (value, report)
}

fn validate(value: &serde_json::Value) {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../docs/report.schema.json"))
            .expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "report does not match docs/report.schema.json: {errors:#?}"
    );
}

#[test]
fn the_intrusion_is_found_once_per_detector_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let world = write_world(dir.path());
    let output = sweep(&[world.to_str().unwrap()]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (value, report) = report_of(&output);
    validate(&value);

    let titles: Vec<_> = report
        .findings
        .iter()
        .map(|f| (&f.detector, &f.title))
        .collect();
    let of = |d: Detector| {
        report
            .findings
            .iter()
            .filter(move |f| f.detector == d)
            .collect::<Vec<_>>()
    };
    let stuffing = of(Detector::CredentialStuffing);
    assert_eq!(stuffing.len(), 1, "{titles:#?}");
    assert!(
        stuffing[0]
            .entities
            .principals
            .iter()
            .any(|p| p.ends_with(VICTIM)),
        "{:?}",
        stuffing[0].entities
    );
    assert_eq!(stuffing[0].entities.src_ips, vec![ATTACKER_IP]);
    assert!(stuffing[0].escalate);
    assert!(
        stuffing[0]
            .baseline
            .signals
            .iter()
            .any(|s| s == "hosting_source"),
        "{:?}",
        stuffing[0].baseline
    );
    assert_eq!(stuffing[0].first_seen.date_naive(), day(ATTACK_DAY));

    let provisioning = of(Detector::Provisioning);
    assert_eq!(provisioning.len(), 1, "{titles:#?}");
    let mining = provisioning[0];
    assert_eq!(mining.entities.regions, vec!["ap-southeast-1"]);
    assert_eq!(mining.baseline.observed, 24.0);
    assert!(mining.severity >= Severity::High);
    assert!(mining.escalate);
    assert_eq!(mining.tenant.as_deref(), Some(ACCOUNT));
    assert!(mining
        .evidence
        .events
        .iter()
        .all(|e| e.operation == "RunInstances"));

    let billing = of(Detector::BillingJump);
    assert!(!billing.is_empty(), "{titles:#?}");
    for jump in &billing {
        assert_eq!(jump.entities.services, vec!["Amazon Elastic Compute Cloud"]);
        assert!(jump.first_seen.date_naive() >= day(ATTACK_DAY));
    }
    assert!(
        billing.iter().any(|j| j.related.contains(&mining.id)),
        "the jump on the attack day is linked to the provisioning finding"
    );
    assert!(mining
        .related
        .iter()
        .any(|id| billing.iter().any(|j| &j.id == id)));
    assert_eq!(report.inputs["skipped"], 0);
    assert_eq!(report.coverage.tests.len(), 3);
}

#[test]
fn reruns_keep_finding_ids_and_windows_and_tenants_filter() {
    let dir = tempfile::tempdir().unwrap();
    let world = write_world(dir.path());
    let path = world.to_str().unwrap();
    let (_, first) = report_of(&sweep(&[path]));
    let (_, second) = report_of(&sweep(&[path]));
    let ids = |r: &Report| r.findings.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
    assert!(!ids(&first).is_empty());
    assert_eq!(ids(&first), ids(&second), "a re-run reports the same ids");

    // A window that ends before the intrusion sees nothing, yet uses the same data as history.
    let before = day(ATTACK_DAY - 1).to_string();
    let (_, quiet) = report_of(&sweep(&[path, "--until", &before]));
    assert!(
        quiet.findings.is_empty(),
        "{:#?}",
        quiet.findings.iter().map(|f| &f.title).collect::<Vec<_>>()
    );
    // A window of just the attack day finds the same incidents with the same ids.
    let (_, last_day) = report_of(&sweep(&[path, "--since", &day(ATTACK_DAY).to_string()]));
    for finding in &first.findings {
        assert!(
            ids(&last_day).contains(&finding.id),
            "{} missing with --since",
            finding.title
        );
    }

    // A bare --until date includes that day.
    let (_, through_attack_day) =
        report_of(&sweep(&[path, "--until", &day(ATTACK_DAY).to_string()]));
    assert!(through_attack_day
        .findings
        .iter()
        .any(|f| f.detector == Detector::Provisioning));
    // A window after the data is empty, not an error.
    let after = sweep(&[path, "--since", "2030-01-01"]);
    assert_eq!(
        after.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
    assert!(report_of(&after).1.findings.is_empty());

    // A tenant the inputs do not hold is an error, not an empty report that looks all clear.
    let other = sweep(&[path, "--tenant", "999999999999"]);
    assert_eq!(other.status.code(), Some(2));
    assert!(other.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&other.stderr).contains(&format!("seen: {ACCOUNT}")),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );
    let (_, mine) = report_of(&sweep(&[path, "--tenant", ACCOUNT]));
    assert_eq!(ids(&mine), ids(&first));
}

#[test]
fn fail_on_allow_lists_and_out_file() {
    let dir = tempfile::tempdir().unwrap();
    let world = write_world(dir.path());
    let path = world.to_str().unwrap();
    let failing = sweep(&[path, "--fail-on", "high"]);
    assert_eq!(
        failing.status.code(),
        Some(1),
        "a high finding fails the pipeline"
    );

    let config = dir.path().join("auditsweep.toml");
    std::fs::write(
        &config,
        format!("[[allow]]\ndetector = \"provisioning\"\nprincipal = \"arn:aws:sts::{ACCOUNT}:assumed-role/{VICTIM}-console/*\"\nreason = \"approved GPU experiment\"\n"),
    )
    .unwrap();
    let out = dir.path().join("report.json");
    let allowed = sweep(&[
        path,
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(allowed.status.code(), Some(0));
    assert!(allowed.stdout.is_empty(), "with --out, stdout stays empty");
    let stderr = String::from_utf8_lossy(&allowed.stderr);
    assert!(
        stderr.contains("allowed by config (approved GPU experiment): 1"),
        "{stderr}"
    );
    let report: Report = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert!(report
        .findings
        .iter()
        .all(|f| f.detector != Detector::Provisioning));
    assert!(report
        .findings
        .iter()
        .any(|f| f.detector == Detector::CredentialStuffing));

    std::fs::write(
        &config,
        "[sweep.error_budget]\nfalse_alarms_per_tenant_month = -1.0\n",
    )
    .unwrap();
    let bad = sweep(&[path, "--config", config.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr)
        .contains("sweep.error_budget.false_alarms_per_tenant_month"));
    let missing = sweep(&["/nonexistent/input"]);
    assert_eq!(missing.status.code(), Some(2));
}

/// The report is valid against the schema whatever the input (an infinite or NaN number would
/// be written as `null` and fail it): on the demo world, on the month above with hostile rows
/// in it, on a CUR file whose one bad row is dated 9999, and on nothing at all.
#[test]
fn the_report_is_valid_against_the_schema_on_the_demo_hostile_rows_and_no_data() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../docs/report.schema.json")).unwrap();
    assert_eq!(
        schema["$defs"]["coverage"]["properties"]["data_gaps"]["maxItems"],
        auditsweep::report::MAX_DATA_GAPS,
        "the schema states the report's bound on gaps"
    );
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    let clouds = ["aws", "azure", "gcp"].map(|cloud| demo.join(cloud));
    let clouds: Vec<&str> = clouds.iter().map(|p| p.to_str().unwrap()).collect();
    let output = sweep(&clouds);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let (value, demo_report) = report_of(&output);
    validate(&value);
    assert!(!demo_report.findings.is_empty());

    // The month with a cost of 1e308, a NaN cost, a row dated 9999 and an event of 1970: each
    // is skipped as a bad field, and the findings are those of the clean month.
    let dir = tempfile::tempdir().unwrap();
    let world = write_world(dir.path());
    let (_, clean) = report_of(&sweep(&[world.to_str().unwrap()]));
    let mut cur = std::fs::read_to_string(world.join("cur.csv")).unwrap();
    for (date, cost) in [
        (day(10).to_string(), "1e308"),
        (day(11).to_string(), "NaN"),
        ("9999-04-10".to_string(), "100.00"),
    ] {
        writeln!(
            cur,
            "li-bad,{ACCOUNT},{date}T00:00:00Z,AmazonEC2,Amazon Elastic Compute Cloud,{cost},USD"
        )
        .unwrap();
    }
    std::fs::write(world.join("cur.csv"), cur).unwrap();
    let old = run_instances(
        "1970-01-01T00:00:00Z".into(),
        AUTOMATION,
        "18.232.10.10",
        "us-east-1",
        "m5.large",
        1,
    );
    std::fs::write(world.join("old.ndjson"), format!("{old}\n")).unwrap();
    let output = sweep(&[world.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let (value, hostile) = report_of(&output);
    validate(&value);
    assert_eq!(hostile.inputs["skipped"], 4);
    assert_eq!(hostile.inputs["skipped_by_reason"]["bad_field"], 4);
    let reasons: Vec<&str> = hostile.inputs["skip_examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|skip| skip["error"].as_str().unwrap())
        .collect();
    for field in [
        "`lineItem/UnblendedCost` has an unusable value \"1e308\"",
        "`lineItem/UnblendedCost` has an unusable value \"NaN\"",
        "`lineItem/UsageStartDate` has an unusable value \"9999-04-10T00:00:00Z\"",
        "`eventTime` has an unusable value \"1970-01-01T00:00:00Z\"",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(field)),
            "{field}: {reasons:#?}"
        );
    }
    assert_eq!(hostile.window, clean.window);
    let ids = |r: &Report| r.findings.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&hostile), ids(&clean));
    assert!(hostile.coverage.data_gaps.is_empty());

    // One row dated 9999 in a CUR file: a small report, no gap running to the year 9999.
    let broken = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/broken");
    let output = sweep(&[broken.join("cur-year-9999.csv").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(output.stdout.len() < 4096, "{} bytes", output.stdout.len());
    let (value, report) = report_of(&output);
    validate(&value);
    assert_eq!(report.window.end.date_naive().to_string(), "2024-03-05");
    assert!(report.coverage.data_gaps.is_empty());
    assert_eq!(report.inputs["skipped_by_reason"]["bad_field"], 1);

    // Nothing to read: an empty file, and an empty directory.
    let empty_dir = tempfile::tempdir().unwrap();
    for input in [broken.join("empty.json"), empty_dir.path().to_path_buf()] {
        let output = sweep(&[input.to_str().unwrap()]);
        let (value, report) = report_of(&output);
        validate(&value);
        assert!(report.findings.is_empty());
        assert_eq!(report.inputs["records_read"], 0);
    }
}
