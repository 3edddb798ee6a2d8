//! `auditsweep ranges update|lookup`: keep the hosting/VPS range lists current, and ask them
//! about addresses by hand.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::ranges::update::{plan_sources, SourceOverride, Updater, MANUAL_LISTS};
use crate::ranges::{default_cache_dir, load_ranges};

#[derive(Debug, clap::Args)]
pub struct RangesArgs {
    #[command(subcommand)]
    pub command: RangesCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum RangesCommand {
    /// Fetch the official hosting range lists (AWS, GCP, Oracle, DigitalOcean, Linode) into the
    /// cache directory. Azure, Hetzner, OVH and Vultr have no stable URL: drop their files into
    /// the directory yourself (see docs/ip-ranges.md).
    Update(UpdateArgs),
    /// Print, as JSON lines, which hosting range each address falls in.
    Lookup(LookupArgs),
}

#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// Directory to write to [default: $XDG_CACHE_HOME/auditsweep/ip-ranges or
    /// ~/.cache/auditsweep/ip-ranges].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Fetch a source from another URL (a mirror); repeatable. Names: aws, gcp, oracle,
    /// digitalocean, linode.
    #[arg(long = "source", value_name = "NAME=URL")]
    pub sources: Vec<SourceOverride>,
}

#[derive(Debug, clap::Args)]
pub struct LookupArgs {
    /// Directory of range lists [default: the `ranges update` cache directory, else the
    /// snapshot built into the binary].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// IPv4 or IPv6 addresses.
    #[arg(required = true, value_name = "ADDRESS")]
    pub addresses: Vec<IpAddr>,
}

pub fn run(args: RangesArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        RangesCommand::Update(args) => update(args),
        RangesCommand::Lookup(args) => lookup(args),
    }
}

fn dir_or_default(dir: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    dir.or_else(default_cache_dir).context(
        "no cache directory: neither XDG_CACHE_HOME nor HOME is set to an absolute path; pass --dir",
    )
}

fn update(args: UpdateArgs) -> anyhow::Result<ExitCode> {
    let dir = dir_or_default(args.dir)?;
    let sources = plan_sources(&args.sources)?;
    let updater = Updater::new()?;
    let outcomes = updater.update_all(&dir, &sources);

    let mut out = std::io::stdout().lock();
    writeln!(out, "Range lists in {}", dir.display())?;
    let mut failed = 0;
    for outcome in &outcomes {
        match &outcome.result {
            Ok(updated) => {
                writeln!(
                    out,
                    "  {:<13} updated  {} prefixes, {} bytes -> {}",
                    outcome.name,
                    updated.prefixes,
                    updated.bytes,
                    outcome.path.display()
                )?;
                let report = &updated.report;
                if !report.dropped_special.is_empty() || report.malformed_total > 0 {
                    writeln!(out, "  {:<13}          {report}", "")?;
                }
            }
            Err(err) => {
                failed += 1;
                let kept = if outcome.path.exists() {
                    "kept the previous file"
                } else {
                    "no previous file"
                };
                writeln!(out, "  {:<13} FAILED   {err:#} ({kept})", outcome.name)?;
            }
        }
    }
    writeln!(
        out,
        "Lists without a stable URL (drop the file into the directory yourself):"
    )?;
    for manual in MANUAL_LISTS {
        let present = if dir.join(manual.file_name).exists() {
            "present"
        } else {
            "missing"
        };
        writeln!(
            out,
            "  {:<13} {present:<8} {}: {}",
            manual.provider, manual.file_name, manual.how
        )?;
    }
    out.flush()?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_ERROR)
    })
}

fn lookup(args: LookupArgs) -> anyhow::Result<ExitCode> {
    let cache = default_cache_dir();
    let loaded =
        load_ranges(args.dir.as_deref(), cache.as_deref()).context("loading hosting ranges")?;
    loaded.log(chrono::Utc::now().date_naive());
    let ranges = loaded.ranges;
    let mut out = std::io::stdout().lock();
    for address in args.addresses {
        let hosting = match ranges.lookup_prefix(address) {
            Some((prefix, info)) => {
                let mut found = serde_json::to_value(info)?;
                found["prefix"] = serde_json::json!(prefix);
                found
            }
            None => serde_json::Value::Null,
        };
        let line = serde_json::json!({ "address": address, "hosting": hosting });
        serde_json::to_writer(&mut out, &line).context("writing to stdout")?;
        writeln!(out).context("writing to stdout")?;
    }
    out.flush().context("writing to stdout")?;
    Ok(ExitCode::SUCCESS)
}
