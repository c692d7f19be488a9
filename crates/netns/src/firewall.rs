//! Traffic cuts: nftables drop rules inside a namespace, spoken as nf_tables netlink directly
//! (no `nft` binary), added and removed as one unit so a restore removes exactly one cut.
//!
//! Written by the scenario-engine engineer for the netns owner to fold in (issue #2, item 8):
//! kept self-contained so it can be moved or rewritten without touching the rest of the crate.
//!
//! Each cut is its own table `inet hl-cut-<pid>-<n>` with three base chains (input, forward,
//! output; policy accept) holding only drop rules, so restoring a cut is deleting its table:
//! other cuts, and any rules the user's own processes installed, are untouched.
//!
//! ```text
//!   cut { ifname: Some("wan0"), proto: Some(udp), port: Some(4500) } becomes
//!   table inet hl-cut-4242-1 {
//!     chain input   { type filter hook input   priority -300; iifname "wan0" meta l4proto udp th dport 4500 drop
//!                                                             iifname "wan0" meta l4proto udp th sport 4500 drop }
//!     chain forward { ... the same with iifname, then with oifname ... }
//!     chain output  { ... the same with oifname ... }
//!   }
//!   without ifname: iifname/oifname != "lo" (every interface but loopback).
//!   with ports [500, 4500]: the rules above once per port.
//!   with peer 203.0.113.9: each rule twice, once with `ip saddr 203.0.113.9` and once with
//!   `ip daddr 203.0.113.9` (a `meta nfproto ipv4` check first, so IPv6 packets never match).
//!   with loss 20: each rule ends in `numgen random mod 100 < 20` before its drop, so about one
//!   matching packet in five is dropped, each independently (random loss, not a cut).
//! ```
//!
//! Netlink shapes (include/uapi/linux/netfilter/nf_tables.h, nfnetlink.h): a batch
//! `NFNL_MSG_BATCH_BEGIN`, the `NFT_MSG_*` messages, `NFNL_MSG_BATCH_END`, each with a
//! `struct nfgenmsg` header; integers in attributes are big-endian; nested attributes carry
//! `NLA_F_NESTED`. The kernel applies the whole batch or none of it.
//!
//! What it does not do: stateful matching, rate limiting, delay or corruption (the kernel here
//! has no netem: random loss is the only impairment, from `numgen`); or IPv4-only/IPv6-only
//! cuts (the `inet` family covers both).

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_NETFILTER};

use crate::error::{Error, Result};
use crate::namespace::Netns;

// nfnetlink / nf_tables constants (linux/netfilter/nfnetlink.h, nf_tables.h, netfilter.h).
pub(crate) const NFNL_SUBSYS_NFTABLES: u16 = 10;
pub(crate) const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
pub(crate) const NFNL_MSG_BATCH_END: u16 = 0x11;
pub(crate) const NFT_MSG_NEWTABLE: u16 = 0;
pub(crate) const NFT_MSG_DELTABLE: u16 = 2;
pub(crate) const NFT_MSG_NEWCHAIN: u16 = 3;
pub(crate) const NFT_MSG_NEWRULE: u16 = 6;
const NFPROTO_INET: u8 = 1;

pub(crate) const NFTA_TABLE_NAME: u16 = 1;
pub(crate) const NFTA_CHAIN_TABLE: u16 = 1;
pub(crate) const NFTA_CHAIN_NAME: u16 = 3;
pub(crate) const NFTA_CHAIN_HOOK: u16 = 4;
pub(crate) const NFTA_CHAIN_POLICY: u16 = 5;
pub(crate) const NFTA_CHAIN_TYPE: u16 = 7;
pub(crate) const NFTA_HOOK_HOOKNUM: u16 = 1;
pub(crate) const NFTA_HOOK_PRIORITY: u16 = 2;
pub(crate) const NFTA_RULE_TABLE: u16 = 1;
pub(crate) const NFTA_RULE_CHAIN: u16 = 2;
pub(crate) const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_META_DREG: u16 = 1;
const NFTA_META_KEY: u16 = 2;
const NFTA_CMP_SREG: u16 = 1;
const NFTA_CMP_OP: u16 = 2;
const NFTA_CMP_DATA: u16 = 3;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
const NFTA_PAYLOAD_DREG: u16 = 1;
const NFTA_PAYLOAD_BASE: u16 = 2;
const NFTA_PAYLOAD_OFFSET: u16 = 3;
const NFTA_PAYLOAD_LEN: u16 = 4;
const NFTA_IMMEDIATE_DREG: u16 = 1;
const NFTA_IMMEDIATE_DATA: u16 = 2;
const NFTA_NG_DREG: u16 = 1;
const NFTA_NG_MODULUS: u16 = 2;
const NFTA_NG_TYPE: u16 = 3;
const NFTA_BYTEORDER_SREG: u16 = 1;
const NFTA_BYTEORDER_DREG: u16 = 2;
const NFTA_BYTEORDER_OP: u16 = 3;
const NFTA_BYTEORDER_LEN: u16 = 4;
const NFTA_BYTEORDER_SIZE: u16 = 5;
const NFT_NG_RANDOM: u32 = 1;
const NFT_BYTEORDER_HTON: u32 = 1;
const NFT_CMP_LT: u32 = 2;

