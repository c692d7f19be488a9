//! `hybridlab`: run, validate, list, show and tear down emulated AWS hybrid-connectivity labs.
//!
//! Exit codes: 0 every expectation held; 1 an expectation failed (or the run was interrupted);
//! 2 bad input or environment (nothing was created when the input was bad).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod api;
mod chaos_cli;
mod cli;
mod export;
mod lab_keys;
mod lab_owner;
mod lab_record;
mod live_lab;

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
        /// Write a pcapng per link and per TUN device into DIR (read them with Wireshark).
        #[arg(long, value_name = "DIR")]
        capture: Option<PathBuf>,
        /// Write one self-contained HTML page: results and the timeline picture.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
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
        /// Serve an AWS-shaped API (EC2 Query VPN calls, Direct Connect) over the running lab
        /// on ADDR, e.g. 127.0.0.1:4566; credentials are printed and written to the lab's
        /// api.json.
        #[arg(long, value_name = "ADDR")]
        api: Option<std::net::SocketAddr>,
    },
    /// A chaos campaign: bring the scenario's topology up, record its baseline, inject
    /// random faults drawn from a seed, check that the lab returns to its baseline after each.
    Chaos {
        /// A scenario file or a shipped scenario's name.
        scenario: String,
        /// The seed (same seed, same faults); default: the file's `[chaos] seed`, else random.
        #[arg(long)]
        seed: Option<u64>,
        /// How many faults (default: `[chaos] faults`, else 100).
        #[arg(long, conflicts_with = "duration")]
        faults: Option<u64>,
        /// Or draw faults for this long (`10m`).
        #[arg(long)]
        duration: Option<String>,
        /// Start at this fault index (a replay of one fault: `--from-fault I --faults I+1`).
        #[arg(long, default_value_t = 0)]
        from_fault: u64,
        /// Only these fault kinds, comma-separated (tunnel_cut, ike_cut, esp_cut, bgp_cut,
        /// bfd_cut, link_down, loss, kill, flap, rekey_storm, withdraw).
        #[arg(long)]
        kinds: Option<String>,
        /// Faults in force at once (default 1).
        #[arg(long)]
        overlap: Option<u32>,
        /// Timing profile.
        #[arg(long, value_parser = ["fast", "aws"])]
        profile: Option<String>,
        /// Lab name (default `ch-<scenario>`).
        #[arg(long)]
        lab: Option<String>,
        /// Write the campaign report as JSON.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write the recovery-time histogram (SVG).
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
        /// Write one self-contained HTML page: recovery table, histogram, timeline.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Every daemon event on stderr, not only one line per fault.
        #[arg(long, short)]
        verbose: bool,
        /// No progress on stderr.
        #[arg(long, short)]
        quiet: bool,
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
        /// Node name (without one: the lab's AWS resource ids, as its `--api` serves them).
        node: Option<String>,
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
        /// (bgpd.conf), `frr-bfdd` (bfdd.conf) or `bird` (BIRD 2 bird.conf, BGP and BFD).
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
    /// Bring a scenario's topology up and keep it running (a live lab); returns when it is
    /// ready and prints how to reach each node.
    Up {
        /// A scenario file, or the name of a shipped scenario.
        scenario: String,
        /// Lab name (default: the scenario's name).
        #[arg(long)]
        lab: Option<String>,
        /// Timing profile, replacing the file's.
        #[arg(long, value_parser = ["fast", "aws"])]
        profile: Option<String>,
        /// Capture every link and TUN device into DIR while the lab runs.
        #[arg(long, value_name = "DIR")]
        capture: Option<PathBuf>,
        /// Serve the AWS-shaped API over the lab on ADDR (e.g. 127.0.0.1:4566) while it runs.
        #[arg(long, value_name = "ADDR")]
        api: Option<std::net::SocketAddr>,
    },
    /// Run a command in a node of a running lab (its network namespace).
    Exec {
        /// Lab name.
        lab: String,
        /// Node name.
        node: String,
        /// The command and its arguments (after `--`).
        #[arg(last = true, required = true)]
        cmd: Vec<String>,
    },
    /// Apply a timeline action to a live lab now: `cut node=cgw1 proto=udp`, `restore
    /// cut=cut-1`, `link_down link=wan`, `kill node=cgw1`, `restart node=cgw1`, or a node
    /// kind's action (`rekey node=cgw1 tunnel=vpn1-t1`, ...), keys as in a scenario's
    /// [[timeline]] (values in TOML, or plain strings).
    Act {
        /// Lab name.
        lab: String,
        /// The action.
        action: String,
        /// Its keys, KEY=VALUE (`name=` names it; default ACTION-N).
        args: Vec<String>,
    },
    /// Stream a link (or NODE:IFNAME, a TUN device too) of a running lab as pcapng on stdout:
    /// `hybridlab capture LAB LINK | wireshark -k -i -`.
    Capture {
        /// Lab name.
        lab: String,
        /// A link's name, or NODE:IFNAME.
        link: String,
        /// Stop after N packets.
        #[arg(long, short)]
        count: Option<u64>,
    },
    /// List the labs: name, scenario, live or run, age, nodes, owner.
    Ps,
    /// The owner process of a live lab (started by `up`).
    #[command(hide = true)]
    Hold {
        scenario: String,
        #[arg(long)]
        lab: Option<String>,
        #[arg(long)]
        profile: Option<String>,
        #[arg(long)]
        capture: Option<PathBuf>,
        #[arg(long)]
        api: Option<std::net::SocketAddr>,
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
        Cmd::Chaos {
            scenario,
            seed,
            faults,
            duration,
            from_fault,
            kinds,
            overlap,
            profile,
            lab,
            json,
            svg,
            html,
            verbose,
            quiet,
        } => chaos_cli::chaos(chaos_cli::ChaosArgs {
            scenario,
            lab,
            profile,
            seed,
            faults,
            duration,
            from_fault,
            kinds,
            overlap,
            json,
            svg,
            html,
            verbose,
            quiet,
        }),
        Cmd::Run {
            scenario,
            lab,
            profile,
            json,
            junit,
            svg,
            capture,
            html,
            quiet,
            runtime,
            image,
            api,
        } => cli::run(cli::RunArgs {
            scenario,
            lab,
            profile,
            json,
            junit,
            svg,
            capture,
            html,
            quiet,
            docker_image: (runtime == "docker").then_some(image),
            api,
        }),
        Cmd::Up {
            scenario,
            lab,
            profile,
            capture,
            api,
        } => live_lab::up(live_lab::UpArgs {
            scenario,
            lab,
            profile,
            capture,
            api,
        }),
        Cmd::Hold {
            scenario,
            lab,
            profile,
            capture,
            api,
        } => live_lab::hold(live_lab::UpArgs {
            scenario,
            lab,
            profile,
            capture,
            api,
        }),
        Cmd::Exec { lab, node, cmd } => live_lab::exec(&lab, &node, &cmd),
        Cmd::Act { lab, action, args } => live_lab::act(&lab, &action, &args),
        Cmd::Capture { lab, link, count } => live_lab::capture(&lab, &link, count),
        Cmd::Ps => live_lab::ps(),
        Cmd::Show {
            lab,
            node,
            what,
            args,
        } => match node {
            Some(node) => cli::show(&lab, &node, what.as_deref(), &args),
            None => cli::show_ids(&lab),
        },
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
