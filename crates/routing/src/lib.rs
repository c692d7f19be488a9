//! AWS route-selection rules as pure functions.
//!
//! - [`vpc`]: the VPC route table: `local` routes, static routes, prefix-list routes and routes
//!   propagated from a virtual private gateway, and which of them AWS uses for a destination.
//! - [`vgw`]: route selection inside a virtual private gateway: Direct Connect BGP, VPN static and VPN
//!   BGP routes for the same prefix, AS_PATH and MED tie-breaks, and the randomly preferred tunnel.
//!
//! Every rule carries its source from `shared/docs/aws-behaviour.md` (keys such as \[P1\], \[V8\]).
//! Where AWS does not document a behaviour and we had to choose, the comment says "(inferred)".
//!
//! What this crate does not do: talk BGP, touch the kernel or know about tunnels' liveness. The
//! gateways feed it candidates (only from sessions and tunnels that are up) and program the kernel with
//! what it selects. It has no I/O and no clock, so every rule is a table-driven unit test.

pub mod tgw;
pub mod vgw;
pub mod vpc;
