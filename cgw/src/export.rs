//! The customer side of one VPN connection as configuration files for real customer gateway
//! software, as AWS's "download configuration" hands them out: a strongSwan `swanctl.conf`
//! (IKEv2, PSK, both tunnels, AWS's tunnel options translated) and an FRR `bgpd` configuration
//! (one eBGP neighbor per tunnel on the inside addresses, AWS's timers, the prefixes to announce).
//!
//! Translation of AWS's tunnel options into strongSwan's (`swanctl.conf(5)`):
//!
//! ```text
//!  phase1 encryption x integrity x DH   -> proposals      aes256gcm16-prfsha256-ecp256, ...
//!  phase2 encryption x DH               -> esp_proposals  aes256gcm16-ecp256, ...
//!  phase1 lifetime                      -> rekey_time (IKE)        (reauth off, as AWS)
//!  phase2 lifetime - rekey margin       -> rekey_time (CHILD), life_time = phase2 lifetime
//!  rekey fuzz %                         -> rand_time = margin x fuzz
//!  replay window                        -> replay_window
//!  DPD timeout                          -> dpd_delay = timeout / 4 (strongSwan gives up after
//!                                           its retransmission schedule)
//! ```
//!
//! Traffic selectors are 0.0.0.0/0 both ways (AWS's default, route-based). `keyingtries = 0`:
//! the customer gateway keeps trying to bring a tunnel up (AWS's sample configurations use
//! `keyingtries=%forever`), instead of giving up after one retransmission sequence. The PSK is written
//! into the `secrets` section: these files are for the operator, like AWS's download, and the
//! text is zeroized when dropped.
//!
//! What it does not do: VTI/XFRM interface set-up (the kernel here has no VTI; strongSwan's
//! kernel-libipsec plugin provides the tunnel device), or vendor formats other than these two.

use std::fmt::Write as _;

use zeroize::Zeroizing;

use vgw::config::{CgwConnection, Routing, inside_addresses};
use vgw::daemon::tunnel_name;
use vgw::timers;
use vgw::tunnel_options::{DpdTimeoutAction, Startup, TunnelOptions};

fn cipher(aws: &str) -> Option<&'static str> {
    match aws {
        "AES128-GCM-16" => Some("aes128gcm16"),
        "AES256-GCM-16" => Some("aes256gcm16"),
        "CHACHA20-POLY1305" => Some("chacha20poly1305"),
        _ => None,
    }
}

fn prf(aws: &str) -> Option<&'static str> {
    match aws {
        "SHA2-256" => Some("prfsha256"),
        "SHA2-384" => Some("prfsha384"),
        "SHA2-512" => Some("prfsha512"),
        _ => None,
    }
}

fn group(n: u16) -> Option<&'static str> {
    match n {
        19 => Some("ecp256"),
        20 => Some("ecp384"),
        31 => Some("x25519"),
        _ => None,
    }
}

/// strongSwan IKE proposals for AWS's phase 1 options, AWS's order kept.
pub fn ike_proposals(o: &TunnelOptions) -> String {
    let mut out = Vec::new();
    for c in o
        .phase1_encryption_algorithms
        .iter()
        .filter_map(|c| cipher(c))
    {
        for p in o.phase1_integrity_algorithms.iter().filter_map(|p| prf(p)) {
            for g in o.phase1_dh_group_numbers.iter().filter_map(|g| group(*g)) {
                out.push(format!("{c}-{p}-{g}"));
            }
        }
    }
    out.join(",")
}

/// strongSwan ESP proposals for AWS's phase 2 options (with PFS groups).
pub fn esp_proposals(o: &TunnelOptions) -> String {
    let mut out = Vec::new();
    for c in o
        .phase2_encryption_algorithms
        .iter()
        .filter_map(|c| cipher(c))
    {
        for g in o.phase2_dh_group_numbers.iter().filter_map(|g| group(*g)) {
            out.push(format!("{c}-{g}"));
        }
    }
    out.join(",")
}

