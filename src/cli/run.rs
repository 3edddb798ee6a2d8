//! `auditsweep run`: the scheduled job (see [`crate::run`] and `docs/operations.md`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::config::Config;
use crate::detect::HostingLookup;
use crate::run::{self, Locked, RunRequest, EXIT_LOCKED};

/// Exit code when the run completed but some changes are still queued or were rejected.
pub const EXIT_UNDELIVERED: u8 = 3;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The config: `[run]` names the inputs, the state and the sinks.
    #[arg(long, default_value = "auditsweep.toml")]
    pub config: PathBuf,
    /// The state file (SQLite), overriding `[run] state`.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Directory of hosting/VPS range lists (default: the cache `ranges update` writes, else
    /// the snapshot built into the binary).
    #[arg(long)]
    pub ip_ranges: Option<PathBuf>,
    /// Threads that read the inputs; 0: one per core.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

pub fn run(args: RunArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config)?;
    let Some(state) = args.state.clone().or_else(|| config.run.state.clone()) else {
        anyhow::bail!(
            "no state file: set [run] state in {} or pass --state",
            args.config.display()
        );
    };
    if config.run.inputs.is_empty() && config.tenant.is_empty() {
        anyhow::bail!(
            "[run] inputs is empty and no [[tenant]] is declared in {}: nothing to read",
            args.config.display()
        );
    }
    let ranges = super::sweep::load_ranges(args.ip_ranges.as_deref())?;
    let hosting: &dyn HostingLookup = &ranges;
    let request = RunRequest {
        config: &config,
        state: &state,
        hosting,
        threads: args.threads,
    };
    let outcome = match run::run(&request) {
        Ok(outcome) => outcome,
        Err(err) if err.downcast_ref::<Locked>().is_some() => {
            eprintln!("auditsweep: {err}");
            return Ok(ExitCode::from(EXIT_LOCKED));
        }
        Err(err) => {
            return Err(err).context("run failed; the state is as the last complete run left it")
        }
    };
    // The one-line summary, also when quiet is not set: what cron mails and logs keep.
    if !quiet {
        tracing::info!("{}", outcome.summary_line());
    }
    Ok(if !outcome.pull_failed.is_empty() {
        // Committed and delivered, but some source's records are missing: a failed run.
        ExitCode::from(super::EXIT_ERROR)
    } else if outcome.queued > 0 || outcome.rejected > 0 {
        ExitCode::from(EXIT_UNDELIVERED)
    } else {
        ExitCode::SUCCESS
    })
}