const NFT_META_IIFNAME: u32 = 6;
pub(crate) const NFT_META_OIFNAME: u32 = 7;
const NFT_META_NFPROTO: u32 = 15;
const NFT_META_L4PROTO: u32 = 16;
pub(crate) const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;
const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
pub(crate) const NFT_CMP_EQ: u32 = 0;
const NFT_CMP_NEQ: u32 = 1;
const NFT_PAYLOAD_TRANSPORT_HEADER: u32 = 2;
const NFT_REG_VERDICT: u32 = 0;
const NFT_REG_1: u32 = 1;
const NF_DROP: u32 = 0;
pub(crate) const NF_ACCEPT: u32 = 1;

const NF_INET_LOCAL_IN: u32 = 1;
const NF_INET_FORWARD: u32 = 2;
const NF_INET_LOCAL_OUT: u32 = 3;
/// NF_IP_PRI_RAW: before conntrack and before any filter table a user may add.
const PRIORITY: i32 = -300;

const NLMSG_ERROR: u16 = 2;
pub(crate) const NLM_F_REQUEST: u16 = 0x1;
pub(crate) const NLM_F_ACK: u16 = 0x4;
pub(crate) const NLM_F_CREATE: u16 = 0x400;
const NLA_F_NESTED: u16 = 0x8000;
const IFNAMSIZ: usize = 16;

const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_SCTP: u8 = 132;
const IPPROTO_UDPLITE: u8 = 136;
const IPPROTO_DCCP: u8 = 33;

/// What a cut drops.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CutSpec {
    /// Only traffic entering or leaving this interface; `None`: every interface but `lo`.
    pub ifname: Option<String>,
    /// Only this IP protocol (17 udp, 6 tcp, 1 icmp, 50 esp, ...); `None`: every protocol.
    pub proto: Option<u8>,
    /// Only these source or destination ports (any of them); empty: every port. Without
    /// `proto` they mean UDP and TCP.
    pub ports: Vec<u16>,
    /// Only traffic from or to this address (e.g. one tunnel's peer); `None`: any address.
    pub peer: Option<IpAddr>,
    /// Drop only this percentage of the matching packets, each chosen independently at random
    /// (1 to 99); `None`: drop every matching packet.
    pub loss_percent: Option<u8>,
}

/// An installed cut; [`restore`] removes it. Dropping it leaves the rules in place (they go
/// with the namespace).
#[derive(Debug, PartialEq, Eq)]
pub struct Cut {
    table: String,
    namespace: String,
}

impl Cut {
    /// The nftables table holding the cut (`nft list table inet <name>` shows it).
    pub fn table(&self) -> &str {
        &self.table
    }
}

/// One match of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match<'a> {
    IifName {
        name: &'a str,
        equal: bool,
    },
    OifName {
        name: &'a str,
        equal: bool,
    },
    L4Proto(u8),
    SrcPort(u16),
    DstPort(u16),
    SrcAddr(IpAddr),
    DstAddr(IpAddr),
    /// `numgen random mod 100 < percent`.
    Random(u8),
}

/// A drop rule: matches, all of which must hold, in one base chain.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule<'a> {
    chain: &'static str,
    matches: Vec<Match<'a>>,
}

const CHAINS: [(&str, u32); 3] = [
    ("input", NF_INET_LOCAL_IN),
    ("forward", NF_INET_FORWARD),
    ("output", NF_INET_LOCAL_OUT),
];

