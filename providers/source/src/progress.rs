//! Progress per source, for a person at a terminal; nothing at all for cron and pipes.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A spinner counting pages and records of one source. Hidden unless stderr is a terminal.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn new(source: &str) -> Progress {
        let bar = ProgressBar::with_draw_target(None, target());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(source.to_string());
        Progress { bar }
    }

    pub fn page(&self, stream: &str, pages: u64, records: u64) {
        self.bar
            .set_message(format!("{stream}: {pages} pages, {records} records"));
        self.bar.tick();
    }

    pub fn finish(&self, pages: u64, records: u64) {
        self.bar
            .finish_with_message(format!("{pages} pages, {records} records"));
    }
}

fn target() -> ProgressDrawTarget {
    if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}
