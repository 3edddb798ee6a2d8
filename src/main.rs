//! The `auditsweep` command: parses arguments and hands each subcommand to [`auditsweep::cli`].

use std::process::ExitCode;

use clap::Parser;

/// Every record allocates a few short strings; mimalloc serves them faster than glibc's malloc
/// (measured with scripts/bench.sh, see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = auditsweep::cli::Cli::parse();
    auditsweep::cli::init_logging(args.verbose, args.quiet, args.log_format);
    match auditsweep::cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            if auditsweep::cli::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            // Paths in the message may hold control characters: escaped, never echoed raw; and
            // secrets are redacted.
            let message = format!("{err:#}");
            let message = auditsweep::redact::text(&message);
            let message = auditsweep::terminal::Escaped(format_args!("{message}"));
            eprintln!("auditsweep: error: {message}");
            ExitCode::from(auditsweep::cli::EXIT_ERROR)
        }
    }
}
