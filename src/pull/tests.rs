use std::path::Path;

use async_trait::async_trait;
use auditsweep_source::{Page, PullError, RetryPolicy, Source, Stream, Window};
use chrono::{TimeZone, Utc};

use super::*;

/// Serves files as pages: one stream per file, the file's bytes split nowhere.
struct Files {
    id: String,
    files: Vec<PathBuf>,
    fail_after: Option<usize>,
}

#[async_trait]
impl Source for Files {
    fn id(&self) -> &str {
        &self.id
    }
    async fn list(&self, _: &Window) -> Result<Vec<Stream>, PullError> {
        Ok(self
            .files
            .iter()
            .map(|f| Stream::new(f.to_string_lossy()))
            .collect())
    }
    async fn fetch(&self, stream: &Stream, _: &Window, _: Option<&str>) -> Result<Page, PullError> {
        let index = self
            .files
            .iter()
            .position(|f| f.to_string_lossy() == stream.key)
            .unwrap();
        if self.fail_after.is_some_and(|n| index >= n) {
            return Err(PullError::Fatal("HTTP 403: AccessDenied".into()));
        }
        let bytes = std::fs::read(&stream.key).unwrap();
        let extension = if bytes.starts_with(&[0x1f, 0x8b]) {
            "json.gz"
        } else {
            "json"
        };
        Ok(Page {
            bytes,
            extension,
            records: 1,
            next: None,
        })
    }
}

fn window() -> Window {
    Window {
        start: Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap(),
        end: Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap(),
    }
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    files.sort();
    files
}

fn job(files: Files) -> Job {
    Job {
        source: Box::new(files),
        window: window(),
        resume: None,
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn pages_land_as_native_files_under_the_source_and_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = page_path(
        dir.path(),
        "aws/acme/s3-trail/111122223333",
        "AWSLogs/1/../x.json.gz",
        "20261101T000000Z-first",
        "json.gz",
    );
    let relative = path.strip_prefix(dir.path()).unwrap();
    assert_eq!(
        relative,
        Path::new("aws/acme/s3-trail/111122223333/AWSLogs%2F1%2F..%2Fx.json.gz/20261101T000000Z-first.json.gz")
    );
    assert_eq!(escape(".."), "%2E.");
    assert_eq!(escape(""), "%00");
}

#[test]
fn pulled_pages_give_the_report_their_files_give() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    let clouds: Vec<PathBuf> = ["aws", "azure", "gcp"]
        .iter()
        .map(|c| demo.join(c))
        .collect();
    let files: Vec<PathBuf> = clouds.iter().flat_map(|c| json_files(c)).collect();
    assert!(files.len() > 3);
    let dir = tempfile::tempdir().unwrap();
    let sources: Vec<Job> = ["aws", "azure", "gcp"]
        .iter()
        .map(|cloud| {
            job(Files {
                id: format!("{cloud}/demo/files"),
                files: files
                    .iter()
                    .filter(|f| f.starts_with(demo.join(cloud)))
                    .cloned()
                    .collect(),
                fail_after: None,
            })
        })
        .collect();
    let pulled = rt().block_on(pull_sources(sources, dir.path(), &RetryPolicy::default()));
    assert_eq!(pulled.files.len(), files.len());
    assert!(pulled.sources.iter().all(|s| s.failed.is_none()));
    let config = Config::default();
    let hosting = crate::ranges::HostingRanges::default();
    let sweep = |paths: Vec<PathBuf>| {
        let request = crate::sweep::SweepRequest {
            paths,
            tenant: None,
            since: None,
            until: None,
            config: &config,
            hosting: &hosting,
            threads: 1,
            out: None,
        };
        let (report, _) = crate::sweep::run(&request).unwrap();
        let mut value = serde_json::to_value(&report).unwrap();
        let object = value.as_object_mut().unwrap();
        object.remove("inputs");
        object.remove("generated_at");
        value
    };
    let from_files = sweep(clouds);
    assert!(!from_files["findings"].as_array().unwrap().is_empty());
    // Evidence names the file a record came from: the saved page, or the export.
    let from_pull = sweep(pulled.files.clone());
    assert_eq!(without_files(from_pull), without_files(from_files));
}

fn without_files(mut value: serde_json::Value) -> serde_json::Value {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.remove("file");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut value);
    value
}

