//! The RIB task ("core"): the only owner of the RIB. It decodes UPDATE batches from session tasks,
//! applies them, drives exports with per-neighbor backpressure, hands kernel changes to the
//! installer in bounded chunks, answers the API and publishes events.
//!
//! What it does not do: sockets or FSMs (session tasks), netlink (kernel thread).

use super::*;

pub(super) struct NeighborState {
    cfg: NeighborConfig,
    name: String,
    tx: mpsc::Sender<ToSession>,
    state: State,
    negotiated: Option<Negotiated>,
    up_since: Option<Instant>,
    down_since: Option<Instant>,
    last_down: Option<DownReason>,
    last_connect_error: Option<String>,
    established_count: u32,
    data: Option<mpsc::Sender<Vec<u8>>>,
    ctx: DecodeContext,
    stopping: bool,
}

pub(super) struct Core {
    pub(super) cfg: SpeakerConfig,
    pub(super) rib: Rib,
    pub(super) neighbors: HashMap<PeerIdx, NeighborState>,
    pub(super) by_addr: HashMap<IpAddr, PeerIdx>,
    pub(super) routes: listener::Routes,
    pub(super) events: broadcast::Sender<EventRecord>,
    pub(super) from_sessions_tx: mpsc::Sender<FromSession>,
    pub(super) kernel: Option<(mpsc::Sender<Vec<FibChange>>, Arc<AtomicU64>)>,
    pub(super) listeners: Vec<tokio::task::JoinHandle<()>>,
}

/// Most kernel route changes handed to the installer at once.
pub(super) const FIB_CHUNK: usize = 4096;

/// Most octets handed to a connection writer at once.
const EXPORT_CHUNK: usize = 64 * 1024;

impl Core {
    pub(super) fn add_neighbor(&mut self, n: NeighborConfig) -> Result<(), DriverError> {
        if self.by_addr.contains_key(&n.address) {
            return Err(DriverError::NeighborExists(n.address));
        }
        let name = n.display_name();
        let idx = self
            .rib
            .add_peer(name.clone(), n.address, n.remote_as, n.peer_policy());
        let (tx, rx) = mpsc::channel(64);
        let (ttl, min_ttl) = n.ttls(self.cfg.asn);
        let params = SessionParams {
            peer: idx,
            name: name.clone(),
            remote: SocketAddr::new(n.address, n.port),
            fsm: n.session_config(&self.cfg),
            sockets: SocketOptions {
                password: n.password.clone(),
                ttl,
                min_ttl,
                local_address: n.local_address,
                device: n.bind_device.clone(),
            },
            start_down: n.shutdown,
        };
        session::spawn(params, self.from_sessions_tx.clone(), rx);
        if let Ok(mut r) = self.routes.write() {
            r.insert(n.address, tx.clone());
        }
        let ebgp = n.remote_as != n.local_as.unwrap_or(self.cfg.asn);
        self.by_addr.insert(n.address, idx);
        self.neighbors.insert(
            idx,
            NeighborState {
                name,
                tx,
                state: State::Idle,
                negotiated: None,
                up_since: None,
                down_since: None,
                last_down: None,
                last_connect_error: None,
                established_count: 0,
                data: None,
                ctx: DecodeContext {
                    four_octet_as: true,
                    ebgp,
                    enforce_first_as: None,
                },
                stopping: false,
                cfg: n,
            },
        );
        Ok(())
    }

    pub(super) async fn run(
        mut self,
        mut api: mpsc::Receiver<ApiCmd>,
        mut from_sessions: mpsc::Receiver<FromSession>,
    ) {
        let mut retry = tokio::time::interval(Duration::from_millis(5));
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let stale = self.rib.poll_timeout();
            let stale_sleep = async {
                match stale {
                    Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
                    None => std::future::pending().await,
                }
            };
            let want_retry = self
                .neighbors
                .iter()
                .any(|(i, n)| n.data.is_some() && self.rib.has_outgoing(*i));
            // Kernel changes still waiting (`fib()` found the installer's queue full): wake as
            // soon as the installer takes a chunk, not at the next outside event (without this,
            // an install with nobody talking to the speaker stalled once the queue was full).
            let installer = match &self.kernel {
                Some((tx, _)) if self.rib.has_fib_changes() => Some(tx.clone()),
                _ => None,
            };
            let installer_ready = async {
                match installer {
                    Some(tx) => tx.reserve_owned().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                m = from_sessions.recv() => {
                    let Some(m) = m else { return };
                    self.on_session(m).await;
                    // Take everything already waiting before exporting: input first.
                    for _ in 0..256 {
                        match from_sessions.try_recv() {
                            Ok(m) => self.on_session(m).await,
                            Err(_) => break,
                        }
                    }
                }
                c = api.recv() => match c {
                    Some(ApiCmd::Shutdown(done)) => {
                        self.stop_all().await;
                        let _ = done.send(());
                        return;
                    }
                    None => {
                        self.stop_all().await;
                        return;
                    }
                    Some(c) => self.on_api(c).await,
                },
                _ = stale_sleep => self.rib.handle_timeouts(Instant::now()),
                _ = retry.tick(), if want_retry => {}
                r = installer_ready => match r {
                    Ok(permit) => {
                        permit.send(self.rib.take_fib_changes(FIB_CHUNK));
                    }
                    Err(_) => {
                        warn!("the kernel installer has stopped: no more kernel route changes");
                        self.kernel = None;
                    }
                },
            }
            self.export();
            self.fib();
        }
    }

