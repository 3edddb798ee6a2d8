//! Cost Explorer `GetCostAndUsage` through the real SDK client against moto, its answers seeded
//! through `POST /moto-api/static/ce/cost-and-usage-results` (moto hands the queued results out
//! in order, one per distinct request, and the same one again for a repeated request), with a
//! fault-injecting proxy in front of moto.

mod common;

use std::collections::BTreeSet;
use std::sync::Mutex;

use auditsweep_aws::TenantConfig;
use auditsweep_source::conformance::{self, Harness};
use auditsweep_source::{pull, Cursor, Page, RetryPolicy, Source, Stream, Window};
use chrono::{Duration, NaiveDate, Utc};
use common::*;
use serde_json::{json, Value};

fn day(offset: i64) -> NaiveDate {
    Utc::now().date_naive() + Duration::days(offset)
}

/// A documented response (`tests/data/cost-and-usage-page.json`) for the given days.
fn response(days: &[NaiveDate], next: Option<&str>) -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/cost-and-usage-page.json"
    ))
    .unwrap();
    let mut page: Value = serde_json::from_str(&text).unwrap();
    let template = page["ResultsByTime"][0].clone();
    page["ResultsByTime"] = days
        .iter()
        .map(|d| {
            let mut result = template.clone();
            result["TimePeriod"] =
                json!({"Start": d.to_string(), "End": (*d + Duration::days(1)).to_string()});
            result["Estimated"] = json!(*d >= day(-3));
            result
        })
        .collect();
    if let Some(next) = next {
        page["NextPageToken"] = json!(next);
    }
    page
}

/// The answers of a window of the last five days, in the order they are asked: two final days
/// alone, then the three younger days in two pages.
fn answers() -> Vec<Value> {
    vec![
        response(&[day(-5)], None),
        response(&[day(-4)], None),
        response(&[day(-3), day(-2)], Some("page-2")),
        response(&[day(-1)], None),
    ]
}

