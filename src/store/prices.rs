//! The price list: general prices (stored with account id `''`) and accounts' own prices.

use sqlx::AnyConnection;

use super::{Cols, Db, StoreError, corrupt};
use crate::money::Price;
use crate::prices::PriceEntry;

/// The account id column's value for the general list.
const GENERAL: &str = "";

const COLS: &str =
    "account_id, country_code, phone_number_type, currency, setup_price, monthly_price";

fn entry_from_row(r: &impl Cols) -> Result<PriceEntry, sqlx::Error> {
    let account_id: String = r.col("account_id")?;
    let country_code: String = r.col("country_code")?;
    let phone_number_type: String = r.col("phone_number_type")?;
    let (c, s, m): (String, String, String) = (
        r.col("currency")?,
        r.col("setup_price")?,
        r.col("monthly_price")?,
    );
    let key = format!("{account_id}/{country_code}/{phone_number_type}");
    let price = Price::from_stored(Some(&c), Some(&s), Some(&m))
        .map_err(|what| corrupt("prices", key.clone(), what))?
        .ok_or_else(|| corrupt("prices", key, "no price"))?;
    Ok(PriceEntry {
        account_id: (account_id != GENERAL).then_some(account_id),
        country_code,
        phone_number_type,
        price,
    })
}

/// Sets (adds or replaces) one entry.
pub async fn upsert(db: &Db, e: &PriceEntry, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO prices (account_id, country_code, phone_number_type, currency, setup_price, monthly_price, updated_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (account_id, country_code, phone_number_type) DO UPDATE SET \
         currency = excluded.currency, setup_price = excluded.setup_price, \
         monthly_price = excluded.monthly_price, updated_ms = excluded.updated_ms",
    )
    .bind(e.account_id.as_deref().unwrap_or(GENERAL))
    .bind(&e.country_code)
    .bind(&e.phone_number_type)
    .bind(e.price.currency.as_str())
    .bind(e.price.setup.to_string())
    .bind(e.price.monthly.to_string())
    .bind(now)
    .execute(db.write())
    .await?;
    Ok(())
}

/// Removes one entry; false when there was none.
pub async fn delete(
    db: &Db,
    account_id: Option<&str>,
    country_code: &str,
    phone_number_type: &str,
) -> Result<bool, StoreError> {
    let r = sqlx::query(
        "DELETE FROM prices WHERE account_id = $1 AND country_code = $2 AND phone_number_type = $3",
    )
    .bind(account_id.unwrap_or(GENERAL))
    .bind(country_code)
    .bind(phone_number_type)
    .execute(db.write())
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Every entry (general ones first), or one account's own entries only.
pub async fn list(db: &Db, account_id: Option<&str>) -> Result<Vec<PriceEntry>, StoreError> {
    let rows = match account_id {
        Some(a) => {
            sqlx::query(&format!(
                "SELECT {COLS} FROM prices WHERE account_id = $1 ORDER BY country_code, phone_number_type"
            ))
            .bind(a)
            .fetch_all(db.read())
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {COLS} FROM prices ORDER BY account_id, country_code, phone_number_type"
            ))
            .fetch_all(db.read())
            .await?
        }
    };
    Ok(rows
        .iter()
        .map(entry_from_row)
        .collect::<Result<_, sqlx::Error>>()?)
}

/// The general entries and the account's own, optionally of one country and type.
pub async fn general_and_own(
    db: &Db,
    account_id: &str,
    country_code: Option<&str>,
    phone_number_type: Option<&str>,
) -> Result<Vec<PriceEntry>, StoreError> {
    let mut sql = format!("SELECT {COLS} FROM prices WHERE account_id IN ('', $1)");
    let mut n = 1;
    if country_code.is_some() {
        n += 1;
        sql.push_str(&format!(" AND country_code = ${n}"));
    }
    if phone_number_type.is_some() {
        n += 1;
        sql.push_str(&format!(" AND phone_number_type = ${n}"));
    }
    sql.push_str(" ORDER BY country_code, phone_number_type, account_id");
    let mut q = sqlx::query(&sql).bind(account_id);
    if let Some(c) = country_code {
        q = q.bind(c);
    }
    if let Some(t) = phone_number_type {
        q = q.bind(t);
    }
    let rows = q.fetch_all(db.read()).await?;
    Ok(rows
        .iter()
        .map(entry_from_row)
        .collect::<Result<_, sqlx::Error>>()?)
}

/// The account's effective price of a country and type, read on `conn` (inside the caller's
/// transaction, so a request is quoted the price its own transaction sees).
pub async fn effective(
    conn: &mut AnyConnection,
    account_id: &str,
    country_code: &str,
    phone_number_type: &str,
) -> Result<Option<Price>, sqlx::Error> {
    // The account's own entry sorts after the general one (`''`), so DESC takes it first.
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM prices WHERE account_id IN ('', $1) AND country_code = $2 \
         AND phone_number_type = $3 ORDER BY account_id DESC LIMIT 1"
    ))
    .bind(account_id)
    .bind(country_code)
    .bind(phone_number_type)
    .fetch_optional(conn)
    .await?;
    row.map(|r| entry_from_row(&r).map(|e| e.price)).transpose()
}
