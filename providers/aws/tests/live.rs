//! Against a real AWS account: only with `--features live-tests` and the environment below, never
//! in CI. Read-only calls; Cost Explorer (USD 0.01 a request) only when asked for.
//!
//! - `AUDITSWEEP_LIVE_AWS_ACCOUNT` (required): the account id;
//! - `AUDITSWEEP_LIVE_AWS_REGION`: default `us-east-1`;
//! - `AUDITSWEEP_LIVE_AWS_PROFILE`: a profile, else the default credential chain;
//! - `AUDITSWEEP_LIVE_AWS_ROLE_ARN`: a role to assume in the account;
//! - `AUDITSWEEP_LIVE_AWS_BUCKET` (and `AUDITSWEEP_LIVE_AWS_ORG_ID`): a trail bucket to list;
//! - `AUDITSWEEP_LIVE_AWS_COST=1`: also ask Cost Explorer for the last days.
#![cfg(feature = "live-tests")]

use auditsweep_aws::TenantConfig;
use auditsweep_source::{document, pull, Page, RetryPolicy, Stream, Window};
use chrono::{Duration, Utc};
use serde_json::{json, Value};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::test]
async fn pulls_a_day_from_a_real_account() {
    let account = env("AUDITSWEEP_LIVE_AWS_ACCOUNT")
        .expect("set AUDITSWEEP_LIVE_AWS_ACCOUNT (and credentials) to run the live tests");
    let region = env("AUDITSWEEP_LIVE_AWS_REGION").unwrap_or_else(|| "us-east-1".into());
    let mut config = json!({"accounts": [account], "regions": [region]});
    if let Some(profile) = env("AUDITSWEEP_LIVE_AWS_PROFILE") {
        config["profile"] = json!(profile);
    }
    if let Some(role) = env("AUDITSWEEP_LIVE_AWS_ROLE_ARN") {
        config["role_arn"] = json!(role);
    }
    if let Some(bucket) = env("AUDITSWEEP_LIVE_AWS_BUCKET") {
        config["trail_bucket"] =
            json!({"bucket": bucket, "org_id": env("AUDITSWEEP_LIVE_AWS_ORG_ID")});
    }
    if env("AUDITSWEEP_LIVE_AWS_COST").is_some() {
        config["cost_explorer"] = json!({});
    }
    let config: TenantConfig = serde_json::from_value(config).unwrap();
    let check = config.check("live");
    assert!(check.errors.is_empty(), "{check:?}");
    let window = Window {
        start: Utc::now() - Duration::hours(6),
        end: Utc::now(),
    };
    for source in config.sources("live").await.unwrap() {
        let mut pages = 0;
        let mut sink = |_: &Stream, page: Page| {
            let key = if page.extension == "json.gz" {
                "Records"
            } else {
                "Events"
            };
            document::whole_json(&page.bytes, key).map_err(|e| e.to_string())?;
            if page.extension == "json" {
                let value: Value =
                    serde_json::from_slice(&page.bytes).map_err(|e| e.to_string())?;
                assert!(value.get("Events").is_some() || value.get("ResultsByTime").is_some());
            }
            pages += 1;
            Ok(())
        };
        let (cursor, pulled) = pull(&*source, window, None, &RetryPolicy::default(), &mut sink)
            .await
            .unwrap_or_else(|(_, error)| panic!("{}: {error}", source.id()));
        assert!(cursor.complete);
        eprintln!(
            "{}: {} pages, {} records",
            source.id(),
            pulled.pages,
            pulled.records
        );
    }
}