    async fn stop_all(&mut self) {
        for l in &self.listeners {
            l.abort();
        }
        for n in self.neighbors.values() {
            let _ =
                n.tx.send(ToSession::Shutdown(Some("speaker shutting down".into())))
                    .await;
        }
    }

    /// Hands kernel changes to the installer in bounded chunks (memory stays flat for a
    /// million routes); the rest waits for the next round.
    fn fib(&mut self) {
        if let Some((tx, _)) = &self.kernel {
            while self.rib.has_fib_changes() {
                let Ok(permit) = tx.try_reserve() else { break };
                permit.send(self.rib.take_fib_changes(FIB_CHUNK));
            }
        }
    }

    fn export(&mut self) {
        for (&idx, n) in &self.neighbors {
            let Some(data) = &n.data else { continue };
            while self.rib.has_outgoing(idx) {
                let permit = match data.try_reserve() {
                    Ok(p) => p,
                    Err(_) => break, // full (retried on the next tick) or closed
                };
                let out = self.rib.take_outgoing(idx, EXPORT_CHUNK);
                if out.is_empty() {
                    break;
                }
                permit.send(out);
            }
        }
    }

    fn emit(&self, kind: &'static str, data: SpeakerEvent) {
        emit(&self.events, kind, data)
    }

    async fn on_session(&mut self, m: FromSession) {
        match m {
            FromSession::State {
                peer,
                from,
                to,
                reason,
            } => {
                let Some(n) = self.neighbors.get_mut(&peer) else {
                    return;
                };
                n.state = to;
                // The event and `show` give one reason: the FSM's for this change to Idle
                // (a failed connect included, with the socket's error as detail).
                if let Some(r) = &reason {
                    n.last_down = Some(r.clone());
                }
                let reason = reason.map(|r| match (&r, &n.last_connect_error) {
                    (DownReason::ConnectionFailed, Some(e))
                        if from == State::Connect || from == State::Active =>
                    {
                        format!("{r} ({e})")
                    }
                    _ => r.to_string(),
                });
                let neighbor = n.name.clone();
                self.emit(
                    "bgp.state",
                    SpeakerEvent::State {
                        neighbor,
                        from,
                        to,
                        reason,
                    },
                );
            }
            FromSession::Up {
                peer,
                negotiated,
                local,
                data,
            } => {
                let Some(n) = self.neighbors.get_mut(&peer) else {
                    return;
                };
                let (local_v4, local_v6) = match listener::canonical(local.ip()) {
                    IpAddr::V4(a) => (Some(a), None),
                    IpAddr::V6(a) => (None, Some(a)),
                };
                n.ctx = DecodeContext {
                    four_octet_as: negotiated.four_octet_as,
                    ebgp: negotiated.ebgp,
                    enforce_first_as: negotiated.ebgp.then_some(negotiated.peer_as),
                };
                n.data = Some(data);
                n.stopping = false;
                n.up_since = Some(Instant::now());
                n.established_count += 1;
                let ev = SpeakerEvent::Up {
                    neighbor: n.name.clone(),
                    hold_time: negotiated.hold_time,
                    families: negotiated.families.clone(),
                };
                self.rib.peer_up(
                    peer,
                    SessionInfo {
                        four_octet_as: negotiated.four_octet_as,
                        families: negotiated.families.clone(),
                        local_v4,
                        local_v6,
                        peer_id: negotiated.peer_id,
                    },
                );
                n.negotiated = Some(negotiated);
                self.emit("bgp.up", ev);
            }
            FromSession::Down {
                peer,
                reason,
                retain_stale,
            } => {
                let Some(n) = self.neighbors.get_mut(&peer) else {
                    return;
                };
                n.data = None;
                n.negotiated = None;
                n.up_since = None;
                n.down_since = Some(Instant::now());
                n.last_down = Some(reason.clone());
                let neighbor = n.name.clone();
                self.rib.peer_down(
                    peer,
                    retain_stale
                        .as_ref()
                        .map(|r| (Instant::now() + r.time, &r.families[..])),
                );
                self.emit(
                    "bgp.down",
                    SpeakerEvent::Down {
                        neighbor,
                        reason,
                        stale: retain_stale.is_some(),
                    },
                );
            }
            FromSession::ConnectFailed { peer, error } => {
                if let Some(n) = self.neighbors.get_mut(&peer) {
                    n.last_connect_error = Some(error);
                }
            }
            FromSession::RefreshRequested { peer, family } => self.rib.refresh_export(peer, family),
            FromSession::Updates { peer, conn, bytes } => self.on_updates(peer, conn, &bytes).await,
        }
    }

