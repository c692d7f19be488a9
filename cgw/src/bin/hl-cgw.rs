//! `hl-cgw --config cgw.toml [--control SOCKET]`: the customer gateway daemon, run in its
//! network namespace (see `gateway::daemon`).

use clap::Parser;

fn main() -> std::process::ExitCode {
    gateway::daemon::main::<cgw::Cgw>(gateway::daemon::DaemonArgs::parse())
}
