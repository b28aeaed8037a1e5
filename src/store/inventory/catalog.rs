//! What stock there is: the summary, per-status counts, restrictions, requirements, the cities
//! of an area code and the locale options.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::domain::{PhoneNumberType, stock};
use crate::model::{Restrictions, StockSummary};
use crate::store::{Db, non_empty, number_type};

/// The rows of a query about one country and number type (`$1`, `$2`), from the read pool.
async fn rows_for(
    db: &Db,
    sql: &str,
    country: &str,
    kind: PhoneNumberType,
) -> Result<Vec<AnyRow>, sqlx::Error> {
    sqlx::query(sql)
        .bind(country)
        .bind(kind.as_str())
        .fetch_all(db.read())
        .await
}

pub async fn summary(db: &Db) -> Result<Vec<StockSummary>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT country_code, phone_number_type, area_code, MIN(city) AS city, MIN(region) AS region, \
         SUM(CASE WHEN {a} THEN 1 ELSE 0 END) AS available, \
         SUM(CASE WHEN status = {s} THEN 1 ELSE 0 END) AS assigned, \
         SUM(CASE WHEN status = {g} THEN 1 ELSE 0 END) AS aging, COUNT(*) AS total \
         FROM numbers GROUP BY country_code, phone_number_type, area_code, city_key, region_key \
         ORDER BY country_code, phone_number_type, area_code, city_key, region_key",
        a = stock::FREE_SQL,
        s = stock::ASSIGNED,
        g = stock::AGING
    ))
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            let country_code: String = r.try_get("country_code")?;
            let kind: String = r.try_get("phone_number_type")?;
            Ok(StockSummary {
                phone_number_type: number_type("numbers", &country_code, &kind)?,
                country_code,
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

/// Stock counts by status (sealed counted as available), for `/metrics`.
pub async fn counts_by_status(db: &Db) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT CASE WHEN {} THEN {} ELSE status END AS status, COUNT(*) AS n FROM numbers GROUP BY 1",
        stock::FREE_SQL,
        stock::AVAILABLE
    ))
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
        .collect()
}

pub async fn restrictions(
    db: &Db,
    country: &str,
    kind: PhoneNumberType,
) -> anyhow::Result<Restrictions> {
    let row = sqlx::query(
        "SELECT min_quantity, max_quantity, ranges_supported, allowed_range_sizes, requires_review \
         FROM restrictions WHERE country_code = $1 AND phone_number_type = $2",
    )
    .bind(country)
    .bind(kind.as_str())
    .fetch_optional(db.read())
    .await?;
    let Some(r) = row else {
        return Ok(Restrictions::defaults(country, kind));
    };
    let sizes: String = r.try_get("allowed_range_sizes")?;
    Ok(Restrictions {
        country_code: country.into(),
        phone_number_type: kind,
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
    .bind(r.phone_number_type.as_str())
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
    kind: PhoneNumberType,
) -> Result<Vec<Requirement>, sqlx::Error> {
    let rows = rows_for(
        db,
        "SELECT id, req_type, code, description FROM requirements WHERE country_code = $1 AND phone_number_type = $2 ORDER BY position",
        country,
        kind,
    )
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
    kind: PhoneNumberType,
    list: &[Requirement],
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM requirements WHERE country_code = $1 AND phone_number_type = $2")
        .bind(country)
        .bind(kind.as_str())
        .execute(&mut *tx)
        .await?;
    for (i, r) in list.iter().enumerate() {
        sqlx::query(
            "INSERT INTO requirements (id, country_code, phone_number_type, position, req_type, code, description) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&r.id)
        .bind(country)
        .bind(kind.as_str())
        .bind(i as i64)
        .bind(r.req_type)
        .bind(&r.code)
        .bind(&r.description)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// The cities known from stock for an area code in a country (any type, any status). Naming the
/// types lets the index of places seek to the area code under each.
pub async fn area_code_cities(
    db: &Db,
    country: &str,
    area_code: &str,
) -> Result<Vec<String>, sqlx::Error> {
    // Type names are our own constants, not input.
    let types = crate::domain::PhoneNumberType::ALL
        .map(|t| format!("'{}'", t.as_str()))
        .join(", ");
    sqlx::query_scalar(&format!(
        "SELECT DISTINCT city_key FROM numbers WHERE country_code = $1 AND phone_number_type IN ({types}) \
         AND area_code = $2 AND city_key <> ''",
    ))
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
    kind: PhoneNumberType,
) -> Result<Vec<LocaleOption>, sqlx::Error> {
    let sql = format!(
        "SELECT area_code, MIN(city) AS city, MIN(region) AS region, SUM(CASE WHEN {} THEN 1 ELSE 0 END) AS available \
         FROM numbers WHERE country_code = $1 AND phone_number_type = $2 \
         GROUP BY area_code, city_key, region_key ORDER BY area_code, city_key, region_key",
        stock::FREE_SQL
    );
    let rows = rows_for(db, &sql, country, kind).await?;
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
