//! Cloud Logging `entries.list` (`POST /v2/entries:list`): the Cloud Audit Logs of a project or
//! an organization, and the Workspace login audit shared into an organization's logs. One
//! stream per UTC day of the window, so a resumed pull restarts at most one day and never
//! leans on a page token for long.

use std::sync::Arc;

use async_trait::async_trait;
use auditsweep_source::{Page, PullError, RateLimit, Source, Stream, Window};
use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use serde::Deserialize;

use crate::auth::Api;
use crate::config::AuditLog;

/// Whose logs: `entries.list` takes them as `resourceNames`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    Project(String),
    Organization(String),
}

impl Scope {
    pub fn resource_name(&self) -> String {
        match self {
            Scope::Project(id) => format!("projects/{id}"),
            Scope::Organization(id) => format!("organizations/{id}"),
        }
    }

    /// The scope in a source id, without a slash (ids name files of `--save-raw`).
    fn id_part(&self) -> String {
        match self {
            Scope::Project(id) => format!("project-{id}"),
            Scope::Organization(id) => format!("organization-{id}"),
        }
    }
}

/// One `entries.list` query over one resource, page by page.
pub(crate) struct EntriesList {
    id: String,
    resource: String,
    /// The query without its time bounds.
    filter: String,
    page_size: u32,
    url: String,
    api: Api,
    quota: Arc<RateLimit>,
}

impl EntriesList {
    /// The audit logs named in `logs`; `without_logins` leaves out the Workspace logins that
    /// another source pulls.
    pub fn audit(
        tenant: &str,
        scope: Scope,
        logs: &[AuditLog],
        without_logins: bool,
        page_size: u32,
        api: Api,
        quota: Arc<RateLimit>,
    ) -> EntriesList {
        let resource = scope.resource_name();
        let names: Vec<String> = logs
            .iter()
            .map(|log| format!("logName=\"{resource}/logs/{}\"", log.log_id()))
            .collect();
        let mut filter = format!("({})", names.join(" OR "));
        if without_logins {
            filter.push_str(" AND NOT protoPayload.serviceName=\"login.googleapis.com\"");
        }
        EntriesList {
            id: format!("gcp/{tenant}/audit-logs/{}", scope.id_part()),
            resource,
            filter,
            page_size,
            url: format!("{}/v2/entries:list", api.base),
            api,
            quota,
        }
    }

    /// Workspace's Login Audit as shared into Cloud Logging: `login.googleapis.com` entries of
    /// the organization's data_access log.
    pub fn workspace_login(
        tenant: &str,
        organization: String,
        page_size: u32,
        api: Api,
        quota: Arc<RateLimit>,
    ) -> EntriesList {
        let scope = Scope::Organization(organization);
        let resource = scope.resource_name();
        let filter = format!(
            "logName=\"{resource}/logs/{}\" AND protoPayload.serviceName=\"login.googleapis.com\"",
            AuditLog::DataAccess.log_id()
        );
        EntriesList {
            id: format!("gcp/{tenant}/workspace-login/{}", scope.id_part()),
            resource,
            filter,
            page_size,
            url: format!("{}/v2/entries:list", api.base),
            api,
            quota,
        }
    }

    /// The request body of one page.
    fn body(&self, from: DateTime<Utc>, to: DateTime<Utc>, token: Option<&str>) -> Vec<u8> {
        let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        let filter = format!(
            "{} AND timestamp >= \"{}\" AND timestamp < \"{}\"",
            self.filter,
            time(from),
            time(to)
        );
        let mut body = serde_json::json!({
            "resourceNames": [self.resource],
            "filter": filter,
            "orderBy": "timestamp asc",
            "pageSize": self.page_size,
        });
        if let Some(token) = token {
            body["pageToken"] = token.into();
        }
        serde_json::to_vec(&body).expect("a JSON value serializes")
    }
}

/// The UTC days `window` touches, each clipped to the window.
fn days(window: &Window) -> Vec<NaiveDate> {
    let mut days = Vec::new();
    let mut day = window.start.date_naive();
    while window.start < window.end && day_start(day) < window.end {
        days.push(day);
        day += Duration::days(1);
    }
    days
}

fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
}

#[derive(Deserialize)]
struct ListResponse {
    entries: Option<Vec<serde::de::IgnoredAny>>,
    #[serde(rename = "nextPageToken")]
    next_page_token: Option<String>,
}

#[async_trait]
impl Source for EntriesList {
    fn id(&self) -> &str {
        &self.id
    }

    async fn list(&self, window: &Window) -> Result<Vec<Stream>, PullError> {
        Ok(days(window)
            .into_iter()
            .map(|day| Stream::new(day.format("%Y-%m-%d").to_string()))
            .collect())
    }

    async fn fetch(
        &self,
        stream: &Stream,
        window: &Window,
        token: Option<&str>,
    ) -> Result<Page, PullError> {
        let day = NaiveDate::parse_from_str(&stream.key, "%Y-%m-%d")
            .map_err(|_| PullError::Fatal(format!("{}: bad stream `{}`", self.id, stream.key)))?;
        let from = day_start(day).max(window.start);
        let to = (day_start(day) + Duration::days(1)).min(window.end);
        let body = self.body(from, to, token);
        self.quota.acquire().await;
        let bytes = self
            .api
            .bearer
            .send(|| {
                self.api
                    .client
                    .post(&self.url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body)
            })
            .await?;
        let response: ListResponse = serde_json::from_slice(&bytes).map_err(|err| {
            PullError::Fatal(format!("{}: not an entries.list response: {err}", self.id))
        })?;
        let next = response.next_page_token.filter(|t| !t.is_empty());
        let (records, bytes) = match response.entries {
            Some(entries) => (entries.len() as u64, bytes),
            // The API leaves `entries` out of a page without any: written out as an empty
            // array, the page stays an `entries.list` page to the readers, not a record.
            None => {
                let mut page = serde_json::json!({"entries": []});
                if let Some(next) = &next {
                    page["nextPageToken"] = next.clone().into();
                }
                (
                    0,
                    serde_json::to_vec(&page).expect("a JSON value serializes"),
                )
            }
        };
        Ok(Page {
            bytes,
            extension: "json",
            records,
            next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_window_is_split_into_its_utc_days() {
        let window = Window {
            start: at("2026-11-01T22:00:00Z"),
            end: at("2026-11-03T00:00:00Z"),
        };
        let keys: Vec<_> = days(&window).iter().map(|d| d.to_string()).collect();
        assert_eq!(keys, ["2026-11-01", "2026-11-02"]);
        let empty = Window {
            start: at("2026-11-03T00:00:00Z"),
            end: at("2026-11-03T00:00:00Z"),
        };
        assert!(days(&empty).is_empty());
        let within = Window {
            start: at("2026-11-03T01:00:00Z"),
            end: at("2026-11-03T02:00:00Z"),
        };
        assert_eq!(days(&within).len(), 1);
    }
}
