//! Decoding path attributes one by one into a [`PathAttrs`], with the RFC 7606 outcome of each
//! problem (§7 per attribute: discard or treat-as-withdraw), and the RFC 6793 §4.2.3 merge of
//! AS4_PATH / AS4_AGGREGATOR for sessions with 2-octet peers.
//!
//! What it does not do: walk the attribute list or MP_REACH/MP_UNREACH (see `update.rs`).

use std::net::Ipv4Addr;

use super::{
    Aggregator, AsPath, AsSegment, AttrErrorAction, AttrProblem, Community, DecodeContext, NextHop,
    Origin, PathAttrs, RawAttr, SegmentKind, code, flags,
};
use crate::wire::open::AS_TRANS;

/// Accumulates attributes while an UPDATE is parsed.
#[derive(Debug, Default)]
pub(crate) struct AttrBuilder {
    pub attrs: PathAttrs,
    pub seen_origin: bool,
    pub seen_as_path: bool,
    pub seen_next_hop: bool,
    as4_path: Option<AsPath>,
    as4_aggregator: Option<Aggregator>,
    pub problems: Vec<AttrProblem>,
}

fn problem(code: u8, action: AttrErrorAction, reason: &'static str) -> AttrProblem {
    AttrProblem {
        code,
        action,
        reason,
    }
}

fn be32(v: &[u8]) -> u32 {
    u32::from_be_bytes([v[0], v[1], v[2], v[3]])
}

/// Decodes AS_PATH / AS4_PATH segments with `width` octets per ASN (RFC 7606 §7.2 checks).
fn decode_as_path(mut v: &[u8], width: usize) -> Result<AsPath, &'static str> {
    let mut segments = Vec::new();
    while !v.is_empty() {
        let [t, n, rest @ ..] = v else {
            return Err("truncated segment header");
        };
        let kind = SegmentKind::from_u8(*t).ok_or("unknown segment type")?;
        if *n == 0 {
            return Err("zero-length segment");
        }
        let bytes = usize::from(*n) * width;
        let body = rest.get(..bytes).ok_or("segment overruns the attribute")?;
        let asns = if width == 4 {
            body.chunks_exact(4).map(be32).collect()
        } else {
            body.chunks_exact(2)
                .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
                .collect()
        };
        segments.push(AsSegment { kind, asns });
        v = &rest[bytes..];
    }
    Ok(AsPath { segments })
}

