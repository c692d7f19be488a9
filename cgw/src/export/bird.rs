//! The customer side of one VPN connection as a BIRD 2 configuration (`bird.conf`): one eBGP
//! session per tunnel on the inside addresses, the profile's BGP timers, only the site's own
//! networks announced, AWS's routes installed into the kernel (ECMP across the tunnels in
//! active-active mode; tunnel 1 preferred in active-standby, as our own customer gateway and
//! the FRR export do).
//!
//! ```text
//!  protocol static site        the site's networks, as unreachable routes in BIRD's table
//!                              only (the kernel protocol exports BGP routes alone)
//!  protocol kernel             export where source = RTS_BGP; merge paths (ECMP)
//!  protocol bgp vpn1_t1        local <inside .2> as ASN; neighbor <inside .1> as AWS's ASN
//!                              hold/keepalive of the profile; connect retry and error wait
//!                              short enough that a restored tunnel's session returns within
//!                              the profile's bounds (BIRD's defaults: 120 s and 60-300 s)
//!  protocol bgp vpn1_t2        the same; active-standby: 2 prepends out, local-pref 50 in
//! ```
//!
//! The inside addresses must be on the tunnel interfaces (strongSwan's kernel-libipsec puts
//! them on `ipsec0` by the swanctl header's commands): the sessions are BIRD's default
//! `direct` eBGP, TTL 1, as AWS's.
//!
//! What it does not do: BFD (AWS's VPN has none), or IPv6 (the inside /30s are IPv4).

use std::fmt::Write as _;

use engine::model::timing::Profile;
use ipnet::Ipv4Net;
use vgw::config::{CgwConnection, Routing, inside_addresses};
use vgw::daemon::tunnel_name;
use vgw::timers;

use crate::config::TunnelMode;
use crate::daemon::{STANDBY_LOCAL_PREF, STANDBY_PREPEND};

/// A BIRD protocol name for a tunnel (`vpn1-t1` -> `vpn1_t1`).
fn protocol_name(tunnel: &str) -> String {
    tunnel.replace('-', "_")
}

/// `bird.conf` for customer gateway `gateway` (ASN `asn`, announcing `advertise`) on
/// `connection`.
pub fn bird_config(
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
        "# hybridlab: customer gateway {gateway}, VPN connection {} (BIRD 2)\n\
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
    let (_, router_id) = inside_addresses(first.inside_cidr);
    let _ = writeln!(s, "router id {router_id};\n");
    let _ = writeln!(s, "protocol device {{\n  scan time 10;\n}}\n");
    let _ = writeln!(s, "protocol static site_networks {{\n  ipv4;");
    for p in advertise {
        let _ = writeln!(s, "  route {p} unreachable;");
    }
    let _ = writeln!(s, "}}\n");
    let _ = writeln!(
        s,
        "protocol kernel {{\n  ipv4 {{ import none; export where source = RTS_BGP; }};\n  merge paths on;\n}}\n"
    );
    let site: Vec<String> = advertise.iter().map(|p| p.to_string()).collect();
    let _ = writeln!(
        s,
        "# Only the site's own networks go to AWS.\ndefine SITE = [ {} ];\n",
        if site.is_empty() {
            "0.0.0.0/32{32,32}".to_string()
        } else {
            site.join(", ")
        }
    );
    let bgp = timers::of(profile).bgp;
    let secs = |d: std::time::Duration| d.as_secs().max(1);
    let standby = |i: usize| mode == TunnelMode::ActiveStandby && i > 0;
    for (i, t) in connection.tunnels.iter().enumerate() {
        let (aws, customer) = inside_addresses(t.inside_cidr);
        let name = tunnel_name(&connection.name, i);
        let prepend = if standby(i) && t.as_path_prepend == 0 {
            STANDBY_PREPEND
        } else {
            t.as_path_prepend
        };
        let mut out = String::from("if ! (net ~ SITE) then reject; ");
        for _ in 0..prepend {
            let _ = write!(out, "bgp_path.prepend({asn}); ");
        }
        if let Some(med) = t.med {
            let _ = write!(out, "bgp_med = {med}; ");
        }
        out.push_str("accept;");
        let import = if standby(i) {
            format!("filter {{ bgp_local_pref = {STANDBY_LOCAL_PREF}; accept; }}")
        } else {
            "all".to_string()
        };
        let _ = writeln!(
            s,
            "protocol bgp {} {{\n  description \"{name}\";\n  local {customer} as {asn};\n  \
             neighbor {aws} as {};\n  hold time {};\n  keepalive time {};\n  \
             connect retry time {};\n  error wait time {}, {};\n  \
             ipv4 {{\n    import {import};\n    export filter {{ {out} }};\n  }};\n}}\n",
            protocol_name(&name),
            connection.amazon_side_asn,
            bgp.hold_time.secs(),
            bgp.keepalive,
            secs(bgp.connect_retry),
            secs(bgp.idle_hold),
            secs(bgp.idle_hold_max),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names_are_bird_symbols() {
        assert_eq!(protocol_name("vpn-1-t2"), "vpn_1_t2");
    }
}
