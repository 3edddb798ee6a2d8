//! Azure's paged answers: a records array and a link to the next page. The link is followed as
//! given, but only to the origin it came from: a link elsewhere would carry the bearer token to
//! another host.

use auditsweep_source::{Page, PullError, Window};
use azure_core::http::Url;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Reads a whole JSON page: the records under `records` and the next link under `next`
/// (`/`-separated keys), kept as the provider sent them.
pub(crate) fn page(
    bytes: Vec<u8>,
    records: &[&str],
    next: &[&str],
    origin: &Url,
) -> Result<Page, PullError> {
    let document: Value = serde_json::from_slice(&bytes)
        .map_err(|err| PullError::Transient(format!("the page is not JSON: {err}")))?;
    let count = match lookup(&document, records) {
        Some(Value::Array(items)) => items.len() as u64,
        _ => {
            return Err(PullError::Fatal(format!(
                "the answer has no `{}` array",
                records.join(".")
            )))
        }
    };
    let next = match lookup(&document, next) {
        None | Some(Value::Null) => None,
        Some(Value::String(link)) if link.is_empty() => None,
        Some(Value::String(link)) => Some(checked_link(link, origin)?.to_string()),
        Some(_) => {
            return Err(PullError::Fatal(format!(
                "`{}` is not a link",
                next.join(".")
            )))
        }
    };
    Ok(Page {
        bytes,
        extension: "json",
        records: count,
        next,
    })
}

fn lookup<'a>(document: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(document, |value, key| value.get(key))
}

/// A next link (or a cursor's saved one) parsed and held to the endpoint's origin.
pub(crate) fn checked_link(link: &str, origin: &Url) -> Result<Url, PullError> {
    let url =
        Url::parse(link).map_err(|_| PullError::Fatal("the next page link is not a URL".into()))?;
    if url.origin() != origin.origin() {
        return Err(PullError::Fatal(format!(
            "the next page link leads to {}, not to the endpoint {}",
            url.origin().ascii_serialization(),
            origin.origin().ascii_serialization()
        )));
    }
    Ok(url)
}

/// One stream per piece of the window (its days or months), keyed by the piece.
pub(crate) fn streams(pieces: Vec<(String, Window)>) -> Vec<auditsweep_source::Stream> {
    pieces
        .into_iter()
        .map(|(key, _)| auditsweep_source::Stream::new(key))
        .collect()
}

/// The piece of `window` a stream key names (`days` or `months` of it).
pub(crate) fn piece(pieces: Vec<(String, Window)>, key: &str) -> Result<Window, PullError> {
    pieces
        .into_iter()
        .find(|(piece, _)| piece == key)
        .map(|(_, window)| window)
        .ok_or_else(|| PullError::Fatal(format!("stream {key} is not in the window")))
}

/// An endpoint with `path` appended to whatever path it has (a proxy may add a prefix).
pub(crate) fn endpoint(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    url.set_path(&joined);
    url
}

/// The last instant of a window at Azure's precision. The Activity Log and Graph filters have
/// only an inclusive upper bound (`le`); Azure writes times to 100 ns, so the window's end less
/// one tick is the same as "before the end", and adjacent windows never share a record.
pub(crate) fn last_tick(window: &Window) -> DateTime<Utc> {
    window.end - chrono::Duration::nanoseconds(100)
}

/// `2026-11-01T00:00:00.0000000Z`: the 7 fractional digits Azure writes.
pub(crate) fn ticks(at: DateTime<Utc>) -> String {
    format!(
        "{}.{:07}Z",
        at.format("%Y-%m-%dT%H:%M:%S"),
        at.timestamp_subsec_nanos() / 100
    )
}

/// A query string as Microsoft's docs write it: `$filter` with its dollar sign, spaces as
/// `%20` (Graph reads `+` literally in some parameters).
pub(crate) fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(key, value)| {
            let value: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            format!("{key}={}", value.replace('+', "%20"))
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_stay_on_their_origin() {
        let origin = Url::parse("https://management.azure.com").unwrap();
        assert!(checked_link("https://management.azure.com/x?$skiptoken=a", &origin).is_ok());
        for bad in [
            "https://evil.example/x",
            "http://management.azure.com/x",
            "https://management.azure.com:8443/x",
            "not a url",
        ] {
            assert!(
                matches!(checked_link(bad, &origin), Err(PullError::Fatal(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn pages_count_records_and_read_the_link() {
        let origin = Url::parse("https://graph.microsoft.com").unwrap();
        let body = br#"{"value":[{},{}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/auditLogs/signIns?$skiptoken=x"}"#;
        let page = page(body.to_vec(), &["value"], &["@odata.nextLink"], &origin).unwrap();
        assert_eq!(page.records, 2);
        assert_eq!(page.bytes, body);
        assert_eq!(
            page.next.as_deref(),
            Some("https://graph.microsoft.com/v1.0/auditLogs/signIns?$skiptoken=x")
        );
        let last = super::page(
            br#"{"value":[],"nextLink":null}"#.to_vec(),
            &["value"],
            &["nextLink"],
            &origin,
        )
        .unwrap();
        assert_eq!((last.records, last.next), (0, None));
        let error = super::page(
            br#"{"error":{}}"#.to_vec(),
            &["value"],
            &["nextLink"],
            &origin,
        );
        assert!(matches!(error, Err(PullError::Fatal(_))));
    }

    #[test]
    fn queries_are_written_as_the_docs_write_them() {
        assert_eq!(
            query(&[("api-version", "2015-04-01"), ("$filter", "a ge '1+2'")]),
            "api-version=2015-04-01&$filter=a%20ge%20%271%2B2%27"
        );
    }

    #[test]
    fn endpoints_keep_their_path_prefix() {
        let base = Url::parse("https://proxy.example/azure/").unwrap();
        assert_eq!(
            endpoint(&base, "/subscriptions/x").as_str(),
            "https://proxy.example/azure/subscriptions/x"
        );
    }
}
