//! The scheduled run's state: one SQLite file (WAL) holding the stored baselines, the
//! checkpoints of what was read, the incidents with their revisions, and the delivery outbox.
//!
//! One transaction per run writes all of it ([`State::commit_run`]), so a crash at any point
//! leaves either the previous run's state or this run's, never half of each. The schema is
//! versioned (`meta.schema_version`) with forward-only migrations; a file that is not an
//! auditsweep state, or was written by a newer auditsweep, is refused and never overwritten.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::aggregate::Aggregates;
use crate::normalize::SourceCounts;

/// The schema this build writes. Each entry of [`MIGRATIONS`] takes the state one version up.
pub const SCHEMA_VERSION: i64 = 3;

/// `MIGRATIONS[n]` takes a state of version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE baseline (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    aggregates_version INTEGER NOT NULL,
    aggregates BLOB NOT NULL,      -- Aggregates as JSON, gzip
    spans TEXT NOT NULL,           -- per provider/tenant: records and first/last time
    updated_at TEXT NOT NULL
);
CREATE TABLE checkpoints (
    path TEXT PRIMARY KEY,         -- the file as listed from the configured inputs
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    head_sha256 BLOB NOT NULL,     -- of the first HEAD_BYTES: an append keeps it, a rewrite does not
    records INTEGER NOT NULL,      -- the highest record number read (line number in NDJSON)
    read_at TEXT NOT NULL
);
CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    status TEXT NOT NULL,          -- open | ended
    severity TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    evidence INTEGER NOT NULL,     -- events and rows behind it
    finding TEXT NOT NULL,         -- the finding as last reported, redacted
    updated_at TEXT NOT NULL
);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sink TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    change TEXT NOT NULL,          -- new | updated | resolved
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', -- pending | delivered | rejected
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT NOT NULL,
    last_error TEXT,
    delivered_at TEXT,
    UNIQUE (sink, incident_id, revision)
);
CREATE TABLE external_refs (
    sink TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    reference TEXT NOT NULL,       -- the ticket the sink created (Jira key, ServiceNow sys_id)
    PRIMARY KEY (sink, incident_id)
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    finished_at TEXT NOT NULL,
    summary TEXT NOT NULL
);
"#,
    r#"
-- 2: provider event ids of the overlap window, so a record read twice counts once.
CREATE TABLE event_ids (
    key INTEGER PRIMARY KEY,       -- SHA-256 of provider and id, first 8 bytes (run/dedup.rs)
    source INTEGER NOT NULL,       -- of provider/tenant: each source's window is its own
    time INTEGER NOT NULL          -- the record's, Unix seconds
);
CREATE INDEX event_ids_by_source_time ON event_ids (source, time);
CREATE TABLE event_sources (
    source INTEGER PRIMARY KEY,    -- as event_ids.source
    newest INTEGER NOT NULL        -- the newest event with an id, Unix seconds
);
-- A checkpoint per input file is most of a state: keyed by its path without a rowid, the path
-- is stored once, not in the table and again in its index.
-- `newest` (the newest record's time, Unix seconds) tells when a checkpoint of a file gone from
-- the inputs can go: once all its records are older than the retention.
CREATE TABLE checkpoints_by_path (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    head_sha256 BLOB NOT NULL,
    records INTEGER NOT NULL,
    read_at TEXT NOT NULL,
    newest INTEGER
) WITHOUT ROWID;
INSERT INTO checkpoints_by_path SELECT path, size, mtime_ns, head_sha256, records, read_at, NULL FROM checkpoints;
DROP TABLE checkpoints;
ALTER TABLE checkpoints_by_path RENAME TO checkpoints;
"#,
    // 2 -> 3: where each live source's pull stands (`auditsweep_source::Cursor`, JSON), written
    // with the pages' checkpoints, so a pull resumes where the last committed run left it.
    r#"
CREATE TABLE pull_cursors (
    source TEXT PRIMARY KEY,
    cursor TEXT NOT NULL
) WITHOUT ROWID;
"#,
];

/// Bytes hashed at the head of a file to tell an append from a rewrite.
pub const HEAD_BYTES: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state {path}: not an auditsweep state file ({why}); it was left untouched")]
    Foreign { path: String, why: String },
    #[error("state {path}: written by a newer auditsweep (schema {found}, this build knows up to {SCHEMA_VERSION}); it was left untouched: run the newer version or restore a backup")]
    Newer { path: String, found: i64 },
    #[error("state {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("state {path}: stored baselines unreadable: {why}")]
    Baseline { path: String, why: String },
    #[error("state {path}: schema {found}, older than this build's {SCHEMA_VERSION}: let `auditsweep run` migrate it first (a sweep only reads it)")]
    Older { path: String, found: i64 },
    #[error("state {path}: no such file")]
    Missing { path: String },
}

