//! One self-contained HTML page for a run (or a chaos campaign): the result table, then a
//! timeline picture where every BGP session, every tunnel, the route changes and every probe
//! has one row on one time axis, with the faults (timeline actions, chaos faults) marked as
//! vertical lines across all rows.
//!
//! ```text
//!  results: expectation | outcome | detail        probes: sent, lost, longest gap
//!  t=0 ──────────────────────────────────────────────────────────────> s
//!  BGP vgw1 vpn1-t1     ███████████████░░░░░░░░░░░███████████   green Established, red not
//!  tunnel vgw1 vpn1-t1  ████████████████░░░░░░░░░████████████   green SA up, red down
//!  routes vgw1          |        |           |                   ticks: route changes
//!  probe to-vpc         ██████████████▒▒▒████████████████████   red: loss windows
//!                              ¦ cut-tunnel1      ¦ restore      faults: dashed lines
//! ```
//!
//! No script, no stylesheet or font from elsewhere: the page is XHTML-clean (every element
//! closed) so a strict parser reads it, and every mark has a `<title>` tooltip. Rows carry
//! `data-row="session|tunnel|routes|probe"` and `data-name` for tests and scrapers.
//!
//! What it does not do: interactive zoom or filtering.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::report::record::{EventSource, Outcome, RunRecord, fmt_len};

const W: f64 = 1200.0;
const LEFT: f64 = 230.0;
const RIGHT: f64 = 20.0;
const ROW: f64 = 22.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A row: state changes `(t_ns, up, label)` or ticks.
#[derive(Default)]
struct Row {
    changes: Vec<(u64, bool, String)>,
}

/// Appends one timeline row at `y` and moves `y` down.
fn row(s: &mut String, y: &mut f64, kind: &str, name: &str, body: String) {
    *s += &format!(
        "<g data-row=\"{kind}\" data-name=\"{}\">\n<text x=\"6\" y=\"{:.1}\">{}</text>\n{body}</g>\n",
        esc(name),
        *y + 14.0,
        esc(name)
    );
    *y += ROW;
}

/// Extra sections after the result table (a chaos campaign's recovery table and histogram).
#[derive(Debug, Clone)]
pub struct Section {
    /// Heading.
    pub title: String,
    /// Trusted HTML (the caller renders and escapes it).
    pub html: String,
}

