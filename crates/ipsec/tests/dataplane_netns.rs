//! The ESP data plane between two namespaces, keyed statically: ping and TCP through the tunnel
//! with each cipher, with and without TUN offloads; garbage and IKE on port 4500; make-before-break
//! rekeying under load. Needs root (namespaces, TUN), as CI has.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ipsec::crypto::aead::AeadAlgorithm;
use ipsec::crypto::cbc::CbcAlgorithm;
use ipsec::crypto::cipher::Cipher;
use ipsec::crypto::integ::IntegAlgorithm;
use support::{
    INSIDE_A, INSIDE_B, INSIDE_MTU, INSIDE_MTU_CBC, OUTSIDE_A, OUTSIDE_B, StaticTunnel, pair,
    pattern,
};
use testkit::wait_for;

/// Sends `len` pattern bytes over TCP from a to b through the tunnel and checks every byte.
fn tcp_transfer(t: &StaticTunnel, len: u64) {
    let listener =
        t.b.ns
            .run(|| TcpListener::bind(SocketAddr::from((INSIDE_B, 5201))))
            .unwrap()
            .unwrap();
    let receiver = std::thread::spawn(move || -> Result<u64, String> {
        let (mut s, _) = listener.accept().map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = vec![0u8; 256 * 1024];
        let mut at = 0u64;
        loop {
            let n = s.read(&mut buf).map_err(|e| format!("read at {at}: {e}"))?;
            if n == 0 {
                return Ok(at);
            }
            for (k, &b) in buf[..n].iter().enumerate() {
                if b != pattern(at + k as u64) {
                    return Err(format!("byte {} differs", at + k as u64));
                }
            }
            at += n as u64;
        }
    });
    let mut s = t
        .a
        .ns
        .run(|| {
            TcpStream::connect_timeout(&SocketAddr::from((INSIDE_B, 5201)), Duration::from_secs(5))
        })
        .unwrap()
        .expect("TCP connect through the tunnel");
    s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
    let chunk: Vec<u8> = (0..1u64 << 20).map(pattern).collect();
    let mut sent = 0u64;
    while sent < len {
        // `pattern` has period 2^32 in offset and the chunk is 2^20 long and starts at a
        // multiple of 2^20: byte k of chunk c is pattern(c * 2^20 + k) only if the pattern is
        // position-exact, so compute the real slice.
        let n = (len - sent).min(chunk.len() as u64) as usize;
        let piece: Vec<u8> = (sent..sent + n as u64).map(pattern).collect();
        s.write_all(&piece).expect("TCP write");
        sent += n as u64;
    }
    drop(s);
    let got = receiver.join().unwrap().expect("receiver");
    assert_eq!(got, len, "all bytes arrived");
}

