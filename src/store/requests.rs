//! Number requests, their ranges and assigned numbers, status events with their outbox rows,
//! and idempotency records. Customer reads take the account id.

use std::collections::HashMap;

use futures::TryStreamExt;
use sqlx::{AnyConnection, Row};

use super::inventory::Unit;
use super::{Cols, Conditions, Db, corrupt, number_type, values_placeholders};
use crate::domain::{Channel, RequestStatus, format_ms, new_id};
use crate::model::{Delivery, NumberRange, NumberRequest, PhoneNumber, StatusEvent};

const COLS: &str = "id, account_id, company_profile_id, country_code, phone_number_type, quantity, range_size, \
    area_code, city, region, comment, callback_url, requires_review, status_id, reason, created_ms, updated_ms, \
    price_currency, price_setup, price_monthly";

/// A request row plus what the API does not show.
#[derive(Debug, Clone)]
pub struct RequestRow {
    pub request: NumberRequest,
    pub requires_review: bool,
    pub status: RequestStatus,
}

/// A stored status id as a status; an id this version does not know names its row.
fn status_of(table: &'static str, id: &str, status_id: i64) -> Result<RequestStatus, sqlx::Error> {
    RequestStatus::from_id(status_id)
        .ok_or_else(|| corrupt(table, id, format!("unknown status id {status_id}")))
}

fn from_row(r: &impl Cols) -> Result<RequestRow, sqlx::Error> {
    let id: String = r.col("id")?;
    let status_id: i64 = r.col("status_id")?;
    let status = status_of("number_requests", &id, status_id)?;
    let phone_number_type = number_type(
        "number_requests",
        &id,
        &r.col::<String>("phone_number_type")?,
    )?;
    let quantity: i64 = r.col("quantity")?;
    let range_size: Option<i64> = r.col("range_size")?;
    let id_for_price = id.clone();
    Ok(RequestRow {
        request: NumberRequest {
            id,
            account_id: r.col("account_id")?,
            company_profile_id: r.col("company_profile_id")?,
            country_code: r.col("country_code")?,
            phone_number_type,
            quantity,
            range_size,
            area_code: r.col("area_code")?,
            city: r.col("city")?,
            region: r.col("region")?,
            comment: r.col("comment")?,
            callback_url: r.col("callback_url")?,
            status,
            status_id,
            reason: r.col("reason")?,
            created_on: format_ms(r.col("created_ms")?),
            updated_on: format_ms(r.col("updated_ms")?),
            ranges: Vec::new(),
            price: crate::money::Price::from_stored(
                r.col::<Option<String>>("price_currency")?.as_deref(),
                r.col::<Option<String>>("price_setup")?.as_deref(),
                r.col::<Option<String>>("price_monthly")?.as_deref(),
            )
            .map_err(|what| corrupt("number_requests", id_for_price.clone(), what))?
            .map(Into::into),
        },
        requires_review: r.col::<i64>("requires_review")? != 0,
        status,
    })
}

/// The placeholder ranges of a request that has no numbers yet.
pub fn empty_ranges(quantity: i64, range_size: Option<i64>) -> Vec<NumberRange> {
    (0..quantity)
        .map(|_| NumberRange {
            id: None,
            start: None,
            end: None,
            size: range_size.unwrap_or(1),
            valid_from: None,
            valid_to: None,
        })
        .collect()
}

fn range_from_row(r: &impl Cols) -> Result<(String, NumberRange), sqlx::Error> {
    Ok((
        r.col("number_request_id")?,
        NumberRange {
            id: Some(r.col("id")?),
            start: Some(r.col("start_number")?),
            end: Some(r.col("end_number")?),
            size: r.col("size")?,
            valid_from: Some(format_ms(r.col("valid_from_ms")?)),
            valid_to: r.col::<Option<i64>>("valid_to_ms")?.map(format_ms),
        },
    ))
}

