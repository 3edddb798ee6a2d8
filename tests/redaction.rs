//! Secrets planted in records of every provider must be absent from every output of the binary:
//! normalized records, the report, stderr (logs and the summary) and skip examples. Each planted
//! marker must also leave its `[REDACTED:<name>]` tag, so the test fails if a field stops being
//! written rather than passing because nothing was written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

/// (marker, the tag that must replace it in `normalize` output).
const PLANTED: &[(&str, &str)] = &[
    ("SASSIGMARKER0001", "[REDACTED:signature-parameter]"),
    ("JWTSIGMARKER0002", "[REDACTED:jwt]"),
    ("URLPASSMARKER0003", "[REDACTED:url-userinfo]"),
    ("PEMKEYMARKER0004", "[REDACTED:pem-block]"),
    ("UATOKENMARKER0005", "[REDACTED:bearer]"),
];

/// In the first bytes of a file no format knows: echoed by the skip message if not redacted.
const UNKNOWN_FILE_MARKER: &str = "UNKNOWNFILEMARKER0006";

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_auditsweep"))
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_vec(value).unwrap()).unwrap();
}

/// One record per provider, each carrying planted secrets where real records have carried them.
fn planted_inputs(dir: &Path) {
    let cloudtrail = json!({"Records": [{
        "eventVersion": "1.08", "eventTime": "2024-03-01T10:00:00Z",
        "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances", "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15.0 Authorization: Bearer UATOKENMARKER0005abcdef",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice",
                         "accountId": "111122223333", "userName": "alice"},
        "errorCode": "Client.UnauthorizedOperation",
        "errorMessage": "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.JWTSIGMARKER0002 rejected by https://proxy:URLPASSMARKER0003@proxy.internal.example:3128/",
        "requestParameters": {"instanceType": "p3.2xlarge", "minCount": 1, "maxCount": 1},
        "responseElements": null, "recipientAccountId": "111122223333",
        "eventID": "0f1e2d3c-0000-4000-8000-000000000001", "eventType": "AwsApiCall"
    }]});
    write_json(&dir.join("cloudtrail.json"), &cloudtrail);
    let activity = json!({"records": [{
        "time": "2024-03-01T10:05:00Z",
        "resourceId": "/subscriptions/5f2c8a61-3d4e-4b7a-9c1d-2e3f4a5b6c7d/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1/blobServices/default?sv=2022-11-02&sp=rl&sig=SASSIGMARKER0001%3D",
        "operationName": "MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION",
        "category": "Administrative", "resultType": "Success", "resultSignature": "Succeeded.",
        "callerIpAddress": "203.0.113.7"
    }]});
    write_json(&dir.join("activity.json"), &activity);
    let gcp = json!({
        "logName": "projects/p-1/logs/cloudaudit.googleapis.com%2Factivity",
        "timestamp": "2024-03-01T10:10:00Z", "insertId": "x1",
        "resource": {"type": "gce_instance", "labels": {"project_id": "p-1", "zone": "us-central1-a"}},
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "serviceName": "compute.googleapis.com", "methodName": "v1.compute.instances.insert",
            "resourceName": "projects/p-1/zones/us-central1-a/instances/x",
            "authenticationInfo": {"principalEmail": "ops@example.com"},
            "requestMetadata": {"callerIp": "203.0.113.7"},
            "status": {"code": 3, "message": "bad startup key -----BEGIN RSA PRIVATE KEY-----\nMIIEPEMKEYMARKER0004\n-----END RSA PRIVATE KEY-----"}
        }
    });
    std::fs::write(dir.join("gcp.ndjson"), format!("{gcp}\n")).unwrap();
    std::fs::write(
        dir.join("notes.txt"),
        format!("password={UNKNOWN_FILE_MARKER} and nothing else\n"),
    )
    .unwrap();
}

fn run(command: &mut Command) -> (Output, String) {
    let output = command.output().expect("the binary runs");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output, all)
}

