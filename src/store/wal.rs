//! The SQLite write-ahead log: it starts on disk blocks the file system already holds, and its
//! checkpoints run here, off the writer's path.
//!
//! Why: appending to a file makes ext4 reserve new blocks under the file's block-map lock, and a
//! checkpoint pass's fsync of the log takes that lock while it allocates the blocks it writes
//! back. A commit that appended during that fsync waited for it: block requests of 1,000 numbers
//! that took 3 ms took 12–24 ms, once or twice per 200 (found with `perf sched`: the writer
//! blocked in `ext4_da_get_block_prep` → `down_write`; BENCHMARKS.md). Frames written over blocks
//! the file already holds need no allocation.
//!
//! So the log file is filled up to a reserve (`NUMBERDESK_DATABASE_WAL_RESERVE_MIB`, 64 MiB)
//! with written zeros at start-up ([`Wal::fill`]), while this connection holds the database's
//! write lock (`BEGIN IMMEDIATE` … `ROLLBACK`), so that no connection of another process
//! (`numberdesk inventory import`) appends a frame where they go. Zeros past the last frame are
//! what SQLite leaves there anyway after it restarts the log (old frames that fail the
//! checksum): recovery stops at the first frame that does not check. SQLite never shrinks the
//! file below that, and `journal_size_limit` (set on every connection, `Db::connect`) cuts it
//! back to the reserve when the log restarts, so a bulk import's log does not keep its size.
//!
//! The log restarts at the first commit after a checkpoint pass has copied all of it. Writes
//! back to back with no pause for that long fill the reserve at some point (a block request of
//! 1,000 writes about 266 KB; 64 MiB is some 250 of them), and from there the log grows as
//! before. Growing the reserve while the writer runs was tried and left out: zeros must be
//! written under the write lock (4 MiB took 8–23 ms here, longer than the writer may wait),
//! and blocks allocated with `fallocate` instead did not take the stalls away (BENCHMARKS.md).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Weak;
use std::time::Duration;

use rusqlite::Connection;

use super::{cpu, local};

/// Time between checkpoint passes.
const PASS_EVERY: Duration = Duration::from_millis(200);

/// Nice value of the checkpoint thread. At 19 (the lowest priority) it copied too slowly under
/// a full read load, and readers look pages up in a log not yet copied: get by id ran at
/// 14,200–14,400/s against 15,900–16,200/s at 10, with the same tail for block requests.
#[cfg(target_os = "linux")]
const CHECKPOINT_NICE: i32 = 10;

/// The log of one database file, and a connection of its own for checkpoints.
pub struct Wal {
    conn: Connection,
    path: PathBuf,
    /// Bytes of the log file written at start-up (0: none).
    reserve: u64,
}

impl Wal {
    pub fn open(db: &Path, reserve: u64) -> rusqlite::Result<Wal> {
        let conn = Connection::open(db)?;
        conn.busy_timeout(Duration::from_secs(1))?;
        let mut path = db.as_os_str().to_owned();
        path.push("-wal");
        Ok(Wal {
            conn,
            path: path.into(),
            reserve,
        })
    }

    /// Fills the log file up to the reserve with written zeros, under the write lock, and syncs
    /// them. For start-up: writers wait meanwhile (64 MiB: `numberdesk migrate` on a new
    /// database took 0.07–0.13 s here, against 0.02 s without). Returns the bytes added.
    pub fn fill(&self) -> anyhow::Result<u64> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let wrote = (|| -> std::io::Result<(File, u64)> {
            let file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&self.path)?;
            let have = file.metadata()?.len();
            let zeros = vec![0u8; 1 << 20];
            let mut at = have;
            while at < self.reserve {
                let n = (self.reserve - at).min(zeros.len() as u64);
                file.write_all_at(&zeros[..n as usize], at)?;
                at += n;
            }
            Ok((file, at - have))
        })();
        self.conn.execute_batch("ROLLBACK")?;
        let (file, added) = wrote?;
        if added > 0 {
            file.sync_data()?;
        }
        Ok(added)
    }

    fn pass(&self) -> rusqlite::Result<()> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
    }
}

/// Copies the log back into the database file, off the writer's path: a passive checkpoint every
/// 200 ms waits for no one and blocks no one. The log starts again from its beginning when a
/// write transaction begins with all of it copied (under writes back to back, only at the first
/// pause: BENCHMARKS.md). It runs on a thread of its own at a low CPU priority
/// ([`CHECKPOINT_NICE`]), on `cpus` (the CPUs the writer does not use, [`cpu`]): a pass copies
/// some megabytes, and on two cores it otherwise slowed the requests running meanwhile two- to
/// threefold (BENCHMARKS.md). Ends when the database is closed or dropped (`open` then is).
pub fn checkpointer(wal: Wal, open: Weak<local::LocalReads>, cpus: Option<Vec<usize>>) {
    if let Some(cpus) = cpus {
        cpu::pin(0, &cpus);
    }
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its arguments; on Linux `0` names the calling thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, CHECKPOINT_NICE);
    }
    let is_open = || open.upgrade().is_some_and(|l| !l.is_closed());
    while is_open() {
        std::thread::sleep(PASS_EVERY);
        if let Err(e) = wal.pass()
            && is_open()
        {
            tracing::warn!(error = %e, "WAL checkpoint failed; will try again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(db: &Path) -> i64 {
        Connection::open(db)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    /// Zeros past the last frame: a database opened from the files alone (as after a crash: the
    /// shared index is rebuilt from the log) still finds every commit, and commits made
    /// afterwards land over the zeros.
    #[test]
    fn zeros_after_the_frames_keep_every_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let writer = Connection::open(&db).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2);",
            )
            .unwrap();
        let wal = Wal::open(&db, 1 << 20).unwrap();
        let len = || std::fs::metadata(&wal.path).unwrap().len();
        let before = len();
        assert!(before > 0 && before < 1 << 20);
        assert_eq!(wal.fill().unwrap(), (1 << 20) - before);
        assert_eq!(wal.fill().unwrap(), 0, "already long enough");
        assert_eq!(len(), 1 << 20);
        writer.execute("INSERT INTO t VALUES (3)", []).unwrap();
        wal.pass().unwrap();

        let copy = tempfile::tempdir().unwrap();
        for f in ["t.db", "t.db-wal"] {
            std::fs::copy(dir.path().join(f), copy.path().join(f)).unwrap();
        }
        assert_eq!(rows(&copy.path().join("t.db")), 3);
        assert_eq!(rows(&db), 3);
        assert_eq!(len(), 1 << 20, "the frame went over the zeros");
    }
}
