//! What a run read, emitted and skipped: the ledger that lets a report say what it did not see.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::error::RecordError;
use crate::schema::{Record, SourceRef};

/// Skips kept verbatim for the report; the rest are counted by kind. Bounded so that a huge
/// broken file cannot make the summary grow with the input.
const SKIPS_KEPT: usize = 100;
/// Skips logged one by one before logging turns to a single note.
const SKIPS_LOGGED: u64 = 50;
/// Skips logged so far by this process: files are read on several threads, each with its own
/// ledger, and the log budget is for the run, not per ledger.
static LOGGED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// One record that could not be normalized, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skip {
    pub source: SourceRef,
    #[serde(serialize_with = "display")]
    pub error: RecordError,
}

fn display<S: serde::Serializer>(error: &RecordError, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(error)
}

/// Counts for one provider and tenant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct SourceCounts {
    pub events: u64,
    pub billing_rows: u64,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
}

/// The ledger of a run. Invariant: `records_read == events + billing_rows + skipped`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InputSummary {
    pub files: u64,
    pub records_read: u64,
    pub events: u64,
    pub billing_rows: u64,
    pub skipped: u64,
    /// Skipped records counted by the kind of problem (`invalid_json`, `missing_field`, ...).
    pub skipped_by_reason: BTreeMap<String, u64>,
    /// The first skips, verbatim (file, record, reason).
    pub skip_examples: Vec<Skip>,
    /// Paths that could not be opened at all.
    pub unreadable: Vec<UnreadablePath>,
    /// Records per `provider/tenant` (tenant `-` when unknown).
    pub by_source: BTreeMap<String, SourceCounts>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnreadablePath {
    pub path: String,
    pub error: String,
}

impl InputSummary {
    /// Counts records where they are read, apart from what becomes of them, so that the
    /// ledger can show a record that was neither emitted nor skipped.
    pub(crate) fn note_read(&mut self, records: u64) {
        self.records_read += records;
    }

    /// A document read as one record turned out to be a table of `rows` records.
    pub(crate) fn note_expanded(&mut self, rows: u64) {
        self.records_read = self.records_read + rows - 1;
    }

    pub(crate) fn note_record(&mut self, record: &Record) {
        let (time, is_event) = match record {
            Record::Event(event) => (event.time, true),
            Record::Billing(row) => (row.time, false),
        };
        let counts = crate::lookup::with_formatted(
            format_args!("{}/{}", record.provider(), record.tenant().unwrap_or("-")),
            |key| crate::lookup::entry(&mut self.by_source, key),
        );
        if is_event {
            self.events += 1;
            counts.events += 1;
        } else {
            self.billing_rows += 1;
            counts.billing_rows += 1;
        }
        counts.first = Some(counts.first.map_or(time, |first| first.min(time)));
        counts.last = Some(counts.last.map_or(time, |last| last.max(time)));
    }

    pub(crate) fn note_skip(&mut self, skip: Skip) {
        self.skipped += 1;
        *self
            .skipped_by_reason
            .entry(skip.error.kind().to_string())
            .or_default() += 1;
        if matches!(skip.error, RecordError::NotAuditData(_)) {
            // Digest files sit beside every hour of trail logs: expected, counted, not alarming.
            tracing::debug!(file = %skip.source.file, "Not audit data: {}", skip.error);
            return self.keep_example(skip);
        }
        let logged = LOGGED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if logged <= SKIPS_LOGGED {
            tracing::warn!(file = %skip.source.file, record = skip.source.record, "Skipped record: {}", skip.error);
        } else if logged == SKIPS_LOGGED + 1 {
            tracing::warn!(
                "More records skipped; they are counted in the summary, not logged one by one"
            );
        }
        self.keep_example(skip);
    }

    fn keep_example(&mut self, skip: Skip) {
        if self.skip_examples.len() < SKIPS_KEPT {
            self.skip_examples.push(skip);
        }
    }

    pub(crate) fn note_unreadable(&mut self, path: &Path, error: &dyn std::fmt::Display) {
        tracing::error!(path = %path.display(), "Cannot read: {error}");
        self.unreadable.push(UnreadablePath {
            path: path.display().to_string(),
            error: error.to_string(),
        });
    }

    /// Adds another run's ledger to this one (inputs read in parallel, say).
    pub fn merge(&mut self, other: InputSummary) {
        self.files += other.files;
        self.records_read += other.records_read;
        self.events += other.events;
        self.billing_rows += other.billing_rows;
        self.skipped += other.skipped;
        for (reason, count) in other.skipped_by_reason {
            *self.skipped_by_reason.entry(reason).or_default() += count;
        }
        let room = SKIPS_KEPT.saturating_sub(self.skip_examples.len());
        self.skip_examples
            .extend(other.skip_examples.into_iter().take(room));
        self.unreadable.extend(other.unreadable);
        for (key, counts) in other.by_source {
            let mine = self.by_source.entry(key).or_default();
            mine.events += counts.events;
            mine.billing_rows += counts.billing_rows;
            mine.first = mine.first.into_iter().chain(counts.first).min();
            mine.last = mine.last.into_iter().chain(counts.last).max();
        }
    }

    /// True when the ledger balances; checked by tests and asserted in debug builds.
    pub fn reconciles(&self) -> bool {
        self.records_read == self.events + self.billing_rows + self.skipped
    }
}