impl AttrBuilder {
    /// Handles one attribute (not MP_REACH/MP_UNREACH). Returns `Err` only for the errors RFC 7606
    /// leaves as session resets.
    pub(crate) fn add(
        &mut self,
        flags_byte: u8,
        code_byte: u8,
        value: &[u8],
        ctx: &DecodeContext,
    ) -> Result<(), crate::wire::WireError> {
        use AttrErrorAction::*;
        let optional = flags_byte & flags::OPTIONAL != 0;
        let transitive = flags_byte & flags::TRANSITIVE != 0;
        // RFC 7606 §3 (c): wrong flags on an attribute we know -> its own error handling.
        let expected_flags_ok = match code_byte {
            1..=3 | 5 | 6 => !optional && transitive,
            4 => optional && !transitive,
            7 | 8 | 17 | 18 => optional && transitive,
            _ => true,
        };
        if !expected_flags_ok {
            let action = if matches!(code_byte, 6 | 7 | 17 | 18) {
                Discard
            } else {
                TreatAsWithdraw
            };
            self.problems
                .push(problem(code_byte, action, "attribute flags error"));
            return Ok(());
        }
        match code_byte {
            code::ORIGIN => match value {
                [v] if Origin::from_u8(*v).is_some() => {
                    self.attrs.origin = Origin::from_u8(*v).unwrap_or(Origin::Incomplete);
                    self.seen_origin = true;
                }
                _ => self
                    .problems
                    .push(problem(code::ORIGIN, TreatAsWithdraw, "invalid ORIGIN")),
            },
            code::AS_PATH => {
                let width = if ctx.four_octet_as { 4 } else { 2 };
                match decode_as_path(value, width) {
                    Ok(p) => {
                        if let Some(peer_as) = ctx.enforce_first_as
                            && p.first_as() != Some(peer_as)
                        {
                            // RFC 4271 §6.3 says 3/11; RFC 7606 §7.2 softens it to treat-as-withdraw.
                            self.problems.push(problem(
                                code::AS_PATH,
                                TreatAsWithdraw,
                                "first AS is not the peer's AS",
                            ));
                        }
                        self.attrs.as_path = p;
                        self.seen_as_path = true;
                    }
                    Err(reason) => {
                        self.problems
                            .push(problem(code::AS_PATH, TreatAsWithdraw, reason))
                    }
                }
            }
            code::NEXT_HOP => match value {
                [a, b, c, d] => {
                    let nh = Ipv4Addr::new(*a, *b, *c, *d);
                    // RFC 7606 §7.3: a semantically wrong next hop may be treated as withdraw.
                    if nh.is_unspecified() || nh.is_multicast() || nh.is_broadcast() {
                        self.problems.push(problem(
                            code::NEXT_HOP,
                            TreatAsWithdraw,
                            "NEXT_HOP is not a unicast address",
                        ));
                    }
                    self.attrs.next_hop = NextHop::V4(nh);
                    self.seen_next_hop = true;
                }
                _ => self.problems.push(problem(
                    code::NEXT_HOP,
                    TreatAsWithdraw,
                    "NEXT_HOP length != 4",
                )),
            },
            code::MED => match value {
                [_, _, _, _] => self.attrs.med = Some(be32(value)),
                _ => self
                    .problems
                    .push(problem(code::MED, TreatAsWithdraw, "MED length != 4")),
            },
            code::LOCAL_PREF => {
                if ctx.ebgp {
                    // RFC 4271 §5.1.5 / RFC 7606 §7.5: ignored from external peers.
                    self.problems.push(problem(
                        code::LOCAL_PREF,
                        Discard,
                        "LOCAL_PREF from an eBGP peer",
                    ));
                } else if value.len() == 4 {
                    self.attrs.local_pref = Some(be32(value));
                } else {
                    self.problems.push(problem(
                        code::LOCAL_PREF,
                        TreatAsWithdraw,
                        "LOCAL_PREF length != 4",
                    ));
                }
            }
            code::ATOMIC_AGGREGATE => {
                if value.is_empty() {
                    self.attrs.atomic_aggregate = true;
                } else {
                    self.problems
                        .push(problem(code_byte, Discard, "ATOMIC_AGGREGATE length != 0"));
                }
            }
            code::AGGREGATOR => {
                let width = if ctx.four_octet_as { 8 } else { 6 };
                if value.len() == width {
                    let (asn, addr) = value.split_at(width - 4);
                    let asn = if width == 8 {
                        be32(asn)
                    } else {
                        u32::from(u16::from_be_bytes([asn[0], asn[1]]))
                    };
                    self.attrs.aggregator = Some(Aggregator {
                        asn,
                        addr: Ipv4Addr::from(be32(addr)),
                    });
                } else {
                    self.problems
                        .push(problem(code_byte, Discard, "AGGREGATOR length mismatch"));
                }
            }
            code::COMMUNITIES => {
                if value.is_empty() || !value.len().is_multiple_of(4) {
                    self.problems.push(problem(
                        code_byte,
                        TreatAsWithdraw,
                        "COMMUNITIES length not a positive multiple of 4",
                    ));
                } else {
                    self.attrs.communities =
                        value.chunks_exact(4).map(|c| Community(be32(c))).collect();
                }
            }
            code::ORIGINATOR_ID | code::CLUSTER_LIST if ctx.ebgp => {
                // RFC 7606 §7.9, §7.10: route-reflection attributes from eBGP are discarded.
                self.problems.push(problem(
                    code_byte,
                    Discard,
                    "route reflection attribute from an eBGP peer",
                ));
            }
            code::AS4_PATH => {
                if ctx.four_octet_as {
                    // RFC 6793 §4.1: a NEW speaker ignores AS4_PATH from a NEW speaker.
                    self.problems.push(problem(
                        code_byte,
                        Discard,
                        "AS4_PATH on a 4-octet session",
                    ));
                } else {
                    match decode_as_path(value, 4) {
                        Ok(p) => self.as4_path = Some(p),
                        Err(r) => self.problems.push(problem(code_byte, Discard, r)),
                    }
                }
            }
            code::AS4_AGGREGATOR => {
                if ctx.four_octet_as {
                    self.problems.push(problem(
                        code_byte,
                        Discard,
                        "AS4_AGGREGATOR on a 4-octet session",
                    ));
                } else if value.len() == 8 {
                    self.as4_aggregator = Some(Aggregator {
                        asn: be32(&value[..4]),
                        addr: Ipv4Addr::from(be32(&value[4..])),
                    });
                } else {
                    self.problems
                        .push(problem(code_byte, Discard, "AS4_AGGREGATOR length != 8"));
                }
            }
            other => {
                if !optional {
                    // RFC 4271 §6.3: an unrecognized well-known attribute resets the session.
                    return Err(crate::wire::WireError::UnrecognizedWellKnownAttribute(
                        other,
                    ));
                }
                if transitive || !ctx.ebgp {
                    // Optional transitive: pass on with Partial set (RFC 4271 §5). Non-transitive
                    // ones from iBGP (ORIGINATOR_ID, CLUSTER_LIST) are kept for show only; the
                    // export path drops non-transitive attributes.
                    let mut f = flags_byte & !flags::EXTENDED;
                    if transitive {
                        f |= flags::PARTIAL;
                    }
                    let raw = RawAttr {
                        flags: f,
                        code: other,
                        value: value.into(),
                    };
                    match self.attrs.other.binary_search_by_key(&other, |a| a.code) {
                        Ok(_) => {}
                        Err(pos) => self.attrs.other.insert(pos, raw),
                    }
                }
            }
        }
        Ok(())
    }

