//! Underlay and overlay never mix: a gateway's own IKE and ESP traffic (the underlay) resolves
//! in a routing table of its own, chosen by a policy rule on the tunnels' outside addresses,
//! while routes learned through the tunnels (the overlay) live in the main table that forwarded
//! traffic uses. A learned `0.0.0.0/0`, or any prefix covering a peer's outside address, can
//! then never pull a tunnel's own packets into a tunnel (no VRF in this kernel: rules instead).
//!
//! ```text
//!  gateway namespace                       rules, walked by priority; a table without a
//!                                          matching route passes the lookup on
//!  IKE/ESP sockets, bound to the     --->    1000: from <outside addresses> lookup 200
//!  outside addresses (tunnel.rs)           (one rule per aggregate of the outside /32s)
//!                                            0: lookup local      (delivery to this namespace)
//!  forwarded traffic: VPC <-> tunnels,--->   32766: lookup main
//!  LAN <-> tunnels                           32767: lookup default
//!
//!  table 200 "underlay" (this module)        table main (forwarding: the hosts behind us)
//!    <outside subnet> dev <outside> link       connected routes (outside, LAN/VPC, TUN /30s)
//!    default via <internet router>             VPC CIDRs, static routes        (fib.rs)
//!    unreachable default metric 2^32-1         tunnel-learned routes   (fib.rs, BGP kernel)
//!      (the underlay never falls through         a learned 0.0.0.0/0 goes here, and nowhere
//!       to main, even with its link down)        else; withdrawn, it leaves nothing behind
//! ```
//!
//! A rule on the source address is exact: the tunnel sockets bind their outside address, and
//! nothing forwarded carries it. A rule on the peers' addresses (`to <peer>`) is not used: it
//! would also send transit traffic for those addresses to the internet, which a VGW must not do
//! (it forwards only the prefixes it knows, `aws-behaviour.md` §2).
//!
//! The table's routes go with their device when the outside link goes down (the kernel flushes
//! IPv4 routes of a downed link); [`Underlay::repair`] puts them back and the gateways call it
//! on every reconciliation pass. Every write is an exclusive add: a route or rule that already
//! exists (a restarted daemon's, or anyone's) is left as it is, never replaced.
//!
//! What it does not do: choose the internet router (the gateway's configuration names it),
//! IPv6, or fwmark-based steering (no socket marks needed while the sockets bind an address).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};
use netns::route::proto;
use netns::{Netlink, Route, RouteKind, Rule, Scope};
use serde_json::{Value, json};
use tracing::{debug, info, warn};

use crate::bundle::GatewayError;

/// The underlay's routing table.
pub const UNDERLAY_TABLE: u32 = 200;
/// Priority of the rules selecting it: after `local` (0), before `main` (32766).
pub const UNDERLAY_RULE_PRIORITY: u32 = 1000;

/// A gateway's underlay table and the rules that select it, as installed.
#[derive(Debug)]
pub struct Underlay {
    netlink: Netlink,
    rules: Vec<Rule>,
    routes: Vec<Route>,
}

/// The smallest set of prefixes covering exactly `addresses`.
fn source_prefixes(addresses: &[Ipv4Addr]) -> Vec<Ipv4Net> {
    let hosts: Vec<Ipv4Net> = addresses
        .iter()
        .map(|a| Ipv4Net::new(*a, 32).expect("a /32"))
        .collect();
    Ipv4Net::aggregate(&hosts)
}

