//! NAT detection (RFC 7296 §2.23): the hashes in NAT_DETECTION_SOURCE_IP and
//! NAT_DETECTION_DESTINATION_IP notifies.
//!
//! ```text
//!  hash = SHA-1 ( SPIi | SPIr | IP address | port )     (SPIr is zero in the first request)
//! ```
//!
//! Our data plane always encapsulates ESP in UDP (there is no kernel ESP here), so the emulated
//! end *fakes* its source hash, exactly as strongSwan does with `encap = yes`: the peer then sees
//! a NAT in front of us, floats to port 4500 and sends ESP in UDP. (inferred) AWS supports NAT-T
//! but does not document forcing it; the emulator must, so a customer gateway needs no special
//! setting.
//!
//! What it does not do: keepalives (the data plane sends none; the peer behind a real NAT does).

use std::net::{IpAddr, SocketAddr};

use ring::digest;

/// SHA-1 over SPIs, address and port.
pub fn nat_hash(spi_i: u64, spi_r: u64, addr: SocketAddr) -> Vec<u8> {
    let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(&spi_i.to_be_bytes());
    ctx.update(&spi_r.to_be_bytes());
    match addr.ip() {
        IpAddr::V4(a) => ctx.update(&a.octets()),
        IpAddr::V6(a) => ctx.update(&a.octets()),
    }
    ctx.update(&addr.port().to_be_bytes());
    ctx.finish().as_ref().to_vec()
}

/// What the NAT detection notifies of a message told us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NatDetection {
    /// The peer sent the notifies at all.
    pub supported: bool,
    /// The address the peer saw as our address differs from ours: we are behind a NAT.
    pub local_behind_nat: bool,
    /// None of the peer's source hashes matches where the message came from: it is behind a NAT
    /// (or fakes one to force UDP encapsulation).
    pub remote_behind_nat: bool,
}

impl NatDetection {
    /// Evaluates received hashes. `local` is our address and port, `remote` the source of the
    /// message.
    pub fn evaluate(
        spi_i: u64,
        spi_r: u64,
        source_hashes: &[&[u8]],
        destination_hash: Option<&[u8]>,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> NatDetection {
        if source_hashes.is_empty() && destination_hash.is_none() {
            return NatDetection::default();
        }
        let ours = nat_hash(spi_i, spi_r, local);
        let theirs = nat_hash(spi_i, spi_r, remote);
        NatDetection {
            supported: true,
            local_behind_nat: destination_hash.is_some_and(|h| h != ours.as_slice()),
            remote_behind_nat: !source_hashes.contains(&theirs.as_slice()),
        }
    }

    /// Either side is (or pretends to be) behind a NAT: use port 4500 and ESP in UDP.
    pub fn any(&self) -> bool {
        self.local_behind_nat || self.remote_behind_nat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_hashes_mean_no_nat_and_mismatches_are_attributed() {
        let a: SocketAddr = "192.0.2.1:500".parse().unwrap();
        let b: SocketAddr = "198.51.100.7:500".parse().unwrap();
        let src = nat_hash(1, 0, b);
        let dst = nat_hash(1, 0, a);
        let d = NatDetection::evaluate(1, 0, &[&src], Some(&dst), a, b);
        assert_eq!(
            d,
            NatDetection {
                supported: true,
                local_behind_nat: false,
                remote_behind_nat: false
            }
        );
        let natted: SocketAddr = "198.51.100.7:4501".parse().unwrap();
        let d = NatDetection::evaluate(1, 0, &[&src], Some(&dst), a, natted);
        assert!(d.remote_behind_nat && !d.local_behind_nat && d.any());
        let d = NatDetection::evaluate(1, 0, &[&src], Some(&[0u8; 20]), a, b);
        assert!(d.local_behind_nat);
        assert!(!NatDetection::evaluate(1, 0, &[], None, a, b).supported);
    }
}
