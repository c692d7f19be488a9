//! [`Secret`]: a value (pre-shared key, TCP MD5 password, derived key material) that never shows
//! itself. The one secret type of the workspace: protocol crates hold their keys in it, gateway
//! packages wrap it when they have rules of their own for a key.
//!
//! - `Debug`, `Display` and `Serialize` print `***`, so a secret cannot reach a log line, a
//!   `show` reply or a JSON report by accident;
//! - `Deserialize` reads the plain value (configuration files carry keys);
//! - the memory is zeroized when the secret is dropped;
//! - [`Secret::expose`] is the one way to read it, easy to grep for.
//!
//! `Secret<Vec<u8>>` is key material: it has the byte-buffer helpers key derivation needs
//! ([`Secret::zeroed`], [`Secret::from_slice`], [`Secret::expose_mut`], [`Secret::take_front`]).
//! Mutable access is to the octets, never to the vector, so a buffer cannot grow and leave an
//! unzeroized copy behind in a reallocation.
//!
//! What it does not do: validate a key (length or character rules belong to whoever defines
//! them: RFC limits in the protocol crates, AWS's rules in the gateway packages), protect
//! against swapping or core dumps (no mlock), or against code that calls `expose` and then
//! logs the result.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// What every rendering of a secret prints.
pub const REDACTED: &str = "***";

/// A secret value; see the crate documentation.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    /// Wraps `value` (moved, not copied).
    pub fn new(value: T) -> Secret<T> {
        Secret(value)
    }

    /// The value itself: the one way to read it. Keep the borrow short.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize> From<T> for Secret<T> {
    fn from(value: T) -> Secret<T> {
        Secret(value)
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> Zeroize for Secret<T> {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> ZeroizeOnDrop for Secret<T> {}

impl<T: Zeroize> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T: Zeroize> std::fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T: Zeroize> Serialize for Secret<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

/// Secrets are read from configuration files like any value.
impl<'de, T: Zeroize + Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Secret<T>, D::Error> {
        T::deserialize(d).map(Secret)
    }
}

/// Key material: secret octets.
impl Secret<Vec<u8>> {
    /// Copies `bytes`.
    pub fn from_slice(bytes: &[u8]) -> Secret<Vec<u8>> {
        Secret(bytes.to_vec())
    }

    /// A buffer of `len` zero octets to fill in place.
    pub fn zeroed(len: usize) -> Secret<Vec<u8>> {
        Secret(vec![0; len])
    }

    /// Mutable access to the octets, for filling in place (never to the vector: see the crate
    /// documentation).
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
    pub fn take_front(&mut self, at: usize) -> Secret<Vec<u8>> {
        let rest = self.0.split_off(at);
        let front = std::mem::replace(&mut self.0, rest);
        Secret(front)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_renders_its_value() {
        let s = Secret::new(String::from("hunter2-psk"));
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
        #[derive(Debug, Serialize)]
        struct Tunnel {
            psk: Secret<String>,
        }
        let t = Tunnel { psk: s.clone() };
        assert!(!format!("{t:?}").contains("hunter2"));
        assert!(!serde_json::to_string(&t).unwrap().contains("hunter2"));
        assert_eq!(s.expose(), "hunter2-psk");
    }

    #[test]
    fn key_material_never_renders_its_octets() {
        let s = Secret::from_slice(b"hunter2hunter2");
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter"), "{shown}");
        assert!(!shown.contains("104"), "{shown}");
        assert_eq!(shown, "***");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
    }

    #[test]
    fn deserialises_from_the_plain_value() {
        let s: Secret<String> = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(s.expose(), "abc");
        let k: Secret<Vec<u8>> = serde_json::from_str("[1,2,3]").unwrap();
        assert_eq!(k.expose(), &vec![1, 2, 3]);
    }

    #[test]
    fn zeroizes_in_place() {
        let mut s = Secret::new(vec![0xAAu8; 16]);
        // Drop calls exactly this; checking it on a live value avoids reading freed memory.
        s.zeroize();
        assert!(s.expose().is_empty());
        let mut k = Secret::zeroed(4);
        k.expose_mut().copy_from_slice(&[1, 2, 3, 4]);
        assert_eq!(k.expose(), &[1, 2, 3, 4]);
        assert_eq!((k.len(), k.is_empty()), (4, false));
    }

    #[test]
    fn take_front_splits_without_losing_octets() {
        let mut s = Secret::from_slice(&[1, 2, 3, 4, 5]);
        let front = s.take_front(2);
        assert_eq!(front.expose(), &[1, 2]);
        assert_eq!(s.expose(), &[3, 4, 5]);
    }
}
