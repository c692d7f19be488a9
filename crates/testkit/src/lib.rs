//! Test fixtures shared by hybridlab's crates and system tests.
//!
//! What it does: polling with a deadline instead of sleeping ([`poll`]), and (in later modules)
//! runners that start real FRR, BIRD, GoBGP and strongSwan daemons inside lab namespaces.
//!
//! What it does not do: it is never a dependency of product code, and it never mocks a peer:
//! interop tests talk to the real daemons.

pub mod poll;

pub use poll::{Timeout, wait_for, wait_for_async};
