//! Path attributes: the owned [`PathAttrs`] set and its parts, and the vocabulary of decoding
//! (contexts, RFC 7606 outcomes). The per-attribute decoder lives in `attrs/decode.rs`, the
//! encoder in `attrs/encode.rs` (re-exported here as [`encode_attrs`]); both build on the types
//! here, so they are this module's children.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |O|T|P|E| unused|  Type Code    |  Length (1, or 2 if E)  | Value...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  O optional, T transitive, P partial, E extended length       (RFC 4271 §4.3)
//!
//! AS_PATH segment:  Type (1: SET, 2: SEQUENCE) | Count (ASNs) | ASN (2 or 4 octets) x Count
//! ```
//!
//! Carried and understood: ORIGIN, AS_PATH (SEQUENCE, SET; confederation segments are kept but
//! never produced), NEXT_HOP, MULTI_EXIT_DISC, LOCAL_PREF, ATOMIC_AGGREGATE, AGGREGATOR,
//! COMMUNITIES with the well-known values of RFC 1997 (plus RFC 7999 BLACKHOLE and RFC 8326
//! GRACEFUL_SHUTDOWN for display), AS4_PATH / AS4_AGGREGATOR (RFC 6793). Unknown optional
//! transitive attributes (extended and large communities among them) are kept verbatim and passed
//! on with the Partial bit set (RFC 4271 §5); unknown optional non-transitive ones are dropped.
//!
//! What it does not do: MP_REACH/MP_UNREACH (see [`crate::wire::update`], they carry NLRI), route
//! reflection (ORIGINATOR_ID and CLUSTER_LIST are kept as opaque attributes from iBGP peers).

mod decode;
mod encode;

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

pub(crate) use decode::AttrBuilder;
pub use encode::encode_attrs;

/// Attribute flag bits.
pub mod flags {
    /// Optional.
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive.
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial.
    pub const PARTIAL: u8 = 0x20;
    /// Extended length (2-octet length field).
    pub const EXTENDED: u8 = 0x10;
}

/// Attribute type codes.
pub mod code {
    /// ORIGIN (RFC 4271).
    pub const ORIGIN: u8 = 1;
    /// AS_PATH (RFC 4271).
    pub const AS_PATH: u8 = 2;
    /// NEXT_HOP (RFC 4271).
    pub const NEXT_HOP: u8 = 3;
    /// MULTI_EXIT_DISC (RFC 4271).
    pub const MED: u8 = 4;
    /// LOCAL_PREF (RFC 4271).
    pub const LOCAL_PREF: u8 = 5;
    /// ATOMIC_AGGREGATE (RFC 4271).
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// AGGREGATOR (RFC 4271).
    pub const AGGREGATOR: u8 = 7;
    /// COMMUNITIES (RFC 1997).
    pub const COMMUNITIES: u8 = 8;
    /// ORIGINATOR_ID (RFC 4456).
    pub const ORIGINATOR_ID: u8 = 9;
    /// CLUSTER_LIST (RFC 4456).
    pub const CLUSTER_LIST: u8 = 10;
    /// MP_REACH_NLRI (RFC 4760).
    pub const MP_REACH: u8 = 14;
    /// MP_UNREACH_NLRI (RFC 4760).
    pub const MP_UNREACH: u8 = 15;
    /// AS4_PATH (RFC 6793).
    pub const AS4_PATH: u8 = 17;
    /// AS4_AGGREGATOR (RFC 6793).
    pub const AS4_AGGREGATOR: u8 = 18;
}

/// ORIGIN values (RFC 4271 §5.1.1); the derived order is the decision-process order (lower wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// 0: learned from an interior protocol.
    Igp,
    /// 1: learned via EGP.
    Egp,
    /// 2: learned some other way.
    Incomplete,
}

impl Origin {
    pub(super) fn from_u8(v: u8) -> Option<Origin> {
        match v {
            0 => Some(Origin::Igp),
            1 => Some(Origin::Egp),
            2 => Some(Origin::Incomplete),
            _ => None,
        }
    }
    pub(super) fn to_u8(self) -> u8 {
        match self {
            Origin::Igp => 0,
            Origin::Egp => 1,
            Origin::Incomplete => 2,
        }
    }
}

/// AS_PATH segment types (RFC 4271 §4.3, RFC 5065 §3 for confederations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// 1: AS_SET.
    Set,
    /// 2: AS_SEQUENCE.
    Sequence,
    /// 3: AS_CONFED_SEQUENCE.
    ConfedSequence,
    /// 4: AS_CONFED_SET.
    ConfedSet,
}

