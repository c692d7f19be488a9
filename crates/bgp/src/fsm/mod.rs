//! The BGP session finite state machine (RFC 4271 §8), sans-IO.
//!
//! [`Session`] is a plain struct: the driver feeds it [`Event`]s with the current time and
//! carries out the [`Action`]s it returns. See [`session`] for the state diagram and the
//! collision and restart rules, and `tests.rs` for the RFC 4271 §8.2.2 state x event table
//! the tests walk.
//!
//! What it does not do: I/O, clocks, RIB work.

pub mod config;
pub mod session;
pub mod types;

#[cfg(test)]
mod tests;

pub use config::{HoldTime, HoldTimeError, SessionConfig};
pub use session::Session;
pub use types::{
    Action, AutoStopReason, ConnId, DownReason, Event, Negotiated, StaleRetention, State, Timer,
};
