//! The scheduled run with its real parts: the binary, a SQLite state file, and a local HTTP
//! server playing the ticketing system (it fails, hangs, throttles, then accepts). Every
//! incident change must arrive exactly once, through crashes, outages and re-runs.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

const SECRET: &str = "test-webhook-secret";

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demo_inputs() -> Vec<PathBuf> {
    ["aws", "azure", "gcp"]
        .iter()
        .map(|cloud| manifest().join("fixtures/demo").join(cloud))
        .collect()
}

/// What the fake ticketing system does with the next request.
#[derive(Clone, Copy, Debug)]
enum Answer {
    Status(u16),
    /// 429 with `Retry-After: N`.
    Throttle(u64),
    /// Holds the request longer than the client waits, then answers 200 (the client has gone:
    /// the receiver may have the change although the sender saw a timeout).
    Hang(Duration),
}

#[derive(Debug, Clone)]
struct Received {
    key: String,
    signature: Option<String>,
    body: String,
    accepted: bool,
}

struct Receiver {
    url: String,
    script: Arc<Mutex<VecDeque<Answer>>>,
    log: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(script: &[Answer]) -> Receiver {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let port = server.server_addr().to_ip().unwrap().port();
        let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<_>>()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (thread_script, thread_log) = (script.clone(), log.clone());
        std::thread::spawn(move || {
            for mut request in server.incoming_requests() {
                let header = |name: &'static str| {
                    request
                        .headers()
                        .iter()
                        .find(|h| h.field.equiv(name))
                        .map(|h| h.value.to_string())
                };
                let key = header("Idempotency-Key").unwrap_or_default();
                let signature = header("X-Auditsweep-Signature");
                let mut body = String::new();
                let _ = request.as_reader().read_to_string(&mut body);
                let answer = thread_script.lock().unwrap().pop_front();
                let (status, retry_after) = match answer {
                    None => (200, None),
                    Some(Answer::Status(code)) => (code, None),
                    Some(Answer::Throttle(seconds)) => (429, Some(seconds)),
                    Some(Answer::Hang(wait)) => {
                        std::thread::sleep(wait);
                        (200, None)
                    }
                };
                thread_log.lock().unwrap().push(Received {
                    key,
                    signature,
                    body,
                    accepted: (200..300).contains(&status),
                });
                let mut response = tiny_http::Response::from_string("{}").with_status_code(status);
                if let Some(seconds) = retry_after {
                    response = response.with_header(
                        tiny_http::Header::from_bytes("Retry-After", seconds.to_string()).unwrap(),
                    );
                }
                let _ = request.respond(response);
            }
        });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            script,
            log,
        }
    }

    fn log(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }

    /// Changes the receiver holds, by idempotency key: what a receiver that honours the key
    /// would have opened or updated. Asserts that a key sent twice carried the same body.
    fn accepted(&self) -> BTreeMap<String, String> {
        let mut by_key: BTreeMap<String, String> = BTreeMap::new();
        for received in self.log().into_iter().filter(|r| r.accepted) {
            if let Some(earlier) = by_key.get(&received.key) {
                assert_eq!(earlier, &received.body, "one key, two bodies");
            }
            by_key.insert(received.key, received.body);
        }
        by_key
    }
}

fn config(dir: &Path, inputs: &[PathBuf], url: Option<&str>) -> PathBuf {
    let inputs: Vec<String> = inputs
        .iter()
        .map(|p| format!("{:?}", p.display().to_string()))
        .collect();
    let mut text = format!(
        "[run]\nstate = {:?}\ninputs = [{}]\n",
        dir.join("state.db").display().to_string(),
        inputs.join(", ")
    );
    if let Some(url) = url {
        text.push_str(&format!(
            "[[run.webhook]]\nname = \"soc\"\nurl = \"{url}\"\nsecret_env = \"AUDITSWEEP_TEST_SECRET\"\ntimeout_seconds = 1.0\nattempts = 5\nbackoff_ms = 20\n"
        ));
    }
    let path = dir.join("auditsweep.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run(config: &Path, fault: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auditsweep"));
    command
        .args(["run", "--ip-ranges"])
        .arg(manifest().join("fixtures/ip-ranges"))
        .arg("--config")
        .arg(config)
        .env("AUDITSWEEP_TEST_SECRET", SECRET);
    match fault {
        Some(point) => command.env("AUDITSWEEP_TEST_FAULT", point),
        None => command.env_remove("AUDITSWEEP_TEST_FAULT"),
    };
    command.output().expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The findings of one sweep over the same inputs: what the runs must end up with.
fn sweep_findings(inputs: &[PathBuf]) -> BTreeMap<String, Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_auditsweep"))
        .args(["-q", "sweep", "--ip-ranges"])
        .arg(manifest().join("fixtures/ip-ranges"))
        .args(inputs)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap().to_string(), f.clone()))
        .collect()
}

