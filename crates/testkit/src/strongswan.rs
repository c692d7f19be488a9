//! Real strongSwan (charon with the `kernel-libipsec` plugin) inside a lab namespace, driven with
//! `swanctl` over the instance's own VICI socket.
//!
//! ```text
//!   <tmp>/strongswan.conf      written here: plugins, logging, timers (STRONGSWAN_CONF)
//!   <tmp>/swanctl.conf         written by `load`: connections and PSK secrets
//!   <tmp>/charon.vici          the VICI socket (swanctl --uri unix://<tmp>/charon.vici)
//!   <tmp>/charon.log           charon's file log (levels from CharonOptions::log)
//!   <tmp>/charon.out           stdout/stderr of the daemon
//!   <tmp>/run/                 bind-mounted over /run inside charon's private mount namespace
//! ```
//!
//! Facts this module encodes (learned running strongSwan 5.9.8 on this kernel, which has no
//! kernel ESP):
//! - ESP runs in userspace over a TUN device (`ipsec0`) through `kernel-libipsec`, which must load
//!   before `kernel-netlink` (the plugin order below); AES-GCM needs the `gcm` plugin
//!   (libstrongswan-standard-plugins), ChaCha20-Poly1305 and X25519 come from `openssl`.
//! - charon's pid file path is fixed (`/run/charon.pid`), so every charon gets a private mount
//!   namespace with its own directory bind-mounted over `/run`.
//! - With `0.0.0.0/0` traffic selectors (route-based, as AWS uses) `kernel-libipsec` routes
//!   everything into `ipsec0` through table 220 and adds a `throw` route for the IKE peer, as long
//!   as `allow_peer_ts` stays off (turning it on sends IKE itself into the tunnel). The TUN gets no
//!   address: tests add the tunnel's inside address with [`StrongSwan::add_tunnel_address`].
//! - Without a NAT, `encap = yes` makes strongSwan fake NAT detection so both ends float to
//!   UDP 4500 and ESP is UDP-encapsulated (RFC 3948), which is the only ESP our data plane does.
//!
//! - What charon 5.9.8 sends in this setup (`mobike = no`), i.e. what our IKE side must accept:
//!   IKE_SA_INIT `[ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(REDIR_SUP) ]`
//!   (responses add `N(CHDLESS_SUP) N(MULT_AUTH)`); IKE_AUTH `[ IDi N(INIT_CONTACT) IDr AUTH SA
//!   TSi TSr N(MULT_AUTH) N(EAP_ONLY) N(MSG_ID_SYN_SUP) ]`; a wrong PSK is answered with
//!   `[ N(AUTH_FAILED) ]` alone and logged as `tried 1 shared key ... but MAC mismatched`;
//!   CHILD_SA rekey `[ N(REKEY_SA) SA No KE TSi TSr ]` (KE only with a PFS group in the ESP
//!   proposal); IKE SA rekey `[ SA No KE ]` followed by `INFORMATIONAL [ D ]` on the old SA.
//!   charon pads the Encrypted payload with nothing (Pad Length 0) and floats to 4500 after
//!   IKE_SA_INIT.
//!
//! The daemon dies with the test thread that started it (PR_SET_PDEATHSIG) and is killed on
//! drop. Nothing here mocks strongSwan: it is the distribution's charon.
//!
//! What it does not do: certificates or EAP (PSK only, AWS's method), IKEv1, or kernel XFRM.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use crate::lab::{Lab, LabError, kill};
use crate::poll::{Timeout, wait_for};

/// The charon binary of the Debian packages (`strongswan-charon`).
pub const CHARON: &str = "/usr/lib/ipsec/charon";

/// Plugins charon loads, in order: `kernel-libipsec` before `kernel-netlink`.
pub const CHARON_PLUGINS: &str = "random nonce openssl pem pkcs1 x509 revocation constraints \
     pubkey aes sha1 sha2 hmac gcm kdf kernel-libipsec kernel-netlink socket-default vici updown";

