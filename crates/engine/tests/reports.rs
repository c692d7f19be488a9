//! Reports rendered from a fixed run record, compared with golden files.
//! Regenerate after an intended change with `UPDATE_GOLDEN=1 cargo test -p scenarios --test reports`.

use std::path::PathBuf;

use engine::loss::analyse;
use engine::report::{
    self, EventSource, ExpectationRecord, Outcome, ProbeRecord, RunRecord, TimelineEvent,
};

const S: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;
const T0: u64 = 1_000 * S;

/// A run of the default scenario as it would be recorded: a 2 s cut of the WAN at +1 s.
fn record() -> RunRecord {
    // 1000 pps UDP from -0.5 s to +4.5 s; packets sent during [1.000, 3.002) are lost.
    let sends: Vec<u64> = (0..5000).map(|i| T0 - S / 2 + i * MS).collect();
    let arrivals: Vec<u64> = (0..5000u64)
        .filter(|&i| !(1500..3502).contains(&i))
        .collect();
    let udp = analyse(&sends, &arrivals, MS);
    // TCP connects at 20/s; one reordered and one duplicate arrival for the table's sake.
    let tsends: Vec<u64> = (0..100).map(|i| T0 - S / 2 + i * 50 * MS).collect();
    let mut tarr: Vec<u64> = (0..100u64).filter(|&i| !(30..72).contains(&i)).collect();
    tarr.swap(3, 4);
    tarr.push(80);
    let tcp = analyse(&tsends, &tarr, 50 * MS);
    let ev = |t: u64, source, subject: &str, kind: &str, detail: &str| TimelineEvent {
        t_ns: t,
        source,
        subject: subject.into(),
        kind: kind.into(),
        detail: detail.into(),
    };
    let exp = |name: &str,
               check: &str,
               outcome,
               started: Option<u64>,
               decided: Option<u64>,
               detail: &str| ExpectationRecord {
        name: name.into(),
        check: check.into(),
        outcome,
        started_ns: started,
        decided_ns: decided,
        detail: detail.into(),
    };
    RunRecord {
        scenario: "two-sites".into(),
        file: "<shipped>/two-sites.toml".into(),
        lab: "two-sites".into(),
        started_ns: T0 - 2 * S,
        t0_ns: T0,
        ended_ns: T0 + 5 * S,
        events: vec![
            ev(
                T0 - 2 * S,
                EventSource::Engine,
                "lab",
                "bring_up",
                "6 namespaces, 3 links",
            ),
            ev(
                T0 + S,
                EventSource::Action,
                "cut-wan",
                "cut",
                "cut link wan (all traffic)",
            ),
            ev(
                T0 + S + 40 * MS,
                EventSource::Daemon,
                "r1",
                "bgp.down",
                "hold timer expired",
            ),
            ev(
                T0 + 3 * S + 2 * MS,
                EventSource::Action,
                "restore-wan",
                "restore",
                "restored cut-wan after 2.002s",
            ),
            ev(
                T0 + 3 * S + 900 * MS,
                EventSource::Daemon,
                "r1",
                "bgp.up",
                "established",
            ),
        ],
        probes: vec![
            ProbeRecord {
                name: "udp".into(),
                kind: "udp".into(),
                path: "h1 -> 10.2.0.10:7000".into(),
                rate: 1000,
                start_ns: T0 - S / 2,
                stop_ns: T0 + 4 * S + 499 * MS,
                loss: udp,
            },
            ProbeRecord {
                name: "tcp".into(),
                kind: "tcp".into(),
                path: "h1 -> 10.2.0.10:7001".into(),
                rate: 20,
                start_ns: T0 - S / 2,
                stop_ns: T0 + 4 * S + 450 * MS,
                loss: tcp,
            },
        ],
        expectations: vec![
            exp(
                "r1 routes to the cloud site",
                "route r1 10.2.0.0/24 via 10.255.0.2",
                Outcome::Passed,
                Some(T0),
                Some(T0 + 3 * MS),
                "10.2.0.0/24 via 10.255.0.2 dev r2",
            ),
            exp(
                "traffic flows again after the restore",
                "probe udp delivers",
                Outcome::Passed,
                Some(T0 + 3 * S + 2 * MS),
                Some(T0 + 3 * S + 4 * MS),
                "delivered 10.2.0.10 <- seq 3504",
            ),
            exp(
                "bgp back within 1 s",
                "state r1 /0/state == \"Established\"",
                Outcome::Failed,
                Some(T0 + 3 * S + 2 * MS),
                Some(T0 + 4 * S + 2 * MS),
                "saw \"Connect\" until the deadline (1s) & <gave up>",
            ),
            exp(
                "the UDP gap matches the 2 s cut",
                "max_gap udp in [1.9s, 2.1s)",
                Outcome::Passed,
                Some(T0 + 4 * S + 500 * MS),
                Some(T0 + 4 * S + 500 * MS),
                "longest gap 2.002s (2002 packets)",
            ),
            exp(
                "never checked",
                "probe tcp delivers",
                Outcome::NotRun,
                None,
                None,
                "",
            ),
        ],
        error: None,
        interrupted: false,
    }
}

fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{name} differs from its golden file; if the change is intended, rerun with UPDATE_GOLDEN=1.\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}

#[test]
fn summary_table() {
    golden("summary.txt", &report::summary::render(&record()));
}

#[test]
fn junit_xml() {
    golden("junit.xml", &report::junit::render(&record()));
}

#[test]
fn svg_picture() {
    golden("timeline.svg", &report::svg::render(&record()));
}

#[test]
fn json_round_trips() {
    let r = record();
    let text = report::json(&r);
    let back: RunRecord = serde_json::from_str(&text).unwrap();
    assert_eq!(back, r);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["probes"][0]["loss"]["windows"][0]["lost"], 2002);
}

#[test]
fn the_fixture_has_the_loss_it_claims() {
    let r = record();
    let w = r.probes[0].loss.longest().unwrap();
    assert_eq!((w.start_ns, w.duration_ns()), (T0 + S, 2002 * MS));
    assert!(!r.passed());
}

#[test]
fn junit_is_well_formed_enough_for_ci() {
    let x = report::junit::render(&record());
    assert_eq!(x.matches("<testcase ").count(), 5);
    assert_eq!(x.matches("<failure ").count(), 1);
    assert_eq!(x.matches("<skipped ").count(), 1);
    assert!(x.contains("&amp; &lt;gave up&gt;"), "{x}");
}
