//! The customer side of one VPN connection as configuration files for real customer gateway
//! software, as AWS's "download configuration" hands them out: a strongSwan `swanctl.conf`
//! (IKEv2, PSK, both tunnels, AWS's tunnel options translated), the `strongswan.conf` fragment
//! charon needs for it, an FRR `bgpd` configuration (one eBGP neighbor per tunnel on the
//! inside addresses, the profile's BGP timers, the prefixes to announce), and the same as a
//! BIRD 2 configuration ([`bird`]) or a GoBGP one ([`gobgp`]).
//!
//! Translation of AWS's tunnel options into strongSwan's (`swanctl.conf(5)`, the mapping of
//! ipsec.conf's `rekeymargin`/`rekeyfuzz`, whose meaning AWS's options take):
//!
//! ```text
//!  phase1 encryption x integrity x DH   -> proposals      aes128-aes256-sha1-sha256-modp2048,
//!                                                         aes128gcm16-prfsha1-prfsha256-modp2048
//!  phase2 encryption (x integrity) x DH -> esp_proposals  aes128-sha1-modp2048, ...
//!  phase1 lifetime L1, margin M, fuzz F -> IKE   rekey_time = L1 - M, over_time = M,
//!                                                rand_time = M x F   (reauth off, as AWS)
//!  phase2 lifetime L2, margin M, fuzz F -> CHILD rekey_time = L2 - M, life_time = L2,
//!                                                rand_time = M x F
//!  replay window                        -> replay_window
//!  DPD timeout T (profile: AWS's option -> dpd_delay = the profile's DPD interval D; charon
//!   or fast's 3 s)                          declares the peer dead when its retransmissions
//!                                           run out: strongswan.conf's schedule sums to T - D
//! ```
//!
//! charon's retransmission schedule is global (`strongswan.conf`, [`strongswan_conf`]): with
//! its defaults (4 s x 1.8, 5 tries: 165 s) a dead peer is found minutes after AWS's DPD
//! timeout and a tunnel the VGW cleared comes back only after the schedule runs out.
//!
//! Each tunnel's own path with kernel-libipsec (one TUN, `ipsec0`, for every SA; a packet
//! takes the SA whose policy it matches, the newest when several match): each CHILD_SA has its
//! own reqid, and its local selectors are its tunnel's inside /30 plus the site's networks,
//! the remote one 0.0.0.0/0 (AWS's default, route-based; AWS narrows to what the customer
//! gateway proposes):
//!
//! ```text
//!  vpn1-t1  reqid r1  169.254.10.0/30, 192.168.1.0/24 === 0.0.0.0/0
//!  vpn1-t2  reqid r2  169.254.10.4/30, 192.168.1.0/24 === 0.0.0.0/0
//! ```
//!
//! so each BGP session (sourced from its inside address) runs on its own tunnel's SA and dies
//! only with it; the site's traffic takes either SA that is up (the newest), and the
//! gateway's own traffic outside these selectors takes none. (charon drops a selector that
//! another of the same list contains, so `inside /30, 0.0.0.0/0` on both sides would be
//! 0.0.0.0/0 alone.) `keyingtries = 0`:
//! the customer gateway keeps trying to bring a tunnel up (AWS's sample configurations use
//! `keyingtries=%forever`), instead of giving up after one retransmission sequence. The PSK is written
//! into the `secrets` section: these files are for the operator, like AWS's download, and the
//! text is zeroized when dropped.
//!
//! What it does not do: VTI/XFRM interface set-up (the kernel here has no VTI; strongSwan's
//! kernel-libipsec plugin provides the tunnel device), or vendor formats other than these.

pub mod bird;
pub mod gobgp;

use std::fmt::Write as _;

use zeroize::Zeroizing;

use engine::model::timing::Profile;
use vgw::config::{CgwConnection, Routing, inside_addresses};

