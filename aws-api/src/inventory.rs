//! What the API serves, as the `hybridlab` binary hands it over from the lab's scenario (it
//! has every node kind registered; this package knows none): the VGWs with their VPN
//! connections and VPCs, the customer gateways as AWS's CreateCustomerGateway registered them,
//! and the Direct Connect nodes. Live state (tunnels, sessions, VIF addresses, static routes)
//! is read from the daemons at each request ([`crate::lab`]).
//!
//! What it does not do: read scenario files, or talk to daemons.

use std::net::Ipv4Addr;

use crate::ids::resource_id;

/// A VPN connection of a VGW.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// Its name on the VGW.
    pub name: String,
    /// Its customer gateway node.
    pub cgw: String,
}

/// A VGW node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VgwInfo {
    /// Node name.
    pub node: String,
    /// Its VPC node.
    pub vpc: Option<String>,
    /// Its VPN connections.
    pub connections: Vec<ConnectionInfo>,
}

/// A customer gateway resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgwInfo {
    /// Node name.
    pub node: String,
    /// Its outside address.
    pub ip_address: Ipv4Addr,
    /// Its ASN.
    pub asn: u32,
}

/// Everything a lab's API describes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inventory {
    /// The lab's name (ids are derived from it).
    pub lab: String,
    /// The region the API claims to be.
    pub region: String,
    /// VGWs.
    pub vgws: Vec<VgwInfo>,
    /// Customer gateways.
    pub cgws: Vec<CgwInfo>,
    /// Direct Connect location router nodes (`dxgw` kind).
    pub dx_nodes: Vec<String>,
    /// Transit Gateway nodes (`tgw` kind).
    pub tgw_nodes: Vec<String>,
}

/// A VPN connection found by id.
#[derive(Debug, Clone, Copy)]
pub struct FoundConnection<'a> {
    /// Its VGW.
    pub vgw: &'a VgwInfo,
    /// The connection.
    pub connection: &'a ConnectionInfo,
}

impl Inventory {
    /// `vpn-...` of a connection.
    pub fn vpn_id(&self, vgw: &str, connection: &str) -> String {
        resource_id(&self.lab, "vpn", &format!("{vgw}/{connection}"))
    }

    /// `vgw-...` of a VGW node.
    pub fn vgw_id(&self, node: &str) -> String {
        resource_id(&self.lab, "vgw", node)
    }

    /// `cgw-...` of a customer gateway node.
    pub fn cgw_id(&self, node: &str) -> String {
        resource_id(&self.lab, "cgw", node)
    }

    /// `vpc-...` of a VPC node.
    pub fn vpc_id(&self, node: &str) -> String {
        resource_id(&self.lab, "vpc", node)
    }

    /// Every VPN connection.
    pub fn connections(&self) -> impl Iterator<Item = FoundConnection<'_>> {
        self.vgws.iter().flat_map(|vgw| {
            vgw.connections
                .iter()
                .map(move |connection| FoundConnection { vgw, connection })
        })
    }

    /// The connection with id `id`.
    pub fn connection_by_id(&self, id: &str) -> Option<FoundConnection<'_>> {
        self.connections()
            .find(|c| self.vpn_id(&c.vgw.node, &c.connection.name) == id)
    }

    /// Every resource id with its kind and name, for `hybridlab show` and the README.
    pub fn ids(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for v in &self.vgws {
            out.push(("vpn-gateway".into(), v.node.clone(), self.vgw_id(&v.node)));
            if let Some(vpc) = &v.vpc {
                out.push(("vpc".into(), vpc.clone(), self.vpc_id(vpc)));
            }
            for c in &v.connections {
                out.push((
                    "vpn-connection".into(),
                    format!("{}/{}", v.node, c.name),
                    self.vpn_id(&v.node, &c.name),
                ));
            }
        }
        for c in &self.cgws {
            out.push((
                "customer-gateway".into(),
                c.node.clone(),
                self.cgw_id(&c.node),
            ));
        }
        out
    }
}
