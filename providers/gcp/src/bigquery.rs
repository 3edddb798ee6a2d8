//! The Cloud Billing export in BigQuery: one query job per window (`jobs.query`,
//! `POST /bigquery/v2/projects/{p}/queries`) selecting the rows whose `usage_start_time` falls
//! in the window, its result read page by page (`jobs.getQueryResults`, `GET .../queries/{job}`
//! with `pageToken`). Each page becomes a JSON array of rows in the export's own JSON
//! ([`crate::rows`]).

use async_trait::async_trait;
use auditsweep_source::{Page, PullError, Source, Stream, Window};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::Api;
use crate::rows::{render_row, Field};

/// Rows a page, and how long BigQuery may hold a request open waiting for the job (its own
/// default is 10 s; a job not done by then is polled on the next page).
const MAX_RESULTS: u32 = 1000;
const TIMEOUT_MS: u32 = 10_000;

pub(crate) struct BillingExport {
    id: String,
    table: String,
    project: String,
    location: Option<String>,
    api: Api,
    /// Makes `requestId` unique to this instance: a retried `jobs.query` (after a timeout or a
    /// truncated answer) gets the same job instead of starting and paying for a second one,
    /// while a later run asks afresh.
    nonce: u64,
}

/// Where the next page is: the job, and BigQuery's page token (`None`: the job's first page,
/// polled again while the job runs).
#[derive(Debug, Serialize, Deserialize)]
struct Next {
    job: String,
    location: Option<String>,
    page: Option<String>,
    /// Counts polls of an unfinished job, so that two polls never hand the driver the same
    /// token.
    poll: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryResponse {
    schema: Option<Schema>,
    job_reference: Option<JobReference>,
    page_token: Option<String>,
    rows: Option<Vec<Value>>,
    job_complete: Option<bool>,
}

#[derive(Deserialize)]
struct Schema {
    fields: Vec<Field>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobReference {
    job_id: String,
    location: Option<String>,
}

impl BillingExport {
    pub fn new(
        tenant: &str,
        table: String,
        project: String,
        location: Option<String>,
        api: Api,
    ) -> BillingExport {
        BillingExport {
            id: format!("gcp/{tenant}/billing-export/{table}"),
            table,
            project,
            location,
            api,
            nonce: nonce(),
        }
    }

    /// The SQL, with the window as query parameters.
    pub(crate) fn sql(&self) -> String {
        format!(
            "SELECT * FROM `{}` WHERE usage_start_time >= @start AND usage_start_time < @end",
            self.table
        )
    }

    fn query_body(&self, window: &Window) -> Vec<u8> {
        let time = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string();
        let parameter = |name: &str, value: String| {
            serde_json::json!({
                "name": name,
                "parameterType": {"type": "TIMESTAMP"},
                "parameterValue": {"value": value},
            })
        };
        let mut body = serde_json::json!({
            "query": self.sql(),
            "useLegacySql": false,
            "parameterMode": "NAMED",
            "queryParameters": [
                parameter("start", time(window.start)),
                parameter("end", time(window.end)),
            ],
            "maxResults": MAX_RESULTS,
            "timeoutMs": TIMEOUT_MS,
            "formatOptions": {"useInt64Timestamp": true},
            "requestId": format!("auditsweep-{:016x}-{:016x}", self.nonce, window_hash(window)),
        });
        if let Some(location) = &self.location {
            body["location"] = location.clone().into();
        }
        serde_json::to_vec(&body).expect("a JSON value serializes")
    }

    async fn first_page(&self, window: &Window) -> Result<Vec<u8>, PullError> {
        let url = format!(
            "{}/bigquery/v2/projects/{}/queries",
            self.api.base, self.project
        );
        let body = self.query_body(window);
        self.api
            .bearer
            .send(|| {
                self.api
                    .client
                    .post(&url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body)
            })
            .await
    }

