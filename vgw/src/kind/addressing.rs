//! Where a lab puts a gateway's addresses: the `n`-th host of a subnet, and the last usable
//! host (the internet router's default address on a gateway's outside link).
//!
//! What it does not do: allocate anything AWS allocates (inside /30s and keys are
//! `crate::plan`'s).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// The last usable host address of `net`: the internet router's default address on a
/// gateway's outside link.
pub fn last_host(net: Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net.broadcast()).saturating_sub(1))
}

/// `n`-th host of `net` (1-based).
pub fn host(net: Ipv4Net, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net.network()) + n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_host_of_a_24_is_254() {
        assert_eq!(
            last_host("203.0.113.0/24".parse().unwrap()),
            Ipv4Addr::new(203, 0, 113, 254)
        );
        assert_eq!(
            host("203.0.113.0/24".parse().unwrap(), 3),
            Ipv4Addr::new(203, 0, 113, 3)
        );
    }
}
