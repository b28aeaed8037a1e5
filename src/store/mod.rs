//! Database access. One set of portable SQL runs on SQLite (the embedded default) and PostgreSQL
//! through sqlx's `Any` driver; the few dialect differences are explicit branches on [`Dialect`].

pub mod accounts;
pub mod apilog;
pub mod cpu;
pub mod deliveries;
pub mod emails;
pub mod error;
pub mod inventory;
pub mod local;
pub mod prices;
pub mod profiles;
pub mod requests;
pub mod sessions;
pub mod usage;
pub mod wal;

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, AnyPool, ConnectOptions, Executor};

use crate::config::Config;

pub use error::{CorruptRow, StoreError, corrupt};

pub type Tx = sqlx::Transaction<'static, Any>;

/// The `WHERE` of a list's optional filters: conditions joined by `AND`, text values bound in
/// order as `$1`, `$2`, ...
#[derive(Debug, Default)]
pub struct Conditions {
    conds: Vec<String>,
    /// The values to bind, in placeholder order.
    pub texts: Vec<String>,
}

impl Conditions {
    /// `column op $n`, binding `value`, when there is a value.
    pub fn text(&mut self, column: &str, op: &str, value: Option<&String>) {
        if let Some(v) = value {
            self.texts.push(v.clone());
            self.conds
                .push(format!("{column} {op} ${}", self.texts.len()));
        }
    }

    /// `column = n` for a number known to the code (written into the statement).
    pub fn number(&mut self, column: &str, value: Option<i64>) {
        if let Some(n) = value {
            self.conds.push(format!("{column} = {n}"));
        }
    }

    /// ` WHERE ...`, or nothing without conditions.
    pub fn sql(&self) -> String {
        if self.conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conds.join(" AND "))
        }
    }
}

/// A value both drivers decode: what a [`Cols`] row hands out.
pub trait ColType:
    for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any> + rusqlite::types::FromSql
{
}
impl<T: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any> + rusqlite::types::FromSql> ColType for T {}

/// A result row read by column name, from the pools or from [`local::LocalReads`]: each row
/// mapping is written once for both.
pub trait Cols {
    fn col<T: ColType>(&self, name: &str) -> Result<T, sqlx::Error>;
}

impl Cols for sqlx::any::AnyRow {
    fn col<T: ColType>(&self, name: &str) -> Result<T, sqlx::Error> {
        sqlx::Row::try_get(self, name)
    }
}

