//! The one error type of the store: every service sees a database failure the same way, so a
//! busy or unreachable database is "unavailable" (503 on the web) whichever path met it.

/// A value read back from the database that the code does not know: the row is named so an
/// operator can find and mend it.
#[derive(Debug, thiserror::Error)]
#[error("{table} row {id}: {what}")]
pub struct CorruptRow {
    /// The table the row is in.
    pub table: &'static str,
    /// The row's key.
    pub id: String,
    /// What was wrong with it, e.g. `unknown status id 9`.
    pub what: String,
}

/// A failed database call.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached now, or is busy past its timeout: worth a later retry.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A stored value this version does not understand.
    #[error("a stored row cannot be read: {0}")]
    Corrupt(#[from] CorruptRow),
    /// Any other database error (a constraint, a bad statement): a defect of ours.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// Encoding or decoding a stored document failed.
    #[error("stored document: {0}")]
    Document(#[from] serde_json::Error),
    /// Anything else a store call met (a worker thread gone, say).
    #[error("{0:#}")]
    Other(anyhow::Error),
}

/// The error a row mapping returns for a value it does not know (turned into
/// [`StoreError::Corrupt`] by the conversion from `sqlx::Error`).
pub fn corrupt(table: &'static str, id: impl Into<String>, what: impl Into<String>) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(CorruptRow {
        table,
        id: id.into(),
        what: what.into(),
    }))
}

impl StoreError {
    /// A busy lock, a serialization failure, a deadlock or a unique violation (another writer
    /// won a race): the transaction may succeed when run again.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Unavailable(sqlx::Error::Database(d)) => super::is_busy(d.as_ref()),
            StoreError::Database(e) => super::is_unique_violation(e),
            _ => false,
        }
    }

    /// Logs the error at the level it deserves: unavailability is a warning (the client is told
    /// to retry), anything else an error with its cause.
    pub fn log(&self) {
        match self {
            StoreError::Unavailable(e) => tracing::warn!(error = %e, "database unavailable"),
            StoreError::Corrupt(c) => {
                tracing::error!(table = c.table, id = %c.id, problem = %c.what, "stored row cannot be read")
            }
            other => tracing::error!(error = %other, "database error"),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                StoreError::Unavailable(e)
            }
            sqlx::Error::Database(ref d) if super::is_busy(d.as_ref()) => {
                StoreError::Unavailable(e)
            }
            sqlx::Error::Decode(inner) => match inner.downcast::<CorruptRow>() {
                Ok(c) => StoreError::Corrupt(*c),
                Err(other) => StoreError::Database(sqlx::Error::Decode(other)),
            },
            other => StoreError::Database(other),
        }
    }
}

impl From<anyhow::Error> for StoreError {
    fn from(e: anyhow::Error) -> Self {
        match e.downcast::<sqlx::Error>() {
            Ok(db) => db.into(),
            Err(e) => match e.downcast::<serde_json::Error>() {
                Ok(doc) => StoreError::Document(doc),
                Err(e) => match e.downcast::<CorruptRow>() {
                    Ok(c) => StoreError::Corrupt(c),
                    Err(e) => StoreError::Other(e),
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_row_keeps_its_table_and_id_through_sqlx() {
        let e = StoreError::from(corrupt("number_requests", "abc", "unknown status id 9"));
        match e {
            StoreError::Corrupt(c) => {
                assert_eq!(c.table, "number_requests");
                assert_eq!(c.id, "abc");
                assert_eq!(
                    c.to_string(),
                    "number_requests row abc: unknown status id 9"
                );
            }
            other => panic!("not corrupt: {other:?}"),
        }
    }

    #[test]
    fn a_closed_pool_is_unavailable_and_not_retried() {
        let e = StoreError::from(sqlx::Error::PoolClosed);
        assert!(matches!(e, StoreError::Unavailable(_)));
        assert!(!e.is_retryable());
    }
}
