//! `hybridlab cgw-config --format bird SCENARIO VIF`: one Direct Connect VIF as a BIRD 2
//! configuration (`bird.conf`), the BIRD counterpart of [`super::download`]'s FRR forms.
//!
//! ```text
//!  protocol bfd              the VIF interface at the profile's BFD timers (300 ms x 3, or
//!                            100 ms x 3 in `fast`), as AWS runs them
//!  protocol static site4/6   the router's own prefixes, unreachable in BIRD's tables only
//!  protocol kernel k4/k6     only BGP routes go to the kernel
//!  protocol bgp VIF_v4       direct eBGP (TTL 1) from the customer address to AWS's, MD5
//!                            `password`, the profile's hold/keepalive, `bfd on`; exports only
//!                            the site's own prefixes, with the VIF's communities and
//!                            prepends; LOCAL_PREF on import when the VIF sets one
//!  protocol bgp VIF_v6       the VIF's second session, IPv6 (AWS: one per family, no MP-BGP)
//! ```
//!
//! BIRD's connect-retry (120 s) and error-wait (60-300 s) defaults would keep a restored VIF
//! down for minutes; the profile's values replace them, as in the VPN form (`cgw::export::bird`).
//!
//! BIRD's configuration strings have no escapes, so an MD5 key holding `"` cannot be written
//! for BIRD: that is refused with an error naming the VIF (FRR's form takes any key).
//!
//! What it does not do: create the VIF interface (see [`super::download`]'s header: a VLAN
//! sub-interface, or here a TAP of `crates/vlan`'s trunk), or write files.

use std::fmt::Write as _;

use crate::customer::{CustomerConfig, CustomerVif};
use crate::timers::DxTimers;

