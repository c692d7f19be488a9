//! `application/x-www-form-urlencoded` and URI query strings, as the EC2 Query API sends its
//! parameters (`Action=DescribeVpnConnections&VpnConnectionId.1=vpn-...`), and the percent
//! encoding SigV4's canonical request needs (RFC 3986 §2.3 unreserved characters kept).
//!
//! Decoding never fails and never panics: a `%` not followed by two hex digits is kept as
//! it is, `+` is a space, and bytes that are not UTF-8 become U+FFFD (the EC2 API's
//! parameters are ASCII; a mangled value is answered by the action that reads it).
//!
//! What it does not do: interpret the parameters (lists `X.1`, `X.2` are read by
//! [`Params::list`]).

use std::collections::BTreeMap;

/// Decoded parameters, in name order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `s` (`+` as a space when `plus_is_space`).
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// SigV4's URI encoding: every byte but the unreserved characters (RFC 3986 §2.3) as `%XX`
/// in upper case; `/` kept when `keep_slash` (paths).
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(c as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{c:02X}")),
        }
    }
    out
}

/// The pairs of a form body or query string, decoded, in their order (repeats kept).
pub fn pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

impl Params {
    /// Parses a form body; a repeated name keeps its last value.
    pub fn parse(s: &str) -> Params {
        Params(pairs(s).into_iter().collect())
    }

    /// One parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A Query API list: `Name.1`, `Name.2`, ... in index order (gaps end nothing: every
    /// numbered member is taken, sorted by its number).
    pub fn list(&self, name: &str) -> Vec<&str> {
        let prefix = format!("{name}.");
        let mut items: Vec<(u32, &str)> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let n = k.strip_prefix(&prefix)?.parse::<u32>().ok()?;
                Some((n, v.as_str()))
            })
            .collect();
        items.sort_by_key(|(n, _)| *n);
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// Every parameter whose name starts with `prefix`, with the prefix removed.
    pub fn under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.0
            .iter()
            .filter_map(move |(k, v)| Some((k.strip_prefix(prefix)?, v.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_what_botocore_sends() {
        let p = Params::parse(
            "Action=DescribeVpnConnections&Version=2016-11-15&VpnConnectionId.2=vpn-b&VpnConnectionId.1=vpn-a&X=a%2Fb+c",
        );
        assert_eq!(p.get("Action"), Some("DescribeVpnConnections"));
        assert_eq!(p.list("VpnConnectionId"), ["vpn-a", "vpn-b"]);
        assert_eq!(p.get("X"), Some("a/b c"));
    }

    #[test]
    fn a_broken_escape_is_kept() {
        assert_eq!(percent_decode("100%", false), "100%");
        assert_eq!(percent_decode("%4", false), "%4");
        assert_eq!(percent_decode("%zz%41", false), "%zzA");
    }

    #[test]
    fn uri_encoding_is_sigv4s() {
        assert_eq!(uri_encode("a b/c~*", false), "a%20b%2Fc~%2A");
        assert_eq!(uri_encode("/x y", true), "/x%20y");
    }

    proptest! {
        #[test]
        fn never_panics_and_round_trips(s in "\\PC*", raw in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(percent_decode(&uri_encode(&s, false), false), s.clone());
            let text = String::from_utf8_lossy(&raw).into_owned();
            let _ = Params::parse(&text);
            let _ = percent_decode(&text, true);
        }
    }
}
