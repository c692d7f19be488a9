//! A Connect peer's inside CIDR as AWS accepts it \[T2, T4, T7\] (`aws-behaviour.md` §5):
//! a /29 from 169.254.0.0/16, none of the reserved blocks 169.254.0.0/29 .. 169.254.5.0/29 and
//! 169.254.169.248/29, unique across the transit gateway. The appliance takes the first usable
//! address (`.1`), the TGW's two BGP speakers the next two (`.2`, `.3`).
//!
//! The optional IPv6 inside CIDR is a /125 from fd00::/8, unique across the TGW too; its
//! first three addresses are the appliance's and the two speakers' IPv6 addresses, the next
//! hops of the IPv6 routes the sessions carry (MP-BGP, RFC 4760, over the IPv4 sessions).
//!
//! What it does not do: check uniqueness itself (the caller passes the CIDRs already taken).

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

/// The reserved /29s AWS refuses \[T4\].
pub const RESERVED: [Ipv4Net; 7] = [
    net(169, 254, 0, 0),
    net(169, 254, 1, 0),
    net(169, 254, 2, 0),
    net(169, 254, 3, 0),
    net(169, 254, 4, 0),
    net(169, 254, 5, 0),
    net(169, 254, 169, 248),
];

const fn net(a: u8, b: u8, c: u8, d: u8) -> Ipv4Net {
    match Ipv4Net::new(Ipv4Addr::new(a, b, c, d), 29) {
        Ok(n) => n,
        Err(_) => panic!("a /29"),
    }
}

/// Why AWS refuses an inside CIDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InsideCidrError {
    /// Not a /29.
    #[error("{0}: a Connect peer's inside CIDR must be a /29")]
    NotSlash29(Ipv4Net),
    /// Host bits set.
    #[error("{0}: not a network address (did you mean {1}?)")]
    HostBits(Ipv4Net, Ipv4Net),
    /// Outside 169.254.0.0/16.
    #[error("{0}: a Connect peer's inside CIDR must be within 169.254.0.0/16")]
    NotLinkLocal(Ipv4Net),
    /// A reserved block.
    #[error(
        "{0} is reserved by AWS (169.254.0.0/29 to 169.254.5.0/29 and 169.254.169.248/29 cannot be used)"
    )]
    Reserved(Ipv4Net),
    /// Taken by another peer of the same transit gateway.
    #[error(
        "{0} is already used by Connect peer {1} of this transit gateway (inside CIDRs are unique across a TGW)"
    )]
    Duplicate(Ipv4Net, String),
}

/// Checks `cidr` against AWS's rules; `taken` are the (peer, /29) pairs of the transit gateway's
/// other Connect peers.
pub fn validate<'a>(
    cidr: Ipv4Net,
    taken: impl IntoIterator<Item = (&'a str, Ipv4Net)>,
) -> Result<(), InsideCidrError> {
    if cidr.prefix_len() != 29 {
        return Err(InsideCidrError::NotSlash29(cidr));
    }
    if cidr.trunc() != cidr {
        return Err(InsideCidrError::HostBits(cidr, cidr.trunc()));
    }
    let link_local: Ipv4Net = "169.254.0.0/16".parse().expect("a prefix");
    if !link_local.contains(&cidr) {
        return Err(InsideCidrError::NotLinkLocal(cidr));
    }
    if RESERVED.contains(&cidr) {
        return Err(InsideCidrError::Reserved(cidr));
    }
    for (peer, other) in taken {
        if other.trunc() == cidr {
            return Err(InsideCidrError::Duplicate(cidr, peer.to_string()));
        }
    }
    Ok(())
}

/// Why AWS refuses an IPv6 inside CIDR \[T2\].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InsideCidrV6Error {
    /// Not a /125.
    #[error("{0}: a Connect peer's IPv6 inside CIDR must be a /125")]
    NotSlash125(Ipv6Net),
    /// Host bits set.
    #[error("{0}: not a network address (did you mean {1}?)")]
    HostBits(Ipv6Net, Ipv6Net),
    /// Outside fd00::/8.
    #[error("{0}: a Connect peer's IPv6 inside CIDR must be within fd00::/8")]
    NotUniqueLocal(Ipv6Net),
    /// Taken by another peer of the same transit gateway.
    #[error(
        "{0} is already used by Connect peer {1} of this transit gateway (inside CIDRs are unique across a TGW)"
    )]
    Duplicate(Ipv6Net, String),
}

/// Checks an IPv6 inside CIDR against AWS's rules; `taken` are the (peer, /125) pairs of the
/// transit gateway's other Connect peers.
pub fn validate_v6<'a>(
    cidr: Ipv6Net,
    taken: impl IntoIterator<Item = (&'a str, Ipv6Net)>,
) -> Result<(), InsideCidrV6Error> {
    if cidr.prefix_len() != 125 {
        return Err(InsideCidrV6Error::NotSlash125(cidr));
    }
    if cidr.trunc() != cidr {
        return Err(InsideCidrV6Error::HostBits(cidr, cidr.trunc()));
    }
    let ula: Ipv6Net = "fd00::/8".parse().expect("a prefix");
    if !ula.contains(&cidr) {
        return Err(InsideCidrV6Error::NotUniqueLocal(cidr));
    }
    for (peer, other) in taken {
        if other.trunc() == cidr {
            return Err(InsideCidrV6Error::Duplicate(cidr, peer.to_string()));
        }
    }
    Ok(())
}

