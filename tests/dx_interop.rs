//! Interop: real FRR (bgpd + bfdd), configured only from `hybridlab cgw-config` (the VIF form,
//! `--format frr` and `--format frr-bfdd`), is the customer router on a private VIF against our
//! `dxgw` daemon: BGP with MD5 Established, BFD Up on both ends, prefixes both ways (FRR learns
//! the VPC CIDR the VGW announces over the backbone; the VGW takes FRR's prefix as Direct
//! Connect), the VIF's second, IPv6, session with FRR's IPv6 prefix and its own BFD, tshark decodes a capture of the cross-connect (802.1Q VLAN 100 on every frame, BGP
//! with the TCP MD5 option, BFD Up, nothing malformed), and a silent cross-connect cut takes the
//! VIF's BGP down through BFD within 1 s.
//!
//! FRR needs a VLAN interface; this kernel has no `8021q`, so the customer namespace gets a TAP
//! from `crates/vlan`'s trunk on its end of the cross-connect (a kernel with `8021q` would use a
//! VLAN sub-interface, as the configuration's header says).
//!
//! ```text
//!  vgw (hybridlab daemon vgw) -- backbone 100.65.0.0/30 -- dx (hybridlab daemon dxgw)
//!    == cross-connect (to-cust / to-dx), VLAN 100 == cust (VlanTrunk TAP vif1 + FRR)
//! ```

mod common;

use std::net::Ipv4Addr;
use std::process::Child;
use std::time::Duration;

use dxgw::auth_key::AuthKey;
use dxgw::config::{Association, AssociationKind, Connection, DxConfig, DxGateway, Vif, VifType};
use engine::model::timing::Profile;
use serde_json::Value;
use testkit::bird::Bird;
use testkit::frr::{Daemon, Frr};
use testkit::lab::Lab;
use testkit::wait_for;
use vgw::config::{DxPeer, VgwConfig};

const KEY: &str = "dx.md5-key_for.tests";
const AMAZON: &str = "169.254.100.1";
const CUSTOMER: &str = "169.254.100.2";
const AMAZON6: &str = "fd00:dc::11";
const CUSTOMER6: &str = "fd00:dc::12";

/// The scenario `cgw-config` reads: the same VIF (VLAN, addresses, key, ASNs) as the daemons.
fn scenario() -> String {
    format!(
        r#"
[scenario]
name = "dx-interop"

[timing]
profile = "fast"

[[router]]
name = "inet"

[[vpc]]
name = "vpc1"
cidrs = ["10.0.0.0/16"]

[[vgw]]
name = "vgw1"
vpc = "vpc1"
internet = {{ node = "inet", cidr = "203.0.113.0/24" }}

[[dxgw]]
name = "dx1"

[[dxgw.gateway]]
name = "dxgw1"
association = [{{ vgw = "vgw1" }}]

[[dxgw.connection]]
name = "dxcon1"
router = "cust"

[[dxgw.connection.vif]]
name = "vif1"
vlan = 100
gateway = "dxgw1"
amazon_address = "{AMAZON}/30"
customer_address = "{CUSTOMER}/30"
auth_key = "{KEY}"
amazon_address_v6 = "{AMAZON6}/125"
customer_address_v6 = "{CUSTOMER6}/125"

[[dx-router]]
name = "cust"
asn = 65010
advertise = ["192.168.10.0/24"]
advertise_v6 = ["2001:db8:10::/48"]
external = true
"#
    )
}