/// strongSwan could not be started, configured or queried.
#[derive(Debug, thiserror::Error)]
pub enum StrongSwanError {
    /// Starting the process failed.
    #[error(transparent)]
    Lab(#[from] LabError),
    /// A file operation failed.
    #[error("{0}")]
    Io(String),
    /// charon did not come up.
    #[error("charon did not start: {0}")]
    Start(String),
    /// swanctl failed.
    #[error("swanctl {command}: {message}")]
    Swanctl {
        /// The arguments.
        command: String,
        /// Its output.
        message: String,
    },
    /// A condition was not reached in time.
    #[error(transparent)]
    Timeout(#[from] Timeout),
}

/// charon's log levels per subsystem (strongswan.conf `filelog`): -1 silent .. 4 private.
/// Level 4 on `ike` and `chd` logs derived keys, which the key-derivation vector tests read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLevels {
    /// Default for subsystems not listed.
    pub default: i8,
    /// Per subsystem (`ike`, `chd`, `cfg`, `knl`, `net`, `enc`, `esp`, ...).
    pub subsystems: Vec<(&'static str, i8)>,
}

impl Default for LogLevels {
    fn default() -> Self {
        LogLevels {
            default: 1,
            subsystems: vec![("ike", 2), ("cfg", 2), ("knl", 1), ("net", 1), ("enc", 1)],
        }
    }
}

impl LogLevels {
    /// Everything needed to follow key derivation: `ike` and `chd` at 4 (keys), `enc` at 3
    /// (plaintext of encrypted payloads).
    pub fn keys() -> LogLevels {
        LogLevels {
            default: 1,
            subsystems: vec![
                ("ike", 4),
                ("chd", 4),
                ("cfg", 2),
                ("knl", 1),
                ("net", 1),
                ("enc", 3),
            ],
        }
    }
}

/// Settings of one charon instance (its strongswan.conf).
#[derive(Debug, Clone)]
pub struct CharonOptions {
    /// File log levels.
    pub log: LogLevels,
    /// Initial retransmission timeout in seconds (charon default 4.0).
    pub retransmit_timeout: f64,
    /// Backoff base (charon default 1.8).
    pub retransmit_base: f64,
    /// Retransmissions before giving up (charon default 5).
    pub retransmit_tries: u32,
    /// Extra lines placed inside the `charon { }` section, verbatim.
    pub extra: String,
    /// strongswan.conf text appended after the rest at top level, verbatim: an exported
    /// fragment whose settings override the ones above (the plugin list stays ours).
    pub append: String,
}

impl Default for CharonOptions {
    fn default() -> Self {
        CharonOptions {
            log: LogLevels::default(),
            retransmit_timeout: 4.0,
            retransmit_base: 1.8,
            retransmit_tries: 5,
            extra: String::new(),
            append: String::new(),
        }
    }
}

impl CharonOptions {
    /// Short retransmission timers for tests that wait for a peer to give up
    /// (0.5 s, base 1.4, 3 tries: gives up after about 4 s).
    pub fn fast() -> CharonOptions {
        CharonOptions {
            retransmit_timeout: 0.5,
            retransmit_base: 1.4,
            retransmit_tries: 3,
            ..CharonOptions::default()
        }
    }

    fn strongswan_conf(&self, dir: &Path) -> String {
        let mut levels = String::new();
        for (subsystem, level) in &self.log.subsystems {
            let _ = writeln!(levels, "      {subsystem} = {level}");
        }
        format!(
            r#"# Written by testkit::strongswan; see that module for why each line is here.
charon {{
  load = {CHARON_PLUGINS}
  port = 500
  port_nat_t = 4500
  install_virtual_ip = no
  retransmit_timeout = {timeout}
  retransmit_base = {base}
  retransmit_tries = {tries}
  plugins {{
    vici {{
      socket = unix://{dir}/charon.vici
    }}
  }}
  filelog {{
    main {{
      path = {dir}/charon.log
      default = {default}
{levels}      flush_line = yes
      ike_name = yes
      time_format = %T
      time_add_ms = yes
    }}
  }}
{extra}
}}
swanctl {{
  load = random pem pkcs1 x509 pubkey openssl
}}
{append}"#,
            timeout = self.retransmit_timeout,
            base = self.retransmit_base,
            tries = self.retransmit_tries,
            dir = dir.display(),
            default = self.log.default,
            extra = self.extra,
            append = self.append,
        )
    }
}

/// What charon does with a connection once it is loaded (swanctl `start_action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAction {
    /// Wait for the peer (AWS's default `add` on the AWS side).
    None,
    /// Initiate as soon as the connection is loaded.
    Start,
}

/// An IKEv2 PSK connection with one route-based CHILD_SA, as a customer gateway configures it
/// for an AWS Site-to-Site VPN tunnel. [`PskConnection::new`] fills AWS-like defaults.
#[derive(Debug, Clone)]
pub struct PskConnection {
    /// Connection name (the CHILD_SA is called `<name>-child`).
    pub name: String,
    /// Our outside address.
    pub local_addr: IpAddr,
    /// The peer's outside address.
    pub remote_addr: IpAddr,
    /// Our IKE identity (an IPv4 address identity by default, as AWS uses).
    pub local_id: String,
    /// The identity we expect from the peer.
    pub remote_id: String,
    /// The pre-shared key.
    pub psk: String,
    /// IKE proposals, strongSwan syntax (`aes256gcm16-prfsha256-ecp256`).
    pub proposals: String,
    /// ESP proposals, strongSwan syntax (`aes256gcm16`, `-ecp256` suffix for PFS).
    pub esp_proposals: String,
    /// Our traffic selectors.
    pub local_ts: String,
    /// The peer's traffic selectors.
    pub remote_ts: String,
    /// Force UDP encapsulation (fakes NAT detection; needed for ESP without a NAT here).
    pub encap: bool,
    /// Initiate on load or wait.
    pub start_action: StartAction,
    /// DPD interval in seconds (0: off).
    pub dpd_delay: u32,
    /// What to do when the peer is found dead (`clear`, `restart`, `trap`, `none`).
    pub dpd_action: &'static str,
    /// IKE SA rekey time in seconds (0: never).
    pub ike_rekey_time: u32,
    /// CHILD_SA rekey time in seconds (0: never).
    pub child_rekey_time: u32,
    /// CHILD_SA hard lifetime in seconds (0: strongSwan's default of rekey time + 10 %).
    pub child_life_time: u32,
    /// Randomisation subtracted from rekey times in seconds (0: none, for deterministic tests).
    pub rand_time: u32,
    /// Anti-replay window in packets (strongSwan default 32; AWS uses 1024).
    pub replay_window: u32,
    /// How often charon retries a failed initiation (0: forever).
    pub keyingtries: u32,
}

impl PskConnection {
    /// A connection with AWS-like defaults: IPv4 address identities, aes256gcm16-prfsha256-ecp256
    /// for IKE and aes256gcm16 for ESP, 0.0.0.0/0 selectors both ways, forced UDP encapsulation,
    /// no DPD, no scheduled rekeying, replay window 1024.
    pub fn new(name: &str, local_addr: IpAddr, remote_addr: IpAddr, psk: &str) -> PskConnection {
        PskConnection {
            name: name.to_owned(),
            local_addr,
            remote_addr,
            local_id: local_addr.to_string(),
            remote_id: remote_addr.to_string(),
            psk: psk.to_owned(),
            proposals: "aes256gcm16-prfsha256-ecp256".to_owned(),
            esp_proposals: "aes256gcm16".to_owned(),
            local_ts: "0.0.0.0/0".to_owned(),
            remote_ts: "0.0.0.0/0".to_owned(),
            encap: true,
            start_action: StartAction::None,
            dpd_delay: 0,
            dpd_action: "clear",
            ike_rekey_time: 0,
            child_rekey_time: 0,
            child_life_time: 0,
            rand_time: 0,
            replay_window: 1024,
            keyingtries: 1,
        }
    }

