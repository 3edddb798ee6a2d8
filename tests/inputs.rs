//! What a sweep reads: every file once, however it is named; pipes and stdin as streams;
//! devices refused; and the same report on one thread as on many.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use auditsweep::config::Config;
use auditsweep::detect::HostingLookup;
use auditsweep::ranges::HostingRanges;
use auditsweep::report::Report;
use auditsweep::sweep::{self, SweepRequest};
use auditsweep_gen::{generate, GenOptions};

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn ranges() -> HostingRanges {
    HostingRanges::load_dir(&manifest().join("fixtures/ip-ranges"))
        .expect("the fixture range lists load")
        .0
}

fn sweep_with(paths: &[PathBuf], threads: usize, hosting: &HostingRanges) -> Report {
    let config = Config::default();
    let request = SweepRequest {
        paths: paths.to_vec(),
        tenant: None,
        since: None,
        until: None,
        config: &config,
        hosting: hosting as &dyn HostingLookup,
        threads,
        out: None,
    };
    sweep::run(&request).expect("the inputs exist").0
}

/// The report as JSON, without the one field that is the time of the run.
fn comparable(report: &Report) -> serde_json::Value {
    let mut json = serde_json::to_value(report).unwrap();
    json.as_object_mut().unwrap().remove("generated_at");
    json
}

fn assert_same_on_any_thread_count(paths: &[PathBuf]) -> Report {
    let hosting = ranges();
    let single = sweep_with(paths, 1, &hosting);
    for threads in [2, 3, 8] {
        let parallel = sweep_with(paths, threads, &hosting);
        assert!(
            comparable(&single) == comparable(&parallel),
            "{threads} threads: the report differs from the single-threaded one"
        );
    }
    single
}

#[test]
fn the_demo_report_is_the_same_on_one_thread_and_on_many() {
    let demo = manifest().join("fixtures/demo");
    let paths: Vec<PathBuf> = ["aws", "azure", "gcp"]
        .iter()
        .map(|c| demo.join(c))
        .collect();
    let report = assert_same_on_any_thread_count(&paths);
    assert!(!report.findings.is_empty());
}

#[test]
fn a_generated_world_report_is_the_same_on_one_thread_and_on_many() {
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("world");
    let mut options = GenOptions::new(world.clone(), 6, 30, 7);
    options.events_scale = 0.05;
    generate(&options).expect("the world generates");
    let paths: Vec<PathBuf> = ["aws", "azure", "gcp"]
        .iter()
        .map(|c| world.join(c))
        .collect();
    let report = assert_same_on_any_thread_count(&paths);
    assert!(report.inputs["files"].as_u64().unwrap() > 10);
    assert!(!report.findings.is_empty());
}

fn auditsweep(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auditsweep"));
    command
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .args(args);
    command
}

fn normalize(paths: &[&Path]) -> Output {
    auditsweep(&["normalize"])
        .args(paths)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn stdout_lines(output: &Output) -> usize {
    String::from_utf8_lossy(&output.stdout).lines().count()
}

fn fixture() -> PathBuf {
    manifest().join("fixtures/aws/cloudtrail-array.json")
}

#[test]
fn a_file_named_twice_or_through_a_symlink_or_overlapping_directories_is_read_once() {
    let once = normalize(&[&fixture()]);
    assert!(once.status.success());
    let records = stdout_lines(&once);
    assert!(records > 0);

    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("logs/day");
    std::fs::create_dir_all(&nested).unwrap();
    std::fs::copy(fixture(), nested.join("trail.json")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(nested.join("trail.json"), dir.path().join("link.json")).unwrap();
    let logs = dir.path().join("logs");
    let twice = normalize(&[
        &nested.join("trail.json"),
        &nested.join("trail.json"),
        &dir.path().join("link.json"),
        &logs,
        &nested,
    ]);
    assert!(
        twice.status.success(),
        "{}",
        String::from_utf8_lossy(&twice.stderr)
    );
    assert_eq!(stdout_lines(&twice), records, "every record once");
    let stderr = String::from_utf8_lossy(&twice.stderr);
    assert!(stderr.contains("1 files"), "{stderr}");
}

#[test]
fn stdin_is_read_as_a_stream() {
    let expected = stdout_lines(&normalize(&[&fixture()]));
    let output = auditsweep(&["normalize", "-"])
        .stdin(std::fs::File::open(fixture()).unwrap())
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(stdout_lines(&output), expected);
    assert!(String::from_utf8_lossy(&output.stdout).contains("\"<stdin>\""));
}

#[cfg(unix)]
#[test]
fn a_gzipped_stream_through_a_fifo_is_read() {
    use std::io::Write;
    let expected = stdout_lines(&normalize(&[&fixture()]));
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let bytes = std::fs::read(fixture()).unwrap();
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&bytes).unwrap();
        let gz = encoder.finish().unwrap();
        // Opening a FIFO for writing waits for the reader.
        std::fs::OpenOptions::new()
            .write(true)
            .open(writer_path)
            .unwrap()
            .write_all(&gz)
            .unwrap();
    });
    let output = normalize(&[&fifo]);
    writer.join().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout_lines(&output), expected);
}

#[cfg(unix)]
#[test]
fn a_device_is_refused_before_anything_is_read() {
    for command in ["normalize", "sweep"] {
        let output = auditsweep(&[command, "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{command}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("/dev/null: a character device, not a file, directory or pipe"),
            "{command}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{command}: no report");
    }
    let missing = auditsweep(&["sweep", "/no/such/dir"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/no/such/dir: no such file"));
}
