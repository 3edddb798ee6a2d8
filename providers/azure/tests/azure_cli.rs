//! The `azure-cli` method with the real AzureCliCredential, which runs `az account
//! get-access-token`: a stand-in `az` on `PATH` records its arguments and prints a token in the
//! CLI's documented JSON. Its own test binary, because it changes `PATH` for the process.

mod server;

use auditsweep_azure::TenantConfig;
use auditsweep_source::{pull, Page, RetryPolicy, Stream, Window};
use server::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_azure_cli_s_token_is_used_for_its_scope() {
    let server = Server::start().await;
    let bin = tempfile::tempdir().unwrap();
    let log = bin.path().join("az.log");
    let az = bin.path().join("az");
    std::fs::write(
        &az,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nprintf '{{\"accessToken\": \"cli-token-1\", \"expiresOn\": \"2099-01-01 00:00:00.000000\", \"expires_on\": %s, \"subscription\": \"{SUBSCRIPTION}\", \"tenant\": \"{TENANT}\", \"tokenType\": \"Bearer\"}}' $(( $(date +%s) + 3600 ))\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&az, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    std::env::set_var("PATH", path);
    server
        .state
        .lock()
        .unwrap()
        .tokens
        .insert("cli-token-1".into(), (MANAGEMENT_SCOPE.into(), false));

    let config: TenantConfig = toml::from_str(&format!(
        r#"
subscriptions = ["{SUBSCRIPTION}"]
sources = ["activity-log"]
auth = {{ method = "azure-cli", tenant_id = "{TENANT}" }}
[endpoints]
management = "{base}"
authority = "{base}"
ca_file = "{ca}"
"#,
        base = server.base,
        ca = server.ca_file().display(),
    ))
    .unwrap();
    let source = config.sources("acme").await.unwrap().remove(0);
    let window = Window {
        start: "2026-11-01T00:00:00Z".parse().unwrap(),
        end: "2026-11-03T00:00:00Z".parse().unwrap(),
    };
    let mut records = 0;
    let mut sink = |_: &Stream, page: Page| {
        records += page.records;
        Ok(())
    };
    pull(&*source, window, None, &RetryPolicy::default(), &mut sink)
        .await
        .map_err(|(_, error)| error)
        .unwrap();
    assert_eq!(records, 5);
    let calls = std::fs::read_to_string(&log).unwrap();
    let first = calls.lines().next().unwrap();
    assert_eq!(
        first,
        format!("account get-access-token -o json --scope {MANAGEMENT_SCOPE} --tenant {TENANT}")
    );
    assert!(server
        .requests()
        .iter()
        .all(|r| r.bearer.as_deref() == Some("cli-token-1")));
    assert!(
        server.token_requests().is_empty(),
        "the CLI, not the token endpoint, gave the token"
    );
}
