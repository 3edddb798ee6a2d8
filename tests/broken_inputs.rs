//! Broken inputs (`tests/data/broken/`): the run goes on, every good record still comes out,
//! and every skip names the file, the record number and precisely what was wrong. The ledger
//! balances whatever the input, which the property tests at the end check on arbitrary bytes and
//! on arbitrary damage to a real CloudTrail file.

use std::io::Write;
use std::path::{Path, PathBuf};

use auditsweep::normalize::{normalize_paths, InputSummary, RecordError, Skip};
use auditsweep::schema::{Record, SourceRef};
use proptest::prelude::*;

fn broken(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/broken")
        .join(name)
}

fn aws_fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/aws")
        .join(relative)
}

const TRAIL_FILE: &str = "cloudtrail/AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/05/111122223333_CloudTrail_us-east-1_20240305T0100Z_abcd1234.json.gz";

fn run(paths: &[PathBuf]) -> (Vec<Record>, InputSummary) {
    let mut records = Vec::new();
    let summary = normalize_paths(paths, &mut |record| records.push(record));
    assert!(summary.reconciles(), "{summary:?}");
    (records, summary)
}

fn run_one(path: &Path) -> (Vec<Record>, InputSummary) {
    let (records, summary) = run(&[path.to_path_buf()]);
    assert_eq!(summary.files, 1, "{}", path.display());
    assert!(summary.unreadable.is_empty(), "{:?}", summary.unreadable);
    (records, summary)
}

/// The single skip of a run, after checking it is the only one.
fn only_skip(summary: &InputSummary) -> &Skip {
    assert_eq!(summary.skipped, 1, "{:?}", summary.skip_examples);
    &summary.skip_examples[0]
}

fn record_numbers(records: &[Record]) -> Vec<u64> {
    records.iter().map(|r| r.source().record).collect()
}

fn source(path: &Path, record: u64) -> SourceRef {
    SourceRef {
        file: path.display().to_string().into(),
        record,
    }
}

/// A record as it would look had it come from another file: for comparing the records of a
/// damaged copy with those of the intact original.
fn placeless(record: &Record) -> Record {
    let mut record = record.clone();
    match &mut record {
        Record::Event(event) => event.source.file = "".into(),
        Record::Billing(row) => row.source.file = "".into(),
    }
    record
}

/// `truncated.json.gz` is the first half of the bytes of the CloudTrail fixture's `.json.gz`.
#[test]
fn truncated_gzip_keeps_the_records_before_the_cut() {
    let path = broken("truncated.json.gz");
    let (records, summary) = run_one(&path);
    let (intact, _) = run_one(&aws_fixture(TRAIL_FILE));
    assert!(
        !records.is_empty() && records.len() < intact.len(),
        "{} of {}",
        records.len(),
        intact.len()
    );
    let kept: Vec<Record> = records.iter().map(placeless).collect();
    let original: Vec<Record> = intact[..records.len()].iter().map(placeless).collect();
    assert_eq!(kept, original, "the records before the cut, unchanged");
    let skip = only_skip(&summary);
    assert_eq!(skip.source, source(&path, records.len() as u64 + 1));
    assert_eq!(skip.error.kind(), "truncated_file");
    let why = skip.error.to_string();
    assert!(
        why.starts_with("file ends early, the rest is lost: line 1: read error: "),
        "{why}"
    );
}

#[test]
fn truncated_gzipped_csv_keeps_the_rows_before_the_cut() {
    let path = broken("truncated-cur.csv.gz");
    let (records, summary) = run_one(&path);
    assert!(!records.is_empty());
    assert!(records.iter().all(|r| matches!(r, Record::Billing(_))));
    assert_eq!(
        record_numbers(&records),
        (1..=records.len() as u64).collect::<Vec<_>>()
    );
    let skip = only_skip(&summary);
    assert_eq!(skip.source, source(&path, records.len() as u64 + 1));
    assert_eq!(skip.error.kind(), "truncated_file");
}

