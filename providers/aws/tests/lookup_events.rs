//! CloudTrail `LookupEvents` through the real SDK client against a local server that answers
//! `X-Amz-Target: CloudTrail_20131101.LookupEvents` in the AWS JSON 1.1 protocol as the API
//! reference documents it (moto does not implement LookupEvents): pages of `Events` with
//! `NextToken`, `ThrottlingException` as HTTP 400, and the conformance faults.

mod common;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auditsweep_aws::TenantConfig;
use auditsweep_source::conformance::{self, Fault, Harness};
use auditsweep_source::{pull, Page, RetryPolicy, Source, Stream, Window};
use common::*;
use serde_json::{json, Value};

/// Events a page of the fake holds (the API's pages hold up to `MaxResults`).
const PER_PAGE: usize = 2;

/// The fake CloudTrail endpoint: each region's events (from the records' `awsRegion`) in pages.
struct FakeCloudTrail {
    url: String,
    faults: Arc<Mutex<VecDeque<Fault>>>,
    log: Arc<Mutex<Vec<(Instant, Seen)>>>,
    /// Per region, the `CloudTrailEvent` strings served, in order.
    served: BTreeMap<String, Vec<String>>,
}

fn region_of(seen: &Seen) -> String {
    // SigV4: `Credential=<key id>/<date>/<region>/cloudtrail/aws4_request`.
    let auth = seen.header("authorization").unwrap_or_default();
    let scope = auth.split("Credential=").nth(1).unwrap_or_default();
    scope.split('/').nth(2).unwrap_or_default().to_string()
}

fn key_id_of(seen: &Seen) -> String {
    let auth = seen.header("authorization").unwrap_or_default();
    let scope = auth.split("Credential=").nth(1).unwrap_or_default();
    scope.split('/').next().unwrap_or_default().to_string()
}

