//! A real customer gateway against the emulated VGW (root; strongSwan, FRR and BIRD installed):
//! a scenario whose customer gateway is `external = true` runs no daemon of ours; the test
//! starts charon (kernel-libipsec) and a BGP speaker, FRR bgpd, BIRD 2 or GoBGP, in its
//! namespace, configured only from what `hybridlab cgw-config` prints (swanctl.conf with the
//! keys read from the running lab, the routing its header lists, bgpd.conf, bird.conf or
//! gobgpd.toml with the gobgp commands in its header). The scenario's
//! own expectations then check both tunnels up with BGP, traffic between the on-premises host
//! and the VPC host both ways, failover when the tunnel the VGW prefers goes silent, and the
//! return to it once restored.

mod common;

use std::time::Duration;

use common::{DownOnDrop, Workspace, describe, leftovers, wait_until};
use serde_json::Value;
use testkit::bird::Bird;
use testkit::frr::Frr;
use testkit::gobgp::Gobgp;
use testkit::strongswan::{CharonOptions, StrongSwan};

const LAB: &str = "sctswan";

const SCENARIO: &str = r#"
[scenario]
name = "sctswan"

[timing]
profile = "fast"
converge = "90s"

[[router]]
name = "inet"

[[vpc]]
name = "vpc1"
cidrs = ["10.0.0.0/16"]

[[host]]
name = "vpchost"
gateway = "10.0.1.1"

[[link]]
endpoints = [{ node = "vpchost", address = "10.0.1.10/24" }, { node = "vpc1", address = "10.0.1.1/24" }]

[[vgw]]
name = "vgw1"
vpc = "vpc1"
seed = 2
internet = { node = "inet", cidr = "203.0.113.0/24" }

[[vgw.connection]]
name = "vpn1"
cgw = "cgw1"

[[cgw]]
name = "cgw1"
asn = 65001
internet = { node = "inet", address = "198.51.100.1/24" }
advertise = ["10.1.0.0/16"]
external = true

[[host]]
name = "h1"
gateway = "10.1.0.1"

[[link]]
endpoints = [{ node = "h1", address = "10.1.0.10/24" }, { node = "cgw1", address = "10.1.0.1/24" }]

[[probe]]
name = "to-vpc"
from = "h1"
to = "vpchost"
rate = 200

[[probe]]
name = "to-onprem"
from = "vpchost"
to = "h1"
rate = 200

[[expect]]
name = "tunnel 1 is up with BGP to strongSwan and FRR"
check = "tunnel"
node = "vgw1"
tunnel = "vpn1-t1"
status = "UP"
bgp = "Established"

[[expect]]
name = "tunnel 2 too"
check = "tunnel"
node = "vgw1"
tunnel = "vpn1-t2"
status = "UP"
bgp = "Established"

[[expect]]
name = "the VGW prefers tunnel 1 (seed 2) for FRR's prefix"
check = "vgw_route"
node = "vgw1"
prefix = "10.1.0.0/16"
via = "vpn1-t1"

[[timeline]]
name = "cut-tunnel1"
at = "2s"
action = "cut"
node = "cgw1"
proto = "udp"
ports = [500, 4500]
peer = "203.0.113.1"

[[expect]]
name = "the VGW moves to tunnel 2"
after = "cut-tunnel1"
within = "60s"
check = "vgw_route"
node = "vgw1"
prefix = "10.1.0.0/16"
via = "vpn1-t2"

[[expect]]
name = "traffic to on-premises flows over tunnel 2"
after = "the VGW moves to tunnel 2"
within = "90s"
check = "delivers"
probe = "to-onprem"

[[expect]]
name = "traffic to the VPC flows over tunnel 2"
after = "the VGW moves to tunnel 2"
within = "90s"
check = "delivers"
probe = "to-vpc"

[[timeline]]
name = "restore-tunnel1"
after = "traffic to the VPC flows over tunnel 2"
delay = "1s"
action = "restore"
cut = "cut-tunnel1"

[[expect]]
name = "tunnel 1 comes back with BGP"
after = "restore-tunnel1"
within = "90s"
check = "tunnel"
node = "vgw1"
tunnel = "vpn1-t1"
status = "UP"
bgp = "Established"

[[expect]]
name = "the VGW returns to tunnel 1"
after = "tunnel 1 comes back with BGP"
within = "30s"
check = "vgw_route"
node = "vgw1"
prefix = "10.1.0.0/16"
via = "vpn1-t1"

[[expect]]
name = "traffic to on-premises flows after the return"
after = "the VGW returns to tunnel 1"
within = "30s"
check = "delivers"
probe = "to-onprem"
"#;

/// The BGP speaker beside charon on the customer gateway.
#[derive(Debug, Clone, Copy)]
enum Speaker {
    Frr,
    Bird,
    Gobgp,
}

/// A running BGP speaker (kept alive until the run ends).
enum Running {
    Frr(Frr),
    Bird(Bird),
    Gobgp(Gobgp),
}

impl Running {
    fn log(&self) -> String {
        match self {
            Running::Frr(f) => f.bgpd_log(),
            Running::Bird(b) => b.log(),
            Running::Gobgp(g) => g.log(),
        }
    }
}

