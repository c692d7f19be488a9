//! Compact IP prefixes and the NLRI prefix encoding (RFC 4271 §4.3, RFC 4760 §5).
//!
//! ```text
//! +---------------------------+
//! |   Length (1 octet, bits)  |
//! +---------------------------+
//! |   Prefix (variable)       |   ceil(Length / 8) octets, trailing bits ignored
//! +---------------------------+
//! ```
//!
//! Prefixes are stored as integers plus a length (8 bytes for IPv4, 24 for IPv6), with host bits
//! cleared, so they are cheap keys for the RIB. [`NlriIter`] walks a byte run that
//! [`validate_nlri`] has checked, so iterating cannot fail and allocates nothing.
//!
//! What it does not do: ADD-PATH (RFC 7911) path identifiers; we never negotiate ADD-PATH, so an
//! NLRI run is always plain prefixes (unlike bgp-rs, which guesses from the bytes).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Address families we carry: IPv4 and IPv6 unicast (AFI 1/2, SAFI 1).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Family {
    /// AFI 1, SAFI 1.
    #[serde(rename = "ipv4-unicast")]
    Ipv4Unicast,
    /// AFI 2, SAFI 1.
    #[serde(rename = "ipv6-unicast")]
    Ipv6Unicast,
}

impl Family {
    /// Both families, in a fixed order.
    pub const ALL: [Family; 2] = [Family::Ipv4Unicast, Family::Ipv6Unicast];

    /// AFI code.
    pub fn afi(self) -> u16 {
        match self {
            Family::Ipv4Unicast => 1,
            Family::Ipv6Unicast => 2,
        }
    }

    /// SAFI code (unicast).
    pub fn safi(self) -> u8 {
        1
    }

    /// The family for an (AFI, SAFI) pair, if we carry it.
    pub fn from_afi_safi(afi: u16, safi: u8) -> Option<Family> {
        match (afi, safi) {
            (1, 1) => Some(Family::Ipv4Unicast),
            (2, 1) => Some(Family::Ipv6Unicast),
            _ => None,
        }
    }

    /// Maximum prefix length in bits.
    pub fn max_len(self) -> u8 {
        match self {
            Family::Ipv4Unicast => 32,
            Family::Ipv6Unicast => 128,
        }
    }

    /// Short name for show output.
    pub fn name(self) -> &'static str {
        match self {
            Family::Ipv4Unicast => "ipv4-unicast",
            Family::Ipv6Unicast => "ipv6-unicast",
        }
    }
}

/// An IPv4 prefix with host bits cleared.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Prefix {
    addr: u32,
    len: u8,
}

/// An IPv6 prefix with host bits cleared.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv6Prefix {
    addr: u128,
    len: u8,
}

/// Prefix length out of range for the family.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid prefix: {0}")]
pub struct PrefixError(String);

fn mask32(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

fn mask128(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    }
}

impl Ipv4Prefix {
    /// A prefix; host bits are cleared. Fails for `len > 32`.
    pub fn new(addr: Ipv4Addr, len: u8) -> Result<Self, PrefixError> {
        if len > 32 {
            return Err(PrefixError(format!("{addr}/{len}: length above 32")));
        }
        Ok(Self {
            addr: u32::from(addr) & mask32(len),
            len,
        })
    }
    /// Network address.
    pub fn addr(self) -> Ipv4Addr {
        Ipv4Addr::from(self.addr)
    }
    /// Length in bits (a mask length: there is no "empty" prefix, hence no `is_empty`).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(self) -> u8 {
        self.len
    }
    /// True for 0.0.0.0/0.
    pub fn is_default(self) -> bool {
        self.len == 0
    }
    /// The packed key: address in the high 32 bits, length in the low 8.
    pub fn to_u64(self) -> u64 {
        (u64::from(self.addr) << 8) | u64::from(self.len)
    }
    /// Inverse of [`to_u64`](Self::to_u64) (callers only pass values from `to_u64`).
    pub fn from_u64(v: u64) -> Self {
        Self {
            addr: (v >> 8) as u32,
            len: (v & 0xff) as u8,
        }
    }
    /// True if `other` lies within this prefix (or equals it).
    pub fn contains(self, other: Ipv4Prefix) -> bool {
        other.len >= self.len && (other.addr & mask32(self.len)) == self.addr
    }
}

