//! Stock import: JSON or CSV entries (single numbers or `start`+`count`), validated whole before
//! anything is written, then inserted in large batches, then open requests are fulfilled.

use serde::Deserialize;

use crate::AppState;
use crate::domain::{FieldError, PhoneNumberType, describe, e164_value, is_country_code, now_ms};
use crate::model::ImportResult;
use crate::orders::OrderError;
use crate::store::StoreError;
use crate::store::inventory::{self, Criteria, StockRun};

/// Why an import did not happen (or did not finish).
#[derive(Debug, thiserror::Error)]
pub enum StockError {
    /// Entries that are not valid; nothing was written.
    #[error("the stock is not valid: {}", describe(.0))]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The numbers were added, but fulfilling open requests afterwards failed.
    #[error("the stock was added, but fulfilling open requests failed: {0}")]
    Fulfil(#[source] Box<OrderError>),
}

impl From<sqlx::Error> for StockError {
    fn from(e: sqlx::Error) -> Self {
        StockError::Store(e.into())
    }
}

impl StockError {
    fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        StockError::Invalid(vec![FieldError::new(field, message)])
    }
}

type StockResult<T> = Result<T, StockError>;

/// Most numbers one import may add.
pub const MAX_IMPORT: i64 = 10_000_000;
/// Numbers written per transaction: large enough to be fast, small enough not to hold the
/// writer for long (a fraction of a second). A multiple of the largest tracked block size.
const ROWS_PER_TX: i64 = 100_000;
/// Runs per transaction at most (short runs are bound as parameters, ten each, in statements
/// of 2,000 runs). Scattered single numbers thus go 20,000 to a transaction, as rows did before.
const RUNS_PER_TX: usize = 20_000;

/// One entry of an import: a single number, or `count` numbers from `start`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct StockEntry {
    pub phone_number: Option<String>,
    pub start: Option<String>,
    pub count: Option<i64>,
    pub country_code: Option<String>,
    pub phone_number_type: Option<String>,
    pub area_code: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
}

/// A validated entry: `count` numbers from `first`, with the attributes they are stocked under.
pub type StockBlock = StockRun;

fn blank_to_none(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

/// Validates every entry; the first 50 problems are reported, and nothing is written.
pub fn validate(entries: Vec<StockEntry>) -> StockResult<Vec<StockBlock>> {
    let mut errors = Vec::new();
    let mut blocks = Vec::with_capacity(entries.len());
    let mut total: i64 = 0;
    // The hundred of numbers (with its type and country) whose plan check last passed.
    let mut last_ok: Option<((i64, PhoneNumberType), String)> = None;
    for (i, e) in entries.into_iter().enumerate() {
        let at = |f: &str| format!("numbers[{i}].{f}");
        let mut err = |f: &str, m: &str| {
            if errors.len() < 50 {
                errors.push(FieldError::new(at(f), m));
            }
        };
        let country = blank_to_none(e.country_code);
        if !country.as_deref().is_some_and(is_country_code) {
            err("countryCode", "must be an ISO 3166-1 alpha-2 code, e.g. NL");
        }
        let kind = blank_to_none(e.phone_number_type)
            .as_deref()
            .and_then(PhoneNumberType::parse);
        if kind.is_none() {
            err("phoneNumberType", "must be LOCAL, NATIONAL or TOLLFREE");
        }
        let (first, count, e_is_single) = match (
            blank_to_none(e.phone_number),
            blank_to_none(e.start),
            e.count,
        ) {
            (Some(p), None, None) => match e164_value(&p) {
                Some(v) => (v, 1, true),
                None => {
                    err("phoneNumber", "must be E.164, e.g. +31201234567");
                    continue;
                }
            },
            (None, Some(s), Some(c)) => {
                let Some(v) = e164_value(&s) else {
                    err("start", "must be E.164, e.g. +31201234500");
                    continue;
                };
                if !(1..=MAX_IMPORT).contains(&c) {
                    err("count", &format!("must be 1..{MAX_IMPORT}"));
                    continue;
                }
                if (v + c - 1).to_string().len() != v.to_string().len() {
                    err(
                        "count",
                        "the block runs past the last number of that length",
                    );
                    continue;
                }
                (v, c, false)
            }
            _ => {
                err("phoneNumber", "give either phoneNumber, or start and count");
                continue;
            }
        };
        total += count;
        let area_code = blank_to_none(e.area_code).map(|a| a.trim().to_string());
        if area_code
            .as_ref()
            .is_some_and(|a| a.len() > 10 || !a.bytes().all(|b| b.is_ascii_digit()))
        {
            err("areaCode", "must be 1 to 10 digits");
        }
        let city = blank_to_none(e.city);
        let region = blank_to_none(e.region);
        for (field, v) in [("city", &city), ("region", &region)] {
            if v.as_ref().is_some_and(|v| v.chars().count() > 100) {
                err(field, "must be at most 100 characters");
            }
        }
        if let (Some(country_code), Some(kind)) = (country, kind) {
            // A single number is checked once per hundred in a list of them (plans decide by
            // prefix and length: numbers that differ only in their last two digits are alike);
            // a run at its ends and at the prefixes it spans, not number by number
            // (crate::phone::check_stock_run).
            let plan_key = (first / 100, kind);
            let known_good =
                count == 1 && last_ok.as_ref() == Some(&(plan_key, country_code.clone()));
            if !known_good {
                match crate::phone::check_stock_run(first, count, &country_code, kind) {
                    Ok(()) if count == 1 => last_ok = Some((plan_key, country_code.clone())),
                    Ok(()) => {}
                    Err((n, why)) => {
                        let (field, what) = if e_is_single {
                            ("phoneNumber", "")
                        } else if n == first {
                            ("start", "")
                        } else if n == first + count - 1 {
                            ("count", "the last number of the run, ")
                        } else {
                            ("count", "the run reaches ")
                        };
                        err(field, &format!("{what}+{n}, {why}"));
                    }
                }
            }
            blocks.push(StockBlock {
                first,
                count,
                country_code,
                phone_number_type: kind,
                area_code,
                city,
                region,
            });
        }
    }
    if total > MAX_IMPORT {
        errors.push(FieldError::new(
            "numbers",
            format!("at most {MAX_IMPORT} numbers per import"),
        ));
    }
    if !errors.is_empty() {
        return Err(StockError::Invalid(errors));
    }
    if blocks.is_empty() {
        return Err(StockError::field(
            "numbers",
            "must list at least one number",
        ));
    }
    Ok(blocks)
}

/// Parses CSV whose first row names the columns (`phoneNumber` or `start`+`count`, ...).
pub fn parse_csv(body: &[u8]) -> StockResult<Vec<StockEntry>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(body);
    let headers = reader
        .headers()
        .map_err(|e| StockError::field("body", format!("the CSV header row cannot be read: {e}")))?
        .clone();
    let known = [
        "phoneNumber",
        "start",
        "count",
        "countryCode",
        "phoneNumberType",
        "areaCode",
        "city",
        "region",
    ];
    let cols: Vec<Option<usize>> = known
        .iter()
        .map(|k| headers.iter().position(|h| h == *k))
        .collect();
    if cols[0].is_none() && cols[1].is_none() {
        return Err(StockError::field(
            "body",
            "the CSV header must name phoneNumber or start and count",
        ));
    }
    let mut text_errors = Vec::new();
    for h in headers.iter() {
        crate::text::check("header", h, &mut text_errors);
    }
    let mut out = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| StockError::field(format!("row {}", i + 2), format!("{e}")))?;
        // Every cell, read or not, is text from outside (crate::text).
        for (cell, name) in rec.iter().zip(headers.iter()) {
            if crate::text::forbidden_char(cell).is_some() {
                let name = if crate::text::forbidden_char(name).is_some() {
                    "?"
                } else {
                    name
                };
                crate::text::check(&format!("numbers[{i}].{name}"), cell, &mut text_errors);
            }
        }
        let get = |k: usize| {
            cols[k]
                .and_then(|c| rec.get(c))
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let count = match get(2) {
            Some(c) => Some(c.parse::<i64>().map_err(|_| {
                StockError::field(format!("numbers[{i}].count"), "must be a whole number")
            })?),
            None => None,
        };
        out.push(StockEntry {
            phone_number: get(0),
            start: get(1),
            count,
            country_code: get(3),
            phone_number_type: get(4),
            area_code: get(5),
            city: get(6),
            region: get(7),
        });
    }
    if !text_errors.is_empty() {
        return Err(StockError::Invalid(text_errors));
    }
    Ok(out)
}

