//! `sweep --pull` and `config check` from the command line: what they refuse and what they say.
//! The adapters' own end-to-end tests run against local servers in `providers/*/tests`.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn auditsweep(args: &[&str], config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditsweep"))
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .args(args)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn config_check_validates_the_example_and_says_nothing_would_be_pulled() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("auditsweep.example.toml");
    let output = auditsweep(&["config", "check"], &example);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("valid"), "{}", text(&output));
}

#[test]
fn config_check_names_a_bad_tenant_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("auditsweep.toml");
    for (body, expected) in [
        (
            "[[tenant]]\nname = \"../x\"\nprovider = \"aws\"\n",
            "tenant[0].name must be unique",
        ),
        (
            "[[tenant]]\nname = \"a\"\nprovider = \"aws\"\n[[tenant]]\nname = \"a\"\nprovider = \"gcp\"\n",
            "tenant[1].name must be unique",
        ),
        (
            "[[tenant]]\nname = \"a\"\nprovider = \"oracle\"\n",
            "unknown variant `oracle`",
        ),
    ] {
        std::fs::write(&config, body).unwrap();
        let output = auditsweep(&["config", "check"], &config);
        assert_eq!(output.status.code(), Some(2), "{body}: {}", text(&output));
        assert!(text(&output).contains(expected), "{body}: {}", text(&output));
    }
}

#[test]
fn a_pull_without_tenants_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("auditsweep.toml");
    std::fs::write(&config, "").unwrap();
    let output = auditsweep(&["sweep", "--pull"], &config);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("declares no [[tenant]]"),
        "{}",
        text(&output)
    );
}
