//! A trail's S3 bucket through the real SDK client against moto's S3 (path style), with a
//! fault-injecting proxy in front of moto for the conformance check.

mod common;

use std::sync::Mutex;

use auditsweep_aws::TenantConfig;
use auditsweep_source::conformance::{self, Fault, Harness};
use auditsweep_source::{pull, Page, RetryPolicy, Source, Stream, Window};
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use chrono::{Duration, NaiveDate, Utc};
use common::*;
use serde_json::{json, Value};

const BUCKET: &str = "acme-cloudtrail";
const ACCOUNT: &str = "111122223333";

/// A client that writes the test objects straight into moto.
fn seeding_client(moto: &Moto) -> aws_sdk_s3::Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http)
        .region(Region::new("us-east-1"))
        .endpoint_url(moto.url())
        .force_path_style(true)
        .credentials_provider(Credentials::new(KEY_ID, SECRET, None, None, "test"))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// A trail log file's name, as CloudTrail writes it.
fn log_key(base: &str, region: &str, day: NaiveDate, n: u32) -> String {
    format!(
        "{base}{region}/{}/{ACCOUNT}_CloudTrail_{region}_{}T01{n:02}Z_EXAMPLEabcd{n:04}.json.gz",
        day.format("%Y/%m/%d"),
        day.format("%Y%m%d")
    )
}

fn trail_file(records: &[Value]) -> Vec<u8> {
    gzip(json!({ "Records": records }).to_string().as_bytes())
}

/// The stratus-red-team detonation of unusual EC2 instance launches (real records), read in
/// place from the shared samples, as a trail log file.
fn real_sample() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/real-samples/stratus-red-team/aws.execution.ec2-launch-unusual-instances.json"
    );
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("{path}: {err} (the tests read ../shared beside the repo)"));
    serde_json::from_str::<Vec<Value>>(&text).unwrap()
}

struct World {
    /// The keys the window's listing must find, in listing order, with their bytes.
    expected: Vec<(String, Vec<u8>)>,
    /// The date prefixes the window must list.
    prefixes: Vec<String>,
}

/// Writes a bucket: the window's files, a late delivery the next day, and files the window must
/// not list (the day before, digests, another region, another account, a non-log file).
async fn seed(client: &aws_sdk_s3::Client, base: &str, window: &Window) -> World {
    let _ = client.create_bucket().bucket(BUCKET).send().await;
    let records = records();
    let days = window.dates();
    let today = Utc::now().date_naive();
    assert_eq!(days.len(), 2);
    let (east, west): (Vec<Value>, Vec<Value>) = records
        .iter()
        .cloned()
        .partition(|r| r["awsRegion"] == "us-east-1");
    let mut expected = vec![
        (
            log_key(base, "us-east-1", days[0], 1),
            trail_file(&east[..2]),
        ),
        (
            log_key(base, "us-east-1", days[1], 2),
            trail_file(&real_sample()),
        ),
        (log_key(base, "us-east-1", today, 3), trail_file(&east[2..])),
        (log_key(base, "eu-west-1", days[1], 4), trail_file(&west)),
    ];
    let outside = [
        (
            log_key(base, "us-east-1", days[0] - Duration::days(1), 5),
            trail_file(&east),
        ),
        (
            format!(
                "{}-Digest/us-east-1/{}/{ACCOUNT}_CloudTrail-Digest_us-east-1_x.json.gz",
                base.trim_end_matches('/'),
                days[0].format("%Y/%m/%d")
            ),
            trail_file(&[]),
        ),
        (log_key(base, "ap-south-1", days[0], 6), trail_file(&east)),
        (
            log_key(
                &base.replace(ACCOUNT, "444455556666"),
                "us-east-1",
                days[0],
                7,
            ),
            trail_file(&east),
        ),
        (
            format!("{base}us-east-1/{}/README.txt", days[0].format("%Y/%m/%d")),
            b"not a log file".to_vec(),
        ),
    ];
    for (key, bytes) in expected.iter().chain(outside.iter()) {
        client
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(ByteStream::from(bytes.clone()))
            .send()
            .await
            .unwrap();
    }
    let mut prefixes = Vec::new();
    for region in ["us-east-1", "eu-west-1"] {
        for day in days.iter().chain([&today]) {
            prefixes.push(format!("{base}{region}/{}/", day.format("%Y/%m/%d")));
        }
    }
    // Listing order: region by region, day by day.
    expected.sort_by_key(|(key, _)| {
        let region = key.contains("eu-west-1") as u8;
        (region, key.clone())
    });
    World { expected, prefixes }
}

