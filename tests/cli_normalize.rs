//! `auditsweep normalize` as a user runs it: the built binary on the AWS fixtures, its stdout
//! contract (one JSON object per line with exactly the documented keys), its stderr summary and
//! its exit codes, including the broken pipe of `auditsweep normalize ... | head -1`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const EVENT_KEYS: &[&str] = &[
    "time",
    "provider",
    "tenant",
    "account",
    "region",
    "category",
    "class_uid",
    "operation",
    "principal",
    "src_ip",
    "user_agent",
    "outcome",
    "reason",
    "resource",
    "event_id",
    "source",
];
const BILLING_KEYS: &[&str] = &[
    "time", "provider", "tenant", "account", "category", "service", "cost", "currency", "source",
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/aws")
}

fn auditsweep() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auditsweep"));
    // Plain, predictable stderr whatever the caller's environment says.
    command.env_remove("RUST_LOG").env("NO_COLOR", "1");
    command
}

fn normalize(paths: &[&Path]) -> Output {
    auditsweep()
        .arg("normalize")
        .args(paths)
        .output()
        .expect("the binary runs")
}

fn stdout_lines(output: &Output) -> Vec<Value> {
    String::from_utf8(output.stdout.clone())
        .expect("stdout is UTF-8")
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect()
}

fn keys(line: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = line
        .as_object()
        .expect("every line is an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

fn sorted(keys: &[&'static str]) -> Vec<&'static str> {
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    keys
}

/// The `auditsweep: N files, ...` line, parsed into its numbers.
fn summary_counts(stderr: &str) -> [u64; 5] {
    let line = stderr
        .lines()
        .find(|line| line.starts_with("auditsweep: ") && line.contains(" records read: "))
        .unwrap_or_else(|| panic!("no summary line in stderr:\n{stderr}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(|part| part.parse().unwrap())
        .collect();
    numbers
        .try_into()
        .unwrap_or_else(|n| panic!("five counts expected in {line:?}: {n:?}"))
}

#[test]
fn every_line_is_json_with_exactly_the_contract_keys() {
    let output = normalize(&[&fixtures()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let lines = stdout_lines(&output);
    assert!(!lines.is_empty());
    let (mut events, mut billing) = (0u64, 0u64);
    for line in &lines {
        let is_billing = line["category"] == "billing";
        if is_billing {
            billing += 1;
            assert_eq!(keys(line), sorted(BILLING_KEYS), "{line}");
            assert!(line["cost"].is_number(), "{line}");
        } else {
            events += 1;
            assert_eq!(keys(line), sorted(EVENT_KEYS), "{line}");
            assert!(
                ["provision", "login", "api"].contains(&line["category"].as_str().unwrap()),
                "{line}"
            );
            assert!(line["class_uid"].is_u64(), "{line}");
            assert!(line["resource"].is_object(), "{line}");
        }
        assert_eq!(line["provider"], "aws", "{line}");
        let time = line["time"].as_str().expect("time is a string");
        assert!(
            time.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(time).is_ok(),
            "time must be RFC 3339 in UTC with a Z: {time}"
        );
        let source = &line["source"];
        assert!(source["file"].as_str().is_some_and(|f| !f.is_empty()));
        assert!(source["record"].as_u64().is_some_and(|n| n >= 1));
    }
    let [files, read, summary_events, summary_billing, skipped] = summary_counts(&stderr);
    assert_eq!((summary_events, summary_billing), (events, billing));
    assert_eq!(read, events + billing + skipped);
    assert_eq!(files, 11);
    // The CloudTrail digest file: counted, and said to be not audit data.
    assert_eq!(skipped, 1);
    assert!(stderr.contains("skipped 1 (not_audit_data)"), "{stderr}");
}

#[test]
fn output_deserializes_back_into_the_schema() {
    let output = normalize(&[&fixtures()]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).unwrap();
    for line in text.lines() {
        let record: auditsweep::schema::Record =
            serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}"));
        let again = serde_json::to_string(&record).unwrap();
        assert_eq!(again, line, "a record prints the same after a round trip");
    }
}

#[test]
fn a_missing_path_exits_2_after_reading_the_others() {
    let missing = fixtures().join("no-such-file.json");
    let good = fixtures().join("cloudtrail-array.json");
    let output = normalize(&[&missing, &good]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let lines = stdout_lines(&output);
    assert_eq!(lines.len(), 2, "the readable file is still read");
    assert!(lines
        .iter()
        .all(|line| line["source"]["file"] == good.display().to_string()));
    assert!(
        stderr.contains(&format!("unreadable: {}", missing.display())),
        "{stderr}"
    );
    let [files, ..] = summary_counts(&stderr);
    assert_eq!(files, 1);
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    // Enough repetitions that the output outgrows any pipe buffer, so the process really does
    // write into a closed pipe.
    let mut command = auditsweep();
    command.arg("normalize");
    for _ in 0..300 {
        command.arg(fixtures());
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    serde_json::from_str::<Value>(&first).expect("the first line is a record");
    drop(stdout); // like `head -1` exiting
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn no_paths_is_a_usage_error() {
    let output = auditsweep().arg("normalize").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
}
