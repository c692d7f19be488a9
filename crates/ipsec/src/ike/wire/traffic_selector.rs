//! Traffic selectors (RFC 7296 §3.13.1): the address and port ranges a CHILD_SA carries.
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   TS Type     |IP Protocol ID*|       Selector Length         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Start Port*         |           End Port*           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ~                         Starting Address*                     ~
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ~                         Ending Address*                       ~
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  TS Type 7 = TS_IPV4_ADDR_RANGE (16 octets), 8 = TS_IPV6_ADDR_RANGE (40 octets)
//!
//!  TS payload body: | Number of TSs | RESERVED (3) | <Traffic Selectors> |
//! ```
//!
//! AWS route-based tunnels use 0.0.0.0/0 (and ::/0) with any protocol and port: [`TrafficSelector::any_v4`].
//!
//! What it does not do: narrow selectors (that is `ike::negotiation`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::DecodeError;
use super::reader::Reader;

/// TS_IPV4_ADDR_RANGE.
pub const TS_IPV4_ADDR_RANGE: u8 = 7;
/// TS_IPV6_ADDR_RANGE.
pub const TS_IPV6_ADDR_RANGE: u8 = 8;

/// One traffic selector: an address range, an IP protocol (0 = any) and a port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrafficSelector {
    /// IP protocol number, 0 for any.
    pub ip_protocol: u8,
    /// First port.
    pub start_port: u16,
    /// Last port.
    pub end_port: u16,
    /// First address.
    pub start: IpAddr,
    /// Last address (same family as `start`).
    pub end: IpAddr,
}

impl TrafficSelector {
    /// All of IPv4, any protocol and port (0.0.0.0/0).
    pub fn any_v4() -> TrafficSelector {
        TrafficSelector {
            ip_protocol: 0,
            start_port: 0,
            end_port: 65535,
            start: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            end: IpAddr::V4(Ipv4Addr::BROADCAST),
        }
    }

    /// Every address of `net`, any protocol and port.
    pub fn ipv4_net(net: ipnet::Ipv4Net) -> TrafficSelector {
        TrafficSelector {
            ip_protocol: 0,
            start_port: 0,
            end_port: 65535,
            start: IpAddr::V4(net.network()),
            end: IpAddr::V4(net.broadcast()),
        }
    }

    /// All of IPv6, any protocol and port (::/0).
    pub fn any_v6() -> TrafficSelector {
        TrafficSelector {
            ip_protocol: 0,
            start_port: 0,
            end_port: 65535,
            start: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            end: IpAddr::V6(Ipv6Addr::from(u128::MAX)),
        }
    }

    /// Does `self` contain every packet `other` describes?
    pub fn contains(&self, other: &TrafficSelector) -> bool {
        let proto = self.ip_protocol == 0 || self.ip_protocol == other.ip_protocol;
        let ports = self.start_port <= other.start_port && other.end_port <= self.end_port;
        let addrs = match (self.start, self.end, other.start, other.end) {
            (IpAddr::V4(a), IpAddr::V4(b), IpAddr::V4(c), IpAddr::V4(d)) => a <= c && d <= b,
            (IpAddr::V6(a), IpAddr::V6(b), IpAddr::V6(c), IpAddr::V6(d)) => a <= c && d <= b,
            _ => false,
        };
        proto && ports && addrs
    }

    /// The intersection of two selectors, if not empty (used to narrow, RFC 7296 §2.9).
    pub fn intersect(&self, other: &TrafficSelector) -> Option<TrafficSelector> {
        let ip_protocol = match (self.ip_protocol, other.ip_protocol) {
            (0, p) | (p, 0) => p,
            (a, b) if a == b => a,
            _ => return None,
        };
        let start_port = self.start_port.max(other.start_port);
        let end_port = self.end_port.min(other.end_port);
        if start_port > end_port {
            return None;
        }
        let (start, end) = match (self.start, self.end, other.start, other.end) {
            (IpAddr::V4(a), IpAddr::V4(b), IpAddr::V4(c), IpAddr::V4(d)) => {
                let (s, e) = (a.max(c), b.min(d));
                if s > e {
                    return None;
                }
                (IpAddr::V4(s), IpAddr::V4(e))
            }
            (IpAddr::V6(a), IpAddr::V6(b), IpAddr::V6(c), IpAddr::V6(d)) => {
                let (s, e) = (a.max(c), b.min(d));
                if s > e {
                    return None;
                }
                (IpAddr::V6(s), IpAddr::V6(e))
            }
            _ => return None,
        };
        Some(TrafficSelector {
            ip_protocol,
            start_port,
            end_port,
            start,
            end,
        })
    }
}

