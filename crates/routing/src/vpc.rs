//! The VPC route table and AWS's route priority \[P1, V8\].
//!
//! ```text
//!  destination address
//!        |
//!        v
//!  1. inside a `local` CIDR?  ----------------> local wins over any propagated route,
//!        | no                                   even a more specific one         [P1]
//!        v
//!  2. longest prefix match among the remaining routes                              [P1]
//!        |
//!        v
//!  3. same prefix: static > prefix list > propagated                              [P1, V8]
//!        |
//!        v
//!  4. among propagated: Direct Connect BGP > VPN static > VPN BGP                 [V8]
//! ```
//!
//! [`RouteTable::effective`] applies rules 1, 3 and 4 and returns one active route per destination
//! prefix; installing exactly those into a kernel table lets the kernel's own longest-prefix match do
//! rule 2, so real packets from VPC hosts follow AWS's choice. [`RouteTable::lookup`] applies all four to
//! one address (for `show` and tests).
//!
//! What it does not do: validate targets against existing gateways or interfaces, or model IPv6-only
//! details (egress-only gateways). Static routes more specific than a `local` CIDR are accepted and win
//! by longest prefix, as AWS's middlebox routing allows for routes you create yourself (inferred: the
//! docs state "local wins" only against propagated routes).

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Where a route in the VPC route table sends traffic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum VpcTarget {
    /// The VPC itself.
    Local,
    /// An internet gateway.
    InternetGateway(String),
    /// A NAT gateway.
    NatGateway(String),
    /// An elastic network interface (e.g. an appliance).
    NetworkInterface(String),
    /// A transit gateway attachment.
    TransitGateway(String),
    /// A VPC peering connection.
    PeeringConnection(String),
    /// A virtual private gateway.
    VirtualPrivateGateway(String),
}

impl fmt::Display for VpcTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VpcTarget::Local => f.write_str("local"),
            VpcTarget::InternetGateway(id)
            | VpcTarget::NatGateway(id)
            | VpcTarget::NetworkInterface(id)
            | VpcTarget::TransitGateway(id)
            | VpcTarget::PeeringConnection(id)
            | VpcTarget::VirtualPrivateGateway(id) => f.write_str(id),
        }
    }
}

/// Which kind of propagated route; the order of the variants is AWS's priority among them \[V8\].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PropagatedFrom {
    /// Learned over a Direct Connect virtual interface (BGP).
    DirectConnect,
    /// A static route of a static Site-to-Site VPN connection.
    VpnStatic,
    /// Learned over a Site-to-Site VPN tunnel's BGP session.
    VpnBgp,
}

/// How a route got into the table; the order of the variants is AWS's priority for the same
/// destination prefix \[P1\]: static > prefix list > propagated (local never competes on equal terms,
/// see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum RouteOrigin {
    /// The VPC's own CIDR block.
    Local,
    /// Created by the operator (CreateRoute), including static routes to the VGW.
    Static,
    /// Created from a managed prefix list (the list's id).
    PrefixList(String),
    /// Propagated by a virtual private gateway.
    Propagated(PropagatedFrom),
}

/// One entry of the route table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcRoute {
    /// Destination CIDR (stored with host bits cleared).
    pub destination: IpNet,
    /// Where matching traffic goes.
    pub target: VpcTarget,
    /// How the route got here.
    pub origin: RouteOrigin,
}

/// Why a route is in the table but not used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Inactive {
    /// A propagated route inside a `local` CIDR: local wins even when less specific \[P1\].
    ShadowedByLocal {
        /// The local CIDR that covers it.
        local: IpNet,
    },
    /// Another route for the same destination prefix has a higher priority \[P1, V8\].
    LowerPriority {
        /// The route that won.
        winner: Box<VpcRoute>,
    },
}

/// A route and whether AWS uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteStatus {
    /// The route.
    pub route: VpcRoute,
    /// `None` when the route is active.
    pub inactive: Option<Inactive>,
}

