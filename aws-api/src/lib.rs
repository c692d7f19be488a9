//! An AWS-shaped API over a running lab, so boto3, the aws CLI and people's runbooks read and
//! drive it with the calls they already use (`--endpoint-url http://127.0.0.1:PORT`): the
//! EC2 Query API's VPN calls and the Direct Connect JSON API, SigV4-authenticated with the
//! credentials the lab prints, answered from the daemons' live state and acting through the
//! same control actions as the scenario timeline.
//!
//! ```text
//!  http       HTTP/1.1 framing (httparse), keep-alive, size limits
//!  sigv4      Signature Version 4 verification
//!  form       form bodies / query strings, SigV4's URI encoding
//!  server     protocol dispatch (X-Amz-Target or Action), auth first, errors in AWS's shapes
//!  ec2        the EC2 Query VPN calls (XML)      directconnect  the DX calls (JSON 1.1)
//!  transitgateway  the EC2 Query TGW calls (XML)
//!  transitgateway_routes  TGW route-table changes (static routes, propagations)
//!  inventory  the lab's resources, from the binary    lab  control sockets
//!  ids        stable per-lab resource ids        xml, time, error  output helpers
//! ```
//!
//! What it does not do: create or delete gateways, connections or attachments (the scenario
//! defines them; routes and propagations do change), TLS.

pub mod directconnect;
pub mod ec2;
pub mod error;
pub mod form;
pub mod http;
pub mod ids;
pub mod inventory;
pub mod lab;
pub mod server;
pub mod sigv4;
pub mod time;
pub mod transitgateway;
pub mod transitgateway_routes;
pub mod xml;

pub use server::{ApiConfig, serve};
pub use sigv4::Credentials;
