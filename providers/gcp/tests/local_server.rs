//! The GCP adapter against a local server on 127.0.0.1 that replays documented records:
//! real `google-cloud-auth` user credentials whose token exchange and refresh go to the local
//! token endpoint, the shared conformance test for every source, the pages compared with the
//! records they came from, and the requests' filters, bounds and tokens.

mod server;

use std::time::{Duration, Instant};

use auditsweep_gcp::TenantConfig;
use auditsweep_source::conformance::{self, Harness};
use auditsweep_source::{pull, Page, RetryPolicy, Source, Window};
use serde_json::{json, Value};
use server::Server;

const TABLE: &str = "example-billing.billing_export.gcp_billing_export_v1_012345_6789AB_CDEF01";
const PROJECT_LOGS: &str = "projects/example-prod-481516/logs/cloudaudit.googleapis.com%2F";
const ORG_LOGS: &str = "organizations/123456789012/logs/cloudaudit.googleapis.com%2F";

fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
    text.parse().unwrap()
}

/// Two whole days and six hours of a third.
fn window() -> Window {
    Window {
        start: at("2024-09-18T00:00:00Z"),
        end: at("2024-09-20T06:00:00Z"),
    }
}

/// A tenant pointed at the server. The credentials file's own `token_uri` names a port where
/// nothing listens, so only `endpoints.token` can make the exchange work.
fn tenant(server: &Server, dir: &tempfile::TempDir, extra: Value) -> TenantConfig {
    let mut credentials: Value = serde_json::from_str(&server.user_credentials()).unwrap();
    credentials["token_uri"] = "http://127.0.0.1:9/token".into();
    let file = dir.path().join("application_default_credentials.json");
    std::fs::write(&file, credentials.to_string()).unwrap();
    let mut config = json!({
        "projects": ["example-prod-481516"],
        "organization": "123456789012",
        "workspace_login": true,
        "page_size": 2,
        "requests_per_minute": 60000,
        "billing": {"table": TABLE, "location": "US"},
        "buckets": [
            {"bucket": "example-audit-sink", "prefix": "cloudaudit.googleapis.com/"},
            {"bucket": "example-billing-files", "prefix": "billing/"},
        ],
        "credentials_file": file,
        "quota_project": "example-billing",
        "endpoints": {
            "logging": server.url,
            "bigquery": server.url,
            "storage": server.url,
            "token": format!("{}/token", server.url),
        },
    });
    for (key, value) in extra.as_object().unwrap() {
        config[key] = value.clone();
    }
    serde_json::from_value(config).unwrap()
}

/// `sources()` from synchronous code (the conformance harness makes sources in a closure).
fn sources(config: &TenantConfig) -> Vec<Box<dyn Source>> {
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(config.sources("acme"))
    })
    .expect("sources")
}

/// The provider's ids in a page: `insertId` of log entries, a key of billing rows, whatever
/// the envelope (an `entries.list` page, a JSON array, NDJSON, gzipped or not, CSV lines).
fn ids(page: &Page) -> Vec<String> {
    let bytes = if page.extension.ends_with(".gz") {
        let mut text = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&page.bytes[..]),
            &mut text,
        )
        .expect("gzip");
        text
    } else {
        page.bytes.clone()
    };
    if page.extension.starts_with("csv") {
        let text = String::from_utf8(bytes).unwrap();
        return text.lines().skip(1).map(str::to_string).collect();
    }
    let records: Vec<Value> = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Array(rows)) => rows,
        Ok(page) if page.get("entries").is_some() => page["entries"]
            .as_array()
            .expect("an entries array")
            .clone(),
        // NDJSON: one record a line.
        _ => bytes
            .split(|b| *b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| serde_json::from_slice(line).expect("an NDJSON line"))
            .collect(),
    };
    records
        .iter()
        .map(|record| match record["insertId"].as_str() {
            Some(id) => id.to_string(),
            None => format!(
                "{}|{}|{}|{}",
                record["sku"]["id"],
                record["project"]["id"],
                record["usage_start_time"],
                record["cost"]
            ),
        })
        .collect()
}

async fn pull_all(source: &dyn Source) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut sink = |_: &auditsweep_source::Stream, page: Page| {
        pages.push(page);
        Ok(())
    };
    pull(source, window(), None, &RetryPolicy::default(), &mut sink)
        .await
        .map_err(|(_, error)| error)
        .expect("a clean pull");
    pages
}

