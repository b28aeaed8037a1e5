//! `Idempotency-Key`: the first successful answer of a create is stored with the key and the
//! body it came with, and replayed for the same key and body within 24 hours (in the
//! transaction that does the work, so two concurrent calls with one key do the work once).

use crate::AppState;
use crate::domain::now_ms;
use crate::store::requests::{self, IdempotentAnswer};
use crate::store::{StoreError, Tx};

/// An `Idempotency-Key` with the canonical JSON of the body it came with.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    /// Which create the key was used on (`numberrequests`, `companyprofiles`).
    pub endpoint: &'static str,
    pub body: String,
}

/// A JSON answer of a create, fresh or replayed.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status the answer was first given with (201 for a fresh create).
    pub status: u16,
    pub body: String,
    /// The id of the created resource (for its `Location`).
    pub id: String,
}

/// The status a fresh create answers with.
pub const CREATED: u16 = 201;

/// Why a key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    /// The key was used with another body or on the other endpoint.
    #[error("this Idempotency-Key was used with a different request")]
    KeyReused,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for IdempotencyError {
    fn from(e: sqlx::Error) -> Self {
        IdempotencyError::Store(e.into())
    }
}

/// Replays a stored answer, or refuses a key used with another body or endpoint.
pub fn replay(found: IdempotentAnswer, idem: &Idempotency) -> Result<Answer, IdempotencyError> {
    if found.endpoint != idem.endpoint || found.request_body != idem.body {
        return Err(IdempotencyError::KeyReused);
    }
    let id = serde_json::from_str::<serde_json::Value>(&found.body)
        .ok()
        .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_string))
        .unwrap_or_default();
    Ok(Answer {
        status: found.status,
        body: found.body,
        id,
    })
}

/// Inside the write transaction: the stored answer of this key, if a concurrent call with the
/// same key committed first (then it is replayed, or refused for another body).
pub async fn replay_in_tx(
    tx: &mut Tx,
    account_id: &str,
    idem: Option<&Idempotency>,
    now: i64,
) -> Result<Option<Answer>, IdempotencyError> {
    let Some(idem) = idem else { return Ok(None) };
    match requests::find_idempotent(tx, account_id, &idem.key, now).await? {
        Some(found) => Ok(Some(replay(found, idem)?)),
        None => Ok(None),
    }
}

/// Stores a 201 answer under its key, in the transaction that did the work.
pub async fn remember_created(
    tx: &mut Tx,
    account_id: &str,
    idem: Option<&Idempotency>,
    body: &str,
    now: i64,
) -> Result<(), StoreError> {
    let Some(idem) = idem else { return Ok(()) };
    let answer = IdempotentAnswer {
        endpoint: idem.endpoint.into(),
        request_body: idem.body.clone(),
        status: CREATED,
        body: body.to_string(),
    };
    Ok(requests::save_idempotent(tx, account_id, &idem.key, &answer, now).await?)
}

/// Looks up a stored answer outside any transaction (the fast path of a retry).
pub async fn lookup(
    state: &AppState,
    account_id: &str,
    idem: &Idempotency,
) -> Result<Option<Answer>, IdempotencyError> {
    let mut conn = state.db.read().acquire().await?;
    match requests::find_idempotent(&mut conn, account_id, &idem.key, now_ms()).await? {
        Some(found) => replay(found, idem).map(Some),
        None => Ok(None),
    }
}
