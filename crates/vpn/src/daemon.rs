//! The `main` of both daemons (`hl-vgw`, `hl-cgw`, and `hybridlab daemon vgw|cgw`): read and
//! validate the configuration, start the gateway in the current namespace, serve the control
//! socket, and stop cleanly on SIGINT/SIGTERM (BGP Cease, IKE DELETE, routes removed).
//!
//! Exit codes: 0 after a clean stop, 2 for a bad configuration (nothing was started), 1 when
//! the gateway failed to start or run.
//!
//! What it does not do: create namespaces or underlay links (the scenario engine does).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use tracing::{error, info};

use crate::{Cgw, CgwConfig, Vgw, VgwConfig};

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

/// Which daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Virtual private gateway.
    Vgw,
    /// Customer gateway.
    Cgw,
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

enum Config {
    Vgw(Box<VgwConfig>),
    Cgw(Box<CgwConfig>),
}

fn load(kind: Kind, path: &Path) -> Result<Config, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let parsed = match kind {
        Kind::Vgw => VgwConfig::from_toml(&text).map(|c| Config::Vgw(Box::new(c))),
        Kind::Cgw => CgwConfig::from_toml(&text).map(|c| Config::Cgw(Box::new(c))),
    };
    parsed.map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs a daemon to completion.
pub fn main(kind: Kind, args: DaemonArgs) -> ExitCode {
    ExitCode::from(run(kind, args))
}

/// Runs a daemon to completion; returns the exit code (0, 1 or 2, see the module docs).
pub fn run(kind: Kind, args: DaemonArgs) -> u8 {
    init_logging(args.log_json);
    let config = match load(kind, &args.config) {
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
        enum Running {
            Vgw(Vgw),
            Cgw(Cgw),
        }
        let control = args.control.as_deref();
        let running = match config {
            Config::Vgw(c) => Vgw::start(*c, control).await.map(Running::Vgw),
            Config::Cgw(c) => Cgw::start(*c, control).await.map(Running::Cgw),
        };
        let running = match running {
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
        match running {
            Running::Vgw(v) => v.shutdown().await,
            Running::Cgw(c) => c.shutdown().await,
        }
        0
    })
}
