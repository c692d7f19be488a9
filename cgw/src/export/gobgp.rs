//! The customer side of one VPN connection as a GoBGP configuration (`gobgpd.toml`), plus the
//! `gobgp` commands that announce the site's networks (GoBGP's configuration file cannot
//! originate routes).
//!
//! GoBGP has no per-neighbor route maps: policies hang off the global RIB. Per-tunnel policy is
//! a global policy whose statements match a neighbor set, so active-standby becomes:
//!
//! ```text
//!  neighbor-set standby = [ tunnel 2's AWS inside address ]
//!  export policy to-aws:    site prefixes to `standby` -> prepend our ASN twice, accept
//!                           site prefixes (anyone)     -> accept        (default: reject)
//!  import policy from-aws:  from `standby`             -> local-pref 50, accept
//! ```
//!
//! with the profile's hold, keepalive, connect-retry and idle-hold timers per neighbor (GoBGP
//! waits 30 s after a reset by default, which would hold back a restored tunnel's session). Per-tunnel
//! prepends and MEDs of the scenario's customer gateway become one statement per tunnel.
//! Routes reach the kernel only through zebra (`[zebra.config]`, not written here): with
//! strongSwan's kernel-libipsec the tunnels' traffic is routed into `ipsec0` by charon's own
//! table 220, which is what the swanctl.conf header sets up.
//!
//! What it does not do: zebra integration, BFD, IPv6.

use std::fmt::Write as _;

use engine::model::timing::Profile;
use ipnet::Ipv4Net;
use vgw::config::{CgwConnection, Routing, inside_addresses};
use vgw::daemon::tunnel_name;
use vgw::timers;

use crate::config::TunnelMode;
use crate::daemon::{STANDBY_LOCAL_PREF, STANDBY_PREPEND};

