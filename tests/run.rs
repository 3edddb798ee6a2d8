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

    /// Every request received so far; each body is checked against the payload's schema.
    fn log(&self) -> Vec<Received> {
        let log = self.log.lock().unwrap().clone();
        for received in &log {
            assert_valid_change(&received.body);
        }
        log
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

/// docs/incident-change.schema.json, with the report schema its `finding` refers to.
fn change_validator() -> &'static jsonschema::Validator {
    static VALIDATOR: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let read = |name: &str| -> Value {
            let text = std::fs::read_to_string(manifest().join("docs").join(name)).unwrap();
            serde_json::from_str(&text).unwrap()
        };
        let report = read("report.schema.json");
        let uri = report["$id"].as_str().unwrap().to_string();
        jsonschema::options()
            .with_resource(uri, jsonschema::Resource::from_contents(report).unwrap())
            .build(&read("incident-change.schema.json"))
            .expect("the change schema is a valid JSON Schema")
    })
}

/// A webhook body is an incident change as documented, and consistent in itself.
fn assert_valid_change(body: &str) {
    let change: Value = serde_json::from_str(body).expect("the body is JSON");
    let errors: Vec<String> = change_validator()
        .iter_errors(&change)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "body does not match docs/incident-change.schema.json: {errors:#?}"
    );
    assert_eq!(change["finding"]["id"], change["incident_id"]);
    assert_eq!(change["change"] == "new", change["revision"] == 1, "{body}");
}

#[test]
fn the_change_schema_refuses_what_a_run_never_sends() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(&[]);
    let config = config(dir.path(), &demo_inputs(), Some(&receiver.url));
    assert_eq!(run(&config, None).status.code(), Some(0));
    let body = &receiver.log()[0].body;
    let good: Value = serde_json::from_str(body).unwrap();
    assert!(change_validator().is_valid(&good));
    let broken = [
        ("change", serde_json::json!("reopened")),
        ("revision", serde_json::json!(0)),
        ("schema", serde_json::json!("auditsweep.incident-change/2")),
        ("extra", serde_json::json!(1)),
    ];
    for (key, value) in broken {
        let mut bad = good.clone();
        bad[key] = value;
        assert!(!change_validator().is_valid(&bad), "{key}");
    }
    let mut bad = good.clone();
    bad["finding"]["severity"] = serde_json::json!("apocalyptic");
    assert!(
        !change_validator().is_valid(&bad),
        "the finding is checked too"
    );
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

const JIRA_AUTH: &str = "soc-bot@example.com:jira-api-token";
const SNOW_AUTH: &str = "auditsweep.integration:snow-password";