/// A file as it was when last read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub size: u64,
    pub mtime_ns: i64,
    pub head_sha256: Vec<u8>,
    pub records: u64,
    /// The newest record's time (Unix seconds); `None` for a file without records.
    pub newest: Option<i64>,
}

/// An incident as last reported.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredIncident {
    pub revision: i64,
    pub status: String,
    pub severity: String,
    pub last_seen: String,
    pub evidence: i64,
}

/// One queued delivery.
#[derive(Debug, Clone)]
pub struct Queued {
    pub seq: i64,
    pub sink: String,
    pub incident_id: String,
    pub revision: i64,
    pub change: String,
    pub payload: String,
    pub attempts: i64,
}

/// The stored baselines: the aggregates of everything read so far and the data's spans.
pub struct Baseline {
    pub aggregates: Aggregates,
    pub spans: BTreeMap<String, SourceCounts>,
}

/// Everything one run writes, committed at once.
pub struct RunWrite<'a> {
    pub aggregates: &'a Aggregates,
    pub spans: &'a BTreeMap<String, SourceCounts>,
    pub checkpoints: &'a [(String, Checkpoint)],
    pub incidents: &'a [(String, StoredIncident, String)],
    /// (sink, incident id, revision, change, payload)
    pub outbox: &'a [(String, String, i64, String, String)],
    /// Event ids first seen in this run (key, source, time).
    pub event_ids: &'a [super::dedup::NewId],
    /// Checkpoints to drop: files gone from the inputs whose records all left the retention.
    pub forget_checkpoints: &'a [String],
    /// Per source, the newest event with an id; ids older than it by `overlap_seconds` leave.
    pub event_sources: &'a BTreeMap<i64, i64>,
    pub overlap_seconds: i64,
    /// Each pulled source's cursor after this run's pull (source id, cursor JSON).
    pub pull_cursors: &'a [(String, String)],
    pub summary: &'a str,
}

pub struct State {
    connection: Connection,
    path: PathBuf,
}

