//! IKEv2 (RFC 7296) with pre-shared-key authentication, as AWS Site-to-Site VPN speaks it.
//!
//! - [`wire`]: message and payload codec.

pub mod config;
pub mod keys;
pub mod nat;
pub mod session;
pub mod suite;
pub mod wire;
