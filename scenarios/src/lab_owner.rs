//! Stopping a running lab from another process (`hybridlab down LAB`).
//!
//! `hybridlab run` owns its lab from pid 1 of a PID namespace of its own, so the pid in the
//! lab's record (1) means nothing outside. The owner is found as the process whose PID
//! namespace is the recorded one and whose innermost pid (`NSpid` in /proc/PID/status) is the
//! recorded pid, then asked to stop with SIGTERM, which makes it tear down in order (and report
//! the run as interrupted).
//!
//! What it does not do: clean up itself (the owner does; `netns::lab::down` handles the rest,
//! and owners in our own PID namespace).

use std::path::Path;
use std::time::{Duration, Instant};

use netns::lab::{LabConfig, LabStatus};

/// The pid, as seen from here, of a live owner of `lab` running in another PID namespace.
pub fn foreign_owner(lab: &LabStatus) -> Option<u32> {
    let rec = &lab.record;
    if !lab.owner_alive || rec.owner_pid_ns == netns::lab::own_pid_ns() {
        return None;
    }
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let link = std::fs::read_link(e.path().join("ns/pid")).ok()?;
        if netns::process::parse_ns_link(&link.to_string_lossy()) != Some(rec.owner_pid_ns) {
            return None;
        }
        let status = std::fs::read_to_string(e.path().join("status")).ok()?;
        (innermost_pid(&status)? == rec.owner.pid).then_some(pid)
    })
}

/// The last pid of the `NSpid:` line of /proc/PID/status (the pid in the innermost namespace).
fn innermost_pid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))?
        .split_whitespace()
        .last()?
        .parse()
        .ok()
}

/// If `name` is run by a live owner in another PID namespace, SIGTERMs it and waits until it
/// has removed its lab (true), or until the grace period is over (false: the caller cleans).
pub fn stop(name: &str, config: &LabConfig) -> Result<bool, String> {
    let labs = netns::lab::list(config).map_err(|e| e.to_string())?;
    let Some(pid) = labs.iter().find(|l| l.name == name).and_then(foreign_owner) else {
        return Ok(false);
    };
    let owner = netns::ProcessId::of(pid).map_err(|e| e.to_string())?;
    owner
        .signal(libc::SIGTERM)
        .map_err(|e| format!("asking {pid} to stop: {e}"))?;
    let json = config.lab_dir(name).join("lab.json");
    Ok(wait_gone(&json, config.grace * 2 + Duration::from_secs(2)))
}

fn wait_gone(path: &Path, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while path.exists() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::innermost_pid;

    #[test]
    fn nspid_line_gives_the_innermost_pid() {
        let status = "Name:\thybridlab\nPid:\t4242\nNSpid:\t4242\t1\nNSpgid:\t4242\t1\n";
        assert_eq!(innermost_pid(status), Some(1));
        assert_eq!(innermost_pid("NSpid:\t77\n"), Some(77));
        assert_eq!(innermost_pid("Pid:\t1\n"), None);
    }
}
