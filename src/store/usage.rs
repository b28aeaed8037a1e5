//! What usage reads: the assignment rows held during a month, with the price their request was
//! quoted, streamed in the order the usage lines take.

use futures::StreamExt;
use futures::stream::BoxStream;

use super::{Cols, Db, StoreError, corrupt, number_type};
use crate::domain::PhoneNumberType;
use crate::money::Price;

/// One assignment row: `span` consecutive numbers from `first`, held from `valid_from_ms` to
/// `valid_to_ms` (None: still held) under one request.
#[derive(Debug, Clone)]
pub struct HoldingRow {
    pub account_id: String,
    /// The first number as an integer (the E.164 digits).
    pub first: i64,
    pub span: i64,
    pub number_request_id: String,
    pub country_code: String,
    pub phone_number_type: PhoneNumberType,
    pub valid_from_ms: i64,
    pub valid_to_ms: Option<i64>,
    pub price: Option<Price>,
}

const SELECT: &str = "SELECT a.account_id, a.phone_number, a.span, a.number_request_id, a.valid_from_ms, \
     a.valid_to_ms, r.country_code, r.phone_number_type, r.price_currency, r.price_setup, r.price_monthly \
     FROM assigned_numbers a JOIN number_requests r ON r.id = a.number_request_id";

const OF_ACCOUNT: &str = "SELECT a.account_id, a.phone_number, a.span, a.number_request_id, a.valid_from_ms, \
     a.valid_to_ms, r.country_code, r.phone_number_type, r.price_currency, r.price_setup, r.price_monthly \
     FROM assigned_numbers a JOIN number_requests r ON r.id = a.number_request_id \
     WHERE a.account_id = $3 AND a.valid_from_ms < $1 AND (a.valid_to_ms IS NULL OR a.valid_to_ms > $2) \
     ORDER BY a.valid_from_ms, a.phone_number";

fn all_accounts_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "{SELECT} WHERE a.valid_from_ms < $1 AND (a.valid_to_ms IS NULL OR a.valid_to_ms > $2) \
             ORDER BY a.valid_from_ms, a.phone_number"
        )
    })
}

fn row_of(r: &impl Cols) -> Result<HoldingRow, sqlx::Error> {
    let phone: String = r.col("phone_number")?;
    let request: String = r.col("number_request_id")?;
    let first = phone
        .strip_prefix('+')
        .and_then(|d| d.parse::<i64>().ok())
        .ok_or_else(|| corrupt("assigned_numbers", phone.clone(), "not an E.164 number"))?;
    let (c, s, m): (Option<String>, Option<String>, Option<String>) = (
        r.col("price_currency")?,
        r.col("price_setup")?,
        r.col("price_monthly")?,
    );
    let price = Price::from_stored(c.as_deref(), s.as_deref(), m.as_deref())
        .map_err(|what| corrupt("number_requests", request.clone(), what))?;
    let kind: String = r.col("phone_number_type")?;
    Ok(HoldingRow {
        phone_number_type: number_type("number_requests", &request, &kind)?,
        account_id: r.col("account_id")?,
        first,
        span: r.col("span")?,
        number_request_id: request,
        country_code: r.col("country_code")?,
        valid_from_ms: r.col("valid_from_ms")?,
        valid_to_ms: r.col("valid_to_ms")?,
        price,
    })
}

/// The rows held at some time in `[start_ms, end_ms)`, of one account or of all, ordered by
/// when they were assigned and then by first number (as text). Rows arrive as the database
/// sends them: nothing is collected here.
pub fn held_between(
    db: &Db,
    account_id: Option<String>,
    start_ms: i64,
    end_ms: i64,
) -> BoxStream<'_, Result<HoldingRow, StoreError>> {
    let q = match account_id {
        Some(a) => sqlx::query(OF_ACCOUNT).bind(end_ms).bind(start_ms).bind(a),
        None => sqlx::query(all_accounts_sql()).bind(end_ms).bind(start_ms),
    };
    q.fetch(db.read())
        .map(|r| r.and_then(|row| row_of(&row)).map_err(StoreError::from))
        .boxed()
}

/// One group of [`held_sums`]: the numbers held at one price (None: no price) in the month, and
/// how many of them were assigned in it.
#[derive(Debug, Clone)]
pub struct HeldSum {
    pub price: Option<Price>,
    pub held: i64,
    pub assigned_in_month: i64,
}

/// The numbers held at some time in `[start_ms, end_ms)`, of one account or of all, summed per
/// quoted price by the database: the totals of a month without reading its lines.
pub async fn held_sums(
    db: &Db,
    account_id: Option<&str>,
    start_ms: i64,
    end_ms: i64,
) -> Result<Vec<HeldSum>, StoreError> {
    let account = if account_id.is_some() {
        " AND a.account_id = $3"
    } else {
        ""
    };
    let sql = format!(
        "SELECT r.price_currency, r.price_setup, r.price_monthly, \
         CAST(SUM(a.span) AS BIGINT) AS held, \
         CAST(SUM(CASE WHEN a.valid_from_ms >= $2 THEN a.span ELSE 0 END) AS BIGINT) AS fresh \
         FROM assigned_numbers a JOIN number_requests r ON r.id = a.number_request_id \
         WHERE a.valid_from_ms < $1 AND (a.valid_to_ms IS NULL OR a.valid_to_ms > $2){account} \
         GROUP BY r.price_currency, r.price_setup, r.price_monthly"
    );
    let mut q = sqlx::query(&sql).bind(end_ms).bind(start_ms);
    if let Some(a) = account_id {
        q = q.bind(a);
    }
    let rows = q.fetch_all(db.read()).await?;
    rows.iter()
        .map(|r| {
            let (c, s, m): (Option<String>, Option<String>, Option<String>) = (
                r.col("price_currency")?,
                r.col("price_setup")?,
                r.col("price_monthly")?,
            );
            let price = Price::from_stored(c.as_deref(), s.as_deref(), m.as_deref())
                .map_err(|what| corrupt("number_requests", "a quoted price", what))?;
            Ok(HeldSum {
                price,
                held: r.col("held")?,
                assigned_in_month: r.col("fresh")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(StoreError::from)
}
