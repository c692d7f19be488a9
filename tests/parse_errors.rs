//! Parsing and validation: every shipped scenario is valid, and each kind of mistake is
//! reported with the file, the exact line and column, the field path and what was expected.

use engine::diagnostic::Diagnostics;
use engine::model::{Action, Check, When};
use engine::parse::parse_scenario;
use engine::source::Source;
use scenarios::shipped::SHIPPED;

fn parse(text: &str) -> Result<engine::model::Scenario, Diagnostics> {
    parse_scenario(&Source::new("lab.toml", text), &scenarios::registry())
}

/// The base scenario the error cases modify (valid on its own).
const BASE: &str = r#"[scenario]
name = "t"

[[host]]
name = "h1"
gateway = "10.1.0.1"

[[router]]
name = "r1"

[[host]]
name = "h2"
gateway = "10.2.0.1"

[[link]]
endpoints = [{ node = "h1", address = "10.1.0.10/24" }, { node = "r1", address = "10.1.0.1/24" }]

[[link]]
endpoints = [{ node = "h2", address = "10.2.0.10/24" }, { node = "r1", address = "10.2.0.1/24" }]

[[probe]]
name = "p"
from = "h1"
to = "h2"
"#;

/// Parses `text`, expects exactly one error, returns (line, column, path, message).
fn one_error(text: &str) -> (usize, usize, String, String) {
    let errs = parse(text).expect_err("the scenario should be rejected").0;
    assert_eq!(errs.len(), 1, "expected one error, got: {errs:#?}");
    let d = &errs[0];
    assert_eq!(d.file, "lab.toml");
    (
        d.position.line,
        d.position.column,
        d.path.to_string(),
        d.message.clone(),
    )
}

#[test]
fn every_shipped_scenario_is_valid() {
    for s in SHIPPED {
        let parsed = parse_scenario(&s.source(), &scenarios::registry());
        let scenario = parsed.unwrap_or_else(|e| panic!("{}:\n{e}", s.name));
        assert_eq!(
            scenario.meta.name, s.name,
            "the file name is the scenario name"
        );
        assert!(
            !s.description().is_empty(),
            "{} needs a description",
            s.name
        );
    }
}

#[test]
fn the_base_is_valid_and_fills_defaults() {
    let s = parse(BASE).unwrap();
    assert_eq!(s.topology.nodes.len(), 3);
    assert_eq!(s.topology.links[0].name, "h1-r1");
    assert_eq!(s.topology.links[0].ifname(0), "r1");
    assert_eq!(s.probes[0].rate(), 1000);
    assert_eq!(
        s.timing.get("expect_within"),
        std::time::Duration::from_secs(10)
    );
}

#[test]
fn the_default_scenario_reads_as_written() {
    let s = parse_scenario(
        &scenarios::shipped::find("two-sites").unwrap().source(),
        &scenarios::registry(),
    )
    .unwrap();
    let cut = &s.timeline[0];
    assert_eq!(cut.when, When::At(std::time::Duration::from_secs(1)));
    assert!(matches!(&cut.action, Action::Cut { duration: None, .. }));
    let gap = s
        .expectations
        .iter()
        .find(|e| matches!(e.check, Check::MaxGap { .. }))
        .unwrap();
    assert_eq!(gap.when, When::End);
}

#[test]
fn syntax_error() {
    let text = BASE.replace("name = \"p\"", "name = \"p");
    let (line, col, _, msg) = one_error(&text);
    assert_eq!(line, 22);
    assert!(col >= 8, "{col}");
    assert!(msg.starts_with("TOML syntax"), "{msg}");
}

#[test]
fn unknown_field_points_at_the_key() {
    let text = BASE.replace(
        "gateway = \"10.2.0.1\"",
        "gateway = \"10.2.0.1\"\ngatewya = \"x\"",
    );
    let (line, col, path, msg) = one_error(&text);
    assert_eq!((line, col), (14, 1));
    assert_eq!(path, "host[1].gatewya");
    assert!(
        msg.contains("unknown field `gatewya`") && msg.contains("gateway"),
        "{msg}"
    );
}

