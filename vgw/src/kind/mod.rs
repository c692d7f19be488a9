//! The `vpc` and `vgw` scenario kinds, run by this package's daemon (`hybridlab daemon vgw`),
//! and the typed questions they answer for other kinds ([`query`]).
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
//! cgw = "cgw1"                              # a node answering query::CustomerGatewayOf
//! routing = "dynamic"                       # or "static" with static_routes = [...]
//! tunnel = [{ inside_cidr = "169.254.10.0/30" }, {}]      # AWS picks what is not given
//! ```
//!
//! [`plan`] turns these nodes into the daemon's configuration file and each customer
//! gateway's view of its connections (one plan per run, pure, so every node agrees);
//! [`checks`] holds the VPN expectations and timeline actions that go through a VPN gateway's
//! control socket (the `cgw` kind uses them too).
//!
//! What it does not do: run the gateway (the `vgw` daemon does), or create namespaces and links
//! (the engine does, from [`engine::kind::NodeSpec::links`]).

pub mod addressing;
pub mod chaos;
pub mod checks;
pub mod keys;
pub mod node;
pub mod plan;
pub mod query;
pub mod vgw;
pub mod vpc;

use std::path::PathBuf;

use engine::kind::{NodeEnv, NodeFile, ProcessSpec};
use gateway::daemon::StartFile;

/// The daemon process of a gateway node: its TOML configuration and start file, and
/// `hybridlab daemon KIND --config daemon.json`.
pub fn daemon_process(kind: &str, toml: &str, env: &NodeEnv<'_>) -> Vec<ProcessSpec> {
    let config_name = format!("{kind}.toml");
    let start = StartFile {
        config: PathBuf::from(&config_name),
        control: env.socket.clone(),
    };
    vec![ProcessSpec {
        name: kind.to_string(),
        argv: vec![
            env.exe.display().to_string(),
            "daemon".into(),
            kind.into(),
            "--config".into(),
            "daemon.json".into(),
        ],
        files: vec![
            NodeFile::new(config_name, toml),
            NodeFile::new(
                "daemon.json",
                serde_json::to_string_pretty(&start).expect("serializable"),
            ),
        ],
        env: Vec::new(),
        control_socket: true,
    }]
}
