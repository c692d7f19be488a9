//! Packets FRR bfdd 8.4.4 sent (tests/vectors/frr-8.4.4.txt), decoded by us and compared field
//! by field with Wireshark's dissection of the same frames (tests/vectors/frr-8.4.4.tshark.txt):
//! the bytes come from one independent implementation, the expectations from another. Our
//! encoder must also give back FRR's exact bytes. Pure data: no tools needed to run.

use std::collections::BTreeMap;

use bfd::wire::{Diag, Packet, Repr, State};

const VECTORS: &str = include_str!("vectors/frr-8.4.4.txt");
const TSHARK: &str = include_str!("vectors/frr-8.4.4.tshark.txt");

/// What Wireshark printed for one frame, by field label.
fn dissections() -> BTreeMap<u32, BTreeMap<String, String>> {
    let mut frames = BTreeMap::new();
    let mut current: Option<(u32, BTreeMap<String, String>)> = None;
    for line in TSHARK.lines() {
        if let Some(rest) = line.strip_prefix("Frame ") {
            if let Some((n, f)) = current.take() {
                frames.insert(n, f);
            }
            let n = rest.split(':').next().unwrap().parse().unwrap();
            current = Some((n, BTreeMap::new()));
            continue;
        }
        if let Some((_, f)) = current.as_mut()
            && let Some((label, value)) = line.split_once(": ")
        {
            // "    001. .... = Protocol Version: 1" -> "Protocol Version"
            let label = label.rsplit(" = ").next().unwrap().trim().to_string();
            f.insert(label, value.trim().to_string());
        }
    }
    if let Some((n, f)) = current {
        frames.insert(n, f);
    }
    frames
}

/// The hexadecimal or decimal number in parentheses at the end of a Wireshark value, or the
/// leading number.
fn number(v: &str) -> u64 {
    let inner = v
        .rsplit_once('(')
        .map(|(_, r)| r.trim_end_matches(')').trim_end_matches(" us"))
        .unwrap_or_else(|| v.split_whitespace().next().unwrap());
    match inner.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap(),
        None => inner
            .parse()
            .unwrap_or_else(|_| panic!("no number in {v:?}")),
    }
}

fn set(v: &str) -> bool {
    match v {
        "Set" => true,
        "Not set" => false,
        other => panic!("flag value {other:?}"),
    }
}

#[test]
fn we_decode_frr_packets_as_wireshark_does_and_encode_them_back() {
    let frames = dissections();
    let mut checked = 0;
    for line in VECTORS.lines().filter(|l| !l.starts_with('#')) {
        let mut parts = line.split_whitespace();
        let (name, frame, hex) = (
            parts.next().unwrap(),
            parts.next().unwrap().parse::<u32>().unwrap(),
            parts.next().unwrap(),
        );
        let bytes = hex::decode(hex).unwrap();
        let ws = frames
            .get(&frame)
            .unwrap_or_else(|| panic!("{name}: frame {frame} not in the tshark file"));
        let f = |label: &str| -> &str {
            ws.get(label)
                .unwrap_or_else(|| panic!("{name}: Wireshark shows no {label:?}: {ws:?}"))
        };
        let r = Repr::parse_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            u64::from(p.version()),
            number(f("Protocol Version")),
            "{name}"
        );
        assert_eq!(
            u64::from(r.diag.bits()),
            number(f("Diagnostic Code")),
            "{name}"
        );
        assert_eq!(
            u64::from(r.state.bits()),
            number(f("Session State")),
            "{name}"
        );
        assert_eq!(r.poll, set(f("Poll")), "{name}");
        assert_eq!(r.final_, set(f("Final")), "{name}");
        assert_eq!(
            r.control_plane_independent,
            set(f("Control Plane Independent")),
            "{name}"
        );
        assert_eq!(p.auth_present(), set(f("Authentication Present")), "{name}");
        assert_eq!(r.demand, set(f("Demand")), "{name}");
        assert_eq!(p.multipoint(), set(f("Multipoint")), "{name}");
        assert_eq!(
            u64::from(r.detect_mult),
            number(f("Detect Time Multiplier").split(" (").next().unwrap()),
            "{name}"
        );
        assert_eq!(u64::from(p.length()), number(f("Message Length")), "{name}");
        assert_eq!(
            u64::from(r.my_discriminator),
            number(f("My Discriminator")),
            "{name}"
        );
        assert_eq!(
            u64::from(r.your_discriminator),
            number(f("Your Discriminator")),
            "{name}"
        );
        assert_eq!(
            u64::from(r.desired_min_tx),
            number(f("Desired Min TX Interval")),
            "{name}"
        );
        assert_eq!(
            u64::from(r.required_min_rx),
            number(f("Required Min RX Interval")),
            "{name}"
        );
        assert_eq!(
            u64::from(r.required_min_echo_rx),
            number(f("Required Min Echo Interval")),
            "{name}"
        );
        assert_eq!(r.to_bytes().to_vec(), bytes, "{name}: re-encoding differs");
        checked += 1;
    }
    assert_eq!(checked, 13);
}

#[test]
fn the_vectors_cover_what_they_claim() {
    let get = |name: &str| {
        let line = VECTORS
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap();
        Repr::parse_bytes(&hex::decode(line.split_whitespace().nth(2).unwrap()).unwrap()).unwrap()
    };
    assert_eq!(get("v4_admin_down").state, State::AdminDown);
    let r = get("v4_down_neighbor_signaled");
    assert_eq!(
        (r.state, r.diag, r.your_discriminator),
        (State::Down, Diag::NeighborSignaledSessionDown, 0)
    );
    assert_eq!(get("v6_down_slow").desired_min_tx, 1_000_000);
    let r = get("v4_up_poll_new_timers");
    assert!(r.poll && !r.final_);
    assert_eq!((r.desired_min_tx, r.detect_mult), (200_000, 5));
    assert!(get("v4_up_final").final_);
    assert_eq!(
        get("v4_down_detection_expired").diag,
        Diag::ControlDetectionTimeExpired
    );
}