impl FakeCloudTrail {
    fn start() -> FakeCloudTrail {
        let mut served: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut events: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for record in records() {
            let region = record["awsRegion"].as_str().unwrap().to_string();
            let text = serde_json::to_string(&record).unwrap();
            let time = chrono::DateTime::parse_from_rfc3339(record["eventTime"].as_str().unwrap())
                .unwrap()
                .timestamp();
            // The wire shape of an `Event` (timestamps as epoch seconds in JSON 1.1).
            let mut event = json!({
                "EventId": record["eventID"],
                "EventName": record["eventName"],
                "ReadOnly": record["readOnly"].to_string(),
                "EventTime": time,
                "EventSource": record["eventSource"],
                "Username": record["userIdentity"]["userName"].as_str().or(record["userIdentity"]["arn"].as_str()),
                "CloudTrailEvent": text,
            });
            if let Some(key) = record["userIdentity"]["accessKeyId"].as_str() {
                event["AccessKeyId"] = json!(key);
            }
            if let Some(id) =
                record["responseElements"]["instancesSet"]["items"][0]["instanceId"].as_str()
            {
                event["Resources"] =
                    json!([{"ResourceType": "AWS::EC2::Instance", "ResourceName": id}]);
            }
            served.entry(region.clone()).or_default().push(text);
            events.entry(region).or_default().push(event);
        }
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}", server.server_addr());
        let faults = Arc::new(Mutex::new(VecDeque::new()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (queue, requests) = (faults.clone(), log.clone());
        std::thread::spawn(move || {
            for mut request in server.incoming_requests() {
                let mut body = Vec::new();
                let _ = request.as_reader().read_to_end(&mut body);
                let seen = Seen {
                    method: request.method().to_string(),
                    url: request.url().to_string(),
                    headers: request
                        .headers()
                        .iter()
                        .map(|h| (h.field.to_string(), h.value.to_string()))
                        .collect(),
                    body,
                };
                requests
                    .lock()
                    .unwrap()
                    .push((Instant::now(), seen.clone()));
                let (status, body) = answer(&seen, &events, &queue);
                let response = tiny_http::Response::from_data(body)
                    .with_status_code(status)
                    .with_header(
                        tiny_http::Header::from_bytes("Content-Type", "application/x-amz-json-1.1")
                            .unwrap(),
                    )
                    .with_header(
                        tiny_http::Header::from_bytes(
                            "x-amzn-RequestId",
                            "a1b2c3d4-0000-4000-8000-000000000000",
                        )
                        .unwrap(),
                    );
                let _ = request.respond(response);
            }
        });
        FakeCloudTrail {
            url,
            faults,
            log,
            served,
        }
    }

    fn take(&self) -> Vec<(Instant, Seen)> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

fn error(status: u16, code: &str, message: &str) -> (u16, Vec<u8>) {
    (
        status,
        json!({"__type": code, "message": message})
            .to_string()
            .into_bytes(),
    )
}

fn answer(
    seen: &Seen,
    events: &BTreeMap<String, Vec<Value>>,
    faults: &Mutex<VecDeque<Fault>>,
) -> (u16, Vec<u8>) {
    if seen.header("x-amz-target") != Some("CloudTrail_20131101.LookupEvents") {
        return error(400, "UnknownOperationException", "");
    }
    let body: Value = match serde_json::from_slice(&seen.body) {
        Ok(body) => body,
        Err(_) => return error(400, "SerializationException", "not JSON"),
    };
    let Some(events) = events.get(&region_of(seen)) else {
        return (200, br#"{"Events":[]}"#.to_vec());
    };
    let page = match body["NextToken"].as_str() {
        None => 0,
        Some(token) => match token
            .strip_prefix("page-")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(page) => page,
            None => return error(400, "InvalidNextTokenException", "Invalid NextToken"),
        },
    };
    let fault = faults.lock().unwrap().pop_front().unwrap_or(Fault::Pass);
    match fault {
        Fault::Throttle { .. } => return error(400, "ThrottlingException", "Rate exceeded"),
        Fault::ServerError => {
            return error(500, "InternalFailure", "The request processing has failed.")
        }
        Fault::ExpiredToken => {
            return error(
                400,
                "ExpiredTokenException",
                "The security token included in the request is expired",
            )
        }
        Fault::Pass | Fault::Truncated => {}
    }
    let chunk: Vec<&Value> = events.iter().skip(page * PER_PAGE).take(PER_PAGE).collect();
    let mut answer = json!({ "Events": chunk });
    if (page + 1) * PER_PAGE < events.len() {
        answer["NextToken"] = json!(format!("page-{}", page + 1));
    }
    let mut bytes = answer.to_string().into_bytes();
    if fault == Fault::Truncated {
        bytes.truncate(bytes.len() / 2);
    }
    (200, bytes)
}

fn config(url: &str, accounts: &[&str], extra: Value) -> TenantConfig {
    let mut config = json!({
        "accounts": accounts,
        "regions": ["us-east-1", "eu-west-1"],
        "credentials": credentials_env(),
        "endpoints": {"cloudtrail": url},
    });
    for (key, value) in extra.as_object().unwrap() {
        config[key] = value.clone();
    }
    serde_json::from_value(config).unwrap()
}

async fn source(config: &TenantConfig) -> Box<dyn Source> {
    let mut sources = config.sources("acme").await.unwrap();
    assert_eq!(sources.len(), 1);
    sources.remove(0)
}

async fn pull_all(source: &dyn Source, window: Window) -> Vec<(Stream, Page)> {
    let mut pages = Vec::new();
    let mut sink = |stream: &Stream, page: Page| {
        pages.push((stream.clone(), page));
        Ok(())
    };
    let (cursor, _) = pull(source, window, None, &RetryPolicy::default(), &mut sink)
        .await
        .unwrap_or_else(|(_, error)| panic!("{error}"));
    assert!(cursor.complete);
    pages
}

#[tokio::test]
async fn conformance() {
    let fake = FakeCloudTrail::start();
    let config = config(&fake.url, &["111122223333"], json!({}));
    assert_eq!(config.check("acme").errors, Vec::<String>::new());
    let mut instances = Vec::new();
    for _ in 0..5 {
        instances.push(source(&config).await);
    }
    assert_eq!(instances[0].id(), "aws/acme/lookup-events/111122223333");
    let instances = Mutex::new(instances);
    let faults = fake.faults.clone();
    conformance::check(&Harness {
        source: &|| instances.lock().unwrap().remove(0),
        window: recent_window(3),
        inject: &|queued| faults.lock().unwrap().extend(queued),
        ids: &event_ids,
        secrets: vec![SECRET.to_string(), SESSION_TOKEN.to_string()],
    })
    .await;
}

#[tokio::test]
async fn requests_carry_the_window_the_page_size_and_the_token() {
    let fake = FakeCloudTrail::start();
    let source = source(&config(&fake.url, &["111122223333"], json!({}))).await;
    let window = recent_window(2);
    let pages = pull_all(&*source, window).await;

    // Every event once, region by region in the config's order, each CloudTrailEvent the very
    // string the API returned.
    let mut handed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut order = Vec::new();
    for (stream, page) in &pages {
        assert_eq!(page.extension, "json");
        let value: Value = serde_json::from_slice(&page.bytes).unwrap();
        let events = value["Events"].as_array().unwrap();
        assert_eq!(page.records, events.len() as u64);
        assert_eq!(page.next.as_deref(), value["NextToken"].as_str());
        for event in events {
            assert!(
                event["EventTime"].as_str().unwrap().ends_with("+00:00"),
                "{event}"
            );
            assert!(event["EventId"].is_string() && event["EventName"].is_string());
            handed
                .entry(stream.key.clone())
                .or_default()
                .push(event["CloudTrailEvent"].as_str().unwrap().to_string());
        }
        order.push(stream.key.clone());
    }
    assert_eq!(handed, fake.served);
    assert_eq!(order, ["us-east-1", "us-east-1", "eu-west-1", "eu-west-1"]);

    let requests = fake.take();
    assert_eq!(requests.len(), 4);
    let mut previous: BTreeMap<String, (Instant, Option<String>)> = BTreeMap::new();
    for (at, seen) in &requests {
        assert_eq!(seen.method, "POST");
        assert_eq!(
            seen.header("x-amz-target"),
            Some("CloudTrail_20131101.LookupEvents")
        );
        assert_eq!(
            seen.header("content-type"),
            Some("application/x-amz-json-1.1")
        );
        let body = seen.json();
        assert_eq!(
            body["StartTime"].as_f64(),
            Some(window.start.timestamp() as f64),
            "{body}"
        );
        assert_eq!(
            body["EndTime"].as_f64(),
            Some(window.end.timestamp() as f64),
            "{body}"
        );
        assert_eq!(body["MaxResults"], json!(50), "{body}");
        assert!(body.get("LookupAttributes").is_none(), "{body}");
        // Signed with the configured key, the session token beside it, the secret nowhere.
        assert_eq!(key_id_of(seen), KEY_ID);
        assert_eq!(seen.header("x-amz-security-token"), Some(SESSION_TOKEN));
        assert!(!format!("{:?}", seen.headers).contains(SECRET));
        let region = region_of(seen);
        match previous.get(&region) {
            None => assert!(body.get("NextToken").is_none(), "{body}"),
            Some((then, token)) => {
                assert_eq!(body["NextToken"].as_str(), token.as_deref(), "{body}");
                // Spaced by the rate limit (2 per second); back to back they would be
                // milliseconds apart.
                assert!(
                    at.duration_since(*then) >= Duration::from_millis(250),
                    "{:?}",
                    at.duration_since(*then)
                );
            }
        }
        let token = pages
            .iter()
            .filter(|(s, _)| s.key == region)
            .nth(previous.contains_key(&region) as usize)
            .and_then(|(_, p)| p.next.clone());
        previous.insert(region, (*at, token));
    }
}

#[tokio::test]
async fn a_throttled_request_waits_and_is_asked_again() {
    let fake = FakeCloudTrail::start();
    let source = source(&config(&fake.url, &["111122223333"], json!({}))).await;
    fake.faults.lock().unwrap().extend([Fault::Throttle {
        retry_after_secs: 1,
    }]);
    let started = Instant::now();
    let pages = pull_all(&*source, recent_window(1)).await;
    // AWS sends no Retry-After with ThrottlingException: the adapter waits the quota's second.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(pages.len(), 4);
    let requests = fake.take();
    assert_eq!(requests.len(), 5);
    assert_eq!(
        requests[0].1.body, requests[1].1.body,
        "the throttled request is asked again as it was"
    );
}

#[tokio::test]
async fn only_the_last_90_days_are_asked() {
    let fake = FakeCloudTrail::start();
    let source = source(&config(&fake.url, &["111122223333"], json!({}))).await;
    let today = chrono::Utc::now().date_naive();
    let long = recent_window(200);
    pull_all(&*source, long).await;
    let oldest = (today - chrono::Duration::days(89))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    for (_, seen) in fake.take() {
        assert_eq!(
            seen.json()["StartTime"].as_f64(),
            Some(oldest.timestamp() as f64)
        );
    }
    let old = Window {
        start: long.start,
        end: oldest - chrono::Duration::days(1),
    };
    let pages = pull_all(&*source, old).await;
    assert!(pages.is_empty());
    assert!(
        fake.take().is_empty(),
        "a window older than 90 days asks nothing"
    );
}

#[tokio::test]
async fn a_role_is_assumed_in_each_account() {
    let moto = Moto::start();
    let sts = Proxy::start(moto.port, |_| false, json_fault("Throttling"));
    let fake = FakeCloudTrail::start();
    let mut config = config(
        &fake.url,
        &["111122223333", "444455556666"],
        json!({"role_arn": "arn:aws:iam::{account}:role/AuditsweepRead", "regions": ["us-east-1"]}),
    );
    config.endpoints.sts = Some(sts.url.clone());
    let sources = config.sources("acme").await.unwrap();
    let ids: Vec<&str> = sources.iter().map(|s| s.id()).collect();
    assert_eq!(
        ids,
        [
            "aws/acme/lookup-events/111122223333",
            "aws/acme/lookup-events/444455556666"
        ]
    );
    for source in &sources {
        pull_all(&**source, recent_window(1)).await;
    }
    // Each account's calls were signed with that account's role credentials, from STS.
    let keys: BTreeSet<String> = fake
        .take()
        .iter()
        .map(|(_, seen)| key_id_of(seen))
        .collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(!keys.contains(KEY_ID), "{keys:?}");
    let assumed: Vec<String> = sts
        .take()
        .into_iter()
        .map(|seen| String::from_utf8(seen.body).unwrap())
        .collect();
    assert_eq!(assumed.len(), 2, "{assumed:?}");
    for (body, account) in assumed.iter().zip(["111122223333", "444455556666"]) {
        assert!(body.contains("Action=AssumeRole"), "{body}");
        assert!(
            body.contains(&format!(
                "RoleArn=arn%3Aaws%3Aiam%3A%3A{account}%3Arole%2FAuditsweepRead"
            )),
            "{body}"
        );
        assert!(body.contains("RoleSessionName=auditsweep"), "{body}");
    }
}

/// The repository's `lookup-events` fixture (what `aws cloudtrail lookup-events` printed, and
/// what the readers are tested on), served on the wire, comes back as the same document.
#[tokio::test]
async fn a_page_is_the_document_the_cli_prints() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/aws/lookup-events.json"
    );
    let printed: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut wire = printed.clone();
    for event in wire["Events"].as_array_mut().unwrap() {
        let time =
            chrono::DateTime::parse_from_rfc3339(event["EventTime"].as_str().unwrap()).unwrap();
        event["EventTime"] = json!(time.timestamp());
    }
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.server_addr());
    let body = wire.to_string();
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let header =
                tiny_http::Header::from_bytes("Content-Type", "application/x-amz-json-1.1")
                    .unwrap();
            let _ =
                request.respond(tiny_http::Response::from_string(body.clone()).with_header(header));
        }
    });
    let source = source(&config(
        &url,
        &["111122223333"],
        json!({"regions": ["ap-southeast-2"]}),
    ))
    .await;
    let page = source
        .fetch(&Stream::new("ap-southeast-2"), &recent_window(1), None)
        .await
        .unwrap();
    let handed: Value = serde_json::from_slice(&page.bytes).unwrap();
    assert_eq!(handed, printed);
    assert_eq!(page.next.as_deref(), printed["NextToken"].as_str());
    assert_eq!(page.records, 2);
}

