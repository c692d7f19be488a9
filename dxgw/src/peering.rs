//! A VIF's BGP peer addresses: the rules AWS applies to the pair (`aws-behaviour.md` §4
//! \[D4, D5\]) and the pair AWS picks from 169.254.0.0/16 when the customer gives none.
//!
//! - Both addresses carry the same prefix length, /30 or /31 (AWS-silent on /29 and shorter:
//!   refused here, as AWS's console offers only these), lie in one subnet, differ, and are
//!   usable host addresses of it (not a /30's network or broadcast address).
//! - Reserved (inferred from AWS's VPN and Connect rules, which reserve the same blocks in
//!   169.254.0.0/16, and AWS's own link-local services): 169.254.0.0/22 (the first four /24s'
//!   ranges AWS keeps for its own peerings; refused as a whole as for VPN inside CIDRs),
//!   169.254.169.252/30 (instance metadata, DNS), and anything outside unicast space
//!   (0.0.0.0/8, 127.0.0.0/8, multicast, broadcast).
//! - AWS's choice: a /30 `169.254.X.Y/30` from a seeded generator, avoiding the reserved blocks;
//!   Amazon takes the first host address, the customer the second (as on a VPN tunnel).
//!
//! - IPv6: one /125 per VIF, both addresses in it ([`check_pair_v6`]); AWS's choice
//!   ([`choose_v6`]) comes from a unique-local block here.
//!
//! What it does not do: check overlaps between VIFs (the configuration does, across the
//! router).

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};
use rand::Rng;

/// Blocks AWS keeps for itself (see the module docs).
pub const RESERVED: [&str; 2] = ["169.254.0.0/22", "169.254.169.252/30"];

fn reserved(net: Ipv4Net) -> Option<Ipv4Net> {
    RESERVED
        .iter()
        .map(|r| r.parse::<Ipv4Net>().expect("valid"))
        .find(|r| r.contains(&net.network()) || net.contains(&r.network()))
}

/// Checks a (Amazon, customer) pair; the message names the rule and the addresses.
pub fn check_pair(amazon: Ipv4Net, customer: Ipv4Net) -> Result<(), String> {
    if amazon.prefix_len() != customer.prefix_len() {
        return Err(format!(
            "{amazon} and customer address {customer} must have the same prefix length"
        ));
    }
    if !(30..=31).contains(&amazon.prefix_len()) {
        return Err(format!("{amazon}: the peer subnet must be a /30 or a /31"));
    }
    if amazon.trunc() != customer.trunc() {
        return Err(format!(
            "{amazon} and customer address {customer} are not in one subnet"
        ));
    }
    if amazon.addr() == customer.addr() {
        return Err(format!("{amazon}: both ends have the same address"));
    }
    for a in [amazon, customer] {
        let ip = a.addr();
        if ip.is_unspecified()
            || ip.is_loopback()
            || ip.is_multicast()
            || ip.is_broadcast()
            || ip.octets()[0] == 0
        {
            return Err(format!("{ip} is not a unicast address"));
        }
        if a.prefix_len() == 30 && (ip == a.network() || ip == a.broadcast()) {
            return Err(format!(
                "{ip} is the network or broadcast address of {}",
                a.trunc()
            ));
        }
    }
    if let Some(r) = reserved(amazon.trunc()) {
        return Err(format!("{} is inside {r}, reserved by AWS", amazon.trunc()));
    }
    Ok(())
}

/// The pair AWS picks: a /30 in 169.254.0.0/16 outside the reserved blocks and outside
/// `taken`, Amazon `.1`, customer `.2` of it.
pub fn choose(rng: &mut impl Rng, taken: &[Ipv4Net]) -> (Ipv4Net, Ipv4Net) {
    loop {
        let third: u8 = rng.random_range(4..=254);
        let fourth: u8 = rng.random_range(0..64) * 4;
        let base = Ipv4Addr::new(169, 254, third, fourth);
        let net = Ipv4Net::new(base, 30).expect("a /30");
        if reserved(net).is_some()
            || taken
                .iter()
                .any(|t| t.contains(&net.network()) || net.contains(&t.network()))
        {
            continue;
        }
        let host = |n: u8| {
            Ipv4Net::new(Ipv4Addr::new(169, 254, third, fourth + n), 30).expect("a /30 host")
        };
        return (host(1), host(2));
    }
}

