//! TUN devices created inside a namespace, returned as owned descriptors.
//!
//! ```text
//!   open("/dev/net/tun") and TUNSETIFF run on a thread inside the namespace: the device is
//!   created in the namespace of the opener.
//!   flags  IFF_TUN | IFF_NO_PI  [| IFF_VNET_HDR (+ TUNSETVNETHDRSZ, TUNSETOFFLOAD)]
//!                               [| IFF_MULTI_QUEUE, one descriptor per queue]
//!   Not persistent: closing the last queue descriptor removes the device.
//! ```
//!
//! What it does not do: addresses, routes or bringing the device up (use [`crate::Netlink`]), or
//! read/write packets (the data plane does that on the descriptors).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use crate::error::{Error, Result};
use crate::names::check_ifname;
use crate::namespace::Netns;
use crate::sys::{self, IfReqFlags};

/// Size of `struct virtio_net_hdr_v1` (with `num_buffers`), the header the kernel prepends with
/// IFF_VNET_HDR when this size is set.
pub const VNET_HDR_LEN: usize = 12;

/// Offload flags for TUNSETOFFLOAD (TUN_F_*).
pub mod offload {
    /// The kernel may hand over packets with partial checksums.
    pub const CSUM: u32 = libc::TUN_F_CSUM;
    /// TCP segmentation offload, IPv4.
    pub const TSO4: u32 = libc::TUN_F_TSO4;
    /// TCP segmentation offload, IPv6.
    pub const TSO6: u32 = libc::TUN_F_TSO6;
    /// TCP segmentation offload with ECN.
    pub const TSO_ECN: u32 = libc::TUN_F_TSO_ECN;
    /// UDP segmentation offload, IPv4 (kernel 6.2+).
    pub const USO4: u32 = libc::TUN_F_USO4;
    /// UDP segmentation offload, IPv6 (kernel 6.2+).
    pub const USO6: u32 = libc::TUN_F_USO6;
}

/// How to create a TUN device.
#[derive(Debug, Clone)]
pub struct TunOptions {
    /// Interface name (`tun%d` lets the kernel pick).
    pub name: String,
    /// IFF_VNET_HDR: each packet carries a virtio-net header of [`VNET_HDR_LEN`] bytes.
    pub vnet_hdr: bool,
    /// TUNSETOFFLOAD flags (see [`offload`]); only with `vnet_hdr`.
    pub offload: u32,
    /// Number of queues; more than one sets IFF_MULTI_QUEUE and returns one descriptor each.
    pub queues: usize,
    /// O_NONBLOCK on every descriptor (for async readers).
    pub nonblocking: bool,
}

impl TunOptions {
    /// A single-queue, blocking TUN device without virtio header.
    pub fn new(name: &str) -> TunOptions {
        TunOptions {
            name: name.to_string(),
            vnet_hdr: false,
            offload: 0,
            queues: 1,
            nonblocking: false,
        }
    }
}

/// An open TUN device: its name, index and queue descriptors.
#[derive(Debug)]
pub struct Tun {
    name: String,
    ifindex: u32,
    queues: Vec<OwnedFd>,
}

impl Tun {
    /// Interface name (as the kernel chose it for `tun%d`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Interface index in its namespace.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The queue descriptors (one unless multi-queue).
    pub fn queues(&self) -> &[OwnedFd] {
        &self.queues
    }

    /// Takes the queue descriptors; the device lives as long as any of them is open.
    pub fn into_queues(self) -> Vec<OwnedFd> {
        self.queues
    }
}

impl AsFd for Tun {
    /// The first queue.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.queues[0].as_fd()
    }
}

pub(crate) fn tun_unavailable(e: &io::Error) -> Option<Error> {
    match e.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => Some(Error::Unavailable {
            what: "opening /dev/net/tun".into(),
            detail: format!(
                "{e}: tunnels need /dev/net/tun readable and writable by this user (the usual \
                 mode is 0666; fix with `chmod 0666 /dev/net/tun` as root, or run as root)"
            ),
        }),
        Some(libc::ENOENT) | Some(libc::ENODEV) | Some(libc::ENXIO) => Some(Error::Unavailable {
            what: "opening /dev/net/tun".into(),
            detail: format!(
                "{e}: no TUN device (load the tun module, or in a container pass --device /dev/net/tun)"
            ),
        }),
        _ => None,
    }
}

