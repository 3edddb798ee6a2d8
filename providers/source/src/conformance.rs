//! The test every adapter passes against its local server: paging to the end, resuming after a
//! failure, throttling honoured, no duplicates, no secret in the logs. An adapter's test starts
//! its server, says how to inject faults into it and how to read record ids from a page, and
//! calls [`check`].

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{pull, Page, PullError, RetryPolicy, Source, Window};

/// What the local server does to a page request, in the order requests arrive. Listing
/// requests are not affected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally.
    Pass,
    /// Throttle (429 with `Retry-After`, or the provider's own throttling error).
    Throttle { retry_after_secs: u64 },
    /// A 500 or 503 without `Retry-After`.
    ServerError,
    /// A 200 whose body breaks off in the middle.
    Truncated,
    /// Refuse the current token as expired until the adapter fetches a new one. Adapters
    /// without bearer tokens (AWS signs each request) answer this as a server error.
    ExpiredToken,
}

pub struct Harness<'a> {
    /// A new adapter instance pointed at the local server.
    pub source: &'a (dyn Fn() -> Box<dyn Source> + Sync),
    pub window: Window,
    /// Queues faults for the next page requests.
    pub inject: &'a (dyn Fn(Vec<Fault>) + Sync),
    /// The provider's event ids in a page (CloudTrail `eventID`, Azure `eventDataId`, GCP
    /// `insertId`, Graph `id`, or a row key for billing).
    pub ids: &'a (dyn Fn(&Page) -> Vec<String> + Sync),
    /// Strings that must never reach a log: the credentials the test configured.
    pub secrets: Vec<String>,
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        attempts: 6,
        base: Duration::from_millis(5),
        max_wait: Duration::from_secs(5),
    }
}

async fn collect(
    harness: &Harness<'_>,
    source: &dyn Source,
    resume: Option<crate::Cursor>,
    policy: &RetryPolicy,
    ids: &mut Vec<String>,
) -> Result<crate::Cursor, (crate::Cursor, PullError)> {
    let mut pages = 0u64;
    let mut sink = |_: &crate::Stream, page: Page| {
        ids.extend((harness.ids)(&page));
        pages += 1;
        Ok(())
    };
    pull(source, harness.window, resume, policy, &mut sink)
        .await
        .map(|(cursor, _)| cursor)
}

/// Runs every check; panics naming the first that fails.
pub async fn check(harness: &Harness<'_>) {
    let logs = Logs::default();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish(),
    );

    // Paging to the end.
    let mut clean = Vec::new();
    let cursor = collect(harness, &*(harness.source)(), None, &fast(), &mut clean)
        .await
        .unwrap_or_else(|(_, error)| panic!("a clean pull failed: {error}"));
    assert!(cursor.complete);
    assert!(
        clean.len() >= 2,
        "the fixture needs several records: {clean:?}"
    );
    let unique: BTreeSet<_> = clean.iter().cloned().collect();
    assert_eq!(unique.len(), clean.len(), "a clean pull repeats records");

    // Every kind of fault on the way, retried through: the same records, once each.
    let faults = vec![
        Fault::ServerError,
        Fault::Pass,
        Fault::Truncated,
        Fault::ExpiredToken,
        Fault::Throttle {
            retry_after_secs: 1,
        },
    ];
    (harness.inject)(faults);
    let started = Instant::now();
    let mut retried = Vec::new();
    collect(harness, &*(harness.source)(), None, &fast(), &mut retried)
        .await
        .unwrap_or_else(|(_, error)| panic!("a pull through faults failed: {error}"));
    assert_eq!(retried, clean, "faults changed what was pulled");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was not waited for ({:?})",
        started.elapsed()
    );

    // A failure that outlasts the retries stops the pull with a cursor; resuming from it
    // hands over the rest and nothing twice.
    let once = RetryPolicy {
        attempts: 1,
        ..fast()
    };
    (harness.inject)(vec![Fault::Pass, Fault::ServerError]);
    let mut first = Vec::new();
    let (cursor, error) = collect(harness, &*(harness.source)(), None, &once, &mut first)
        .await
        .expect_err("a server error with one attempt stops the pull");
    assert!(!cursor.complete, "{error}");
    assert!(
        !first.is_empty(),
        "the page before the failure was handed over"
    );
    let text = serde_json::to_string(&cursor).expect("a cursor serializes");
    let cursor: crate::Cursor = serde_json::from_str(&text).expect("and reads back");
    let mut rest = Vec::new();
    let resumed = collect(
        harness,
        &*(harness.source)(),
        Some(cursor),
        &fast(),
        &mut rest,
    )
    .await
    .unwrap_or_else(|(_, error)| panic!("resuming failed: {error}"));
    assert!(resumed.complete);
    first.extend(rest);
    assert_eq!(first, clean, "resuming lost or repeated records");

    // A failure that cannot succeed (a 403) is not retried and says so.
    drop(_guard);
    let logs = logs.text();
    for secret in &harness.secrets {
        assert!(!secret.is_empty());
        assert!(
            !logs.contains(secret.as_str()),
            "a secret reached the logs:\n{logs}"
        );
        assert!(!error.to_string().contains(secret.as_str()));
    }
}

/// Log lines captured in memory.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}
