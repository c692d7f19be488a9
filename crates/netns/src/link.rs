//! Links: veth pairs created directly in two namespaces, Linux bridges and their ports, up/down,
//! MTU, rename, delete, and reading links back.
//!
//! ```text
//!   ns A                 ns B          one RTM_NEWLINK: the link carries IFLA_NET_NS_FD(A), its
//!   [a-end] <== veth ==> [b-end]       peer (IFLA_INFO_DATA/VETH_INFO_PEER) carries
//!                                      IFLA_NET_NS_FD(B); neither end ever exists in the
//!                                      namespace of the socket that asked.
//! ```
//!
//! What it does not do: addresses and routes ([`crate::address`], [`crate::route`]), TUN devices
//! ([`crate::tun`]).

use std::fmt;
use std::os::fd::{AsFd, AsRawFd};

use futures::{StreamExt, TryStreamExt};
use ipnet::IpNet;
use rtnetlink::packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use rtnetlink::{LinkBridge, LinkMessageBuilder, LinkUnspec, LinkVeth};

use crate::error::{Error, Result};
use crate::names::check_ifname;
use crate::namespace::Netns;
use crate::netlink::Netlink;
use crate::sys;

/// A link named by interface name or by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkId<'a> {
    /// By name.
    Name(&'a str),
    /// By index.
    Index(u32),
}

impl<'a> From<&'a str> for LinkId<'a> {
    fn from(name: &'a str) -> Self {
        LinkId::Name(name)
    }
}

impl<'a> From<&'a String> for LinkId<'a> {
    fn from(name: &'a String) -> Self {
        LinkId::Name(name)
    }
}

impl From<u32> for LinkId<'_> {
    fn from(index: u32) -> Self {
        LinkId::Index(index)
    }
}

impl fmt::Display for LinkId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkId::Name(n) => f.write_str(n),
            LinkId::Index(i) => write!(f, "ifindex {i}"),
        }
    }
}

/// One end of a veth pair to create.
#[derive(Debug, Clone, Copy)]
pub struct VethEnd<'a> {
    /// Namespace this end is created in.
    pub ns: &'a Netns,
    /// Interface name.
    pub name: &'a str,
}

/// Options of a new veth pair.
#[derive(Debug, Clone, Copy, Default)]
pub struct VethOptions {
    /// MTU of both ends (kernel default 1500 when `None`).
    pub mtu: Option<u32>,
    /// Bring both ends up at creation (saves two requests).
    pub up: bool,
}

/// A link as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Kind (`veth`, `bridge`, `tun`, ...); `None` for devices without one (loopback).
    pub kind: Option<String>,
    /// MTU.
    pub mtu: u32,
    /// Administratively up (IFF_UP).
    pub up: bool,
    /// Carrier present (IFF_LOWER_UP): for a veth, the peer is up too.
    pub lower_up: bool,
    /// Index of the bridge this link is a port of.
    pub master: Option<u32>,
    /// Hardware address.
    pub mac: Option<Vec<u8>>,
    /// For a veth: the peer's ifindex (in the peer's namespace).
    pub peer_index: Option<u32>,
}

impl Link {
    /// Builds a [`Link`] from a kernel message.
    pub fn from_message(msg: &LinkMessage) -> Link {
        let mut link = Link {
            index: msg.header.index,
            name: String::new(),
            kind: None,
            mtu: 0,
            up: msg.header.flags.contains(LinkFlags::Up),
            lower_up: msg.header.flags.contains(LinkFlags::LowerUp),
            master: None,
            mac: None,
            peer_index: None,
        };
        for attr in &msg.attributes {
            match attr {
                LinkAttribute::IfName(n) => link.name = n.clone(),
                LinkAttribute::Mtu(m) => link.mtu = *m,
                LinkAttribute::Controller(m) => link.master = Some(*m),
                LinkAttribute::Address(a) => link.mac = Some(a.clone()),
                LinkAttribute::Link(p) => link.peer_index = Some(*p),
                LinkAttribute::LinkInfo(infos) => {
                    for info in infos {
                        if let LinkInfo::Kind(k) = info {
                            link.kind = Some(k.to_string());
                        }
                    }
                }
                _ => {}
            }
        }
        link
    }
}

