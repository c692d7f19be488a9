//! The AWS-shaped API (`hybridlab run --api`) driven by the real boto3 and aws CLI from PyPI
//! (`tests/aws_api/drive.py`, in the venv `scripts/test` makes; `HYBRIDLAB_PYTHON` names its
//! interpreter), each answer checked against botocore's own service models:
//!
//! - VPN: every read call validates; after the timeline cuts tunnel 1, `aws ec2
//!   describe-vpn-connections` shows it DOWN and tunnel 2 UP within the detection time; a
//!   wrong secret gets AuthFailure, an unknown id InvalidVpnConnectionID.NotFound, an unknown
//!   action InvalidAction, a bad parameter InvalidParameterValue.
//! - Static: `aws ec2 create-vpn-connection-route` on a static VPN that has no route makes the
//!   VGW route over it and traffic flow (the run's own expectations wait for it); the same
//!   call with a wrong secret changed nothing.
//! - Transit Gateway: the describe calls, and route tables changed through the API
//!   (Create/Replace/DeleteTransitGatewayRoute, Enable/DisableTransitGatewayRouteTablePropagation).
//! - Direct Connect: `aws directconnect start-bgp-failover-test` takes the VIF's BGP (both
//!   sessions) down and traffic moves to the VPN backup (the run's expectations).
//!
//! Each run ends by itself when its expectations are met; the test asserts that it passed
//! and left nothing behind.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::Workspace;
use serde_json::Value;

fn python() -> String {
    std::env::var("HYBRIDLAB_PYTHON").unwrap_or_else(|_| {
        let venv = std::env::var("HOME").unwrap_or_else(|_| "/root".into())
            + "/.cache/hybridlab/venv/bin/python";
        assert!(
            std::path::Path::new(&venv).exists(),
            "no Python with boto3 and awscli at {venv}: run scripts/test (it makes the venv), or set HYBRIDLAB_PYTHON"
        );
        venv
    })
}

/// A running `hybridlab run FILE --api 127.0.0.1:0`, its api.json once it exists.
struct ApiRun {
    child: Child,
    api_json: PathBuf,
}

impl ApiRun {
    fn start(ws: &Workspace, file: &std::path::Path, lab: &str) -> ApiRun {
        let out = std::fs::File::create(ws.path().join(format!("{lab}.out"))).unwrap();
        let err = std::fs::File::create(ws.path().join(format!("{lab}.err"))).unwrap();
        let child = ws
            .command(&[
                "run",
                file.to_str().unwrap(),
                "--lab",
                lab,
                "--api",
                "127.0.0.1:0",
            ])
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap();
        let api_json = ws.state().join(lab).join("api.json");
        testkit::wait_for(
            "the lab's api.json",
            Duration::from_secs(60),
            Duration::from_millis(100),
            || {
                if api_json.exists() {
                    Ok(())
                } else {
                    Err(
                        std::fs::read_to_string(ws.path().join(format!("{lab}.err")))
                            .unwrap_or_default(),
                    )
                }
            },
        )
        .unwrap();
        ApiRun { child, api_json }
    }

    /// Runs a flow of drive.py; its JSON line.
    fn drive(&self, flow: &str) -> Value {
        drive(&self.api_json, &[flow])
    }

    /// Waits for the run to end; its exit code and stdout.
    fn finish(mut self, ws: &Workspace, lab: &str) -> (Option<i32>, String) {
        let status = self.child.wait().unwrap();
        let stdout = std::fs::read_to_string(ws.path().join(format!("{lab}.out"))).unwrap();
        let stderr = std::fs::read_to_string(ws.path().join(format!("{lab}.err"))).unwrap();
        (status.code(), format!("{stdout}\n{stderr}"))
    }
}