fn ping(t: &StaticTunnel, from: &str, to: std::net::Ipv4Addr, size: usize) -> Result<(), String> {
    t.lab
        .exec(
            from,
            &[
                "ping",
                "-c",
                "3",
                "-i",
                "0.2",
                "-W",
                "2",
                "-s",
                &size.to_string(),
                &to.to_string(),
            ],
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn check_clean(t: &StaticTunnel) {
    for end in [&t.a, &t.b] {
        let c = end.dataplane.counters();
        assert_eq!(
            (
                c.integrity_failures,
                c.replay_drops,
                c.padding_errors,
                c.unknown_spi,
                c.malformed
            ),
            (0, 0, 0, 0, 0),
            "{}: {c:?}",
            end.node
        );
        assert!(c.packets_in > 0 && c.packets_out > 0, "{}: {c:?}", end.node);
        assert!(end.dataplane.last_inbound().is_some());
        assert!(end.dataplane.is_running());
    }
}

fn ping_and_tcp(lab: &str, algorithm: impl Into<Cipher>, offloads: bool) {
    let algorithm = algorithm.into();
    let mtu = match algorithm {
        Cipher::Aead(_) => INSIDE_MTU,
        Cipher::CbcHmac(..) => INSIDE_MTU_CBC,
    };
    let t = StaticTunnel::new(lab, algorithm, offloads, mtu);
    ping(&t, "a", INSIDE_B, 56).expect("ping a -> b");
    ping(&t, "b", INSIDE_A, 56).expect("ping b -> a");
    // Largest unfragmented inside packet: the MTU - 28 octets of ICMP payload.
    ping(&t, "a", INSIDE_B, mtu as usize - 28).expect("full-size ping");
    tcp_transfer(&t, 32 << 20);
    check_clean(&t);
    let sas = t.a.dataplane.sas();
    assert_eq!(sas.len(), 1);
    assert!(sas[0].outbound_active);
    assert_eq!(sas[0].cipher, algorithm);
    // 32 MiB in segments of at most 1386 octets: at least 24000 packets each way of the data.
    assert!(sas[0].outbound.packets_out > 24_000, "{:?}", sas[0]);
    assert!(t.b.dataplane.sas()[0].inbound.packets_in > 24_000);
}

#[test]
fn ping_and_tcp_aes256gcm_with_offloads() {
    ping_and_tcp("esp-dp-aes256", AeadAlgorithm::AesGcm16Key256, true);
}

#[test]
fn ping_and_tcp_chacha20poly1305_with_offloads() {
    ping_and_tcp("esp-dp-chacha", AeadAlgorithm::ChaCha20Poly1305, true);
}

#[test]
fn ping_and_tcp_aes256cbc_sha256_with_offloads() {
    ping_and_tcp(
        "esp-dp-cbc",
        Cipher::CbcHmac(CbcAlgorithm::Aes256, IntegAlgorithm::HmacSha256_128),
        true,
    );
}

#[test]
fn ping_and_tcp_aes128gcm_without_offloads() {
    ping_and_tcp("esp-dp-plain", AeadAlgorithm::AesGcm16Key128, false);
}

#[test]
fn garbage_is_counted_and_ike_reaches_the_channel() {
    let mut t = StaticTunnel::new(
        "esp-dp-junk",
        AeadAlgorithm::AesGcm16Key256,
        true,
        INSIDE_MTU,
    );
    let junk =
        t.a.ns
            .run(|| UdpSocket::bind(SocketAddr::from((OUTSIDE_A, 4501))))
            .unwrap()
            .unwrap();
    let b_esp = SocketAddr::from((OUTSIDE_B, 4500));
    // Unknown SPI, a runt, a keepalive, a forged packet for the real SPI, an IKE message.
    junk.send_to(&[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1, 0, 0, 0, 0], b_esp)
        .unwrap();
    junk.send_to(&[1, 2], b_esp).unwrap();
    junk.send_to(&[0xff], b_esp).unwrap();
    let mut forged = vec![0xb0, 0, 0, 1, 0, 0, 0, 9];
    forged.extend([0x55; 8 + 64 + 16]);
    junk.send_to(&forged, b_esp).unwrap();
    let mut ike = vec![0, 0, 0, 0];
    ike.extend(b"an IKE header would be here");
    junk.send_to(&ike, b_esp).unwrap();
    wait_for(
        "drops counted",
        Duration::from_secs(5),
        Duration::from_millis(10),
        || {
            let c = t.b.dataplane.counters();
            if c.unknown_spi == 1 && c.malformed == 1 && c.integrity_failures == 1 {
                Ok(c)
            } else {
                Err(c)
            }
        },
    )
    .unwrap();
    let got = wait_for(
        "IKE datagram",
        Duration::from_secs(5),
        Duration::from_millis(10),
        || t.b.channels.ike.try_recv().map_err(|e| e.to_string()),
    )
    .unwrap();
    assert_eq!(got.message, b"an IKE header would be here");
    assert_eq!(got.from, SocketAddr::from((OUTSIDE_A, 4501)));
    // Nothing forged reached the SA's window: real traffic still flows.
    ping(&t, "a", INSIDE_B, 56).expect("ping after junk");
    let sa = &t.b.dataplane.sas()[0];
    assert_eq!(sa.inbound.integrity_failures, 1);
}

#[test]
fn make_before_break_rekey_under_load_loses_at_most_a_handful() {
    let t = StaticTunnel::new(
        "esp-dp-rekey",
        AeadAlgorithm::AesGcm16Key256,
        true,
        INSIDE_MTU,
    );
    // A paced UDP stream with sequence numbers from a to b while both ends rekey.
    let rx =
        t.b.ns
            .run(|| UdpSocket::bind(SocketAddr::from((INSIDE_B, 9000))))
            .unwrap()
            .unwrap();
    rx.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    // The receiving application may be descheduled on a busy 2-core machine: give its socket
    // room so that loss measures the tunnel, not the scheduler.
    netns::sockbuf::set_socket_buffers(rx.as_fd(), 16 << 20, 1 << 20).unwrap();
    let tx =
        t.a.ns
            .run(|| UdpSocket::bind(SocketAddr::from((INSIDE_A, 0))))
            .unwrap()
            .unwrap();
    const COUNT: u32 = 20_000;
    let done = Arc::new(AtomicBool::new(false));
    let receiver = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut seen = vec![false; COUNT as usize];
            let mut buf = [0u8; 2048];
            loop {
                match rx.recv(&mut buf) {
                    Ok(n) if n >= 4 => {
                        let i = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
                        if i < seen.len() {
                            seen[i] = true;
                        }
                    }
                    Ok(_) => {}
                    Err(_) if done.load(Ordering::SeqCst) => break,
                    Err(_) => {}
                }
            }
            let missing: Vec<usize> = (0..seen.len()).filter(|&i| !seen[i]).collect();
            (seen.iter().filter(|s| **s).count() as u32, missing)
        })
    };
    let sender = std::thread::spawn(move || {
        let start = Instant::now();
        let mut payload = [0u8; 1000];
        for i in 0..COUNT {
            payload[..4].copy_from_slice(&i.to_be_bytes());
            // 20 packets per millisecond: about 2 s in all, well below what the tunnel carries.
            while start.elapsed() < Duration::from_micros(u64::from(i) * 50) {
                std::hint::spin_loop();
            }
            tx.send_to(&payload, SocketAddr::from((INSIDE_B, 9000)))
                .unwrap();
        }
    });
    // Let the old SA carry some of the stream, then rekey as IKE would: both ends install the
    // new pair (inbound live at once), switch outbound, and only then delete the old pair.
    wait_for(
        "old SA carries traffic",
        Duration::from_secs(5),
        Duration::from_millis(5),
        || {
            let n = t.b.dataplane.sas()[0].inbound.packets_in;
            if n > 3000 { Ok(n) } else { Err(n) }
        },
    )
    .unwrap();
    let (new_a, new_b) = (0xa000_0002, 0xb000_0002);
    t.b.dataplane
        .install(pair(t.algorithm, new_b, new_a))
        .unwrap();
    t.a.dataplane
        .install(pair(t.algorithm, new_a, new_b))
        .unwrap();
    t.b.dataplane.activate_outbound(new_b).unwrap();
    t.a.dataplane.activate_outbound(new_a).unwrap();
    wait_for(
        "new SA carries traffic",
        Duration::from_secs(5),
        Duration::from_millis(5),
        || {
            let sas = t.b.dataplane.sas();
            let n = sas
                .iter()
                .find(|s| s.inbound_spi == new_b)
                .unwrap()
                .inbound
                .packets_in;
            if n > 100 { Ok(n) } else { Err(n) }
        },
    )
    .unwrap();
    t.a.dataplane.remove(0xa000_0001).unwrap();
    t.b.dataplane.remove(0xb000_0001).unwrap();
    sender.join().unwrap();
    // Wait until nothing more arrives, then stop the receiver.
    wait_for(
        "stream drained",
        Duration::from_secs(5),
        Duration::from_millis(50),
        || {
            let before = t.b.dataplane.counters().packets_in;
            std::thread::sleep(Duration::from_millis(100));
            let after = t.b.dataplane.counters().packets_in;
            if before == after { Ok(()) } else { Err(after) }
        },
    )
    .unwrap();
    done.store(true, Ordering::SeqCst);
    let (received, missing) = receiver.join().unwrap();
    let lost = COUNT - received;
    assert!(
        lost <= 5,
        "lost {lost} of {COUNT} across the rekey: first missing {:?}, last {:?}; a {:?} b {:?}",
        &missing[..missing.len().min(20)],
        missing.last(),
        t.a.dataplane.counters(),
        t.b.dataplane.counters()
    );
    let sas = t.b.dataplane.sas();
    assert_eq!(sas.len(), 1);
    assert_eq!(sas[0].inbound_spi, new_b);
    assert!(sas[0].outbound_active);
    // Inside the tunnel nothing was lost at all: every ESP packet a sent, b accepted.
    let (ca, cb) = (t.a.dataplane.counters(), t.b.dataplane.counters());
    assert_eq!(ca.packets_out, cb.packets_in, "a {ca:?} b {cb:?}");
    assert_eq!(
        (cb.unknown_spi, cb.integrity_failures, cb.replay_drops),
        (0, 0, 0),
        "{cb:?}"
    );
    // TCP still works on the new SA alone.
    tcp_transfer(&t, 4 << 20);
}
