//! IPv4 and IPv6 addresses on links: add, delete, list.
//!
//! IPv6 addresses are added with IFA_F_NODAD: a lab's addresses are unique by construction, and
//! duplicate address detection would make every test wait about a second before the address is
//! usable.
//!
//! What it does not do: routes (the kernel adds the connected route itself), neighbours.

use std::net::IpAddr;

use futures::TryStreamExt;
use ipnet::IpNet;
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage,
};

use crate::error::{Error, Result};
use crate::link::LinkId;
use crate::netlink::Netlink;

/// An address as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Interface index.
    pub index: u32,
    /// Address and prefix length.
    pub net: IpNet,
    /// Still doing duplicate address detection (IPv6; never for addresses added here).
    pub tentative: bool,
}

impl Address {
    /// Builds an [`Address`] from a kernel message; `None` for messages without a usable address.
    pub fn from_message(msg: &AddressMessage) -> Option<Address> {
        let mut local = None;
        let mut address = None;
        let mut flags = u32::from(msg.header.flags.bits());
        for attr in &msg.attributes {
            match attr {
                AddressAttribute::Local(a) => local = Some(*a),
                AddressAttribute::Address(a) => address = Some(*a),
                AddressAttribute::Flags(f) => flags = f.bits(),
                _ => {}
            }
        }
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point
        // links, and the only one given for IPv6.
        let ip = local.or(address)?;
        let net = IpNet::new(ip, msg.header.prefix_len).ok()?;
        Some(Address {
            index: msg.header.index,
            net,
            tentative: flags & libc::IFA_F_TENTATIVE != 0,
        })
    }
}

fn message_for(index: u32, net: IpNet) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = match net {
        IpNet::V4(_) => rtnetlink::packet_route::AddressFamily::Inet,
        IpNet::V6(_) => rtnetlink::packet_route::AddressFamily::Inet6,
    };
    msg.header.prefix_len = net.prefix_len();
    msg.header.index = index;
    msg.attributes.push(AddressAttribute::Local(net.addr()));
    msg.attributes.push(AddressAttribute::Address(net.addr()));
    msg
}

impl Netlink {
    /// Adds an address to a link (`10.0.0.1/30`, `2001:db8::1/64`). IPv6 skips DAD.
    pub async fn add_address(&self, link: LinkId<'_>, net: IpNet) -> Result<()> {
        let index = self.link_index(link).await?;
        let mut req = self
            .handle()
            .address()
            .add(index, net.addr(), net.prefix_len());
        if net.addr().is_ipv6() {
            let msg = req.message_mut();
            msg.header.flags |= AddressHeaderFlags::Nodad;
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        req.execute().await.map_err(|e| {
            Error::netlink(
                format!("adding address {net} to {link} in {}", self.namespace()),
                e,
            )
        })
    }

    /// Removes an address from a link.
    pub async fn del_address(&self, link: LinkId<'_>, net: IpNet) -> Result<()> {
        let index = self.link_index(link).await?;
        self.handle()
            .address()
            .del(message_for(index, net))
            .execute()
            .await
            .map_err(|e| {
                Error::netlink(
                    format!("removing address {net} from {link} in {}", self.namespace()),
                    e,
                )
            })
    }

    /// Addresses of one link, or of all links with `None`, sorted by index then address.
    pub async fn addresses(&self, link: Option<LinkId<'_>>) -> Result<Vec<Address>> {
        let mut req = self.handle().address().get();
        let index = match link {
            Some(l) => Some(self.link_index(l).await?),
            None => None,
        };
        if let Some(i) = index {
            req = req.set_link_index_filter(i);
        }
        let msgs: Vec<AddressMessage> =
            req.execute().try_collect().await.map_err(|e| {
                Error::netlink(format!("listing addresses in {}", self.namespace()), e)
            })?;
        let mut out: Vec<Address> = msgs
            .iter()
            .filter_map(Address::from_message)
            .filter(|a| index.is_none_or(|i| a.index == i))
            .collect();
        out.sort_by_key(|a| (a.index, a.net));
        Ok(out)
    }

    /// Whether `ip` is configured on any link of the namespace.
    pub async fn has_address(&self, ip: IpAddr) -> Result<bool> {
        Ok(self
            .addresses(None)
            .await?
            .iter()
            .any(|a| a.net.addr() == ip))
    }
}