impl Ipv6Prefix {
    /// A prefix; host bits are cleared. Fails for `len > 128`.
    pub fn new(addr: Ipv6Addr, len: u8) -> Result<Self, PrefixError> {
        if len > 128 {
            return Err(PrefixError(format!("{addr}/{len}: length above 128")));
        }
        Ok(Self {
            addr: u128::from(addr) & mask128(len),
            len,
        })
    }
    /// Network address.
    pub fn addr(self) -> Ipv6Addr {
        Ipv6Addr::from(self.addr)
    }
    /// Length in bits (a mask length: there is no "empty" prefix, hence no `is_empty`).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(self) -> u8 {
        self.len
    }
    /// True for ::/0.
    pub fn is_default(self) -> bool {
        self.len == 0
    }
    /// True if `other` lies within this prefix (or equals it).
    pub fn contains(self, other: Ipv6Prefix) -> bool {
        other.len >= self.len && (other.addr & mask128(self.len)) == self.addr
    }
}

/// An IPv4 or IPv6 prefix.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Prefix {
    /// IPv4.
    V4(Ipv4Prefix),
    /// IPv6.
    V6(Ipv6Prefix),
}

impl Prefix {
    /// The family the prefix belongs to.
    pub fn family(self) -> Family {
        match self {
            Prefix::V4(_) => Family::Ipv4Unicast,
            Prefix::V6(_) => Family::Ipv6Unicast,
        }
    }
    /// Length in bits (a mask length: there is no "empty" prefix, hence no `is_empty`).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(self) -> u8 {
        match self {
            Prefix::V4(p) => p.len,
            Prefix::V6(p) => p.len,
        }
    }
    /// Network address.
    pub fn addr(self) -> IpAddr {
        match self {
            Prefix::V4(p) => IpAddr::V4(p.addr()),
            Prefix::V6(p) => IpAddr::V6(p.addr()),
        }
    }
    /// True if `other` lies within this prefix (same family, equal or longer).
    pub fn contains(self, other: Prefix) -> bool {
        match (self, other) {
            (Prefix::V4(a), Prefix::V4(b)) => a.contains(b),
            (Prefix::V6(a), Prefix::V6(b)) => a.contains(b),
            _ => false,
        }
    }
    /// A prefix from an address and a length; host bits are cleared.
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, PrefixError> {
        Ok(match addr {
            IpAddr::V4(a) => Prefix::V4(Ipv4Prefix::new(a, len)?),
            IpAddr::V6(a) => Prefix::V6(Ipv6Prefix::new(a, len)?),
        })
    }
}

impl From<ipnet::Ipv4Net> for Prefix {
    /// An `ipnet` prefix (already masked-valid: its length is at most 32).
    fn from(net: ipnet::Ipv4Net) -> Prefix {
        Prefix::V4(Ipv4Prefix {
            addr: u32::from(net.network()),
            len: net.prefix_len(),
        })
    }
}

impl From<ipnet::Ipv6Net> for Prefix {
    /// An `ipnet` prefix (its length is at most 128; host bits are cleared).
    fn from(net: ipnet::Ipv6Net) -> Prefix {
        Prefix::V6(Ipv6Prefix {
            addr: u128::from(net.network()),
            len: net.prefix_len(),
        })
    }
}

impl From<ipnet::IpNet> for Prefix {
    fn from(net: ipnet::IpNet) -> Prefix {
        match net {
            ipnet::IpNet::V4(n) => Prefix::from(n),
            ipnet::IpNet::V6(n) => Prefix::from(n),
        }
    }
}

