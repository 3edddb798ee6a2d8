//! `auditsweep run`: the scheduled job. Each run reads only what is new since the last one,
//! folds it into the stored baselines, judges all history from the aggregates (never by
//! re-reading it), and hands every new or changed incident to the ticketing system exactly once.
//!
//! Order of a run, and why a crash anywhere loses and duplicates nothing:
//! 1. take the lock (a second run exits with [`EXIT_LOCKED`]);
//! 2. read the files that are new or grew since their checkpoint (an appended file from its
//!    first unread record);
//! 3. merge into the stored aggregates and judge them, like a sweep over everything read so far;
//! 4. compare the incidents with the stored ones: new, updated (later `last_seen`, more
//!    evidence, higher severity: same id, next revision) or resolved (ended);
//! 5. **one transaction**: baselines, checkpoints, incidents and the outbox entries of every
//!    change. Before it nothing is changed; after it the changes are queued;
//! 6. deliver the outbox: an entry leaves it only when the receiver said 2xx, and each request
//!    carries an `Idempotency-Key`, so one sent again after a crash is recognizably the same.

pub mod dedup;
pub mod deliver;
pub mod state;

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::{json, Value};

use crate::aggregate::Aggregates;
use crate::config::Config;
use crate::detect::HostingLookup;
use crate::normalize::{list_inputs, Input, InputSummary};
use crate::sweep::{self, SweepRequest};
use state::{Checkpoint, RunWrite, State, StoredIncident};

/// Exit code when another run holds the lock (EX_TEMPFAIL: try again later).
pub const EXIT_LOCKED: u8 = 75;

/// The payload schema of an incident change (`docs/incident-change.schema.json`).
pub const CHANGE_SCHEMA: &str = "auditsweep.incident-change/1";

/// Env var naming a point where the process aborts, for the crash tests (`before-commit`,
/// `after-commit`, `delivered-unrecorded`: a receiver said 2xx and the run dies before recording
/// it). Not for production use.
pub const FAULT_ENV: &str = "AUDITSWEEP_TEST_FAULT";

/// Env var holding the time a run takes as now (RFC 3339), for the tests of pulls over fixed
/// fixtures. Not for production use.
pub const NOW_ENV: &str = "AUDITSWEEP_TEST_NOW";

/// Now, or the time [`NOW_ENV`] sets.
fn now() -> chrono::DateTime<chrono::Utc> {
    std::env::var(NOW_ENV)
        .ok()
        .and_then(|text| chrono::DateTime::parse_from_rfc3339(&text).ok())
        .map_or_else(chrono::Utc::now, |at| at.with_timezone(&chrono::Utc))
}

pub(crate) fn fault(point: &str) {
    if std::env::var(FAULT_ENV).is_ok_and(|wanted| wanted == point) {
        eprintln!("auditsweep: test fault at {point}: aborting");
        std::process::abort();
    }
}

pub struct RunRequest<'a> {
    pub config: &'a Config,
    pub state: &'a Path,
    pub hosting: &'a dyn HostingLookup,
    pub threads: usize,
}

/// Another run holds the state's lock.
#[derive(Debug, thiserror::Error)]
#[error("another auditsweep run holds {0}: this one stops without touching the state")]
pub struct Locked(pub PathBuf);

/// What a run did, for the summary line and the exit code.
#[derive(Debug, Default)]
pub struct RunOutcome {
    pub files_read: usize,
    pub files_unchanged: usize,
    pub files_rewritten: usize,
    pub records: u64,
    pub already_read: u64,
    /// Events dropped because their id was seen before (in this run or the overlap window).
    pub duplicates: u64,
    /// Events with an id older than their source's overlap window: dropped (see [`dedup`]).
    pub late: u64,
    pub skipped: u64,
    /// The run's changes, as queued (payloads).
    pub changes: Vec<Value>,
    pub delivered: usize,
    /// Pages pulled from live sources, and the sources whose pull stopped early (why).
    pub pulled_pages: u64,
    pub pull_failed: Vec<String>,
    /// Deliveries still queued (this run's and earlier ones').
    pub queued: i64,
    pub rejected: i64,
}