impl Netlink {
    fn ctx(&self, op: impl fmt::Display) -> String {
        format!("{op} in {}", self.namespace())
    }

    /// The index of a link.
    pub async fn link_index(&self, link: LinkId<'_>) -> Result<u32> {
        match link {
            LinkId::Index(i) => Ok(i),
            LinkId::Name(_) => Ok(self.link(link).await?.index),
        }
    }

    /// Reads one link back.
    pub async fn link(&self, link: LinkId<'_>) -> Result<Link> {
        let what = || self.ctx(format!("reading link {link}"));
        let req = self.handle().link().get();
        let req = match link {
            LinkId::Name(n) => {
                check_ifname(n)?;
                req.match_name(n.to_string())
            }
            LinkId::Index(i) => req.match_index(i),
        };
        match req.execute().try_next().await {
            Ok(Some(msg)) => Ok(Link::from_message(&msg)),
            Ok(None) => Err(Error::NotFound { what: what() }),
            Err(e) => {
                let e = Error::netlink(what(), e);
                if e.is_not_found() {
                    Err(Error::NotFound { what: what() })
                } else {
                    Err(e)
                }
            }
        }
    }

    /// All links of the namespace, by index.
    pub async fn links(&self) -> Result<Vec<Link>> {
        let mut out: Vec<Link> = self
            .handle()
            .link()
            .get()
            .execute()
            .map_ok(|m| Link::from_message(&m))
            .try_collect()
            .await
            .map_err(|e| Error::netlink(self.ctx("listing links"), e))?;
        out.sort_by_key(|l| l.index);
        Ok(out)
    }

    /// Creates a veth pair whose ends are created directly in `a.ns` and `b.ns` (this handle's
    /// namespace only carries the request).
    ///
    /// With `opts.up`, the `a` end is brought up by the creating request and the `b` end right
    /// after it, from a thread in `b.ns`: the kernel refuses `up` for the peer in the creating
    /// request with ENOTCONN (`veth_open` runs before the two ends are tied together).
    pub async fn add_veth(&self, a: VethEnd<'_>, b: VethEnd<'_>, opts: VethOptions) -> Result<()> {
        check_ifname(a.name)?;
        check_ifname(b.name)?;
        let what = format!(
            "creating veth {}<->{} in {}/{}",
            a.name,
            b.name,
            a.ns.name(),
            b.ns.name()
        );
        let msg = veth_message(a, b, opts.mtu, opts.up);
        self.handle()
            .link()
            .add(msg)
            .execute()
            .await
            .map_err(|e| Error::netlink(what, e))?;
        if opts.up {
            let name = b.name;
            b.ns.run(|| sys::set_if_up(name, true))?
                .map_err(|e| Error::os(format!("setting link {name} up in {}", b.ns.name()), e))?;
        }
        Ok(())
    }

    /// Creates a Linux bridge in this namespace (STP off, forward delay 0, so ports forward at
    /// once: a lab wants no 30 s learning phase).
    pub async fn add_bridge(&self, name: &str, up: bool) -> Result<u32> {
        check_ifname(name)?;
        let mut b = LinkBridge::new(name).forward_delay(0);
        if up {
            b = b.up();
        }
        self.handle()
            .link()
            .add(b.build())
            .execute()
            .await
            .map_err(|e| Error::netlink(self.ctx(format!("creating bridge {name}")), e))?;
        self.link_index(LinkId::Name(name)).await
    }

    async fn set(
        &self,
        link: LinkId<'_>,
        op: String,
        f: impl FnOnce(LinkMessageBuilder<LinkUnspec>) -> LinkMessageBuilder<LinkUnspec>,
    ) -> Result<()> {
        let index = self.link_index(link).await?;
        let msg = f(LinkUnspec::new_with_index(index)).build();
        self.handle()
            .link()
            .set(msg)
            .execute()
            .await
            .map_err(|e| Error::netlink(self.ctx(op), e))
    }

