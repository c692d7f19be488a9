//! The summary table printed at the end of a run: expectations with their result and how
//! long they took, then probes with their loss figures.
//!
//! ```text
//! two-sites: PASSED (6/6 expectations)
//!
//!   RESULT  EXPECTATION                              TOOK    DETAIL
//!   pass    r1 routes to the cloud site over the WAN  0ms    10.2.0.0/24 via 10.255.0.2 dev r2
//!   ...
//!   PROBE  PATH                 SENT   LOST  WINDOWS  LONGEST  REORDERED  DUPLICATES
//!   udp    h1 -> 10.2.0.10:7000 5000   2001  1        2.001s   0          0
//! ```
//!
//! What it does not do: colour (reports are also read in CI logs).

use crate::report::record::{Outcome, RunRecord, fmt_len};

/// Renders the summary.
pub fn render(r: &RunRecord) -> String {
    let total = r.expectations.len();
    let passed = r
        .expectations
        .iter()
        .filter(|e| e.outcome == Outcome::Passed)
        .count();
    let mut out = format!(
        "{}: {} ({passed}/{total} expectations)\n",
        r.scenario,
        if r.passed() { "PASSED" } else { "FAILED" }
    );
    if let Some(e) = &r.error {
        out += &format!("error: {e}\n");
    }
    if !r.expectations.is_empty() {
        let rows: Vec<[String; 4]> = r
            .expectations
            .iter()
            .map(|e| {
                [
                    match e.outcome {
                        Outcome::Passed => "pass",
                        Outcome::Failed => "FAIL",
                        Outcome::NotRun => "not run",
                    }
                    .to_string(),
                    e.name.clone(),
                    e.took_ns().map(fmt_len).unwrap_or_else(|| "-".into()),
                    e.detail.clone(),
                ]
            })
            .collect();
        out += "\n";
        out += &table(&["RESULT", "EXPECTATION", "TOOK", "DETAIL"], &rows);
    }
    if !r.probes.is_empty() {
        let rows: Vec<[String; 8]> = r
            .probes
            .iter()
            .map(|p| {
                [
                    p.name.clone(),
                    p.path.clone(),
                    p.loss.sent.to_string(),
                    p.loss.lost.to_string(),
                    p.loss.windows.len().to_string(),
                    fmt_len(p.loss.longest_ns()),
                    p.loss.reordered.to_string(),
                    p.loss.duplicates.to_string(),
                ]
            })
            .collect();
        out += "\n";
        out += &table(
            &[
                "PROBE",
                "PATH",
                "SENT",
                "LOST",
                "WINDOWS",
                "LONGEST",
                "REORDERED",
                "DUPLICATES",
            ],
            &rows,
        );
    }
    out
}

/// A left-aligned text table with two-space gutters.
fn table<const N: usize>(head: &[&str; N], rows: &[[String; N]]) -> String {
    let mut width = [0usize; N];
    for (i, h) in head.iter().enumerate() {
        width[i] = h.chars().count();
    }
    for row in rows {
        for (i, c) in row.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::from(" ");
        for (i, c) in cells.iter().enumerate() {
            s.push(' ');
            s.push_str(c);
            if i + 1 < N {
                s.push_str(&" ".repeat(width[i] - c.chars().count() + 1));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(head.to_vec());
    for row in rows {
        out += &line(row.iter().map(String::as_str).collect());
    }
    out
}
