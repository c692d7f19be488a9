//! Stable resource ids per lab: `vpn-`, `vgw-`, `cgw-`, `vpc-`, `dxcon-`, `dxvif-`, ... and 17
//! hex digits (AWS's long id form), from SHA-256 of the lab's name, the resource type and its
//! node/name in the scenario. The same lab name and scenario give the same ids on every run,
//! so runbooks can hold them; two labs' ids differ.
//!
//! (AWS-silent) Direct Connect gateway ids are UUIDs at AWS; here they take the same hashed
//! form in UUID layout. The account id is 12 digits from the same hash of the lab's name.
//!
//! What it does not do: look ids up ([`crate::inventory`] does).

use ring::digest;

fn digest_hex(parts: &[&str]) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p.as_bytes());
        ctx.update(b"\0");
    }
    hex::encode(ctx.finish())
}

/// `PREFIX-` and 17 hex digits for resource `name` of type `prefix` in `lab`.
pub fn resource_id(lab: &str, prefix: &str, name: &str) -> String {
    format!("{prefix}-{}", &digest_hex(&[lab, prefix, name])[..17])
}

/// A UUID-shaped id (Direct Connect gateways, associations, tests).
pub fn uuid_id(lab: &str, kind: &str, name: &str) -> String {
    let h = digest_hex(&[lab, kind, name]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The lab's 12-digit account id.
pub fn account_id(lab: &str) -> String {
    let h = digest::digest(&digest::SHA256, lab.as_bytes());
    let mut n = 0u64;
    for b in &h.as_ref()[..8] {
        n = n << 8 | u64::from(*b);
    }
    format!("{:012}", n % 1_000_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_distinct() {
        let a = resource_id("lab1", "vpn", "vgw1/vpn1");
        assert_eq!(a, resource_id("lab1", "vpn", "vgw1/vpn1"));
        assert_ne!(a, resource_id("lab2", "vpn", "vgw1/vpn1"));
        assert_ne!(a, resource_id("lab1", "vpn", "vgw1/vpn2"));
        assert!(a.starts_with("vpn-") && a.len() == 4 + 17, "{a}");
        assert_eq!(uuid_id("l", "dxgw", "g").len(), 36);
        assert_eq!(account_id("l").len(), 12);
    }
}