#[test]
fn planted_secrets_never_leave_the_tool() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("inputs");
    std::fs::create_dir(&inputs).unwrap();
    planted_inputs(&inputs);

    let (normalized, normalize_all) = run(binary().arg("normalize").arg(&inputs));
    assert_eq!(
        String::from_utf8_lossy(&normalized.stdout).lines().count(),
        3,
        "{normalize_all}"
    );
    let report_path = dir.path().join("report.json");
    let (_, sweep_all) = run(binary()
        .args(["sweep", "--out"])
        .arg(&report_path)
        .arg(&inputs));
    let report = std::fs::read_to_string(&report_path).unwrap();
    let stdout = String::from_utf8_lossy(&normalized.stdout);
    for (marker, tag) in PLANTED {
        for (output, text) in [
            ("normalize", &normalize_all),
            ("sweep", &sweep_all),
            ("report", &report),
        ] {
            assert!(!text.contains(marker), "{marker} in {output}: {text}");
        }
        assert!(stdout.contains(tag), "{tag} missing: {stdout}");
    }
    // The unknown file is skipped, and its skip (stderr, report) names what it saw, redacted.
    for (output, text) in [
        ("normalize", &normalize_all),
        ("sweep", &sweep_all),
        ("report", &report),
    ] {
        assert!(!text.contains(UNKNOWN_FILE_MARKER), "{output}: {text}");
    }
    assert!(report.contains("unknown_format"), "{report}");
    assert!(report.contains("[REDACTED:secret-named-value]"), "{report}");
}

fn demo_tenant() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/demo/azure/dbc257d6-e27f-4d36-a173-233326ae56a5")
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The demo tenant's password spray, with one failed guess made under a "user name" that is a
/// password typed into the wrong field.
const TYPED_PASSWORD: &str = "Willow2025!Spring";

fn spray_with_a_typed_password(dir: &Path) -> PathBuf {
    let tenant = dir.join("tenant");
    copy_tree(&demo_tenant(), &tenant);
    let mut planted = false;
    for entry in std::fs::read_dir(tenant.join("signins")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if planted || !text.contains("45.79.3.19") {
            continue;
        }
        let mut page: Value = serde_json::from_str(&text).unwrap();
        let items = page["value"].as_array_mut().expect("a Graph page");
        let guess = items
            .iter_mut()
            .find(|item| {
                item["ipAddress"] == "45.79.3.19" && item["status"]["errorCode"] != json!(0)
            })
            .expect("a failed guess from the spraying address");
        guess["userPrincipalName"] = json!(TYPED_PASSWORD);
        write_json(&path, &page);
        planted = true;
    }
    assert!(planted, "the demo tenant has a spray from 45.79.3.19");
    tenant
}

fn sweep_report(tenant: &Path, config: Option<&Path>, out: &Path) -> String {
    let mut command = binary();
    command
        .args(["sweep", "--ip-ranges"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ip-ranges"))
        .arg("--out")
        .arg(out)
        .arg(tenant);
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    let (output, all) = run(&mut command);
    assert!(output.status.success(), "{all}");
    format!("{}{all}", std::fs::read_to_string(out).unwrap())
}

#[test]
fn a_password_typed_as_a_user_name_is_redacted_from_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let tenant = spray_with_a_typed_password(dir.path());

    // Turned off, the name reaches the finding: the planted guess is part of the incident.
    let off = dir.path().join("off.toml");
    std::fs::write(&off, "[redaction]\nfailed_user_names = false\n").unwrap();
    let shown = sweep_report(&tenant, Some(&off), &dir.path().join("off.json"));
    assert!(shown.contains(TYPED_PASSWORD), "the spray finding names it");

    let redacted = sweep_report(&tenant, None, &dir.path().join("on.json"));
    assert!(!redacted.contains(TYPED_PASSWORD), "{redacted}");
    assert!(redacted.contains("[REDACTED:failed-user-name]"));
    // Real accounts of the same spray stay named.
    assert!(redacted.contains("sam.nguyen@willowbrook-foods.com"));

    // Configured as a known principal, it is an account and stays.
    let known = dir.path().join("known.toml");
    std::fs::write(
        &known,
        format!("[redaction]\nknown_principals = [\"{TYPED_PASSWORD}\"]\n"),
    )
    .unwrap();
    let kept = sweep_report(&tenant, Some(&known), &dir.path().join("known.json"));
    assert!(kept.contains(TYPED_PASSWORD));
}

#[test]
fn normalize_redacts_a_failed_name_by_its_shape() {
    let dir = tempfile::tempdir().unwrap();
    let tenant = spray_with_a_typed_password(dir.path());
    let (output, all) = run(binary().arg("normalize").arg(tenant.join("signins")));
    assert!(output.status.success(), "{all}");
    assert!(!all.contains(TYPED_PASSWORD));
    assert!(all.contains("[REDACTED:failed-user-name]"));
    assert!(all.contains("sam.nguyen@willowbrook-foods.com"));
}

#[test]
fn a_bad_identity_pattern_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[redaction]\nidentity_pattern = \"(unclosed\"\n").unwrap();
    let (output, all) = run(binary()
        .args(["sweep", "--config"])
        .arg(&config)
        .arg(demo_tenant()));
    assert_eq!(output.status.code(), Some(2), "{all}");
    assert!(all.contains("redaction.identity_pattern"), "{all}");
}