impl Prefix {
    /// The prefix as an `ipnet` one, either family.
    pub fn to_ip_net(self) -> ipnet::IpNet {
        match self {
            Prefix::V4(p) => ipnet::IpNet::V4(
                ipnet::Ipv4Net::new(p.addr(), p.len).expect("a length of at most 32"),
            ),
            Prefix::V6(p) => ipnet::IpNet::V6(
                ipnet::Ipv6Net::new(p.addr(), p.len).expect("a length of at most 128"),
            ),
        }
    }

    /// The IPv4 prefix as an `ipnet` one; `None` for IPv6.
    pub fn to_ipv4_net(self) -> Option<ipnet::Ipv4Net> {
        match self {
            Prefix::V4(p) => ipnet::Ipv4Net::new(p.addr(), p.len).ok(),
            Prefix::V6(_) => None,
        }
    }
}

impl fmt::Display for Ipv4Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr(), self.len)
    }
}
impl fmt::Debug for Ipv4Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
impl fmt::Display for Ipv6Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr(), self.len)
    }
}
impl fmt::Debug for Ipv6Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Prefix::V4(p) => fmt::Display::fmt(p, f),
            Prefix::V6(p) => fmt::Display::fmt(p, f),
        }
    }
}
impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;
    /// Parses `addr/len`; the address must not have host bits set (a typo guard for configs).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, len) = s
            .split_once('/')
            .ok_or_else(|| PrefixError(format!("{s:?}: expected ADDRESS/LENGTH")))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| PrefixError(format!("{s:?}: bad address {addr:?}")))?;
        let len: u8 = len
            .parse()
            .map_err(|_| PrefixError(format!("{s:?}: bad length {len:?}")))?;
        let p = Prefix::new(addr, len).map_err(|e| PrefixError(format!("{s:?}: {}", e.0)))?;
        if p.addr() != addr {
            return Err(PrefixError(format!(
                "{s:?}: host bits set (did you mean {p}?)"
            )));
        }
        Ok(p)
    }
}

impl serde::Serialize for Prefix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Prefix {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl From<Ipv4Prefix> for Prefix {
    fn from(p: Ipv4Prefix) -> Self {
        Prefix::V4(p)
    }
}
impl From<Ipv6Prefix> for Prefix {
    fn from(p: Ipv6Prefix) -> Self {
        Prefix::V6(p)
    }
}

/// Checks that `bytes` is a sequence of whole, well-formed prefixes of `family` and returns
/// how many there are. RFC 4271 §4.3 / RFC 7606 §5.3: a length above the family maximum or a
/// prefix running past the end is an error.
pub fn validate_nlri(bytes: &[u8], family: Family) -> Result<usize, &'static str> {
    let max = family.max_len();
    let mut i = 0;
    let mut count = 0;
    while i < bytes.len() {
        let len = bytes[i];
        if len > max {
            return Err("prefix length exceeds the address family's maximum");
        }
        let octets = usize::from(len).div_ceil(8);
        i += 1 + octets;
        if i > bytes.len() {
            return Err("prefix runs past the end of its field");
        }
        count += 1;
    }
    Ok(count)
}

/// Iterator over prefixes in a run of NLRI bytes already checked by [`validate_nlri`].
///
/// On unchecked bytes it stops at the first malformed prefix instead of panicking.
#[derive(Debug, Clone)]
pub struct NlriIter<'a> {
    bytes: &'a [u8],
    family: Family,
}

impl<'a> NlriIter<'a> {
    /// Iterates `bytes` as prefixes of `family`.
    pub fn new(bytes: &'a [u8], family: Family) -> Self {
        Self { bytes, family }
    }
}

impl Iterator for NlriIter<'_> {
    type Item = Prefix;
    #[inline]
    fn next(&mut self) -> Option<Prefix> {
        let (&len, rest) = self.bytes.split_first()?;
        if len > self.family.max_len() {
            self.bytes = &[];
            return None;
        }
        let octets = usize::from(len).div_ceil(8);
        let Some(body) = rest.get(..octets) else {
            self.bytes = &[];
            return None;
        };
        self.bytes = &rest[octets..];
        Some(match self.family {
            Family::Ipv4Unicast => {
                let mut a = [0u8; 4];
                a[..octets].copy_from_slice(body);
                Prefix::V4(Ipv4Prefix {
                    addr: u32::from_be_bytes(a) & mask32(len),
                    len,
                })
            }
            Family::Ipv6Unicast => {
                let mut a = [0u8; 16];
                a[..octets].copy_from_slice(body);
                Prefix::V6(Ipv6Prefix {
                    addr: u128::from_be_bytes(a) & mask128(len),
                    len,
                })
            }
        })
    }
}

