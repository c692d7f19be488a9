//! Policy routing rules (`ip rule`): add, delete, list. A rule picks the routing table a lookup
//! uses from the packet's selectors (source, destination, input/output interface, fwmark); the
//! kernel walks the rules by ascending priority and stops at the first table that has a route.
//!
//! ```text
//!   Rule { priority, src, dst, iif, oif, fwmark/mask, action, protocol }
//!     action  Lookup(table)   FR_ACT_TO_TBL (table > 255 in FRA_TABLE, the header says 252)
//!             Blackhole | Unreachable | Prohibit   FR_ACT_*
//!   every namespace starts with   0: lookup local   32766: lookup main   32767: lookup default
//! ```
//!
//! A `lookup` rule whose table has no matching route does not end the lookup: the kernel goes
//! on with the next rule. A table meant to be the last word needs a catch-all route of its own
//! (an `unreachable` default at the highest metric, say).
//!
//! What it does not do: routes (see [`crate::route`]), `goto`/`nop` rules, l3mdev (VRF), uid
//! ranges, port or IP-protocol selectors.

use std::fmt;

use futures::TryStreamExt;
use ipnet::IpNet;
use rtnetlink::IpVersion;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::route::RouteProtocol;
use rtnetlink::packet_route::rule::{
    RuleAction as NlAction, RuleAttribute, RuleHeader, RuleMessage,
};

use crate::error::{Error, Result};
use crate::netlink::Netlink;
use crate::route::{Family, proto};

/// RT_TABLE_COMPAT: what the one-octet header field says when the table is above 255.
const TABLE_COMPAT: u8 = 252;

/// What a rule does with the packets it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Look the destination up in this table (FR_ACT_TO_TBL).
    Lookup(u32),
    /// Drop silently (FR_ACT_BLACKHOLE).
    Blackhole,
    /// Drop with "network unreachable" (FR_ACT_UNREACHABLE).
    Unreachable,
    /// Drop with "prohibited" (FR_ACT_PROHIBIT).
    Prohibit,
    /// Any other action, by number (read back only).
    Other(u8),
}

/// A policy routing rule to add, or as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Address family.
    pub family: Family,
    /// Priority (lower first); when adding, `None` lets the kernel pick one just below the
    /// first rule with a priority (iproute2's default). Read back, always set.
    pub priority: Option<u32>,
    /// Source prefix selector (`from`).
    pub src: Option<IpNet>,
    /// Destination prefix selector (`to`).
    pub dst: Option<IpNet>,
    /// Input interface selector (`iif`; `lo` matches locally generated packets).
    pub iif: Option<String>,
    /// Output interface selector (`oif`; sockets bound to a device).
    pub oif: Option<String>,
    /// Firewall mark and mask selector (`fwmark mark/mask`).
    pub fwmark: Option<(u32, u32)>,
    /// What happens to matching packets.
    pub action: Action,
    /// Who installed it (FRA_PROTOCOL, see [`proto`]).
    pub protocol: u8,
}

impl Rule {
    /// An IPv4 rule matching everything that looks up `table`, protocol static, priority chosen
    /// by the kernel.
    pub fn lookup(table: u32) -> Rule {
        Rule {
            family: Family::V4,
            priority: None,
            src: None,
            dst: None,
            iif: None,
            oif: None,
            fwmark: None,
            action: Action::Lookup(table),
            protocol: proto::STATIC,
        }
    }

    /// Makes it a rule of `family` (a rule without address selectors, e.g. `iif` only, is
    /// IPv4 unless set; the kernel keeps one rule list per family).
    pub fn family(mut self, family: Family) -> Rule {
        self.family = family;
        self
    }

    /// Sets the priority.
    pub fn priority(mut self, priority: u32) -> Rule {
        self.priority = Some(priority);
        self
    }

    /// Matches packets from `src` (host bits cleared); the family follows the prefix.
    pub fn from(mut self, src: IpNet) -> Rule {
        self.family = family_of(&src);
        self.src = Some(src.trunc());
        self
    }

    /// Matches packets to `dst` (host bits cleared); the family follows the prefix.
    pub fn to(mut self, dst: IpNet) -> Rule {
        self.family = family_of(&dst);
        self.dst = Some(dst.trunc());
        self
    }

