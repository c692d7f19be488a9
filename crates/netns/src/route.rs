//! IPv4/IPv6 routes: add, replace, delete, list, with table, metric, protocol, scope, gateway
//! and/or device, multipath (ECMP) next hops, and blackhole/unreachable/prohibit routes.
//!
//! Reading back reports multipath sets as a list of [`NextHop`]s with both the ifindex and the
//! interface name, so a test can assert "10.1.0.0/16 via 10.0.0.2 dev to-r2".
//!
//! ```text
//!   Route { dst, table, protocol, scope, kind, metric, pref_src, next_hops: [NextHop] }
//!     0 next hops   blackhole / unreachable / prohibit (or a route with no next hop)
//!     1 next hop    RTA_GATEWAY + RTA_OIF
//!     2+ next hops  RTA_MULTIPATH of rtnexthop { weight-1, flags, ifindex, RTA_GATEWAY }
//! ```
//!
//! [`Netlink::route_get`] asks the kernel which route a packet would take (`ip route get`), rules
//! included, and reports the table that answered.
//!
//! What it does not do: policy rules (`ip rule`: see [`crate::rule`]), nexthop objects
//! (RTM_NEWNEXTHOP), MPLS. For thousands of routes at once, see [`crate::route_batch`].

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use futures::TryStreamExt;
use ipnet::IpNet;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteNextHop, RouteNextHopFlags,
    RouteProtocol, RouteScope, RouteType,
};

use crate::error::{Error, Result};
use crate::link::LinkId;
use crate::netlink::Netlink;

/// Routing protocol numbers (RTPROT_*, `/etc/iproute2/rt_protos`).
pub mod proto {
    /// Route installed by the kernel (connected routes).
    pub const KERNEL: u8 = 2;
    /// Route installed during boot (iproute2's default).
    pub const BOOT: u8 = 3;
    /// Route installed by an administrator (this crate's default).
    pub const STATIC: u8 = 4;
    /// Route installed by a BGP daemon.
    pub const BGP: u8 = 186;
}

/// RTNH_F_ONLINK (not in the libc crate).
const RTNH_F_ONLINK: u32 = 4;

/// The main routing table (RT_TABLE_MAIN).
pub const TABLE_MAIN: u32 = 254;
/// The local routing table (RT_TABLE_LOCAL).
pub const TABLE_LOCAL: u32 = 255;

/// Address family filter for listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// Route type (RTN_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// A normal route through next hops.
    Unicast,
    /// Silently drop (RTN_BLACKHOLE).
    Blackhole,
    /// Drop with ICMP unreachable (RTN_UNREACHABLE).
    Unreachable,
    /// Drop with ICMP prohibited (RTN_PROHIBIT).
    Prohibit,
    /// Local address (table local).
    Local,
    /// Any other type, by number.
    Other(u8),
}

/// Route scope (RT_SCOPE_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Reached through a gateway (RT_SCOPE_UNIVERSE).
    Universe,
    /// Directly attached (RT_SCOPE_LINK).
    Link,
    /// This host (RT_SCOPE_HOST).
    Host,
    /// Any other scope, by number.
    Other(u8),
}

/// One next hop of a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextHop {
    /// Gateway address.
    pub gateway: Option<IpAddr>,
    /// Output interface index; when adding, filled from `ifname` if `None`.
    pub ifindex: Option<u32>,
    /// Output interface name; filled when reading back.
    pub ifname: Option<String>,
    /// ECMP weight, 1 to 256 (1 when not multipath).
    pub weight: u16,
    /// RTNH_F_ONLINK: the gateway is on the link even if no prefix says so.
    pub onlink: bool,
}

impl NextHop {
    /// Via a gateway.
    pub fn via(gateway: IpAddr) -> NextHop {
        NextHop {
            gateway: Some(gateway),
            ifindex: None,
            ifname: None,
            weight: 1,
            onlink: false,
        }
    }

