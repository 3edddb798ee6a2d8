//! `auditsweep sweep PATH...`: the main job. Reads every input, tests the window against its
//! baselines and writes the JSON report (stdout, or `--out FILE` written atomically).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::detect::HostingLookup;
use crate::normalize::parse_time;
use crate::output;
use crate::ranges::HostingRanges;
use crate::report::{Report, Severity};
use crate::sweep::{self, SweepRequest};
use crate::terminal::escape;

/// Exit code when `--fail-on` is met: findings at or above the given severity.
pub const EXIT_FINDINGS: u8 = 1;

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Files or directories of provider records (read recursively; gzip detected by content),
    /// pipes, or `-` for stdin. A file named twice is read once.
    #[arg(required_unless_present_any = ["pull", "state"])]
    pub paths: Vec<PathBuf>,
    /// Start from the baselines a scheduled run stored (`auditsweep run`): judge its aggregates
    /// plus what PATHs hold beyond them (files it read and that are unchanged are left out,
    /// events it counted are dropped by id). The state is only read.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Also fetch live from the clouds of the config's `[[tenant]]` tables (all, or the one
    /// `--tenant` names), from `[pull] history_days` before `--since` up to `--until`.
    #[arg(long, requires = "config")]
    pub pull: bool,
    /// Keep what `--pull` fetched here, as native files the readers accept (replay: sweep DIR).
    #[arg(long, requires = "pull")]
    pub save_raw: Option<PathBuf>,
    /// Threads that read the inputs (0: one per core). The report is the same for any number.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Report only this tenant (or account).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Judge activity from this time on (RFC 3339 or YYYY-MM-DD); earlier data is history.
    #[arg(long, value_parser = parse_instant)]
    pub since: Option<DateTime<Utc>>,
    /// Judge activity up to this time (a bare date means the end of that day).
    #[arg(long, value_parser = parse_until)]
    pub until: Option<DateTime<Utc>>,
    /// Write the report here (atomically) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Thresholds and allow-lists (see auditsweep.example.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A directory of published hosting/cloud range lists; default: the `ranges update` cache,
    /// else the snapshot built into the binary.
    #[arg(long)]
    pub ip_ranges: Option<PathBuf>,
    /// Exit with 1 when a finding of this severity or higher is reported.
    #[arg(long, value_enum)]
    pub fail_on: Option<Severity>,
}

/// `--until 2025-03-11` includes the 11th: a bare date is the last second of that day.
fn parse_until(raw: &str) -> Result<DateTime<Utc>, String> {
    let instant = parse_instant(raw)?;
    let bare_date = chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").is_ok();
    Ok(if bare_date {
        instant + chrono::Duration::days(1) - chrono::Duration::seconds(1)
    } else {
        instant
    })
}

fn parse_instant(raw: &str) -> Result<DateTime<Utc>, String> {
    parse_time(raw).ok_or_else(|| format!("not a time: {raw:?} (use RFC 3339 or YYYY-MM-DD)"))
}

pub fn run(args: SweepArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let (Some(since), Some(until)) = (args.since, args.until) {
        if since > until {
            bail!("--since {since} is after --until {until}");
        }
    }
    let ranges = load_ranges(args.ip_ranges.as_deref())?;
    let hosting: &dyn HostingLookup = &ranges;
    let mut paths = args.paths.clone();
    let mut tenant = args.tenant.clone();
    let mut pull_warnings = Vec::new();
    let mut pulled_files = Vec::new();
    // Kept until the sweep has read the pulled files, when no --save-raw keeps them.
    let mut _scratch = None;
    if args.pull {
        let pulled = pull(&args, &config, &mut _scratch)?;
        // `--tenant` named a configured tenant: its pull is the filter (its records name
        // accounts and organizations, not the config's name).
        if tenant
            .as_deref()
            .is_some_and(|t| config.tenant.iter().any(|c| c.name == t))
        {
            tenant = None;
        }
        for source in &pulled.sources {
            if let Some((why, _)) = &source.failed {
                pull_warnings.push(format!(
                    "{}: the pull stopped after {} pages: {why}; its records after that are missing from this report",
                    source.source, source.pages
                ));
            }
        }
        pulled_files = pulled.files.clone();
        paths.extend(pulled.files);
    }
    let request = SweepRequest {
        paths,
        tenant,
        since: args.since,
        until: args.until,
        config: &config,
        hosting,
        threads: args.threads,
        out: args.out.as_deref(),
    };
    let stored = match &args.state {
        Some(path) => Some(crate::run::Stored::open(path, &config)?),
        None => None,
    };
    let (mut report, stats) = sweep::run_from(&request, stored)?;
    // A pulled page without records is the provider saying it had none (a quiet day), not an
    // export that came out empty.
    let empty_pages: std::collections::HashSet<String> = pulled_files
        .iter()
        .map(|file| {
            format!(
                "{}: no records (empty, or every record skipped)",
                file.display()
            )
        })
        .collect();
    report
        .warnings
        .retain(|warning| !empty_pages.contains(warning));
    let pull_failed = !pull_warnings.is_empty();
    report.warnings.extend(pull_warnings);
    // Everything below writes the redacted report only.
    let mut document = serde_json::to_value(&report).context("serializing the report")?;
    let user_names = config.redaction.user_names(&stats.failed_user_names);
    user_names.redact(&mut document);
    // Back into the report, so the file keeps the report's field order.
    let report: Report = serde_json::from_value(document).context("serializing the report")?;
    let json = serde_json::to_vec_pretty(&report).context("serializing the report")?;
    match &args.out {
        Some(path) => {
            output::write(path, &json).with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&json)?;
            stdout.write_all(b"\n")?;
            stdout.flush()?;
        }
    }
    if !quiet {
        print_summary(&report, &stats.suppressed);
    }
    let unreadable = report
        .inputs
        .get("unreadable")
        .and_then(|u| u.as_array())
        .is_some_and(|u| !u.is_empty());
    if unreadable || pull_failed {
        return Ok(ExitCode::from(super::EXIT_ERROR));
    }
    let failing = args
        .fail_on
        .is_some_and(|threshold| report.findings.iter().any(|f| f.severity >= threshold));
    Ok(if failing {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::SUCCESS
    })
}

