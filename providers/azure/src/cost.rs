//! Daily actual cost by service from Cost Management: `POST {scope}/providers/
//! Microsoft.CostManagement/query`, one stream per UTC month, `properties.nextLink` paging
//! (the same body posted to the link). A page's bytes are the query answer (`properties.columns`
//! and `properties.rows`), which the billing reader takes as it is.

use async_trait::async_trait;
use auditsweep_source::http::Refreshing;
use auditsweep_source::{Page, PullError, Source, Stream, Window};
use azure_core::http::Url;
use serde_json::{json, Value};

use crate::config::is_wide;
use crate::paging;

pub(crate) const API_VERSION: &str = "2023-11-01";

pub struct CostQuery {
    id: String,
    scope: String,
    endpoint: Url,
    http: reqwest::Client,
    token: Refreshing,
}

impl CostQuery {
    pub(crate) fn new(
        tenant: &str,
        scope: &str,
        label: &str,
        endpoint: Url,
        http: reqwest::Client,
        token: Refreshing,
    ) -> CostQuery {
        CostQuery {
            id: format!("azure/{tenant}/cost/{label}"),
            scope: scope.to_string(),
            endpoint,
            http,
            token,
        }
    }
}

/// The query: actual (billed) cost per day and service, in `PreTaxCost` (a column the billing
/// reader takes). A scope wider than a subscription is grouped by subscription too, so each row
/// names its account. Cost Management dates are whole days: `to` is the last second inside
/// the window, so the day the window ends at midnight is not asked for.
pub(crate) fn body(scope: &str, window: &Window) -> Value {
    let at = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut grouping = vec![json!({"type": "Dimension", "name": "ServiceName"})];
    if is_wide(scope) {
        grouping.push(json!({"type": "Dimension", "name": "SubscriptionId"}));
    }
    json!({
        "type": "ActualCost",
        "timeframe": "Custom",
        "timePeriod": {
            "from": at(window.start),
            "to": at(window.end - chrono::Duration::seconds(1)),
        },
        "dataset": {
            "granularity": "Daily",
            "aggregation": {"totalCost": {"name": "PreTaxCost", "function": "Sum"}},
            "grouping": grouping,
        },
    })
}

#[async_trait]
impl Source for CostQuery {
    fn id(&self) -> &str {
        &self.id
    }

    async fn list(&self, window: &Window) -> Result<Vec<Stream>, PullError> {
        Ok(paging::streams(window.months()))
    }

    async fn fetch(
        &self,
        stream: &Stream,
        window: &Window,
        token: Option<&str>,
    ) -> Result<Page, PullError> {
        let month = paging::piece(window.months(), &stream.key)?;
        let url = match token {
            Some(link) => paging::checked_link(link, &self.endpoint)?,
            None => {
                let path = format!("{}/providers/Microsoft.CostManagement/query", self.scope);
                let mut url = paging::endpoint(&self.endpoint, &path);
                url.set_query(Some(&paging::query(&[("api-version", API_VERSION)])));
                url
            }
        };
        let body = serde_json::to_vec(&body(&self.scope, &month))
            .map_err(|err| PullError::Fatal(format!("the query body: {err}")))?;
        let bytes = self
            .token
            .get_json(|| {
                self.http
                    .post(url.as_str())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body)
            })
            .await?;
        paging::page(
            bytes,
            &["properties", "rows"],
            &["properties", "nextLink"],
            &self.endpoint,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_scopes_group_by_subscription_and_the_window_end_is_excluded() {
        let window = Window {
            start: "2026-11-01T00:00:00Z".parse().unwrap(),
            end: "2026-12-01T00:00:00Z".parse().unwrap(),
        };
        let one = body(
            "subscriptions/5f2c8a61-3d4e-4b7a-9c1d-2e3f4a5b6c7d",
            &window,
        );
        assert_eq!(one["timePeriod"]["to"], "2026-11-30T23:59:59Z");
        assert_eq!(one["dataset"]["grouping"].as_array().unwrap().len(), 1);
        let group = body(
            "providers/Microsoft.Management/managementGroups/contoso",
            &window,
        );
        assert_eq!(group["dataset"]["grouping"][1]["name"], "SubscriptionId");
    }
}
