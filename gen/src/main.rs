//! `auditsweep-gen`: writes a generated world (native-format logs, billing exports and
//! `labels.json`) for testing and scoring detectors. A binary of its own, so the product carries
//! no simulation.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;

use auditsweep::eval::labels::AttackKind;
use auditsweep_gen::{self as gen, GenOptions};
use clap::Parser;

/// Exit code for invalid options.
const EXIT_ERROR: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "auditsweep-gen",
    version,
    about = "Write a generated multi-cloud world with labelled attacks, in the providers' native formats."
)]
pub struct GenArgs {
    /// Only errors on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// Directory to write the world into (created if missing; must not hold a world already).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Number of companies; each is on one or two clouds.
    #[arg(long, value_name = "N")]
    pub tenants: u32,
    /// Number of days to generate.
    #[arg(long, value_name = "D")]
    pub days: u32,
    /// Random seed: the same seed writes byte-identical output.
    #[arg(long, value_name = "S")]
    pub seed: u64,
    /// Attacks to inject: all, none, or a comma-separated list of provisioning,
    /// credential_stuffing, billing_jump.
    #[arg(long, value_name = "KINDS", default_value = "all", value_parser = parse_kinds)]
    pub attacks: std::collections::BTreeSet<AttackKind>,
    /// First day (YYYY-MM-DD, UTC); a fixed date by default so the seed alone decides the output.
    #[arg(long, value_name = "DATE")]
    pub start: Option<NaiveDate>,
    /// Multiplies the volume of routine API calls (sign-ins, launches and billing keep their rates).
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    pub events_scale: f64,
}

fn parse_kinds(spec: &str) -> Result<std::collections::BTreeSet<AttackKind>, String> {
    gen::parse_attacks(spec).map_err(|err| err.to_string())
}

fn main() -> ExitCode {
    let args = GenArgs::parse();
    let level = if args.quiet { "error" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("auditsweep_gen={level}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_ansi(auditsweep::terminal::colour_on_stderr())
        .init();
    match run(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!(
                "auditsweep-gen: {}",
                auditsweep::terminal::escape(&format!("{err:#}"))
            );
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(args: GenArgs) -> anyhow::Result<ExitCode> {
    let mut options = GenOptions::new(args.out, args.tenants, args.days, args.seed);
    options.attacks = args.attacks;
    options.events_scale = args.events_scale;
    if let Some(start) = args.start {
        options.start = start;
    }
    let summary = match gen::generate(&options) {
        Ok(summary) => summary,
        Err(gen::GenError::InvalidOption(message)) => {
            eprintln!("auditsweep-gen: {}", auditsweep::terminal::escape(&message));
            return Ok(ExitCode::from(EXIT_ERROR));
        }
        Err(err) => return Err(err.into()),
    };
    tracing::info!(
        out = %options.out.display(),
        tenant_clouds = summary.tenant_clouds,
        attacks = summary.attacks,
        files = summary.written.files,
        events = summary.written.events,
        billing_rows = summary.written.billing_rows,
        bytes = summary.written.bytes,
        "Generated world"
    );
    Ok(ExitCode::SUCCESS)
}