    /// Out of a device, without a gateway.
    pub fn dev(ifname: &str) -> NextHop {
        NextHop {
            gateway: None,
            ifindex: None,
            ifname: Some(ifname.to_string()),
            weight: 1,
            onlink: false,
        }
    }

    /// Via a gateway out of a device.
    pub fn via_dev(gateway: IpAddr, ifname: &str) -> NextHop {
        NextHop {
            ifname: Some(ifname.to_string()),
            ..NextHop::via(gateway)
        }
    }

    /// With an ECMP weight.
    pub fn weight(mut self, weight: u16) -> NextHop {
        self.weight = weight;
        self
    }
}

/// A route to add, or as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination prefix (host bits are cleared when adding).
    pub dst: IpNet,
    /// Routing table.
    pub table: u32,
    /// Protocol (see [`proto`]).
    pub protocol: u8,
    /// Scope; when adding, `None` picks iproute2's choice (link for device-only unicast
    /// routes, host for local routes, universe otherwise).
    pub scope: Option<Scope>,
    /// Type.
    pub kind: RouteKind,
    /// Metric (RTA_PRIORITY).
    pub metric: Option<u32>,
    /// Preferred source address.
    pub pref_src: Option<IpAddr>,
    /// Next hops (several make a multipath route).
    pub next_hops: Vec<NextHop>,
}

impl Route {
    /// A unicast route to `dst` in the main table, protocol static, no next hop yet.
    pub fn new(dst: IpNet) -> Route {
        Route {
            dst: dst.trunc(),
            table: TABLE_MAIN,
            protocol: proto::STATIC,
            scope: None,
            kind: RouteKind::Unicast,
            metric: None,
            pref_src: None,
            next_hops: Vec::new(),
        }
    }

    /// Adds a next hop.
    pub fn next_hop(mut self, hop: NextHop) -> Route {
        self.next_hops.push(hop);
        self
    }

    /// Adds a next hop via a gateway.
    pub fn via(self, gateway: IpAddr) -> Route {
        self.next_hop(NextHop::via(gateway))
    }

    /// Adds a next hop out of a device.
    pub fn dev(self, ifname: &str) -> Route {
        self.next_hop(NextHop::dev(ifname))
    }

    /// Sets the table.
    pub fn table(mut self, table: u32) -> Route {
        self.table = table;
        self
    }

    /// Sets the metric.
    pub fn metric(mut self, metric: u32) -> Route {
        self.metric = Some(metric);
        self
    }

    /// Sets the protocol.
    pub fn protocol(mut self, protocol: u8) -> Route {
        self.protocol = protocol;
        self
    }

    /// Sets the scope.
    pub fn scope(mut self, scope: Scope) -> Route {
        self.scope = Some(scope);
        self
    }

    /// Sets the type.
    pub fn kind(mut self, kind: RouteKind) -> Route {
        self.kind = kind;
        self
    }

    /// Sets the preferred source address.
    pub fn pref_src(mut self, src: IpAddr) -> Route {
        self.pref_src = Some(src);
        self
    }

    /// Gateways of all next hops, in order.
    pub fn gateways(&self) -> Vec<IpAddr> {
        self.next_hops.iter().filter_map(|h| h.gateway).collect()
    }

    /// Whether one of the next hops goes via `gateway` (and, if given, out of `ifname`).
    pub fn has_next_hop(&self, gateway: Option<IpAddr>, ifname: Option<&str>) -> bool {
        self.next_hops.iter().any(|h| {
            gateway.is_none_or(|g| h.gateway == Some(g))
                && ifname.is_none_or(|n| h.ifname.as_deref() == Some(n))
        })
    }

    fn effective_scope(&self) -> Scope {
        if let Some(s) = self.scope {
            return s;
        }
        match self.kind {
            RouteKind::Local => Scope::Host,
            RouteKind::Unicast
                if !self.next_hops.is_empty()
                    && self.next_hops.iter().all(|h| h.gateway.is_none()) =>
            {
                Scope::Link
            }
            _ => Scope::Universe,
        }
    }

