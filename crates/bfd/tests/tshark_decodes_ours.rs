//! Our encoder checked by an independent decoder: packets our session core builds are wrapped
//! into a pcap (UDP 49152 -> 3784) with `text2pcap` and dissected by Wireshark's BFD dissector
//! (`tshark -O bfd`); the test asserts on what Wireshark reads. Needs tshark (and text2pcap from
//! wireshark-common): `apt-get install tshark`. Fails, never skips, without them.

use std::num::NonZeroU32;
use std::process::Command;
use std::time::{Duration, Instant};

use bfd::session::{Config, Input, Output, Session, Timers};
use bfd::wire::{Diag, Repr, State};

/// Runs Wireshark over the packets; returns its text per frame.
fn dissect(packets: &[[u8; 24]]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let hex_path = dir.path().join("packets.txt");
    let pcap = dir.path().join("packets.pcap");
    // text2pcap's hex dump: an offset of 0 starts a new packet.
    let mut dump = String::new();
    for p in packets {
        for (i, chunk) in p.chunks(16).enumerate() {
            dump.push_str(&format!("{:06x} ", i * 16));
            for b in chunk {
                dump.push_str(&format!("{b:02x} "));
            }
            dump.push('\n');
        }
    }
    std::fs::write(&hex_path, dump).unwrap();
    let st = Command::new("text2pcap")
        .args(["-q", "-4", "10.0.0.2,10.0.0.1", "-u", "49152,3784"])
        .arg(&hex_path)
        .arg(&pcap)
        .status()
        .expect("text2pcap is needed (apt-get install tshark)");
    assert!(st.success());
    let out = Command::new("tshark")
        .args(["-O", "bfd", "-r"])
        .arg(&pcap)
        .output()
        .expect("tshark is needed (apt-get install tshark)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let frames: Vec<String> = text
        .split("\nFrame ")
        .map(str::to_string)
        .filter(|f| f.contains("BFD Control message"))
        .collect();
    assert_eq!(frames.len(), packets.len(), "{text}");
    frames
}

fn expect(frame: &str, needles: &[&str]) {
    for n in needles {
        assert!(
            frame.contains(n),
            "Wireshark did not show {n:?} in:\n{frame}"
        );
    }
    for bad in ["Malformed", "Expert Info", "Unknown"] {
        assert!(!frame.contains(bad), "Wireshark says {bad:?}:\n{frame}");
    }
}

fn session(discr: u32, passive: bool, t0: Instant) -> Session {
    Session::new(
        Config {
            local_discriminator: NonZeroU32::new(discr).unwrap(),
            timers: Timers::from_millis(300, 300, 3).unwrap(),
            passive,
            jitter_seed: 3,
        },
        t0,
    )
}

fn sent(out: Vec<Output>) -> Vec<Repr> {
    out.into_iter()
        .filter_map(|o| match o {
            Output::Send(r) => Some(r),
            _ => None,
        })
        .collect()
}

#[test]
fn wireshark_reads_what_our_session_sends() {
    let t0 = Instant::now();
    let mut a = session(0xa1a1_a1a1, false, t0);
    let mut b = session(0xb2b2_b2b2, false, t0);
    let mut packets: Vec<Repr> = Vec::new();
    // a: Down (first packet) -> b: Init -> a: Up with Poll -> b answers Final.
    let down = sent(a.handle(t0, Input::Timeout))[0];
    packets.push(down);
    b.handle(t0, Input::Packet(down));
    let init = sent(b.handle(t0, Input::Timeout))[0];
    packets.push(init);
    a.handle(t0, Input::Packet(init));
    let up_poll = a.control_packet();
    packets.push(up_poll);
    let fin = sent(b.handle(t0, Input::Packet(up_poll)))[0];
    packets.push(fin);
    // a: AdminDown (Diag 7).
    a.handle(t0, Input::AdminDown);
    packets.push(a.control_packet());
    // b after a detection time: Down, Diag 1, Your Discriminator 0.
    b.handle(t0 + Duration::from_secs(10), Input::Timeout);
    packets.push(b.control_packet());
    // Every remaining flag and a Diag RFC 5880 does not define, hand-built.
    packets.push(Repr {
        diag: Diag::Unknown(9),
        state: State::Up,
        poll: false,
        final_: false,
        control_plane_independent: true,
        demand: true,
        detect_mult: 255,
        my_discriminator: u32::MAX,
        your_discriminator: 1,
        desired_min_tx: 1,
        required_min_rx: u32::MAX,
        required_min_echo_rx: 50_000,
    });
    let bytes: Vec<[u8; 24]> = packets.iter().map(Repr::to_bytes).collect();
    let frames = dissect(&bytes);
    let common = [
        "Protocol Version: 1",
        "Message Length: 24 bytes",
        "Authentication Present: Not set",
        "Multipoint: Not set",
    ];
    for f in &frames {
        expect(f, &common);
    }
    expect(
        &frames[0],
        &[
            "Diagnostic Code: No Diagnostic (0x00)",
            "Session State: Down (0x1)",
            "Poll: Not set",
            "Final: Not set",
            "Detect Time Multiplier: 3",
            "My Discriminator: 0xa1a1a1a1",
            "Your Discriminator: 0x00000000",
            "Desired Min TX Interval: 1000 ms (1000000 us)",
            "Required Min RX Interval:  300 ms (300000 us)",
            "Required Min Echo Interval:    0 ms (0 us)",
        ],
    );
    expect(
        &frames[1],
        &[
            "Session State: Init (0x2)",
            "My Discriminator: 0xb2b2b2b2",
            "Your Discriminator: 0xa1a1a1a1",
        ],
    );
    expect(
        &frames[2],
        &[
            "Session State: Up (0x3)",
            "Poll: Set",
            "Final: Not set",
            "Desired Min TX Interval:  300 ms (300000 us)",
        ],
    );
    expect(
        &frames[3],
        &["Session State: Up (0x3)", "Poll: Not set", "Final: Set"],
    );
    expect(
        &frames[4],
        &[
            "Diagnostic Code: Administratively Down (0x07)",
            "Session State: AdminDown (0x0)",
            "Desired Min TX Interval: 1000 ms (1000000 us)",
        ],
    );
    expect(
        &frames[5],
        &[
            "Diagnostic Code: Control Detection Time Expired (0x01)",
            "Session State: Down (0x1)",
            "Your Discriminator: 0x00000000",
        ],
    );
    expect(
        &frames[6],
        &[
            "Control Plane Independent: Set",
            "Demand: Set",
            "Detect Time Multiplier: 255",
            "My Discriminator: 0xffffffff",
            "(1 us)",
            "(4294967295 us)",
            "(50000 us)",
        ],
    );
    // Diag 9 is not defined by RFC 5880; Wireshark names it after RFC 6428 (MPLS-TP).
    expect(
        &frames[6],
        &["Diagnostic Code: Mis-Connectivity Defect (0x09)"],
    );
}