fn config(s3: &str, bucket: Value) -> TenantConfig {
    serde_json::from_value(json!({
        "accounts": [ACCOUNT],
        "regions": ["us-east-1", "eu-west-1"],
        "lookup_events": false,
        "credentials": credentials_env(),
        "trail_bucket": bucket,
        "endpoints": {"s3": s3, "s3_force_path_style": true},
    }))
    .unwrap()
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

/// The `prefix` query parameter of a listing request.
fn listed_prefix(seen: &Seen) -> Option<String> {
    let query = seen.url.split_once('?')?.1;
    if !query.split('&').any(|p| p == "list-type=2") {
        return None;
    }
    let prefix = query.split('&').find_map(|p| p.strip_prefix("prefix="))?;
    Some(prefix.replace("%2F", "/"))
}

fn is_object_get(seen: &Seen) -> bool {
    seen.method == "GET" && !seen.url.contains("list-type=2")
}

fn s3_fault(fault: &Fault) -> Reply {
    let (status, code, message) = match fault {
        // S3 throttles with 503 SlowDown (and no Retry-After).
        Fault::Throttle { .. } => (503, "SlowDown", "Please reduce your request rate."),
        Fault::ExpiredToken => (400, "ExpiredToken", "The provided token has expired."),
        _ => (
            500,
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>"
    );
    (status, "application/xml", body)
}

#[tokio::test]
async fn the_window_s_date_prefixes_are_listed_and_each_log_file_handed_over_whole() {
    let moto = Moto::start();
    let proxy = Proxy::start(moto.port, |_| false, s3_fault);
    let window = recent_window(2);
    let base = format!("AWSLogs/{ACCOUNT}/CloudTrail/");
    let world = seed(&seeding_client(&moto), &base, &window).await;

    // Two keys a listing page: the listing pages through continuation tokens.
    let config = config(&proxy.url, json!({"bucket": BUCKET, "list_page_size": 1}));
    assert_eq!(config.check("acme").errors, Vec::<String>::new());
    let sources = config.sources("acme").await.unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].id(), "aws/acme/trail-bucket/acme-cloudtrail");
    let pages = pull_all(&*sources[0], window).await;

    let handed: Vec<(String, Vec<u8>)> = pages
        .iter()
        .map(|(stream, page)| (stream.key.clone(), page.bytes.clone()))
        .collect();
    assert_eq!(
        handed.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        world.expected.iter().map(|(k, _)| k).collect::<Vec<_>>()
    );
    assert_eq!(handed, world.expected, "the objects' bytes, unchanged");
    let records: Vec<u64> = pages.iter().map(|(_, page)| page.records).collect();
    assert_eq!(records, [2, real_sample().len() as u64, 1, 3]);
    assert!(pages
        .iter()
        .all(|(_, page)| page.extension == "json.gz" && page.next.is_none()));

    let requests = proxy.take();
    let mut listed: Vec<String> = requests.iter().filter_map(listed_prefix).collect();
    let pages_of_listing = listed.len();
    listed.dedup();
    assert_eq!(
        listed, world.prefixes,
        "one listing per account, region and day"
    );
    assert!(
        pages_of_listing > listed.len(),
        "page size 1 pages the listing"
    );
    assert!(requests
        .iter()
        .filter(|seen| seen.url.contains("list-type=2"))
        .skip(1)
        .any(|seen| seen.url.contains("continuation-token=")));
    // Path style: the bucket is the first path segment.
    assert!(requests
        .iter()
        .all(|seen| seen.url.starts_with(&format!("/{BUCKET}"))));
}

#[tokio::test]
async fn an_organisation_trail_under_a_prefix() {
    let moto = Moto::start();
    let window = recent_window(2);
    let base = format!("audit/AWSLogs/o-exampleorgid/{ACCOUNT}/CloudTrail/");
    let world = seed(&seeding_client(&moto), &base, &window).await;
    let config = config(
        &moto.url(),
        json!({"bucket": BUCKET, "prefix": "audit/", "org_id": "o-exampleorgid"}),
    );
    let sources = config.sources("acme").await.unwrap();
    let keys: Vec<String> = pull_all(&*sources[0], window)
        .await
        .into_iter()
        .map(|(stream, _)| stream.key)
        .collect();
    assert_eq!(
        keys,
        world
            .expected
            .iter()
            .map(|(k, _)| k.clone())
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn conformance() {
    let moto = Moto::start();
    let proxy = Proxy::start(moto.port, is_object_get, s3_fault);
    let window = recent_window(2);
    seed(
        &seeding_client(&moto),
        &format!("AWSLogs/{ACCOUNT}/CloudTrail/"),
        &window,
    )
    .await;
    let config = config(&proxy.url, json!({"bucket": BUCKET}));
    let mut instances = Vec::new();
    for _ in 0..5 {
        instances.append(&mut config.sources("acme").await.unwrap());
    }
    let instances = Mutex::new(instances);
    conformance::check(&Harness {
        source: &|| instances.lock().unwrap().remove(0),
        window,
        inject: &|faults| proxy.inject(faults),
        ids: &event_ids,
        secrets: vec![SECRET.to_string(), SESSION_TOKEN.to_string()],
    })
    .await;
}