impl SegmentKind {
    pub(super) fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => SegmentKind::Set,
            2 => SegmentKind::Sequence,
            3 => SegmentKind::ConfedSequence,
            4 => SegmentKind::ConfedSet,
            _ => return None,
        })
    }
    pub(super) fn to_u8(self) -> u8 {
        match self {
            SegmentKind::Set => 1,
            SegmentKind::Sequence => 2,
            SegmentKind::ConfedSequence => 3,
            SegmentKind::ConfedSet => 4,
        }
    }
}

/// One AS_PATH segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct AsSegment {
    /// Segment type.
    pub kind: SegmentKind,
    /// The ASNs, 4-octet.
    pub asns: Vec<u32>,
}

/// An AS_PATH as 4-octet ASNs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct AsPath {
    /// Segments, leftmost (most recent) first.
    pub segments: Vec<AsSegment>,
}

impl AsPath {
    /// A path made of one AS_SEQUENCE.
    pub fn sequence(asns: impl IntoIterator<Item = u32>) -> Self {
        let asns: Vec<u32> = asns.into_iter().collect();
        if asns.is_empty() {
            return AsPath::default();
        }
        AsPath {
            segments: vec![AsSegment {
                kind: SegmentKind::Sequence,
                asns,
            }],
        }
    }

    /// Length for the decision process (RFC 4271 §9.1.2.2 a): a SET counts as one, confederation
    /// segments count as zero (RFC 5065 §5.3).
    pub fn path_len(&self) -> u32 {
        self.segments
            .iter()
            .map(|s| match s.kind {
                SegmentKind::Sequence => s.asns.len() as u32,
                SegmentKind::Set => 1,
                _ => 0,
            })
            .sum()
    }

    /// The neighbouring AS: the leftmost AS of the first AS_SEQUENCE (RFC 4271 §9.1.2.2 c).
    pub fn first_as(&self) -> Option<u32> {
        match self.segments.first() {
            Some(s) if s.kind == SegmentKind::Sequence => s.asns.first().copied(),
            _ => None,
        }
    }

    /// The originating AS: the last AS of the path when it is in a SEQUENCE.
    pub fn origin_as(&self) -> Option<u32> {
        match self.segments.last() {
            Some(s) if s.kind == SegmentKind::Sequence => s.asns.last().copied(),
            _ => None,
        }
    }

    /// True if `asn` appears anywhere (loop detection, RFC 4271 §9.1.2).
    pub fn contains(&self, asn: u32) -> bool {
        self.segments.iter().any(|s| s.asns.contains(&asn))
    }

    /// Prepends `asn` `times` times (RFC 4271 §5.1.2 for eBGP; extra copies are AS-path prepend).
    pub fn prepend(&mut self, asn: u32, times: usize) {
        if times == 0 {
            return;
        }
        match self.segments.first_mut() {
            Some(s) if s.kind == SegmentKind::Sequence && s.asns.len() + times <= 255 => {
                s.asns.splice(0..0, std::iter::repeat_n(asn, times));
            }
            _ => self.segments.insert(
                0,
                AsSegment {
                    kind: SegmentKind::Sequence,
                    asns: vec![asn; times],
                },
            ),
        }
    }

    pub(super) fn needs_four_octets(&self) -> bool {
        self.segments
            .iter()
            .any(|s| s.asns.iter().any(|&a| a > 0xffff))
    }
}

impl fmt::Display for AsPath {
    /// FRR style: `65001 65002 {65003,65004}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.segments {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            let list = s.asns.iter().map(|a| a.to_string()).collect::<Vec<_>>();
            match s.kind {
                SegmentKind::Sequence => f.write_str(&list.join(" "))?,
                SegmentKind::Set => write!(f, "{{{}}}", list.join(","))?,
                SegmentKind::ConfedSequence => write!(f, "({})", list.join(" "))?,
                SegmentKind::ConfedSet => write!(f, "[{}]", list.join(","))?,
            }
        }
        Ok(())
    }
}

/// A community value (RFC 1997).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

