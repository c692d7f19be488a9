//! The timeline picture: a time axis relative to the timeline start, one lane per probe with
//! its loss windows shaded and labelled with their length, the actions as dashed markers with
//! labels, daemon events as ticks, and the expectations' verdicts as numbered marks with a
//! legend below.
//!
//! ```text
//!   two-sites: PASSED (6/6)
//!              cut-wan          restore-wan
//!               :                 :
//!   udp   ======[#### 2.001s ####]=========     green: delivering, red: loss window
//!   tcp   ======[#### 2.050s ####]=========
//!   daemon   |  |        |                      ticks: daemon events
//!   expect  (1)(2)      (3)(4)         (6)
//!         |----+----+----+----+----+----+--> s
//! ```
//!
//! Plain SVG 1.1 with no scripts or external fonts, so it renders the same in browsers,
//! `rsvg-convert` and CI artefact viewers; every mark has a `<title>` tooltip.
//!
//! What it does not do: interactive zoom.

use crate::report::record::{EventSource, Outcome, RunRecord, fmt_len, fmt_rel};

const W: f64 = 1100.0;
const LEFT: f64 = 130.0;
const RIGHT: f64 = 30.0;
const LANE_H: f64 = 34.0;
const ROW_H: f64 = 15.0;
const CHAR_W: f64 = 6.6;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Places labels in rows so none overlaps another: returns the row of each `(x, width)`.
fn stagger(items: &[(f64, f64)]) -> Vec<usize> {
    let mut row_ends: Vec<f64> = Vec::new();
    items
        .iter()
        .map(|&(x, w)| {
            let start = x - w / 2.0;
            match row_ends.iter().position(|&end| start > end + 4.0) {
                Some(r) => {
                    row_ends[r] = x + w / 2.0;
                    r
                }
                None => {
                    row_ends.push(x + w / 2.0);
                    row_ends.len() - 1
                }
            }
        })
        .collect()
}