/// Writes the blocks to stock and fulfils open requests. Numbers already known are duplicates.
///
/// Consecutive entries with the same attributes are joined into one run; runs are cut at
/// multiples of `ROWS_PER_TX` (never inside a tracked block) and packed into transactions
/// of at most that many numbers, in the order given.
pub async fn import(state: &AppState, blocks: &[StockBlock]) -> StockResult<ImportResult> {
    let total: i64 = blocks.iter().map(|b| b.count).sum();
    let mut added: u64 = 0;
    let mut batch: Vec<StockRun> = Vec::new();
    let mut in_batch: i64 = 0;
    for run in joined(blocks) {
        let mut first = run.first;
        let end = run.first + run.count;
        while first < end {
            let cut = ((first / ROWS_PER_TX + 1) * ROWS_PER_TX).min(end);
            let count = cut - first;
            if in_batch + count > ROWS_PER_TX || batch.len() == RUNS_PER_TX {
                added += write_runs(state, &batch).await?;
                batch.clear();
                in_batch = 0;
            }
            batch.push(StockRun {
                first,
                count,
                ..run.clone()
            });
            in_batch += count;
            first = cut;
        }
    }
    if !batch.is_empty() {
        added += write_runs(state, &batch).await?;
    }
    // Only the open requests this stock can serve are tried: their number does not grow with
    // the open requests for other places.
    let locales: Vec<Criteria> = blocks
        .iter()
        .map(StockRun::criteria)
        .collect::<std::collections::HashSet<_>>()
        .into_iter()
        .collect();
    crate::orders::fulfil(state, crate::orders::Fulfil::Stock(&locales), None)
        .await
        .map_err(|e| StockError::Fulfil(Box::new(e)))?;
    Ok(ImportResult {
        added: added as i64,
        duplicates: total - added as i64,
    })
}

/// The entries as runs, each joined with the next when that continues it with the same
/// attributes.
fn joined(blocks: &[StockBlock]) -> Vec<StockRun> {
    let mut runs: Vec<StockRun> = Vec::new();
    for b in blocks {
        if let Some(last) = runs.last_mut()
            && last.first + last.count == b.first
            && last.country_code == b.country_code
            && last.phone_number_type == b.phone_number_type
            && last.area_code == b.area_code
            && last.city == b.city
            && last.region == b.region
        {
            last.count += b.count;
            continue;
        }
        runs.push(b.clone());
    }
    runs
}

async fn write_runs(state: &AppState, runs: &[StockRun]) -> StockResult<u64> {
    let mut tx = state.db.begin().await?;
    let added = inventory::add_runs(&mut tx, runs, now_ms()).await?;
    tx.commit().await?;
    Ok(added)
}
