//! Encoding a [`PathAttrs`] for one neighbor (RFC 4271 §4.3, §5): ascending type codes, the
//! extended-length bit only when needed, 4-octet AS_PATH or AS_TRANS plus AS4_PATH /
//! AS4_AGGREGATOR for 2-octet neighbors (RFC 6793 §4.2.2), LOCAL_PREF only to iBGP, and
//! optional non-transitive attributes never passed on.
//!
//! What it does not do: MP_REACH/MP_UNREACH and NLRI (see `update.rs`, which packs them).

use super::{AsPath, EncodeContext, NextHop, PathAttrs, code, flags};
use crate::wire::open::AS_TRANS;

fn push_attr(out: &mut Vec<u8>, flag_bits: u8, code: u8, value: &[u8]) {
    if value.len() > 255 {
        out.push(flag_bits | flags::EXTENDED);
        out.push(code);
        out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    } else {
        out.push(flag_bits & !flags::EXTENDED);
        out.push(code);
        out.push(value.len() as u8);
    }
    out.extend_from_slice(value);
}

fn encode_segments(path: &AsPath, four: bool, out: &mut Vec<u8>) {
    for s in &path.segments {
        for chunk in s.asns.chunks(255) {
            out.push(s.kind.to_u8());
            out.push(chunk.len() as u8);
            for &a in chunk {
                if four {
                    out.extend_from_slice(&a.to_be_bytes());
                } else {
                    let a16 = if a > 0xffff { AS_TRANS } else { a as u16 };
                    out.extend_from_slice(&a16.to_be_bytes());
                }
            }
        }
    }
}

/// Appends the encoding of `attrs` (everything but MP_REACH/MP_UNREACH; NEXT_HOP only when
/// `with_next_hop`, i.e. for IPv4 NLRI), in ascending type code order.
pub fn encode_attrs(
    out: &mut Vec<u8>,
    attrs: &PathAttrs,
    ctx: &EncodeContext,
    with_next_hop: bool,
) {
    let mut buf = Vec::with_capacity(64);
    push_attr(
        out,
        flags::TRANSITIVE,
        code::ORIGIN,
        &[attrs.origin.to_u8()],
    );
    encode_segments(&attrs.as_path, ctx.four_octet_as, &mut buf);
    push_attr(out, flags::TRANSITIVE, code::AS_PATH, &buf);
    if with_next_hop && let NextHop::V4(nh) = attrs.next_hop {
        push_attr(out, flags::TRANSITIVE, code::NEXT_HOP, &nh.octets());
    }
    if let Some(med) = attrs.med {
        push_attr(out, flags::OPTIONAL, code::MED, &med.to_be_bytes());
    }
    if ctx.ibgp {
        // RFC 4271 §5.1.5: LOCAL_PREF in every UPDATE to an internal peer.
        push_attr(
            out,
            flags::TRANSITIVE,
            code::LOCAL_PREF,
            &attrs.local_pref.unwrap_or(100).to_be_bytes(),
        );
    }
    if attrs.atomic_aggregate {
        push_attr(out, flags::TRANSITIVE, code::ATOMIC_AGGREGATE, &[]);
    }
    if let Some(agg) = attrs.aggregator {
        buf.clear();
        if ctx.four_octet_as {
            buf.extend_from_slice(&agg.asn.to_be_bytes());
        } else {
            let a16 = if agg.asn > 0xffff {
                AS_TRANS
            } else {
                agg.asn as u16
            };
            buf.extend_from_slice(&a16.to_be_bytes());
        }
        buf.extend_from_slice(&agg.addr.octets());
        push_attr(
            out,
            flags::OPTIONAL | flags::TRANSITIVE,
            code::AGGREGATOR,
            &buf,
        );
    }
    if !attrs.communities.is_empty() {
        buf.clear();
        for c in &attrs.communities {
            buf.extend_from_slice(&c.0.to_be_bytes());
        }
        push_attr(
            out,
            flags::OPTIONAL | flags::TRANSITIVE,
            code::COMMUNITIES,
            &buf,
        );
    }
    let mut as4_done = false;
    let needs_as4 = !ctx.four_octet_as && attrs.as_path.needs_four_octets();
    let needs_as4_agg = !ctx.four_octet_as && attrs.aggregator.is_some_and(|a| a.asn > 0xffff);
    let write_as4 = |out: &mut Vec<u8>| {
        // RFC 6793 §4.2.2: an OLD peer gets AS4_PATH / AS4_AGGREGATOR when ASNs need 4 octets.
        if needs_as4 {
            let mut b = Vec::new();
            encode_segments(&attrs.as_path, true, &mut b);
            push_attr(out, flags::OPTIONAL | flags::TRANSITIVE, code::AS4_PATH, &b);
        }
        if needs_as4_agg && let Some(agg) = attrs.aggregator {
            let mut b = agg.asn.to_be_bytes().to_vec();
            b.extend_from_slice(&agg.addr.octets());
            push_attr(
                out,
                flags::OPTIONAL | flags::TRANSITIVE,
                code::AS4_AGGREGATOR,
                &b,
            );
        }
    };
    for raw in &attrs.other {
        if raw.flags & flags::TRANSITIVE == 0 {
            continue; // optional non-transitive attributes are never passed on
        }
        if !as4_done && raw.code > code::AS4_AGGREGATOR {
            write_as4(out);
            as4_done = true;
        }
        if raw.code == code::AS4_PATH || raw.code == code::AS4_AGGREGATOR {
            continue;
        }
        push_attr(out, raw.flags, raw.code, &raw.value);
    }
    if !as4_done {
        write_as4(out);
    }
}
