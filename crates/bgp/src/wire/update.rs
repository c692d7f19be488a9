//! UPDATE messages: a zero-copy decoder with RFC 7606 error handling, and packers that fill
//! messages with as many NLRI as fit (RFC 4271 §4.3, RFC 4760 §3-4, RFC 4724 §2 End-of-RIB).
//!
//! ```text
//! +-----------------------------------------------------+
//! |   Withdrawn Routes Length (2 octets)                |
//! +-----------------------------------------------------+
//! |   Withdrawn Routes (variable)                       |   IPv4 prefixes
//! +-----------------------------------------------------+
//! |   Total Path Attribute Length (2 octets)            |
//! +-----------------------------------------------------+
//! |   Path Attributes (variable)                        |   incl. MP_REACH / MP_UNREACH
//! +-----------------------------------------------------+
//! |   Network Layer Reachability Information (variable) |   IPv4 prefixes
//! +-----------------------------------------------------+
//!
//! MP_REACH_NLRI (14):  AFI (2) | SAFI (1) | NH len (1) | Next hop | Reserved (1) | NLRI
//! MP_UNREACH_NLRI (15): AFI (2) | SAFI (1) | Withdrawn NLRI
//! ```
//!
//! [`Update::decode`] never allocates per prefix: withdrawn routes and NLRI stay byte slices of
//! the message, validated once, and are walked with [`NlriIter`]. Attributes are decoded into one
//! [`PathAttrs`] per message. Outcomes follow RFC 7606: a problem with one attribute is either
//! discarded or turns the whole message into a withdrawal (`treat_as_withdraw`); only errors that
//! make NLRI unlocatable return `Err` (session reset).
//!
//! What it does not do: ADD-PATH, extended next hop (RFC 8950), labelled or VPN families. A
//! MP_REACH/MP_UNREACH for a family we do not carry is ignored (reported in `ignored_families`).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::WireError;
use super::attrs::{
    AttrBuilder, AttrErrorAction, AttrProblem, DecodeContext, NextHop, PathAttrs, code, flags,
};
use super::header::{HEADER_LEN, MAX_MESSAGE_LEN, MessageType, patch_length, write_header};
use super::prefix::{Family, NlriIter, Prefix, encode_prefix, encoded_len, validate_nlri};

/// The MP_REACH_NLRI of a received UPDATE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpReach<'a> {
    /// Family of the NLRI.
    pub family: Family,
    /// Next hop for them.
    pub next_hop: NextHop,
    /// Validated NLRI bytes.
    pub nlri: &'a [u8],
}

/// A decoded UPDATE that borrows its prefix runs from the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update<'a> {
    /// Validated IPv4 withdrawn routes.
    pub withdrawn: &'a [u8],
    /// Validated IPv4 NLRI.
    pub nlri: &'a [u8],
    /// MP_REACH_NLRI, if present and for a family we carry.
    pub mp_reach: Option<MpReach<'a>>,
    /// MP_UNREACH_NLRI (family, validated withdrawn NLRI), if present and for a family we carry.
    pub mp_unreach: Option<(Family, &'a [u8])>,
    /// Path attributes; `None` when the message carried none (a pure withdrawal).
    pub attrs: Option<PathAttrs>,
    /// RFC 7606: set when the message's announcements must be handled as withdrawals.
    pub treat_as_withdraw: Option<AttrProblem>,
    /// Every attribute problem seen (discarded attributes included), for logging.
    pub problems: Vec<AttrProblem>,
    /// (AFI, SAFI) of MP attributes we ignored.
    pub ignored_families: Vec<(u16, u8)>,
}

fn be16(b: &[u8]) -> usize {
    usize::from(u16::from_be_bytes([b[0], b[1]]))
}

