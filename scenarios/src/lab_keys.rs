//! The tunnel keys of a running lab's VPN connection, read from its VGW daemon over the
//! control socket (`customer_keys`), for `cgw-config LAB CONNECTION` and the API's sample
//! configurations. The reply holds keys: it is never echoed, and no error names a key.
//!
//! What it does not do: draw keys (the VGW does, per lab), or write them anywhere.

use std::path::Path;

/// The keys of connection `connection`'s tunnels, as VGW node `vgw` of running lab `lab`
/// holds them (its `customer_keys` control action).
pub fn lab_tunnel_keys(
    lab: &str,
    lab_dir: &Path,
    vgw: &str,
    connection: &str,
) -> Result<Vec<vgw::psk::Psk>, String> {
    let socket = control::socket_path(lab_dir, vgw);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let mut args = serde_json::Map::new();
    args.insert("connection".into(), connection.into());
    let reply = rt
        .block_on(async {
            let mut c = control::Client::connect(&socket).await?;
            c.action("customer_keys", args).await
        })
        .map_err(|e| format!("{lab}/{vgw}: reading the keys of {connection}: {e}"))?;
    // The reply holds keys: never echo it, and never put a key in an error.
    let tunnels = reply["tunnels"]
        .as_array()
        .ok_or_else(|| format!("{lab}/{vgw}: customer_keys: no \"tunnels\" in the reply"))?;
    tunnels
        .iter()
        .enumerate()
        .map(|(i, t)| {
            vgw::psk::Psk::new(t["pre_shared_key"].as_str().unwrap_or_default())
                .map_err(|e| format!("{lab}/{vgw}: tunnel {} of {connection}: {e}", i + 1))
        })
        .collect()
}
