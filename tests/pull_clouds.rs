//! `sweep --pull` over configured tenants against local servers that play each cloud (the
//! adapters' own test servers, included from `providers/*/tests/server`): the report equals the
//! report of sweeping the same records from files, and `--save-raw` keeps exactly those files.

#[path = "../providers/aws/tests/common/mod.rs"]
mod aws_common;
#[path = "../providers/azure/tests/server/mod.rs"]
mod azure_server;
#[path = "../providers/gcp/tests/server/mod.rs"]
#[allow(dead_code)]
mod gcp_server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn auditsweep(args: &[&str], paths: &[PathBuf]) -> Output {
    auditsweep_env(args, paths, &[])
}

fn auditsweep_env(args: &[&str], paths: &[PathBuf], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditsweep"))
        .envs(env.iter().copied())
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .args(args)
        .args(paths)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn report(output: &Output, path: &Path) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// What does not depend on where the records were read from: everything but the time of the
/// run, file names and the per-file part of the ledger.
fn judged(mut report: Value) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.remove("file");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let object = report.as_object_mut().unwrap();
    object.remove("generated_at");
    let inputs = object["inputs"].as_object_mut().unwrap();
    inputs.retain(|key, _| !key.contains("file"));
    strip(&mut report);
    report
}

/// Equal reports, or both written out beside each other to compare.
fn same(left: Value, right: Value, what: &str) {
    if left != right {
        let dir = std::env::temp_dir();
        let name = what.replace(' ', "-");
        let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap();
        std::fs::write(dir.join(format!("{name}.left.json")), pretty(&left)).unwrap();
        std::fs::write(dir.join(format!("{name}.right.json")), pretty(&right)).unwrap();
        panic!(
            "{what}: the reports differ (see {}/{name}.*.json)",
            dir.display()
        );
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    files.sort();
    files
}

/// Pulls with `config` over `since..until`, then sweeps the saved files again.
fn pull_and_replay(config: &str, since: &str, until: &str) -> (Value, Vec<PathBuf>) {
    pull_and_replay_with(config, since, until, &[])
}

fn pull_and_replay_with(
    config: &str,
    since: &str,
    until: &str,
    env: &[(&str, &str)],
) -> (Value, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("auditsweep.toml");
    std::fs::write(&config_path, config).unwrap();
    let raw = dir.path().join("raw");
    let pulled_path = dir.path().join("pulled.json");
    let output = auditsweep_env(
        &[
            "sweep",
            "--pull",
            "--config",
            config_path.to_str().unwrap(),
            "--since",
            since,
            "--until",
            until,
            "--save-raw",
            raw.to_str().unwrap(),
            "--out",
            pulled_path.to_str().unwrap(),
        ],
        &[],
        env,
    );
    let pulled = report(&output, &pulled_path);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for secret in [
        azure_server::SECRET,
        gcp_server::CLIENT_SECRET,
        gcp_server::REFRESH_TOKEN,
    ] {
        assert!(!stderr.contains(secret), "{stderr}");
        assert!(!pulled.to_string().contains(secret));
    }
    let replay_path = dir.path().join("replay.json");
    let output = auditsweep(
        &[
            "sweep",
            "--since",
            since,
            "--until",
            until,
            "--out",
            replay_path.to_str().unwrap(),
        ],
        std::slice::from_ref(&raw),
    );
    let replayed = report(&output, &replay_path);
    same(
        judged(pulled.clone()),
        judged(replayed),
        "--save-raw replays the pull",
    );
    let saved = files_under(&raw);
    (pulled, saved)
}

fn sweep_files(paths: &[PathBuf], since: &str, until: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("files.json");
    let output = auditsweep(
        &[
            "sweep",
            "--since",
            since,
            "--until",
            until,
            "--out",
            out.to_str().unwrap(),
        ],
        paths,
    );
    report(&output, &out)
}

#[test]
fn azure_pulled_is_azure_from_files() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(azure_server::Server::start());
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), azure_server::SECRET).unwrap();
    let config = format!(
        r#"
[pull]
history_days = 0

[[tenant]]
name = "acme"
provider = "azure"
subscriptions = ["{subscription}"]
directory = "{tenant}"
cost_scopes = ["subscriptions/{subscription}"]
auth = {{ method = "client-secret", tenant_id = "{tenant}", client_id = "{client}", secret_file = "{secret}" }}
[tenant.endpoints]
management = "{base}"
graph = "{base}"
authority = "{base}"
ca_file = "{ca}"
"#,
        subscription = azure_server::SUBSCRIPTION,
        tenant = azure_server::TENANT,
        client = azure_server::CLIENT,
        secret = secret.path().display(),
        base = server.base,
        ca = server.ca_file().display(),
    );
    let (pulled, saved) = pull_and_replay(&config, "2026-11-01", "2026-11-02");
    assert!(saved.len() >= 9, "{saved:?}");

    // A source that fails past its retries: the others are judged, the report names it, exit 2.
    let dir = tempfile::tempdir().unwrap();
    let failing = dir.path().join("auditsweep.toml");
    std::fs::write(
        &failing,
        config.replace("history_days = 0", "history_days = 0\nattempts = 1"),
    )
    .unwrap();
    server.inject(vec![auditsweep_source::conformance::Fault::ServerError]);
    let out = dir.path().join("partial.json");
    let output = auditsweep(
        &[
            "sweep",
            "--pull",
            "--config",
            failing.to_str().unwrap(),
            "--since",
            "2026-11-01",
            "--until",
            "2026-11-02",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let partial: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let warnings = partial["warnings"].to_string();
    assert!(warnings.contains("the pull stopped after"), "{warnings}");
    assert!(warnings.contains("HTTP 5"), "{warnings}");
    assert!(
        partial["inputs"]["events"].as_u64().unwrap() > 0,
        "the other sources were judged"
    );
    // The server answers with its fixture pages as they are: the same files, swept directly,
    // give the same report (October's cost page lies outside the window).
    let fixtures: Vec<PathBuf> = files_under(&azure_server::data_dir())
        .into_iter()
        .filter(|path| !path.to_string_lossy().contains("2026-10"))
        .collect();
    let from_files = sweep_files(&fixtures, "2026-11-01", "2026-11-02");
    let inputs = &from_files["inputs"];
    assert!(inputs["events"].as_u64().unwrap() >= 12, "{inputs}");
    assert!(inputs["billing_rows"].as_u64().unwrap() >= 2, "{inputs}");
    assert_eq!(inputs["skipped"], 0, "{inputs}");
    same(judged(pulled), judged(from_files), "pulled and from files");
}

#[test]
fn gcp_pulled_is_gcp_from_files() {
    let server = gcp_server::Server::start();
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("adc.json");
    std::fs::write(&credentials, server.user_credentials()).unwrap();
    let config = format!(
        r#"
[pull]
history_days = 2

[[tenant]]
name = "example"
provider = "gcp"
projects = ["example-prod-481516"]
organization = "123456789012"
workspace_login = true
requests_per_minute = 60000
credentials_file = "{credentials}"
[tenant.endpoints]
logging = "{url}"
token = "{url}/token"
"#,
        credentials = credentials.display(),
        url = server.url,
    );
    let (pulled, saved) = pull_and_replay(&config, "2024-09-19", "2024-09-20");
    assert!(!saved.is_empty());
    // The same records from a file: the server's entries that the tenant's sources select (the
    // project's and the organization's activity and system-event logs, and Workspace logins),
    // inside the window pulled (from two days before --since to the end of --until).
    let selected: Vec<Value> = gcp_server::log_entries()
        .into_iter()
        .filter(|entry| {
            let log = entry["logName"].as_str().unwrap();
            let time = entry["timestamp"].as_str().unwrap();
            let scope = log.starts_with("projects/example-prod-481516/")
                || log.starts_with("organizations/123456789012/");
            let login = entry["protoPayload"]["serviceName"] == "login.googleapis.com";
            let kind = log.ends_with("%2Factivity")
                || log.ends_with("%2Fsystem_event")
                || (login && log.starts_with("organizations/") && log.ends_with("%2Fdata_access"));
            scope && kind && ("2024-09-17".."2024-09-21").contains(&time)
        })
        .collect();
    assert!(selected.len() >= 5, "{}", selected.len());
    let file = dir.path().join("entries.json");
    std::fs::write(&file, serde_json::to_vec(&selected).unwrap()).unwrap();
    let from_files = sweep_files(&[file], "2024-09-19", "2024-09-20");
    assert_eq!(from_files["inputs"]["events"], selected.len() as u64);
    same(judged(pulled), judged(from_files), "pulled and from files");
}

#[test]
fn aws_pulled_from_the_trail_bucket_is_aws_from_files() {
    let moto = aws_common::Moto::start();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/aws");
    let trail = demo.join("AWSLogs");
    let put = |target: &str, body: &[u8]| {
        let (status, _, answer) = aws_common::http(moto.port, "PUT", target, &[], body).unwrap();
        assert_eq!(
            status,
            200,
            "{target}: {}",
            String::from_utf8_lossy(&answer)
        );
    };
    // The demo's trail, under the keys CloudTrail writes.
    put("/acme-cloudtrail", b"");
    let files = files_under(&trail);
    assert!(files.len() > 100);
    for file in &files {
        let key = file.strip_prefix(&demo).unwrap().display().to_string();
        put(
            &format!("/acme-cloudtrail/{key}"),
            &std::fs::read(file).unwrap(),
        );
    }
    let config = format!(
        r#"
[pull]
history_days = 0

[[tenant]]
name = "acme"
provider = "aws"
accounts = ["828501414602"]
regions = ["us-east-1", "ap-northeast-2", "eu-central-1", "eu-west-3", "me-central-1"]
lookup_events = false

[tenant.trail_bucket]
bucket = "acme-cloudtrail"

[tenant.credentials]
access_key_id_env = "AUDITSWEEP_TEST_AWS_KEY_ID"
secret_access_key_env = "AUDITSWEEP_TEST_AWS_SECRET"
session_token_env = "AUDITSWEEP_TEST_AWS_TOKEN"

[tenant.endpoints]
s3 = "{url}"
s3_force_path_style = true
"#,
        url = moto.url(),
    );
    let env = [
        ("AUDITSWEEP_TEST_AWS_KEY_ID", aws_common::KEY_ID),
        ("AUDITSWEEP_TEST_AWS_SECRET", aws_common::SECRET),
        ("AUDITSWEEP_TEST_AWS_TOKEN", aws_common::SESSION_TOKEN),
    ];
    // The trail is listed for each day of the window and the next (late deliveries).
    let (pulled, saved) = pull_and_replay_with(&config, "2025-03-03", "2025-03-15", &env);
    assert_eq!(saved.len(), files.len());
    let from_files = sweep_files(&[trail], "2025-03-03", "2025-03-15");
    assert!(!from_files["findings"].as_array().unwrap().is_empty());
    same(
        judged(pulled),
        judged(from_files),
        "aws pulled and from files",
    );
}
