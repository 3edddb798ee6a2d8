//! REST over reqwest for the adapters that call HTTP APIs themselves (Azure, and GCP where no
//! generated client fits): bearer tokens refreshed when refused, answers classified for the
//! retry policy, truncated pages caught, and error messages without URLs (a SAS or a key can
//! sit in a query string).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::retry::parse_retry_after;
use crate::{PullError, Secret};

/// Where bearer tokens come from: the cloud's credential chain in production, a fixed token in
/// tests of paging.
#[async_trait]
pub trait Credential: Send + Sync {
    /// A token for the API; `refresh` asks for a new one because the last was refused.
    async fn token(&self, refresh: bool) -> Result<Secret, PullError>;
}

/// A client with the timeouts every adapter uses.
pub fn client(timeout: Duration) -> Result<reqwest::Client, PullError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("auditsweep/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| PullError::Fatal(format!("building the HTTP client: {}", err.without_url())))
}

/// Sends the request `build` makes with a bearer token from `credential`, and returns the body
/// when it is a whole JSON document. `previous` is the error of the last try: after an
/// `Unauthorized` the token is refreshed.
pub async fn get_json(
    build: impl FnOnce() -> reqwest::RequestBuilder,
    credential: &dyn Credential,
    previous: Option<&PullError>,
) -> Result<Vec<u8>, PullError> {
    let refresh = matches!(previous, Some(PullError::Unauthorized(_)));
    let token = credential.token(refresh).await?;
    let response = build()
        .bearer_auth(token.expose())
        .send()
        .await
        .map_err(transport)?;
    let status = response.status();
    let retry_after = retry_after(response.headers());
    let body = response.bytes().await.map_err(transport)?;
    if status.is_success() {
        if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err() {
            return Err(PullError::Transient(format!(
                "HTTP {status}: the page is not whole JSON ({} bytes)",
                body.len()
            )));
        }
        return Ok(body.to_vec());
    }
    Err(classify(status.as_u16(), retry_after, &body))
}

/// Like [`get_json`], for bodies that are not JSON (an object download: gzip, CSV, NDJSON).
/// `expected_len`, when the listing gave the size, catches a body that ended early.
pub async fn get_bytes(
    build: impl FnOnce() -> reqwest::RequestBuilder,
    credential: &dyn Credential,
    previous: Option<&PullError>,
    expected_len: Option<u64>,
) -> Result<Vec<u8>, PullError> {
    let refresh = matches!(previous, Some(PullError::Unauthorized(_)));
    let token = credential.token(refresh).await?;
    let response = build()
        .bearer_auth(token.expose())
        .send()
        .await
        .map_err(transport)?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(parse_retry_after);
    let body = response.bytes().await.map_err(transport)?;
    if !status.is_success() {
        return Err(classify(status.as_u16(), retry_after, &body));
    }
    match expected_len {
        Some(len) if body.len() as u64 != len => Err(PullError::Transient(format!(
            "HTTP {status}: the answer broke off ({} of {len} bytes)",
            body.len()
        ))),
        _ => Ok(body.to_vec()),
    }
}

/// A credential whose refusal is remembered until the next request. The pull driver retries
/// [`crate::Source::fetch`] without handing it the last error, so a source sends through this and
/// the try after a 401 asks for a new token.
pub struct Refreshing {
    credential: Arc<dyn Credential>,
    refused: AtomicBool,
}

impl Refreshing {
    pub fn new(credential: Arc<dyn Credential>) -> Refreshing {
        Refreshing {
            credential,
            refused: AtomicBool::new(false),
        }
    }

    /// [`get_json`] with a new token when the last one was refused.
    pub async fn get_json(
        &self,
        build: impl FnOnce() -> reqwest::RequestBuilder,
    ) -> Result<Vec<u8>, PullError> {
        let previous = self
            .refused
            .swap(false, Ordering::SeqCst)
            .then(|| PullError::Unauthorized("the last token was refused".into()));
        let result = get_json(build, &*self.credential, previous.as_ref()).await;
        if matches!(result, Err(PullError::Unauthorized(_))) {
            self.refused.store(true, Ordering::SeqCst);
        }
        result
    }
}

/// The wait a throttled answer asks for: `Retry-After`, else the longest of the headers named
/// `...-retry-after` that some APIs send instead (Azure Cost Management's
/// `x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after`, in seconds).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let read =
        |value: &reqwest::header::HeaderValue| value.to_str().ok().and_then(parse_retry_after);
    if let Some(wait) = headers.get(reqwest::header::RETRY_AFTER).and_then(read) {
        return Some(wait);
    }
    headers
        .iter()
        .filter(|(name, _)| name.as_str().ends_with("-retry-after"))
        .filter_map(|(_, value)| read(value))
        .max()
}

