//! Real records from public sources (`../shared/data/real-samples`, described in its README):
//! every one must normalize, none skipped. CI has the directory; a missing directory fails these
//! tests instead of letting them pass without having read anything.

use std::path::{Path, PathBuf};

use auditsweep::normalize::{normalize_paths, InputSummary};
use auditsweep::schema::{BillingRecord, Category, Event, Outcome, Provider, Record};
use chrono::{DateTime, Utc};

fn samples_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/real-samples")
        .join(name);
    assert!(
        dir.is_dir(),
        "real samples missing: {} does not exist; these tests need the shared data checkout next \
         to the crate (../shared/data/real-samples)",
        dir.display()
    );
    dir
}

fn normalize(path: &Path) -> (Vec<Record>, InputSummary) {
    let mut records = Vec::new();
    let summary = normalize_paths(&[path.to_path_buf()], &mut |record| records.push(record));
    (records, summary)
}

fn utc(raw: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(raw)
        .expect("test timestamp")
        .with_timezone(&Utc)
}

#[test]
fn focus_sample_normalizes_every_row() {
    let path = samples_dir("focus").join("focus_sample.csv");
    let (records, summary) = normalize(&path);
    assert_eq!(summary.skipped, 0, "skipped: {:?}", summary.skip_examples);
    assert_eq!(summary.records_read, 1000);
    assert_eq!(summary.billing_rows, 1000);
    assert_eq!(summary.events, 0);

    let rows: Vec<&BillingRecord> = records
        .iter()
        .map(|record| match record {
            Record::Billing(row) => row,
            Record::Event(event) => panic!("unexpected event {event:?}"),
        })
        .collect();
    let count = |provider: &Provider| rows.iter().filter(|r| &r.provider == provider).count();
    assert_eq!(count(&Provider::Aws), 942);
    assert_eq!(count(&Provider::Azure), 51);
    assert_eq!(count(&Provider::Other("oracle".into())), 7);

    // The first data row: an AWS SQS charge.
    let first = rows[0];
    assert_eq!(first.time, utc("2024-09-18T00:00:00Z"));
    assert_eq!(first.provider, Provider::Aws);
    assert_eq!(first.tenant.as_deref(), Some("1234567890123"));
    assert_eq!(first.account.as_deref(), Some("51738928782"));
    assert_eq!(
        first.service.as_deref(),
        Some("Amazon Simple Queue Service")
    );
    assert_eq!(first.cost, 0.0000008);
    assert_eq!(first.currency.as_deref(), Some("USD"));
    assert_eq!(first.source.record, 1);

    // Microsoft rows join on the bare subscription id.
    let azure = rows
        .iter()
        .find(|r| r.provider == Provider::Azure)
        .expect("an Azure row");
    assert_eq!(
        azure.account.as_deref(),
        Some("64e355d7-997c-491d-b0c1-8414dccfcf42")
    );
    assert_eq!(
        azure.tenant.as_deref(),
        Some("/providers/Microsoft.Billing/billingAccounts/8611537")
    );
    assert_eq!(azure.service.as_deref(), Some("Storage Accounts"));
    assert_eq!(azure.time, utc("2024-09-04T00:00:00Z"));
    assert_eq!(azure.cost, 0.000015);
}

/// Every `*.json` file (the directories also hold a licence and a scenario YAML, which are not
/// records).
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn cloudtrail_samples_normalize_every_record() {
    let mut events: Vec<Event> = Vec::new();
    let mut files = 0;
    for dir in ["stratus-red-team", "otrf"] {
        for file in json_files(&samples_dir(dir)) {
            files += 1;
            let (records, summary) = normalize(&file);
            assert_eq!(
                summary.skipped,
                0,
                "{}: skipped {:?}",
                file.display(),
                summary.skip_examples
            );
            assert_eq!(summary.records_read, summary.events, "{}", file.display());
            assert!(summary.records_read > 0, "{}: no records", file.display());
            events.extend(records.into_iter().map(|record| match record {
                Record::Event(event) => *event,
                Record::Billing(row) => {
                    panic!("{}: unexpected billing row {row:?}", file.display())
                }
            }));
        }
    }
    assert_eq!(files, 36, "35 Stratus Red Team files and one OTRF file");
    assert_eq!(events.len(), 413);
    assert!(events.iter().all(|event| event.provider == Provider::Aws));

    let launch = events
        .iter()
        .find(|event| {
            event.operation == "RunInstances"
                && event
                    .source
                    .file
                    .ends_with("aws.execution.ec2-launch-unusual-instances.json")
        })
        .expect("a RunInstances record");
    assert_eq!(launch.category, Category::Provision);
    assert_eq!(launch.resource.instance_type.as_deref(), Some("p2.xlarge"));
    assert_eq!(launch.outcome, Some(Outcome::Failure));

    let console = events
        .iter()
        .find(|event| {
            event.operation == "ConsoleLogin"
                && event
                    .source
                    .file
                    .ends_with("aws.initial-access.console-login-without-mfa.json")
        })
        .expect("a ConsoleLogin record");
    assert_eq!(console.category, Category::Login);
    assert_eq!(console.resource.mfa, Some(false));
}