impl Community {
    /// NO_EXPORT (RFC 1997): not advertised outside the AS (to eBGP peers).
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// NO_ADVERTISE (RFC 1997): not advertised to any peer.
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// NO_EXPORT_SUBCONFED (RFC 1997): treated like NO_EXPORT (we run no confederations).
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);
    /// NOPEER (RFC 3765): shown by name, no action.
    pub const NO_PEER: Community = Community(0xFFFF_FF04);
    /// BLACKHOLE (RFC 7999): shown by name, no action.
    pub const BLACKHOLE: Community = Community(0xFFFF_029A);
    /// GRACEFUL_SHUTDOWN (RFC 8326): shown by name, no action.
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);

    /// `asn:value` from two halves.
    pub fn new(high: u16, low: u16) -> Self {
        Community((u32::from(high) << 16) | u32::from(low))
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Community::NO_EXPORT => f.write_str("no-export"),
            Community::NO_ADVERTISE => f.write_str("no-advertise"),
            Community::NO_EXPORT_SUBCONFED => f.write_str("local-AS"),
            Community::NO_PEER => f.write_str("no-peer"),
            Community::BLACKHOLE => f.write_str("blackhole"),
            Community::GRACEFUL_SHUTDOWN => f.write_str("graceful-shutdown"),
            Community(v) => write!(f, "{}:{}", v >> 16, v & 0xffff),
        }
    }
}

impl fmt::Debug for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for Community {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "no-export" => return Ok(Community::NO_EXPORT),
            "no-advertise" => return Ok(Community::NO_ADVERTISE),
            "local-AS" | "no-export-subconfed" => return Ok(Community::NO_EXPORT_SUBCONFED),
            "no-peer" => return Ok(Community::NO_PEER),
            "blackhole" => return Ok(Community::BLACKHOLE),
            "graceful-shutdown" => return Ok(Community::GRACEFUL_SHUTDOWN),
            _ => {}
        }
        let (a, b) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?}: expected ASN:VALUE"))?;
        let a: u16 = a
            .parse()
            .map_err(|_| format!("{s:?}: {a:?} is not 0..65535"))?;
        let b: u16 = b
            .parse()
            .map_err(|_| format!("{s:?}: {b:?} is not 0..65535"))?;
        Ok(Community::new(a, b))
    }
}

impl serde::Serialize for Community {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Community {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The next hop of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NextHop {
    /// None known (locally originated before export, or withdrawn).
    #[default]
    None,
    /// An IPv4 next hop (NEXT_HOP attribute, or MP_REACH with a 4-octet next hop).
    V4(Ipv4Addr),
    /// An IPv6 next hop from MP_REACH: global, and link-local when 32 octets were sent
    /// (RFC 2545 §3).
    V6 {
        /// Global address.
        global: Ipv6Addr,
        /// Link-local address, if sent.
        link_local: Option<Ipv6Addr>,
    },
}

impl fmt::Display for NextHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NextHop::None => f.write_str("-"),
            NextHop::V4(a) => write!(f, "{a}"),
            NextHop::V6 {
                global,
                link_local: None,
            } => write!(f, "{global}"),
            NextHop::V6 {
                global,
                link_local: Some(ll),
            } => write!(f, "{global} ({ll})"),
        }
    }
}

impl serde::Serialize for NextHop {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An attribute we do not interpret, kept verbatim to pass on (or, for non-transitive ones from
/// iBGP, to show).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawAttr {
    /// Flags as received (the extended-length bit is recomputed on encode).
    pub flags: u8,
    /// Type code.
    pub code: u8,
    /// Value octets.
    pub value: Box<[u8]>,
}

/// AGGREGATOR contents (RFC 4271 §5.1.7), always with a 4-octet AS here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Aggregator {
    /// AS of the aggregating speaker.
    pub asn: u32,
    /// Its BGP identifier.
    pub addr: Ipv4Addr,
}

/// A complete set of path attributes for one route (all families: the next hop is per set).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathAttrs {
    /// ORIGIN.
    pub origin: Origin,
    /// AS_PATH, 4-octet (AS4_PATH already merged in for 2-octet peers).
    pub as_path: AsPath,
    /// Next hop (NEXT_HOP for IPv4 NLRI, MP_REACH's for MP families).
    pub next_hop: NextHop,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF (only from iBGP peers, or set by policy).
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE.
    pub atomic_aggregate: bool,
    /// AGGREGATOR (AS4_AGGREGATOR merged in).
    pub aggregator: Option<Aggregator>,
    /// COMMUNITIES in the order received.
    pub communities: Vec<Community>,
    /// Other attributes, in ascending type code order.
    pub other: Vec<RawAttr>,
}

