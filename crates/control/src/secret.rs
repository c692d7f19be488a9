//! [`Secret`]: a value (PSK, MD5 password, private key) that never shows itself.
//!
//! `Debug`, `Display` and `Serialize` print `***`, so a secret cannot reach a log line, a
//! `show` reply or a JSON report by accident; the memory is zeroized when the secret is dropped.
//! Reading the value takes an explicit [`Secret::expose`], which is easy to grep for.
//!
//! What it does not do: protect against swapping or core dumps (no mlock), or against code that
//! calls `expose` and then logs the result.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// What every rendering of a secret prints.
pub const REDACTED: &str = "***";

/// A secret value; see the module documentation.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    /// Wraps `value`.
    pub fn new(value: T) -> Secret<T> {
        Secret(value)
    }

    /// The value itself: the one way to read it.
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
        s.0.zeroize();
        assert!(s.expose().is_empty());
    }
}