/// `swanctl.conf` for the customer side of `connection`: one IKE connection per tunnel.
///
/// The header lists, as comments, the routing a route-based customer gateway with
/// kernel-libipsec needs besides this file (the lines start with `#   ip `, so a script can run
/// them): charon routes everything into `ipsec0` through its table 220, ahead of the main
/// table, so the tunnels' outside addresses and the customer's `lan` prefixes must be thrown
/// out of it (or ESP loops into the tunnel, and traffic coming out of the tunnel towards the
/// LAN is sent straight back in); and the inside addresses go on `ipsec0` for BGP.
pub fn swanctl_config(
    gateway: &str,
    connection: &CgwConnection,
    lan: &[ipnet::Ipv4Net],
) -> Zeroizing<String> {
    let mut s = Zeroizing::new(String::new());
    let _ = writeln!(
        s,
        "# hybridlab: customer gateway {gateway}, VPN connection {} (strongSwan swanctl.conf)\n\
         # Load with `swanctl --load-all`; needs the kernel-libipsec plugin on kernels without ESP.\n\
         # Route-based set-up once charon runs (kernel-libipsec routes everything into ipsec0\n\
         # through table 220; these keep the underlay and the LAN out of it, and give BGP its\n\
         # inside addresses):",
        connection.name
    );
    for t in &connection.tunnels {
        let _ = writeln!(s, "#   ip route replace throw {} table 220", t.aws_ip);
    }
    for p in lan {
        let _ = writeln!(s, "#   ip route replace throw {p} table 220");
    }
    for t in &connection.tunnels {
        let (_, ours) = inside_addresses(t.inside_cidr);
        let _ = writeln!(s, "#   ip addr replace {ours}/30 dev ipsec0");
    }
    s.push_str("connections {\n");
    for (i, t) in connection.tunnels.iter().enumerate() {
        let name = tunnel_name(&connection.name, i);
        let o = &t.options;
        let margin = o.rekey_margin_time_seconds;
        let rand = u64::from(margin) * u64::from(o.rekey_fuzz_percentage) / 100;
        let start = match o.startup_action {
            Startup::Start => "start",
            Startup::Add => "trap",
        };
        let dpd = match o.dpd_timeout_action {
            DpdTimeoutAction::Clear => "clear",
            DpdTimeoutAction::Restart => "restart",
            DpdTimeoutAction::None => "none",
        };
        let _ = write!(
            s,
            "  {name} {{
    version = 2
    local_addrs = {local}
    remote_addrs = {remote}
    encap = yes
    mobike = no
    keyingtries = 0
    proposals = {ike}
    dpd_delay = {dpd_delay}s
    rekey_time = {p1}s
    reauth_time = 0s
    local {{
      auth = psk
      id = {local}
    }}
    remote {{
      auth = psk
      id = {remote}
    }}
    children {{
      {name} {{
        mode = tunnel
        local_ts = 0.0.0.0/0
        remote_ts = 0.0.0.0/0
        esp_proposals = {esp}
        life_time = {p2}s
        rekey_time = {p2_rekey}s
        rand_time = {rand}s
        replay_window = {replay}
        start_action = {start}
        dpd_action = {dpd}
      }}
    }}
  }}
",
            local = t.outside_ip,
            remote = t.aws_ip,
            ike = ike_proposals(o),
            esp = esp_proposals(o),
            dpd_delay = (o.dpd_timeout_seconds / 4).max(1),
            p1 = o.phase1_lifetime_seconds,
            p2 = o.phase2_lifetime_seconds,
            p2_rekey = o.phase2_lifetime_seconds.saturating_sub(margin),
            replay = o.replay_window_size,
        );
    }
    s.push_str("}\nsecrets {\n");
    for (i, t) in connection.tunnels.iter().enumerate() {
        let name = tunnel_name(&connection.name, i);
        let _ = write!(
            s,
            "  ike-{name} {{\n    id-1 = {}\n    id-2 = {}\n    secret = \"{}\"\n  }}\n",
            t.outside_ip,
            t.aws_ip,
            t.pre_shared_key.secret().expose()
        );
    }
    s.push_str("}\n");
    s
}

