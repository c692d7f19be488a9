//! Interop: real FRR bgpd is the Connect appliance against our `tgw` daemon, configured only
//! from `hybridlab cgw-config --format frr SCENARIO connect1` (AWS's sample appliance shape).
//! FRR runs in the appliance namespace on our userspace GRE device (the `appliance` daemon with
//! `bgp = false`: TUN interfaces `gre-p1`, `gre-p2` with the `.1` addresses), because this
//! kernel has no `ip_gre`.
//!
//! ```text
//!  tgw (hybridlab daemon tgw)  100.66.0.1/30 ── veth ── 100.66.0.2/30  app (GRE devices + FRR)
//!    lo: 192.0.2.1, 192.0.2.2        GRE p1: 192.0.2.1 <-> 100.66.0.2   gre-p1 169.254.6.1/29
//!    gre-p1: 169.254.6.2/29, .3      GRE p2: 192.0.2.2 <-> 100.66.0.2   gre-p2 169.254.6.9/29
//!    gre-p2: 169.254.6.10/29, .11
//! ```
//!
//! Shown: FRR's four sessions (two per peer, to `.2` and `.3`) Established with eBGP multihop
//! 2; the TGW's route table holds FRR's 10.1.0.0/16 as a Connect route over p1 and p2 (ECMP
//! across peers; FRR sends a MED of 0, which the TGW keeps: 100 is only the default), FRR
//! learns the VPC CIDR from the TGW; the same for IPv6 over MP-BGP on the IPv4 sessions
//! (each peer has an IPv6 inside /125: FRR's 2001:db8:b::/48 via its `::1` on both GRE
//! devices, the VPC's 2001:db8:a::/56 learned by FRR); and tshark decodes a capture of the
//! underlay: GRE carrying IPv4 carrying BGP (OPEN, UPDATE, KEEPALIVE), nothing malformed.

mod common;

use std::net::Ipv4Addr;
use std::process::Child;
use std::time::Duration;

use engine::model::timing::Profile;
use serde_json::Value;
use testkit::frr::Frr;
use testkit::lab::Lab;
use testkit::wait_for;
use tgw_connect::config::{
    ApplianceConfig, AppliancePeer, TgwConfig, TgwDecl, VpcIpv6, VpcRuntime,
};

const SCENARIO: &str = r#"
[scenario]
name = "tgw-interop"

[timing]
profile = "fast"

[[vpc]]
name = "vpc1"
cidrs = ["10.0.0.0/16"]
ipv6_cidrs = ["2001:db8:a::/56"]

[[tgw]]
name = "tgw1"
asn = 64512
cidr_block = "192.0.2.0/24"

[[tgw.vpc_attachment]]
name = "att-vpc1"
vpc = "vpc1"
ipv6_support = true

[[tgw.connect]]
name = "connect1"
transport = "att-vpc1"
appliance = "app"
peer = [
  { name = "p1", inside_cidr = "169.254.6.0/29", inside_cidr_v6 = "fd00:6::/125", peer_address = "100.66.0.2", peer_asn = 65010 },
  { name = "p2", inside_cidr = "169.254.6.8/29", inside_cidr_v6 = "fd00:6::8/125", peer_address = "100.66.0.2", peer_asn = 65010 },
]

[[appliance]]
name = "app"
advertise = ["10.1.0.0/16", "2001:db8:b::/48"]
external_bgp = true
"#;

fn spawn_daemon(lab: &Lab, dir: &std::path::Path, node: &str, kind: &str, config: &str) -> Child {
    let cfg = dir.join(format!("{node}.toml"));
    std::fs::write(&cfg, config).unwrap();
    let start = dir.join(format!("{node}.json"));
    let start_file = gateway::daemon::StartFile {
        config: cfg,
        control: dir.join(format!("{node}.sock")),
    };
    std::fs::write(&start, serde_json::to_string(&start_file).unwrap()).unwrap();
    lab.spawn(
        node,
        env!("CARGO_BIN_EXE_hybridlab"),
        &["daemon", kind, "--config", start.to_str().unwrap()],
        &dir.join(format!("{node}.log")),
    )
    .unwrap()
}