/// Checks that `/dev/net/tun` can be opened for reading and writing by this process, with a
/// clear message when it cannot.
pub fn check_tun_access() -> Result<()> {
    match sys::open(Path::new("/dev/net/tun"), libc::O_RDWR) {
        Ok(_) => Ok(()),
        Err(e) => Err(tun_unavailable(&e).unwrap_or_else(|| Error::os("opening /dev/net/tun", e))),
    }
}

/// Opens `/dev/net/tun` and attaches it to interface `opts.name` with `flags` (IFF_TUN or, for
/// [`crate::tap`], IFF_TAP); returns the descriptor and the name the kernel chose.
pub(crate) fn open_queue(opts: &TunOptions, flags: libc::c_short) -> io::Result<(OwnedFd, String)> {
    let fd = sys::open(Path::new("/dev/net/tun"), libc::O_RDWR)?;
    let mut req = IfReqFlags::new(&opts.name, flags);
    // SAFETY: `req` is a valid 40-byte ifreq that TUNSETIFF reads and fills in.
    sys::cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &mut req) })?;
    Ok((fd, req.name()))
}

fn configure(fd: BorrowedFd<'_>, opts: &TunOptions) -> io::Result<()> {
    if opts.vnet_hdr {
        let len: libc::c_int = VNET_HDR_LEN as libc::c_int;
        // SAFETY: TUNSETVNETHDRSZ reads one int through the pointer.
        sys::cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETVNETHDRSZ, &len) })?;
        // SAFETY: TUNSETOFFLOAD takes the flags as an integer argument.
        sys::cvt(unsafe {
            libc::ioctl(
                fd.as_raw_fd(),
                libc::TUNSETOFFLOAD,
                opts.offload as libc::c_ulong,
            )
        })?;
    }
    if opts.nonblocking {
        sys::set_nonblocking(fd, true)?;
    }
    Ok(())
}

/// Creates a TUN device in `ns`. The device is not persistent: it disappears when every queue
/// descriptor is closed (or with the namespace).
pub fn create_tun(ns: &Netns, opts: &TunOptions) -> Result<Tun> {
    if !opts.name.contains("%d") {
        check_ifname(&opts.name)?;
    }
    if opts.queues == 0 || opts.queues > 256 {
        return Err(Error::invalid(
            "TUN queue count",
            opts.queues.to_string(),
            "must be 1 to 256",
        ));
    }
    if opts.offload != 0 && !opts.vnet_hdr {
        return Err(Error::invalid(
            "TUN offload flags",
            format!("{:#x}", opts.offload),
            "offloads need vnet_hdr (the kernel passes GSO metadata in the virtio header)",
        ));
    }
    let what = format!("creating TUN device {} in {}", opts.name, ns.name());
    let mut flags = (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short;
    if opts.vnet_hdr {
        flags |= libc::IFF_VNET_HDR as libc::c_short;
    }
    if opts.queues > 1 {
        flags |= libc::IFF_MULTI_QUEUE as libc::c_short;
    }
    let result = ns.run(|| -> io::Result<Tun> {
        let (first, name) = open_queue(opts, flags)?;
        configure(first.as_fd(), opts)?;
        let mut queues = vec![first];
        let named = TunOptions {
            name: name.clone(),
            ..opts.clone()
        };
        for _ in 1..opts.queues {
            let (q, _) = open_queue(&named, flags)?;
            configure(q.as_fd(), opts)?;
            queues.push(q);
        }
        let ifindex = sys::if_index(&name)?;
        Ok(Tun {
            name,
            ifindex,
            queues,
        })
    })?;
    result.map_err(|e| tun_unavailable(&e).unwrap_or_else(|| Error::os(what, e)))
}
