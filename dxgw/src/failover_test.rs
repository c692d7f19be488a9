//! AWS's StartBgpFailoverTest / StopBgpFailoverTest on the DX router's control socket: the
//! named VIFs' BGP sessions (IPv4 and, where the VIF has one, IPv6) are brought down (Cease, administrative shutdown, RFC 4486 §4 /
//! RFC 9003 message "BGP failover test") for the test's duration, then started again; a stop
//! ends the test early \[D4\]. Events: `dx.failover_test` with `state` `started` / `ended`.
//!
//! ```text
//!  {"kind":"start_bgp_failover_test","vifs":["vif1"],"minutes":180}   (AWS: 1-4320, default 180)
//!  {"kind":"start_bgp_failover_test","vifs":["vif1"],"seconds":3}     (the emulator's, for tests)
//!  {"kind":"stop_bgp_failover_test","vifs":["vif1"]}                  (no "vifs": every VIF)
//! ```
//!
//! What it does not do: keep tests across a daemon restart (AWS does; a restart here ends them).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bgp::driver::Speaker;
use control::protocol::ErrorCode;
use control::server::EventPublisher;
use control::{ActionParams, ErrorBody};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// AWS's default test duration \[D4\].
pub const DEFAULT_MINUTES: u64 = 180;
/// AWS's longest test.
pub const MAX_MINUTES: u64 = 4320;

/// The running tests, by VIF name.
#[derive(Debug, Clone)]
pub struct FailoverTests {
    speaker: Arc<Speaker>,
    publisher: EventPublisher,
    /// VIF name -> its sessions' customer peer addresses (IPv4, then IPv6 if any).
    vifs: Arc<HashMap<String, Vec<IpAddr>>>,
    running: Arc<Mutex<HashMap<String, JoinHandle<()>>>>,
}

fn bad(m: impl Into<String>) -> ErrorBody {
    ErrorBody::new(ErrorCode::BadRequest, m)
}

impl FailoverTests {
    /// Tests over `vifs` (name, its sessions' peers) of `speaker`.
    pub fn new(
        speaker: Arc<Speaker>,
        publisher: EventPublisher,
        vifs: HashMap<String, Vec<IpAddr>>,
    ) -> FailoverTests {
        FailoverTests {
            speaker,
            publisher,
            vifs: Arc::new(vifs),
            running: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn names(&self, p: &ActionParams, all_when_absent: bool) -> Result<Vec<String>, ErrorBody> {
        let names: Vec<String> = match p.args.get("vifs") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad("\"vifs\" is a list of VIF names"))
                })
                .collect::<Result<_, _>>()?,
            None if all_when_absent => self.vifs.keys().cloned().collect(),
            _ => return Err(bad("needs \"vifs\": a list of VIF names")),
        };
        if let Some(n) = names.iter().find(|n| !self.vifs.contains_key(*n)) {
            return Err(ErrorBody::new(ErrorCode::NotFound, format!("no VIF {n:?}")));
        }
        Ok(names)
    }

    /// `start_bgp_failover_test`.
    pub async fn start(&self, p: &ActionParams) -> Result<Value, ErrorBody> {
        let names = self.names(p, false)?;
        let duration = match (p.args.get("minutes"), p.args.get("seconds")) {
            (Some(m), None) => {
                let m = m
                    .as_u64()
                    .filter(|m| (1..=MAX_MINUTES).contains(m))
                    .ok_or_else(|| bad(format!("\"minutes\" is 1-{MAX_MINUTES}")))?;
                Duration::from_secs(m * 60)
            }
            (None, Some(s)) => Duration::from_secs(
                s.as_u64()
                    .filter(|s| (1..=MAX_MINUTES * 60).contains(s))
                    .ok_or_else(|| bad("\"seconds\" is a positive number"))?,
            ),
            (None, None) => Duration::from_secs(DEFAULT_MINUTES * 60),
            _ => return Err(bad("give \"minutes\" or \"seconds\", not both")),
        };
        for name in &names {
            for &peer in &self.vifs[name] {
                self.speaker
                    .neighbor_stop(peer, Some("BGP failover test".into()))
                    .await
                    .map_err(|e| ErrorBody::new(ErrorCode::Internal, e.to_string()))?;
            }
            self.publisher.publish(
                "dx.failover_test",
                json!({"vif": name, "state": "started", "seconds": duration.as_secs()}),
            );
            let this = self.clone();
            let vif = name.clone();
            let timer = tokio::spawn(async move {
                tokio::time::sleep(duration).await;
                this.end(&vif, "expired").await;
            });
            if let Some(old) = self.lock().insert(name.clone(), timer) {
                old.abort();
            }
        }
        Ok(json!({"started": names, "seconds": duration.as_secs()}))
    }

    /// `stop_bgp_failover_test`.
    pub async fn stop(&self, p: &ActionParams) -> Result<Value, ErrorBody> {
        let names = self.names(p, true)?;
        let mut stopped = Vec::new();
        for name in names {
            let running = self.lock().remove(&name);
            if let Some(timer) = running {
                timer.abort();
                self.end(&name, "stopped").await;
                stopped.push(name);
            }
        }
        Ok(json!({"stopped": stopped}))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, JoinHandle<()>>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn end(&self, vif: &str, why: &str) {
        self.lock().remove(vif);
        for &peer in &self.vifs[vif] {
            if let Err(e) = self.speaker.neighbor_start(peer).await {
                tracing::warn!(vif, %peer, error = %e, "restarting BGP after the failover test");
            }
        }
        self.publisher.publish(
            "dx.failover_test",
            json!({"vif": vif, "state": "ended", "why": why}),
        );
    }
}
