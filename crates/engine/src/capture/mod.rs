//! Packet captures of a running lab: one pcapng file per link (its first end's veth, which sees
//! both directions) and one per TUN or TAP device of a daemon (a tunnel's inside: BGP, BFD
//! and probe traffic before encryption; a VIF's tagged side), written from AF_PACKET sockets in the nodes' namespaces.
//!
//! - [`pcapng`]: the file format (pure);
//! - [`tap`]: one interface into one pcapng stream, on a thread.
//!
//! File names: `<link>.pcapng` for a link, `<node>-<ifname>.pcapng` for a TUN device (a device
//! that comes back after its daemon restarts gets `<node>-<ifname>.2.pcapng`, and so on).
//!
//! What it does not do: decide what to capture (`hybridlab run --capture DIR` captures every
//! link and TUN device; a link's `capture = true` captures that link), or shell out to tcpdump.

pub mod pcapng;
pub mod tap;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use netns::Netns;

use crate::capture::tap::{Medium, Tap};

/// What to capture, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureConfig {
    /// The directory the files go to (created when missing).
    pub dir: PathBuf,
    /// Every link (`--capture`), or only those marked `capture = true`.
    pub every_link: bool,
    /// The daemons' TUN devices too.
    pub tunnels: bool,
}

/// The captures of one lab.
#[derive(Debug)]
pub struct CaptureSet {
    config: CaptureConfig,
    /// File stem -> (generation, tap).
    taps: Mutex<BTreeMap<String, (u32, Tap)>>,
}

impl CaptureSet {
    /// Prepares `config.dir`.
    pub fn new(config: CaptureConfig) -> Result<CaptureSet, String> {
        std::fs::create_dir_all(&config.dir)
            .map_err(|e| format!("cannot create {}: {e}", config.dir.display()))?;
        Ok(CaptureSet {
            config,
            taps: Mutex::new(BTreeMap::new()),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &CaptureConfig {
        &self.config
    }

    /// Whether link `capture` flag `marked` means capturing it.
    pub fn wants_link(&self, marked: bool) -> bool {
        self.config.every_link || marked
    }

    /// Starts (or keeps) the capture `stem`; `ifindex` is the device's index now, when known:
    /// another index under the same name is a new device (deleted and created again), which
    /// gets a new file.
    fn start(
        &self,
        stem: &str,
        ns: &Netns,
        ifname: &str,
        medium: Medium,
        ifindex: Option<u32>,
    ) -> Result<(), String> {
        let mut taps = self.taps.lock().unwrap_or_else(|p| p.into_inner());
        let generation = match taps.get(stem) {
            Some((_, t)) if t.is_running() && ifindex.is_none_or(|i| i == t.ifindex()) => {
                return Ok(());
            }
            Some((g, _)) => g + 1,
            None => 1,
        };
        let file = if generation == 1 {
            format!("{stem}.pcapng")
        } else {
            format!("{stem}.{generation}.pcapng")
        };
        let tap = Tap::to_file(ns, ifname, medium, &self.config.dir.join(file))?;
        if let Some((_, old)) = taps.insert(stem.to_string(), (generation, tap)) {
            let _ = old.stop();
        }
        Ok(())
    }

    /// Captures link `link` at interface `ifname` of `ns` into `<link>.pcapng`.
    pub fn link(&self, link: &str, ns: &Netns, ifname: &str) -> Result<(), String> {
        self.start(link, ns, ifname, Medium::Ethernet, None)
            .map_err(|e| format!("capturing link {link}: {e}"))
    }

    /// Captures TUN (bare IP) or TAP (Ethernet) device `ifname` of `node` into
    /// `<node>-<ifname>.pcapng`; when the device of that name now has another index `ifindex`
    /// (its daemon restarted and made it again), into `<node>-<ifname>.2.pcapng`, and so on.
    pub fn tun(
        &self,
        node: &str,
        ns: &Netns,
        ifname: &str,
        ifindex: u32,
        medium: Medium,
    ) -> Result<(), String> {
        self.start(
            &format!("{node}-{ifname}"),
            ns,
            ifname,
            medium,
            Some(ifindex),
        )
        .map_err(|e| format!("capturing {node}'s {ifname}: {e}"))
    }

    /// Stops every capture and closes the files: (file stem, frames or error).
    pub fn stop_all(&self) -> Vec<(String, std::io::Result<u64>)> {
        let taps = std::mem::take(&mut *self.taps.lock().unwrap_or_else(|p| p.into_inner()));
        taps.into_iter()
            .map(|(stem, (_, tap))| (stem, tap.stop()))
            .collect()
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.config.dir
    }
}
