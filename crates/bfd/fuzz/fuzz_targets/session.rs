//! A whole session fed arbitrary packets and events: the input is a little program (one opcode
//! byte, then its operands) of received packets (raw bytes through the decoder), time passing,
//! AdminDown/AdminUp and timer changes. Nothing may panic, the deadline must always move on, and
//! every packet the session asks to send must be valid on the wire, never P and F together, and
//! at least 1 s of Desired Min TX while not Up (RFC 5880 §6.8.3).
#![no_main]
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use bfd::session::{Config, Input, Output, Session, Timers};
use bfd::wire::{Repr, State};
use libfuzzer_sys::fuzz_target;

fn u32_at(d: &[u8], i: usize) -> u32 {
    let mut b = [0u8; 4];
    for (k, x) in b.iter_mut().enumerate() {
        *x = d.get(i + k).copied().unwrap_or(0);
    }
    u32::from_be_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, mut rest)) = data.split_first() else {
        return;
    };
    let t0 = Instant::now();
    let mut now = t0;
    let mut s = Session::new(
        Config {
            local_discriminator: NonZeroU32::new(7).unwrap(),
            timers: Timers::from_millis(300, 300, (head % 4) + 1).unwrap(),
            passive: head & 0x80 != 0,
            jitter_seed: u64::from(head),
        },
        t0,
    );
    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        let out = match op % 6 {
            0 | 1 => {
                // A packet: the next 24 octets, Your Discriminator aimed at us half the time.
                let n = rest.len().min(24);
                let mut pkt = rest[..n].to_vec();
                rest = &rest[n..];
                if op & 0x10 != 0 && pkt.len() == 24 {
                    pkt[8..12].copy_from_slice(&7u32.to_be_bytes());
                }
                match Repr::parse_bytes(&pkt) {
                    Ok(r) => s.handle(now, Input::Packet(r)),
                    Err(_) => Vec::new(),
                }
            }
            2 => {
                let advance = u32_at(rest, 0) % 5_000_000;
                rest = rest.get(4..).unwrap_or(&[]);
                now += Duration::from_micros(advance.into());
                let mut out = Vec::new();
                let mut rounds = 0;
                while let Some(at) = s.poll_timeout() {
                    if at > now {
                        break;
                    }
                    rounds += 1;
                    assert!(rounds < 1000, "the deadline does not move");
                    out.extend(s.handle(at, Input::Timeout));
                }
                out
            }
            3 => s.handle(now, Input::AdminDown),
            4 => s.handle(now, Input::AdminUp),
            _ => {
                let (tx, rx) = (u32_at(rest, 0).max(1), u32_at(rest, 4).max(1));
                let mult = rest.get(8).copied().unwrap_or(3).max(1);
                rest = rest.get(9..).unwrap_or(&[]);
                s.handle(now, Input::SetTimers(Timers::from_micros(tx, rx, mult).unwrap()))
            }
        };
        for o in out {
            if let Output::Send(p) = o {
                assert_eq!(p.check(), Ok(()), "{p:?}");
                assert!(!(p.poll && p.final_), "{p:?}");
                assert_eq!(p.my_discriminator, 7);
                if p.state != State::Up {
                    assert!(p.desired_min_tx >= 1_000_000, "{p:?}");
                }
            }
        }
    }
});
