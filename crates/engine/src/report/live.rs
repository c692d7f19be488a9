//! Live progress while a scenario runs, on stderr: on a terminal, one status line redrawn in
//! place (elapsed time, probes' delivery, expectations so far) above which timeline entries
//! scroll; otherwise (CI logs, pipes) plain timestamped lines only.
//!
//! What it does not do: read input, or write to stdout (which carries nothing during a run).

use std::io::{IsTerminal, Write};

use crate::report::record::{TimelineEvent, fmt_rel};

/// The progress display.
#[derive(Debug)]
pub struct Live {
    tty: bool,
    status_shown: bool,
    quiet: bool,
}

impl Live {
    /// A display on stderr; `quiet` prints nothing at all.
    pub fn new(quiet: bool) -> Live {
        Live {
            tty: std::io::stderr().is_terminal(),
            status_shown: false,
            quiet,
        }
    }

    /// Whether stderr is a terminal (the status line is drawn).
    pub fn is_tty(&self) -> bool {
        self.tty
    }

    fn clear_status(&mut self, err: &mut impl Write) {
        if self.status_shown {
            let _ = write!(err, "\r\x1b[2K");
            self.status_shown = false;
        }
    }

    /// Prints one line (a phase, a message).
    pub fn line(&mut self, text: &str) {
        if self.quiet {
            return;
        }
        let mut err = std::io::stderr().lock();
        self.clear_status(&mut err);
        let _ = writeln!(err, "{text}");
    }

    /// Prints a timeline entry, `t` relative to the timeline start.
    pub fn event(&mut self, rel_s: f64, e: &TimelineEvent) {
        self.line(&format!(
            "{:>9}  {:<11} {:<14} {}",
            fmt_rel(rel_s),
            format!("{:?}", e.source).to_lowercase(),
            e.subject,
            e.detail
        ));
    }

    /// Redraws the status line (terminal only).
    pub fn status(&mut self, text: &str) {
        if self.quiet || !self.tty {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{text}");
        let _ = err.flush();
        self.status_shown = true;
    }

    /// Removes the status line before the final summary.
    pub fn finish(&mut self) {
        let mut err = std::io::stderr().lock();
        self.clear_status(&mut err);
    }
}
