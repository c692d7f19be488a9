//! Interop with real FRR bgpd (+ zebra) in network namespaces.
//!
//! Topology of every test: two namespaces joined by a veth pair.
//!
//! ```text
//!   hl-<lab>-frr  10.0.0.1/24, 2001:db8::1/64  <== veth ==>  10.0.0.2/24, 2001:db8::2/64  hl-<lab>-hl
//!   FRR (zebra + bgpd)                                         hl-bgpd (this crate)
//! ```
//!
//! Needs root and FRR; fails (never skips) without them. Each test uses its own lab name, so the
//! tests may run in parallel; namespaces are removed when a test ends, also on failure.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{Hl, require_root_and_frr, wait};
use testkit::frr::Frr;
use testkit::lab::Lab;

const FRR_AS: u32 = 65001;
const HL_AS: u32 = 64512;

fn lab(name: &str) -> Lab {
    require_root_and_frr();
    let mut lab = Lab::new(name).unwrap();
    lab.node("frr").unwrap();
    lab.node("hl").unwrap();
    lab.link(
        "frr",
        "10.0.0.1/24,2001:db8::1/64",
        "hl",
        "10.0.0.2/24,2001:db8::2/64",
    )
    .unwrap();
    lab
}

struct Opts {
    frr_as: u32,
    hl_as: u32,
    frr_passive: bool,
    hl_passive: bool,
    frr_password: Option<&'static str>,
    hl_password: Option<&'static str>,
    hl_max_prefix: Option<u32>,
    frr_extra_networks: usize,
    kernel: bool,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            frr_as: FRR_AS,
            hl_as: HL_AS,
            frr_passive: false,
            hl_passive: false,
            frr_password: None,
            hl_password: None,
            hl_max_prefix: None,
            frr_extra_networks: 0,
            kernel: false,
        }
    }
}

fn frr_conf(o: &Opts) -> String {
    let mut extra = String::new();
    for i in 0..o.frr_extra_networks {
        extra.push_str(&format!("  network 172.16.{}.0/24\n", i));
    }
    format!(
        r#"
route-map SET permit 10
 set community 65001:100 65001:200
 set metric 42
!
router bgp {frr_as}
 bgp router-id 10.0.0.1
 no bgp ebgp-requires-policy
 no bgp network import-check
 timers bgp 1 3
 neighbor 10.0.0.2 remote-as {hl_as}
 neighbor 10.0.0.2 timers connect 1
 {passive}
 {password}
 address-family ipv4 unicast
  network 192.0.2.0/24 route-map SET
{extra} exit-address-family
 address-family ipv6 unicast
  neighbor 10.0.0.2 activate
  network 2001:db8:100::/48 route-map SET
 exit-address-family
!
"#,
        frr_as = o.frr_as,
        hl_as = o.hl_as,
        passive = if o.frr_passive {
            "neighbor 10.0.0.2 passive"
        } else {
            ""
        },
        password = o
            .frr_password
            .map(|p| format!("neighbor 10.0.0.2 password {p}"))
            .unwrap_or_default(),
    )
}

fn hl_conf(o: &Opts) -> String {
    let mut n = format!(
        r#"
asn = {hl_as}
router_id = "10.0.0.2"
timers = {{ hold_time = 3, keepalive = 1, connect_retry = 1, idle_hold = 0.5, idle_hold_max = 10 }}
listen = ["0.0.0.0:179"]
networks = [{{ prefix = "198.51.100.0/24", med = 7, communities = ["64512:1"] }}, {{ prefix = "2001:db8:200::/48" }}]
{kernel}

[[neighbor]]
address = "10.0.0.1"
remote_as = {frr_as}
name = "frr"
passive = {passive}
connect_retry = 1
next_hop_v6 = "2001:db8::2"
"#,
        hl_as = o.hl_as,
        frr_as = o.frr_as,
        passive = o.hl_passive,
        kernel = if o.kernel {
            "kernel = { table = 254 }"
        } else {
            ""
        },
    );
    if let Some(p) = o.hl_password {
        n.push_str(&format!("password = \"{p}\"\n"));
    }
    if let Some(l) = o.hl_max_prefix {
        n.push_str(&format!(
            "max_prefix = {{ limit = {l}, restart_after = 60 }}\n"
        ));
    }
    n
}