#[test]
fn unknown_field_in_an_inline_table() {
    let text = BASE.replace(
        "{ node = \"h2\", address",
        "{ node = \"h2\", adress = \"1.2.3.4/32\", address",
    );
    let (line, col, path, msg) = one_error(&text);
    assert_eq!((line, col), (19, 29));
    assert_eq!(path, "link[1].endpoints[0].adress");
    assert!(msg.contains("unknown field `adress`"), "{msg}");
}

#[test]
fn unknown_section() {
    let text = format!("{BASE}\n[[hots]]\nname = \"x\"\n");
    let (line, col, path, msg) = one_error(&text);
    assert_eq!((line, col, path.as_str()), (26, 3, "hots"));
    assert!(
        msg.contains("unknown section `hots`") && msg.contains("host"),
        "{msg}"
    );
}

#[test]
fn unknown_node_in_a_link() {
    let text = BASE.replace(
        "{ node = \"r1\", address = \"10.2.0.1/24\" }",
        "{ node = \"r9\", address = \"10.2.0.1/24\" }",
    );
    let (line, col, path, msg) = one_error(&text.replace("gateway = \"10.2.0.1\"", ""));
    assert_eq!((line, col), (19, 66));
    assert_eq!(path, "link[1].endpoints[1].node");
    assert!(
        msg.contains("unknown node \"r9\"") && msg.contains("h1, h2, r1"),
        "{msg}"
    );
}

#[test]
fn overlapping_subnets() {
    let text = BASE
        .replace("\"10.2.0.10/24\"", "\"10.1.0.20/16\"")
        .replace("\"10.2.0.1/24\"", "\"10.1.0.2/16\"");
    let errs = parse(&text.replace("gateway = \"10.2.0.1\"", ""))
        .unwrap_err()
        .0;
    let d = errs
        .iter()
        .find(|d| d.message.contains("overlaps"))
        .unwrap_or_else(|| panic!("{errs:#?}"));
    assert_eq!(d.path.to_string(), "link[1].endpoints[0].address");
    assert_eq!((d.position.line, d.position.column), (19, 39));
    assert!(
        d.message
            .contains("10.1.0.0/16 overlaps a subnet of link \"h1-r1\""),
        "{}",
        d.message
    );
}

#[test]
fn overlapping_site_plans() {
    let text = format!(
        "{BASE}\n[[site]]\nname = \"a\"\ncidrs = [\"10.0.0.0/8\"]\n\n[[site]]\nname = \"b\"\ncidrs = [\"10.9.0.0/16\"]\n"
    );
    let (line, col, path, msg) = one_error(&text);
    assert_eq!((line, col, path.as_str()), (32, 10, "site[1].cidrs[0]"));
    assert!(
        msg.contains("overlaps the address plan of site \"a\""),
        "{msg}"
    );
}

#[test]
fn duplicate_node_names_across_kinds() {
    let text = BASE
        .replace("[[router]]\nname = \"r1\"", "[[router]]\nname = \"h2\"")
        .replace("\"r1\"", "\"h2\"");
    let errs = parse(&text).unwrap_err().0;
    let d = errs
        .iter()
        .find(|d| d.message.contains("duplicate node name"))
        .unwrap_or_else(|| panic!("{errs:#?}"));
    assert_eq!(d.path.to_string(), "host[1].name");
    assert_eq!(d.position.line, 12);
    assert!(d.message.contains("router[0]"), "{}", d.message);
}

#[test]
fn missing_required_field_points_at_its_table() {
    let text = BASE.replace("from = \"h1\"\n", "");
    let (line, _, path, msg) = one_error(&text);
    assert_eq!(line, 21);
    assert_eq!(path, "probe[0]");
    assert!(msg.contains("missing field `from`"), "{msg}");
}

