//! The decision process (RFC 4271 §9.1.1 degree of preference, §9.1.2.2 tie-breaking).
//!
//! ```text
//!   0. policy preference                   higher wins   (the gateway's hook; 0 by default)
//!   1. LOCAL_PREF (default 100)            higher wins   (§9.1.1)
//!   2. locally originated                  wins          (FRR/Cisco practice; inferred)
//!   3. AS_PATH length (SET counts 1)       shorter wins  (§9.1.2.2 a)
//!   4. ORIGIN                              IGP < EGP < INCOMPLETE (b)
//!   5. MED, same neighbouring AS only      lower wins, missing = 0 (c)
//!   6. eBGP over iBGP                                    (d)
//!      (IGP cost to the next hop (e) is equal for all: we run no IGP)
//!   -- routes equal up to here may share forwarding (ECMP), see `multipath_equal` --
//!   7. not stale over stale (RFC 4724 helper: prefer a fresh path)
//!   8. lower BGP identifier                              (f)
//!   9. lower peer address                                (g)
//! ```
//!
//! Step 5 compares MED only between routes from the same neighbouring AS, so it is not a total
//! order; like FRR without `deterministic-med`, we apply it pairwise.
//!
//! What it does not do: route reflection steps (CLUSTER_LIST length) or confederations.

use std::cmp::Ordering;

use super::candidate::Candidate;

/// Default LOCAL_PREF (RFC 4271 §5.1.5 leaves it to us; 100 is universal practice).
pub const DEFAULT_LOCAL_PREF: u32 = 100;

fn upto_multipath(a: &Candidate<'_>, b: &Candidate<'_>, pa: u32, pb: u32) -> Ordering {
    let (x, y) = (a.attrs, b.attrs);
    pb.cmp(&pa)
        .then_with(|| {
            y.local_pref
                .unwrap_or(DEFAULT_LOCAL_PREF)
                .cmp(&x.local_pref.unwrap_or(DEFAULT_LOCAL_PREF))
        })
        .then_with(|| b.peer.is_local().cmp(&a.peer.is_local()))
        .then_with(|| x.as_path.path_len().cmp(&y.as_path.path_len()))
        .then_with(|| x.origin.cmp(&y.origin))
        .then_with(|| {
            if x.as_path.first_as() == y.as_path.first_as() {
                x.med.unwrap_or(0).cmp(&y.med.unwrap_or(0))
            } else {
                Ordering::Equal
            }
        })
        .then_with(|| b.peer.ebgp.cmp(&a.peer.ebgp))
}

/// Full comparison with preferences `pa`, `pb` already computed; `Less` means `a` is better.
pub fn compare(a: &Candidate<'_>, b: &Candidate<'_>, pa: u32, pb: u32) -> Ordering {
    upto_multipath(a, b, pa, pb)
        .then_with(|| a.stale.cmp(&b.stale))
        .then_with(|| a.peer.router_id.cmp(&b.peer.router_id))
        .then_with(|| a.peer.addr.cmp(&b.peer.addr))
}

/// True if `a` and `b` tie through step 6 and have the same AS_PATH.
pub fn multipath_equal(a: &Candidate<'_>, b: &Candidate<'_>) -> bool {
    upto_multipath(a, b, 0, 0) == Ordering::Equal && a.attrs.as_path == b.attrs.as_path
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::rib::candidate::PeerInfo;
    use crate::wire::{AsPath, Origin, PathAttrs};

    fn peer(idx: u16, id: u8, ebgp: bool) -> PeerInfo {
        PeerInfo {
            idx,
            name: format!("p{idx}"),
            addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, id)),
            remote_as: 65000 + u32::from(idx),
            router_id: Ipv4Addr::new(10, 0, 0, id),
            ebgp,
        }
    }

    fn attrs(path: &[u32], med: Option<u32>) -> PathAttrs {
        PathAttrs {
            as_path: AsPath::sequence(path.iter().copied()),
            med,
            ..Default::default()
        }
    }

    fn cmp(pa: &PeerInfo, a: &PathAttrs, pb: &PeerInfo, b: &PathAttrs) -> Ordering {
        compare(
            &Candidate {
                peer: pa,
                attrs: a,
                stale: false,
            },
            &Candidate {
                peer: pb,
                attrs: b,
                stale: false,
            },
            0,
            0,
        )
    }

    #[test]
    fn each_step_in_order() {
        let (p1, p2) = (peer(1, 1, true), peer(2, 2, true));
        // Local pref beats path length.
        let mut a = attrs(&[1, 2, 3], None);
        a.local_pref = Some(200);
        assert_eq!(cmp(&p1, &a, &p2, &attrs(&[1], None)), Ordering::Less);
        // Shorter AS_PATH.
        assert_eq!(
            cmp(&p1, &attrs(&[1, 2], None), &p2, &attrs(&[1], None)),
            Ordering::Greater
        );
        // Origin.
        let mut inc = attrs(&[1], None);
        inc.origin = Origin::Incomplete;
        assert_eq!(cmp(&p1, &inc, &p2, &attrs(&[1], None)), Ordering::Greater);
        // MED only within the same neighbouring AS.
        assert_eq!(
            cmp(&p1, &attrs(&[1], Some(10)), &p2, &attrs(&[1], Some(5))),
            Ordering::Greater
        );
        assert_eq!(
            cmp(&p1, &attrs(&[1], Some(10)), &p2, &attrs(&[2], Some(5))),
            Ordering::Less,
            "router id decides"
        );
        // eBGP over iBGP.
        let ib = peer(3, 0, false);
        assert_eq!(
            cmp(&ib, &attrs(&[1], None), &p2, &attrs(&[1], None)),
            Ordering::Greater
        );
        // Router id.
        assert_eq!(
            cmp(&p2, &attrs(&[1], None), &p1, &attrs(&[1], None)),
            Ordering::Greater
        );
    }

    #[test]
    fn multipath_needs_same_as_path() {
        let (p1, p2) = (peer(1, 1, true), peer(2, 2, true));
        let a = attrs(&[65001, 7], None);
        let c1 = Candidate {
            peer: &p1,
            attrs: &a,
            stale: false,
        };
        let c2 = Candidate {
            peer: &p2,
            attrs: &a,
            stale: false,
        };
        assert!(multipath_equal(&c1, &c2));
        let b = attrs(&[65002, 7], None);
        assert!(!multipath_equal(
            &c1,
            &Candidate {
                peer: &p2,
                attrs: &b,
                stale: false
            }
        ));
    }
}