#[test]
fn a_failed_source_is_named_with_its_cursor_and_the_others_are_kept() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/aws");
    let files = json_files(&demo);
    let dir = tempfile::tempdir().unwrap();
    let sources = vec![
        job(Files {
            id: "aws/a/files".into(),
            files: files.clone(),
            fail_after: Some(1),
        }),
        job(Files {
            id: "aws/b/files".into(),
            files: files.clone(),
            fail_after: None,
        }),
    ];
    let pulled = rt().block_on(pull_sources(sources, dir.path(), &RetryPolicy::default()));
    let (why, cursor) = pulled.sources[0]
        .failed
        .clone()
        .expect("the first source failed");
    assert_eq!(why, "HTTP 403: AccessDenied");
    assert_eq!(cursor.done.len(), 1);
    assert_eq!(pulled.sources[0].pages, 1);
    assert!(pulled.sources[1].failed.is_none());
    assert_eq!(pulled.files.len(), 1 + files.len());
}

#[test]
fn resuming_a_failed_source_fetches_only_the_rest() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/aws");
    let files = json_files(&demo);
    assert!(files.len() > 2);
    let dir = tempfile::tempdir().unwrap();
    let failing = Files {
        id: "aws/a/files".into(),
        files: files.clone(),
        fail_after: Some(2),
    };
    let first = rt().block_on(pull_sources(
        vec![job(failing)],
        dir.path(),
        &RetryPolicy::default(),
    ));
    let (_, cursor) = first.sources[0].failed.clone().unwrap();
    let now = window().end;
    let (window, resume) = next_window(
        Some(&cursor),
        now,
        chrono::Duration::hours(24),
        chrono::Duration::days(35),
        Revisit::Overlap,
    )
    .unwrap();
    assert_eq!(window, cursor.window);
    let healed = Job {
        source: Box::new(Files {
            id: "aws/a/files".into(),
            files: files.clone(),
            fail_after: None,
        }),
        window,
        resume,
    };
    let rest = rt().block_on(pull_sources(
        vec![healed],
        dir.path(),
        &RetryPolicy::default(),
    ));
    assert!(rest.sources[0].cursor.complete);
    assert_eq!(first.files.len() + rest.files.len(), files.len());
    let mut all: Vec<_> = first.files.iter().chain(&rest.files).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), files.len(), "no page was fetched twice");
}

#[test]
fn the_next_window_overlaps_the_last_for_late_records() {
    let now = Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap();
    let hour = chrono::Duration::hours(1);
    let history = chrono::Duration::days(35);
    let (first, resume) = next_window(None, now, hour * 24, history, Revisit::Overlap).unwrap();
    assert_eq!(first.start, now - history);
    assert!(resume.is_none());
    let mut done = auditsweep_source::Cursor::start("s", first);
    done.complete = true;
    let (next, resume) = next_window(
        Some(&done),
        now + hour,
        hour * 24,
        history,
        Revisit::Overlap,
    )
    .unwrap();
    assert_eq!(next.start, now - hour * 24);
    assert_eq!(next.end, now + hour);
    assert!(resume.is_none());
    // Whole objects: from where the last pull ended, never again.
    let (next, _) =
        next_window(Some(&done), now + hour, hour * 24, history, Revisit::Never).unwrap();
    assert_eq!(next.start, now);
}

#[test]
fn billing_is_asked_once_per_day_once_the_day_is_final() {
    let at = |d, h| Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap();
    let midnight = |d| at(d, 0);
    let history = chrono::Duration::days(10);
    let overlap = chrono::Duration::hours(24);
    assert_eq!(
        revisit("aws/acme/cost-and-usage/111122223333"),
        Revisit::FinalDays
    );
    assert_eq!(revisit("azure/acme/cost/sub"), Revisit::FinalDays);
    assert_eq!(revisit("gcp/acme/billing-export/p.d.t"), Revisit::FinalDays);
    assert_eq!(revisit("gcp/acme/gcs/bucket"), Revisit::Never);
    assert_eq!(
        revisit("aws/acme/lookup-events/111122223333"),
        Revisit::Overlap
    );
    // First run on the 14th at noon: whole days from ten days back to the last final one.
    let (first, _) = next_window(None, at(14, 12), overlap, history, Revisit::FinalDays).unwrap();
    assert_eq!((first.start, first.end), (midnight(4), midnight(11)));
    let mut done = auditsweep_source::Cursor::start("s", first);
    done.complete = true;
    // Later the same day: no new final day, nothing to ask.
    assert!(next_window(
        Some(&done),
        at(14, 23),
        overlap,
        history,
        Revisit::FinalDays
    )
    .is_none());
    // The next day: exactly the one day that became final, no overlap.
    let (next, _) =
        next_window(Some(&done), at(15, 1), overlap, history, Revisit::FinalDays).unwrap();
    assert_eq!((next.start, next.end), (midnight(11), midnight(12)));
}