#[test]
fn wrong_type_and_bad_duration() {
    let text = format!("{BASE}\n[[timeline]]\nat = 3\naction = \"cut\"\nlink = \"h1-r1\"\n");
    let (line, col, path, msg) = one_error(&text);
    assert_eq!((line, col, path.as_str()), (27, 6, "timeline[0].at"));
    assert!(
        msg.contains("has no unit") && msg.contains("\"3s\""),
        "{msg}"
    );
}

#[test]
fn unknown_action_lists_the_known_ones() {
    let text = format!("{BASE}\n[[timeline]]\nat = \"1s\"\naction = \"explode\"\n");
    let (line, _, path, msg) = one_error(&text);
    assert_eq!((line, path.as_str()), (28, "timeline[0].action"));
    // The engine's actions and the kinds' (vgw, cgw, dxgw, tgw), sorted.
    assert!(
        msg.contains(
            "add_static_route, advertise, cut, delete_static_route, flap, kill, link_down, \
             link_up, modify_tunnel_options, rekey, replace_tunnel, reset_nat, restart, restore, \
             start_bgp_failover_test, stop_bgp_failover_test, tgw_add_route, tgw_delete_route, \
             tgw_disable_propagation, tgw_enable_propagation, withdraw"
        ),
        "{msg}"
    );
}

#[test]
fn unknown_field_of_an_action() {
    let text = format!(
        "{BASE}\n[[timeline]]\nat = \"1s\"\naction = \"cut\"\nlink = \"h1-r1\"\nprot = \"udp\"\n"
    );
    let (line, col, path, msg) = one_error(&text);
    assert_eq!((line, col, path.as_str()), (30, 1, "timeline[0].prot"));
    assert!(msg.contains("unknown field `prot`"), "{msg}");
}

#[test]
fn references_in_timeline_and_expectations() {
    let text = format!(
        "{BASE}\n[[timeline]]\nname = \"c\"\nat = \"1s\"\naction = \"cut\"\nlink = \"nope\"\n\n[[expect]]\nafter = \"x\"\ncheck = \"delivers\"\nprobe = \"q\"\n"
    );
    let errs = parse(&text).unwrap_err().0;
    let got: Vec<(String, usize)> = errs
        .iter()
        .map(|d| (d.path.to_string(), d.position.line))
        .collect();
    assert_eq!(
        got,
        vec![
            ("timeline[0].link".to_string(), 30),
            ("expect[0].after".to_string(), 33),
            ("expect[0].probe".to_string(), 35)
        ],
        "{errs:#?}"
    );
}

#[test]
fn after_loops_are_rejected() {
    let text = format!(
        "{BASE}\n[[timeline]]\nname = \"a\"\nafter = \"b\"\naction = \"link_down\"\nlink = \"h1-r1\"\n\n[[timeline]]\nname = \"b\"\nafter = \"a\"\naction = \"link_up\"\nlink = \"h1-r1\"\n"
    );
    let errs = parse(&text).unwrap_err().0;
    assert!(errs.iter().all(|d| d.message.contains("loop")), "{errs:#?}");
    assert_eq!(errs.len(), 2);
}

#[test]
fn gateway_must_be_on_link_and_routes_reachable() {
    let text = BASE
        .replace("gateway = \"10.2.0.1\"", "gateway = \"10.3.0.1\"")
        .replace(
            "[[router]]\nname = \"r1\"",
            "[[router]]\nname = \"r1\"\nroutes = [{ to = \"192.0.2.0/24\", via = \"10.9.9.9\" }]",
        );
    let errs = parse(&text).unwrap_err().0;
    let paths: Vec<String> = errs.iter().map(|d| d.path.to_string()).collect();
    assert_eq!(
        paths,
        vec!["router[0].routes[0].via", "host[1].gateway"],
        "{errs:#?}"
    );
}

