//! CloudTrail `LookupEvents` of one account: a stream per region, 50 events a page, at most 2
//! requests per second per region, over the 90 days CloudTrail keeps. Each page is handed over
//! as the `LookupEvents` response JSON that `aws cloudtrail lookup-events` prints, which the
//! file readers accept (`docs/formats.md`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use auditsweep_source::{Page, PullError, RateLimit, Source, Stream, Window};
use aws_config::{Region, SdkConfig};
use aws_sdk_cloudtrail::types::Event;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::config::LOOKUP_EVENTS_PER_SECOND;
use crate::error::classify;
use crate::fresh::Fresh;

/// Events a page holds, the API's maximum.
pub const PAGE_SIZE: i32 = 50;

/// Days of event history `LookupEvents` answers for.
pub const HISTORY_DAYS: i64 = 90;

pub struct LookupEvents {
    id: String,
    /// Per region: its client and its share of the quota.
    regions: BTreeMap<String, (Fresh<aws_sdk_cloudtrail::Client>, RateLimit)>,
    order: Vec<String>,
}

impl LookupEvents {
    /// `sdk` holds the account's credentials; `endpoint` replaces CloudTrail's.
    pub fn new(
        tenant: &str,
        account: &str,
        sdk: &SdkConfig,
        regions: &[String],
        endpoint: Option<&str>,
    ) -> LookupEvents {
        let mut clients = BTreeMap::new();
        for region in regions {
            let (name, endpoint) = (region.clone(), endpoint.map(str::to_string));
            let client = Fresh::new(sdk, move |sdk| {
                let mut config = aws_sdk_cloudtrail::config::Builder::from(sdk)
                    .region(Region::new(name.clone()));
                if let Some(url) = &endpoint {
                    config = config.endpoint_url(url);
                }
                aws_sdk_cloudtrail::Client::from_conf(config.build())
            });
            clients.insert(
                region.clone(),
                (client, RateLimit::per_second(LOOKUP_EVENTS_PER_SECOND)),
            );
        }
        LookupEvents {
            id: format!("aws/{tenant}/lookup-events/{account}"),
            regions: clients,
            order: regions.to_vec(),
        }
    }
}

/// The part of `window` that `LookupEvents` still holds on `now`'s day: from the start of the
/// day 89 days back, so the start stays the same for every page of a day's pull (a moving start
/// would change the request between a page and its next token).
pub fn clamp(window: &Window, now: DateTime<Utc>) -> Option<Window> {
    let oldest = (now.date_naive() - Duration::days(HISTORY_DAYS - 1))
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now);
    let start = window.start.max(oldest);
    (start < window.end).then_some(Window {
        start,
        end: window.end,
    })
}

#[async_trait]
impl Source for LookupEvents {
    fn id(&self) -> &str {
        &self.id
    }

    async fn list(&self, window: &Window) -> Result<Vec<Stream>, PullError> {
        match clamp(window, Utc::now()) {
            None => {
                tracing::warn!(source = %self.id, start = %window.start, end = %window.end, "LookupEvents keeps {HISTORY_DAYS} days and the whole window is older: nothing to ask (read the trail's bucket for older history)");
                Ok(Vec::new())
            }
            Some(clamped) => {
                if clamped.start > window.start {
                    tracing::warn!(source = %self.id, asked = %window.start, from = %clamped.start, "LookupEvents keeps {HISTORY_DAYS} days: the window is cut to its last {HISTORY_DAYS} days (read the trail's bucket for older history)");
                }
                Ok(self.order.iter().map(Stream::new).collect())
            }
        }
    }

    async fn fetch(
        &self,
        stream: &Stream,
        window: &Window,
        token: Option<&str>,
    ) -> Result<Page, PullError> {
        let what = format!("{} {}", self.id, stream.key);
        let (client, limit) = self
            .regions
            .get(&stream.key)
            .ok_or_else(|| PullError::Fatal(format!("{what}: not a configured region")))?;
        let Some(window) = clamp(window, Utc::now()) else {
            return Ok(Page {
                bytes: render(&[], None),
                extension: "json",
                records: 0,
                next: None,
            });
        };
        limit.acquire().await;
        let output = client
            .get()
            .lookup_events()
            .start_time(smithy_time(window.start))
            .end_time(smithy_time(window.end))
            .max_results(PAGE_SIZE)
            .set_next_token(token.map(str::to_string))
            .send()
            .await
            .map_err(|err| classify(&what, err));
        let output = client.after(output)?;
        let next = output.next_token().map(str::to_string);
        Ok(Page {
            bytes: render(output.events(), next.as_deref()),
            extension: "json",
            records: output.events().len() as u64,
            next,
        })
    }
}