impl Underlay {
    /// Installs the underlay for the tunnels' local `outside` addresses (each must be
    /// configured on an interface of this namespace): table [`UNDERLAY_TABLE`] with each
    /// outside subnet, a default route via `gateway` and an unreachable catch-all, and the
    /// rules that send the outside addresses' traffic there.
    pub async fn install(
        netlink: &Netlink,
        outside: &[Ipv4Addr],
        gateway: Ipv4Addr,
    ) -> Result<Underlay, GatewayError> {
        let names: BTreeMap<u32, String> = netlink
            .links()
            .await
            .map_err(GatewayError::netns("listing interfaces"))?
            .into_iter()
            .map(|l| (l.index, l.name))
            .collect();
        let configured = netlink
            .addresses(None)
            .await
            .map_err(GatewayError::netns("listing addresses"))?;
        // The outside subnets and their interfaces, each once.
        let mut subnets: BTreeMap<Ipv4Net, String> = BTreeMap::new();
        for a in outside {
            let found = configured.iter().find_map(|c| match c.net {
                IpNet::V4(n) if n.addr() == *a => Some((n.trunc(), c.index)),
                _ => None,
            });
            let Some((subnet, index)) = found else {
                return Err(GatewayError::Underlay(format!(
                    "outside address {a} is not configured on any interface"
                )));
            };
            let ifname = names.get(&index).cloned().unwrap_or_default();
            subnets.insert(subnet, ifname);
        }
        let mut routes = Vec::new();
        for (subnet, ifname) in &subnets {
            routes.push(
                Route::new(IpNet::V4(*subnet))
                    .table(UNDERLAY_TABLE)
                    .dev(ifname)
                    .scope(Scope::Link),
            );
        }
        let mut default = Route::new(IpNet::V4(Ipv4Net::default())).table(UNDERLAY_TABLE);
        default = match subnets.iter().find(|(s, _)| s.contains(&gateway)) {
            Some((_, ifname)) => default.next_hop(netns::NextHop::via_dev(gateway.into(), ifname)),
            None => default.via(IpAddr::V4(gateway)),
        };
        routes.push(default);
        routes.push(
            Route::new(IpNet::V4(Ipv4Net::default()))
                .table(UNDERLAY_TABLE)
                .kind(RouteKind::Unreachable)
                .metric(u32::MAX),
        );
        let rules = source_prefixes(outside)
            .into_iter()
            .map(|p| {
                Rule::lookup(UNDERLAY_TABLE)
                    .from(IpNet::V4(p))
                    .priority(UNDERLAY_RULE_PRIORITY)
                    .protocol(proto::STATIC)
            })
            .collect::<Vec<_>>();

        let underlay = Underlay {
            netlink: netlink.clone(),
            rules,
            routes,
        };
        // Routes first: a rule pointing at an empty table would send the tunnels' traffic to
        // the catch-all for a moment.
        for r in &underlay.routes {
            underlay
                .add_route(r)
                .await
                .map_err(GatewayError::netns("adding an underlay route"))?;
        }
        for rule in &underlay.rules {
            match netlink.add_rule(rule).await {
                Ok(()) => {}
                Err(e) if e.is_exists() => debug!(%rule, "underlay rule already there"),
                Err(e) => return Err(GatewayError::netns("adding an underlay rule")(e)),
            }
        }
        info!(
            table = UNDERLAY_TABLE,
            rules = underlay.rules.len(),
            %gateway,
            "underlay installed"
        );
        Ok(underlay)
    }

    /// Adds `r` unless a route with its destination and metric is already in the table.
    async fn add_route(&self, r: &Route) -> netns::Result<bool> {
        match self.netlink.add_route(r).await {
            Ok(()) => Ok(true),
            Err(e) if e.is_exists() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Puts back the underlay routes the kernel removed (with a link that went down); returns
    /// how many. A link still down refuses them: the next pass tries again.
    pub async fn repair(&self) -> usize {
        let mut added = 0;
        for r in &self.routes {
            match self.add_route(r).await {
                Ok(true) => {
                    info!(route = %r, "underlay route restored");
                    added += 1;
                }
                Ok(false) => {}
                Err(e) => debug!(route = %r, error = %e, "underlay route not restored yet"),
            }
        }
        added
    }

    /// The `underlay` view: the table, its routes and the rules, as iproute2 prints them.
    pub fn show(&self) -> Value {
        json!({
            "table": UNDERLAY_TABLE,
            "rules": self.rules.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "routes": self.routes.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })
    }

    /// Removes the rules and routes (at shutdown, after the tunnels said goodbye).
    pub async fn remove(&self) {
        for rule in &self.rules {
            if let Err(e) = self.netlink.del_rule(rule).await
                && !e.is_not_found()
            {
                warn!(%rule, error = %e, "could not remove an underlay rule");
            }
        }
        for r in &self.routes {
            if let Err(e) = self.netlink.del_route(r).await
                && !e.is_not_found()
            {
                warn!(route = %r, error = %e, "could not remove an underlay route");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn one_rule_per_aggregate_of_the_outside_addresses() {
        let four = [
            a("203.0.113.1"),
            a("203.0.113.2"),
            a("203.0.113.3"),
            a("203.0.113.4"),
        ];
        let got: Vec<String> = source_prefixes(&four)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(got, ["203.0.113.1/32", "203.0.113.2/31", "203.0.113.4/32"]);
        assert_eq!(
            source_prefixes(&[a("198.51.100.1"), a("198.51.100.1")]),
            vec!["198.51.100.1/32".parse::<Ipv4Net>().unwrap()]
        );
    }
}
