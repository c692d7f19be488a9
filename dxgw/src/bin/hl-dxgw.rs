//! `hl-dxgw --config dxgw.toml [--control SOCKET]`: the Direct Connect location router daemon,
//! run in its network namespace (see `gateway::daemon`).

use clap::Parser;

fn main() -> std::process::ExitCode {
    gateway::daemon::main::<dxgw::Dx>(gateway::daemon::DaemonArgs::parse())
}