fn cgw_config(ws: &common::Workspace, file: &std::path::Path, format: &str) -> String {
    let out = ws.run(&[
        "cgw-config",
        "--format",
        format,
        file.to_str().unwrap(),
        "vif1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", common::describe(&out));
    String::from_utf8(out.stdout).unwrap()
}

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

fn dx_config() -> DxConfig {
    DxConfig {
        name: "dx".into(),
        amazon_side_asn: 64512,
        profile: Profile::Fast,
        router_id: None,
        connections: vec![Connection {
            name: "dxcon1".into(),
            interface: "to-cust".into(),
            vifs: vec![Vif {
                name: "vif1".into(),
                vif_type: VifType::Private,
                vlan: 100,
                mtu: 1500,
                gateway: "dxgw1".into(),
                customer_asn: 65010,
                amazon_address: format!("{AMAZON}/30").parse().unwrap(),
                customer_address: format!("{CUSTOMER}/30").parse().unwrap(),
                amazon_address_v6: Some(format!("{AMAZON6}/125").parse().unwrap()),
                customer_address_v6: Some(format!("{CUSTOMER6}/125").parse().unwrap()),
                auth_key: AuthKey::new(KEY).unwrap(),
                hold_time: None,
                keepalive: None,
                bfd: true,
            }],
        }],
        gateways: vec![DxGateway {
            name: "dxgw1".into(),
            sitelink: false,
            associations: vec![Association {
                name: "vgw1".into(),
                kind: AssociationKind::Vgw,
                asn: 64512,
                local_address: Ipv4Addr::new(100, 65, 0, 1),
                peer_address: Ipv4Addr::new(100, 65, 0, 2),
                allowed_prefixes: vec!["10.0.0.0/16".parse().unwrap()],
            }],
        }],
    }
}

fn vgw_config() -> VgwConfig {
    VgwConfig {
        name: "vgw1".into(),
        amazon_side_asn: 64512,
        profile: Profile::Fast,
        seed: 0,
        router_id: Some(Ipv4Addr::new(100, 65, 0, 2)),
        underlay_gateway: None,
        vpc_cidrs: vec!["10.0.0.0/16".parse().unwrap()],
        vpc: None,
        connections: Vec::new(),
        direct_connect: vec![DxPeer {
            name: "dxgw1".into(),
            address: Ipv4Addr::new(100, 65, 0, 1),
            local_address: Ipv4Addr::new(100, 65, 0, 2),
        }],
        inside_cidrs_per_connection: false,
    }
}

/// The AWS side of the interop tests: a VGW and a DX router daemon, the backbone between them,
/// the cross-connect to the customer namespace `cust`, and there the customer's VLAN interface
/// `vif1` (a TAP of our trunk, with both customer addresses). Dropped: daemons killed, trunk
/// stopped, namespaces removed.
struct AwsSide {
    children: Vec<Child>,
    trunk: Option<vlan::device::VlanTrunk>,
    dir: tempfile::TempDir,
    lab: Lab,
}

impl AwsSide {
    fn start(name: &str) -> AwsSide {
        let mut lab = Lab::new(name).unwrap();
        for n in ["vgw", "dx", "cust"] {
            lab.node(n).unwrap();
        }
        lab.link("dx", "100.65.0.1/30", "vgw", "100.65.0.2/30")
            .unwrap();
        lab.link("dx", "", "cust", "").unwrap(); // the cross-connect: no addresses, VLANs ride it
        let dir = tempfile::tempdir().unwrap();
        let children = vec![
            spawn_daemon(
                &lab,
                dir.path(),
                "vgw",
                "vgw",
                &vgw_config().to_toml_with_keys(),
            ),
            spawn_daemon(
                &lab,
                dir.path(),
                "dx",
                "dxgw",
                dx_config().to_toml_with_keys().expose(),
            ),
        ];

        // The customer's VLAN interface: a TAP of our trunk on its end of the cross-connect.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let ns = netns::Netns::open(&netns::NetnsDir::system(), &lab.ns("cust")).unwrap();
        let mut vif = vlan::device::VifConfig::new("vif1", 100, 1500);
        vif.addresses = vec![
            format!("{CUSTOMER}/30").parse().unwrap(),
            format!("{CUSTOMER6}/125").parse().unwrap(),
        ];
        let trunk = vlan::device::VlanTrunk::start(
            &ns,
            vlan::device::TrunkConfig::new("to-dx").with_vif(vif),
        )
        .unwrap();
        rt.block_on(async { trunk.configure(&netns::Netlink::open(&ns).unwrap()).await })
            .unwrap();
        AwsSide {
            children,
            trunk: Some(trunk),
            dir,
            lab,
        }
    }

    /// Silently cuts the cross-connect (the customer's end goes down; the TAP stays up) and
    /// waits for the DX router to take the VIF's BGP session down through BFD; how long it took.
    fn cut_and_time_bfd(&self) -> Duration {
        self.lab
            .exec("cust", &["ip", "link", "set", "to-dx", "down"])
            .unwrap();
        let cut = std::time::Instant::now();
        wait_for(
            "the DX router's VIF session down by BFD",
            Duration::from_secs(5),
            Duration::from_millis(20),
            || {
                let v = show(self.dir.path(), "dx", "vifs")?;
                let down = &v["vifs"][0]["bgp"]["last_down"];
                if v["vifs"][0]["bgp"]["state"] != "Established"
                    && down.to_string().contains("BFD session down")
                {
                    Ok(())
                } else {
                    Err(v["vifs"][0].to_string())
                }
            },
        )
        .unwrap();
        cut.elapsed()
    }
}

impl Drop for AwsSide {
    fn drop(&mut self) {
        drop(self.trunk.take());
        for c in &mut self.children {
            testkit::lab::kill(c);
        }
    }
}

#[test]
fn frr_from_cgw_config_terminates_a_private_vif_with_md5_and_bfd() {
    let ws = common::Workspace::new();
    let file = ws.file("dx-interop.toml", &scenario());
    let bgpd = cgw_config(&ws, &file, "frr");
    let bfdd = cgw_config(&ws, &file, "frr-bfdd");
    assert!(
        bgpd.contains(&format!("neighbor {AMAZON} password {KEY}")),
        "{bgpd}"
    );
    assert!(bgpd.contains(&format!("neighbor {AMAZON} bfd")), "{bgpd}");
    assert!(bfdd.contains("receive-interval 100"), "{bfdd}");

    let aws = AwsSide::start("dxfrr");
    let (lab, dir) = (&aws.lab, &aws.dir);

    // A capture of the cross-connect while FRR comes up: tshark stops by itself after 6 s.
    let pcap = dir.path().join("xc.pcapng");
    let mut tshark = lab
        .spawn(
            "dx",
            "tshark",
            &[
                "-n",
                "-i",
                "to-cust",
                "-a",
                "duration:6",
                "-w",
                pcap.to_str().unwrap(),
            ],
            &dir.path().join("tshark.log"),
        )
        .expect("tshark (Debian package tshark)");
    wait_for(
        "tshark capturing",
        Duration::from_secs(30),
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

    let frr = Frr::start_daemons(
        lab,
        "cust",
        &[Daemon::new("bfdd", &bfdd), Daemon::new("bgpd", &bgpd)],
    )
    .expect("FRR starts with cgw-config's bgpd.conf and bfdd.conf");

    // BGP with MD5 Established, seen from both ends.
    wait_for(
        "FRR's session to the DX router Established",
        Duration::from_secs(30),
        Duration::from_millis(200),
        || match frr.neighbor_state(AMAZON).as_str() {
            "Established" => Ok(()),
            s => Err(s.to_string()),
        },
    )
    .unwrap_or_else(|e| panic!("{e}\nbgpd log:\n{}", frr.bgpd_log()));
    // BFD Up on both ends.
    wait_for(
        "BFD Up on the DX router and in FRR's bfdd",
        Duration::from_secs(10),
        Duration::from_millis(100),
        || {
            let ours = show(dir.path(), "dx", "vifs")?;
            let peers = frr.json("show bfd peers json").map_err(|e| e.to_string())?;
            let theirs = peers
                .as_array()
                .and_then(|a| a.iter().find(|p| p["peer"] == AMAZON))
                .map(|p| p["status"].clone())
                .unwrap_or(Value::Null);
            if ours["vifs"][0]["bfd"] == "Up"
                && ours["vifs"][0]["bgp"]["state"] == "Established"
                && theirs == "up"
            {
                Ok(())
            } else {
                Err(format!("ours {}, FRR's {theirs}", ours["vifs"][0]))
            }
        },
    )
    .unwrap();
    // The VIF's second, IPv6, session: Established with FRR's IPv6 prefix, BFD Up on it too.
    wait_for(
        "the IPv6 session with FRR's 2001:db8:10::/48",
        Duration::from_secs(20),
        Duration::from_millis(200),
        || {
            let v = show(dir.path(), "dx", "vifs")?;
            let vif = &v["vifs"][0];
            if vif["bgp_v6"]["state"] == "Established"
                && vif["bgp_v6"]["received"] == 1
                && vif["bfd_v6"] == "Up"
            {
                Ok(())
            } else {
                Err(vif.to_string())
            }
        },
    )
    .unwrap_or_else(|e| panic!("{e}\nbgpd log:\n{}", frr.bgpd_log()));
    // The key never shows.
    let vifs = show(dir.path(), "dx", "vifs").unwrap();
    assert!(!vifs.to_string().contains(KEY), "{vifs}");

    // Prefixes both ways: FRR learns the VPC CIDR; the VGW takes FRR's prefix as DX.
    wait_for(
        "FRR has the VPC CIDR from the DX router",
        Duration::from_secs(10),
        Duration::from_millis(200),
        || {
            let r = frr
                .json("show ip bgp 10.0.0.0/16 json")
                .map_err(|e| e.to_string())?;
            if r["paths"].as_array().is_some_and(|p| !p.is_empty()) {
                Ok(())
            } else {
                Err(r.to_string())
            }
        },
    )
    .unwrap();
    wait_for(
        "the VGW routes 192.168.10.0/24 over Direct Connect",
        Duration::from_secs(10),
        Duration::from_millis(200),
        || {
            let r = show(dir.path(), "vgw", "routes")?;
            let ok = r["selected"].as_array().is_some_and(|s| {
                s.iter().any(|x| {
                    x["prefix"] == "192.168.10.0/24"
                        && x["kind"] == "direct_connect"
                        && x["via"] == "dxgw1"
                })
            });
            if ok {
                Ok(())
            } else {
                Err(r["selected"].to_string())
            }
        },
    )
    .unwrap();

    // tshark decodes the capture: every frame 802.1Q VLAN 100, BGP (OPEN, KEEPALIVE, UPDATE)
    // with the TCP MD5 option (kind 19), BFD reaching Up, nothing malformed, no expert error.
    let status = tshark.wait().unwrap();
    assert!(status.success(), "tshark: {status}");
    check_capture(&pcap);

    // A silent cut (the customer's end of the cross-connect goes down; the TAP stays up): BFD
    // takes the VIF's BGP session down within 1 s, far before the 3 s hold time.
    let took = aws.cut_and_time_bfd();
    assert!(took < Duration::from_secs(1), "BFD took {took:?}");

    drop(frr);
}

/// BIRD 2, configured only from `hybridlab cgw-config --format bird` (BGP and BFD in one file),
/// is the customer router on the same private VIF: both sessions (IPv4 and IPv6) Established
/// with MD5, BIRD's BFD sessions Up on both families, prefixes both ways, and a silent cut
/// found by BFD within 1 s.
#[test]
fn bird_from_cgw_config_terminates_a_private_vif_with_md5_and_bfd() {
    let ws = common::Workspace::new();
    let file = ws.file("dx-interop.toml", &scenario());
    let conf = cgw_config(&ws, &file, "bird");
    assert!(conf.contains(&format!("password \"{KEY}\";")), "{conf}");
    assert!(conf.contains("bfd on;"), "{conf}");

    let aws = AwsSide::start("dxbird");
    let dir = aws.dir.path();
    let bird =
        Bird::start(&aws.lab, "cust", &conf).expect("BIRD starts with cgw-config's bird.conf");

    wait_for(
        "BIRD's VIF sessions (IPv4 and IPv6) Established",
        Duration::from_secs(30),
        Duration::from_millis(200),
        || {
            if bird.established("vif1_v4") && bird.established("vif1_v6") {
                Ok(())
            } else {
                Err(bird.birdc(&["show", "protocols"]).unwrap_or_default())
            }
        },
    )
    .unwrap_or_else(|e| panic!("{e}\nBIRD log:\n{}", bird.log()));
    wait_for(
        "BFD Up on both families at both ends",
        Duration::from_secs(10),
        Duration::from_millis(100),
        || {
            let v = show(dir, "dx", "vifs")?;
            let vif = &v["vifs"][0];
            let theirs = bird
                .birdc(&["show", "bfd", "sessions"])
                .map_err(|e| e.to_string())?;
            let up = |addr: &str| {
                theirs
                    .lines()
                    .any(|l| l.starts_with(addr) && l.contains(" Up "))
            };
            if vif["bfd"] == "Up" && vif["bfd_v6"] == "Up" && up(AMAZON) && up(AMAZON6) {
                Ok(())
            } else {
                Err(format!("ours {vif}, BIRD's:\n{theirs}"))
            }
        },
    )
    .unwrap();

    // Prefixes both ways: BIRD learns (and installs) the VPC CIDR; the VGW takes BIRD's
    // prefix as Direct Connect; the DX router has BIRD's IPv6 prefix on the IPv6 session.
    wait_for(
        "BIRD has the VPC CIDR from the DX router",
        Duration::from_secs(10),
        Duration::from_millis(200),
        || {
            let r = bird
                .birdc(&["show", "route", "for", "10.0.0.1", "protocol", "vif1_v4"])
                .map_err(|e| e.to_string())?;
            if r.contains("10.0.0.0/16") {
                Ok(())
            } else {
                Err(r)
            }
        },
    )
    .unwrap();
    wait_for(
        "the VGW routes 192.168.10.0/24 over Direct Connect; the IPv6 prefix arrives",
        Duration::from_secs(10),
        Duration::from_millis(200),
        || {
            let r = show(dir, "vgw", "routes")?;
            let v4 = r["selected"].as_array().is_some_and(|s| {
                s.iter().any(|x| {
                    x["prefix"] == "192.168.10.0/24"
                        && x["kind"] == "direct_connect"
                        && x["via"] == "dxgw1"
                })
            });
            let v = show(dir, "dx", "vifs")?;
            if v4 && v["vifs"][0]["bgp_v6"]["received"] == 1 {
                Ok(())
            } else {
                Err(format!("{} / {}", r["selected"], v["vifs"][0]))
            }
        },
    )
    .unwrap();

    let took = aws.cut_and_time_bfd();
    assert!(took < Duration::from_secs(1), "BFD took {took:?}");
    drop(bird);
}

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
            "eth.type",
            "-e",
            "vlan.id",
            "-e",
            "bgp.type",
            "-e",
            "tcp.option_kind",
        ])
        .args([
            "-e",
            "bfd.sta",
            "-e",
            "_ws.malformed",
            "-e",
            "_ws.expert.severity",
        ])
        .output()
        .expect("tshark");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (mut bgp_types, mut md5, mut bfd_up) = (std::collections::BTreeSet::new(), 0, 0);
    for line in text.lines() {
        let f: Vec<&str> = line.split('|').collect();
        let [ethertype, vid, bgp, options, bfd, malformed, expert] = f[..] else {
            panic!("{line}");
        };
        assert_eq!(
            (ethertype, vid),
            ("0x8100", "100"),
            "untagged or wrong VLAN: {line}"
        );
        assert!(malformed.is_empty(), "malformed: {line}");
        for sev in expert.split(',').filter(|s| !s.is_empty()) {
            // Wireshark's severities: chat 0x200000, note 0x400000, warn 0x600000, error 0x800000.
            let v = match sev.strip_prefix("0x") {
                Some(hex) => u32::from_str_radix(hex, 16),
                None => sev.parse(),
            }
            .unwrap_or(u32::MAX);
            assert!(v < 0x0080_0000, "expert error {sev}: {line}");
        }
        for t in bgp.split(',').filter(|s| !s.is_empty()) {
            bgp_types.insert(t.to_string());
        }
        if !bgp.is_empty() && options.split(',').any(|k| k == "19") {
            md5 += 1;
        }
        if bfd == "3" || bfd == "0x03" {
            bfd_up += 1;
        }
    }
    for t in ["1", "2", "4"] {
        assert!(
            bgp_types.contains(t),
            "BGP message type {t} missing: {bgp_types:?}\n{text}"
        );
    }
    assert!(md5 > 0, "no BGP segment carried the TCP MD5 option\n{text}");
    assert!(bfd_up > 0, "no BFD packet in state Up\n{text}");
}