fn established(frr: &Frr, hl: &Hl) {
    wait("both sides Established", 30, || {
        let (f, h) = (frr.neighbor_state("10.0.0.2"), hl.state("10.0.0.1"));
        if f == "Established" && h == "Established" {
            Ok(())
        } else {
            Err(format!(
                "frr={f} hl={h}; hl last_down={}",
                hl.neighbor("10.0.0.1")["last_down"]
            ))
        }
    })
}

fn frr_route(frr: &Frr, afi: &str, prefix: &str) -> Value {
    frr.json(&format!("show bgp {afi} unicast {prefix} json"))
        .unwrap_or(Value::Null)
}

fn frr_has(frr: &Frr, afi: &str, prefix: &str) -> bool {
    frr_route(frr, afi, prefix)
        .get("paths")
        .and_then(Value::as_array)
        .is_some_and(|p| !p.is_empty())
}

/// Exchange in both directions, attributes carried, withdrawals both ways.
fn exchange(o: Opts, lab_name: &str) {
    let lab = lab(lab_name);
    let frr = Frr::start(&lab, "frr", &frr_conf(&o)).unwrap();
    let hl = Hl::start(&lab, "hl", &hl_conf(&o));
    established(&frr, &hl);

    // FRR -> hl: IPv4 and IPv6 with communities and MED.
    let r = wait("192.0.2.0/24 at hl", 20, || {
        let r = hl.route("192.0.2.0/24");
        if r.is_null() {
            Err("missing".to_string())
        } else {
            Ok(r)
        }
    });
    let p = &r["paths"][0];
    assert_eq!(p["as_path"], json!(o.frr_as.to_string()));
    assert_eq!(p["med"], json!(42));
    assert_eq!(p["communities"], json!(["65001:100", "65001:200"]));
    assert_eq!(p["next_hop"], json!("10.0.0.1"));
    assert_eq!(p["selected"], json!(true));
    let r6 = wait("2001:db8:100::/48 at hl", 20, || {
        let r = hl.route("2001:db8:100::/48");
        if r.is_null() {
            Err("missing".to_string())
        } else {
            Ok(r)
        }
    });
    assert_eq!(r6["paths"][0]["med"], json!(42));
    assert!(
        r6["paths"][0]["next_hop"]
            .as_str()
            .unwrap()
            .starts_with("2001:db8::1"),
        "{r6}"
    );

    // hl -> FRR.
    wait("198.51.100.0/24 at FRR", 20, || {
        if frr_has(&frr, "ipv4", "198.51.100.0/24") {
            Ok(())
        } else {
            Err("missing".into())
        }
    });
    let fr = frr_route(&frr, "ipv4", "198.51.100.0/24");
    let path = &fr["paths"][0];
    assert_eq!(path["aspath"]["string"], json!(o.hl_as.to_string()), "{fr}");
    assert_eq!(path["metric"], json!(7), "{fr}");
    assert_eq!(path["community"]["string"], json!("64512:1"), "{fr}");
    assert_eq!(path["nexthops"][0]["ip"], json!("10.0.0.2"), "{fr}");
    wait("2001:db8:200::/48 at FRR", 20, || {
        if frr_has(&frr, "ipv6", "2001:db8:200::/48") {
            Ok(())
        } else {
            Err("missing".into())
        }
    });
    let fr6 = frr_route(&frr, "ipv6", "2001:db8:200::/48");
    assert_eq!(
        fr6["paths"][0]["nexthops"][0]["ip"],
        json!("2001:db8::2"),
        "{fr6}"
    );

    // Withdraw at FRR -> gone at hl.
    frr.configure(&[
        "router bgp 65001",
        "address-family ipv4 unicast",
        "no network 192.0.2.0/24 route-map SET",
    ])
    .or_else(|_| {
        frr.configure(&[
            &format!("router bgp {}", o.frr_as),
            "address-family ipv4 unicast",
            "no network 192.0.2.0/24",
        ])
    })
    .unwrap();
    wait("192.0.2.0/24 withdrawn at hl", 20, || {
        if hl.route("192.0.2.0/24").is_null() {
            Ok(())
        } else {
            Err("still there".into())
        }
    });
    // Withdraw at hl -> gone at FRR.
    let r = hl
        .action(json!({"kind": "withdraw", "prefixes": ["198.51.100.0/24", "2001:db8:200::/48"]}));
    assert_eq!(r["result"], json!("ok"), "{r}");
    wait("198.51.100.0/24 withdrawn at FRR", 20, || {
        if !frr_has(&frr, "ipv4", "198.51.100.0/24") && !frr_has(&frr, "ipv6", "2001:db8:200::/48")
        {
            Ok(())
        } else {
            Err("still there".into())
        }
    });
    // The IPv6 route from FRR is still there: withdrawals were per prefix.
    assert!(!hl.route("2001:db8:100::/48").is_null());
}

