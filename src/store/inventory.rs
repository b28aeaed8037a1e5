//! Stock: bulk import, the guarded claim, the summary, aging, and the restrictions table.

use sqlx::Row;

use super::{Db, non_empty, values_placeholders};
use crate::domain::stock;
use crate::model::{Restrictions, StockSummary};

/// One number to add to stock.
#[derive(Debug, Clone)]
pub struct StockRow {
    pub phone_number: String,
    pub num: i64,
    pub country_code: String,
    pub phone_number_type: String,
    pub area_code: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
}

/// Lookup key of a city or region: matching is case-insensitive.
pub fn key(s: Option<&str>) -> String {
    s.map(|v| v.trim().to_lowercase()).unwrap_or_default()
}

const INSERT_COLS: usize = 10;
/// Rows per INSERT statement (stays under SQLite's 32,766 bound parameters).
pub const INSERT_BATCH: usize = 2_000;

/// Inserts a batch in the given transaction; numbers already known are left alone.
/// Returns the numbers added (the caller marks their whole blocks, once per transaction).
pub async fn insert_batch(
    conn: &mut sqlx::AnyConnection,
    rows: &[StockRow],
    now: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut added: Vec<i64> = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(INSERT_BATCH) {
        let sql = format!(
            "INSERT INTO numbers (phone_number, num, country_code, phone_number_type, area_code, city, city_key, region, region_key, created_ms) VALUES {} ON CONFLICT (phone_number) DO NOTHING RETURNING num",
            values_placeholders(&*conn, chunk.len(), INSERT_COLS)
        );
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(&r.phone_number)
                .bind(r.num)
                .bind(&r.country_code)
                .bind(&r.phone_number_type)
                .bind(r.area_code.clone().unwrap_or_default())
                .bind(&r.city)
                .bind(key(r.city.as_deref()))
                .bind(&r.region)
                .bind(key(r.region.as_deref()))
                .bind(now);
        }
        for r in q.fetch_all(&mut *conn).await? {
            added.push(r.try_get("num")?);
        }
    }
    Ok(added)
}

/// Block sizes kept in `whole_blocks`. Other sizes are found by a (slower) scan.
pub const TRACKED_BLOCK_SIZES: [i64; 4] = [10, 100, 1000, 10000];

/// The aligned blocks of every tracked size that contain any of `nums`.
fn blocks_of(nums: &[i64]) -> std::collections::BTreeSet<(i64, i64)> {
    let mut set = std::collections::BTreeSet::new();
    for &n in nums {
        for s in TRACKED_BLOCK_SIZES {
            set.insert((s, n - n % s));
        }
    }
    set
}

