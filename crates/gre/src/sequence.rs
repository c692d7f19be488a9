//! The receive side of GRE sequence numbers (RFC 2890 §2.2): deliver in order, drop the rest.
//!
//! ```text
//!   last := 2^32 - 1 at tunnel set-up, so the first packet (sequence number 0) is in order
//!   packet s:  s in (last - 2^31 + 1) ..= last  (serial arithmetic)  -> out of order: drop
//!              otherwise                                             -> deliver, last := s
//! ```
//!
//! RFC 2890 lets a receiver buffer out-of-order packets for a while (OUTOFORDER_TIMER,
//! MAX_PERFLOW_BUFFER); this one drops them at once, which the RFC also allows. Packets without
//! the S bit pass unchecked ("packets without the sequence bit set can be interleaved").
//!
//! What it does not do: I/O, clocks, per-key state (a device has one key, so one check), or the
//! sender's counter (a plain wrapping `u32` starting at 0).

/// The last in-order sequence number of one flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceCheck {
    last: u32,
}

impl Default for SequenceCheck {
    fn default() -> SequenceCheck {
        SequenceCheck::new()
    }
}

impl SequenceCheck {
    /// State at tunnel set-up: the last value is 2^32 - 1 (RFC 2890 §2.2).
    pub const fn new() -> SequenceCheck {
        SequenceCheck { last: u32::MAX }
    }

    /// The sequence number of the last packet accepted.
    pub const fn last(&self) -> u32 {
        self.last
    }

    /// Whether a packet with `sequence` is in order; if so it becomes the last one.
    pub fn accept(&mut self, sequence: u32) -> bool {
        // Out of order when `sequence` lies in `last` and its 2^31 - 1 predecessors.
        if self.last.wrapping_sub(sequence) < 1 << 31 {
            return false;
        }
        self.last = sequence;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_passes_duplicates_and_late_packets_drop_and_the_counter_wraps() {
        let mut c = SequenceCheck::new();
        assert!(c.accept(0));
        assert!(c.accept(1));
        assert!(!c.accept(1), "duplicate");
        assert!(c.accept(5), "a gap is fine: loss is not reordering");
        assert!(!c.accept(3), "late");
        assert_eq!(c.last(), 5);
        let mut c = SequenceCheck { last: u32::MAX - 1 };
        assert!(c.accept(u32::MAX));
        assert!(c.accept(0), "wraps modulo 2^32");
        assert!(!c.accept(u32::MAX));
        // 2^31 ahead is still "greater"; 2^31 - 1 behind is not.
        let mut c = SequenceCheck { last: 10 };
        assert!(!c.accept(10u32.wrapping_sub((1 << 31) - 1)));
        assert!(c.accept(10 + (1 << 31)));
    }
}
