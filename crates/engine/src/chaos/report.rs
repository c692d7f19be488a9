//! A campaign's results: every fault with its recovery time and probe outages, the violations
//! with their replay commands, the recovery-time distribution per fault kind as a text table
//! and as an SVG histogram.
//!
//! ```text
//!  kind         faults  recovered  min     median  p95     max
//!  tunnel_cut       12         12  1.2s    3.1s    5.0s    5.2s
//! ```
//!
//! What it does not do: run anything, or render the per-event timeline (`crate::report::html`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::chaos::menu::FaultKind;

/// One fault as it went.
#[derive(Debug, Clone, Serialize)]
pub struct FaultRecord {
    /// Its index (replay handle).
    pub index: u64,
    /// Its kind.
    pub kind: FaultKind,
    /// What it hit.
    pub target: String,
    /// One line.
    pub description: String,
    /// Injected, seconds after the campaign's start.
    pub start_s: f64,
    /// Repaired, seconds after the campaign's start.
    pub repaired_s: f64,
    /// From the repair to the baseline, seconds; `None`: not within the bound.
    pub recovery_s: Option<f64>,
    /// The recovery bound, seconds.
    pub recovery_bound_s: f64,
    /// The longest loss window per probe between injection and recovery, seconds.
    pub outage_s: BTreeMap<String, f64>,
    /// The outage bound, seconds (`None`: the fault left no path).
    pub outage_bound_s: Option<f64>,
}

/// A broken invariant.
#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    /// The fault during or after which it broke (`None`: before the first or at the end).
    pub fault: Option<u64>,
    /// Which invariant: `blackhole`, `baseline`, `daemon_died`, `leftover`.
    pub invariant: String,
    /// What was seen.
    pub detail: String,
    /// One command that replays it.
    pub replay: String,
}

/// The whole campaign.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CampaignReport {
    /// Scenario name.
    pub scenario: String,
    /// Lab name.
    pub lab: String,
    /// The seed.
    pub seed: u64,
    /// `fast` or `aws`.
    pub profile: String,
    /// First fault index.
    pub from_fault: u64,
    /// Faults at once.
    pub overlap: u32,
    /// Kinds on the menu.
    pub kinds: Vec<FaultKind>,
    /// The baseline: what "healthy" meant.
    pub baseline: Vec<String>,
    /// The faults, in order.
    pub faults: Vec<FaultRecord>,
    /// What broke.
    pub violations: Vec<Violation>,
    /// Why the campaign stopped before its end, if it did.
    pub stopped: Option<String>,
    /// Wall-clock length, seconds.
    pub duration_s: f64,
}

/// Recovery statistics of one kind.
#[derive(Debug, Clone, Serialize)]
pub struct KindStats {
    /// The kind.
    pub kind: FaultKind,
    /// Faults drawn.
    pub faults: usize,
    /// Faults after which the lab returned to its baseline.
    pub recovered: usize,
    /// Seconds.
    pub min_s: f64,
    /// Seconds.
    pub median_s: f64,
    /// Seconds.
    pub p95_s: f64,
    /// Seconds.
    pub max_s: f64,
}

/// The `p`-th percentile (nearest rank) of sorted `v`.
fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

impl CampaignReport {
    /// Recovery statistics per kind, in menu order.
    pub fn stats(&self) -> Vec<KindStats> {
        let mut by: BTreeMap<FaultKind, (usize, Vec<f64>)> = BTreeMap::new();
        for f in &self.faults {
            let e = by.entry(f.kind).or_default();
            e.0 += 1;
            if let Some(r) = f.recovery_s {
                e.1.push(r);
            }
        }
        by.into_iter()
            .map(|(kind, (faults, mut v))| {
                v.sort_by(f64::total_cmp);
                KindStats {
                    kind,
                    faults,
                    recovered: v.len(),
                    min_s: v.first().copied().unwrap_or(0.0),
                    median_s: percentile(&v, 50.0),
                    p95_s: percentile(&v, 95.0),
                    max_s: v.last().copied().unwrap_or(0.0),
                }
            })
            .collect()
    }

    /// The summary a person reads: the recovery table, then every violation with its replay.
    pub fn table(&self) -> String {
        let mut s = format!(
            "chaos {}: seed {}, profile {}, {} faults in {:.0}s, {} violation(s)\n\n",
            self.scenario,
            self.seed,
            self.profile,
            self.faults.len(),
            self.duration_s,
            self.violations.len()
        );
        s += "recovery time (repair -> baseline) per fault kind\n";
        s += &format!(
            "  {:<12} {:>6} {:>9} {:>8} {:>8} {:>8} {:>8}\n",
            "kind", "faults", "recovered", "min", "median", "p95", "max"
        );
        for k in self.stats() {
            s += &format!(
                "  {:<12} {:>6} {:>9} {:>7.2}s {:>7.2}s {:>7.2}s {:>7.2}s\n",
                k.kind.name(),
                k.faults,
                k.recovered,
                k.min_s,
                k.median_s,
                k.p95_s,
                k.max_s
            );
        }
        if let Some(why) = &self.stopped {
            s += &format!("\nstopped early: {why}\n");
        }
        if self.violations.is_empty() {
            s += "\nno violation\n";
        } else {
            s += "\nviolations:\n";
            for v in &self.violations {
                let at = v.fault.map_or("-".to_string(), |i| format!("#{i}"));
                s += &format!(
                    "  fault {at} seed {}: {}: {}\n    replay: {}\n",
                    self.seed, v.invariant, v.detail, v.replay
                );
            }
        }
        s
    }

