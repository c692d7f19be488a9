//! The per-lab secret every key a lab makes up is derived from.
//!
//! AWS draws a random pre-shared key for each tunnel the customer does not give one for. A lab
//! does the same: when a run starts, the engine draws 32 bytes from the operating system's
//! CSPRNG ([`LabSecret::random`]) and hands them to every node's planning
//! ([`crate::kind::NodeEnv::lab_secret`]), so the VGW's and the customer gateway's
//! configurations, planned separately, agree on each key without sharing state, and no two
//! labs share computable keys. A scenario that wants keys it can replay sets a seed on the
//! node that owns them (the VGW's `seed`); that choice is the kind's, not the engine's.
//!
//! What it does not do: derive keys (the kind that owns them does, with its own labels), store
//! the secret anywhere (it lives in the engine's memory for the run and is zeroized on drop),
//! or print it (`{:?}` shows `***`).

use secret::Secret;

/// 32 random bytes, one value per run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabSecret(Secret<Vec<u8>>);

/// The operating system's random source failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the lab's secret from the operating system's random source: {0}")]
pub struct LabSecretError(String);

impl LabSecret {
    /// Length in bytes.
    pub const LEN: usize = 32;

    /// Draws a fresh secret from the operating system (`getrandom(2)`).
    pub fn random() -> Result<LabSecret, LabSecretError> {
        let mut bytes = Secret::zeroed(Self::LEN);
        getrandom::fill(bytes.expose_mut()).map_err(|e| LabSecretError(e.to_string()))?;
        Ok(LabSecret(bytes))
    }

    /// A secret with known bytes (tests, and validation, where no key is ever used).
    pub fn from_bytes(bytes: &[u8]) -> LabSecret {
        LabSecret(Secret::from_slice(bytes))
    }

    /// The bytes, as key material for a derivation.
    pub fn expose(&self) -> &[u8] {
        self.0.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_draws_differ_and_never_print() {
        let a = LabSecret::random().unwrap();
        let b = LabSecret::random().unwrap();
        assert_eq!(a.expose().len(), LabSecret::LEN);
        assert_ne!(a, b, "two labs must not share a secret");
        assert_eq!(format!("{a:?}"), "LabSecret(***)");
    }
}