fn seed(moto: &Moto, results: &[Value]) {
    let body = json!({ "results": results }).to_string();
    let headers = [("Content-Type".to_string(), "application/json".to_string())];
    let (status, _, body) = http(
        moto.port,
        "POST",
        "/moto-api/static/ce/cost-and-usage-results",
        &headers,
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
}

fn config(ce: &str) -> TenantConfig {
    serde_json::from_value(json!({
        "accounts": ["111122223333"],
        "lookup_events": false,
        "credentials": credentials_env(),
        "cost_explorer": {"account": "111122223333"},
        "endpoints": {"ce": ce},
    }))
    .unwrap()
}

fn is_cost_request(seen: &Seen) -> bool {
    seen.header("x-amz-target") == Some("AWSInsightsIndexService.GetCostAndUsage")
}

async fn pull_from(
    source: &dyn Source,
    window: Window,
    resume: Option<Cursor>,
) -> Vec<(Stream, Page)> {
    let mut pages = Vec::new();
    let mut sink = |stream: &Stream, page: Page| {
        pages.push((stream.clone(), page));
        Ok(())
    };
    let (cursor, _) = pull(source, window, resume, &RetryPolicy::default(), &mut sink)
        .await
        .unwrap_or_else(|(_, error)| panic!("{error}"));
    assert!(cursor.complete);
    pages
}

/// Billing row keys of a page: the day and the group's keys.
fn rows(page: &Page) -> Vec<String> {
    let value: Value = serde_json::from_slice(&page.bytes).unwrap();
    let mut rows = Vec::new();
    for result in value["ResultsByTime"].as_array().unwrap() {
        for group in result["Groups"].as_array().unwrap() {
            let keys: Vec<&str> = group["Keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap())
                .collect();
            rows.push(format!(
                "{} {}",
                result["TimePeriod"]["Start"].as_str().unwrap(),
                keys.join("|")
            ));
        }
    }
    rows
}

#[tokio::test]
async fn daily_costs_by_service_and_account_day_by_day_once_final() {
    let moto = Moto::start();
    let answers = answers();
    seed(&moto, &answers);
    let proxy = Proxy::start(moto.port, |_| false, json_fault("LimitExceededException"));
    let config = config(&proxy.url);
    assert_eq!(config.check("acme").errors, Vec::<String>::new());
    let sources = config.sources("acme").await.unwrap();
    assert_eq!(sources[0].id(), "aws/acme/cost-and-usage/111122223333");
    let window = recent_window(5);
    let pages = pull_from(&*sources[0], window, None).await;

    let keys: Vec<&str> = pages.iter().map(|(s, _)| s.key.as_str()).collect();
    let recent = format!("recent/{}..{}", day(-3), day(0));
    assert_eq!(
        keys,
        [&day(-5).to_string(), &day(-4).to_string(), &recent, &recent]
    );
    // Each page is the documented response, as moto answered it.
    for ((_, page), answer) in pages.iter().zip(&answers) {
        assert_eq!(page.extension, "json");
        let handed: Value = serde_json::from_slice(&page.bytes).unwrap();
        assert_eq!(&handed, answer);
        assert_eq!(page.records, rows(page).len() as u64);
    }
    assert_eq!(pages[2].1.next.as_deref(), Some("page-2"));

    let requests: Vec<Seen> = proxy.take().into_iter().filter(is_cost_request).collect();
    assert_eq!(requests.len(), 4);
    let periods = [
        (day(-5), day(-4)),
        (day(-4), day(-3)),
        (day(-3), day(0)),
        (day(-3), day(0)),
    ];
    for (i, (seen, (start, end))) in requests.iter().zip(periods).enumerate() {
        let body = seen.json();
        assert_eq!(
            body["TimePeriod"],
            json!({"Start": start.to_string(), "End": end.to_string()})
        );
        assert_eq!(body["Granularity"], "DAILY");
        assert_eq!(body["Metrics"], json!(["UnblendedCost"]));
        assert_eq!(
            body["GroupBy"],
            json!([{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}])
        );
        assert_eq!(body["NextPageToken"].as_str(), (i == 3).then_some("page-2"));
        assert!(body.get("Filter").is_none());
    }

    // A caller that holds the final days marks them done: only the younger days are asked.
    let mut cursor = Cursor::start(sources[0].id(), window);
    cursor.done = BTreeSet::from([day(-5).to_string(), day(-4).to_string()]);
    let again = pull_from(&*sources[0], window, Some(cursor)).await;
    assert_eq!(again.len(), 2);
    let asked: Vec<Value> = proxy
        .take()
        .into_iter()
        .filter(is_cost_request)
        .map(|seen| seen.json()["TimePeriod"].clone())
        .collect();
    let younger = json!({"Start": day(-3).to_string(), "End": day(0).to_string()});
    assert_eq!(asked, [younger.clone(), younger]);
}

#[tokio::test]
async fn conformance() {
    let moto = Moto::start();
    seed(&moto, &answers());
    let proxy = Proxy::start(
        moto.port,
        is_cost_request,
        json_fault("LimitExceededException"),
    );
    let config = config(&proxy.url);
    let mut instances = Vec::new();
    for _ in 0..5 {
        instances.append(&mut config.sources("acme").await.unwrap());
    }
    let instances = Mutex::new(instances);
    conformance::check(&Harness {
        source: &|| instances.lock().unwrap().remove(0),
        window: recent_window(5),
        inject: &|faults| proxy.inject(faults),
        ids: &rows,
        secrets: vec![SECRET.to_string(), SESSION_TOKEN.to_string()],
    })
    .await;
}

/// The repository's Cost Explorer fixture (what `aws ce get-cost-and-usage` printed, and what
/// the readers are tested on), answered by moto, comes back as the same document.
#[tokio::test]
async fn a_page_is_the_document_the_cli_prints() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/aws/cost-explorer.json"
    );
    let printed: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let moto = Moto::start();
    seed(&moto, std::slice::from_ref(&printed));
    let sources = config(&moto.url()).sources("acme").await.unwrap();
    let page = sources[0]
        .fetch(&Stream::new(day(-10).to_string()), &recent_window(10), None)
        .await
        .unwrap();
    let handed: Value = serde_json::from_slice(&page.bytes).unwrap();
    assert_eq!(handed, printed);
    assert_eq!(page.records, rows(&page).len() as u64);
}