    /// The CHILD_SA's name.
    pub fn child_name(&self) -> String {
        format!("{}-child", self.name)
    }

    /// This connection and its secret as swanctl.conf sections (`connections` and `secrets`).
    pub fn swanctl_conf(&self) -> String {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let start = match self.start_action {
            StartAction::None => "none",
            StartAction::Start => "start",
        };
        let child_life = if self.child_life_time > 0 {
            format!("        life_time = {}s\n", self.child_life_time)
        } else {
            String::new()
        };
        format!(
            r#"connections {{
  {name} {{
    version = 2
    local_addrs = {local_addr}
    remote_addrs = {remote_addr}
    encap = {encap}
    mobike = no
    proposals = {proposals}
    dpd_delay = {dpd_delay}s
    rekey_time = {ike_rekey}s
    reauth_time = 0s
    over_time = 0s
    rand_time = {rand}s
    keyingtries = {tries}
    local {{
      auth = psk
      id = {local_id}
    }}
    remote {{
      auth = psk
      id = {remote_id}
    }}
    children {{
      {child} {{
        mode = tunnel
        local_ts = {local_ts}
        remote_ts = {remote_ts}
        esp_proposals = {esp}
        rekey_time = {child_rekey}s
{child_life}        rand_time = {rand}s
        replay_window = {replay}
        start_action = {start}
        dpd_action = {dpd_action}
      }}
    }}
  }}
}}
secrets {{
  ike-{name} {{
    id-local = {local_id}
    id-remote = {remote_id}
    secret = "{psk}"
  }}
}}
"#,
            name = self.name,
            child = self.child_name(),
            local_addr = self.local_addr,
            remote_addr = self.remote_addr,
            encap = yes(self.encap),
            proposals = self.proposals,
            dpd_delay = self.dpd_delay,
            ike_rekey = self.ike_rekey_time,
            rand = self.rand_time,
            tries = self.keyingtries,
            local_id = self.local_id,
            remote_id = self.remote_id,
            local_ts = self.local_ts,
            remote_ts = self.remote_ts,
            esp = self.esp_proposals,
            child_rekey = self.child_rekey_time,
            replay = self.replay_window,
            dpd_action = self.dpd_action,
            psk = self.psk,
        )
    }
}