impl RunOutcome {
    pub fn summary_line(&self) -> String {
        let count = |kind: &str| self.changes.iter().filter(|c| c["change"] == kind).count();
        format!(
            "auditsweep run: {}{} files read ({} unchanged, {} rewritten), {} new records ({} already read, {} duplicates, {} late, {} skipped); incidents: {} new, {} updated, {} resolved; delivered {}, queued {}, rejected {}",
            if self.pulled_pages > 0 || !self.pull_failed.is_empty() {
                format!(
                    "{} pages pulled ({} sources failed), ",
                    self.pulled_pages,
                    self.pull_failed.len()
                )
            } else {
                String::new()
            },
            self.files_read,
            self.files_unchanged,
            self.files_rewritten,
            self.records
                .saturating_sub(self.already_read + self.duplicates + self.late),
            self.already_read,
            self.duplicates,
            self.late,
            self.skipped,
            count("new"),
            count("updated"),
            count("resolved"),
            self.delivered,
            self.queued,
            self.rejected,
        )
    }
}

/// How a file compares with its checkpoint.
enum Plan {
    Unchanged,
    /// Grew with its head unchanged: read from this record on.
    Appended(u64),
    /// New, or rewritten (shrunk, head changed): read whole.
    Whole {
        rewritten: bool,
    },
}

/// The file's size, modification time and the hash of its first `head` bytes.
fn stat(path: &Path, head: u64) -> std::io::Result<(u64, i64, Vec<u8>)> {
    use sha2::{Digest, Sha256};
    let metadata = std::fs::metadata(path)?;
    let mtime_ns = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64);
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(head)
        .read_to_end(&mut bytes)?;
    Ok((metadata.len(), mtime_ns, Sha256::digest(&bytes).to_vec()))
}

fn plan(path: &Path, checkpoint: Option<&Checkpoint>) -> std::io::Result<Plan> {
    let Some(checkpoint) = checkpoint else {
        return Ok(Plan::Whole { rewritten: false });
    };
    let (size, mtime_ns, _) = stat(path, 0)?;
    if size == checkpoint.size && mtime_ns == checkpoint.mtime_ns {
        return Ok(Plan::Unchanged);
    }
    let (_, _, head) = stat(path, checkpoint.size.min(state::HEAD_BYTES))?;
    if size >= checkpoint.size && head == checkpoint.head_sha256 {
        Ok(Plan::Appended(checkpoint.records))
    } else {
        Ok(Plan::Whole { rewritten: true })
    }
}

/// The state as `sweep --state` uses it: the stored aggregates and spans, and what tells the
/// inputs' new records from those already in them (checkpoints, the window's event ids), so a
/// sweep over the run's own input tree adds only what the next run would.
pub struct Stored {
    pub aggregates: Aggregates,
    pub spans: BTreeMap<String, crate::normalize::SourceCounts>,
    checkpoints: BTreeMap<String, Checkpoint>,
    dedup: dedup::Dedup,
}

impl Stored {
    /// Reads the state without writing to it. A state without baselines (none yet, or of
    /// another aggregate version) gives empty aggregates: the sweep is then one over its inputs.
    pub fn open(path: &Path, config: &Config) -> anyhow::Result<Stored> {
        let state = State::open_read_only(path)?;
        let overlap = overlap(config);
        Ok(match state.baseline()? {
            Some(baseline) => Stored {
                aggregates: baseline.aggregates,
                spans: baseline.spans,
                checkpoints: state.checkpoints()?,
                dedup: dedup::Dedup::new(
                    state.event_ids()?,
                    &state.event_sources()?,
                    overlap,
                    Some(&pulled_dir(config, path)),
                ),
            },
            None => Stored {
                aggregates: Aggregates::new(),
                spans: BTreeMap::new(),
                checkpoints: BTreeMap::new(),
                dedup: dedup::Dedup::new(
                    [],
                    &BTreeMap::new(),
                    overlap,
                    Some(&pulled_dir(config, path)),
                ),
            },
        })
    }

    /// `None` for a file unchanged since the run read it; else how many of its records the
    /// state already holds (the head of an appended file).
    pub fn already(&self, input: &Input) -> Option<u64> {
        let Input::File(path) = input else {
            return Some(0);
        };
        match plan(path, self.checkpoints.get(&path.display().to_string())) {
            Ok(Plan::Unchanged) => None,
            Ok(Plan::Appended(records)) => Some(records),
            Ok(Plan::Whole { .. }) | Err(_) => Some(0),
        }
    }

    /// The stored aggregates and spans, once the inputs have been read.
    pub fn into_parts(self) -> (Aggregates, BTreeMap<String, crate::normalize::SourceCounts>) {
        (self.aggregates, self.spans)
    }