/// The page.
pub fn render(r: &RunRecord, extra: &[Section]) -> String {
    let mut sessions: BTreeMap<String, Row> = BTreeMap::new();
    let mut tunnels: BTreeMap<String, Row> = BTreeMap::new();
    let mut routes: BTreeMap<String, Row> = BTreeMap::new();
    let mut faults: Vec<(u64, String)> = Vec::new();
    for e in &r.events {
        let data: Value = serde_json::from_str(&e.detail).unwrap_or(Value::Null);
        let field = |k: &str| data[k].as_str().unwrap_or("").to_string();
        match (e.source, e.kind.as_str()) {
            (EventSource::Daemon, "bgp.state" | "bgp.up" | "bgp.down") => {
                let key = format!("BGP {} {}", e.subject, field("neighbor"));
                let up = match e.kind.as_str() {
                    "bgp.up" => true,
                    "bgp.down" => false,
                    _ => field("to") == "Established",
                };
                let label = if e.kind == "bgp.state" {
                    format!("{} -> {}", field("from"), field("to"))
                } else {
                    e.kind.clone()
                };
                sessions
                    .entry(key)
                    .or_default()
                    .changes
                    .push((e.t_ns, up, label));
            }
            (EventSource::Daemon, "ipsec.child_up" | "ipsec.child_down") => {
                let key = format!("tunnel {} {}", e.subject, field("tunnel"));
                let up = e.kind == "ipsec.child_up";
                let label = if up {
                    format!("SA up {}", field("suite"))
                } else {
                    format!("SA down: {}", field("reason"))
                };
                tunnels
                    .entry(key)
                    .or_default()
                    .changes
                    .push((e.t_ns, up, label));
            }
            (EventSource::Daemon, k) if k.ends_with(".routes") || k == "bgp.kernel" => {
                routes
                    .entry(format!("routes {}", e.subject))
                    .or_default()
                    .changes
                    .push((e.t_ns, true, format!("{k} {}", e.detail)));
            }
            (EventSource::Action, _) => faults.push((e.t_ns, format!("{} {}", e.subject, e.kind))),
            (_, "chaos.fault") => faults.push((e.t_ns, e.detail.clone())),
            _ => {}
        }
    }
    let start = r.t0_ns.min(r.started_ns.max(r.t0_ns));
    let t_first = r
        .events
        .iter()
        .map(|e| e.t_ns)
        .min()
        .unwrap_or(start)
        .min(start);
    let t_end = r.ended_ns.max(t_first + 1);
    let span = (t_end - t_first) as f64;
    let plot = W - LEFT - RIGHT;
    let x = |t: u64| LEFT + plot * (t.saturating_sub(t_first)) as f64 / span;
    let rel = |t: u64| (t as f64 - r.t0_ns as f64) / 1e9;
    let n_rows = sessions.len() + tunnels.len() + routes.len() + r.probes.len();
    let h = 40.0 + ROW * n_rows as f64 + 60.0;

    let mut s = String::new();
    s += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n";
    s += &format!("<title>hybridlab: {}</title>\n", esc(&r.scenario));
    s += "<style>\nbody{font-family:sans-serif;margin:20px;color:#222}\ntable{border-collapse:collapse;margin-bottom:16px}\ntd,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left;vertical-align:top}\n.passed{color:#176317;font-weight:bold}.failed{color:#b00;font-weight:bold}.not_run{color:#888}\npre{background:#f6f6f6;padding:8px}\n</style>\n</head>\n<body>\n";
    // A chaos campaign plays no expectations: its verdict is in its own section.
    let verdict = if r.expectations.is_empty() && !extra.is_empty() {
        "chaos campaign"
    } else if r.passed() {
        "PASSED"
    } else {
        "FAILED"
    };
    s += &format!(
        "<h1>{}: {}</h1>\n<p>lab {}, file {}, {} events, run length {}</p>\n",
        esc(&r.scenario),
        verdict,
        esc(&r.lab),
        esc(&r.file),
        r.events.len(),
        fmt_len(r.ended_ns.saturating_sub(r.started_ns))
    );
    if let Some(e) = &r.error {
        s += &format!("<p class=\"failed\">error: {}</p>\n", esc(e));
    }
    if !r.expectations.is_empty() {
        s += "<h2>Expectations</h2>\n<table>\n<tr><th>expectation</th><th>check</th><th>outcome</th><th>decided</th><th>detail</th></tr>\n";
        for e in &r.expectations {
            let (class, word) = match e.outcome {
                Outcome::Passed => ("passed", "passed"),
                Outcome::Failed => ("failed", "FAILED"),
                _ => ("not_run", "not run"),
            };
            s += &format!(
                "<tr><td>{}</td><td>{}</td><td class=\"{class}\">{word}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&e.name),
                esc(&e.check),
                e.decided_ns
                    .map_or("-".into(), |t| format!("{:+.3}s", rel(t))),
                esc(&e.detail)
            );
        }
        s += "</table>\n";
    }
    s += "<h2>Probes</h2>\n<table>\n<tr><th>probe</th><th>path</th><th>rate</th><th>sent</th><th>lost</th><th>loss windows</th><th>longest gap</th></tr>\n";
    for p in &r.probes {
        s += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}/s</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&p.name),
            esc(&p.path),
            p.rate,
            p.loss.sent,
            p.loss.lost,
            p.loss.windows.len(),
            fmt_len(p.loss.longest_ns())
        );
    }
    s += "</table>\n";
    for sec in extra {
        s += &format!("<h2>{}</h2>\n{}\n", esc(&sec.title), sec.html);
    }
    s += "<h2>Timeline</h2>\n";
    s += &format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{h}\" viewBox=\"0 0 {W} {h}\" font-size=\"11\">\n<rect width=\"{W}\" height=\"{h}\" fill=\"white\" />\n"
    );
    let mut y = 30.0;
    let state_bars = |changes: &[(u64, bool, String)], y: f64| -> String {
        let mut b = String::new();
        let mut sorted = changes.to_vec();
        sorted.sort_by_key(|c| c.0);
        for (i, (t, up, label)) in sorted.iter().enumerate() {
            let end = sorted.get(i + 1).map_or(t_end, |n| n.0);
            let (x0, x1) = (x(*t), x(end));
            b += &format!(
                "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"14\" fill=\"{}\"><title>{:+.3}s {}</title></rect>\n",
                y + 3.0,
                (x1 - x0).max(0.5),
                if *up { "#4caf50" } else { "#e57373" },
                rel(*t),
                esc(label)
            );
        }
        b
    };
    for (name, r0) in &sessions {
        let yy = y;
        row(&mut s, &mut y, "session", name, state_bars(&r0.changes, yy));
    }
    for (name, r0) in &tunnels {
        let yy = y;
        row(&mut s, &mut y, "tunnel", name, state_bars(&r0.changes, yy));
    }
    for (name, r0) in &routes {
        let yy = y;
        let ticks: String = r0
            .changes
            .iter()
            .map(|(t, _, label)| {
                format!(
                    "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"#1565c0\" stroke-width=\"2\"><title>{3:+.3}s {4}</title></line>\n",
                    x(*t),
                    yy + 3.0,
                    yy + 17.0,
                    rel(*t),
                    esc(label)
                )
            })
            .collect();
        row(&mut s, &mut y, "routes", name, ticks);
    }
    for p in &r.probes {
        let yy = y;
        let mut body = format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"14\" fill=\"#4caf50\"><title>{} delivering</title></rect>\n",
            x(p.start_ns),
            yy + 3.0,
            (x(p.stop_ns) - x(p.start_ns)).max(0.5),
            esc(&p.name)
        );
        for w in &p.loss.windows {
            body += &format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"14\" fill=\"#d32f2f\"><title>{:+.3}s lost {} packets for {}</title></rect>\n",
                x(w.start_ns),
                yy + 3.0,
                (x(w.end_ns) - x(w.start_ns)).max(1.0),
                rel(w.start_ns),
                w.lost,
                fmt_len(w.duration_ns())
            );
        }
        row(&mut s, &mut y, "probe", &format!("probe {}", p.name), body);
    }
    let bottom = y + 4.0;
    for (t, label) in &faults {
        s += &format!(
            "<line x1=\"{0:.1}\" y1=\"22\" x2=\"{0:.1}\" y2=\"{bottom:.1}\" stroke=\"#ff6f00\" stroke-dasharray=\"4,3\"><title>{1:+.3}s {2}</title></line>\n",
            x(*t),
            rel(*t),
            esc(label)
        );
    }
    if faults.len() <= 40 {
        for (i, (t, label)) in faults.iter().enumerate() {
            s += &format!(
                "<text x=\"{:.1}\" y=\"{}\" fill=\"#e65100\">{}</text>\n",
                x(*t) + 2.0,
                12 + (i % 2) * 9,
                esc(&label.chars().take(28).collect::<String>())
            );
        }
    }
    // The axis, in seconds from the timeline's start.
    let axis_y = bottom + 8.0;
    s += &format!(
        "<line x1=\"{LEFT}\" y1=\"{axis_y:.1}\" x2=\"{:.1}\" y2=\"{axis_y:.1}\" stroke=\"#333\" />\n",
        W - RIGHT
    );
    for k in 0..=10 {
        let t = t_first + (span * k as f64 / 10.0) as u64;
        s += &format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{:+.1}s</text>\n",
            x(t),
            axis_y + 14.0,
            rel(t)
        );
    }
    s += "</svg>\n<p>green: session Established / SA up / probe delivering; red: down / loss window; blue ticks: route changes; orange dashed lines: faults and timeline actions (hover for details).</p>\n</body>\n</html>\n";
    s
}
