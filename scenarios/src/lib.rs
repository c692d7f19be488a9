//! The `hybridlab` command-line tool's library side: the registry of every node kind this
//! build knows, and the scenarios shipped inside the binary. `src/main.rs` is the CLI.
//!
//! What it does not do: run anything itself (the engine in `crates/engine` does), or know a
//! kind's rules (each gateway package owns its kinds).

pub mod shipped;

use engine::kind::Registry;

/// Every node kind of this build: the engine's generic `host` and `router`, the VPN kinds
/// `vpc` and `vgw` (package `vgw`), `cgw` (package `cgw`), and the Direct Connect kinds `dxgw`
/// and `dx-router` (package `dxgw`), the Transit Gateway kinds `tgw` and `appliance`
/// (package `tgw-connect`). Adding a kind: one line here.
pub fn registry() -> Registry {
    Registry::generic()
        .with(Box::new(vgw::kind::vpc::VpcKind))
        .with(Box::new(vgw::kind::vgw::VgwKind))
        .with(Box::new(cgw::kind::cgw::CgwKind))
        .with(Box::new(dxgw::kind::DxgwKind))
        .with(Box::new(dxgw::kind::DxRouterKind))
        .with(Box::new(tgw_connect::kind::TgwKind))
        .with(Box::new(tgw_connect::kind::ApplianceKind))
}
