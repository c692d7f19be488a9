//! The receiver's anti-replay window (RFC 4303 §3.4.3 and Appendix A2), as a bitmap.
//!
//! ```text
//!            window of W sequence numbers (32..=2048 here)
//!        |<------------------------------------------------>|
//!  ------+--------------------------------------------------+------------> sequence number
//!   too  | bit per number: 1 = already received             | top = highest   > top: new,
//!   old  | (seq <= top - W is "too old", dropped)           |  authenticated    always allowed
//! ```
//!
//! The bitmap is a ring of 64-bit words (the way RFC 6479 and WireGuard's counter validator do
//! it), so moving the window forward clears only the words it passes instead of shifting the whole
//! map. One word more than `W` needs is kept so the oldest number still inside the window never
//! shares a word with a number the window has just cleared.
//!
//! Use it as §3.4.3 says: [`ReplayWindow::check`] before the integrity check (a cheap early drop),
//! [`ReplayWindow::accept`] only after the ICV verified, so forged packets never move the window.
//!
//! What it does not do: Extended Sequence Numbers (we never negotiate ESN), or counting drops
//! (the SA does).

use super::EspError;

/// Smallest window: RFC 4303 §3.4.3 requires a receiver to support a window of at least 32
/// packets (with 32-bit sequence numbers).
pub const MIN_WINDOW: u32 = 32;
/// Largest window this bitmap holds (a gateway's own range may be narrower).
pub const MAX_WINDOW: u32 = 2048;
/// The window RFC 4303 §3.4.3 recommends as the default (SHOULD).
pub const DEFAULT_WINDOW: u32 = 64;

const WORD_BITS: u64 = 64;
const MAX_WORDS: usize = (MAX_WINDOW as usize).div_ceil(WORD_BITS as usize) + 1;

/// Why a sequence number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayVerdict {
    /// Sequence number 0 is never sent (the first packet carries 1, RFC 4303 §3.3.3).
    Zero,
    /// Below the window's left edge.
    TooOld,
    /// Already received.
    Duplicate,
}

/// A sliding anti-replay window of `size` sequence numbers.
#[derive(Debug, Clone)]
pub struct ReplayWindow {
    size: u64,
    words: usize,
    top: u64,
    bitmap: [u64; MAX_WORDS],
}

impl ReplayWindow {
    /// A window of `size` numbers, `MIN_WINDOW..=MAX_WINDOW`.
    pub fn new(size: u32) -> Result<ReplayWindow, EspError> {
        if !(MIN_WINDOW..=MAX_WINDOW).contains(&size) {
            return Err(EspError::ReplayWindowSize { size });
        }
        Ok(ReplayWindow {
            size: u64::from(size),
            words: (size as usize).div_ceil(WORD_BITS as usize) + 1,
            top: 0,
            bitmap: [0; MAX_WORDS],
        })
    }

    /// The window size.
    pub fn size(&self) -> u32 {
        self.size as u32
    }

    /// The highest sequence number accepted so far (0 before the first).
    pub fn top(&self) -> u32 {
        self.top as u32
    }

    fn slot(&self, seq: u64) -> (usize, u64) {
        (
            ((seq / WORD_BITS) % self.words as u64) as usize,
            1u64 << (seq % WORD_BITS),
        )
    }

    /// Would `seq` be accepted? Does not change the window.
    pub fn check(&self, seq: u32) -> Result<(), ReplayVerdict> {
        let seq = u64::from(seq);
        if seq == 0 {
            return Err(ReplayVerdict::Zero);
        }
        if seq > self.top {
            return Ok(());
        }
        if self.top - seq >= self.size {
            return Err(ReplayVerdict::TooOld);
        }
        let (word, bit) = self.slot(seq);
        if self.bitmap[word] & bit != 0 {
            return Err(ReplayVerdict::Duplicate);
        }
        Ok(())
    }

