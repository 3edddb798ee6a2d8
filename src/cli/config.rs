//! `auditsweep config check`: validates a config file and says what a pull would fetch, without
//! a network call, so a cron job is never the first to find a typo.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Config;
use crate::terminal::escape;

#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Validate the file (every key and range) and list, per tenant, what would be pulled.
    Check {
        /// The config file.
        #[arg(long, default_value = "auditsweep.toml")]
        config: PathBuf,
    },
}

pub fn run(args: ConfigArgs) -> anyhow::Result<ExitCode> {
    let ConfigCommand::Check { config: path } = args.command;
    let config = Config::load(&path)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}: valid", escape(&path.display().to_string()))?;
    let mut errors = 0;
    if config.tenant.is_empty() {
        writeln!(
            out,
            "no [[tenant]] tables: `sweep --pull` has nothing to pull"
        )?;
    }
    for tenant in &config.tenant {
        let check = crate::pull::check(tenant);
        writeln!(out, "tenant {} ({}):", escape(&check.tenant), check.cloud)?;
        for line in &check.plan {
            writeln!(out, "  would pull: {}", escape(line))?;
        }
        for line in &check.warnings {
            writeln!(out, "  warning: {}", escape(line))?;
        }
        for line in &check.errors {
            writeln!(out, "  error: {}", escape(line))?;
        }
        errors += check.errors.len();
    }
    if let Some(state) = &config.run.state {
        writeln!(out, "run: state {}", escape(&state.display().to_string()))?;
    }
    for sink in &config.run.webhook {
        writeln!(
            out,
            "run: delivers to {} ({:?})",
            escape(&sink.name),
            sink.format
        )?;
    }
    out.flush()?;
    Ok(if errors > 0 {
        ExitCode::from(super::EXIT_ERROR)
    } else {
        ExitCode::SUCCESS
    })
}
