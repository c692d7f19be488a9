//! OPEN messages and capabilities (RFC 4271 §4.2, RFC 5492, RFC 4760 §8, RFC 6793 §3,
//! RFC 2918 §2, RFC 4724 §3, RFC 9072 for extended optional parameters).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+
//! |    Version    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     My Autonomous System      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Hold Time           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         BGP Identifier                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Opt Parm Len  |  Optional Parameters: (Type 1, Length 1, Value)*
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! Capability (parameter type 2):  Code (1) | Length (1) | Value
//! Graceful restart (code 64):     R N 0 0 | Restart Time (12 bits) | (AFI 2, SAFI 1, Flags 1)*
//! ```
//!
//! Decoding is ours (bgp-rs rejects a whole OPEN when one capability names an AFI/SAFI it does
//! not know, and cannot tell an unsupported parameter from a malformed one). Encoding goes
//! through bgp-rs's `Open::encode`, one capability per optional parameter.
//!
//! What it does not do: check the OPEN against our configuration (peer AS, identifier clash,
//! hold time negotiation): that is the FSM's job, see [`crate::fsm`].

use std::net::Ipv4Addr;

use super::WireError;
use super::header::{MessageType, write_header};
use super::prefix::Family;

/// AS_TRANS (RFC 6793 §9): stands in for a 4-octet AS in 2-octet fields.
pub const AS_TRANS: u16 = 23456;

/// Graceful-restart capability contents (RFC 4724 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GracefulRestart {
    /// R bit: the sender has restarted.
    pub restart_state: bool,
    /// N bit (RFC 8538): the sender supports graceful NOTIFICATION.
    pub notification: bool,
    /// Restart time in seconds (12 bits).
    pub restart_time: u16,
    /// Families with their "forwarding state preserved" flag.
    pub families: Vec<(u16, u8, bool)>,
}

/// One capability from an OPEN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// Code 1: multiprotocol extensions for (AFI, SAFI).
    Multiprotocol {
        /// AFI.
        afi: u16,
        /// SAFI.
        safi: u8,
    },
    /// Code 2: route refresh.
    RouteRefresh,
    /// Code 64: graceful restart.
    GracefulRestart(GracefulRestart),
    /// Code 65: 4-octet AS number support, with the sender's AS.
    FourOctetAs(u32),
    /// Any other capability, kept verbatim.
    Unknown {
        /// Capability code.
        code: u8,
        /// Value octets.
        value: Vec<u8>,
    },
}

/// An OPEN message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// My Autonomous System (AS_TRANS when the sender's AS needs 4 octets).
    pub my_as: u16,
    /// Proposed hold time in seconds.
    pub hold_time: u16,
    /// BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// Capabilities, in the order received.
    pub capabilities: Vec<Capability>,
}

impl Open {
    /// The sender's AS: from the 4-octet capability when present (RFC 6793 §3), else My AS.
    pub fn asn(&self) -> u32 {
        self.capabilities
            .iter()
            .find_map(|c| match c {
                Capability::FourOctetAs(asn) => Some(*asn),
                _ => None,
            })
            .unwrap_or(u32::from(self.my_as))
    }

    /// True if the 4-octet AS capability is present.
    pub fn four_octet_as(&self) -> bool {
        self.capabilities
            .iter()
            .any(|c| matches!(c, Capability::FourOctetAs(_)))
    }

    /// True if route refresh (code 2) is present.
    pub fn route_refresh(&self) -> bool {
        self.capabilities
            .iter()
            .any(|c| matches!(c, Capability::RouteRefresh))
    }

