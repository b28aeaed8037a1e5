//! Web console sessions (table `console_sessions`) and the key lookups of the console sign-in.
//!
//! The browser holds a random token; the row's id is the token's SHA-256, so neither a copy of
//! the database nor a log line with an id opens a session.

use sqlx::Row;
use subtle::ConstantTimeEq;

use super::Db;
use super::accounts::{hash_key, new_api_key};
use crate::domain::now_ms;

/// Who a session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionKind {
    /// A customer account, signed in with one of its API keys.
    Customer { account_id: String, key_id: String },
    /// The operator, signed in with the admin token.
    Operator,
}

/// A live session as read for a page.
#[derive(Debug, Clone)]
pub struct Session {
    /// SHA-256 of the cookie token (the row key).
    pub id: String,
    pub kind: SessionKind,
    /// The token every changing form must carry.
    pub csrf_token: String,
    /// A one-time message for the next page ("Request created", ...), as `kind|text`.
    pub flash: Option<String>,
    pub last_seen_ms: i64,
}

/// Why a cookie did not give a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Unknown,
    /// Unused longer than the idle timeout (the row is deleted).
    Expired,
    /// The API key it was opened with has been revoked (the row is deleted).
    KeyRevoked,
}

/// The hashed row id of a cookie token.
pub fn session_id(token: &str) -> String {
    hash_key(token)
}

/// Opens a session; answers the cookie token and the session.
pub async fn create(db: &Db, kind: SessionKind) -> Result<(String, Session), sqlx::Error> {
    let token = new_api_key();
    let csrf = new_api_key();
    let id = session_id(&token);
    let now = now_ms();
    let (k, account, key) = match &kind {
        SessionKind::Customer { account_id, key_id } => {
            ("customer", Some(account_id.as_str()), Some(key_id.as_str()))
        }
        SessionKind::Operator => ("operator", None, None),
    };
    sqlx::query(
        "INSERT INTO console_sessions (id, kind, account_id, api_key_id, csrf_token, created_ms, last_seen_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(&id)
    .bind(k)
    .bind(account)
    .bind(key)
    .bind(&csrf)
    .bind(now)
    .execute(db.write())
    .await?;
    Ok((
        token,
        Session {
            id,
            kind,
            csrf_token: csrf,
            flash: None,
            last_seen_ms: now,
        },
    ))
}

/// The session of a cookie token, if it is live: not idle longer than `idle_ms` and, for a
/// customer, its API key not revoked. A dead session's row is deleted on the way.
pub async fn get(
    db: &Db,
    token: &str,
    idle_ms: i64,
) -> Result<Result<Session, Lookup>, sqlx::Error> {
    let id = session_id(token);
    let row = sqlx::query(
        "SELECT s.kind, s.account_id, s.api_key_id, s.csrf_token, s.flash, s.last_seen_ms, \
                k.revoked_ms, k.id AS key_found \
         FROM console_sessions s LEFT JOIN api_keys k ON k.id = s.api_key_id \
         WHERE s.id = $1",
    )
    .bind(&id)
    .fetch_optional(db.write())
    .await?;
    let Some(r) = row else {
        return Ok(Err(Lookup::Unknown));
    };
    let last_seen: i64 = r.try_get("last_seen_ms")?;
    let kind = match r.try_get::<String, _>("kind")?.as_str() {
        "operator" => SessionKind::Operator,
        "customer" => {
            let revoked: Option<i64> = r.try_get("revoked_ms")?;
            let found: Option<String> = r.try_get("key_found")?;
            if revoked.is_some() || found.is_none() {
                delete(db, &id).await?;
                return Ok(Err(Lookup::KeyRevoked));
            }
            SessionKind::Customer {
                account_id: r
                    .try_get::<Option<String>, _>("account_id")?
                    .unwrap_or_default(),
                key_id: found.unwrap_or_default(),
            }
        }
        // A kind this binary does not know opens nothing.
        _ => return Ok(Err(Lookup::Unknown)),
    };
    let now = now_ms();
    if now - last_seen > idle_ms {
        delete(db, &id).await?;
        return Ok(Err(Lookup::Expired));
    }
    Ok(Ok(Session {
        id,
        kind,
        csrf_token: r.try_get("csrf_token")?,
        flash: r.try_get("flash")?,
        last_seen_ms: last_seen,
    }))
}

/// Marks the session used now (callers skip this when it was marked less than a minute ago).
pub async fn touch(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE console_sessions SET last_seen_ms = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(id)
        .execute(db.write())
        .await?;
    Ok(())
}

/// Sets (or with `None` clears) the one-time message shown by the next page.
pub async fn set_flash(db: &Db, id: &str, flash: Option<&str>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE console_sessions SET flash = $1, last_seen_ms = $2 WHERE id = $3")
        .bind(flash)
        .bind(now_ms())
        .bind(id)
        .execute(db.write())
        .await?;
    Ok(())
}

pub async fn delete(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM console_sessions WHERE id = $1")
        .bind(id)
        .execute(db.write())
        .await?;
    Ok(())
}

/// Deletes sessions unused longer than `idle_ms` (run at each sign-in, so the table stays small
/// without a worker of its own).
pub async fn delete_idle(db: &Db, idle_ms: i64) -> Result<u64, sqlx::Error> {
    let r = sqlx::query("DELETE FROM console_sessions WHERE last_seen_ms < $1")
        .bind(now_ms() - idle_ms)
        .execute(db.write())
        .await?;
    Ok(r.rows_affected())
}

/// The id of a live API key of `account_id`, if `key` is one. Constant-time on the hash.
pub async fn key_of_account(
    db: &Db,
    account_id: &str,
    key: &str,
) -> Result<Option<String>, sqlx::Error> {
    let hash = hash_key(key);
    let row = sqlx::query(
        "SELECT id, key_hash FROM api_keys WHERE key_hash = $1 AND account_id = $2 AND revoked_ms IS NULL",
    )
    .bind(&hash)
    .bind(account_id)
    .fetch_optional(db.read())
    .await?;
    Ok(row.and_then(|r| {
        let stored: String = r.try_get("key_hash").ok()?;
        if bool::from(stored.as_bytes().ct_eq(hash.as_bytes())) {
            r.try_get("id").ok()
        } else {
            None
        }
    }))
}

/// One API key as the operator's account page lists it (never the key itself).
#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub id: String,
    pub created_ms: i64,
    pub revoked_ms: Option<i64>,
}

/// Every key of an account, newest first.
pub async fn account_keys(db: &Db, account_id: &str) -> Result<Vec<KeyInfo>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, created_ms, revoked_ms FROM api_keys WHERE account_id = $1 ORDER BY created_ms DESC, id DESC",
    )
    .bind(account_id)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(KeyInfo {
                id: r.try_get("id")?,
                created_ms: r.try_get("created_ms")?,
                revoked_ms: r.try_get("revoked_ms")?,
            })
        })
        .collect()
}