/// One IKE_SA as `swanctl --list-sas` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct IkeSaInfo {
    /// Connection name.
    pub name: String,
    /// Every `key=value` of the IKE_SA (state, local-host, initiator-spi, encr-alg, ...), with
    /// lists (`tasks-active`, ...) as JSON arrays.
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// Its CHILD_SAs.
    pub children: Vec<ChildSaInfo>,
}

/// One CHILD_SA as `swanctl --list-sas` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildSaInfo {
    /// The entry's key (`<child>-<uniqueid>`).
    pub key: String,
    /// Every `key=value` (name, state, spi-in, spi-out, encr-alg, bytes-in, packets-in, ...).
    pub fields: serde_json::Map<String, serde_json::Value>,
}

fn field<'a>(fields: &'a serde_json::Map<String, serde_json::Value>, key: &str) -> &'a str {
    fields.get(key).and_then(|v| v.as_str()).unwrap_or("")
}

impl IkeSaInfo {
    /// A string field, `""` when absent.
    pub fn get(&self, key: &str) -> &str {
        field(&self.fields, key)
    }

    /// `state` (`CONNECTING`, `ESTABLISHED`, `REKEYING`, `DELETING`, ...).
    pub fn state(&self) -> &str {
        self.get("state")
    }

    /// Whether the IKE_SA is established with at least one CHILD_SA installed.
    pub fn is_up(&self) -> bool {
        self.state() == "ESTABLISHED" && self.children.iter().any(|c| c.state() == "INSTALLED")
    }
}

impl ChildSaInfo {
    /// A string field, `""` when absent.
    pub fn get(&self, key: &str) -> &str {
        field(&self.fields, key)
    }

    /// `state` (`INSTALLED`, `REKEYING`, `REKEYED`, `DELETING`, ...).
    pub fn state(&self) -> &str {
        self.get("state")
    }

    /// A numeric counter (`bytes-in`, `packets-out`, ...), 0 when absent.
    pub fn counter(&self, key: &str) -> u64 {
        self.get(key).parse().unwrap_or(0)
    }
}

/// A running charon.
#[derive(Debug)]
pub struct StrongSwan {
    dir: tempfile::TempDir,
    node: String,
    ns: String,
    charon: Option<Child>,
}

