//! Point reads that SQLite answers on the calling thread.
//!
//! sqlx runs each SQLite connection on a thread of its own: every statement is handed to that
//! thread and its rows handed back, two thread wake-ups that cost more than the query (a get by
//! id spent most of its time in `futex` wake-ups; BENCHMARKS.md). The hottest reads (a request
//! by id, a company profile, the outbox's "is anything due?") instead run here, through
//! rusqlite on a read-only connection taken from a small idle list, on the task's own thread.
//! They read a few rows through an index (microseconds, from SQLite's or the OS's page cache),
//! so blocking the runtime thread for that long is cheaper than the hand-off. Write transactions and longer reads stay on the pools.
//!
//! A read sees every commit made before it started (WAL mode), so a customer's GET right after
//! its POST finds the request.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, ToSql};

/// Idle connections kept; more are opened while more tasks read at once (at most one per
/// runtime thread, since a read never awaits) and closed again beyond this.
const MAX_IDLE: usize = 8;

/// A reader waits this long for a lock (only WAL recovery takes one), then the call answers 503.
const BUSY_TIMEOUT: Duration = Duration::from_millis(1_000);

pub struct LocalReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    closed: AtomicBool,
}

impl LocalReads {
    pub fn new(path: PathBuf) -> LocalReads {
        LocalReads {
            path,
            idle: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "cache_size", -4_000)?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    }

    /// Runs `sql` with `params` and maps each row; the statement is prepared once per connection.
    pub fn query<T, E: From<sqlx::Error>>(
        &self,
        sql: &str,
        params: &[&dyn ToSql],
        mut map: impl FnMut(&rusqlite::Row<'_>) -> Result<T, E>,
    ) -> Result<Vec<T>, E> {
        if self.closed.load(Ordering::Acquire) {
            return Err(sqlx::Error::PoolClosed.into());
        }
        let taken = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match taken {
            Some(c) => c,
            None => self.open().map_err(to_sqlx)?,
        };
        let out = (|| -> Result<Vec<T>, E> {
            let mut stmt = conn.prepare_cached(sql).map_err(to_sqlx)?;
            let mut rows = stmt.query(params).map_err(to_sqlx)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(to_sqlx)? {
                out.push(map(row)?);
            }
            Ok(out)
        })();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE && !self.closed.load(Ordering::Acquire) {
            idle.push(conn);
        }
        out
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Closes the idle connections; later reads answer [`sqlx::Error::PoolClosed`].
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// A database that cannot be read now (locked, missing, unreadable) is unavailable (503), as
/// with the pools; anything else is an error of ours (500).
pub fn to_sqlx(e: rusqlite::Error) -> sqlx::Error {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked | CannotOpen | SystemIoFailure | NotADatabase) => {
            sqlx::Error::Io(std::io::Error::other(e))
        }
        _ => sqlx::Error::Protocol(format!("SQLite: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_committed_rows_and_refuses_after_close() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (id TEXT, n INTEGER); \
                 INSERT INTO t VALUES ('a', 1), ('b', 2);",
            )
            .unwrap();
        let reads = LocalReads::new(path);
        let sql = "SELECT n FROM t WHERE id = ?1";
        let get = |id: &str| reads.query(sql, &[&id], |r| r.get::<_, i64>(0).map_err(to_sqlx));
        assert_eq!(get("b").unwrap(), vec![2]);
        writer.execute("INSERT INTO t VALUES ('c', 3)", []).unwrap();
        assert_eq!(
            get("c").unwrap(),
            vec![3],
            "a later read sees a later commit"
        );
        assert!(get("z").unwrap().is_empty());
        reads.close();
        assert!(matches!(get("b"), Err(sqlx::Error::PoolClosed)));
    }

    #[test]
    fn a_missing_database_is_unavailable_not_an_internal_error() {
        let dir = tempfile::tempdir().unwrap();
        let reads = LocalReads::new(dir.path().join("absent.db"));
        let got = reads.query("SELECT 1", &[], |r| r.get::<_, i64>(0).map_err(to_sqlx));
        assert!(matches!(got, Err(sqlx::Error::Io(_))), "{got:?}");
    }
}