#[test]
fn errors_render_like_a_compiler() {
    let text = BASE.replace("to = \"h2\"", "to = \"h3\"");
    let rendered = parse(&text).unwrap_err().to_string();
    assert!(
        rendered.contains("error: unknown node \"h3\""),
        "{rendered}"
    );
    assert!(
        rendered.contains("--> lab.toml:24:6  probe[0].to"),
        "{rendered}"
    );
    assert!(rendered.contains("24 | to = \"h3\""), "{rendered}");
    assert!(rendered.ends_with("1 error in lab.toml"), "{rendered}");
}

#[test]
fn a_forced_profile_replaces_the_files_but_keeps_its_overrides() {
    use engine::model::timing::Profile;
    use engine::parse::parse_scenario_with;
    use std::time::Duration;
    let text = format!("{BASE}\n[timing]\nprofile = \"fast\"\nexpect_within = \"7s\"\n");
    let src = Source::new("lab.toml", text);
    let fast = parse_scenario_with(&src, &scenarios::registry(), None).unwrap();
    let aws = parse_scenario_with(&src, &scenarios::registry(), Some(Profile::Aws)).unwrap();
    assert_eq!(fast.timing.profile, Profile::Fast);
    assert_eq!(aws.timing.profile, Profile::Aws);
    assert_eq!(fast.timing.get("converge"), Duration::from_secs(20));
    assert_eq!(aws.timing.get("converge"), Duration::from_secs(180));
    assert_eq!(aws.timing.get("expect_within"), Duration::from_secs(7));
}

#[test]
fn a_cut_of_one_peers_underlay_takes_ports_and_a_peer_address() {
    let text = format!(
        "{BASE}\n[[timeline]]\nat = \"1s\"\naction = \"cut\"\nnode = \"r1\"\nproto = \"udp\"\n\
         ports = [500, 4500]\npeer = \"203.0.113.9\"\n"
    );
    let s = parse(&text).unwrap();
    let Action::Cut { matching, .. } = &s.timeline[0].action else {
        panic!("not a cut: {:?}", s.timeline[0].action)
    };
    assert_eq!(matching.ports, vec![500, 4500]);
    assert_eq!(matching.peer, Some("203.0.113.9".parse().unwrap()));
    assert_eq!(
        matching.describe(),
        "udp ports 500,4500 to/from 203.0.113.9"
    );
}

#[test]
fn ports_need_a_protocol_with_ports() {
    let text = format!(
        "{BASE}\n[[timeline]]\nat = \"1s\"\naction = \"cut\"\nnode = \"r1\"\nports = [500]\n"
    );
    let (line, _, path, msg) = one_error(&text);
    assert_eq!(path, "timeline[0].ports");
    let expected = 1 + text.lines().position(|l| l.starts_with("ports")).unwrap();
    assert_eq!(line, expected, "{msg}");
    assert!(msg.contains("needs proto"), "{msg}");
}

#[test]
fn nat_on_an_interface_the_router_lacks_and_reset_nat_without_nat() {
    let text = BASE.replace(
        "[[router]]\nname = \"r1\"\n",
        "[[router]]\nname = \"r1\"\nmasquerade = [\"h1\", \"wan\"]\n",
    );
    let (line, _, path, msg) = one_error(&text);
    assert_eq!((line, path.as_str()), (10, "router[0].masquerade[1]"));
    assert!(
        msg.contains("no interface \"wan\"") && msg.contains("h1, h2"),
        "{msg}"
    );
    let text =
        format!("{BASE}\n[[timeline]]\nat = \"1s\"\naction = \"reset_nat\"\nnode = \"r1\"\n");
    let (_, _, path, msg) = one_error(&text);
    assert_eq!(path, "timeline[0].node");
    assert!(msg.contains("r1 does no NAT"), "{msg}");
    // With a masquerade, both parse.
    let text = BASE.replace(
        "[[router]]\nname = \"r1\"\n",
        "[[router]]\nname = \"r1\"\nmasquerade = [\"h2\"]\n",
    ) + "\n[[timeline]]\nat = \"1s\"\naction = \"reset_nat\"\nnode = \"r1\"\n";
    parse(&text).expect("a NAT router and its reset");
}