#[test]
fn malformed_document_loses_only_the_bad_record_and_says_where_it_breaks() {
    let path = broken("malformed.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let broken_line = text
        .lines()
        .position(|line| line.contains(r#""eventName" "DescribeInstances""#))
        .expect("the corpus file has its missing colon")
        + 1;
    let (records, summary) = run_one(&path);
    // The structure around the bad record is intact, so the record after it is read.
    assert_eq!(record_numbers(&records), [1, 2, 4]);
    let skip = only_skip(&summary);
    assert_eq!(skip.source, source(&path, 3));
    assert_eq!(skip.error.kind(), "invalid_json");
    let why = skip.error.to_string();
    let column = text
        .lines()
        .nth(broken_line - 1)
        .unwrap()
        .find("\" \"")
        .unwrap()
        + 3;
    assert_eq!(
        why,
        format!("not valid JSON: line {broken_line}, column {column}: expected `:`")
    );
}

#[test]
fn ndjson_bad_line_costs_that_line_only() {
    let path = broken("bad-line.ndjson");
    let text = std::fs::read_to_string(&path).unwrap();
    let cut_at = text.lines().nth(1).unwrap().len();
    let (records, summary) = run_one(&path);
    // Line 4 is blank and is not a record; records are numbered by their line.
    assert_eq!(record_numbers(&records), [1, 3, 5]);
    let skip = only_skip(&summary);
    assert_eq!(skip.source, source(&path, 2));
    assert_eq!(
        skip.error,
        RecordError::Syntax(format!(
            "line 2, column {cut_at}: EOF while parsing a string"
        ))
    );
}

#[test]
fn ndjson_bad_first_line_does_not_cost_the_rest() {
    let path = broken("bad-first-line.ndjson");
    let (records, summary) = run_one(&path);
    assert_eq!(record_numbers(&records), [2, 3]);
    let skip = only_skip(&summary);
    assert_eq!(skip.source, source(&path, 1));
    assert_eq!(skip.error.kind(), "invalid_json");
    assert!(
        skip.error
            .to_string()
            .starts_with("not valid JSON: line 1, column "),
        "{}",
        skip.error
    );
}

#[test]
fn record_without_event_time_is_named() {
    let path = broken("missing-event-time.json");
    let (records, summary) = run_one(&path);
    assert_eq!(record_numbers(&records), [1, 3]);
    let skip = only_skip(&summary);
    assert_eq!(skip.source, source(&path, 2));
    assert_eq!(skip.error, RecordError::MissingField("eventTime"));
    assert_eq!(skip.error.to_string(), "missing field `eventTime`");
}

#[test]
fn unparseable_event_time_is_quoted() {
    let path = broken("bad-event-time.ndjson");
    let (records, summary) = run_one(&path);
    assert_eq!(record_numbers(&records), [1, 3]);
    let skip = only_skip(&summary);
    assert_eq!(skip.source, source(&path, 2));
    assert_eq!(
        skip.error.to_string(),
        r#"field `eventTime` has an unusable value "yesterday at noon": not a recognized timestamp"#
    );
}

/// One CUR row dated 9999 is a broken field: taken as data it would stretch the window to the
/// year 9999 and report millions of days without billing data.
#[test]
fn a_row_dated_9999_is_a_bad_field_not_data() {
    let path = broken("cur-year-9999.csv");
    let (records, summary) = run_one(&path);
    assert_eq!(record_numbers(&records), [1, 3]);
    let skip = only_skip(&summary);
    assert_eq!(skip.source, source(&path, 2));
    assert_eq!(skip.error.kind(), "bad_field");
    let why = skip.error.to_string();
    assert!(
        why.starts_with(
            r#"field `lineItem/UsageStartDate` has an unusable value "9999-03-05T02:00:00Z": after "#
        ) && why.ends_with(", more than a day past this run's clock"),
        "{why}"
    );
}

#[test]
fn an_event_from_before_its_provider_existed_is_a_bad_field() {
    let path = broken("event-time-1970.ndjson");
    let (records, summary) = run_one(&path);
    assert_eq!(record_numbers(&records), [1, 3]);
    let skip = only_skip(&summary);
    assert_eq!(skip.source, source(&path, 2));
    assert_eq!(
        skip.error.to_string(),
        r#"field `eventTime` has an unusable value "1970-01-01T00:00:00Z": before 2006-01-01, earlier than any aws record can be"#
    );
}

/// 1e308 and NaN are not bills: skipped, named, and the good rows around them kept.
#[test]
fn costs_no_bill_can_have_are_bad_fields() {
    let path = broken("focus-cost-1e308.csv");
    let (records, summary) = run_one(&path);
    assert_eq!(record_numbers(&records), [1, 4]);
    let skips: Vec<(u64, String)> = summary
        .skip_examples
        .iter()
        .map(|skip| (skip.source.record, skip.error.to_string()))
        .collect();
    assert_eq!(
        skips,
        [
            (
                2,
                r#"field `BilledCost` has an unusable value "1e308": beyond 1e12, the most one billing line can cost"#
                    .to_string()
            ),
            (
                3,
                r#"field `BilledCost` has an unusable value "NaN": not a finite number"#.to_string()
            ),
        ]
    );
    assert_eq!(summary.skipped_by_reason["bad_field"], 2);
}

#[test]
fn json_values_that_are_not_records_are_named_by_shape() {
    let path = broken("wrong-shapes.json");
    let (records, summary) = run_one(&path);
    assert_eq!(record_numbers(&records), [1, 4]);
    assert_eq!(summary.skipped, 2);
    let skips: Vec<(u64, String)> = summary
        .skip_examples
        .iter()
        .map(|skip| (skip.source.record, skip.error.to_string()))
        .collect();
    assert_eq!(
        skips,
        [
            (
                2,
                "unrecognized record shape (a bare number, not a record)".to_string()
            ),
            (
                3,
                "unrecognized record shape (an array, not a record)".to_string()
            ),
        ]
    );
    assert_eq!(summary.skipped_by_reason["unrecognized_record"], 2);
}

#[test]
fn ndjson_lines_that_are_not_records_are_named_by_shape() {
    let path = broken("wrong-shapes.ndjson");
    let (records, summary) = run_one(&path);
    assert_eq!(record_numbers(&records), [1, 4]);
    let skips: Vec<(u64, String)> = summary
        .skip_examples
        .iter()
        .map(|skip| (skip.source.record, skip.error.to_string()))
        .collect();
    assert_eq!(
        skips,
        [
            (
                2,
                "unrecognized record shape (a bare number, not a record)".to_string()
            ),
            (
                3,
                "unrecognized record shape (a bare string, not a record)".to_string()
            ),
        ]
    );
}

#[test]
fn csv_row_of_the_wrong_width_costs_that_row_only() {
    let path = broken("wrong-width.csv");
    let (records, summary) = run_one(&path);
    assert_eq!(record_numbers(&records), [1, 3]);
    assert!(records.iter().all(|r| matches!(r, Record::Billing(_))));
    let skip = only_skip(&summary);
    assert_eq!(skip.source, source(&path, 2));
    assert_eq!(
        skip.error,
        RecordError::Csv("line 3: 4 fields, the header has 6".to_string())
    );
}

#[test]
fn binary_garbage_is_one_unknown_format_skip() {
    let path = broken("garbage.bin");
    let (records, summary) = run_one(&path);
    assert!(records.is_empty());
    let skip = only_skip(&summary);
    assert_eq!(skip.source, source(&path, 1));
    assert_eq!(skip.error.kind(), "unknown_format");
    // Judged by its first byte: none of its content is echoed.
    assert_eq!(
        skip.error.to_string(),
        "unrecognized file format: binary content (a control byte where JSON or CSV begins)"
    );
}

#[test]
fn empty_files_have_nothing_to_skip() {
    let (records, summary) = run(&[broken("empty.json"), broken("empty.json.gz")]);
    assert!(records.is_empty());
    assert_eq!(summary.files, 2);
    assert_eq!(summary.records_read, 0);
    assert_eq!(summary.skipped, 0);
}

#[test]
fn csv_with_an_unknown_header_is_one_skip_naming_the_columns() {
    let path = broken("unknown-header.csv");
    let (records, summary) = run_one(&path);
    assert!(records.is_empty());
    let skip = only_skip(&summary);
    assert_eq!(skip.source, source(&path, 1));
    assert_eq!(
        skip.error,
        RecordError::UnknownFormat(
            "not JSON, and no known CSV header (columns: when, how_much, memo)".to_string()
        )
    );
}

#[test]
fn lookup_events_with_a_broken_record_string_does_not_echo_it() {
    let path = broken("lookup-events-bad-inner.json");
    let (records, summary) = run_one(&path);
    assert_eq!(record_numbers(&records), [1]);
    let skip = only_skip(&summary);
    assert_eq!(skip.source, source(&path, 2));
    let why = skip.error.to_string();
    assert!(
        why.starts_with(
            "field `CloudTrailEvent` has an unusable value \"<60 characters>\": not a JSON record: EOF while parsing"
        ),
        "{why}"
    );
    assert!(!why.contains("userIdentity"), "{why}");
}

#[test]
fn the_whole_corpus_in_one_run_goes_on_to_the_good_file_after_it() {
    let corpus = broken("");
    let good = aws_fixture("cloudtrail-array.json");
    let (records, summary) = run(&[corpus.clone(), good.clone()]);
    let corpus_files = std::fs::read_dir(&corpus).unwrap().count() as u64;
    assert_eq!(summary.files, corpus_files + 1);
    assert!(summary.unreadable.is_empty());
    let from_good: Vec<u64> = records
        .iter()
        .filter(|r| *r.source().file == *good.display().to_string())
        .map(|r| r.source().record)
        .collect();
    assert_eq!(from_good, [1, 2]);
    for skip in &summary.skip_examples {
        assert!(
            Path::new(&*skip.source.file).starts_with(&corpus),
            "{skip:?}"
        );
        assert!(skip.source.record >= 1, "{skip:?}");
    }
    assert_eq!(summary.skipped, summary.skip_examples.len() as u64);
}

// Property tests: no input makes the normalizer panic, and its ledger always balances.

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut text).unwrap();
    text
}

fn normalize_bytes(name: &str, bytes: &[u8]) -> (Vec<Record>, InputSummary) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let mut records = Vec::new();
    let summary = normalize_paths(&[path], &mut |record| records.push(record));
    (records, summary)
}

