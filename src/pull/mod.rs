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
    /// Why the pull stopped before the end, and the cursor it could resume from.
    pub failed: Option<(String, Cursor)>,
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
    let policy = RetryPolicy {
        attempts: config.pull.attempts,
        ..RetryPolicy::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut all = Vec::new();
        for tenant in tenants {
            let made = sources(tenant).await;
            match made {
                Ok(made) => all.extend(made),
                Err(error) => anyhow::bail!("tenant {}: {error}", tenant.name),
            }
        }
        Ok(pull_sources(all, window, dir, &policy).await)
    })
}

/// Pulls each source in its own task; a page is written before the next is asked for.
pub async fn pull_sources(
    sources: Vec<Box<dyn Source>>,
    window: Window,
    dir: &Path,
    policy: &RetryPolicy,
) -> Pulled {
    let mut tasks = tokio::task::JoinSet::new();
    for (order, source) in sources.into_iter().enumerate() {
        let dir = dir.to_path_buf();
        let policy = policy.clone();
        tasks.spawn(async move {
            let mut files = Vec::new();
            let mut pages_of: std::collections::HashMap<String, u64> = Default::default();
            let id = source.id().to_string();
            let (mut pages, mut records) = (0u64, 0u64);
            let mut sink = |stream: &Stream, page: Page| {
                pages += 1;
                records += page.records;
                let index = pages_of.entry(stream.key.clone()).or_default();
                *index += 1;
                let path = page_path(&dir, &id, &stream.key, *index, page.extension);
                save(&path, &page.bytes)
                    .map_err(|err| format!("saving {}: {err}", path.display()))?;
                files.push(path);
                Ok(())
            };
            let result = pull(&*source, window, None, &policy, &mut sink).await;
            let failed = match result {
                Ok(_) => None,
                Err((cursor, error)) => Some((describe(&error), cursor)),
            };
            (
                order,
                files,
                SourcePull {
                    source: id,
                    pages,
                    records,
                    failed,
                },
            )
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

/// `<dir>/<source id>/<stream>/<page>.<ext>`: the source id's parts as directories, the stream
/// key escaped into one name (an S3 key's slashes, a `..` cannot climb out of `dir`).
pub fn page_path(dir: &Path, source: &str, stream: &str, page: u64, extension: &str) -> PathBuf {
    let mut path = dir.to_path_buf();
    for part in source.split('/') {
        path.push(escape(part));
    }
    path.push(escape(stream));
    path.push(format!("{page:06}.{extension}"));
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
