//! ROUTE-REFRESH messages (RFC 2918 §3; subtype octet from RFC 7313 §3).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |              AFI              |   Reserved    |     SAFI      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Decoding is ours: four fixed octets, and bgp-rs's parser fails the whole message for an AFI it
//! does not know, where RFC 2918 §4 asks us to ignore the request. Encoding goes through bgp-rs.
//!
//! What it does not do: Enhanced Route Refresh (RFC 7313 BoRR/EoRR subtypes); a request with a
//! non-zero subtype is treated as a plain request, as RFC 7313 §4 allows for speakers without
//! the capability.

use super::WireError;
use super::header::{MessageType, write_header};
use super::prefix::Family;

/// A decoded ROUTE-REFRESH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteRefresh {
    /// A request for a family we carry.
    Family(Family),
    /// A request for an (AFI, SAFI) we do not carry: RFC 2918 §4 says to ignore it.
    Unsupported {
        /// AFI as received.
        afi: u16,
        /// SAFI as received.
        safi: u8,
    },
}

impl RouteRefresh {
    /// Decodes the 4-octet body.
    pub fn decode(body: &[u8]) -> Result<Self, WireError> {
        if body.len() != 4 {
            return Err(WireError::RouteRefreshInvalidLength(
                (body.len() + 19) as u16,
            ));
        }
        let afi = u16::from_be_bytes([body[0], body[1]]);
        let safi = body[3];
        let Some(family) = Family::from_afi_safi(afi, safi) else {
            return Ok(RouteRefresh::Unsupported { afi, safi });
        };
        // RFC 7313 §3: the third octet is a subtype (0 = normal request); see the module doc.
        Ok(RouteRefresh::Family(family))
    }

    /// Appends a whole ROUTE-REFRESH message for `family` (encoded by bgp-rs).
    pub fn encode(family: Family, out: &mut Vec<u8>) {
        let afi = match family {
            Family::Ipv4Unicast => bgp_rs::AFI::IPV4,
            Family::Ipv6Unicast => bgp_rs::AFI::IPV6,
        };
        let rr = bgp_rs::RouteRefresh {
            afi,
            safi: bgp_rs::SAFI::Unicast,
            subtype: 0,
        };
        write_header(out, MessageType::RouteRefresh, 4);
        // Writing into a Vec cannot fail.
        let _ = rr.encode(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_known_unknown_and_bad_length() {
        assert_eq!(
            RouteRefresh::decode(&[0, 2, 0, 1]),
            Ok(RouteRefresh::Family(Family::Ipv6Unicast))
        );
        assert_eq!(
            RouteRefresh::decode(&[0, 25, 0, 70]),
            Ok(RouteRefresh::Unsupported { afi: 25, safi: 70 })
        );
        let e = RouteRefresh::decode(&[0, 1, 0]).unwrap_err();
        assert_eq!(e.notification().code, 7);
    }

    #[test]
    fn encode_matches_wire_layout() {
        let mut out = Vec::new();
        RouteRefresh::encode(Family::Ipv4Unicast, &mut out);
        assert_eq!(&out[16..], &[0, 23, 5, 0, 1, 0, 1]);
    }
}
