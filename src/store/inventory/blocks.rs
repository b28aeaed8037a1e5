//! Whole blocks (aligned runs of free numbers of one kind, recorded so a range claim need not
//! scan) and sealing (large fresh blocks kept out of the claim indexes until needed).

use super::claims::criteria_filter;
use super::{BlockKey, Criteria, Unit};
use crate::domain::stock;
use crate::store::{Db, number_type};

/// Block sizes kept in `whole_blocks`. Other sizes are found by a (slower) scan.
pub const TRACKED_BLOCK_SIZES: [i64; 4] = [10, 100, 1000, 10000];

/// Records the blocks of `size` from `lo` to `hi` (both multiples of `size`) as whole.
pub(super) async fn insert_whole_blocks(
    conn: &mut sqlx::AnyConnection,
    size: i64,
    lo: i64,
    hi: i64,
    k: &BlockKey,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "WITH RECURSIVE b(x) AS (SELECT $1 UNION ALL SELECT x + {size} FROM b WHERE x + {size} < $2) \
         INSERT INTO whole_blocks (size, start_num, country_code, phone_number_type, area_code, city_key, region_key) \
         SELECT {size}, x, $3, $4, $5, $6, $7 FROM b WHERE true ON CONFLICT (size, start_num) DO NOTHING"
    ))
    .bind(lo)
    .bind(hi)
    .bind(&k.country_code)
    .bind(k.phone_number_type.as_str())
    .bind(&k.area_code)
    .bind(&k.city_key)
    .bind(&k.region_key)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The aligned blocks of `size` that contain a number of any span `(first, last)` (both
/// included), as runs of consecutive block starts `(first start, last start)`.
fn block_runs(size: i64, spans: impl Iterator<Item = (i64, i64)>) -> Vec<(i64, i64)> {
    let mut starts: Vec<(i64, i64)> = spans
        .map(|(first, last)| (first - first % size, last - last % size))
        .collect();
    starts.sort_unstable();
    let mut runs: Vec<(i64, i64)> = Vec::new();
    for (a, b) in starts {
        match runs.last_mut() {
            Some((_, end)) if a <= *end + size => *end = (*end).max(b),
            _ => runs.push((a, b)),
        }
    }
    runs
}

/// Forgets the whole blocks that contain any number of `units` (they are no longer all free):
/// per tracked size, one range of block starts per run of touched blocks.
pub async fn break_blocks(
    conn: &mut sqlx::AnyConnection,
    units: &[Unit],
) -> Result<(), sqlx::Error> {
    let mut terms = Vec::new();
    for t in TRACKED_BLOCK_SIZES {
        let runs = block_runs(t, units.iter().map(|u| (u.first, u.last())));
        terms.extend(runs.into_iter().map(|(a, b)| (t, a, b)));
    }
    // A few terms per statement: SQLite limits the depth of an expression tree. The bounds are
    // bound, so a claim of one unit always sends the same statement text.
    for chunk in terms.chunks(100) {
        let sql = chunk
            .iter()
            .enumerate()
            .map(|(i, (t, _, _))| {
                format!(
                    "(size = {t} AND start_num >= ${} AND start_num <= ${})",
                    2 * i + 1,
                    2 * i + 2
                )
            })
            .collect::<Vec<_>>()
            .join(" OR ");
        let sql = format!("DELETE FROM whole_blocks WHERE {sql}");
        let mut q = sqlx::query(&sql);
        for (_, a, b) in chunk {
            q = q.bind(*a).bind(*b);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Returns numbers claimed earlier in this transaction to stock (a batch claim that took more
/// than it could hand out). Their whole blocks were not broken, so nothing else changes.
pub async fn unclaim(conn: &mut sqlx::AnyConnection, nums: &[i64]) -> Result<(), sqlx::Error> {
    for chunk in nums.chunks(500) {
        // Integers from our own claim, not input: safe to write into the statement.
        let list = chunk
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        sqlx::query(&format!(
            "UPDATE numbers SET status = {} WHERE num IN ({list}) AND status = {}",
            stock::AVAILABLE,
            stock::ASSIGNED
        ))
        .persistent(false) // a text seen once: keep it out of the statement cache
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Records, among the blocks containing `nums` (numbers that just became free), those that are
/// now whole: all numbers free and of one country, type, area code, city and region.
pub async fn mark_whole_blocks(
    conn: &mut sqlx::AnyConnection,
    nums: &[i64],
) -> Result<(), sqlx::Error> {
    let ranges: Vec<(i64, i64)> = nums.iter().map(|&n| (n, n + 1)).collect();
    mark_whole_ranges(conn, &ranges).await
}

/// As [`mark_whole_blocks`], for the numbers of the ranges `[lo, hi)`.
pub(super) async fn mark_whole_ranges(
    conn: &mut sqlx::AnyConnection,
    ranges: &[(i64, i64)],
) -> Result<(), sqlx::Error> {
    for s in TRACKED_BLOCK_SIZES {
        // One grouped scan per run of touched blocks.
        let spans = ranges
            .iter()
            .filter(|(lo, hi)| lo < hi)
            .map(|&(lo, hi)| (lo, hi - 1));
        for (first, last) in block_runs(s, spans) {
            mark_whole_in(conn, s, first, last + s).await?;
        }
    }
    Ok(())
}

/// Records the whole blocks of `size` in `[lo, hi)` (multiples of `size`), by a grouped scan.
/// Blocks smaller than a sealed block are whole only of unsealed numbers.
pub(super) async fn mark_whole_in(
    conn: &mut sqlx::AnyConnection,
    s: i64,
    lo: i64,
    hi: i64,
) -> Result<(), sqlx::Error> {
    let free = if s < stock::SEAL {
        format!("status = {}", stock::AVAILABLE)
    } else {
        stock::FREE_SQL.to_string()
    };
    sqlx::query(&format!(
        "INSERT INTO whole_blocks (size, start_num, country_code, phone_number_type, area_code, city_key, region_key) \
         SELECT {s}, n.num, n.country_code, n.phone_number_type, n.area_code, n.city_key, n.region_key FROM numbers n \
         WHERE n.num IN (SELECT (num / {s}) * {s} FROM numbers WHERE num >= $1 AND num < $2 AND {free} \
           GROUP BY num / {s} HAVING COUNT(*) = {s} AND COUNT(DISTINCT country_code || '|' || phone_number_type || '|' || area_code || '|' || city_key || '|' || region_key) = 1) \
         ON CONFLICT (size, start_num) DO NOTHING"
    ))
    .bind(lo)
    .bind(hi)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The condition on a `whole_blocks` row of a sealed block (its first number is sealed).
pub(super) fn sealed_block() -> String {
    format!(
        "size = {} AND (SELECT status FROM numbers WHERE num = whole_blocks.start_num) = {}",
        stock::SEAL,
        stock::SEALED
    )
}

/// Unseals up to `blocks` sealed blocks matching `c`, the lowest first (see
/// [`stock::SEALED`]). Returns how many numbers it unsealed.
pub(super) async fn unseal(
    conn: &mut sqlx::AnyConnection,
    db: &Db,
    c: &Criteria,
    blocks: i64,
) -> Result<u64, sqlx::Error> {
    let (filter, params) = criteria_filter(c, 2);
    let sql = format!(
        "SELECT start_num, country_code, phone_number_type, area_code, city_key, region_key \
         FROM whole_blocks WHERE {filter} AND {sealed} ORDER BY start_num LIMIT $1{lock}",
        sealed = sealed_block(),
        lock = db.skip_locked(),
    );
    let mut q = sqlx::query_as(&sql).bind(blocks);
    for p in &params {
        q = q.bind(p);
    }
    let rows: Vec<(i64, String, String, String, String, String)> = q.fetch_all(&mut *conn).await?;
    let blocks: Vec<(i64, Option<BlockKey>)> = rows
        .into_iter()
        .map(
            |(start, country_code, phone_number_type, area_code, city_key, region_key)| {
                let key = BlockKey {
                    country_code,
                    phone_number_type: number_type("whole_blocks", start, &phone_number_type)?,
                    area_code,
                    city_key,
                    region_key,
                };
                Ok((start, Some(key)))
            },
        )
        .collect::<Result<_, sqlx::Error>>()?;
    unseal_at(conn, &blocks).await
}

/// Unseals the sealed numbers of the blocks of [`stock::SEAL`] starting at the given numbers:
/// they join the claim indexes, and the whole smaller blocks among them are recorded; for a
/// block unsealed whole (its key given), all of them without a scan.
pub(super) async fn unseal_at(
    conn: &mut sqlx::AnyConnection,
    blocks: &[(i64, Option<BlockKey>)],
) -> Result<u64, sqlx::Error> {
    let mut unsealed = 0;
    for (b, key) in blocks {
        let b = *b;
        let n = unseal_span(conn, b, b + stock::SEAL).await?;
        for s in TRACKED_BLOCK_SIZES.into_iter().filter(|&s| s < stock::SEAL) {
            match key {
                Some(k) if n == stock::SEAL as u64 => {
                    insert_whole_blocks(conn, s, b, b + stock::SEAL, k).await?
                }
                _ if n > 0 => mark_whole_in(conn, s, b, b + stock::SEAL).await?,
                _ => {}
            }
        }
        unsealed += n;
    }
    Ok(unsealed)
}

/// Unseals the sealed numbers in `[lo, hi)`; returns how many.
pub(super) async fn unseal_span(
    conn: &mut sqlx::AnyConnection,
    lo: i64,
    hi: i64,
) -> Result<u64, sqlx::Error> {
    let sql = format!(
        "UPDATE numbers SET status = {} WHERE num >= $1 AND num < $2 AND status = {}",
        stock::AVAILABLE,
        stock::SEALED
    );
    let done = sqlx::query(&sql).bind(lo).bind(hi).execute(conn).await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_runs_join_touching_blocks_and_keep_gaps() {
        // 5..=12 touches the blocks of 10 at 0 and 10; 31 the block at 30: a gap at 20.
        assert_eq!(
            block_runs(10, [(5, 12), (31, 31)].into_iter()),
            vec![(0, 10), (30, 30)]
        );
        // Adjacent blocks in any order make one run; a span inside a run adds nothing.
        assert_eq!(
            block_runs(10, [(40, 45), (20, 29), (30, 39), (22, 23)].into_iter()),
            vec![(20, 40)]
        );
        assert_eq!(block_runs(100, std::iter::empty()), vec![]);
        // A released number cut out of a block of 1,000: only its own block of each size.
        for s in TRACKED_BLOCK_SIZES {
            let n = 31_201_000_567;
            assert_eq!(
                block_runs(s, [(n, n)].into_iter()),
                vec![(n - n % s, n - n % s)]
            );
        }
    }
}
