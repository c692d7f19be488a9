//! TAP devices (Ethernet frames, not IP packets) created inside a namespace, returned as owned
//! descriptors. Added by the 802.1Q VLAN work (issue 11): one TAP device per Direct Connect
//! virtual interface, whose frames `crates/vlan` tags onto the cross-connect.
//!
//! ```text
//!   open("/dev/net/tun") and TUNSETIFF(IFF_TAP | IFF_NO_PI) run on a thread inside the
//!   namespace: the device is created in the namespace of the opener (as for TUN, `crate::tun`).
//!   One read or write = one Ethernet frame: destination, source, EtherType, payload (no FCS).
//!   Not persistent: closing the descriptor removes the device.
//! ```
//!
//! The kernel gives the device a random locally administered MAC address; without TUNSETOFFLOAD
//! it advertises no checksum or segmentation offload, so every frame read carries complete
//! checksums and is at most MTU + 14 octets.
//!
//! What it does not do: virtio-net headers, offloads or multiple queues (the VLAN data plane
//! does not need them yet), addresses, MTU or bringing the device up (use [`crate::Netlink`]).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::error::{Error, Result};
use crate::names::check_ifname;
use crate::namespace::Netns;
use crate::sys;
use crate::tun::{TunOptions, open_queue, tun_unavailable};

/// How to create a TAP device.
#[derive(Debug, Clone)]
pub struct TapOptions {
    /// Interface name (`tap%d` lets the kernel pick).
    pub name: String,
    /// O_NONBLOCK on the descriptor (for readers that poll).
    pub nonblocking: bool,
}

impl TapOptions {
    /// A blocking TAP device named `name`.
    pub fn new(name: &str) -> TapOptions {
        TapOptions {
            name: name.to_string(),
            nonblocking: false,
        }
    }
}

/// An open TAP device: its name, index and descriptor.
#[derive(Debug)]
pub struct Tap {
    name: String,
    ifindex: u32,
    fd: OwnedFd,
}

impl Tap {
    /// Interface name (as the kernel chose it for `tap%d`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Interface index in its namespace.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Takes the descriptor; the device lives as long as it is open.
    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }
}

impl AsFd for Tap {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Creates a TAP device in `ns`. It disappears when its descriptor is closed (or with the
/// namespace).
pub fn create_tap(ns: &Netns, opts: &TapOptions) -> Result<Tap> {
    if !opts.name.contains("%d") {
        check_ifname(&opts.name)?;
    }
    let what = format!("creating TAP device {} in {}", opts.name, ns.name());
    let flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
    let result = ns.run(|| -> io::Result<Tap> {
        let (fd, name) = open_queue(&TunOptions::new(&opts.name), flags)?;
        if opts.nonblocking {
            sys::set_nonblocking(fd.as_fd(), true)?;
        }
        let ifindex = sys::if_index(&name)?;
        Ok(Tap { name, ifindex, fd })
    })?;
    result.map_err(|e| tun_unavailable(&e).unwrap_or_else(|| Error::os(what, e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn a_tap_device_carries_ethernet_frames_and_goes_with_its_descriptor() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = crate::NetnsDir::new(tmp.path());
        let ns = Netns::create(&dir, "hl-tap-unit").expect("creating a namespace (root?)");
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let tap = create_tap(&ns, &TapOptions::new("tap%d")).expect("TAP device");
            assert!(tap.name().starts_with("tap"), "{}", tap.name());
            assert!(tap.ifindex() > 0);
            let mut name = TapOptions::new("vif-unit");
            name.nonblocking = true;
            let tap = create_tap(&ns, &name).expect("named TAP device");
            assert_eq!(tap.name(), "vif-unit");
            // Down: reading finds nothing (non-blocking), writing a frame is refused or dropped
            // by the kernel, never a partial write.
            let mut file = std::fs::File::from(tap.into_fd());
            let mut buf = [0u8; 64];
            assert_eq!(
                file.read(&mut buf).unwrap_err().kind(),
                io::ErrorKind::WouldBlock
            );
            let frame = [0xffu8; 60];
            match file.write(&frame) {
                Ok(n) => assert_eq!(n, frame.len()),
                Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EIO), "{e}"),
            }
            let exists = |n: &str| ns.run(|| sys::if_index(n).is_ok()).unwrap();
            assert!(exists("vif-unit"));
            drop(file);
            assert!(
                !exists("vif-unit"),
                "closing the descriptor removes the device"
            );
            assert!(create_tap(&ns, &TapOptions::new("bad name")).is_err());
        }));
        drop(ns);
        let _ = dir.unpin("hl-tap-unit");
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    }
}
