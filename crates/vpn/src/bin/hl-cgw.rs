//! `hl-cgw --config cgw.toml [--control SOCKET]`: the customer gateway daemon, run in its
//! network namespace (see `vpn::daemon`).

use clap::Parser;

fn main() -> std::process::ExitCode {
    vpn::daemon::main(vpn::daemon::Kind::Cgw, vpn::daemon::DaemonArgs::parse())
}