    async fn later_page(&self, next: &Next) -> Result<Vec<u8>, PullError> {
        let url = format!(
            "{}/bigquery/v2/projects/{}/queries/{}",
            self.api.base, self.project, next.job
        );
        let mut query: Vec<(&str, String)> = vec![
            ("maxResults", MAX_RESULTS.to_string()),
            ("timeoutMs", TIMEOUT_MS.to_string()),
            ("formatOptions.useInt64Timestamp", "true".into()),
        ];
        if let Some(location) = &next.location {
            query.push(("location", location.clone()));
        }
        if let Some(page) = &next.page {
            query.push(("pageToken", page.clone()));
        }
        self.api
            .bearer
            .send(|| self.api.client.get(&url).query(&query))
            .await
    }
}

/// A page of a job that is still running holds no rows, and says to poll the job again.
fn page_of(id: &str, bytes: &[u8], poll: u32) -> Result<Page, PullError> {
    let bad = |why: String| PullError::Fatal(format!("{id}: {why}"));
    let response: QueryResponse = serde_json::from_slice(bytes)
        .map_err(|err| bad(format!("not a BigQuery query response: {err}")))?;
    let job = response
        .job_reference
        .ok_or_else(|| bad("the response names no job".into()))?;
    if response.job_complete == Some(false) {
        let next = Next {
            job: job.job_id,
            location: job.location,
            page: None,
            poll: poll + 1,
        };
        return Ok(Page {
            bytes: b"[]".to_vec(),
            extension: "json",
            records: 0,
            next: Some(serde_json::to_string(&next).expect("a token serializes")),
        });
    }
    let rows = response.rows.unwrap_or_default();
    let fields = match response.schema {
        Some(schema) => schema.fields,
        None if rows.is_empty() => Vec::new(),
        None => return Err(bad("rows without a schema".into())),
    };
    let rendered = rows
        .iter()
        .map(|row| render_row(&fields, row))
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    let next = response.page_token.filter(|t| !t.is_empty()).map(|page| {
        let next = Next {
            job: job.job_id,
            location: job.location,
            page: Some(page),
            poll: 0,
        };
        serde_json::to_string(&next).expect("a token serializes")
    });
    Ok(Page {
        bytes: serde_json::to_vec(&rendered).expect("rows serialize"),
        extension: "json",
        records: rendered.len() as u64,
        next,
    })
}

#[async_trait]
impl Source for BillingExport {
    fn id(&self) -> &str {
        &self.id
    }

    /// One stream: the whole window is one query (each query scans the table, and is paid for).
    async fn list(&self, window: &Window) -> Result<Vec<Stream>, PullError> {
        if window.start >= window.end {
            return Ok(Vec::new());
        }
        Ok(vec![Stream::new(self.table.clone())])
    }

    async fn fetch(
        &self,
        _stream: &Stream,
        window: &Window,
        token: Option<&str>,
    ) -> Result<Page, PullError> {
        match token {
            None => page_of(&self.id, &self.first_page(window).await?, 0),
            Some(token) => {
                let next: Next = serde_json::from_str(token).map_err(|_| {
                    PullError::Fatal(format!("{}: a page token it did not write", self.id))
                })?;
                page_of(&self.id, &self.later_page(&next).await?, next.poll)
            }
        }
    }
}

fn window_hash(window: &Window) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    window.start.hash(&mut hasher);
    window.end.hash(&mut hasher);
    hasher.finish()
}

fn nonce() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_unfinished_job_is_polled_with_a_new_token_each_time() {
        let running = json!({"kind": "bigquery#queryResponse", "jobComplete": false,
            "jobReference": {"projectId": "p", "jobId": "job_1", "location": "US"}});
        let bytes = serde_json::to_vec(&running).unwrap();
        let first = page_of("x", &bytes, 0).unwrap();
        let second = page_of("x", &bytes, 1).unwrap();
        assert_eq!(first.bytes, b"[]");
        assert_eq!(first.records, 0);
        assert_ne!(first.next, second.next);
        let next: Next = serde_json::from_str(first.next.as_deref().unwrap()).unwrap();
        assert_eq!(
            (next.job.as_str(), next.page, next.poll),
            ("job_1", None, 1)
        );
    }

    #[test]
    fn an_empty_result_is_an_empty_array() {
        let done = json!({"jobComplete": true, "totalRows": "0",
            "jobReference": {"projectId": "p", "jobId": "job_2"},
            "schema": {"fields": [{"name": "cost", "type": "FLOAT"}]}});
        let page = page_of("x", &serde_json::to_vec(&done).unwrap(), 0).unwrap();
        assert_eq!(
            (page.bytes.as_slice(), page.records, page.next),
            (&b"[]"[..], 0, None)
        );
    }
}
