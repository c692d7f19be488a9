//! The tunnel: an AWS Site-to-Site VPN tunnel's configuration (every AWS tunnel option, validated)
//! and the tokio driver that runs its IKE session against the ESP data plane.
//!
//! - [`config`]: [`TunnelConfig`] with AWS defaults and ranges, the timing profile, and the
//!   mapping to the IKE session's settings;
//! - [`psk`]: the validated, never-printed pre-shared key;
//! - [`driver`] (feature `dataplane`): [`spawn`] a tunnel task, [`TunnelHandle`] to show, rekey,
//!   initiate, close and subscribe to events;
//! - [`event`], [`show`]: what the control socket streams and shows.
//!
//! What it does not do: choose addresses, build namespaces or TUN devices, or serve the control
//! socket. The VGW and CGW daemons do, through this API.

pub mod config;
#[cfg(feature = "dataplane")]
pub mod driver;
pub mod event;
pub mod psk;
pub mod show;

pub use config::{TunnelConfig, TunnelOptions};
#[cfg(feature = "dataplane")]
pub use driver::{EspIo, TunnelError, TunnelHandle, TunnelIo, bind_ike_sockets, spawn};
pub use event::TunnelEvent;
pub use psk::Psk;
pub use show::TunnelShow;
