//! `hybridlab`: run, validate, list, show and tear down emulated AWS hybrid-connectivity labs.
//!
//! Exit codes: 0 every expectation held; 1 an expectation failed (or the run was interrupted);
//! 2 bad input or environment (nothing was created when the input was bad).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;
mod export;
mod lab_owner;
mod lab_record;

/// Emulated AWS hybrid connectivity on one Linux machine.
#[derive(Debug, Parser)]
#[command(name = "hybridlab", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run a scenario: bring the lab up, play the timeline, check expectations, tear down.
    Run {
        /// A scenario file, or the name of a shipped scenario (see `list`); default: dual-tunnel-failover.
        scenario: Option<String>,
        /// Lab name (default: the scenario's name).
        #[arg(long)]
        lab: Option<String>,
        /// Timing profile, replacing the file's `[timing] profile` (its overrides still apply).
        #[arg(long, value_parser = ["fast", "aws"])]
        profile: Option<String>,
        /// Write the full run record as JSON.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write JUnit XML (one test case per expectation).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Write the timeline picture (SVG).
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
        /// No progress on stderr (the summary still goes to stdout).
        #[arg(long, short)]
        quiet: bool,
        /// Where nodes run: `namespaces` (bare network namespaces) or `docker` (one container
        /// per node, named hl-LAB-NODE, from --image; needs root and a running Docker daemon).
        #[arg(long, value_parser = ["namespaces", "docker"], default_value = "namespaces")]
        runtime: String,
        /// The image of the nodes' containers (`--runtime docker`), built by scripts/image.
        #[arg(long, default_value = concat!("hybridlab:", env!("CARGO_PKG_VERSION")))]
        image: String,
    },
    /// Check a scenario file without creating anything.
    Validate {
        /// The scenario file (or a shipped scenario's name).
        scenario: String,
    },
    /// List the shipped scenarios and the node kinds.
    List,
    /// Ask a running lab's node for its state through its control socket.
    Show {
        /// Lab name.
        lab: String,
        /// Node name.
        node: String,
        /// What to show (default: the list of views and actions).
        what: Option<String>,
        /// View arguments, `key=value` (value parsed as JSON when it is JSON).
        #[arg(long = "arg", value_name = "KEY=VALUE")]
        args: Vec<String>,
    },
    /// Print the customer side of a VPN connection (AWS's "download configuration"): a
    /// strongSwan swanctl.conf (keys included), the strongswan.conf fragment it needs, or an
    /// FRR bgpd configuration, in the scenario's (or --profile's) timers. Given a running
    /// lab's name, the configuration is that lab's, with the keys its VGW drew (keys a
    /// scenario does not give are random per lab unless its [[vgw]] sets `seed`).
    CgwConfig {
        /// `frr` (bgpd.conf), `bird` (BIRD 2 bird.conf), `gobgp` (gobgpd.toml), `strongswan` (swanctl.conf) or
        /// `strongswan-conf` (strongswan.conf fragment). For a Direct Connect VIF: `frr`
        /// (bgpd.conf) or `frr-bfdd` (bfdd.conf).
        #[arg(long, value_parser = ["frr", "frr-bfdd", "bird", "gobgp", "strongswan", "strongswan-conf"])]
        format: String,
        /// Timing profile (as for `run`).
        #[arg(long, value_parser = ["fast", "aws"])]
        profile: Option<String>,
        /// A running lab's name, a scenario file, or the name of a shipped scenario.
        scenario: String,
        /// The VPN connection's name (`vpn1`, or `vgw1/vpn1`), or a Direct Connect VIF's.
        connection: String,
    },
    /// Write a project that runs a scenario with another tool: `compose` (docker-compose.yml)
    /// or `containerlab` (LAB.clab.yml), beside a copy of the scenario, in --out.
    Export {
        /// `compose` or `containerlab`.
        #[arg(value_parser = ["compose", "containerlab"])]
        format: String,
        /// A scenario file or a shipped scenario's name.
        scenario: String,
        /// The project directory (default: ./LAB-compose or ./LAB-clab).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Lab name (default: the scenario's name).
        #[arg(long)]
        lab: Option<String>,
        /// The image (built by scripts/image).
        #[arg(long, default_value = concat!("hybridlab:", env!("CARGO_PKG_VERSION")))]
        image: String,
    },
    /// Tear a lab down; without a name, remove every lab whose owner has died.
    Down {
        /// Lab name.
        lab: Option<String>,
    },
    /// Run a node kind's daemon (started by `run` inside the node's namespace).
    #[command(hide = true)]
    Daemon {
        /// The node kind.
        kind: String,
        /// Its generated configuration.
        #[arg(long)]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::init_tracing();
    let code = match cli.cmd {
        Cmd::Validate { scenario } => cli::validate(&scenario),
        Cmd::List => cli::list(),
        Cmd::Run {
            scenario,
            lab,
            profile,
            json,
            junit,
            svg,
            quiet,
            runtime,
            image,
        } => cli::run(cli::RunArgs {
            scenario,
            lab,
            profile,
            json,
            junit,
            svg,
            quiet,
            docker_image: (runtime == "docker").then_some(image),
        }),
        Cmd::Show {
            lab,
            node,
            what,
            args,
        } => cli::show(&lab, &node, what.as_deref(), &args),
        Cmd::CgwConfig {
            format,
            profile,
            scenario,
            connection,
        } => cli::cgw_config(&format, profile.as_deref(), &scenario, &connection),
        Cmd::Down { lab } => cli::down(lab.as_deref()),
        Cmd::Export {
            format,
            scenario,
            out,
            lab,
            image,
        } => cli::export(&format, &scenario, out, lab, &image),
        Cmd::Daemon { kind, config } => cli::daemon(&kind, Path::new(&config)),
    };
    ExitCode::from(code)
}
