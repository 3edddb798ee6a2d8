//! `sweep --pull`: the configured tenants' sources fetched live, each page saved as the native
//! file it is, and the files handed to the same sweep that reads exports. So a pulled record and
//! an exported one take the one path through the normalizer, and `--save-raw DIR` keeps exactly
//! what the report was made from, for replay and forensics.
//!
//! The adapters (`providers/*`) only fetch; paging, retries and cursors are
//! `auditsweep_source`'s. This module picks the sources, names the files and runs the pulls
//! concurrently, one task per source.

mod providers;

use std::path::{Path, PathBuf};

use auditsweep_source::{pull, Cursor, Page, PullError, RetryPolicy, Source, Stream, Window};

use crate::config::{Config, TenantSource};

pub use providers::{check, sources, TenantCheck};

/// What one source's pull came to.
#[derive(Debug, Clone)]
pub struct SourcePull {
    pub source: String,
    pub pages: u64,
    pub records: u64,
    /// Where the pull stands: complete, or where to resume.
    pub cursor: Cursor,
    /// Why the pull stopped before the end, and the cursor it could resume from.
    pub failed: Option<(String, Cursor)>,
}

/// One source to pull: over which window, resuming which cursor.
pub struct Job {
    pub source: Box<dyn Source>,
    pub window: Window,
    pub resume: Option<Cursor>,
}

/// How the scheduled run may ask a source again for time it already pulled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revisit {
    /// Records with a provider id (audit logs, sign-ins): the window reaches back by the
    /// overlap for late deliveries, and the run drops what it already has by id.
    Overlap,
    /// Whole objects (a bucket's export files): each is listed once, from where the last pull
    /// ended; an object re-listed would be read twice.
    Never,
    /// Billing rows: no id, and a day's cost is revised for days after it. Asked once per day,
    /// whole days only, once the day is [`BILLING_FINAL_DAYS`] old, so no cost counts twice.
    FinalDays,
}

/// Days after which a day's billing is taken as final (AWS documents up to 24 hours for Cost
/// Explorer, Azure and GCP up to a day or more for their exports).
pub const BILLING_FINAL_DAYS: i64 = 3;

/// Which [`Revisit`] a source allows, by the kind in its id (`<cloud>/<tenant>/<kind>/...`).
pub fn revisit(source: &str) -> Revisit {
    match source.split('/').nth(2) {
        Some("cost-and-usage" | "cost" | "billing-export") => Revisit::FinalDays,
        Some("gcs") => Revisit::Never,
        _ => Revisit::Overlap,
    }
}

/// The window the scheduled run pulls from a source. An interrupted pull resumes its own
/// window first (nothing it handed over is asked for again); after a complete one, the next
/// starts `overlap` before where it ended, for records the provider delivers late (the run drops
/// the ones it already has by their event id). A source never pulled starts `history` back.
pub fn next_window(
    previous: Option<&Cursor>,
    now: chrono::DateTime<chrono::Utc>,
    overlap: chrono::Duration,
    history: chrono::Duration,
    revisit: Revisit,
) -> Option<(Window, Option<Cursor>)> {
    if let Some(cursor) = previous.filter(|cursor| !cursor.complete) {
        return Some((cursor.window, Some(cursor.clone())));
    }
    let last_end = previous.map(|cursor| cursor.window.end);
    let (start, end) = match revisit {
        Revisit::Overlap => (last_end.map_or(now - history, |end| end - overlap), now),
        Revisit::Never => (last_end.unwrap_or(now - history), now),
        Revisit::FinalDays => {
            let midnight =
                |t: chrono::DateTime<chrono::Utc>| crate::sweep::day_start(t.date_naive());
            let end = midnight(now) - chrono::Duration::days(BILLING_FINAL_DAYS);
            (last_end.unwrap_or_else(|| midnight(now - history)), end)
        }
    };
    let start = start.min(now);
    (start < end).then_some((Window { start, end }, None))
}

/// Every file written, in order, and how each source fared.
#[derive(Debug, Default)]
pub struct Pulled {
    pub files: Vec<PathBuf>,
    pub sources: Vec<SourcePull>,
}

/// The tenants of the config to pull: all, or the one `--tenant` names.
pub fn tenants<'c>(config: &'c Config, only: Option<&str>) -> Vec<&'c TenantSource> {
    config
        .tenant
        .iter()
        .filter(|tenant| only.is_none_or(|name| tenant.name == name))
        .collect()
}

/// Pulls `window` from every source into `dir`. Sources that fail are reported, not fatal: the
/// others' records are still judged, and the report says what is missing.
pub fn pull_into(
    config: &Config,
    tenants: &[&TenantSource],
    window: Window,
    dir: &Path,
) -> anyhow::Result<Pulled> {
    pull_tenants(config, tenants, dir, |source| {
        Some(Job {
            source,
            window,
            resume: None,
        })
    })
}

