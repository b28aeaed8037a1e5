//! Company profiles. The validated fields are one JSON document (`body`); what queries filter on
//! has its own column. Every change is one statement guarded by the version it was based on.

use super::{Cols, Db, StoreError, corrupt};
use crate::domain::{ProfileStatus, format_ms};
use crate::model::{CompanyProfile, ProfileData};

fn from_row(r: &impl Cols) -> Result<CompanyProfile, StoreError> {
    let id: String = r.col("id")?;
    let body: String = r.col("body")?;
    let status: String = r.col("status")?;
    let Some(status) = ProfileStatus::parse(&status) else {
        return Err(corrupt("company_profiles", id, format!("unknown status {status:?}")).into());
    };
    let data = serde_json::from_str(&body)
        .map_err(|e| corrupt("company_profiles", id.clone(), format!("body: {e}")))?;
    Ok(CompanyProfile {
        account_id: r.col("account_id")?,
        data,
        status,
        status_reason: r.col("status_reason")?,
        created_on: format_ms(r.col("created_ms")?),
        updated_on: format_ms(r.col("updated_ms")?),
        version: r.col("version")?,
        unconfirmed_email_addresses: Vec::new(),
        id,
    })
}

const COLS: &str = "id, account_id, body, status, status_reason, created_ms, updated_ms, version";

/// A new profile at version 1.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    account_id: &str,
    data: &ProfileData,
    status: ProfileStatus,
    reason: Option<&str>,
    now: i64,
) -> Result<CompanyProfile, StoreError> {
    sqlx::query(
        "INSERT INTO company_profiles (id, account_id, body, number_country_code, status, status_reason, created_ms, updated_ms, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 1)",
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
        status,
        status_reason: reason.map(str::to_string),
        created_on: format_ms(now),
        updated_on: format_ms(now),
        version: 1,
        unconfirmed_email_addresses: Vec::new(),
    })
}

/// One profile; `account_id` None is the operator's view. On SQLite a point read on this
/// thread ([`super::local`]).
pub async fn get(
    db: &Db,
    account_id: Option<&str>,
    id: &str,
) -> Result<Option<CompanyProfile>, StoreError> {
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
) -> Result<(Vec<CompanyProfile>, i64), StoreError> {
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

/// Writes new fields and status if the profile is still at `version`, and moves it to the next
/// version. None when the profile changed meanwhile (or is gone).
pub async fn update(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    data: &ProfileData,
    status: ProfileStatus,
    reason: Option<&str>,
    version: i64,
    now: i64,
) -> Result<Option<CompanyProfile>, StoreError> {
    let row = sqlx::query(&format!(
        "UPDATE company_profiles SET body = $1, number_country_code = $2, status = $3, status_reason = $4, \
         updated_ms = $5, version = version + 1 WHERE id = $6 AND version = $7 RETURNING {COLS}"
    ))
    .bind(serde_json::to_string(data)?)
    .bind(&data.number_country_code)
    .bind(status.as_str())
    .bind(reason)
    .bind(now)
    .bind(id)
    .bind(version)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Sets the status and its reason only (a review), never the data; guarded by `version` when
/// given. None when the profile is gone or at another version.
pub async fn set_status(
    db: &Db,
    id: &str,
    status: ProfileStatus,
    reason: Option<&str>,
    version: Option<i64>,
    now: i64,
) -> Result<Option<CompanyProfile>, StoreError> {
    let guard = if version.is_some() {
        " AND version = $5"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE company_profiles SET status = $1, status_reason = $2, updated_ms = $3, version = version + 1 \
         WHERE id = $4{guard} RETURNING {COLS}"
    );
    let mut q = sqlx::query(&sql)
        .bind(status.as_str())
        .bind(reason)
        .bind(now)
        .bind(id);
    if let Some(v) = version {
        q = q.bind(v);
    }
    let row = q.fetch_optional(db.write()).await?;
    row.as_ref().map(from_row).transpose()
}

/// The version a profile is at now; None for an unknown profile.
pub async fn version(
    db: &Db,
    account_id: Option<&str>,
    id: &str,
) -> Result<Option<i64>, StoreError> {
    let sql = format!(
        "SELECT version FROM company_profiles WHERE id = $1{}",
        if account_id.is_some() {
            " AND account_id = $2"
        } else {
            ""
        }
    );
    let mut q = sqlx::query_scalar(&sql).bind(id);
    if let Some(acc) = account_id {
        q = q.bind(acc);
    }
    Ok(q.fetch_optional(db.read()).await?)
}

/// The e-mail addresses a profile has now (the targets of a new status event).
pub async fn emails(conn: &mut sqlx::AnyConnection, id: &str) -> Result<Vec<String>, StoreError> {
    let body: Option<String> =
        sqlx::query_scalar("SELECT body FROM company_profiles WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(match body {
        Some(b) => {
            serde_json::from_str::<ProfileData>(&b)
                .map_err(|e| corrupt("company_profiles", id, format!("body: {e}")))?
                .email_addresses
        }
        None => Vec::new(),
    })
}

/// Profiles of every account waiting for the operator's review, oldest first (the console's
/// review queue).
pub async fn pending_review(
    db: &Db,
    skip: i64,
    take: i64,
) -> anyhow::Result<(Vec<CompanyProfile>, i64)> {
    let status = ProfileStatus::PendingApproval.as_str();
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM company_profiles WHERE status = $1")
        .bind(status)
        .fetch_one(db.read())
        .await?;
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM company_profiles WHERE status = $1 ORDER BY updated_ms, id LIMIT $2 OFFSET $3"
    ))
    .bind(status)
    .bind(take)
    .bind(skip)
    .fetch_all(db.read())
    .await?;
    Ok((rows.iter().map(from_row).collect::<Result<_, _>>()?, total))
}