    /// The graceful-restart capability, if present.
    pub fn graceful_restart(&self) -> Option<&GracefulRestart> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::GracefulRestart(gr) => Some(gr),
            _ => None,
        })
    }

    /// Families announced with the multiprotocol capability that we carry. RFC 4760 §8: a peer
    /// that sends no multiprotocol capability at all speaks IPv4 unicast only.
    pub fn families(&self) -> Vec<Family> {
        let mut any_mp = false;
        let mut out = Vec::new();
        for c in &self.capabilities {
            if let Capability::Multiprotocol { afi, safi } = c {
                any_mp = true;
                if let Some(f) = Family::from_afi_safi(*afi, *safi)
                    && !out.contains(&f)
                {
                    out.push(f);
                }
            }
        }
        if !any_mp {
            out.push(Family::Ipv4Unicast);
        }
        out.sort();
        out
    }

    /// Decodes an OPEN body (after the 19-octet header). Checks the RFC 4271 §6.2 rules that need
    /// no configuration: version, hold time 1 or 2, identifier 0, parameter structure.
    pub fn decode(body: &[u8]) -> Result<Open, WireError> {
        let fixed = body
            .get(..10)
            .ok_or(WireError::MalformedOpen("shorter than 10 octets"))?;
        let version = fixed[0];
        if version != 4 {
            return Err(WireError::UnsupportedVersion { version });
        }
        let my_as = u16::from_be_bytes([fixed[1], fixed[2]]);
        let hold_time = u16::from_be_bytes([fixed[3], fixed[4]]);
        let bgp_id = Ipv4Addr::new(fixed[5], fixed[6], fixed[7], fixed[8]);
        let opt_len = usize::from(fixed[9]);
        let rest = &body[10..];

        // RFC 9072 §2: Non-Ext OP Len 255 followed by Non-Ext OP Type 255 announces 2-octet lengths.
        let (params, extended) = if opt_len == 255 && rest.first() == Some(&255) {
            let len = rest
                .get(1..3)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                .ok_or(WireError::MalformedOpen(
                    "truncated extended parameter length",
                ))?;
            (&rest[3..], Some(len))
        } else {
            (rest, None)
        };
        let params_len = extended.unwrap_or(opt_len);
        if params.len() != params_len {
            return Err(WireError::MalformedOpen(
                "optional parameter length mismatch",
            ));
        }

        let mut capabilities = Vec::new();
        let mut i = 0;
        while i < params.len() {
            let ptype = params[i];
            let (plen, hdr) = if extended.is_some() {
                let b = params
                    .get(i + 1..i + 3)
                    .ok_or(WireError::MalformedOpen("truncated parameter header"))?;
                (usize::from(u16::from_be_bytes([b[0], b[1]])), 3)
            } else {
                let b = params
                    .get(i + 1)
                    .ok_or(WireError::MalformedOpen("truncated parameter header"))?;
                (usize::from(*b), 2)
            };
            let value = params
                .get(i + hdr..i + hdr + plen)
                .ok_or(WireError::MalformedOpen("parameter runs past the end"))?;
            i += hdr + plen;
            if ptype != 2 {
                return Err(WireError::UnsupportedOptionalParameter(ptype));
            }
            decode_capabilities(value, &mut capabilities)?;
        }

        if hold_time == 1 || hold_time == 2 {
            return Err(WireError::UnacceptableHoldTime(hold_time));
        }
        if bgp_id.is_unspecified() {
            return Err(WireError::BadBgpIdentifier(bgp_id));
        }
        Ok(Open {
            my_as,
            hold_time,
            bgp_id,
            capabilities,
        })
    }

    /// Appends the whole message (header included), encoded through bgp-rs.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let caps: Vec<bgp_rs::OpenCapability> = self.capabilities.iter().map(to_bgprs).collect();
        let open = bgp_rs::Open {
            version: 4,
            peer_asn: self.my_as,
            hold_timer: self.hold_time,
            identifier: u32::from(self.bgp_id),
            parameters: vec![bgp_rs::OpenParameter::Capabilities(caps)],
        };
        let start = out.len();
        write_header(out, MessageType::Open, 0);
        // Writing into a Vec cannot fail; our capabilities are far below bgp-rs's 255-octet limit.
        let _ = open.encode(out);
        super::header::patch_length(out, start);
    }
}

fn to_bgprs(c: &Capability) -> bgp_rs::OpenCapability {
    use bgp_rs::OpenCapability as B;
    match c {
        Capability::Multiprotocol { afi: 1, safi: 1 } => {
            B::MultiProtocol((bgp_rs::AFI::IPV4, bgp_rs::SAFI::Unicast))
        }
        Capability::Multiprotocol { afi: 2, safi: 1 } => {
            B::MultiProtocol((bgp_rs::AFI::IPV6, bgp_rs::SAFI::Unicast))
        }
        Capability::Multiprotocol { afi, safi } => {
            let mut value = afi.to_be_bytes().to_vec();
            value.extend_from_slice(&[0, *safi]);
            B::Unknown {
                cap_code: 1,
                cap_length: 4,
                value,
            }
        }
        Capability::RouteRefresh => B::RouteRefresh,
        Capability::FourOctetAs(asn) => B::FourByteASN(*asn),
        Capability::GracefulRestart(gr) => {
            let value = encode_graceful_restart(gr);
            B::Unknown {
                cap_code: 64,
                cap_length: value.len() as u8,
                value,
            }
        }
        Capability::Unknown { code, value } => B::Unknown {
            cap_code: *code,
            cap_length: value.len() as u8,
            value: value.clone(),
        },
    }
}

fn encode_graceful_restart(gr: &GracefulRestart) -> Vec<u8> {
    let mut flags: u16 = gr.restart_time & 0x0fff;
    if gr.restart_state {
        flags |= 0x8000;
    }
    if gr.notification {
        flags |= 0x4000;
    }
    let mut v = flags.to_be_bytes().to_vec();
    for (afi, safi, fwd) in &gr.families {
        v.extend_from_slice(&afi.to_be_bytes());
        v.push(*safi);
        v.push(if *fwd { 0x80 } else { 0 });
    }
    v
}

