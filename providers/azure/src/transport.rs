//! azure_identity's token requests sent over the workspace's reqwest client. azure_core's own
//! reqwest integration is a newer reqwest whose rustls brings aws-lc (a second TLS stack and a
//! long C build); this keeps one reqwest, one rustls, and the same extra root certificate for
//! the token endpoint as for the APIs.

use std::collections::HashMap;

use async_trait::async_trait;
use azure_core::error::{Error, ErrorKind};
use azure_core::http::headers::{HeaderName, HeaderValue, Headers};
use azure_core::http::request::{Body, Request};
use azure_core::http::{AsyncRawResponse, HttpClient, Method};

#[derive(Debug, Clone)]
pub(crate) struct Transport(pub(crate) reqwest::Client);

#[async_trait]
impl HttpClient for Transport {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let method = match request.method() {
            Method::Delete => reqwest::Method::DELETE,
            Method::Get => reqwest::Method::GET,
            Method::Head => reqwest::Method::HEAD,
            Method::Patch => reqwest::Method::PATCH,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            other => {
                return Err(Error::with_message(
                    ErrorKind::Other,
                    format!("HTTP method {other:?} is not supported"),
                ))
            }
        };
        let mut builder = self.0.request(method, request.url().as_str());
        for (name, value) in request.headers().iter() {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder = match request.body() {
            Body::Bytes(bytes) => builder.body(bytes.to_vec()),
            // Token requests are forms; nothing here streams a body.
            _ => {
                return Err(Error::with_message(
                    ErrorKind::Other,
                    "streamed request bodies are not supported",
                ))
            }
        };
        let response = builder.send().await.map_err(|err| {
            let kind = if err.is_connect() {
                ErrorKind::Connection
            } else {
                ErrorKind::Io
            };
            Error::with_error(kind, err.without_url(), "the token request failed")
        })?;
        let status = response.status().as_u16();
        let headers: HashMap<HeaderName, HeaderValue> = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                let value = value.to_str().ok()?;
                Some((
                    HeaderName::from(name.as_str().to_owned()),
                    HeaderValue::from(value.to_owned()),
                ))
            })
            .collect();
        let body = response.bytes().await.map_err(|err| {
            Error::with_error(
                ErrorKind::Io,
                err.without_url(),
                "the token answer broke off",
            )
        })?;
        Ok(AsyncRawResponse::from_bytes(
            status.into(),
            Headers::from(headers),
            body.to_vec(),
        ))
    }
}
