//! Against a real project, behind `--features live-tests` and environment variables; CI does
//! not run it. See README.md ("Against a real project").
#![cfg(feature = "live-tests")]

use auditsweep_gcp::TenantConfig;
use auditsweep_source::{pull, Page, RetryPolicy, Stream, Window};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_the_last_hour_from_a_real_project() {
    let Ok(project) = std::env::var("AUDITSWEEP_GCP_PROJECT") else {
        panic!("set AUDITSWEEP_GCP_PROJECT (and optionally AUDITSWEEP_GCP_BILLING_TABLE)");
    };
    let mut config = json!({"projects": [project]});
    if let Ok(table) = std::env::var("AUDITSWEEP_GCP_BILLING_TABLE") {
        config["billing"] = json!({"table": table});
    }
    let config: TenantConfig = serde_json::from_value(config).unwrap();
    let check = config.check("live");
    assert!(check.errors.is_empty(), "{:?}", check.errors);
    let now = chrono::Utc::now();
    for source in config.sources("live").await.expect("credentials") {
        let billing = source.id().contains("/billing-export/");
        let window = Window {
            start: now - chrono::Duration::hours(if billing { 48 } else { 1 }),
            end: now,
        };
        let mut pages = 0u64;
        let mut records = 0u64;
        let mut sink = |_: &Stream, page: Page| {
            let value: Value = serde_json::from_slice(&page.bytes).map_err(|e| e.to_string())?;
            let whole = if billing {
                value.as_array().map(Vec::len)
            } else {
                value["entries"].as_array().map(Vec::len)
            };
            assert_eq!(whole, Some(page.records as usize), "{}", source.id());
            pages += 1;
            records += page.records;
            Ok(())
        };
        pull(&*source, window, None, &RetryPolicy::default(), &mut sink)
            .await
            .map_err(|(_, error)| error)
            .expect("a live pull");
        println!("{}: {pages} pages, {records} records", source.id());
    }
}
