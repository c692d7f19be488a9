//! hybridlab's BFD: Bidirectional Forwarding Detection in asynchronous mode (RFC 5880) over
//! single-hop IPv4/IPv6 (RFC 5881), for the Direct Connect emulation (AWS runs BFD on its side of
//! every VIF, 300 ms x 3) and for any client that wants fast failure detection (BGP, RFC 5882).
//!
//! Layers, each usable on its own:
//!
//! ```text
//!   wire     the Control packet: zero-copy view + validated Repr, §6.8.6 packet checks
//!   session  one session's §6.2 state machine and §6.8 timers, sans-IO: inputs in, packets and
//!            state changes out, next deadline from poll_timeout()
//!   driver   tokio: UDP port 3784 listeners (TTL 255 enforced), one task per session,
//!            demultiplexing, API for clients (watch/broadcast of states, timers, admin, show)
//! ```
//!
//! `wire` and `session` have no tokio, no sockets, no clock reads and no system randomness;
//! `driver` sits beside them behind the default `driver` feature
//! (`cargo build -p bfd --no-default-features` builds the core alone).
//!
//! What this crate does not do: authentication (§6.7; AWS uses none), Demand mode, the Echo
//! function, multihop (RFC 5883), or act on BFD's verdicts: clients subscribe and decide
//! (see [`session::Transition::is_failure`]).

#[cfg(feature = "driver")]
pub mod driver;
pub mod session;
pub mod wire;
