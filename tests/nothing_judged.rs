//! Runs that judged nothing say so, on stderr and in the report: a `--tenant` the inputs do
//! not hold (exit 2, naming those they do), an input without records, a window that misses
//! the data (naming its span; the window is never inverted), and range lists without a prefix.

use std::path::Path;
use std::process::{Command, Output};

use auditsweep::report::Report;
use chrono::{DateTime, SecondsFormat, Utc};

const DEMO_AWS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/aws");
const RANGES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/ip-ranges");

fn sweep(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditsweep"))
        .arg("sweep")
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The report on stdout, checked against the schema.
fn report(output: &Output) -> Report {
    assert_eq!(output.status.code(), Some(0), "{}", stderr(output));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../docs/report.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let report: Report = serde_json::from_value(value).unwrap();
    assert!(
        report.window.start <= report.window.end,
        "{:?}",
        report.window
    );
    report
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The first and last record of the demo's AWS files, from a full run's ledger.
fn demo_span() -> (DateTime<Utc>, DateTime<Utc>) {
    let full = report(&sweep(&[DEMO_AWS, "--ip-ranges", RANGES]));
    assert!(full.warnings.is_empty(), "{:?}", full.warnings);
    let sources = full.inputs["by_source"].as_object().unwrap();
    let times = |key: &str| -> Vec<DateTime<Utc>> {
        sources
            .values()
            .map(|counts| counts[key].as_str().unwrap().parse().unwrap())
            .collect()
    };
    let first = times("first").into_iter().min().unwrap();
    let last = times("last").into_iter().max().unwrap();
    (first, last)
}

#[test]
fn a_tenant_the_inputs_do_not_hold_is_an_error_naming_those_they_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let output = sweep(&[
        DEMO_AWS,
        "--ip-ranges",
        RANGES,
        "--tenant",
        "999999999999",
        "--out",
        out.to_str().unwrap(),
    ]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("--tenant 999999999999: no tenant or account of that name in the inputs"),
        "{text}"
    );
    let full = report(&sweep(&[DEMO_AWS, "--ip-ranges", RANGES]));
    let tenant = full.findings[0].tenant.clone().unwrap();
    assert!(text.contains(&format!("seen: {tenant}")), "{text}");
    assert!(!out.exists(), "no report for a tenant that is not there");

    // The tenant that is there gives a report.
    let mine = report(&sweep(&[
        DEMO_AWS,
        "--ip-ranges",
        RANGES,
        "--tenant",
        &tenant,
    ]));
    assert!(!mine.findings.is_empty());

    // Inputs without records hold no tenant at all.
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "").unwrap();
    let output = sweep(&[empty.to_str().unwrap(), "--tenant", &tenant]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("they hold no records"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn inputs_without_records_are_named_in_a_warning_and_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let empty_file = dir.path().join("empty.json");
    std::fs::write(&empty_file, "").unwrap();
    let empty_dir = dir.path().join("nothing-here");
    std::fs::create_dir(&empty_dir).unwrap();
    let records_array = dir.path().join("trail.json");
    std::fs::write(&records_array, "{\"Records\": []}").unwrap();
    let all_skipped = dir.path().join("skipped");
    std::fs::create_dir(&all_skipped).unwrap();
    std::fs::write(all_skipped.join("a.json"), "{\"no\": \"audit record\"}\n").unwrap();
    std::fs::write(all_skipped.join("b.json"), "not json at all\n").unwrap();

    let paths = [&empty_file, &empty_dir, &records_array, &all_skipped];
    let mut args: Vec<&str> = paths.iter().map(|p| p.to_str().unwrap()).collect();
    args.extend([DEMO_AWS, "--ip-ranges", RANGES]);
    let output = sweep(&args);
    let mixed = report(&output);
    let name = |p: &Path| p.display().to_string();
    let expected = [
        format!(
            "{}: no records (empty, or every record skipped)",
            name(&empty_file)
        ),
        format!("{}: no input files in this directory", name(&empty_dir)),
        format!(
            "{}: no records (empty, or every record skipped)",
            name(&records_array)
        ),
        format!(
            "{}: no records in its 2 files (empty, or every record skipped)",
            name(&all_skipped)
        ),
    ];
    assert_eq!(
        mixed.warnings, expected,
        "the demo's records are not in question"
    );
    let text = stderr(&output);
    for warning in &expected {
        assert!(
            text.contains(&format!("WARN {warning}")),
            "{warning}: {text}"
        );
    }
    assert!(!mixed.findings.is_empty(), "the demo is still judged");

    // Nothing but those: nothing was judged, and the report says so.
    let output = sweep(&args[..4]);
    let alone = report(&output);
    assert_eq!(alone.warnings.len(), 5, "{:?}", alone.warnings);
    assert_eq!(
        alone.warnings[4],
        "none of the 2 records read could be used (all skipped): nothing was judged"
    );
    let output = sweep(&[empty_file.to_str().unwrap()]);
    let alone = report(&output);
    assert_eq!(
        alone.warnings.last().unwrap(),
        "no records in the inputs (1 file read): nothing was judged"
    );
    assert!(stderr(&output).contains("WARN no records in the inputs"));
}

#[test]
fn a_window_that_misses_the_data_names_its_span_and_is_never_inverted() {
    let (first, last) = demo_span();
    let span = format!("the data spans {} to {}", time(first), time(last));

    let output = sweep(&[DEMO_AWS, "--ip-ranges", RANGES, "--since", "2030-01-01"]);
    let after = report(&output);
    assert_eq!(
        after.warnings,
        [format!(
            "--since 2030-01-01T00:00:00Z is after the newest record: the window holds no data ({span})"
        )]
    );
    assert!(after.findings.is_empty());
    assert_eq!(after.window.start, after.window.end);
    let text = stderr(&output);
    assert!(text.contains(&span), "{text}");
    assert!(
        text.contains("window 2030-01-01 00:00 .. 2030-01-01 00:00"),
        "{text}"
    );

    let output = sweep(&[DEMO_AWS, "--ip-ranges", RANGES, "--until", "2001-01-01"]);
    let before = report(&output);
    assert_eq!(
        before.warnings,
        [format!(
            "--until 2001-01-01T23:59:59Z is before the oldest record: the window holds no data ({span})"
        )]
    );
    assert!(before.findings.is_empty());

    // The last second of the data is still data.
    let since = time(last);
    let edge = report(&sweep(&[
        DEMO_AWS,
        "--ip-ranges",
        RANGES,
        "--since",
        &since,
    ]));
    assert!(edge.warnings.is_empty(), "{:?}", edge.warnings);
}

#[test]
fn range_lists_without_a_prefix_are_like_no_lists() {
    let dir = tempfile::tempdir().unwrap();
    let output = sweep(&[DEMO_AWS, "--ip-ranges", dir.path().to_str().unwrap()]);
    let text = stderr(&output);
    assert!(
        text.contains("No prefixes in the hosting range lists: the hosting_source signal is off"),
        "{text}"
    );
    report(&output);

    // Files that are not range lists by their name are passed over: still no prefixes.
    std::fs::write(dir.path().join("README.md"), "lists go here\n").unwrap();
    let output = sweep(&[DEMO_AWS, "--ip-ranges", dir.path().to_str().unwrap()]);
    assert!(stderr(&output).contains("No prefixes in the hosting range lists"));
    report(&output);

    let output = sweep(&[DEMO_AWS, "--ip-ranges", RANGES]);
    assert!(
        !stderr(&output).contains("No prefixes"),
        "{}",
        stderr(&output)
    );
}
