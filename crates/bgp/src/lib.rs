//! hybridlab's BGP-4 speaker.
//!
//! Layers, each usable on its own:
//!
//! ```text
//!   wire     bytes <-> messages, path attributes, NLRI (no state, never panics on input)
//!   fsm      one session's RFC 4271 §8 state machine, sans-IO: events in, actions and timers out
//!   rib      Adj-RIB-In / Loc-RIB / Adj-RIB-Out in one table, decision process, policy hook, ECMP
//!   driver   tokio: TCP (MD5, TTL), one task per session, listener, reconnect, kernel install
//! ```
//!
//! `wire`, `fsm` and `rib` have no tokio, no sockets and no clock reads (time is an argument);
//! `driver` (with its `config`, `kernel`, `control` modules and the `hl-bgpd` binary) sits beside
//! them behind the default `driver` feature.
//!
//! What this crate does not do: AWS policy. Gateways plug their route-priority rules in through
//! [`rib::Policy`].

#[cfg(feature = "driver")]
pub mod driver;
pub mod fsm;
pub mod rib;
pub mod wire;
