//! The outbox: leasing due deliveries, recording attempts, the operator's list and redelivery.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, StoreError, corrupt};
use crate::domain::{Channel, DeliveryState, format_ms};
use crate::model::Delivery;

/// A leased delivery with what is needed to send it.
#[derive(Debug, Clone)]
pub struct Leased {
    pub id: String,
    pub event_id: String,
    pub number_request_id: String,
    pub account_id: String,
    pub channel: Channel,
    pub target: String,
    /// Attempts counted against the retry schedule (since the last redelivery).
    pub scheduled_attempts: i64,
    pub lease_until_ms: i64,
    /// The event's status, reason and payload (the NumberRequest JSON right after the change);
    /// None when the event is missing.
    pub event: Option<(i64, String, String)>,
}

/// Leases up to `limit` due deliveries of `channel` until `lease_until_ms`. A callback waits
/// while an earlier event of the same request still has a pending callback, so callbacks arrive
/// in order. The update names rows by id only: `due` chose them under the write lock (SQLite)
/// or locked them with their conditions checked again (PostgreSQL), and a repeated `state`
/// condition made SQLite walk every pending row instead of looking the ids up.
///
/// E-mails are taken from their accounts' hourly budgets (`hourly_limit` per account, 0: none)
/// in the same transaction; those past the budget stay pending, due again when it has room.
/// Answers the leased deliveries and how many were put off that way.
pub async fn lease_due(
    db: &Db,
    channel: Channel,
    now: i64,
    lease_until_ms: i64,
    limit: i64,
    hourly_limit: u32,
) -> Result<(Vec<Leased>, usize), StoreError> {
    if nothing_due(db, Outbox::Deliveries, Some(channel), now)? {
        return Ok((Vec::new(), 0));
    }
    let sql = format!(
        "WITH due AS MATERIALIZED (\
           SELECT d.id FROM deliveries d WHERE d.state = 'pending' AND d.channel = $4 AND d.next_attempt_ms <= $2 \
           AND (d.lease_until_ms IS NULL OR d.lease_until_ms < $2) \
           AND NOT (d.channel = 'callback' AND EXISTS (SELECT 1 FROM deliveries e WHERE e.number_request_id = d.number_request_id \
                AND e.channel = 'callback' AND e.state = 'pending' AND e.event_id < d.event_id)) \
           ORDER BY d.next_attempt_ms, d.id LIMIT $3{lock}) \
         UPDATE deliveries SET lease_until_ms = $1 WHERE id IN (SELECT id FROM due) \
         RETURNING id, event_id, number_request_id, account_id, channel, target, attempts, retry_base, \
           (SELECT e.status_id FROM status_events e WHERE e.id = deliveries.event_id) AS event_status, \
           (SELECT e.reason FROM status_events e WHERE e.id = deliveries.event_id) AS event_reason, \
           (SELECT e.payload FROM status_events e WHERE e.id = deliveries.event_id) AS event_payload",
        lock = db.skip_locked()
    );
    let budgeted = channel == Channel::Email && hourly_limit > 0;
    let mut tx = if budgeted {
        Some(db.begin().await?)
    } else {
        None
    };
    let q = sqlx::query(&sql)
        .bind(lease_until_ms)
        .bind(now)
        .bind(limit)
        .bind(channel.as_str());
    let rows = match tx.as_mut() {
        Some(tx) => q.fetch_all(&mut **tx).await?,
        None => q.fetch_all(db.write()).await?,
    };
    let mut leased: Vec<Leased> = rows
        .iter()
        .map(|r| {
            let attempts: i64 = r.try_get("attempts")?;
            let base: i64 = r.try_get("retry_base")?;
            Ok(Leased {
                id: r.try_get("id")?,
                event_id: r.try_get("event_id")?,
                number_request_id: r.try_get("number_request_id")?,
                account_id: r.try_get("account_id")?,
                channel: channel_of(r)?,
                target: r.try_get("target")?,
                scheduled_attempts: attempts - base,
                lease_until_ms,
                event: match (
                    r.try_get::<Option<i64>, _>("event_status")?,
                    r.try_get::<Option<String>, _>("event_reason")?,
                    r.try_get::<Option<String>, _>("event_payload")?,
                ) {
                    (Some(st), Some(reason), Some(payload)) => Some((st, reason, payload)),
                    _ => None,
                },
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    let Some(mut tx) = tx else {
        return Ok((leased, 0));
    };
    let items: Vec<(String, String)> = leased
        .iter()
        .map(|d| (d.account_id.clone(), d.id.clone()))
        .collect();
    let budget =
        super::emails::take_budget(&mut tx, Outbox::Deliveries, &items, hourly_limit, now).await?;
    tx.commit().await?;
    leased.retain(|d| budget.granted.contains(&d.id));
    Ok((leased, budget.deferred.len()))
}

/// What became of one attempt.
#[derive(Debug, Clone)]
pub enum Outcome {
    Delivered,
    /// Try again at `next_ms`.
    Retry {
        next_ms: i64,
        error: String,
    },
    Failed {
        error: String,
    },
}

/// The two outbox tables. They share the lease, attempt and budget columns, so leasing, budget
/// deferrals and the record of attempts are written once for both.
#[derive(Debug, Clone, Copy)]
pub enum Outbox {
    /// `deliveries`: status-event callbacks and e-mails.
    Deliveries,
    /// `confirmation_mails`: e-mail address confirmation messages.
    ConfirmationMails,
}

impl Outbox {
    /// The table's name, for statements that differ only in it.
    pub(super) fn table(self) -> &'static str {
        match self {
            Outbox::Deliveries => "deliveries",
            Outbox::ConfirmationMails => "confirmation_mails",
        }
    }
}

/// Whether an outbox surely has nothing due at `now` (of `channel`, when given). On SQLite a
/// lease needs the one writer that creates wait for, so this looks first, on the calling
/// thread (mostly nothing is due, for a channel that is not used). On PostgreSQL: false, the
/// lease itself looks.
pub(super) fn nothing_due(
    db: &Db,
    outbox: Outbox,
    channel: Option<Channel>,
    now: i64,
) -> Result<bool, StoreError> {
    let Some(local) = db.local() else {
        return Ok(false);
    };
    let sql = format!(
        "SELECT 1 FROM {} WHERE state = 'pending' AND next_attempt_ms <= ?1 \
         AND (lease_until_ms IS NULL OR lease_until_ms < ?1){} LIMIT 1",
        outbox.table(),
        if channel.is_some() {
            " AND channel = ?2"
        } else {
            ""
        }
    );
    let channel = channel.map(Channel::as_str);
    let mut params: Vec<&dyn rusqlite::ToSql> = vec![&now];
    if let Some(c) = &channel {
        params.push(c);
    }
    let due = local.query(&sql, &params, |_| Ok::<_, sqlx::Error>(()))?;
    Ok(due.is_empty())
}

/// A leased row of an outbox, whose attempt [`record_attempts`] writes.
pub trait OutboxRow {
    /// The table the row is in.
    const OUTBOX: Outbox;
    fn id(&self) -> &str;
    /// The lease the row was taken with, which guards the record of its attempt.
    fn lease_until_ms(&self) -> i64;
}

/// [`OutboxRow`] for a leased row type with `id` and `lease_until_ms` fields.
macro_rules! outbox_row {
    ($row:ty, $outbox:expr) => {
        impl $crate::store::deliveries::OutboxRow for $row {
            const OUTBOX: $crate::store::deliveries::Outbox = $outbox;
            fn id(&self) -> &str {
                &self.id
            }
            fn lease_until_ms(&self) -> i64 {
                self.lease_until_ms
            }
        }
    };
}
pub(super) use outbox_row;

outbox_row!(Leased, Outbox::Deliveries);

/// Records attempts (`(row, attempted at, outcome)`) of leased outbox rows, in one transaction
/// (one commit for many attempts). Each update is guarded by its lease, so a worker whose lease
/// ran out (and whose row another worker took over) cannot overwrite the newer record.
pub async fn record_attempts<R: OutboxRow>(
    db: &Db,
    done: &[(R, i64, Outcome)],
) -> Result<(), StoreError> {
    let sql = format!(
        "UPDATE {} SET state = $1, attempts = attempts + 1, last_attempt_ms = $2, last_error = $3, \
         next_attempt_ms = COALESCE($4, next_attempt_ms), lease_until_ms = NULL \
         WHERE id = $5 AND state = 'pending' AND lease_until_ms = $6",
        R::OUTBOX.table()
    );
    let mut tx = db.begin().await?;
    for (row, at, outcome) in done {
        let (state, next, error) = match outcome {
            Outcome::Delivered => ("delivered", None, None),
            Outcome::Retry { next_ms, error } => ("pending", Some(*next_ms), Some(error.as_str())),
            Outcome::Failed { error } => ("failed", None, Some(error.as_str())),
        };
        sqlx::query(&sql)
            .bind(state)
            .bind(*at)
            .bind(error)
            .bind(next)
            .bind(row.id())
            .bind(row.lease_until_ms())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The channel of a delivery row; one this version does not know names the row.
fn channel_of(r: &AnyRow) -> Result<Channel, sqlx::Error> {
    let channel: String = r.try_get("channel")?;
    Channel::parse(&channel).ok_or_else(|| {
        corrupt(
            "deliveries",
            r.try_get::<String, _>("id").unwrap_or_default(),
            format!("unknown channel {channel:?}"),
        )
    })
}

/// A delivery row; `with_ids` adds the event, request and account ids (the operator's view).
pub fn from_row(r: &AnyRow, with_ids: bool) -> Result<Delivery, sqlx::Error> {
    let id = |col: &str| -> Result<Option<String>, sqlx::Error> {
        if with_ids {
            Ok(Some(r.try_get(col)?))
        } else {
            Ok(None)
        }
    };
    let state: String = r.try_get("state")?;
    Ok(Delivery {
        channel: channel_of(r)?,
        target: r.try_get("target")?,
        state: DeliveryState::parse(&state).ok_or_else(|| {
            corrupt(
                "deliveries",
                r.try_get::<String, _>("id").unwrap_or_default(),
                format!("unknown state {state:?}"),
            )
        })?,
        id: r.try_get("id")?,
        attempts: r.try_get("attempts")?,
        last_attempt_on: r
            .try_get::<Option<i64>, _>("last_attempt_ms")?
            .map(format_ms),
        last_error: r.try_get("last_error")?,
        event_id: id("event_id")?,
        number_request_id: id("number_request_id")?,
        account_id: id("account_id")?,
    })
}

const COLS: &str = "id, event_id, number_request_id, account_id, channel, target, state, attempts, last_attempt_ms, last_error";

/// Deliveries of every account, newest first, optionally of one state.
pub async fn list(
    db: &Db,
    state: Option<DeliveryState>,
    skip: i64,
    take: i64,
) -> Result<(Vec<Delivery>, i64), sqlx::Error> {
    let (filter, params): (&str, Vec<&str>) = match state {
        Some(s) => (" WHERE state = $1", vec![s.as_str()]),
        None => ("", vec![]),
    };
    let count_sql = format!("SELECT COUNT(*) FROM deliveries{filter}");
    let mut cq = sqlx::query_scalar(&count_sql);
    for p in &params {
        cq = cq.bind(*p);
    }
    let total: i64 = cq.fetch_one(db.read()).await?;
    let n = params.len();
    let sql = format!(
        "SELECT {COLS} FROM deliveries{filter} ORDER BY id DESC LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let mut q = sqlx::query(&sql);
    for p in &params {
        q = q.bind(*p);
    }
    let rows = q.bind(take).bind(skip).fetch_all(db.read()).await?;
    Ok((
        rows.iter()
            .map(|r| from_row(r, true))
            .collect::<Result<_, _>>()?,
        total,
    ))
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Delivery>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLS} FROM deliveries WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.read())
        .await?
        .as_ref()
        .map(|r| from_row(r, true))
        .transpose()
}

/// Queues a delivered or failed delivery again; its retry schedule restarts, `attempts` goes on.
pub async fn redeliver(db: &Db, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE deliveries SET state = 'pending', next_attempt_ms = $1, lease_until_ms = NULL, retry_base = attempts \
         WHERE id = $2 AND state IN ('failed', 'delivered')",
    )
    .bind(now)
    .bind(id)
    .execute(db.write())
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Deliveries by state, for `/metrics`.
pub async fn counts_by_state(db: &Db) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state")
        .fetch_all(db.read())
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("state")?, r.try_get("n")?)))
        .collect()
}
