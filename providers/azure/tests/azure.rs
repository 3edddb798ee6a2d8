//! The adapter against the local server (tests/server): the real azure_identity
//! ClientSecretCredential fetching tokens from it, every source through the conformance test,
//! and the requests each source sends, as Microsoft documents them.

mod server;

use std::collections::BTreeSet;

use auditsweep_azure::TenantConfig;
use auditsweep_source::conformance::{check, Harness};
use auditsweep_source::{pull, Page, PullError, RetryPolicy, Source, Window};
use serde_json::Value;
use server::*;

fn window(start: &str, end: &str) -> Window {
    Window {
        start: start.parse().unwrap(),
        end: end.parse().unwrap(),
    }
}

/// Two days, each with several pages.
fn days() -> Window {
    window("2026-11-01T00:00:00Z", "2026-11-03T00:00:00Z")
}

struct Setup {
    server: Server,
    secret: tempfile::NamedTempFile,
}

async fn setup() -> Setup {
    let server = Server::start().await;
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), format!("{SECRET}\n")).unwrap();
    Setup { server, secret }
}

impl Setup {
    fn config(&self, sources: &str) -> TenantConfig {
        let text = format!(
            r#"
subscriptions = ["{SUBSCRIPTION}"]
sources = [{sources}]
auth = {{ method = "client-secret", tenant_id = "{TENANT}", client_id = "{CLIENT}", secret_file = "{secret}" }}
timeout_secs = 10
[endpoints]
management = "{base}"
graph = "{base}"
authority = "{base}"
ca_file = "{ca}"
"#,
            secret = self.secret.path().display(),
            base = self.server.base,
            ca = self.server.ca_file().display(),
        );
        toml::from_str(&text).unwrap()
    }

    async fn source(&self, kind: &str) -> Box<dyn Source> {
        let mut sources = self
            .config(&format!("{kind:?}"))
            .sources("acme")
            .await
            .unwrap();
        assert_eq!(sources.len(), 1);
        sources.remove(0)
    }
}