    /// Sets a link administratively up or down.
    pub async fn set_link_up(&self, link: LinkId<'_>, up: bool) -> Result<()> {
        let op = format!("setting link {link} {}", if up { "up" } else { "down" });
        self.set(link, op, |b| if up { b.up() } else { b.down() })
            .await
    }

    /// Sets a link's MTU.
    pub async fn set_mtu(&self, link: LinkId<'_>, mtu: u32) -> Result<()> {
        self.set(link, format!("setting mtu {mtu} on link {link}"), |b| {
            b.mtu(mtu)
        })
        .await
    }

    /// Renames a link (the kernel refuses while it is up).
    pub async fn rename(&self, link: LinkId<'_>, new_name: &str) -> Result<()> {
        check_ifname(new_name)?;
        let n = new_name.to_string();
        self.set(link, format!("renaming link {link} to {new_name}"), |b| {
            b.name(n)
        })
        .await
    }

    /// Makes `link` a port of `bridge`, or of no bridge with `None`.
    pub async fn set_master(&self, link: LinkId<'_>, bridge: Option<LinkId<'_>>) -> Result<()> {
        match bridge {
            Some(br) => {
                let br_index = self.link_index(br).await?;
                self.set(link, format!("adding link {link} to bridge {br}"), |b| {
                    b.controller(br_index)
                })
                .await
            }
            None => {
                self.set(link, format!("removing link {link} from its bridge"), |b| {
                    b.nocontroller()
                })
                .await
            }
        }
    }

    /// Deletes a link (for a veth, both ends go).
    pub async fn delete_link(&self, link: LinkId<'_>) -> Result<()> {
        let index = self.link_index(link).await?;
        self.handle()
            .link()
            .del(index)
            .execute()
            .await
            .map_err(|e| Error::netlink(self.ctx(format!("deleting link {link}")), e))
    }
}

/// The RTM_NEWLINK message creating veth `a.name` in `a.ns` with peer `b.name` in `b.ns`; `up`
/// applies to the `a` end only (see [`Netlink::add_veth`]).
fn veth_message(a: VethEnd<'_>, b: VethEnd<'_>, mtu: Option<u32>, up: bool) -> LinkMessage {
    let mut peer = LinkMessageBuilder::<LinkUnspec>::new()
        .name(b.name.to_string())
        .setns_by_fd(b.ns.as_fd().as_raw_fd());
    let mut builder = LinkVeth::new(a.name, b.name).setns_by_fd(a.ns.as_fd().as_raw_fd());
    if let Some(mtu) = mtu {
        peer = peer.mtu(mtu);
        builder = builder.mtu(mtu);
    }
    if up {
        builder = builder.up();
    }
    builder
        .set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build())))
        .build()
}

/// One end of a veth pair created by [`add_veths`].
#[derive(Debug, Clone, Copy)]
pub struct VethEndSpec<'a> {
    /// Namespace this end is created in.
    pub ns: &'a Netns,
    /// A connection whose socket lives in `ns` (from [`Netlink::open`] or
    /// [`Netlink::open_many`]): it configures this end, and for the `a` end creates the pair.
    pub netlink: &'a Netlink,
    /// Interface name.
    pub name: &'a str,
    /// Addresses to add to this end (IPv6 without DAD, as [`Netlink::add_address`]).
    pub addresses: &'a [IpNet],
}

/// A veth pair for [`add_veths`].
#[derive(Debug, Clone, Copy)]
pub struct VethSpec<'a> {
    /// The end whose connection creates the pair.
    pub a: VethEndSpec<'a>,
    /// The other end.
    pub b: VethEndSpec<'a>,
    /// MTU of both ends (kernel default 1500 when `None`).
    pub mtu: Option<u32>,
    /// Bring both ends up.
    pub up: bool,
}