/// An operator error when editing the route table, in AWS's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteTableError {
    /// CreateRoute for a destination that already has a route of the same origin kind
    /// (AWS: `RouteAlreadyExists`).
    #[error("route table already has a {origin} route for {destination}")]
    RouteAlreadyExists {
        /// The destination.
        destination: IpNet,
        /// "static" or "prefix list".
        origin: &'static str,
    },
    /// A route whose destination equals a `local` CIDR (AWS: `InvalidParameterValue`; the local
    /// route can only be replaced, not duplicated).
    #[error("{destination} is the VPC's local CIDR; its route cannot be duplicated")]
    DuplicatesLocal {
        /// The destination.
        destination: IpNet,
    },
    /// The target `local` is reserved for the VPC's own CIDRs.
    #[error("only the VPC's own CIDR blocks route to `local`, not {destination}")]
    LocalTarget {
        /// The destination.
        destination: IpNet,
    },
}

/// A VPC route table. Routes keep their insertion order, which is also the (inferred) tie-break
/// between two propagated routes of the same kind and prefix: AWS documents no order for that case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    routes: Vec<VpcRoute>,
}

impl RouteTable {
    /// A table holding only the `local` routes of the VPC's CIDR blocks.
    pub fn new(local_cidrs: impl IntoIterator<Item = IpNet>) -> RouteTable {
        RouteTable {
            routes: local_cidrs
                .into_iter()
                .map(|cidr| VpcRoute {
                    destination: cidr.trunc(),
                    target: VpcTarget::Local,
                    origin: RouteOrigin::Local,
                })
                .collect(),
        }
    }

    /// Every route, active or not, in insertion order.
    pub fn routes(&self) -> &[VpcRoute] {
        &self.routes
    }

    fn local_cidrs(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.routes
            .iter()
            .filter(|r| r.origin == RouteOrigin::Local)
            .map(|r| r.destination)
    }

    /// CreateRoute: a static route. AWS refuses a second static route for the same destination.
    pub fn add_static(
        &mut self,
        destination: IpNet,
        target: VpcTarget,
    ) -> Result<(), RouteTableError> {
        self.add_operator_route(destination, target, RouteOrigin::Static, "static")
    }

    /// A route created from a managed prefix list entry.
    pub fn add_prefix_list(
        &mut self,
        list_id: &str,
        destination: IpNet,
        target: VpcTarget,
    ) -> Result<(), RouteTableError> {
        self.add_operator_route(
            destination,
            target,
            RouteOrigin::PrefixList(list_id.to_owned()),
            "prefix list",
        )
    }

    fn add_operator_route(
        &mut self,
        destination: IpNet,
        target: VpcTarget,
        origin: RouteOrigin,
        origin_name: &'static str,
    ) -> Result<(), RouteTableError> {
        let destination = destination.trunc();
        if target == VpcTarget::Local {
            return Err(RouteTableError::LocalTarget { destination });
        }
        if self.local_cidrs().any(|local| local == destination) {
            return Err(RouteTableError::DuplicatesLocal { destination });
        }
        let same_kind = |r: &VpcRoute| {
            r.destination == destination
                && std::mem::discriminant(&r.origin) == std::mem::discriminant(&origin)
        };
        if self.routes.iter().any(same_kind) {
            return Err(RouteTableError::RouteAlreadyExists {
                destination,
                origin: origin_name,
            });
        }
        self.routes.push(VpcRoute {
            destination,
            target,
            origin,
        });
        Ok(())
    }

    /// DeleteRoute for a static route; returns whether one was removed.
    pub fn remove_static(&mut self, destination: IpNet) -> bool {
        let destination = destination.trunc();
        let before = self.routes.len();
        self.routes
            .retain(|r| !(r.origin == RouteOrigin::Static && r.destination == destination));
        self.routes.len() != before
    }

    /// Replaces everything the gateway `gateway` propagates with `routes` (the gateway's current
    /// selection). Call with an empty list when propagation is turned off or the gateway detaches.
    pub fn set_propagated(
        &mut self,
        gateway: &str,
        routes: impl IntoIterator<Item = (IpNet, PropagatedFrom)>,
    ) {
        let target = VpcTarget::VirtualPrivateGateway(gateway.to_owned());
        self.routes
            .retain(|r| !(matches!(r.origin, RouteOrigin::Propagated(_)) && r.target == target));
        for (destination, from) in routes {
            let route = VpcRoute {
                destination: destination.trunc(),
                target: target.clone(),
                origin: RouteOrigin::Propagated(from),
            };
            if !self.routes.contains(&route) {
                self.routes.push(route);
            }
        }
    }

