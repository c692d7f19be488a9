//! JUnit XML for CI: one `<testsuite>` per run, one `<testcase>` per expectation; a failed
//! expectation is a `<failure>`, one that never ran is `<skipped>`, and an engine error is an
//! extra `<testcase name="run">` with an `<error>`.
//!
//! What it does not do: embed logs (the JSON report has the whole timeline).

use crate::report::record::{Outcome, RunRecord};

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // XML 1.0 forbids most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => o.push('?'),
            c => o.push(c),
        }
    }
    o
}

/// Renders the JUnit document.
pub fn render(r: &RunRecord) -> String {
    let failures = r
        .expectations
        .iter()
        .filter(|e| e.outcome == Outcome::Failed)
        .count();
    let skipped = r
        .expectations
        .iter()
        .filter(|e| e.outcome == Outcome::NotRun)
        .count();
    let errors = usize::from(r.error.is_some());
    let tests = r.expectations.len() + errors;
    let total_s = r.ended_ns.saturating_sub(r.started_ns) as f64 / 1e9;
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x += &format!(
        "<testsuites name=\"hybridlab\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{total_s:.3}\">\n"
    );
    x += &format!(
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{total_s:.3}\">\n",
        esc(&r.scenario)
    );
    x += &format!(
        "    <properties>\n      <property name=\"file\" value=\"{}\"/>\n      <property name=\"lab\" value=\"{}\"/>\n    </properties>\n",
        esc(&r.file),
        esc(&r.lab)
    );
    for e in &r.expectations {
        let time = e.took_ns().unwrap_or(0) as f64 / 1e9;
        x += &format!(
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{time:.3}\"",
            esc(&r.scenario),
            esc(&e.name)
        );
        match e.outcome {
            Outcome::Passed => x += "/>\n",
            Outcome::Failed => {
                x += &format!(
                    ">\n      <failure message=\"{}\" type=\"expectation\">{}: {}</failure>\n    </testcase>\n",
                    esc(&e.detail),
                    esc(&e.check),
                    esc(&e.detail)
                );
            }
            Outcome::NotRun => {
                x += &format!(
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                    esc(if e.detail.is_empty() {
                        "not checked: the run ended first"
                    } else {
                        &e.detail
                    })
                );
            }
        }
    }
    if let Some(err) = &r.error {
        x += &format!(
            "    <testcase classname=\"{}\" name=\"run\" time=\"{total_s:.3}\">\n      <error message=\"{}\" type=\"engine\"/>\n    </testcase>\n",
            esc(&r.scenario),
            esc(err)
        );
    }
    x += "  </testsuite>\n</testsuites>\n";
    x
}