    /// Checks what the kernel would reject with a less helpful message.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: &str| Err(Error::invalid("route", self.to_string(), reason));
        let v6 = self.dst.addr().is_ipv6();
        for h in &self.next_hops {
            if h.gateway.is_some_and(|g| g.is_ipv6() != v6) {
                return bad("gateway family differs from the destination's");
            }
            if h.weight == 0 || h.weight > 256 {
                return bad("next-hop weight must be 1 to 256");
            }
        }
        if matches!(
            self.kind,
            RouteKind::Blackhole | RouteKind::Unreachable | RouteKind::Prohibit
        ) && !self.next_hops.is_empty()
        {
            return bad("blackhole/unreachable/prohibit routes take no next hop");
        }
        if self.pref_src.is_some_and(|s| s.is_ipv6() != v6) {
            return bad("source family differs from the destination's");
        }
        Ok(())
    }

    /// The kernel message for this route; next hops must have their ifindex resolved (or none).
    pub fn to_message(&self) -> RouteMessage {
        let mut msg = RouteMessage::default();
        let dst = self.dst.trunc();
        msg.header = RouteHeader {
            address_family: if dst.addr().is_ipv6() {
                AddressFamily::Inet6
            } else {
                AddressFamily::Inet
            },
            destination_prefix_length: dst.prefix_len(),
            table: u8::try_from(self.table).unwrap_or(0),
            protocol: RouteProtocol::from(self.protocol),
            scope: RouteScope::from(scope_to_u8(self.effective_scope())),
            kind: RouteType::from(kind_to_u8(self.kind)),
            ..Default::default()
        };
        let attrs = &mut msg.attributes;
        if dst.prefix_len() > 0 {
            attrs.push(RouteAttribute::Destination(RouteAddress::from(dst.addr())));
        }
        attrs.push(RouteAttribute::Table(self.table));
        if let Some(m) = self.metric {
            attrs.push(RouteAttribute::Priority(m));
        }
        if let Some(s) = self.pref_src {
            attrs.push(RouteAttribute::PrefSource(RouteAddress::from(s)));
        }
        match self.next_hops.as_slice() {
            [] => {}
            [one] => {
                if let Some(g) = one.gateway {
                    attrs.push(RouteAttribute::Gateway(RouteAddress::from(g)));
                }
                if let Some(i) = one.ifindex {
                    attrs.push(RouteAttribute::Oif(i));
                }
            }
            many => {
                let hops = many
                    .iter()
                    .map(|h| {
                        let mut hop = RouteNextHop::default();
                        hop.hops = (h.weight.clamp(1, 256) - 1) as u8;
                        hop.interface_index = h.ifindex.unwrap_or(0);
                        if h.onlink {
                            hop.flags |= RouteNextHopFlags::Onlink;
                        }
                        if let Some(g) = h.gateway {
                            hop.attributes = vec![RouteAttribute::Gateway(RouteAddress::from(g))];
                        }
                        hop
                    })
                    .collect();
                attrs.push(RouteAttribute::MultiPath(hops));
            }
        }
        if let [one] = self.next_hops.as_slice()
            && one.onlink
        {
            msg.header.flags |=
                rtnetlink::packet_route::route::RouteFlags::from_bits_retain(RTNH_F_ONLINK);
        }
        msg
    }

    /// Reads a kernel message back; `None` for families other than IPv4/IPv6. Interface names
    /// come from `names` (index -> name).
    pub fn from_message(msg: &RouteMessage, names: &HashMap<u32, String>) -> Option<Route> {
        let v6 = match msg.header.address_family {
            AddressFamily::Inet => false,
            AddressFamily::Inet6 => true,
            _ => return None,
        };
        let mut dst_addr: Option<IpAddr> = None;
        let mut table = u32::from(msg.header.table);
        let mut metric = None;
        let mut pref_src = None;
        let mut gateway = None;
        let mut oif = None;
        let mut multipath: Vec<NextHop> = Vec::new();
        for attr in &msg.attributes {
            match attr {
                RouteAttribute::Destination(a) => dst_addr = route_ip(a),
                RouteAttribute::Table(t) => table = *t,
                RouteAttribute::Priority(p) => metric = Some(*p),
                RouteAttribute::PrefSource(a) => pref_src = route_ip(a),
                RouteAttribute::Gateway(a) => gateway = route_ip(a),
                RouteAttribute::Oif(i) => oif = Some(*i),
                RouteAttribute::MultiPath(hops) => {
                    for h in hops {
                        let gw = h.attributes.iter().find_map(|a| match a {
                            RouteAttribute::Gateway(g) => route_ip(g),
                            _ => None,
                        });
                        let idx = (h.interface_index != 0).then_some(h.interface_index);
                        multipath.push(NextHop {
                            gateway: gw,
                            ifindex: idx,
                            ifname: idx.and_then(|i| names.get(&i).cloned()),
                            weight: u16::from(h.hops) + 1,
                            onlink: h.flags.contains(RouteNextHopFlags::Onlink),
                        });
                    }
                }
                _ => {}
            }
        }
        let unspecified: IpAddr = if v6 {
            std::net::Ipv6Addr::UNSPECIFIED.into()
        } else {
            std::net::Ipv4Addr::UNSPECIFIED.into()
        };
        let dst = IpNet::new(
            dst_addr.unwrap_or(unspecified),
            msg.header.destination_prefix_length,
        )
        .ok()?;
        let mut next_hops = multipath;
        if next_hops.is_empty() && (gateway.is_some() || oif.is_some()) {
            next_hops.push(NextHop {
                gateway,
                ifindex: oif,
                ifname: oif.and_then(|i| names.get(&i).cloned()),
                weight: 1,
                onlink: msg.header.flags.bits() & RTNH_F_ONLINK != 0,
            });
        }
        Some(Route {
            dst,
            table,
            protocol: u8::from(msg.header.protocol),
            scope: Some(scope_from_u8(u8::from(msg.header.scope))),
            kind: kind_from_u8(u8::from(msg.header.kind)),
            metric,
            pref_src,
            next_hops,
        })
    }
}