    /// Every route with its status: rules 1, 3 and 4 of the module docs.
    pub fn status(&self) -> Vec<RouteStatus> {
        self.routes
            .iter()
            .map(|route| RouteStatus {
                route: route.clone(),
                inactive: self.why_inactive(route),
            })
            .collect()
    }

    /// The active routes, one per destination prefix, sorted by prefix. Installing exactly these
    /// into a kernel table reproduces AWS's choice for every destination (the kernel does rule 2).
    pub fn effective(&self) -> Vec<VpcRoute> {
        let mut active: Vec<VpcRoute> = self
            .routes
            .iter()
            .filter(|r| self.why_inactive(r).is_none())
            .cloned()
            .collect();
        active.sort_by(|a, b| {
            (a.destination.addr(), a.destination.prefix_len())
                .cmp(&(b.destination.addr(), b.destination.prefix_len()))
        });
        active
    }

    /// The route AWS uses for traffic to `address`, if any.
    pub fn lookup(&self, address: IpAddr) -> Option<VpcRoute> {
        self.effective()
            .into_iter()
            .filter(|r| r.destination.contains(&address))
            .max_by_key(|r| r.destination.prefix_len())
    }

    fn why_inactive(&self, route: &VpcRoute) -> Option<Inactive> {
        if matches!(route.origin, RouteOrigin::Propagated(_))
            && let Some(local) = self
                .local_cidrs()
                .find(|local| local.contains(&route.destination))
        {
            return Some(Inactive::ShadowedByLocal { local });
        }
        let winner = self
            .routes
            .iter()
            .filter(|r| r.destination == route.destination)
            .min_by_key(|r| r.origin.clone())?;
        if winner == route {
            None
        } else {
            Some(Inactive::LowerPriority {
                winner: Box::new(winner.clone()),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn vgw() -> VpcTarget {
        VpcTarget::VirtualPrivateGateway("vgw1".into())
    }

    fn vpc_10_0() -> RouteTable {
        RouteTable::new([net("10.0.0.0/16")])
    }

    /// One row per rule of aws-behaviour.md §2 "VPC route table", plus §7 item 5.
    #[test]
    fn aws_priority_rules_table() {
        struct Case {
            rule: &'static str,
            statics: Vec<(&'static str, VpcTarget)>,
            propagated: Vec<(&'static str, PropagatedFrom)>,
            probe: &'static str,
            expect_target: Option<VpcTarget>,
            expect_destination: Option<&'static str>,
        }
        let igw = VpcTarget::InternetGateway("igw-1".into());
        let cases = vec![
            Case {
                rule: "1. local wins over a more specific propagated route (§7.5)",
                statics: vec![],
                propagated: vec![("10.0.5.0/24", PropagatedFrom::VpnBgp)],
                probe: "10.0.5.9",
                expect_target: Some(VpcTarget::Local),
                expect_destination: Some("10.0.0.0/16"),
            },
            Case {
                rule: "1. local wins over a more specific propagated DX route too",
                statics: vec![],
                propagated: vec![("10.0.5.128/25", PropagatedFrom::DirectConnect)],
                probe: "10.0.5.200",
                expect_target: Some(VpcTarget::Local),
                expect_destination: Some("10.0.0.0/16"),
            },
            Case {
                rule: "2. longest prefix match between propagated routes",
                statics: vec![],
                propagated: vec![
                    ("172.16.0.0/12", PropagatedFrom::VpnStatic),
                    ("172.16.1.0/24", PropagatedFrom::VpnBgp),
                ],
                probe: "172.16.1.1",
                expect_target: Some(vgw()),
                expect_destination: Some("172.16.1.0/24"),
            },
            Case {
                rule: "2. longest prefix beats origin priority (static /16 vs propagated /24)",
                statics: vec![("192.168.0.0/16", igw.clone())],
                propagated: vec![("192.168.7.0/24", PropagatedFrom::VpnBgp)],
                probe: "192.168.7.7",
                expect_target: Some(vgw()),
                expect_destination: Some("192.168.7.0/24"),
            },
            Case {
                rule: "3. same prefix: static beats propagated (§7.5)",
                statics: vec![("172.31.0.0/24", igw.clone())],
                propagated: vec![("172.31.0.0/24", PropagatedFrom::VpnBgp)],
                probe: "172.31.0.10",
                expect_target: Some(igw.clone()),
                expect_destination: Some("172.31.0.0/24"),
            },
            Case {
                rule: "4. propagated: Direct Connect beats VPN static and VPN BGP",
                statics: vec![],
                propagated: vec![
                    ("10.9.0.0/16", PropagatedFrom::VpnBgp),
                    ("10.9.0.0/16", PropagatedFrom::VpnStatic),
                    ("10.9.0.0/16", PropagatedFrom::DirectConnect),
                ],
                probe: "10.9.1.1",
                expect_target: Some(vgw()),
                expect_destination: Some("10.9.0.0/16"),
            },
            Case {
                rule: "no route at all",
                statics: vec![],
                propagated: vec![],
                probe: "8.8.8.8",
                expect_target: None,
                expect_destination: None,
            },
        ];
        for case in cases {
            let mut table = vpc_10_0();
            for (destination, target) in case.statics {
                table.add_static(net(destination), target).unwrap();
            }
            table.set_propagated("vgw1", case.propagated.iter().map(|(d, f)| (net(d), *f)));
            let got = table.lookup(case.probe.parse().unwrap());
            assert_eq!(
                got.as_ref().map(|r| r.target.clone()),
                case.expect_target,
                "{}",
                case.rule
            );
            assert_eq!(
                got.map(|r| r.destination),
                case.expect_destination.map(net),
                "{}",
                case.rule
            );
        }
    }

    #[test]
    fn rule_4_picks_the_direct_connect_route_among_propagated() {
        let mut table = vpc_10_0();
        table.set_propagated(
            "vgw1",
            [
                (net("10.9.0.0/16"), PropagatedFrom::VpnBgp),
                (net("10.9.0.0/16"), PropagatedFrom::DirectConnect),
                (net("10.9.0.0/16"), PropagatedFrom::VpnStatic),
            ],
        );
        let active: Vec<_> = table
            .effective()
            .into_iter()
            .filter(|r| r.destination == net("10.9.0.0/16"))
            .collect();
        assert_eq!(active.len(), 1);
        assert_eq!(
            active[0].origin,
            RouteOrigin::Propagated(PropagatedFrom::DirectConnect)
        );
        let statuses = table.status();
        let vpn_static = statuses
            .iter()
            .find(|s| s.route.origin == RouteOrigin::Propagated(PropagatedFrom::VpnStatic))
            .unwrap();
        assert!(matches!(
            vpn_static.inactive,
            Some(Inactive::LowerPriority { ref winner })
                if winner.origin == RouteOrigin::Propagated(PropagatedFrom::DirectConnect)
        ));
    }

    #[test]
    fn rule_3_prefix_list_sits_between_static_and_propagated() {
        let mut table = vpc_10_0();
        let eni = VpcTarget::NetworkInterface("eni-1".into());
        let igw = VpcTarget::InternetGateway("igw-1".into());
        table.set_propagated(
            "vgw1",
            [(net("203.0.113.0/24"), PropagatedFrom::DirectConnect)],
        );
        table
            .add_prefix_list("pl-1", net("203.0.113.0/24"), eni.clone())
            .unwrap();
        assert_eq!(
            table.lookup("203.0.113.1".parse().unwrap()).unwrap().target,
            eni
        );
        table
            .add_static(net("203.0.113.0/24"), igw.clone())
            .unwrap();
        assert_eq!(
            table.lookup("203.0.113.1".parse().unwrap()).unwrap().target,
            igw
        );
        assert!(table.remove_static(net("203.0.113.0/24")));
        assert_eq!(
            table.lookup("203.0.113.1".parse().unwrap()).unwrap().target,
            eni
        );
    }

    #[test]
    fn effective_routes_shadow_what_the_kernel_must_not_see() {
        let mut table = vpc_10_0();
        table.set_propagated(
            "vgw1",
            [
                (net("10.0.5.0/24"), PropagatedFrom::VpnBgp),
                (net("192.168.0.0/16"), PropagatedFrom::VpnBgp),
            ],
        );
        let effective: Vec<_> = table
            .effective()
            .into_iter()
            .map(|r| (r.destination.to_string(), r.target.to_string()))
            .collect();
        assert_eq!(
            effective,
            vec![
                ("10.0.0.0/16".to_owned(), "local".to_owned()),
                ("192.168.0.0/16".to_owned(), "vgw1".to_owned()),
            ]
        );
    }

    #[test]
    fn propagation_replaces_the_gateways_previous_set() {
        let mut table = vpc_10_0();
        table.set_propagated("vgw1", [(net("192.168.0.0/16"), PropagatedFrom::VpnBgp)]);
        table.set_propagated("vgw1", [(net("192.168.1.0/24"), PropagatedFrom::VpnBgp)]);
        assert!(table.lookup("192.168.2.1".parse().unwrap()).is_none());
        table.set_propagated("vgw1", []);
        assert_eq!(table.routes().len(), 1, "only local is left");
    }

    #[test]
    fn operator_errors_are_aws_errors() {
        let mut table = vpc_10_0();
        let igw = VpcTarget::InternetGateway("igw-1".into());
        table.add_static(net("0.0.0.0/0"), igw.clone()).unwrap();
        assert_eq!(
            table.add_static(net("0.0.0.0/0"), vgw()),
            Err(RouteTableError::RouteAlreadyExists {
                destination: net("0.0.0.0/0"),
                origin: "static"
            })
        );
        assert_eq!(
            table.add_static(net("10.0.0.0/16"), igw),
            Err(RouteTableError::DuplicatesLocal {
                destination: net("10.0.0.0/16")
            })
        );
        assert_eq!(
            table.add_static(net("10.1.0.0/16"), VpcTarget::Local),
            Err(RouteTableError::LocalTarget {
                destination: net("10.1.0.0/16")
            })
        );
    }

    #[test]
    fn a_prefix_propagated_twice_is_one_route() {
        let mut table = vpc_10_0();
        table.set_propagated(
            "vgw1",
            [
                (net("192.168.0.0/16"), PropagatedFrom::VpnBgp),
                (net("192.168.0.1/16"), PropagatedFrom::VpnBgp),
            ],
        );
        assert_eq!(table.effective().len(), 2, "local and one propagated route");
    }

    #[test]
    fn host_bits_are_cleared_on_insert() {
        let mut table = RouteTable::new([net("10.0.0.1/16")]);
        table
            .add_static(
                net("192.168.1.77/24"),
                VpcTarget::NatGateway("nat-1".into()),
            )
            .unwrap();
        let destinations: Vec<String> = table
            .routes()
            .iter()
            .map(|r| r.destination.to_string())
            .collect();
        assert_eq!(destinations, ["10.0.0.0/16", "192.168.1.0/24"]);
    }

    proptest::proptest! {
        /// Whatever the table holds, lookup returns an active route that contains the address, and no
        /// active route containing the address is more specific.
        #[test]
        fn lookup_is_longest_match_over_effective_routes(
            entries in proptest::collection::vec((0u32..=u32::MAX, 8u8..=28, 0u8..4), 0..24),
            probe in 0u32..=u32::MAX,
        ) {
            let mut table = RouteTable::new([net("10.0.0.0/16")]);
            let mut propagated = Vec::new();
            for (addr, len, kind) in entries {
                let destination = IpNet::new(IpAddr::from(addr.to_be_bytes()), len).unwrap().trunc();
                match kind {
                    0 => { let _ = table.add_static(destination, VpcTarget::InternetGateway("igw".into())); }
                    1 => propagated.push((destination, PropagatedFrom::DirectConnect)),
                    2 => propagated.push((destination, PropagatedFrom::VpnStatic)),
                    _ => propagated.push((destination, PropagatedFrom::VpnBgp)),
                }
            }
            table.set_propagated("vgw1", propagated);
            let address = IpAddr::from(probe.to_be_bytes());
            let effective = table.effective();
            match table.lookup(address) {
                Some(route) => {
                    proptest::prop_assert!(route.destination.contains(&address));
                    proptest::prop_assert!(effective.contains(&route));
                    proptest::prop_assert!(effective.iter().all(|r| !r.destination.contains(&address)
                        || r.destination.prefix_len() <= route.destination.prefix_len()));
                }
                None => proptest::prop_assert!(effective.iter().all(|r| !r.destination.contains(&address))),
            }
            // One active route per destination prefix.
            let mut prefixes: Vec<IpNet> = effective.iter().map(|r| r.destination).collect();
            prefixes.dedup();
            proptest::prop_assert_eq!(prefixes.len(), effective.len());
        }
    }
}
