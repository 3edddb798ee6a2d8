//! The AWS formats, fixture by fixture: every field of every record, and the ledger.
//!
//! Fixtures live in `fixtures/aws/` and were written from AWS's public documentation (see the
//! `## AWS` section of `docs/formats.md`). Each test compares whole normalized records, so a
//! change to any field of any record fails with a diff that names it.

use std::path::{Path, PathBuf};

use auditsweep::normalize::{normalize_paths, InputSummary, RecordError};
use auditsweep::schema::{
    BillingCategory, BillingRecord, Category, Event, Outcome, Provider, Record, Resource,
    SourceRef, OCSF_API_ACTIVITY, OCSF_AUTHENTICATION,
};
use chrono::{DateTime, Utc};

const ACCOUNT: &str = "111122223333";
const SANDBOX: &str = "444455556666";
const TRAIL_FILE: &str = "cloudtrail/AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/05/111122223333_CloudTrail_us-east-1_20240305T0100Z_abcd1234.json.gz";
const ORG_TRAIL_FILE: &str = "cloudtrail-org/AWSLogs/o-exampleorgid/111122223333/CloudTrail/eu-west-1/2024/03/05/111122223333_CloudTrail_eu-west-1_20240305T0210Z_efgh5678.json.gz";
const DIGEST_FILE: &str = "cloudtrail/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/05/111122223333_CloudTrail-Digest_us-east-1_management-events_us-east-1_20240305T020000Z.json.gz";

fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/aws")
        .join(relative)
}

fn normalize(path: &Path) -> (Vec<Record>, InputSummary) {
    let mut records = Vec::new();
    let summary = normalize_paths(&[path.to_path_buf()], &mut |record| {
        records.push(without_event_id(record))
    });
    (records, summary)
}

/// Normalizes one fixture file and checks that every record in it made it through.
fn normalize_clean(relative: &str) -> (PathBuf, Vec<Record>) {
    let path = fixture(relative);
    let (records, summary) = normalize(&path);
    assert_eq!(summary.files, 1, "{relative}");
    assert!(summary.unreadable.is_empty(), "{:?}", summary.unreadable);
    assert_eq!(
        summary.skipped, 0,
        "{relative}: {:?}",
        summary.skip_examples
    );
    assert_eq!(summary.records_read, records.len() as u64);
    assert!(summary.reconciles(), "{summary:?}");
    (path, records)
}

fn events(records: Vec<Record>) -> Vec<Event> {
    records
        .into_iter()
        .map(|record| match record {
            Record::Event(event) => *event,
            other => panic!("expected an event, got {other:?}"),
        })
        .collect()
}

fn billing(records: Vec<Record>) -> Vec<BillingRecord> {
    records
        .into_iter()
        .map(|record| match record {
            Record::Billing(row) => row,
            other => panic!("expected a billing row, got {other:?}"),
        })
        .collect()
}

fn time(raw: &str) -> DateTime<Utc> {
    raw.parse().expect("test timestamps are RFC 3339")
}

fn source(path: &Path, record: u64) -> SourceRef {
    SourceRef {
        file: path.display().to_string().into(),
        record,
    }
}

fn some(value: &str) -> Option<String> {
    Some(value.to_string())
}

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0";
const BOTO: &str = "Boto3/1.34.50 md/Botocore#1.34.50 ua/2.0 os/linux#6.5.0 lang/python#3.11.8";
const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
const DEPLOY_ROLE: &str = "arn:aws:sts::111122223333:assumed-role/DeployRole/alice";
const INTERN: &str = "arn:aws:iam::111122223333:user/intern";

fn cli(command: &str) -> Option<String> {
    some(&format!(
        "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off command/{command}"
    ))
}

/// The fields every event of one account's trail in us-east-1 shares.
fn trail_event(path: &Path, record: u64, at: &str, category: Category, operation: &str) -> Event {
    Event {
        event_id: None,
        time: time(at),
        provider: Provider::Aws,
        tenant: some(ACCOUNT),
        account: some(ACCOUNT),
        region: some("us-east-1"),
        category,
        class_uid: category.class_uid(),
        operation: operation.to_string(),
        principal: None,
        src_ip: None,
        user_agent: None,
        outcome: Some(Outcome::Success),
        reason: None,
        resource: Resource::default(),
        source: source(path, record),
    }
}