/// A `Retry-After` header, where a proxy or a future API sends one, is honoured: a 429 asking
/// for 2 s is waited for 2 s (more than the 1 s a bare ThrottlingException gets).
#[tokio::test]
async fn a_retry_after_header_is_honoured() {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.server_addr());
    let times = Arc::new(Mutex::new(Vec::new()));
    let seen = times.clone();
    std::thread::spawn(move || {
        for (n, request) in server.incoming_requests().enumerate() {
            seen.lock().unwrap().push(Instant::now());
            let json = tiny_http::Header::from_bytes("Content-Type", "application/x-amz-json-1.1")
                .unwrap();
            let response = if n == 0 {
                tiny_http::Response::from_string(
                    r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
                )
                .with_status_code(429)
                .with_header(tiny_http::Header::from_bytes("Retry-After", "2").unwrap())
            } else {
                tiny_http::Response::from_string(r#"{"Events":[]}"#)
            };
            let _ = request.respond(response.with_header(json));
        }
    });
    let source = source(&config(
        &url,
        &["111122223333"],
        json!({"regions": ["us-east-1"]}),
    ))
    .await;
    let pages = pull_all(&*source, recent_window(1)).await;
    assert_eq!(pages.len(), 1);
    let times = times.lock().unwrap();
    assert_eq!(times.len(), 2);
    let waited = times[1].duration_since(times[0]);
    assert!(waited >= Duration::from_secs(2), "{waited:?}");
}