/// Fills `ranges` of each request: the assigned ones, or placeholders.
async fn attach_ranges(
    conn: &mut AnyConnection,
    rows: &mut [RequestRow],
) -> Result<(), sqlx::Error> {
    let ids: Vec<&str> = rows
        .iter()
        .filter(|r| r.status == RequestStatus::Completed)
        .map(|r| r.request.id.as_str())
        .collect();
    let mut by_request: HashMap<String, Vec<NumberRange>> = HashMap::new();
    if !ids.is_empty() {
        let placeholders = (1..=ids.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!(
            "SELECT id, number_request_id, start_number, end_number, size, valid_from_ms, valid_to_ms \
             FROM request_ranges WHERE number_request_id IN ({placeholders}) ORDER BY start_number"
        );
        let mut q = sqlx::query(&sql);
        for id in &ids {
            q = q.bind(*id);
        }
        for r in q.fetch_all(&mut *conn).await? {
            let (req, range) = range_from_row(&r)?;
            by_request.entry(req).or_default().push(range);
        }
    }
    for row in rows.iter_mut() {
        row.request.ranges = by_request
            .remove(&row.request.id)
            .unwrap_or_else(|| empty_ranges(row.request.quantity, row.request.range_size));
    }
    Ok(())
}

fn load_sql(for_account: bool) -> String {
    let cols = COLS
        .split(", ")
        .map(|c| format!("r.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {cols}, g.id AS g_id, g.start_number, g.end_number, g.size, g.valid_from_ms AS g_from, g.valid_to_ms AS g_to \
         FROM number_requests r LEFT JOIN request_ranges g ON g.number_request_id = r.id \
         WHERE r.id = $1{} ORDER BY g.start_number",
        if for_account {
            " AND r.account_id = $2"
        } else {
            ""
        }
    )
}

/// The range of one row of [`load_sql`], if the row has one.
fn joined_range(r: &impl Cols) -> Result<Option<NumberRange>, sqlx::Error> {
    let Some(range_id) = r.col::<Option<String>>("g_id")? else {
        return Ok(None);
    };
    Ok(Some(NumberRange {
        id: Some(range_id),
        start: Some(r.col("start_number")?),
        end: Some(r.col("end_number")?),
        size: r.col("size")?,
        valid_from: Some(format_ms(r.col("g_from")?)),
        valid_to: r.col::<Option<i64>>("g_to")?.map(format_ms),
    }))
}

/// The request of the rows of [`load_sql`] with its ranges, shown once it is completed.
fn with_ranges(head: Option<RequestRow>, ranges: Vec<NumberRange>) -> Option<RequestRow> {
    head.map(|mut row| {
        row.request.ranges = if row.status == RequestStatus::Completed && !ranges.is_empty() {
            ranges
        } else {
            empty_ranges(row.request.quantity, row.request.range_size)
        };
        row
    })
}

/// One request with its ranges, in one query; `account_id` None is the operator's view.
pub async fn load(
    conn: &mut AnyConnection,
    account_id: Option<&str>,
    id: &str,
) -> Result<Option<RequestRow>, sqlx::Error> {
    let sql = load_sql(account_id.is_some());
    let mut q = sqlx::query(&sql).bind(id);
    if let Some(acc) = account_id {
        q = q.bind(acc);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    let head = rows.first().map(from_row).transpose()?;
    let ranges = rows
        .iter()
        .filter_map(|r| joined_range(r).transpose())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(with_ranges(head, ranges))
}

/// [`load`] outside a transaction: on SQLite a point read on this thread ([`super::local`]).
pub async fn get(
    db: &Db,
    account_id: Option<&str>,
    id: &str,
) -> Result<Option<RequestRow>, sqlx::Error> {
    let Some(local) = db.local() else {
        let mut conn = db.read().acquire().await?;
        return load(&mut conn, account_id, id).await;
    };
    let sql = load_sql(account_id.is_some());
    let mut head = None;
    let mut ranges = Vec::new();
    let params: &[&dyn rusqlite::ToSql] = match &account_id {
        Some(acc) => &[&id, acc],
        None => &[&id],
    };
    local.query(&sql, params, |r| {
        if head.is_none() {
            head = Some(from_row(r)?);
        }
        ranges.extend(joined_range(r)?);
        Ok::<_, sqlx::Error>(())
    })?;
    Ok(with_ranges(head, ranges))
}

/// Filters of a request list.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub account_id: Option<String>,
    pub status: Option<RequestStatus>,
    pub company_profile_id: Option<String>,
    /// Keyset pagination: only requests older than this id (the last one of the previous page).
    pub after: Option<String>,
}

/// A page of requests, newest first, each with its numbers (`ranges`), and the list's total.
pub async fn list(
    db: &Db,
    f: &ListFilter,
    skip: i64,
    take: i64,
) -> Result<(Vec<NumberRequest>, i64), sqlx::Error> {
    page(db, f, skip, take, true).await
}

/// [`list`] without the numbers (`ranges` left empty). For lists
/// that show each request in one line (the console's), where a page of requests for a
/// thousand single numbers each would otherwise read 25,000 rows it never shows.
pub async fn list_without_numbers(
    db: &Db,
    f: &ListFilter,
    skip: i64,
    take: i64,
) -> Result<(Vec<NumberRequest>, i64), sqlx::Error> {
    page(db, f, skip, take, false).await
}

async fn page(
    db: &Db,
    f: &ListFilter,
    skip: i64,
    take: i64,
    with_numbers: bool,
) -> Result<(Vec<NumberRequest>, i64), sqlx::Error> {
    let mut c = Conditions::default();
    c.text("account_id", "=", f.account_id.as_ref());
    c.text("company_profile_id", "=", f.company_profile_id.as_ref());
    c.number("status_id", f.status.map(|s| s.id()));
    let mut conn = db.read().acquire().await?;
    // The total of the whole list (`after` only moves the page): a sum over the counters.
    let count_sql = format!(
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM request_counts{}",
        c.sql()
    );
    let mut cq = sqlx::query_scalar(&count_sql);
    for p in &c.texts {
        cq = cq.bind(p);
    }
    let total: i64 = cq.fetch_one(&mut *conn).await?;
    c.text("id", "<", f.after.as_ref());
    // Ids are UUIDv7: their order is creation order, also within one millisecond.
    let sql = format!(
        "SELECT {COLS} FROM number_requests{} ORDER BY id DESC LIMIT ${} OFFSET ${}",
        c.sql(),
        c.texts.len() + 1,
        c.texts.len() + 2
    );
    let mut q = sqlx::query(&sql);
    for p in &c.texts {
        q = q.bind(p);
    }
    let rows = q.bind(take).bind(skip).fetch_all(&mut *conn).await?;
    let mut rows = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    if with_numbers {
        attach_ranges(&mut conn, &mut rows).await?;
    }
    Ok((rows.into_iter().map(|r| r.request).collect(), total))
}

/// Inserts new request rows as given (status, reason and times included), with whether each
/// needed review.
pub async fn insert(
    conn: &mut AnyConnection,
    rows: &[(&NumberRequest, bool)],
    created_ms: i64,
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(500) {
        let sql = format!(
            "INSERT INTO number_requests ({COLS}) VALUES {}",
            values_placeholders(&*conn, chunk.len(), 20)
        );
        let mut q = sqlx::query(&sql);
        for (r, requires_review) in chunk {
            q = q
                .bind(&r.id)
                .bind(&r.account_id)
                .bind(&r.company_profile_id)
                .bind(&r.country_code)
                .bind(r.phone_number_type.as_str())
                .bind(r.quantity)
                .bind(r.range_size)
                .bind(&r.area_code)
                .bind(&r.city)
                .bind(&r.region)
                .bind(&r.comment)
                .bind(&r.callback_url)
                .bind(*requires_review as i64)
                .bind(r.status_id)
                .bind(&r.reason)
                .bind(created_ms)
                .bind(created_ms)
                .bind(r.price.as_ref().map(|p| p.currency.clone()))
                .bind(r.price.as_ref().map(|p| p.setup_price.clone()))
                .bind(r.price.as_ref().map(|p| p.monthly_price.clone()));
        }
        q.execute(&mut *conn).await?;
    }
    let mut deltas: HashMap<(&str, &str, i64), i64> = HashMap::new();
    for (r, _) in rows {
        *deltas
            .entry((&r.account_id, &r.company_profile_id, r.status_id))
            .or_default() += 1;
    }
    add_counts(conn, &deltas).await
}

/// Adds to the per-account, profile and status request counters (one statement), in a shard
/// picked at random (see the migration).
async fn add_counts(
    conn: &mut AnyConnection,
    deltas: &HashMap<(&str, &str, i64), i64>,
) -> Result<(), sqlx::Error> {
    if deltas.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO request_counts (account_id, company_profile_id, status_id, shard, n) VALUES {} \
         ON CONFLICT (account_id, company_profile_id, status_id, shard) DO UPDATE SET n = request_counts.n + excluded.n",
        values_placeholders(&*conn, deltas.len(), 5)
    );
    let shard: i64 = rand::random_range(0..16);
    let mut q = sqlx::query(&sql);
    for ((account, profile, status), n) in deltas {
        q = q
            .bind(*account)
            .bind(*profile)
            .bind(*status)
            .bind(shard)
            .bind(*n);
    }
    q.execute(conn).await?;
    Ok(())
}

/// Moves a request to `to` if it is in one of `from` (guarded); false when it was not.
pub async fn set_status(
    conn: &mut AnyConnection,
    id: &str,
    from: &[RequestStatus],
    to: RequestStatus,
    reason: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    // Read the status under a row lock (PostgreSQL; SQLite's write transaction holds the lock
    // already), then change it guarded by exactly that status and move the counters.
    let lock = if conn.backend_name() == "PostgreSQL" {
        " FOR UPDATE"
    } else {
        ""
    };
    let Some(row) = sqlx::query(&format!(
        "SELECT status_id, account_id, company_profile_id FROM number_requests WHERE id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(false);
    };
    let old: i64 = row.try_get("status_id")?;
    if !from.iter().any(|s| s.id() == old) {
        return Ok(false);
    }
    let (account, profile): (String, String) = (
        row.try_get("account_id")?,
        row.try_get("company_profile_id")?,
    );
    let r = sqlx::query(
        "UPDATE number_requests SET status_id = $1, reason = $2, updated_ms = $3 WHERE id = $4 AND status_id = $5",
    )
    .bind(to.id())
    .bind(reason)
    .bind(now)
    .bind(id)
    .bind(old)
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() != 1 {
        return Ok(false);
    }
    let deltas = HashMap::from([
        ((account.as_str(), profile.as_str(), old), -1),
        ((account.as_str(), profile.as_str(), to.id()), 1),
    ]);
    add_counts(conn, &deltas).await?;
    Ok(true)
}

/// Hands each request its claimed units, for all requests in a few statements: one
/// `request_ranges` row and one `assigned_numbers` row per unit (the row covers the unit's `span`
/// numbers from its first), and one `live_numbers` row per number, expanded by the database. A
/// block of 1,000 thus writes two rows and 1,000 short keys. An assignment's id is its range's id
/// followed by its first number, so ids sort by time and then by number. Returns the ranges of
/// each request, in the order given.
pub async fn assign(
    conn: &mut AnyConnection,
    grants: &[Grant<'_>],
    now: i64,
) -> Result<Vec<Vec<NumberRange>>, sqlx::Error> {
    let mut all_ranges = Vec::with_capacity(grants.len());
    // (range id, grant, unit)
    let mut rows: Vec<(String, &Grant, Unit)> = Vec::new();
    for g in grants {
        let mut ranges = Vec::with_capacity(g.units.len());
        for u in g.units {
            let id = new_id();
            ranges.push(NumberRange {
                id: Some(id.clone()),
                start: Some(u.start()),
                end: Some(u.end()),
                size: u.size,
                valid_from: Some(format_ms(now)),
                valid_to: None,
            });
            rows.push((id, g, *u));
        }
        all_ranges.push(ranges);
    }
    for chunk in rows.chunks(1000) {
        let sql = format!(
            "INSERT INTO request_ranges (id, number_request_id, start_number, end_number, size, valid_from_ms) VALUES {}",
            values_placeholders(&*conn, chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for (id, g, u) in chunk {
            q = q
                .bind(id)
                .bind(&g.request.id)
                .bind(u.start())
                .bind(u.end())
                .bind(u.size)
                .bind(now);
        }
        q.execute(&mut *conn).await?;
        let sql = format!(
            "INSERT INTO assigned_numbers (id, phone_number, range_id, number_request_id, account_id, company_profile_id, valid_from_ms, span) VALUES {}",
            values_placeholders(&*conn, chunk.len(), 8)
        );
        let mut q = sqlx::query(&sql);
        for (range_id, g, u) in chunk {
            let first = u.start();
            q = q
                .bind(format!("{range_id}{first}"))
                .bind(first)
                .bind(range_id)
                .bind(&g.request.id)
                .bind(&g.request.account_id)
                .bind(&g.request.company_profile_id)
                .bind(now)
                .bind(u.size);
        }
        q.execute(&mut *conn).await?;
        let sql = format!(
            "WITH u(range_id, lo, hi) AS (VALUES {}) \
             INSERT INTO live_numbers (phone_number, range_id) \
             SELECT n.phone_number, u.range_id FROM u CROSS JOIN numbers n WHERE n.num >= u.lo AND n.num <= u.hi",
            values_placeholders(&*conn, chunk.len(), 3)
        );
        let mut q = sqlx::query(&sql);
        for (range_id, _, u) in chunk {
            q = q.bind(range_id).bind(u.first).bind(u.last());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(all_ranges)
}

/// Units claimed for one request.
pub struct Grant<'a> {
    pub request: &'a NumberRequest,
    pub units: &'a [Unit],
}

/// Writes the status event for the state each request is in now, with its payload (the request
/// as GET shows it) and one outbox row per target: the callback URL and each e-mail address.
/// `payload` is the request's JSON when the caller has it already. Returns the event ids.
pub async fn record_events(
    conn: &mut AnyConnection,
    events: &[EventOf<'_>],
    now: i64,
) -> anyhow::Result<Vec<String>> {
    let ids: Vec<String> = events.iter().map(|_| new_id()).collect();
    let payloads = events
        .iter()
        .map(|e| match e.payload {
            Some(p) => Ok(std::borrow::Cow::Borrowed(p)),
            None => serde_json::to_string(e.request).map(std::borrow::Cow::Owned),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let rows: Vec<usize> = (0..events.len()).collect();
    for chunk in rows.chunks(500) {
        let sql = format!(
            "INSERT INTO status_events (id, number_request_id, account_id, status_id, reason, occurred_ms, payload) VALUES {}",
            values_placeholders(&*conn, chunk.len(), 7)
        );
        let mut q = sqlx::query(&sql);
        for &i in chunk {
            let r = events[i].request;
            q = q
                .bind(&ids[i])
                .bind(&r.id)
                .bind(&r.account_id)
                .bind(r.status_id)
                .bind(&r.reason)
                .bind(now)
                .bind(payloads[i].as_ref());
        }
        q.execute(&mut *conn).await?;
    }
    // Status mail goes to confirmed addresses only (as they are in this transaction).
    let to_check: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e.confirm_emails)
        .flat_map(|e| {
            e.emails
                .iter()
                .map(|m| (e.request.account_id.as_str(), m.as_str()))
        })
        .collect();
    let confirmed = if to_check.is_empty() {
        Default::default()
    } else {
        super::emails::confirmed_targets(&mut *conn, &to_check).await?
    };
    let mut targets: Vec<(usize, &str, &str)> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if let Some(url) = &e.request.callback_url {
            targets.push((i, "callback", url));
        }
        for m in e.emails {
            if e.confirm_emails
                && !confirmed
                    .contains(&(e.request.account_id.clone(), super::emails::address_key(m)))
            {
                continue;
            }
            targets.push((i, "email", m));
        }
    }
    for chunk in targets.chunks(1000) {
        let sql = format!(
            "INSERT INTO deliveries (id, event_id, number_request_id, account_id, channel, target, state, next_attempt_ms, created_ms) VALUES {}",
            values_placeholders(&*conn, chunk.len(), 9)
        );
        let mut q = sqlx::query(&sql);
        for (i, channel, target) in chunk {
            let r = events[*i].request;
            q = q
                .bind(new_id())
                .bind(&ids[*i])
                .bind(&r.id)
                .bind(&r.account_id)
                .bind(*channel)
                .bind(*target)
                .bind("pending")
                .bind(now)
                .bind(now);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(ids)
}

/// A status event to record: the request as it is now, who hears of it, and its JSON if known.
pub struct EventOf<'a> {
    pub request: &'a NumberRequest,
    pub emails: &'a [String],
    pub payload: Option<&'a str>,
    /// Mail only the addresses confirmed for the account (`NUMBERDESK_CONFIRM_EMAILS`).
    pub confirm_emails: bool,
}

/// The request's status events, oldest first, with their deliveries.
pub async fn events(
    db: &Db,
    account_id: &str,
    request_id: &str,
) -> Result<Vec<StatusEvent>, sqlx::Error> {
    let mut conn = db.read().acquire().await?;
    let rows = sqlx::query(
        "SELECT id, status_id, reason, occurred_ms FROM status_events WHERE number_request_id = $1 AND account_id = $2 ORDER BY id",
    )
    .bind(request_id)
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?;
    let deliveries = sqlx::query(
        "SELECT id, event_id, number_request_id, account_id, channel, target, state, attempts, last_attempt_ms, last_error \
         FROM deliveries WHERE number_request_id = $1 AND account_id = $2 ORDER BY id",
    )
    .bind(request_id)
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_event: HashMap<String, Vec<Delivery>> = HashMap::new();
    for d in &deliveries {
        let event_id: String = d.try_get("event_id")?;
        by_event
            .entry(event_id)
            .or_default()
            .push(super::deliveries::from_row(d, false)?);
    }
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            let status = status_of("status_events", &id, r.try_get("status_id")?)?;
            let (callbacks, emails): (Vec<_>, Vec<_>) = by_event
                .remove(&id)
                .unwrap_or_default()
                .into_iter()
                .partition(|d| d.channel == Channel::Callback);
            Ok(StatusEvent {
                id,
                number_request_id: request_id.into(),
                status,
                reason: r.try_get("reason")?,
                occurred_on: format_ms(r.try_get("occurred_ms")?),
                callback: callbacks.into_iter().next(),
                emails,
            })
        })
        .collect()
}

/// How many numbers the account holds now.
pub async fn held_count(db: &Db, account_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(span), 0) AS BIGINT) FROM assigned_numbers WHERE account_id = $1 AND valid_to_ms IS NULL",
    )
    .bind(account_id)
    .fetch_one(db.read())
    .await
}

/// Numbers the account holds now, newest first: the `skip`..`skip + take` numbers of the
/// account's live assignment rows in id order (newest range first), each row's numbers from its
/// last down to its first, as when each number had a row of its own.
pub async fn phone_numbers(
    db: &Db,
    account_id: &str,
    skip: i64,
    take: i64,
) -> Result<(Vec<PhoneNumber>, i64), sqlx::Error> {
    let total = held_count(db, account_id).await?;
    // `skip` comes from the caller's query and may be near i64::MAX: the page's end saturates.
    let end = skip.saturating_add(take);
    if skip >= total || take <= 0 {
        return Ok((Vec::new(), total));
    }
    let mut conn = db.read().acquire().await?;
    // The live rows newest first, their sizes summed until the page is covered: a page reads
    // the rows up to its end, not every row the account holds. (id, size, `upto`: how many
    // numbers the rows up to and including this one hold.)
    let mut covering: Vec<(String, i64, i64)> = Vec::new();
    {
        let mut walk = sqlx::query(
            "SELECT id, span FROM assigned_numbers WHERE account_id = $1 AND valid_to_ms IS NULL \
             ORDER BY id DESC",
        )
        .bind(account_id)
        .fetch(&mut *conn);
        let mut upto = 0;
        while upto < end {
            let Some(r) = walk.try_next().await? else {
                break;
            };
            let span: i64 = r.try_get("span")?;
            upto += span;
            if upto > skip {
                covering.push((r.try_get("id")?, span, upto));
            }
        }
    }
    if covering.is_empty() {
        return Ok((Vec::new(), total));
    }
    let placeholders = (1..=covering.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",");
    let sql = format!(
        "SELECT a.id, a.number_request_id, a.company_profile_id, a.valid_from_ms, \
         n.num, n.country_code, n.phone_number_type, n.area_code, n.city, n.region \
         FROM assigned_numbers a JOIN numbers n ON n.phone_number = a.phone_number \
         WHERE a.id IN ({placeholders})"
    );
    let mut q = sqlx::query(&sql);
    for (id, _, _) in &covering {
        q = q.bind(id);
    }
    let mut details: HashMap<String, sqlx::any::AnyRow> = HashMap::new();
    for r in q.fetch_all(&mut *conn).await? {
        details.insert(r.try_get("id")?, r);
    }
    let mut rows = Vec::with_capacity(covering.len());
    for (id, span, upto) in covering {
        let r = details
            .remove(&id)
            .ok_or_else(|| corrupt("assigned_numbers", id.as_str(), "its number is missing"))?;
        rows.push((r, span, upto));
    }
    let mut list = Vec::with_capacity(take.max(0) as usize);
    for (r, span, upto) in &rows {
        let (span, upto) = (*span, *upto);
        let first: i64 = r.try_get("num")?;
        // This row holds the list's numbers upto - span .. upto, its last number first.
        let before = upto - span;
        let from = (skip - before).max(0);
        let to = (end - before).min(span);
        for k in from..to {
            list.push(PhoneNumber {
                phone_number: format!("+{}", first + span - 1 - k),
                country_code: r.try_get("country_code")?,
                phone_number_type: number_type(
                    "assigned_numbers",
                    first + span - 1 - k,
                    &r.try_get::<String, _>("phone_number_type")?,
                )?,
                area_code: super::non_empty(r.try_get("area_code")?),
                city: r.try_get("city")?,
                region: r.try_get("region")?,
                number_request_id: r.try_get("number_request_id")?,
                company_profile_id: r.try_get("company_profile_id")?,
                valid_from: format_ms(r.try_get("valid_from_ms")?),
                valid_to: None,
            });
        }
    }
    Ok((list, total))
}

/// Which open requests a fulfilment pass reads.
#[derive(Debug, Clone, Copy)]
pub enum OpenScope<'a> {
    /// Every open request.
    All,
    /// Requests created at or after this id (ids are UUIDv7: creation order).
    Since(&'a str),
    /// Requests that stock of this country, type and area code can serve: the same country and
    /// type, and the same area code or none (city and region are compared by the caller).
    Stock {
        country_code: &'a str,
        phone_number_type: &'a str,
        area_code: Option<&'a str>,
    },
}

/// Open requests that stock may fulfil now (`Pending` without review, or `Accepted`) in
/// `scope`, oldest first, after `after_id`.
pub async fn open_for_fulfilment(
    db: &Db,
    scope: OpenScope<'_>,
    after_id: &str,
    limit: i64,
) -> Result<Vec<RequestRow>, sqlx::Error> {
    let mut params: Vec<&str> = vec![after_id];
    let extra = match scope {
        OpenScope::All => String::new(),
        OpenScope::Since(from) => {
            params.push(from);
            " AND id >= $2".to_string()
        }
        OpenScope::Stock {
            country_code,
            phone_number_type,
            area_code,
        } => {
            params.extend([country_code, phone_number_type]);
            let area = match area_code {
                Some(a) => {
                    params.push(a);
                    " AND (area_code IS NULL OR area_code = $4)"
                }
                None => " AND area_code IS NULL",
            };
            format!(" AND country_code = $2 AND phone_number_type = $3{area}")
        }
    };
    let sql = format!(
        "SELECT {COLS} FROM number_requests WHERE ((status_id = {p} AND requires_review = 0) OR status_id = {a}) AND id > $1{extra} ORDER BY id LIMIT {limit}",
        p = RequestStatus::Pending.id(),
        a = RequestStatus::Accepted.id()
    );
    let mut q = sqlx::query(&sql);
    for p in params {
        q = q.bind(p);
    }
    let rows = q.fetch_all(db.read()).await?;
    rows.iter().map(from_row).collect()
}

/// How many open requests (`Pending` or `Accepted`) an account has, from the counters.
pub async fn open_count(db: &Db, account_id: &str) -> Result<i64, sqlx::Error> {
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM request_counts WHERE account_id = $1 AND status_id IN ({}, {})",
        RequestStatus::Pending.id(),
        RequestStatus::Accepted.id()
    );
    // Every create asks this: on SQLite, in process rather than through a pool connection's
    // thread (each such hop is two thread switches, and creates are CPU-bound).
    if let Some(local) = db.local() {
        let n = local.query(&sql, &[&account_id], |r| {
            r.get::<_, i64>(0).map_err(super::local::to_sqlx)
        })?;
        return Ok(n.first().copied().unwrap_or(0));
    }
    sqlx::query_scalar(&sql)
        .bind(account_id)
        .fetch_one(db.read())
        .await
}

/// Requests counted by status, from the counters: every status with its count, zero included.
/// Of one account (the console's overview) or of all (`/metrics`).
pub async fn counts_by_status(
    db: &Db,
    account_id: Option<&str>,
) -> Result<Vec<(RequestStatus, i64)>, sqlx::Error> {
    let sql = format!(
        "SELECT status_id, CAST(SUM(n) AS BIGINT) AS n FROM request_counts{} GROUP BY status_id",
        if account_id.is_some() {
            " WHERE account_id = $1"
        } else {
            ""
        }
    );
    let mut q = sqlx::query(&sql);
    if let Some(a) = account_id {
        q = q.bind(a);
    }
    let rows = q.fetch_all(db.read()).await?;
    let mut counts = RequestStatus::ALL.map(|s| (s, 0));
    for r in &rows {
        let (id, n): (i64, i64) = (r.try_get("status_id")?, r.try_get("n")?);
        if let Some(c) = counts.iter_mut().find(|(s, _)| s.id() == id) {
            c.1 = n;
        }
    }
    Ok(counts.to_vec())
}

/// A stored idempotent answer.
#[derive(Debug, Clone)]
pub struct IdempotentAnswer {
    pub endpoint: String,
    pub request_body: String,
    pub status: u16,
    pub body: String,
}

/// Answers are replayed for 24 hours.
pub const IDEMPOTENCY_TTL_MS: i64 = 24 * 3600 * 1000;

pub async fn find_idempotent(
    conn: &mut AnyConnection,
    account_id: &str,
    key: &str,
    now: i64,
) -> Result<Option<IdempotentAnswer>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT endpoint, request_body, response_status, response_body FROM idempotency_keys WHERE account_id = $1 AND idem_key = $2 AND created_ms > $3",
    )
    .bind(account_id)
    .bind(key)
    .bind(now - IDEMPOTENCY_TTL_MS)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(IdempotentAnswer {
            endpoint: r.try_get("endpoint")?,
            request_body: r.try_get("request_body")?,
            status: r.try_get::<i64, _>("response_status")? as u16,
            body: r.try_get("response_body")?,
        })
    })
    .transpose()
}

