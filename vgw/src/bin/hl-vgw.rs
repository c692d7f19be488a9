//! `hl-vgw --config vgw.toml [--control SOCKET]`: the virtual private gateway daemon, run in
//! its network namespace (see `gateway::daemon`).

use clap::Parser;

fn main() -> std::process::ExitCode {
    gateway::daemon::main::<vgw::Vgw>(gateway::daemon::DaemonArgs::parse())
}