#[test]
fn cloudtrail_s3_log_file() {
    let (path, records) = normalize_clean(TRAIL_FILE);
    let got = events(records);
    let p = path.as_path();
    let want =
        vec![
        Event {
            principal: some(ALICE),
            src_ip: some("198.51.100.7"),
            user_agent: some(FIREFOX),
            resource: Resource {
                kind: some("aws:console"),
                id: some("https://console.aws.amazon.com/console/home?region=us-east-1"),
                mfa: Some(true),
                ..Resource::default()
            },
            ..trail_event(p, 1, "2024-03-05T00:12:05Z", Category::Login, "ConsoleLogin")
        },
        Event {
            // A failed sign-in carries no ARN: the typed user name is all there is.
            principal: some("bob"),
            src_ip: some("203.0.113.50"),
            user_agent: some(FIREFOX),
            outcome: Some(Outcome::Failure),
            reason: some("Failed authentication"),
            resource: Resource {
                kind: some("aws:console"),
                id: some("https://console.aws.amazon.com/console/home?region=us-east-1"),
                mfa: Some(false),
                ..Resource::default()
            },
            ..trail_event(p, 2, "2024-03-05T00:20:41Z", Category::Login, "ConsoleLogin")
        },
        Event {
            principal: some(ALICE),
            src_ip: some("198.51.100.7"),
            user_agent: cli("sts.assume-role"),
            resource: Resource {
                kind: some("AWS::IAM::Role"),
                id: some("arn:aws:iam::111122223333:role/DeployRole"),
                ..Resource::default()
            },
            ..trail_event(p, 3, "2024-03-05T00:25:10Z", Category::Api, "AssumeRole")
        },
        Event {
            // Asked for up to 3; the response lists the 2 that launched.
            principal: some(DEPLOY_ROLE),
            src_ip: some("198.51.100.7"),
            user_agent: cli("ec2.run-instances"),
            resource: Resource {
                kind: some("ec2:instance"),
                id: some("i-0a1b2c3d4e5f60001"),
                instance_type: some("c5.xlarge"),
                instance_count: Some(2),
                ..Resource::default()
            },
            ..trail_event(p, 4, "2024-03-05T00:31:02Z", Category::Provision, "RunInstances")
        },
        Event {
            // Denied: nothing launched, so the count is what was asked for (maxCount).
            principal: some(INTERN),
            src_ip: some("203.0.113.50"),
            user_agent: some(BOTO),
            outcome: Some(Outcome::Failure),
            reason: some(
                "Client.UnauthorizedOperation: You are not authorized to perform this operation. \
                 Encoded authorization failure message: EXAMPLE-ENCODED-MESSAGE",
            ),
            resource: Resource {
                kind: some("ec2:instance"),
                instance_type: some("p3.16xlarge"),
                instance_count: Some(8),
                ..Resource::default()
            },
            ..trail_event(p, 5, "2024-03-05T00:33:47Z", Category::Provision, "RunInstances")
        },
        Event {
            principal: some(DEPLOY_ROLE),
            src_ip: some("198.51.100.7"),
            user_agent: cli("lightsail.create-instances"),
            resource: Resource {
                kind: some("lightsail:instance"),
                id: some("web-1"),
                instance_type: some("large_3_0"),
                instance_count: Some(3),
                ..Resource::default()
            },
            ..trail_event(p, 6, "2024-03-05T00:40:00Z", Category::Provision, "CreateInstances")
        },
        Event {
            principal: some(DEPLOY_ROLE),
            src_ip: some("198.51.100.7"),
            user_agent: cli("ec2.create-fleet"),
            resource: Resource {
                kind: some("ec2:fleet"),
                id: some("i-0f1e2d3c4b5a60001"),
                instance_type: some("g4dn.xlarge"),
                instance_count: Some(4),
                ..Resource::default()
            },
            ..trail_event(p, 7, "2024-03-05T00:45:30Z", Category::Provision, "CreateFleet")
        },
        Event {
            principal: some(DEPLOY_ROLE),
            src_ip: some("198.51.100.7"),
            user_agent: cli("ec2.request-spot-instances"),
            resource: Resource {
                kind: some("ec2:instance"),
                id: some("sir-example1"),
                instance_type: some("m5.large"),
                instance_count: Some(3),
                ..Resource::default()
            },
            ..trail_event(
                p,
                8,
                "2024-03-05T00:50:12Z",
                Category::Provision,
                "RequestSpotInstances",
            )
        },
        Event {
            // A service calling on an instance's behalf: a name, not an address.
            principal: some("ec2.amazonaws.com"),
            src_ip: None,
            user_agent: some("ec2.amazonaws.com"),
            resource: Resource {
                kind: some("AWS::IAM::Role"),
                id: some("arn:aws:iam::111122223333:role/WebServerRole"),
                ..Resource::default()
            },
            ..trail_event(p, 9, "2024-03-05T00:52:40Z", Category::Api, "AssumeRole")
        },
    ];
    assert_eq!(got, want);
    assert!(got
        .iter()
        .all(|event| event.class_uid == event.category.class_uid()));
    assert_eq!(got[0].class_uid, OCSF_AUTHENTICATION);
    assert_eq!(got[3].class_uid, OCSF_API_ACTIVITY);
}

