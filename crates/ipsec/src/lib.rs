//! IPsec for hybridlab: IKEv2 and ESP-in-UDP, what a Site-to-Site VPN tunnel is made of.
//!
//! - [`crypto`]: the cipher suites (AEAD, AES-CBC + HMAC, PRF, Diffie-Hellman incl. MODP) shared by
//!   IKE and ESP.
//! - [`ike`]: IKEv2 messages, key derivation and the sans-IO IKE SA state machine.
//! - [`tunnel`]: a tunnel's protocol-level configuration and the tokio driver tying the IKE
//!   session to the data plane.
//!
//! The protocol cores (IKEv2 SA state machines, ESP SAs, anti-replay) are sans-IO: no tokio, no
//! sockets, no clock reads. The data plane (TUN <-> ESP-in-UDP) and the tokio tunnel driver sit beside
//! them. This crate does not choose AWS policy (which proposals a VGW offers, DPD action,
//! lifetimes, timers, ranges, key rules): the gateway packages pass concrete values in.

pub mod crypto;
#[cfg(feature = "dataplane")]
pub mod dataplane;
pub mod esp;
pub mod ike;
pub mod tunnel;
