//! `--api ADDR` of `hybridlab run`: the glue between a lab and `aws-api`. The binary knows
//! every node kind, so it builds the API's inventory from the scenario's typed questions
//! (VPN connections, customer gateways, VPC attachments, Direct Connect nodes), draws or takes
//! the API's credentials, and answers GetVpnConnectionDeviceSampleConfiguration with
//! `cgw-config` of the running lab (the keys its VGW drew).
//!
//! Credentials: `HYBRIDLAB_API_ACCESS_KEY_ID` and `HYBRIDLAB_API_SECRET_ACCESS_KEY` when both
//! are set, else random per run; printed once on stderr as `export AWS_...` lines and written
//! to `api.json` (0600) in the lab directory, never logged.
//!
//! What it does not do: serve (aws-api does), or parse requests.

use std::path::Path;

use aws_api::inventory::{CgwInfo, ConnectionInfo, Inventory, VgwInfo};
use engine::model::Scenario;
use engine::model::timing::Profile;
use engine::parse::parse_scenario_with;
use engine::source::Source;
use rand::Rng;
use std::sync::Arc;

/// The region the API answers as.
pub const REGION: &str = "us-east-1";

/// `--api ADDR`'s socket, bound (non-blocking) where the caller runs: `run` and `up` bind it
/// before a rootless lab enters its own network namespace, so it stays on the caller's
/// loopback. `None` without `--api`; the error names the address.
pub fn listen(addr: Option<std::net::SocketAddr>) -> Result<Option<std::net::TcpListener>, String> {
    let Some(addr) = addr else { return Ok(None) };
    std::net::TcpListener::bind(addr)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map(Some)
        .map_err(|e| format!("--api {addr}: cannot listen: {e}"))
}

/// The inventory of `scenario` run as lab `lab`.
pub fn inventory(scenario: &Scenario, lab: &str) -> Inventory {
    use vgw::kind::query::{AttachedVgw, CustomerGatewayOf, VpcOf, VpnConnectionList};
    let topo = &scenario.topology;
    let mut vgw_vpc: Vec<(String, String)> = Vec::new();
    for (vpc, _) in topo.ask(&VpcOf) {
        for (vgw, ()) in topo.ask(&AttachedVgw {
            vpc: vpc.to_string(),
        }) {
            vgw_vpc.push((vgw.to_string(), vpc.to_string()));
        }
    }
    let vgws = topo
        .ask(&VpnConnectionList)
        .into_iter()
        .map(|(node, connections)| VgwInfo {
            node: node.to_string(),
            vpc: vgw_vpc
                .iter()
                .find(|(v, _)| v == node)
                .map(|(_, vpc)| vpc.clone()),
            connections: connections
                .into_iter()
                .map(|c| ConnectionInfo {
                    name: c.name,
                    cgw: c.cgw,
                })
                .collect(),
        })
        .collect();
    let cgws = topo
        .ask(&CustomerGatewayOf)
        .into_iter()
        .map(|(node, c)| CgwInfo {
            node: node.to_string(),
            ip_address: c.outside_ip,
            asn: c.asn,
        })
        .collect();
    let of_kind = |kind: &str| -> Vec<String> {
        topo.nodes
            .iter()
            .filter(|n| n.kind() == kind)
            .map(|n| n.name().to_string())
            .collect()
    };
    let (dx_nodes, tgw_nodes) = (of_kind("dxgw"), of_kind("tgw"));
    Inventory {
        lab: lab.to_string(),
        region: REGION.to_string(),
        vgws,
        cgws,
        dx_nodes,
        tgw_nodes,
    }
}

/// The API's credentials: from the environment, or random.
pub fn credentials() -> aws_api::Credentials {
    if let (Ok(id), Ok(key)) = (
        std::env::var("HYBRIDLAB_API_ACCESS_KEY_ID"),
        std::env::var("HYBRIDLAB_API_SECRET_ACCESS_KEY"),
    ) && !id.is_empty()
        && !key.is_empty()
    {
        return aws_api::Credentials {
            access_key_id: id,
            secret_access_key: secret::Secret::new(key),
        };
    }
    const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const KEY: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = rand::rng();
    let id: String = (0..16)
        .map(|_| UPPER[rng.random_range(0..UPPER.len())] as char)
        .collect();
    let key: String = (0..40)
        .map(|_| KEY[rng.random_range(0..KEY.len())] as char)
        .collect();
    aws_api::Credentials {
        access_key_id: format!("AKIA{id}"),
        secret_access_key: secret::Secret::new(key),
    }
}

/// Writes `api.json` (endpoint, region, credentials) in the lab directory, 0600.
pub fn write_record(
    lab_dir: &Path,
    endpoint: &str,
    creds: &aws_api::Credentials,
) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let text = zeroize::Zeroizing::new(
        serde_json::json!({
            "endpoint": endpoint,
            "region": REGION,
            "access_key_id": creds.access_key_id,
            "secret_access_key": creds.secret_access_key.expose(),
        })
        .to_string(),
    );
    let path = lab_dir.join("api.json");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// GetVpnConnectionDeviceSampleConfiguration for lab `lab` run from `source`: `cgw-config
/// --format DEVICE LAB VGW/CONNECTION`.
pub fn sample_config(
    lab: String,
    lab_dir: std::path::PathBuf,
    source: &Source,
    profile: Profile,
) -> std::sync::Arc<aws_api::ec2::SampleConfig> {
    let (name, text) = (source.name.clone(), source.text.clone());
    std::sync::Arc::new(move |vgw: &str, connection: &str, device: &str| {
        use cgw::kind::download::{Format, customer_config, find_connection};
        let format: Format = device.parse()?;
        let source = Source::new(name.clone(), text.clone());
        let scenario = parse_scenario_with(&source, &scenarios::registry(), Some(profile))
            .map_err(|d| d.to_string())?;
        let which = format!("{vgw}/{connection}");
        let found = find_connection(&scenario, &which)?;
        let keys = if format.carries_keys() {
            Some(crate::lab_keys::lab_tunnel_keys(
                &lab,
                &lab_dir,
                &found.vgw,
                &found.name,
            )?)
        } else {
            None
        };
        customer_config(&scenario, &which, format, keys.as_deref())
            .map(|text| secret::Secret::new(text.as_str().to_string()))
    })
}

/// Serves the AWS-shaped API of the lab on `listener` (`crate::api`); aborted when dropped.
pub fn start_api(
    listener: std::net::TcpListener,
    scenario: &Scenario,
    source: &Source,
    lab: &str,
    lab_dir: &Path,
) -> Result<AbortOnDrop, String> {
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
    let credentials = crate::api::credentials();
    let endpoint = format!("http://{addr}");
    crate::api::write_record(lab_dir, &endpoint, &credentials)?;
    eprintln_api(&format!(
        "AWS API on {endpoint} (region {}; EC2 Query and Direct Connect):\n  export AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}",
        crate::api::REGION,
        credentials.access_key_id,
        credentials.secret_access_key.expose()
    ));
    let config = aws_api::ApiConfig {
        inventory: crate::api::inventory(scenario, lab),
        lab_dir: lab_dir.to_path_buf(),
        credentials,
        sample: crate::api::sample_config(
            lab.to_string(),
            lab_dir.to_path_buf(),
            source,
            scenario.timing.profile,
        ),
    };
    Ok(AbortOnDrop(tokio::spawn(aws_api::serve(
        listener,
        Arc::new(config),
    ))))
}

/// A task aborted when this is dropped.
pub struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The API's lines for a person (stderr, like `run`'s progress; never a log).
fn eprintln_api(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
