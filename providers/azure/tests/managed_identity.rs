//! The `managed-identity` method with the real ManagedIdentityCredential, as it runs on App
//! Service: `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` point it at the local server (the VM's
//! IMDS at 169.254.169.254 is an address a test must not reach). Its own test binary, because
//! it sets those variables for the process.

mod server;

use auditsweep_azure::TenantConfig;
use auditsweep_source::{pull, Page, RetryPolicy, Stream, Window};
use server::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_assigned_identity_gets_its_token_from_the_identity_endpoint() {
    let server = Server::start().await;
    std::env::set_var("IDENTITY_ENDPOINT", format!("{}/msi/token", server.base));
    std::env::set_var("IDENTITY_HEADER", IDENTITY_HEADER);
    let config: TenantConfig = toml::from_str(&format!(
        r#"
subscriptions = ["{SUBSCRIPTION}"]
sources = ["cost"]
auth = {{ method = "managed-identity", client_id = "{CLIENT}" }}
[endpoints]
management = "{base}"
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
    assert_eq!(records, 3);
    let requests = server.token_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["api-version"], "2019-08-01");
    assert_eq!(requests[0]["resource"], "https://management.azure.com");
    assert_eq!(requests[0]["client_id"], CLIENT);
    assert_eq!(requests[0]["x-identity-header"], IDENTITY_HEADER);
}
