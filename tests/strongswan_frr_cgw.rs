//! Interop: the real strongSwan (charon with kernel-libipsec) and FRR bgpd act as the customer
//! gateway against our `vgw`, configured only from `cgw::export` (what `hybridlab cgw-config`
//! prints): both tunnels up, BGP Established on both, prefixes exchanged both ways, TCP between
//! an on-premises host and a VPC host, and failover when the tunnel the VGW prefers goes silent.

mod vpn_support;
use vpn_support as support;

use std::time::Duration;

use engine::model::timing::Profile;
use support::{Site, VpnLab};
use testkit::frr::Frr;
use testkit::strongswan::{CharonOptions, StrongSwan};
use testkit::wait_for;
use vgw::config::Routing;

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
    let lan: ipnet::Ipv4Net = "192.168.1.0/24".parse().unwrap();
    let swanctl = cgw::export::swanctl_config("cgw1", &customer, &[lan], Profile::Fast);
    let fragment = cgw::export::strongswan_conf("cgw1", &customer, Profile::Fast);
    let bgpd = cgw::export::frr_config(
        "cgw1",
        65010,
        &[lan],
        cgw::config::TunnelMode::ActiveActive,
        &customer,
        Profile::Fast,
    );

    // In the export header's order: the throw routes out of charon's table 220 (the AWS
    // addresses and the LAN) before charon runs, the inside addresses on ipsec0 once it does,
    // then the tunnels; charon with the exported strongswan.conf fragment.
    let header: Vec<&str> = swanctl
        .lines()
        .filter_map(|l| l.strip_prefix("#   "))
        .collect();
    let run = |line: &&str| {
        let args: Vec<&str> = line.split_whitespace().collect();
        l.lab
            .exec("cgw1", &args)
            .unwrap_or_else(|e| panic!("{line}: {e}"));
    };
    header
        .iter()
        .filter(|line| !line.contains("dev ipsec0"))
        .for_each(run);
    let options = CharonOptions {
        append: fragment,
        ..CharonOptions::fast()
    };
    let sw = StrongSwan::start(&l.lab, "cgw1", &options).expect("charon");
    header
        .iter()
        .filter(|line| line.contains("dev ipsec0"))
        .for_each(run);
    sw.load(&swanctl)
        .expect("strongSwan loads the exported swanctl.conf");
    for t in ["vpn1-t1", "vpn1-t2"] {
        sw.wait_up(t, Duration::from_secs(20)).unwrap_or_else(|e| {
            panic!(
                "{e}\n--- vgw ---\n{}\n--- charon ---\n{}",
                l.log("vgw"),
                sw.log()
            )
        });
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
    // Each BGP session on its own tunnel's SA: with no other traffic, both CHILD_SAs carry
    // keepalives both ways (with one reqid and 0.0.0.0/0 only, the newest SA carried both).
    let counters = || -> Vec<(u64, u64)> {
        let sas = sw.list_sas().unwrap();
        ["vpn1-t1", "vpn1-t2"]
            .iter()
            .map(|t| {
                let ike = sas.iter().find(|sa| sa.name == *t).expect("IKE_SA");
                let c = ike
                    .children
                    .iter()
                    .find(|c| c.state() == "INSTALLED")
                    .expect("CHILD_SA");
                (c.counter("packets-in"), c.counter("packets-out"))
            })
            .collect()
    };
    let before = counters();
    wait_for(
        "BGP keepalives over both CHILD_SAs, both ways",
        Duration::from_secs(10),
        Duration::from_millis(200),
        || {
            let now = counters();
            if now
                .iter()
                .zip(&before)
                .all(|(n, b)| n.0 >= b.0 + 2 && n.1 >= b.1 + 2)
            {
                Ok(now)
            } else {
                Err(format!("{before:?} -> {now:?}"))
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
    // The other tunnel's BGP session stays on its own SA; the site's traffic may take the dead
    // SA (the newest of the 0.0.0.0/0 ones) until charon's DPD (action restart) removes it;
    // then the other tunnel carries traffic, and the VGW routes through it.
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
            loss_percent: None,
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