    /// Whether a record adds to the stored aggregates (not a duplicate or late by event id).
    pub fn admit(&self, record: &crate::schema::Record) -> bool {
        self.dedup.admit(record) == dedup::Admit::Count
    }
}

/// One scheduled run. Errors leave the state as the last complete run left it.
pub fn run(request: &RunRequest) -> anyhow::Result<RunOutcome> {
    let lock_path = lock_path(request.state);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening the lock {}", lock_path.display()))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Err(Locked(lock_path).into()),
        Err(std::fs::TryLockError::Error(err)) => {
            return Err(err).with_context(|| format!("locking {}", lock_path.display()))
        }
    }
    let mut state = State::open(request.state)?;
    let config = request.config;
    // Sinks first: a secret that cannot be read fails the run before anything is committed.
    let mut sinks = BTreeMap::new();
    for settings in &config.run.webhook {
        sinks.insert(settings.name.clone(), deliver::Sink::new(settings.clone())?);
    }
    let stored = state.baseline()?;
    // Checkpoints without the baselines they fed (another aggregate version) mean nothing.
    let checkpoints = if stored.is_some() {
        state.checkpoints()?
    } else {
        BTreeMap::new()
    };
    let (mut aggregates, spans, known_ids, newest) = match stored {
        Some(baseline) => (
            baseline.aggregates,
            baseline.spans,
            state.event_ids()?,
            state.event_sources()?,
        ),
        None => (
            Aggregates::new(),
            BTreeMap::new(),
            Vec::new(),
            BTreeMap::new(),
        ),
    };
    let overlap = overlap(config);
    let dedup = dedup::Dedup::new(
        known_ids,
        &newest,
        overlap,
        Some(&pulled_dir(config, request.state)),
    );

    // Live sources: what is new since each one's stored cursor is saved as native files in the
    // pulled directory, which is then read like any input (new pages are new files). The
    // cursors are committed with the checkpoints of those files.
    let mut input_paths = config.run.inputs.clone();
    let mut outcome = RunOutcome::default();
    let mut pull_cursors = Vec::new();
    if !config.tenant.is_empty() {
        let dir = pulled_dir(config, request.state);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating the pulled directory {}", dir.display()))?;
        let cursors = state.pull_cursors()?;
        let pulled = crate::pull::pull_since(config, &cursors, now(), overlap, &dir)?;
        for source in &pulled.sources {
            outcome.pulled_pages += source.pages;
            if let Some((why, _)) = &source.failed {
                tracing::error!(source = %source.source, "pull stopped, to resume on the next run: {why}");
                outcome
                    .pull_failed
                    .push(format!("{}: {why}", source.source));
            }
            let cursor = serde_json::to_string(&source.cursor).context("a pull cursor")?;
            pull_cursors.push((source.source.clone(), cursor));
        }
        input_paths.push(dir);
    }
    let mut inputs = list_inputs(&input_paths);
    let mut refused: Vec<String> = inputs
        .missing
        .iter()
        .map(|p| format!("{}: no such file or directory", p.display()))
        .chain(
            inputs
                .refused
                .iter()
                .map(|(p, why)| format!("{}: {why}", p.display())),
        )
        .collect();
    if inputs.inputs.iter().any(|i| matches!(i, Input::Stdin)) {
        refused.push("-: a scheduled run reads files, not stdin".into());
    }
    if !refused.is_empty() {
        anyhow::bail!("refusing to run: {}", refused.join("; "));
    }
    let listed: std::collections::BTreeSet<String> = inputs
        .inputs
        .iter()
        .filter_map(|input| match input {
            Input::File(path) => Some(path.display().to_string()),
            Input::Stdin => None,
        })
        .collect();
    let mut skip_from: BTreeMap<PathBuf, u64> = BTreeMap::new();
    inputs.inputs.retain(|input| {
        let Input::File(path) = input else {
            return false;
        };
        let key = path.display().to_string();
        match plan(path, checkpoints.get(&key)) {
            Ok(Plan::Unchanged) => {
                outcome.files_unchanged += 1;
                false
            }
            Ok(Plan::Appended(records)) => {
                skip_from.insert(path.clone(), records);
                true
            }
            Ok(Plan::Whole { rewritten }) => {
                if rewritten {
                    outcome.files_rewritten += 1;
                    tracing::warn!(file = %path.display(), "File rewritten since it was read: read again whole; records it had then count again");
                }
                true
            }
            // The reader reports it as unreadable.
            Err(_) => true,
        }
    });
    outcome.files_read = inputs.inputs.len();
    let already = |input: &Input| match input {
        Input::File(path) => skip_from.get(path).copied().unwrap_or(0),
        Input::Stdin => 0,
    };
    let admit = |record: &crate::schema::Record| dedup.admit(record) == dedup::Admit::Count;
    let read = sweep::read_new(&inputs, request.hosting, request.threads, &already, &admit);
    outcome.records = read.summary.records_read;
    outcome.already_read = read.already_read;
    outcome.duplicates = dedup.duplicates.load(std::sync::atomic::Ordering::Relaxed);
    outcome.late = dedup.late.load(std::sync::atomic::Ordering::Relaxed);
    if outcome.late > 0 {
        tracing::warn!(
            late = outcome.late,
            "Events older than their source's newest record by more than [run] overlap_hours ({} h) were dropped: their ids have left the window, so a copy could not be told from a new record",
            overlap.num_hours()
        );
    }
    let new_ids = dedup.into_new();
    let event_sources = dedup::newest(newest, &new_ids);
    // Ids already behind their source's window would expire in the same transaction: a first
    // run over months of history stores one window, not every id it read.
    let window = overlap.num_seconds();
    let new_ids: Vec<dedup::NewId> = new_ids
        .into_iter()
        .filter(|(_, source, time)| {
            event_sources
                .get(source)
                .is_none_or(|newest| *time >= newest - window)
        })
        .collect();
    outcome.skipped = read.summary.skipped;
    aggregates.merge(read.aggregates);

    let mut summary = InputSummary {
        by_source: spans,
        ..InputSummary::default()
    };
    summary.merge(read.summary);
    let cutoff = retention_cutoff(config, &summary);
    let since = retain(config, &mut aggregates, &mut summary);
    let new_spans = summary.by_source.clone();
    let mut new_checkpoints = Vec::new();
    for (path, last) in &read.last_record {
        if let Ok((size, mtime_ns, head)) = stat(path, state::HEAD_BYTES) {
            let key = path.display().to_string();
            // An appended file's newest record may be in its head, read by an earlier run.
            let earlier = skip_from
                .contains_key(path)
                .then(|| checkpoints.get(&key).and_then(|c| c.newest))
                .flatten();
            new_checkpoints.push((
                key,
                Checkpoint {
                    size,
                    mtime_ns,
                    head_sha256: head,
                    records: *last,
                    newest: read.newest.get(path).copied().max(earlier),
                },
            ));
        }
    }
    // A file gone from the inputs keeps its checkpoint until all its records are older than the
    // retention: read again then, it could only add days that are forgotten at once.
    let forget_checkpoints: Vec<String> = checkpoints
        .iter()
        .filter(|(path, checkpoint)| {
            !listed.contains(*path)
                && cutoff.is_some_and(|cutoff| checkpoint.newest.is_none_or(|t| t < cutoff))
        })
        .map(|(path, _)| path.clone())
        .collect();

    // Judge everything read so far, as one sweep over it would.
    let sweep_request = SweepRequest {
        paths: Vec::new(),
        tenant: None,
        since,
        until: None,
        config,
        hosting: request.hosting,
        threads: request.threads,
        out: None,
    };
    let (report, stats) = sweep::judge(&sweep_request, aggregates.clone(), summary);
    let mut document = serde_json::to_value(&report).context("serializing the report")?;
    config
        .redaction
        .user_names(&stats.failed_user_names)
        .redact(&mut document);

    let known = state.incidents()?;
    let mut incidents = Vec::new();
    let mut outbox = Vec::new();
    let findings = document["findings"].as_array().cloned().unwrap_or_default();
    for finding in findings {
        let Some(id) = finding["id"].as_str().map(str::to_string) else {
            continue;
        };
        let current = StoredIncident {
            revision: 1,
            status: finding["incident"]["status"]
                .as_str()
                .unwrap_or("open")
                .to_string(),
            severity: finding["severity"].as_str().unwrap_or("low").to_string(),
            last_seen: finding["last_seen"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            evidence: finding["evidence"]["events"]
                .as_array()
                .map_or(0, |e| e.len() as i64)
                + finding["evidence"]["omitted"].as_i64().unwrap_or(0),
        };
        let change = match known.get(&id) {
            None => "new",
            Some(before) => match lifecycle(before, &current) {
                Some(change) => change,
                None => continue,
            },
        };
        let revision = known.get(&id).map_or(1, |before| before.revision + 1);
        let payload = json!({
            "schema": CHANGE_SCHEMA,
            "change": change,
            "incident_id": id,
            "revision": revision,
            "finding": finding,
        });
        let text = payload.to_string();
        for sink in &config.run.webhook {
            outbox.push((
                sink.name.clone(),
                id.clone(),
                revision,
                change.to_string(),
                text.clone(),
            ));
        }
        incidents.push((
            id,
            StoredIncident {
                revision,
                ..current
            },
            finding.to_string(),
        ));
        outcome.changes.push(payload);
    }

    let line = outcome.summary_line();
    fault("before-commit");
    state.commit_run(&RunWrite {
        aggregates: &aggregates,
        spans: &new_spans,
        checkpoints: &new_checkpoints,
        incidents: &incidents,
        outbox: &outbox,
        event_ids: &new_ids,
        forget_checkpoints: &forget_checkpoints,
        event_sources: &event_sources,
        overlap_seconds: overlap.num_seconds(),
        pull_cursors: &pull_cursors,
        summary: &line,
    })?;
    fault("after-commit");
    if !config.tenant.is_empty() {
        prune_pulled(&pulled_dir(config, request.state), retention_days(config));
    }

    if let Some(path) = &config.run.report {
        let written = json!({
            "schema": "auditsweep.run/1",
            "generated_at": chrono::Utc::now(),
            "window": document["window"],
            "inputs": document["inputs"],
            "changes": outcome.changes,
        });
        let bytes = serde_json::to_vec_pretty(&written)?;
        crate::output::write(path, &bytes)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if config.run.stdout {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for change in &outcome.changes {
            writeln!(out, "{change}")?;
        }
        out.flush()?;
    }

    deliver_all(&state, &sinks, &mut outcome)?;
    Ok(outcome)
}

/// CloudTrail delivers within minutes, Activity Log and Cloud Audit Logs exports within hours:
/// a day covers them with room.
pub const DEFAULT_OVERLAP_HOURS: u32 = 24;

/// `[run] overlap_hours`, or [`DEFAULT_OVERLAP_HOURS`].
/// Removes pulled pages saved more than the retention ago: their days have left the stored
/// baselines, so they can only be evidence for a replay nobody can judge any more. Runs after
/// the commit (the pages were read by then); a file that cannot go is logged and kept.
fn prune_pulled(dir: &Path, retention_days: u32) {
    let keep = std::time::Duration::from_secs(u64::from(retention_days + 1) * 86_400);
    let Some(cutoff) = std::time::SystemTime::now().checked_sub(keep) else {
        return;
    };
    for entry in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
    {
        let old = entry.file_type().is_file()
            && entry
                .metadata()
                .ok()
                .and_then(|meta| meta.modified().ok())
                .is_some_and(|modified| modified < cutoff);
        if old {
            if let Err(err) = std::fs::remove_file(entry.path()) {
                tracing::warn!(file = %entry.path().display(), "cannot remove an expired pulled page: {err}");
            }
        }
    }
}

/// `[run] pulled`, else `<state>.pulled` beside the state.
pub fn pulled_dir(config: &Config, state: &Path) -> PathBuf {
    config.run.pulled.clone().unwrap_or_else(|| {
        let mut name = state.as_os_str().to_owned();
        name.push(".pulled");
        PathBuf::from(name)
    })
}

pub fn overlap(config: &Config) -> chrono::Duration {
    chrono::Duration::hours(
        config
            .run
            .overlap_hours
            .unwrap_or(DEFAULT_OVERLAP_HOURS)
            .into(),
    )
}

/// `[run] retention_days`, or a baseline's worth of judged days (the longest `baseline_days`)
/// plus all that judging them looks back at ([`judgment_lookback`]): 28 + 125 = 153 days with
/// the defaults.
pub fn retention_days(config: &Config) -> u32 {
    config
        .run
        .retention_days
        .unwrap_or(longest_baseline(config) + judgment_lookback(config))
}

fn longest_baseline(config: &Config) -> u32 {
    config
        .provisioning
        .baseline_days
        .max(config.credential_stuffing.baseline_days)
        .max(config.billing.baseline_days)
}

/// How far back the judgment of one day reaches: its test's threshold counts the tests of the
/// 30 days ending on it ([`sweep::FAMILY_DAYS`]), and each of those looks back its baseline or
/// the billing monthly lookback, whichever is longer (95 + 30 = 125 days with the defaults).
pub fn judgment_lookback(config: &Config) -> u32 {
    longest_baseline(config).max(config.billing.monthly_lookback_days) + sweep::FAMILY_DAYS as u32
}

/// Keeps the last [`retention_days`] days (ending on the newest day with data) in the
/// aggregates and the sources' spans, and forgets the rest.
///
/// Once days are forgotten, the oldest kept ones are judged on a truncated history: a finding
/// there would be an artefact, not news. So the run then reports only incidents reaching into
/// the days whose whole history is kept (from the cutoff plus [`judgment_lookback`]): the
/// returned `since`.
/// The first instant the retention keeps (Unix seconds): midnight of the newest day with data,
/// less `retention_days - 1` days.
fn retention_cutoff(config: &Config, summary: &InputSummary) -> Option<i64> {
    let newest = summary.by_source.values().filter_map(|c| c.last).max()?;
    let keep = i64::from(retention_days(config));
    let cutoff = newest.date_naive() - chrono::Duration::days(keep - 1);
    Some(
        cutoff
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp(),
    )
}

fn retain(
    config: &Config,
    aggregates: &mut Aggregates,
    summary: &mut InputSummary,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let newest = summary.by_source.values().filter_map(|c| c.last).max()?;
    let first = summary.by_source.values().filter_map(|c| c.first).min()?;
    let keep = i64::from(retention_days(config));
    let cutoff = newest.date_naive() - chrono::Duration::days(keep - 1);
    let cutoff_at = cutoff.and_time(chrono::NaiveTime::MIN).and_utc();
    if first > cutoff_at {
        return None;
    }
    if first < cutoff_at {
        aggregates.expire_before(cutoff);
        summary
            .by_source
            .retain(|_, counts| counts.last >= Some(cutoff_at));
        for counts in summary.by_source.values_mut() {
            counts.first = counts.first.map(|first| first.max(cutoff_at));
        }
    }
    let lookback = judgment_lookback(config);
    Some((cutoff_at + chrono::Duration::days(lookback.into())).min(newest))
}

/// Whether a known incident changed enough to be sent again.
fn lifecycle(before: &StoredIncident, now: &StoredIncident) -> Option<&'static str> {
    let rank = |severity: &str| match severity {
        "critical" => 3,
        "high" => 2,
        "medium" => 1,
        _ => 0,
    };
    if now.status == "ended" && before.status != "ended" {
        return Some("resolved");
    }
    let grew = now.last_seen > before.last_seen
        || now.evidence > before.evidence
        || rank(&now.severity) > rank(&before.severity)
        || (now.status != before.status);
    grew.then_some("updated")
}

