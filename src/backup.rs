//! `numberdesk backup FILE`: a consistent copy of the SQLite database, taken while servers keep
//! writing to it.
//!
//! The copy is made with SQLite's online backup API in a single step: one read transaction over
//! the whole database, so the copy is the database exactly as it stood when that transaction
//! began (every commit before it, none after). In write-ahead-log mode a reader blocks no writer,
//! so servers on the same file go on committing meanwhile; the only cost to them is that the
//! checkpointer cannot copy the log past the backup's snapshot until it ends, so the log grows
//! for that long. (Copying a few pages per step instead would restart from the beginning at
//! every commit of another connection and, under a steady load, might never finish.)
//!
//! The copy is written to a hidden temporary file next to `FILE`, synced, and then given its
//! name without replacing anything, so `FILE` is either absent or a complete database, and an
//! existing `FILE` is never overwritten.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

/// How long the copy waits for a moment when the source is busy (a writer recovering the log,
/// for instance) before it gives up.
const BUSY_WAIT: Duration = Duration::from_secs(30);

/// What `numberdesk backup` prints.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BackupReport {
    /// The file written, as given.
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// The copy of the API log's own file, written beside `path` (see
    /// [`crate::store::api_log_file`]); absent when the database has no such file.
    #[serde(rename = "apiLog", skip_serializing_if = "Option::is_none")]
    pub api_log: Option<LogCopy>,
}

/// The copy of the API log's file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LogCopy {
    pub path: String,
    pub bytes: u64,
}

/// Why a backup was not made.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The target exists: a backup never overwrites a file.
    #[error("{0} already exists; a backup never overwrites a file, choose another name")]
    Exists(PathBuf),
    /// The database is PostgreSQL, whose own tools make consistent copies.
    #[error(
        "numberdesk backup copies SQLite databases; back up PostgreSQL with pg_dump, e.g. \
         `pg_dump --format=custom --file=numberdesk.dump \"$NUMBERDESK_DATABASE_URL\"`"
    )]
    Postgres,
    /// The source database file does not exist.
    #[error("there is no database at {0}")]
    NoDatabase(PathBuf),
    /// Reading, writing or renaming a file failed.
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// SQLite refused the copy.
    #[error("copying the database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The source stayed busy for [`BUSY_WAIT`].
    #[error("the database stayed busy for {0:?}; try again")]
    Busy(Duration),
}

impl BackupError {
    /// True for mistakes in how the command was called (exit code 2), as opposed to failures
    /// while copying.
    pub fn is_usage(&self) -> bool {
        matches!(self, BackupError::Exists(_) | BackupError::Postgres)
    }
}

/// Checks what can be checked before the database is opened: the database is SQLite and `target`
/// does not exist yet.
pub fn precheck(config: &crate::config::Config, target: &Path) -> Result<(), BackupError> {
    if !config.is_sqlite() {
        return Err(BackupError::Postgres);
    }
    if target.symlink_metadata().is_ok() {
        return Err(BackupError::Exists(target.to_path_buf()));
    }
    Ok(())
}

/// Copies the SQLite database at `source` to `target` (which must not exist), and the API
/// log's file beside it (when there is one) to the log file name of `target`, and reports the
/// copies' sizes. The two are separate snapshots, each consistent in itself (the log refers to
/// the rest only by ids). Blocking: call it off the async runtime.
pub fn backup(source: &Path, target: &Path) -> Result<BackupReport, BackupError> {
    if target.symlink_metadata().is_ok() {
        return Err(BackupError::Exists(target.to_path_buf()));
    }
    if !source.exists() {
        return Err(BackupError::NoDatabase(source.to_path_buf()));
    }
    let log_source = crate::store::api_log_file(source);
    let log_target = crate::store::api_log_file(target);
    let with_log = log_source.exists();
    if with_log && log_target.symlink_metadata().is_ok() {
        return Err(BackupError::Exists(log_target));
    }
    let bytes = copy(source, target)?;
    let api_log = if with_log {
        Some(LogCopy {
            bytes: copy(&log_source, &log_target)?,
            path: log_target.display().to_string(),
        })
    } else {
        None
    };
    Ok(BackupReport {
        path: target.display().to_string(),
        bytes,
        api_log,
    })
}

/// One file's consistent copy (see the module doc); answers its size.
fn copy(source: &Path, target: &Path) -> Result<u64, BackupError> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let io = |what: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| BackupError::Io { what, path, source }
    };
    let tmp = tempfile::Builder::new()
        .prefix(".numberdesk-backup-")
        .suffix(".partial")
        .tempfile_in(&dir)
        .map_err(io("creating a file in", &dir))?;

    // Read-write without create: a read-only connection cannot open a WAL database whose
    // shared-memory index does not exist yet (no server running). It never writes.
    let src = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    src.busy_timeout(Duration::from_secs(10))?;
    let mut dst = Connection::open(tmp.path())?;
    {
        let copy = Backup::new(&src, &mut dst)?;
        let started = Instant::now();
        loop {
            // -1: every page in one step, under one read transaction (see the module doc).
            match copy.step(-1)? {
                StepResult::Done => break,
                _ => {
                    if started.elapsed() > BUSY_WAIT {
                        return Err(BackupError::Busy(BUSY_WAIT));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
    dst.close().map_err(|(_, e)| e)?;
    drop(src);
    tmp.as_file()
        .sync_all()
        .map_err(io("syncing", tmp.path()))?;
    // Fails rather than replaces when `target` appeared meanwhile.
    tmp.persist_noclobber(target).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            BackupError::Exists(target.to_path_buf())
        } else {
            BackupError::Io {
                what: "naming the copy",
                path: target.to_path_buf(),
                source: e.error,
            }
        }
    })?;
    // The new name is durable once the folder is synced.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(std::fs::metadata(target)
        .map_err(io("reading the size of", target))?
        .len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(db: &Path) -> i64 {
        Connection::open(db)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    /// The copy holds what was committed, also commits still only in the write-ahead log, and an
    /// existing target is left as it was.
    #[test]
    fn copies_committed_rows_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("src.db");
        let writer = Connection::open(&db).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3);",
            )
            .unwrap();
        let target = dir.path().join("copy.db");
        let report = backup(&db, &target).unwrap();
        assert_eq!(report.path, target.display().to_string());
        assert_eq!(report.bytes, std::fs::metadata(&target).unwrap().len());
        assert_eq!(count(&target), 3);

        writer.execute("INSERT INTO t VALUES (4)", []).unwrap();
        let before = std::fs::read(&target).unwrap();
        assert!(matches!(
            backup(&db, &target),
            Err(BackupError::Exists(p)) if p == target
        ));
        assert_eq!(std::fs::read(&target).unwrap(), before);
        assert_eq!(count(&target), 3);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("partial"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_missing_source_is_an_error_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("copy.db");
        let err = backup(&dir.path().join("none.db"), &target).unwrap_err();
        assert!(matches!(err, BackupError::NoDatabase(_)), "{err}");
        assert!(!err.is_usage());
        assert!(!target.exists());
    }
}
