//! Source NAT for a router node: nftables masquerade on an outgoing interface, spoken as
//! nf_tables netlink (no `nft` binary), and a conntrack flush that makes the NAT forget its
//! mappings, as an edge router does when it restarts.
//!
//! ```text
//!   masquerade(ns, "inet") installs
//!   table ip hl-nat-<pid>-<n> {
//!     chain postrouting { type nat hook postrouting priority srcnat; policy accept;
//!                         oifname "inet" masquerade random-fully }
//!   }
//! ```
//!
//! `random-fully` (NF_NAT_RANGE_PROTO_RANDOM_FULLY) picks a random source port for every new
//! mapping, so a customer gateway's 500 and 4500 leave with ports its peer must follow
//! (NAT traversal, RFC 3948); after [`flush_conntrack`] the next packet of each flow gets a new
//! port. The netlink message builder is the cuts' ([`crate::firewall`]).
//!
//! What it does not do: destination NAT, port forwarding, IPv6 NAT, or keep a mapping across
//! a flush (that is the point of it).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::firewall::{
    Msg, NF_ACCEPT, NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END, NFNL_SUBSYS_NFTABLES, NFPROTO_IPV4,
    NFT_CMP_EQ, NFT_META_OIFNAME, NFT_MSG_DELTABLE, NFT_MSG_NEWCHAIN, NFT_MSG_NEWRULE,
    NFT_MSG_NEWTABLE, NFTA_CHAIN_HOOK, NFTA_CHAIN_NAME, NFTA_CHAIN_POLICY, NFTA_CHAIN_TABLE,
    NFTA_CHAIN_TYPE, NFTA_HOOK_HOOKNUM, NFTA_HOOK_PRIORITY, NFTA_RULE_CHAIN, NFTA_RULE_EXPRESSIONS,
    NFTA_RULE_TABLE, NFTA_TABLE_NAME, NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST, cmp, expr,
    ifname_bytes, meta_load, nft_type, transact,
};
use crate::namespace::Netns;

/// include/uapi/linux/netfilter.h: NF_INET_POST_ROUTING.
const NF_INET_POST_ROUTING: u32 = 4;
/// NF_IP_PRI_NAT_SRC (`srcnat`).
const PRIORITY_SRCNAT: i32 = 100;
/// nf_tables.h: NFTA_MASQ_FLAGS.
const NFTA_MASQ_FLAGS: u16 = 1;
/// nf_nat.h: NF_NAT_RANGE_PROTO_RANDOM_FULLY.
const NF_NAT_RANGE_PROTO_RANDOM_FULLY: u32 = 1 << 4;
/// nfnetlink.h: NFNL_SUBSYS_CTNETLINK.
const NFNL_SUBSYS_CTNETLINK: u16 = 1;
/// nfnetlink_conntrack.h: IPCTNL_MSG_CT_DELETE (without attributes: flush the family).
const IPCTNL_MSG_CT_DELETE: u16 = 2;
/// AF_INET as an nfgenmsg family.
const AF_INET: u8 = 2;

const CHAIN: &str = "postrouting";

/// An installed masquerade; [`remove`] deletes it. Dropping it leaves it in place (it goes
/// with the namespace).
#[derive(Debug, PartialEq, Eq)]
pub struct Masquerade {
    table: String,
    namespace: String,
}

impl Masquerade {
    /// The nftables table (`nft list table ip <name>` shows it).
    pub fn table(&self) -> &str {
        &self.table
    }
}

static NEXT: AtomicU64 = AtomicU64::new(1);

fn batch(table: &str, out_ifname: &str) -> (Vec<u8>, u32) {
    let mut out = Vec::new();
    out.extend(
        Msg::new(
            NFNL_MSG_BATCH_BEGIN,
            NLM_F_REQUEST,
            1,
            0,
            NFNL_SUBSYS_NFTABLES,
        )
        .finish(),
    );
    let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;
    let mut m = Msg::new(nft_type(NFT_MSG_NEWTABLE), flags, 2, NFPROTO_IPV4, 0);
    m.str(NFTA_TABLE_NAME, table);
    out.extend(m.finish());
    let mut m = Msg::new(nft_type(NFT_MSG_NEWCHAIN), flags, 3, NFPROTO_IPV4, 0);
    m.str(NFTA_CHAIN_TABLE, table).str(NFTA_CHAIN_NAME, CHAIN);
    m.begin(NFTA_CHAIN_HOOK)
        .be32(NFTA_HOOK_HOOKNUM, NF_INET_POST_ROUTING)
        .be32(NFTA_HOOK_PRIORITY, PRIORITY_SRCNAT as u32)
        .end();
    m.be32(NFTA_CHAIN_POLICY, NF_ACCEPT)
        .str(NFTA_CHAIN_TYPE, "nat");
    out.extend(m.finish());
    let mut m = Msg::new(nft_type(NFT_MSG_NEWRULE), flags, 4, NFPROTO_IPV4, 0);
    m.str(NFTA_RULE_TABLE, table).str(NFTA_RULE_CHAIN, CHAIN);
    m.begin(NFTA_RULE_EXPRESSIONS);
    meta_load(&mut m, NFT_META_OIFNAME);
    cmp(&mut m, NFT_CMP_EQ, &ifname_bytes(out_ifname));
    expr(&mut m, "masq", |m| {
        m.be32(NFTA_MASQ_FLAGS, NF_NAT_RANGE_PROTO_RANDOM_FULLY);
    });
    m.end();
    out.extend(m.finish());
    out.extend(
        Msg::new(
            NFNL_MSG_BATCH_END,
            NLM_F_REQUEST,
            5,
            0,
            NFNL_SUBSYS_NFTABLES,
        )
        .finish(),
    );
    (out, 3)
}

