//! Which CPU the SQLite writer runs on. Every statement through sqlx is a hand-off between the
//! task that sends it and the connection's worker thread, and back; a create sends about a
//! dozen. On SQLite the create writer runs on a one-thread runtime of its own
//! (`orders::spawn_create_writer`), and it and the write connection's worker thread are pinned
//! to one CPU, the last this process may use; the WAL checkpointer gets the others. Measured on
//! the project's 2-CPU machines (BENCHMARKS.md): block requests of 1,000 numbers took a quarter
//! less time than with the same threads unpinned, single creates ran 15–35 % faster. In
//! isolation a hand-off costs 11–13 µs wherever the threads run (`cargo bench --bench
//! handoff`), so the gain is under load: the pair no longer shares a CPU with the checkpoint
//! passes, and its wake-ups stay on one CPU. Linux only; elsewhere, with a single CPU, with
//! `database_pin_writer` off, or where pinning fails, the threads stay where the scheduler puts
//! them.

use std::collections::BTreeSet;

/// The CPU of the writer and the CPUs of the background work, when there are at least two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub writer: usize,
    pub others: Vec<usize>,
}

impl Placement {
    /// From the CPUs this thread may run on.
    pub fn new() -> Option<Placement> {
        Self::of(&allowed())
    }

    fn of(cpus: &[usize]) -> Option<Placement> {
        let (&writer, others) = cpus.split_last()?;
        (!others.is_empty()).then(|| Placement {
            writer,
            others: others.to_vec(),
        })
    }
}

/// Ids of this process's SQLite connection worker threads (sqlx names them
/// `sqlx-sqlite-worker-N`; the kernel keeps 15 characters).
pub fn sqlite_workers() -> BTreeSet<i32> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return BTreeSet::new();
    };
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|name| name.starts_with("sqlx-sqlite-wor"))
        })
        .filter_map(|t| t.file_name().to_str()?.parse().ok())
        .collect()
}

#[cfg(target_os = "linux")]
fn allowed() -> Vec<usize> {
    // SAFETY: `set` is a plain bit set that sched_getaffinity fills; 0 names the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

#[cfg(not(target_os = "linux"))]
fn allowed() -> Vec<usize> {
    Vec::new()
}

/// Lets thread `tid` (0: the calling thread) run on `cpus` only. False if that failed.
#[cfg(target_os = "linux")]
pub fn pin(tid: i32, cpus: &[usize]) -> bool {
    // SAFETY: `set` is a plain bit set built here; sched_setaffinity only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &c in cpus {
            libc::CPU_SET(c, &mut set);
        }
        libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

#[cfg(not(target_os = "linux"))]
pub fn pin(_tid: i32, _cpus: &[usize]) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_gets_the_last_cpu_and_needs_a_second_one() {
        assert_eq!(Placement::of(&[]), None);
        assert_eq!(Placement::of(&[3]), None);
        assert_eq!(
            Placement::of(&[0, 2, 5]),
            Some(Placement {
                writer: 5,
                others: vec![0, 2]
            })
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_pinned_thread_runs_where_it_was_pinned() {
        let cpus = allowed();
        assert!(!cpus.is_empty());
        let last = *cpus.last().unwrap();
        let seen = std::thread::spawn(move || {
            assert!(pin(0, &[last]));
            allowed()
        })
        .join()
        .unwrap();
        assert_eq!(seen, vec![last]);
    }
}