fn has_ports(proto: u8) -> bool {
    matches!(
        proto,
        IPPROTO_TCP | IPPROTO_UDP | IPPROTO_SCTP | IPPROTO_UDPLITE | IPPROTO_DCCP
    )
}

/// The rules of a cut (pure).
fn rules(spec: &CutSpec) -> Result<Vec<Rule<'_>>> {
    if let Some(name) = &spec.ifname
        && (name.is_empty() || name.len() >= IFNAMSIZ)
    {
        return Err(Error::invalid(
            "interface name",
            name.clone(),
            "must have 1 to 15 bytes",
        ));
    }
    let protos: Vec<Option<u8>> = match (spec.proto, spec.ports.first()) {
        (Some(p), Some(_)) if !has_ports(p) => {
            return Err(Error::invalid(
                "cut",
                format!("{spec:?}"),
                format!("IP protocol {p} has no ports"),
            ));
        }
        (None, Some(_)) => vec![Some(IPPROTO_UDP), Some(IPPROTO_TCP)],
        (p, _) => vec![p],
    };
    let ports: Vec<Option<Match<'_>>> = if spec.ports.is_empty() {
        vec![None]
    } else {
        spec.ports
            .iter()
            .flat_map(|p| [Some(Match::DstPort(*p)), Some(Match::SrcPort(*p))])
            .collect()
    };
    let peers: Vec<Option<Match<'_>>> = match spec.peer {
        Some(a) => vec![Some(Match::SrcAddr(a)), Some(Match::DstAddr(a))],
        None => vec![None],
    };
    if let Some(pct) = spec.loss_percent
        && !(1..=99).contains(&pct)
    {
        return Err(Error::invalid(
            "loss",
            format!("{pct}%"),
            "must be 1 to 99 percent",
        ));
    }
    let (name, equal) = match &spec.ifname {
        Some(n) => (n.as_str(), true),
        None => ("lo", false),
    };
    let mut out = Vec::new();
    for (chain, _) in CHAINS {
        let dev_matches: &[Match<'_>] = match chain {
            "input" => &[Match::IifName { name, equal }],
            "output" => &[Match::OifName { name, equal }],
            _ => &[
                Match::IifName { name, equal },
                Match::OifName { name, equal },
            ],
        };
        for dev in dev_matches {
            for proto in &protos {
                for port in &ports {
                    for peer in &peers {
                        let mut matches = vec![*dev];
                        matches.extend(*peer);
                        matches.extend(proto.map(Match::L4Proto));
                        matches.extend(*port);
                        matches.extend(spec.loss_percent.map(Match::Random));
                        out.push(Rule { chain, matches });
                    }
                }
            }
        }
    }
    Ok(out)
}

