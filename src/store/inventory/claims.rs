//! Claims: taking free numbers and blocks for a request in guarded statements, and counting
//! what is free.

use super::blocks::{TRACKED_BLOCK_SIZES, sealed_block, unseal, unseal_at};
use super::{BlockKey, Criteria, Unit, key};
use crate::domain::stock;
use crate::store::Db;

/// The first numbers of up to `q` free aligned blocks of `size` matching `c`, as a sub-select
/// whose parameters start at `$2` (`$1` is `q`).
fn block_starts(db: &Db, c: &Criteria, size: i64) -> (String, Vec<String>) {
    if TRACKED_BLOCK_SIZES.contains(&size) {
        let (filter, params) = criteria_filter(c, 2);
        (
            format!(
                "SELECT start_num FROM whole_blocks WHERE size = {size} AND {filter} ORDER BY start_num LIMIT $1{}",
                db.skip_locked()
            ),
            params,
        )
    } else {
        // Sealed numbers count: the claim unseals what it leaves of their blocks.
        let (filter, params) = criteria_filter(c, 2);
        (
            format!(
                "SELECT f.num AS start_num FROM numbers f WHERE {filter} AND f.{free} AND f.num % {size} = 0 AND \
                 (SELECT COUNT(*) FROM numbers g WHERE g.num >= f.num AND g.num < f.num + {size} AND g.{free} \
                  AND g.country_code = f.country_code AND g.phone_number_type = f.phone_number_type AND g.area_code = f.area_code \
                  AND g.city_key = f.city_key AND g.region_key = f.region_key) = {size} ORDER BY f.num LIMIT $1",
                free = stock::FREE_SQL
            ),
            params,
        )
    }
}

/// Claims `q` free aligned blocks of `size`: reads up to `q` block starts (unsealing whole
/// blocks when smaller tracked blocks run short), then takes their numbers with guarded
/// statements (as [`claim_singles`]: the free status is repeated) that return only a count, so
/// a block of 1,000 sends no rows back. Returns the units claimed, or none when stock is short
/// or a number was taken meanwhile: the caller then rolls back (all or nothing).
pub async fn claim_blocks(
    conn: &mut sqlx::AnyConnection,
    db: &Db,
    c: &Criteria,
    size: i64,
    q: i64,
) -> Result<Vec<Unit>, sqlx::Error> {
    let (sql, params) = block_starts(db, c, size);
    let read = async |conn: &mut sqlx::AnyConnection| {
        let mut query = sqlx::query_scalar(&sql).bind(q);
        for p in &params {
            query = query.bind(p);
        }
        query.fetch_all(conn).await
    };
    let mut starts: Vec<i64> = read(&mut *conn).await?;
    let tracked = TRACKED_BLOCK_SIZES.contains(&size);
    let short = q - starts.len() as i64;
    if short > 0 && tracked && size < stock::SEAL {
        let blocks = (short * size + stock::SEAL - 1) / stock::SEAL;
        if unseal(conn, db, c, blocks).await? > 0 {
            starts = read(&mut *conn).await?;
        }
    }
    if (starts.len() as i64) < q {
        return Ok(Vec::new());
    }
    // One range scan per block; a few blocks per statement, as SQLite limits the depth of an
    // expression. The bounds are bound, so the statement's text (and its cached preparation)
    // depends only on how many blocks it takes.
    let mut taken = 0;
    for chunk in starts.chunks(100) {
        let ranges = (0..chunk.len())
            .map(|i| format!("(num >= ${} AND num < ${})", 2 * i + 1, 2 * i + 2))
            .collect::<Vec<_>>()
            .join(" OR ");
        let sql = format!(
            "UPDATE numbers SET status = {} WHERE ({ranges}) AND {}",
            stock::ASSIGNED,
            stock::FREE_SQL,
        );
        let mut query = sqlx::query(&sql);
        for s in chunk {
            query = query.bind(*s).bind(s + size);
        }
        taken += query.execute(&mut *conn).await?.rows_affected();
    }
    if taken != (q * size) as u64 {
        return Ok(Vec::new());
    }
    if !tracked {
        // What is left of the sealed blocks these took part of.
        let mut touched: Vec<i64> = starts
            .iter()
            .flat_map(|&first| {
                let last = first + size - 1;
                (first - first % stock::SEAL..=last).step_by(stock::SEAL as usize)
            })
            .collect();
        touched.dedup();
        let touched: Vec<(i64, Option<BlockKey>)> =
            touched.into_iter().map(|b| (b, None)).collect();
        unseal_at(conn, &touched).await?;
    }
    Ok(starts
        .into_iter()
        .map(|first| Unit { first, size })
        .collect())
}

