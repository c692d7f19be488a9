//! The Site-to-Site VPN kinds: `[[vpc]]`, `[[vgw]]` and `[[cgw]]`, run by the `vpn` crate's
//! daemons (`hybridlab daemon vgw|cgw`).
//!
//! ```toml
//! [[vpc]]                                   # the VPC router; VPC hosts link to it
//! name = "vpc1"
//! cidrs = ["10.0.0.0/16"]
//!
//! [[vgw]]
//! name = "vgw1"
//! vpc = "vpc1"                              # brings its own link to the VPC router
//! internet = { node = "inet", cidr = "203.0.113.0/24" }   # tunnel outside addresses .1, .2, ...
//!
//! [[vgw.connection]]                        # AWS's CreateVpnConnection
//! name = "vpn1"
//! cgw = "cgw1"
//! routing = "dynamic"                       # or "static" with static_routes = [...]
//! tunnel = [{ inside_cidr = "169.254.10.0/30" }, {}]      # AWS picks what is not given
//!
//! [[cgw]]
//! name = "cgw1"
//! asn = 65001
//! internet = { node = "inet", address = "198.51.100.1/24" }
//! advertise = ["10.1.0.0/16"]
//! ```
//!
//! [`plan`] turns these nodes into the daemons' configuration files (one plan per run, shared
//! by every node); [`checks`] adds the expectations and timeline actions that go through the
//! daemons' control sockets.
//!
//! What it does not do: run the gateways (the `vpn` crate does), or create namespaces and links
//! (the engine does, from [`crate::kind::NodeSpec::links`]).

pub mod cgw;
pub mod checks;
pub mod download;
pub mod plan;
pub mod vgw;
pub mod vpc;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::timing::{Profile, Timing};

/// The daemon's start file (`daemon.json` in the node directory): where its configuration is and
/// which control socket to serve.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonFile {
    /// The gateway's TOML configuration, relative to this file's directory.
    pub config: PathBuf,
    /// The control socket to serve.
    pub control: PathBuf,
}

/// The `vpn` crate's timer table for a scenario's profile.
pub fn vpn_profile(timing: &Timing) -> vpn::config::Profile {
    match timing.profile {
        Profile::Aws => vpn::config::Profile::Aws,
        Profile::Fast => vpn::config::Profile::Fast,
    }
}

/// Runs a gateway daemon from its start file; returns its exit code.
pub fn run_daemon(kind: vpn::daemon::Kind, start_file: &Path) -> Result<i32, String> {
    let text = std::fs::read_to_string(start_file)
        .map_err(|e| format!("{}: cannot read: {e}", start_file.display()))?;
    let f: DaemonFile =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", start_file.display()))?;
    let dir = start_file.parent().unwrap_or(Path::new("."));
    let args = vpn::daemon::DaemonArgs {
        config: dir.join(f.config),
        control: Some(f.control),
        check: false,
        log_json: false,
    };
    Ok(i32::from(vpn::daemon::run(kind, args)))
}
