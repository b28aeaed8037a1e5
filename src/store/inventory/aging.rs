//! Aging: released numbers rest before they return to stock.

use super::blocks::mark_whole_blocks;
use crate::domain::stock;
use crate::store::Db;

/// Puts released numbers whose rest is over back into stock; returns how many.
pub async fn return_aged(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let nums: Vec<i64> = sqlx::query_scalar(&format!(
        "UPDATE numbers SET status = {}, available_at_ms = NULL WHERE status = {} AND available_at_ms <= $1 RETURNING num",
        stock::AVAILABLE,
        stock::AGING
    ))
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    mark_whole_blocks(&mut tx, &nums).await?;
    tx.commit().await?;
    Ok(nums.len() as u64)
}