/// The latest revision of each incident the receiver holds.
fn latest(accepted: &BTreeMap<String, String>) -> BTreeMap<String, Value> {
    let mut latest: BTreeMap<String, Value> = BTreeMap::new();
    for body in accepted.values() {
        let change: Value = serde_json::from_str(body).unwrap();
        let id = change["incident_id"].as_str().unwrap().to_string();
        let newer = latest
            .get(&id)
            .is_none_or(|known| known["revision"].as_i64() < change["revision"].as_i64());
        if newer {
            latest.insert(id, change);
        }
    }
    latest
}

fn assert_same_incidents(latest: &BTreeMap<String, Value>, swept: &BTreeMap<String, Value>) {
    let ids: BTreeSet<&String> = latest.keys().collect();
    let expected: BTreeSet<&String> = swept.keys().collect();
    assert_eq!(ids, expected, "the same incidents as one sweep");
    for (id, change) in latest {
        let (got, want) = (&change["finding"], &swept[id]);
        for field in ["title", "severity", "first_seen", "last_seen", "incident"] {
            assert_eq!(got[field], want[field], "{id} {field}");
        }
    }
}

#[test]
fn every_change_arrives_once_through_failures_timeouts_and_throttling() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(&[
        Answer::Status(500),
        Answer::Hang(Duration::from_millis(1500)),
        Answer::Throttle(1),
        Answer::Status(503),
    ]);
    let config = config(dir.path(), &demo_inputs(), Some(&receiver.url));
    let first = run(&config, None);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let accepted = receiver.accepted();
    let swept = sweep_findings(&demo_inputs());
    assert_eq!(accepted.len(), swept.len(), "one change per incident");
    assert_same_incidents(&latest(&accepted), &swept);
    assert!(
        receiver.script.lock().unwrap().is_empty(),
        "every failure was met"
    );
    // Each accepted body is signed with the configured secret.
    for received in receiver.log().iter().filter(|r| r.accepted) {
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(received.body.as_bytes());
        let expected: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            received.signature.as_deref(),
            Some(&*format!("sha256={expected}"))
        );
    }
    // A second run over the same files finds nothing new and sends nothing.
    let before = receiver.log().len();
    let second = run(&config, None);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert_eq!(receiver.log().len(), before, "{}", stderr(&second));
    assert!(
        stderr(&second).contains("0 files read (423 unchanged"),
        "{}",
        stderr(&second)
    );
}

#[test]
fn a_receiver_that_is_down_gets_everything_on_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    // A port with no server: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = format!("http://127.0.0.1:{port}/hook");
    let config_down = config(dir.path(), &demo_inputs(), Some(&down));
    let first = run(&config_down, None);
    assert_eq!(first.status.code(), Some(3), "{}", stderr(&first));
    assert!(stderr(&first).contains("queued 14"), "{}", stderr(&first));

    let receiver = Receiver::start(&[]);
    let config_up = config(dir.path(), &demo_inputs(), Some(&receiver.url));
    let second = run(&config_up, None);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert_eq!(receiver.accepted().len(), 14);
    assert_eq!(receiver.log().len(), 14, "nothing sent twice");
}

#[test]
fn a_rejected_change_is_kept_and_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(&[Answer::Status(400)]);
    let config = config(dir.path(), &demo_inputs(), Some(&receiver.url));
    let first = run(&config, None);
    assert_eq!(first.status.code(), Some(3), "{}", stderr(&first));
    assert!(stderr(&first).contains("rejected 1"), "{}", stderr(&first));
    let sent = receiver.log().len();
    assert_eq!(sent, 14, "a 400 is not retried within the run");
    let second = run(&config, None);
    assert_eq!(receiver.log().len(), sent, "nor on the next run");
    assert_eq!(second.status.code(), Some(3));
}

#[test]
fn a_crash_at_any_point_loses_and_duplicates_nothing() {
    let swept = sweep_findings(&demo_inputs());
    for point in ["before-commit", "after-commit", "delivered-unrecorded"] {
        let dir = tempfile::tempdir().unwrap();
        let receiver = Receiver::start(&[]);
        let config = config(dir.path(), &demo_inputs(), Some(&receiver.url));
        let crashed = run(&config, Some(point));
        assert!(!crashed.status.success(), "{point}: {}", stderr(&crashed));
        let again = run(&config, None);
        assert_eq!(again.status.code(), Some(0), "{point}: {}", stderr(&again));
        let accepted = receiver.accepted();
        assert_eq!(accepted.len(), swept.len(), "{point}");
        assert_same_incidents(&latest(&accepted), &swept);
        let sent = receiver.log().len();
        let expected = if point == "delivered-unrecorded" {
            // The one change the receiver had when the sender died goes again, same key.
            swept.len() + 1
        } else {
            swept.len()
        };
        assert_eq!(sent, expected, "{point}");
        // And the state is whole: a third run has nothing to do.
        let third = run(&config, None);
        assert_eq!(receiver.log().len(), sent, "{point}: {}", stderr(&third));
    }
}