impl<'a> Update<'a> {
    /// Decodes an UPDATE body (after the 19-octet header).
    pub fn decode(body: &'a [u8], ctx: &DecodeContext) -> Result<Update<'a>, WireError> {
        // RFC 4271 §6.3: lengths that do not add up are a Malformed Attribute List.
        let wlen = body
            .get(..2)
            .map(be16)
            .ok_or(WireError::MalformedAttributeList("truncated"))?;
        let withdrawn = body
            .get(2..2 + wlen)
            .ok_or(WireError::MalformedAttributeList(
                "withdrawn routes length too large",
            ))?;
        let rest = &body[2 + wlen..];
        let alen = rest
            .get(..2)
            .map(be16)
            .ok_or(WireError::MalformedAttributeList(
                "total path attribute length missing",
            ))?;
        let attr_bytes = rest
            .get(2..2 + alen)
            .ok_or(WireError::MalformedAttributeList(
                "total path attribute length too large",
            ))?;
        let nlri = &rest[2 + alen..];
        validate_nlri(withdrawn, Family::Ipv4Unicast).map_err(WireError::InvalidNetworkField)?;
        validate_nlri(nlri, Family::Ipv4Unicast).map_err(WireError::InvalidNetworkField)?;

        let mut update = Update {
            withdrawn,
            nlri,
            mp_reach: None,
            mp_unreach: None,
            attrs: None,
            treat_as_withdraw: None,
            problems: Vec::new(),
            ignored_families: Vec::new(),
        };
        if attr_bytes.is_empty() {
            if !nlri.is_empty() {
                update.set_withdraw(AttrProblem {
                    code: code::ORIGIN,
                    action: AttrErrorAction::TreatAsWithdraw,
                    reason: "NLRI without path attributes",
                });
            }
            return Ok(update);
        }

        let mut builder = AttrBuilder::default();
        let mut seen = [0u64; 4]; // one bit per type code, for duplicates
        let mut mp_reach_seen = false;
        let mut mp_unreach_seen = false;
        let mut i = 0;
        while i < attr_bytes.len() {
            let hdr = &attr_bytes[i..];
            let (flag_byte, code_byte, vlen, hlen) = match hdr {
                [f, c, l0, l1, ..] if f & flags::EXTENDED != 0 => {
                    (*f, *c, usize::from(u16::from_be_bytes([*l0, *l1])), 4)
                }
                [f, c, l, ..] if f & flags::EXTENDED == 0 => (*f, *c, usize::from(*l), 3),
                _ => {
                    update.attr_framing_error(&mut builder, "truncated attribute header");
                    break;
                }
            };
            let Some(value) = hdr.get(hlen..hlen + vlen) else {
                // RFC 7606 §4: an attribute overrunning the list: treat-as-withdraw.
                update.attr_framing_error(&mut builder, "attribute overruns the attribute list");
                break;
            };
            i += hlen + vlen;

            let bit = 1u64 << (code_byte % 64);
            let slot = usize::from(code_byte / 64);
            let duplicate = seen[slot] & bit != 0;
            seen[slot] |= bit;

            match code_byte {
                code::MP_REACH => {
                    if mp_reach_seen {
                        return Err(WireError::DuplicateMpAttribute(code_byte));
                    }
                    mp_reach_seen = true;
                    update.decode_mp_reach(value)?;
                }
                code::MP_UNREACH => {
                    if mp_unreach_seen {
                        return Err(WireError::DuplicateMpAttribute(code_byte));
                    }
                    mp_unreach_seen = true;
                    update.decode_mp_unreach(value)?;
                }
                _ if duplicate => {
                    // RFC 7606 §3 (g): keep the first, discard the others.
                    builder.problems.push(AttrProblem {
                        code: code_byte,
                        action: AttrErrorAction::Discard,
                        reason: "duplicate attribute",
                    });
                }
                _ => builder.add(flag_byte, code_byte, value, ctx)?,
            }
        }

        let (attrs, problems, origin, as_path, next_hop) = builder.finish();
        let announces =
            !nlri.is_empty() || update.mp_reach.as_ref().is_some_and(|m| !m.nlri.is_empty());
        if announces {
            // RFC 7606 §3 (d): a missing well-known mandatory attribute is treat-as-withdraw.
            let missing = if !origin {
                Some((code::ORIGIN, "ORIGIN missing"))
            } else if !as_path {
                Some((code::AS_PATH, "AS_PATH missing"))
            } else if !nlri.is_empty() && !next_hop {
                Some((code::NEXT_HOP, "NEXT_HOP missing"))
            } else {
                None
            };
            if let Some((c, reason)) = missing {
                update.set_withdraw(AttrProblem {
                    code: c,
                    action: AttrErrorAction::TreatAsWithdraw,
                    reason,
                });
            }
        }
        for p in &problems {
            if p.action == AttrErrorAction::TreatAsWithdraw && update.treat_as_withdraw.is_none() {
                update.treat_as_withdraw = Some(*p);
            }
        }
        update.problems.extend(problems);
        update.attrs = Some(attrs);
        Ok(update)
    }

    fn set_withdraw(&mut self, p: AttrProblem) {
        if self.treat_as_withdraw.is_none() {
            self.treat_as_withdraw = Some(p);
        }
        self.problems.push(p);
    }

    fn attr_framing_error(&mut self, _b: &mut AttrBuilder, reason: &'static str) {
        self.set_withdraw(AttrProblem {
            code: 0,
            action: AttrErrorAction::TreatAsWithdraw,
            reason,
        });
    }

    fn decode_mp_reach(&mut self, v: &'a [u8]) -> Result<(), WireError> {
        let [a0, a1, safi, nh_len, rest @ ..] = v else {
            return Err(WireError::MalformedMpAttribute(
                "MP_REACH_NLRI shorter than 5 octets",
            ));
        };
        let afi = u16::from_be_bytes([*a0, *a1]);
        let nh_len = usize::from(*nh_len);
        let nh = rest
            .get(..nh_len)
            .ok_or(WireError::MalformedMpAttribute("next hop overruns"))?;
        let nlri = rest
            .get(nh_len + 1..)
            .ok_or(WireError::MalformedMpAttribute("reserved octet missing"))?;
        let Some(family) = Family::from_afi_safi(afi, *safi) else {
            self.ignored_families.push((afi, *safi));
            return Ok(());
        };
        validate_nlri(nlri, family).map_err(WireError::InvalidNetworkField)?;
        let next_hop = match (family, nh) {
            (Family::Ipv4Unicast, [a, b, c, d]) => NextHop::V4(Ipv4Addr::new(*a, *b, *c, *d)),
            (Family::Ipv6Unicast, _) if nh.len() == 16 || nh.len() == 32 => {
                let g: [u8; 16] = nh[..16].try_into().unwrap_or([0; 16]);
                let global = Ipv6Addr::from(g);
                let link_local = (nh.len() == 32).then(|| {
                    let l: [u8; 16] = nh[16..].try_into().unwrap_or([0; 16]);
                    Ipv6Addr::from(l)
                });
                // A link-local-only announcement sends :: as global (RFC 2545 §3); keep the
                // link-local then.
                if global.is_unspecified() && link_local.is_none() {
                    self.set_withdraw(AttrProblem {
                        code: code::MP_REACH,
                        action: AttrErrorAction::TreatAsWithdraw,
                        reason: "unspecified IPv6 next hop",
                    });
                }
                NextHop::V6 { global, link_local }
            }
            _ => {
                // RFC 7606 §7.11: a next hop length inconsistent with the family.
                self.set_withdraw(AttrProblem {
                    code: code::MP_REACH,
                    action: AttrErrorAction::TreatAsWithdraw,
                    reason: "next hop length does not match the address family",
                });
                NextHop::None
            }
        };
        self.mp_reach = Some(MpReach {
            family,
            next_hop,
            nlri,
        });
        Ok(())
    }

    fn decode_mp_unreach(&mut self, v: &'a [u8]) -> Result<(), WireError> {
        let [a0, a1, safi, nlri @ ..] = v else {
            return Err(WireError::MalformedMpAttribute(
                "MP_UNREACH_NLRI shorter than 3 octets",
            ));
        };
        let afi = u16::from_be_bytes([*a0, *a1]);
        let Some(family) = Family::from_afi_safi(afi, *safi) else {
            self.ignored_families.push((afi, *safi));
            return Ok(());
        };
        validate_nlri(nlri, family).map_err(WireError::InvalidNetworkField)?;
        self.mp_unreach = Some((family, nlri));
        Ok(())
    }

    /// IPv4 withdrawn routes.
    pub fn withdrawn_v4(&self) -> NlriIter<'a> {
        NlriIter::new(self.withdrawn, Family::Ipv4Unicast)
    }

