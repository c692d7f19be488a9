//! Loss windows from a probe's record: which sequence numbers were sent when, and which
//! arrived. Pure: no clock, no sockets; every probe kind (UDP stream, TCP connects, ICMP echo)
//! reduces to this record.
//!
//! ```text
//!  seq       0   1   2   3   4   5   6   7   8   9
//!  sent at   0   1   2   3   4   5   6   7   8   9    (ms, 1000 pps)
//!  arrived   x   x   x   .   .   .   x   x   .   x
//!                        |<--------->|       |<->|
//!  window 1: start 3 ms (first lost send), end 6 ms (next delivered send) = 3 ms, 3 lost
//!  window 2: start 8 ms, end 9 ms = 1 ms, 1 lost
//! ```
//!
//! A window runs from the send time of its first lost packet to the send time of the first
//! packet after it that arrived, so a silent cut of duration D at rate R gives a window of
//! D rounded to 1/R. Losses at the start (nothing arrived yet) begin at the first send; losses
//! at the end (nothing arrived since) stay `open` and end one interval after the last send.
//! Reordering counts first arrivals of a sequence number lower than one already seen;
//! duplicates count repeated arrivals; neither opens a window.
//!
//! What it does not do: send or receive (see `crate::probe`), or judge bounds (expectations do).

use serde::{Deserialize, Serialize};

/// One loss window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LossWindow {
    /// Send time of the first lost packet (CLOCK_MONOTONIC ns).
    pub start_ns: u64,
    /// Send time of the first delivered packet after the window, or one interval past the
    /// last send when nothing arrived since (`open`).
    pub end_ns: u64,
    /// First lost sequence number.
    pub first_seq: u64,
    /// Packets lost in the window.
    pub lost: u64,
    /// Still lossy when the probe stopped.
    pub open: bool,
}

impl LossWindow {
    /// The window's length.
    pub fn duration_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }
}

/// Everything a probe's record says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LossReport {
    /// Packets sent.
    pub sent: u64,
    /// Distinct packets that arrived.
    pub received: u64,
    /// Packets that never arrived.
    pub lost: u64,
    /// Repeated arrivals of a sequence number.
    pub duplicates: u64,
    /// First arrivals of a sequence number lower than the highest already seen.
    pub reordered: u64,
    /// Arrivals of sequence numbers that were never sent (corrupt or foreign packets).
    pub unknown: u64,
    /// The windows, in time order.
    pub windows: Vec<LossWindow>,
}

impl LossReport {
    /// The longest window, if any.
    pub fn longest(&self) -> Option<&LossWindow> {
        self.windows.iter().max_by_key(|w| w.duration_ns())
    }

    /// The longest window's length in ns (0 without loss).
    pub fn longest_ns(&self) -> u64 {
        self.longest().map_or(0, LossWindow::duration_ns)
    }
}