#[test]
fn a_second_run_while_one_holds_the_lock_exits_without_touching_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &demo_inputs(), None);
    let lock = std::fs::File::create(dir.path().join("state.db.lock")).unwrap();
    lock.try_lock().unwrap();
    let blocked = run(&config, None);
    assert_eq!(blocked.status.code(), Some(75), "{}", stderr(&blocked));
    assert!(stderr(&blocked).contains("another auditsweep run"));
    assert!(!dir.path().join("state.db").exists());
    drop(lock);
    assert_eq!(run(&config, None).status.code(), Some(0));
}

#[test]
fn a_corrupt_or_newer_state_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &demo_inputs(), None);
    let state = dir.path().join("state.db");
    std::fs::write(&state, b"not a database at all, but someone's file\n").unwrap();
    let refused = run(&config, None);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("not an auditsweep state"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(
        std::fs::read(&state).unwrap(),
        b"not a database at all, but someone's file\n"
    );

    std::fs::remove_file(&state).unwrap();
    assert_eq!(run(&config, None).status.code(), Some(0));
    let connection = rusqlite::Connection::open(&state).unwrap();
    connection
        .execute(
            "UPDATE meta SET value = '7' WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    drop(connection);
    let newer = run(&config, None);
    assert_eq!(newer.status.code(), Some(2), "{}", stderr(&newer));
    assert!(
        stderr(&newer).contains("newer auditsweep"),
        "{}",
        stderr(&newer)
    );
}

/// The day (or `""` for files that span the month, like a CUR) a demo file belongs to.
fn day_of(path: &Path) -> String {
    let text = path.display().to_string();
    let digits: Vec<&str> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .collect();
    // .../2025/03/12/... or .../2025-03-12.json or .../2025/03/05.json
    for window in digits.windows(3) {
        if window[0].len() == 4 && window[1].len() == 2 && window[2].len() == 2 {
            return window.join("-");
        }
    }
    String::new()
}

#[test]
fn daily_runs_over_a_growing_tree_give_the_incidents_of_one_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let mut by_day: BTreeMap<String, Vec<(PathBuf, PathBuf)>> = BTreeMap::new();
    for cloud in demo_inputs() {
        for entry in walkdir::WalkDir::new(&cloud) {
            let entry = entry.unwrap();
            if entry.file_type().is_file() {
                let relative = entry
                    .path()
                    .strip_prefix(manifest().join("fixtures/demo"))
                    .unwrap();
                by_day
                    .entry(day_of(entry.path()))
                    .or_default()
                    .push((entry.path().to_path_buf(), tree.join(relative)));
            }
        }
    }
    assert!(
        by_day.len() > 10,
        "the demo spans days: {:?}",
        by_day.keys()
    );
    let inputs: Vec<PathBuf> = ["aws", "azure", "gcp"]
        .iter()
        .map(|c| tree.join(c))
        .collect();
    for input in &inputs {
        std::fs::create_dir_all(input).unwrap();
    }
    let receiver = Receiver::start(&[]);
    let config = config(dir.path(), &inputs, Some(&receiver.url));
    for files in by_day.values() {
        for (from, to) in files {
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(from, to).unwrap();
        }
        let output = run(&config, None);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    }
    let accepted = receiver.accepted();
    assert_eq!(receiver.log().len(), accepted.len(), "nothing sent twice");
    let swept = sweep_findings(&demo_inputs());
    assert_same_incidents(&latest(&accepted), &swept);
    // Ids are fixed from an incident's first day: no incident opened under two ids.
    let ids: BTreeSet<String> = accepted
        .values()
        .map(|body| serde_json::from_str::<Value>(body).unwrap()["incident_id"].to_string())
        .collect();
    assert!(ids.len() >= swept.len());
}

#[test]
fn an_appended_file_is_read_from_its_first_new_record() {
    let dir = tempfile::tempdir().unwrap();
    let source = manifest().join("fixtures/azure/activity-log-diagnostic-status-codes.ndjson");
    let lines: Vec<String> = std::fs::read_to_string(&source)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let file = dir.path().join("activity.ndjson");
    std::fs::write(&file, format!("{}\n", lines[0])).unwrap();
    let config = config(dir.path(), std::slice::from_ref(&file), None);
    let first = run(&config, None);
    assert!(
        stderr(&first).contains("1 new records (0 already read"),
        "{}",
        stderr(&first)
    );
    let mut appended = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    use std::io::Write;
    writeln!(appended, "{}", lines[1]).unwrap();
    drop(appended);
    let second = run(&config, None);
    assert!(
        stderr(&second).contains("1 new records (1 already read"),
        "{}",
        stderr(&second)
    );
}