impl StrongSwan {
    /// Starts charon in `node` with `options` and waits until its VICI socket answers.
    pub fn start(
        lab: &Lab,
        node: &str,
        options: &CharonOptions,
    ) -> Result<StrongSwan, StrongSwanError> {
        let dir = tempfile::Builder::new()
            .prefix("hl-sw-")
            .tempdir()
            .map_err(|e| StrongSwanError::Io(e.to_string()))?;
        let d = dir.path().to_path_buf();
        let io = |what: &str, e: std::io::Error| StrongSwanError::Io(format!("{what}: {e}"));
        std::fs::create_dir(d.join("run")).map_err(|e| io("run dir", e))?;
        std::fs::write(d.join("strongswan.conf"), options.strongswan_conf(&d))
            .map_err(|e| io("strongswan.conf", e))?;
        // swanctl looks for credentials in these directories next to swanctl.conf and complains
        // about every missing one.
        for sub in [
            "x509", "x509ca", "x509ocsp", "x509aa", "x509ac", "x509crl", "pubkey", "private",
            "rsa", "ecdsa", "bliss", "pkcs8", "pkcs12",
        ] {
            std::fs::create_dir(d.join(sub)).map_err(|e| io(sub, e))?;
        }
        // A private mount namespace with our directory over /run: charon's pid file path is
        // fixed, so two charons on one machine need two /run.
        let script = format!(
            "mount --bind {run} /run && STRONGSWAN_CONF={conf} exec {CHARON}",
            run = d.join("run").display(),
            conf = d.join("strongswan.conf").display(),
        );
        let charon = lab.spawn(
            node,
            "unshare",
            &["--mount", "--propagation", "private", "sh", "-c", &script],
            &d.join("charon.out"),
        )?;
        let mut sw = StrongSwan {
            dir,
            node: node.to_owned(),
            ns: lab.ns(node),
            charon: Some(charon),
        };
        let up = wait_for(
            "charon's VICI socket",
            Duration::from_secs(20),
            Duration::from_millis(50),
            || {
                if let Some(child) = sw.charon.as_mut()
                    && let Ok(Some(status)) = child.try_wait()
                {
                    return Err(format!("charon exited: {status}"));
                }
                sw.swanctl(&["--stats"])
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            },
        );
        if let Err(e) = up {
            let detail = format!("{e}; {}", tail(&sw.dir.path().join("charon.out"), 10));
            sw.kill();
            return Err(StrongSwanError::Start(detail));
        }
        Ok(sw)
    }

    /// The instance's directory (configs, logs, socket).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The lab node it runs in.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The namespace it runs in.
    pub fn namespace(&self) -> &str {
        &self.ns
    }

    /// The VICI URI swanctl uses.
    pub fn vici_uri(&self) -> String {
        format!("unix://{}", self.dir.path().join("charon.vici").display())
    }

