//! SDK errors in the retry policy's classes. AWS signs every request (no bearer token in a
//! header or URL) and the SDK's messages carry error codes and provider text, so what is kept
//! here holds no secret.

use std::time::Duration;

use auditsweep_source::retry::parse_retry_after;
use auditsweep_source::PullError;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// AWS's throttling error codes (`LookupEvents` answers HTTP 400 `ThrottlingException`, Cost
/// Explorer `LimitExceededException`, S3 503 `SlowDown`).
const THROTTLING: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "LimitExceededException",
    "SlowDown",
    "ProvisionedThroughputExceededException",
];

/// Codes of a credential that has run out: the next try signs with a refreshed one (the SDK's
/// identity cache renews credentials that expire).
const EXPIRED: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "TokenRefreshRequired",
];

/// AWS sends no `Retry-After` with its throttling errors; the quotas refill each second
/// (`LookupEvents`: 2 per second), so a throttled request waits at least this long.
pub const THROTTLE_WAIT: Duration = Duration::from_secs(1);

/// A failed SDK call as a [`PullError`], its message starting with `what`.
pub fn classify<E>(what: &str, err: SdkError<E, HttpResponse>) -> PullError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(service) => {
            let raw = service.raw();
            let retry_after = raw.headers().get("retry-after").and_then(parse_retry_after);
            let inner = service.err();
            answer(
                what,
                raw.status().as_u16(),
                inner.code(),
                inner.message(),
                retry_after,
            )
        }
        SdkError::TimeoutError(_) => PullError::Transient(format!("{what}: timed out")),
        SdkError::ResponseError(_) => PullError::Transient(format!(
            "{what}: the answer could not be read (it broke off?): {}",
            DisplayErrorContext(&err)
        )),
        SdkError::DispatchFailure(_) => PullError::Transient(format!(
            "{what}: the request failed on the way: {}",
            DisplayErrorContext(&err)
        )),
        // The request could not be built: a setting, or credentials that could not be had.
        _ => PullError::Fatal(format!("{what}: {}", DisplayErrorContext(&err))),
    }
}

/// An AWS answer: status, error code and message.
pub fn answer(
    what: &str,
    status: u16,
    code: Option<&str>,
    message: Option<&str>,
    retry_after: Option<Duration>,
) -> PullError {
    let code = code.unwrap_or("");
    let message: String = message.unwrap_or("").chars().take(200).collect();
    let mut text = format!("{what}: HTTP {status}");
    for part in [code, message.as_str()] {
        if !part.is_empty() {
            text.push_str(": ");
            text.push_str(part);
        }
    }
    if THROTTLING.contains(&code) || status == 429 || status == 503 {
        return PullError::Throttled {
            message: text,
            retry_after: Some(retry_after.unwrap_or(THROTTLE_WAIT)),
        };
    }
    if EXPIRED.contains(&code) || status == 401 {
        return PullError::Unauthorized(text);
    }
    match status {
        // A success the SDK could not read: the body broke off.
        200..=299 => PullError::Transient(format!("{text}: the page could not be read whole")),
        408 | 500..=599 => PullError::Transient(text),
        _ => PullError::Fatal(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_answers_fall_into_the_retry_classes() {
        let throttled = answer(
            "x",
            400,
            Some("ThrottlingException"),
            Some("Rate exceeded"),
            None,
        );
        assert_eq!(
            throttled,
            PullError::Throttled {
                message: "x: HTTP 400: ThrottlingException: Rate exceeded".into(),
                retry_after: Some(THROTTLE_WAIT)
            }
        );
        assert!(matches!(
            answer("x", 503, Some("SlowDown"), None, Some(Duration::from_secs(4))),
            PullError::Throttled { retry_after: Some(d), .. } if d == Duration::from_secs(4)
        ));
        assert!(matches!(
            answer("x", 400, Some("ExpiredTokenException"), None, None),
            PullError::Unauthorized(_)
        ));
        assert!(matches!(
            answer("x", 500, Some("InternalFailure"), None, None),
            PullError::Transient(_)
        ));
        assert!(matches!(
            answer("x", 200, None, None, None),
            PullError::Transient(_)
        ));
        assert_eq!(
            answer(
                "x",
                403,
                Some("AccessDeniedException"),
                Some("not authorized"),
                None
            ),
            PullError::Fatal("x: HTTP 403: AccessDeniedException: not authorized".into())
        );
        assert!(matches!(
            answer("x", 400, Some("InvalidTimeRangeException"), None, None),
            PullError::Fatal(_)
        ));
    }
}
