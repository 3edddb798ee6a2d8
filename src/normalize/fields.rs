//! Small readers for provider records: nested lookups, string-or-number coercion, timestamps.
//!
//! Providers disagree on types (Cost Explorer sends amounts as strings, BigQuery exports as
//! numbers, CSV rows everything as text), so every mapper reads through these helpers.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

use super::error::RecordError;
use super::RecordContext;
use crate::schema::Provider;

/// The value at a `/`-free key path, e.g. `at(record, &["userIdentity", "arn"])`.
pub(crate) fn at<'v>(record: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(record, |value, key| value.get(key))
}

/// A non-empty string at `path`; numbers are accepted too (and rendered), `null` and `""` are not.
pub(crate) fn text(record: &Value, path: &[&str]) -> Option<String> {
    match at(record, path)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The first present string among several candidate paths.
pub(crate) fn first_text(record: &Value, paths: &[&[&str]]) -> Option<String> {
    paths.iter().find_map(|path| text(record, path))
}

pub(crate) fn has(record: &Value, key: &str) -> bool {
    record.get(key).is_some()
}

/// A number that may be sent as a JSON number or as a string (`"12.5"`, `"1,234.50"`).
pub(crate) fn number(record: &Value, path: &[&str]) -> Option<Result<f64, String>> {
    match at(record, path)? {
        Value::Number(n) => Some(n.as_f64().ok_or_else(|| n.to_string())),
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(
            s.trim()
                .replace(',', "")
                .parse::<f64>()
                .map_err(|_| s.clone()),
        ),
        Value::Null => None,
        other => Some(Err(other.to_string())),
    }
}

/// Reads a required amount, naming the field when it is absent or not a number.
pub(crate) fn required_number(
    record: &Value,
    path: &[&str],
    field: &'static str,
) -> Result<f64, RecordError> {
    match number(record, path) {
        None => Err(RecordError::MissingField(field)),
        Some(Err(raw)) => Err(RecordError::bad(field, raw, "not a number")),
        Some(Ok(n)) if !n.is_finite() => Err(RecordError::bad(field, n, "not a finite number")),
        Some(Ok(n)) => Ok(n),
    }
}

/// The largest cost one billing line may have, in its currency. Far above any real line (a
/// trillion), and low enough that a day's sum of such lines stays exact in the billing
/// detector's integer micro-units (up to 9.2e12); a larger value is a broken field, not a bill.
pub const MAX_LINE_COST: f64 = 1e12;

/// Reads a required cost: a finite number of at most [`MAX_LINE_COST`] either way.
pub(crate) fn required_cost(
    record: &Value,
    path: &[&str],
    field: &'static str,
) -> Result<f64, RecordError> {
    let cost = required_number(record, path, field)?;
    if cost.abs() > MAX_LINE_COST {
        return Err(RecordError::bad(
            field,
            format!("{cost:e}"),
            format!("beyond {MAX_LINE_COST:e}, the most one billing line can cost"),
        ));
    }
    Ok(cost)
}

/// Reads a required timestamp, naming the field when it is absent, unparseable or outside the
/// span a record of `provider` can have ([`TimeBounds`]).
pub(crate) fn required_time(
    record: &Value,
    path: &[&str],
    field: &'static str,
    provider: &Provider,
    context: &RecordContext,
) -> Result<DateTime<Utc>, RecordError> {
    let raw = text(record, path).ok_or(RecordError::MissingField(field))?;
    checked_time(parse_time(&raw), &raw, field, provider, context)
}

/// A record's timestamp as parsed from `raw`, checked against the bounds of `context`: every
/// format's timestamp goes through here.
pub(crate) fn checked_time(
    parsed: Option<DateTime<Utc>>,
    raw: &str,
    field: &'static str,
    provider: &Provider,
    context: &RecordContext,
) -> Result<DateTime<Utc>, RecordError> {
    let time = parsed.ok_or_else(|| RecordError::bad(field, raw, "not a recognized timestamp"))?;
    context
        .file
        .bounds
        .check(time, provider)
        .map_err(|why| RecordError::bad(field, raw, why))
}

/// The span a record's timestamp must lie in to be data: from the year its provider began (AWS
/// 2006, GCP 2008, Azure 2010; other FOCUS providers 2006) to one day after the run's clock
/// (clock skew, and billing days that start ahead of UTC). A time outside it (year 9999, a
/// zeroed 1970 clock) is a broken field: taken as data, it would stretch the sweep's window
/// over centuries. The clock is injectable so that tests do not depend on the date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBounds {
    latest: DateTime<Utc>,
}

