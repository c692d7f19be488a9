//! Choosing what AWS chooses when the operator does not: a tunnel's inside /30 and its
//! pre-shared key \[V1, V15\]; and the customer's view of a VPN connection, which is what AWS's
//! "download configuration" hands out and what a `cgw` is configured from.
//!
//! Inside CIDRs come from a seeded generator (a scenario replays with the same addresses); PSKs
//! come from the operating system's CSPRNG, as a key should.
//!
//! What it does not do: validate a finished configuration ([`crate::config`] does), or write
//! files.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use rand::{Rng, SeedableRng, rngs::StdRng};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::config::{
    CgwConnection, CgwTunnel, Routing, VgwConfig, VgwConnection, check_inside_cidr,
};
use crate::psk::Psk;
use crate::tunnel_options::{DpdTimeoutAction, Startup, TunnelOptions};

/// Characters of an AWS-generated PSK (AWS allows `[A-Za-z0-9._]`; its own keys use these).
const PSK_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";
/// Length of an AWS-generated PSK \[V1\].
pub const GENERATED_PSK_LEN: usize = 32;

/// Picks inside /30s within 169.254.0.0/16 that AWS would accept, unique per VGW.
#[derive(Debug)]
pub struct InsideCidrAllocator {
    rng: StdRng,
    taken: HashSet<Ipv4Net>,
}

impl InsideCidrAllocator {
    /// An allocator drawing from `seed`, avoiding `taken`.
    pub fn new(seed: u64, taken: impl IntoIterator<Item = Ipv4Net>) -> InsideCidrAllocator {
        InsideCidrAllocator {
            rng: StdRng::seed_from_u64(seed),
            taken: taken.into_iter().collect(),
        }
    }

    /// The next free /30 (16,384 exist; the reserved seven are never returned).
    pub fn allocate(&mut self) -> Ipv4Net {
        loop {
            let block: u32 = self.rng.random_range(0..16384);
            let addr = Ipv4Addr::from(0xA9FE_0000 | (block << 2));
            let cidr = Ipv4Net::new(addr, 30).expect("a /30");
            if check_inside_cidr(cidr).is_ok() && self.taken.insert(cidr) {
                return cidr;
            }
        }
    }
}

/// A fresh 32-character key by AWS's rules (never starting with `0`).
pub fn generate_psk() -> Psk {
    let rng = SystemRandom::new();
    let mut key = Zeroizing::new(String::with_capacity(GENERATED_PSK_LEN));
    let mut byte = [0u8; 1];
    while key.len() < GENERATED_PSK_LEN {
        rng.fill(&mut byte).expect("the OS random source works");
        // 256 is a multiple of the 64-character alphabet: no modulo bias.
        let c = PSK_ALPHABET[usize::from(byte[0]) % PSK_ALPHABET.len()] as char;
        if key.is_empty() && c == '0' {
            continue;
        }
        key.push(c);
    }
    Psk::new(&key).expect("generated keys follow the rules")
}

/// A key by AWS's rules derived from a VGW's `seed` and `label` (e.g. `vgw1/vpn1/t1`): the
/// same inputs always give the same key, so a scenario that sets `seed` replays with the same
/// keys (and `hybridlab cgw-config SCENARIO` can print them before any lab runs). Such keys
/// are computable by anyone who reads the scenario: a replay choice, never the default.
pub fn derive_psk(seed: u64, label: &str) -> Psk {
    derive_psk_from(&seed.to_be_bytes(), label)
}

/// A key by AWS's rules derived from secret key material `root` and `label`. With the lab's
/// random secret as `root` (`engine::lab_secret`) this is AWS's random key, drawn once per
/// lab: every process of a run plans the same key from the same secret without the key being
/// written anywhere but the daemons' configuration files (HMAC-SHA256 as a PRF, RFC 2104).
pub fn derive_psk_from(root: &[u8], label: &str) -> Psk {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, root);
    let mut key_text = Zeroizing::new(String::with_capacity(GENERATED_PSK_LEN));
    let mut counter = 0u32;
    while key_text.len() < GENERATED_PSK_LEN {
        let mut ctx = ring::hmac::Context::with_key(&key);
        ctx.update(b"hybridlab psk\0");
        ctx.update(label.as_bytes());
        ctx.update(&counter.to_be_bytes());
        let tag = ctx.sign();
        for b in tag.as_ref() {
            // 256 is a multiple of the 64-character alphabet: no modulo bias.
            let c = PSK_ALPHABET[usize::from(*b) % PSK_ALPHABET.len()] as char;
            if (key_text.is_empty() && c == '0') || key_text.len() == GENERATED_PSK_LEN {
                continue;
            }
            key_text.push(c);
        }
        counter += 1;
    }
    Psk::new(&key_text).expect("derived keys follow the rules")
}