    /// Matches packets coming in on `ifname`.
    pub fn iif(mut self, ifname: &str) -> Rule {
        self.iif = Some(ifname.to_string());
        self
    }

    /// Matches packets going out of `ifname`.
    pub fn oif(mut self, ifname: &str) -> Rule {
        self.oif = Some(ifname.to_string());
        self
    }

    /// Matches packets whose mark, masked with `mask`, equals `mark`.
    pub fn fwmark(mut self, mark: u32, mask: u32) -> Rule {
        self.fwmark = Some((mark, mask));
        self
    }

    /// Sets the action.
    pub fn action(mut self, action: Action) -> Rule {
        self.action = action;
        self
    }

    /// Sets the protocol.
    pub fn protocol(mut self, protocol: u8) -> Rule {
        self.protocol = protocol;
        self
    }

    /// Checks what the kernel would reject with a less helpful message.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: &str| Err(Error::invalid("rule", self.to_string(), reason));
        for net in [self.src, self.dst].into_iter().flatten() {
            if family_of(&net) != self.family {
                return bad("selector family differs from the rule's");
            }
        }
        if matches!(self.action, Action::Lookup(0)) {
            return bad("table 0 is not a table");
        }
        if matches!(self.action, Action::Other(_)) {
            return bad("only lookup, blackhole, unreachable and prohibit rules can be added");
        }
        Ok(())
    }

    /// The kernel message for this rule.
    pub fn to_message(&self) -> RuleMessage {
        let mut msg = RuleMessage::default();
        msg.header = RuleHeader {
            family: match self.family {
                Family::V4 => AddressFamily::Inet,
                Family::V6 => AddressFamily::Inet6,
            },
            dst_len: self.dst.map_or(0, |n| n.prefix_len()),
            src_len: self.src.map_or(0, |n| n.prefix_len()),
            action: match self.action {
                Action::Lookup(_) => NlAction::ToTable,
                Action::Blackhole => NlAction::Blackhole,
                Action::Unreachable => NlAction::Unreachable,
                Action::Prohibit => NlAction::Prohibit,
                Action::Other(n) => NlAction::Other(n),
            },
            ..Default::default()
        };
        let attrs = &mut msg.attributes;
        if let Action::Lookup(table) = self.action {
            msg.header.table = u8::try_from(table).unwrap_or(TABLE_COMPAT);
            attrs.push(RuleAttribute::Table(table));
        }
        if let Some(p) = self.priority {
            attrs.push(RuleAttribute::Priority(p));
        }
        if let Some(src) = self.src {
            attrs.push(RuleAttribute::Source(src.addr()));
        }
        if let Some(dst) = self.dst {
            attrs.push(RuleAttribute::Destination(dst.addr()));
        }
        if let Some(i) = &self.iif {
            attrs.push(RuleAttribute::Iifname(i.clone()));
        }
        if let Some(o) = &self.oif {
            attrs.push(RuleAttribute::Oifname(o.clone()));
        }
        if let Some((mark, mask)) = self.fwmark {
            attrs.push(RuleAttribute::FwMark(mark));
            attrs.push(RuleAttribute::FwMask(mask));
        }
        attrs.push(RuleAttribute::Protocol(RouteProtocol::from(self.protocol)));
        msg
    }

    /// Reads a kernel message back; `None` for families other than IPv4/IPv6.
    pub fn from_message(msg: &RuleMessage) -> Option<Rule> {
        let family = match msg.header.family {
            AddressFamily::Inet => Family::V4,
            AddressFamily::Inet6 => Family::V6,
            _ => return None,
        };
        let mut rule = Rule {
            family,
            // The kernel leaves FRA_PRIORITY out for priority 0 (the `local` rule).
            priority: Some(0),
            src: None,
            dst: None,
            iif: None,
            oif: None,
            fwmark: None,
            action: Action::Other(0),
            protocol: 0,
        };
        let mut table = u32::from(msg.header.table);
        let (mut mark, mut mask) = (None, None);
        for attr in &msg.attributes {
            match attr {
                RuleAttribute::Table(t) => table = *t,
                RuleAttribute::Priority(p) => rule.priority = Some(*p),
                RuleAttribute::Source(a) => {
                    rule.src = IpNet::new(*a, msg.header.src_len).ok();
                }
                RuleAttribute::Destination(a) => {
                    rule.dst = IpNet::new(*a, msg.header.dst_len).ok();
                }
                RuleAttribute::Iifname(i) => rule.iif = Some(i.clone()),
                RuleAttribute::Oifname(o) => rule.oif = Some(o.clone()),
                RuleAttribute::FwMark(m) => mark = Some(*m),
                RuleAttribute::FwMask(m) => mask = Some(*m),
                RuleAttribute::Protocol(p) => rule.protocol = u8::from(*p),
                _ => {}
            }
        }
        // A mark without a mask matches every bit (the kernel's default mask).
        rule.fwmark = mark.map(|m| (m, mask.unwrap_or(u32::MAX)));
        rule.action = match msg.header.action {
            NlAction::ToTable => Action::Lookup(table),
            NlAction::Blackhole => Action::Blackhole,
            NlAction::Unreachable => Action::Unreachable,
            NlAction::Prohibit => Action::Prohibit,
            other => Action::Other(u8::from(other)),
        };
        Some(rule)
    }
}

