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
/// Returns how many were added.
pub async fn insert_batch(
    conn: &mut sqlx::AnyConnection,
    rows: &[StockRow],
    now: i64,
) -> Result<u64, sqlx::Error> {
    let mut added = 0;
    for chunk in rows.chunks(INSERT_BATCH) {
        let sql = format!(
            "INSERT INTO numbers (phone_number, num, country_code, phone_number_type, area_code, city, city_key, region, region_key, created_ms) VALUES {} ON CONFLICT (phone_number) DO NOTHING",
            values_placeholders(chunk.len(), INSERT_COLS)
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
        added += q.execute(&mut *conn).await?.rows_affected();
    }
    Ok(added)
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
    let mut sql = format!(
        "country_code = ${} AND phone_number_type = ${} AND status = {}",
        first,
        first + 1,
        stock::AVAILABLE
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
/// `status = available`, so a number taken meanwhile is never taken twice. The caller checks
/// the count and rolls back when it is short (all or nothing).
pub async fn claim_singles(
    conn: &mut sqlx::AnyConnection,
    db: &Db,
    c: &Criteria,
    n: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let (filter, params) = free_filter(c, 2);
    let sql = format!(
        "UPDATE numbers SET status = {assigned} WHERE phone_number IN \
         (SELECT phone_number FROM numbers WHERE {filter} ORDER BY num LIMIT $1{lock}) \
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
    let r = sqlx::query(&format!(
        "UPDATE numbers SET status = {}, available_at_ms = NULL WHERE status = {} AND available_at_ms <= $1",
        stock::AVAILABLE,
        stock::AGING
    ))
    .bind(now)
    .execute(db.write())
    .await?;
    Ok(r.rows_affected())
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