/// The appliance's IPv6 address (`::1` of the /125) and the TGW speakers' (`::2`, `::3`), as
/// the IPv4 ones (inferred: AWS names the first address the appliance's, as for the /29).
pub fn addresses_v6(cidr: Ipv6Net) -> (Ipv6Addr, [Ipv6Addr; 2]) {
    let base = u128::from(cidr.network());
    (
        Ipv6Addr::from(base + 1),
        [Ipv6Addr::from(base + 2), Ipv6Addr::from(base + 3)],
    )
}

/// The appliance's address (`.1`) and the TGW's two BGP speakers (`.2`, `.3`) of a /29.
pub fn addresses(cidr: Ipv4Net) -> (Ipv4Addr, [Ipv4Addr; 2]) {
    let base = u32::from(cidr.network());
    (
        Ipv4Addr::from(base + 1),
        [Ipv4Addr::from(base + 2), Ipv4Addr::from(base + 3)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn item_9_addresses() {
        let (appliance, tgw) = addresses(n("169.254.6.0/29"));
        assert_eq!(appliance, Ipv4Addr::new(169, 254, 6, 1));
        assert_eq!(
            tgw,
            [Ipv4Addr::new(169, 254, 6, 2), Ipv4Addr::new(169, 254, 6, 3)]
        );
    }

    #[test]
    fn aws_rules_table() {
        let ok = [
            "169.254.6.0/29",
            "169.254.100.8/29",
            "169.254.169.240/29",
            "169.254.6.8/29",
        ];
        for c in ok {
            assert_eq!(validate(n(c), []), Ok(()), "{c}");
        }
        let reserved = [
            "169.254.0.0/29",
            "169.254.1.0/29",
            "169.254.2.0/29",
            "169.254.3.0/29",
            "169.254.4.0/29",
            "169.254.5.0/29",
            "169.254.169.248/29",
        ];
        for c in reserved {
            assert_eq!(
                validate(n(c), []),
                Err(InsideCidrError::Reserved(n(c))),
                "{c}"
            );
        }
        assert!(matches!(
            validate(n("169.254.6.0/30"), []),
            Err(InsideCidrError::NotSlash29(_))
        ));
        assert!(matches!(
            validate(n("169.254.6.0/28"), []),
            Err(InsideCidrError::NotSlash29(_))
        ));
        assert!(matches!(
            validate(n("10.0.0.0/29"), []),
            Err(InsideCidrError::NotLinkLocal(_))
        ));
        assert!(matches!(
            validate(n("169.254.6.4/29"), []),
            Err(InsideCidrError::HostBits(..))
        ));
        let e = validate(n("169.254.6.0/29"), [("p1", n("169.254.6.0/29"))]).unwrap_err();
        assert_eq!(
            e,
            InsideCidrError::Duplicate(n("169.254.6.0/29"), "p1".into())
        );
        assert!(e.to_string().contains("unique across a TGW"));
        // Only the exact reserved blocks: the neighbours of 169.254.5.0/29 are fine.
        assert_eq!(validate(n("169.254.5.8/29"), []), Ok(()));
    }

    #[test]
    fn ipv6_rules_table() {
        let n6 = |s: &str| -> Ipv6Net { s.parse().unwrap() };
        assert_eq!(validate_v6(n6("fd00:6::/125"), []), Ok(()));
        assert_eq!(validate_v6(n6("fdff:ffff::fff8/125"), []), Ok(()));
        assert!(matches!(
            validate_v6(n6("fd00:6::/126"), []),
            Err(InsideCidrV6Error::NotSlash125(_))
        ));
        assert!(matches!(
            validate_v6(n6("fd00:6::4/125"), []),
            Err(InsideCidrV6Error::HostBits(..))
        ));
        for outside in ["fc00::/125", "2001:db8::/125", "fe80::/125"] {
            assert!(
                matches!(
                    validate_v6(n6(outside), []),
                    Err(InsideCidrV6Error::NotUniqueLocal(_))
                ),
                "{outside}"
            );
        }
        let e = validate_v6(n6("fd00:6::8/125"), [("p2", n6("fd00:6::8/125"))]).unwrap_err();
        assert!(e.to_string().contains("Connect peer p2"), "{e}");
        let (me, tgw) = addresses_v6(n6("fd00:6::8/125"));
        assert_eq!(me, "fd00:6::9".parse::<Ipv6Addr>().unwrap());
        assert_eq!(
            tgw,
            [
                "fd00:6::a".parse::<Ipv6Addr>().unwrap(),
                "fd00:6::b".parse::<Ipv6Addr>().unwrap()
            ]
        );
    }
}