fn intact_trail() -> Vec<u8> {
    gunzip(&std::fs::read(aws_fixture(TRAIL_FILE)).unwrap())
}

/// Damage done to a valid file.
#[derive(Debug, Clone)]
enum Damage {
    Cut(prop::sample::Index),
    Overwrite(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Remove(prop::sample::Index, usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Damage::Cut),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(at, b)| Damage::Overwrite(at, b)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(at, b)| Damage::Insert(at, b)),
        (any::<prop::sample::Index>(), 1usize..64).prop_map(|(at, n)| Damage::Remove(at, n)),
    ]
}

fn apply(bytes: &mut Vec<u8>, damage: &Damage) {
    if bytes.is_empty() {
        return;
    }
    match damage {
        Damage::Cut(at) => bytes.truncate(at.index(bytes.len())),
        Damage::Overwrite(at, byte) => {
            let at = at.index(bytes.len());
            bytes[at] = *byte;
        }
        Damage::Insert(at, byte) => {
            let at = at.index(bytes.len());
            bytes.insert(at, *byte);
        }
        Damage::Remove(at, count) => {
            let at = at.index(bytes.len());
            let end = (at + count).min(bytes.len());
            bytes.drain(at..end);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn arbitrary_bytes_never_panic_and_balance(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
        gzipped in any::<bool>(),
        name in prop::sample::select(vec!["input.json", "input.csv", "input.ndjson", "input"]),
    ) {
        let bytes = if gzipped { gzip(&bytes) } else { bytes };
        let (records, summary) = normalize_bytes(name, &bytes);
        prop_assert!(summary.reconciles(), "{:?}", summary);
        prop_assert_eq!(summary.events + summary.billing_rows, records.len() as u64);
        prop_assert!(summary.unreadable.is_empty());
    }

    #[test]
    fn damaged_cloudtrail_files_never_panic_and_balance(
        damages in prop::collection::vec(damage(), 1..4),
        gzipped in any::<bool>(),
    ) {
        let mut bytes = intact_trail();
        for damage in &damages {
            apply(&mut bytes, damage);
        }
        let bytes = if gzipped { gzip(&bytes) } else { bytes };
        let (records, summary) = normalize_bytes("trail.json.gz", &bytes);
        prop_assert!(summary.reconciles(), "{:?}", summary);
        prop_assert_eq!(summary.events + summary.billing_rows, records.len() as u64);
        for skip in &summary.skip_examples {
            prop_assert!(skip.source.record >= 1);
            prop_assert!(skip.source.file.ends_with("trail.json.gz"));
        }
    }

    #[test]
    fn a_cut_file_yields_a_prefix_of_its_records(
        at in any::<prop::sample::Index>(),
        cut_the_gzip in any::<bool>(),
    ) {
        let intact = intact_trail();
        let (all, _) = normalize_bytes("whole.json", &intact);
        let bytes = if cut_the_gzip {
            let zipped = gzip(&intact);
            zipped[..at.index(zipped.len())].to_vec()
        } else {
            intact[..at.index(intact.len())].to_vec()
        };
        let (records, summary) = normalize_bytes("cut.json", &bytes);
        prop_assert!(summary.reconciles());
        prop_assert!(records.len() <= all.len());
        let kept: Vec<Record> = records.iter().map(placeless).collect();
        let original: Vec<Record> = all[..records.len()].iter().map(placeless).collect();
        prop_assert_eq!(kept, original);
        // A cut costs at most one skip: the note that the rest is lost.
        prop_assert!(summary.skipped <= 1, "{:?}", summary.skip_examples);
    }
}

/// Read by a run whose clock is set back to 2015, every fixture's records lie in the future:
/// each is skipped as a bad field, named by its own format's time field (none falls through to
/// the last check on the normalized `time`).
#[test]
fn every_format_names_its_time_field_when_the_time_is_out_of_bounds() {
    use auditsweep::normalize::{Normalizer, TimeBounds};
    let clock = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2015, 1, 1, 0, 0, 0).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let cases = [
        ("aws/cloudtrail-array.json", "eventTime"),
        ("aws/cloudtrail-lake.ndjson", "eventTime"),
        ("aws/lookup-events.json", "eventTime"),
        ("aws/cost-explorer.json", "TimePeriod.Start"),
        ("aws/cur.csv", "lineItem/UsageStartDate"),
        ("aws/cur2.csv", "line_item_usage_start_date"),
        ("azure/activity-log-rest.json", "eventTimestamp"),
        ("azure/activity-log-diagnostic.json", "time"),
        ("azure/cost-export.csv", "Date"),
        ("azure/cost-query.json", "UsageDate"),
        ("azure/entra-signins-graph.json", "createdDateTime"),
        ("azure/entra-signins-diagnostic.json", "time"),
        ("azure/sentinel-signinlogs.csv", "TimeGenerated"),
        ("azure/sentinel-azureactivity.csv", "TimeGenerated"),
        ("gcp/audit-log-array.json", "timestamp"),
        ("gcp/workspace-login.ndjson", "timestamp"),
        ("gcp/billing-export.csv", "usage_start_time"),
        ("focus/focus-sample.csv", "ChargePeriodStart"),
    ];
    let mut wrong = Vec::new();
    for (file, field) in cases {
        let mut emitted = 0;
        let mut sink = |_: Record| emitted += 1;
        let mut normalizer = Normalizer::with_bounds(&mut sink, TimeBounds::at(clock));
        normalizer.read_path(&fixtures.join(file));
        let summary = normalizer.finish();
        assert!(summary.reconciles(), "{file}: {summary:?}");
        let want = format!("field `{field}` has an unusable value ");
        let named: Vec<String> = summary
            .skip_examples
            .iter()
            .filter(|skip| skip.error.kind() == "bad_field")
            .map(|skip| skip.error.to_string())
            .collect();
        let all_named = named.len() as u64 == summary.skipped
            && named.iter().all(|why| {
                why.starts_with(&want) && why.ends_with("more than a day past this run's clock")
            });
        if emitted != 0 || summary.skipped == 0 || !all_named {
            wrong.push(format!("{file}: {emitted} emitted, skips {named:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
