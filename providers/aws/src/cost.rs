//! Cost Explorer `GetCostAndUsage`: daily `UnblendedCost` grouped by `SERVICE` and
//! `LINKED_ACCOUNT`, paged by `NextPageToken`, each page handed over as the response JSON that
//! `aws ce get-cost-and-usage` prints (`docs/formats.md`).
//!
//! Every request costs USD 0.01, and a day's costs stop changing a few days after it. So a day
//! at least `final_after_days` old is a stream of its own, keyed by the day (`2026-11-28`): a
//! caller that already holds that day marks the key done in the cursor it resumes from, and the
//! day is never asked again. The younger days of the window are one stream,
//! `recent/<first>..<end>`, asked on every run.

use std::collections::BTreeMap;

use async_trait::async_trait;
use auditsweep_source::{Page, PullError, Source, Stream, Window};
use aws_config::{Region, SdkConfig};
use aws_sdk_costexplorer::operation::get_cost_and_usage::GetCostAndUsageOutput;
use aws_sdk_costexplorer::types::{
    DateInterval, Granularity, GroupDefinition, GroupDefinitionType, MetricValue,
};
use chrono::{Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::error::classify;
use crate::fresh::Fresh;
use crate::sdk::HOME_REGION;

/// The metric asked for: what CUR's `lineItem/UnblendedCost` holds, the reader's first choice.
pub const METRIC: &str = "UnblendedCost";

/// The two dimensions the billing rows are keyed by.
pub const GROUP_BY: [&str; 2] = ["SERVICE", "LINKED_ACCOUNT"];

const RECENT: &str = "recent/";

pub struct CostAndUsage {
    id: String,
    client: Fresh<aws_sdk_costexplorer::Client>,
    final_after_days: u32,
}

impl CostAndUsage {
    /// `sdk` holds the credentials of the account that asks (the management account sees all
    /// linked accounts); `scope` names it in the source id.
    pub fn new(
        tenant: &str,
        scope: &str,
        sdk: &SdkConfig,
        endpoint: Option<&str>,
        final_after_days: u32,
    ) -> CostAndUsage {
        let endpoint = endpoint.map(str::to_string);
        let client = Fresh::new(sdk, move |sdk| {
            let mut config =
                aws_sdk_costexplorer::config::Builder::from(sdk).region(Region::new(HOME_REGION));
            if let Some(url) = &endpoint {
                config = config.endpoint_url(url);
            }
            aws_sdk_costexplorer::Client::from_conf(config.build())
        });
        CostAndUsage {
            id: format!("aws/{tenant}/cost-and-usage/{scope}"),
            client,
            final_after_days,
        }
    }
}

/// The streams of `window` on `today` (UTC): one per final day, then one for the rest. Days
/// after today are not asked for.
pub fn streams(window: &Window, today: NaiveDate, final_after_days: u32) -> Vec<Stream> {
    let cutoff = today - Duration::days(i64::from(final_after_days));
    let days: Vec<NaiveDate> = window.dates().into_iter().filter(|d| *d <= today).collect();
    let mut streams: Vec<Stream> = days
        .iter()
        .filter(|day| **day < cutoff)
        .map(|day| Stream::new(day.to_string()))
        .collect();
    let recent: Vec<&NaiveDate> = days.iter().filter(|day| **day >= cutoff).collect();
    if let (Some(first), Some(last)) = (recent.first(), recent.last()) {
        let end = **last + Duration::days(1);
        streams.push(Stream::new(format!("{RECENT}{first}..{end}")));
    }
    streams
}

/// The `TimePeriod` of a stream key: `[start, end)` as Cost Explorer writes dates.
pub fn period(key: &str) -> Option<(String, String)> {
    let parse = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    match key.strip_prefix(RECENT) {
        Some(range) => {
            let (start, end) = range.split_once("..")?;
            Some((parse(start)?.to_string(), parse(end)?.to_string()))
        }
        None => {
            let day = parse(key)?;
            Some((day.to_string(), (day + Duration::days(1)).to_string()))
        }
    }
}

#[async_trait]
impl Source for CostAndUsage {
    fn id(&self) -> &str {
        &self.id
    }

    async fn list(&self, window: &Window) -> Result<Vec<Stream>, PullError> {
        Ok(streams(
            window,
            Utc::now().date_naive(),
            self.final_after_days,
        ))
    }

    async fn fetch(
        &self,
        stream: &Stream,
        _window: &Window,
        token: Option<&str>,
    ) -> Result<Page, PullError> {
        let what = format!("{} {}", self.id, stream.key);
        let (start, end) = period(&stream.key)
            .ok_or_else(|| PullError::Fatal(format!("{what}: not a day or a day range")))?;
        let interval = DateInterval::builder()
            .start(start)
            .end(end)
            .build()
            .map_err(|err| PullError::Fatal(format!("{what}: {err}")))?;
        let mut request = self
            .client
            .get()
            .get_cost_and_usage()
            .time_period(interval)
            .granularity(Granularity::Daily)
            .metrics(METRIC)
            .set_next_page_token(token.map(str::to_string));
        for key in GROUP_BY {
            request = request.group_by(
                GroupDefinition::builder()
                    .r#type(GroupDefinitionType::Dimension)
                    .key(key)
                    .build(),
            );
        }
        let output = request.send().await.map_err(|err| classify(&what, err));
        let output = self.client.after(output)?;
        let records = output
            .results_by_time()
            .iter()
            .map(|result| result.groups().len() as u64)
            .sum();
        Ok(Page {
            bytes: render(&output),
            extension: "json",
            records,
            next: output.next_page_token().map(str::to_string),
        })
    }
}

/// The response as the CLI prints it, with the documented member names.
pub fn render(output: &GetCostAndUsageOutput) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Response<'a> {
        group_definitions: Vec<Definition<'a>>,
        results_by_time: Vec<ByTime<'a>>,
        dimension_value_attributes: Vec<Attributes<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_page_token: Option<&'a str>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Definition<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        r#type: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        key: Option<&'a str>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct ByTime<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        time_period: Option<Period<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        total: Option<Metrics<'a>>,
        groups: Vec<Group<'a>>,
        estimated: bool,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Period<'a> {
        start: &'a str,
        end: &'a str,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Group<'a> {
        keys: &'a [String],
        #[serde(skip_serializing_if = "Option::is_none")]
        metrics: Option<Metrics<'a>>,
    }
    type Metrics<'a> = BTreeMap<&'a str, Metric<'a>>;
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Metric<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        amount: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        unit: Option<&'a str>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Attributes<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        value: Option<&'a str>,
        attributes: BTreeMap<&'a str, &'a str>,
    }
    fn metrics<'a>(
        map: Option<&'a std::collections::HashMap<String, MetricValue>>,
    ) -> Option<Metrics<'a>> {
        map.map(|map| {
            map.iter()
                .map(|(name, value)| {
                    let metric = Metric {
                        amount: value.amount(),
                        unit: value.unit(),
                    };
                    (name.as_str(), metric)
                })
                .collect()
        })
    }
    let response = Response {
        group_definitions: output
            .group_definitions()
            .iter()
            .map(|d| Definition {
                r#type: d.r#type().map(|t| t.as_str()),
                key: d.key(),
            })
            .collect(),
        results_by_time: output
            .results_by_time()
            .iter()
            .map(|r| ByTime {
                time_period: r.time_period().map(|p| Period {
                    start: p.start(),
                    end: p.end(),
                }),
                total: metrics(r.total()),
                groups: r
                    .groups()
                    .iter()
                    .map(|g| Group {
                        keys: g.keys(),
                        metrics: metrics(g.metrics()),
                    })
                    .collect(),
                estimated: r.estimated(),
            })
            .collect(),
        dimension_value_attributes: output
            .dimension_value_attributes()
            .iter()
            .map(|a| Attributes {
                value: a.value(),
                attributes: a
                    .attributes()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect(),
            })
            .collect(),
        next_page_token: output.next_page_token(),
    };
    serde_json::to_vec(&response).expect("strings and numbers serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn final_days_are_streams_of_their_own_and_the_rest_is_one() {
        let window = Window {
            start: Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 12, 6, 0, 0, 0).unwrap(),
        };
        let today = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let keys: Vec<String> = streams(&window, today, 3)
            .into_iter()
            .map(|s| s.key)
            .collect();
        assert_eq!(
            keys,
            [
                "2026-11-28",
                "2026-11-29",
                "2026-11-30",
                "recent/2026-12-01..2026-12-05"
            ]
        );
        assert_eq!(
            period("2026-11-30"),
            Some(("2026-11-30".into(), "2026-12-01".into()))
        );
        assert_eq!(
            period("recent/2026-12-01..2026-12-05"),
            Some(("2026-12-01".into(), "2026-12-05".into()))
        );
        assert_eq!(period("recent/2026-12-01"), None);
        assert_eq!(period("2026-13-01"), None);
        // A window of final days only has no recent stream; one wholly recent has only that.
        let old = Window {
            start: window.start,
            end: Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap(),
        };
        assert_eq!(streams(&old, today, 3).len(), 2);
        assert_eq!(streams(&window, today, 30).len(), 1);
    }

    #[test]
    fn a_response_renders_as_the_cli_prints_it() {
        use aws_sdk_costexplorer::types::{Group, ResultByTime};
        let cost = MetricValue::builder()
            .amount("112.4183271203")
            .unit("USD")
            .build();
        let output = GetCostAndUsageOutput::builder()
            .group_definitions(
                GroupDefinition::builder()
                    .r#type(GroupDefinitionType::Dimension)
                    .key("SERVICE")
                    .build(),
            )
            .results_by_time(
                ResultByTime::builder()
                    .time_period(
                        DateInterval::builder()
                            .start("2024-03-05")
                            .end("2024-03-06")
                            .build()
                            .unwrap(),
                    )
                    .groups(
                        Group::builder()
                            .keys("Amazon Elastic Compute Cloud - Compute")
                            .metrics("UnblendedCost", cost)
                            .build(),
                    )
                    .estimated(true)
                    .build(),
            )
            .build();
        assert_eq!(
            String::from_utf8(render(&output)).unwrap(),
            r#"{"GroupDefinitions":[{"Type":"DIMENSION","Key":"SERVICE"}],"ResultsByTime":[{"TimePeriod":{"Start":"2024-03-05","End":"2024-03-06"},"Groups":[{"Keys":["Amazon Elastic Compute Cloud - Compute"],"Metrics":{"UnblendedCost":{"Amount":"112.4183271203","Unit":"USD"}}}],"Estimated":true}],"DimensionValueAttributes":[]}"#
        );
    }
}
