//! Cost of one statement's round trip to the SQLite write connection's worker thread: from a
//! one-thread runtime on the worker's CPU, from one on another CPU (see `store::cpu`, which
//! pins the create writer next to the worker), and from a task of a multi-thread runtime (where
//! the create writer ran before).
//!
//! Run: `cargo bench --bench handoff`.

use std::time::Instant;

use numberdesk::config::Config;
use numberdesk::store::{Db, cpu};

const STATEMENTS: u32 = 2_000;

fn main() -> anyhow::Result<()> {
    let temp = tempfile::tempdir()?;
    let config = Config {
        database_url: format!("sqlite://{}/handoff.db", temp.path().display()),
        ..Config::default()
    };
    let main = tokio::runtime::Runtime::new()?;
    let db = main.block_on(Db::connect(&config))?;
    let Some(writer) = db.writer_cpu() else {
        println!("fewer than two CPUs (or not Linux): nothing is pinned, nothing to compare");
        return Ok(());
    };
    let other = cpu::Placement::new().map_or(writer, |p| p.others[0]);
    for round in 0..3 {
        for (label, at) in [("same CPU as the worker", writer), ("another CPU", other)] {
            let db = db.clone();
            let per = std::thread::spawn(move || -> anyhow::Result<f64> {
                cpu::pin(0, &[at]);
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(per_statement(&db))
            })
            .join()
            .expect("bench thread")?;
            println!(
                "round {round}: {label} (CPU {at}): {:.1} µs per statement",
                per * 1e6
            );
        }
    }
    for round in 0..3 {
        let db = db.clone();
        let per = main.block_on(main.spawn(async move { per_statement(&db).await }))??;
        println!(
            "round {round}: a task of a multi-thread runtime: {:.1} µs per statement",
            per * 1e6
        );
    }
    main.block_on(db.close());
    Ok(())
}

/// Seconds per `SELECT 1` in a write transaction, over [`STATEMENTS`] statements.
async fn per_statement(db: &Db) -> anyhow::Result<f64> {
    let mut tx = db.begin().await?;
    let t = Instant::now();
    for _ in 0..STATEMENTS {
        sqlx::query("SELECT 1").execute(&mut *tx).await?;
    }
    let per = t.elapsed().as_secs_f64() / f64::from(STATEMENTS);
    tx.rollback().await?;
    Ok(per)
}
