//! [`ConfigError`]: a gateway configuration was refused, naming the item and why.
//!
//! Every gateway package validates its configuration file the way AWS validates the resource
//! before anything is created, and reports the first refusal as `item: message`
//! (`connection[1].tunnel[0].inside_cidr: 169.254.3.0/30 is reserved by AWS`).
//!
//! What it does not do: hold a secret: messages never contain a key.

/// A configuration was refused: which item and why. Never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{item}: {message}")]
pub struct ConfigError {
    /// Path of the item, e.g. `connection[0].tunnel[1].inside_cidr`.
    pub item: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl ConfigError {
    /// A refusal of `item`.
    pub fn new(item: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            item: item.into(),
            message: message.into(),
        }
    }
}