/// `gobgpd.toml` for customer gateway `gateway` (ASN `asn`, announcing `advertise`) on
/// `connection`, with the commands that announce `advertise` in its header.
pub fn gobgp_config(
    gateway: &str,
    asn: u32,
    advertise: &[Ipv4Net],
    mode: TunnelMode,
    connection: &CgwConnection,
    profile: Profile,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# hybridlab: customer gateway {gateway}, VPN connection {} (GoBGP gobgpd.toml)\n\
         # The inside addresses below must be on the tunnel interfaces (strongSwan's\n\
         # kernel-libipsec: on ipsec0, as the swanctl.conf header says).",
        connection.name
    );
    if connection.routing == Routing::Static {
        let _ = writeln!(
            s,
            "# This connection uses static routing: no BGP. Route these prefixes into the tunnels:"
        );
        for p in &connection.static_routes {
            let _ = writeln!(s, "#   {p}");
        }
        return s;
    }
    let Some(first) = connection.tunnels.first() else {
        return s;
    };
    let _ = writeln!(
        s,
        "# Once gobgpd runs, announce the site's networks (its configuration cannot):"
    );
    for p in advertise {
        let _ = writeln!(s, "#   gobgp global rib -a ipv4 add {p}");
    }
    let (_, router_id) = inside_addresses(first.inside_cidr);
    let _ = writeln!(
        s,
        "\n[global.config]\n  as = {asn}\n  router-id = \"{router_id}\"\n\n\
         [global.apply-policy.config]\n  export-policy-list = [\"to-aws\"]\n  \
         default-export-policy = \"reject-route\"\n  import-policy-list = [\"from-aws\"]\n  \
         default-import-policy = \"accept-route\"\n"
    );
    let bgp = timers::of(profile).bgp;
    for t in &connection.tunnels {
        let (aws, customer) = inside_addresses(t.inside_cidr);
        let _ = writeln!(
            s,
            "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{aws}\"\n    \
             peer-as = {}\n  [neighbors.timers.config]\n    hold-time = {}\n    \
             keepalive-interval = {}\n    connect-retry = {}\n    \
             idle-hold-time-after-reset = {}\n  \
             [neighbors.transport.config]\n    local-address = \"{customer}\"\n  \
             [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      \
             afi-safi-name = \"ipv4-unicast\"\n",
            connection.amazon_side_asn,
            bgp.hold_time.secs(),
            bgp.keepalive,
            bgp.connect_retry.as_secs().max(1),
            bgp.idle_hold.as_secs().max(1),
        );
    }
    let _ = writeln!(
        s,
        "[[defined-sets.prefix-sets]]\n  prefix-set-name = \"site\""
    );
    for p in advertise {
        let _ = writeln!(
            s,
            "  [[defined-sets.prefix-sets.prefix-list]]\n    ip-prefix = \"{p}\""
        );
    }
    let standby = |i: usize| mode == TunnelMode::ActiveStandby && i > 0;
    // One neighbor set per tunnel with a policy of its own.
    let mut per_tunnel = Vec::new();
    for (i, t) in connection.tunnels.iter().enumerate() {
        let prepend = if standby(i) && t.as_path_prepend == 0 {
            STANDBY_PREPEND
        } else {
            t.as_path_prepend
        };
        if prepend == 0 && t.med.is_none() && !standby(i) {
            continue;
        }
        let (aws, _) = inside_addresses(t.inside_cidr);
        let set = tunnel_name(&connection.name, i);
        let _ = writeln!(
            s,
            "\n[[defined-sets.neighbor-sets]]\n  neighbor-set-name = \"{set}\"\n  \
             neighbor-info-list = [\"{aws}/32\"]"
        );
        per_tunnel.push((set, prepend, t.med, standby(i)));
    }
    let _ = writeln!(s, "\n[[policy-definitions]]\n  name = \"to-aws\"");
    for (set, prepend, med, _) in &per_tunnel {
        if *prepend == 0 && med.is_none() {
            continue;
        }
        let _ = writeln!(
            s,
            "  [[policy-definitions.statements]]\n    name = \"to-{set}\"\n    \
             [policy-definitions.statements.conditions.match-prefix-set]\n      \
             prefix-set = \"site\"\n    \
             [policy-definitions.statements.conditions.match-neighbor-set]\n      \
             neighbor-set = \"{set}\"\n    [policy-definitions.statements.actions]\n      \
             route-disposition = \"accept-route\""
        );
        if let Some(med) = med {
            let _ = writeln!(
                s,
                "      [policy-definitions.statements.actions.bgp-actions]\n        set-med = \"{med}\""
            );
        }
        if *prepend > 0 {
            let _ = writeln!(
                s,
                "      [policy-definitions.statements.actions.bgp-actions.set-as-path-prepend]\n        \
                 as = \"{asn}\"\n        repeat-n = {prepend}"
            );
        }
    }
    let _ = writeln!(
        s,
        "  [[policy-definitions.statements]]\n    name = \"site-networks\"\n    \
         [policy-definitions.statements.conditions.match-prefix-set]\n      \
         prefix-set = \"site\"\n    [policy-definitions.statements.actions]\n      \
         route-disposition = \"accept-route\""
    );
    let _ = writeln!(s, "\n[[policy-definitions]]\n  name = \"from-aws\"");
    for (set, _, _, standby) in &per_tunnel {
        if !standby {
            continue;
        }
        let _ = writeln!(
            s,
            "  [[policy-definitions.statements]]\n    name = \"from-{set}\"\n    \
             [policy-definitions.statements.conditions.match-neighbor-set]\n      \
             neighbor-set = \"{set}\"\n    [policy-definitions.statements.actions]\n      \
             route-disposition = \"accept-route\"\n      \
             [policy-definitions.statements.actions.bgp-actions]\n        \
             set-local-pref = {STANDBY_LOCAL_PREF}"
        );
    }
    let _ = writeln!(
        s,
        "  [[policy-definitions.statements]]\n    name = \"accept\"\n    \
         [policy-definitions.statements.actions]\n      route-disposition = \"accept-route\""
    );
    s
}
