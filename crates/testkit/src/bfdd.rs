//! Real FRR bfdd (with the zebra it needs) inside a lab namespace, configured through a
//! `bfdd.conf` with `bfd` / `peer` blocks and queried through `vtysh --vty_socket` with JSON.
//!
//! ```text
//!   <tmp>/zebra.conf  bfdd.conf          written by the test
//!   <tmp>/zebra.vty   bfdd.vty           vty sockets (vtysh --vty_socket <tmp>)
//!   <tmp>/zserv.api                      zebra <-> bfdd (bfdd learns interfaces from zebra:
//!                                        without it a `peer ... interface X` never starts)
//!   <tmp>/bfdd.sock                      bfdd's control socket (--bfdctl), kept per instance
//!   <tmp>/zebra.log   bfdd.log           daemon logs
//! ```
//!
//! Like [`crate::frr`]: the daemons drop to FRR's own user, die with the test thread
//! (PDEATHSIG) and are killed on drop. Errors are [`FrrError`]s.
//!
//! Start-up race (bfdd 8.4.4): bfdd reads its configuration before zebra has told it about the
//! interfaces, so interface-bound sessions start disabled and are enabled when the interface
//! shows up. A Control packet that arrives in between can leave the session in Init with no
//! socket, for good (seen as "packet-send: send failure: Bad file descriptor" and then every
//! packet dropped as "'remote discriminator' is zero, not overridden"). Wait for
//! [`Bfdd::wait_interface`] before letting a peer talk to it; the runner turns on
//! `debug bfd zebra` (and peer and network debugging) so that the log says when.
//!
//! What it does not do: watchfrr, bgpd (see [`crate::frr`]), or BFD profiles.

use std::time::Duration;

use crate::frr::{Daemon, Frr, FrrError};
use crate::lab::Lab;
use crate::poll::wait_for;

/// Where Debian's `frr` package puts bfdd.
pub const BFDD: &str = "/usr/lib/frr/bfdd";

/// A running bfdd (and zebra): an [`Frr`] instance with bfdd-specific helpers.
#[derive(Debug)]
pub struct Bfdd(Frr);

impl std::ops::Deref for Bfdd {
    type Target = Frr;
    fn deref(&self) -> &Frr {
        &self.0
    }
}

impl Bfdd {
    /// Starts zebra and bfdd in `node` with `bfdd_conf` (the `bfd` section with its `peer`
    /// blocks).
    pub fn start(lab: &Lab, node: &str, bfdd_conf: &str) -> Result<Bfdd, FrrError> {
        let conf = format!("debug bfd zebra\ndebug bfd peer\ndebug bfd network\n{bfdd_conf}");
        let bfdd = Daemon {
            // bfdd's control socket is kept per instance (its default path is shared).
            args: vec!["--bfdctl".into(), "{dir}/bfdd.sock".into()],
            ..Daemon::new("bfdd", &conf)
        };
        Frr::start_daemons(lab, node, &[bfdd]).map(Bfdd)
    }

    /// bfdd's log.
    pub fn log(&self) -> String {
        self.0.log("bfdd")
    }

    /// Waits until zebra has told bfdd about `ifname` (and so bfdd has enabled the sessions
    /// bound to it): see the module documentation.
    pub fn wait_interface(&self, ifname: &str, timeout: Duration) -> Result<(), FrrError> {
        let line = format!("zclient: add interface {ifname} ");
        wait_for(
            &format!("bfdd learning interface {ifname}"),
            timeout,
            Duration::from_millis(20),
            || {
                if self.log().contains(&line) {
                    Ok(())
                } else {
                    Err("not in bfdd.log yet")
                }
            },
        )
        .map(|_| ())
        .map_err(|e| FrrError::Start(e.to_string()))
    }

    /// Runs commands inside `bfd` / `peer <peer> interface <ifname>`.
    pub fn configure_peer(&self, peer: &str, ifname: &str, lines: &[&str]) -> Result<(), FrrError> {
        let head = format!("peer {peer} interface {ifname}");
        let mut all = vec!["bfd", head.as_str()];
        all.extend_from_slice(lines);
        self.configure(&all)
    }

    /// The entry of `show bfd peers json` for `peer` (`Null` if absent).
    pub fn peer(&self, peer: &str) -> Result<serde_json::Value, FrrError> {
        find_peer(self.json("show bfd peers json")?, peer)
    }

    /// The entry of `show bfd peers counters json` for `peer` (`Null` if absent).
    pub fn peer_counters(&self, peer: &str) -> Result<serde_json::Value, FrrError> {
        find_peer(self.json("show bfd peers counters json")?, peer)
    }

    /// bfdd's process id.
    pub fn pid(&self) -> u32 {
        self.0.pid("bfdd").expect("bfdd was started")
    }
}

fn find_peer(list: serde_json::Value, peer: &str) -> Result<serde_json::Value, FrrError> {
    Ok(list
        .as_array()
        .and_then(|l| l.iter().find(|p| p["peer"] == peer).cloned())
        .unwrap_or(serde_json::Value::Null))
}
