//! Company profiles. The validated fields are one JSON document (`body`); what queries filter on
//! has its own column.

use super::{Cols, Db};
use crate::domain::{ProfileStatus, format_ms};
use crate::model::{CompanyProfile, ProfileData};

fn from_row(r: &impl Cols) -> anyhow::Result<CompanyProfile> {
    let body: String = r.col("body")?;
    Ok(CompanyProfile {
        id: r.col("id")?,
        account_id: r.col("account_id")?,
        data: serde_json::from_str(&body)?,
        status: r.col("status")?,
        status_reason: r.col("status_reason")?,
        created_on: format_ms(r.col("created_ms")?),
        updated_on: format_ms(r.col("updated_ms")?),
    })
}

const COLS: &str = "id, account_id, body, status, status_reason, created_ms, updated_ms";

#[allow(clippy::too_many_arguments)]
pub async fn insert(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    account_id: &str,
    data: &ProfileData,
    status: ProfileStatus,
    reason: Option<&str>,
    now: i64,
) -> anyhow::Result<CompanyProfile> {
    sqlx::query(
        "INSERT INTO company_profiles (id, account_id, body, number_country_code, status, status_reason, created_ms, updated_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(id)
    .bind(account_id)
    .bind(serde_json::to_string(data)?)
    .bind(&data.number_country_code)
    .bind(status.as_str())
    .bind(reason)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(CompanyProfile {
        id: id.into(),
        account_id: account_id.into(),
        data: data.clone(),
        status: status.as_str().into(),
        status_reason: reason.map(str::to_string),
        created_on: format_ms(now),
        updated_on: format_ms(now),
    })
}

/// One profile; `account_id` None is the operator's view. On SQLite a point read on this
/// thread ([`super::local`]).
pub async fn get(
    db: &Db,
    account_id: Option<&str>,
    id: &str,
) -> anyhow::Result<Option<CompanyProfile>> {
    let sql = format!(
        "SELECT {COLS} FROM company_profiles WHERE id = $1{}",
        if account_id.is_some() {
            " AND account_id = $2"
        } else {
            ""
        }
    );
    if let Some(local) = db.local() {
        let params: &[&dyn rusqlite::ToSql] = match &account_id {
            Some(acc) => &[&id, acc],
            None => &[&id],
        };
        return Ok(local.query(&sql, params, |r| from_row(r))?.pop());
    }
    let mut q = sqlx::query(&sql).bind(id);
    if let Some(acc) = account_id {
        q = q.bind(acc);
    }
    q.fetch_optional(db.read())
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn list(
    db: &Db,
    account_id: &str,
    skip: i64,
    take: i64,
) -> anyhow::Result<(Vec<CompanyProfile>, i64)> {
    let total: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM company_profiles WHERE account_id = $1")
            .bind(account_id)
            .fetch_one(db.read())
            .await?;
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM company_profiles WHERE account_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(account_id)
    .bind(take)
    .bind(skip)
    .fetch_all(db.read())
    .await?;
    Ok((rows.iter().map(from_row).collect::<Result<_, _>>()?, total))
}

/// Writes new fields and status. Guarded by the previous `updated_ms` so two concurrent updates
/// cannot silently overwrite each other; false when the row changed meanwhile.
#[allow(clippy::too_many_arguments)]
pub async fn update(
    db: &Db,
    id: &str,
    data: &ProfileData,
    status: &str,
    reason: Option<&str>,
    prev_updated_ms: Option<i64>,
    now: i64,
) -> anyhow::Result<bool> {
    let mut sql = "UPDATE company_profiles SET body = $1, number_country_code = $2, status = $3, status_reason = $4, updated_ms = $5 WHERE id = $6".to_string();
    if prev_updated_ms.is_some() {
        sql.push_str(" AND updated_ms = $7");
    }
    let mut q = sqlx::query(&sql)
        .bind(serde_json::to_string(data)?)
        .bind(&data.number_country_code)
        .bind(status)
        .bind(reason)
        .bind(now)
        .bind(id);
    if let Some(p) = prev_updated_ms {
        q = q.bind(p);
    }
    Ok(q.execute(db.write()).await?.rows_affected() == 1)
}

pub async fn updated_ms(db: &Db, id: &str) -> anyhow::Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT updated_ms FROM company_profiles WHERE id = $1")
            .bind(id)
            .fetch_optional(db.read())
            .await?,
    )
}

/// The e-mail addresses a profile has now (the targets of a new status event).
pub async fn emails(conn: &mut sqlx::AnyConnection, id: &str) -> anyhow::Result<Vec<String>> {
    let body: Option<String> =
        sqlx::query_scalar("SELECT body FROM company_profiles WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(match body {
        Some(b) => serde_json::from_str::<ProfileData>(&b)?.email_addresses,
        None => Vec::new(),
    })
}
