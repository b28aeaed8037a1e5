//! The accept loop: HTTP/1.1 connections with limits a client cannot talk its way around.
//!
//! axum's own `serve` keeps every connection until the client closes it, so idle or slow
//! sockets from one client could use up the process's file descriptors and stop the service.
//! Here each connection is tracked:
//!
//! - **header read timeout**: a connection that has not sent a whole request head this long
//!   after the head began (after the connection opened, or after the first byte following the
//!   previous answer) is closed;
//! - **idle timeout**: a kept-alive connection with no request this long is closed;
//! - **a cap on open connections**, and one per client address: at the cap, the oldest
//!   connection without a request in progress is closed to make room; when every connection has
//!   a request in progress, the new one is closed at once.
//!
//! A connection with a request in progress (from its whole head until its answer is written)
//! is never closed by these rules; graceful shutdown lets those finish.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::ConnectInfo;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tower::ServiceExt;

use crate::config::Config;

/// The connection rules of one listener (`NUMBERDESK_MAX_CONNECTIONS` and friends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    pub max_connections: usize,
    pub max_per_address: usize,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
}

impl ConnLimits {
    /// The configured limits; unset caps follow the descriptor limit `nofile` (80 % of it for
    /// all connections, half of that per client address).
    pub fn from_config(config: &Config, nofile: u64) -> ConnLimits {
        let by_descriptors = usize::try_from(nofile.saturating_mul(4) / 5)
            .unwrap_or(usize::MAX)
            .max(1);
        let max_connections = config.max_connections.unwrap_or(by_descriptors);
        ConnLimits {
            max_connections,
            max_per_address: config
                .max_connections_per_address
                .unwrap_or((max_connections / 2).max(1)),
            header_read_timeout: Duration::from_secs(config.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(config.idle_timeout_secs),
        }
    }
}

/// Raises the soft limit on open files to the hard limit and returns the limit now in force.
pub fn raise_descriptor_limit() -> u64 {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return 1024;
            }
            if lim.rlim_cur < lim.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: lim.rlim_max,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    lim = raised;
                } else {
                    tracing::warn!(
                        soft = lim.rlim_cur,
                        hard = lim.rlim_max,
                        "could not raise the open-file limit"
                    );
                }
            }
        }
        #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every platform
        let limit = lim.rlim_cur as u64;
        limit
    }
    #[cfg(not(unix))]
    {
        1024
    }
}

/// What the watchdog and the accept loop know of one connection.
struct ConnState {
    /// Requests whose head arrived and whose answer is not yet written.
    in_flight: AtomicUsize,
    /// True from the first byte of a request head (or the connection's start) until the head is
    /// complete; false while idle between requests.
    awaiting_head: AtomicBool,
    /// Milliseconds since the tracker's epoch at which the current phase began.
    since_ms: AtomicU64,
    /// Wakes the connection's task to close the connection.
    close: Notify,
}

impl ConnState {
    fn busy(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) > 0
    }
}

struct Entry {
    ip: IpAddr,
    state: Arc<ConnState>,
}

#[derive(Default)]
struct Table {
    /// Keyed by an increasing id: iteration goes from the oldest connection.
    conns: BTreeMap<u64, Entry>,
    per_ip: HashMap<IpAddr, usize>,
    next_id: u64,
}