/// A failed answer, in the retry policy's classes, with the provider's error code and message.
pub fn classify(status: u16, retry_after: Option<Duration>, body: &[u8]) -> PullError {
    let message = format!("HTTP {status}{}", error_text(body));
    match status {
        429 | 503 => PullError::Throttled {
            message,
            retry_after,
        },
        401 => PullError::Unauthorized(message),
        408 | 500..=599 => PullError::Transient(message),
        _ => PullError::Fatal(message),
    }
}

/// `: <code>: <message>` from the error bodies Azure (`{"error":{"code","message"}}`) and Google
/// (`{"error":{"code","status","message"}}`) return; nothing for other bodies.
fn error_text(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return String::new();
    };
    let error = &value["error"];
    let code = error["status"]
        .as_str()
        .or_else(|| error["code"].as_str())
        .unwrap_or("");
    let message: String = error["message"]
        .as_str()
        .or_else(|| value["error_description"].as_str())
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    match (code.is_empty(), message.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!(": {code}"),
        (true, false) => format!(": {message}"),
        (false, false) => format!(": {code}: {message}"),
    }
}

fn transport(err: reqwest::Error) -> PullError {
    let err = err.without_url();
    if err.is_timeout() {
        PullError::Transient(format!("timed out: {err}"))
    } else if err.is_decode() || err.is_body() {
        PullError::Transient(format!("the answer broke off: {err}"))
    } else if err.is_connect() {
        PullError::Transient(format!("could not connect: {err}"))
    } else {
        PullError::Transient(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_fall_into_the_retry_classes() {
        let body = br#"{"error":{"code":"ExpiredAuthenticationToken","message":"The access token expiry UTC time is earlier than current UTC time."}}"#;
        assert!(
            matches!(classify(401, None, body), PullError::Unauthorized(m) if m.contains("ExpiredAuthenticationToken"))
        );
        assert!(matches!(
            classify(429, Some(Duration::from_secs(3)), b""),
            PullError::Throttled { retry_after: Some(d), .. } if d == Duration::from_secs(3)
        ));
        assert!(
            matches!(classify(502, None, b"<html>"), PullError::Transient(m) if m == "HTTP 502")
        );
        let google = br#"{"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}}"#;
        assert_eq!(
            classify(403, None, google),
            PullError::Fatal("HTTP 403: PERMISSION_DENIED: denied".into())
        );
    }

    #[test]
    fn the_wait_comes_from_retry_after_or_a_named_variant() {
        use reqwest::header::{HeaderMap, HeaderValue};
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(
            "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after",
            HeaderValue::from_static("4"),
        );
        headers.insert(
            "x-ms-ratelimit-microsoft.costmanagement-entity-retry-after",
            HeaderValue::from_static("9"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(9)));
        headers.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
    }

    /// Counts tokens handed out and whether each was a refresh.
    struct Counting(std::sync::Mutex<Vec<bool>>);

    #[async_trait]
    impl Credential for Counting {
        async fn token(&self, refresh: bool) -> Result<Secret, PullError> {
            let mut calls = self.0.lock().unwrap();
            calls.push(refresh);
            Ok(Secret::new(format!("token-{}", calls.len())))
        }
    }

    #[tokio::test]
    async fn the_try_after_a_refusal_gets_a_new_token() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        // Refuses the first request, accepts the others (one connection each).
        tokio::spawn(async move {
            for n in 0.. {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut request = vec![0; 4096];
                let _ = socket.read(&mut request).await.unwrap();
                let answer: &[u8] = if n == 0 {
                    b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}"
                } else {
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n[]"
                };
                socket.write_all(answer).await.unwrap();
            }
        });
        let calls = Arc::new(Counting(std::sync::Mutex::new(Vec::new())));
        let refreshing = Refreshing::new(calls.clone());
        let http = client(Duration::from_secs(5)).unwrap();
        let url = format!("http://{address}/");
        let first = refreshing.get_json(|| http.get(&url)).await;
        assert!(
            matches!(first, Err(PullError::Unauthorized(_))),
            "{first:?}"
        );
        assert_eq!(refreshing.get_json(|| http.get(&url)).await.unwrap(), b"[]");
        assert_eq!(refreshing.get_json(|| http.get(&url)).await.unwrap(), b"[]");
        assert_eq!(*calls.0.lock().unwrap(), [false, true, false]);
    }
}