    /// Records `seq` as received (call after the ICV verified). Checks again, so a caller that
    /// skipped [`ReplayWindow::check`] still cannot accept a replay.
    pub fn accept(&mut self, seq: u32) -> Result<(), ReplayVerdict> {
        self.check(seq)?;
        let seq = u64::from(seq);
        if seq > self.top {
            let current = self.top / WORD_BITS;
            let new = seq / WORD_BITS;
            let to_clear = (new - current).min(self.words as u64);
            for i in 1..=to_clear {
                let word = ((current + i) % self.words as u64) as usize;
                self.bitmap[word] = 0;
            }
            self.top = seq;
        }
        let (word, bit) = self.slot(seq);
        self.bitmap[word] |= bit;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_outside_the_supported_range_are_refused() {
        assert_eq!(
            ReplayWindow::new(31).unwrap_err(),
            EspError::ReplayWindowSize { size: 31 }
        );
        assert!(ReplayWindow::new(32).is_ok());
        assert!(ReplayWindow::new(2049).is_err());
        assert!(ReplayWindow::new(64).is_ok());
        assert!(ReplayWindow::new(100).is_ok());
        assert_eq!(ReplayWindow::new(2048).unwrap().size(), 2048);
    }

    #[test]
    fn zero_duplicates_and_old_numbers_are_refused() {
        let mut w = ReplayWindow::new(64).unwrap();
        assert_eq!(w.check(0), Err(ReplayVerdict::Zero));
        w.accept(1).unwrap();
        assert_eq!(w.check(1), Err(ReplayVerdict::Duplicate));
        assert_eq!(w.accept(1), Err(ReplayVerdict::Duplicate));
        w.accept(100).unwrap();
        // The window is 37..=100.
        assert_eq!(w.check(36), Err(ReplayVerdict::TooOld));
        assert_eq!(w.check(37), Ok(()));
        w.accept(37).unwrap();
        assert_eq!(w.check(37), Err(ReplayVerdict::Duplicate));
        // Out of order inside the window is fine, once.
        w.accept(99).unwrap();
        w.accept(50).unwrap();
        assert_eq!(w.check(50), Err(ReplayVerdict::Duplicate));
        assert_eq!(w.top(), 100);
    }

    #[test]
    fn window_edge_for_every_allowed_size() {
        for size in [64u32, 65, 127, 128, 1000, 1024, 2047, 2048] {
            let mut w = ReplayWindow::new(size).unwrap();
            let top = 10_000u32;
            w.accept(top).unwrap();
            assert_eq!(
                w.check(top - size),
                Err(ReplayVerdict::TooOld),
                "size {size}"
            );
            assert_eq!(w.check(top - size + 1), Ok(()), "size {size}");
            // Every number in the window is still unseen, and each can be taken once.
            for seq in top - size + 1..top {
                assert_eq!(w.accept(seq), Ok(()), "size {size} seq {seq}");
            }
            for seq in top - size + 1..=top {
                assert_eq!(
                    w.check(seq),
                    Err(ReplayVerdict::Duplicate),
                    "size {size} seq {seq}"
                );
            }
        }
    }

    #[test]
    fn a_big_jump_forgets_everything_behind_it() {
        let mut w = ReplayWindow::new(1024).unwrap();
        for seq in 1..=3000 {
            w.accept(seq).unwrap();
        }
        w.accept(1_000_000).unwrap();
        assert_eq!(w.check(999_999), Ok(()));
        assert_eq!(w.check(1_000_000 - 1023), Ok(()));
        assert_eq!(w.check(1_000_000 - 1024), Err(ReplayVerdict::TooOld));
    }

    #[test]
    fn the_last_sequence_number_is_handled_without_wrapping() {
        let mut w = ReplayWindow::new(64).unwrap();
        w.accept(u32::MAX - 1).unwrap();
        w.accept(u32::MAX).unwrap();
        assert_eq!(w.check(u32::MAX), Err(ReplayVerdict::Duplicate));
        assert_eq!(w.check(1), Err(ReplayVerdict::TooOld));
        assert_eq!(w.top(), u32::MAX);
    }

    /// A reference model: the set of accepted numbers, with the RFC's rule spelled out.
    fn model_verdict(
        seen: &std::collections::BTreeSet<u32>,
        size: u32,
        seq: u32,
    ) -> Result<(), ReplayVerdict> {
        let top = seen.iter().next_back().copied().unwrap_or(0);
        if seq == 0 {
            Err(ReplayVerdict::Zero)
        } else if seq > top {
            Ok(())
        } else if top - seq >= size {
            Err(ReplayVerdict::TooOld)
        } else if seen.contains(&seq) {
            Err(ReplayVerdict::Duplicate)
        } else {
            Ok(())
        }
    }

    proptest::proptest! {
        /// The bitmap agrees with the set-based model on every step of any sequence of arrivals
        /// (jumps forward, replays, late packets around the edge).
        #[test]
        fn agrees_with_a_set_model(
            size in MIN_WINDOW..=MAX_WINDOW,
            steps in proptest::collection::vec((0u32..3, 0u32..5000), 1..400),
        ) {
            let mut w = ReplayWindow::new(size).unwrap();
            let mut seen = std::collections::BTreeSet::new();
            let mut top = 0u32;
            for (kind, delta) in steps {
                let seq = match kind {
                    0 => top.saturating_add(delta % 300),
                    1 => top.saturating_sub(delta),
                    _ => top.saturating_add(delta),
                };
                let expected = model_verdict(&seen, size, seq);
                proptest::prop_assert_eq!(w.check(seq), expected, "seq {} top {}", seq, top);
                proptest::prop_assert_eq!(w.accept(seq), expected);
                if expected.is_ok() {
                    seen.insert(seq);
                    top = top.max(seq);
                }
            }
        }
    }
}
