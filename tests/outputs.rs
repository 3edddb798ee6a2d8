//! `sweep --out` never harms what it names: an input is refused, a device is written into, a
//! symlink keeps its link, a new report is readable by others, and nothing is left behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn demo() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    ["aws", "azure", "gcp"]
        .iter()
        .map(|c| root.join(c))
        .collect()
}

fn sweep(paths: &[PathBuf], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditsweep"))
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .args(["-q", "sweep", "--ip-ranges"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ip-ranges"))
        .args(paths)
        .arg("--out")
        .arg(out)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

#[test]
fn out_naming_an_input_is_refused_and_the_input_kept() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("trail.json");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/aws/cloudtrail-array.json");
    std::fs::copy(&fixture, &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let link = dir.path().join("out.json");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    for (paths, out) in [
        (vec![input.clone()], input.clone()),
        (vec![dir.path().to_path_buf()], input.clone()),
        (vec![input.clone()], link.clone()),
    ] {
        let output = sweep(&paths, &out);
        assert_eq!(output.status.code(), Some(2), "{out:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("would overwrite the input"), "{stderr}");
        assert_eq!(std::fs::read(&input).unwrap(), before, "{out:?}");
    }
}

#[test]
fn out_onto_a_device_writes_into_it() {
    let output = sweep(&demo(), Path::new("/dev/null"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
}

#[test]
fn out_through_a_symlink_replaces_the_target_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let target = reports.join("latest.json");
    std::fs::write(&target, b"old").unwrap();
    let link = dir.path().join("report.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let output = sweep(&demo(), &link);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&target).unwrap()).expect("a JSON report");
    assert!(report["findings"].is_array());
    let names: Vec<_> = std::fs::read_dir(&reports)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["latest.json"]);
}

#[test]
fn out_onto_a_fifo_streams_into_it_and_leaves_it_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("report.fifo");
    let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(&fifo).unwrap())
    };
    let output = sweep(&demo(), &fifo);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&reader.join().unwrap()).expect("the report came through the pipe");
    assert!(report["findings"].is_array());
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["report.fifo"], "nothing left beside it");
}
