//! Export files in a Cloud Storage bucket: a log sink's hourly NDJSON files, billing rows
//! exported from BigQuery (`EXPORT DATA`, JSON or CSV, gzipped or not). The objects under a
//! prefix last written within the window (`objects.list`, paged), each one a stream read whole
//! (`alt=media`, pinned to the listed generation). An object is pulled in the window its
//! `updated` time falls in, so successive windows read each object once.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use auditsweep_source::{Page, PullError, Source, Stream, Window};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::auth::Api;

pub(crate) struct BucketObjects {
    id: String,
    bucket: String,
    prefix: String,
    max_bytes: u64,
    api: Api,
    /// Sizes from the listing, by stream key: a download shorter than its object broke off.
    sizes: Mutex<HashMap<String, u64>>,
}

#[derive(Deserialize)]
struct Listing {
    items: Option<Vec<Object>>,
    #[serde(rename = "nextPageToken")]
    next_page_token: Option<String>,
}

/// An object resource; the JSON API writes `size` and `generation` as strings.
#[derive(Deserialize)]
struct Object {
    name: String,
    size: String,
    updated: DateTime<Utc>,
    generation: String,
}

impl BucketObjects {
    pub fn new(
        tenant: &str,
        bucket: String,
        prefix: String,
        max_bytes: u64,
        api: Api,
    ) -> BucketObjects {
        let id = if prefix.is_empty() {
            format!("gcp/{tenant}/gcs/{bucket}")
        } else {
            format!("gcp/{tenant}/gcs/{bucket}:{prefix}")
        };
        BucketObjects {
            id,
            bucket,
            prefix,
            max_bytes,
            api,
            sizes: Mutex::new(HashMap::new()),
        }
    }
}

/// How the readers name a file of these bytes; `None` for objects they would not read.
fn extension(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    [
        (".json.gz", "json.gz"),
        (".ndjson.gz", "json.gz"),
        (".jsonl.gz", "json.gz"),
        (".csv.gz", "csv.gz"),
        (".json", "json"),
        (".ndjson", "json"),
        (".jsonl", "json"),
        (".csv", "csv"),
    ]
    .into_iter()
    .find(|(suffix, _)| name.ends_with(suffix))
    .map(|(_, extension)| extension)
}

/// Each byte of an object name outside the unreserved set percent-encoded, for the path.
fn encode(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Records in a file, for progress: lines of NDJSON, lines after a CSV header; unknown (0)
/// inside gzip until the reader inflates it.
fn records(bytes: &[u8], extension: &str) -> u64 {
    let lines = bytes
        .split(|b| *b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .count() as u64;
    match extension {
        "json" => lines,
        "csv" => lines.saturating_sub(1),
        _ => 0,
    }
}

#[async_trait]
impl Source for BucketObjects {
    fn id(&self) -> &str {
        &self.id
    }

    async fn list(&self, window: &Window) -> Result<Vec<Stream>, PullError> {
        let url = format!("{}/storage/v1/b/{}/o", self.api.base, encode(&self.bucket));
        let mut streams = Vec::new();
        let mut sizes = HashMap::new();
        let mut token: Option<String> = None;
        loop {
            let mut query: Vec<(&str, String)> = vec![
                ("prefix", self.prefix.clone()),
                (
                    "fields",
                    "items(name,size,updated,generation),nextPageToken".into(),
                ),
            ];
            if let Some(token) = &token {
                query.push(("pageToken", token.clone()));
            }
            let bytes = self
                .api
                .bearer
                .send(|| self.api.client.get(&url).query(&query))
                .await?;
            let listing: Listing = serde_json::from_slice(&bytes).map_err(|err| {
                PullError::Fatal(format!("{}: not an objects.list answer: {err}", self.id))
            })?;
            for object in listing.items.unwrap_or_default() {
                let size: u64 = object.size.parse().unwrap_or(0);
                let in_window = object.updated >= window.start && object.updated < window.end;
                if !in_window || size == 0 || extension(&object.name).is_none() {
                    continue;
                }
                if size > self.max_bytes {
                    return Err(PullError::Fatal(format!(
                        "{}: {} is {size} bytes, over max_object_mib",
                        self.id, object.name
                    )));
                }
                let key = format!("{}#{}", object.name, object.generation);
                sizes.insert(key.clone(), size);
                streams.push(Stream::new(key));
            }
            token = listing.next_page_token.filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        *self.sizes.lock().expect("the size map") = sizes;
        Ok(streams)
    }

    async fn fetch(
        &self,
        stream: &Stream,
        _window: &Window,
        _token: Option<&str>,
    ) -> Result<Page, PullError> {
        let (name, generation) = stream
            .key
            .rsplit_once('#')
            .ok_or_else(|| PullError::Fatal(format!("{}: bad stream `{}`", self.id, stream.key)))?;
        let extension = extension(name).ok_or_else(|| {
            PullError::Fatal(format!(
                "{}: {name} is not a file the readers take",
                self.id
            ))
        })?;
        let size = self
            .sizes
            .lock()
            .expect("the size map")
            .get(&stream.key)
            .copied();
        let Some(size) = size else {
            return Err(PullError::Fatal(format!(
                "{}: {name} was not in the listing",
                self.id
            )));
        };
        let url = format!(
            "{}/storage/v1/b/{}/o/{}",
            self.api.base,
            encode(&self.bucket),
            encode(name)
        );
        let query = [("alt", "media"), ("generation", generation)];
        // `Accept-Encoding: gzip` keeps an object stored gzip-encoded as stored (no
        // decompressive transcoding), so its bytes match the listed size; the readers
        // recognize gzip by its magic bytes.
        let build = || {
            self.api
                .client
                .get(&url)
                .query(&query)
                .header(reqwest::header::ACCEPT_ENCODING, "gzip")
        };
        let bytes = self.api.bearer.download(build, size).await?;
        Ok(Page {
            records: records(&bytes, extension),
            bytes,
            extension,
            next: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_tell_the_file_kind_and_are_encoded_for_the_path() {
        assert_eq!(
            extension("cloudaudit.googleapis.com/activity/2024/09/18/22:00:00_22:59:59_S0.json"),
            Some("json")
        );
        assert_eq!(
            extension("billing/export-000000000000.json.gz"),
            Some("json.gz")
        );
        assert_eq!(extension("billing/rows.CSV"), Some("csv"));
        assert_eq!(extension("README.txt"), None);
        assert_eq!(
            encode("cloudaudit.googleapis.com/activity/22:00:00_S0.json"),
            "cloudaudit.googleapis.com%2Factivity%2F22%3A00%3A00_S0.json"
        );
        assert_eq!(records(b"{}\n{}\n\n", "json"), 2);
        assert_eq!(records(b"a,b\n1,2\n", "csv"), 1);
        assert_eq!(records(b"\x1f\x8b", "json.gz"), 0);
    }
}
