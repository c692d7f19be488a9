//! The `main` every gateway daemon shares (`hl-vgw`, `hl-cgw`, and `hybridlab daemon vgw|cgw`):
//! read and validate the configuration, start the gateway in the current namespace, serve the
//! control socket, and stop cleanly on SIGINT/SIGTERM (BGP Cease, IKE DELETE, routes removed).
//!
//! A gateway package implements [`Daemon`] for its gateway; [`run`] does the rest.
//!
//! Exit codes: 0 after a clean stop, 2 for a bad configuration (nothing was started), 1 when
//! the gateway failed to start or run.
//!
//! What it does not do: create namespaces or underlay links (the scenario engine does).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use tracing::{error, info};

use crate::bundle::GatewayError;

/// Command-line arguments of a gateway daemon.
#[derive(Debug, Parser)]
pub struct DaemonArgs {
    /// TOML configuration file.
    #[arg(long, short)]
    pub config: PathBuf,
    /// Control socket path (JSON lines).
    #[arg(long)]
    pub control: Option<PathBuf>,
    /// Only validate the configuration.
    #[arg(long)]
    pub check: bool,
    /// Log as JSON lines.
    #[arg(long)]
    pub log_json: bool,
}

/// A gateway that [`run`] can start from a TOML file and stop on a signal.
pub trait Daemon: Sized {
    /// Its configuration file.
    type Config;

    /// Parses and validates the configuration (the error names the item, never a key).
    fn parse_config(text: &str) -> Result<Self::Config, String>;

    /// Starts the gateway in the current namespace, serving `control` when given.
    fn start(
        config: Self::Config,
        control: Option<&Path>,
    ) -> impl Future<Output = Result<Self, GatewayError>>;

    /// Stops it: sessions closed, tunnels deleted, routes removed.
    fn shutdown(self) -> impl Future<Output = ()>;
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn load<D: Daemon>(path: &Path) -> Result<D::Config, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    D::parse_config(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs daemon `D` to completion.
pub fn main<D: Daemon>(args: DaemonArgs) -> ExitCode {
    ExitCode::from(run::<D>(args))
}

/// Runs daemon `D` to completion; returns the exit code (0, 1 or 2, see the module docs).
pub fn run<D: Daemon>(args: DaemonArgs) -> u8 {
    init_logging(args.log_json);
    let config = match load::<D>(&args.config) {
        Ok(c) => c,
        Err(e) => {
            error!("invalid configuration: {e}");
            return 2;
        }
    };
    if args.check {
        info!("configuration is valid");
        return 0;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!(error = %e, "cannot start the runtime");
            return 1;
        }
    };
    rt.block_on(async move {
        let running = match D::start(config, args.control.as_deref()).await {
            Ok(r) => r,
            Err(e) => {
                error!("{e}");
                return 1;
            }
        };
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    error!(error = %e, "cannot watch SIGTERM");
                    return 1;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        info!("stopping");
        running.shutdown().await;
        0
    })
}

/// The daemon's start file (`daemon.json` in the node directory), written by the scenario
/// engine's kinds: where its configuration is and which control socket to serve.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartFile {
    /// The gateway's TOML configuration, relative to this file's directory.
    pub config: PathBuf,
    /// The control socket to serve.
    pub control: PathBuf,
}

/// Runs daemon `D` from its start file (`hybridlab daemon <kind> --config daemon.json`);
/// returns its exit code.
pub fn run_from_start_file<D: Daemon>(start_file: &Path) -> Result<i32, String> {
    let text = std::fs::read_to_string(start_file)
        .map_err(|e| format!("{}: cannot read: {e}", start_file.display()))?;
    let f: StartFile =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", start_file.display()))?;
    let dir = start_file.parent().unwrap_or(Path::new("."));
    let args = DaemonArgs {
        config: dir.join(f.config),
        control: Some(f.control),
        check: false,
        log_json: false,
    };
    Ok(i32::from(run::<D>(args)))
}