/// A "nice" tick step for a span of `span` seconds (~10 ticks).
fn tick_step(span: f64) -> f64 {
    let raw = span / 10.0;
    let mag = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if raw <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

/// Renders the picture.
pub fn render(r: &RunRecord) -> String {
    // Time range: from the first thing shown (at most 0) to the last.
    let mut tmin: f64 = 0.0;
    let mut tmax: f64 = r.rel_s(r.ended_ns).max(0.5);
    for e in &r.events {
        if e.source != EventSource::Engine {
            tmin = tmin.min(r.rel_s(e.t_ns));
        }
        tmax = tmax.max(r.rel_s(e.t_ns));
    }
    for p in &r.probes {
        tmin = tmin.min(r.rel_s(p.start_ns));
        tmax = tmax.max(r.rel_s(p.stop_ns));
        for w in &p.loss.windows {
            tmin = tmin.min(r.rel_s(w.start_ns));
            tmax = tmax.max(r.rel_s(w.end_ns));
        }
    }
    let span = (tmax - tmin).max(0.001);
    let plot_w = W - LEFT - RIGHT;
    let x = |t: f64| LEFT + (t - tmin) / span * plot_w;

    let actions: Vec<_> = r
        .events
        .iter()
        .filter(|e| e.source == EventSource::Action)
        .collect();
    let daemon: Vec<_> = r
        .events
        .iter()
        .filter(|e| e.source == EventSource::Daemon)
        .collect();
    let labels: Vec<(f64, f64)> = actions
        .iter()
        .map(|e| {
            (
                x(r.rel_s(e.t_ns)),
                e.subject.chars().count() as f64 * CHAR_W,
            )
        })
        .collect();
    let rows = stagger(&labels);
    let label_rows = rows.iter().max().map_or(0, |m| m + 1);

    let title_h = 56.0;
    let top = title_h + label_rows as f64 * ROW_H + 8.0;
    let lanes = r.probes.len() + usize::from(!daemon.is_empty()) + 1;
    let bottom = top + lanes as f64 * LANE_H;
    let axis_y = bottom + 6.0;
    let legend_top = axis_y + 40.0;
    let h = legend_top + r.expectations.len() as f64 * 17.0 + 16.0;

    let mut s = String::new();
    s += &format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{h:.0}\" viewBox=\"0 0 {W} {h:.0}\" font-family=\"DejaVu Sans, Verdana, sans-serif\" font-size=\"12\">\n"
    );
    s += &format!("<rect width=\"{W}\" height=\"{h:.0}\" fill=\"#ffffff\"/>\n");
    let total = r.expectations.len();
    let passed = r
        .expectations
        .iter()
        .filter(|e| e.outcome == Outcome::Passed)
        .count();
    let (verdict, colour) = if r.passed() {
        ("PASSED", "#1a7f37")
    } else {
        ("FAILED", "#cf222e")
    };
    s += &format!(
        "<text x=\"16\" y=\"24\" font-size=\"17\" font-weight=\"bold\">{} <tspan fill=\"{colour}\">{verdict}</tspan> <tspan font-size=\"13\" font-weight=\"normal\" fill=\"#57606a\">({passed}/{total} expectations)</tspan></text>\n",
        esc(&r.scenario)
    );
    s += &format!(
        "<text x=\"16\" y=\"43\" fill=\"#57606a\">{} · lab {} · time 0 = timeline start{}</text>\n",
        esc(&r.file),
        esc(&r.lab),
        r.error
            .as_ref()
            .map(|e| format!(" · error: {}", esc(e)))
            .unwrap_or_default()
    );

    // Grid and axis.
    let step = tick_step(span);
    let mut t = (tmin / step).ceil() * step;
    while t <= tmax + 1e-9 {
        let xx = x(t);
        s += &format!(
            "<line x1=\"{xx:.1}\" y1=\"{top:.1}\" x2=\"{xx:.1}\" y2=\"{bottom:.1}\" stroke=\"#eaeef2\"/>\n"
        );
        s += &format!(
            "<line x1=\"{xx:.1}\" y1=\"{axis_y:.1}\" x2=\"{xx:.1}\" y2=\"{:.1}\" stroke=\"#57606a\"/>\n",
            axis_y + 5.0
        );
        // Round away float noise such as -0.0.
        let t_shown = if t.abs() < step / 1000.0 { 0.0 } else { t };
        let label = if step < 1.0 {
            format!("{t_shown:.1}")
        } else {
            format!("{t_shown:.0}")
        };
        s += &format!(
            "<text x=\"{xx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#57606a\">{label}</text>\n",
            axis_y + 18.0
        );
        t += step;
    }
    s += &format!(
        "<line x1=\"{LEFT}\" y1=\"{axis_y:.1}\" x2=\"{:.1}\" y2=\"{axis_y:.1}\" stroke=\"#57606a\"/>\n",
        W - RIGHT
    );
    s += &format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#57606a\">seconds</text>\n",
        W - RIGHT,
        axis_y + 32.0
    );

    // Lanes.
    let mut lane_y = top;
    for p in &r.probes {
        let mid = lane_y + LANE_H / 2.0;
        s += &format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-weight=\"bold\">{}</text>\n<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"10\" fill=\"#57606a\">{} {}/s</text>\n",
            LEFT - 8.0,
            mid - 1.0,
            esc(&p.name),
            LEFT - 8.0,
            mid + 11.0,
            esc(&p.kind),
            p.rate
        );
        let (b0, b1) = (
            x(r.rel_s(p.start_ns)).max(LEFT),
            x(r.rel_s(p.stop_ns)).min(W - RIGHT),
        );
        s += &format!(
            "<rect x=\"{b0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"10\" fill=\"#2da44e\" opacity=\"0.85\"><title>{}: {} sent, {} lost</title></rect>\n",
            mid - 2.0,
            (b1 - b0).max(1.0),
            esc(&p.path),
            p.loss.sent,
            p.loss.lost
        );
        for w in &p.loss.windows {
            let (x0, x1) = (x(r.rel_s(w.start_ns)), x(r.rel_s(w.end_ns)));
            let ww = (x1 - x0).max(1.5);
            let len = fmt_len(w.duration_ns());
            s += &format!(
                "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{ww:.1}\" height=\"16\" fill=\"#cf222e\"><title>{}: loss {} from {} ({} packets{})</title></rect>\n",
                mid - 5.0,
                esc(&p.name),
                len,
                fmt_rel(r.rel_s(w.start_ns)),
                w.lost,
                if w.open {
                    ", still open at the end"
                } else {
                    ""
                }
            );
            s += &format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#cf222e\">{len}</text>\n",
                x0 + ww / 2.0,
                mid - 8.0
            );
        }
        lane_y += LANE_H;
    }
    if !daemon.is_empty() {
        let mid = lane_y + LANE_H / 2.0;
        s += &format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-weight=\"bold\">daemons</text>\n",
            LEFT - 8.0,
            mid + 4.0
        );
        for e in &daemon {
            let xx = x(r.rel_s(e.t_ns));
            s += &format!(
                "<line x1=\"{xx:.1}\" y1=\"{:.1}\" x2=\"{xx:.1}\" y2=\"{:.1}\" stroke=\"#8250df\" stroke-width=\"2\"><title>{} {} {}: {}</title></line>\n",
                mid - 8.0,
                mid + 8.0,
                fmt_rel(r.rel_s(e.t_ns)),
                esc(&e.subject),
                esc(&e.kind),
                esc(&e.detail)
            );
        }
        lane_y += LANE_H;
    }
    // Expectations lane.
    let mid = lane_y + LANE_H / 2.0;
    s += &format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-weight=\"bold\">expectations</text>\n",
        LEFT - 8.0,
        mid + 4.0
    );
    let marks: Vec<(f64, f64)> = r
        .expectations
        .iter()
        .map(|e| (x(e.decided_ns.map_or(tmax, |t| r.rel_s(t))), 18.0))
        .collect();
    let mark_rows = stagger(&marks);
    for (i, e) in r.expectations.iter().enumerate() {
        let (xx, _) = marks[i];
        let yy = mid - 6.0 + (mark_rows[i] % 2) as f64 * 12.0;
        let fill = match e.outcome {
            Outcome::Passed => "#1a7f37",
            Outcome::Failed => "#cf222e",
            Outcome::NotRun => "#8c959f",
        };
        s += &format!(
            "<g><title>{}. {} — {}</title><circle cx=\"{xx:.1}\" cy=\"{yy:.1}\" r=\"7\" fill=\"{fill}\"/><text x=\"{xx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"9\" fill=\"#ffffff\">{}</text></g>\n",
            i + 1,
            esc(&e.name),
            esc(&e.detail),
            yy + 3.0,
            i + 1
        );
    }
    // Actions over everything: dashed markers and staggered labels.
    for (i, e) in actions.iter().enumerate() {
        let xx = x(r.rel_s(e.t_ns));
        let ly = title_h + rows[i] as f64 * ROW_H + 10.0;
        s += &format!(
            "<line x1=\"{xx:.1}\" y1=\"{:.1}\" x2=\"{xx:.1}\" y2=\"{bottom:.1}\" stroke=\"#0969da\" stroke-dasharray=\"4 3\"/>\n",
            ly + 3.0
        );
        s += &format!(
            "<text x=\"{xx:.1}\" y=\"{ly:.1}\" text-anchor=\"middle\" fill=\"#0969da\"><title>{} {}: {}</title>{}</text>\n",
            fmt_rel(r.rel_s(e.t_ns)),
            esc(&e.kind),
            esc(&e.detail),
            esc(&e.subject)
        );
    }
    // Legend.
    for (i, e) in r.expectations.iter().enumerate() {
        let y = legend_top + i as f64 * 17.0;
        let (fill, word) = match e.outcome {
            Outcome::Passed => ("#1a7f37", "pass"),
            Outcome::Failed => ("#cf222e", "FAIL"),
            Outcome::NotRun => ("#8c959f", "not run"),
        };
        let took = e
            .took_ns()
            .map(|t| format!(" (took {})", fmt_len(t)))
            .unwrap_or_default();
        s += &format!(
            "<circle cx=\"24\" cy=\"{:.1}\" r=\"7\" fill=\"{fill}\"/><text x=\"24\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"9\" fill=\"#ffffff\">{}</text><text x=\"38\" y=\"{y:.1}\"><tspan fill=\"{fill}\" font-weight=\"bold\">{word}</tspan> {}{took} <tspan fill=\"#57606a\">— {}</tspan></text>\n",
            y - 4.0,
            y - 1.0,
            i + 1,
            esc(&e.name),
            esc(&e.detail)
        );
    }
    s += "</svg>\n";
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_never_overlap_in_a_row() {
        let rows = stagger(&[(100.0, 60.0), (120.0, 60.0), (200.0, 20.0), (125.0, 10.0)]);
        assert_eq!(rows, vec![0, 1, 0, 2]);
    }

    #[test]
    fn tick_steps_are_round() {
        assert_eq!(tick_step(7.0), 1.0);
        assert_eq!(tick_step(30.0), 5.0);
        assert!((tick_step(0.9) - 0.1).abs() < 1e-12);
    }
}
