//! The `cgw` scenario kind, run by this package's daemon (`hybridlab daemon cgw`), its plan,
//! and the customer-side configuration download (`hybridlab cgw-config`).
//!
//! What it does not do: plan the connections (the VGW does and answers
//! `vgw::kind::query::CustomerViewOf`), or create namespaces and links (the engine does).

#[allow(clippy::module_inception)]
pub mod cgw;
pub mod download;
pub mod node;
pub mod plan;
