//! A VPN lab for the gateway tests: a VPC (router + host), the `vgw`, an internet router, and
//! customer gateways with a host behind each, in namespaces; the daemons run as real processes
//! (`hl-vgw`, `hl-cgw`) with control sockets the tests query.
//!
//! ```text
//!  vpchost 10.0.1.10 -- vpc 10.0.1.1 | 10.255.0.2 -- 10.255.0.1 vgw 203.0.113.x -- inet
//!  inet -- 198.51.100.1x cgwN 192.168.N.1 -- hostN 192.168.N.10
//! ```
//!
//! As in a scenario, the VGW has no default route in its main table (its tunnels reach the
//! internet router through the underlay table the daemon installs, `underlay_gateway`); each
//! customer gateway has its own default route to the internet router and the same underlay.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use cgw::config::{CgwConfig, TunnelMode};
use engine::model::timing::Profile;
use ipnet::Ipv4Net;
use serde_json::Value;
use testkit::lab::Lab;
use testkit::wait_for;
use vgw::config::{Routing, VgwConfig, VgwConnection, VgwTunnel, VpcConfig};

pub const PSK: &str = "emulated.psk_for_tests1";

/// One customer site.
pub struct Site {
    pub node: String,
    pub asn: u32,
    pub routing: Routing,
    pub prefix: Ipv4Net,
    pub outside: Ipv4Addr,
}

pub struct VpnLab {
    pub lab: Lab,
    pub dir: tempfile::TempDir,
    pub vgw: VgwConfig,
    pub cgws: Vec<CgwConfig>,
    children: Vec<Child>,
}

impl VpnLab {
    /// Builds the namespaces and links for `sites` (each gets one VPN connection).
    pub fn new(name: &str, sites: &[Site]) -> VpnLab {
        let mut lab = Lab::new(name).unwrap();
        for n in ["vpchost", "vpc", "vgw", "inet"] {
            lab.node(n).unwrap();
        }
        lab.link("vpchost", "10.0.1.10/24", "vpc", "10.0.1.1/24")
            .unwrap();
        lab.link("vpc", "10.255.0.2/30", "vgw", "10.255.0.1/30")
            .unwrap();
        let mut vgw_outside = Vec::new();
        for i in 0..sites.len() * 2 {
            vgw_outside.push(format!("203.0.113.{}/24", i + 1));
        }
        lab.link("vgw", &vgw_outside.join(","), "inet", "203.0.113.254/24")
            .unwrap();
        for s in sites {
            lab.node(&s.node).unwrap();
            let host = format!("h{}", s.node);
            lab.node(&host).unwrap();
            lab.link(&s.node, &format!("{}/24", s.outside), "inet", "")
                .unwrap();
            let gw = Ipv4Addr::from(u32::from(s.outside) & 0xffff_ff00 | 254);
            // The inet side of each customer link gets the .254 of that customer's /24.
            lab.exec(
                "inet",
                &[
                    "ip",
                    "addr",
                    "add",
                    &format!("{gw}/24"),
                    "dev",
                    &format!("to-{}", s.node),
                ],
            )
            .unwrap();
            lab.exec(
                &s.node,
                &["ip", "route", "add", "default", "via", &gw.to_string()],
            )
            .unwrap();
            let first = Ipv4Addr::from(u32::from(s.prefix.network()) + 1);
            let hostaddr = Ipv4Addr::from(u32::from(s.prefix.network()) + 10);
            lab.link(
                &host,
                &format!("{hostaddr}/{}", s.prefix.prefix_len()),
                &s.node,
                &format!("{first}/{}", s.prefix.prefix_len()),
            )
            .unwrap();
            lab.exec(
                &host,
                &["ip", "route", "add", "default", "via", &first.to_string()],
            )
            .unwrap();
        }
        lab.exec(
            "vpchost",
            &["ip", "route", "add", "default", "via", "10.0.1.1"],
        )
        .unwrap();
        for n in ["vpc", "vgw", "inet"]
            .into_iter()
            .map(String::from)
            .chain(sites.iter().map(|s| s.node.clone()))
        {
            lab.exec(&n, &["sysctl", "-qw", "net.ipv4.ip_forward=1"])
                .unwrap();
        }

        let mut connections = Vec::new();
        for (i, s) in sites.iter().enumerate() {
            connections.push(VgwConnection {
                name: format!("vpn{}", i + 1),
                routing: s.routing,
                customer_asn: Some(s.asn),
                static_routes: match s.routing {
                    Routing::Static => vec![s.prefix],
                    Routing::Dynamic => Vec::new(),
                },
                tunnels: (0..2)
                    .map(|t| VgwTunnel {
                        outside_ip: Ipv4Addr::new(203, 0, 113, (i * 2 + t + 1) as u8),
                        customer_ip: s.outside,
                        inside_cidr: format!("169.254.{}.{}/30", 10 + i, t * 4).parse().unwrap(),
                        pre_shared_key: vgw::psk::Psk::new(PSK).unwrap(),
                        options: Default::default(),
                    })
                    .collect(),
            });
        }
        let vgw = VgwConfig {
            name: "vgw".into(),
            amazon_side_asn: 64512,
            profile: Profile::Fast,
            seed: 1,
            router_id: None,
            underlay_gateway: Some("203.0.113.254".parse().unwrap()),
            vpc_cidrs: vec!["10.0.0.0/16".parse().unwrap()],
            vpc: Some(VpcConfig {
                netns: PathBuf::from(format!("/run/netns/{}", lab.ns("vpc"))),
                vgw_address: "10.255.0.1".parse().unwrap(),
                router_address: "10.255.0.2".parse().unwrap(),
                propagation: true,
                table: 254,
                static_routes: Vec::new(),
            }),
            connections,
            direct_connect: Vec::new(),
            inside_cidrs_per_connection: false,
        };
        vgw.validate().unwrap();
        let cgws = sites
            .iter()
            .enumerate()
            .map(|(i, s)| CgwConfig {
                name: s.node.clone(),
                asn: s.asn,
                profile: Profile::Fast,
                router_id: None,
                underlay_gateway: Some(Ipv4Addr::from(u32::from(s.outside) & 0xffff_ff00 | 254)),
                bind_address: None,
                advertise: match s.routing {
                    Routing::Dynamic => vec![s.prefix],
                    Routing::Static => Vec::new(),
                },
                mode: TunnelMode::ActiveActive,
                connections: vec![vgw::plan::customer_view(&vgw, &vgw.connections[i])],
            })
            .collect();
        VpnLab {
            lab,
            dir: tempfile::tempdir().unwrap(),
            vgw,
            cgws,
            children: Vec::new(),
        }
    }