/// Free units matching `c`: single numbers, or whole aligned blocks of `range_size`.
pub async fn count_units(
    db: &Db,
    c: &Criteria,
    range_size: Option<i64>,
) -> Result<i64, sqlx::Error> {
    let Some(size) = range_size else {
        return count_free(db, c).await;
    };
    let (starts, params) = block_starts(db, c, size);
    let starts = starts.replace(" FOR UPDATE SKIP LOCKED", "");
    let sql = format!("SELECT COUNT(*) FROM ({starts}) b");
    let mut q = sqlx::query_scalar(&sql).bind(i64::MAX);
    for p in &params {
        q = q.bind(p);
    }
    let whole: i64 = q.fetch_one(db.read()).await?;
    if TRACKED_BLOCK_SIZES.contains(&size) && size < stock::SEAL {
        return Ok(whole + stock::SEAL / size * count_sealed(db, c).await?);
    }
    Ok(whole)
}

/// How many sealed blocks match `c`.
async fn count_sealed(db: &Db, c: &Criteria) -> Result<i64, sqlx::Error> {
    let (filter, params) = criteria_filter(c, 1);
    let sql = format!(
        "SELECT COUNT(*) FROM whole_blocks WHERE {filter} AND {}",
        sealed_block()
    );
    let mut q = sqlx::query_scalar(&sql);
    for p in &params {
        q = q.bind(p);
    }
    q.fetch_one(db.read()).await
}

/// The `WHERE` of free numbers matching `c`, with its parameters from `$first` on.
fn free_filter(c: &Criteria, first: usize) -> (String, Vec<String>) {
    let (sql, params) = criteria_filter(c, first);
    (format!("{sql} AND status = {}", stock::AVAILABLE), params)
}

/// The `WHERE` of rows (numbers or whole blocks) matching `c`, parameters from `$first` on.
pub(super) fn criteria_filter(c: &Criteria, first: usize) -> (String, Vec<String>) {
    let mut sql = format!(
        "country_code = ${} AND phone_number_type = ${}",
        first,
        first + 1
    );
    let mut params = vec![
        c.country_code.clone(),
        c.phone_number_type.as_str().to_string(),
    ];
    let mut add = |col: &str, v: String, sql: &mut String| {
        params.push(v);
        sql.push_str(&format!(" AND {col} = ${}", first + params.len() - 1));
    };
    if let Some(a) = &c.area_code {
        add("area_code", a.clone(), &mut sql);
    }
    if c.city.is_some() {
        add("city_key", key(c.city.as_deref()), &mut sql);
    }
    if c.region.is_some() {
        add("region_key", key(c.region.as_deref()), &mut sql);
    }
    (sql, params)
}

/// Claims up to `n` free single numbers in one guarded statement: the outer `WHERE` repeats
/// `status = available`, so a number taken meanwhile is never taken twice. The pick is a
/// materialized CTE: PostgreSQL may otherwise re-run a `LIMIT … SKIP LOCKED` sub-select of an
/// `IN` and update more rows than the limit. The caller checks
/// the count and rolls back when it is short (all or nothing).
pub async fn claim_singles(
    conn: &mut sqlx::AnyConnection,
    db: &Db,
    c: &Criteria,
    n: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let (filter, params) = free_filter(c, 2);
    let sql = format!(
        "WITH picked AS MATERIALIZED (SELECT num FROM numbers WHERE {filter} ORDER BY num LIMIT $1{lock}) \
         UPDATE numbers SET status = {assigned} WHERE num IN (SELECT num FROM picked) \
         AND status = {available} RETURNING num",
        assigned = stock::ASSIGNED,
        available = stock::AVAILABLE,
        lock = db.skip_locked(),
    );
    let mut nums: Vec<i64> = Vec::new();
    loop {
        let mut q = sqlx::query_scalar::<_, i64>(&sql).bind(n - nums.len() as i64);
        for p in &params {
            q = q.bind(p);
        }
        nums.extend(q.fetch_all(&mut *conn).await?);
        let short = n - nums.len() as i64;
        // Too few unsealed numbers: unseal whole blocks and take from them.
        if short <= 0 || unseal(conn, db, c, (short + stock::SEAL - 1) / stock::SEAL).await? == 0 {
            break;
        }
    }
    nums.sort_unstable();
    Ok(nums)
}

/// How many free single numbers match (for deciding and for availability): the unsealed ones
/// in the claim index, and the sealed blocks.
pub async fn count_free(db: &Db, c: &Criteria) -> Result<i64, sqlx::Error> {
    let (filter, params) = free_filter(c, 1);
    let sql = format!("SELECT COUNT(*) FROM numbers WHERE {filter}");
    let mut q = sqlx::query_scalar(&sql);
    for p in &params {
        q = q.bind(p);
    }
    let unsealed: i64 = q.fetch_one(db.read()).await?;
    Ok(unsealed + stock::SEAL * count_sealed(db, c).await?)
}