/// A session refused as expired is not signed again: the retry asks STS for new role
/// credentials first (the SDK's cache alone would hand out the same ones until their own
/// expiry time).
#[tokio::test]
async fn an_expired_session_is_replaced_before_the_retry() {
    let moto = Moto::start();
    let sts = Proxy::start(moto.port, |_| false, json_fault("Throttling"));
    let fake = FakeCloudTrail::start();
    let mut config = config(
        &fake.url,
        &["111122223333"],
        json!({"role_arn": "arn:aws:iam::{account}:role/AuditsweepRead", "regions": ["eu-west-1"]}),
    );
    config.endpoints.sts = Some(sts.url.clone());
    let source = source(&config).await;
    fake.faults.lock().unwrap().push_back(Fault::ExpiredToken);
    let pages = pull_all(&*source, recent_window(1)).await;
    assert_eq!(pages.len(), 2);
    let keys: Vec<String> = fake
        .take()
        .iter()
        .map(|(_, seen)| key_id_of(seen))
        .collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert_ne!(keys[0], keys[1], "the refused credentials were used again");
    assert_eq!(
        keys[1], keys[2],
        "new credentials are asked for only after a refusal"
    );
    assert_eq!(
        sts.take().len(),
        2,
        "one AssumeRole at first, one after the refusal"
    );
}
