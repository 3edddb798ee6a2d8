//! Command-line interface: one module per subcommand; each parses nothing itself and calls
//! the library.

mod config;
mod eval;
mod normalize;
mod ranges;
mod run;
mod sweep;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::field::MakeExt;

/// Exit code for usage errors, unreadable inputs and failed runs.
pub const EXIT_ERROR: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "auditsweep",
    version,
    about = "Find traces of attackers who acquire or compromise cloud servers (MITRE T1583.003, T1584.003) in AWS, Azure and GCP audit logs and billing data."
)]
pub struct Cli {
    /// More log output on stderr (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr (no run summary).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log lines as text or as JSON objects (one per line, for log collectors).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find unexpected provisioning, credential stuffing then success, and billing jumps;
    /// write the JSON report.
    Sweep(sweep::SweepArgs),
    /// Print every input record in the normalized schema, one JSON object per line.
    Normalize(normalize::NormalizeArgs),
    /// Score a report against the labels of a generated world: precision, recall, delay.
    Eval(eval::EvalArgs),
    /// Hosting/VPS address ranges: fetch the official lists, look addresses up.
    Ranges(ranges::RangesArgs),
    /// The scheduled job: read what is new since the last run, update the stored baselines,
    /// and deliver new and changed incidents exactly once (docs/operations.md).
    Run(run::RunArgs),
    /// Check a config file: every key and range, and what a pull would fetch, offline.
    Config(config::ConfigArgs),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Sweep(args) => sweep::run(args, cli.quiet),
        Command::Normalize(args) => normalize::run(args, cli.quiet),
        Command::Eval(args) => eval::run(args),
        Command::Ranges(args) => ranges::run(args),
        Command::Run(args) => run::run(args, cli.quiet),
        Command::Config(args) => config::run(args),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Logs go to stderr, so stdout carries only data. `RUST_LOG` overrides the flags. Colour only
/// on a terminal without `NO_COLOR`; every field (a file name, a record's tenant) is escaped, and
/// every line passes the redaction table.
pub fn init_logging(verbose: u8, quiet: bool, format: LogFormat) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("auditsweep={level}")));
    let fields = tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        let text = crate::terminal::Escaped(format_args!("{value:?}"));
        match field.name() {
            "message" => write!(writer, "{text}"),
            name => write!(writer, "{name}={text}"),
        }
    })
    .delimited(" ");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| crate::redact::Stderr)
        .with_target(false);
    match format {
        // Collectors need the time; JSON escapes control characters itself and has no colour.
        LogFormat::Json => builder.json().with_ansi(false).init(),
        LogFormat::Text => builder
            .with_ansi(crate::terminal::colour_on_stderr())
            .fmt_fields(fields)
            .without_time()
            .init(),
    }
}

/// A closed stdout (`auditsweep normalize ... | head`) is not an error.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