    async fn on_updates(&mut self, peer: PeerIdx, conn: ConnId, bytes: &[u8]) {
        let Some(n) = self.neighbors.get_mut(&peer) else {
            return;
        };
        if n.stopping || n.negotiated.as_ref().map(|x| x.conn) != Some(conn) {
            return; // from a session that is already gone
        }
        let ctx = n.ctx;
        let mut total = UpdateStats::default();
        let mut buf = bytes;
        let mut stop = None;
        while let Ok(Some(f)) = frame(buf) {
            let body = &buf[HEADER_LEN..f.len];
            buf = &buf[f.len..];
            let u = match Update::decode(body, &ctx) {
                Ok(u) => u,
                Err(e) => {
                    warn!(neighbor = %n.name, error = %e, "malformed UPDATE: session reset");
                    stop = Some(AutoStopReason::UpdateError(e));
                    break;
                }
            };
            for p in &u.problems {
                debug!(neighbor = %n.name, code = p.code, action = ?p.action, reason = p.reason, "attribute error (RFC 7606)");
            }
            if let Some(p) = u.treat_as_withdraw {
                info!(neighbor = %n.name, code = p.code, reason = p.reason, "UPDATE treated as withdraw (RFC 7606)");
            }
            match self.rib.apply_update(peer, &u) {
                Ok(s) => {
                    total.announced += s.announced;
                    total.withdrawn += s.withdrawn;
                    total.filtered += s.filtered;
                    if s.over_limit {
                        total.over_limit = true;
                    }
                }
                Err(e) => {
                    warn!(neighbor = %n.name, limit = e.limit, count = e.count, "maximum prefixes exceeded");
                    let ev = SpeakerEvent::MaxPrefix {
                        neighbor: n.name.clone(),
                        family: e.family,
                        limit: e.limit,
                        count: e.count,
                        warning_only: false,
                    };
                    emit(&self.events, "bgp.max_prefix", ev);
                    // The session ends over this UPDATE: withdraw the peer's routes in this same
                    // step, before the kernel changes and exports are drained, so the prefix over
                    // the limit (and the ones before it) are never installed or re-advertised
                    // (AWS: "the session goes idle", nothing from it is used [V7, D3]).
                    self.rib.peer_down(peer, None);
                    stop = Some(AutoStopReason::MaxPrefixes {
                        family: e.family,
                        limit: e.limit,
                        restart_after: e.restart_after,
                    });
                    break;
                }
            }
        }
        let ev = SpeakerEvent::Prefixes {
            neighbor: n.name.clone(),
            announced: total.announced,
            withdrawn: total.withdrawn,
            filtered: total.filtered,
            ipv4: self.rib.counters(peer, Family::Ipv4Unicast),
            ipv6: self.rib.counters(peer, Family::Ipv6Unicast),
        };
        emit(&self.events, "bgp.prefixes", ev);
        if total.over_limit
            && let Some(mp) = n.cfg.max_prefix
        {
            let c = self.rib.counters(peer, Family::Ipv4Unicast).received;
            let ev = SpeakerEvent::MaxPrefix {
                neighbor: n.name.clone(),
                family: Family::Ipv4Unicast,
                limit: mp.limit,
                count: c,
                warning_only: true,
            };
            emit(&self.events, "bgp.max_prefix", ev);
        }
        if let Some(r) = stop {
            // Until the session is down, ignore what is still queued from it.
            n.stopping = true;
            let _ = n.tx.send(ToSession::AutoStop(r)).await;
        }
    }