/// Interface indexes of a pair created by [`add_veths`], each in its own namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VethIndexes {
    /// Index of the `a` end in `a.ns`.
    pub a: u32,
    /// Index of the `b` end in `b.ns`.
    pub b: u32,
}

/// Creates many veth pairs with their addresses, up to `in_flight` pairs at a time, and returns
/// their indexes in order. A lab's links, fast:
///
/// ```text
///   per pair  a.netlink  RTM_NEWLINK veth (a end up) + NLM_F_ECHO ─> index of a, IFLA_LINK = index of b
///             then at once: a.netlink RTM_NEWADDR x n   b.netlink RTM_NEWADDR x n, RTM_NEWLINK b up
/// ```
///
/// Four requests for a pair with one address per end, none of them a lookup by name (the
/// kernel's echo of the new link carries both indexes; kernels before 6.2 do not echo, and the
/// indexes are then looked up by name). Requests of different pairs are pipelined on each
/// connection. On an error the first one is returned; pairs already created stay (they live in
/// the lab's namespaces and go with them).
pub async fn add_veths(specs: &[VethSpec<'_>], in_flight: usize) -> Result<Vec<VethIndexes>> {
    futures::stream::iter(specs.iter().map(add_one_veth))
        .buffered(in_flight.max(1))
        .try_collect()
        .await
}

async fn add_one_veth(spec: &VethSpec<'_>) -> Result<VethIndexes> {
    let (a, b) = (spec.a, spec.b);
    check_ifname(a.name)?;
    check_ifname(b.name)?;
    let what = || {
        format!(
            "creating veth {}<->{} in {}/{}",
            a.name,
            b.name,
            a.ns.name(),
            b.ns.name()
        )
    };
    let msg = veth_message(
        VethEnd {
            ns: a.ns,
            name: a.name,
        },
        VethEnd {
            ns: b.ns,
            name: b.name,
        },
        spec.mtu,
        spec.up,
    );
    let mut req = NetlinkMessage::from(RouteNetlinkMessage::NewLink(msg));
    req.header.flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO;
    let mut handle = a.netlink.handle().clone();
    let mut replies = handle.request(req).map_err(|e| Error::netlink(what(), e))?;
    let (mut a_index, mut b_index) = (None, None);
    while let Some(reply) = replies.next().await {
        match reply.payload {
            NetlinkPayload::Error(e) => {
                return Err(Error::netlink(what(), rtnetlink::Error::NetlinkError(e)));
            }
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(m)) => {
                let link = Link::from_message(&m);
                if link.name == a.name {
                    a_index = Some(link.index);
                    b_index = link.peer_index;
                }
            }
            _ => {}
        }
    }
    let a_index = match a_index {
        Some(i) => i,
        None => a.netlink.link_index(LinkId::Name(a.name)).await?,
    };
    let b_index = match b_index {
        Some(i) => i,
        None => b.netlink.link_index(LinkId::Name(b.name)).await?,
    };
    // The a end came up with the creating request.
    futures::future::try_join(
        configure_end(a, a_index, false),
        configure_end(b, b_index, spec.up),
    )
    .await?;
    Ok(VethIndexes {
        a: a_index,
        b: b_index,
    })
}

/// Adds an end's addresses (all at once), then brings it up if asked.
async fn configure_end(end: VethEndSpec<'_>, index: u32, up: bool) -> Result<()> {
    futures::future::try_join_all(
        end.addresses
            .iter()
            .map(|net| end.netlink.add_address(LinkId::Index(index), *net)),
    )
    .await?;
    if up {
        end.netlink.set_link_up(LinkId::Index(index), true).await?;
    }
    Ok(())
}

/// Whether a link kind string names a bridge (kept beside [`Link::kind`] for callers).
pub fn is_bridge(link: &Link) -> bool {
    link.kind.as_deref() == Some(&InfoKind::Bridge.to_string())
}