/// FRR `bgpd` configuration for the customer side of `connection`: our ASN, one eBGP neighbor
/// per tunnel (AWS's inside address), AWS's timers (`vgw::timers::AWS`: keepalive 10 s, hold
/// 30 s \[V18\]), the prefixes to announce, per-tunnel prepends and MEDs through route maps.
pub fn frr_config(
    gateway: &str,
    asn: u32,
    advertise: &[ipnet::Ipv4Net],
    connection: &CgwConnection,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "! hybridlab: customer gateway {gateway}, VPN connection {} (FRR bgpd)\n\
         ! The inside addresses below must be on the tunnel interfaces (or on `lo` with\n\
         ! strongSwan's kernel-libipsec routing the inside /30 into its ipsec0 device).\n\
         frr defaults traditional\n!",
        connection.name
    );
    if connection.routing == Routing::Static {
        let _ = writeln!(
            s,
            "! This connection uses static routing: no BGP. Route these prefixes into the tunnels:"
        );
        for p in &connection.static_routes {
            let _ = writeln!(s, "!   {p}");
        }
        return s;
    }
    let _ = writeln!(s, "router bgp {asn}");
    let _ = writeln!(s, " no bgp ebgp-requires-policy");
    let _ = writeln!(s, " no bgp network import-check");
    let bgp = timers::AWS.bgp;
    for t in &connection.tunnels {
        let (aws, customer) = inside_addresses(t.inside_cidr);
        let _ = writeln!(
            s,
            " neighbor {aws} remote-as {}",
            connection.amazon_side_asn
        );
        let _ = writeln!(s, " neighbor {aws} update-source {customer}");
        let _ = writeln!(
            s,
            " neighbor {aws} timers {} {}",
            bgp.keepalive,
            bgp.hold_time.secs()
        );
        let _ = writeln!(s, " neighbor {aws} disable-connected-check");
    }
    let _ = writeln!(s, " !\n address-family ipv4 unicast");
    for p in advertise {
        let _ = writeln!(s, "  network {p}");
    }
    for (i, t) in connection.tunnels.iter().enumerate() {
        let (aws, _) = inside_addresses(t.inside_cidr);
        let _ = writeln!(s, "  neighbor {aws} activate");
        if t.as_path_prepend > 0 || t.med.is_some() {
            let _ = writeln!(
                s,
                "  neighbor {aws} route-map TO-AWS-{} out",
                tunnel_name(&connection.name, i)
            );
        }
    }
    let _ = writeln!(s, " exit-address-family\n!");
    for (i, t) in connection.tunnels.iter().enumerate() {
        if t.as_path_prepend == 0 && t.med.is_none() {
            continue;
        }
        let _ = writeln!(
            s,
            "route-map TO-AWS-{} permit 10",
            tunnel_name(&connection.name, i)
        );
        if t.as_path_prepend > 0 {
            let asns = vec![asn.to_string(); usize::from(t.as_path_prepend)].join(" ");
            let _ = writeln!(s, " set as-path prepend {asns}");
        }
        if let Some(med) = t.med {
            let _ = writeln!(s, " set metric {med}");
        }
        let _ = writeln!(s, "!");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_default_options_become_strongswan_proposals_in_aws_order() {
        let o = TunnelOptions::default();
        let ike = ike_proposals(&o);
        assert!(ike.starts_with("aes128gcm16-prfsha256-ecp256"), "{ike}");
        assert!(ike.contains("chacha20poly1305-prfsha256-x25519"), "{ike}");
        let esp = esp_proposals(&o);
        assert!(esp.contains("aes256gcm16-ecp384"), "{esp}");
    }
}