use crate::config::TunnelMode;
use crate::daemon::{STANDBY_LOCAL_PREF, STANDBY_PREPEND};
use ipsec::crypto::cipher::Cipher;
use vgw::daemon::tunnel_name;
use vgw::timers;
use vgw::tunnel_options::{DpdTimeoutAction, Startup, TunnelOptions};

/// strongSwan's compact form of a list of suites of one kind: one proposal naming every
/// algorithm of each type in first-appearance order, which strongSwan reads as their cross
/// product. The suites from AWS's options are that cross product, and one proposal per kind
/// (AEAD ones must not carry an integrity algorithm) keeps AWS's 192 phase 1 combinations out of
/// an IKE_SA_INIT that cannot be fragmented. A single value per option prints as the familiar
/// `aes128-sha1-modp2048`; with CBC strongSwan derives the PRF from the integrity algorithm,
/// which is also how the emulated VGW reads AWS's integrity option (`prfsha1` for `sha1`, ...).
fn strongswan_proposals(parts: impl Iterator<Item = (bool, Vec<String>)>) -> String {
    let mut kinds: Vec<(bool, Vec<Vec<String>>)> = Vec::new();
    for (aead, words) in parts {
        let at = match kinds.iter().position(|(k, _)| *k == aead) {
            Some(at) => at,
            None => {
                kinds.push((aead, vec![Vec::new(); words.len()]));
                kinds.len() - 1
            }
        };
        let lists = &mut kinds[at].1;
        lists.resize(lists.len().max(words.len()), Vec::new());
        for (list, w) in lists.iter_mut().zip(words) {
            if !list.contains(&w) {
                list.push(w);
            }
        }
    }
    kinds
        .into_iter()
        .map(|(_, lists)| lists.concat().join("-"))
        .collect::<Vec<_>>()
        .join(",")
}

/// strongSwan IKE proposals for AWS's phase 1 options, AWS's order kept ("" if the options are
/// invalid, which `validate` reports first).
pub fn ike_proposals(o: &TunnelOptions) -> String {
    let suites = o.ike_suites().unwrap_or_default();
    strongswan_proposals(suites.iter().map(|s| match s.cipher {
        Cipher::Aead(a) => (
            true,
            vec![
                a.name().to_string(),
                s.prf.name().to_string(),
                s.dh.name().to_string(),
            ],
        ),
        Cipher::CbcHmac(c, i) => (
            false,
            vec![
                c.name().to_string(),
                i.name().to_string(),
                s.dh.name().to_string(),
            ],
        ),
    }))
}

/// strongSwan ESP proposals for AWS's phase 2 options (with PFS groups).
pub fn esp_proposals(o: &TunnelOptions) -> String {
    let suites = o.esp_suites().unwrap_or_default();
    strongswan_proposals(suites.iter().map(|s| {
        let dh = s.pfs.map(|g| g.name().to_string()).unwrap_or_default();
        match s.cipher {
            Cipher::Aead(a) => (true, vec![a.name().to_string(), dh]),
            Cipher::CbcHmac(c, i) => (false, vec![c.name().to_string(), i.name().to_string(), dh]),
        }
    }))
}

/// charon's retransmission schedule in the exported `strongswan.conf`: a fixed backoff base
/// and number of retransmissions, the initial timeout sized to the DPD timeout.
const RETRANSMIT_BASE: f64 = 1.4;
const RETRANSMIT_TRIES: i32 = 3;

/// Where [`strongswan_conf`] goes: `/etc/strongswan.conf` includes `strongswan.d/*.conf` after
/// its own `charon` section, in name order, so this file comes after `charon.conf` and wins.
pub const STRONGSWAN_CONF_PATH: &str = "/etc/strongswan.d/hybridlab.conf";