fn family_of(net: &IpNet) -> Family {
    match net {
        IpNet::V4(_) => Family::V4,
        IpNet::V6(_) => Family::V6,
    }
}

fn table_name(table: u32) -> String {
    match table {
        crate::route::TABLE_MAIN => "main".into(),
        crate::route::TABLE_LOCAL => "local".into(),
        253 => "default".into(),
        other => other.to_string(),
    }
}

/// iproute2-like one-line rendering: `1000: from 203.0.113.1 lookup 200 proto static`.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.priority {
            write!(f, "{p}: ")?;
        }
        match self.src {
            // A host prefix prints as the address, as iproute2 does.
            Some(s) if s.prefix_len() == s.max_prefix_len() => write!(f, "from {}", s.addr())?,
            Some(s) => write!(f, "from {s}")?,
            None => f.write_str("from all")?,
        }
        match self.dst {
            Some(d) if d.prefix_len() == d.max_prefix_len() => write!(f, " to {}", d.addr())?,
            Some(d) => write!(f, " to {d}")?,
            None => {}
        }
        if let Some((mark, mask)) = self.fwmark {
            write!(f, " fwmark {mark:#x}/{mask:#x}")?;
        }
        if let Some(i) = &self.iif {
            write!(f, " iif {i}")?;
        }
        if let Some(o) = &self.oif {
            write!(f, " oif {o}")?;
        }
        match self.action {
            Action::Lookup(t) => write!(f, " lookup {}", table_name(t))?,
            Action::Blackhole => f.write_str(" blackhole")?,
            Action::Unreachable => f.write_str(" unreachable")?,
            Action::Prohibit => f.write_str(" prohibit")?,
            Action::Other(n) => write!(f, " action {n}")?,
        }
        match self.protocol {
            0 => Ok(()),
            proto::KERNEL => f.write_str(" proto kernel"),
            proto::BOOT => f.write_str(" proto boot"),
            proto::STATIC => f.write_str(" proto static"),
            other => write!(f, " proto {other}"),
        }
    }
}

impl Netlink {
    /// Adds a rule; fails with `EEXIST` ([`Error::is_exists`]) if an identical rule exists.
    pub async fn add_rule(&self, rule: &Rule) -> Result<()> {
        rule.validate()?;
        let mut req = self.handle().rule().add();
        *req.message_mut() = rule.to_message();
        req.execute()
            .await
            .map_err(|e| Error::netlink(format!("adding rule {rule} in {}", self.namespace()), e))
    }

    /// Deletes the first rule matching every selector, action and (if given) priority of
    /// `rule`; fails with "not found" ([`Error::is_not_found`]) if there is none.
    pub async fn del_rule(&self, rule: &Rule) -> Result<()> {
        rule.validate()?;
        self.handle()
            .rule()
            .del(rule.to_message())
            .execute()
            .await
            .map_err(|e| Error::netlink(format!("deleting rule {rule} in {}", self.namespace()), e))
    }

