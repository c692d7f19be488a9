//! Process identity that survives pid reuse: a pid plus its start time (field 22 of
//! `/proc/<pid>/stat`, clock ticks since boot), and signalling helpers built on it.
//!
//! What it does not do: spawn processes ([`crate::spawn`]) or wait for non-children (a process
//! that is not our child is only polled through /proc).

use std::fs;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sys;

/// A process: pid and start time, so a reused pid is not mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProcessId {
    /// Process id (in the pid namespace of whoever recorded it).
    pub pid: u32,
    /// Start time in clock ticks after boot (`/proc/<pid>/stat` field 22).
    pub start_time: u64,
}

/// Parses `/proc/<pid>/stat` text: (state character, start time).
pub fn parse_stat(text: &str) -> Option<(char, u64)> {
    // The command name (field 2) is in parentheses and may contain spaces and ')': everything
    // after the last ')' is space-separated, starting with field 3 (state).
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(22 - 3)?.parse().ok()?;
    Some((state, start))
}

fn read_stat(pid: u32) -> Option<(char, u64)> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

impl ProcessId {
    /// The identity of a running process, read from /proc.
    pub fn of(pid: u32) -> Result<ProcessId> {
        match read_stat(pid) {
            Some((_, start_time)) => Ok(ProcessId { pid, start_time }),
            None => Err(Error::NotFound {
                what: format!("reading /proc/{pid}/stat"),
            }),
        }
    }

    /// This process, as /proc (mounted for our pid namespace) sees it.
    pub fn current() -> Result<ProcessId> {
        ProcessId::of(std::process::id())
    }

    /// Whether this very process still runs (same pid, same start time, not a zombie).
    pub fn is_alive(&self) -> bool {
        matches!(read_stat(self.pid), Some((state, start)) if start == self.start_time && state != 'Z' && state != 'X')
    }

    /// Sends `signal` if this is still the same process; `Ok(false)` when it is gone.
    pub fn signal(&self, signal: libc::c_int) -> Result<bool> {
        if !self.is_alive() {
            return Ok(false);
        }
        match sys::kill(self.pid, signal) {
            Ok(()) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(false),
            Err(e) => Err(Error::os(format!("signalling process {}", self.pid), e)),
        }
    }

    /// SIGTERM, then SIGKILL if it still runs after `grace`; returns once it is gone (or a
    /// zombie waiting for a parent that is not us) or after a further second.
    pub fn terminate(&self, grace: Duration) -> Result<()> {
        if !self.signal(libc::SIGTERM)? {
            return Ok(());
        }
        if !wait_gone(self, grace) {
            self.signal(libc::SIGKILL)?;
            wait_gone(self, Duration::from_secs(1));
        }
        Ok(())
    }
}

/// Polls until `p` is no longer alive or `timeout` passes; true if it is gone.
pub(crate) fn wait_gone(p: &ProcessId, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        if !p.is_alive() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Pids of every process whose network namespace has inode `ns_inode` (scanning
/// `/proc/*/ns/net`). Processes we cannot inspect are skipped.
pub fn pids_in_netns(ns_inodes: &[u64]) -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(link) = fs::read_link(format!("/proc/{pid}/ns/net")) else {
            continue;
        };
        if let Some(ino) = parse_ns_link(&link.to_string_lossy())
            && ns_inodes.contains(&ino)
        {
            out.push(pid);
        }
    }
    out
}

/// Whether process `pid` has exited and waits for its parent (state Z or X); `false` when it
/// is gone or unreadable.
pub fn is_zombie(pid: u32) -> bool {
    matches!(read_stat(pid), Some((state, _)) if state == 'Z' || state == 'X')
}

/// Parses `net:[4026532281]` into the inode number.
pub fn parse_ns_link(link: &str) -> Option<u64> {
    link.split_once(":[")?.1.strip_suffix(']')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn stat_with_odd_command_names_parses() {
        let text =
            "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_stat(text), Some(('S', 987654)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_ns_link("net:[4026532281]"), Some(4026532281));
        assert_eq!(parse_ns_link("net:4026532281"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_changed_start_time_is_not() {
        let me = ProcessId::current().unwrap();
        assert!(me.is_alive());
        let other = ProcessId {
            start_time: me.start_time + 1,
            ..me
        };
        assert!(!other.is_alive());
        assert!(!other.signal(0).unwrap());
    }

    proptest! {
        #[test]
        fn stat_parser_never_panics(s in ".*") {
            let _ = parse_stat(&s);
            let _ = parse_ns_link(&s);
        }
    }
}