fn smithy_time(time: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_millis(time.timestamp_millis())
}

/// The response as the CLI prints it: the documented member names, `EventTime` in RFC 3339,
/// `CloudTrailEvent` the very string the API returned.
pub fn render(events: &[Event], next: Option<&str>) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Response<'a> {
        events: Vec<EventJson<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_token: Option<&'a str>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct EventJson<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        event_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        event_name: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        read_only: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        access_key_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        event_time: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        event_source: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        username: Option<&'a str>,
        // Always written: the API answers `[]` for an event without resources.
        resources: Vec<ResourceJson<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cloud_trail_event: Option<&'a str>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct ResourceJson<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        resource_type: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        resource_name: Option<&'a str>,
    }
    let events = events
        .iter()
        .map(|event| EventJson {
            event_id: event.event_id(),
            event_name: event.event_name(),
            read_only: event.read_only(),
            access_key_id: event.access_key_id(),
            event_time: event.event_time().and_then(rfc3339),
            event_source: event.event_source(),
            username: event.username(),
            resources: event
                .resources()
                .iter()
                .map(|r| ResourceJson {
                    resource_type: r.resource_type(),
                    resource_name: r.resource_name(),
                })
                .collect(),
            cloud_trail_event: event.cloud_trail_event(),
        })
        .collect();
    serde_json::to_vec(&Response {
        events,
        next_token: next,
    })
    .expect("strings and numbers serialize")
}

fn rfc3339(time: &aws_smithy_types::DateTime) -> Option<String> {
    let time = DateTime::from_timestamp(time.secs(), time.subsec_nanos())?;
    Some(time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_window_is_cut_to_the_90_days_of_history() {
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 18, 30, 0).unwrap();
        let oldest = Utc.with_ymd_and_hms(2026, 9, 6, 0, 0, 0).unwrap();
        let inside = Window {
            start: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            end: now,
        };
        assert_eq!(clamp(&inside, now), Some(inside));
        let long = Window {
            start: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            end: now,
        };
        assert_eq!(clamp(&long, now).unwrap().start, oldest);
        assert!(now - oldest <= Duration::days(HISTORY_DAYS));
        let old = Window {
            start: long.start,
            end: oldest,
        };
        assert_eq!(clamp(&old, now), None);
    }

    #[test]
    fn events_render_as_the_documented_response() {
        let event = Event::builder()
            .event_id("e1")
            .event_name("RunInstances")
            .read_only("false")
            .event_time(aws_smithy_types::DateTime::from_secs(1_709_907_600))
            .event_source("ec2.amazonaws.com")
            .username("alice")
            .resources(
                aws_sdk_cloudtrail::types::Resource::builder()
                    .resource_type("AWS::EC2::Instance")
                    .resource_name("i-0d15ea5e000000041")
                    .build(),
            )
            .cloud_trail_event(r#"{"eventVersion":"1.09","eventID":"e1"}"#)
            .build();
        let text = String::from_utf8(render(&[event], Some("tok"))).unwrap();
        assert_eq!(
            text,
            r#"{"Events":[{"EventId":"e1","EventName":"RunInstances","ReadOnly":"false","EventTime":"2024-03-08T14:20:00+00:00","EventSource":"ec2.amazonaws.com","Username":"alice","Resources":[{"ResourceType":"AWS::EC2::Instance","ResourceName":"i-0d15ea5e000000041"}],"CloudTrailEvent":"{\"eventVersion\":\"1.09\",\"eventID\":\"e1\"}"}],"NextToken":"tok"}"#
        );
        assert_eq!(render(&[], None), br#"{"Events":[]}"#);
    }
}