/// The scheduled run's pull: every configured tenant, each source from where its stored
/// cursor left off ([`next_window`]), into `dir`. Returns the files and each source's new
/// cursor, for the run to store in the same transaction as what it read from them.
pub fn pull_since(
    config: &Config,
    cursors: &std::collections::BTreeMap<String, Cursor>,
    now: chrono::DateTime<chrono::Utc>,
    overlap: chrono::Duration,
    dir: &Path,
) -> anyhow::Result<Pulled> {
    let history = chrono::Duration::days(i64::from(config.pull.history_days));
    let tenants: Vec<&TenantSource> = config.tenant.iter().collect();
    pull_tenants(config, &tenants, dir, |source| {
        let previous = cursors.get(source.id());
        // Nothing new yet (billing days not final): no job, the cursor stays as it is.
        let (window, resume) = next_window(previous, now, overlap, history, revisit(source.id()))?;
        Some(Job {
            source,
            window,
            resume,
        })
    })
}

/// Makes the tenants' sources, turns each into a job (or none), and pulls them all.
fn pull_tenants(
    config: &Config,
    tenants: &[&TenantSource],
    dir: &Path,
    mut job: impl FnMut(Box<dyn Source>) -> Option<Job>,
) -> anyhow::Result<Pulled> {
    let policy = RetryPolicy {
        attempts: config.pull.attempts,
        ..RetryPolicy::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut jobs = Vec::new();
        for tenant in tenants {
            let made = sources(tenant)
                .await
                .map_err(|error| anyhow::anyhow!("tenant {}: {error}", tenant.name))?;
            jobs.extend(made.into_iter().filter_map(&mut job));
        }
        Ok(pull_sources(jobs, dir, &policy).await)
    })
}

/// Pulls each source in its own task; a page is written before the next is asked for.
pub async fn pull_sources(jobs: Vec<Job>, dir: &Path, policy: &RetryPolicy) -> Pulled {
    let mut tasks = tokio::task::JoinSet::new();
    for (order, job) in jobs.into_iter().enumerate() {
        let Job {
            source,
            window,
            resume,
        } = job;
        let dir = dir.to_path_buf();
        let policy = policy.clone();
        tasks.spawn(async move {
            let mut files = Vec::new();
            // The token each stream's next page was asked with: it names the page's file, so a
            // resumed pull never overwrites a page of the attempt before it.
            let mut tokens: std::collections::HashMap<String, Option<String>> = Default::default();
            if let Some((stream, token)) = resume.as_ref().and_then(|c| c.partial.clone()) {
                tokens.insert(stream, token);
            }
            let id = source.id().to_string();
            let (mut pages, mut records) = (0u64, 0u64);
            let mut sink = |stream: &Stream, page: Page| {
                pages += 1;
                records += page.records;
                let token = tokens.entry(stream.key.clone()).or_default();
                let name = page_name(&window, token.as_deref());
                let path = page_path(&dir, &id, &stream.key, &name, page.extension);
                *token = page.next.clone();
                save(&path, &page.bytes)
                    .map_err(|err| format!("saving {}: {err}", path.display()))?;
                files.push(path);
                Ok(())
            };
            let result = pull(&*source, window, resume, &policy, &mut sink).await;
            let (cursor, failed) = match result {
                Ok((cursor, _)) => (cursor, None),
                Err((cursor, error)) => (cursor.clone(), Some((describe(&error), cursor))),
            };
            let pulled = SourcePull {
                source: id,
                pages,
                records,
                cursor,
                failed,
            };
            (order, files, pulled)
        });
    }
    let mut done = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(result) => done.push(result),
            Err(err) => tracing::error!("a pull task failed: {err}"),
        }
    }
    done.sort_by_key(|(order, _, _)| *order);
    let mut pulled = Pulled::default();
    for (_, files, source) in done {
        if let Some((why, _)) = &source.failed {
            tracing::error!(source = %source.source, "pull stopped: {why}");
        }
        pulled.files.extend(files);
        pulled.sources.push(source);
    }
    pulled
}

fn describe(error: &PullError) -> String {
    crate::redact::text(&error.to_string()).into_owned()
}

/// A page's file name: the window's start and a digest of the token it was asked with, so the
/// same page of the same pull always has the same name and no two pages share one.
pub fn page_name(window: &Window, token: Option<&str>) -> String {
    use sha2::Digest;
    let start = window.start.format("%Y%m%dT%H%M%SZ");
    match token {
        None => format!("{start}-first"),
        Some(token) => {
            let digest = sha2::Sha256::digest(token.as_bytes());
            let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            format!("{start}-{hex}")
        }
    }
}

/// `<dir>/<source id>/<stream>/<name>.<ext>`: the source id's parts as directories, the stream
/// key escaped into one name (an S3 key's slashes, a `..` cannot climb out of `dir`).
pub fn page_path(dir: &Path, source: &str, stream: &str, name: &str, extension: &str) -> PathBuf {
    let mut path = dir.to_path_buf();
    for part in source.split('/') {
        path.push(escape(part));
    }
    path.push(escape(stream));
    path.push(format!("{name}.{extension}"));
    path
}

/// Letters, digits, `-`, `_` and inner dots stay; everything else becomes `%XX`.
fn escape(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for (i, byte) in part.bytes().enumerate() {
        let keep =
            byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' || (byte == b'.' && i > 0);
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    if out.is_empty() {
        out.push_str("%00");
    }
    out
}

fn save(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    crate::output::write(path, bytes)
}

#[cfg(test)]
mod tests;
