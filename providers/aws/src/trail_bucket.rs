//! A trail's S3 bucket: the log files of the window's days, listed by their date prefixes
//! (`AWSLogs/[<org-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/`, `ListObjectsV2` paged), each
//! object a stream of one page: the object's `.json.gz` bytes as CloudTrail wrote them.

use async_trait::async_trait;
use auditsweep_source::{document, Page, PullError, Source, Stream, Window};
use aws_config::{Region, SdkConfig};
use chrono::{Duration, NaiveDate, Utc};

use crate::config::TrailBucketConfig;
use crate::error::classify;
use crate::fresh::Fresh;
use crate::sdk::HOME_REGION;

pub struct TrailBucket {
    id: String,
    client: Fresh<aws_sdk_s3::Client>,
    bucket: String,
    /// `(account, region)` folders, in the config's order.
    folders: Vec<(String, String)>,
    config: TrailBucketConfig,
}

impl TrailBucket {
    /// `sdk` holds credentials that can read the bucket; `endpoint` replaces S3's.
    pub fn new(
        tenant: &str,
        config: &TrailBucketConfig,
        accounts: &[String],
        regions: &[String],
        sdk: &SdkConfig,
        endpoint: Option<&str>,
        force_path_style: bool,
    ) -> TrailBucket {
        let region = config.region.as_deref().unwrap_or(HOME_REGION).to_string();
        let endpoint = endpoint.map(str::to_string);
        let client = Fresh::new(sdk, move |sdk| {
            let mut s3 = aws_sdk_s3::config::Builder::from(sdk)
                .region(Region::new(region.clone()))
                .force_path_style(force_path_style);
            if let Some(url) = &endpoint {
                s3 = s3.endpoint_url(url);
            }
            aws_sdk_s3::Client::from_conf(s3.build())
        });
        let folders = accounts
            .iter()
            .flat_map(|a| regions.iter().map(move |r| (a.clone(), r.clone())))
            .collect();
        TrailBucket {
            id: format!("aws/{tenant}/trail-bucket/{}", config.bucket),
            client,
            bucket: config.bucket.clone(),
            folders,
            config: config.clone(),
        }
    }

    /// The folders of `window`: `<key base><region>/YYYY/MM/DD/`, for every account and region.
    pub fn prefixes(&self, window: &Window) -> Vec<String> {
        let days = delivery_days(window, Utc::now().date_naive());
        let mut prefixes = Vec::new();
        for (account, region) in &self.folders {
            let base = self.config.key_base(account);
            for day in &days {
                prefixes.push(format!("{base}{region}/{}/", day.format("%Y/%m/%d")));
            }
        }
        prefixes
    }
}

/// The days whose folders can hold the window's records: CloudTrail files an event under the
/// day it delivers it, minutes after the event, so the day after the window is listed too
/// (unless it is still to come).
pub fn delivery_days(window: &Window, today: NaiveDate) -> Vec<NaiveDate> {
    let mut days = window.dates();
    if let Some(next) = days.last().map(|day| *day + Duration::days(1)) {
        if next <= today {
            days.push(next);
        }
    }
    days
}

#[async_trait]
impl Source for TrailBucket {
    fn id(&self) -> &str {
        &self.id
    }

    async fn list(&self, window: &Window) -> Result<Vec<Stream>, PullError> {
        let mut streams = Vec::new();
        for prefix in self.prefixes(window) {
            let what = format!("{} listing {prefix}", self.id);
            let mut token: Option<String> = None;
            loop {
                let output = self
                    .client
                    .get()
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(&prefix)
                    .set_max_keys(self.config.list_page_size)
                    .set_continuation_token(token.take())
                    .send()
                    .await
                    .map_err(|err| classify(&what, err));
                let output = self.client.after(output)?;
                for object in output.contents() {
                    match object.key() {
                        Some(key) if key.ends_with(".json.gz") => streams.push(Stream::new(key)),
                        Some(key) => {
                            tracing::debug!(source = %self.id, key, "not a trail log file")
                        }
                        None => {}
                    }
                }
                match output.next_continuation_token() {
                    Some(next) if output.is_truncated() == Some(true) => {
                        token = Some(next.to_string())
                    }
                    _ => break,
                }
            }
        }
        Ok(streams)
    }

    async fn fetch(
        &self,
        stream: &Stream,
        _window: &Window,
        _token: Option<&str>,
    ) -> Result<Page, PullError> {
        let what = format!("{} {}", self.id, stream.key);
        let object = self
            .client
            .get()
            .get_object()
            .bucket(&self.bucket)
            .key(&stream.key)
            .send()
            .await
            .map_err(|err| classify(&what, err));
        let object = self.client.after(object)?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|err| PullError::Transient(format!("{what}: the object broke off: {err}")))?
            .into_bytes()
            .to_vec();
        // A trail log file is one gzip member of one `{"Records":[...]}` document.
        let records = document::whole_json(&bytes, "Records")
            .map_err(|why| PullError::Transient(format!("{what}: {why}")))?;
        Ok(Page {
            bytes,
            extension: "json.gz",
            records,
            next: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_day_after_the_window_is_listed_until_it_is_in_the_future() {
        let window = Window {
            start: Utc.with_ymd_and_hms(2026, 11, 30, 6, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap(),
        };
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        assert_eq!(
            delivery_days(&window, day(12, 4)),
            vec![day(11, 30), day(12, 1), day(12, 2)]
        );
        assert_eq!(
            delivery_days(&window, day(12, 1)),
            vec![day(11, 30), day(12, 1)]
        );
    }
}