    /// IPv4 NLRI.
    pub fn announced_v4(&self) -> NlriIter<'a> {
        NlriIter::new(self.nlri, Family::Ipv4Unicast)
    }

    /// RFC 4724 §2: End-of-RIB marker for a family, if this UPDATE is one.
    pub fn end_of_rib(&self) -> Option<Family> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() || self.mp_reach.is_some() {
            return None;
        }
        match (&self.attrs, self.mp_unreach) {
            (None, None) => Some(Family::Ipv4Unicast),
            (Some(a), Some((family, nlri))) if nlri.is_empty() && *a == PathAttrs::default() => {
                Some(family)
            }
            _ => None,
        }
    }

    /// Total number of prefixes announced or withdrawn (for counters).
    pub fn prefix_count(&self) -> usize {
        let mp_a = self
            .mp_reach
            .as_ref()
            .map_or(0, |m| NlriIter::new(m.nlri, m.family).count());
        let mp_w = self
            .mp_unreach
            .map_or(0, |(f, n)| NlriIter::new(n, f).count());
        self.withdrawn_v4().count() + self.announced_v4().count() + mp_a + mp_w
    }
}

/// Largest attribute block that still leaves room for one prefix.
pub const MAX_ATTR_BYTES: usize = MAX_MESSAGE_LEN - HEADER_LEN - 4 - 64;