fn route_ip(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some((*v4).into()),
        RouteAddress::Inet6(v6) => Some((*v6).into()),
        _ => None,
    }
}

fn scope_to_u8(s: Scope) -> u8 {
    match s {
        Scope::Universe => libc::RT_SCOPE_UNIVERSE,
        Scope::Link => libc::RT_SCOPE_LINK,
        Scope::Host => libc::RT_SCOPE_HOST,
        Scope::Other(n) => n,
    }
}

fn scope_from_u8(n: u8) -> Scope {
    match n {
        libc::RT_SCOPE_UNIVERSE => Scope::Universe,
        libc::RT_SCOPE_LINK => Scope::Link,
        libc::RT_SCOPE_HOST => Scope::Host,
        other => Scope::Other(other),
    }
}

fn kind_to_u8(k: RouteKind) -> u8 {
    match k {
        RouteKind::Unicast => libc::RTN_UNICAST,
        RouteKind::Local => libc::RTN_LOCAL,
        RouteKind::Blackhole => libc::RTN_BLACKHOLE,
        RouteKind::Unreachable => libc::RTN_UNREACHABLE,
        RouteKind::Prohibit => libc::RTN_PROHIBIT,
        RouteKind::Other(n) => n,
    }
}

fn kind_from_u8(n: u8) -> RouteKind {
    match n {
        libc::RTN_UNICAST => RouteKind::Unicast,
        libc::RTN_LOCAL => RouteKind::Local,
        libc::RTN_BLACKHOLE => RouteKind::Blackhole,
        libc::RTN_UNREACHABLE => RouteKind::Unreachable,
        libc::RTN_PROHIBIT => RouteKind::Prohibit,
        other => RouteKind::Other(other),
    }
}