/// DPD of `connection` for charon under `profile`: (dpd_delay, the time charon must take to
/// declare the peer dead), in seconds.
fn dpd(connection: &CgwConnection, profile: Profile) -> (u32, f64) {
    let ipsec = timers::of(profile).ipsec;
    let timeout = connection
        .tunnels
        .iter()
        .map(|t| {
            ipsec
                .dpd_timeout
                .map_or(f64::from(t.options.dpd_timeout_seconds), |d| {
                    d.as_secs_f64()
                })
        })
        .fold(0.0, f64::max);
    let delay = u32::try_from(ipsec.dpd_interval.as_secs()).unwrap_or(u32::MAX);
    (delay.max(1), timeout)
}

/// The initial retransmission timeout, in seconds, for which charon's schedule
/// (`timeout x base^k`, k = 0..=tries) sums to the DPD timeout less the DPD delay.
fn retransmit_timeout(connection: &CgwConnection, profile: Profile) -> f64 {
    let (delay, timeout) = dpd(connection, profile);
    let window = (timeout - f64::from(delay)).max(1.0);
    let sum: f64 = (0..=RETRANSMIT_TRIES)
        .map(|k| RETRANSMIT_BASE.powi(k))
        .sum();
    (window / sum * 100.0).round() / 100.0
}

/// The `strongswan.conf` fragment the exported `swanctl.conf` needs ([`STRONGSWAN_CONF_PATH`]):
/// kernel-libipsec loaded ahead of kernel-netlink (Debian ships it `load = no`), and a
/// retransmission schedule that gives up on a silent peer at the tunnels' DPD timeout (and so
/// retries a tunnel the VGW cleared that soon), instead of charon's 165 s.
pub fn strongswan_conf(gateway: &str, connection: &CgwConnection, profile: Profile) -> String {
    let timeout = retransmit_timeout(connection, profile);
    let (delay, dead) = dpd(connection, profile);
    format!(
        "# hybridlab: customer gateway {gateway}, VPN connection {name} (strongswan.conf fragment)\n\
         # Put this in {STRONGSWAN_CONF_PATH} and restart charon. DPD: a probe after {delay} s of\n\
         # silence, the peer dead {dead} s later at the latest (retransmissions {timeout} s x {RETRANSMIT_BASE}, {RETRANSMIT_TRIES} tries).\n\
         charon {{\n\
         \x20 retransmit_timeout = {timeout}\n\
         \x20 retransmit_base = {RETRANSMIT_BASE}\n\
         \x20 retransmit_tries = {RETRANSMIT_TRIES}\n\
         \x20 plugins {{\n\
         \x20   kernel-libipsec {{\n\
         \x20     load = 2\n\
         \x20   }}\n\
         \x20 }}\n\
         }}\n",
        name = connection.name,
    )
}

/// A CHILD_SA's own reqid, from its tunnel's inside /30 (unique within 169.254.0.0/16, as the
/// inside CIDRs of one VGW are): with one reqid for both, kernel-libipsec sends everything over
/// the newest SA.
fn reqid(inside: ipnet::Ipv4Net) -> u32 {
    (u32::from(inside.network()) & 0xffff) / 4 + 1
}

