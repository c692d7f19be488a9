//! Interop: the real strongSwan (charon with kernel-libipsec) and FRR bgpd act as the customer
//! gateway against our `vgw`, configured only from `vpn::export` (what `hybridlab cgw-config`
//! prints): both tunnels up, BGP Established on both, prefixes exchanged both ways, TCP between
//! an on-premises host and a VPC host, and failover when the tunnel the VGW prefers goes silent.

mod support;

use std::time::Duration;

use support::{Site, VpnLab};
use testkit::frr::Frr;
use testkit::strongswan::{CharonOptions, StrongSwan};
use testkit::wait_for;
use vpn::config::Routing;

#[test]
fn strongswan_and_frr_from_exported_configs_bring_up_both_tunnels_and_carry_traffic() {
    let mut l = VpnLab::new(
        "vpn-swfrr",
        &[Site {
            node: "cgw1".into(),
            asn: 65010,
            routing: Routing::Dynamic,
            prefix: "192.168.1.0/24".parse().unwrap(),
            outside: "198.51.100.10".parse().unwrap(),
        }],
    );
    l.start_vgw();
    let customer = l.cgws[0].connections[0].clone();
    let swanctl = vpn::export::swanctl_config("cgw1", &customer);
    let bgpd = vpn::export::frr_config(
        "cgw1",
        65010,
        &["192.168.1.0/24".parse().unwrap()],
        &customer,
    );

    let sw = StrongSwan::start(&l.lab, "cgw1", &CharonOptions::fast()).expect("charon");
    sw.load(&swanctl)
        .expect("strongSwan loads the exported swanctl.conf");
    for t in ["vpn1-t1", "vpn1-t2"] {
        sw.wait_up(t, Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("{e}\n--- vgw ---\n{}", l.log("vgw")));
    }
    // kernel-libipsec's ipsec0 carries both tunnels: charon routes everything into it through
    // its table 220 (`default dev ipsec0`, rule 220, ahead of main; `install_routes = no` did
    // not remove that route here). The customer gateway's routing keeps out of it what must not
    // go in: both AWS outside addresses (charon throws only one IKE peer; without the other,
    // tunnel 2's ESP loops into ipsec0) and the LAN, whose traffic comes out of the tunnel and
    // would otherwise be sent straight back in. This is what the exported swanctl.conf's header
    // tells the operator to add.
    let mut throws: Vec<String> = customer
        .tunnels
        .iter()
        .map(|t| t.aws_ip.to_string())
        .collect();
    throws.push("192.168.1.0/24".into());
    for to in &throws {
        l.lab
            .exec(
                "cgw1",
                &["ip", "route", "replace", "throw", to, "table", "220"],
            )
            .unwrap();
    }
    // The inside addresses go on ipsec0.
    for t in &customer.tunnels {
        let (_, ours) = vpn::config::inside_addresses(t.inside_cidr);
        sw.add_tunnel_address(&l.lab, &format!("{ours}/30")).ok();
    }
    let frr = Frr::start(&l.lab, "cgw1", &bgpd).expect("FRR starts with the exported bgpd config");
    l.wait_tunnels_up("vgw", 2, Duration::from_secs(30));

    // Prefixes both ways: the VGW selected the customer prefix, FRR has the VPC CIDR.
    wait_for(
        "VGW route to 192.168.1.0/24 over a tunnel",
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
    wait_for(
        "FRR route to the VPC",
        Duration::from_secs(10),
        Duration::from_millis(200),
        || {
            let r = l.route("cgw1", "10.0.0.0/16");
            if r.contains("169.254.10.") {
                Ok(r)
            } else {
                Err(format!("{r}\n{}", frr.bgpd_log()))
            }
        },
    )
    .unwrap();
    // Host to host through charon's ipsec0 and our VGW, both ways (TCP).
    let bps = l
        .tcp_works("vpchost", "10.0.1.10", "hcgw1")
        .unwrap_or_else(|e| panic!("{e}\n--- charon ---\n{}", sw.log()));
    assert!(bps > 0.0);

    // Failover: the customer gateway's underlay to the tunnel the VGW prefers goes silent.
    // kernel-libipsec sends everything through one SA (both policies are 0.0.0.0/0), so until
    // charon's DPD (action restart) removes the dead CHILD_SA both BGP sessions may be starved;
    // then the other tunnel carries BGP and traffic, and the VGW routes through it.
    let routes = l.show("vgw", "routes").unwrap();
    let preferred = routes["selected"][0]["via"].as_str().unwrap().to_string();
    let (cut_idx, other) = if preferred == "vpn1-t1" {
        (0, "vpn1t2")
    } else {
        (1, "vpn1t1")
    };
    let aws_ip = customer.tunnels[cut_idx].aws_ip;
    let ns = netns::Netns::open(&netns::NetnsDir::system(), &l.lab.ns("cgw1")).unwrap();
    let cut = netns::firewall::cut(
        &ns,
        &netns::firewall::CutSpec {
            ifname: None,
            proto: None,
            ports: Vec::new(),
            peer: Some(aws_ip.into()),
        },
    )
    .unwrap();
    wait_for(
        "traffic through the other tunnel",
        Duration::from_secs(90),
        Duration::from_millis(500),
        || l.tcp_works("vpchost", "10.0.1.10", "hcgw1"),
    )
    .unwrap_or_else(|e| panic!("{e}\n--- charon ---\n{}", sw.log()));
    wait_for(
        "VGW route to 192.168.1.0/24 over the other tunnel",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || {
            let r = l.route("vgw", "192.168.1.0/24");
            if r.contains(&format!("dev {other}")) {
                Ok(r)
            } else {
                Err(r)
            }
        },
    )
    .unwrap();
    netns::firewall::restore(&ns, cut).unwrap();
}
