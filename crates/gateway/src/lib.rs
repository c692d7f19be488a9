//! What every tunnel-terminating gateway daemon shares, whatever AWS concept it emulates:
//!
//! ```text
//!  daemon::run::<D>      config file -> D::start -> control socket -> signal -> D::shutdown
//!  bundle::Tunnels       the running tunnels of one gateway, their `show` view, rekey action,
//!                        BGP events -> control-socket events
//!  tunnel::Tunnel        one tunnel: TUN (inside /30) + ipsec::tunnel (IKEv2) + ESP data plane
//!  fib::KernelRoutes     the gateway's selected routes kept in sync with a kernel table,
//!                        never replacing a route it did not install
//!  origination          the `advertise` / `withdraw` actions of a gateway's BGP speaker
//!  underlay::Underlay    the tunnels' own IKE/ESP resolve in a table of their own (policy
//!                        rules on the outside addresses), apart from tunnel-learned routes
//!  error::ConfigError    "item: message" refusals of a configuration
//! ```
//!
//! What it does not do: know AWS's option ranges or defaults, choose routes, or name a gateway
//! kind (the `vgw/`, `cgw/`, ... packages do, on top of this).

pub mod bundle;
pub mod daemon;
pub mod error;
pub mod fib;
pub mod origination;
pub mod tunnel;
pub mod underlay;

pub use bundle::{GatewayError, Tunnels};
pub use error::ConfigError;