/// Masquerades (source-NATs to the interface's address, random ports) every IPv4 packet
/// leaving `ns` through `out_ifname`.
pub fn masquerade(ns: &Netns, out_ifname: &str) -> Result<Masquerade> {
    if out_ifname.is_empty() || out_ifname.len() > 15 {
        return Err(Error::invalid(
            "interface name",
            out_ifname.to_string(),
            "must have 1 to 15 bytes",
        ));
    }
    let table = format!(
        "hl-nat-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let what = format!(
        "installing masquerade {table} on {out_ifname} in {}",
        ns.name()
    );
    let (batch, acks) = batch(&table, out_ifname);
    transact(ns, &batch, acks, &what)?;
    tracing::debug!(
        namespace = ns.name(),
        table,
        out_ifname,
        "masquerade installed"
    );
    Ok(Masquerade {
        table,
        namespace: ns.name().to_string(),
    })
}

/// Removes `nat` from `ns`.
pub fn remove(ns: &Netns, nat: Masquerade) -> Result<()> {
    if nat.namespace != ns.name() {
        return Err(Error::invalid(
            "masquerade",
            nat.table,
            format!("belongs to {}, not {}", nat.namespace, ns.name()),
        ));
    }
    let mut out = Vec::new();
    out.extend(
        Msg::new(
            NFNL_MSG_BATCH_BEGIN,
            NLM_F_REQUEST,
            1,
            0,
            NFNL_SUBSYS_NFTABLES,
        )
        .finish(),
    );
    let mut m = Msg::new(
        nft_type(NFT_MSG_DELTABLE),
        NLM_F_REQUEST | NLM_F_ACK,
        2,
        NFPROTO_IPV4,
        0,
    );
    m.str(NFTA_TABLE_NAME, &nat.table);
    out.extend(m.finish());
    out.extend(
        Msg::new(
            NFNL_MSG_BATCH_END,
            NLM_F_REQUEST,
            3,
            0,
            NFNL_SUBSYS_NFTABLES,
        )
        .finish(),
    );
    transact(ns, &out, 1, &format!("removing masquerade {}", nat.table))
}

/// Deletes every IPv4 connection-tracking entry of `ns`: each NAT mapping is forgotten, and
/// the next packet of a flow gets a new one (an edge router restarting its NAT).
pub fn flush_conntrack(ns: &Netns) -> Result<()> {
    let m = Msg::new(
        (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE,
        NLM_F_REQUEST | NLM_F_ACK,
        1,
        AF_INET,
        0,
    );
    transact(
        ns,
        &m.finish(),
        1,
        &format!("flushing conntrack in {}", ns.name()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_is_table_chain_rule_between_batch_markers() {
        let (b, acks) = batch("hl-nat-1-1", "inet");
        assert_eq!(acks, 3);
        // Five netlink messages: walk their lengths.
        let mut types = Vec::new();
        let mut rest = &b[..];
        while rest.len() >= 16 {
            let len = u32::from_ne_bytes(rest[0..4].try_into().unwrap()) as usize;
            types.push(u16::from_ne_bytes(rest[4..6].try_into().unwrap()));
            rest = &rest[len..];
        }
        assert!(rest.is_empty());
        assert_eq!(
            types,
            [
                NFNL_MSG_BATCH_BEGIN,
                nft_type(NFT_MSG_NEWTABLE),
                nft_type(NFT_MSG_NEWCHAIN),
                nft_type(NFT_MSG_NEWRULE),
                NFNL_MSG_BATCH_END
            ]
        );
        let has = |needle: &[u8]| b.windows(needle.len()).any(|w| w == needle);
        assert!(has(b"masq\0") && has(b"nat\0") && has(b"inet\0"));
    }

    #[test]
    fn bad_interface_names_are_refused() {
        let ns = Netns::current().unwrap();
        assert!(masquerade(&ns, "").is_err());
        assert!(masquerade(&ns, "a-very-long-interface").is_err());
    }
}
