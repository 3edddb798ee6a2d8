//! The conformance harness on an in-memory source: it passes a correct one and catches the
//! mistakes it exists for.

use std::sync::Mutex;

use async_trait::async_trait;
use auditsweep_source::conformance::{check, Fault, Harness};
use auditsweep_source::{Page, PullError, Source, Stream, Window};
use chrono::{TimeZone, Utc};

/// Two streams of three pages of two records each; faults are served from a queue.
struct Fake {
    faults: &'static Mutex<Vec<Fault>>,
    /// A bug to plant: each page repeats the last record of the page before (paging by time
    /// with an inclusive bound).
    overlaps: bool,
    /// A bug to plant: logs its credential.
    logs_secret: bool,
    /// A bug to plant: the wait asked for is not honoured (treated as a server error).
    ignores_retry_after: bool,
}

#[async_trait]
impl Source for Fake {
    fn id(&self) -> &str {
        "fake/tenant"
    }

    async fn list(&self, _: &Window) -> Result<Vec<Stream>, PullError> {
        Ok(vec![Stream::new("a"), Stream::new("b")])
    }

    async fn fetch(
        &self,
        stream: &Stream,
        _: &Window,
        token: Option<&str>,
    ) -> Result<Page, PullError> {
        if self.logs_secret {
            tracing::debug!("using token s3cr3t-token");
        }
        let fault = {
            let mut faults = self.faults.lock().unwrap();
            if faults.is_empty() {
                Fault::Pass
            } else {
                faults.remove(0)
            }
        };
        match fault {
            Fault::Pass => {}
            Fault::Throttle { retry_after_secs } if !self.ignores_retry_after => {
                return Err(PullError::Throttled {
                    message: "429".into(),
                    retry_after: Some(std::time::Duration::from_secs(retry_after_secs)),
                })
            }
            Fault::ExpiredToken => return Err(PullError::Unauthorized("401".into())),
            _ => return Err(PullError::Transient("500".into())),
        }
        let index: u32 = token.map_or(0, |token| token.parse().unwrap());
        let mut ids: Vec<String> = (0..2)
            .map(|i| format!("{}-{index}-{i}", stream.key))
            .collect();
        if self.overlaps && index > 0 {
            ids.insert(0, format!("{}-{}-1", stream.key, index - 1));
        }
        Ok(Page {
            bytes: serde_json::to_vec(&ids).unwrap(),
            extension: "json",
            records: 2,
            next: (index < 2).then(|| (index + 1).to_string()),
        })
    }
}

fn window() -> Window {
    Window {
        start: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        end: Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap(),
    }
}

async fn run(overlaps: bool, logs_secret: bool, ignores_retry_after: bool) {
    let faults: &'static Mutex<Vec<Fault>> = Box::leak(Box::new(Mutex::new(Vec::new())));
    let source = move || -> Box<dyn Source> {
        Box::new(Fake {
            faults,
            overlaps,
            logs_secret,
            ignores_retry_after,
        })
    };
    let inject = move |new: Vec<Fault>| *faults.lock().unwrap() = new;
    let ids = |page: &Page| serde_json::from_slice::<Vec<String>>(&page.bytes).unwrap();
    check(&Harness {
        source: &source,
        window: window(),
        inject: &inject,
        ids: &ids,
        secrets: vec!["s3cr3t-token".into()],
    })
    .await;
}

#[tokio::test]
async fn a_correct_source_passes() {
    run(false, false, false).await;
}

#[tokio::test]
#[should_panic(expected = "a clean pull repeats records")]
async fn a_source_whose_pages_overlap_fails() {
    run(true, false, false).await;
}

#[tokio::test]
#[should_panic(expected = "a secret reached the logs")]
async fn a_source_that_logs_its_token_fails() {
    run(false, true, false).await;
}

#[tokio::test]
#[should_panic(expected = "Retry-After: 1 was not waited for")]
async fn a_source_that_ignores_retry_after_fails() {
    run(false, false, true).await;
}