impl Cols for rusqlite::Row<'_> {
    fn col<T: ColType>(&self, name: &str) -> Result<T, sqlx::Error> {
        self.get(name).map_err(local::to_sqlx)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The pools. On SQLite all writes go through one connection (SQLite has one writer anyway;
/// queueing in the pool beats spinning on the busy timeout), reads use several.
#[derive(Clone)]
pub struct Db {
    pub dialect: Dialect,
    write: AnyPool,
    read: AnyPool,
    /// SQLite: the API log's own database file ([`api_log_file`]) and its pools; None on
    /// PostgreSQL, where the log's table lives in the main database.
    log: Option<LogPools>,
    local: Option<Arc<local::LocalReads>>,
    /// Where the SQLite writer runs ([`cpu`]); None on PostgreSQL or a single CPU.
    placement: Option<cpu::Placement>,
}

/// The pools of the API log's own SQLite file: one writer, two readers.
#[derive(Clone)]
struct LogPools {
    write: AnyPool,
    read: AnyPool,
    /// Writes the entries ([`apilog::LogInserter`]).
    inserter: Arc<apilog::LogInserter>,
    /// The main file, whose old entries [`Db::migrate`] moves over.
    main: std::path::PathBuf,
}

/// The API log's SQLite file, beside the main database file: `numberdesk.db` keeps its log in
/// `numberdesk.apilog.db`.
///
/// Why a file of its own: SQLite has one writer per file. With the log's table in the main
/// file, the log writer's batch (about a thousand rows a quarter second under load, three
/// b-trees) held the one write lock while the create writer waited for it, and its pages went
/// through the same write-ahead log and checkpoints; creates ran 13–43 % slower with the log on
/// (BENCHMARKS.md). In a file of its own the log commits beside the creates, not between them.
pub fn api_log_file(main: &std::path::Path) -> std::path::PathBuf {
    let stem = match main.extension().and_then(|e| e.to_str()) {
        Some("db" | "sqlite" | "sqlite3") => main.with_extension(""),
        _ => main.to_path_buf(),
    };
    let mut name = stem.into_os_string();
    name.push(".apilog.db");
    name.into()
}

/// The schema of the API log's file (SQLite): the table and indexes of the main file's
/// migration 5, created when missing.
const API_LOG_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS api_log (
    id            TEXT NOT NULL PRIMARY KEY,
    account_id    TEXT NOT NULL,
    occurred_ms   INTEGER NOT NULL,
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,
    query         TEXT,
    status        INTEGER NOT NULL,
    duration_ms   INTEGER NOT NULL,
    user_agent    TEXT,
    api_key_id    TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    message_code  TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS api_log_account ON api_log(account_id, occurred_ms, id);
CREATE INDEX IF NOT EXISTS api_log_time ON api_log(occurred_ms, id);
";

/// Page size of a new SQLite database (an existing one keeps its own): SQLite's default. A
/// create transaction changes a few small rows in some twenty b-trees and its commit writes each
/// touched page whole; with 4 KiB rather than 16 KiB pages creates ran 20–50 % faster and
/// small block requests twice as fast, while a one-entry bulk import ran about a fifth slower
/// (BENCHMARKS.md).
const PAGE_SIZE: u32 = 4_096;

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "lean claims",
        include_str!("../../migrations/sqlite/0002_lean_claims.sql"),
    ),
    (
        3,
        "due deliveries",
        include_str!("../../migrations/sqlite/0003_due_deliveries.sql"),
    ),
    (
        4,
        "assigned spans",
        include_str!("../../migrations/sqlite/0004_assigned_spans.sql"),
    ),
    (
        5,
        "prices, usage and the API log",
        include_str!("../../migrations/sqlite/0005_prices_usage_api_log.sql"),
    ),
    (
        6,
        "profile versions",
        include_str!("../../migrations/sqlite/0006_profile_versions.sql"),
    ),
    (
        7,
        "console sessions",
        include_str!("../../migrations/sqlite/0007_console_sessions.sql"),
    ),
    (
        8,
        "e-mail confirmation and budget",
        include_str!("../../migrations/sqlite/0008_email_confirmation.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "lean claims",
        include_str!("../../migrations/postgres/0002_lean_claims.sql"),
    ),
    (
        3,
        "due deliveries",
        include_str!("../../migrations/postgres/0003_due_deliveries.sql"),
    ),
    (
        4,
        "assigned spans",
        include_str!("../../migrations/postgres/0004_assigned_spans.sql"),
    ),
    (
        5,
        "prices, usage and the API log",
        include_str!("../../migrations/postgres/0005_prices_usage_api_log.sql"),
    ),
    (
        6,
        "profile versions",
        include_str!("../../migrations/postgres/0006_profile_versions.sql"),
    ),
    (
        7,
        "console sessions",
        include_str!("../../migrations/postgres/0007_console_sessions.sql"),
    ),
    (
        8,
        "e-mail confirmation and budget",
        include_str!("../../migrations/postgres/0008_email_confirmation.sql"),
    ),
];

impl Db {
    pub async fn connect(config: &Config) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let url = &config.database_url;
        if config.is_sqlite() {
            let path = crate::config::sqlite_path(url);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating the database folder {}", dir.display()))?;
            }
            let url = format!("sqlite://{}?mode=rwc", path.display());
            let opts = quiet(AnyConnectOptions::from_str(&url)?);
            // Page cache per connection. The writer's is larger: it touches every index of the
            // create path, and a bulk import then writes each page once at commit instead of
            // spilling it to the WAL and reading it back (64 MiB was measured a little faster
            // for imports, but counts against the memory target). Readers mostly fetch a few
            // rows; their caches add to the process's memory.
            let reserve = config.database_wal_reserve_mib << 20;
            let pool = |max: u32, cache_kib: i64| {
                AnyPoolOptions::new()
                    .max_connections(max)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(move |conn, _| {
                        Box::pin(async move {
                            // Only takes effect on a new database, before WAL mode writes
                            // its header.
                            conn.execute(format!("PRAGMA page_size = {PAGE_SIZE}").as_str())
                                .await?;
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            conn.execute("PRAGMA synchronous = NORMAL").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            conn.execute(format!("PRAGMA cache_size = -{cache_kib}").as_str())
                                .await?;
                            // Commits never checkpoint (that copies pages into the database
                            // file and fsyncs it, tens of milliseconds); `wal::checkpointer` does.
                            conn.execute("PRAGMA wal_autocheckpoint = 0").await?;
                            // The log file goes back to its reserve when it restarts ([`wal`]).
                            if reserve > 0 {
                                conn.execute(
                                    format!("PRAGMA journal_size_limit = {reserve}").as_str(),
                                )
                                .await?;
                            }
                            Ok(())
                        })
                    })
            };
            // The one write connection lives as long as the pool, so its worker thread, pinned
            // here next to the create writer ([`cpu`]), stays the writer's.
            let workers = cpu::sqlite_workers();
            let write = pool(1, 32_000)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(opts.clone())
                .await?;
            let placement = config
                .database_pin_writer
                .then(cpu::Placement::new)
                .flatten();
            if let Some(p) = &placement {
                for tid in cpu::sqlite_workers().difference(&workers) {
                    cpu::pin(*tid, &[p.writer]);
                }
            }
            // Each SQLite connection is a thread of its own: more readers than a few per core
            // only add context switches (get by id: 4,951/s with 16, 5,782/s with 4).
            let read = pool(config.database_max_connections.clamp(2, 4), 4_000)
                .connect_with(opts)
                .await?;
            let log_path = api_log_file(&path);
            let log_opts = quiet(AnyConnectOptions::from_str(&format!(
                "sqlite://{}?mode=rwc",
                log_path.display()
            ))?);
            // Small caches: the log appends at the end of its indexes and lists a page at a time.
            // Its file checkpoints itself at commit (SQLite's default of 1,000 pages; it has no
            // checkpointer thread): a few commits a second, on the log writer's own thread.
            let log_pool = |max: u32| {
                AnyPoolOptions::new()
                    .max_connections(max)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            conn.execute("PRAGMA synchronous = NORMAL").await?;
                            conn.execute("PRAGMA cache_size = -2000").await?;
                            conn.execute("PRAGMA journal_size_limit = 16777216").await?;
                            Ok(())
                        })
                    })
            };
            let log = LogPools {
                write: log_pool(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_with(log_opts.clone())
                    .await
                    .with_context(|| format!("opening the API log {}", log_path.display()))?,
                read: log_pool(2).connect_with(log_opts).await?,
                inserter: Arc::new(apilog::LogInserter::new(log_path.clone())),
                main: path.clone(),
            };
            sqlx::raw_sql(API_LOG_SCHEMA).execute(&log.write).await?;
            let local = Arc::new(local::LocalReads::new(path.clone()));
            let open = Arc::downgrade(&local);
            let background = placement.as_ref().map(|p| p.others.clone());
            let wal = tokio::task::spawn_blocking(move || {
                let wal = wal::Wal::open(&path, reserve)?;
                if reserve > 0
                    && let Err(e) = wal.fill()
                {
                    tracing::warn!(error = %e, "cannot reserve room for the write-ahead log");
                }
                anyhow::Ok(wal)
            })
            .await?
            .context("opening the database for WAL checkpoints")?;
            std::thread::Builder::new()
                .name("numberdesk-checkpoint".into())
                .spawn(move || wal::checkpointer(wal, open, background))?;
            Ok(Db {
                dialect: Dialect::Sqlite,
                write,
                read,
                log: Some(log),
                local: Some(local),
                placement,
            })
        } else {
            let opts = quiet(AnyConnectOptions::from_str(url)?);
            let timeout_ms = config.database_statement_timeout_secs * 1000;
            let pool = AnyPoolOptions::new()
                .max_connections(config.database_max_connections)
                .acquire_timeout(Duration::from_secs(5))
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        conn.execute(format!("SET statement_timeout = {timeout_ms}").as_str())
                            .await?;
                        Ok(())
                    })
                })
                .connect_with(opts)
                .await
                .context("connecting to PostgreSQL")?;
            Ok(Db {
                dialect: Dialect::Postgres,
                write: pool.clone(),
                read: pool,
                log: None,
                local: None,
                placement: None,
            })
        }
    }

    /// Pool for queries that only read.
    pub fn read(&self) -> &AnyPool {
        &self.read
    }

    /// Point reads on the calling thread (SQLite only; see [`local`]).
    pub fn local(&self) -> Option<&local::LocalReads> {
        self.local.as_deref()
    }

    /// The CPU the create writer should run on ([`cpu`]), if it should be pinned.
    pub fn writer_cpu(&self) -> Option<usize> {
        self.placement.as_ref().map(|p| p.writer)
    }

    /// Pool for single-statement writes outside a transaction.
    pub fn write(&self) -> &AnyPool {
        &self.write
    }

    /// Pool for the API log's single-statement writes (its own file on SQLite, [`api_log_file`]).
    pub fn log_write(&self) -> &AnyPool {
        self.log.as_ref().map_or(&self.write, |l| &l.write)
    }

    /// The API log file's inserter (SQLite); None on PostgreSQL.
    pub fn log_inserter(&self) -> Option<&Arc<apilog::LogInserter>> {
        self.log.as_ref().map(|l| &l.inserter)
    }

    /// Pool for reading the API log.
    pub fn log_read(&self) -> &AnyPool {
        self.log.as_ref().map_or(&self.read, |l| &l.read)
    }

    /// Starts a write transaction on the API log (its own file on SQLite).
    pub async fn log_begin(&self) -> Result<Tx, sqlx::Error> {
        match &self.log {
            Some(l) => l.write.begin_with("BEGIN IMMEDIATE").await,
            None => self.write.begin().await,
        }
    }

    /// Moves API log entries left in the main SQLite file (written before the log had a file
    /// of its own) into the log's file, once; ids make a repeated move harmless.
    async fn move_old_log_entries(&self) -> anyhow::Result<()> {
        let Some(log) = &self.log else {
            return Ok(());
        };
        let main = &log.main;
        let any: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT 1 FROM api_log LIMIT 1) t")
            .fetch_one(&self.read)
            .await?;
        if any == 0 {
            return Ok(());
        }
        let mut conn = log.write.acquire().await?;
        sqlx::query("ATTACH DATABASE $1 AS main_file")
            .bind(main.display().to_string())
            .execute(&mut *conn)
            .await?;
        let moved = async {
            sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
            let n = sqlx::query("INSERT OR IGNORE INTO api_log SELECT * FROM main_file.api_log")
                .execute(&mut *conn)
                .await?
                .rows_affected();
            sqlx::query("DELETE FROM main_file.api_log")
                .execute(&mut *conn)
                .await?;
            sqlx::query("COMMIT").execute(&mut *conn).await?;
            Ok::<u64, sqlx::Error>(n)
        }
        .await;
        if moved.is_err() {
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        }
        sqlx::query("DETACH DATABASE main_file")
            .execute(&mut *conn)
            .await?;
        let n = moved.context("moving API log entries to the log's own file")?;
        tracing::info!(entries = n, "API log entries moved to the log's own file");
        Ok(())
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite, so the write lock is taken up front).
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        match self.dialect {
            Dialect::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await,
            Dialect::Postgres => self.write.begin().await,
        }
    }

    /// Applies the embedded migrations of this dialect and returns the schema version.
    /// Refuses a database whose schema is newer than this binary knows.
    pub async fn migrate(&self) -> anyhow::Result<i64> {
        let list = match self.dialect {
            Dialect::Sqlite => SQLITE_MIGRATIONS,
            Dialect::Postgres => POSTGRES_MIGRATIONS,
        };
        let migrations = list
            .iter()
            .map(|(v, d, sql)| {
                Migration::new(
                    *v,
                    Cow::Borrowed(*d),
                    MigrationType::Simple,
                    Cow::Borrowed(*sql),
                    false,
                )
            })
            .collect::<Vec<_>>();
        let migrator = Migrator {
            migrations: Cow::Owned(migrations),
            ignore_missing: false,
            locking: true,
            no_tx: false,
        };
        migrator.run(&self.write).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::VersionMissing(v) => anyhow::anyhow!(
                "the database schema (migration {v}) is newer than this numberdesk knows; upgrade numberdesk"
            ),
            other => anyhow::Error::new(other).context("applying database migrations"),
        })?;
        // Addresses named before they were confirmed keep receiving mail (once per database).
        emails::adopt_existing(self)
            .await
            .context("marking existing e-mail addresses confirmed")?;
        self.move_old_log_entries().await?;
        self.schema_version().await
    }

    pub async fn schema_version(&self) -> anyhow::Result<i64> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.read)
                .await?;
        Ok(v.unwrap_or(0))
    }

    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.read).await.is_ok()
    }

    pub async fn close(&self) {
        if let Some(local) = &self.local {
            local.close();
        }
        self.write.close().await;
        self.read.close().await;
        if let Some(log) = &self.log {
            log.write.close().await;
            log.read.close().await;
        }
    }

    /// Appends `FOR UPDATE SKIP LOCKED` where the dialect has it.
    pub fn skip_locked(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

/// Statements are not logged one by one; bulk imports would flood the log.
fn quiet(opts: AnyConnectOptions) -> AnyConnectOptions {
    opts.log_statements(tracing::log::LevelFilter::Off)
        .log_slow_statements(tracing::log::LevelFilter::Off, Duration::from_secs(10))
}

/// SQLite busy/locked, or a PostgreSQL serialization failure or deadlock: worth a retry.
pub fn is_busy(e: &dyn sqlx::error::DatabaseError) -> bool {
    matches!(
        e.code().as_deref(),
        Some("5" | "6" | "517" | "40001" | "40P01")
    )
}

/// A unique-constraint violation (SQLite 2067/1555, PostgreSQL 23505).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            matches!(db.code().as_deref(), Some("2067" | "1555" | "23505"))
        }
        _ => false,
    }
}

