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

#[test]
fn config_check_lists_what_each_cloud_would_pull_and_never_prints_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("auditsweep.toml");
    std::fs::write(
        &config,
        r#"
[[tenant]]
name = "acme-azure"
provider = "azure"
subscriptions = ["5f2c8a61-3d4e-4b7a-9c1d-2e3f4a5b6c7d"]
auth = { method = "client-secret", tenant_id = "7d3b4b5e-1f2a-4c3d-9e8f-0a1b2c3d4e5f", client_id = "0b5e3a1f-0000-4000-8000-0000000000c1", secret = "Zz9~inline-secret-never-printed" }

[[tenant]]
name = "acme-gcp"
provider = "gcp"
projects = ["example-prod-481516"]
organization = "123456789012"
workspace_login = true
"#,
    )
    .unwrap();
    let output = auditsweep(&["config", "check"], &config);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("tenant acme-azure (azure):"), "{out}");
    assert!(out.contains("tenant acme-gcp (gcp):"), "{out}");
    assert!(out.matches("would pull:").count() >= 4, "{out}");
    assert!(out.contains("warning:"), "{out}");
    assert!(!out.contains("inline-secret-never-printed"), "{out}");

    std::fs::write(
        &config,
        "[[tenant]]\nname = \"g\"\nprovider = \"gcp\"\nprojects = [\"p-1\"]\nworkspace_login = true\nbogus = 1\n",
    )
    .unwrap();
    let output = auditsweep(&["config", "check"], &config);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("bogus"), "{}", text(&output));
}

/// The full example of docs/configuration.md is a config `config check` reads: every key it
/// shows is one the adapters know. Only what depends on the machine (a CA file) may fail.
#[test]
fn the_documented_full_example_is_a_valid_config() {
    let docs = include_str!("../docs/configuration.md");
    let example = docs
        .split("### A full example")
        .nth(1)
        .and_then(|rest| rest.split("```toml\n").nth(1))
        .and_then(|block| block.split("```").next())
        .expect("docs/configuration.md has the full example");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("auditsweep.toml");
    std::fs::write(&config, example).unwrap();
    let output = auditsweep(&["config", "check"], &config);
    let out = text(&output);
    for tenant in ["acme-aws (aws)", "acme-azure (azure)", "acme-gcp (gcp)"] {
        assert!(out.contains(&format!("tenant {tenant}:")), "{out}");
    }
    assert!(out.matches("would pull:").count() >= 10, "{out}");
    for line in out.lines().filter(|line| line.contains("error:")) {
        assert!(line.contains("ca_file"), "{line}");
    }
}