impl Default for PathAttrs {
    fn default() -> Self {
        PathAttrs {
            origin: Origin::Igp,
            as_path: AsPath::default(),
            next_hop: NextHop::None,
            med: None,
            local_pref: None,
            atomic_aggregate: false,
            aggregator: None,
            communities: Vec::new(),
            other: Vec::new(),
        }
    }
}

impl PathAttrs {
    /// True if COMMUNITIES holds `c`.
    pub fn has_community(&self, c: Community) -> bool {
        self.communities.contains(&c)
    }
}

/// How an attribute error is handled (RFC 7606 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrErrorAction {
    /// Drop the attribute and go on ("attribute discard").
    Discard,
    /// Withdraw the message's NLRI ("treat-as-withdraw").
    TreatAsWithdraw,
}

/// What the per-attribute decoder needs to know about the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeContext {
    /// Both sides sent the 4-octet AS capability (AS_PATH ASNs are 4 octets).
    pub four_octet_as: bool,
    /// The peer is external: LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST from it are discarded.
    pub ebgp: bool,
    /// For eBGP: the peer's AS, which must be the first AS of AS_PATH (RFC 4271 §6.3), when set.
    pub enforce_first_as: Option<u32>,
}

/// Encoding choices for one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeContext {
    /// Write 4-octet ASNs (else AS_TRANS plus AS4_PATH, RFC 6793 §4.2.2).
    pub four_octet_as: bool,
    /// The peer is internal: LOCAL_PREF is sent (RFC 4271 §5.1.5).
    pub ibgp: bool,
}

/// A per-attribute problem found while decoding, with the RFC 7606 action chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttrProblem {
    /// Attribute type code.
    pub code: u8,
    /// What we do about it.
    pub action: AttrErrorAction,
    /// Why.
    pub reason: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_path_len_counts_set_as_one() {
        let p = AsPath {
            segments: vec![
                AsSegment {
                    kind: SegmentKind::Sequence,
                    asns: vec![1, 2, 3],
                },
                AsSegment {
                    kind: SegmentKind::Set,
                    asns: vec![4, 5],
                },
            ],
        };
        assert_eq!(p.path_len(), 4);
        assert_eq!(p.to_string(), "1 2 3 {4,5}");
        assert_eq!(p.first_as(), Some(1));
    }

    #[test]
    fn prepend_extends_leading_sequence_or_adds_one() {
        let mut p = AsPath::sequence([65001]);
        p.prepend(64512, 2);
        assert_eq!(p.to_string(), "64512 64512 65001");
        let mut s = AsPath {
            segments: vec![AsSegment {
                kind: SegmentKind::Set,
                asns: vec![1],
            }],
        };
        s.prepend(7, 1);
        assert_eq!(s.to_string(), "7 {1}");
    }

    #[test]
    fn community_names_and_parse() {
        assert_eq!(Community::NO_EXPORT.to_string(), "no-export");
        assert_eq!(
            "7224:7300".parse::<Community>().unwrap(),
            Community::new(7224, 7300)
        );
        assert!("7224".parse::<Community>().is_err());
    }

    #[test]
    fn two_octet_encoding_uses_as_trans_and_as4_path() {
        let attrs = PathAttrs {
            as_path: AsPath::sequence([4_200_000_001, 65001]),
            ..Default::default()
        };
        let mut out = Vec::new();
        encode_attrs(
            &mut out,
            &attrs,
            &EncodeContext {
                four_octet_as: false,
                ibgp: false,
            },
            false,
        );
        // ORIGIN, AS_PATH (2-octet: AS_TRANS 65001), AS4_PATH (4-octet).
        assert_eq!(&out[..4], &[0x40, 1, 1, 0]);
        assert_eq!(&out[4..13], &[0x40, 2, 6, 2, 2, 0x5b, 0xa0, 0xfd, 0xe9]);
        assert_eq!(&out[13..16], &[0xc0, 17, 10]);
        // Decoding as from an OLD speaker merges them back.
        let ctx = DecodeContext {
            four_octet_as: false,
            ebgp: true,
            enforce_first_as: None,
        };
        let mut b = AttrBuilder::default();
        b.add(0x40, 2, &out[7..13], &ctx).unwrap();
        b.add(0xc0, 17, &out[16..26], &ctx).unwrap();
        let (a, problems, ..) = b.finish();
        assert!(problems.is_empty());
        assert_eq!(a.as_path, attrs.as_path);
    }
}