#[test]
fn frr_connects_to_passive_hl_ipv4_ipv6_exchange_and_withdraw() {
    exchange(
        Opts {
            hl_passive: true,
            ..Default::default()
        },
        "bgpi-passive",
    );
}

#[test]
fn hl_connects_to_passive_frr_ipv4_ipv6_exchange_and_withdraw() {
    exchange(
        Opts {
            frr_passive: true,
            ..Default::default()
        },
        "bgpi-active",
    );
}

#[test]
fn four_octet_asns_both_ways() {
    exchange(
        Opts {
            frr_as: 4_200_000_001,
            hl_as: 4_200_000_002,
            ..Default::default()
        },
        "bgpi-as4",
    );
}

#[test]
fn route_refresh_both_directions() {
    let o = Opts::default();
    let lab = lab("bgpi-refresh");
    let frr = Frr::start(&lab, "frr", &frr_conf(&o)).unwrap();
    let hl = Hl::start(&lab, "hl", &hl_conf(&o));
    established(&frr, &hl);
    wait("routes at FRR", 20, || {
        if frr_has(&frr, "ipv4", "198.51.100.0/24") {
            Ok(())
        } else {
            Err("missing".into())
        }
    });
    let counter = |name: &str| -> u64 {
        let n = frr.neighbor("10.0.0.2").unwrap();
        n["messageStats"][name].as_u64().unwrap_or(0)
    };
    // hl asks FRR: FRR counts a received route refresh.
    let before = counter("routeRefreshRecv");
    let r = hl.action(json!({"kind": "route_refresh", "neighbor": "10.0.0.1", "family": "ipv4"}));
    assert_eq!(r["result"], json!("ok"), "{r}");
    wait("FRR received ROUTE-REFRESH", 20, || {
        let now = counter("routeRefreshRecv");
        if now > before {
            Ok(())
        } else {
            Err(format!("routeRefreshRecv {now}"))
        }
    });
    // FRR asks hl (clear soft in): hl re-sends its routes, FRR counts more UPDATEs.
    let updates_before = counter("updatesRecv");
    frr.vtysh(&["clear bgp ipv4 unicast 10.0.0.2 soft in"])
        .unwrap();
    wait("hl answered FRR's ROUTE-REFRESH with UPDATEs", 20, || {
        let now = counter("updatesRecv");
        if now > updates_before {
            Ok(())
        } else {
            Err(format!("updatesRecv {now}"))
        }
    });
    assert_eq!(
        hl.state("10.0.0.1"),
        "Established",
        "refresh must not reset the session"
    );
}

