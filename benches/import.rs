//! Stock import benchmark: times `numberdesk::stock::import` (the function the admin endpoint
//! calls, no HTTP) on a fresh embedded SQLite database and prints numbers/s for
//! (a) one `start`+`count` entry of `--count` numbers (default 1,000,000),
//! (b) `--entries` entries of `--per-entry` numbers (default 1,000 of 1,000) on another database,
//! (c) re-importing (a): every number a duplicate,
//! (d) `--singles` single numbers (default 100,000) in random order, half of them known.
//! Each run checks the counts and the number of whole blocks. The time includes validating the
//! entries (`numberdesk::stock::validate`, with its numbering-plan checks), as over HTTP.
//!
//! Run: `cargo bench --bench import` (optionally `-- --count 2000000 --entries 500 --per-entry 2000`).

#[allow(dead_code)] // the account set-up is not needed here
mod common;
use common::{arg, nl_local_entry as entry};

use std::time::Instant;

use numberdesk::AppState;
use numberdesk::config::Config;
use numberdesk::domain::stock::SEAL;
use numberdesk::stock::{StockBlock, StockEntry};
use numberdesk::store::inventory::TRACKED_BLOCK_SIZES;

const BASE: i64 = 31_200_000_000;

async fn fresh(dir: &tempfile::TempDir, name: &str) -> anyhow::Result<AppState> {
    let config = Config {
        database_url: format!("sqlite://{}/{name}.db", dir.path().display()),
        ..Config::default()
    };
    AppState::new(config).await
}

/// Imports `stock`, prints the rate, checks added/duplicates; returns seconds taken.
async fn timed(
    state: &AppState,
    label: &str,
    stock: &[StockBlock],
    want_added: i64,
) -> anyhow::Result<f64> {
    let total: i64 = stock.iter().map(|b| b.count).sum();
    // The entries as the endpoint receives them: validation (numbering-plan checks included)
    // is part of the time, as it is of an import over HTTP.
    let entries: Vec<StockEntry> = stock
        .iter()
        .map(|b| StockEntry {
            start: Some(format!("+{}", b.first)),
            count: Some(b.count),
            country_code: Some(b.country_code.clone()),
            phone_number_type: Some(b.phone_number_type.as_str().into()),
            area_code: b.area_code.clone(),
            city: b.city.clone(),
            region: b.region.clone(),
            ..StockEntry::default()
        })
        .collect();
    let started = Instant::now();
    let blocks = numberdesk::stock::validate(entries).map_err(|e| anyhow::anyhow!("{e}"))?;
    let checked = started.elapsed().as_secs_f64();
    let res = numberdesk::stock::import(state, &blocks)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let took = started.elapsed().as_secs_f64();
    println!(
        "{label}: {total} numbers in {} entries in {took:.2} s (validation {checked:.3} s): {:.0} numbers/s (added {}, duplicates {})",
        stock.len(),
        total as f64 / took,
        res.added,
        res.duplicates
    );
    anyhow::ensure!(
        res.added == want_added && res.duplicates == total - want_added,
        "{label}: unexpected counts"
    );
    Ok(took)
}

/// The sealed span of an entry of `count` numbers from `first`: its whole thousands.
fn sealed(first: i64, count: i64) -> (i64, i64) {
    let (a, b) = (
        (first + SEAL - 1) / SEAL * SEAL,
        (first + count) / SEAL * SEAL,
    );
    (a, b.max(a))
}

/// Whole blocks recorded, checked against the aligned blocks inside `[first, first + count)`;
/// inside the `sealed` spans only blocks of a sealed block's size or more are recorded.
async fn check_blocks(
    state: &AppState,
    first: i64,
    count: i64,
    sealed: &[(i64, i64)],
) -> anyhow::Result<()> {
    let got: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM whole_blocks")
        .fetch_one(state.db.read())
        .await?;
    let want: i64 = TRACKED_BLOCK_SIZES
        .iter()
        .map(|s| {
            let lo = (first + s - 1) / s;
            let hi = (first + count) / s;
            let inside_sealed: i64 = if *s < SEAL {
                sealed.iter().map(|(a, b)| (b - a) / s).sum()
            } else {
                0
            };
            (hi - lo).max(0) - inside_sealed
        })
        .sum();
    anyhow::ensure!(got == want, "whole_blocks: {got} rows, expected {want}");
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let count = arg("--count", 1_000_000) as i64;
    let entries = arg("--entries", 1_000) as i64;
    let per_entry = arg("--per-entry", 1_000) as i64;
    let dir = tempfile::tempdir()?;

    let a = fresh(&dir, "a").await?;
    timed(&a, "(a) one entry", &[entry(BASE, count)], count).await?;
    let sealed_a = [sealed(BASE, count)];
    check_blocks(&a, BASE, count, &sealed_a).await?;

    let b = fresh(&dir, "b").await?;
    let stock: Vec<StockBlock> = (0..entries)
        .map(|k| entry(BASE + k * per_entry, per_entry))
        .collect();
    timed(&b, "(b) many entries", &stock, entries * per_entry).await?;
    let sealed_b: Vec<(i64, i64)> = (0..entries)
        .map(|k| sealed(BASE + k * per_entry, per_entry))
        .collect();
    check_blocks(&b, BASE, entries * per_entry, &sealed_b).await?;
    b.db.close().await;

    timed(
        &a,
        "(c) re-import (a), all duplicates",
        &[entry(BASE, count)],
        0,
    )
    .await?;
    check_blocks(&a, BASE, count, &sealed_a).await?;

    // Single numbers in random order, the first half known: the path for duplicates and
    // scattered entries (rows returned by the insert, their blocks scanned).
    let singles = arg("--singles", 100_000) as i64;
    let from = BASE + count - singles / 2;
    let mut stock: Vec<StockBlock> = (0..singles).map(|k| entry(from + k, 1)).collect();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..stock.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        stock.swap(i, (x % (i as u64 + 1)) as usize);
    }
    let label = "(d) single numbers in random order, half known";
    timed(&a, label, &stock, singles - singles / 2).await?;
    check_blocks(&a, BASE, count + singles - singles / 2, &sealed_a).await?;
    Ok(())
}
