//! The price list: general prices per country and number type, and accounts' own prices that
//! win over them. An account's effective price is its own, else the general one, else none.

use crate::domain::now_ms;
use crate::money::Price;
use crate::store::{Db, StoreError, accounts, prices as store};

/// One entry of the price list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceEntry {
    /// None for the general list.
    pub account_id: Option<String>,
    pub country_code: String,
    pub phone_number_type: String,
    pub price: Price,
}

/// The price list's failures.
#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    #[error("the account does not exist")]
    AccountNotFound,
    #[error("there is no such price")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for PriceError {
    fn from(e: sqlx::Error) -> Self {
        PriceError::Store(e.into())
    }
}

async fn require_account(db: &Db, account_id: Option<&str>) -> Result<(), PriceError> {
    if let Some(a) = account_id
        && accounts::get_account(db, a).await?.is_none()
    {
        return Err(PriceError::AccountNotFound);
    }
    Ok(())
}

/// Sets a general price (`account_id` None) or an account's own; answers the entry.
pub async fn set(db: &Db, entry: PriceEntry) -> Result<PriceEntry, PriceError> {
    require_account(db, entry.account_id.as_deref()).await?;
    store::upsert(db, &entry, now_ms()).await?;
    Ok(entry)
}

/// Removes a general price or an account's own.
pub async fn remove(
    db: &Db,
    account_id: Option<&str>,
    country_code: &str,
    phone_number_type: &str,
) -> Result<(), PriceError> {
    require_account(db, account_id).await?;
    if store::delete(db, account_id, country_code, phone_number_type).await? {
        Ok(())
    } else {
        Err(PriceError::NotFound)
    }
}

/// Every entry, or one account's own entries only.
pub async fn list(db: &Db, account_id: Option<&str>) -> Result<Vec<PriceEntry>, PriceError> {
    require_account(db, account_id).await?;
    Ok(store::list(db, account_id).await?)
}

/// The account's effective price of one country and type now, if any.
pub async fn price_of(
    db: &Db,
    account_id: &str,
    country_code: &str,
    phone_number_type: &str,
) -> Result<Option<Price>, PriceError> {
    Ok(
        effective(db, account_id, Some(country_code), Some(phone_number_type))
            .await?
            .pop()
            .map(|e| e.price),
    )
}

/// The account's effective prices, one per country and type that has one.
pub async fn effective(
    db: &Db,
    account_id: &str,
    country_code: Option<&str>,
    phone_number_type: Option<&str>,
) -> Result<Vec<PriceEntry>, PriceError> {
    let rows = store::general_and_own(db, account_id, country_code, phone_number_type).await?;
    // Rows come ordered by country, type, then general before own: the last of each key wins.
    let mut out: Vec<PriceEntry> = Vec::with_capacity(rows.len());
    for e in rows {
        match out.last_mut() {
            Some(last)
                if last.country_code == e.country_code
                    && last.phone_number_type == e.phone_number_type =>
            {
                *last = e;
            }
            _ => out.push(e),
        }
    }
    Ok(out)
}
