//! Property tests: the decoder never panics on arbitrary or mutated bytes, parse(emit(x)) == x
//! for every valid packet, whatever parses re-encodes to the same octets, and a session fed
//! arbitrary inputs never panics and only ever sends packets that are valid on the wire.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use bfd::session::{Config, Input, Output, Session, Timers};
use bfd::wire::{Diag, HEADER_LEN, Packet, Repr, State};
use proptest::prelude::*;

fn state() -> impl Strategy<Value = State> {
    (0u8..4).prop_map(State::from_bits)
}

/// Any packet that [`Repr::parse`] accepts.
fn valid_repr() -> impl Strategy<Value = Repr> {
    (
        (0u8..32, state(), any::<bool>(), any::<bool>()),
        (any::<bool>(), any::<bool>(), 1u8..=255),
        (1u32..=u32::MAX, any::<u32>()),
        (any::<u32>(), any::<u32>(), any::<u32>()),
    )
        .prop_map(
            |((diag, state, poll, final_), (cpi, demand, mult), (my, your), (tx, rx, echo))| {
                let your = if matches!(state, State::Down | State::AdminDown) {
                    your
                } else {
                    your.max(1)
                };
                Repr {
                    diag: Diag::from_bits(diag),
                    state,
                    poll,
                    final_,
                    control_plane_independent: cpi,
                    demand,
                    detect_mult: mult,
                    my_discriminator: my,
                    your_discriminator: your,
                    desired_min_tx: tx,
                    required_min_rx: rx,
                    required_min_echo_rx: echo,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
        let _ = Repr::parse_bytes(&bytes);
        if let Ok(p) = Packet::new_checked(&bytes[..]) {
            // After check_len no accessor panics.
            let _ = (p.version(), p.diag(), p.state(), p.poll(), p.final_(), p.demand());
            let _ = (p.control_plane_independent(), p.auth_present(), p.multipoint());
            let _ = (p.detect_mult(), p.length(), p.my_discriminator(), p.your_discriminator());
            let _ = (p.desired_min_tx(), p.required_min_rx(), p.required_min_echo_rx());
            let _ = p.auth_header();
        }
    }

    #[test]
    fn parse_emit_round_trip(r in valid_repr()) {
        let bytes = r.to_bytes();
        prop_assert_eq!(Repr::parse_bytes(&bytes), Ok(r));
        prop_assert_eq!(r.check(), Ok(()));
        prop_assert_eq!(r.buffer_len(), bytes.len());
    }

    #[test]
    fn whatever_parses_re_encodes_to_the_same_octets(
        r in valid_repr(),
        flips in prop::collection::vec((0usize..HEADER_LEN, any::<u8>()), 0..4),
        tail in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut bytes = r.to_bytes().to_vec();
        for (at, x) in flips {
            bytes[at] ^= x;
        }
        bytes.extend_from_slice(&tail);
        if let Ok(parsed) = Repr::parse_bytes(&bytes) {
            let mut expected = bytes[..HEADER_LEN].to_vec();
            expected[3] = HEADER_LEN as u8; // we always emit Length 24
            prop_assert_eq!(parsed.to_bytes().to_vec(), expected);
        }
    }
}

#[derive(Debug, Clone)]
enum Step {
    Wait(u32),
    Bytes(Vec<u8>),
    Packet(Repr),
    AdminDown,
    AdminUp,
    SetTimers(u32, u32, u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u32..2_000_000).prop_map(Step::Wait),
        2 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Step::Bytes),
        4 => valid_repr().prop_map(|mut r| {
            // Mostly aimed at our session, as the demultiplexer would deliver.
            if r.your_discriminator % 4 != 0 {
                r.your_discriminator = 7;
            }
            Step::Packet(r)
        }),
        1 => Just(Step::AdminDown),
        1 => Just(Step::AdminUp),
        1 => (1u32..3_000_000, 1u32..3_000_000, 1u8..=10)
            .prop_map(|(t, r, m)| Step::SetTimers(t, r, m)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn a_session_survives_anything_and_sends_only_valid_packets(
        passive in any::<bool>(),
        steps in prop::collection::vec(step(), 0..60),
    ) {
        let t0 = Instant::now();
        let mut now = t0;
        let mut s = Session::new(
            Config {
                local_discriminator: NonZeroU32::new(7).unwrap(),
                timers: Timers::from_millis(300, 300, 3).unwrap(),
                passive,
                jitter_seed: 9,
            },
            t0,
        );
        for st in steps {
            let out = match st {
                Step::Wait(us) => {
                    now += Duration::from_micros(us.into());
                    let mut out = Vec::new();
                    let mut rounds = 0;
                    while let Some(at) = s.poll_timeout() {
                        if at > now {
                            break;
                        }
                        rounds += 1;
                        prop_assert!(rounds < 100, "deadline {:?} does not move", at - t0);
                        out.extend(s.handle(at, Input::Timeout));
                    }
                    out
                }
                Step::Bytes(b) => match Repr::parse_bytes(&b) {
                    Ok(r) => s.handle(now, Input::Packet(r)),
                    Err(_) => Vec::new(),
                },
                Step::Packet(r) => s.handle(now, Input::Packet(r)),
                Step::AdminDown => s.handle(now, Input::AdminDown),
                Step::AdminUp => s.handle(now, Input::AdminUp),
                Step::SetTimers(t, r, m) => {
                    s.handle(now, Input::SetTimers(Timers::from_micros(t, r, m).unwrap()))
                }
            };
            let mut last_state = None;
            for o in out {
                match o {
                    Output::Send(p) => {
                        prop_assert_eq!(p.check(), Ok(()), "{:?}", p);
                        prop_assert!(!(p.poll && p.final_), "P and F together: {:?}", p);
                        prop_assert_eq!(p.my_discriminator, 7);
                        if p.state != State::Up {
                            prop_assert!(p.desired_min_tx >= 1_000_000, "{:?}", p);
                        }
                        prop_assert!(!p.demand);
                    }
                    Output::StateChanged(t) => {
                        prop_assert_ne!(t.from, t.to);
                        if let Some(prev) = last_state {
                            prop_assert_eq!(t.from, prev);
                        }
                        last_state = Some(t.to);
                    }
                }
            }
            if let Some(st) = last_state {
                prop_assert_eq!(st, s.state());
            }
        }
    }
}
