//! Hostile sizes: a gzip bomb, a 2 GiB line, a 1 GiB string inside a one-line trail. Each is
//! skipped with a reason under the documented record cap, the records around it are read, and
//! the process's peak memory stays bounded (measured on the child with `wait4`, not timed).
//!
//! The inputs are built as concatenated gzip members (one small member repeated), so a file
//! that inflates to gigabytes is about a megabyte on disk and cheap to write.

#![cfg(unix)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use flate2::write::GzEncoder;
use flate2::Compression;

const MIB: usize = 1 << 20;
/// Far above the 32 MiB record cap plus buffers, far below what reading a gigabyte would take.
const PEAK_RSS_LIMIT_MIB: i64 = 160;

const EVENT: &str = r#"{"eventVersion":"1.08","eventTime":"2026-01-01T00:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.1","recipientAccountId":"111122223333","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/a","accountId":"111122223333"}}"#;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Writes `head`, then `filler_mib` MiB of `filler`, then `tail`, as one gzip stream of members.
fn write_gz(path: &Path, head: &str, filler: u8, filler_mib: usize, tail: &str) {
    let mut out = BufWriter::new(File::create(path).unwrap());
    out.write_all(&gzip(head.as_bytes())).unwrap();
    let block = gzip(&vec![filler; MIB]);
    for _ in 0..filler_mib {
        out.write_all(&block).unwrap();
    }
    out.write_all(&gzip(tail.as_bytes())).unwrap();
    out.flush().unwrap();
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    peak_rss_mib: i64,
}

/// Runs `auditsweep normalize` on `paths` and measures the child's own peak RSS.
#[allow(clippy::zombie_processes)] // reaped by `wait4`, which also gives its rusage
fn normalize(paths: &[&Path]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (dir.path().join("out"), dir.path().join("err"));
    let child = Command::new(env!("CARGO_BIN_EXE_auditsweep"))
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .arg("normalize")
        .args(paths)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .expect("the binary runs");
    let mut status = 0;
    // SAFETY: plain FFI calls on an initialized struct and the pid of our own child, which
    // nothing else waits for.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let pid = libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage);
        assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
        usage
    };
    assert!(
        libc::WIFEXITED(status),
        "the process did not exit normally: {status}"
    );
    Run {
        code: libc::WEXITSTATUS(status),
        stdout: std::fs::read_to_string(out_path).unwrap(),
        stderr: std::fs::read_to_string(err_path).unwrap(),
        // ru_maxrss is in KiB on Linux.
        peak_rss_mib: usage.ru_maxrss as i64 / 1024,
    }
}

fn assert_read_one_event_and_skipped(run: &Run, reason: &str) {
    eprintln!("peak RSS {} MiB", run.peak_rss_mib);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout.lines().count(),
        1,
        "the good record: {}",
        run.stdout
    );
    assert!(run.stdout.contains("\"RunInstances\""), "{}", run.stdout);
    assert!(run.stderr.contains(reason), "{}", run.stderr);
    assert!(
        run.peak_rss_mib < PEAK_RSS_LIMIT_MIB,
        "peak RSS {} MiB",
        run.peak_rss_mib
    );
}

#[test]
fn a_gzip_bomb_of_zeros_is_skipped_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.json.gz");
    write_gz(&bomb, "", 0, 1024, "");
    assert!(std::fs::metadata(&bomb).unwrap().len() < 2 * MIB as u64);
    let good = dir.path().join("good.json");
    std::fs::write(&good, EVENT).unwrap();
    let run = normalize(&[&bomb, &good]);
    assert_read_one_event_and_skipped(&run, "binary content");
    assert!(run.stderr.contains("1 skipped"), "{}", run.stderr);
}

#[test]
fn a_2_gib_ndjson_line_is_skipped_by_size_and_the_next_line_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge-line.ndjson.gz");
    write_gz(
        &path,
        r#"{"eventName":""#,
        b'x',
        2048,
        &format!("\"}}\n{EVENT}\n"),
    );
    let run = normalize(&[&path]);
    assert_read_one_event_and_skipped(&run, "over the 32 MiB cap");
}

#[test]
fn a_1_gib_string_in_a_one_line_trail_costs_that_record_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge-string.json.gz");
    write_gz(
        &path,
        r#"{"Records":[{"eventName":""#,
        b'x',
        1024,
        &format!("\"}},{EVENT}]}}"),
    );
    let run = normalize(&[&path]);
    assert_read_one_event_and_skipped(&run, "over the 32 MiB cap");
}
