//! The proposal matrix against real strongSwan (charon 5.9.8, kernel-libipsec): every AWS
//! encryption x integrity family and every DH group family, in both roles, each case proven by
//! ESP traffic (a ping through the tunnel) before and after a CHILD_SA rekey with PFS.
//!
//! ```text
//!   hl-swmx-aws  (our tunnel i: vpn<i>, 192.0.2.<10+i>)       hl-swmx-cgw  (one charon)
//!   vpn<i> 169.254.40.<4i+1>/30 ── to-cgw ═══ veth ═══ to-aws 192.0.2.2 ── ipsec0 169.254.40.<4i+2>/30
//! ```
//!
//! Every case runs twice, as in the table and mirrored (the other side initiates the IKE SA and
//! the rekey), so each of its suites is seen in both roles. A last case is AWS's selection rule
//! against a real customer gateway: our end offers AWS's full default lists (lowest first) and
//! strongSwan proposes `aes256-sha256-modp2048,aes128-sha1-modp2048` (ESP
//! `aes256-sha256-modp2048,aes128-sha1-modp1024`); we must choose aes128-sha1-modp2048 for IKE
//! and aes128-sha1 (PFS modp1024 when strongSwan rekeys), as AWS does.
//!
//! After the CHILD_SA rekey, the side that did not create the IKE SA rekeys it (RFC 7296 §2.18:
//! new SKEYSEED from the old SK_d, new SK_ai/SK_ar/SK_ei/SK_er for the cipher) and the table's
//! side rekeys the CHILD_SA once more, through the new IKE SA; a last ping proves its keys.
//!
//! One lab and one charon for all cases, run one after another (a case's connection replaces
//! the previous one in charon; each of our tunnels has its own outside address, TUN and inside
//! /30, and is closed with a DELETE before the next starts), so the whole matrix costs one
//! charon start-up: 25 cases in about 9 s (debug build, 2026-12-04).
//!
//! Covering design. A case is: who initiates the IKE SA, the IKE suite (its group is the
//! IKE_SA_INIT key exchange), the ESP suite, and who rekeys the CHILD_SA with which PFS group
//! (the CREATE_CHILD_SA key exchange). The eight AES-CBC x HMAC combinations are each one case,
//! with roles assigned so that AES128-CBC and AES256-CBC, and each of SHA1, SHA2-256, SHA2-384,
//! SHA2-512, appear once with us initiating and once with strongSwan initiating; AES128-GCM-16 and
//! AES256-GCM-16 appear in both roles too (four cases, with the four PRFs). Every group family is
//! a key exchange initiated by us at least once and by strongSwan at least once, counting both
//! IKE_SA_INIT and the rekey:
//!
//! ```text
//!  #  IKE initiator  IKE suite (= ESP cipher)                 rekey by    PFS group
//!  1  we             aes128-sha1-modp1024              (2)   strongSwan  ecp384        (20)
//!  2  strongSwan     aes256-sha1-modp1024              (2)   we          modp2048      (14)
//!  3  strongSwan     aes128-sha256-modp1536            (5)   we          modp1536      (5)
//!  4  we             aes256-sha256-modp3072            (15)  strongSwan  ecp256        (19)
//!  5  we             aes128-sha384-ecp256              (19)  strongSwan  modp2048s256  (24)
//!  6  strongSwan     aes256-sha384-modp4096            (16)  we          ecp384        (20)
//!  7  strongSwan     aes128-sha512-ecp521              (21)  we          ecp256        (19)
//!  8  we             aes256-sha512-ecp521              (21)  strongSwan  modp2048      (14)
//!  9  we             aes128gcm16-prfsha1-modp2048s224  (23)  strongSwan  modp1024s160  (22)
//! 10  strongSwan     aes128gcm16-prfsha256-modp2048s256 (24) we          modp3072      (15)
//! 11  we             aes256gcm16-prfsha384-modp1024s160 (22) we          modp8192      (18)
//! 12  strongSwan     aes256gcm16-prfsha512-modp6144    (17)  strongSwan  modp2048s224  (23)
//! ```
//!
//! Key exchanges we initiate: 2, 5, 14, 15, 18, 19, 20, 21, 22, 23; strongSwan initiates: 2, 5,
//! 14, 16, 17, 19, 20, 21, 22, 23, 24: each family (2, 5, 14, MODP 15-18, 19, 20, 21, RFC 5114
//! 22-24) in both roles, every group AWS offers at least once. The test asserts these claims on
//! the table before running it. The ESP suite is the IKE cipher with the rekey's PFS group, so
//! each CBC + HMAC combination also carries ESP, encrypt-then-MAC, both ways (ping and reply).
//!
//! Needs root and strongSwan (see testkit::strongswan); fails, never skips. Prints each case and
//! its time (`--nocapture`).
#![allow(clippy::print_stderr)] // the per-case report

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