fn show(dir: &std::path::Path, node: &str, what: &str) -> Result<Value, String> {
    let path = dir.join(format!("{node}.sock"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c = control::Client::connect(&path)
            .await
            .map_err(|e| e.to_string())?;
        c.show(what, Default::default())
            .await
            .map_err(|e| e.to_string())
    })
}

/// `prefix`'s entry in the TGW's default route table (`show routes`).
fn table_route(dir: &std::path::Path, prefix: &str) -> Result<Value, String> {
    let r = show(dir, "tgw", "routes")?;
    r["tables"]["default"]["routes"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["prefix"] == prefix).cloned())
        .ok_or(r.to_string())
}

/// The TGW's daemon file: the scenario's `[[tgw]]` on the lab's veth.
fn tgw_config() -> TgwConfig {
    let doc: toml::Value = toml::from_str(SCENARIO).unwrap();
    let tgw: TgwDecl = doc["tgw"][0].clone().try_into().unwrap();
    TgwConfig {
        profile: Profile::Fast,
        tgw,
        vpcs: vec![VpcRuntime {
            attachment: "att-vpc1".into(),
            ifname: "to-app".into(),
            tgw_address: Ipv4Addr::new(100, 66, 0, 1),
            vpc_address: Ipv4Addr::new(100, 66, 0, 2),
            cidrs: vec!["10.0.0.0/16".parse().unwrap()],
            ipv6: Some(VpcIpv6 {
                tgw_address: "fd00:66::1".parse().unwrap(),
                vpc_address: "fd00:66::2".parse().unwrap(),
                cidrs: vec!["2001:db8:a::/56".parse().unwrap()],
            }),
            netns: None,
            vpc_routes: Vec::new(),
        }],
        vpn: None,
        dx: Vec::new(),
    }
}

/// Our GRE devices only, for FRR.
fn gre_only() -> ApplianceConfig {
    let peer = |name: &str, n: u8, cidr: &str, v6: &str| AppliancePeer {
        attachment: "connect1".into(),
        name: name.into(),
        local: Ipv4Addr::new(100, 66, 0, 2),
        remote: Ipv4Addr::new(192, 0, 2, n),
        inside_cidr: cidr.parse().unwrap(),
        inside_cidr_v6: Some(v6.parse().unwrap()),
        tgw_asn: 64512,
        asn: 65010,
        ebgp_multihop: 2,
    };
    ApplianceConfig {
        name: "app".into(),
        profile: Profile::Fast,
        advertise: Vec::new(),
        peers: vec![
            peer("p1", 1, "169.254.6.0/29", "fd00:6::/125"),
            peer("p2", 2, "169.254.6.8/29", "fd00:6::8/125"),
        ],
        bgp: false,
    }
}