/// Forgets the whole blocks that contain any of `nums` (they are no longer all free).
pub async fn break_blocks(conn: &mut sqlx::AnyConnection, nums: &[i64]) -> Result<(), sqlx::Error> {
    let blocks: Vec<(i64, i64)> = blocks_of(nums).into_iter().collect();
    for chunk in blocks.chunks(500) {
        // Integers we computed, not input: safe to write into the statement.
        let values = chunk
            .iter()
            .map(|(s, b)| format!("({s},{b})"))
            .collect::<Vec<_>>()
            .join(",");
        sqlx::query(&format!(
            "DELETE FROM whole_blocks WHERE (size, start_num) IN (VALUES {values})"
        ))
        .execute(&mut *conn)
        .await?;
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
    for s in TRACKED_BLOCK_SIZES {
        // Merge touched blocks into runs, one grouped scan per run.
        let mut starts: Vec<i64> = nums.iter().map(|n| n - n % s).collect();
        starts.sort_unstable();
        starts.dedup();
        let mut runs: Vec<(i64, i64)> = Vec::new();
        for b in starts {
            match runs.last_mut() {
                Some((_, hi)) if *hi == b => *hi = b + s,
                _ => runs.push((b, b + s)),
            }
        }
        for (lo, hi) in runs {
            sqlx::query(&format!(
                "INSERT INTO whole_blocks (size, start_num, country_code, phone_number_type, area_code, city_key, region_key) \
                 SELECT {s}, n.num, n.country_code, n.phone_number_type, n.area_code, n.city_key, n.region_key FROM numbers n \
                 WHERE n.num IN (SELECT (num / {s}) * {s} FROM numbers WHERE num >= $1 AND num < $2 AND status = {free} \
                   GROUP BY num / {s} HAVING COUNT(*) = {s} AND COUNT(DISTINCT country_code || '|' || phone_number_type || '|' || area_code || '|' || city_key || '|' || region_key) = 1) \
                 ON CONFLICT (size, start_num) DO NOTHING",
                free = stock::AVAILABLE
            ))
            .bind(lo)
            .bind(hi)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

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
        let (filter, params) = free_filter(c, 2);
        (
            format!(
                "SELECT f.num AS start_num FROM numbers f WHERE {filter} AND f.num % {size} = 0 AND \
                 (SELECT COUNT(*) FROM numbers g WHERE g.num >= f.num AND g.num < f.num + {size} AND g.status = {free} \
                  AND g.country_code = f.country_code AND g.phone_number_type = f.phone_number_type AND g.area_code = f.area_code \
                  AND g.city_key = f.city_key AND g.region_key = f.region_key) = {size} ORDER BY f.num LIMIT $1",
                free = stock::AVAILABLE
            ),
            params,
        )
    }
}

/// Claims up to `q` free aligned blocks of `size` in one guarded statement (as
/// [`claim_singles`]); the caller checks that `q * size` numbers came back. `CROSS JOIN` keeps
/// SQLite's join order: the few block starts first, then a range seek per block.
pub async fn claim_blocks(
    conn: &mut sqlx::AnyConnection,
    db: &Db,
    c: &Criteria,
    size: i64,
    q: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let (starts, params) = block_starts(db, c, size);
    let sql = format!(
        "WITH b AS MATERIALIZED ({starts}), \
         picked AS MATERIALIZED (SELECT n.num FROM b CROSS JOIN numbers n WHERE n.num >= b.start_num AND n.num < b.start_num + {size} AND n.status = {available}) \
         UPDATE numbers SET status = {assigned} WHERE num IN (SELECT num FROM picked) \
         AND status = {available} RETURNING phone_number, num, area_code, city, region",
        assigned = stock::ASSIGNED,
        available = stock::AVAILABLE,
    );
    let mut q = sqlx::query(&sql).bind(q);
    for p in &params {
        q = q.bind(p);
    }
    claimed_rows(q.fetch_all(conn).await?)
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
    q.fetch_one(db.read()).await
}

/// What a request asks of stock.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Criteria {
    pub country_code: String,
    pub phone_number_type: String,
    pub area_code: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
}

/// A number taken from stock by a claim.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub phone_number: String,
    pub num: i64,
    pub area_code: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
}

/// The `WHERE` of free numbers matching `c`, with its parameters from `$first` on.
fn free_filter(c: &Criteria, first: usize) -> (String, Vec<String>) {
    let (sql, params) = criteria_filter(c, first);
    (format!("{sql} AND status = {}", stock::AVAILABLE), params)
}

/// The `WHERE` of rows (numbers or whole blocks) matching `c`, parameters from `$first` on.
fn criteria_filter(c: &Criteria, first: usize) -> (String, Vec<String>) {
    let mut sql = format!(
        "country_code = ${} AND phone_number_type = ${}",
        first,
        first + 1
    );
    let mut params = vec![c.country_code.clone(), c.phone_number_type.clone()];
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
) -> Result<Vec<Claimed>, sqlx::Error> {
    let (filter, params) = free_filter(c, 2);
    let sql = format!(
        "WITH picked AS MATERIALIZED (SELECT phone_number FROM numbers WHERE {filter} ORDER BY num LIMIT $1{lock}) \
         UPDATE numbers SET status = {assigned} WHERE phone_number IN (SELECT phone_number FROM picked) \
         AND status = {available} RETURNING phone_number, num, area_code, city, region",
        assigned = stock::ASSIGNED,
        available = stock::AVAILABLE,
        lock = db.skip_locked(),
    );
    let mut q = sqlx::query(&sql).bind(n);
    for p in &params {
        q = q.bind(p);
    }
    claimed_rows(q.fetch_all(conn).await?)
}