    /// charon's file log.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("charon.log")
    }

    /// charon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// charon's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.charon.as_ref().map(Child::id)
    }

    /// Runs `swanctl <args> --uri <ours>` and returns its stdout.
    pub fn swanctl(&self, args: &[&str]) -> Result<String, StrongSwanError> {
        let out = Command::new("swanctl")
            .args(args)
            .arg("--uri")
            .arg(self.vici_uri())
            .env("STRONGSWAN_CONF", self.dir.path().join("strongswan.conf"))
            .output()
            .map_err(|e| StrongSwanError::Swanctl {
                command: args.join(" "),
                message: e.to_string(),
            })?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            return Err(StrongSwanError::Swanctl {
                command: args.join(" "),
                message: format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
            });
        }
        Ok(stdout)
    }

    /// Writes `swanctl_conf` as the instance's swanctl.conf and loads it (`--load-all`,
    /// replacing what was loaded before).
    pub fn load(&self, swanctl_conf: &str) -> Result<(), StrongSwanError> {
        let path = self.dir.path().join("swanctl.conf");
        std::fs::write(&path, swanctl_conf).map_err(|e| StrongSwanError::Io(e.to_string()))?;
        let out = self.swanctl(&[
            "--load-all",
            "--noprompt",
            "--file",
            &path.to_string_lossy(),
        ])?;
        if out.contains("failed") {
            return Err(StrongSwanError::Swanctl {
                command: "--load-all".into(),
                message: out,
            });
        }
        Ok(())
    }

    /// Loads one PSK connection (see [`PskConnection`]).
    pub fn load_connection(&self, conn: &PskConnection) -> Result<(), StrongSwanError> {
        self.load(&conn.swanctl_conf())
    }

    /// Initiates a CHILD_SA (and its IKE_SA) and waits up to `timeout` for the outcome.
    pub fn initiate(&self, child: &str, timeout: Duration) -> Result<String, StrongSwanError> {
        let secs = timeout.as_secs().max(1).to_string();
        self.swanctl(&["--initiate", "--child", child, "--timeout", &secs])
    }

    /// Starts initiating a CHILD_SA without waiting for the outcome.
    pub fn initiate_async(&self, child: &str) -> Result<(), StrongSwanError> {
        self.swanctl(&["--initiate", "--child", child, "--timeout", "-1"])
            .map(|_| ())
    }

    /// Deletes an IKE_SA (with its CHILD_SAs), sending DELETE to the peer.
    pub fn terminate_ike(&self, ike: &str) -> Result<(), StrongSwanError> {
        self.swanctl(&["--terminate", "--ike", ike, "--timeout", "10"])
            .map(|_| ())
    }

    /// Rekeys a CHILD_SA now.
    pub fn rekey_child(&self, child: &str) -> Result<(), StrongSwanError> {
        self.swanctl(&["--rekey", "--child", child]).map(|_| ())
    }

    /// Rekeys an IKE_SA now.
    pub fn rekey_ike(&self, ike: &str) -> Result<(), StrongSwanError> {
        self.swanctl(&["--rekey", "--ike", ike]).map(|_| ())
    }

    /// The IKE_SAs charon holds.
    pub fn list_sas(&self) -> Result<Vec<IkeSaInfo>, StrongSwanError> {
        let raw = self.swanctl(&["--list-sas", "--raw", "--noblock"])?;
        parse_list_sas(&raw).map_err(|message| StrongSwanError::Swanctl {
            command: "--list-sas --raw".into(),
            message,
        })
    }

    /// Waits until IKE_SA `ike` is established with a CHILD_SA installed, and returns it.
    pub fn wait_up(&self, ike: &str, timeout: Duration) -> Result<IkeSaInfo, StrongSwanError> {
        Ok(wait_for(
            &format!("strongSwan IKE_SA {ike} established with a CHILD_SA"),
            timeout,
            Duration::from_millis(50),
            || {
                let sas = self.list_sas().map_err(|e| e.to_string())?;
                sas.iter()
                    .find(|sa| sa.name == ike && sa.is_up())
                    .cloned()
                    .ok_or_else(|| format!("{sas:?}"))
            },
        )?)
    }

    /// Gives the TUN device `ipsec0` an inside address (`169.254.10.2/30` style) and sets it up.
    pub fn add_tunnel_address(&self, lab: &Lab, cidr: &str) -> Result<(), StrongSwanError> {
        lab.exec(&self.node, &["ip", "addr", "add", cidr, "dev", "ipsec0"])?;
        lab.exec(&self.node, &["ip", "link", "set", "ipsec0", "up"])?;
        Ok(())
    }

    /// Stops charon abruptly (SIGKILL): a crashed peer, no DELETE sent.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.charon.take() {
            kill(&mut child);
        }
    }

    /// Stops charon in an orderly way (SIGTERM: it sends DELETE for its SAs first) and waits up
    /// to `timeout` for it to exit.
    pub fn stop(&mut self, timeout: Duration) -> Result<(), StrongSwanError> {
        let Some(mut child) = self.charon.take() else {
            return Ok(());
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let done = wait_for(
            "charon to exit",
            timeout,
            Duration::from_millis(50),
            || match child.try_wait() {
                Ok(Some(_)) => Ok(()),
                _ => Err("still running"),
            },
        );
        if done.is_err() {
            kill(&mut child);
        }
        Ok(done.map(|_| ())?)
    }
}

impl Drop for StrongSwan {
    fn drop(&mut self) {
        self.kill();
    }
}

fn tail(p: &Path, lines: usize) -> String {
    let s = std::fs::read_to_string(p).unwrap_or_default();
    let mut last: Vec<&str> = s.lines().rev().take(lines).collect();
    last.reverse();
    last.join("\n")
}