fn decode_capabilities(mut bytes: &[u8], out: &mut Vec<Capability>) -> Result<(), WireError> {
    while !bytes.is_empty() {
        let [code, len, rest @ ..] = bytes else {
            return Err(WireError::MalformedOpen("truncated capability header"));
        };
        let len = usize::from(*len);
        let value = rest
            .get(..len)
            .ok_or(WireError::MalformedOpen("capability runs past the end"))?;
        bytes = &rest[len..];
        let cap = match (*code, value) {
            (1, [a0, a1, _, safi]) => Capability::Multiprotocol {
                afi: u16::from_be_bytes([*a0, *a1]),
                safi: *safi,
            },
            (1, _) => {
                return Err(WireError::MalformedOpen(
                    "multiprotocol capability length != 4",
                ));
            }
            (2, []) => Capability::RouteRefresh,
            (65, [a, b, c, d]) => Capability::FourOctetAs(u32::from_be_bytes([*a, *b, *c, *d])),
            (65, _) => {
                return Err(WireError::MalformedOpen(
                    "4-octet AS capability length != 4",
                ));
            }
            (64, [f0, f1, tail @ ..]) if tail.len() % 4 == 0 => {
                let flags = u16::from_be_bytes([*f0, *f1]);
                Capability::GracefulRestart(GracefulRestart {
                    restart_state: flags & 0x8000 != 0,
                    notification: flags & 0x4000 != 0,
                    restart_time: flags & 0x0fff,
                    families: tail
                        .chunks_exact(4)
                        .map(|c| (u16::from_be_bytes([c[0], c[1]]), c[2], c[3] & 0x80 != 0))
                        .collect(),
                })
            }
            // Anything else, including a malformed capability we do not depend on (route refresh
            // with a value, a broken graceful restart), is kept verbatim and otherwise ignored
            // (RFC 5492 §3: unknown capabilities are ignored).
            _ => Capability::Unknown {
                code: *code,
                value: value.to_vec(),
            },
        };
        out.push(cap);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Open {
        Open {
            my_as: AS_TRANS,
            hold_time: 30,
            bgp_id: Ipv4Addr::new(192, 0, 2, 1),
            capabilities: vec![
                Capability::Multiprotocol { afi: 1, safi: 1 },
                Capability::Multiprotocol { afi: 2, safi: 1 },
                Capability::RouteRefresh,
                Capability::FourOctetAs(4_200_000_001),
                Capability::GracefulRestart(GracefulRestart {
                    restart_state: false,
                    notification: false,
                    restart_time: 120,
                    families: vec![(1, 1, false)],
                }),
            ],
        }
    }

    #[test]
    fn round_trip_through_bgprs_encoder() {
        let open = sample();
        let mut out = Vec::new();
        open.encode(&mut out);
        assert_eq!(
            usize::from(u16::from_be_bytes([out[16], out[17]])),
            out.len()
        );
        let back = Open::decode(&out[19..]).unwrap();
        assert_eq!(back, open);
        assert_eq!(back.asn(), 4_200_000_001);
        assert_eq!(
            back.families(),
            vec![Family::Ipv4Unicast, Family::Ipv6Unicast]
        );
    }

    #[test]
    fn rfc_checks() {
        let mut out = Vec::new();
        sample().encode(&mut out);
        let mut body = out[19..].to_vec();
        body[0] = 3;
        assert_eq!(
            Open::decode(&body),
            Err(WireError::UnsupportedVersion { version: 3 })
        );
        let mut body = out[19..].to_vec();
        body[3..5].copy_from_slice(&2u16.to_be_bytes());
        assert_eq!(Open::decode(&body), Err(WireError::UnacceptableHoldTime(2)));
        let mut body = out[19..].to_vec();
        body[5..9].copy_from_slice(&[0; 4]);
        assert!(matches!(
            Open::decode(&body),
            Err(WireError::BadBgpIdentifier(_))
        ));
        let mut body = out[19..].to_vec();
        body[10] = 1; // first parameter type: 1 (deprecated authentication)
        assert_eq!(
            Open::decode(&body),
            Err(WireError::UnsupportedOptionalParameter(1))
        );
        let mut body = out[19..].to_vec();
        body[9] += 1;
        assert!(matches!(
            Open::decode(&body),
            Err(WireError::MalformedOpen(_))
        ));
    }

    #[test]
    fn no_multiprotocol_means_ipv4_only_and_unknown_afi_is_kept() {
        let open = Open {
            my_as: 65001,
            hold_time: 0,
            bgp_id: Ipv4Addr::new(1, 1, 1, 1),
            capabilities: vec![Capability::RouteRefresh],
        };
        assert_eq!(open.families(), vec![Family::Ipv4Unicast]);
        let with_evpn = Open {
            capabilities: vec![Capability::Multiprotocol { afi: 25, safi: 70 }],
            ..open
        };
        let mut out = Vec::new();
        with_evpn.encode(&mut out);
        let back = Open::decode(&out[19..]).unwrap();
        assert_eq!(back.families(), Vec::<Family>::new());
    }

    #[test]
    fn extended_optional_parameters_rfc9072() {
        // version 4, AS 65001, hold 90, id 1.1.1.1, 255, 255, ext len 6, param type 2 len 3... cap 2/0
        let mut body = vec![
            4, 0xfd, 0xe9, 0, 90, 1, 1, 1, 1, 255, 255, 0, 5, 2, 0, 2, 2, 0,
        ];
        assert_eq!(
            Open::decode(&body).unwrap().capabilities,
            vec![Capability::RouteRefresh]
        );
        body[12] = 6;
        assert!(Open::decode(&body).is_err());
    }
}
