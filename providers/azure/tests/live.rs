//! Against a real Azure tenant: `cargo test -p auditsweep-azure --features live-tests --test live`
//! with `AUDITSWEEP_AZURE_LIVE_CONFIG` naming a file that holds one tenant table's keys (as in
//! auditsweep.toml, without `name` and `provider`). Pulls the last full UTC day of every
//! configured source and checks that each page is a whole document of the documented shape.
//! Never run by CI; it needs the permissions listed in the README.

#![cfg(feature = "live-tests")]

use auditsweep_azure::TenantConfig;
use auditsweep_source::{pull, Page, RetryPolicy, Stream, Window};
use chrono::{Duration, Utc};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_source_pulls_yesterday() {
    let path = std::env::var("AUDITSWEEP_AZURE_LIVE_CONFIG")
        .expect("AUDITSWEEP_AZURE_LIVE_CONFIG names a tenant table (see the README)");
    let text = std::fs::read_to_string(&path).unwrap();
    let config: TenantConfig = toml::from_str(&text).unwrap();
    let check = config.check("live");
    assert!(check.errors.is_empty(), "{:?}", check.errors);
    let today = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let window = Window {
        start: today - Duration::days(1),
        end: today,
    };
    for source in config.sources("live").await.unwrap() {
        let mut pages = 0u64;
        let mut records = 0u64;
        let mut sink = |_: &Stream, page: Page| {
            let document: serde_json::Value =
                serde_json::from_slice(&page.bytes).map_err(|err| format!("not JSON: {err}"))?;
            let items = document
                .get("value")
                .or_else(|| document.pointer("/properties/rows"))
                .and_then(|items| items.as_array())
                .ok_or("no value or properties.rows array")?;
            assert_eq!(items.len() as u64, page.records);
            pages += 1;
            records += page.records;
            Ok(())
        };
        let result = pull(&*source, window, None, &RetryPolicy::default(), &mut sink).await;
        if let Err((_, error)) = result {
            panic!("{}: {error}", source.id());
        }
        eprintln!("{}: {pages} pages, {records} records", source.id());
        assert!(pages >= 1);
    }
}
