//! A VIF's BGP MD5 authentication key (RFC 2385), validated by AWS's rule and impossible to
//! print.
//!
//! AWS accepts a key of 6 to 80 characters and generates one when none is given
//! (`aws-behaviour.md` §4 \[D2, D5\]). [`AuthKey::new`] checks the length while deserializing, so
//! a bad key in a scenario or daemon file is refused at parse time; its errors give the length,
//! never the key. `Debug`, `Display` and `Serialize` print `***` (`secret::Secret`).
//!
//! (AWS-silent) The character set of a DX key is not documented; the kernel takes any octets,
//! so any printable ASCII character but space is accepted here.
//!
//! What it does not do: install the key on a socket (`crates/bgp`'s driver does, through
//! `netns`), or generate it ([`AuthKey::generate`] is called by the planner once per VIF).

use rand::Rng;
use secret::Secret;
use serde::{Deserialize, Deserializer, Serialize};

/// Shortest key AWS accepts \[D5\].
pub const MIN_LEN: usize = 6;
/// Longest key AWS accepts (also the kernel's `TCP_MD5SIG_MAXKEYLEN`) \[D5\].
pub const MAX_LEN: usize = 80;

/// Why a key was refused. Never contains the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthKeyError {
    /// Not 6..=80 characters.
    #[error("the MD5 key must be {MIN_LEN} to {MAX_LEN} characters long (it has {0})")]
    Length(usize),
    /// A space or a non-printable or non-ASCII character.
    #[error(
        "the MD5 key may contain only printable ASCII characters without spaces (character {0} is not)"
    )]
    Character(usize),
}

/// A BGP MD5 key that follows AWS's rule.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AuthKey(Secret<String>);

impl AuthKey {
    /// Validates `key`.
    pub fn new(key: &str) -> Result<AuthKey, AuthKeyError> {
        let n = key.chars().count();
        if !(MIN_LEN..=MAX_LEN).contains(&n) {
            return Err(AuthKeyError::Length(n));
        }
        if let Some(i) = key.chars().position(|c| !c.is_ascii_graphic()) {
            return Err(AuthKeyError::Character(i + 1));
        }
        Ok(AuthKey(Secret::new(key.to_string())))
    }

    /// A random 25-character key of letters and digits. (AWS-silent: the length and alphabet
    /// of the key AWS generates are not documented; its console shows about 25 characters.)
    pub fn generate(rng: &mut impl Rng) -> AuthKey {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let key: String = (0..25)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect();
        AuthKey(Secret::new(key))
    }

    /// The key, for the socket option.
    pub fn secret(&self) -> &Secret<String> {
        &self.0
    }
}

impl std::fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl<'de> Deserialize<'de> for AuthKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<AuthKey, D::Error> {
        let s = Secret::<String>::deserialize(d)?;
        AuthKey::new(s.expose()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn six_to_eighty_characters() {
        assert!(AuthKey::new("abcdef").is_ok());
        assert!(AuthKey::new(&"k".repeat(80)).is_ok());
        assert_eq!(AuthKey::new("abcde"), Err(AuthKeyError::Length(5)));
        assert_eq!(AuthKey::new(&"k".repeat(81)), Err(AuthKeyError::Length(81)));
        assert_eq!(AuthKey::new("abc def"), Err(AuthKeyError::Character(4)));
    }

    #[test]
    fn never_printed() {
        let e = serde_json::from_str::<AuthKey>("\"hunt\"")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunt"), "{e}");
        let k = AuthKey::new("hunter2hunter2").unwrap();
        assert_eq!(format!("{k:?}"), "***");
        assert_eq!(serde_json::to_string(&k).unwrap(), "\"***\"");
        assert_eq!(k.secret().expose(), "hunter2hunter2");
    }

    #[test]
    fn generated_keys_pass_the_rule() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let k = AuthKey::generate(&mut rng);
        assert!(AuthKey::new(k.secret().expose()).is_ok());
        assert_ne!(
            k.secret().expose(),
            AuthKey::generate(&mut rng).secret().expose()
        );
    }
}