/// Checks an IPv6 (Amazon, customer) pair: one /125, distinct unicast addresses.
pub fn check_pair_v6(amazon: Ipv6Net, customer: Ipv6Net) -> Result<(), String> {
    if amazon.prefix_len() != 125 || customer.prefix_len() != 125 {
        return Err(format!(
            "{amazon} and customer address {customer}: AWS's IPv6 peer subnet is a /125"
        ));
    }
    if amazon.trunc() != customer.trunc() {
        return Err(format!(
            "{amazon} and customer address {customer} are not in one subnet"
        ));
    }
    if amazon.addr() == customer.addr() {
        return Err(format!("{amazon}: both ends have the same address"));
    }
    for a in [amazon.addr(), customer.addr()] {
        if a.is_unspecified() || a.is_loopback() || a.is_multicast() || a == amazon.network() {
            return Err(format!("{a} is not a usable unicast address of its /125"));
        }
    }
    Ok(())
}

/// The IPv6 pair AWS picks: a /125 in `fd00:dc::/64` (AWS-silent: AWS assigns addresses from
/// its own space; a unique-local block keeps the lab's addresses unroutable), Amazon `::1`,
/// customer `::2` of it, outside `taken`.
pub fn choose_v6(rng: &mut impl Rng, taken: &[Ipv6Net]) -> (Ipv6Net, Ipv6Net) {
    loop {
        let base: u16 = rng.random_range(1..=0xfff0) & !7;
        let net =
            Ipv6Net::new(Ipv6Addr::new(0xfd00, 0xdc, 0, 0, 0, 0, 0, base), 125).expect("a /125");
        if taken.iter().any(|t| t.trunc() == net) {
            continue;
        }
        let host = |n: u16| {
            Ipv6Net::new(Ipv6Addr::new(0xfd00, 0xdc, 0, 0, 0, 0, 0, base + n), 125)
                .expect("a /125 host")
        };
        return (host(1), host(2));
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn n(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn good_pairs() {
        assert!(check_pair(n("169.254.100.1/30"), n("169.254.100.2/30")).is_ok());
        assert!(check_pair(n("10.9.0.0/31"), n("10.9.0.1/31")).is_ok());
    }

    #[test]
    fn each_refusal_names_the_rule() {
        let cases = [
            ("169.254.100.1/30", "169.254.100.2/29", "same prefix length"),
            ("169.254.100.1/29", "169.254.100.2/29", "a /30 or a /31"),
            ("169.254.100.1/30", "169.254.101.2/30", "not in one subnet"),
            ("169.254.100.1/30", "169.254.100.1/30", "same address"),
            (
                "169.254.100.0/30",
                "169.254.100.1/30",
                "network or broadcast",
            ),
            (
                "169.254.100.1/30",
                "169.254.100.3/30",
                "network or broadcast",
            ),
            ("169.254.2.1/30", "169.254.2.2/30", "reserved by AWS"),
            (
                "169.254.169.253/30",
                "169.254.169.254/30",
                "reserved by AWS",
            ),
            ("127.0.0.1/30", "127.0.0.2/30", "not a unicast"),
        ];
        for (a, c, why) in cases {
            let e = check_pair(n(a), n(c)).unwrap_err();
            assert!(e.contains(why), "{a} {c}: {e}");
        }
    }

    #[test]
    fn ipv6_pairs() {
        let n6 = |s: &str| s.parse::<Ipv6Net>().unwrap();
        assert!(check_pair_v6(n6("fd00:dc::9/125"), n6("fd00:dc::a/125")).is_ok());
        let e = check_pair_v6(n6("fd00:dc::9/126"), n6("fd00:dc::a/126")).unwrap_err();
        assert!(e.contains("/125"), "{e}");
        let e = check_pair_v6(n6("fd00:dc::9/125"), n6("fd00:dc::11/125")).unwrap_err();
        assert!(e.contains("not in one subnet"), "{e}");
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let (a, c) = choose_v6(&mut rng, &[]);
        check_pair_v6(a, c).unwrap();
    }

    #[test]
    fn aws_choice_avoids_reserved_and_taken() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut taken = Vec::new();
        for _ in 0..200 {
            let (a, c) = choose(&mut rng, &taken);
            check_pair(a, c).unwrap();
            assert!(!taken.contains(&a.trunc()));
            taken.push(a.trunc());
        }
    }
}