fn entries_of(pages: &[Page]) -> Vec<Value> {
    pages
        .iter()
        .flat_map(|page| {
            let value: Value = serde_json::from_slice(&page.bytes).unwrap();
            value["entries"]
                .as_array()
                .expect("an entries array")
                .clone()
        })
        .collect()
}

/// The fixture's entries that a query for these logs over the window must return, in time
/// order: worked out here, apart from the server's filter.
fn expected_entries(logs: &[&str], keep: impl Fn(&Value) -> bool) -> Vec<Value> {
    let window = window();
    let mut entries: Vec<Value> = server::log_entries()
        .into_iter()
        .filter(|e| {
            let time = at(e["timestamp"].as_str().unwrap());
            logs.contains(&e["logName"].as_str().unwrap())
                && time >= window.start
                && time < window.end
                && keep(e)
        })
        .collect();
    entries.sort_by_key(|e| at(e["timestamp"].as_str().unwrap()));
    entries
}

fn is_login(entry: &Value) -> bool {
    entry["protoPayload"]["serviceName"] == "login.googleapis.com"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_source_passes_the_conformance_test() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let config = tenant(&server, &dir, json!({}));
    let count = sources(&config).len();
    assert_eq!(
        count, 6,
        "project logs, organization logs, logins, billing, two buckets"
    );
    for index in 0..count {
        let make = || sources(&config).swap_remove(index);
        let inject = |faults| server.inject(faults);
        conformance::check(&Harness {
            source: &make,
            window: window(),
            inject: &inject,
            ids: &ids,
            secrets: vec![
                server::CLIENT_SECRET.into(),
                server::REFRESH_TOKEN.into(),
                server::TOKEN_PREFIX.into(),
            ],
        })
        .await;
    }
    // The refusals were answered with new tokens from the token endpoint, not by luck.
    let grants = server.token_requests();
    assert!(grants.len() > 2 * count, "{} token requests", grants.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_hold_the_documented_records_unchanged() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let config = tenant(&server, &dir, json!({}));
    let sources = sources(&config);
    let names: Vec<&str> = sources.iter().map(|s| s.id()).collect();
    assert_eq!(
        names,
        [
            "gcp/acme/audit-logs/project-example-prod-481516",
            "gcp/acme/audit-logs/organization-123456789012",
            "gcp/acme/workspace-login/organization-123456789012",
            &format!("gcp/acme/billing-export/{TABLE}"),
            "gcp/acme/gcs/example-audit-sink:cloudaudit.googleapis.com/",
            "gcp/acme/gcs/example-billing-files:billing/",
        ]
    );

    let activity = format!("{PROJECT_LOGS}activity");
    let system = format!("{PROJECT_LOGS}system_event");
    let project = entries_of(&pull_all(&*sources[0]).await);
    let expected = expected_entries(&[&activity, &system], |_| true);
    assert_eq!(project, expected);
    assert!(project.len() >= 5, "{}", project.len());
    assert!(project.iter().any(|e| e["protoPayload"]["methodName"]
        .as_str()
        .unwrap()
        .ends_with("compute.instances.insert")));

    let org_activity = format!("{ORG_LOGS}activity");
    let org_system = format!("{ORG_LOGS}system_event");
    let org = entries_of(&pull_all(&*sources[1]).await);
    assert_eq!(
        org,
        expected_entries(&[&org_activity, &org_system], |e| !is_login(e))
    );
    assert_eq!(org.len(), 2);

    let data_access = format!("{ORG_LOGS}data_access");
    let login_pages = pull_all(&*sources[2]).await;
    let logins = entries_of(&login_pages);
    assert_eq!(logins, expected_entries(&[&data_access], is_login));
    let methods: Vec<_> = logins
        .iter()
        .map(|e| e["protoPayload"]["methodName"].as_str().unwrap())
        .collect();
    assert_eq!(
        methods,
        [
            "google.login.LoginService.loginFailure",
            "google.login.LoginService.loginSuccess",
            "google.login.LoginService.loginChallenge"
        ]
    );
    // The third day holds no logins: the API's `{}` is handed over as an empty page, which
    // the readers take for an `entries.list` page and not for a record.
    let last = login_pages.last().unwrap();
    assert_eq!(last.records, 0);
    assert_eq!(
        serde_json::from_slice::<Value>(&last.bytes).unwrap(),
        json!({"entries": []})
    );
    for page in &login_pages {
        assert_eq!(page.extension, "json");
        assert_eq!(page.records as usize, ids(page).len());
    }

    let billing_pages = pull_all(&*sources[3]).await;
    let rows: Vec<Value> = billing_pages
        .iter()
        .flat_map(|p| serde_json::from_slice::<Vec<Value>>(&p.bytes).unwrap())
        .collect();
    let (_, table) = server::billing_table();
    let window = window();
    let expected: Vec<Value> = table
        .into_iter()
        .filter(|row| {
            let text = row["usage_start_time"].as_str().unwrap();
            let time = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f UTC")
                .unwrap()
                .and_utc();
            time >= window.start && time < window.end
        })
        .collect();
    assert_eq!(expected.len(), 5, "the fixture's rows in the window");
    assert_eq!(
        rows, expected,
        "rows are the export's JSON, field for field"
    );
    assert!(billing_pages.len() >= 3, "{} pages", billing_pages.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_carry_the_filters_bounds_and_tokens() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let config = tenant(&server, &dir, json!({}));
    let sources = sources(&config);
    for source in &sources {
        pull_all(&**source).await;
    }
    let grants = server.token_requests();
    // The tenant's sources share one credential, and its token lasts the whole pull.
    assert_eq!(grants.len(), 1, "{} token requests", grants.len());
    assert_eq!(grants[0]["grant_type"], "refresh_token");
    assert_eq!(grants[0]["client_id"], server::CLIENT_ID);
    assert!(grants[0].to_string().contains(auditsweep_gcp::SCOPE));

    let seen = server.seen();
    for request in &seen {
        let token = request.authorization.as_deref().unwrap_or("");
        assert!(
            token.starts_with(&format!("Bearer {}", server::TOKEN_PREFIX)),
            "{request:?}"
        );
        assert_eq!(request.user_project.as_deref(), Some("example-billing"));
    }
    let lists: Vec<Value> = seen
        .iter()
        .filter(|r| r.url == "/v2/entries:list" && r.method == "POST")
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    let project: Vec<&Value> = lists
        .iter()
        .filter(|b| b["resourceNames"] == json!(["projects/example-prod-481516"]))
        .collect();
    let logs =
        format!("(logName=\"{PROJECT_LOGS}activity\" OR logName=\"{PROJECT_LOGS}system_event\")");
    assert_eq!(
        project[0],
        &json!({
            "resourceNames": ["projects/example-prod-481516"],
            "filter": format!("{logs} AND timestamp >= \"2024-09-18T00:00:00Z\" AND timestamp < \"2024-09-19T00:00:00Z\""),
            "orderBy": "timestamp asc",
            "pageSize": 2,
        })
    );
    // Day one fits a page; day two takes three, the later ones asked by token and the same
    // filter.
    assert!(project[1].get("pageToken").is_none());
    assert_eq!(project[2]["pageToken"], "EAA4yOe2");
    assert_eq!(project[2]["filter"], project[1]["filter"]);
    assert_eq!(project[3]["pageToken"], "EAA4yOe4");
    assert_eq!(project.len(), 5, "three days, day two in three pages");
    assert_eq!(
        project.last().unwrap()["filter"],
        format!("{logs} AND timestamp >= \"2024-09-20T00:00:00Z\" AND timestamp < \"2024-09-20T06:00:00Z\"")
    );
    let org: Vec<&str> = lists
        .iter()
        .filter(|b| b["resourceNames"] == json!(["organizations/123456789012"]))
        .map(|b| b["filter"].as_str().unwrap())
        .collect();
    assert!(org.iter().any(|f| f.starts_with(&format!(
        "(logName=\"{ORG_LOGS}activity\" OR logName=\"{ORG_LOGS}system_event\") AND NOT protoPayload.serviceName=\"login.googleapis.com\" AND timestamp >= "
    ))));
    assert!(org.iter().any(|f| f.starts_with(&format!(
        "logName=\"{ORG_LOGS}data_access\" AND protoPayload.serviceName=\"login.googleapis.com\" AND timestamp >= "
    ))));

    let queries: Vec<Value> = seen
        .iter()
        .filter(|r| r.method == "POST" && r.url == "/bigquery/v2/projects/example-billing/queries")
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(queries.len(), 1);
    let query = &queries[0];
    assert_eq!(
        query["query"],
        format!(
            "SELECT * FROM `{TABLE}` WHERE usage_start_time >= @start AND usage_start_time < @end"
        )
    );
    assert_eq!(query["useLegacySql"], false);
    assert_eq!(query["parameterMode"], "NAMED");
    assert_eq!(
        query["queryParameters"],
        json!([
            {"name": "start", "parameterType": {"type": "TIMESTAMP"}, "parameterValue": {"value": "2024-09-18 00:00:00.000000+00:00"}},
            {"name": "end", "parameterType": {"type": "TIMESTAMP"}, "parameterValue": {"value": "2024-09-20 06:00:00.000000+00:00"}},
        ])
    );
    assert_eq!(query["location"], "US");
    assert_eq!(query["formatOptions"]["useInt64Timestamp"], true);
    assert!(query["requestId"]
        .as_str()
        .unwrap()
        .starts_with("auditsweep-"));
    let gets: Vec<&str> = seen
        .iter()
        .filter(|r| r.method == "GET" && r.url.starts_with("/bigquery/"))
        .map(|r| r.url.as_str())
        .collect();
    assert_eq!(
        gets[0],
        "/bigquery/v2/projects/example-billing/queries/job_0?maxResults=1000&timeoutMs=10000&formatOptions.useInt64Timestamp=true&location=US&pageToken=BE5FX3PAGE1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_job_still_running_is_polled_until_it_is_done() {
    let server = Server::start();
    server.polls_before_done(2);
    let dir = tempfile::tempdir().unwrap();
    let config = tenant(&server, &dir, json!({}));
    let billing = sources(&config).swap_remove(3);
    let pages = pull_all(&*billing).await;
    assert_eq!(pages[0].records, 0, "the job was not done at first");
    let rows: usize = pages.iter().map(|p| p.records as usize).sum();
    assert_eq!(rows, 5);
    let polls = server
        .seen()
        .iter()
        .filter(|r| {
            r.url.starts_with("/bigquery/") && r.method == "GET" && !r.url.contains("pageToken")
        })
        .count();
    assert_eq!(polls, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_list_keeps_to_the_configured_rate() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    // 600 a minute: one request each 100 ms.
    let config = tenant(&server, &dir, json!({"requests_per_minute": 600}));
    let project = sources(&config).swap_remove(0);
    let started = Instant::now();
    pull_all(&*project).await;
    let requests = server
        .seen()
        .iter()
        .filter(|r| r.url == "/v2/entries:list")
        .count();
    assert!(requests >= 4, "{requests}");
    let floor = Duration::from_millis(100) * (requests as u32 - 1);
    assert!(
        started.elapsed() >= floor,
        "{requests} requests in {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_refresh_token_stops_the_pull_without_printing_it() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let mut credentials: Value = serde_json::from_str(&server.user_credentials()).unwrap();
    credentials["refresh_token"] = "1//0revoked-token-Kp2".into();
    let file = dir.path().join("revoked.json");
    std::fs::write(&file, credentials.to_string()).unwrap();
    let config = tenant(&server, &dir, json!({"credentials_file": file}));
    let project = sources(&config).swap_remove(0);
    let mut sink = |_: &auditsweep_source::Stream, _: Page| Ok(());
    let (cursor, error) = pull(
        &*project,
        window(),
        None,
        &RetryPolicy::default(),
        &mut sink,
    )
    .await
    .expect_err("a revoked credential cannot pull");
    assert!(!cursor.complete);
    assert!(
        matches!(error, auditsweep_source::PullError::Fatal(_)),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains("access token"), "{text}");
    for secret in ["1//0revoked-token-Kp2", server::CLIENT_SECRET] {
        assert!(!text.contains(secret), "{text}");
    }
    assert_eq!(server.token_requests().len(), 1, "not retried");
    assert!(server.seen().is_empty(), "no API call without a token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_credentials_file_fails_sources() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let config = tenant(
        &server,
        &dir,
        json!({"credentials_file": dir.path().join("absent.json")}),
    );
    let error = match config.sources("acme").await {
        Ok(_) => panic!("sources without credentials"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("absent.json"), "{error}");
}

/// A service-account key, as `gcloud iam service-accounts keys create` writes it, with a
/// fresh RSA key made by `openssl` (no private key is kept in the repository). Returns the
/// key file's JSON and the public key (PKCS#1 DER) to verify with.
fn service_account_key(dir: &tempfile::TempDir) -> (Value, Vec<u8>) {
    let pem = dir.path().join("key.pem");
    let der = dir.path().join("public.der");
    let run = |args: &[&str]| {
        let status = std::process::Command::new("openssl")
            .args(args)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl (Debian's openssl package) makes the test key");
        assert!(status.success(), "openssl {args:?}");
    };
    run(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        pem.to_str().unwrap(),
    ]);
    run(&[
        "rsa",
        "-in",
        pem.to_str().unwrap(),
        "-RSAPublicKey_out",
        "-outform",
        "DER",
        "-out",
        der.to_str().unwrap(),
    ]);
    let key = json!({
        "type": "service_account",
        "project_id": "example-prod-481516",
        "private_key_id": "3f1c2b9a8e7d6c5b4a39281706f5e4d3c2b1a098",
        "private_key": std::fs::read_to_string(&pem).unwrap(),
        "client_email": "auditsweep-reader@example-prod-481516.iam.gserviceaccount.com",
        "client_id": "104242424242424242424",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "http://127.0.0.1:9/token",
        "universe_domain": "googleapis.com",
    });
    (key, std::fs::read(&der).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_account_key_signs_its_own_tokens() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = service_account_key(&dir);
    let email = key["client_email"].as_str().unwrap().to_string();
    server.accept_jwts(public, &email);
    let file = dir.path().join("sa.json");
    std::fs::write(&file, key.to_string()).unwrap();
    let config = tenant(&server, &dir, json!({"credentials_file": file}));
    let project = sources(&config).swap_remove(0);
    let entries = entries_of(&pull_all(&*project).await);
    assert_eq!(entries.len(), 7);
    // google-cloud-auth signs a JWT with the key for each hour; no token endpoint is asked.
    assert!(server.token_requests().is_empty());
    let jwts = server.jwts();
    assert_eq!(
        jwts.len(),
        server.seen().len(),
        "every call carried a valid JWT"
    );
    let (header, claims) = &jwts[0];
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], key["private_key_id"]);
    assert_eq!(claims["iss"], email.as_str());
    assert_eq!(claims["scope"], auditsweep_gcp::SCOPE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_objects_written_in_the_window_are_pulled_as_stored() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let config = tenant(&server, &dir, json!({}));
    let mut sources = sources(&config);
    let files = sources.pop().unwrap();
    let sink = sources.pop().unwrap();
    let window = window();
    for (source, bucket, prefix) in [
        (&sink, "example-audit-sink", "cloudaudit.googleapis.com/"),
        (&files, "example-billing-files", "billing/"),
    ] {
        let pages = pull_all(&**source).await;
        let expected: Vec<server::StoredObject> = server::stored_objects()
            .into_iter()
            .filter(|o| {
                let updated = at(&o.updated);
                o.bucket == bucket
                    && o.name.starts_with(prefix)
                    && updated >= window.start
                    && updated < window.end
                    && !o.name.ends_with(".txt")
            })
            .collect();
        assert_eq!(pages.len(), expected.len(), "{bucket}");
        assert!(pages.len() >= 2, "{bucket}");
        for (page, object) in pages.iter().zip(&expected) {
            assert_eq!(page.bytes, server::object_bytes(object), "{}", object.name);
            assert!(object.name.ends_with(page.extension), "{}", object.name);
            assert_eq!(page.next, None);
        }
    }
    let seen = server.seen();
    let listings: Vec<&str> = seen
        .iter()
        .filter(|r| r.url.starts_with("/storage/v1/b/example-audit-sink/o?"))
        .map(|r| r.url.as_str())
        .collect();
    assert_eq!(
        listings,
        [
            "/storage/v1/b/example-audit-sink/o?prefix=cloudaudit.googleapis.com%2F&fields=items%28name%2Csize%2Cupdated%2Cgeneration%29%2CnextPageToken",
            "/storage/v1/b/example-audit-sink/o?prefix=cloudaudit.googleapis.com%2F&fields=items%28name%2Csize%2Cupdated%2Cgeneration%29%2CnextPageToken&pageToken=CgRnY3Mt2",
        ]
    );
    assert!(seen.iter().any(|r| r.url
        == "/storage/v1/b/example-audit-sink/o/cloudaudit.googleapis.com%2Factivity%2F2024%2F09%2F18%2F22%3A00%3A00_22%3A59%3A59_S0.json?alt=media&generation=1726700407530112"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_that_never_answers_times_out() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    // Accepts connections and never answers; dropped at the end of the test.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}/token", silent.local_addr().unwrap());
    let config = tenant(
        &server,
        &dir,
        json!({"timeout_secs": 1, "endpoints": {"logging": server.url, "token": silent_url}}),
    );
    let project = sources(&config).swap_remove(0);
    let once = RetryPolicy {
        attempts: 1,
        ..RetryPolicy::default()
    };
    let started = Instant::now();
    let mut sink = |_: &auditsweep_source::Stream, _: Page| Ok(());
    let (_, error) = pull(&*project, window(), None, &once, &mut sink)
        .await
        .expect_err("no token, no pull");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(&error, auditsweep_source::PullError::Transient(m) if m.contains("timed out")),
        "{error:?}"
    );
    drop(silent);
}
