//! The scenarios shipped inside the binary (`scenarios/*.toml`), listed by `hybridlab list`
//! and run by name (`hybridlab run two-sites`); `hybridlab run` alone runs [`DEFAULT`].
//!
//! What it does not do: read files at run time (they are compiled in with `include_str!`).

use engine::source::Source;

/// One shipped scenario.
#[derive(Debug, Clone, Copy)]
pub struct Shipped {
    /// Its name (the file name without `.toml`).
    pub name: &'static str,
    /// Its text.
    pub text: &'static str,
}

/// Every shipped scenario.
pub const SHIPPED: &[Shipped] = &[
    Shipped {
        name: "dual-tunnel-failover",
        text: include_str!("../dual-tunnel-failover.toml"),
    },
    Shipped {
        name: "static-over-dynamic",
        text: include_str!("../static-over-dynamic.toml"),
    },
    Shipped {
        name: "cloudhub",
        text: include_str!("../cloudhub.toml"),
    },
    Shipped {
        name: "vpn-route-limit",
        text: include_str!("../vpn-route-limit.toml"),
    },
    Shipped {
        name: "redundant-cgw",
        text: include_str!("../redundant-cgw.toml"),
    },
    Shipped {
        name: "onprem-default-route",
        text: include_str!("../onprem-default-route.toml"),
    },
    Shipped {
        name: "dx-with-vpn-backup",
        text: include_str!("../dx-with-vpn-backup.toml"),
    },
    Shipped {
        name: "dx-beats-vpn",
        text: include_str!("../dx-beats-vpn.toml"),
    },
    Shipped {
        name: "dx-vlan-mismatch",
        text: include_str!("../dx-vlan-mismatch.toml"),
    },
    Shipped {
        name: "dx-prefix-limit",
        text: include_str!("../dx-prefix-limit.toml"),
    },
    Shipped {
        name: "dx-communities",
        text: include_str!("../dx-communities.toml"),
    },
    Shipped {
        name: "dxgw-no-transit",
        text: include_str!("../dxgw-no-transit.toml"),
    },
    Shipped {
        name: "dx-bgp-failover-test",
        text: include_str!("../dx-bgp-failover-test.toml"),
    },
    Shipped {
        name: "tgw-connect",
        text: include_str!("../tgw-connect.toml"),
    },
    Shipped {
        name: "tgw-vpn-ecmp",
        text: include_str!("../tgw-vpn-ecmp.toml"),
    },
    Shipped {
        name: "tgw-dx-vs-vpn",
        text: include_str!("../tgw-dx-vs-vpn.toml"),
    },
    Shipped {
        name: "tgw-connect-ipv6",
        text: include_str!("../tgw-connect-ipv6.toml"),
    },
    Shipped {
        name: "tgw-connect-over-dx",
        text: include_str!("../tgw-connect-over-dx.toml"),
    },
    Shipped {
        name: "tgw-segmentation",
        text: include_str!("../tgw-segmentation.toml"),
    },
    Shipped {
        name: "two-sites",
        text: include_str!("../two-sites.toml"),
    },
    Shipped {
        name: "udp-only-outage",
        text: include_str!("../udp-only-outage.toml"),
    },
    Shipped {
        name: "endpoint-replacement",
        text: include_str!("../endpoint-replacement.toml"),
    },
    Shipped {
        name: "cgw-behind-nat",
        text: include_str!("../cgw-behind-nat.toml"),
    },
    Shipped {
        name: "flapping-wan",
        text: include_str!("../flapping-wan.toml"),
    },
];

/// What `hybridlab run` runs without a file.
pub const DEFAULT: &str = "dual-tunnel-failover";

/// The shipped scenario called `name`.
pub fn find(name: &str) -> Option<Shipped> {
    SHIPPED.iter().copied().find(|s| s.name == name)
}

impl Shipped {
    /// As a [`Source`] named `<shipped>/NAME.toml`.
    pub fn source(&self) -> Source {
        Source::new(format!("<shipped>/{}.toml", self.name), self.text)
    }

    /// The `description` of its `[scenario]` table.
    pub fn description(&self) -> String {
        #[derive(serde::Deserialize)]
        struct Doc {
            scenario: Meta,
        }
        #[derive(serde::Deserialize)]
        struct Meta {
            #[serde(default)]
            description: String,
        }
        toml::from_str::<Doc>(self.text)
            .map(|d| d.scenario.description)
            .unwrap_or_default()
    }
}
