//! Our `vgw` against our `cgw` in namespaces: both tunnels up with BGP, routes in the VGW, the
//! VPC route table and the customer gateway, traffic host to host, and failover when tunnel 1's
//! underlay is cut (§7 item 1).

mod vpn_support;
use vpn_support as support;

use std::time::Duration;

use support::{Site, VpnLab};
use testkit::wait_for;
use vgw::config::Routing;

fn one_site(lab: &str) -> VpnLab {
    VpnLab::new(
        lab,
        &[Site {
            node: "cgw1".into(),
            asn: 65001,
            routing: Routing::Dynamic,
            prefix: "192.168.1.0/24".parse().unwrap(),
            outside: "198.51.100.10".parse().unwrap(),
        }],
    )
}

#[test]
fn dual_tunnel_vpn_carries_traffic_and_fails_over_when_tunnel_1_goes_silent() {
    let mut l = one_site("vpn-dual");
    l.start();
    l.wait_tunnels_up("vgw", 2, Duration::from_secs(20));
    l.wait_tunnels_up("cgw1", 2, Duration::from_secs(10));
    // Each AWS tunnel endpoint is its own BGP router: the customer gateway sees two identifiers,
    // each the VGW's inside address of that tunnel.
    let bgp = l.show("cgw1", "bgp").unwrap();
    let ids: Vec<(String, String)> = bgp["neighbors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["address"].as_str().unwrap_or("?").to_string(),
                n["peer_id"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect();
    assert_eq!(ids.len(), 2, "{bgp}");
    assert_ne!(ids[0].1, ids[1].1, "one BGP identifier per tunnel: {ids:?}");
    for (address, id) in &ids {
        let aws_inside: std::net::Ipv4Addr = address.parse().unwrap();
        assert_eq!(
            id,
            &aws_inside.to_string(),
            "the tunnel's inside address: {ids:?}"
        );
    }

    // The VGW routes the customer prefix into one tunnel (the seeded preferred one), the VPC
    // route table points it at the VGW, and the customer gateway has the VPC CIDR over both
    // tunnels (ECMP, active/active).
    let routes = l.show("vgw", "routes").unwrap();
    let preferred = routes["preferred_tunnels"][0].as_str().unwrap().to_string();
    let via = wait_for(
        "VGW route to 192.168.1.0/24",
        Duration::from_secs(10),
        Duration::from_millis(100),
        || {
            let r = l.route("vgw", "192.168.1.0/24");
            if r.contains("dev vpn1t") {
                Ok(r)
            } else {
                Err(r)
            }
        },
    )
    .unwrap();
    let expected_dev = if preferred == "vpn1-t1" {
        "vpn1t1"
    } else {
        "vpn1t2"
    };
    assert!(via.contains(expected_dev), "{via} (preferred {preferred})");
    wait_for(
        "VPC route to 192.168.1.0/24 via the VGW",
        Duration::from_secs(5),
        Duration::from_millis(100),
        || {
            let r = l.route("vpc", "192.168.1.0/24");
            if r.contains("via 10.255.0.1") {
                Ok(r)
            } else {
                Err(r)
            }
        },
    )
    .unwrap();
    wait_for(
        "customer gateway ECMP route to the VPC",
        Duration::from_secs(5),
        Duration::from_millis(100),
        || {
            let r = l.route("cgw1", "10.0.0.0/16");
            if r.contains("vpn1t1") && r.contains("vpn1t2") {
                Ok(r)
            } else {
                Err(r)
            }
        },
    )
    .unwrap();
    let bps = l.tcp_works("vpchost", "10.0.1.10", "hcgw1").unwrap();
    assert!(bps > 0.0);

    // Tunnel 1 goes silent: the customer gateway's underlay drops everything to and from
    // AWS's tunnel 1 outside address. BGP on tunnel 1 expires (hold 3 s in `fast`), DPD clears
    // the tunnel, and traffic moves to tunnel 2.
    let t1_aws = l.vgw.connections[0].tunnels[0].outside_ip.to_string();
    // The test cuts through the same nftables netlink code the scenario engine uses.
    let ns = netns::Netns::open(&netns::NetnsDir::system(), &l.lab.ns("cgw1")).unwrap();
    let cut = netns::firewall::cut(
        &ns,
        &netns::firewall::CutSpec {
            ifname: None,
            proto: None,
            ports: Vec::new(),
            peer: Some(t1_aws.parse().unwrap()),
            loss_percent: None,
        },
    )
    .unwrap();
    wait_for(
        "VGW route to 192.168.1.0/24 over tunnel 2",
        Duration::from_secs(15),
        Duration::from_millis(100),
        || {
            let r = l.route("vgw", "192.168.1.0/24");
            if r.contains("dev vpn1t2") {
                Ok(r)
            } else {
                Err(r)
            }
        },
    )
    .unwrap();
    wait_for(
        "customer gateway route to the VPC over tunnel 2 only",
        Duration::from_secs(15),
        Duration::from_millis(100),
        || {
            let r = l.route("cgw1", "10.0.0.0/16");
            if r.contains("vpn1t2") && !r.contains("vpn1t1") {
                Ok(r)
            } else {
                Err(r)
            }
        },
    )
    .unwrap();
    assert!(l.tcp_works("vpchost", "10.0.1.10", "hcgw1").unwrap() > 0.0);

    // Restore: tunnel 1 comes back (the customer gateway re-initiates) with its BGP session.
    netns::firewall::restore(&ns, cut).unwrap();
    l.wait_tunnels_up("vgw", 2, Duration::from_secs(30));

    // Each AWS tunnel endpoint is its own host: a packet sent over tunnel 2 to tunnel 1's
    // inside address (169.254.10.1) is dropped by the VGW and counted, never answered by the
    // kernel the two endpoints share here.
    let misaddressed = |l: &VpnLab| {
        l.show("vgw", "tunnels").ok().and_then(|v| {
            v.as_array()?
                .iter()
                .find(|t| t["name"] == "vpn1-t2")?["ipsec"]["counters"]["misaddressed"]
                .as_u64()
        })
    };
    let before = misaddressed(&l).expect("the VGW counts misaddressed packets");
    l.lab
        .exec(
            "cgw1",
            &["ip", "route", "add", "169.254.10.1/32", "dev", "vpn1t2"],
        )
        .unwrap();
    let ping = l.lab.exec(
        "cgw1",
        &["ping", "-c", "3", "-i", "0.2", "-W", "1", "169.254.10.1"],
    );
    assert!(
        ping.is_err(),
        "tunnel 1's address answered over tunnel 2: {ping:?}"
    );
    let after = misaddressed(&l).unwrap_or(0);
    assert!(after >= before + 3, "misaddressed {before} -> {after}");
    l.lab
        .exec(
            "cgw1",
            &["ip", "route", "del", "169.254.10.1/32", "dev", "vpn1t2"],
        )
        .unwrap();
}
