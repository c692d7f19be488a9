//! The campaign's random numbers: SplitMix64 (Steele, Lea and Flood, "Fast splittable
//! pseudorandom number generators", OOPSLA 2014), written out here so that a seed draws the
//! same faults on every build and every version of every dependency (a library generator may
//! change its stream between releases; a replay seed must not).
//!
//! Each fault draws from its own generator, seeded by the campaign seed and the fault's index,
//! so `--from-fault I` draws fault I exactly as a full campaign does without drawing 0..I first.
//!
//! What it does not do: anything cryptographic.

use std::time::Duration;

/// A SplitMix64 stream.
#[derive(Debug, Clone)]
pub struct Rng(u64);

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

impl Rng {
    /// A stream from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// Fault `index`'s own stream in the campaign of `seed`.
    pub fn for_fault(seed: u64, index: u64) -> Rng {
        let mut mix = Rng(index.wrapping_mul(GOLDEN) ^ 0x5EED);
        Rng(seed ^ mix.next_u64())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`0` when `n` is 0), by multiply-shift (Lemire): no modulo bias
    /// worth the name for the small `n` a menu has.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(hi - lo + 1)
    }

    /// One of `items`, uniformly.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }

    /// A duration uniform in `lo..=hi`, in whole milliseconds.
    pub fn duration(&mut self, lo: Duration, hi: Duration) -> Duration {
        Duration::from_millis(self.between(lo.as_millis() as u64, hi.as_millis() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_stream() {
        // The reference implementation (Vigna's splitmix64.c) from state 0.
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn a_fault_stream_depends_only_on_seed_and_index() {
        let a: Vec<u64> = (0..5).map(|i| Rng::for_fault(7, i).next_u64()).collect();
        let b: Vec<u64> = (0..5).map(|i| Rng::for_fault(7, i).next_u64()).collect();
        assert_eq!(a, b);
        assert_ne!(
            Rng::for_fault(7, 1).next_u64(),
            Rng::for_fault(8, 1).next_u64()
        );
        assert_ne!(a[0], a[1]);
    }

    #[test]
    fn below_and_between_stay_in_range() {
        let mut r = Rng::new(42);
        for _ in 0..10_000 {
            assert!(r.below(7) < 7);
            let v = r.between(3, 5);
            assert!((3..=5).contains(&v));
        }
        assert_eq!(r.below(0), 0);
        assert_eq!(r.between(9, 9), 9);
    }
}