/// Event ids of a page: Activity Log `eventDataId`, Graph `id`, a cost row's day and service.
fn ids(page: &Page) -> Vec<String> {
    let document: Value = serde_json::from_slice(&page.bytes).unwrap();
    if let Some(rows) = document["properties"]["rows"].as_array() {
        return rows
            .iter()
            .map(|row| format!("{}/{}", row[1], row[2].as_str().unwrap()))
            .collect();
    }
    document["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            item.get("eventDataId")
                .unwrap_or(&item["id"])
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

async fn conformance(kind: &str, window: Window) {
    let setup = setup().await;
    let runtime = tokio::runtime::Handle::current();
    let config = setup.config(&format!("{kind:?}"));
    let source = move || -> Box<dyn Source> {
        let config = config.clone();
        tokio::task::block_in_place(|| runtime.block_on(config.sources("acme")))
            .unwrap()
            .remove(0)
    };
    let inject = |faults| setup.server.inject(faults);
    check(&Harness {
        source: &source,
        window,
        inject: &inject,
        ids: &ids,
        // The client secret and the access tokens the server will issue (it numbers them).
        secrets: std::iter::once(SECRET.to_string())
            .chain((1..=9).map(|n| format!("test-access-token-{n}")))
            .collect(),
    })
    .await;
    let issued = setup.server.issued();
    assert!(
        issued.len() >= 2,
        "a refused token was refreshed: {issued:?}"
    );
    assert!(
        issued.len() <= 9,
        "more tokens than the secrets checked: {issued:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_log_passes_the_conformance_test() {
    conformance("activity-log", days()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_pass_the_conformance_test() {
    conformance("signins", days()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_audits_pass_the_conformance_test() {
    conformance("directory-audits", days()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_passes_the_conformance_test() {
    conformance(
        "cost",
        window("2026-10-31T00:00:00Z", "2026-11-03T00:00:00Z"),
    )
    .await;
}

/// Pulls every page of `source`, returning the pages.
async fn pull_all(source: &dyn Source, window: Window) -> Vec<(String, Page)> {
    let mut pages = Vec::new();
    let mut sink = |stream: &auditsweep_source::Stream, page: Page| {
        pages.push((stream.key.clone(), page));
        Ok(())
    };
    pull(source, window, None, &RetryPolicy::default(), &mut sink)
        .await
        .map_err(|(_, error)| error)
        .unwrap();
    pages
}

/// The fixture as served: only `{{next}}` differs, so the adapter's bytes must hold the same
/// records.
fn fixture_items(name: &str, pointer: &str) -> Value {
    let text = data(name).unwrap().replace("{{next}}", "x");
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .pointer(pointer)
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_activity_log_is_asked_per_day_with_the_documented_filter() {
    let setup = setup().await;
    let source = setup.source("activity-log").await;
    assert_eq!(
        source.id(),
        format!("azure/acme/activity-log/{SUBSCRIPTION}")
    );
    let pages = pull_all(&*source, days()).await;
    let keys: Vec<_> = pages
        .iter()
        .map(|(key, page)| (key.as_str(), page.records))
        .collect();
    assert_eq!(
        keys,
        [("2026-11-01", 2), ("2026-11-01", 1), ("2026-11-02", 2)]
    );
    for (page, fixture) in pages.iter().zip([
        "activity-log.2026-11-01.1.json",
        "activity-log.2026-11-01.2.json",
        "activity-log.2026-11-02.1.json",
    ]) {
        let document: Value = serde_json::from_slice(&page.1.bytes).unwrap();
        assert_eq!(document["value"], fixture_items(fixture, "/value"));
        assert_eq!(page.1.extension, "json");
    }
    let requests = setup.server.requests();
    assert_eq!(requests.len(), 3);
    let path = format!(
        "/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Insights/eventtypes/management/values"
    );
    let token = setup.server.issued()[0].clone();
    for request in &requests {
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("GET", path.as_str())
        );
        assert_eq!(request.query["api-version"], "2015-04-01");
        assert_eq!(request.bearer.as_deref(), Some(token.as_str()));
    }
    assert_eq!(
        requests[0].query["$filter"],
        "eventTimestamp ge '2026-11-01T00:00:00.0000000Z' and eventTimestamp le '2026-11-01T23:59:59.9999999Z'"
    );
    // The second page is the link as given: same filter, plus the server's skip token.
    assert_eq!(requests[1].query["$filter"], requests[0].query["$filter"]);
    assert_eq!(requests[1].query["$skiptoken"], "activity-log.2026-11-01.2");
    assert_eq!(
        requests[2].query["$filter"],
        "eventTimestamp ge '2026-11-02T00:00:00.0000000Z' and eventTimestamp le '2026-11-02T23:59:59.9999999Z'"
    );
    // One token, for Resource Manager's audience, by the client-credentials grant.
    let tokens = setup.server.token_requests();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["scope"], MANAGEMENT_SCOPE);
    assert_eq!(tokens[0]["grant_type"], "client_credentials");
    assert_eq!(tokens[0]["client_id"], CLIENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_is_asked_with_the_documented_filters_and_audience() {
    let setup = setup().await;
    let config = setup.config(r#""signins", "directory-audits""#);
    let sources = config.sources("acme").await.unwrap();
    let ids: Vec<_> = sources.iter().map(|s| s.id().to_string()).collect();
    assert_eq!(
        ids,
        [
            format!("azure/acme/signins/{TENANT}"),
            format!("azure/acme/directory-audits/{TENANT}")
        ]
    );
    let signins = pull_all(&*sources[0], days()).await;
    assert_eq!(signins.iter().map(|(_, p)| p.records).sum::<u64>(), 4);
    let audits = pull_all(&*sources[1], days()).await;
    assert_eq!(audits.iter().map(|(_, p)| p.records).sum::<u64>(), 3);
    let document: Value = serde_json::from_slice(&signins[0].1.bytes).unwrap();
    assert_eq!(
        document["value"],
        fixture_items("signins.2026-11-01.1.json", "/value")
    );
    let requests = setup.server.requests();
    let first = |path: &str| {
        requests
            .iter()
            .filter(|r| r.path == path && !r.query.contains_key("$skiptoken"))
            .map(|r| r.query["$filter"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        first("/v1.0/auditLogs/signIns"),
        [
            "createdDateTime ge 2026-11-01T00:00:00.0000000Z and createdDateTime le 2026-11-01T23:59:59.9999999Z",
            "createdDateTime ge 2026-11-02T00:00:00.0000000Z and createdDateTime le 2026-11-02T23:59:59.9999999Z"
        ]
    );
    assert_eq!(
        first("/v1.0/auditLogs/directoryAudits"),
        [
            "activityDateTime ge 2026-11-01T00:00:00.0000000Z and activityDateTime le 2026-11-01T23:59:59.9999999Z",
            "activityDateTime ge 2026-11-02T00:00:00.0000000Z and activityDateTime le 2026-11-02T23:59:59.9999999Z"
        ]
    );
    assert!(requests
        .iter()
        .any(|r| r.query.get("$skiptoken").map(String::as_str) == Some("signins.2026-11-01.2")));
    // The two Graph sources share one token for Graph's audience.
    let scopes: Vec<_> = setup
        .server
        .token_requests()
        .iter()
        .map(|f| f["scope"].clone())
        .collect();
    assert_eq!(scopes, [GRAPH_SCOPE]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_posts_the_documented_query_and_posts_it_again_to_the_next_link() {
    let setup = setup().await;
    let source = setup.source("cost").await;
    assert_eq!(source.id(), format!("azure/acme/cost/{SUBSCRIPTION}"));
    let pages = pull_all(
        &*source,
        window("2026-10-31T00:00:00Z", "2026-11-03T00:00:00Z"),
    )
    .await;
    let keys: Vec<_> = pages
        .iter()
        .map(|(key, page)| (key.as_str(), page.records))
        .collect();
    assert_eq!(keys, [("2026-10", 2), ("2026-11", 2), ("2026-11", 1)]);
    let requests = setup.server.requests();
    let path = format!("/subscriptions/{SUBSCRIPTION}/providers/Microsoft.CostManagement/query");
    let bodies: Vec<Value> = requests
        .iter()
        .map(|r| {
            assert_eq!(
                (r.method.as_str(), r.path.as_str()),
                ("POST", path.as_str())
            );
            assert_eq!(r.query["api-version"], "2023-11-01");
            serde_json::from_str(&r.body).unwrap()
        })
        .collect();
    assert_eq!(
        bodies[0],
        serde_json::json!({
            "type": "ActualCost",
            "timeframe": "Custom",
            "timePeriod": {"from": "2026-10-31T00:00:00Z", "to": "2026-10-31T23:59:59Z"},
            "dataset": {
                "granularity": "Daily",
                "aggregation": {"totalCost": {"name": "PreTaxCost", "function": "Sum"}},
                "grouping": [{"type": "Dimension", "name": "ServiceName"}]
            }
        })
    );
    assert_eq!(
        bodies[1]["timePeriod"],
        serde_json::json!({"from": "2026-11-01T00:00:00Z", "to": "2026-11-02T23:59:59Z"})
    );
    assert_eq!(
        bodies[2], bodies[1],
        "the next link is posted the same body"
    );
    assert_eq!(requests[2].query["$skiptoken"], "cost.2026-11.2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_fails_at_once_and_never_shows_the_secret() {
    let setup = setup().await;
    std::fs::write(setup.secret.path(), "not-the-secret-Zz9").unwrap();
    let source = setup.source("activity-log").await;
    let mut sink = |_: &auditsweep_source::Stream, _: Page| Ok(());
    let (cursor, error) = pull(&*source, days(), None, &RetryPolicy::default(), &mut sink)
        .await
        .expect_err("a refused secret stops the pull");
    assert!(matches!(error, PullError::Fatal(_)), "{error:?}");
    assert!(error.to_string().contains("AADSTS7000215"), "{error}");
    assert!(!error.to_string().contains("not-the-secret-Zz9"));
    assert!(!cursor.complete);
    assert!(
        setup.server.requests().is_empty(),
        "no API call without a token"
    );
    // azure_core retries a token request itself only for transient answers: one request.
    assert_eq!(setup.server.token_requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_for_another_audience_is_refused_and_the_refusal_is_not_looped_on() {
    // Through a sovereign-cloud setting the adapter asks for US Government audiences, which
    // this public-cloud server refuses: the pull ends after its retries, with the server's code.
    let setup = setup().await;
    let mut config = setup.config(r#""activity-log""#);
    config.endpoints.cloud = auditsweep_azure::Cloud::UsGovernment;
    let source = config.sources("acme").await.unwrap().remove(0);
    let policy = RetryPolicy {
        attempts: 3,
        base: std::time::Duration::from_millis(1),
        max_wait: std::time::Duration::from_millis(10),
    };
    let mut sink = |_: &auditsweep_source::Stream, _: Page| Ok(());
    let (_, error) = pull(&*source, days(), None, &policy, &mut sink)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, PullError::Unauthorized(m) if m.contains("InvalidAuthenticationToken")),
        "{error:?}"
    );
    let scopes: BTreeSet<_> = setup
        .server
        .token_requests()
        .iter()
        .map(|f| f["scope"].clone())
        .collect();
    assert_eq!(
        scopes,
        BTreeSet::from(["https://management.usgovcloudapi.net/.default".to_string()])
    );
    // Each refusal got a new token before the next try.
    assert_eq!(setup.server.token_requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_identity_exchanges_its_federated_token() {
    let setup = setup().await;
    let assertion = "eyJhbGciOiJSUzI1NiJ9.federated-service-account-token.sig";
    setup.server.state.lock().unwrap().assertion = Some(assertion.to_string());
    let token_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(token_file.path(), assertion).unwrap();
    let mut config = setup.config(r#""activity-log""#);
    config.auth = toml::from_str::<toml::Table>(&format!(
        "method = \"workload-identity\"\ntenant_id = \"{TENANT}\"\nclient_id = \"{CLIENT}\"\ntoken_file = \"{}\"",
        token_file.path().display()
    ))
    .unwrap()
    .try_into()
    .unwrap();
    let source = config.sources("acme").await.unwrap().remove(0);
    let pages = pull_all(&*source, days()).await;
    assert_eq!(pages.iter().map(|(_, p)| p.records).sum::<u64>(), 5);
    let form = &setup.server.token_requests()[0];
    assert_eq!(form["client_assertion"], assertion);
    assert_eq!(
        form["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert_eq!(form["scope"], MANAGEMENT_SCOPE);
    assert!(!form.contains_key("client_secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_is_read_from_the_named_environment_variable() {
    let setup = setup().await;
    // A name no other test uses; the value is the one the server accepts.
    std::env::set_var("AUDITSWEEP_AZURE_TEST_SECRET", SECRET);
    let mut config = setup.config(r#""directory-audits""#);
    config.auth = toml::from_str::<toml::Table>(&format!(
        "method = \"client-secret\"\ntenant_id = \"{TENANT}\"\nclient_id = \"{CLIENT}\"\nsecret_env = \"AUDITSWEEP_AZURE_TEST_SECRET\""
    ))
    .unwrap()
    .try_into()
    .unwrap();
    assert!(config.check("acme").warnings.is_empty());
    let source = config.sources("acme").await.unwrap().remove(0);
    assert_eq!(pull_all(&*source, days()).await.len(), 3);
    assert_eq!(setup.server.token_requests()[0]["client_secret"], SECRET);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_cut_mid_page_is_retried() {
    let setup = setup().await;
    setup.server.state.lock().unwrap().cut = 2;
    let source = setup.source("signins").await;
    let pages = pull_all(&*source, days()).await;
    assert_eq!(pages.iter().map(|(_, p)| p.records).sum::<u64>(), 4);
    // Two cut answers and the three pages.
    assert_eq!(setup.server.requests().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_replaced_by_a_new_one_from_the_token_endpoint() {
    let setup = setup().await;
    let source = setup.source("directory-audits").await;
    setup
        .server
        .inject(vec![auditsweep_source::conformance::Fault::ExpiredToken]);
    let pages = pull_all(&*source, days()).await;
    assert_eq!(pages.iter().map(|(_, p)| p.records).sum::<u64>(), 3);
    let issued = setup.server.issued();
    assert_eq!(issued.len(), 2, "one token, then one after the refusal");
    let bearers: Vec<_> = setup
        .server
        .requests()
        .iter()
        .map(|r| r.bearer.clone().unwrap())
        .collect();
    // The refused request, its retry with the new token, and the other pages with it too.
    assert_eq!(bearers[0], issued[0]);
    assert!(bearers[1..].iter().all(|b| *b == issued[1]), "{bearers:?}");
    assert_eq!(bearers.len(), 4);
    let scopes: Vec<_> = setup
        .server
        .token_requests()
        .iter()
        .map(|f| f["scope"].clone())
        .collect();
    assert_eq!(scopes, [GRAPH_SCOPE, GRAPH_SCOPE]);
}