/// A BIRD symbol for a VIF's protocol (`vif-1` -> `vif_1`).
fn symbol(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// `bird.conf` for `vif` on cross-connect `interface` of customer router `config`.
pub fn bird_vif_config(
    interface: &str,
    config: &CustomerConfig,
    vif: &CustomerVif,
    t: &DxTimers,
) -> Result<String, String> {
    let key = vif.auth_key.secret().expose();
    if key.contains('"') {
        return Err(format!(
            "VIF {}: its MD5 key holds '\"', which a BIRD configuration string cannot carry \
             (use --format frr, or a key without '\"')",
            vif.name
        ));
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# hybridlab: {} VIF {} (BIRD 2); VLAN {} on cross-connect {interface}, MTU {}\n\
         # interface {}: {} (a VLAN sub-interface with 8021q: ip link add link {interface}\n\
         #   name {} type vlan id {}; here a TAP of crates/vlan's trunk)",
        config.name, vif.name, vif.vlan, vif.mtu, vif.name, vif.local_address, vif.name, vif.vlan
    );
    if let Some(l6) = vif.local_address_v6 {
        let _ = writeln!(s, "# and {l6} on it for the IPv6 session");
    }
    let router_id = config.router_id.unwrap_or(vif.local_address.addr());
    let _ = writeln!(s, "router id {router_id};\n");
    let _ = writeln!(s, "protocol device {{\n  scan time 10;\n}}\n");

    let has_v6 = vif.peer_address_v6.is_some() && vif.local_address_v6.is_some();
    let _ = writeln!(s, "protocol static site4 {{\n  ipv4;");
    for p in &config.advertise {
        let _ = writeln!(s, "  route {p} unreachable;");
    }
    let _ = writeln!(s, "}}\n");
    if has_v6 {
        let _ = writeln!(s, "protocol static site6 {{\n  ipv6;");
        for p in &config.advertise_v6 {
            let _ = writeln!(s, "  route {p} unreachable;");
        }
        let _ = writeln!(s, "}}\n");
    }
    let _ = writeln!(
        s,
        "protocol kernel k4 {{\n  ipv4 {{ import none; export where source = RTS_BGP; }};\n}}\n"
    );
    if has_v6 {
        let _ = writeln!(
            s,
            "protocol kernel k6 {{\n  ipv6 {{ import none; export where source = RTS_BGP; }};\n}}\n"
        );
    }

    let (tx, rx, mult) = t.bfd_ms;
    if vif.bfd {
        let _ = writeln!(
            s,
            "# AWS runs BFD {tx} ms x {mult} on the VIF.\nprotocol bfd {{\n  interface \"{}\" {{\n    \
             min rx interval {rx} ms;\n    min tx interval {tx} ms;\n    multiplier {mult};\n  }};\n}}\n",
            vif.name
        );
    }

    // What goes to AWS: the site's own prefixes (from the static protocol), tagged as the VIF asks.
    let mut out = String::new();
    for c in &vif.communities {
        let v = c.0;
        let _ = write!(out, "bgp_community.add(({}, {})); ", v >> 16, v & 0xffff);
    }
    for _ in 0..vif.as_path_prepend {
        let _ = write!(out, "bgp_path.prepend({}); ", config.asn);
    }
    out.push_str("accept;");
    let import = match vif.local_pref {
        Some(lp) => format!("filter {{ bgp_local_pref = {lp}; accept; }}"),
        None => "all".to_string(),
    };
    let secs = |d: std::time::Duration| d.as_secs().max(1);
    let mut session = |suffix: &str, local: String, peer: String, channel: &str, site: &str| {
        let _ = writeln!(
            s,
            "protocol bgp {}_{suffix} {{\n  description \"{} {channel}\";\n  \
             local {local} as {};\n  neighbor {peer} as {};\n  \
             password \"{key}\";\n  hold time {};\n  keepalive time {};\n  \
             connect retry time {};\n  error wait time {}, {};\n{}  \
             {channel} {{\n    import {import};\n    \
             export filter {{ if proto != \"{site}\" then reject; {out} }};\n  }};\n}}\n",
            symbol(&vif.name),
            vif.name,
            config.asn,
            vif.amazon_asn,
            t.bgp.hold_time.secs(),
            t.bgp.keepalive,
            secs(t.bgp.connect_retry),
            secs(t.bgp.idle_hold),
            secs(t.bgp.idle_hold_max),
            if vif.bfd { "  bfd on;\n" } else { "" },
        );
    };
    session(
        "v4",
        vif.local_address.addr().to_string(),
        vif.peer_address.to_string(),
        "ipv4",
        "site4",
    );
    if let (Some(a6), Some(l6)) = (vif.peer_address_v6, vif.local_address_v6) {
        session("v6", l6.addr().to_string(), a6.to_string(), "ipv6", "site6");
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth_key::AuthKey;
    use bgp::wire::Community;
    use engine::model::timing::Profile;

    fn router(key: &str) -> (CustomerConfig, CustomerVif) {
        let vif = CustomerVif {
            name: "vif-1".into(),
            vlan: 100,
            mtu: 1500,
            local_address: "169.254.10.2/30".parse().unwrap(),
            peer_address: "169.254.10.1".parse().unwrap(),
            local_address_v6: Some("fd00::2/125".parse().unwrap()),
            peer_address_v6: Some("fd00::1".parse().unwrap()),
            amazon_asn: 64512,
            auth_key: AuthKey::new(key).unwrap(),
            bfd: true,
            communities: vec![Community::new(7224, 7300)],
            as_path_prepend: 2,
            local_pref: Some(200),
        };
        let config = CustomerConfig {
            name: "dxr1".into(),
            asn: 65001,
            profile: Profile::Aws,
            router_id: None,
            advertise: vec!["10.1.0.0/16".parse().unwrap()],
            advertise_v6: vec!["2001:db8::/48".parse().unwrap()],
            connections: Vec::new(),
        };
        (config, vif)
    }

    #[test]
    fn both_sessions_carry_the_key_bfd_and_the_vif_policy() {
        let (config, vif) = router("s3cr3t-key");
        let t = crate::timers::of(Profile::Aws);
        let conf = bird_vif_config("xc1", &config, &vif, t).unwrap();
        for want in [
            "protocol bgp vif_1_v4 {",
            "protocol bgp vif_1_v6 {",
            "local 169.254.10.2 as 65001;",
            "neighbor fd00::1 as 64512;",
            "password \"s3cr3t-key\";",
            "hold time 90;",
            "keepalive time 30;",
            "bfd on;",
            "min tx interval 300 ms;",
            "multiplier 3;",
            "bgp_community.add((7224, 7300)); bgp_path.prepend(65001); bgp_path.prepend(65001);",
            "bgp_local_pref = 200;",
            "route 2001:db8::/48 unreachable;",
        ] {
            assert!(conf.contains(want), "missing {want:?} in\n{conf}");
        }
    }

    #[test]
    fn a_key_with_a_quote_is_refused_naming_the_vif_not_the_key() {
        let (config, vif) = router("ab\"cdefg");
        let err =
            bird_vif_config("xc1", &config, &vif, crate::timers::of(Profile::Fast)).unwrap_err();
        assert!(err.contains("vif-1") && !err.contains("ab\"cdefg"), "{err}");
    }
}
