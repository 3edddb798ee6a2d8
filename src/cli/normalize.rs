//! `auditsweep normalize PATH...`: the normalizer on its own, for inspection and for piping
//! into other tools.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::normalize::{list_inputs, InputSummary, Normalizer};
use crate::terminal::escape;

#[derive(Debug, clap::Args)]
pub struct NormalizeArgs {
    /// Files or directories (read recursively; gzip detected by content), pipes, or `-` for
    /// stdin. A file named twice is read once.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

pub fn run(args: NormalizeArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let inputs = list_inputs(&args.paths);
    if !inputs.refused.is_empty() {
        return Err(crate::sweep::RefusedInputs {
            refused: inputs.refused,
        })
        .context("refusing to run");
    }
    let stdout = std::io::stdout().lock();
    let mut out = BufWriter::new(stdout);
    let mut write_error: Option<std::io::Error> = None;
    let mut sink = |record: crate::schema::Record| {
        if write_error.is_some() {
            return;
        }
        let identity = crate::redact::default_identity();
        let written = crate::redact::record(&record, identity)
            .and_then(|redacted| serde_json::to_writer(&mut out, &*redacted))
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
        if let Err(err) = written {
            write_error = Some(err);
        }
    };
    // One thread: the records come out in the order of the files.
    let mut normalizer = Normalizer::new(&mut sink);
    normalizer.note_listing(&inputs);
    for input in &inputs.inputs {
        normalizer.read_input(input);
    }
    let summary = normalizer.finish();
    if let Some(err) = write_error {
        return Err(err).context("writing to stdout");
    }
    out.flush().context("writing to stdout")?;
    if !quiet {
        print_summary(&summary);
    }
    Ok(if summary.unreadable.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_ERROR)
    })
}

/// The human summary on stderr: what was read, what was skipped and why.
fn print_summary(summary: &InputSummary) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "auditsweep: {} files, {} records read: {} events, {} billing rows, {} skipped",
        summary.files, summary.records_read, summary.events, summary.billing_rows, summary.skipped
    );
    for (reason, count) in &summary.skipped_by_reason {
        let _ = writeln!(err, "  skipped {count} ({reason})");
    }
    for path in &summary.unreadable {
        let line = format!("{}: {}", path.path, path.error);
        let _ = writeln!(err, "  unreadable: {}", escape(&crate::redact::text(&line)));
    }
}