impl std::fmt::Display for TrafficSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.start, self.end)?;
        if self.ip_protocol != 0 {
            write!(f, "[proto {}]", self.ip_protocol)?;
        }
        if (self.start_port, self.end_port) != (0, 65535) {
            write!(f, "[ports {}-{}]", self.start_port, self.end_port)?;
        }
        Ok(())
    }
}

/// Decodes a TS payload body.
pub(crate) fn decode_selectors(body: &[u8]) -> Result<Vec<TrafficSelector>, DecodeError> {
    let mut r = Reader::new(body);
    let count = r.u8("number of TSs")? as usize;
    r.take(3, "TS reserved")?;
    let mut out = Vec::with_capacity(count.min(16));
    for _ in 0..count {
        let kind = r.u8("TS type")?;
        let ip_protocol = r.u8("TS IP protocol")?;
        let len = r.u16("selector length")? as usize;
        let (addr_len, expected) = match kind {
            TS_IPV4_ADDR_RANGE => (4, 16),
            TS_IPV6_ADDR_RANGE => (16, 40),
            other => {
                return Err(DecodeError::Invalid {
                    what: "TS type",
                    value: other as u32,
                });
            }
        };
        if len != expected {
            return Err(DecodeError::Length {
                what: "traffic selector",
                declared: len,
                available: expected,
            });
        }
        let start_port = r.u16("start port")?;
        let end_port = r.u16("end port")?;
        let a = r.take(addr_len, "start address")?;
        let b = r.take(addr_len, "end address")?;
        let (start, end) = if addr_len == 4 {
            (
                IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3])),
                IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])),
            )
        } else {
            let mut x = [0u8; 16];
            let mut y = [0u8; 16];
            x.copy_from_slice(a);
            y.copy_from_slice(b);
            (IpAddr::V6(Ipv6Addr::from(x)), IpAddr::V6(Ipv6Addr::from(y)))
        };
        out.push(TrafficSelector {
            ip_protocol,
            start_port,
            end_port,
            start,
            end,
        });
    }
    if !r.is_empty() {
        return Err(DecodeError::Trailing {
            what: "TS payload",
            octets: r.remaining(),
        });
    }
    Ok(out)
}

/// Encodes a TS payload body. Selectors whose two addresses differ in family are written with the
/// start address's family and the end address mapped to it (callers build them consistently).
pub(crate) fn encode_selectors(selectors: &[TrafficSelector], out: &mut Vec<u8>) {
    out.push(selectors.len() as u8);
    out.extend_from_slice(&[0, 0, 0]);
    for ts in selectors {
        match (ts.start, ts.end) {
            (IpAddr::V4(a), end) => {
                let b = match end {
                    IpAddr::V4(b) => b,
                    IpAddr::V6(_) => Ipv4Addr::BROADCAST,
                };
                out.extend_from_slice(&[TS_IPV4_ADDR_RANGE, ts.ip_protocol, 0, 16]);
                out.extend_from_slice(&ts.start_port.to_be_bytes());
                out.extend_from_slice(&ts.end_port.to_be_bytes());
                out.extend_from_slice(&a.octets());
                out.extend_from_slice(&b.octets());
            }
            (IpAddr::V6(a), end) => {
                let b = match end {
                    IpAddr::V6(b) => b,
                    IpAddr::V4(_) => Ipv6Addr::from(u128::MAX),
                };
                out.extend_from_slice(&[TS_IPV6_ADDR_RANGE, ts.ip_protocol, 0, 40]);
                out.extend_from_slice(&ts.start_port.to_be_bytes());
                out.extend_from_slice(&ts.end_port.to_be_bytes());
                out.extend_from_slice(&a.octets());
                out.extend_from_slice(&b.octets());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intersection_narrows_and_detects_disjoint() {
        let any = TrafficSelector::any_v4();
        let net = TrafficSelector {
            ip_protocol: 6,
            start_port: 0,
            end_port: 65535,
            start: "10.0.0.0".parse().unwrap(),
            end: "10.0.0.255".parse().unwrap(),
        };
        assert_eq!(any.intersect(&net), Some(net));
        assert!(any.contains(&net));
        assert!(!net.contains(&any));
        assert_eq!(net.intersect(&TrafficSelector::any_v6()), None);
        let udp = TrafficSelector {
            ip_protocol: 17,
            ..net
        };
        assert_eq!(net.intersect(&udp), None);
    }

    #[test]
    fn aws_selectors_encode_as_rfc_layout() {
        let mut out = Vec::new();
        encode_selectors(&[TrafficSelector::any_v4()], &mut out);
        assert_eq!(
            hex::encode(&out),
            "01000000070000100000ffff00000000ffffffff"
        );
        assert_eq!(
            decode_selectors(&out).unwrap(),
            vec![TrafficSelector::any_v4()]
        );
    }
}