/// Sends every pending outbox entry to its sink, this run's and those earlier runs left.
fn deliver_all(
    state: &State,
    sinks: &BTreeMap<String, deliver::Sink>,
    outcome: &mut RunOutcome,
) -> anyhow::Result<()> {
    // An incident whose earlier change is still undelivered waits with it: a receiver never
    // gets revision 2 before 1, and a ticket is created by its `new` change, not a later one.
    let mut waiting = std::collections::BTreeSet::new();
    for queued in state.pending()? {
        let Some(sink) = sinks.get(&queued.sink) else {
            tracing::warn!(sink = %queued.sink, "Queued for a sink no longer configured: kept");
            continue;
        };
        let key = (queued.sink.clone(), queued.incident_id.clone());
        if waiting.contains(&key) {
            continue;
        }
        match sink.deliver(state, &queued)? {
            state::DeliveryOutcome::Delivered => outcome.delivered += 1,
            state::DeliveryOutcome::Retry(_) => {
                waiting.insert(key);
            }
            state::DeliveryOutcome::Rejected(_) => {}
        }
    }
    let counts = state.outbox_counts()?;
    outcome.queued = counts.get("pending").copied().unwrap_or(0);
    outcome.rejected = counts.get("rejected").copied().unwrap_or(0);
    Ok(())
}

/// The lock file beside the state.
pub fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    state.with_file_name(name)
}
