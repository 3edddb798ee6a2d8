//! `auditsweep eval --labels labels.json REPORT.json...`: scores a report against the labels of a
//! generated world (see `docs/evaluation.md`). Several reports (one per tenant swept alone, say)
//! are scored as one: their findings together, each id once.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::TimeDelta;

use crate::eval::{evaluate, read_labels, read_report, text, EvalOptions};

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The labels.json that `auditsweep-gen` wrote next to the world.
    #[arg(long)]
    pub labels: PathBuf,
    /// The JSON report that `auditsweep sweep` wrote for that world, or several (their findings
    /// are scored together).
    #[arg(required = true, num_args = 1..)]
    pub reports: Vec<PathBuf>,
    /// Print the evaluation as one JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
    /// How far outside an attack's time window a finding may lie and still match it.
    #[arg(long, value_name = "H", default_value = "24", value_parser = parse_tolerance)]
    pub tolerance_hours: TimeDelta,
}

/// Exits 0 whatever the scores: a poor score is a result, not a failure of the command.
pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let labels = read_labels(&args.labels)?;
    let mut reports = args.reports.iter();
    let first = reports.next().expect("clap requires a report");
    let mut report = read_report(first)?;
    let mut ids: std::collections::BTreeSet<String> =
        report.findings.iter().map(|f| f.id.clone()).collect();
    for path in reports {
        let more = read_report(path)?;
        report.findings.extend(
            more.findings
                .into_iter()
                .filter(|f| ids.insert(f.id.clone())),
        );
    }
    let options = EvalOptions {
        tolerance: args.tolerance_hours,
    };
    let evaluation = evaluate(&labels, &report, &options);
    let mut stdout = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &evaluation).context("writing to stdout")?;
        writeln!(stdout).context("writing to stdout")?;
    } else {
        stdout
            .write_all(text::render(&evaluation).as_bytes())
            .context("writing to stdout")?;
    }
    stdout.flush().context("writing to stdout")?;
    Ok(ExitCode::SUCCESS)
}

/// Hours, fractions allowed, to the second.
fn parse_tolerance(text: &str) -> Result<TimeDelta, String> {
    let hours: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of hours"))?;
    // A year is far beyond any sensible tolerance and keeps the conversion exact.
    if !(0.0..=8760.0).contains(&hours) {
        return Err(format!("`{text}` must be between 0 and 8760 hours"));
    }
    Ok(TimeDelta::seconds((hours * 3600.0).round() as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_accepts_fractions_and_rejects_nonsense() {
        assert_eq!(parse_tolerance("24"), Ok(TimeDelta::hours(24)));
        assert_eq!(parse_tolerance("0.5"), Ok(TimeDelta::minutes(30)));
        assert!(parse_tolerance("-1").is_err());
        assert!(parse_tolerance("NaN").is_err());
        assert!(parse_tolerance("day").is_err());
    }
}