/// A netlink message under construction.
pub(crate) struct Msg {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl Msg {
    pub(crate) fn new(ty: u16, flags: u16, seq: u32, family: u8, res_id: u16) -> Msg {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len, set by finish()
        buf.extend_from_slice(&ty.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid
        // struct nfgenmsg { u8 family; u8 version (NFNETLINK_V0); __be16 res_id; }
        buf.push(family);
        buf.push(0);
        buf.extend_from_slice(&res_id.to_be_bytes());
        Msg {
            buf,
            nests: Vec::new(),
        }
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    pub(crate) fn attr(&mut self, ty: u16, data: &[u8]) -> &mut Msg {
        let len = u16::try_from(4 + data.len()).unwrap_or(u16::MAX);
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    pub(crate) fn str(&mut self, ty: u16, s: &str) -> &mut Msg {
        let mut d = s.as_bytes().to_vec();
        d.push(0);
        self.attr(ty, &d)
    }

    pub(crate) fn be32(&mut self, ty: u16, v: u32) -> &mut Msg {
        self.attr(ty, &v.to_be_bytes())
    }

    pub(crate) fn begin(&mut self, ty: u16) -> &mut Msg {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        self
    }

    pub(crate) fn end(&mut self) -> &mut Msg {
        if let Some(at) = self.nests.pop() {
            let len = u16::try_from(self.buf.len() - at).unwrap_or(u16::MAX);
            self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        let len = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// Appends one expression `{ NFTA_EXPR_NAME, NFTA_EXPR_DATA { .. } }` to a rule.
pub(crate) fn expr(m: &mut Msg, name: &str, data: impl FnOnce(&mut Msg)) {
    m.begin(NFTA_LIST_ELEM).str(NFTA_EXPR_NAME, name);
    m.begin(NFTA_EXPR_DATA);
    data(m);
    m.end().end();
}

pub(crate) fn meta_load(m: &mut Msg, key: u32) {
    expr(m, "meta", |m| {
        m.be32(NFTA_META_KEY, key).be32(NFTA_META_DREG, NFT_REG_1);
    });
}

pub(crate) fn cmp(m: &mut Msg, op: u32, value: &[u8]) {
    expr(m, "cmp", |m| {
        m.be32(NFTA_CMP_SREG, NFT_REG_1).be32(NFTA_CMP_OP, op);
        m.begin(NFTA_CMP_DATA).attr(NFTA_DATA_VALUE, value).end();
    });
}

pub(crate) fn ifname_bytes(name: &str) -> [u8; IFNAMSIZ] {
    let mut b = [0u8; IFNAMSIZ];
    let n = name.len().min(IFNAMSIZ - 1);
    b[..n].copy_from_slice(&name.as_bytes()[..n]);
    b
}

fn encode_match(m: &mut Msg, what: &Match<'_>) {
    let op = |equal: bool| if equal { NFT_CMP_EQ } else { NFT_CMP_NEQ };
    match *what {
        Match::IifName { name, equal } => {
            meta_load(m, NFT_META_IIFNAME);
            cmp(m, op(equal), &ifname_bytes(name));
        }
        Match::OifName { name, equal } => {
            meta_load(m, NFT_META_OIFNAME);
            cmp(m, op(equal), &ifname_bytes(name));
        }
        Match::L4Proto(p) => {
            meta_load(m, NFT_META_L4PROTO);
            cmp(m, NFT_CMP_EQ, &[p]);
        }
        Match::SrcPort(port) | Match::DstPort(port) => {
            let offset = if matches!(what, Match::SrcPort(_)) {
                0
            } else {
                2
            };
            expr(m, "payload", |m| {
                m.be32(NFTA_PAYLOAD_DREG, NFT_REG_1)
                    .be32(NFTA_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER)
                    .be32(NFTA_PAYLOAD_OFFSET, offset)
                    .be32(NFTA_PAYLOAD_LEN, 2);
            });
            cmp(m, NFT_CMP_EQ, &port.to_be_bytes());
        }
        Match::SrcAddr(addr) | Match::DstAddr(addr) => {
            let src = matches!(what, Match::SrcAddr(_));
            // RFC 791 section 3.1: source at byte 12, destination at 16 (4 bytes each);
            // RFC 8200 section 3: source at byte 8, destination at 24 (16 bytes each).
            let (family, offset, bytes): (u8, u32, Vec<u8>) = match addr {
                IpAddr::V4(a) => (NFPROTO_IPV4, if src { 12 } else { 16 }, a.octets().to_vec()),
                IpAddr::V6(a) => (NFPROTO_IPV6, if src { 8 } else { 24 }, a.octets().to_vec()),
            };
            meta_load(m, NFT_META_NFPROTO);
            cmp(m, NFT_CMP_EQ, &[family]);
            expr(m, "payload", |m| {
                m.be32(NFTA_PAYLOAD_DREG, NFT_REG_1)
                    .be32(NFTA_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER)
                    .be32(NFTA_PAYLOAD_OFFSET, offset)
                    .be32(NFTA_PAYLOAD_LEN, bytes.len() as u32);
            });
            cmp(m, NFT_CMP_EQ, &bytes);
        }
        Match::Random(percent) => {
            // numgen writes a host-order u32; cmp's `<` compares bytes in order, so the
            // register goes through byteorder (hton) first, as nft itself does.
            expr(m, "numgen", |m| {
                m.be32(NFTA_NG_DREG, NFT_REG_1)
                    .be32(NFTA_NG_MODULUS, 100)
                    .be32(NFTA_NG_TYPE, NFT_NG_RANDOM);
            });
            expr(m, "byteorder", |m| {
                m.be32(NFTA_BYTEORDER_SREG, NFT_REG_1)
                    .be32(NFTA_BYTEORDER_DREG, NFT_REG_1)
                    .be32(NFTA_BYTEORDER_OP, NFT_BYTEORDER_HTON)
                    .be32(NFTA_BYTEORDER_LEN, 4)
                    .be32(NFTA_BYTEORDER_SIZE, 4);
            });
            cmp(m, NFT_CMP_LT, &u32::from(percent).to_be_bytes());
        }
    }
}

pub(crate) fn nft_type(msg: u16) -> u16 {
    (NFNL_SUBSYS_NFTABLES << 8) | msg
}

/// The batch that installs a cut, and the number of messages that will be acknowledged.
fn install_batch(table: &str, rules: &[Rule<'_>], seq: u32) -> (Vec<u8>, u32) {
    let mut out = Vec::new();
    let mut seq = seq;
    let mut acked = 0;
    let push = |m: Msg, out: &mut Vec<u8>| out.extend(m.finish());
    push(
        Msg::new(
            NFNL_MSG_BATCH_BEGIN,
            NLM_F_REQUEST,
            seq,
            0,
            NFNL_SUBSYS_NFTABLES,
        ),
        &mut out,
    );
    let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;
    seq += 1;
    let mut m = Msg::new(nft_type(NFT_MSG_NEWTABLE), flags, seq, NFPROTO_INET, 0);
    m.str(NFTA_TABLE_NAME, table);
    push(m, &mut out);
    acked += 1;
    for (chain, hook) in CHAINS {
        seq += 1;
        let mut m = Msg::new(nft_type(NFT_MSG_NEWCHAIN), flags, seq, NFPROTO_INET, 0);
        m.str(NFTA_CHAIN_TABLE, table).str(NFTA_CHAIN_NAME, chain);
        m.begin(NFTA_CHAIN_HOOK)
            .be32(NFTA_HOOK_HOOKNUM, hook)
            .be32(NFTA_HOOK_PRIORITY, PRIORITY as u32)
            .end();
        m.be32(NFTA_CHAIN_POLICY, NF_ACCEPT)
            .str(NFTA_CHAIN_TYPE, "filter");
        push(m, &mut out);
        acked += 1;
    }
    for rule in rules {
        seq += 1;
        let mut m = Msg::new(nft_type(NFT_MSG_NEWRULE), flags, seq, NFPROTO_INET, 0);
        m.str(NFTA_RULE_TABLE, table)
            .str(NFTA_RULE_CHAIN, rule.chain);
        m.begin(NFTA_RULE_EXPRESSIONS);
        for what in &rule.matches {
            encode_match(&mut m, what);
        }
        expr(&mut m, "immediate", |m| {
            m.be32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
            m.begin(NFTA_IMMEDIATE_DATA)
                .begin(NFTA_DATA_VERDICT)
                .be32(NFTA_VERDICT_CODE, NF_DROP)
                .end()
                .end();
        });
        m.end();
        push(m, &mut out);
        acked += 1;
    }
    seq += 1;
    push(
        Msg::new(
            NFNL_MSG_BATCH_END,
            NLM_F_REQUEST,
            seq,
            0,
            NFNL_SUBSYS_NFTABLES,
        ),
        &mut out,
    );
    (out, acked)
}

/// The batch that deletes a cut's table (with its chains and rules).
fn delete_batch(table: &str, seq: u32) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(
        Msg::new(
            NFNL_MSG_BATCH_BEGIN,
            NLM_F_REQUEST,
            seq,
            0,
            NFNL_SUBSYS_NFTABLES,
        )
        .finish(),
    );
    let mut m = Msg::new(
        nft_type(NFT_MSG_DELTABLE),
        NLM_F_REQUEST | NLM_F_ACK,
        seq + 1,
        NFPROTO_INET,
        0,
    );
    m.str(NFTA_TABLE_NAME, table);
    out.extend(m.finish());
    out.extend(
        Msg::new(
            NFNL_MSG_BATCH_END,
            NLM_F_REQUEST,
            seq + 2,
            0,
            NFNL_SUBSYS_NFTABLES,
        )
        .finish(),
    );
    out
}

/// Reads the acknowledgements of `expected` messages; the first error wins.
pub(crate) fn read_acks(sock: &Socket, expected: u32, what: &str) -> Result<()> {
    let mut got = 0;
    let mut buf = vec![0u8; 65536];
    while got < expected {
        let n = sock
            .recv(&mut &mut buf[..], 0)
            .map_err(|e| Error::os(format!("{what}: reading the kernel's answer"), e))?;
        let mut rest = &buf[..n];
        while rest.len() >= 16 {
            let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let ty = u16::from_ne_bytes([rest[4], rest[5]]);
            if len < 16 || len > rest.len() {
                return Err(Error::Unavailable {
                    what: what.to_string(),
                    detail: "malformed netlink answer".into(),
                });
            }
            if ty == NLMSG_ERROR && len >= 20 {
                let code = i32::from_ne_bytes([rest[16], rest[17], rest[18], rest[19]]);
                if code != 0 {
                    let errno = -code;
                    return Err(Error::Netlink {
                        what: what.to_string(),
                        errno: Some(errno),
                        message: std::io::Error::from_raw_os_error(errno).to_string(),
                    });
                }
                got += 1;
            }
            rest = &rest[len.next_multiple_of(4).min(rest.len())..];
        }
    }
    Ok(())
}

/// Sends a batch from inside `ns` and waits for its acknowledgements.
pub(crate) fn transact(ns: &Netns, batch: &[u8], acks: u32, what: &str) -> Result<()> {
    ns.run_result(|| {
        let mut sock = Socket::new(NETLINK_NETFILTER)
            .map_err(|e| Error::os(format!("{what}: opening an nfnetlink socket"), e))?;
        sock.bind_auto()
            .map_err(|e| Error::os(format!("{what}: binding the nfnetlink socket"), e))?;
        sock.connect(&SocketAddr::new(0, 0))
            .map_err(|e| Error::os(format!("{what}: connecting the nfnetlink socket"), e))?;
        sock.send(batch, 0)
            .map_err(|e| Error::os(format!("{what}: sending the batch"), e))?;
        read_acks(&sock, acks, what)
    })
}

static NEXT: AtomicU64 = AtomicU64::new(1);

/// Installs a cut in `ns`: from now on, matching packets entering or leaving (or forwarded
/// through) the namespace are dropped.
pub fn cut(ns: &Netns, spec: &CutSpec) -> Result<Cut> {
    let rules = rules(spec)?;
    let table = format!(
        "hl-cut-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let what = format!("installing cut {table} in {}", ns.name());
    let (batch, acks) = install_batch(&table, &rules, 1);
    transact(ns, &batch, acks, &what)?;
    tracing::debug!(namespace = ns.name(), table, ?spec, "cut installed");
    Ok(Cut {
        table,
        namespace: ns.name().to_string(),
    })
}

/// Removes exactly `cut` from `ns`.
pub fn restore(ns: &Netns, cut: Cut) -> Result<()> {
    if cut.namespace != ns.name() {
        return Err(Error::invalid(
            "cut",
            cut.table,
            format!("belongs to {}, not {}", cut.namespace, ns.name()),
        ));
    }
    let what = format!("removing cut {} in {}", cut.table, ns.name());
    transact(ns, &delete_batch(&cut.table, 1), 1, &what)?;
    tracing::debug!(namespace = ns.name(), table = cut.table, "cut removed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_cut_matches_both_directions_in_every_chain() {
        let spec = CutSpec {
            ifname: Some("wan0".into()),
            ..CutSpec::default()
        };
        let r = rules(&spec).expect("valid");
        let chains: Vec<&str> = r.iter().map(|r| r.chain).collect();
        assert_eq!(chains, ["input", "forward", "forward", "output"]);
        assert_eq!(
            r[0].matches,
            [Match::IifName {
                name: "wan0",
                equal: true
            }]
        );
        assert_eq!(
            r[3].matches,
            [Match::OifName {
                name: "wan0",
                equal: true
            }]
        );
    }

    #[test]
    fn namespace_cut_spares_loopback() {
        let spec = CutSpec::default();
        let r = rules(&spec).expect("valid");
        assert!(r.iter().all(|r| matches!(
            r.matches[0],
            Match::IifName {
                name: "lo",
                equal: false
            } | Match::OifName {
                name: "lo",
                equal: false
            }
        )));
    }

    #[test]
    fn port_cut_matches_source_and_destination_and_defaults_to_udp_and_tcp() {
        let spec = CutSpec {
            ifname: None,
            proto: None,
            ports: vec![179],
            peer: None,
            loss_percent: None,
        };
        let r = rules(&spec).expect("valid");
        let input: Vec<&Rule<'_>> = r.iter().filter(|r| r.chain == "input").collect();
        assert_eq!(input.len(), 4);
        assert!(
            input
                .iter()
                .any(|r| r.matches[1..] == [Match::L4Proto(6), Match::DstPort(179)])
        );
        assert!(
            input
                .iter()
                .any(|r| r.matches[1..] == [Match::L4Proto(17), Match::SrcPort(179)])
        );
    }

    #[test]
    fn peer_and_ports_cut_matches_every_direction_and_port() {
        let peer: IpAddr = "203.0.113.9".parse().expect("address");
        let spec = CutSpec {
            ifname: None,
            proto: Some(17),
            ports: vec![500, 4500],
            peer: Some(peer),
            loss_percent: None,
        };
        let r = rules(&spec).expect("valid");
        let input: Vec<&Rule<'_>> = r.iter().filter(|r| r.chain == "input").collect();
        // 2 ports x (sport, dport) x (saddr, daddr).
        assert_eq!(input.len(), 8);
        for m in [
            [
                Match::SrcAddr(peer),
                Match::L4Proto(17),
                Match::DstPort(500),
            ],
            [
                Match::DstAddr(peer),
                Match::L4Proto(17),
                Match::SrcPort(4500),
            ],
        ] {
            assert!(input.iter().any(|r| r.matches[1..] == m), "{m:?}");
        }
        let (batch, acks) = install_batch("hl-cut-1-2", &r, 1);
        assert_eq!(acks as usize, 1 + 3 + r.len());
        assert!(batch.len() > r.len() * 64);
    }

    #[test]
    fn port_without_ports_protocol_is_refused() {
        let spec = CutSpec {
            ifname: None,
            proto: Some(50),
            ports: vec![4500],
            peer: None,
            loss_percent: None,
        };
        assert!(matches!(rules(&spec), Err(Error::Invalid { .. })));
        let long = CutSpec {
            ifname: Some("a-very-long-interface".into()),
            ..CutSpec::default()
        };
        assert!(matches!(rules(&long), Err(Error::Invalid { .. })));
    }

    #[test]
    fn random_loss_ends_every_rule_and_stays_within_percent() {
        let spec = CutSpec {
            proto: Some(17),
            loss_percent: Some(20),
            ..CutSpec::default()
        };
        let r = rules(&spec).expect("valid");
        assert!(!r.is_empty());
        for rule in &r {
            assert_eq!(rule.matches.last(), Some(&Match::Random(20)));
        }
        for bad in [0, 100, 200] {
            let spec = CutSpec {
                loss_percent: Some(bad),
                ..CutSpec::default()
            };
            assert!(matches!(rules(&spec), Err(Error::Invalid { .. })), "{bad}");
        }
        // The encoded rule carries numgen, byteorder and a `<` compare with 20 big-endian.
        let (batch, _) = install_batch("t", &r, 1);
        let has = |needle: &[u8]| batch.windows(needle.len()).any(|w| w == needle);
        assert!(has(b"numgen\0"));
        assert!(has(b"byteorder\0"));
        assert!(has(&20u32.to_be_bytes()));
    }

    #[test]
    fn batch_messages_are_well_formed() {
        let spec = CutSpec {
            ifname: Some("wan0".into()),
            proto: Some(17),
            ports: vec![4500],
            peer: None,
            loss_percent: None,
        };
        let r = rules(&spec).expect("valid");
        let (batch, acks) = install_batch("hl-cut-1-1", &r, 1);
        assert_eq!(acks as usize, 1 + 3 + r.len());
        // Walk the messages: lengths chain exactly to the end, types in order.
        let mut types = Vec::new();
        let mut rest = &batch[..];
        while !rest.is_empty() {
            let len = u32::from_ne_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
            assert!(len >= 20 && len <= rest.len() && len.is_multiple_of(4));
            types.push(u16::from_ne_bytes([rest[4], rest[5]]));
            rest = &rest[len..];
        }
        assert_eq!(types.first(), Some(&NFNL_MSG_BATCH_BEGIN));
        assert_eq!(types.last(), Some(&NFNL_MSG_BATCH_END));
        assert_eq!(types[1], nft_type(NFT_MSG_NEWTABLE));
        assert_eq!(types.len(), 2 + acks as usize);
    }
}
