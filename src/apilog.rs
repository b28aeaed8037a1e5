//! The API log ("recent requests"): every authenticated customer call, recorded for its account.
//!
//! A call hands its entry to [`ApiLog::record`], which never waits: the entry goes into a
//! bounded queue and a writer task ([`run_writer`]) stores what has gathered in one transaction
//! every [`LINGER`]. The call's own transaction never holds a log row, and a full queue drops
//! new entries (counted in `numberdesk_api_log_dropped_total`) rather than slowing the calls.
//! [`run_trimmer`] deletes entries older than the retention.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::domain::now_ms;
use crate::store::{Db, StoreError, apilog as store};

/// Entries that may wait for the writer; past this new ones are dropped.
pub const QUEUE_CAPACITY: usize = 10_000;

/// How long the writer lets entries gather before it writes them: a busy server writes a few
/// large batches a second rather than a transaction per call. Well under the 2 s within which
/// an entry is listed.
pub const LINGER: Duration = Duration::from_millis(250);

/// Entries per writer transaction at most.
const MAX_BATCH: usize = 5_000;

/// How often the trimmer runs (and once at start-up).
const TRIM_EVERY: Duration = Duration::from_secs(60);

/// Rows deleted per trimming statement.
const TRIM_STEP: i64 = 5_000;

const DAY_MS: i64 = 86_400_000;

/// Characters of `User-Agent` kept.
pub const USER_AGENT_CHARS: usize = 512;

/// One recorded call. No body, no header but `User-Agent`, no API key: only the key's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiLogEntry {
    pub id: String,
    pub account_id: String,
    /// When the call arrived.
    pub occurred_ms: i64,
    pub method: String,
    /// The path as called, without the query string.
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    /// Whole milliseconds until the answer was sent.
    pub duration_ms: i64,
    pub user_agent: Option<String>,
    pub api_key_id: String,
    pub request_id: String,
    /// The error body's code of a 4xx/5xx answer.
    pub message_code: Option<String>,
}

/// Which entries a listing shows.
#[derive(Debug, Clone, Default)]
pub struct ApiLogFilter {
    /// One account's entries; None: every account (the operator's view).
    pub account_id: Option<String>,
    pub status: Option<u16>,
    /// An upper-case method name.
    pub method: Option<String>,
}

/// The API log service's failures.
#[derive(Debug, thiserror::Error)]
pub enum ApiLogError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The handle calls record through; cheap to clone.
#[derive(Clone)]
pub struct ApiLog {
    queue: mpsc::Sender<ApiLogEntry>,
    /// The writer's end, taken once by [`ApiLog::take_receiver`] when the service starts.
    receiver: Arc<Mutex<Option<mpsc::Receiver<ApiLogEntry>>>>,
}

impl ApiLog {
    pub fn new() -> ApiLog {
        let (queue, rx) = mpsc::channel(QUEUE_CAPACITY);
        // Listed in /metrics from the start, not only after the first drop.
        metrics::counter!("numberdesk_api_log_dropped_total").increment(0);
        ApiLog {
            queue,
            receiver: Arc::new(Mutex::new(Some(rx))),
        }
    }

    /// Queues an entry without waiting; a full queue drops it and counts the drop.
    pub fn record(&self, entry: ApiLogEntry) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.queue.try_send(entry) {
            metrics::counter!("numberdesk_api_log_dropped_total").increment(1);
        }
    }

    /// The queue's receiving end, for [`run_writer`]; None once taken.
    pub fn take_receiver(&self) -> Option<mpsc::Receiver<ApiLogEntry>> {
        self.receiver
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

impl Default for ApiLog {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes queued entries in batches until `stop`, then writes what is still queued and ends.
pub async fn run_writer(
    db: Db,
    mut rx: mpsc::Receiver<ApiLogEntry>,
    mut stop: watch::Receiver<bool>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let stopping = tokio::select! {
            n = rx.recv_many(&mut batch, MAX_BATCH) => {
                if n == 0 {
                    return;
                }
                false
            }
            _ = stop.changed() => true,
        };
        if !stopping {
            // Let more gather; stop cuts the wait short.
            tokio::select! {
                _ = tokio::time::sleep(LINGER) => {}
                _ = stop.changed() => {}
            }
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(e) => batch.push(e),
                Err(_) => break,
            }
        }
        let full = Arc::new(std::mem::replace(&mut batch, Vec::with_capacity(MAX_BATCH)));
        if let Err(e) = write(&db, &full).await {
            tracing::warn!(error = %e, entries = full.len(), "API log entries could not be written");
        }
        if stopping || *stop.borrow() {
            // Entries of calls that finished just before the stop.
            while let Ok(e) = rx.try_recv() {
                batch.push(e);
            }
            if let Err(e) = write(&db, &Arc::new(batch)).await {
                tracing::warn!(error = %e, "API log entries could not be written at shutdown");
            }
            return;
        }
    }
}

/// One batch, retried a few times while the database is busy.
async fn write(db: &Db, batch: &Arc<Vec<ApiLogEntry>>) -> Result<(), StoreError> {
    let mut wait = Duration::from_millis(50);
    for _ in 0..4 {
        match store::insert_batch(db, batch.clone()).await {
            Err(e) if matches!(e, StoreError::Unavailable(_)) || e.is_retryable() => {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            other => return other,
        }
    }
    store::insert_batch(db, batch.clone()).await
}

/// Deletes entries older than `retention_days` (all of them for 0) now and every minute.
pub async fn run_trimmer(db: Db, retention_days: u32, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(TRIM_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        match trim(&db, retention_days, &mut stop).await {
            Ok(n) if n > 0 => tracing::info!(entries = n, "old API log entries deleted"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "API log trimming failed"),
        }
    }
}

/// One trimming pass: entries that arrived more than `retention_days` ago, in small steps.
pub async fn trim(
    db: &Db,
    retention_days: u32,
    stop: &mut watch::Receiver<bool>,
) -> Result<u64, StoreError> {
    let cutoff = now_ms() - i64::from(retention_days) * DAY_MS;
    let mut total = 0;
    loop {
        let n = store::delete_before(db, cutoff, TRIM_STEP).await?;
        total += n;
        if n < TRIM_STEP as u64 || *stop.borrow() {
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}

/// A page of entries, newest first, and how many match in all.
pub async fn list(
    db: &Db,
    filter: &ApiLogFilter,
    skip: i64,
    take: i64,
) -> Result<(Vec<ApiLogEntry>, i64), ApiLogError> {
    Ok(store::list(db, filter, skip, take).await?)
}
