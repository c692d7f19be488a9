//! The §6.8.7 transmission jitter, from a seeded generator so that the core stays deterministic
//! (the driver seeds it randomly, tests with a constant).
//!
//! What it does not do: cryptographic randomness (nothing here needs it: jitter only keeps
//! sessions from synchronising).

use std::time::Duration;

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough to spread packets.
#[derive(Debug, Clone)]
pub(super) struct Jitter {
    state: u64,
}

impl Jitter {
    pub(super) fn new(seed: u64) -> Jitter {
        Jitter { state: seed }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `interval_us` reduced by a random 0-25 % (RFC 5880 §6.8.7), or by 10-25 % when
    /// `detect_mult` is 1 (then the interval MUST be no more than 90 % of the negotiated one).
    /// Per-mille steps.
    pub(super) fn apply(&mut self, interval_us: u32, detect_mult: u8) -> Duration {
        let min_cut = if detect_mult == 1 { 100 } else { 0 };
        let cut = min_cut + self.next() % (250 - min_cut + 1);
        Duration::from_micros(u64::from(interval_us) * (1000 - cut) / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_in_the_rfc_windows_and_varies() {
        let mut j = Jitter::new(7);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..10_000 {
            let d = j.apply(1_000_000, 3).as_micros();
            assert!((750_000..=1_000_000).contains(&d), "{d}");
            seen.insert(d);
            let d = j.apply(1_000_000, 1).as_micros();
            assert!((750_000..=900_000).contains(&d), "{d}");
        }
        assert!(seen.len() > 200, "jitter barely varies: {}", seen.len());
        assert!(
            seen.contains(&750_000) && seen.contains(&1_000_000),
            "both ends are reachable"
        );
    }

    #[test]
    fn same_seed_same_sequence() {
        let (mut a, mut b) = (Jitter::new(42), Jitter::new(42));
        for _ in 0..100 {
            assert_eq!(a.apply(300_000, 3), b.apply(300_000, 3));
        }
    }
}