mod support;

use ipsec::crypto::aead::AeadAlgorithm;
use ipsec::crypto::cbc::CbcAlgorithm;
use ipsec::crypto::cipher::Cipher;
use ipsec::crypto::dh::DhGroup;
use ipsec::crypto::integ::IntegAlgorithm;
use ipsec::crypto::modp::ModpGroup;
use ipsec::crypto::prf::PrfAlgorithm;
use ipsec::dataplane::{Dataplane, DataplaneConfig, tun_options};
use ipsec::ike::config::StartupAction;
use ipsec::ike::suite::{EspSuite, IkeSuite, prf_of};
use ipsec::tunnel::{EspIo, TunnelHandle, TunnelIo, TunnelShow};
use netns::{Netns, NetnsDir};
use testkit::lab::Lab;
use testkit::strongswan::{CharonOptions, PskConnection, StartAction, StrongSwan};
use testkit::wait_for;

const PSK: &str = "Matrix.psk_4242";
const CGW: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    We,
    StrongSwan,
}

struct Case {
    initiator: Side,
    ike: IkeSuite,
    rekey_by: Side,
    pfs: DhGroup,
    /// Who rekeys the IKE SA (the side that did not create it, except in the AWS-rule case).
    ike_rekey_by: Side,
    /// Our suites when not just this case's (the AWS-rule case).
    ours: Option<(Vec<IkeSuite>, Vec<EspSuite>)>,
    /// strongSwan's proposals when not just this case's.
    theirs: Option<(String, String)>,
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::We => Side::StrongSwan,
            Side::StrongSwan => Side::We,
        }
    }
}

impl Case {
    fn mirrored(&self) -> Case {
        Case {
            initiator: self.initiator.other(),
            ike: self.ike,
            rekey_by: self.rekey_by.other(),
            pfs: self.pfs,
            ike_rekey_by: self.ike_rekey_by.other(),
            ours: self.ours.clone(),
            theirs: self.theirs.clone(),
        }
    }

    fn esp(&self) -> EspSuite {
        EspSuite {
            cipher: self.ike.cipher,
            pfs: Some(self.pfs),
        }
    }
}

fn cbc(c: CbcAlgorithm, i: IntegAlgorithm, dh: DhGroup) -> IkeSuite {
    IkeSuite {
        cipher: Cipher::CbcHmac(c, i),
        prf: prf_of(i),
        dh,
    }
}

fn gcm(a: AeadAlgorithm, prf: PrfAlgorithm, dh: DhGroup) -> IkeSuite {
    IkeSuite {
        cipher: Cipher::Aead(a),
        prf,
        dh,
    }
}

fn modp(g: ModpGroup) -> DhGroup {
    DhGroup::Modp(g)
}