impl Default for TimeBounds {
    fn default() -> Self {
        TimeBounds::at(Utc::now())
    }
}

impl TimeBounds {
    /// Bounds for a run whose clock reads `now`.
    pub fn at(now: DateTime<Utc>) -> Self {
        TimeBounds {
            latest: now.checked_add_signed(Duration::days(1)).unwrap_or(now),
        }
    }

    /// The first instant a record of `provider` can have: the 1st of January of the year the
    /// provider began selling cloud services.
    pub fn earliest(provider: &Provider) -> DateTime<Utc> {
        let year = match provider {
            Provider::Aws => 2006,
            Provider::Gcp => 2008,
            Provider::Azure => 2010,
            Provider::Other(_) => 2006,
        };
        Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0)
            .single()
            .expect("a valid date")
    }

    /// The last instant a record can have.
    pub fn latest(&self) -> DateTime<Utc> {
        self.latest
    }

    /// `time` if it lies within the bounds for `provider`, else why not.
    pub fn check(&self, time: DateTime<Utc>, provider: &Provider) -> Result<DateTime<Utc>, String> {
        let earliest = Self::earliest(provider);
        if time < earliest {
            return Err(format!(
                "before {}, earlier than any {provider} record can be",
                earliest.date_naive()
            ));
        }
        if time > self.latest {
            return Err(format!(
                "after {}, more than a day past this run's clock",
                self.latest
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        Ok(time)
    }
}

/// Parses the timestamp spellings providers use: RFC 3339 with any precision or offset,
/// `YYYY-MM-DD HH:MM:SS[.fff]` (CSV exports, UTC), `YYYY-MM-DDTHH:MM:SS` without zone (UTC),
/// a bare date, and the US `MM/DD/YYYY` of older Azure cost exports.
pub fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    // "2024-09-18 22:00:00 UTC" and "... +00:00" appear in BigQuery CSV exports.
    let without_utc = raw.strip_suffix(" UTC").unwrap_or(raw);
    if let Ok(t) = DateTime::parse_from_str(without_utc, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%m/%d/%Y %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(without_utc, format) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    for format in ["%Y-%m-%d", "%m/%d/%Y", "%Y%m%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(without_utc, format) {
            return Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?));
        }
    }
    None
}

/// Midnight UTC of the day `time` falls in: billing rows are per usage day.
pub fn start_of_day(time: DateTime<Utc>) -> DateTime<Utc> {
    Utc.from_utc_datetime(
        &time
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists"),
    )
}

/// An address as the provider wrote it, if it is one: drops service names (`ec2.amazonaws.com`),
/// `AWS Internal`, and a `:port` suffix Azure sometimes appends; brackets around IPv6 too.
pub(crate) fn ip_address(raw: Option<String>) -> Option<String> {
    let raw = raw?;
    let candidate = raw.trim();
    if let Ok(ip) = candidate.parse::<std::net::IpAddr>() {
        return Some(ip.to_string());
    }
    if let Ok(socket) = candidate.parse::<std::net::SocketAddr>() {
        return Some(socket.ip().to_string());
    }
    let unbracketed = candidate.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = unbracketed.parse::<std::net::IpAddr>() {
        return Some(ip.to_string());
    }
    dotted_decimal_with_zeros(candidate).map(|ip| ip.to_string())
}