/// Pulls the configured tenants into `--save-raw` or a scratch directory.
fn pull(
    args: &SweepArgs,
    config: &Config,
    scratch: &mut Option<tempfile::TempDir>,
) -> anyhow::Result<crate::pull::Pulled> {
    let only = args
        .tenant
        .as_deref()
        .filter(|t| config.tenant.iter().any(|c| c.name == *t));
    let tenants = crate::pull::tenants(config, only);
    if tenants.is_empty() {
        bail!("--pull: the config declares no [[tenant]] to pull from (docs/configuration.md)");
    }
    let end = args.until.unwrap_or_else(Utc::now);
    let first_judged = args.since.unwrap_or(end - chrono::Duration::days(1));
    let start = crate::sweep::day_start(first_judged.date_naive())
        - chrono::Duration::days(i64::from(config.pull.history_days));
    let window = auditsweep_source::Window { start, end };
    let dir = match &args.save_raw {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating --save-raw {}", dir.display()))?;
            dir.clone()
        }
        None => scratch.insert(tempfile::tempdir()?).path().to_path_buf(),
    };
    tracing::info!(
        "Pulling {} tenant(s) from {} to {}",
        tenants.len(),
        window.start.to_rfc3339(),
        window.end.to_rfc3339()
    );
    crate::pull::pull_into(config, &tenants, window, &dir)
}

/// `--ip-ranges DIR`, else the `ranges update` cache, else the snapshot built into the binary;
/// stderr says which, and warns when the cache or snapshot is stale, or the lists hold no prefix.
pub(crate) fn load_ranges(dir: Option<&Path>) -> anyhow::Result<HostingRanges> {
    let cache = crate::ranges::default_cache_dir();
    let loaded =
        crate::ranges::load_ranges(dir, cache.as_deref()).context("loading hosting ranges")?;
    loaded.log(Utc::now().date_naive());
    if loaded.ranges.is_empty() {
        // An empty directory, or lists of another format: the same as having none.
        tracing::warn!("No prefixes in the hosting range lists: the hosting_source signal is off");
    }
    Ok(loaded.ranges)
}

/// What a person reads on stderr: the ledger and one line per finding.
fn print_summary(report: &Report, suppressed: &std::collections::BTreeMap<String, u64>) {
    let mut err = std::io::stderr().lock();
    let inputs = &report.inputs;
    let number = |key: &str| inputs.get(key).and_then(|v| v.as_u64()).unwrap_or(0);
    let _ = writeln!(
        err,
        "auditsweep: {} records read ({} events, {} billing rows, {} skipped) from {} files; window {} .. {}",
        number("records_read"),
        number("events"),
        number("billing_rows"),
        number("skipped"),
        number("files"),
        report.window.start.format("%Y-%m-%d %H:%M"),
        report.window.end.format("%Y-%m-%d %H:%M"),
    );
    let tests: Vec<String> = report
        .coverage
        .tests
        .iter()
        .map(|(d, n)| format!("{d} {n}"))
        .collect();
    let _ = writeln!(err, "  tested: {}", tests.join(", "));
    if !report.coverage.cold_start.is_empty() {
        let _ = writeln!(
            err,
            "  cold start (too little history to judge): {}",
            report.coverage.cold_start.len()
        );
    }
    if !report.coverage.data_gaps.is_empty() {
        let gaps = &report.coverage.data_gaps;
        let days: u64 = gaps.iter().map(|gap| u64::from(gap.days)).sum();
        let omitted = match report.coverage.data_gaps_omitted {
            0 => String::new(),
            n => format!(" (and {n} more gaps not listed)"),
        };
        let _ = writeln!(
            err,
            "  data gaps: {days} account-days without billing data in {} gaps{omitted}",
            gaps.len()
        );
    }
    for (reason, count) in suppressed {
        let _ = writeln!(err, "  allowed by config ({}): {count}", escape(reason));
    }
    let _ = writeln!(err, "  findings: {}", report.findings.len());
    for finding in &report.findings {
        // Tenants and titles come from the records: escaped like every other text on stderr.
        let line = format!(
            "[{:?}] {} {}/{} {}{}  ({})",
            finding.severity,
            finding.first_seen.format("%Y-%m-%d %H:%M"),
            finding.provider,
            finding.tenant.as_deref().unwrap_or("-"),
            finding.title,
            if finding.escalate { "  ESCALATE" } else { "" },
            finding.id,
        );
        let _ = writeln!(err, "  {}", escape(&line));
    }
}