/// Appends the NLRI encoding of `p` to `out`.
pub fn encode_prefix(out: &mut Vec<u8>, p: Prefix) {
    match p {
        Prefix::V4(p) => {
            out.push(p.len);
            out.extend_from_slice(&p.addr.to_be_bytes()[..usize::from(p.len).div_ceil(8)]);
        }
        Prefix::V6(p) => {
            out.push(p.len);
            out.extend_from_slice(&p.addr.to_be_bytes()[..usize::from(p.len).div_ceil(8)]);
        }
    }
}

/// Encoded length of `p` in NLRI.
pub fn encoded_len(p: Prefix) -> usize {
    1 + usize::from(p.len()).div_ceil(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipnet_round_trip() {
        let net: ipnet::Ipv4Net = "10.1.0.0/16".parse().unwrap();
        let p = Prefix::from(net);
        assert_eq!(p.to_string(), "10.1.0.0/16");
        assert_eq!(p.to_ipv4_net(), Some(net));
        let v6: Prefix = "2001:db8::/32".parse().unwrap();
        assert_eq!(v6.to_ipv4_net(), None);
        for text in ["10.1.0.0/16", "2001:db8:10::/48", "::/0", "0.0.0.0/0"] {
            let net: ipnet::IpNet = text.parse().unwrap();
            assert_eq!(Prefix::from(net).to_ip_net(), net, "{text}");
            assert_eq!(Prefix::from(net).to_string(), text);
        }
        let host_bits: ipnet::Ipv6Net = "2001:db8::1/32".parse().unwrap();
        assert_eq!(Prefix::from(host_bits).to_string(), "2001:db8::/32");
    }

    #[test]
    fn parse_and_display_round_trip() {
        let p: Prefix = "10.1.0.0/16".parse().unwrap();
        assert_eq!(p.to_string(), "10.1.0.0/16");
        assert!(
            "10.1.0.1/16"
                .parse::<Prefix>()
                .unwrap_err()
                .0
                .contains("host bits")
        );
        assert!("10.1.0.0/33".parse::<Prefix>().is_err());
        let v6: Prefix = "2001:db8::/32".parse().unwrap();
        assert_eq!(v6.family(), Family::Ipv6Unicast);
    }

    #[test]
    fn nlri_validation_rejects_overlong_and_truncated() {
        assert_eq!(
            validate_nlri(&[24, 10, 1, 2, 0], Family::Ipv4Unicast),
            Ok(2)
        );
        assert!(validate_nlri(&[33, 1, 2, 3, 4, 5], Family::Ipv4Unicast).is_err());
        assert!(validate_nlri(&[24, 10, 1], Family::Ipv4Unicast).is_err());
        let got: Vec<_> = NlriIter::new(&[24, 10, 1, 2, 0], Family::Ipv4Unicast).collect();
        assert_eq!(
            got,
            vec!["10.1.2.0/24".parse().unwrap(), "0.0.0.0/0".parse().unwrap()]
        );
    }

    #[test]
    fn trailing_bits_are_cleared() {
        // 10.1.2.255/23 on the wire: the last bit of the third octet is outside the prefix.
        let got: Vec<_> = NlriIter::new(&[23, 10, 1, 3], Family::Ipv4Unicast).collect();
        assert_eq!(got[0].to_string(), "10.1.2.0/23");
    }

    #[test]
    fn contains_respects_length() {
        let a: Prefix = "10.0.0.0/8".parse().unwrap();
        let b: Prefix = "10.2.0.0/16".parse().unwrap();
        assert!(a.contains(b) && !b.contains(a));
    }
}
