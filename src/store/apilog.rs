//! The API log's rows: batched inserts, filtered pages newest first, and trimming by age. On
//! SQLite they live in a database file of their own ([`super::api_log_file`]), on PostgreSQL in
//! the main database.

use sqlx::Row;

use super::{Cols, Conditions, Db, StoreError};
use crate::apilog::{ApiLogEntry, ApiLogFilter};

/// Columns of one row; a batch insert binds this many values per entry.
const COLUMNS: usize = 12;

/// Rows of the largest insert statement. A batch is written in statements of 128, 64, 32, …, 1
/// rows (its size in binary), so only eight statement shapes exist: each is prepared once per
/// connection and kept. Statements of every batch size seen (up to 1,000 rows) filled the
/// connection's statement cache with a hundred large programs (35 MiB more server memory under
/// the create load) and were prepared again for nearly every batch.
const MAX_ROWS_PER_STATEMENT: usize = 128;

/// The insert of one row.
const INSERT_ROW: &str = "INSERT INTO api_log (id, account_id, occurred_ms, method, path, query, \
     status, duration_ms, user_agent, api_key_id, request_id, message_code) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

/// The SQLite log file's inserting connection: rusqlite on a blocking thread, one prepared
/// single-row insert per entry in one transaction. Through sqlx every value of a batch was
/// converted twice before SQLite saw it and each statement went to the connection's own thread;
/// this way a row costs SQLite's own work only, which is what the log's share of a busy
/// server's CPU comes down to. Trimming and reading stay on the pools.
pub struct LogInserter {
    path: std::path::PathBuf,
    conn: std::sync::Mutex<Option<rusqlite::Connection>>,
}

impl LogInserter {
    pub fn new(path: std::path::PathBuf) -> LogInserter {
        LogInserter {
            path,
            conn: std::sync::Mutex::new(None),
        }
    }

    fn insert(&self, entries: &[ApiLogEntry]) -> Result<(), rusqlite::Error> {
        let mut guard = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let conn = match guard.as_mut() {
            Some(c) => c,
            None => {
                let c = rusqlite::Connection::open(&self.path)?;
                c.busy_timeout(std::time::Duration::from_secs(10))?;
                c.execute_batch(
                    "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -2000; \
                     PRAGMA journal_size_limit = 16777216;",
                )?;
                guard.insert(c)
            }
        };
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached(INSERT_ROW)?;
            for e in entries {
                stmt.execute(rusqlite::params![
                    e.id,
                    e.account_id,
                    e.occurred_ms,
                    e.method,
                    e.path,
                    e.query,
                    e.status,
                    e.duration_ms,
                    e.user_agent,
                    e.api_key_id,
                    e.request_id,
                    e.message_code,
                ])?;
            }
        }
        tx.commit()
    }
}

/// Writes entries in one transaction: on SQLite through the [`LogInserter`], on PostgreSQL in
/// statements of up to [`MAX_ROWS_PER_STATEMENT`] rows.
pub async fn insert_batch(
    db: &Db,
    entries: std::sync::Arc<Vec<ApiLogEntry>>,
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    if let Some(inserter) = db.log_inserter() {
        let inserter = inserter.clone();
        return tokio::task::spawn_blocking(move || inserter.insert(&entries))
            .await
            .map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?
            .map_err(|e| StoreError::from(super::local::to_sqlx(e)));
    }
    let mut tx = db.log_begin().await?;
    let mut rest = entries.as_slice();
    let mut rows = MAX_ROWS_PER_STATEMENT;
    while !rest.is_empty() {
        while rows > rest.len() {
            rows /= 2;
        }
        let (chunk, tail) = rest.split_at(rows);
        rest = tail;
        let sql = format!(
            "INSERT INTO api_log (id, account_id, occurred_ms, method, path, query, status, duration_ms, \
             user_agent, api_key_id, request_id, message_code) VALUES {}",
            super::values_placeholders(&tx, chunk.len(), COLUMNS)
        );
        let mut q = sqlx::query(&sql);
        for e in chunk {
            q = q
                .bind(&e.id)
                .bind(&e.account_id)
                .bind(e.occurred_ms)
                .bind(&e.method)
                .bind(&e.path)
                .bind(&e.query)
                .bind(i64::from(e.status))
                .bind(e.duration_ms)
                .bind(&e.user_agent)
                .bind(&e.api_key_id)
                .bind(&e.request_id)
                .bind(&e.message_code);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The `WHERE` of a filter.
fn conditions(filter: &ApiLogFilter) -> Conditions {
    let mut c = Conditions::default();
    c.text("account_id", "=", filter.account_id.as_ref());
    c.text("method", "=", filter.method.as_ref());
    c.number("status", filter.status.map(i64::from));
    c
}

/// A page of entries, newest first (ties by id, which is time-ordered too), and the total.
pub async fn list(
    db: &Db,
    filter: &ApiLogFilter,
    skip: i64,
    take: i64,
) -> Result<(Vec<ApiLogEntry>, i64), StoreError> {
    let c = conditions(filter);
    let (clause, n) = (c.sql(), c.texts.len());
    let page_sql = format!(
        "SELECT id, account_id, occurred_ms, method, path, query, status, duration_ms, user_agent, \
         api_key_id, request_id, message_code FROM api_log{clause} \
         ORDER BY occurred_ms DESC, id DESC LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let count_sql = format!("SELECT COUNT(*) FROM api_log{clause}");
    let mut page = sqlx::query(&page_sql);
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
    for t in &c.texts {
        page = page.bind(t);
        count = count.bind(t);
    }
    let rows = page.bind(take).bind(skip).fetch_all(db.log_read()).await?;
    let total = count.fetch_one(db.log_read()).await?;
    let entries = rows
        .iter()
        .map(entry_from_row)
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((entries, total))
}

fn entry_from_row(r: &sqlx::any::AnyRow) -> Result<ApiLogEntry, sqlx::Error> {
    let status: i64 = r.col("status")?;
    let id: String = r.try_get("id")?;
    Ok(ApiLogEntry {
        status: u16::try_from(status)
            .map_err(|_| super::corrupt("api_log", id.clone(), format!("status {status}")))?,
        id,
        account_id: r.col("account_id")?,
        occurred_ms: r.col("occurred_ms")?,
        method: r.col("method")?,
        path: r.col("path")?,
        query: r.col("query")?,
        duration_ms: r.col("duration_ms")?,
        user_agent: r.col("user_agent")?,
        api_key_id: r.col("api_key_id")?,
        request_id: r.col("request_id")?,
        message_code: r.col("message_code")?,
    })
}

/// Deletes up to `limit` entries that arrived before `cutoff_ms`; answers how many went. Small
/// steps keep each write short, so creates never wait long behind a trim.
pub async fn delete_before(db: &Db, cutoff_ms: i64, limit: i64) -> Result<u64, StoreError> {
    let r = sqlx::query(
        "DELETE FROM api_log WHERE id IN \
         (SELECT id FROM api_log WHERE occurred_ms < $1 ORDER BY occurred_ms LIMIT $2)",
    )
    .bind(cutoff_ms)
    .bind(limit)
    .execute(db.log_write())
    .await?;
    Ok(r.rows_affected())
}