/// The table in the module header.
fn cases() -> Vec<Case> {
    use AeadAlgorithm::{AesGcm16Key128 as G128, AesGcm16Key256 as G256};
    use CbcAlgorithm::{Aes128, Aes256};
    use IntegAlgorithm::{HmacSha1_96 as S1, HmacSha256_128 as S256};
    use IntegAlgorithm::{HmacSha384_192 as S384, HmacSha512_256 as S512};
    use ModpGroup::*;
    use Side::{StrongSwan as Sw, We};
    let case = |initiator: Side, ike, rekey_by, pfs| Case {
        initiator,
        ike,
        rekey_by,
        pfs,
        ike_rekey_by: initiator.other(),
        ours: None,
        theirs: None,
    };
    vec![
        case(We, cbc(Aes128, S1, modp(Modp1024)), Sw, DhGroup::Ecp384),
        case(Sw, cbc(Aes256, S1, modp(Modp1024)), We, modp(Modp2048)),
        case(Sw, cbc(Aes128, S256, modp(Modp1536)), We, modp(Modp1536)),
        case(We, cbc(Aes256, S256, modp(Modp3072)), Sw, DhGroup::Ecp256),
        case(
            We,
            cbc(Aes128, S384, DhGroup::Ecp256),
            Sw,
            modp(Modp2048s256),
        ),
        case(Sw, cbc(Aes256, S384, modp(Modp4096)), We, DhGroup::Ecp384),
        case(Sw, cbc(Aes128, S512, DhGroup::Ecp521), We, DhGroup::Ecp256),
        case(We, cbc(Aes256, S512, DhGroup::Ecp521), Sw, modp(Modp2048)),
        case(
            We,
            gcm(G128, PrfAlgorithm::HmacSha1, modp(Modp2048s224)),
            Sw,
            modp(Modp1024s160),
        ),
        case(
            Sw,
            gcm(G128, PrfAlgorithm::HmacSha256, modp(Modp2048s256)),
            We,
            modp(Modp3072),
        ),
        case(
            We,
            gcm(G256, PrfAlgorithm::HmacSha384, modp(Modp1024s160)),
            We,
            modp(Modp8192),
        ),
        case(
            Sw,
            gcm(G256, PrfAlgorithm::HmacSha512, modp(Modp6144)),
            Sw,
            modp(Modp2048s224),
        ),
    ]
}

/// AWS's default lists on our end (4 encryption x 4 integrity x groups 2, 14-24 in phase 1;
/// groups 2, 5, 14-24 for PFS), lowest first, against strongSwan's two proposals: the responder's
/// rule picks aes128-sha1-modp2048 (AES128 < AES256, SHA1 < SHA2-256, and 2 is not offered).
fn aws_rule_case() -> Case {
    let phase1: Vec<DhGroup> = [2, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]
        .into_iter()
        .map(|g| DhGroup::from_transform_id(g).unwrap())
        .collect();
    let phase2: Vec<DhGroup> = [2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]
        .into_iter()
        .map(|g| DhGroup::from_transform_id(g).unwrap())
        .collect();
    let mut ciphers = Vec::new();
    for c in [CbcAlgorithm::Aes128, CbcAlgorithm::Aes256] {
        for i in IntegAlgorithm::ALL.into_iter().rev() {
            ciphers.push((Cipher::CbcHmac(c, i), prf_of(i)));
        }
    }
    let mut ike = Vec::new();
    for &(cipher, prf) in &ciphers {
        for &dh in &phase1 {
            ike.push(IkeSuite { cipher, prf, dh });
        }
    }
    for a in [AeadAlgorithm::AesGcm16Key128, AeadAlgorithm::AesGcm16Key256] {
        for i in IntegAlgorithm::ALL.into_iter().rev() {
            for &dh in &phase1 {
                ike.push(gcm(a, prf_of(i), dh));
            }
        }
    }
    let mut esp = Vec::new();
    for &(cipher, _) in &ciphers {
        for &g in &phase2 {
            esp.push(EspSuite {
                cipher,
                pfs: Some(g),
            });
        }
    }
    let chosen = cbc(
        CbcAlgorithm::Aes128,
        IntegAlgorithm::HmacSha1_96,
        DhGroup::Modp(ModpGroup::Modp2048),
    );
    assert_eq!(ike[1], chosen, "IntegAlgorithm::ALL is strongest first");
    Case {
        initiator: Side::StrongSwan,
        ike: chosen,
        // strongSwan rekeys (CHILD_SA and IKE SA), so our rule chooses again (with
        // INVALID_KE_PAYLOAD for its guess of modp2048 in the CHILD_SA rekey); had we rekeyed,
        // strongSwan's preference would have picked aes256-sha256 as it may.
        rekey_by: Side::StrongSwan,
        pfs: DhGroup::Modp(ModpGroup::Modp1024),
        ike_rekey_by: Side::StrongSwan,
        ours: Some((ike, esp)),
        theirs: Some((
            "aes256-sha256-modp2048,aes128-sha1-modp2048".into(),
            "aes256-sha256-modp2048,aes128-sha1-modp1024".into(),
        )),
    }
}