/// Interop tests of one binary run one at a time (each is a lab with real daemons).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn strongswan_and_frr_from_cgw_config_are_the_customer_gateway() {
    customer_gateway_from_cgw_config(Speaker::Frr, LAB);
}

#[test]
fn strongswan_and_bird_from_cgw_config_are_the_customer_gateway() {
    customer_gateway_from_cgw_config(Speaker::Bird, "sctbird");
}

#[test]
fn strongswan_and_gobgp_from_cgw_config_are_the_customer_gateway() {
    customer_gateway_from_cgw_config(Speaker::Gobgp, "sctgobgp");
}

fn customer_gateway_from_cgw_config(speaker: Speaker, lab_name: &str) {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ws = Workspace::new();
    let _guard = DownOnDrop {
        ws: &ws,
        lab: lab_name.into(),
    };
    // Namespace names for the daemons' runners: the engine names them `hl-<lab>-<node>` too.
    let lab = testkit::lab::Lab::new(lab_name).unwrap();
    let file = ws.file("interop.toml", SCENARIO);
    let file = file.to_str().unwrap();
    let config = |format: &str| {
        let out = ws.run(&["cgw-config", "--format", format, file, "vpn1"]);
        assert!(out.status.success(), "{}", describe(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    // The files without keys come from the scenario; swanctl.conf, which holds the keys,
    // from the running lab below (AWS's "download configuration" of a live connection).
    let (fragment, bgp_conf) = (
        config("strongswan-conf"),
        config(match speaker {
            Speaker::Frr => "frr",
            Speaker::Bird => "bird",
            Speaker::Gobgp => "gobgp",
        }),
    );

    let json = ws.path().join("interop.json");
    let run = ws
        .command(&[
            "run",
            file,
            "--lab",
            lab_name,
            "-q",
            "--json",
            json.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(
        "the customer gateway's namespace with its outside address",
        Duration::from_secs(30),
        || {
            lab.exec("cgw1", &["ip", "-br", "addr"])
                .is_ok_and(|a| a.contains("198.51.100.1/24"))
        },
    );
    let mut swanctl = String::new();
    wait_until(
        "`hybridlab cgw-config LAB vpn1` reads the keys from the running VGW",
        Duration::from_secs(30),
        || {
            let out = ws.run(&["cgw-config", "--format", "strongswan", lab_name, "vpn1"]);
            swanctl = String::from_utf8_lossy(&out.stdout).into_owned();
            out.status.success()
        },
    );
    let from_scenario = config("strongswan");
    assert_eq!(
        swanctl, from_scenario,
        "a seeded VGW's running lab uses the keys the scenario form prints"
    );
    // In the header's order: throw routes before charon, inside addresses once it runs, then
    // the tunnels; charon with cgw-config's strongswan.conf fragment.
    let header: Vec<&str> = swanctl
        .lines()
        .filter_map(|l| l.strip_prefix("#   "))
        .collect();
    let exec = |line: &&str| {
        let args: Vec<&str> = line.split_whitespace().collect();
        lab.exec("cgw1", &args)
            .unwrap_or_else(|e| panic!("{line}: {e}"));
    };
    header
        .iter()
        .filter(|line| !line.contains("dev ipsec0"))
        .for_each(exec);
    let options = CharonOptions {
        append: fragment,
        ..CharonOptions::fast()
    };
    let sw = StrongSwan::start(&lab, "cgw1", &options).expect("charon starts");
    header
        .iter()
        .filter(|line| line.contains("dev ipsec0"))
        .for_each(exec);
    sw.load(&swanctl)
        .expect("charon loads cgw-config's swanctl.conf");
    for t in ["vpn1-t1", "vpn1-t2"] {
        sw.wait_up(t, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}\n--- charon ---\n{}", sw.log()));
    }
    let bgp = match speaker {
        Speaker::Frr => Running::Frr(
            Frr::start(&lab, "cgw1", &bgp_conf).expect("FRR starts with cgw-config's bgpd.conf"),
        ),
        Speaker::Bird => Running::Bird(
            Bird::start(&lab, "cgw1", &bgp_conf).expect("BIRD starts with cgw-config's bird.conf"),
        ),
        Speaker::Gobgp => {
            let g = Gobgp::start(&lab, "cgw1", &bgp_conf)
                .expect("gobgpd starts with cgw-config's gobgpd.toml");
            // The header's commands announce the site's networks.
            for line in bgp_conf
                .lines()
                .filter_map(|l| l.strip_prefix("#   gobgp "))
            {
                let args: Vec<&str> = line.split_whitespace().collect();
                g.cli(&lab, &args)
                    .unwrap_or_else(|e| panic!("gobgp {line}: {e}"));
            }
            Running::Gobgp(g)
        }
    };

    let out = run.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{speaker:?}: {}\n--- BGP speaker ---\n{}\n--- charon ---\n{}",
        describe(&out),
        bgp.log(),
        sw.log()
    );
    let record: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let exps = record["expectations"].as_array().unwrap();
    assert_eq!(exps.len(), 9);
    assert!(exps.iter().all(|e| e["outcome"] == "passed"), "{exps:#?}");
    drop(bgp);
    drop(sw);
    let left = leftovers(&ws, lab_name, &[], &[], &[&format!("--lab {lab_name}")]);
    assert!(left.none(), "{left:#?}");
}
