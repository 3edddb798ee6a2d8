//! The scheduled run with a live source (Azure, against the adapter's local server): each run
//! pulls from where the last one's cursor stopped, the overlap's records count once, billing is
//! asked once per final day, and a pull that fails resumes on the next run.

#[path = "../providers/azure/tests/server/mod.rs"]
mod azure_server;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use auditsweep_source::conformance::Fault;

fn run(config: &Path, now: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditsweep"))
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("AUDITSWEEP_TEST_NOW", now)
        .args(["run", "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

/// The numbers of the run's summary line.
fn summary(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr
        .lines()
        .find(|line| line.contains("auditsweep run:"))
        .unwrap_or_else(|| panic!("no summary line: {stderr}"))
        .to_string()
}

fn number_before(line: &str, words: &str) -> u64 {
    let at = line
        .find(words)
        .unwrap_or_else(|| panic!("{words:?} in {line}"));
    line[..at]
        .trim_end()
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

struct Setup {
    runtime: tokio::runtime::Runtime,
    server: azure_server::Server,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(attempts: u32) -> (Setup, std::path::PathBuf) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = runtime.block_on(azure_server::Server::start());
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, azure_server::SECRET).unwrap();
        let config = dir.path().join("auditsweep.toml");
        std::fs::write(
            &config,
            format!(
                r#"
[run]
state = "{state}"

[pull]
history_days = 5
attempts = {attempts}

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
                state = dir.path().join("state.db").display(),
                subscription = azure_server::SUBSCRIPTION,
                tenant = azure_server::TENANT,
                client = azure_server::CLIENT,
                secret = secret.display(),
                base = server.base,
                ca = server.ca_file().display(),
            ),
        )
        .unwrap();
        (
            Setup {
                runtime,
                server,
                dir,
            },
            config,
        )
    }

    /// The days and months the server was asked for since the last call.
    fn asked(&self) -> Vec<String> {
        let seen = self.server.requests();
        self.server.state.lock().unwrap().requests.clear();
        seen.iter()
            .filter(|seen| !seen.path.contains("oauth2"))
            .map(|seen| {
                let filter = seen.query.get("$filter").cloned().unwrap_or_default();
                let from = filter
                    .split('\'')
                    .nth(1)
                    .or_else(|| filter.split(" ge ").nth(1))
                    .unwrap_or("")
                    .get(..10)
                    .unwrap_or("")
                    .to_string();
                let api = if seen.path.contains("CostManagement") {
                    "cost".to_string()
                } else {
                    seen.path.rsplit('/').next().unwrap_or("").to_string()
                };
                format!("{api} {from}")
            })
            .collect()
    }
}

#[test]
fn hourly_runs_pull_from_their_cursor_and_count_the_overlap_once() {
    let (setup, config) = Setup::new(6);
    // Noon on the 3rd: the five days before and the fixtures' 1st and 2nd of November.
    let first = run(&config, "2026-11-03T12:00:00Z");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let line = summary(&first);
    let records = number_before(&line, "new records");
    assert!(records >= 12, "{line}");
    assert!(line.contains("(0 sources failed)"), "{line}");
    let asked = setup.asked();
    assert!(
        asked.iter().any(|a| a.starts_with("values 2026-11-01")),
        "{asked:?}"
    );
    // Billing: whole days final by then (before Oct 31), so October's month only.
    let cost: Vec<_> = asked.iter().filter(|a| a.starts_with("cost")).collect();
    assert_eq!(cost.len(), 1, "{asked:?}");
    let pulled = setup.dir.path().join("state.db.pulled");
    assert!(pulled.join("azure/acme").is_dir());

    // An hour later: from a day before where the last pull ended, nothing of billing.
    let second = run(&config, "2026-11-03T13:00:00Z");
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let line = summary(&second);
    let asked = setup.asked();
    assert!(asked.iter().all(|a| !a.starts_with("cost")), "{asked:?}");
    assert!(asked.iter().any(|a| a.contains("2026-11-02")), "{asked:?}");
    assert!(asked.iter().all(|a| !a.contains("2026-11-01")), "{asked:?}");
    // The 2nd's records came again in the overlap: duplicates, not new records.
    assert_eq!(number_before(&line, "new records"), 0, "{line}");
    assert!(number_before(&line, "duplicates") > 0, "{line}");

    // A page saved longer ago than the retention goes; the others stay.
    let pages: Vec<_> = walkdir::WalkDir::new(&pulled)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    let old = &pages[0];
    let touched = Command::new("touch")
        .args(["-d", "2000-01-01"])
        .arg(old)
        .status()
        .unwrap();
    assert!(touched.success());
    let third = run(&config, "2026-11-03T14:00:00Z");
    assert!(
        third.status.success(),
        "{}",
        String::from_utf8_lossy(&third.stderr)
    );
    assert!(!old.exists(), "an expired page is removed");
    assert!(pages[1..].iter().all(|page| page.exists()));
    drop(setup.runtime);
}

#[test]
fn a_pull_that_fails_resumes_on_the_next_run_and_loses_nothing() {
    let (clean, clean_config) = Setup::new(1);
    let whole = summary(&run(&clean_config, "2026-11-03T12:00:00Z"));
    let all = number_before(&whole, "new records");
    drop(clean);

    let (setup, config) = Setup::new(1);
    // The first page answers, the second fails: with one attempt the pull stops there.
    setup.server.inject(vec![Fault::Pass, Fault::ServerError]);
    let failed = run(&config, "2026-11-03T12:00:00Z");
    assert_eq!(
        failed.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
    let line = summary(&failed);
    assert!(line.contains("(1 sources failed)"), "{line}");
    let before = number_before(&line, "new records");
    assert!(before < all, "{line}");
    // The next run, a minute later, resumes the interrupted window and pulls the rest.
    let resumed = run(&config, "2026-11-03T12:01:00Z");
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let line = summary(&resumed);
    assert_eq!(before + number_before(&line, "new records"), all, "{line}");
    drop(setup.runtime);
}
