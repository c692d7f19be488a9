//! An interface's VLAN offload flags (`rx-vlan-offload`, `tx-vlan-offload` in ethtool(8)
//! terms; NETIF_F_HW_VLAN_CTAG_RX/TX in the kernel), read and set through the legacy
//! `SIOCETHTOOL` `ETHTOOL_GFLAGS`/`ETHTOOL_SFLAGS` ioctl. Added by the 802.1Q VLAN work
//! (issue 11), to test whether a veth's offloads decide where a packet socket finds a received
//! frame's tag.
//!
//! They do not: the kernel's receive path takes the tag out of the frame for packet sockets with
//! the offload on or off (`crate::packet` says where the tag goes and why); the VLAN tests turn
//! the flags off and see the same. The flags matter for drivers that insert or strip tags in
//! hardware, which a veth does not have.
//!
//! What it does not do: any other feature flag (the ethtool netlink family covers all of them;
//! this is the one pair we need), or ring, coalescing or link settings.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::error::{Error, Result};
use crate::names::check_ifname;
use crate::namespace::Netns;
use crate::sys::cvt;

const ETHTOOL_GFLAGS: u32 = 0x25;
const ETHTOOL_SFLAGS: u32 = 0x26;
/// ETH_FLAG_TXVLAN: NETIF_F_HW_VLAN_CTAG_TX.
const ETH_FLAG_TXVLAN: u32 = 1 << 7;
/// ETH_FLAG_RXVLAN: NETIF_F_HW_VLAN_CTAG_RX.
const ETH_FLAG_RXVLAN: u32 = 1 << 8;

/// An interface's 802.1Q (C-tag) offloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanOffloads {
    /// The device takes received tags out of frames into metadata (`rx-vlan-offload`).
    pub rx: bool,
    /// The device inserts tags from metadata on transmit (`tx-vlan-offload`).
    pub tx: bool,
}

/// `struct ethtool_value`.
#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

/// `struct ifreq` with the `ifr_data` pointer member of the union (40 octets on 64-bit Linux).
#[repr(C)]
struct IfReqData {
    name: [libc::c_char; libc::IFNAMSIZ],
    data: *mut libc::c_void,
    pad: [u8; 16],
}

fn ethtool_flags(interface: &str, set: Option<u32>) -> io::Result<u32> {
    // SAFETY: plain socket(2) call; the result is checked.
    let raw =
        cvt(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `raw` was just returned by socket and is owned by nobody else.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut value = EthtoolValue {
        cmd: ETHTOOL_GFLAGS,
        data: 0,
    };
    let mut req = IfReqData {
        name: [0; libc::IFNAMSIZ],
        data: &mut value as *mut EthtoolValue as *mut libc::c_void,
        pad: [0; 16],
    };
    for (dst, src) in req
        .name
        .iter_mut()
        .zip(interface.bytes().take(libc::IFNAMSIZ - 1))
    {
        *dst = src as libc::c_char;
    }
    // SAFETY: `req` is a valid ifreq whose data pointer points at `value`, a live ethtool_value
    // the kernel reads and fills in for ETHTOOL_GFLAGS.
    cvt(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCETHTOOL, &mut req) })?;
    if let Some(flags) = set {
        value.cmd = ETHTOOL_SFLAGS;
        value.data = flags;
        // SAFETY: as above; ETHTOOL_SFLAGS only reads `value`.
        cvt(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCETHTOOL, &mut req) })?;
        value.cmd = ETHTOOL_GFLAGS;
        value.data = 0;
        // SAFETY: as for the first call.
        cvt(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCETHTOOL, &mut req) })?;
    }
    Ok(value.data)
}

fn offloads(flags: u32) -> VlanOffloads {
    VlanOffloads {
        rx: flags & ETH_FLAG_RXVLAN != 0,
        tx: flags & ETH_FLAG_TXVLAN != 0,
    }
}

/// Reads `interface`'s VLAN offloads in `ns`.
pub fn vlan_offloads(ns: &Netns, interface: &str) -> Result<VlanOffloads> {
    check_ifname(interface)?;
    let what = format!("reading VLAN offloads of {interface} in {}", ns.name());
    ns.run(|| ethtool_flags(interface, None))?
        .map(offloads)
        .map_err(|e| Error::os(what, e))
}

/// Sets `interface`'s VLAN offloads in `ns` (other ethtool flags are kept) and returns what the
/// kernel then reports (a flag the device cannot change stays as it was, or the kernel refuses).
pub fn set_vlan_offloads(ns: &Netns, interface: &str, want: VlanOffloads) -> Result<VlanOffloads> {
    check_ifname(interface)?;
    let what = format!(
        "setting VLAN offloads rx {} tx {} of {interface} in {}",
        want.rx,
        want.tx,
        ns.name()
    );
    ns.run(|| {
        let now = ethtool_flags(interface, None)?;
        let mut flags = now & !(ETH_FLAG_RXVLAN | ETH_FLAG_TXVLAN);
        if want.rx {
            flags |= ETH_FLAG_RXVLAN;
        }
        if want.tx {
            flags |= ETH_FLAG_TXVLAN;
        }
        ethtool_flags(interface, Some(flags))
    })?
    .map(offloads)
    .map_err(|e| Error::os(what, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifreq_has_the_kernel_layout() {
        assert_eq!(std::mem::size_of::<IfReqData>(), 40);
        assert_eq!(std::mem::size_of::<EthtoolValue>(), 8);
        assert_eq!(
            offloads(ETH_FLAG_RXVLAN | ETH_FLAG_TXVLAN),
            VlanOffloads { rx: true, tx: true }
        );
    }

    /// A veth's VLAN offloads are on by default and can be turned off and on again. Needs root.
    #[test]
    fn veth_vlan_offloads_toggle() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = crate::NetnsDir::new(tmp.path());
        let ns = Netns::create(&dir, "hl-ethtool-unit").expect("creating a namespace (root?)");
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let nl = crate::Netlink::open(&ns).unwrap();
                nl.add_veth(
                    crate::VethEnd {
                        ns: &ns,
                        name: "ea",
                    },
                    crate::VethEnd {
                        ns: &ns,
                        name: "eb",
                    },
                    crate::VethOptions::default(),
                )
                .await
                .unwrap();
            });
            let on = VlanOffloads { rx: true, tx: true };
            let off = VlanOffloads {
                rx: false,
                tx: false,
            };
            assert_eq!(vlan_offloads(&ns, "ea").unwrap(), on);
            assert_eq!(set_vlan_offloads(&ns, "ea", off).unwrap(), off);
            assert_eq!(
                vlan_offloads(&ns, "eb").unwrap(),
                on,
                "the peer keeps its own"
            );
            assert_eq!(set_vlan_offloads(&ns, "ea", on).unwrap(), on);
            assert!(vlan_offloads(&ns, "nope").is_err());
        }));
        drop(ns);
        let _ = dir.unpin("hl-ethtool-unit");
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    }
}