    /// RFC 6793 §4.2.3: reconcile AS_PATH/AGGREGATOR with AS4_PATH/AS4_AGGREGATOR from an OLD peer.
    pub(crate) fn finish(mut self) -> (PathAttrs, Vec<AttrProblem>, bool, bool, bool) {
        if let Some(agg) = self.attrs.aggregator
            && agg.asn != u32::from(AS_TRANS)
            && self.as4_aggregator.is_some()
        {
            // AGGREGATOR from an OLD speaker that is not AS_TRANS: ignore both AS4 attributes.
            self.as4_aggregator = None;
            self.as4_path = None;
        }
        if let Some(a4) = self.as4_aggregator {
            self.attrs.aggregator = Some(a4);
        }
        if let Some(p4) = self.as4_path.take() {
            let n = self.attrs.as_path.path_len();
            let n4 = p4.path_len();
            if n >= n4 {
                // Keep the leading (n - n4) ASes of AS_PATH and append AS4_PATH.
                let mut keep = n - n4;
                let mut merged = Vec::new();
                for seg in &self.attrs.as_path.segments {
                    if keep == 0 {
                        break;
                    }
                    match seg.kind {
                        SegmentKind::Sequence => {
                            let take = (keep as usize).min(seg.asns.len());
                            merged.push(AsSegment {
                                kind: seg.kind,
                                asns: seg.asns[..take].to_vec(),
                            });
                            keep -= take as u32;
                        }
                        SegmentKind::Set => {
                            merged.push(seg.clone());
                            keep -= 1;
                        }
                        _ => merged.push(seg.clone()),
                    }
                }
                merged.extend(p4.segments);
                // Join adjacent sequences so that path_len and display stay canonical.
                let mut joined: Vec<AsSegment> = Vec::with_capacity(merged.len());
                for s in merged {
                    match joined.last_mut() {
                        Some(last)
                            if last.kind == SegmentKind::Sequence
                                && s.kind == SegmentKind::Sequence
                                && last.asns.len() + s.asns.len() <= 255 =>
                        {
                            last.asns.extend(s.asns)
                        }
                        _ => joined.push(s),
                    }
                }
                self.attrs.as_path = AsPath { segments: joined };
            }
            // else: AS4_PATH longer than AS_PATH is ignored (RFC 6793 §4.2.3).
        }
        (
            self.attrs,
            self.problems,
            self.seen_origin,
            self.seen_as_path,
            self.seen_next_hop,
        )
    }
}