/// Field order is drop order: tunnels and runtime, then charon, then the namespaces.
struct Matrix {
    rt: tokio::runtime::Runtime,
    sw: StrongSwan,
    lab: Lab,
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl Matrix {
    fn new() -> Matrix {
        let mut lab = Lab::new("swmx").expect("lab");
        lab.node("aws").expect("node aws");
        lab.node("cgw").expect("node cgw");
        lab.link("aws", "192.0.2.1/24", "cgw", &format!("{CGW}/24"))
            .expect("underlay");
        let sw = StrongSwan::start(&lab, "cgw", &CharonOptions::fast()).expect("charon");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        Matrix { rt, sw, lab }
    }

    /// Our tunnel for case `i`: its own outside address, TUN `vpn<i>` and inside /30.
    fn our_tunnel(&self, i: usize, case: &Case) -> TunnelHandle {
        let outside = Ipv4Addr::new(192, 0, 2, 10 + i as u8);
        self.lab
            .exec(
                "aws",
                &[
                    "ip",
                    "addr",
                    "add",
                    &format!("{outside}/24"),
                    "dev",
                    "to-cgw",
                ],
            )
            .unwrap();
        let startup = match case.initiator {
            Side::We => StartupAction::Start,
            Side::StrongSwan => StartupAction::Add,
        };
        let mut config = support::ike_tunnel(&format!("mx{i}"), outside, CGW, PSK, startup);
        (config.ike.ike_suites, config.ike.esp_suites) = case
            .ours
            .clone()
            .unwrap_or_else(|| (vec![case.ike], vec![case.esp()]));
        let ns = Netns::open(&NetnsDir::system(), &self.lab.ns("aws")).expect("namespace");
        let ifname = format!("vpn{i}");
        let tun = netns::create_tun(&ns, &tun_options(&ifname, true)).expect("TUN");
        let (ike, natt) = ns
            .run(|| ipsec::tunnel::bind_ike_sockets(IpAddr::V4(outside)))
            .expect("enter namespace")
            .expect("bind 500/4500");
        let inside = format!("169.254.40.{}/30", 4 * i + 1);
        self.lab
            .exec("aws", &["ip", "addr", "add", &inside, "dev", &ifname])
            .unwrap();
        // 1400 fits every cipher (CBC + HMAC-SHA2-512 needs 73 octets of ESP around a packet).
        self.lab
            .exec("aws", &["ip", "link", "set", &ifname, "mtu", "1400", "up"])
            .unwrap();
        let (dp, channels) = Dataplane::start(
            tun,
            natt,
            DataplaneConfig::new(format!("mx{i}"), SocketAddr::from((CGW, 4500))),
        )
        .expect("data plane");
        let _guard = self.rt.enter();
        ipsec::tunnel::spawn(
            config,
            TunnelIo {
                ike,
                esp: EspIo::Dataplane(dp, channels),
            },
        )
        .expect("tunnel")
    }

    fn show(&self, t: &TunnelHandle) -> TunnelShow {
        self.rt.block_on(t.show()).expect("show")
    }

    /// Both ends up with the expected suites, agreeing on SPIs, after `rekeys` = (CHILD_SA, IKE
    /// SA) rekeys; `ike_initiator` is who initiated the current IKE SA (a rekey's initiator,
    /// RFC 7296 §2.18). Returns our view.
    fn wait_up(
        &self,
        t: &TunnelHandle,
        conn: &str,
        case: &Case,
        rekeys: (u64, u64),
        ike_initiator: Side,
    ) -> TunnelShow {
        let show = wait_for(
            "our tunnel established with the expected CHILD_SA",
            Duration::from_secs(30),
            Duration::from_millis(50),
            || {
                let s = self.show(t);
                if s.state == "established"
                    && (s.child_rekeys, s.ike_rekeys) == rekeys
                    && s.child_sas.len() == 1
                    && s.child_sas[0].active
                {
                    Ok(s)
                } else {
                    Err(Box::new(s))
                }
            },
        )
        .unwrap_or_else(|e| panic!("{e}\ncharon log tail:\n{}", tail(&self.sw.log(), 40)));
        let ike = show.ike_sa.as_ref().unwrap();
        assert_eq!(ike.suite, case.ike.name());
        assert_eq!(ike.initiator, ike_initiator == Side::We);
        let child = &show.child_sas[0];
        assert_eq!(child.suite, case.esp().name());
        wait_for(
            "strongSwan has our IKE SA and the CHILD_SA for our outbound SPI",
            Duration::from_secs(10),
            Duration::from_millis(50),
            || {
                let sas = self.sw.list_sas().map_err(|e| e.to_string())?;
                let found = sas.iter().any(|sa| {
                    sa.name == conn
                        && sa.is_up()
                        && sa.get("initiator-spi") == ike.spi_i
                        && sa.get("responder-spi") == ike.spi_r
                        && sa.children.iter().any(|c| {
                            c.get("state") == "INSTALLED"
                                && c.get("spi-in") == child.outbound_spi
                                && c.get("spi-out") == child.inbound_spi
                        })
                });
                if found {
                    Ok(())
                } else {
                    Err(format!("{sas:?}"))
                }
            },
        )
        .unwrap();
        show
    }

    /// A ping from our side through case `i`'s tunnel (and its reply back).
    fn ping(&self, i: usize) {
        let to = format!("169.254.40.{}", 4 * i + 2);
        wait_for(
            &format!("ping {to} through tunnel {i}"),
            Duration::from_secs(10),
            Duration::from_millis(100),
            || {
                self.lab
                    .exec("aws", &["ping", "-c", "1", "-W", "1", &to])
                    .map_err(|e| e.to_string())
            },
        )
        .unwrap();
    }

    fn run(&self, i: usize, case: &Case) {
        let name = format!("m{i}");
        let mut conn = PskConnection::new(
            &name,
            IpAddr::V4(CGW),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + i as u8)),
            PSK,
        );
        (conn.proposals, conn.esp_proposals) = case
            .theirs
            .clone()
            .unwrap_or_else(|| (case.ike.name(), case.esp().name()));
        conn.start_action = StartAction::None;
        conn.keyingtries = 0;
        self.sw.load_connection(&conn).expect("swanctl --load-all");
        self.sw
            .add_tunnel_address(&self.lab, &format!("169.254.40.{}/30", 4 * i + 2))
            .unwrap();
        let tunnel = self.our_tunnel(i, case);
        if case.initiator == Side::StrongSwan {
            let out = self
                .sw
                .initiate(&conn.child_name(), Duration::from_secs(20))
                .unwrap_or_else(|e| panic!("case {i}: {e}\n{}", tail(&self.sw.log(), 40)));
            assert!(out.contains("initiate completed successfully"), "{out}");
        }
        let first = self.wait_up(&tunnel, &name, case, (0, 0), case.initiator);
        self.ping(i);
        let ours = self.show(&tunnel).counters.unwrap();
        assert!(ours.packets_in > 0 && ours.packets_out > 0, "{ours:?}");
        // CREATE_CHILD_SA with the PFS group, from the side the table names.
        let rekey_child = |by: Side| match by {
            Side::We => self.rt.block_on(tunnel.rekey_child()).unwrap(),
            Side::StrongSwan => self.sw.rekey_child(&conn.child_name()).unwrap(),
        };
        rekey_child(case.rekey_by);
        let second = self.wait_up(&tunnel, &name, case, (1, 0), case.initiator);
        assert_ne!(
            second.child_sas[0].inbound_spi,
            first.child_sas[0].inbound_spi
        );
        self.ping(i);
        // The IKE SA rekeyed by the side that did not create it (new SKEYSEED from the old SK_d,
        // new SK_a* / SK_e* for the cipher), then a CHILD_SA rekey protected by the new IKE SA.
        let other = case.ike_rekey_by;
        match other {
            Side::We => self.rt.block_on(tunnel.rekey_ike()).unwrap(),
            Side::StrongSwan => self.sw.rekey_ike(&name).unwrap(),
        }
        let third = self.wait_up(&tunnel, &name, case, (1, 1), other);
        assert_ne!(
            third.ike_sa.as_ref().unwrap().spi_i,
            first.ike_sa.as_ref().unwrap().spi_i
        );
        rekey_child(case.rekey_by);
        self.wait_up(&tunnel, &name, case, (2, 1), other);
        self.ping(i);
        let c = self.show(&tunnel).counters.unwrap();
        assert!(c.packets_in > ours.packets_in, "{c:?}");
        assert_eq!((c.integrity_failures, c.replay_drops), (0, 0), "{c:?}");
        self.rt.block_on(tunnel.close()).unwrap();
        wait_for(
            "strongSwan deleted the case's IKE SA",
            Duration::from_secs(10),
            Duration::from_millis(50),
            || {
                let sas = self.sw.list_sas().map_err(|e| e.to_string())?;
                if sas.iter().any(|sa| sa.name == name) {
                    Err(format!("{sas:?}"))
                } else {
                    Ok(())
                }
            },
        )
        .unwrap();
    }
}