/// `swanctl.conf` for the customer side of `connection`: one IKE connection per tunnel.
///
/// Each tunnel's CHILD_SA has its own reqid and, besides 0.0.0.0/0, the tunnel's inside /30 as
/// a traffic selector: kernel-libipsec picks the most specific policy, so each BGP session
/// runs on its own tunnel's SA (the rest of the traffic takes either SA up).
///
/// The header lists, as comments, the routing a route-based customer gateway with
/// kernel-libipsec needs besides this file, in the order it must run (the lines start with
/// `#   ip `, so a script can run them): charon routes everything into `ipsec0` through its
/// table 220, ahead of the main table, so the tunnels' outside addresses and the customer's
/// `lan` prefixes must be thrown out of it before any tunnel is loaded (or ESP loops into the
/// tunnel, and traffic coming out of the tunnel towards the LAN is sent straight back in); and
/// the inside addresses go on `ipsec0` for BGP once charon runs.
pub fn swanctl_config(
    gateway: &str,
    connection: &CgwConnection,
    lan: &[ipnet::Ipv4Net],
    profile: Profile,
) -> Zeroizing<String> {
    let mut s = Zeroizing::new(String::new());
    let _ = writeln!(
        s,
        "# hybridlab: customer gateway {gateway}, VPN connection {} (strongSwan swanctl.conf)\n\
         # Needs charon with kernel-libipsec and the settings of\n\
         # `hybridlab cgw-config --format strongswan-conf` in {STRONGSWAN_CONF_PATH}. In this order:\n\
         # 1. Before any tunnel is loaded (before `swanctl --load-all`, and before charon starts\n\
         #  if its service loads them then): kernel-libipsec routes everything into ipsec0\n\
         #  through table 220; keep the underlay (or ESP loops into ipsec0) and the LAN out of it:",
        connection.name
    );
    for t in &connection.tunnels {
        let _ = writeln!(s, "#   ip route replace throw {} table 220", t.aws_ip);
    }
    // charon deletes a peer's route in table 220 with that peer's CHILD_SA, our throw route
    // included when it has the same key: after a cut of tunnel 1 its IKE_SA_INIT then went into
    // ipsec0 (tunnel 2) and tunnel 1 never came back (seen in tests/containers.rs). A rule ahead
    // of table 220, which charon does not manage, keeps the outside addresses on the underlay.
    for t in &connection.tunnels {
        let _ = writeln!(
            s,
            "#   ip rule add to {} lookup main priority 210",
            t.aws_ip
        );
    }
    for p in lan {
        let _ = writeln!(s, "#   ip route replace throw {p} table 220");
    }
    let _ = writeln!(
        s,
        "# 2. Once charon runs (it creates ipsec0), still before loading: BGP's inside addresses:"
    );
    for t in &connection.tunnels {
        let (_, ours) = inside_addresses(t.inside_cidr);
        let _ = writeln!(s, "#   ip addr replace {ours}/30 dev ipsec0");
    }
    let _ = writeln!(s, "# 3. swanctl --load-all");
    let (dpd_delay, _) = dpd(connection, profile);
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
        let p1_margin = margin.min(o.phase1_lifetime_seconds / 2);
        let p1_rand = u64::from(p1_margin) * u64::from(o.rekey_fuzz_percentage) / 100;
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
    rekey_time = {p1_rekey}s
    over_time = {p1_margin}s
    rand_time = {p1_rand}s
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
        reqid = {reqid}
        local_ts = {local_ts}
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
            p1_rekey = o.phase1_lifetime_seconds - p1_margin,
            reqid = reqid(t.inside_cidr),
            local_ts = std::iter::once(t.inside_cidr.trunc())
                .chain(lan.iter().copied())
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", "),
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
/// per tunnel (AWS's inside address), the profile's timers (`vgw::timers`: AWS's keepalive
/// 10 s, hold 30 s \[V18\]; 1 s / 3 s in `fast`), the prefixes to announce and an outbound
/// prefix-list that lets only those out (as our own customer gateway announces only its
/// `advertise`), per-tunnel prepends and MEDs through route maps. In `active-standby` the
/// second tunnel is the standby, as in our daemon: LOCAL_PREF 50 on what AWS announces over it,
/// and two prepends of our ASN on what we announce (unless the tunnel sets its own prepend).
pub fn frr_config(
    gateway: &str,
    asn: u32,
    advertise: &[ipnet::Ipv4Net],
    mode: TunnelMode,
    connection: &CgwConnection,
    profile: Profile,
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
    let bgp = timers::of(profile).bgp;
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
    let standby = |i: usize| mode == TunnelMode::ActiveStandby && i > 0;
    let prepend = |i: usize, own: u8| {
        if standby(i) && own == 0 {
            STANDBY_PREPEND
        } else {
            own
        }
    };
    for (i, t) in connection.tunnels.iter().enumerate() {
        let (aws, _) = inside_addresses(t.inside_cidr);
        let name = tunnel_name(&connection.name, i);
        let _ = writeln!(s, "  neighbor {aws} activate");
        let _ = writeln!(s, "  neighbor {aws} prefix-list {PREFIX_LIST} out");
        if prepend(i, t.as_path_prepend) > 0 || t.med.is_some() {
            let _ = writeln!(s, "  neighbor {aws} route-map TO-AWS-{name} out");
        }
        if standby(i) {
            let _ = writeln!(s, "  neighbor {aws} route-map FROM-AWS-{name} in");
        }
    }
    let _ = writeln!(s, " exit-address-family\n!");
    for (n, p) in advertise.iter().enumerate() {
        let _ = writeln!(
            s,
            "ip prefix-list {PREFIX_LIST} seq {} permit {p}",
            (n + 1) * 5
        );
    }
    if advertise.is_empty() {
        let _ = writeln!(s, "ip prefix-list {PREFIX_LIST} seq 5 deny any");
    }
    let _ = writeln!(s, "!");
    for (i, t) in connection.tunnels.iter().enumerate() {
        let name = tunnel_name(&connection.name, i);
        if standby(i) {
            let _ = writeln!(
                s,
                "route-map FROM-AWS-{name} permit 10\n set local-preference {STANDBY_LOCAL_PREF}\n!"
            );
        }
        let prepend = prepend(i, t.as_path_prepend);
        if prepend == 0 && t.med.is_none() {
            continue;
        }
        let _ = writeln!(s, "route-map TO-AWS-{name} permit 10");
        if prepend > 0 {
            let asns = vec![asn.to_string(); usize::from(prepend)].join(" ");
            let _ = writeln!(s, " set as-path prepend {asns}");
        }
        if let Some(med) = t.med {
            let _ = writeln!(s, " set metric {med}");
        }
        let _ = writeln!(s, "!");
    }
    s
}