    /// The rules of one family (both with `None`), by ascending priority as the kernel walks
    /// them.
    pub async fn rules(&self, family: Option<Family>) -> Result<Vec<Rule>> {
        let families = match family {
            Some(f) => vec![f],
            None => vec![Family::V4, Family::V6],
        };
        let mut out = Vec::new();
        for fam in families {
            let version = match fam {
                Family::V4 => IpVersion::V4,
                Family::V6 => IpVersion::V6,
            };
            let msgs: Vec<RuleMessage> = self
                .handle()
                .rule()
                .get(version)
                .execute()
                .try_collect()
                .await
                .map_err(|e| Error::netlink(format!("listing rules in {}", self.namespace()), e))?;
            out.extend(msgs.iter().filter_map(Rule::from_message));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn roundtrip(r: &Rule) -> Rule {
        Rule::from_message(&r.to_message()).expect("an IPv4 or IPv6 rule")
    }

    #[test]
    fn source_rule_round_trips_and_prints_like_iproute2() {
        let r = Rule::lookup(200)
            .from("203.0.113.1/32".parse().unwrap())
            .priority(1000);
        assert_eq!(roundtrip(&r), r);
        assert_eq!(
            r.to_string(),
            "1000: from 203.0.113.1 lookup 200 proto static"
        );
        let m = r.to_message();
        assert_eq!(m.header.table, 200);
        assert_eq!(m.header.src_len, 32);
    }

    #[test]
    fn large_tables_go_in_the_attribute_and_the_header_says_compat() {
        let r = Rule::lookup(100_000).to("10.0.0.0/8".parse().unwrap());
        let m = r.to_message();
        assert_eq!(m.header.table, TABLE_COMPAT);
        assert_eq!(roundtrip(&r).action, Action::Lookup(100_000));
        assert_eq!(
            r.to_string(),
            "from all to 10.0.0.0/8 lookup 100000 proto static"
        );
    }

    #[test]
    fn drop_actions_interfaces_and_marks_round_trip() {
        let r = Rule::lookup(1)
            .action(Action::Unreachable)
            .iif("lo")
            .oif("eth0")
            .fwmark(0x10, 0xff)
            .priority(5);
        let back = roundtrip(&r);
        assert_eq!(back, r);
        assert_eq!(
            back.to_string(),
            "5: from all fwmark 0x10/0xff iif lo oif eth0 unreachable proto static"
        );
        assert_eq!(back.to_message().header.table, 0);
    }

    #[test]
    fn mixed_families_and_table_zero_are_refused_before_the_kernel_sees_them() {
        let mut r = Rule::lookup(200).from("2001:db8::/32".parse().unwrap());
        r.family = Family::V4;
        assert!(r.validate().unwrap_err().to_string().contains("family"));
        assert!(Rule::lookup(0).validate().is_err());
        let v6 = Rule::lookup(200).to("2001:db8::1/128".parse().unwrap());
        assert_eq!(v6.family, Family::V6);
        assert!(v6.validate().is_ok());
        assert_eq!(
            v6.to_string(),
            "from all to 2001:db8::1 lookup 200 proto static"
        );
    }

    proptest! {
        #[test]
        fn any_lookup_rule_round_trips(
            src in proptest::option::of((any::<u32>(), 0u8..=32)),
            dst in proptest::option::of((any::<u32>(), 0u8..=32)),
            table in 1u32..=u32::MAX, priority in proptest::option::of(1u32..),
            mark in proptest::option::of((any::<u32>(), any::<u32>())),
            protocol in any::<u8>(),
        ) {
            let v4 = |(a, len): (u32, u8)| {
                IpNet::new(std::net::Ipv4Addr::from(a).into(), len).unwrap().trunc()
            };
            let mut r = Rule::lookup(table).protocol(protocol);
            // Read back, a rule always has a priority.
            r.priority = Some(priority.unwrap_or(0));
            r.src = src.map(v4);
            r.dst = dst.map(v4);
            r.fwmark = mark;
            prop_assert_eq!(roundtrip(&r), r);
        }
    }
}
