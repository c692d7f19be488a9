//! The tunnel's pre-shared key, validated by AWS's rules and impossible to print.
//!
//! AWS accepts 8 to 64 characters of `[A-Za-z0-9._]` that do not start with `0` (Site-to-Site VPN
//! tunnel options). [`Psk::new`] checks exactly that; its errors say which rule failed and never
//! contain the key or any character of it. `Debug`, `Display` and `Serialize` print `***`.
//!
//! What it does not do: generate keys (AWS generates a random 32-character one when none is
//! given: the gateways do that), or store them anywhere but in zeroizing memory.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use secret::Secret;

/// Why a PSK was refused. Never contains the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PskError {
    /// Not 8..=64 characters.
    #[error("the pre-shared key must be 8 to 64 characters long (it has {0})")]
    Length(usize),
    /// A character outside `[A-Za-z0-9._]`.
    #[error(
        "the pre-shared key may contain only letters, digits, '.' and '_' (character {position} is not allowed)"
    )]
    Character {
        /// 1-based position of the first bad character.
        position: usize,
    },
    /// Starts with `0`.
    #[error("the pre-shared key must not start with '0'")]
    LeadingZero,
}

/// A validated pre-shared key.
#[derive(Clone, PartialEq, Eq)]
pub struct Psk(Secret<Vec<u8>>);

impl Psk {
    /// Validates `key` against AWS's rules.
    pub fn new(key: &str) -> Result<Psk, PskError> {
        let n = key.chars().count();
        if !(8..=64).contains(&n) {
            return Err(PskError::Length(n));
        }
        if let Some(i) = key
            .chars()
            .position(|c| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
        {
            return Err(PskError::Character { position: i + 1 });
        }
        if key.starts_with('0') {
            return Err(PskError::LeadingZero);
        }
        Ok(Psk(Secret::from_slice(key.as_bytes())))
    }

    /// The key octets, for the IKE session.
    pub fn secret(&self) -> &Secret<Vec<u8>> {
        &self.0
    }
}

impl std::fmt::Debug for Psk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Psk {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for Psk {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Psk, D::Error> {
        let mut s = zeroize::Zeroizing::new(String::deserialize(d)?);
        let r = Psk::new(&s).map_err(serde::de::Error::custom);
        zeroize::Zeroize::zeroize(&mut *s);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_rules() {
        assert!(Psk::new("abcdefgh").is_ok());
        assert!(Psk::new("A.b_C.9z").is_ok());
        assert!(Psk::new(&"x".repeat(64)).is_ok());
        assert_eq!(Psk::new("short.1").unwrap_err(), PskError::Length(7));
        assert_eq!(Psk::new(&"x".repeat(65)).unwrap_err(), PskError::Length(65));
        assert_eq!(Psk::new("0abcdefgh").unwrap_err(), PskError::LeadingZero);
        assert_eq!(
            Psk::new("abc-defgh").unwrap_err(),
            PskError::Character { position: 4 }
        );
    }

    #[test]
    fn errors_and_renderings_never_show_the_key() {
        let bad = "hunter2-hunter2";
        let e = Psk::new(bad).unwrap_err().to_string();
        assert!(!e.contains("hunter"), "{e}");
        let e = serde_json::from_str::<Psk>("\"0secretvalue\"")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("secretvalue"), "{e}");
        let p = Psk::new("hunter2.hunter2").unwrap();
        assert_eq!(format!("{p:?}"), "***");
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"***\"");
    }
}
