//! Test fixtures shared by hybridlab's crates and system tests.
//!
//! What it does: polling with a deadline instead of sleeping ([`poll`]), throw-away namespace labs
//! ([`lab`]), real FRR zebra + bgpd in a lab node queried with vtysh JSON ([`frr`]), real strongSwan
//! (charon + kernel-libipsec) driven with swanctl ([`strongswan`]), real BIRD 2 queried with
//! birdc ([`bird`]), real GoBGP driven with the gobgp CLI ([`gobgp`]).
//!
//! What it does not do: it is never a dependency of product code, and it never mocks a peer:
//! interop tests talk to the real daemons.

// Added by the BFD work: real FRR bfdd (+ zebra) for crates/bfd's interop tests.
pub mod bfdd;
pub mod bird;
pub mod frr;
pub mod gobgp;
pub mod lab;
pub mod poll;
pub mod strongswan;

pub use poll::{Timeout, wait_for, wait_for_async};