fn proto_name(p: u8) -> String {
    match p {
        proto::KERNEL => "kernel".into(),
        proto::BOOT => "boot".into(),
        proto::STATIC => "static".into(),
        proto::BGP => "bgp".into(),
        other => other.to_string(),
    }
}

/// iproute2-like one-line rendering: `10.1.0.0/16 proto bgp metric 20 nexthop via 10.0.0.2 dev
/// to-r2 weight 1 nexthop via ...`.
impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            RouteKind::Unicast => {}
            RouteKind::Blackhole => f.write_str("blackhole ")?,
            RouteKind::Unreachable => f.write_str("unreachable ")?,
            RouteKind::Prohibit => f.write_str("prohibit ")?,
            RouteKind::Local => f.write_str("local ")?,
            RouteKind::Other(n) => write!(f, "type {n} ")?,
        }
        write!(f, "{}", self.dst)?;
        let hop = |f: &mut fmt::Formatter<'_>, h: &NextHop| -> fmt::Result {
            if let Some(g) = h.gateway {
                write!(f, " via {g}")?;
            }
            match (&h.ifname, h.ifindex) {
                (Some(n), _) => write!(f, " dev {n}")?,
                (None, Some(i)) => write!(f, " dev #{i}")?,
                _ => {}
            }
            if h.onlink {
                f.write_str(" onlink")?;
            }
            Ok(())
        };
        if let [one] = self.next_hops.as_slice() {
            hop(f, one)?;
        }
        if self.table != TABLE_MAIN {
            write!(f, " table {}", self.table)?;
        }
        write!(f, " proto {}", proto_name(self.protocol))?;
        if let Some(s) = self.scope {
            match s {
                Scope::Universe => {}
                Scope::Link => f.write_str(" scope link")?,
                Scope::Host => f.write_str(" scope host")?,
                Scope::Other(n) => write!(f, " scope {n}")?,
            }
        }
        if let Some(src) = self.pref_src {
            write!(f, " src {src}")?;
        }
        if let Some(m) = self.metric {
            write!(f, " metric {m}")?;
        }
        if self.next_hops.len() > 1 {
            for h in &self.next_hops {
                f.write_str(" nexthop")?;
                hop(f, h)?;
                write!(f, " weight {}", h.weight)?;
            }
        }
        Ok(())
    }
}

impl Netlink {
    async fn resolved(&self, route: &Route) -> Result<Route> {
        route.validate()?;
        let mut r = route.clone();
        for h in &mut r.next_hops {
            if h.ifindex.is_none()
                && let Some(name) = &h.ifname
            {
                h.ifindex = Some(self.link_index(LinkId::Name(name)).await?);
            }
        }
        Ok(r)
    }

    /// Adds a route; fails with `EEXIST` if the same route exists.
    pub async fn add_route(&self, route: &Route) -> Result<()> {
        let r = self.resolved(route).await?;
        self.handle()
            .route()
            .add(r.to_message())
            .execute()
            .await
            .map_err(|e| Error::netlink(format!("adding route {route} in {}", self.namespace()), e))
    }

    /// Adds a route or replaces the one with the same destination, table and metric.
    pub async fn replace_route(&self, route: &Route) -> Result<()> {
        let r = self.resolved(route).await?;
        self.handle()
            .route()
            .add(r.to_message())
            .replace()
            .execute()
            .await
            .map_err(|e| {
                Error::netlink(
                    format!("replacing route {route} in {}", self.namespace()),
                    e,
                )
            })
    }

    /// Deletes a route. Next hops and metric, if given, must match; with none, the first route
    /// to the destination in the table goes.
    pub async fn del_route(&self, route: &Route) -> Result<()> {
        let r = self.resolved(route).await?;
        let mut msg = r.to_message();
        // Let the kernel match any scope and protocol unless the caller pinned them.
        if route.scope.is_none() {
            msg.header.scope = RouteScope::from(libc::RT_SCOPE_NOWHERE);
        }
        self.handle().route().del(msg).execute().await.map_err(|e| {
            Error::netlink(format!("deleting route {route} in {}", self.namespace()), e)
        })
    }