/// Parses `swanctl --list-sas --raw` output: one `list-sa event {<name> {k=v ... child-sas {..}}}`
/// line per IKE_SA, then `list-sas reply {}`.
pub fn parse_list_sas(raw: &str) -> Result<Vec<IkeSaInfo>, String> {
    let mut sas = Vec::new();
    for line in raw.lines() {
        let Some(body) = line.strip_prefix("list-sa event ") else {
            continue;
        };
        let tree = parse_vici_raw(body)?;
        for (name, value) in tree {
            let serde_json::Value::Object(mut fields) = value else {
                return Err(format!("IKE_SA {name} is not a section"));
            };
            let mut children = Vec::new();
            if let Some(serde_json::Value::Object(kids)) = fields.remove("child-sas") {
                for (key, kid) in kids {
                    if let serde_json::Value::Object(kid_fields) = kid {
                        children.push(ChildSaInfo {
                            key,
                            fields: kid_fields,
                        });
                    }
                }
            }
            sas.push(IkeSaInfo {
                name,
                fields,
                children,
            });
        }
    }
    Ok(sas)
}

/// Parses swanctl's raw rendering of a VICI message: `{key=value key=[a b] section {...}}`.
pub fn parse_vici_raw(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let tokens = tokenize(text);
    let mut pos = 0;
    let map = parse_section(&tokens, &mut pos)?;
    Ok(map)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Word(String),
    /// `key=value`, `key=[a b c]`.
    Pair(String, serde_json::Value),
}

fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '{' {
            out.push(Token::Open);
            i += 1;
        } else if c == '}' {
            out.push(Token::Close);
            i += 1;
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && !"{}=".contains(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if i < chars.len() && chars[i] == '=' {
                i += 1;
                if i < chars.len() && chars[i] == '[' {
                    // A list; items may themselves contain brackets (`10.0.0.0/8[tcp/80]`).
                    i += 1;
                    let mut items = Vec::new();
                    let mut item = String::new();
                    let mut depth = 0;
                    while i < chars.len() {
                        let ch = chars[i];
                        i += 1;
                        match ch {
                            '[' => {
                                depth += 1;
                                item.push(ch);
                            }
                            ']' if depth == 0 => break,
                            ']' => {
                                depth -= 1;
                                item.push(ch);
                            }
                            c if c.is_whitespace() && depth == 0 => {
                                if !item.is_empty() {
                                    items
                                        .push(serde_json::Value::String(std::mem::take(&mut item)));
                                }
                            }
                            c => item.push(c),
                        }
                    }
                    if !item.is_empty() {
                        items.push(serde_json::Value::String(item));
                    }
                    out.push(Token::Pair(word, serde_json::Value::Array(items)));
                } else {
                    let vstart = i;
                    while i < chars.len() && !chars[i].is_whitespace() && !"{}".contains(chars[i]) {
                        i += 1;
                    }
                    let value: String = chars[vstart..i].iter().collect();
                    out.push(Token::Pair(word, serde_json::Value::String(value)));
                }
            } else {
                out.push(Token::Word(word));
            }
        }
    }
    out
}