#[test]
fn organization_trail_tenant_is_the_organization() {
    let (path, records) = normalize_clean(ORG_TRAIL_FILE);
    let got = events(records);
    let principal =
        "arn:aws:sts::111122223333:assumed-role/OrganizationAccountAccessRole/ci-runner";
    let org_event = |record, at, category, operation: &str| Event {
        tenant: some("o-exampleorgid"),
        region: some("eu-west-1"),
        principal: some(principal),
        src_ip: some("203.0.113.77"),
        user_agent: some(BOTO),
        ..trail_event(&path, record, at, category, operation)
    };
    let want = vec![
        org_event(
            1,
            "2024-03-05T02:03:09Z",
            Category::Api,
            "GetCallerIdentity",
        ),
        Event {
            // Launched from a launch template: the request has no type, the response does.
            resource: Resource {
                kind: some("ec2:instance"),
                id: some("i-0feedbeef00000001"),
                instance_type: some("t3.medium"),
                instance_count: Some(1),
                ..Resource::default()
            },
            ..org_event(
                2,
                "2024-03-05T02:04:55Z",
                Category::Provision,
                "RunInstances",
            )
        },
    ];
    assert_eq!(got, want);
}

#[test]
fn cloudtrail_digest_files_are_skipped_as_not_audit_data() {
    let path = fixture(DIGEST_FILE);
    let (records, summary) = normalize(&path);
    assert!(records.is_empty());
    assert_eq!(summary.files, 1);
    assert_eq!(summary.records_read, 1);
    assert_eq!(summary.skipped, 1);
    assert_eq!(
        summary.skipped_by_reason.get("not_audit_data"),
        Some(&1),
        "{:?}",
        summary.skipped_by_reason
    );
    let skip = &summary.skip_examples[0];
    assert_eq!(skip.source, source(&path, 1));
    assert!(
        matches!(&skip.error, RecordError::NotAuditData(why) if why.contains("CloudTrail digest")),
        "{:?}",
        skip.error
    );
    assert!(summary.reconciles());
}

