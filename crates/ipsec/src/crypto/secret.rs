//! Key material that cleans up after itself.
//!
//! [`SecretBytes`] holds derived keys, shared secrets and pre-shared keys: it is zeroized on drop,
//! and its `Debug` prints `***` so a key can never reach a log line or `show` output by accident.
//!
//! What it does not do: lock memory against swapping, or protect copies a caller makes with
//! [`SecretBytes::expose`].

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Secret octets, zeroized on drop, never printed.
#[derive(Clone, Default, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of `bytes` (the caller's vector is moved, not copied).
    pub fn new(bytes: Vec<u8>) -> SecretBytes {
        SecretBytes(bytes)
    }

    /// Copies `bytes`.
    pub fn from_slice(bytes: &[u8]) -> SecretBytes {
        SecretBytes(bytes.to_vec())
    }

    /// A buffer of `len` zero octets to fill in place.
    pub fn zeroed(len: usize) -> SecretBytes {
        SecretBytes(vec![0; len])
    }

    /// The secret octets, for handing to a cipher or PRF. Keep the borrow short.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Mutable access for filling in place.
    pub fn expose_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Octets held.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty (an AEAD suite's absent integrity key, for example).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Splits off the first `at` octets into a new secret; `self` keeps the rest.
    /// Panics if `at > len()`, like `Vec::split_off` (callers derive `at` from suite lengths).
    pub fn take_front(&mut self, at: usize) -> SecretBytes {
        let rest = self.0.split_off(at);
        let front = std::mem::replace(&mut self.0, rest);
        SecretBytes(front)
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "***({} octets)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_octets() {
        let s = SecretBytes::from_slice(b"hunter2hunter2");
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter"), "{shown}");
        assert!(!shown.contains("104"), "{shown}");
        assert_eq!(shown, "***(14 octets)");
    }

    #[test]
    fn take_front_splits_without_losing_octets() {
        let mut s = SecretBytes::from_slice(&[1, 2, 3, 4, 5]);
        let front = s.take_front(2);
        assert_eq!(front.expose(), &[1, 2]);
        assert_eq!(s.expose(), &[3, 4, 5]);
    }
}