fn claimed_rows(rows: Vec<sqlx::any::AnyRow>) -> Result<Vec<Claimed>, sqlx::Error> {
    let mut out = rows
        .iter()
        .map(|r| {
            Ok(Claimed {
                phone_number: r.try_get("phone_number")?,
                num: r.try_get("num")?,
                area_code: non_empty(r.try_get("area_code")?),
                city: r.try_get("city")?,
                region: r.try_get("region")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    out.sort_by_key(|c| c.num);
    Ok(out)
}

/// How many free single numbers match (for deciding and for availability).
pub async fn count_free(db: &Db, c: &Criteria) -> Result<i64, sqlx::Error> {
    let (filter, params) = free_filter(c, 1);
    let sql = format!("SELECT COUNT(*) FROM numbers WHERE {filter}");
    let mut q = sqlx::query_scalar(&sql);
    for p in &params {
        q = q.bind(p);
    }
    q.fetch_one(db.read()).await
}

/// Puts released numbers whose rest is over back into stock; returns how many.
pub async fn return_aged(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let nums: Vec<i64> = sqlx::query_scalar(&format!(
        "UPDATE numbers SET status = {}, available_at_ms = NULL WHERE status = {} AND available_at_ms <= $1 RETURNING num",
        stock::AVAILABLE,
        stock::AGING
    ))
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    mark_whole_blocks(&mut tx, &nums).await?;
    tx.commit().await?;
    Ok(nums.len() as u64)
}

pub async fn summary(db: &Db) -> Result<Vec<StockSummary>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT country_code, phone_number_type, area_code, MIN(city) AS city, MIN(region) AS region, \
         SUM(CASE WHEN status = {a} THEN 1 ELSE 0 END) AS available, \
         SUM(CASE WHEN status = {s} THEN 1 ELSE 0 END) AS assigned, \
         SUM(CASE WHEN status = {g} THEN 1 ELSE 0 END) AS aging, COUNT(*) AS total \
         FROM numbers GROUP BY country_code, phone_number_type, area_code, city_key, region_key \
         ORDER BY country_code, phone_number_type, area_code, city_key, region_key",
        a = stock::AVAILABLE,
        s = stock::ASSIGNED,
        g = stock::AGING
    ))
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StockSummary {
                country_code: r.try_get("country_code")?,
                phone_number_type: r.try_get("phone_number_type")?,
                area_code: non_empty(r.try_get("area_code")?),
                city: r.try_get("city")?,
                region: r.try_get("region")?,
                available: r.try_get("available")?,
                assigned: r.try_get("assigned")?,
                aging: r.try_get("aging")?,
                total: r.try_get("total")?,
            })
        })
        .collect()
}

/// Stock counts by status, for `/metrics`.
pub async fn counts_by_status(db: &Db) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM numbers GROUP BY status")
        .fetch_all(db.read())
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
        .collect()
}

pub async fn restrictions(db: &Db, country: &str, kind: &str) -> anyhow::Result<Restrictions> {
    let row = sqlx::query(
        "SELECT min_quantity, max_quantity, ranges_supported, allowed_range_sizes, requires_review \
         FROM restrictions WHERE country_code = $1 AND phone_number_type = $2",
    )
    .bind(country)
    .bind(kind)
    .fetch_optional(db.read())
    .await?;
    let Some(r) = row else {
        return Ok(Restrictions::defaults(country, kind));
    };
    let sizes: String = r.try_get("allowed_range_sizes")?;
    Ok(Restrictions {
        country_code: country.into(),
        phone_number_type: kind.into(),
        min_quantity: r.try_get("min_quantity")?,
        max_quantity: r.try_get("max_quantity")?,
        ranges_supported: r.try_get::<i64, _>("ranges_supported")? != 0,
        allowed_range_sizes: serde_json::from_str(&sizes)?,
        requires_review: r.try_get::<i64, _>("requires_review")? != 0,
    })
}