/// Computes the report. `send_ns[seq]` is the send time of sequence number `seq` (so
/// `send_ns.len()` packets were sent, in order); `arrivals` are received sequence numbers in
/// arrival order. `interval_ns` closes a window still open at the end.
pub fn analyse(send_ns: &[u64], arrivals: &[u64], interval_ns: u64) -> LossReport {
    let sent = send_ns.len() as u64;
    let mut seen = vec![false; send_ns.len()];
    let mut report = LossReport {
        sent,
        ..LossReport::default()
    };
    let mut highest: Option<u64> = None;
    for &seq in arrivals {
        let Some(slot) = usize::try_from(seq).ok().and_then(|i| seen.get_mut(i)) else {
            report.unknown += 1;
            continue;
        };
        if *slot {
            report.duplicates += 1;
            continue;
        }
        *slot = true;
        report.received += 1;
        match highest {
            Some(h) if seq < h => report.reordered += 1,
            _ => highest = Some(seq),
        }
    }
    report.lost = sent - report.received;
    let mut i = 0;
    while i < seen.len() {
        if seen[i] {
            i += 1;
            continue;
        }
        let first = i;
        while i < seen.len() && !seen[i] {
            i += 1;
        }
        let open = i == seen.len();
        let end_ns = if open {
            send_ns[seen.len() - 1].saturating_add(interval_ns)
        } else {
            send_ns[i]
        };
        report.windows.push(LossWindow {
            start_ns: send_ns[first],
            end_ns,
            first_seq: first as u64,
            lost: (i - first) as u64,
            open,
        });
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: u64 = 1_000_000;

    fn sends(n: u64) -> Vec<u64> {
        (0..n).map(|i| 1_000 * MS + i * MS).collect()
    }

    #[test]
    fn no_loss() {
        let r = analyse(&sends(5), &[0, 1, 2, 3, 4], MS);
        assert_eq!((r.sent, r.received, r.lost), (5, 5, 0));
        assert!(r.windows.is_empty());
        assert_eq!(r.longest_ns(), 0);
    }

    #[test]
    fn the_diagram_of_the_module_docs() {
        let r = analyse(&sends(10), &[0, 1, 2, 6, 7, 9], MS);
        assert_eq!(r.lost, 4);
        let w: Vec<(u64, u64, u64, bool)> = r
            .windows
            .iter()
            .map(|w| (w.duration_ns() / MS, w.first_seq, w.lost, w.open))
            .collect();
        assert_eq!(w, vec![(3, 3, 3, false), (1, 8, 1, false)]);
        assert_eq!(r.windows[0].start_ns, 1_003 * MS);
        assert_eq!(r.longest().unwrap().first_seq, 3);
    }

    #[test]
    fn loss_at_the_start_begins_at_the_first_send() {
        let r = analyse(&sends(6), &[3, 4, 5], MS);
        assert_eq!(r.windows.len(), 1);
        assert_eq!(
            (r.windows[0].start_ns, r.windows[0].end_ns),
            (1_000 * MS, 1_003 * MS)
        );
        assert!(!r.windows[0].open);
    }

    #[test]
    fn loss_at_the_end_stays_open() {
        let r = analyse(&sends(6), &[0, 1, 2], MS);
        let w = r.windows[0];
        assert!(w.open);
        assert_eq!((w.first_seq, w.lost), (3, 3));
        assert_eq!(w.end_ns, 1_005 * MS + MS);
    }

    #[test]
    fn nothing_arrived_at_all() {
        let r = analyse(&sends(4), &[], MS);
        assert_eq!(r.windows.len(), 1);
        assert!(r.windows[0].open);
        assert_eq!(r.windows[0].duration_ns(), 4 * MS);
    }

    #[test]
    fn reordering_and_duplicates_open_no_window() {
        let r = analyse(&sends(6), &[0, 2, 1, 3, 3, 5, 4, 4, 99], MS);
        assert_eq!(
            (r.received, r.lost, r.duplicates, r.reordered, r.unknown),
            (6, 0, 2, 2, 1)
        );
        assert!(r.windows.is_empty());
    }

    #[test]
    fn a_late_packet_inside_an_outage_splits_it() {
        // 3 and 6 lost, 4-5 lost too except 5 which arrived late: two windows.
        let r = analyse(&sends(8), &[0, 1, 2, 7, 5], MS);
        let w: Vec<(u64, u64)> = r.windows.iter().map(|w| (w.first_seq, w.lost)).collect();
        assert_eq!(w, vec![(3, 2), (6, 1)]);
        assert_eq!(r.reordered, 1);
    }

    #[test]
    fn nothing_sent() {
        let r = analyse(&[], &[0], MS);
        assert_eq!((r.sent, r.unknown), (0, 1));
        assert!(r.windows.is_empty());
    }

    proptest! {
        /// Lost packets are exactly the sum over windows; windows are ordered, disjoint and
        /// each starts at a lost send; received + lost = sent; never panics.
        #[test]
        fn invariants(n in 0u64..400, arrivals in proptest::collection::vec(0u64..450, 0..500)) {
            let s = sends(n);
            let r = analyse(&s, &arrivals, MS);
            prop_assert_eq!(r.received + r.lost, r.sent);
            prop_assert_eq!(r.windows.iter().map(|w| w.lost).sum::<u64>(), r.lost);
            for pair in r.windows.windows(2) {
                prop_assert!(pair[0].end_ns < pair[1].start_ns);
            }
            for w in &r.windows {
                prop_assert!(!arrivals.contains(&w.first_seq));
                prop_assert!(w.duration_ns() >= w.lost * MS);
            }
            prop_assert_eq!(r.windows.iter().filter(|w| w.open).count() <= 1, true);
        }

        /// A cut of k consecutive packets inside an otherwise clean stream (so the window closes
        /// before the stream ends) is one window of
        /// exactly k intervals.
        #[test]
        fn one_cut_measures_its_length(n in 20u64..300, start in 1u64..9, k in 1u64..9) {
            let s = sends(n);
            let arrivals: Vec<u64> = (0..n).filter(|i| !(start..start + k).contains(i)).collect();
            let r = analyse(&s, &arrivals, MS);
            prop_assert_eq!(r.windows.len(), 1);
            prop_assert_eq!(r.windows[0].duration_ns(), k * MS);
        }
    }
}
