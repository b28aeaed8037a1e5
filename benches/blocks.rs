//! Block-request benchmark (issue 3): loads ~10,000,000 numbers into a fresh SQLite database with
//! most aligned blocks broken, then times number requests for one block of 10, 100 and 1,000
//! through the same service function the API calls (no HTTP), and prints p50/p99.
//!
//! Run: `cargo bench --bench blocks` (optionally `-- --thousands 11600 --requests 200 --only 1000
//! --keep DIR --no-pin --wal-reserve-mib 64`). `BLOCKS_TRACE=1` also prints every request's
//! time, in the order made, with `*` after those that ran while the host took a CPU and `+`
//! after those that ran while the kernel read from disk (below).
//!
//! Each series also says what the machine did meanwhile besides the service: how much CPU time
//! the host of this virtual machine took from it (`steal` in `/proc/stat`) and how much the
//! kernel read from disk (`pgpgin` in `/proc/vmstat`; the database's pages are all in the page
//! cache unless the kernel dropped them), and how many of the requests over 10 ms ran while
//! either happened (BENCHMARKS.md).

mod common;
use common::{arg, nl_local_entry as entry};

use std::time::{Duration, Instant};

use numberdesk::AppState;
use numberdesk::config::Config;
use numberdesk::domain::PhoneNumberType;
use numberdesk::model::Restrictions;
use numberdesk::orders::{self, CreateInput};
use numberdesk::stock::StockBlock;
use numberdesk::store::inventory;

/// What the machine has done besides the service, from Linux's counters (empty or zero where
/// there are none).
struct Machine {
    /// CPU time the host has taken from this virtual machine, per CPU, in ticks of 10 ms
    /// (`steal` in `/proc/stat`; `USER_HZ` is 100 on Linux).
    stolen: Vec<u64>,
    /// KiB the kernel has read from disk (`pgpgin` in `/proc/vmstat`).
    read_kib: u64,
}

impl Machine {
    fn now() -> Machine {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let vmstat = std::fs::read_to_string("/proc/vmstat").unwrap_or_default();
        Machine {
            stolen: stat
                .lines()
                .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
                .filter_map(|l| l.split_whitespace().nth(8)?.parse().ok())
                .collect(),
            read_kib: vmstat
                .lines()
                .find_map(|l| l.strip_prefix("pgpgin ")?.parse().ok())
                .unwrap_or(0),
        }
    }

    /// Ticks stolen since `before`, over all CPUs.
    fn stolen_since(&self, before: &Machine) -> u64 {
        self.stolen
            .iter()
            .zip(&before.stolen)
            .map(|(a, b)| a.saturating_sub(*b))
            .sum()
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize)
        .saturating_sub(1)
        .min(sorted.len() - 1)]
}

