//! What reaches stderr: no colour codes unless stderr is a terminal without `NO_COLOR`, and
//! file names with control characters escaped in every warning, skip and error.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const ESC: u8 = 0x1b;

fn auditsweep(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditsweep"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("the binary runs")
}

/// A file name that would forge a log line and turn the terminal red.
const HOSTILE: &str = "trail\n WARN all clear\x1b[31m.json";

fn hostile_dir(dir: &Path) -> std::path::PathBuf {
    let inputs = dir.join("in\x1b]0;title\x07puts");
    std::fs::create_dir(&inputs).unwrap();
    // Not JSON: skipped, with its file named in the warning.
    std::fs::write(
        inputs.join(HOSTILE),
        "{\"Records\": [{\"eventTime\": 12, oops}]}\n",
    )
    .unwrap();
    inputs
}

fn assert_escaped(stderr: &[u8], what: &str) {
    let text = String::from_utf8_lossy(stderr);
    assert!(
        !stderr.contains(&ESC),
        "{what}: an ESC byte on stderr: {text:?}"
    );
    assert!(
        !stderr.contains(&0x07),
        "{what}: a BEL byte on stderr: {text:?}"
    );
    assert!(
        !text.lines().any(|line| line.starts_with(" WARN all clear")),
        "{what}: a forged line: {text}"
    );
}

#[test]
fn no_colour_codes_when_stderr_is_captured() {
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/aws");
    // Warnings (no ranges) and the summary: the level would be coloured on a terminal.
    let output = auditsweep(&["sweep".as_ref(), demo.as_ref()]);
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stderr).contains("WARN"));
    assert!(
        !output.stderr.contains(&ESC),
        "{:?}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = auditsweep(&["sweep".as_ref(), "/nonexistent".as_ref()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(!output.stderr.contains(&ESC));
}

#[test]
fn file_names_with_control_characters_are_escaped_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = hostile_dir(dir.path());

    for command in ["sweep", "normalize"] {
        let output = auditsweep(&[command.as_ref(), inputs.as_os_str()]);
        assert_escaped(&output.stderr, command);
        let text = String::from_utf8_lossy(&output.stderr);
        assert!(
            text.contains(r"trail\n WARN all clear\u{1b}[31m.json"),
            "{command}: the skip names the file, escaped: {text}"
        );
    }

    // An error naming the path: a missing input, and a config that is no config.
    let missing = dir.path().join("gone\r\x1b[2Kfake.json");
    let output = auditsweep(&["sweep".as_ref(), missing.as_os_str()]);
    assert_eq!(output.status.code(), Some(2));
    assert_escaped(&output.stderr, "missing input");
    assert!(String::from_utf8_lossy(&output.stderr).contains(r"gone\r\u{1b}[2Kfake.json"));

    let config = dir.path().join("conf\n\x1b[1m.toml");
    std::fs::write(&config, "[provisioning]\nbaseline_days = 0\n").unwrap();
    let output = auditsweep(&[
        "sweep".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        inputs.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert_escaped(&output.stderr, "config error");
    assert!(String::from_utf8_lossy(&output.stderr).contains(r"conf\n\u{1b}[1m.toml"));

    // An unreadable file inside a directory, named in the run's warnings.
    let fifo = inputs.join("fifo\n\x1b[7m");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .stdout(Stdio::null())
        .status();
    if made.is_ok_and(|s| s.success()) {
        let output = auditsweep(&["sweep".as_ref(), inputs.as_os_str()]);
        assert_eq!(
            output.status.code(),
            Some(2),
            "a pipe inside a directory is unreadable"
        );
        assert_escaped(&output.stderr, "unreadable");
        assert!(String::from_utf8_lossy(&output.stderr).contains(r"fifo\n\u{1b}[7m"));
    }
}

/// On a terminal (a pseudo-terminal here) the levels are coloured, unless `NO_COLOR` is set.
#[cfg(target_os = "linux")]
#[test]
fn colour_only_on_a_terminal_without_no_color() {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};

    let run = |no_color: Option<&str>| -> Option<Vec<u8>> {
        let (mut leader, mut follower) = (0, 0);
        // SAFETY: openpty writes two new descriptors into the integers it is given.
        let opened = unsafe {
            libc::openpty(
                &mut leader,
                &mut follower,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        if opened != 0 {
            // No pseudo-terminals here (a container without /dev/ptmx): nothing to run on.
            eprintln!("openpty failed: {}", std::io::Error::last_os_error());
            return None;
        }
        // SAFETY: both descriptors are open and owned by nothing else.
        let leader = unsafe { OwnedFd::from_raw_fd(leader) };
        let follower = unsafe { OwnedFd::from_raw_fd(follower) };
        let cache = tempfile::tempdir().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_auditsweep"));
        command
            .args(["sweep", "/nonexistent-dir-for-a-warning/"])
            .env("RUST_LOG", "auditsweep=info")
            .env("XDG_CACHE_HOME", cache.path())
            .stdout(Stdio::null())
            .stderr(Stdio::from(follower));
        match no_color {
            Some(value) => command.env("NO_COLOR", value),
            None => command.env_remove("NO_COLOR"),
        };
        let status = command.status().expect("the binary runs");
        assert_eq!(status.code(), Some(2));
        drop(command);
        let mut leader = std::fs::File::from(leader);
        let mut seen = Vec::new();
        let mut chunk = [0u8; 4096];
        // The follower is closed: reading drains what was written, then fails with EIO.
        while let Ok(n) = leader.read(&mut chunk) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&chunk[..n]);
        }
        Some(seen)
    };
    let Some(coloured) = run(None) else {
        return;
    };
    assert!(
        coloured.contains(&ESC),
        "a terminal gets colour: {:?}",
        String::from_utf8_lossy(&coloured)
    );
    assert!(
        !run(Some("1")).unwrap().contains(&ESC),
        "NO_COLOR=1 turns it off"
    );
    assert!(
        run(Some("")).unwrap().contains(&ESC),
        "an empty NO_COLOR does not"
    );
}