fn run(config: &Path, fault: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auditsweep"));
    command
        .args(["run", "--ip-ranges"])
        .arg(manifest().join("fixtures/ip-ranges"))
        .arg("--config")
        .arg(config)
        .env("AUDITSWEEP_TEST_SECRET", SECRET)
        .env("AUDITSWEEP_TEST_JIRA_AUTH", JIRA_AUTH)
        .env("AUDITSWEEP_TEST_SNOW_AUTH", SNOW_AUTH);
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

/// The demo's files by day, each with where it goes under `tree`; and the inputs (one directory
/// per cloud, created empty) a config names.
type ByDay = BTreeMap<String, Vec<(PathBuf, PathBuf)>>;

fn demo_by_day(tree: &Path) -> (ByDay, Vec<PathBuf>) {
    let mut by_day: ByDay = BTreeMap::new();
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
    (by_day, inputs)
}

/// Copies one day's files into the tree.
fn deliver_day(files: &[(PathBuf, PathBuf)]) {
    for (from, to) in files {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
}

#[test]
fn daily_runs_over_a_growing_tree_give_the_incidents_of_one_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let (by_day, inputs) = demo_by_day(&dir.path().join("tree"));
    let receiver = Receiver::start(&[]);
    let config = config(dir.path(), &inputs, Some(&receiver.url));
    for files in by_day.values() {
        deliver_day(files);
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

/// One request to the fake Jira Cloud / ServiceNow site, with the run it came in.
#[derive(Debug, Clone)]
struct TicketRequest {
    run: usize,
    method: String,
    path: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Value,
    /// What the site answered.
    answer: Value,
}

/// A site answering as Jira Cloud and ServiceNow document: `201 {"id","key","self"}` for a
/// created issue, `201` for a comment, `201 {"result": {"sys_id", "number"}}` for a created
/// incident and `200 {"result"}` for a patched one; 404 for anything else.
struct Ticketing {
    url: String,
    run: Arc<Mutex<usize>>,
    log: Arc<Mutex<Vec<TicketRequest>>>,
}

impl Ticketing {
    fn start() -> Ticketing {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let port = server.server_addr().to_ip().unwrap().port();
        let run = Arc::new(Mutex::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (thread_run, thread_log) = (run.clone(), log.clone());
        std::thread::spawn(move || {
            let mut created = 0;
            for mut request in server.incoming_requests() {
                let header = |name: &'static str| {
                    request
                        .headers()
                        .iter()
                        .find(|h| h.field.equiv(name))
                        .map(|h| h.value.to_string())
                };
                let (authorization, content_type) =
                    (header("Authorization"), header("Content-Type"));
                let method = request.method().to_string();
                let path = request.url().to_string();
                let mut text = String::new();
                let _ = request.as_reader().read_to_string(&mut text);
                let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
                let (status, answer) = match (method.as_str(), segments.as_slice()) {
                    ("POST", ["rest", "api", "3", "issue"]) => {
                        created += 1;
                        let key = format!("SEC-{created}");
                        (
                            201,
                            serde_json::json!({"id": (10000 + created).to_string(), "key": key,
                            "self": format!("http://127.0.0.1:{port}/rest/api/3/issue/{}", 10000 + created)}),
                        )
                    }
                    ("POST", ["rest", "api", "3", "issue", _, "comment"]) => {
                        (201, serde_json::json!({"id": "20000"}))
                    }
                    ("POST", ["api", "now", "table", "incident"]) => {
                        created += 1;
                        (
                            201,
                            serde_json::json!({"result": {"sys_id": format!("{created:032x}"),
                            "number": format!("INC{created:07}")}}),
                        )
                    }
                    ("PATCH", ["api", "now", "table", "incident", sys_id]) => {
                        (200, serde_json::json!({"result": {"sys_id": sys_id}}))
                    }
                    _ => (
                        404,
                        serde_json::json!({"errorMessages": ["no such resource"]}),
                    ),
                };
                thread_log.lock().unwrap().push(TicketRequest {
                    run: *thread_run.lock().unwrap(),
                    method,
                    path,
                    authorization,
                    content_type,
                    body,
                    answer: answer.clone(),
                });
                let response = tiny_http::Response::from_string(answer.to_string())
                    .with_status_code(status)
                    .with_header(
                        tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap(),
                    );
                let _ = request.respond(response);
            }
        });
        Ticketing {
            url: format!("http://127.0.0.1:{port}"),
            run,
            log,
        }
    }
}

/// Atlassian Document Format as Jira Cloud accepts it: a `doc` of version 1 holding
/// paragraphs of non-empty text nodes. Returns the text, one line per paragraph.
fn adf_text(doc: &Value) -> String {
    assert_eq!(doc["type"], "doc", "{doc}");
    assert_eq!(doc["version"], 1, "{doc}");
    let paragraphs = doc["content"].as_array().expect("a doc has content");
    assert!(!paragraphs.is_empty(), "{doc}");
    let mut lines = Vec::new();
    for paragraph in paragraphs {
        assert_eq!(paragraph["type"], "paragraph", "{paragraph}");
        let mut line = String::new();
        for node in paragraph["content"]
            .as_array()
            .expect("a paragraph has content")
        {
            assert_eq!(node["type"], "text", "{node}");
            let text = node["text"].as_str().expect("a text node has text");
            assert!(!text.is_empty(), "empty text nodes are refused: {node}");
            line.push_str(text);
        }
        lines.push(line);
    }
    lines.join("\n")
}

fn basic_auth(credentials: &str) -> String {
    match credentials {
        JIRA_AUTH => "Basic c29jLWJvdEBleGFtcGxlLmNvbTpqaXJhLWFwaS10b2tlbg==".to_string(),
        SNOW_AUTH => "Basic YXVkaXRzd2VlcC5pbnRlZ3JhdGlvbjpzbm93LXBhc3N3b3Jk".to_string(),
        other => panic!("no precomputed header for {other}"),
    }
}

#[test]
fn jira_and_servicenow_get_one_ticket_per_incident_and_its_updates_by_the_returned_key() {
    let dir = tempfile::tempdir().unwrap();
    let (by_day, inputs) = demo_by_day(&dir.path().join("tree"));
    let site = Ticketing::start();
    let config_path = config(dir.path(), &inputs, None);
    let mut text = std::fs::read_to_string(&config_path).unwrap();
    text.push_str(&format!(
        "[[run.webhook]]\nname = \"jira\"\nformat = \"jira\"\nurl = \"{0}\"\nproject = \"SEC\"\nissue_type = \"Incident\"\nauth_env = \"AUDITSWEEP_TEST_JIRA_AUTH\"\n\
         [[run.webhook]]\nname = \"servicenow\"\nformat = \"servicenow\"\nurl = \"{0}/\"\nauth_env = \"AUDITSWEEP_TEST_SNOW_AUTH\"\n",
        site.url
    ));
    std::fs::write(&config_path, text).unwrap();
    for (day, files) in by_day.values().enumerate() {
        *site.run.lock().unwrap() = day;
        deliver_day(files);
        let output = run(&config_path, None);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    }
    let log = site.log.lock().unwrap().clone();
    let swept = sweep_findings(&demo_inputs());

    // Jira: one issue per incident, created with the fields Jira Cloud requires.
    let mut jira_keys: BTreeMap<String, (String, usize)> = BTreeMap::new();
    let mut jira_created = 0;
    let jira: Vec<&TicketRequest> = log
        .iter()
        .filter(|r| r.path.starts_with("/rest/api/3/"))
        .collect();
    for request in &jira {
        assert_eq!(
            request.authorization.as_deref(),
            Some(&*basic_auth(JIRA_AUTH))
        );
        assert_eq!(request.content_type.as_deref(), Some("application/json"));
        assert_eq!(request.method, "POST", "{}", request.path);
        if request.path == "/rest/api/3/issue" {
            jira_created += 1;
            let fields = &request.body["fields"];
            assert_eq!(fields["project"]["key"], "SEC");
            assert_eq!(fields["issuetype"]["name"], "Incident");
            let summary = fields["summary"].as_str().expect("a summary");
            assert!(
                !summary.is_empty() && summary.chars().count() <= 255 && !summary.contains('\n')
            );
            let description = adf_text(&fields["description"]);
            let id = swept
                .keys()
                .find(|id| description.contains(id.as_str()))
                .unwrap_or_else(|| panic!("the description names its incident: {description}"))
                .clone();
            // The title when the issue was made: the incident's first days, not its final title.
            let kind = swept[&id]["title"]
                .as_str()
                .unwrap()
                .split(' ')
                .nth(1)
                .unwrap();
            assert!(
                summary.contains(kind),
                "{summary} / {}",
                swept[&id]["title"]
            );
            let labels: Vec<&str> = fields["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap())
                .collect();
            assert!(
                labels.iter().all(|l| !l.contains(' ')),
                "Jira labels take no spaces: {labels:?}"
            );
            assert!(labels.contains(&&*format!("auditsweep-{id}")), "{labels:?}");
            let key = request.answer["key"].as_str().unwrap().to_string();
            assert!(
                jira_keys.insert(id, (key, request.run)).is_none(),
                "one issue per incident"
            );
        }
    }
    assert_eq!(jira_created, swept.len());
    let mut jira_updates = 0;
    for request in jira.iter().filter(|r| r.path.ends_with("/comment")) {
        jira_updates += 1;
        let key = request.path.split('/').nth(5).unwrap();
        let (id, (_, created_in)) = jira_keys
            .iter()
            .find(|(_, (k, _))| k == key)
            .unwrap_or_else(|| panic!("a comment on an issue never created: {key}"));
        assert!(
            request.run > *created_in,
            "the update comes from a later run, by the stored key"
        );
        let note = adf_text(&request.body["body"]);
        assert!(note.contains(id.as_str()), "{note}");
    }

    // ServiceNow: one incident per incident, updated through the sys_id it returned.
    let snow: Vec<&TicketRequest> = log
        .iter()
        .filter(|r| r.path.starts_with("/api/now/"))
        .collect();
    let mut sys_ids: BTreeMap<String, (String, usize)> = BTreeMap::new();
    let mut snow_updates = 0;
    let mut resolved = 0;
    for request in snow.iter().filter(|r| r.path == "/api/now/table/incident") {
        assert_eq!(request.method, "POST");
        let body = &request.body;
        let short = body["short_description"]
            .as_str()
            .expect("short_description");
        assert!(!short.is_empty() && short.chars().count() <= 160);
        let id = body["correlation_id"]
            .as_str()
            .expect("correlation_id")
            .to_string();
        assert!(swept.contains_key(&id), "{id}");
        let kind = swept[&id]["title"]
            .as_str()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap();
        assert!(short.contains(kind), "{short} / {}", swept[&id]["title"]);
        assert!(body["description"]
            .as_str()
            .is_some_and(|d| d.contains(&id)));
        for field in ["urgency", "impact"] {
            assert!(
                ["1", "2", "3"].contains(&body[field].as_str().unwrap_or_default()),
                "{field}: {body}"
            );
        }
        let expected = match swept[&id]["severity"].as_str().unwrap() {
            "critical" | "high" => "1",
            "medium" => "2",
            _ => "3",
        };
        // The severity at creation may be lower than the incident's final one, never higher.
        assert!(body["urgency"].as_str().unwrap() >= expected, "{body}");
        let sys_id = request.answer["result"]["sys_id"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            sys_ids.insert(id, (sys_id, request.run)).is_none(),
            "one record per incident"
        );
    }
    for request in &snow {
        assert_eq!(
            request.authorization.as_deref(),
            Some(&*basic_auth(SNOW_AUTH))
        );
        assert_eq!(request.content_type.as_deref(), Some("application/json"));
        if request.method != "PATCH" {
            continue;
        }
        snow_updates += 1;
        let sys_id = request.path.rsplit('/').next().unwrap();
        let (id, (_, created_in)) = sys_ids
            .iter()
            .find(|(_, (s, _))| s == sys_id)
            .unwrap_or_else(|| panic!("a patch of a record never created: {sys_id}"));
        assert!(request.run > *created_in);
        let notes = request.body["work_notes"].as_str().expect("work_notes");
        assert!(notes.contains(id.as_str()), "{notes}");
        if request.body.get("state").is_some() {
            resolved += 1;
            assert_eq!(request.body["state"], "6", "Resolved");
            assert!(
                request.body["close_code"].is_string() && request.body["close_notes"].is_string()
            );
            assert_eq!(
                swept[id]["incident"]["status"], "ended",
                "only an ended incident is resolved"
            );
        }
    }
    assert_eq!(sys_ids.len(), swept.len());
    assert!(
        jira_updates > 0 && snow_updates > 0,
        "the demo's incidents change after their first day"
    );
    assert_eq!(
        jira_updates, snow_updates,
        "every change goes to both sinks"
    );
    assert!(resolved > 0, "some incidents end within the demo");
    assert!(
        log.iter().all(|r| !r.path.contains("//")),
        "a trailing slash in the base URL is not doubled"
    );
}

#[test]
fn a_later_change_waits_behind_its_incidents_undelivered_one() {
    let dir = tempfile::tempdir().unwrap();
    let (by_day, inputs) = demo_by_day(&dir.path().join("tree"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = config(
        dir.path(),
        &inputs,
        Some(&format!("http://127.0.0.1:{port}/hook")),
    );
    // Days of changes queue up while the receiver is down: several revisions per incident.
    for files in by_day.values() {
        deliver_day(files);
        assert_eq!(run(&down, None).status.code(), Some(3));
    }
    // It comes back failing the oldest change's every attempt (5), then accepts.
    let receiver = Receiver::start(&[Answer::Status(503); 5]);
    let up = config(dir.path(), &inputs, Some(&receiver.url));
    assert_eq!(run(&up, None).status.code(), Some(3));
    let first = receiver.log();
    let stuck: Value = serde_json::from_str(&first[0].body).unwrap();
    assert!(first[..5]
        .iter()
        .all(|r| r.key == first[0].key && !r.accepted));
    let stuck_id = stuck["incident_id"].as_str().unwrap();
    assert!(
        first[5..].iter().all(|r| {
            let change: Value = serde_json::from_str(&r.body).unwrap();
            change["incident_id"] != stuck_id
        }),
        "nothing more of {stuck_id} while its revision {} is undelivered",
        stuck["revision"]
    );
    assert_eq!(run(&up, None).status.code(), Some(0));
    // Each incident's revisions arrived in order, each once.
    let mut seen: BTreeMap<String, i64> = BTreeMap::new();
    let mut several = 0;
    for received in receiver.log().iter().filter(|r| r.accepted) {
        let change: Value = serde_json::from_str(&received.body).unwrap();
        let id = change["incident_id"].as_str().unwrap().to_string();
        let revision = change["revision"].as_i64().unwrap();
        let before = seen.insert(id, revision).unwrap_or(0);
        assert_eq!(revision, before + 1, "{}", received.key);
        several += usize::from(revision > 1);
    }
    assert!(several > 0, "some incidents had several queued revisions");
    assert_same_incidents(
        &latest(&receiver.accepted()),
        &sweep_findings(&demo_inputs()),
    );
}

/// Where a copy of a tree file goes: `<tree>/<cloud>/replay/<the rest>`, another file with the
/// same records (an overlapping export, a re-pulled page).
fn replayed(tree: &Path, file: &Path) -> PathBuf {
    let relative = file.strip_prefix(tree).unwrap();
    let mut parts = relative.components();
    let cloud = parts.next().unwrap();
    tree.join(cloud).join("replay").join(parts.as_path())
}

/// Events in these files, as one sweep counts them.
fn events_in(files: &[(PathBuf, PathBuf)]) -> u64 {
    let output = Command::new(env!("CARGO_BIN_EXE_auditsweep"))
        .args(["-q", "sweep", "--ip-ranges"])
        .arg(manifest().join("fixtures/ip-ranges"))
        .args(files.iter().map(|(from, _)| from))
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    report["inputs"]["events"].as_u64().unwrap()
}

/// The demo fed day by day into a fresh state, with `extra(day)` files copied in beside each
/// day's own; returns the bodies the receiver accepted (the tree's path written as `TREE`) and
/// the stderr of each run.
/// Files to copy: (from, to).
type Copies = Vec<(PathBuf, PathBuf)>;

fn daily_runs(
    extra: &dyn Fn(&Path, usize, &[&Copies]) -> Copies,
) -> (BTreeMap<String, String>, Vec<String>, usize) {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let (by_day, inputs) = demo_by_day(&tree);
    let receiver = Receiver::start(&[]);
    let config = config(dir.path(), &inputs, Some(&receiver.url));
    let days: Vec<&Vec<(PathBuf, PathBuf)>> = by_day.values().collect();
    let mut stderrs = Vec::new();
    for day in 0..days.len() {
        deliver_day(days[day]);
        deliver_day(&extra(&tree, day, &days));
        let output = run(&config, None);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        stderrs.push(stderr(&output));
    }
    // A run after the last finds the copies unchanged: nothing read, nothing sent.
    let sent = receiver.log().len();
    let again = run(&config, None);
    assert!(
        stderr(&again).contains("0 files read"),
        "{}",
        stderr(&again)
    );
    assert_eq!(receiver.log().len(), sent);
    let shown = tree.display().to_string();
    let accepted = receiver
        .accepted()
        .into_iter()
        .map(|(key, body)| (key, body.replace(&shown, "TREE")))
        .collect();
    (accepted, stderrs, sent)
}

#[test]
fn records_read_twice_from_other_files_count_once() {
    // The same days, and again with the last day's arrival bringing copies of the day before
    // (inside the 24 h overlap: duplicates) and of the demo's second day (far behind: late).
    let (once, _, _) = daily_runs(&|_, _, _| Vec::new());
    let copies = |tree: &Path, files: &[(PathBuf, PathBuf)]| -> Vec<(PathBuf, PathBuf)> {
        files
            .iter()
            .map(|(from, to)| (from.clone(), replayed(tree, to)))
            .collect()
    };
    let (twice, stderrs, sent) = daily_runs(&|tree, day, days| {
        let last = days.len() - 1;
        if day == last {
            [copies(tree, days[last - 1]), copies(tree, days[2])].concat()
        } else {
            Vec::new()
        }
    });
    // Every change of every incident is the same, byte for byte: no count, evidence or
    // baseline moved.
    assert_eq!(
        twice.keys().collect::<Vec<_>>(),
        once.keys().collect::<Vec<_>>()
    );
    for (key, body) in &once {
        assert!(twice[key] == *body, "{key} differs with the copies read");
    }
    assert_eq!(sent, once.len(), "nothing sent twice");
    let dir = tempfile::tempdir().unwrap();
    let (by_day, _) = demo_by_day(dir.path());
    let days: Vec<&Vec<(PathBuf, PathBuf)>> = by_day.values().collect();
    let last = days.len() - 1;
    let (duplicates, late) = (events_in(days[last - 1]), events_in(days[2]));
    assert!(duplicates > 0 && late > 0);
    assert!(
        stderrs[last].contains(&format!("{duplicates} duplicates, {late} late")),
        "{}",
        stderrs[last]
    );
}

/// Every date (`YYYY-MM-DD...` strings) and every integer `time` (Unix seconds) in a JSON tree.
fn dates_and_times(value: &Value, dates: &mut Vec<String>, times: &mut Vec<i64>) {
    match value {
        Value::String(text) => {
            let bytes = text.as_bytes();
            let dated = bytes.len() >= 10
                && bytes[..10].iter().enumerate().all(|(i, b)| {
                    if i == 4 || i == 7 {
                        *b == b'-'
                    } else {
                        b.is_ascii_digit()
                    }
                });
            if dated {
                dates.push(text[..10].to_string());
            }
        }
        Value::Array(items) => items.iter().for_each(|v| dates_and_times(v, dates, times)),
        Value::Object(map) => {
            for (key, v) in map {
                if let (true, Some(time)) = (key == "time", v.as_i64()) {
                    times.push(time);
                }
                dates_and_times(v, dates, times);
            }
        }
        _ => {}
    }
}

#[test]
fn retention_keeps_the_state_bounded_and_the_findings_inside_it_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("world");
    let mut options = auditsweep_gen::GenOptions::new(world.clone(), 2, 60, 5);
    options.events_scale = 0.2;
    auditsweep_gen::generate(&options).expect("the world generates");
    // Short baselines so that 60 days hold expired days, days judged on a truncated history and
    // days judged on all they look back at: retention 55 = 18 judged + 7 baseline + 30 family.
    let settings = "[provisioning]\nbaseline_days = 7\n[credential_stuffing]\nbaseline_days = 7\n\
                    [billing]\nbaseline_days = 7\nmonthly_lookback_days = 7\n";
    let retention = 55;
    let tree = dir.path().join("tree");
    let mut by_day: BTreeMap<String, Vec<(PathBuf, PathBuf)>> = BTreeMap::new();
    for entry in walkdir::WalkDir::new(&world) {
        let entry = entry.unwrap();
        let relative = entry.path().strip_prefix(&world).unwrap();
        if entry.file_type().is_file() && relative.components().count() > 1 {
            by_day
                .entry(day_of(entry.path()))
                .or_default()
                .push((entry.path().to_path_buf(), tree.join(relative)));
        }
    }
    let inputs: Vec<PathBuf> = ["aws", "azure", "gcp"]
        .iter()
        .map(|c| tree.join(c))
        .collect();
    for input in &inputs {
        std::fs::create_dir_all(input).unwrap();
    }
    let receiver = Receiver::start(&[]);
    let config_path = config(dir.path(), &inputs, Some(&receiver.url));
    let mut text = std::fs::read_to_string(&config_path).unwrap();
    text = text.replace(
        "[run]\n",
        &format!("{settings}[run]\nretention_days = {retention}\n"),
    );
    std::fs::write(&config_path, &text).unwrap();
    // The monthly billing exports first, then ten days at a time.
    let days: Vec<&Vec<(PathBuf, PathBuf)>> = by_day.values().collect();
    assert!(days.len() >= 60, "{}", days.len());
    for chunk in days.chunks(10) {
        for files in chunk {
            deliver_day(files);
        }
        let output = run(&config_path, None);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    }

    // The reference: one sweep over everything with the same detectors, judging from the first
    // day whose whole lookback the run keeps.
    let mut reference = std::fs::File::create(dir.path().join("reference.toml")).unwrap();
    use std::io::Write;
    reference.write_all(settings.as_bytes()).unwrap();
    drop(reference);
    let sweep = |since: Option<&str>| -> Value {
        let mut command = Command::new(env!("CARGO_BIN_EXE_auditsweep"));
        command
            .args(["-q", "sweep", "--ip-ranges"])
            .arg(manifest().join("fixtures/ip-ranges"))
            .arg("--config")
            .arg(dir.path().join("reference.toml"))
            .arg(&world);
        if let Some(since) = since {
            command.args(["--since", since]);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let all = sweep(None);
    let end = chrono::NaiveDate::parse_from_str(
        &all["window"]["end"].as_str().unwrap()[..10],
        "%Y-%m-%d",
    )
    .unwrap();
    let cutoff = end - chrono::Duration::days(retention - 1);
    let since = cutoff + chrono::Duration::days(7 + 30);
    let inside = sweep(Some(&since.to_string()));
    let swept: BTreeMap<String, Value> = inside["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap().to_string(), f.clone()))
        .collect();
    let older = all["findings"].as_array().unwrap().len() - swept.len();
    assert!(
        swept.len() >= 3 && older >= 3,
        "incidents inside ({}) and before ({older}) the judged days",
        swept.len()
    );

    // Inside: the same incidents, the same last word on each.
    let latest = latest(&receiver.accepted());
    let reported: BTreeMap<String, Value> = latest
        .into_iter()
        .filter(|(_, change)| {
            change["finding"]["incident"]["last_day"].as_str().unwrap()
                >= since.to_string().as_str()
        })
        .collect();
    assert_same_incidents(&reported, &swept);

    // Bounded: no day before the cutoff is left in the stored aggregates, and the event ids
    // are those of the last day.
    let state = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    let blob: Vec<u8> = state
        .query_row("SELECT aggregates FROM baseline", [], |row| row.get(0))
        .unwrap();
    let mut json = Vec::new();
    use std::io::Read;
    flate2::read::GzDecoder::new(blob.as_slice())
        .read_to_end(&mut json)
        .unwrap();
    let aggregates: Value = serde_json::from_slice(&json).unwrap();
    let (mut dates, mut times) = (Vec::new(), Vec::new());
    dates_and_times(&aggregates, &mut dates, &mut times);
    dates.sort();
    dates.dedup();
    assert_eq!(
        dates.first().map(String::as_str),
        Some(&*cutoff.to_string()),
        "the oldest day kept"
    );
    assert!(
        dates.len() <= retention as usize,
        "{} days kept",
        dates.len()
    );
    let cutoff_at = cutoff.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();
    assert!(
        times.iter().all(|t| *t >= cutoff_at),
        "sign-in minutes before the cutoff"
    );
    let (oldest_id, newest_source): (i64, i64) = state
        .query_row(
            "SELECT (SELECT MIN(time) FROM event_ids), (SELECT MIN(newest) FROM event_sources)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert!(
        oldest_id >= newest_source - 24 * 3600,
        "ids older than the overlap window"
    );
}

#[test]
fn a_sweep_from_the_state_plus_a_new_day_is_the_sweep_of_everything() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let (by_day, inputs) = demo_by_day(&tree);
    let config = config(dir.path(), &inputs, None);
    let days: Vec<&Vec<(PathBuf, PathBuf)>> = by_day.values().collect();
    let last = days.len() - 1;
    for files in &days[..last] {
        deliver_day(files);
    }
    assert_eq!(run(&config, None).status.code(), Some(0));
    deliver_day(days[last]);
    let state = dir.path().join("state.db");
    // SQLite opens a WAL database to read with an empty -wal beside it: no content is a change.
    let snapshot = || {
        ["state.db", "state.db-wal"]
            .map(|name| Some(std::fs::read(dir.path().join(name)).unwrap_or_default()))
    };
    let before = snapshot();

    let sweep = |args: &[&std::ffi::OsStr], paths: &[PathBuf], prefix: &Path| -> Vec<Value> {
        let output = Command::new(env!("CARGO_BIN_EXE_auditsweep"))
            .args(["-q", "sweep", "--ip-ranges"])
            .arg(manifest().join("fixtures/ip-ranges"))
            .args(args)
            .args(paths)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        // Evidence names its file: the same file under another root.
        let text = String::from_utf8(output.stdout)
            .unwrap()
            .replace(&format!("{}/", prefix.display()), "");
        let report: Value = serde_json::from_str(&text).unwrap();
        report["findings"].as_array().unwrap().clone()
    };
    let everything = sweep(&[], &demo_inputs(), &manifest().join("fixtures/demo"));
    assert!(everything.len() > 10);
    let new_day: Vec<PathBuf> = days[last].iter().map(|(_, to)| to.clone()).collect();
    let from_state = [std::ffi::OsStr::new("--state"), state.as_os_str()];
    // Over the whole tree (what the run read is left out) and over the new day's files alone.
    for paths in [inputs.clone(), new_day] {
        let found = sweep(&from_state, &paths, &tree);
        assert_eq!(found, everything, "all tenants");
    }
    // One tenant.
    let tenant = everything[0]["tenant"].as_str().unwrap().to_string();
    let wanted: Vec<Value> = everything
        .iter()
        .filter(|f| f["tenant"] == tenant.as_str())
        .cloned()
        .collect();
    let tenant_args = [
        std::ffi::OsStr::new("--state"),
        state.as_os_str(),
        std::ffi::OsStr::new("--tenant"),
        std::ffi::OsStr::new(&tenant),
    ];
    assert_eq!(sweep(&tenant_args, &inputs, &tree), wanted);
    assert!(wanted.len() < everything.len());
    // Without the new day the state judges less: the comparison can fail.
    assert_ne!(sweep(&from_state, &[], &tree), everything);
    let after = snapshot();
    for (name, (was, is)) in ["state.db", "state.db-wal"]
        .iter()
        .zip(before.iter().zip(&after))
    {
        assert!(
            was == is,
            "a sweep only reads the state: {name} {:?} -> {:?}",
            was.as_ref().map(Vec::len),
            is.as_ref().map(Vec::len)
        );
    }
}

#[test]
fn run_settings_out_of_range_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = config(dir.path(), &demo_inputs(), None);
    let base = std::fs::read_to_string(&config_path).unwrap();
    for (setting, key) in [
        ("overlap_hours = 0", "run.overlap_hours"),
        ("overlap_hours = 9000", "run.overlap_hours"),
        ("retention_days = 0", "run.retention_days"),
        ("retention_days = 4000", "run.retention_days"),
    ] {
        std::fs::write(
            &config_path,
            base.replace("[run]\n", &format!("[run]\n{setting}\n")),
        )
        .unwrap();
        let refused = run(&config_path, None);
        assert_eq!(refused.status.code(), Some(2), "{setting}");
        assert!(
            stderr(&refused).contains(key),
            "{setting}: {}",
            stderr(&refused)
        );
        assert!(
            !dir.path().join("state.db").exists(),
            "{setting}: nothing written"
        );
    }
    std::fs::write(
        &config_path,
        base.replace(
            "[run]\n",
            "[run]\noverlap_hours = 1\nretention_days = 3660\n",
        ),
    )
    .unwrap();
    assert_eq!(run(&config_path, None).status.code(), Some(0));
}

#[test]
fn checkpoints_of_files_gone_from_the_inputs_go_once_their_records_leave_the_retention() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let (by_day, inputs) = demo_by_day(&tree);
    let config_path = config(dir.path(), &inputs, None);
    let text = std::fs::read_to_string(&config_path).unwrap();
    std::fs::write(
        &config_path,
        text.replace("[run]\n", "[run]\nretention_days = 5\n"),
    )
    .unwrap();
    let days: Vec<&Vec<(PathBuf, PathBuf)>> = by_day.values().collect();
    for files in &days {
        deliver_day(files);
    }
    assert_eq!(run(&config_path, None).status.code(), Some(0));
    let state = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    let checkpoints = |state: &rusqlite::Connection| -> i64 {
        state
            .query_row("SELECT COUNT(*) FROM checkpoints", [], |row| row.get(0))
            .unwrap()
    };
    let aggregates = |state: &rusqlite::Connection| -> Vec<u8> {
        state
            .query_row("SELECT aggregates FROM baseline", [], |row| row.get(0))
            .unwrap()
    };
    let (all, stored) = (checkpoints(&state), aggregates(&state));
    // The demo's first days are long out of a 5-day retention; its last day is not.
    let old: Vec<&(PathBuf, PathBuf)> = days[1..4].iter().flat_map(|d| d.iter()).collect();
    let recent = &days[days.len() - 1][0];
    for (_, to) in old.iter().copied().chain([recent]) {
        std::fs::remove_file(to).unwrap();
    }
    let pruned = run(&config_path, None);
    assert_eq!(pruned.status.code(), Some(0), "{}", stderr(&pruned));
    assert_eq!(
        checkpoints(&state),
        all - old.len() as i64,
        "the recent file keeps its checkpoint"
    );
    // Back in the tree, the old files are read again and add nothing: every record is older
    // than what the state keeps.
    for (from, to) in old.iter().copied().chain([recent]) {
        std::fs::copy(from, to).unwrap();
    }
    let back = run(&config_path, None);
    // (The recent file, copied back with a new time, is read from its first unread record.)
    assert!(
        stderr(&back).contains(&format!("{} files read", old.len() + 1)),
        "{}",
        stderr(&back)
    );
    assert_eq!(checkpoints(&state), all);
    assert!(aggregates(&state) == stored, "the baselines did not move");
}
