//! `hl-vgw --config vgw.toml [--control SOCKET]`: the virtual private gateway daemon, run in
//! its network namespace (see `vpn::daemon`).

use clap::Parser;

fn main() -> std::process::ExitCode {
    vpn::daemon::main(vpn::daemon::Kind::Vgw, vpn::daemon::DaemonArgs::parse())
}