fn parse_section(
    tokens: &[Token],
    pos: &mut usize,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    if tokens.get(*pos) != Some(&Token::Open) {
        return Err(format!("expected '{{' at token {pos}"));
    }
    *pos += 1;
    let mut map = serde_json::Map::new();
    loop {
        match tokens.get(*pos) {
            None => return Err("unterminated section".into()),
            Some(Token::Close) => {
                *pos += 1;
                return Ok(map);
            }
            Some(Token::Pair(k, v)) => {
                map.insert(k.clone(), v.clone());
                *pos += 1;
            }
            Some(Token::Word(name)) => {
                let name = name.clone();
                *pos += 1;
                let inner = parse_section(tokens, pos)?;
                map.insert(name, serde_json::Value::Object(inner));
            }
            Some(Token::Open) => return Err(format!("unnamed section at token {pos}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Output captured from strongSwan 5.9.8 (`swanctl --list-sas --raw`).
    const LIST_SAS: &str = "list-sa event {aws {uniqueid=1 version=2 state=ESTABLISHED \
        local-host=192.0.2.1 local-port=4500 local-id=192.0.2.1 remote-host=192.0.2.2 \
        remote-port=4500 remote-id=192.0.2.2 initiator=yes initiator-spi=5b8add92e81da67e \
        responder-spi=0e3cff24fefa0406 nat-remote=yes nat-any=yes encr-alg=AES_GCM_16 \
        encr-keysize=256 prf-alg=PRF_HMAC_SHA2_256 dh-group=ECP_256 established=0 \
        rekey-time=13974 child-sas {tun-1 {name=tun uniqueid=1 reqid=1 state=INSTALLED \
        mode=TUNNEL protocol=ESP encap=yes spi-in=8c286993 spi-out=4c12c9d7 encr-alg=AES_GCM_16 \
        encr-keysize=256 bytes-in=252 packets-in=3 bytes-out=0 packets-out=0 rekey-time=3320 \
        life-time=3960 install-time=0 local-ts=[0.0.0.0/0] remote-ts=[0.0.0.0/0]}}}}\n\
        list-sa event {aws {uniqueid=2 version=2 state=CONNECTING local-host=192.0.2.1 \
        tasks-active=[IKE_CERT_PRE IKE_AUTH CHILD_CREATE] child-sas {}}}\n\
        list-sas reply {}\n";

    #[test]
    fn parses_list_sas_raw() {
        let sas = parse_list_sas(LIST_SAS).unwrap();
        assert_eq!(sas.len(), 2);
        let up = &sas[0];
        assert_eq!(up.name, "aws");
        assert_eq!(up.state(), "ESTABLISHED");
        assert_eq!(up.get("responder-spi"), "0e3cff24fefa0406");
        assert!(up.is_up());
        assert_eq!(up.children.len(), 1);
        let child = &up.children[0];
        assert_eq!(child.key, "tun-1");
        assert_eq!(child.get("spi-in"), "8c286993");
        assert_eq!(child.counter("packets-in"), 3);
        assert_eq!(child.fields["local-ts"], serde_json::json!(["0.0.0.0/0"]));
        let connecting = &sas[1];
        assert!(!connecting.is_up());
        assert_eq!(
            connecting.fields["tasks-active"],
            serde_json::json!(["IKE_CERT_PRE", "IKE_AUTH", "CHILD_CREATE"])
        );
        assert!(connecting.children.is_empty());
    }

    #[test]
    fn list_items_may_hold_brackets_and_errors_are_reported() {
        let m = parse_vici_raw("{ts=[10.0.0.0/8[tcp/80] 10.1.0.0/16] x {y=1}}").unwrap();
        assert_eq!(
            m["ts"],
            serde_json::json!(["10.0.0.0/8[tcp/80]", "10.1.0.0/16"])
        );
        assert_eq!(m["x"]["y"], serde_json::json!("1"));
        assert!(parse_vici_raw("{a=1").is_err());
        assert!(parse_vici_raw("a=1}").is_err());
    }

    #[test]
    fn config_texts_carry_the_settings() {
        let mut conn = PskConnection::new(
            "aws",
            "192.0.2.2".parse().unwrap(),
            "192.0.2.1".parse().unwrap(),
            "Test.psk.1234",
        );
        conn.dpd_delay = 1;
        conn.start_action = StartAction::Start;
        let text = conn.swanctl_conf();
        for want in [
            "local_addrs = 192.0.2.2",
            "remote_addrs = 192.0.2.1",
            "encap = yes",
            "proposals = aes256gcm16-prfsha256-ecp256",
            "esp_proposals = aes256gcm16",
            "aws-child {",
            "start_action = start",
            "dpd_delay = 1s",
            "replay_window = 1024",
            "secret = \"Test.psk.1234\"",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        let conf = CharonOptions::fast().strongswan_conf(Path::new("/tmp/x"));
        let libipsec = conf.find("kernel-libipsec").unwrap();
        let netlink = conf.find("kernel-netlink").unwrap();
        assert!(libipsec < netlink, "kernel-libipsec must load first");
        assert!(conf.contains("socket = unix:///tmp/x/charon.vici"));
        assert!(conf.contains("retransmit_timeout = 0.5"));
    }
}
