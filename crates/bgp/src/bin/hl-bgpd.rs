//! `hl-bgpd`: hybridlab's BGP speaker as a standalone daemon.
//!
//! ```text
//! hl-bgpd --config bgpd.toml [--control /run/hybridlab/lab/node/node.sock] [--node NAME]
//! hl-bgpd --check --config bgpd.toml          validate the configuration and exit
//! ```
//!
//! It runs in the network namespace it is started in, logs to stderr (`RUST_LOG` filters,
//! `--log-json` for JSON lines), serves `show`/events/actions on the control socket, and stops
//! every session with Cease/Administrative Shutdown on SIGINT/SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use bgp::driver::{Speaker, SpeakerConfig, control};
use bgp::rib::DefaultPolicy;
use clap::Parser;
use tracing::{error, info};

#[derive(Debug, Parser)]
#[command(version, about = "hybridlab BGP-4 speaker")]
struct Args {
    /// TOML configuration file.
    #[arg(long, short)]
    config: PathBuf,
    /// Control socket path (JSON lines).
    #[arg(long)]
    control: Option<PathBuf>,
    /// Node name used in events (default: the router id).
    #[arg(long)]
    node: Option<String>,
    /// Only validate the configuration.
    #[arg(long)]
    check: bool,
    /// Log as JSON lines.
    #[arg(long)]
    log_json: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if args.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
    let text = match std::fs::read_to_string(&args.config) {
        Ok(t) => t,
        Err(e) => {
            error!(path = %args.config.display(), error = %e, "cannot read the configuration");
            return ExitCode::from(2);
        }
    };
    let cfg = match SpeakerConfig::from_toml(&text) {
        Ok(c) => c,
        Err(e) => {
            error!(path = %args.config.display(), "invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    if args.check {
        info!(neighbors = cfg.neighbors.len(), "configuration is valid");
        return ExitCode::SUCCESS;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!(error = %e, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let node = args.node.unwrap_or_else(|| cfg.router_id.to_string());
        let speaker = match Speaker::start(cfg, Box::new(DefaultPolicy)).await {
            Ok(s) => Arc::new(s),
            Err(e) => {
                error!("{e}");
                return ExitCode::FAILURE;
            }
        };
        info!(listen = ?speaker.listen_addrs(), "hl-bgpd running");
        if let Some(path) = args.control.clone() {
            let sp = speaker.clone();
            tokio::spawn(async move {
                if let Err(e) = control::serve(&path, node, sp).await {
                    error!(path = %path.display(), error = %e, "control socket failed");
                }
            });
        }
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    error!(error = %e, "cannot watch SIGTERM");
                    return ExitCode::FAILURE;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        info!("stopping");
        speaker.shutdown().await;
        // Let the writer tasks flush the NOTIFICATIONs.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        if let Some(p) = args.control {
            let _ = std::fs::remove_file(p);
        }
        ExitCode::SUCCESS
    })
}