#[test]
fn frr_as_the_connect_appliance_over_our_gre_device() {
    let ws = common::Workspace::new();
    let file = ws.file("tgw-interop.toml", SCENARIO);
    let out = ws.run(&[
        "cgw-config",
        "--format",
        "frr",
        file.to_str().unwrap(),
        "connect1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", common::describe(&out));
    let bgpd = String::from_utf8(out.stdout).unwrap();
    assert!(
        bgpd.contains("neighbor 169.254.6.11 ebgp-multihop 2"),
        "{bgpd}"
    );

    let mut lab = Lab::new("tgwfrr").unwrap();
    for n in ["tgw", "app"] {
        lab.node(n).unwrap();
    }
    // IPv6 too: the VPC's IPv6 CIDR is routed via fd00:66::2.
    lab.link(
        "tgw",
        "100.66.0.1/30,fd00:66::1/64",
        "app",
        "100.66.0.2/30,fd00:66::2/64",
    )
    .unwrap();
    lab.exec(
        "app",
        &["ip", "route", "add", "192.0.2.0/24", "via", "100.66.0.1"],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut children = vec![
        spawn_daemon(&lab, dir.path(), "tgw", "tgw", &tgw_config().to_toml()),
        spawn_daemon(&lab, dir.path(), "app", "appliance", &gre_only().to_toml()),
    ];
    wait_for(
        "the appliance's GRE devices",
        Duration::from_secs(20),
        Duration::from_millis(100),
        || {
            let g = show(dir.path(), "app", "gre")?;
            if g["gre-p1"].is_object() && g["gre-p2"].is_object() {
                Ok(())
            } else {
                Err(g.to_string())
            }
        },
    )
    .unwrap();

    // A capture of the underlay while FRR comes up: tshark stops by itself after 8 s.
    let pcap = dir.path().join("underlay.pcapng");
    let mut tshark = lab
        .spawn(
            "tgw",
            "tshark",
            &[
                "-n",
                "-i",
                "to-app",
                "-a",
                "duration:8",
                "-w",
                pcap.to_str().unwrap(),
            ],
            &dir.path().join("tshark.log"),
        )
        .expect("tshark (Debian package tshark)");
    wait_for(
        "tshark capturing",
        Duration::from_secs(10),
        Duration::from_millis(100),
        || {
            let log = std::fs::read_to_string(dir.path().join("tshark.log")).unwrap_or_default();
            if log.contains("Capturing on") {
                Ok(())
            } else {
                Err(log)
            }
        },
    )
    .unwrap();

    let frr = Frr::start(&lab, "app", &bgpd).expect("FRR starts with cgw-config's bgpd.conf");
    for addr in ["169.254.6.2", "169.254.6.3", "169.254.6.10", "169.254.6.11"] {
        wait_for(
            &format!("FRR's session to {addr} Established"),
            Duration::from_secs(40),
            Duration::from_millis(200),
            || match frr.neighbor_state(addr).as_str() {
                "Established" => Ok(()),
                s => Err(format!("{s}\n{}", frr.bgpd_log())),
            },
        )
        .unwrap();
    }
    let connect = show(dir.path(), "tgw", "connect").unwrap();
    for p in ["p1", "p2"] {
        assert_eq!(connect["connect1"][p]["established"], 2, "{connect:#}");
    }
    // FRR's prefix in the TGW's table, ECMP across the two peers, MED 100.
    wait_for(
        "10.1.0.0/16 over p1 and p2 in the TGW's route table",
        Duration::from_secs(15),
        Duration::from_millis(200),
        || {
            let route = table_route(dir.path(), "10.1.0.0/16")?;
            let mut vias: Vec<&str> = route["paths"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|p| p["via"].as_str())
                .collect();
            vias.sort();
            // FRR sends MED 0 with its networks: kept (100 is for routes without one).
            if vias == ["p1", "p2"] && route["kind"] == "connect" && route["paths"][0]["med"] == 0 {
                Ok(())
            } else {
                Err(route.to_string())
            }
        },
    )
    .unwrap();
    // And the kernel's route table of the TGW's default route table: a multipath route.
    wait_for(
        "the kernel multipath route",
        Duration::from_secs(10),
        Duration::from_millis(200),
        || {
            let text = lab
                .exec(
                    "tgw",
                    &["ip", "route", "show", "table", "100", "10.1.0.0/16"],
                )
                .map_err(|e| e.to_string())?;
            if text.contains("gre-p1") && text.contains("gre-p2") {
                Ok(())
            } else {
                Err(text)
            }
        },
    )
    .unwrap();
    // FRR learns the VPC CIDR from the TGW over both peers.
    wait_for(
        "FRR learns 10.0.0.0/16",
        Duration::from_secs(15),
        Duration::from_millis(200),
        || {
            let v = frr
                .json("show ip bgp 10.0.0.0/16 json")
                .map_err(|e| e.to_string())?;
            let paths = v["paths"].as_array().map(|a| a.len()).unwrap_or(0);
            if paths >= 2 {
                Ok(())
            } else {
                Err(v.to_string())
            }
        },
    )
    .unwrap();

    // IPv6 over the same sessions (MP-BGP): FRR's prefix over both peers via its ::1 ...
    wait_for(
        "2001:db8:b::/48 over p1 and p2 in the TGW's route table",
        Duration::from_secs(15),
        Duration::from_millis(200),
        || {
            let route = table_route(dir.path(), "2001:db8:b::/48")?;
            let mut hops: Vec<(&str, &str)> = route["paths"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|p| Some((p["via"].as_str()?, p["next_hop"].as_str()?)))
                .collect();
            hops.sort();
            if hops == [("p1", "fd00:6::1"), ("p2", "fd00:6::9")] && route["kind"] == "connect" {
                Ok(())
            } else {
                Err(route.to_string())
            }
        },
    )
    .unwrap();
    wait_for(
        "the kernel's IPv6 multipath route",
        Duration::from_secs(10),
        Duration::from_millis(200),
        || {
            let text = lab
                .exec(
                    "tgw",
                    &[
                        "ip",
                        "-6",
                        "route",
                        "show",
                        "table",
                        "100",
                        "2001:db8:b::/48",
                    ],
                )
                .map_err(|e| e.to_string())?;
            if text.contains("via fd00:6::1 dev gre-p1")
                && text.contains("via fd00:6::9 dev gre-p2")
            {
                Ok(())
            } else {
                Err(text)
            }
        },
    )
    .unwrap();
    // ... and the VPC's IPv6 CIDR learned by FRR on both peers, next hops the TGW's ::2/::a.
    wait_for(
        "FRR learns 2001:db8:a::/56",
        Duration::from_secs(15),
        Duration::from_millis(200),
        || {
            let v = frr
                .json("show bgp ipv6 unicast 2001:db8:a::/56 json")
                .map_err(|e| e.to_string())?;
            let text = v.to_string();
            let paths = v["paths"].as_array().map(|a| a.len()).unwrap_or(0);
            if paths >= 2 && text.contains("fd00:6::2") && text.contains("fd00:6::a") {
                Ok(())
            } else {
                Err(text)
            }
        },
    )
    .unwrap();

    let _ = tshark.wait();
    check_capture(&pcap);
    drop(frr);
    for c in &mut children {
        testkit::lab::kill(c);
    }
}

/// tshark decodes GRE carrying IPv4 carrying BGP: OPEN, UPDATE and KEEPALIVE seen, no
/// malformed packet, no expert error.
fn check_capture(pcap: &std::path::Path) {
    let out = std::process::Command::new("tshark")
        .args(["-n", "-r"])
        .arg(pcap)
        .args([
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
        ])
        .args([
            "-e",
            "ip.proto",
            "-e",
            "gre.proto",
            "-e",
            "bgp.type",
            "-e",
            "_ws.malformed",
        ])
        .args(["-e", "_ws.expert.severity"])
        .output()
        .expect("tshark");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (mut gre, mut types) = (0, std::collections::BTreeSet::new());
    for line in text.lines() {
        let f: Vec<&str> = line.split('|').collect();
        let [proto, gre_proto, bgp, malformed, expert] = f[..] else {
            panic!("{line}");
        };
        assert!(malformed.is_empty(), "malformed: {line}");
        for sev in expert.split(',').filter(|s| !s.is_empty()) {
            let v = match sev.strip_prefix("0x") {
                Some(hex) => u32::from_str_radix(hex, 16),
                None => sev.parse(),
            }
            .unwrap_or(u32::MAX);
            assert!(v < 0x0080_0000, "expert error {sev}: {line}");
        }
        if proto.split(',').next() == Some("47") {
            gre += 1;
            // IPv4 (BGP) and IPv6 (the TUN interfaces' own neighbour discovery).
            assert!(
                ["0x0800", "0x86dd"].contains(&gre_proto),
                "GRE payload: {line}"
            );
            for t in bgp.split(',').filter(|s| !s.is_empty()) {
                types.insert(t.to_string());
            }
        }
    }
    assert!(gre > 0, "no GRE in the capture\n{text}");
    for t in ["1", "2", "4"] {
        assert!(
            types.contains(t),
            "BGP type {t} over GRE missing: {types:?}\n{text}"
        );
    }
}