/// Whether a connection is SQLite, for statements that differ by dialect.
pub fn is_sqlite(conn: &sqlx::AnyConnection) -> bool {
    conn.backend_name() == "SQLite"
}

/// `(..),(..)` placeholders for `rows` rows of `cols` columns. SQLite gets anonymous `?`:
/// numbered parameters cost it a linear name lookup each, quadratic over a 20,000-value insert.
/// PostgreSQL gets `$1..$n`.
pub fn values_placeholders(conn: &sqlx::AnyConnection, rows: usize, cols: usize) -> String {
    let sqlite = is_sqlite(conn);
    let mut s = String::with_capacity(rows * cols * 6);
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            if sqlite {
                s.push('?');
            } else {
                s.push('$');
                s.push_str(&(r * cols + c + 1).to_string());
            }
        }
        s.push(')');
    }
    s
}

/// A stored number type; one this version does not know names its row (`key`).
pub fn number_type(
    table: &'static str,
    key: impl std::fmt::Display,
    stored: &str,
) -> Result<crate::domain::PhoneNumberType, sqlx::Error> {
    crate::domain::PhoneNumberType::parse(stored).ok_or_else(|| {
        corrupt(
            table,
            key.to_string(),
            format!("unknown phone number type {stored:?}"),
        )
    })
}

/// Reads a nullable TEXT column where `''` means "none" (area code and the lookup keys).
pub fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

/// An error that may carry a [`StoreError`]; [`retrying`] runs the work again when that one is
/// worth a retry.
pub trait Retryable {
    /// The database error behind this one, if any.
    fn store_error(&self) -> Option<&StoreError>;
}

impl Retryable for StoreError {
    fn store_error(&self) -> Option<&StoreError> {
        Some(self)
    }
}

/// Runs `f` again when the database reports a busy lock, a serialization failure, a deadlock
/// or a unique violation (another writer won a race); at most a few times.
pub async fn retrying<T, E, F, Fut>(mut f: F) -> Result<T, E>
where
    E: Retryable,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut attempt = 0;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                attempt += 1;
                let retry = e.store_error().is_some_and(StoreError::is_retryable);
                if !retry || attempt >= 5 {
                    return Err(e);
                }
                tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
            }
        }
    }
}