/// Stores an answer; an expired record under the same key is replaced.
pub async fn save_idempotent(
    conn: &mut AnyConnection,
    account_id: &str,
    key: &str,
    a: &IdempotentAnswer,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE account_id = $1 AND idem_key = $2 AND created_ms <= $3",
    )
    .bind(account_id)
    .bind(key)
    .bind(now - IDEMPOTENCY_TTL_MS)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO idempotency_keys (account_id, idem_key, endpoint, request_body, response_status, response_body, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(account_id)
    .bind(key)
    .bind(&a.endpoint)
    .bind(&a.request_body)
    .bind(a.status as i64)
    .bind(&a.body)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Releases a number the account holds: its assignment ends, the number rests (aging) until
/// `available_at_ms`, and its range gets `validTo` once no number of it is held any more. The
/// assignment row that holds it is cut around it: the numbers before and after it stay held in
/// rows of their own, and the number keeps a row with `validTo`. None when the account does not
/// hold the number.
pub async fn release(
    conn: &mut AnyConnection,
    account_id: &str,
    phone_number: &str,
    now: i64,
    available_at_ms: i64,
) -> Result<Option<PhoneNumber>, sqlx::Error> {
    let range_id: Option<String> =
        sqlx::query_scalar("SELECT range_id FROM live_numbers WHERE phone_number = $1")
            .bind(phone_number)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(range_id) = range_id else {
        return Ok(None);
    };
    let (start, end): (String, String) =
        sqlx::query_as("SELECT start_number, end_number FROM request_ranges WHERE id = $1")
            .bind(&range_id)
            .fetch_one(&mut *conn)
            .await?;
    // The range's assignment ids run from `range_id + start` to `range_id + end`; the row that
    // holds the number is the account's last live one at or before it.
    let (first_id, last_id) = (format!("{range_id}{start}"), format!("{range_id}{end}"));
    let row = sqlx::query(
        "SELECT id, phone_number, span, number_request_id, company_profile_id, valid_from_ms FROM assigned_numbers \
         WHERE account_id = $1 AND id >= $2 AND id <= $3 AND valid_to_ms IS NULL ORDER BY id DESC LIMIT 1",
    )
    .bind(account_id)
    .bind(&first_id)
    .bind(format!("{range_id}{phone_number}"))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let (id, first, span): (String, String, i64) = (
        row.try_get("id")?,
        row.try_get("phone_number")?,
        row.try_get("span")?,
    );
    // A number that does not parse is a row nobody should have written: named, never taken as 0.
    let num = |table: &'static str, key: &str, e164: &str| {
        crate::domain::e164_value(e164)
            .ok_or_else(|| corrupt(table, key, format!("{e164:?} is not an E.164 number")))
    };
    let released = num("live_numbers", phone_number, phone_number)?;
    let first = num("assigned_numbers", &id, &first)?;
    let last = first + span - 1;
    if released > last {
        return Ok(None); // held under the range, but not by this account
    }
    let assignment = Assignment {
        range_id: &range_id,
        number_request_id: row.try_get("number_request_id")?,
        account_id,
        company_profile_id: row.try_get("company_profile_id")?,
        valid_from_ms: row.try_get("valid_from_ms")?,
    };
    if released == first {
        sqlx::query("UPDATE assigned_numbers SET valid_to_ms = $1, span = 1 WHERE account_id = $2 AND id = $3")
            .bind(now)
            .bind(account_id)
            .bind(&id)
            .execute(&mut *conn)
            .await?;
    } else {
        sqlx::query("UPDATE assigned_numbers SET span = $1 WHERE account_id = $2 AND id = $3")
            .bind(released - first)
            .bind(account_id)
            .bind(&id)
            .execute(&mut *conn)
            .await?;
        assignment.insert(conn, released, 1, Some(now)).await?;
    }
    if released < last {
        assignment
            .insert(conn, released + 1, last - released, None)
            .await?;
    }
    sqlx::query("DELETE FROM live_numbers WHERE phone_number = $1")
        .bind(phone_number)
        .execute(&mut *conn)
        .await?;
    let n = sqlx::query(&format!(
        "UPDATE numbers SET status = {}, available_at_ms = $1 WHERE phone_number = $2 RETURNING country_code, phone_number_type, area_code, city, region",
        crate::domain::stock::AGING
    ))
    .bind(available_at_ms)
    .bind(phone_number)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE request_ranges SET valid_to_ms = $1 WHERE id = $2 AND NOT EXISTS \
         (SELECT 1 FROM assigned_numbers WHERE account_id = $3 AND id >= $4 AND id <= $5 AND valid_to_ms IS NULL)",
    )
    .bind(now)
    .bind(&range_id)
    .bind(account_id)
    .bind(&first_id)
    .bind(&last_id)
    .execute(&mut *conn)
    .await?;
    Ok(Some(PhoneNumber {
        phone_number: phone_number.into(),
        country_code: n.try_get("country_code")?,
        phone_number_type: number_type(
            "numbers",
            phone_number,
            &n.try_get::<String, _>("phone_number_type")?,
        )?,
        area_code: super::non_empty(n.try_get("area_code")?),
        city: n.try_get("city")?,
        region: n.try_get("region")?,
        number_request_id: assignment.number_request_id,
        company_profile_id: assignment.company_profile_id,
        valid_from: format_ms(assignment.valid_from_ms),
        valid_to: Some(format_ms(now)),
    }))
}

/// What the rows of one assignment share, to write the rows a release cuts it into.
struct Assignment<'a> {
    range_id: &'a str,
    number_request_id: String,
    account_id: &'a str,
    company_profile_id: String,
    valid_from_ms: i64,
}

impl Assignment<'_> {
    /// Adds the row for `span` numbers from `first`.
    async fn insert(
        &self,
        conn: &mut AnyConnection,
        first: i64,
        span: i64,
        valid_to_ms: Option<i64>,
    ) -> Result<(), sqlx::Error> {
        let phone = format!("+{first}");
        sqlx::query(
            "INSERT INTO assigned_numbers (id, phone_number, range_id, number_request_id, account_id, company_profile_id, valid_from_ms, valid_to_ms, span) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(format!("{}{phone}", self.range_id))
        .bind(&phone)
        .bind(self.range_id)
        .bind(&self.number_request_id)
        .bind(self.account_id)
        .bind(&self.company_profile_id)
        .bind(self.valid_from_ms)
        .bind(valid_to_ms)
        .bind(span)
        .execute(conn)
        .await?;
        Ok(())
    }
}