/// The outbound prefix-list of the FRR export: the site's own networks only.
const PREFIX_LIST: &str = "TO-AWS";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_default_options_become_strongswan_proposals_in_aws_order() {
        let o = TunnelOptions::default();
        let groups1 = "modp1024-modp2048-modp3072-modp4096-modp6144-modp8192-ecp256-ecp384-ecp521-modp1024s160-modp2048s224-modp2048s256";
        assert_eq!(
            ike_proposals(&o),
            format!(
                "aes128-aes256-sha1-sha256-sha384-sha512-{groups1},\
                 aes128gcm16-aes256gcm16-prfsha1-prfsha256-prfsha384-prfsha512-{groups1}"
            )
        );
        let groups2 = "modp1024-modp1536-modp2048-modp3072-modp4096-modp6144-modp8192-ecp256-ecp384-ecp521-modp1024s160-modp2048s224-modp2048s256";
        assert_eq!(
            esp_proposals(&o),
            format!(
                "aes128-aes256-sha1-sha256-sha384-sha512-{groups2},aes128gcm16-aes256gcm16-{groups2}"
            )
        );
    }

    /// AWS's sample configurations, one value per option, print as strongSwan spells them.
    #[test]
    fn single_values_print_as_one_familiar_proposal() {
        let one = |enc: &str, integ: &str, g: u16| TunnelOptions {
            phase1_encryption_algorithms: vec![enc.into()],
            phase2_encryption_algorithms: vec![enc.into()],
            phase1_integrity_algorithms: vec![integ.into()],
            phase2_integrity_algorithms: vec![integ.into()],
            phase1_dh_group_numbers: vec![g],
            phase2_dh_group_numbers: vec![g],
            ..Default::default()
        };
        let o = one("AES128", "SHA1", 14);
        assert_eq!(ike_proposals(&o), "aes128-sha1-modp2048");
        assert_eq!(esp_proposals(&o), "aes128-sha1-modp2048");
        let o = one("AES256", "SHA2-256", 14);
        assert_eq!(ike_proposals(&o), "aes256-sha256-modp2048");
        let o = one("AES256-GCM-16", "SHA2-384", 20);
        assert_eq!(ike_proposals(&o), "aes256gcm16-prfsha384-ecp384");
        assert_eq!(esp_proposals(&o), "aes256gcm16-ecp384");
        let o = one("CHACHA20-POLY1305", "SHA2-256", 31);
        assert_eq!(ike_proposals(&o), "chacha20poly1305-prfsha256-x25519");
    }

    fn connection() -> CgwConnection {
        let tunnel = |i: u8| vgw::config::CgwTunnel {
            outside_ip: "198.51.100.10".parse().unwrap(),
            aws_ip: format!("203.0.113.{i}").parse().unwrap(),
            inside_cidr: format!("169.254.10.{}/30", (i - 1) * 4).parse().unwrap(),
            pre_shared_key: vgw::psk::Psk::new("abcdefgh12").unwrap(),
            as_path_prepend: 0,
            med: None,
            options: TunnelOptions::default(),
        };
        CgwConnection {
            name: "vpn1".into(),
            routing: Routing::Dynamic,
            amazon_side_asn: 64512,
            static_routes: Vec::new(),
            tunnels: vec![tunnel(1), tunnel(2)],
        }
    }

    fn line_of(text: &str, needle: &str) -> usize {
        text.lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in\n{text}"))
    }

    #[test]
    fn the_header_throws_routes_before_charon_and_addresses_before_loading() {
        let c = connection();
        let s = swanctl_config(
            "cgw1",
            &c,
            &["192.168.1.0/24".parse().unwrap()],
            Profile::Aws,
        );
        let throw = line_of(&s, "#   ip route replace throw 203.0.113.2 table 220");
        let rule = line_of(
            &s,
            "#   ip rule add to 203.0.113.2 lookup main priority 210",
        );
        let lan = line_of(&s, "#   ip route replace throw 192.168.1.0/24 table 220");
        let addr = line_of(&s, "#   ip addr replace 169.254.10.2/30 dev ipsec0");
        let load = line_of(&s, "# 3. swanctl --load-all");
        // Each CHILD_SA its own reqid and its tunnel's inside /30 (BGP on its own SA).
        assert!(s.contains("        local_ts = 169.254.10.0/30, 192.168.1.0/24\n"));
        assert!(s.contains("        local_ts = 169.254.10.4/30, 192.168.1.0/24\n"));
        let reqids: Vec<&str> = s.lines().filter(|l| l.contains("reqid = ")).collect();
        assert_eq!(reqids.len(), 2);
        assert_ne!(reqids[0], reqids[1]);
        assert!(throw < addr && lan < addr && addr < load, "{}", s.as_str());
        assert!(rule < addr, "{}", s.as_str());
        assert!(s.contains(STRONGSWAN_CONF_PATH));
        // A script runs every `#   ` line: nothing else may look like one.
        for l in s.lines().filter(|l| l.starts_with("#   ")) {
            assert!(l.starts_with("#   ip "), "{l}");
        }
    }

    #[test]
    fn aws_timers_map_to_swanctl_rekey_margins_fuzz_and_dpd() {
        let c = connection();
        let o = &c.tunnels[0].options;
        let s = swanctl_config("cgw1", &c, &[], Profile::Aws);
        let (m, f) = (o.rekey_margin_time_seconds, o.rekey_fuzz_percentage);
        let rand = u64::from(m) * u64::from(f) / 100;
        for want in [
            format!("    rekey_time = {}s", o.phase1_lifetime_seconds - m),
            format!("    over_time = {m}s"),
            format!("    rand_time = {rand}s"),
            format!("        rekey_time = {}s", o.phase2_lifetime_seconds - m),
            format!("        life_time = {}s", o.phase2_lifetime_seconds),
            format!("        rand_time = {rand}s"),
            "    dpd_delay = 10s".to_string(),
        ] {
            assert!(s.lines().any(|l| l == want), "{want:?} in\n{}", s.as_str());
        }
        // Fast: DPD every second, the tunnels' 3 s timeout in charon's retransmissions.
        let fast = swanctl_config("cgw1", &c, &[], Profile::Fast);
        assert!(fast.lines().any(|l| l == "    dpd_delay = 1s"));
    }

    #[test]
    fn the_strongswan_conf_fragment_loads_libipsec_and_gives_up_at_the_dpd_timeout() {
        let c = connection();
        for (profile, dead) in [
            (
                Profile::Aws,
                f64::from(c.tunnels[0].options.dpd_timeout_seconds),
            ),
            (Profile::Fast, 3.0),
        ] {
            let conf = strongswan_conf("cgw1", &c, profile);
            assert!(conf.contains("kernel-libipsec {\n      load = 2"), "{conf}");
            let (delay, _) = dpd(&c, profile);
            let t = retransmit_timeout(&c, profile);
            assert!(
                conf.contains(&format!("retransmit_timeout = {t}\n")),
                "{conf}"
            );
            let total: f64 = (0..=RETRANSMIT_TRIES)
                .map(|k| t * RETRANSMIT_BASE.powi(k))
                .sum();
            let want = dead - f64::from(delay);
            assert!((total - want).abs() < 0.1, "{profile:?}: {total} vs {want}");
        }
    }

    #[test]
    fn frr_timers_follow_the_profile() {
        let c = connection();
        let aws = frr_config(
            "cgw1",
            65010,
            &[],
            TunnelMode::ActiveActive,
            &c,
            Profile::Aws,
        );
        assert!(
            aws.contains(" neighbor 169.254.10.1 timers 10 30\n"),
            "{aws}"
        );
        let fast = frr_config(
            "cgw1",
            65010,
            &[],
            TunnelMode::ActiveActive,
            &c,
            Profile::Fast,
        );
        assert!(
            fast.contains(" neighbor 169.254.10.1 timers 1 3\n"),
            "{fast}"
        );
    }

    #[test]
    fn frr_announces_only_the_site_and_marks_the_standby_tunnel() {
        let c = connection();
        let lan = ["192.168.1.0/24".parse().unwrap()];
        let aa = frr_config(
            "cgw1",
            65010,
            &lan,
            TunnelMode::ActiveActive,
            &c,
            Profile::Aws,
        );
        for aws in ["169.254.10.1", "169.254.10.5"] {
            assert!(
                aa.contains(&format!("  neighbor {aws} prefix-list TO-AWS out\n")),
                "{aa}"
            );
        }
        assert!(
            aa.contains("ip prefix-list TO-AWS seq 5 permit 192.168.1.0/24\n"),
            "{aa}"
        );
        assert!(!aa.contains("route-map"), "{aa}");
        let none = frr_config(
            "cgw1",
            65010,
            &[],
            TunnelMode::ActiveActive,
            &c,
            Profile::Aws,
        );
        assert!(
            none.contains("ip prefix-list TO-AWS seq 5 deny any\n"),
            "{none}"
        );

        let sb = frr_config(
            "cgw1",
            65010,
            &lan,
            TunnelMode::ActiveStandby,
            &c,
            Profile::Aws,
        );
        assert!(
            sb.contains("  neighbor 169.254.10.5 route-map FROM-AWS-vpn1-t2 in\n"),
            "{sb}"
        );
        assert!(
            sb.contains("  neighbor 169.254.10.5 route-map TO-AWS-vpn1-t2 out\n"),
            "{sb}"
        );
        assert!(!sb.contains("neighbor 169.254.10.1 route-map"), "{sb}");
        assert!(sb.contains("route-map FROM-AWS-vpn1-t2 permit 10\n set local-preference 50\n"));
        assert!(
            sb.contains("route-map TO-AWS-vpn1-t2 permit 10\n set as-path prepend 65010 65010\n")
        );
    }
}