    /// Routes of one family (both with `None`) in one table (all tables with `None`), in kernel
    /// order, with interface names filled in.
    pub async fn routes(&self, family: Option<Family>, table: Option<u32>) -> Result<Vec<Route>> {
        let names: HashMap<u32, String> = self
            .links()
            .await?
            .into_iter()
            .map(|l| (l.index, l.name))
            .collect();
        let mut out = Vec::new();
        let families = match family {
            Some(f) => vec![f],
            None => vec![Family::V4, Family::V6],
        };
        for fam in families {
            let mut msg = RouteMessage::default();
            msg.header.address_family = match fam {
                Family::V4 => AddressFamily::Inet,
                Family::V6 => AddressFamily::Inet6,
            };
            let msgs: Vec<RouteMessage> = self
                .handle()
                .route()
                .get(msg)
                .execute()
                .try_collect()
                .await
                .map_err(|e| {
                    Error::netlink(format!("listing routes in {}", self.namespace()), e)
                })?;
            out.extend(
                msgs.iter()
                    .filter_map(|m| Route::from_message(m, &names))
                    .filter(|r| table.is_none_or(|t| r.table == t)),
            );
        }
        Ok(out)
    }

    /// The route the kernel picks for a packet to `dst`, as if sent by this namespace from
    /// `src` (`ip route get DST [from SRC]`): policy rules included, `table` is the table that
    /// answered. A source that is not a local address is refused by the kernel.
    pub async fn route_get(&self, dst: IpAddr, src: Option<IpAddr>) -> Result<Route> {
        let what = || match src {
            Some(s) => format!(
                "looking up the route to {dst} from {s} in {}",
                self.namespace()
            ),
            None => format!("looking up the route to {dst} in {}", self.namespace()),
        };
        let full = |a: IpAddr| if a.is_ipv6() { 128 } else { 32 };
        let mut msg = RouteMessage::default();
        msg.header.address_family = if dst.is_ipv6() {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        msg.header.destination_prefix_length = full(dst);
        // Without it the kernel reports every answer as table main.
        msg.header.flags |= rtnetlink::packet_route::route::RouteFlags::LookupTable;
        msg.attributes
            .push(RouteAttribute::Destination(RouteAddress::from(dst)));
        if let Some(s) = src {
            msg.header.source_prefix_length = full(s);
            msg.attributes
                .push(RouteAttribute::Source(RouteAddress::from(s)));
        }
        let names: HashMap<u32, String> = self
            .links()
            .await?
            .into_iter()
            .map(|l| (l.index, l.name))
            .collect();
        let answers: Vec<RouteMessage> = self
            .handle()
            .route()
            .get(msg)
            .execute()
            .try_collect()
            .await
            .map_err(|e| Error::netlink(what(), e))?;
        answers
            .iter()
            .find_map(|m| Route::from_message(m, &names))
            .ok_or_else(|| Error::NotFound { what: what() })
    }

    /// The routes to exactly `dst` (any table with `None`).
    pub async fn routes_to(&self, dst: IpNet, table: Option<u32>) -> Result<Vec<Route>> {
        let fam = if dst.addr().is_ipv6() {
            Family::V6
        } else {
            Family::V4
        };
        let dst = dst.trunc();
        Ok(self
            .routes(Some(fam), table)
            .await?
            .into_iter()
            .filter(|r| r.dst == dst)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names() -> HashMap<u32, String> {
        [(2, "eth0".to_string()), (3, "eth1".to_string())].into()
    }

    fn roundtrip(r: &Route) -> Route {
        Route::from_message(&r.to_message(), &names()).unwrap()
    }

    #[test]
    fn multipath_route_round_trips_through_the_kernel_message() {
        let mut r = Route::new("10.1.0.0/16".parse().unwrap())
            .protocol(proto::BGP)
            .metric(20)
            .table(1000);
        r.next_hops = vec![
            NextHop {
                ifindex: Some(2),
                ..NextHop::via("10.0.0.2".parse().unwrap())
            },
            NextHop {
                ifindex: Some(3),
                ..NextHop::via("10.0.1.2".parse().unwrap()).weight(3)
            },
        ];
        let back = roundtrip(&r);
        assert_eq!(back.dst, r.dst);
        assert_eq!(back.table, 1000);
        assert_eq!(back.protocol, proto::BGP);
        assert_eq!(back.metric, Some(20));
        assert_eq!(back.next_hops.len(), 2);
        assert_eq!(back.next_hops[1].weight, 3);
        assert_eq!(back.next_hops[1].ifname.as_deref(), Some("eth1"));
        assert!(back.has_next_hop(Some("10.0.0.2".parse().unwrap()), Some("eth0")));
        assert!(!back.has_next_hop(Some("10.0.0.2".parse().unwrap()), Some("eth1")));
        let text = back.to_string();
        assert!(
            text.starts_with(
                "10.1.0.0/16 table 1000 proto bgp metric 20 nexthop via 10.0.0.2 dev eth0 weight 1"
            ),
            "{text}"
        );
    }

    #[test]
    fn device_only_routes_get_link_scope_and_blackholes_no_next_hop() {
        let mut r = Route::new("192.0.2.0/24".parse().unwrap()).dev("eth0");
        r.next_hops[0].ifindex = Some(2);
        assert_eq!(roundtrip(&r).scope, Some(Scope::Link));
        let bh = Route::new("198.51.100.0/24".parse().unwrap()).kind(RouteKind::Blackhole);
        let back = roundtrip(&bh);
        assert_eq!(back.kind, RouteKind::Blackhole);
        assert!(back.next_hops.is_empty());
        assert_eq!(back.to_string(), "blackhole 198.51.100.0/24 proto static");
        let bad = Route::new("198.51.100.0/24".parse().unwrap())
            .kind(RouteKind::Unreachable)
            .via("10.0.0.1".parse().unwrap());
        assert!(bad.validate().is_err());
        let mixed = Route::new("2001:db8::/32".parse().unwrap()).via("10.0.0.1".parse().unwrap());
        assert!(mixed.validate().unwrap_err().to_string().contains("family"));
    }

    #[test]
    fn host_bits_are_cleared() {
        let r = Route::new("10.1.2.3/16".parse().unwrap());
        assert_eq!(r.dst.to_string(), "10.1.0.0/16");
    }

    proptest! {
        #[test]
        fn any_valid_route_round_trips(
            a in any::<u32>(), len in 0u8..=32, table in 1u32..100_000, metric in proptest::option::of(any::<u32>()),
            gws in proptest::collection::vec((any::<u32>(), 2u32..4, 1u16..=256), 0..5),
            proto_n in any::<u8>(),
        ) {
            let dst = IpNet::new(std::net::Ipv4Addr::from(a).into(), len).unwrap();
            let mut r = Route::new(dst).table(table).protocol(proto_n);
            r.metric = metric;
            for (g, idx, w) in gws {
                r = r.next_hop(NextHop { ifindex: Some(idx), ..NextHop::via(std::net::Ipv4Addr::from(g).into()).weight(w) });
            }
            if r.next_hops.len() == 1 { r.next_hops[0].weight = 1; }
            let back = roundtrip(&r);
            prop_assert_eq!(back.dst, r.dst);
            prop_assert_eq!(back.table, table);
            prop_assert_eq!(back.metric, metric);
            prop_assert_eq!(back.protocol, proto_n);
            prop_assert_eq!(back.gateways(), r.gateways());
            prop_assert_eq!(back.next_hops.iter().map(|h| h.weight).collect::<Vec<_>>(),
                            r.next_hops.iter().map(|h| h.weight).collect::<Vec<_>>());
        }
    }
}