fn stop(pid: u32) {
    assert!(
        std::process::Command::new("kill")
            .args(["-STOP", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
}

fn cont(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-CONT", &pid.to_string()])
        .status();
}

#[test]
fn hold_timer_expiry_detected_by_hl_when_frr_freezes() {
    let o = Opts::default();
    let lab = lab("bgpi-hold-hl");
    let frr = Frr::start(&lab, "frr", &frr_conf(&o)).unwrap();
    let hl = Hl::start(&lab, "hl", &hl_conf(&o));
    established(&frr, &hl);
    wait("route from FRR", 20, || {
        if hl.route("192.0.2.0/24").is_null() {
            Err("missing".into())
        } else {
            Ok(())
        }
    });
    stop(frr.bgpd_pid());
    let n = wait("hl detects hold timer expiry", 15, || {
        let n = hl.neighbor("10.0.0.1");
        if n["last_down"]["kind"] == "hold_timer_expired" {
            Ok(n)
        } else {
            Err(format!("{n}"))
        }
    });
    assert_ne!(n["state"], json!("Established"));
    assert!(
        hl.route("192.0.2.0/24").is_null(),
        "routes of a dead session are withdrawn"
    );
    cont(frr.bgpd_pid());
}

#[test]
fn hold_timer_expiry_detected_by_frr_when_hl_freezes() {
    let o = Opts::default();
    let lab = lab("bgpi-hold-frr");
    let frr = Frr::start(&lab, "frr", &frr_conf(&o)).unwrap();
    let hl = Hl::start(&lab, "hl", &hl_conf(&o));
    established(&frr, &hl);
    stop(hl.pid());
    let reason = wait("FRR detects hold timer expiry", 15, || {
        let n = frr.neighbor("10.0.0.2").unwrap();
        let reason = format!("{} {}", n["lastResetDueTo"], n["lastNotificationReason"]);
        if n["bgpState"] != "Established" && reason.contains("Hold Timer Expired") {
            Ok(reason)
        } else {
            Err(format!("{} {reason}", n["bgpState"]))
        }
    });
    assert!(reason.contains("Hold Timer Expired"));
    cont(hl.pid());
}

#[test]
fn md5_matching_passwords_establish() {
    let o = Opts {
        frr_password: Some("s3cret-key"),
        hl_password: Some("s3cret-key"),
        ..Default::default()
    };
    let lab = lab("bgpi-md5-ok");
    let frr = Frr::start(&lab, "frr", &frr_conf(&o)).unwrap();
    let hl = Hl::start(&lab, "hl", &hl_conf(&o));
    established(&frr, &hl);
    assert!(
        !hl.log().contains("s3cret-key"),
        "the password must never reach the log"
    );
    let shown = hl.show("neighbors", json!({})).to_string();
    assert!(!shown.contains("s3cret-key"));
}

#[test]
fn md5_mismatch_gives_no_session_and_a_clear_log() {
    let o = Opts {
        frr_password: Some("frr-side"),
        hl_password: Some("hl-side"),
        ..Default::default()
    };
    let lab = lab("bgpi-md5-bad");
    let frr = Frr::start(&lab, "frr", &frr_conf(&o)).unwrap();
    let hl = Hl::start(&lab, "hl", &hl_conf(&o));
    // Give both sides several connect attempts (connect retry 1 s) to prove nothing comes up.
    let deadline = std::time::Instant::now() + Duration::from_secs(8);
    while std::time::Instant::now() < deadline {
        assert_ne!(
            hl.state("10.0.0.1"),
            "Established",
            "a session with mismatched MD5 keys"
        );
        assert_ne!(frr.neighbor_state("10.0.0.2"), "Established");
        std::thread::sleep(Duration::from_millis(500));
    }
    let log = wait("hl logs the MD5 hint", 10, || {
        let log = hl.log();
        if log.contains("TCP MD5") {
            Ok(log)
        } else {
            Err("no hint yet".into())
        }
    });
    assert!(log.contains("TCP MD5"), "{log}");
    assert!(
        !log.contains("hl-side") && !log.contains("frr-side"),
        "passwords in the log"
    );
    let n = hl.neighbor("10.0.0.1");
    assert!(
        n["last_connect_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{n}"
    );
}

#[test]
fn max_prefix_101_of_100_ceases_with_6_1_and_frr_reports_it() {
    let o = Opts {
        hl_max_prefix: Some(100),
        frr_extra_networks: 100,
        ..Default::default()
    };
    let lab = lab("bgpi-maxpfx");
    let hl = Hl::start(&lab, "hl", &hl_conf(&o));
    let events = hl.events();
    let frr = Frr::start(&lab, "frr", &frr_conf(&o)).unwrap();
    // FRR announces 101 IPv4 prefixes (192.0.2.0/24 plus 100 more): hl sends Cease/1 and goes Idle.
    let reason = wait(
        "FRR reports Cease/Maximum Number of Prefixes Reached",
        30,
        || {
            let n = frr.neighbor("10.0.0.2").unwrap();
            let r = format!("{} {}", n["lastResetDueTo"], n["lastNotificationReason"]);
            if r.contains("Maximum Number of Prefixes Reached") {
                Ok(r)
            } else {
                Err(r)
            }
        },
    );
    assert!(reason.contains("Cease"), "{reason}");
    let n = hl.neighbor("10.0.0.1");
    assert_eq!(n["last_down"]["code"], json!(6), "{n}");
    assert_eq!(n["last_down"]["subcode"], json!(1), "{n}");
    assert_ne!(n["state"], json!("Established"));
    assert!(
        hl.route("192.0.2.0/24").is_null(),
        "the session's routes are withdrawn"
    );
    // The control socket streamed the story: max-prefix, then down with Cease/1.
    let mut seen: Vec<Value> = Vec::new();
    wait("bgp.max_prefix and bgp.down events", 10, || {
        seen.extend(events.try_iter());
        let kinds = |k: &str| seen.iter().any(|e| e["kind"] == k);
        if kinds("bgp.max_prefix") && kinds("bgp.down") {
            Ok(())
        } else {
            Err(format!("{} events", seen.len()))
        }
    });
    let mp = seen
        .iter()
        .find(|e| e["kind"] == "bgp.max_prefix")
        .unwrap_or_else(|| panic!("{seen:?}"));
    assert_eq!(mp["data"]["limit"], json!(100));
    assert_eq!(mp["data"]["count"], json!(101));
    assert!(mp["t_ns"].as_u64().is_some_and(|t| t > 0));
    let down = seen
        .iter()
        .find(|e| e["kind"] == "bgp.down")
        .unwrap_or_else(|| panic!("{seen:?}"));
    assert_eq!(down["data"]["reason"]["code"], json!(6), "{down}");
    assert_eq!(down["data"]["reason"]["subcode"], json!(1), "{down}");
    assert_eq!(down["node"], json!("hl"));
    // Stays down for the configured 60 s restart time, not the short backoff.
    std::thread::sleep(Duration::from_secs(3));
    assert_ne!(hl.state("10.0.0.1"), "Established");
}

#[test]
fn kernel_install_and_removal() {
    let o = Opts {
        kernel: true,
        ..Default::default()
    };
    let lab = lab("bgpi-kernel");
    let frr = Frr::start(&lab, "frr", &frr_conf(&o)).unwrap();
    let hl = Hl::start(&lab, "hl", &hl_conf(&o));
    established(&frr, &hl);
    wait("kernel route with protocol bgp", 20, || {
        let out = lab
            .exec("hl", &["ip", "route", "show", "proto", "bgp"])
            .map_err(|e| e.to_string())?;
        if out.contains("192.0.2.0/24 via 10.0.0.1") {
            Ok(())
        } else {
            Err(out)
        }
    });
    wait("IPv6 kernel route", 20, || {
        let out = lab
            .exec("hl", &["ip", "-6", "route", "show", "proto", "bgp"])
            .map_err(|e| e.to_string())?;
        if out.contains("2001:db8:100::/48 via 2001:db8::1") {
            Ok(())
        } else {
            Err(out)
        }
    });
    frr.configure(&[
        "router bgp 65001",
        "address-family ipv4 unicast",
        "no network 192.0.2.0/24",
    ])
    .unwrap();
    wait("kernel route removed", 20, || {
        let out = lab
            .exec("hl", &["ip", "route", "show", "proto", "bgp"])
            .map_err(|e| e.to_string())?;
        if out.contains("192.0.2.0/24") {
            Err(out)
        } else {
            Ok(())
        }
    });
}

#[test]
fn ecmp_from_two_frr_peers_is_a_multipath_kernel_route() {
    require_root_and_frr();
    let mut lab = Lab::new("bgpi-ecmp").unwrap();
    for n in ["frr1", "frr2", "hl"] {
        lab.node(n).unwrap();
    }
    lab.link("frr1", "10.0.1.1/24", "hl", "10.0.1.2/24")
        .unwrap();
    lab.link("frr2", "10.0.2.1/24", "hl", "10.0.2.2/24")
        .unwrap();
    let conf = |id: u8| {
        format!(
            "router bgp 65001\n bgp router-id 10.0.{id}.1\n no bgp ebgp-requires-policy\n no bgp network import-check\n \
             timers bgp 1 3\n neighbor 10.0.{id}.2 remote-as 64512\n neighbor 10.0.{id}.2 timers connect 1\n \
             address-family ipv4 unicast\n  network 192.0.2.0/24\n exit-address-family\n"
        )
    };
    let frr1 = Frr::start(&lab, "frr1", &conf(1)).unwrap();
    let mut frr2 = Some(Frr::start(&lab, "frr2", &conf(2)).unwrap());
    let hl = Hl::start(
        &lab,
        "hl",
        r#"
asn = 64512
router_id = "10.0.0.2"
timers = { hold_time = 3, keepalive = 1, connect_retry = 1, idle_hold = 0.5, idle_hold_max = 10 }
listen = ["0.0.0.0:179"]
max_paths = 4
kernel = { table = 254 }
[[neighbor]]
address = "10.0.1.1"
remote_as = 65001
[[neighbor]]
address = "10.0.2.1"
remote_as = 65001
"#,
    );
    let route = || {
        lab.exec("hl", &["ip", "route", "show", "192.0.2.0/24"])
            .unwrap_or_default()
    };
    wait("multipath route via both FRRs", 30, || {
        let r = route();
        if r.contains("proto bgp")
            && r.contains("nexthop via 10.0.1.1")
            && r.contains("nexthop via 10.0.2.1")
        {
            Ok(())
        } else {
            Err(r)
        }
    });
    let shown = hl.route("192.0.2.0/24");
    let selected = shown["paths"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["selected"] == json!(true))
        .count();
    assert_eq!(selected, 2, "{shown}");
    // One FRR goes away: the route falls back to a single next hop.
    drop(frr2.take());
    wait("single path after frr2 is gone", 30, || {
        let r = route();
        if r.contains("via 10.0.1.1") && !r.contains("10.0.2.1") {
            Ok(())
        } else {
            Err(r)
        }
    });
    assert_eq!(frr1.neighbor_state("10.0.1.2"), "Established");
}

#[test]
fn ebgp_ttl_one_cannot_cross_a_router_and_multihop_two_can() {
    require_root_and_frr();
    let mut lab = Lab::new("bgpi-ttl").unwrap();
    for n in ["hl", "r", "frr"] {
        lab.node(n).unwrap();
    }
    lab.link("hl", "10.0.1.2/24", "r", "10.0.1.1/24").unwrap();
    lab.link("r", "10.0.2.1/24", "frr", "10.0.2.2/24").unwrap();
    lab.exec("r", &["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        .unwrap();
    lab.exec(
        "hl",
        &["ip", "route", "add", "10.0.2.0/24", "via", "10.0.1.1"],
    )
    .unwrap();
    lab.exec(
        "frr",
        &["ip", "route", "add", "10.0.1.0/24", "via", "10.0.2.1"],
    )
    .unwrap();
    let frr = Frr::start(
        &lab,
        "frr",
        "router bgp 65001\n bgp router-id 10.0.2.2\n no bgp ebgp-requires-policy\n timers bgp 1 3\n \
         neighbor 10.0.1.2 remote-as 64512\n neighbor 10.0.1.2 ebgp-multihop 2\n neighbor 10.0.1.2 passive\n",
    )
    .unwrap();
    let conf = |multihop: &str| {
        format!(
            "asn = 64512\nrouter_id = \"10.0.1.2\"\ntimers = {{ hold_time = 3, keepalive = 1, connect_retry = 1, idle_hold = 0.5, idle_hold_max = 10 }}\nlisten = []\n\
             [[neighbor]]\naddress = \"10.0.2.2\"\nremote_as = 65001\nconnect_retry = 1\n{multihop}\n"
        )
    };
    {
        // Default eBGP TTL 1: the router drops our SYNs, no session however long we try.
        let hl = Hl::start(&lab, "hl", &conf(""));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            assert_ne!(
                hl.state("10.0.2.2"),
                "Established",
                "TTL 1 crossed a router"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        assert_ne!(frr.neighbor_state("10.0.1.2"), "Established");
    }
    let hl = Hl::start(&lab, "hl", &conf("ebgp_multihop = 2"));
    established_at(&frr, &hl, "10.0.1.2", "10.0.2.2");
}

fn established_at(frr: &Frr, hl: &Hl, frr_sees: &str, hl_sees: &str) {
    wait("both sides Established", 30, || {
        let (f, h) = (frr.neighbor_state(frr_sees), hl.state(hl_sees));
        if f == "Established" && h == "Established" {
            Ok(())
        } else {
            Err(format!("frr={f} hl={h}"))
        }
    })
}

#[test]
fn ipv6_transport_session_like_a_direct_connect_ipv6_peering() {
    let lab = lab("bgpi-v6");
    let frr = Frr::start(
        &lab,
        "frr",
        "router bgp 65001\n bgp router-id 10.0.0.1\n no bgp ebgp-requires-policy\n no bgp network import-check\n \
         timers bgp 1 3\n neighbor 2001:db8::2 remote-as 64512\n neighbor 2001:db8::2 timers connect 1\n \
         neighbor 2001:db8::2 password v6-key\n \
         address-family ipv6 unicast\n  neighbor 2001:db8::2 activate\n  network 2001:db8:100::/48\n exit-address-family\n",
    )
    .unwrap();
    let hl = Hl::start(
        &lab,
        "hl",
        r#"
asn = 64512
router_id = "10.0.0.2"
timers = { hold_time = 3, keepalive = 1, connect_retry = 1, idle_hold = 0.5, idle_hold_max = 10 }
listen = ["[::]:179"]
networks = [{ prefix = "2001:db8:200::/48" }]
[[neighbor]]
address = "2001:db8::1"
remote_as = 65001
families = ["ipv6-unicast"]
password = "v6-key"
connect_retry = 1
"#,
    );
    wait("IPv6 session Established", 30, || {
        let (f, h) = (frr.neighbor_state("2001:db8::2"), hl.state("2001:db8::1"));
        if f == "Established" && h == "Established" {
            Ok(())
        } else {
            Err(format!("frr={f} hl={h}"))
        }
    });
    let r = wait("2001:db8:100::/48 at hl", 20, || {
        let r = hl.route("2001:db8:100::/48");
        if r.is_null() {
            Err("missing".to_string())
        } else {
            Ok(r)
        }
    });
    assert!(
        r["paths"][0]["next_hop"]
            .as_str()
            .unwrap()
            .starts_with("2001:db8::1"),
        "{r}"
    );
    wait("2001:db8:200::/48 at FRR", 20, || {
        if frr_has(&frr, "ipv6", "2001:db8:200::/48") {
            Ok(())
        } else {
            Err("missing".into())
        }
    });
    let fr = frr_route(&frr, "ipv6", "2001:db8:200::/48");
    assert_eq!(
        fr["paths"][0]["nexthops"][0]["ip"],
        json!("2001:db8::2"),
        "{fr}"
    );
    assert_eq!(
        hl.neighbor("2001:db8::1")["families"],
        json!(["ipv6-unicast"])
    );
}

#[test]
fn graceful_restart_helper_keeps_routes_while_frr_restarts() {
    let lab = lab("bgpi-gr");
    let conf = "router bgp 65001\n bgp router-id 10.0.0.1\n no bgp ebgp-requires-policy\n no bgp network import-check\n \
                timers bgp 1 3\n bgp graceful-restart\n bgp graceful-restart preserve-fw-state\n \
                bgp graceful-restart restart-time 30\n neighbor 10.0.0.2 remote-as 64512\n neighbor 10.0.0.2 timers connect 1\n \
                address-family ipv4 unicast\n  network 192.0.2.0/24\n  network 198.18.0.0/15\n exit-address-family\n";
    let frr = Frr::start(&lab, "frr", conf).unwrap();
    let hl = Hl::start(
        &lab,
        "hl",
        "asn = 64512\nrouter_id = \"10.0.0.2\"\ntimers = { hold_time = 3, keepalive = 1, connect_retry = 1, idle_hold = 0.5, idle_hold_max = 10 }\nlisten = [\"0.0.0.0:179\"]\n\
         [[neighbor]]\naddress = \"10.0.0.1\"\nremote_as = 65001\nconnect_retry = 1\n",
    );
    established(&frr, &hl);
    wait("routes at hl", 20, || {
        if hl.route("198.18.0.0/15").is_null() {
            Err("missing".into())
        } else {
            Ok(())
        }
    });
    // FRR dies without a NOTIFICATION (its sockets are reset by the kernel): we keep its routes.
    drop(frr);
    wait("session down, routes kept as stale", 20, || {
        let n = hl.neighbor("10.0.0.1");
        let r = hl.route("198.18.0.0/15");
        if n["state"] != "Established" && r["paths"][0]["stale"] == json!(true) {
            Ok(())
        } else {
            Err(format!("{} {r}", n["state"]))
        }
    });
    // FRR comes back announcing only 192.0.2.0/24: after its End-of-RIB the stale 198.18.0.0/15
    // is swept and the refreshed route is no longer stale.
    let conf2 = conf.replace("  network 198.18.0.0/15\n", "");
    let frr = Frr::start(&lab, "frr", &conf2).unwrap();
    established(&frr, &hl);
    wait("stale route swept after End-of-RIB", 30, || {
        let gone = hl.route("198.18.0.0/15").is_null();
        let kept = hl.route("192.0.2.0/24");
        if gone && kept["paths"][0]["stale"] == json!(false) {
            Ok(())
        } else {
            Err(format!("gone={gone} {kept}"))
        }
    });
}

#[test]
fn sigterm_ends_sessions_with_administrative_shutdown() {
    let o = Opts::default();
    let lab = lab("bgpi-sigterm");
    let frr = Frr::start(&lab, "frr", &frr_conf(&o)).unwrap();
    let hl = Hl::start(&lab, "hl", &hl_conf(&o));
    established(&frr, &hl);
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &hl.pid().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let reason = wait("FRR reports Cease/Administrative Shutdown", 15, || {
        let n = frr.neighbor("10.0.0.2").unwrap();
        let r = format!(
            "{} {} {}",
            n["lastResetDueTo"], n["lastNotificationReason"], n["lastShutdownDescription"]
        );
        if r.contains("Administrative Shutdown") {
            Ok(r)
        } else {
            Err(r)
        }
    });
    assert!(reason.contains("Cease"), "{reason}");
}