#[test]
fn every_aws_proposal_family_interoperates_with_strongswan_in_both_roles() {
    let cases = cases();
    // The covering claims of the header, checked on the table itself.
    for side in [Side::We, Side::StrongSwan] {
        let ike: Vec<&Case> = cases.iter().filter(|c| c.initiator == side).collect();
        for enc in ["aes128-", "aes256-", "aes128gcm16-", "aes256gcm16-"] {
            assert!(
                ike.iter().any(|c| c.ike.name().starts_with(enc)),
                "{enc} {side:?}"
            );
        }
        for integ in [
            IntegAlgorithm::HmacSha1_96,
            IntegAlgorithm::HmacSha256_128,
            IntegAlgorithm::HmacSha384_192,
            IntegAlgorithm::HmacSha512_256,
        ] {
            assert!(
                ike.iter()
                    .any(|c| matches!(c.ike.cipher, Cipher::CbcHmac(_, i) if i == integ)),
                "{integ:?} {side:?}"
            );
        }
        let mut groups: Vec<u16> = ike.iter().map(|c| c.ike.dh.transform_id()).collect();
        groups.extend(
            cases
                .iter()
                .filter(|c| c.rekey_by == side)
                .map(|c| c.pfs.transform_id()),
        );
        for family in [
            &[2][..],
            &[5],
            &[14],
            &[15, 16, 17, 18],
            &[19],
            &[20],
            &[21],
            &[22, 23, 24],
        ] {
            assert!(
                family.iter().any(|g| groups.contains(g)),
                "group family {family:?} never initiated by {side:?}"
            );
        }
    }
    for c in CbcAlgorithm::ALL {
        for i in IntegAlgorithm::ALL {
            let cipher = Cipher::CbcHmac(c, i);
            assert!(cases.iter().any(|k| k.ike.cipher == cipher), "{cipher}");
        }
    }

    let mut all: Vec<Case> = cases.iter().flat_map(|c| [c.mirrored()]).collect();
    all.splice(0..0, cases);
    all.push(aws_rule_case());
    let m = Matrix::new();
    let started = Instant::now();
    for (i, case) in all.iter().enumerate() {
        let t = Instant::now();
        m.run(i, case);
        eprintln!(
            "case {i}: {} / esp {} ({:?} initiates, {:?} rekeys) ok in {:?}",
            case.ike.name(),
            case.esp().name(),
            case.initiator,
            case.rekey_by,
            t.elapsed()
        );
    }
    eprintln!("matrix: {} cases in {:?}", all.len(), started.elapsed());
}
