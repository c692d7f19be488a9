//! A VPN tunnel's pre-shared key, validated by AWS's rules and impossible to print.
//!
//! AWS accepts 8 to 64 characters of `[A-Za-z0-9._]` that do not start with `0` (Site-to-Site VPN
//! tunnel options \[V1\]). [`Psk::new`] checks exactly that; its errors say which rule failed and
//! never contain the key or any character of it. `Debug`, `Display` and `Serialize` print `***`
//! (the inner value is the workspace's one secret type, `secret::Secret`).
//!
//! Why a newtype rather than a function returning `Secret<String>`: AWS's rules must hold for
//! every key in a configuration, and they are checked while deserializing, so a bad key in a
//! scenario file or a daemon's file is reported at parse time with its line and field (and the
//! vgw's and cgw's files, the scenario's `[[vgw]]` tunnels and the code that builds them share
//! the guarantee). `Secret<String>` itself deserializes any string.
//!
//! What it does not do: generate keys (AWS generates a random 32-character one when none is
//! given: [`crate::plan`] does), or store them anywhere but in zeroizing memory.

use secret::Secret;
use serde::{Deserialize, Deserializer, Serialize};

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

/// A pre-shared key that follows AWS's rules.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Psk(Secret<String>);

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
        Ok(Psk(Secret::new(key.to_string())))
    }

    /// The key.
    pub fn secret(&self) -> &Secret<String> {
        &self.0
    }

    /// The key's octets as IKE uses them (RFC 7296 §2.15: the PSK is an octet string).
    pub fn to_octets(&self) -> Secret<Vec<u8>> {
        Secret::from_slice(self.0.expose().as_bytes())
    }
}

impl std::fmt::Debug for Psk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl std::fmt::Display for Psk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl<'de> Deserialize<'de> for Psk {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Psk, D::Error> {
        let s = Secret::<String>::deserialize(d)?;
        Psk::new(s.expose()).map_err(serde::de::Error::custom)
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
        assert_eq!(format!("{p}"), "***");
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"***\"");
        assert_eq!(p.secret().expose(), "hunter2.hunter2");
        assert_eq!(p.to_octets().expose(), b"hunter2.hunter2");
    }
}