impl State {
    /// Opens (or creates) the state, migrating an older schema. Refuses a foreign or newer file.
    pub fn open(path: &Path) -> Result<State, StateError> {
        let shown = path.display().to_string();
        let sqlite = |source| StateError::Sqlite {
            path: shown.clone(),
            source,
        };
        let existed = path.exists();
        let connection = Connection::open(path).map_err(sqlite)?;
        connection
            .busy_timeout(std::time::Duration::from_secs(30))
            .map_err(sqlite)?;
        // Reading the schema first tells a foreign file before anything is written to it.
        let tables: Result<Vec<String>, _> = connection
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .and_then(|mut statement| {
                statement
                    .query_map([], |row| row.get(0))?
                    .collect::<Result<Vec<String>, _>>()
            });
        let tables = tables.map_err(|err| StateError::Foreign {
            path: shown.clone(),
            why: err.to_string(),
        })?;
        let version: i64 = if tables.is_empty() {
            if existed && std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
                return Err(StateError::Foreign {
                    path: shown,
                    why: "a database without auditsweep's tables".into(),
                });
            }
            0
        } else if !tables.iter().any(|t| t == "meta") {
            return Err(StateError::Foreign {
                path: shown,
                why: format!("tables {} and no meta table", tables.join(", ")),
            });
        } else {
            connection
                .query_row(
                    "SELECT value FROM meta WHERE key = 'schema_version'",
                    [],
                    |row| row.get::<_, String>(0),
                )
                .optional()
                .map_err(sqlite)?
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| StateError::Foreign {
                    path: shown.clone(),
                    why: "no schema_version in meta".into(),
                })?
        };
        if version > SCHEMA_VERSION {
            return Err(StateError::Newer {
                path: shown,
                found: version,
            });
        }
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(sqlite)?;
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(sqlite)?;
        let mut state = State {
            connection,
            path: path.to_path_buf(),
        };
        state.migrate(version)?;
        Ok(state)
    }

    /// Opens a state to read only (`sweep --state`): nothing is written, not even a migration,
    /// so a sweep beside a running run changes nothing. Refuses what [`State::open`] refuses,
    /// and an older schema.
    pub fn open_read_only(path: &Path) -> Result<State, StateError> {
        let shown = path.display().to_string();
        if !path.exists() {
            return Err(StateError::Missing { path: shown });
        }
        let sqlite = |source| StateError::Sqlite {
            path: shown.clone(),
            source,
        };
        let connection = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite)?;
        connection
            .busy_timeout(std::time::Duration::from_secs(30))
            .map_err(sqlite)?;
        let version: Option<String> = connection
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(|err| StateError::Foreign {
                path: shown.clone(),
                why: err.to_string(),
            })?;
        let found =
            version
                .and_then(|v| v.parse::<i64>().ok())
                .ok_or_else(|| StateError::Foreign {
                    path: shown.clone(),
                    why: "no schema_version in meta".into(),
                })?;
        if found > SCHEMA_VERSION {
            return Err(StateError::Newer { path: shown, found });
        }
        if found < SCHEMA_VERSION {
            return Err(StateError::Older { path: shown, found });
        }
        Ok(State {
            connection,
            path: path.to_path_buf(),
        })
    }

    fn sqlite(&self) -> impl Fn(rusqlite::Error) -> StateError + '_ {
        move |source| StateError::Sqlite {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn migrate(&mut self, from: i64) -> Result<(), StateError> {
        for version in from..SCHEMA_VERSION {
            let path = self.path.display().to_string();
            let sqlite = |source| StateError::Sqlite {
                path: path.clone(),
                source,
            };
            let transaction = self
                .connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sqlite)?;
            transaction
                .execute_batch(MIGRATIONS[version as usize])
                .map_err(sqlite)?;
            transaction
                .execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?1)",
                    params![(version + 1).to_string()],
                )
                .map_err(sqlite)?;
            transaction.commit().map_err(sqlite)?;
        }
        Ok(())
    }

    /// The stored baselines, or `None` when there are none or they are of another
    /// [`Aggregates::VERSION`] (then everything is read again, never misread).
    pub fn baseline(&self) -> Result<Option<Baseline>, StateError> {
        let row = self
            .connection
            .query_row(
                "SELECT aggregates_version, aggregates, spans FROM baseline WHERE id = 1",
                [],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, Vec<u8>>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(self.sqlite())?;
        let Some((version, blob, spans)) = row else {
            return Ok(None);
        };
        if version != i64::from(Aggregates::VERSION) {
            tracing::warn!(
                "Stored baselines are of aggregate version {version}, this build uses {}: reading every input again",
                Aggregates::VERSION
            );
            return Ok(None);
        }
        let bad = |why: String| StateError::Baseline {
            path: self.path.display().to_string(),
            why,
        };
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(blob.as_slice())
            .read_to_end(&mut json)
            .map_err(|err| bad(err.to_string()))?;
        let aggregates = serde_json::from_slice(&json).map_err(|err| bad(err.to_string()))?;
        let spans = serde_json::from_str(&spans).map_err(|err| bad(err.to_string()))?;
        Ok(Some(Baseline { aggregates, spans }))
    }

    pub fn checkpoints(&self) -> Result<BTreeMap<String, Checkpoint>, StateError> {
        let mut statement = self
            .connection
            .prepare("SELECT path, size, mtime_ns, head_sha256, records, newest FROM checkpoints")
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    Checkpoint {
                        size: row.get::<_, i64>(1)? as u64,
                        mtime_ns: row.get(2)?,
                        head_sha256: row.get(3)?,
                        records: row.get::<_, i64>(4)? as u64,
                        newest: row.get(5)?,
                    },
                ))
            })
            .map_err(self.sqlite())?;
        rows.collect::<Result<_, _>>().map_err(self.sqlite())
    }

    pub fn incidents(&self) -> Result<BTreeMap<String, StoredIncident>, StateError> {
        let mut statement = self
            .connection
            .prepare("SELECT id, revision, status, severity, last_seen, evidence FROM incidents")
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    StoredIncident {
                        revision: row.get(1)?,
                        status: row.get(2)?,
                        severity: row.get(3)?,
                        last_seen: row.get(4)?,
                        evidence: row.get(5)?,
                    },
                ))
            })
            .map_err(self.sqlite())?;
        rows.collect::<Result<_, _>>().map_err(self.sqlite())
    }

    /// Writes one run: baselines, checkpoints, incidents, outbox and the run's summary, in one
    /// transaction.
    pub fn commit_run(&mut self, write: &RunWrite) -> Result<(), StateError> {
        let path = self.path.display().to_string();
        let sqlite = |source| StateError::Sqlite {
            path: path.clone(),
            source,
        };
        let now = chrono::Utc::now().to_rfc3339();
        let json = serde_json::to_vec(write.aggregates).map_err(|err| StateError::Baseline {
            path: path.clone(),
            why: err.to_string(),
        })?;
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let blob = gzip
            .write_all(&json)
            .and_then(|()| gzip.finish())
            .map_err(|err| StateError::Baseline {
                path: path.clone(),
                why: err.to_string(),
            })?;
        let spans = serde_json::to_string(write.spans).map_err(|err| StateError::Baseline {
            path: path.clone(),
            why: err.to_string(),
        })?;
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite)?;
        transaction
            .execute(
                "INSERT OR REPLACE INTO baseline (id, aggregates_version, aggregates, spans, updated_at)
                 VALUES (1, ?1, ?2, ?3, ?4)",
                params![i64::from(Aggregates::VERSION), blob, spans, now],
            )
            .map_err(sqlite)?;
        for (file, checkpoint) in write.checkpoints {
            transaction
                .execute(
                    "INSERT OR REPLACE INTO checkpoints (path, size, mtime_ns, head_sha256, records, read_at, newest)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        file,
                        checkpoint.size as i64,
                        checkpoint.mtime_ns,
                        checkpoint.head_sha256,
                        checkpoint.records as i64,
                        now,
                        checkpoint.newest
                    ],
                )
                .map_err(sqlite)?;
        }
        for (id, incident, finding) in write.incidents {
            transaction
                .execute(
                    "INSERT OR REPLACE INTO incidents (id, revision, status, severity, last_seen, evidence, finding, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        id,
                        incident.revision,
                        incident.status,
                        incident.severity,
                        incident.last_seen,
                        incident.evidence,
                        finding,
                        now
                    ],
                )
                .map_err(sqlite)?;
        }
        for (sink, id, revision, change, payload) in write.outbox {
            transaction
                .execute(
                    "INSERT OR IGNORE INTO outbox (sink, incident_id, revision, change, payload, next_attempt)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![sink, id, revision, change, payload, now],
                )
                .map_err(sqlite)?;
        }
        for file in write.forget_checkpoints {
            transaction
                .execute("DELETE FROM checkpoints WHERE path = ?1", params![file])
                .map_err(sqlite)?;
        }
        {
            let mut insert = transaction
                .prepare("INSERT OR IGNORE INTO event_ids (key, source, time) VALUES (?1, ?2, ?3)")
                .map_err(sqlite)?;
            for (key, source, time) in write.event_ids {
                insert.execute(params![key, source, time]).map_err(sqlite)?;
            }
            let mut newest = transaction
                .prepare("INSERT OR REPLACE INTO event_sources (source, newest) VALUES (?1, ?2)")
                .map_err(sqlite)?;
            let mut expire = transaction
                .prepare("DELETE FROM event_ids WHERE source = ?1 AND time < ?2")
                .map_err(sqlite)?;
            for (source, time) in write.event_sources {
                newest.execute(params![source, time]).map_err(sqlite)?;
                expire
                    .execute(params![source, time - write.overlap_seconds])
                    .map_err(sqlite)?;
            }
        }
        for (source, cursor) in write.pull_cursors {
            transaction
                .execute(
                    "INSERT OR REPLACE INTO pull_cursors (source, cursor) VALUES (?1, ?2)",
                    params![source, cursor],
                )
                .map_err(sqlite)?;
        }
        transaction
            .execute(
                "INSERT INTO runs (finished_at, summary) VALUES (?1, ?2)",
                params![now, write.summary],
            )
            .map_err(sqlite)?;
        transaction.commit().map_err(sqlite)
    }

    /// Where each live source's last pull stands, by source id.
    pub fn pull_cursors(&self) -> Result<BTreeMap<String, auditsweep_source::Cursor>, StateError> {
        let mut statement = self
            .connection
            .prepare("SELECT source, cursor FROM pull_cursors")
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(self.sqlite())?;
        let mut cursors = BTreeMap::new();
        for row in rows {
            let (source, text) = row.map_err(self.sqlite())?;
            let cursor = serde_json::from_str(&text).map_err(|err| StateError::Baseline {
                path: self.path.display().to_string(),
                why: format!("pull cursor of {source}: {err}"),
            })?;
            cursors.insert(source, cursor);
        }
        Ok(cursors)
    }

    /// Per source hash, the newest event with an id read so far.
    pub fn event_sources(&self) -> Result<BTreeMap<i64, i64>, StateError> {
        let mut statement = self
            .connection
            .prepare("SELECT source, newest FROM event_sources")
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(self.sqlite())?;
        rows.collect::<Result<_, _>>().map_err(self.sqlite())
    }

    /// The event ids of the overlap window (see [`super::dedup`]).
    pub fn event_ids(&self) -> Result<Vec<i64>, StateError> {
        let mut statement = self
            .connection
            .prepare("SELECT key FROM event_ids")
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map([], |row| row.get(0))
            .map_err(self.sqlite())?;
        rows.collect::<Result<_, _>>().map_err(self.sqlite())
    }

    /// Deliveries still to make, oldest first: every pending one, whatever run queued it.
    pub fn pending(&self) -> Result<Vec<Queued>, StateError> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT seq, sink, incident_id, revision, change, payload, attempts FROM outbox
                 WHERE state = 'pending' ORDER BY seq",
            )
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map([], |row| {
                Ok(Queued {
                    seq: row.get(0)?,
                    sink: row.get(1)?,
                    incident_id: row.get(2)?,
                    revision: row.get(3)?,
                    change: row.get(4)?,
                    payload: row.get(5)?,
                    attempts: row.get(6)?,
                })
            })
            .map_err(self.sqlite())?;
        rows.collect::<Result<_, _>>().map_err(self.sqlite())
    }

    /// Records the outcome of one delivery attempt.
    pub fn delivered(&self, seq: i64, outcome: &DeliveryOutcome) -> Result<(), StateError> {
        let now = chrono::Utc::now().to_rfc3339();
        let (state, error) = match outcome {
            DeliveryOutcome::Delivered => ("delivered", None),
            DeliveryOutcome::Rejected(why) => ("rejected", Some(why.as_str())),
            DeliveryOutcome::Retry(why) => ("pending", Some(why.as_str())),
        };
        self.connection
            .execute(
                "UPDATE outbox SET state = ?1, attempts = attempts + 1, last_error = ?2,
                 delivered_at = CASE WHEN ?1 = 'delivered' THEN ?3 ELSE delivered_at END
                 WHERE seq = ?4",
                params![state, error, now, seq],
            )
            .map_err(self.sqlite())?;
        Ok(())
    }

    /// The ticket a sink created for an incident, for its later updates.
    pub fn external_ref(&self, sink: &str, incident: &str) -> Result<Option<String>, StateError> {
        self.connection
            .query_row(
                "SELECT reference FROM external_refs WHERE sink = ?1 AND incident_id = ?2",
                params![sink, incident],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.sqlite())
    }

    pub fn set_external_ref(
        &self,
        sink: &str,
        incident: &str,
        reference: &str,
    ) -> Result<(), StateError> {
        self.connection
            .execute(
                "INSERT OR REPLACE INTO external_refs (sink, incident_id, reference) VALUES (?1, ?2, ?3)",
                params![sink, incident, reference],
            )
            .map_err(self.sqlite())?;
        Ok(())
    }

    /// Counts of the outbox by state, for the run summary and monitoring.
    pub fn outbox_counts(&self) -> Result<BTreeMap<String, i64>, StateError> {
        let mut statement = self
            .connection
            .prepare("SELECT state, COUNT(*) FROM outbox GROUP BY state")
            .map_err(self.sqlite())?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })
            .map_err(self.sqlite())?;
        rows.collect::<Result<_, _>>().map_err(self.sqlite())
    }
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    /// A 4xx other than 408 and 429: sending it again cannot succeed. Kept, not retried.
    Rejected(String),
    /// Down, timed out, 5xx, 408, 429: stays queued.
    Retry(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_state_migrates_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(State::open(&path).unwrap());
        let state = State::open(&path).unwrap();
        assert!(state.baseline().unwrap().is_none());
        assert!(state.checkpoints().unwrap().is_empty());
    }

    #[test]
    fn a_foreign_file_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.db");
        std::fs::write(&path, b"these are my notes, not a database\n").unwrap();
        let err = State::open(&path).err().expect("refused");
        assert!(matches!(err, StateError::Foreign { .. }), "{err}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"these are my notes, not a database\n"
        );
    }

    #[test]
    fn a_newer_state_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(State::open(&path).unwrap());
        let connection = Connection::open(&path).unwrap();
        connection
            .execute(
                "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
                [],
            )
            .unwrap();
        drop(connection);
        let err = State::open(&path).err().expect("refused");
        assert!(matches!(err, StateError::Newer { found: 99, .. }), "{err}");
    }

    #[test]
    fn one_run_commits_everything_and_the_outbox_queues_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::open(&dir.path().join("state.db")).unwrap();
        let aggregates = Aggregates::new();
        let spans = BTreeMap::new();
        let checkpoint = Checkpoint {
            size: 10,
            mtime_ns: 5,
            head_sha256: vec![1, 2],
            records: 3,
            newest: Some(1_700_000_000),
        };
        let incident = StoredIncident {
            revision: 1,
            status: "open".into(),
            severity: "high".into(),
            last_seen: "2024-01-01T00:00:00Z".into(),
            evidence: 4,
        };
        let queued = (
            "hook".to_string(),
            "i1".to_string(),
            1,
            "new".to_string(),
            "{}".to_string(),
        );
        let window = auditsweep_source::Window {
            start: chrono::DateTime::UNIX_EPOCH,
            end: chrono::DateTime::UNIX_EPOCH + chrono::Duration::days(1),
        };
        let cursor_json = serde_json::to_string(&auditsweep_source::Cursor::start(
            "aws/t/lookup-events/1",
            window,
        ))
        .unwrap();
        let write = RunWrite {
            aggregates: &aggregates,
            spans: &spans,
            checkpoints: &[("a.json".into(), checkpoint.clone())],
            incidents: &[("i1".into(), incident.clone(), "{}".into())],
            outbox: std::slice::from_ref(&queued),
            event_ids: &[(7, 1, 100), (8, 1, 200), (9, 2, 100)],
            forget_checkpoints: &[],
            event_sources: &BTreeMap::from([(1, 200), (2, 100)]),
            overlap_seconds: 50,
            pull_cursors: &[("aws/t/lookup-events/1".into(), cursor_json.clone())],
            summary: "test",
        };
        state.commit_run(&write).unwrap();
        state.commit_run(&write).unwrap();
        let cursors = state.pull_cursors().unwrap();
        assert_eq!(
            serde_json::to_string(&cursors["aws/t/lookup-events/1"]).unwrap(),
            cursor_json
        );
        assert_eq!(state.checkpoints().unwrap()["a.json"], checkpoint);
        assert_eq!(state.incidents().unwrap()["i1"], incident);
        let pending = state.pending().unwrap();
        assert_eq!(pending.len(), 1, "the same revision is queued once");
        state
            .delivered(pending[0].seq, &DeliveryOutcome::Delivered)
            .unwrap();
        assert!(state.pending().unwrap().is_empty());
        assert!(state.baseline().unwrap().is_some());
        // Source 1's ids before 150 left the window; source 2's did not.
        let mut ids = state.event_ids().unwrap();
        ids.sort_unstable();
        assert_eq!(ids, vec![8, 9]);
        let forget = RunWrite {
            checkpoints: &[],
            incidents: &[],
            outbox: &[],
            event_ids: &[],
            forget_checkpoints: &["a.json".to_string()],
            ..write
        };
        state.commit_run(&forget).unwrap();
        assert!(state.checkpoints().unwrap().is_empty());
    }

    #[test]
    fn a_version_1_state_migrates_to_the_event_id_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            let connection = Connection::open(&path).unwrap();
            connection.execute_batch(MIGRATIONS[0]).unwrap();
            connection
                .execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', '1')",
                    [],
                )
                .unwrap();
            connection
                .execute(
                    "INSERT INTO runs (finished_at, summary) VALUES ('then', 'a version 1 run')",
                    [],
                )
                .unwrap();
            connection
                .execute(
                    "INSERT INTO checkpoints VALUES ('a.json', 10, 5, x'0102', 3, 'then')",
                    [],
                )
                .unwrap();
        }
        let state = State::open(&path).unwrap();
        assert!(state.event_ids().unwrap().is_empty());
        let (version, runs): (String, i64) = state
            .connection
            .query_row(
                "SELECT (SELECT value FROM meta WHERE key = 'schema_version'), (SELECT COUNT(*) FROM runs)",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            (version, runs),
            (SCHEMA_VERSION.to_string(), 1),
            "migrated, history kept"
        );
        assert!(state.pull_cursors().unwrap().is_empty());
        assert_eq!(
            state.checkpoints().unwrap()["a.json"],
            Checkpoint {
                size: 10,
                mtime_ns: 5,
                head_sha256: vec![1, 2],
                records: 3,
                newest: None
            }
        );
    }
}
