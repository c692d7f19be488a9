//! The tunnel: a protocol-level tunnel configuration and the tokio driver that runs its IKE
//! session against the ESP data plane.
//!
//! - [`config`]: [`TunnelConfig`], the IKE session's settings plus the replay window, checked
//!   against RFC 7296 / RFC 4303;
//! - [`driver`] (feature `dataplane`): [`spawn`] a tunnel task, [`TunnelHandle`] to show, rekey,
//!   initiate, close and subscribe to events;
//! - [`event`], [`show`]: what the control socket streams and shows.
//!
//! What it does not do: know any product's tunnel options, defaults or ranges (AWS's are in the
//! `vgw` package), choose addresses, build namespaces or TUN devices, or serve the control
//! socket. The VGW and CGW daemons do, through this API.

pub mod config;
#[cfg(feature = "dataplane")]
pub mod driver;
pub mod event;
pub mod show;

pub use config::{ConfigError, TunnelConfig};
#[cfg(feature = "dataplane")]
pub use driver::{EspIo, TunnelError, TunnelHandle, TunnelIo, bind_ike_sockets, spawn};
pub use event::TunnelEvent;
pub use show::TunnelShow;
