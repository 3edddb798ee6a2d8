//! The Activity Log of one subscription: `GET /subscriptions/{id}/providers/Microsoft.Insights/
//! eventtypes/management/values`, one stream per UTC day, `nextLink` paging. A page's bytes are
//! the REST answer `{"value":[...],"nextLink":...}`, which the file readers take as it is.

use async_trait::async_trait;
use auditsweep_source::http::Refreshing;
use auditsweep_source::{Page, PullError, Source, Stream, Window};
use azure_core::http::Url;

use crate::paging;

pub(crate) const API_VERSION: &str = "2015-04-01";

pub struct ActivityLog {
    id: String,
    subscription: String,
    endpoint: Url,
    http: reqwest::Client,
    token: Refreshing,
}

impl ActivityLog {
    pub(crate) fn new(
        tenant: &str,
        subscription: &str,
        endpoint: Url,
        http: reqwest::Client,
        token: Refreshing,
    ) -> ActivityLog {
        ActivityLog {
            id: format!("azure/{tenant}/activity-log/{subscription}"),
            subscription: subscription.to_string(),
            endpoint,
            http,
            token,
        }
    }

    fn first_page(&self, window: &Window) -> Url {
        let mut url = paging::endpoint(
            &self.endpoint,
            &format!(
                "subscriptions/{}/providers/Microsoft.Insights/eventtypes/management/values",
                self.subscription
            ),
        );
        url.set_query(Some(&paging::query(&[
            ("api-version", API_VERSION),
            ("$filter", &filter(window)),
        ])));
        url
    }
}

/// `eventTimestamp ge '<start>' and eventTimestamp le '<last tick>'` ([`paging::last_tick`]).
pub(crate) fn filter(window: &Window) -> String {
    format!(
        "eventTimestamp ge '{}' and eventTimestamp le '{}'",
        paging::ticks(window.start),
        paging::ticks(paging::last_tick(window))
    )
}

#[async_trait]
impl Source for ActivityLog {
    fn id(&self) -> &str {
        &self.id
    }

    async fn list(&self, window: &Window) -> Result<Vec<Stream>, PullError> {
        Ok(paging::streams(window.days()))
    }

    async fn fetch(
        &self,
        stream: &Stream,
        window: &Window,
        token: Option<&str>,
    ) -> Result<Page, PullError> {
        let url = match token {
            Some(link) => paging::checked_link(link, &self.endpoint)?,
            None => self.first_page(&paging::piece(window.days(), &stream.key)?),
        };
        let bytes = self.token.get_json(|| self.http.get(url.as_str())).await?;
        paging::page(bytes, &["value"], &["nextLink"], &self.endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_ends_one_tick_before_the_window() {
        let window = Window {
            start: "2026-11-01T00:00:00Z".parse().unwrap(),
            end: "2026-11-02T00:00:00Z".parse().unwrap(),
        };
        assert_eq!(
            filter(&window),
            "eventTimestamp ge '2026-11-01T00:00:00.0000000Z' and eventTimestamp le '2026-11-01T23:59:59.9999999Z'"
        );
    }
}