    pub fn socket(&self, node: &str) -> PathBuf {
        self.dir.path().join(format!("{node}.sock"))
    }

    /// Starts `hybridlab daemon KIND` for `node` with `config` (the TOML file the daemon reads)
    /// and its start file, as a scenario's kind does.
    fn spawn_daemon(&mut self, node: &str, kind: &str, config: &str) {
        let cfg = self.dir.path().join(format!("{node}.toml"));
        std::fs::write(&cfg, config).unwrap();
        let start = self.dir.path().join(format!("{node}.json"));
        let start_file = gateway::daemon::StartFile {
            config: cfg.clone(),
            control: self.socket(node),
        };
        std::fs::write(&start, serde_json::to_string(&start_file).unwrap()).unwrap();
        let log = self.dir.path().join(format!("{node}.log"));
        let child = self
            .lab
            .spawn(
                node,
                env!("CARGO_BIN_EXE_hybridlab"),
                &["daemon", kind, "--config", start.to_str().unwrap()],
                &log,
            )
            .unwrap();
        self.children.push(child);
    }

    /// Starts the VGW daemon only.
    pub fn start_vgw(&mut self) {
        let vgw = self.vgw.to_toml_with_keys();
        self.spawn_daemon("vgw", "vgw", &vgw);
    }

    /// Starts the VGW daemon and every customer gateway daemon.
    pub fn start(&mut self) {
        self.start_vgw();
        for c in self.cgws.clone() {
            let text = c.to_toml_with_keys();
            self.spawn_daemon(&c.name, "cgw", &text);
        }
    }

    pub fn log(&self, node: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{node}.log"))).unwrap_or_default()
    }

    /// `show <what>` on a daemon's control socket.
    pub fn show(&self, node: &str, what: &str) -> Result<Value, String> {
        let path = self.socket(node);
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

    /// Names of the node's tunnels that are UP with BGP Established (or static).
    pub fn tunnels_up(&self, node: &str) -> Result<Vec<String>, String> {
        let v = self.show(node, "tunnels")?;
        Ok(v.as_array()
            .ok_or("not an array")?
            .iter()
            .filter(|t| {
                t["status"] == "UP" && (t["bgp"].is_null() || t["bgp"]["state"] == "Established")
            })
            .map(|t| t["name"].as_str().unwrap_or_default().to_string())
            .collect())
    }

    pub fn wait_tunnels_up(&self, node: &str, n: usize, timeout: Duration) {
        wait_for(
            &format!("{n} tunnels of {node} up with BGP established"),
            timeout,
            Duration::from_millis(100),
            || match self.tunnels_up(node) {
                Ok(v) if v.len() >= n => Ok(v),
                Ok(v) => Err(format!("{v:?}")),
                Err(e) => Err(e),
            },
        )
        .unwrap_or_else(|e| {
            panic!(
                "{e}\n--- vgw log ---\n{}\n--- {node} log ---\n{}",
                self.log("vgw"),
                self.log(node)
            )
        });
    }

    /// `ip route show <prefix>` in a node.
    pub fn route(&self, node: &str, prefix: &str) -> String {
        self.lab
            .exec(node, &["ip", "-4", "route", "show", prefix])
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// A TCP exchange (iperf3, 1 s) from `from` to `to_addr`, served in `server`.
    pub fn tcp_works(&self, server: &str, to_addr: &str, from: &str) -> Result<f64, String> {
        let log = self.dir.path().join(format!("iperf3-{server}.log"));
        let mut s = self
            .lab
            .spawn(
                server,
                "iperf3",
                &["-s", "-1", "--forceflush", "-B", to_addr],
                &log,
            )
            .map_err(|e| e.to_string())?;
        let ready = wait_for(
            "iperf3 listening",
            Duration::from_secs(5),
            Duration::from_millis(20),
            || {
                let t = std::fs::read_to_string(&log).unwrap_or_default();
                if t.contains("Server listening") {
                    Ok(())
                } else {
                    Err(t)
                }
            },
        );
        let result = ready.map_err(|e| e.to_string()).and_then(|_| {
            let out = self
                .lab
                .exec(
                    from,
                    &[
                        "iperf3",
                        "-c",
                        to_addr,
                        "-t",
                        "1",
                        "-J",
                        "--connect-timeout",
                        "2000",
                    ],
                )
                .map_err(|e| e.to_string())?;
            let v: Value = serde_json::from_str(&out).map_err(|e| e.to_string())?;
            v["end"]["sum_received"]["bits_per_second"]
                .as_f64()
                .ok_or(out)
        });
        testkit::lab::kill(&mut s);
        result
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for VpnLab {
    fn drop(&mut self) {
        for c in &mut self.children {
            testkit::lab::kill(c);
        }
    }
}