/// The customer gateway's side of connection `vgw.connections[index]`: outside addresses
/// swapped, the same inside /30s and keys, AWS's ASN, the VPC CIDRs as static routes for a
/// static VPN, and the tunnel options with startup action `start` (the customer gateway
/// initiates by default \[V1\]) and DPD action `restart` (AWS's sample customer gateway
/// configurations restart a dead tunnel; the VGW side keeps AWS's `clear`).
pub fn customer_view(vgw: &VgwConfig, connection: &VgwConnection) -> CgwConnection {
    CgwConnection {
        name: connection.name.clone(),
        routing: connection.routing,
        amazon_side_asn: vgw.amazon_side_asn,
        static_routes: match connection.routing {
            Routing::Static => vgw.vpc_cidrs.clone(),
            Routing::Dynamic => Vec::new(),
        },
        tunnels: connection
            .tunnels
            .iter()
            .map(|t| CgwTunnel {
                outside_ip: t.customer_ip,
                aws_ip: t.outside_ip,
                inside_cidr: t.inside_cidr,
                pre_shared_key: t.pre_shared_key.clone(),
                as_path_prepend: 0,
                med: None,
                options: TunnelOptions {
                    startup_action: Startup::Start,
                    dpd_timeout_action: DpdTimeoutAction::Restart,
                    ..t.options.clone()
                },
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_follow_aws_rules_and_depend_on_seed_and_label() {
        let a = derive_psk(1, "vgw1/vpn1/t1");
        assert_eq!(
            a.secret().expose(),
            derive_psk(1, "vgw1/vpn1/t1").secret().expose()
        );
        assert_ne!(
            a.secret().expose(),
            derive_psk(2, "vgw1/vpn1/t1").secret().expose()
        );
        assert_ne!(
            a.secret().expose(),
            derive_psk(1, "vgw1/vpn1/t2").secret().expose()
        );
        for seed in 0..200 {
            let k = derive_psk(seed, "x");
            assert_eq!(k.secret().expose().len(), GENERATED_PSK_LEN);
            assert!(!k.secret().expose().starts_with('0'));
        }
    }

    #[test]
    fn allocated_cidrs_are_valid_unique_and_reproducible() {
        let mut a = InsideCidrAllocator::new(7, []);
        let mut b = InsideCidrAllocator::new(7, []);
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            let x = a.allocate();
            assert_eq!(x, b.allocate());
            assert!(check_inside_cidr(x).is_ok(), "{x}");
            assert!(seen.insert(x), "{x} twice");
        }
    }

    #[test]
    fn allocation_avoids_taken_blocks() {
        let taken: Vec<Ipv4Net> = (0..16384u32)
            .map(|b| Ipv4Net::new(Ipv4Addr::from(0xA9FE_0000 | (b << 2)), 30).unwrap())
            .filter(|n| n.network() != Ipv4Addr::new(169, 254, 77, 4))
            .collect();
        let mut a = InsideCidrAllocator::new(1, taken);
        assert_eq!(a.allocate(), "169.254.77.4/30".parse::<Ipv4Net>().unwrap());
    }

    #[test]
    fn generated_keys_follow_aws_rules_and_differ() {
        let a = generate_psk();
        let b = generate_psk();
        assert_ne!(a, b);
        for k in [&a, &b] {
            let text = k.secret().expose();
            assert_eq!(text.len(), GENERATED_PSK_LEN);
            assert!(Psk::new(text).is_ok());
        }
        assert_eq!(format!("{a:?}"), "***");
    }
}