pub async fn put_restrictions(db: &Db, r: &Restrictions) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO restrictions (country_code, phone_number_type, min_quantity, max_quantity, ranges_supported, allowed_range_sizes, requires_review) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (country_code, phone_number_type) DO UPDATE SET \
         min_quantity = excluded.min_quantity, max_quantity = excluded.max_quantity, ranges_supported = excluded.ranges_supported, \
         allowed_range_sizes = excluded.allowed_range_sizes, requires_review = excluded.requires_review",
    )
    .bind(&r.country_code)
    .bind(&r.phone_number_type)
    .bind(r.min_quantity)
    .bind(r.max_quantity)
    .bind(r.ranges_supported as i64)
    .bind(serde_json::to_string(&r.allowed_range_sizes)?)
    .bind(r.requires_review as i64)
    .execute(db.write())
    .await?;
    Ok(())
}

/// One requirement as stored and shown.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema, PartialEq)]
pub struct Requirement {
    pub id: String,
    /// 1 document to supply, 2 rule on the company, 3 rule on the number request.
    #[serde(rename = "type")]
    pub req_type: i64,
    pub code: String,
    pub description: String,
}

pub async fn requirements(
    db: &Db,
    country: &str,
    kind: &str,
) -> Result<Vec<Requirement>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, req_type, code, description FROM requirements WHERE country_code = $1 AND phone_number_type = $2 ORDER BY position",
    )
    .bind(country)
    .bind(kind)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Requirement {
                id: r.try_get("id")?,
                req_type: r.try_get("req_type")?,
                code: r.try_get("code")?,
                description: r.try_get("description")?,
            })
        })
        .collect()
}

/// Replaces the requirement list of a country and type.
pub async fn put_requirements(
    db: &Db,
    country: &str,
    kind: &str,
    list: &[Requirement],
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM requirements WHERE country_code = $1 AND phone_number_type = $2")
        .bind(country)
        .bind(kind)
        .execute(&mut *tx)
        .await?;
    for (i, r) in list.iter().enumerate() {
        sqlx::query(
            "INSERT INTO requirements (id, country_code, phone_number_type, position, req_type, code, description) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&r.id)
        .bind(country)
        .bind(kind)
        .bind(i as i64)
        .bind(r.req_type)
        .bind(&r.code)
        .bind(&r.description)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// The cities known from stock for an area code in a country (any type, any status).
pub async fn area_code_cities(
    db: &Db,
    country: &str,
    area_code: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT city_key FROM numbers WHERE country_code = $1 AND area_code = $2 AND city_key <> ''",
    )
    .bind(country)
    .bind(area_code)
    .fetch_all(db.read())
    .await
}

/// One locale option: an area code / city / region combination with its free count.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocaleOption {
    pub area_code: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub available_quantity: i64,
}

pub async fn locale_options(
    db: &Db,
    country: &str,
    kind: &str,
) -> Result<Vec<LocaleOption>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT area_code, MIN(city) AS city, MIN(region) AS region, SUM(CASE WHEN status = {} THEN 1 ELSE 0 END) AS available \
         FROM numbers WHERE country_code = $1 AND phone_number_type = $2 \
         GROUP BY area_code, city_key, region_key ORDER BY area_code, city_key, region_key",
        stock::AVAILABLE
    ))
    .bind(country)
    .bind(kind)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LocaleOption {
                area_code: non_empty(r.try_get("area_code")?),
                city: r.try_get("city")?,
                region: r.try_get("region")?,
                available_quantity: r.try_get("available")?,
            })
        })
        .collect()
}