#[test]
fn cloudtrail_lake_ndjson() {
    let (path, records) = normalize_clean("cloudtrail-lake.ndjson");
    let got = events(records);
    let carol = "arn:aws:iam::444455556666:user/carol";
    let lake_event = |record, at, category, operation: &str| Event {
        tenant: some(SANDBOX),
        account: some(SANDBOX),
        region: some("eu-north-1"),
        principal: some(carol),
        src_ip: some("203.0.113.9"),
        user_agent: some("AWS Internal"),
        ..trail_event(&path, record, at, category, operation)
    };
    let want = vec![
        Event {
            user_agent: some(FIREFOX),
            resource: Resource {
                kind: some("aws:console"),
                id: some("https://console.aws.amazon.com/console/home"),
                mfa: Some(false),
                ..Resource::default()
            },
            ..lake_event(1, "2024-03-06T08:00:15Z", Category::Login, "ConsoleLogin")
        },
        Event {
            resource: Resource {
                kind: some("ec2:instance"),
                id: some("i-0c0ffee000000c001"),
                instance_type: some("c6i.32xlarge"),
                instance_count: Some(1),
                ..Resource::default()
            },
            ..lake_event(
                2,
                "2024-03-06T08:04:31Z",
                Category::Provision,
                "RunInstances",
            )
        },
        Event {
            resource: Resource {
                kind: some("AWS::EC2::SecurityGroup"),
                id: some("arn:aws:ec2:eu-north-1:444455556666:security-group/sg-0123456789abcdef0"),
                ..Resource::default()
            },
            ..lake_event(
                3,
                "2024-03-06T08:06:02Z",
                Category::Api,
                "AuthorizeSecurityGroupIngress",
            )
        },
    ];
    assert_eq!(got, want);
}

#[test]
fn cloudtrail_bare_array() {
    let (path, records) = normalize_clean("cloudtrail-array.json");
    let got = events(records);
    let want = vec![
        Event {
            principal: some(ALICE),
            src_ip: some("2001:db8::7"),
            user_agent: cli("iam.create-access-key"),
            ..trail_event(
                &path,
                1,
                "2024-03-07T10:11:12Z",
                Category::Api,
                "CreateAccessKey",
            )
        },
        Event {
            // An error code without a message is the whole reason.
            principal: some(INTERN),
            src_ip: some("203.0.113.50"),
            user_agent: some(BOTO),
            outcome: Some(Outcome::Failure),
            reason: some("AccessDenied"),
            ..trail_event(
                &path,
                2,
                "2024-03-07T10:15:00Z",
                Category::Api,
                "StopLogging",
            )
        },
    ];
    assert_eq!(got, want);
}

#[test]
fn lookup_events_response() {
    let (path, records) = normalize_clean("lookup-events.json");
    let got = events(records);
    let want = vec![
        Event {
            region: some("ap-southeast-2"),
            principal: some(DEPLOY_ROLE),
            src_ip: some("198.51.100.23"),
            user_agent: cli("ec2.run-instances"),
            resource: Resource {
                kind: some("ec2:instance"),
                id: some("i-0d15ea5e000000041"),
                instance_type: some("t3.micro"),
                instance_count: Some(1),
                ..Resource::default()
            },
            ..trail_event(
                &path,
                1,
                "2024-03-08T14:20:00Z",
                Category::Provision,
                "RunInstances",
            )
        },
        Event {
            principal: some("arn:aws:iam::111122223333:root"),
            src_ip: some("203.0.113.200"),
            user_agent: some(FIREFOX),
            resource: Resource {
                kind: some("aws:console"),
                id: some("https://console.aws.amazon.com/console/home"),
                mfa: Some(true),
                ..Resource::default()
            },
            ..trail_event(
                &path,
                2,
                "2024-03-08T14:25:30Z",
                Category::Login,
                "ConsoleLogin",
            )
        },
    ];
    assert_eq!(got, want);
}

fn billing_row(
    path: &Path,
    record: u64,
    day: &str,
    account: Option<&str>,
    service: Option<&str>,
    cost: f64,
) -> BillingRecord {
    BillingRecord {
        time: time(&format!("{day}T00:00:00Z")),
        provider: Provider::Aws,
        tenant: account.map(str::to_string),
        account: account.map(str::to_string),
        category: BillingCategory::Billing,
        service: service.map(str::to_string),
        cost,
        currency: some("USD"),
        source: source(path, record),
    }
}

