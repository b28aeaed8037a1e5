//! Accounts, API keys (stored as SHA-256 hashes only) and webhook signing secrets.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;
use subtle::ConstantTimeEq;

use super::Db;
use crate::domain::{format_ms, new_id, now_ms};
use crate::model::{Account, NewAccount, NewApiKey};

/// How long a rotated-out secret keeps signing.
pub const SECRET_OVERLAP_MS: i64 = 24 * 3600 * 1000;

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn random_b64(len: usize) -> Vec<u8> {
    let mut b = vec![0u8; len];
    rand::rng().fill_bytes(&mut b);
    b
}

/// A new API key: 32 random bytes, URL-safe base64.
pub fn new_api_key() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_b64(32))
}

/// A new signing secret: `whsec_` + base64 of 32 random bytes.
pub fn new_webhook_secret() -> String {
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(random_b64(32))
    )
}

pub async fn create_account(
    db: &Db,
    id: Option<&str>,
    name: &str,
    api_key: Option<&str>,
) -> anyhow::Result<NewAccount> {
    let id = id.map(str::to_string).unwrap_or_else(new_id);
    let key = api_key.map(str::to_string).unwrap_or_else(new_api_key);
    let key_id = new_id();
    let secret = new_webhook_secret();
    let now = now_ms();
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO accounts (id, name, created_ms) VALUES ($1, $2, $3)")
        .bind(&id)
        .bind(name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO api_keys (id, account_id, key_hash, created_ms) VALUES ($1, $2, $3, $4)",
    )
    .bind(&key_id)
    .bind(&id)
    .bind(hash_key(&key))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    insert_secret(&mut tx, &id, &secret, now).await?;
    tx.commit().await?;
    Ok(NewAccount {
        id,
        name: name.to_string(),
        created_on: format_ms(now),
        api_key: key,
        api_key_id: key_id,
        webhook_secret: secret,
    })
}

fn account_from_row(r: &sqlx::any::AnyRow) -> Result<Account, sqlx::Error> {
    Ok(Account {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        created_on: format_ms(r.try_get("created_ms")?),
    })
}

pub async fn get_account(db: &Db, id: &str) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query("SELECT id, name, created_ms FROM accounts WHERE id = $1")
        .bind(id)
        .fetch_optional(db.read())
        .await?
        .map(|r| account_from_row(&r))
        .transpose()
}

pub async fn list_accounts(
    db: &Db,
    skip: i64,
    take: i64,
) -> Result<(Vec<Account>, i64), sqlx::Error> {
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(db.read())
        .await?;
    let rows = sqlx::query(
        "SELECT id, name, created_ms FROM accounts ORDER BY id DESC LIMIT $1 OFFSET $2",
    )
    .bind(take)
    .bind(skip)
    .fetch_all(db.read())
    .await?;
    let list = rows
        .iter()
        .map(account_from_row)
        .collect::<Result<_, _>>()?;
    Ok((list, total))
}

pub async fn add_api_key(db: &Db, account_id: &str) -> Result<NewApiKey, sqlx::Error> {
    let key = new_api_key();
    let id = new_id();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO api_keys (id, account_id, key_hash, created_ms) VALUES ($1, $2, $3, $4)",
    )
    .bind(&id)
    .bind(account_id)
    .bind(hash_key(&key))
    .bind(now)
    .execute(db.write())
    .await?;
    Ok(NewApiKey {
        id,
        account_id: account_id.into(),
        api_key: key,
        created_on: format_ms(now),
    })
}

/// Revokes a live key; false when the key is unknown, of another account or already revoked.
pub async fn revoke_api_key(db: &Db, account_id: &str, key_id: &str) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("UPDATE api_keys SET revoked_ms = $1 WHERE id = $2 AND account_id = $3 AND revoked_ms IS NULL")
        .bind(now_ms())
        .bind(key_id)
        .bind(account_id)
        .execute(db.write())
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Who a live API key belongs to: its account and the key's own id (the API log names the key
/// by this id, never by its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOwner {
    pub account_id: String,
    pub key_id: String,
}

/// The owner of a live API key. The lookup goes by hash; the final comparison is constant-time.
pub async fn key_owner(db: &Db, key: &str) -> Result<Option<KeyOwner>, sqlx::Error> {
    let hash = hash_key(key);
    let row = sqlx::query(
        "SELECT id, account_id, key_hash FROM api_keys WHERE key_hash = $1 AND revoked_ms IS NULL",
    )
    .bind(&hash)
    .fetch_optional(db.read())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let stored: String = r.try_get("key_hash")?;
    if !bool::from(stored.as_bytes().ct_eq(hash.as_bytes())) {
        return Ok(None);
    }
    Ok(Some(KeyOwner {
        account_id: r.try_get("account_id")?,
        key_id: r.try_get("id")?,
    }))
}

/// Adds a signing secret of the account, valid from `now` until it is rotated out.
async fn insert_secret(
    conn: &mut sqlx::AnyConnection,
    account_id: &str,
    secret: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO webhook_secrets (id, account_id, secret, created_ms) VALUES ($1, $2, $3, $4)",
    )
    .bind(new_id())
    .bind(account_id)
    .bind(secret)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Rotates the signing secret: the old ones keep signing for 24 h. Returns the new secret and
/// until when the previous one stays valid.
pub async fn rotate_secret(db: &Db, account_id: &str) -> Result<(String, i64), sqlx::Error> {
    let now = now_ms();
    let until = now + SECRET_OVERLAP_MS;
    let secret = new_webhook_secret();
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE webhook_secrets SET valid_until_ms = $1 WHERE account_id = $2 AND valid_until_ms IS NULL")
        .bind(until)
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
    insert_secret(&mut tx, account_id, &secret, now).await?;
    tx.commit().await?;
    Ok((secret, until))
}

/// Every secret that signs now: the current one and those rotated out less than 24 h ago.
pub async fn signing_secrets(db: &Db, account_id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT secret FROM webhook_secrets WHERE account_id = $1 AND (valid_until_ms IS NULL OR valid_until_ms > $2) ORDER BY created_ms DESC",
    )
    .bind(account_id)
    .bind(now_ms())
    .fetch_all(db.read())
    .await
}
