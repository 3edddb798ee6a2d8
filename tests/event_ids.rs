//! The normalized `event_id` of every format (docs/schema.md): the provider's own id of the
//! record, which the scheduled run uses to count a record read twice once. Each case names the
//! fixture's first id as written in the file, so a mapping that picks a nested `id` (a target
//! resource's, an operation's) instead of the record's fails.

use std::io::Read;
use std::path::PathBuf;

use auditsweep::normalize::normalize_paths;
use auditsweep::schema::Record;

fn fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(relative)
}

/// The file's text, gunzipped when it is gzip.
fn raw(relative: &str) -> String {
    let bytes = std::fs::read(fixture(relative)).unwrap();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(bytes.as_slice())
            .read_to_string(&mut text)
            .unwrap();
        text
    } else {
        String::from_utf8(bytes).unwrap()
    }
}

fn event_ids(relative: &str) -> Vec<Option<String>> {
    let mut ids = Vec::new();
    let summary = normalize_paths(&[fixture(relative)], &mut |record| {
        if let Record::Event(event) = record {
            ids.push(event.event_id);
        }
    });
    assert_eq!(
        summary.skipped, 0,
        "{relative}: {:?}",
        summary.skip_examples
    );
    assert!(!ids.is_empty(), "{relative} holds events");
    ids
}

#[test]
fn every_format_reads_the_providers_own_event_id() {
    let cases = [
        ("aws/cloudtrail/AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/05/111122223333_CloudTrail_us-east-1_20240305T0100Z_abcd1234.json.gz", "0a5c3f1e-1111-4a4a-9b9b-000000000001"),
        ("aws/cloudtrail-org/AWSLogs/o-exampleorgid/111122223333/CloudTrail/eu-west-1/2024/03/05/111122223333_CloudTrail_eu-west-1_20240305T0210Z_efgh5678.json.gz", "0a5c3f1e-1111-4a4a-9b9b-000000000010"),
        ("aws/cloudtrail-array.json", "7d7d7d7d-6666-4b4b-8e8e-000000000031"),
        ("aws/cloudtrail-lake.ndjson", "7d7d7d7d-6666-4b4b-8e8e-000000000021"),
        // LookupEvents: the eventID inside CloudTrailEvent (the same as the item's EventId).
        ("aws/lookup-events.json", "9e9e9e9e-aaaa-4f4f-c2c2-000000000041"),
        ("azure/activity-log-rest.json", "9e1d0c3b-0000-4000-8000-000000000001"),
        ("azure/sentinel-azureactivity.csv", "1a2b3c4d-0000-4000-8000-000000000a01"),
        ("azure/loganalytics-azureactivity-legacy.csv", "e1e10000-0000-4000-8000-000000000001"),
        ("azure/entra-signins-graph.json", "e0f1a2b3-0000-4000-8000-000000000501"),
        ("azure/entra-signins-diagnostic.json", "e0f1a2b3-0000-4000-8000-000000000601"),
        ("azure/entra-signins-diagnostic-categories.ndjson", "cc030000-0000-4000-8000-000000000101"),
        ("azure/entra-audits-graph.json", "Directory_bb020000-0000-4000-8000-0000000000e1_4"),
        ("azure/entra-audits-diagnostic.json", "Directory_aa010000-0000-4000-8000-0000000000f1_1AB2C_1"),
        ("gcp/audit-log-array.json", "-k2d1a9e4b7c"),
        ("gcp/entries-list-page.json", "page0001"),
        ("gcp/audit-log-sink.ndjson", "bulk0001first"),
        ("gcp/workspace-login.ndjson", "wslogin0001"),
    ];
    for (relative, first) in cases {
        let ids = event_ids(relative);
        assert_eq!(ids[0].as_deref(), Some(first), "{relative}");
        let text = raw(relative);
        let mut distinct = std::collections::BTreeSet::new();
        for id in &ids {
            let id = id
                .as_deref()
                .unwrap_or_else(|| panic!("{relative}: an event without id"));
            assert!(text.contains(id), "{relative}: {id} is not in the file");
            assert!(distinct.insert(id), "{relative}: {id} twice");
        }
    }
}

#[test]
fn formats_without_an_id_say_none_rather_than_make_one_up() {
    // The Activity Log diagnostic export and these Sentinel SigninLogs exports carry no
    // eventDataId or Id column: the run cannot recognize their duplicates (docs/operations.md).
    for relative in [
        "azure/activity-log-diagnostic.json",
        "azure/activity-log-diagnostic.ndjson",
        "azure/sentinel-signinlogs.csv",
        "azure/sentinel-signinlogs.json",
    ] {
        assert!(
            event_ids(relative).iter().all(Option::is_none),
            "{relative}"
        );
    }
}
