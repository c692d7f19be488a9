//! The strongSwan runner against itself: two real charons (kernel-libipsec) in two namespaces
//! build an AWS-shaped tunnel (IPv4 address identities, PSK, 0.0.0.0/0 selectors, UDP 4500) and
//! carry TCP through it. This proves the runner before our own IKE/ESP are put against it.
//!
//! Needs root, strongSwan (strongswan-charon, strongswan-swanctl, libcharon-extra-plugins,
//! libstrongswan-standard-plugins) and iperf3; fails, never skips, without them.

use std::time::Duration;

use testkit::lab::Lab;
use testkit::strongswan::{CharonOptions, PskConnection, StrongSwan};
use testkit::wait_for;

const PSK: &str = "Runner.test.psk.0042";

fn pair(lab_name: &str) -> (Lab, StrongSwan, StrongSwan, PskConnection, PskConnection) {
    let mut lab = Lab::new(lab_name).unwrap();
    lab.node("cgw").unwrap();
    lab.node("vgw").unwrap();
    lab.link("cgw", "192.0.2.1/24", "vgw", "192.0.2.2/24")
        .unwrap();
    let cgw = StrongSwan::start(&lab, "cgw", &CharonOptions::fast()).unwrap();
    let vgw = StrongSwan::start(&lab, "vgw", &CharonOptions::fast()).unwrap();
    let c = PskConnection::new(
        "aws",
        "192.0.2.1".parse().unwrap(),
        "192.0.2.2".parse().unwrap(),
        PSK,
    );
    let v = PskConnection::new(
        "aws",
        "192.0.2.2".parse().unwrap(),
        "192.0.2.1".parse().unwrap(),
        PSK,
    );
    cgw.load_connection(&c).unwrap();
    vgw.load_connection(&v).unwrap();
    (lab, cgw, vgw, c, v)
}

#[test]
fn two_charons_build_a_tunnel_and_carry_tcp() {
    let (lab, cgw, vgw, c, _v) = pair("swrun");
    let out = cgw
        .initiate(&c.child_name(), Duration::from_secs(20))
        .unwrap();
    assert!(out.contains("initiate completed successfully"), "{out}");

    let sa = cgw.wait_up("aws", Duration::from_secs(10)).unwrap();
    assert_eq!(sa.get("encr-alg"), "AES_GCM_16");
    assert_eq!(sa.get("encr-keysize"), "256");
    assert_eq!(sa.get("prf-alg"), "PRF_HMAC_SHA2_256");
    assert_eq!(sa.get("dh-group"), "ECP_256");
    assert_eq!(sa.get("local-port"), "4500", "encap = yes floats to 4500");
    let child = &sa.children[0];
    assert_eq!(child.get("encap"), "yes");
    let peer = vgw.wait_up("aws", Duration::from_secs(10)).unwrap();
    assert_eq!(peer.get("initiator-spi"), sa.get("initiator-spi"));
    assert_eq!(peer.children[0].get("spi-in"), child.get("spi-out"));

    cgw.add_tunnel_address(&lab, "169.254.10.1/30").unwrap();
    vgw.add_tunnel_address(&lab, "169.254.10.2/30").unwrap();

    // TCP through the tunnel: iperf3 in each namespace, 1 s.
    let mut server = lab
        .spawn(
            "vgw",
            "iperf3",
            &["-s", "-1", "--forceflush", "-B", "169.254.10.2"],
            &vgw.dir().join("iperf3-server.log"),
        )
        .unwrap();
    // The server listens before the client connects (its log says so), and the client's JSON
    // must carry a receive summary; anything else is retried until the deadline.
    wait_for(
        "iperf3 server listening",
        Duration::from_secs(10),
        Duration::from_millis(50),
        || {
            let log =
                std::fs::read_to_string(vgw.dir().join("iperf3-server.log")).unwrap_or_default();
            if log.contains("Server listening") {
                Ok(())
            } else {
                Err(log)
            }
        },
    )
    .unwrap();
    let bits = wait_for(
        "an iperf3 run through the tunnel",
        Duration::from_secs(20),
        Duration::from_millis(100),
        || {
            let out = lab
                .exec("cgw", &["iperf3", "-c", "169.254.10.2", "-t", "1", "-J"])
                .map_err(|e| e.to_string())?;
            let report: serde_json::Value =
                serde_json::from_str(&out).map_err(|e| e.to_string())?;
            report["end"]["sum_received"]["bits_per_second"]
                .as_f64()
                .ok_or(out)
        },
    )
    .unwrap();
    testkit::lab::kill(&mut server);
    let report = format!("{bits} bit/s");
    assert!(bits > 0.0, "{report}");

    // The bytes went through the SAs, not around them.
    let sa = cgw.list_sas().unwrap();
    let out_bytes: u64 = sa
        .iter()
        .flat_map(|s| &s.children)
        .map(|c| c.counter("bytes-out"))
        .sum();
    assert!(out_bytes > 100_000, "bytes-out {out_bytes}: {sa:?}");

    // An orderly stop sends DELETE: the peer forgets the IKE_SA.
    let mut cgw = cgw;
    cgw.stop(Duration::from_secs(10)).unwrap();
    wait_for(
        "the responder to delete the IKE_SA",
        Duration::from_secs(10),
        Duration::from_millis(50),
        || {
            let sas = vgw.list_sas().map_err(|e| e.to_string())?;
            if sas.is_empty() {
                Ok(())
            } else {
                Err(format!("{sas:?}"))
            }
        },
    )
    .unwrap();
}

#[test]
fn a_wrong_psk_is_refused_and_logged() {
    let (_lab, cgw, vgw, mut c, _v) = pair("swpsk");
    c.psk = "Another.psk.0043".into();
    cgw.load_connection(&c).unwrap();
    let err = cgw
        .initiate(&c.child_name(), Duration::from_secs(20))
        .unwrap_err();
    assert!(err.to_string().contains("AUTHENTICATION_FAILED"), "{err}");
    assert!(vgw.list_sas().unwrap().is_empty());
    wait_for(
        "the responder's log line",
        Duration::from_secs(5),
        Duration::from_millis(50),
        || {
            let log = vgw.log();
            if log.contains("MAC mismatched") && log.contains("N(AUTH_FAILED)") {
                Ok(())
            } else {
                Err(log)
            }
        },
    )
    .unwrap();
}
