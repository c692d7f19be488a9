//! The crate's one error type: every variant names the object and the operation
//! (`creating veth r1<->r2 in hl-x-r1: File exists (os error 17)`), never a bare errno.
//!
//! What it does not do: retry or log. Callers decide.

use std::io;

/// Errors of every operation in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call failed; `what` names the operation and the object.
    #[error("{what}: {source}")]
    Os {
        /// Operation and object, e.g. `creating namespace hl-x-r1`.
        what: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The kernel refused a netlink request.
    #[error("{what}: {message}")]
    Netlink {
        /// Operation and object, e.g. `adding route 10.0.0.0/24 in hl-x-r1`.
        what: String,
        /// The positive errno the kernel answered with, if it was an errno.
        errno: Option<i32>,
        /// The kernel's explanation (strerror plus the extended ack message if any).
        message: String,
    },
    /// A value the caller gave is not acceptable; nothing was changed.
    #[error("invalid {what} {value:?}: {reason}")]
    Invalid {
        /// The kind of value (`lab name`, `sysctl key`, ...).
        what: &'static str,
        /// The value as given.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// The object does not exist.
    #[error("{what}: not found")]
    NotFound {
        /// Operation and object.
        what: String,
    },
    /// The environment cannot do this (no tokio runtime, `/dev/net/tun` not accessible, ...).
    #[error("{what}: {detail}")]
    Unavailable {
        /// Operation and object.
        what: String,
        /// What is missing and how to fix it.
        detail: String,
    },
    /// A lab's state file is unreadable or inconsistent.
    #[error("lab state {path}: {detail}")]
    State {
        /// The state file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// The lab is owned by a live process, so it was left alone.
    #[error("lab {lab} is in use by live process {pid}")]
    LabInUse {
        /// The lab.
        lab: String,
        /// Its owner.
        pid: u32,
    },
}

impl Error {
    /// An OS error with its context.
    pub(crate) fn os(what: impl Into<String>, source: io::Error) -> Error {
        Error::Os {
            what: what.into(),
            source,
        }
    }

    /// The last OS error with its context.
    pub(crate) fn last_os(what: impl Into<String>) -> Error {
        Error::os(what, io::Error::last_os_error())
    }

    /// A rejected value.
    pub(crate) fn invalid(
        what: &'static str,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Error {
        Error::Invalid {
            what,
            value: value.into(),
            reason: reason.into(),
        }
    }

    /// Converts an rtnetlink error, keeping the errno.
    pub(crate) fn netlink(what: impl Into<String>, e: rtnetlink::Error) -> Error {
        let what = what.into();
        match e {
            rtnetlink::Error::NetlinkError(msg) => {
                let errno = msg.code.map(|c| -c.get());
                let mut message = match errno {
                    Some(n) => io::Error::from_raw_os_error(n).to_string(),
                    None => "error without errno".to_string(),
                };
                // rtnetlink's ErrorMessage keeps the request header in `header`; extended ack text
                // is not decoded by this netlink-packet-core version, the errno is what we have.
                if errno == Some(libc::ENOENT)
                    || errno == Some(libc::ESRCH)
                    || errno == Some(libc::ENODEV)
                {
                    message.push_str(" (no such object)");
                }
                Error::Netlink {
                    what,
                    errno,
                    message,
                }
            }
            other => Error::Netlink {
                what,
                errno: None,
                message: other.to_string(),
            },
        }
    }

    /// The positive errno behind this error, if there is one (to test for `EEXIST`, `ENOENT`, ...).
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Os { source, .. } => source.raw_os_error(),
            Error::Netlink { errno, .. } => *errno,
            _ => None,
        }
    }

    /// Whether the object already existed.
    pub fn is_exists(&self) -> bool {
        self.errno() == Some(libc::EEXIST)
    }

    /// Whether the object was missing.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
            || matches!(
                self.errno(),
                Some(libc::ENOENT) | Some(libc::ESRCH) | Some(libc::ENODEV)
            )
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_error_names_operation_object_and_cause() {
        let e = Error::os(
            "creating veth r1<->r2 in hl-x-r1",
            io::Error::from_raw_os_error(libc::EEXIST),
        );
        let text = e.to_string();
        assert!(
            text.starts_with("creating veth r1<->r2 in hl-x-r1: File exists"),
            "{text}"
        );
        assert!(e.is_exists());
        assert!(!e.is_not_found());
    }
}