impl Table {
    fn remove(&mut self, id: u64) -> Option<Entry> {
        let entry = self.conns.remove(&id)?;
        if let Some(n) = self.per_ip.get_mut(&entry.ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&entry.ip);
            }
        }
        Some(entry)
    }

    /// Closes the oldest connection without a request in progress (of `ip` when given).
    fn evict_oldest_idle(&mut self, ip: Option<IpAddr>) -> bool {
        let victim = self
            .conns
            .iter()
            .find(|(_, e)| ip.is_none_or(|ip| e.ip == ip) && !e.state.busy())
            .map(|(id, _)| *id);
        match victim.and_then(|id| self.remove(id)) {
            Some(entry) => {
                entry.state.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Every open connection of a listener.
struct Tracker {
    limits: ConnLimits,
    epoch: Instant,
    table: Mutex<Table>,
}

impl Tracker {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes room for a connection from `ip` and registers it; None when there is no room.
    fn admit(&self, ip: IpAddr) -> Option<(u64, Arc<ConnState>)> {
        let mut table = self.table();
        if table.per_ip.get(&ip).copied().unwrap_or(0) >= self.limits.max_per_address
            && !table.evict_oldest_idle(Some(ip))
        {
            return None;
        }
        if table.conns.len() >= self.limits.max_connections && !table.evict_oldest_idle(None) {
            return None;
        }
        let id = table.next_id;
        table.next_id += 1;
        let state = Arc::new(ConnState {
            in_flight: AtomicUsize::new(0),
            awaiting_head: AtomicBool::new(true),
            since_ms: AtomicU64::new(self.now_ms()),
            close: Notify::new(),
        });
        table.conns.insert(
            id,
            Entry {
                ip,
                state: state.clone(),
            },
        );
        *table.per_ip.entry(ip).or_default() += 1;
        Some((id, state))
    }

    fn release(&self, id: u64) {
        self.table().remove(id);
    }

    /// Closes connections past their header read or idle timeout.
    fn sweep(&self) {
        let now = self.now_ms();
        let head_ms = self.limits.header_read_timeout.as_millis() as u64;
        let idle_ms = self.limits.idle_timeout.as_millis() as u64;
        let mut table = self.table();
        let expired: Vec<u64> = table
            .conns
            .iter()
            .filter(|(_, e)| {
                let s = &e.state;
                if s.busy() {
                    return false;
                }
                let age = now.saturating_sub(s.since_ms.load(Ordering::Acquire));
                if s.awaiting_head.load(Ordering::Acquire) {
                    age >= head_ms
                } else {
                    age >= idle_ms
                }
            })
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(entry) = table.remove(id) {
                entry.state.close.notify_one();
            }
        }
    }

    fn open(&self) -> usize {
        self.table().conns.len()
    }
}

/// The socket, noting when a request head begins (the first byte read while idle).
struct Tracked {
    stream: TcpStream,
    state: Arc<ConnState>,
    tracker: Arc<Tracker>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let s = &self.state;
            if !s.busy() && !s.awaiting_head.swap(true, Ordering::AcqRel) {
                s.since_ms.store(self.tracker.now_ms(), Ordering::Release);
            }
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Counts one request in progress from its head until its answer's body is dropped (written,
/// or abandoned with the connection).
struct InFlight {
    state: Arc<ConnState>,
    tracker: Arc<Tracker>,
}

impl InFlight {
    fn begin(state: &Arc<ConnState>, tracker: &Arc<Tracker>) -> InFlight {
        state.in_flight.fetch_add(1, Ordering::AcqRel);
        state.awaiting_head.store(false, Ordering::Release);
        InFlight {
            state: state.clone(),
            tracker: tracker.clone(),
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // The idle clock starts when the last answer is done.
        self.state
            .since_ms
            .store(self.tracker.now_ms(), Ordering::Release);
        self.state.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An answer's body that ends the request's [`InFlight`] when it is dropped.
struct TrackedBody {
    inner: Body,
    _in_flight: InFlight,
}

impl HttpBody for TrackedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Serves `router` on `listener` under `limits` until `shutdown` resolves; then stops
/// accepting, lets requests in progress finish and closes idle connections.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let tracker = Arc::new(Tracker {
        limits,
        epoch: Instant::now(),
        table: Mutex::new(Table::default()),
    });
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let watchdog = tokio::spawn({
        let tracker = tracker.clone();
        async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                tracker.sweep();
            }
        }
    });
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors (or a connection reset before accept): make room and
                    // go on; a busy loop here would only burn the CPU.
                    tracing::warn!(error = %e, open = tracker.open(), "accept error");
                    tracker.table().evict_oldest_idle(None);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Some((id, state)) = tracker.admit(remote.ip()) else {
            // Every connection of the cap has a request in progress.
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(Tracked {
            stream,
            state: state.clone(),
            tracker: tracker.clone(),
        });
        let service = {
            let (router, state, tracker) = (router.clone(), state.clone(), tracker.clone());
            hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                let in_flight = InFlight::begin(&state, &tracker);
                req.extensions_mut().insert(ConnectInfo(remote));
                let call = router.clone().oneshot(req.map(Body::new));
                async move {
                    let response = match call.await {
                        Ok(r) => r,
                        Err(never) => match never {},
                    };
                    Ok::<_, Infallible>(response.map(|inner| TrackedBody {
                        inner,
                        _in_flight: in_flight,
                    }))
                }
            })
        };
        let conn = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .serve_connection(io, service);
        let conn = graceful.watch(conn);
        let tracker = tracker.clone();
        tokio::spawn(async move {
            tokio::select! {
                result = conn => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, %remote, "connection ended with an error");
                    }
                }
                _ = state.close.notified() => {
                    tracing::debug!(%remote, "connection closed by the connection limits");
                }
            }
            tracker.release(id);
        });
    }
    drop(listener);
    watchdog.abort();
    graceful.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize, per: usize) -> ConnLimits {
        ConnLimits {
            max_connections: max,
            max_per_address: per,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }

    fn tracker(l: ConnLimits) -> Tracker {
        Tracker {
            limits: l,
            epoch: Instant::now(),
            table: Mutex::new(Table::default()),
        }
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn at_the_cap_the_oldest_idle_connection_makes_room() {
        let t = tracker(limits(2, 2));
        let (first, s1) = t.admit(A).unwrap();
        let (_, s2) = t.admit(B).unwrap();
        s1.in_flight.store(1, Ordering::Release);
        // The oldest is busy, so the next one (idle) goes.
        assert!(t.admit(A).is_some());
        assert_eq!(t.open(), 2);
        assert!(t.table().conns.contains_key(&first));
        drop(s2);
    }

    #[test]
    fn when_every_connection_is_busy_the_new_one_is_refused() {
        let t = tracker(limits(1, 1));
        let (_, s) = t.admit(A).unwrap();
        s.in_flight.store(1, Ordering::Release);
        assert!(t.admit(B).is_none());
    }

    #[test]
    fn one_address_at_its_cap_evicts_its_own_connections_only() {
        let t = tracker(limits(10, 2));
        let (b, _) = t.admit(B).unwrap();
        let (a1, _) = t.admit(A).unwrap();
        t.admit(A).unwrap();
        t.admit(A).unwrap();
        let table = t.table();
        assert!(table.conns.contains_key(&b), "B's connection stays");
        assert!(!table.conns.contains_key(&a1), "A's oldest went");
        assert_eq!(table.per_ip[&A], 2);
    }

    #[test]
    fn default_caps_follow_the_descriptor_limit() {
        let l = ConnLimits::from_config(&Config::default(), 1024);
        assert_eq!(l.max_connections, 819);
        assert_eq!(l.max_per_address, 409);
    }
}