/// `06.237.252.245`: anonymized CloudTrail samples zero-pad octets, which Rust's strict parser
/// rejects; CloudTrail writes decimal, so the octets are read as decimal.
fn dotted_decimal_with_zeros(raw: &str) -> Option<std::net::Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = raw.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *octet = part.parse().ok()?;
    }
    parts
        .next()
        .is_none()
        .then_some(std::net::Ipv4Addr::from(octets))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_in_every_spelling() {
        let want = Utc.with_ymd_and_hms(2024, 9, 18, 22, 0, 0).unwrap();
        for raw in [
            "2024-09-18T22:00:00Z",
            "2024-09-18T22:00:00.000Z",
            "2024-09-18T22:00:00.0000000Z",
            "2024-09-19T00:00:00+02:00",
            "2024-09-18 22:00:00",
            "2024-09-18 22:00:00 UTC",
            "2024-09-18 22:00:00+00:00",
            "2024-09-18T22:00:00",
        ] {
            assert_eq!(parse_time(raw), Some(want), "{raw}");
        }
        let day = Utc.with_ymd_and_hms(2024, 9, 18, 0, 0, 0).unwrap();
        assert_eq!(parse_time("2024-09-18"), Some(day));
        assert_eq!(parse_time("09/18/2024"), Some(day));
        assert_eq!(parse_time("20240918"), Some(day));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn times_outside_the_providers_years_or_past_tomorrow_are_refused() {
        let now = Utc.with_ymd_and_hms(2024, 9, 18, 12, 0, 0).unwrap();
        let bounds = TimeBounds::at(now);
        let at = |raw: &str| parse_time(raw).unwrap();
        assert!(bounds.check(at("2006-01-01"), &Provider::Aws).is_ok());
        assert!(bounds
            .check(at("2005-12-31T23:59:59Z"), &Provider::Aws)
            .is_err());
        assert!(bounds.check(at("2009-06-01"), &Provider::Gcp).is_ok());
        assert!(bounds.check(at("2009-06-01"), &Provider::Azure).is_err());
        assert!(bounds
            .check(at("1970-01-01"), &Provider::Other("oracle".into()))
            .is_err());
        // Up to a day ahead of the clock is skew; beyond it is not a record of this world.
        assert!(bounds
            .check(at("2024-09-19T12:00:00Z"), &Provider::Aws)
            .is_ok());
        let why = bounds
            .check(at("2024-09-19T12:00:01Z"), &Provider::Aws)
            .unwrap_err();
        assert_eq!(
            why,
            "after 2024-09-19T12:00:00Z, more than a day past this run's clock"
        );
        let why = bounds.check(at("9999-12-31"), &Provider::Gcp).unwrap_err();
        assert!(why.starts_with("after 2024-09-19"), "{why}");
        let why = bounds.check(at("2007-01-01"), &Provider::Gcp).unwrap_err();
        assert_eq!(why, "before 2008-01-01, earlier than any gcp record can be");
    }

    #[test]
    fn costs_beyond_the_line_cap_are_refused() {
        let record = json!({"ok": "-1,234.5", "cap": 1e12, "huge": 1e308, "text": "1e13"});
        assert_eq!(required_cost(&record, &["ok"], "ok"), Ok(-1234.5));
        assert_eq!(required_cost(&record, &["cap"], "cap"), Ok(1e12));
        assert_eq!(
            required_cost(&record, &["huge"], "huge")
                .unwrap_err()
                .to_string(),
            r#"field `huge` has an unusable value "1e308": beyond 1e12, the most one billing line can cost"#
        );
        assert!(required_cost(&record, &["text"], "text").is_err());
    }

    #[test]
    fn numbers_from_strings_and_numbers() {
        let record = json!({"a": "1,234.50", "b": 2, "c": "x", "d": ""});
        assert_eq!(number(&record, &["a"]), Some(Ok(1234.5)));
        assert_eq!(number(&record, &["b"]), Some(Ok(2.0)));
        assert!(matches!(number(&record, &["c"]), Some(Err(_))));
        assert_eq!(number(&record, &["d"]), None);
    }

    #[test]
    fn addresses_only() {
        assert_eq!(
            ip_address(Some("203.0.113.9".into())).as_deref(),
            Some("203.0.113.9")
        );
        assert_eq!(
            ip_address(Some("203.0.113.9:4431".into())).as_deref(),
            Some("203.0.113.9")
        );
        assert_eq!(
            ip_address(Some("[2001:db8::1]".into())).as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(
            ip_address(Some("06.237.252.245".into())).as_deref(),
            Some("6.237.252.245")
        );
        assert_eq!(ip_address(Some("256.1.1.1".into())), None);
        assert_eq!(ip_address(Some("ec2.amazonaws.com".into())), None);
        assert_eq!(ip_address(Some("AWS Internal".into())), None);
    }
}