fn mp_next_hop_bytes(nh: &NextHop, out: &mut Vec<u8>) {
    match nh {
        NextHop::V4(a) => out.extend_from_slice(&a.octets()),
        NextHop::V6 { global, link_local } => {
            out.extend_from_slice(&global.octets());
            if let Some(ll) = link_local {
                out.extend_from_slice(&ll.octets());
            }
        }
        NextHop::None => {}
    }
}

/// Writes one UPDATE announcing as many of `prefixes` as fit, with `attr_bytes` (encoded by
/// [`super::attrs::encode_attrs`], with NEXT_HOP for IPv4) and, for IPv6, `next_hop` in
/// MP_REACH_NLRI. Returns how many prefixes it took (0 if the attributes leave no room).
pub fn pack_announce(
    out: &mut Vec<u8>,
    family: Family,
    attr_bytes: &[u8],
    next_hop: &NextHop,
    prefixes: &[Prefix],
) -> usize {
    if prefixes.is_empty() || attr_bytes.len() > MAX_ATTR_BYTES {
        return 0;
    }
    let start = out.len();
    write_header(out, MessageType::Update, 0);
    out.extend_from_slice(&[0, 0]); // no withdrawn routes
    let alen_at = out.len();
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(attr_bytes);
    let mut taken = 0;
    match family {
        Family::Ipv4Unicast => {
            let alen = attr_bytes.len() as u16;
            out[alen_at..alen_at + 2].copy_from_slice(&alen.to_be_bytes());
            for &p in prefixes {
                if out.len() - start + encoded_len(p) > MAX_MESSAGE_LEN {
                    break;
                }
                encode_prefix(out, p);
                taken += 1;
            }
        }
        Family::Ipv6Unicast => {
            let mp_start = out.len();
            out.extend_from_slice(&[flags::OPTIONAL | flags::EXTENDED, code::MP_REACH, 0, 0]);
            out.extend_from_slice(&family.afi().to_be_bytes());
            out.push(family.safi());
            let nh_len_at = out.len();
            out.push(0);
            mp_next_hop_bytes(next_hop, out);
            out[nh_len_at] = (out.len() - nh_len_at - 1) as u8;
            out.push(0); // reserved
            for &p in prefixes {
                if out.len() - start + encoded_len(p) > MAX_MESSAGE_LEN {
                    break;
                }
                encode_prefix(out, p);
                taken += 1;
            }
            let mp_len = (out.len() - mp_start - 4) as u16;
            out[mp_start + 2..mp_start + 4].copy_from_slice(&mp_len.to_be_bytes());
            let alen = (out.len() - alen_at - 2) as u16;
            out[alen_at..alen_at + 2].copy_from_slice(&alen.to_be_bytes());
        }
    }
    if taken == 0 {
        out.truncate(start);
        return 0;
    }
    patch_length(out, start);
    taken
}

/// Writes one UPDATE withdrawing as many of `prefixes` as fit; returns how many it took.
pub fn pack_withdraw(out: &mut Vec<u8>, family: Family, prefixes: &[Prefix]) -> usize {
    if prefixes.is_empty() {
        return 0;
    }
    let start = out.len();
    write_header(out, MessageType::Update, 0);
    let mut taken = 0;
    match family {
        Family::Ipv4Unicast => {
            let wlen_at = out.len();
            out.extend_from_slice(&[0, 0]);
            for &p in prefixes {
                if out.len() - start + encoded_len(p) + 2 > MAX_MESSAGE_LEN {
                    break;
                }
                encode_prefix(out, p);
                taken += 1;
            }
            let wlen = (out.len() - wlen_at - 2) as u16;
            out[wlen_at..wlen_at + 2].copy_from_slice(&wlen.to_be_bytes());
            out.extend_from_slice(&[0, 0]);
        }
        Family::Ipv6Unicast => {
            out.extend_from_slice(&[0, 0]);
            let alen_at = out.len();
            out.extend_from_slice(&[0, 0]);
            let mp_start = out.len();
            out.extend_from_slice(&[flags::OPTIONAL | flags::EXTENDED, code::MP_UNREACH, 0, 0]);
            out.extend_from_slice(&family.afi().to_be_bytes());
            out.push(family.safi());
            for &p in prefixes {
                if out.len() - start + encoded_len(p) > MAX_MESSAGE_LEN {
                    break;
                }
                encode_prefix(out, p);
                taken += 1;
            }
            let mp_len = (out.len() - mp_start - 4) as u16;
            out[mp_start + 2..mp_start + 4].copy_from_slice(&mp_len.to_be_bytes());
            let alen = (out.len() - alen_at - 2) as u16;
            out[alen_at..alen_at + 2].copy_from_slice(&alen.to_be_bytes());
        }
    }
    patch_length(out, start);
    taken
}