#[test]
fn cost_explorer_grouped_by_service_and_account() {
    let (path, records) = normalize_clean("cost-explorer.json");
    let got = billing(records);
    let ec2 = Some("Amazon Elastic Compute Cloud - Compute");
    let want = vec![
        billing_row(&path, 1, "2024-03-05", Some(ACCOUNT), ec2, 112.4183271203),
        billing_row(
            &path,
            2,
            "2024-03-05",
            Some(ACCOUNT),
            Some("Amazon Lightsail"),
            2.4,
        ),
        billing_row(&path, 3, "2024-03-06", Some(ACCOUNT), ec2, 396.0012),
        billing_row(&path, 4, "2024-03-06", Some(SANDBOX), ec2, 130.56),
        billing_row(
            &path,
            5,
            "2024-03-06",
            Some(SANDBOX),
            Some("EC2 - Other"),
            0.0000043,
        ),
    ];
    assert_eq!(got, want);
}

#[test]
fn cost_explorer_total_only() {
    let (path, records) = normalize_clean("cost-explorer-total.json");
    let got = billing(records);
    // Without a GroupBy the response names neither account nor service.
    let want = vec![
        billing_row(&path, 1, "2024-03-05", None, None, 114.8183271203),
        billing_row(&path, 2, "2024-03-06", None, None, 526.5612043),
    ];
    assert_eq!(got, want);
}

fn legacy_cur_rows(path: &Path) -> Vec<BillingRecord> {
    let ec2 = Some("Amazon Elastic Compute Cloud");
    vec![
        billing_row(path, 1, "2024-03-05", Some(ACCOUNT), ec2, 0.17),
        // The 23:00 hour belongs to its own usage day.
        billing_row(
            path,
            2,
            "2024-03-05",
            Some(ACCOUNT),
            Some("Amazon Lightsail"),
            0.0598,
        ),
        billing_row(path, 3, "2024-03-06", Some(SANDBOX), ec2, 5.44),
    ]
}

#[test]
fn cost_and_usage_report_legacy_columns() {
    let (path, records) = normalize_clean("cur.csv");
    assert_eq!(billing(records), legacy_cur_rows(&path));
}

#[test]
fn cost_and_usage_report_gzipped() {
    let (path, records) = normalize_clean("cur.csv.gz");
    assert_eq!(billing(records), legacy_cur_rows(&path));
}

#[test]
fn cost_and_usage_report_2_columns() {
    let (path, records) = normalize_clean("cur2.csv");
    let want = vec![
        // The product name comes from the `product` map column...
        billing_row(
            &path,
            1,
            "2024-03-05",
            Some(ACCOUNT),
            Some("Amazon Elastic Compute Cloud"),
            4.08,
        ),
        // ...and the product code stands in when the map is empty.
        billing_row(
            &path,
            2,
            "2024-03-06",
            Some(SANDBOX),
            Some("AmazonEC2"),
            130.56,
        ),
    ];
    assert_eq!(billing(records), want);
}

#[test]
fn the_whole_aws_fixture_tree_reconciles() {
    let (records, summary) = normalize(&fixture(""));
    assert!(summary.reconciles(), "{summary:?}");
    assert!(summary.unreadable.is_empty());
    assert_eq!(summary.files, 11);
    assert_eq!(summary.events, 18);
    assert_eq!(summary.billing_rows, 15);
    assert_eq!(records.len(), 33);
    // Only the digest file is skipped, and it is not called broken.
    assert_eq!(summary.skipped, 1);
    assert_eq!(
        summary.skipped_by_reason.keys().collect::<Vec<_>>(),
        ["not_audit_data"]
    );
    let sources: Vec<&str> = summary.by_source.keys().map(String::as_str).collect();
    assert_eq!(
        sources,
        [
            "aws/-",
            "aws/111122223333",
            "aws/444455556666",
            "aws/o-exampleorgid"
        ]
    );
    let org = &summary.by_source["aws/o-exampleorgid"];
    assert_eq!((org.events, org.billing_rows), (2, 0));
    assert_eq!(org.first, Some(time("2024-03-05T02:03:09Z")));
    assert_eq!(org.last, Some(time("2024-03-05T02:04:55Z")));
}

/// The expectations here are of every other field; `tests/event_ids.rs` checks each format's
/// event id against its fixtures.
fn without_event_id(mut record: Record) -> Record {
    if let Record::Event(event) = &mut record {
        event.event_id = None;
    }
    record
}