    /// The recovery-time histogram: one row of bars per fault kind over shared bins.
    pub fn histogram_svg(&self) -> String {
        const W: f64 = 900.0;
        const LEFT: f64 = 110.0;
        const RIGHT: f64 = 20.0;
        const ROW: f64 = 70.0;
        const BINS: usize = 30;
        let stats = self.stats();
        let max = self
            .faults
            .iter()
            .filter_map(|f| f.recovery_s)
            .fold(0.0f64, f64::max)
            .max(0.001);
        let bin_w = max / BINS as f64 * 1.0001;
        let plot_w = W - LEFT - RIGHT;
        let h = 60.0 + ROW * stats.len().max(1) as f64 + 40.0;
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{h}\" viewBox=\"0 0 {W} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{}: recovery time per fault kind (seed {}, {} faults, {} violations)</text>\n",
            esc(&self.scenario),
            self.seed,
            self.faults.len(),
            self.violations.len()
        );
        for (row, k) in stats.iter().enumerate() {
            let base = 50.0 + ROW * (row as f64 + 1.0);
            let mut bins = [0usize; BINS];
            for f in self.faults.iter().filter(|f| f.kind == k.kind) {
                if let Some(r) = f.recovery_s {
                    bins[((r / bin_w) as usize).min(BINS - 1)] += 1;
                }
            }
            let top = bins.iter().copied().max().unwrap_or(1).max(1) as f64;
            s += &format!(
                "<text x=\"10\" y=\"{:.1}\">{}</text>\n<text x=\"10\" y=\"{:.1}\" fill=\"#555\" font-size=\"10\">n={} med {:.2}s</text>\n",
                base - 20.0,
                k.kind.name(),
                base - 6.0,
                k.faults,
                k.median_s
            );
            s += &format!(
                "<line x1=\"{LEFT}\" y1=\"{base}\" x2=\"{:.1}\" y2=\"{base}\" stroke=\"#999\"/>\n",
                W - RIGHT
            );
            for (i, n) in bins.iter().enumerate().filter(|(_, n)| **n > 0) {
                let bh = (ROW - 16.0) * (*n as f64) / top;
                let x = LEFT + plot_w * i as f64 / BINS as f64;
                s += &format!(
                    "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"#4a7\"><title>{} faults recovered in {:.2}-{:.2}s</title></rect>\n",
                    base - bh,
                    plot_w / BINS as f64 - 1.0,
                    n,
                    i as f64 * bin_w,
                    (i + 1) as f64 * bin_w
                );
            }
        }
        let axis = 50.0 + ROW * stats.len().max(1) as f64 + 18.0;
        for t in 0..=5 {
            let x = LEFT + plot_w * t as f64 / 5.0;
            s += &format!(
                "<text x=\"{x:.1}\" y=\"{axis:.1}\" text-anchor=\"middle\">{:.1}s</text>\n",
                max * t as f64 / 5.0
            );
        }
        s += "</svg>\n";
        s
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: u64, kind: FaultKind, r: Option<f64>) -> FaultRecord {
        FaultRecord {
            index: i,
            kind,
            target: "t".into(),
            description: String::new(),
            start_s: 0.0,
            repaired_s: 0.0,
            recovery_s: r,
            recovery_bound_s: 20.0,
            outage_s: BTreeMap::new(),
            outage_bound_s: None,
        }
    }

    #[test]
    fn stats_per_kind_use_nearest_rank() {
        let mut r = CampaignReport::default();
        for i in 1..=20 {
            r.faults
                .push(rec(i, FaultKind::TunnelCut, Some(i as f64 / 10.0)));
        }
        r.faults.push(rec(21, FaultKind::Kill, None));
        let s = r.stats();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].kind, FaultKind::TunnelCut);
        assert_eq!((s[0].faults, s[0].recovered), (20, 20));
        assert_eq!(s[0].min_s, 0.1);
        assert_eq!(s[0].median_s, 1.0);
        assert_eq!(s[0].p95_s, 1.9);
        assert_eq!(s[0].max_s, 2.0);
        assert_eq!((s[1].faults, s[1].recovered), (1, 0));
        assert!(r.table().contains("tunnel_cut"));
        let svg = r.histogram_svg();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(
            svg.matches("<rect").count() - 1,
            20,
            "one bar per value (20 values, each in its own bin)"
        );
    }
}
