//! `auditsweep eval` end to end: the binary on a hand-written world of three attacks and a
//! report of four findings (two for one attack, one a day late, one false alarm).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use auditsweep::eval::Evaluation;
use auditsweep::report::Detector;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/eval")
        .join(name)
}

fn eval(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditsweep"))
        .arg("eval")
        .args(args)
        .output()
        .expect("the binary runs")
}

fn eval_json(extra: &[&str]) -> Evaluation {
    let labels = data("labels.json");
    let report = data("report.json");
    let mut args = vec![
        "--labels",
        labels.to_str().unwrap(),
        report.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    let output = eval(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("--json prints an Evaluation")
}

fn counts(evaluation: &Evaluation, detector: Detector) -> (u64, u64, u64) {
    let score = &evaluation
        .detectors
        .iter()
        .find(|entry| entry.detector == detector)
        .unwrap()
        .score;
    (
        score.true_positives,
        score.false_positives,
        score.false_negatives,
    )
}

#[test]
fn json_scores_the_sample_world() {
    let evaluation = eval_json(&[]);
    assert_eq!((evaluation.attacks, evaluation.findings), (3, 4));
    assert_eq!(evaluation.tenant_months, 4.0);
    assert_eq!(counts(&evaluation, Detector::Provisioning), (1, 0, 0));
    assert_eq!(counts(&evaluation, Detector::CredentialStuffing), (0, 1, 1));
    assert_eq!(counts(&evaluation, Detector::BillingJump), (1, 0, 0));

    let overall = &evaluation.overall;
    let third = |value: Option<f64>| (value.unwrap() - 2.0 / 3.0).abs() < 1e-12;
    assert!(third(overall.precision) && third(overall.recall) && third(overall.f1));
    assert_eq!(overall.false_positives_per_tenant_month, Some(0.25));
    // Provisioning seen after 5 minutes, the billing jump in the next day's row after 22 hours.
    assert_eq!(overall.median_delay_seconds, Some((300.0 + 79_200.0) / 2.0));

    let missed: Vec<&str> = evaluation
        .missed_attacks
        .iter()
        .map(|a| a.id.as_str())
        .collect();
    assert_eq!(missed, ["atk-cred-1"]);
    let false_alarms: Vec<&str> = evaluation
        .false_positive_findings
        .iter()
        .map(|f| f.id.as_str())
        .collect();
    assert_eq!(false_alarms, ["as-cred-x"]);

    // The provisioning attack is reported twice: one incident, two tickets.
    let provisioning = &evaluation.detectors[0].score;
    assert_eq!(provisioning.findings_per_attack, Some(2.0));
    assert_eq!(provisioning.max_findings_per_attack, Some(2));
    assert_eq!(overall.findings_per_attack, Some(1.5));
    assert_eq!(overall.max_findings_per_attack, Some(2));
    assert_eq!(evaluation.split_attacks.len(), 1);
    assert_eq!(evaluation.split_attacks[0].id, "atk-prov-1");
    assert_eq!(
        evaluation.split_attacks[0].finding_ids,
        ["as-prov-a", "as-prov-b"]
    );
}

#[test]
fn zero_tolerance_misses_the_next_day_billing_row() {
    let evaluation = eval_json(&["--tolerance-hours", "0"]);
    assert_eq!(counts(&evaluation, Detector::BillingJump), (0, 1, 1));
    assert_eq!(counts(&evaluation, Detector::Provisioning), (1, 0, 0));
    assert_eq!(evaluation.tolerance_hours, 0.0);
}

#[test]
fn text_output_shows_the_table_and_what_to_act_on() {
    let labels = data("labels.json");
    let report = data("report.json");
    let output = eval(&[
        "--labels",
        labels.to_str().unwrap(),
        report.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).unwrap();
    let row = |name: &str| -> Vec<String> {
        text.lines()
            .find(|line| line.starts_with(name))
            .unwrap_or_else(|| panic!("no `{name}` row in:\n{text}"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        row("overall")[1..7],
        ["2", "1", "1", "0.667", "0.667", "0.667"]
    );
    // No true positive and one false positive: precision 0, recall 0, no delay.
    assert_eq!(
        row("credential_stuffing")[1..7],
        ["0", "1", "1", "0.000", "0.000", "0.000"]
    );
    assert!(row("credential_stuffing").ends_with(&["n/a".to_string()]));
    assert!(
        text.contains("atk-cred-1  credential_stuffing  password_spraying"),
        "{text}"
    );
    assert!(
        text.contains("as-cred-x  credential_stuffing  41 failed logins"),
        "{text}"
    );
    assert!(row("overall").ends_with(&["1.50".into(), "(max".into(), "2)".into()]));
    assert!(
        text.contains("split attacks (1):\n  atk-prov-1  provisioning  gpu_burst_new_region  2 findings: as-prov-a, as-prov-b"),
        "{text}"
    );
}

#[test]
fn unreadable_labels_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("labels-broken.json");
    std::fs::write(&labels, "{\"seed\": 1, \"start\": ").unwrap();
    let report = data("report.json");
    let output = eval(&[
        "--labels",
        labels.to_str().unwrap(),
        report.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("labels-broken.json"), "{stderr}");
}

#[test]
fn missing_report_exits_2_naming_the_file() {
    let labels = data("labels.json");
    let output = eval(&["--labels", labels.to_str().unwrap(), "no-such-report.json"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no-such-report.json"), "{stderr}");
}

#[test]
fn report_of_another_major_schema_version_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report-v2.json");
    let text = std::fs::read_to_string(data("report.json")).unwrap();
    // A 2.0 report, with a gap of 2.0's shape (one day, no range): refused for its version,
    // not as a report that does not parse.
    let old_gap = r#""data_gaps": [{"provider": "aws", "account": "1", "source": "billing", "day": "2024-03-02T00:00:00Z"}]"#;
    let text = text
        .replacen("\"3.0\"", "\"2.0\"", 1)
        .replacen("\"data_gaps\": []", old_gap, 1);
    std::fs::write(&report, text).unwrap();
    let labels = data("labels.json");
    let output = eval(&[
        "--labels",
        labels.to_str().unwrap(),
        report.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("report-v2.json") && stderr.contains("version 2.0"),
        "{stderr}"
    );
}

/// The example in `docs/evaluation.md` is this test's output, so the docs cannot drift.
#[test]
fn docs_example_is_the_real_output() {
    let labels = data("labels.json");
    let report = data("report.json");
    let output = eval(&[
        "--labels",
        labels.to_str().unwrap(),
        report.to_str().unwrap(),
    ]);
    let text = String::from_utf8(output.stdout).unwrap();
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/evaluation.md"))
            .unwrap();
    assert!(
        docs.contains(text.trim_end()),
        "docs/evaluation.md no longer shows the output of `auditsweep eval` on tests/data/eval:\n{text}"
    );
}

/// Reports of tenants swept one by one are scored as one: splitting a report's findings over two
/// files (one finding in both) gives the same evaluation.
#[test]
fn several_reports_are_scored_together() {
    let dir = tempfile::tempdir().unwrap();
    let whole: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data("report.json")).unwrap()).unwrap();
    let findings = whole["findings"].as_array().unwrap().clone();
    let (head, tail) = findings.split_at(2);
    let mut paths = Vec::new();
    for (name, part) in [
        ("a.json", head.to_vec()),
        ("b.json", [&head[1..], tail].concat()),
    ] {
        let mut report = whole.clone();
        report["findings"] = serde_json::Value::Array(part);
        let path = dir.path().join(name);
        std::fs::write(&path, serde_json::to_vec(&report).unwrap()).unwrap();
        paths.push(path);
    }
    let labels = data("labels.json");
    let output = eval(&[
        "--labels",
        labels.to_str().unwrap(),
        paths[0].to_str().unwrap(),
        paths[1].to_str().unwrap(),
        "--json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let split: Evaluation = serde_json::from_slice(&output.stdout).unwrap();
    let one = eval_json(&[]);
    assert_eq!(split.findings, one.findings);
    assert_eq!(
        serde_json::to_value(&split.detectors).unwrap(),
        serde_json::to_value(&one.detectors).unwrap()
    );
}