    fn status(&self, idx: PeerIdx, n: &NeighborState) -> NeighborStatus {
        NeighborStatus {
            name: n.name.clone(),
            address: n.cfg.address,
            remote_as: n.cfg.remote_as,
            state: n.state,
            established_for_s: n.up_since.map(|t| t.elapsed().as_secs_f64()),
            down_for_s: n.down_since.map(|t| t.elapsed().as_secs_f64()),
            hold_time: n.negotiated.as_ref().map(|x| x.hold_time),
            keepalive: n.negotiated.as_ref().map(|x| x.keepalive),
            families: n
                .negotiated
                .as_ref()
                .map(|x| x.families.clone())
                .unwrap_or_default(),
            peer_id: n.negotiated.as_ref().map(|x| x.peer_id),
            last_down: n.last_down.clone(),
            last_connect_error: n.last_connect_error.clone(),
            established_count: n.established_count,
            ipv4: self.rib.counters(idx, Family::Ipv4Unicast),
            ipv6: self.rib.counters(idx, Family::Ipv6Unicast),
        }
    }

    fn neighbor_list(&self) -> Vec<NeighborStatus> {
        let mut v: Vec<_> = self
            .neighbors
            .iter()
            .map(|(i, n)| self.status(*i, n))
            .collect();
        v.sort_by_key(|s| s.address);
        v
    }

    async fn on_api(&mut self, c: ApiCmd) {
        match c {
            ApiCmd::Summary(tx) => {
                let s = Summary {
                    asn: self.cfg.asn,
                    router_id: self.cfg.router_id,
                    ipv4_routes: self.rib.loc_rib_len(Family::Ipv4Unicast),
                    ipv6_routes: self.rib.loc_rib_len(Family::Ipv6Unicast),
                    attribute_sets: self.rib.attr_sets(),
                    kernel_routes: self
                        .kernel
                        .as_ref()
                        .map_or(0, |k| k.1.load(Ordering::Relaxed)),
                    neighbors: self.neighbor_list(),
                };
                let _ = tx.send(s);
            }
            ApiCmd::Neighbors(tx) => {
                let _ = tx.send(self.neighbor_list());
            }
            ApiCmd::Routes(f, limit, tx) => {
                let _ = tx.send(self.rib.routes(f, limit));
            }
            ApiCmd::Route(p, tx) => {
                let _ = tx.send(self.rib.route(p));
            }
            ApiCmd::Originate(p, a) => self.rib.originate(p, a),
            ApiCmd::Withdraw(p) => self.rib.withdraw_local(p),
            ApiCmd::NeighborCmd(addr, cmd, tx) => {
                let r = match self
                    .by_addr
                    .get(&listener::canonical(addr))
                    .and_then(|i| self.neighbors.get_mut(i))
                {
                    Some(n) => {
                        if matches!(cmd, ToSession::Start) {
                            n.stopping = false;
                        }
                        n.tx.send(cmd).await.map_err(|_| DriverError::Stopped)
                    }
                    None => Err(DriverError::UnknownNeighbor(addr)),
                };
                let _ = tx.send(r);
            }
            ApiCmd::AddNeighbor(n, tx) => {
                let _ = tx.send(self.add_neighbor(*n));
            }
            ApiCmd::SetPolicy(addr, policy, tx) => {
                let r = match self.by_addr.get(&listener::canonical(addr)) {
                    Some(&idx) => {
                        if let Some(n) = self.neighbors.get_mut(&idx) {
                            n.cfg.max_prefix = policy.max_prefix;
                        }
                        self.rib.set_peer_policy(idx, *policy);
                        Ok(())
                    }
                    None => Err(DriverError::UnknownNeighbor(addr)),
                };
                let _ = tx.send(r);
            }
            ApiCmd::RemoveNeighbor(addr, tx) => {
                let r = match self.by_addr.remove(&addr) {
                    Some(idx) => {
                        if let Some(n) = self.neighbors.remove(&idx) {
                            let _ =
                                n.tx.send(ToSession::AutoStop(AutoStopReason::Deconfigured))
                                    .await;
                            let _ = n.tx.send(ToSession::Shutdown(None)).await;
                        }
                        if let Ok(mut r) = self.routes.write() {
                            r.remove(&addr);
                        }
                        self.rib.remove_peer(idx);
                        Ok(())
                    }
                    None => Err(DriverError::UnknownNeighbor(addr)),
                };
                let _ = tx.send(r);
            }
            ApiCmd::Shutdown(_) => unreachable!("handled in run"),
        }
    }
}