impl Drop for ApiRun {
    /// A failed test still tears the lab down the way Ctrl-C does (SIGTERM, then up to 30 s
    /// for the teardown); SIGKILL only after that. A SIGKILLed owner leaves its namespaces to
    /// the next sweep, which never comes once the workspace (and its lab records) is gone.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let _ = testkit::wait_for(
                "the run to end after SIGTERM",
                Duration::from_secs(30),
                Duration::from_millis(100),
                || match self.child.try_wait() {
                    Ok(Some(_)) => Ok(()),
                    _ => Err(()),
                },
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs drive.py with `args` (the flow first) against the lab of `api_json`; its JSON line.
fn drive(api_json: &std::path::Path, args: &[&str]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/aws_api/drive.py");
    let out = Command::new(python())
        .arg(script)
        .arg(args[0])
        .arg(api_json)
        .args(&args[1..])
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "drive.py {args:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(out.stdout.trim_ascii()).expect("drive.py prints JSON")
}

/// `shipped`'s text with `edits` applied (each must match once).
fn edited(shipped: &str, edits: &[(&str, &str)]) -> String {
    let mut text = scenarios::shipped::find(shipped).unwrap().text.to_string();
    for (from, to) in edits {
        assert_eq!(text.matches(from).count(), 1, "{from:?} in {shipped}");
        text = text.replace(from, to);
    }
    text
}

#[test]
fn describe_vpn_connections_follows_a_tunnel_cut_and_errors_are_aws_shaped() {
    let ws = Workspace::new();
    let lab = "ap-vpn";
    // The shipped failover, its cut a little later (the API sees both tunnels UP first) and
    // its restore later too: tunnel 1 stays DOWN for 25 s, long enough for the aws CLI's
    // polls on a loaded machine, and the run (the API with it) lasts until drive.py's error
    // checks after the cut are done (with 2 s the run once ended under them).
    let text = edited(
        "dual-tunnel-failover",
        &[
            (
                "name = \"cut-tunnel1\"\nat = \"2s\"",
                "name = \"cut-tunnel1\"\nat = \"8s\"",
            ),
            (
                "after = \"the VGW moves to tunnel 2\"\ndelay = \"2s\"\naction = \"restore\"",
                "after = \"the VGW moves to tunnel 2\"\ndelay = \"25s\"\naction = \"restore\"",
            ),
        ],
    );
    let file = ws.file("ap-vpn.toml", &text);
    let run = ApiRun::start(&ws, &file, lab);
    // `hybridlab show LAB` prints the ids the API answers with.
    let shown = ws.run(&["show", lab]);
    assert_eq!(shown.status.code(), Some(0), "{}", common::describe(&shown));
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    let facts = run.drive("vpn");
    let id = facts["vpn_connection_id"].as_str().unwrap();
    assert!(
        shown
            .lines()
            .any(|l| l.contains("vpn-connection") && l.contains("vgw1/vpn1") && l.ends_with(id)),
        "{id} not in:\n{shown}"
    );
    // Seen DOWN within the detection time (fast profile: BGP hold 3 s) plus two polls, each
    // an aws CLI call (about 0.8 s on a quiet machine, several seconds under load: the
    // slowest one is measured, so the bound follows the instrument, not the machine).
    let after = facts["down_seen_after_last_up_s"].as_f64().unwrap();
    let slowest = facts["slowest_poll_s"].as_f64().unwrap();
    let bound = 3.0 + 2.0 * (0.2 + slowest.max(0.8));
    assert!(
        after < bound,
        "tunnel 1 shown DOWN {after:.2} s after it was last UP (bound {bound:.2} s): {facts}"
    );
    let (code, out) = run.finish(&ws, lab);
    assert_eq!(code, Some(0), "{out}");
    assert!(!ws.state().join(lab).exists(), "the lab directory is left");
}

#[test]
fn create_vpn_connection_route_makes_a_static_vpn_carry_traffic() {
    let ws = Workspace::new();
    let lab = "ap-static";
    // static-over-dynamic without its static route: BGP carries the prefix until the API
    // adds the route; then the static route wins and traffic flows over it.
    let text = edited(
        "static-over-dynamic",
        &[(
            "routing = \"static\"\nstatic_routes = [\"10.1.0.0/16\"]",
            "routing = \"static\"",
        )],
    );
    let cut = text
        .find("[[expect]]\nname = \"the static route wins\"")
        .unwrap();
    let text = format!(
        "{}{}",
        &text[..cut],
        r#"[[expect]]
name = "before the API call BGP carries the prefix"
check = "vgw_route"
node = "vgw1"
prefix = "10.1.0.0/16"
route_kind = "vpn_bgp"

[[expect]]
name = "CreateVpnConnectionRoute: the static route wins"
after = "before the API call BGP carries the prefix"
within = "60s"
check = "vgw_route"
node = "vgw1"
prefix = "10.1.0.0/16"
route_kind = "vpn_static"

[[expect]]
name = "traffic to on-premises flows over the static VPN"
after = "CreateVpnConnectionRoute: the static route wins"
check = "delivers"
probe = "to-onprem"
"#
    );
    let text = text.replace("name = \"static-over-dynamic\"", "name = \"ap-static\"");
    let file = ws.file("ap-static.toml", &text);
    let run = ApiRun::start(&ws, &file, lab);
    let facts = run.drive("static");
    assert_eq!(facts["routes"][0][0], "10.1.0.0/16", "{facts}");
    let (code, out) = run.finish(&ws, lab);
    assert_eq!(code, Some(0), "{out}");
    assert!(!ws.state().join(lab).exists(), "the lab directory is left");
}

#[test]
fn start_bgp_failover_test_moves_traffic_to_the_vpn_backup() {
    let ws = Workspace::new();
    let lab = "ap-dx";
    let text = scenarios::shipped::find("dx-bgp-failover-test")
        .unwrap()
        .text;
    // The topology and its readiness checks; then what the API's failover test must cause.
    let cut = text.find("[[timeline]]\nname = \"failover-test\"").unwrap();
    let text = format!(
        "{}{}",
        &text[..cut],
        r#"[[expect]]
name = "StartBgpFailoverTest: the VGW uses the VPN"
after = "the VIF's IPv6 session is up"
within = "60s"
check = "vgw_route"
node = "vgw1"
prefix = "10.1.0.0/16"
via = "vpn1-*"
route_kind = "vpn_bgp"

[[expect]]
name = "traffic flows over the VPN backup"
after = "StartBgpFailoverTest: the VGW uses the VPN"
check = "delivers"
probe = "to-onprem"

# The run (and the API with it) outlives drive.py's checks during the 60 s test: without this
# expectation it ended as soon as traffic moved, and under load drive.py was still polling.
[[expect]]
name = "still on the VPN backup 20 s into the test"
after = "traffic flows over the VPN backup"
delay = "20s"
check = "delivers"
probe = "to-onprem"
"#
    )
    .replace("name = \"dx-bgp-failover-test\"", "name = \"ap-dx\"");
    let file = ws.file("ap-dx.toml", &text);
    let run = ApiRun::start(&ws, &file, lab);
    // The failover test starts only from the state the scenario's expectations describe (the
    // VPN backup up, the VGW on Direct Connect), as a runbook would check first: otherwise the
    // API's 60 s test can begin before the VGW ever learnt the DX route and the run's
    // expectation "routes over Direct Connect" waits in vain (seen in CI under load).
    let shown = |what: &str| -> Value {
        serde_json::from_slice(&ws.run(&["show", lab, "vgw1", what]).stdout).unwrap_or(Value::Null)
    };
    common::wait_until(
        "the VGW routes 10.1.0.0/16 over Direct Connect and a VPN tunnel's BGP is Established",
        Duration::from_secs(60),
        || {
            let on_dx = shown("routes")["selected"]
                .as_array()
                .is_some_and(|routes| {
                    routes
                        .iter()
                        .any(|r| r["prefix"] == "10.1.0.0/16" && r["via"] == "dxgw1")
                });
            let vpn_up = shown("tunnels")
                .as_array()
                .is_some_and(|tunnels| tunnels.iter().any(|t| t["bgp"]["state"] == "Established"));
            on_dx && vpn_up
        },
    );
    let facts = run.drive("dx");
    assert_eq!(
        facts["peers_during_test"].as_array().map(Vec::len),
        Some(2),
        "both sessions (IPv4, IPv6) reported: {facts}"
    );
    let (code, out) = run.finish(&ws, lab);
    assert_eq!(code, Some(0), "{out}");
    assert!(!ws.state().join(lab).exists(), "the lab directory is left");
}

/// The Transit Gateway calls over `tgw-connect`: DescribeTransitGateways, the attachments
/// (the Connect attachment's transport is the VPC attachment), the Connect peers (p1-p3 with
/// both BGP sessions up, the TTL-1 eBGP peer p4 down), SearchTransitGatewayRoutes finding the
/// site's prefix propagated from Connect; then the route-table changes (Create, Replace to a
/// blackhole, Delete of a static route; a propagation disabled and enabled again), each seen
/// in SearchTransitGatewayRoutes right after its call, and AWS's refusals (RouteAlreadyExists,
/// InvalidRoute.NotFound, a static route to a Connect attachment). The scenario's GRE cut is held back so the lab
/// stays steady while the API is read; the run is then interrupted and cleans up.
#[test]
fn transit_gateway_calls_describe_the_live_tgw() {
    let ws = Workspace::new();
    let lab = "ap-tgw";
    let text = edited(
        "tgw-connect",
        &[
            ("name = \"tgw-connect\"", "name = \"ap-tgw\""),
            (
                "name = \"cut-p1\"\nafter = \"p4 (eBGP with TTL 1): no session\"",
                "name = \"cut-p1\"\nafter = \"p4 (eBGP with TTL 1): no session\"\ndelay = \"600s\"",
            ),
        ],
    );
    let file = ws.file("ap-tgw.toml", &text);
    let run = ApiRun::start(&ws, &file, lab);
    let facts = run.drive("tgw");
    let shown = ws.run(&["show", lab]);
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert_eq!(facts["peers"], 4, "{facts}");
    assert_eq!(
        facts["changes"],
        serde_json::json!(["create", "replace", "delete", "disable", "enable"]),
        "the route-table changes: {facts}"
    );
    let tgw = facts["tgw"].as_str().unwrap();
    assert!(
        shown
            .lines()
            .any(|l| l.contains("transit-gateway") && l.ends_with(tgw)),
        "{tgw} not in:\n{shown}"
    );
    // Interrupted like Ctrl-C: the lab goes, nothing is left.
    let pid = run.child.id() as i32;
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    let (code, out) = run.finish(&ws, lab);
    assert_ne!(code, Some(0), "an interrupted run does not pass: {out}");
    assert!(!ws.state().join(lab).exists(), "the lab directory is left");
}

/// `hybridlab up --api`: the live lab serves the API; a cut applied with `hybridlab act`
/// shows in DescribeVpnConnections; `down` removes the lab (and the API with its owner).
#[test]
fn up_serves_the_api_and_act_shows_in_it() {
    let ws = Workspace::new();
    let lab = "ap-up";
    let _down = common::DownOnDrop {
        ws: &ws,
        lab: lab.to_string(),
    };
    let out = ws.run(&[
        "up",
        "dual-tunnel-failover",
        "--lab",
        lab,
        "--api",
        "127.0.0.1:0",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", common::describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("export AWS_ACCESS_KEY_ID="),
        "up prints the credentials: {}",
        common::describe(&out)
    );
    let api_json = ws.state().join(lab).join("api.json");
    let before = drive(&api_json, &["live", "up"]);
    let out = ws.run(&[
        "act",
        lab,
        "cut",
        "node=cgw1",
        "proto=udp",
        "ports=[500, 4500]",
        "peer=203.0.113.1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", common::describe(&out));
    let after = drive(&api_json, &["live", "t1-down"]);
    assert_eq!(before["vpn_connection_id"], after["vpn_connection_id"]);
    assert_ne!(
        before["tunnel1"]["LastStatusChange"], after["tunnel1"]["LastStatusChange"],
        "LastStatusChange moves with the cut"
    );
    let out = ws.run(&["down", lab]);
    assert_eq!(out.status.code(), Some(0), "{}", common::describe(&out));
    assert!(!ws.state().join(lab).exists(), "the lab directory is left");
}