/// Stock of `thousands` aligned blocks of 1,000 from +31200000000: one in fifty is whole; the
/// others miss every number whose offset % 7 == 3, so none of their blocks of 10, 100 or 1,000
/// is whole.
fn fragmented_stock(thousands: usize) -> Vec<StockBlock> {
    let base: i64 = 31_200_000_000;
    let mut out = Vec::new();
    for k in 0..thousands as i64 {
        let start = base + k * 1000;
        if k % 50 == 0 {
            out.push(entry(start, 1000));
            continue;
        }
        let mut run_start: Option<i64> = None;
        for off in 0..1000 {
            let skip = off % 7 == 3;
            match (skip, run_start) {
                (false, None) => run_start = Some(off),
                (true, Some(s)) => {
                    out.push(entry(start + s, off - s));
                    run_start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = run_start {
            out.push(entry(start + s, 1000 - s));
        }
    }
    out
}

/// Waits until the write-ahead log is copied into the database file, then commits once (the
/// restrictions again), which starts the log from its beginning and cuts the file back to its
/// reserve (`store::wal`), as the service's first commit after a pause does. Each series of
/// requests then runs on a settled database, as an operator's orders would some time after a
/// bulk import, and not in the log the series before it left.
async fn settle(state: &AppState, r: &Restrictions) -> anyhow::Result<()> {
    sqlx::query("PRAGMA wal_checkpoint(RESTART)")
        .execute(state.db.write())
        .await?;
    inventory::put_restrictions(&state.db, r).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let thousands = arg("--thousands", 11_600);
    let requests = arg("--requests", 200);
    // `--keep DIR`: build the database in DIR and leave it there (to inspect or re-time it).
    let args: Vec<String> = std::env::args().collect();
    let keep = args
        .iter()
        .position(|a| a == "--keep")
        .and_then(|i| args.get(i + 1));
    let temp = tempfile::tempdir()?;
    let dir = keep.map_or(temp.path(), std::path::Path::new);
    let config = Config {
        database_url: format!("sqlite://{}/bench.db", dir.display()),
        // `--no-pin`: leave the writer's threads where the scheduler puts them (`store::cpu`).
        database_pin_writer: !args.iter().any(|a| a == "--no-pin"),
        // `--wal-reserve-mib N`: the log's reserve (`store::wal`; 0: none).
        database_wal_reserve_mib: arg("--wal-reserve-mib", 64) as u64,
        ..Config::default()
    };
    let state = AppState::new(config).await?;
    let (account_id, profile_id) = common::account_with_profile(&state).await?;
    let mut r = Restrictions::defaults("NL", numberdesk::domain::PhoneNumberType::Local);
    r.ranges_supported = true;
    r.allowed_range_sizes = vec![10, 100, 1000];

    let stock = fragmented_stock(thousands);
    let total: i64 = stock.iter().map(|b| b.count).sum();
    let started = Instant::now();
    numberdesk::stock::import(&state, &stock)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let took = started.elapsed();
    println!(
        "stock: {total} numbers in {} import entries, loaded in {:.1} s ({:.0} numbers/s)",
        stock.len(),
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64()
    );

    let started = Instant::now();
    settle(&state, &r).await?;
    println!(
        "import's log checkpointed in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let only = arg("--only", 0) as i64; // one block size, e.g. `--only 1000`
    for size in [10i64, 100, 1000]
        .into_iter()
        .filter(|s| only == 0 || *s == only)
    {
        let c = inventory::Criteria {
            country_code: "NL".into(),
            phone_number_type: numberdesk::domain::PhoneNumberType::Local,
            area_code: Some("20".into()),
            city: None,
            region: None,
        };
        settle(&state, &r).await?;
        let whole = inventory::count_units(&state.db, &c, Some(size)).await?;
        let n = requests.min(whole as usize);
        if n == 0 {
            println!("block of {size:>4}: no whole block left in this stock; use more --thousands");
            continue;
        }
        // Per request: its time, whether the host took a CPU and whether the kernel read from
        // disk while it ran.
        let mut samples: Vec<(Duration, bool, bool)> = Vec::with_capacity(n);
        let series_start = Machine::now();
        for _ in 0..n {
            let input = CreateInput {
                company_profile_id: profile_id.clone(),
                quantity: 1,
                range_size: Some(size),
                phone_number_type: PhoneNumberType::Local,
                area_code: Some("20".into()),
                city: None,
                region: None,
                comment: None,
                callback_url: None,
            };
            let before = Machine::now();
            let t = Instant::now();
            let answer = orders::create(&state, &account_id, input, None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let took = t.elapsed();
            let after = Machine::now();
            samples.push((
                took,
                after.stolen_since(&before) > 0,
                after.read_kib > before.read_kib,
            ));
            anyhow::ensure!(
                answer.body.contains("\"Completed\""),
                "block of {size} not assigned"
            );
        }
        let series_end = Machine::now();
        if std::env::var_os("BLOCKS_TRACE").is_some() {
            let t: Vec<String> = samples
                .iter()
                .map(|&(d, s, r)| {
                    let (s, r) = (if s { "*" } else { "" }, if r { "+" } else { "" });
                    format!("{:.1}{s}{r}", d.as_secs_f64() * 1e3)
                })
                .collect();
            println!("{}", t.join(" "));
        }
        // Requests over 10 ms: with stolen CPU, with disk reads (not stolen), with neither.
        let mut slow = [0; 3];
        for &(_, s, r) in samples.iter().filter(|x| x.0 > Duration::from_millis(10)) {
            slow[match (s, r) {
                (true, _) => 0,
                (false, true) => 1,
                (false, false) => 2,
            }] += 1;
        }
        let stole = samples.iter().filter(|x| x.1).count();
        let read = samples.iter().filter(|x| x.2).count();
        let mut times: Vec<Duration> = samples.iter().map(|x| x.0).collect();
        times.sort();
        let log = std::fs::metadata(dir.join("bench.db-wal")).map_or(0, |m| m.len());
        println!(
            "block of {size:>4}: {n} requests ({whole} whole blocks before): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; log file {:.0} MB",
            pct(&times, 0.50).as_secs_f64() * 1e3,
            pct(&times, 0.99).as_secs_f64() * 1e3,
            times.last().unwrap().as_secs_f64() * 1e3,
            log as f64 / 1e6
        );
        println!(
            "  meanwhile the host took {} ms of CPU ({} requests ran then) and the kernel read {:.1} MB from disk ({} requests); over 10 ms: {} with CPU taken, {} more with disk reads, {} with neither",
            series_end.stolen_since(&series_start) * 10,
            stole,
            series_end.read_kib.saturating_sub(series_start.read_kib) as f64 / 1024.0,
            read,
            slow[0],
            slow[1],
            slow[2]
        );
    }
    Ok(())
}