/// Writes the End-of-RIB marker for `family` (RFC 4724 §2).
pub fn write_end_of_rib(out: &mut Vec<u8>, family: Family) {
    match family {
        Family::Ipv4Unicast => {
            write_header(out, MessageType::Update, 4);
            out.extend_from_slice(&[0, 0, 0, 0]);
        }
        Family::Ipv6Unicast => {
            write_header(out, MessageType::Update, 10);
            out.extend_from_slice(&[0, 0, 0, 6, flags::OPTIONAL, code::MP_UNREACH, 3, 0, 2, 1]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::attrs::{AsPath, Community, EncodeContext, Origin, encode_attrs};
    use super::*;

    fn ebgp() -> DecodeContext {
        DecodeContext {
            four_octet_as: true,
            ebgp: true,
            enforce_first_as: None,
        }
    }

    fn attrs() -> PathAttrs {
        PathAttrs {
            origin: Origin::Igp,
            as_path: AsPath::sequence([65001, 65002]),
            next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
            med: Some(50),
            communities: vec![Community::new(65001, 1), Community::NO_EXPORT],
            ..Default::default()
        }
    }

    fn v4(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn packs_many_prefixes_per_message_and_decodes_back() {
        let a = attrs();
        let mut ab = Vec::new();
        encode_attrs(
            &mut ab,
            &a,
            &EncodeContext {
                four_octet_as: true,
                ibgp: false,
            },
            true,
        );
        let prefixes: Vec<Prefix> = (0..2000u32)
            .map(|i| Prefix::new(Ipv4Addr::from((10 << 24) | (i << 8)).into(), 24).unwrap())
            .collect();
        let mut out = Vec::new();
        let mut done = 0;
        let mut messages = 0;
        while done < prefixes.len() {
            let n = pack_announce(
                &mut out,
                Family::Ipv4Unicast,
                &ab,
                &a.next_hop,
                &prefixes[done..],
            );
            assert!(n > 0);
            done += n;
            messages += 1;
        }
        assert_eq!(
            messages, 2,
            "4-octet /24 NLRI: ~1000 per 4096-octet message"
        );
        let mut got = Vec::new();
        let mut buf = &out[..];
        while let Some(f) = super::super::header::frame(buf).unwrap() {
            let u = Update::decode(&buf[HEADER_LEN..f.len], &ebgp()).unwrap();
            assert_eq!(u.attrs.as_ref(), Some(&a));
            assert!(u.treat_as_withdraw.is_none());
            got.extend(u.announced_v4());
            buf = &buf[f.len..];
        }
        assert_eq!(got, prefixes);
    }

    #[test]
    fn ipv6_announce_and_withdraw_round_trip() {
        let mut a = attrs();
        a.next_hop = NextHop::V6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: None,
        };
        let mut ab = Vec::new();
        encode_attrs(
            &mut ab,
            &a,
            &EncodeContext {
                four_octet_as: true,
                ibgp: false,
            },
            false,
        );
        let ps = vec![
            "2001:db8:1::/48".parse().unwrap(),
            "2001:db8:2::/48".parse().unwrap(),
        ];
        let mut out = Vec::new();
        assert_eq!(
            pack_announce(&mut out, Family::Ipv6Unicast, &ab, &a.next_hop, &ps),
            2
        );
        let u = Update::decode(&out[19..], &ebgp()).unwrap();
        let mp = u.mp_reach.clone().unwrap();
        assert_eq!(mp.next_hop, a.next_hop);
        assert_eq!(
            NlriIter::new(mp.nlri, Family::Ipv6Unicast).collect::<Vec<_>>(),
            ps
        );
        out.clear();
        assert_eq!(pack_withdraw(&mut out, Family::Ipv6Unicast, &ps), 2);
        let u = Update::decode(&out[19..], &ebgp()).unwrap();
        let (f, n) = u.mp_unreach.unwrap();
        assert_eq!(NlriIter::new(n, f).collect::<Vec<_>>(), ps);
    }

    #[test]
    fn end_of_rib_markers() {
        for f in Family::ALL {
            let mut out = Vec::new();
            write_end_of_rib(&mut out, f);
            let u = Update::decode(&out[19..], &ebgp()).unwrap();
            assert_eq!(u.end_of_rib(), Some(f));
        }
    }

    #[test]
    fn rfc7606_outcomes() {
        // ORIGIN value 7: treat-as-withdraw; NLRI still readable.
        let body = [
            0, 0, 0, 14, 0x40, 1, 1, 7, 0x40, 2, 0, 0x40, 3, 4, 192, 0, 2, 1, 24, 10, 0, 0,
        ];
        let u = Update::decode(&body, &ebgp()).unwrap();
        assert_eq!(u.treat_as_withdraw.unwrap().code, 1);
        assert_eq!(
            u.announced_v4().collect::<Vec<_>>(),
            vec![v4("10.0.0.0/24")]
        );
        // Missing NEXT_HOP with IPv4 NLRI: treat-as-withdraw.
        let body = [0, 0, 0, 7, 0x40, 1, 1, 0, 0x40, 2, 0, 24, 10, 0, 0];
        assert_eq!(
            Update::decode(&body, &ebgp())
                .unwrap()
                .treat_as_withdraw
                .unwrap()
                .reason,
            "NEXT_HOP missing"
        );
        // ATOMIC_AGGREGATE with a length: discarded, route kept.
        let body = [
            0, 0, 0, 18, 0x40, 1, 1, 0, 0x40, 2, 0, 0x40, 3, 4, 192, 0, 2, 1, 0x40, 6, 1, 0, 24,
            10, 0, 0,
        ];
        let u = Update::decode(&body, &ebgp()).unwrap();
        assert!(u.treat_as_withdraw.is_none());
        assert_eq!(u.problems[0].action, AttrErrorAction::Discard);
        // Withdrawn length beyond the message: session reset with 3/1.
        let e = Update::decode(&[0, 9, 0, 0], &ebgp()).unwrap_err();
        assert_eq!((e.notification().code, e.notification().subcode), (3, 1));
        // NLRI with a /33: session reset with 3/10.
        let e = Update::decode(&[0, 0, 0, 0, 33, 1, 2, 3, 4, 5], &ebgp()).unwrap_err();
        assert_eq!(e.notification().subcode, 10);
        // Duplicate MP_UNREACH: session reset.
        let body = [0, 0, 0, 12, 0x80, 15, 3, 0, 2, 1, 0x80, 15, 3, 0, 2, 1];
        assert!(matches!(
            Update::decode(&body, &ebgp()),
            Err(WireError::DuplicateMpAttribute(15))
        ));
        // Attribute overrunning the list: treat-as-withdraw, not a reset.
        let body = [0, 0, 0, 4, 0x40, 1, 9, 0, 24, 10, 0, 0];
        assert!(
            Update::decode(&body, &ebgp())
                .unwrap()
                .treat_as_withdraw
                .is_some()
        );
        // LOCAL_PREF from eBGP is discarded.
        let body = [0, 0, 0, 7, 0x40, 5, 4, 0, 0, 0, 200];
        let u = Update::decode(&body, &ebgp()).unwrap();
        assert_eq!(u.attrs.unwrap().local_pref, None);
    }

    #[test]
    fn unknown_optional_transitive_is_kept_with_partial_bit() {
        let body = [
            0, 0, 0, 18, 0x40, 1, 1, 0, 0x40, 2, 0, 0x40, 3, 4, 192, 0, 2, 1, 0xc0, 99, 1, 42, 24,
            10, 0, 0,
        ];
        let u = Update::decode(&body, &ebgp()).unwrap();
        let a = u.attrs.unwrap();
        assert_eq!(a.other.len(), 1);
        assert_eq!(a.other[0].flags, 0xe0);
        assert_eq!(&*a.other[0].value, &[42]);
    }
}
