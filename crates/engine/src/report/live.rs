//! Live progress while a scenario runs, on stderr: on a terminal, one status line redrawn in
//! place (elapsed time, probes' delivery, expectations so far) above which timeline entries
//! scroll; otherwise (CI logs, pipes) plain timestamped lines only. Entries are in words
//! ([`crate::report::words`]), in aligned columns (time, who, what, which, what happened), and
//! grouped: a run of entries about the same node shows its name once.
//!
//! What it does not do: read input, or write to stdout (which carries nothing during a run).

use std::io::{IsTerminal, Write};

use crate::report::record::{TimelineEvent, fmt_rel};
use crate::report::words::words;

/// The progress display.
#[derive(Debug)]
pub struct Live {
    tty: bool,
    status_shown: bool,
    quiet: bool,
    /// The last entry's subject (not repeated on the next line).
    last_who: String,
    /// Column widths so far (they only grow, so columns stay aligned).
    widths: [usize; 3],
}

impl Live {
    /// A display on stderr; `quiet` prints nothing at all.
    pub fn new(quiet: bool) -> Live {
        Live {
            tty: std::io::stderr().is_terminal(),
            status_shown: false,
            quiet,
            last_who: String::new(),
            widths: [12, 6, 8],
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
        let text = self.format(rel_s, e);
        self.line(&text);
    }

    /// The line for an entry (and remembers its subject and widths).
    fn format(&mut self, rel_s: f64, e: &TimelineEvent) -> String {
        let w = words(e);
        for (i, c) in [&w.who, &w.what, &w.which].into_iter().enumerate() {
            self.widths[i] = self.widths[i].max(c.chars().count()).min(24);
        }
        let who = if w.who == self.last_who {
            ""
        } else {
            w.who.as_str()
        };
        let [a, b, c] = self.widths;
        let line = format!(
            "{:>9}  {who:<a$}  {:<b$}  {:<c$}  {}",
            fmt_rel(rel_s),
            w.what,
            w.which,
            w.text
        );
        self.last_who = w.who;
        line.trim_end().to_string()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::record::EventSource;

    #[test]
    fn lines_are_words_aligned_and_grouped_by_node() {
        let mut live = Live::new(true);
        let ev = |subject: &str, detail: &str| TimelineEvent {
            t_ns: 0,
            source: EventSource::Daemon,
            subject: subject.into(),
            kind: "bgp.state".into(),
            detail: detail.into(),
        };
        let a = live.format(
            4.953,
            &ev(
                "vgw1",
                r#"{"from":"Established","neighbor":"vpn1-t1","reason":"hold timer expired","to":"Idle"}"#,
            ),
        );
        let b = live.format(
            4.954,
            &ev(
                "vgw1",
                r#"{"from":"Idle","neighbor":"vpn1-t2","to":"Connect"}"#,
            ),
        );
        let c = live.format(
            4.955,
            &ev(
                "cgw1",
                r#"{"from":"Idle","neighbor":"vpn1-t2","to":"Connect"}"#,
            ),
        );
        assert_eq!(
            a,
            "  +4.953s  vgw1          BGP     vpn1-t1   Established -> Idle  hold timer expired"
        );
        assert_eq!(
            b,
            "  +4.954s                BGP     vpn1-t2   Idle -> Connect"
        );
        assert!(c.starts_with("  +4.955s  cgw1          BGP"), "{c}");
        assert_eq!(a.find("BGP"), b.find("BGP"));
        assert!(!a.contains('{'));
    }
}
