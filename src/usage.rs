//! Usage: what an account's numbers cost in a calendar month (UTC).
//!
//! One line per number per holding: every number held at some time in the month, a number
//! released and assigned again being two lines. A line is charged its request's monthly price
//! for the month (held however briefly, no proration) and its setup price in the month it was
//! assigned. Lines come in the order of when they were assigned, then the number as text, and
//! are produced one at a time from the database's rows ([`UsageLines`]), so a caller that
//! writes them out as they come (the CSV answer) needs memory for one assignment's rows, not
//! for the month.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use futures::StreamExt;
use futures::stream::BoxStream;

use crate::money::{Amount, Currency, Month};
use crate::store::usage::{HoldingRow, held_between, held_sums};
use crate::store::{Db, StoreError};

/// What one line is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    pub currency: Currency,
    pub setup: Amount,
    pub monthly: Amount,
}

/// One number held during the month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageLine {
    pub account_id: String,
    pub phone_number: String,
    pub number_request_id: String,
    pub country_code: String,
    pub phone_number_type: String,
    pub valid_from_ms: i64,
    pub valid_to_ms: Option<i64>,
    /// None when the request was quoted no price: the line costs nothing and counts in no total.
    pub charge: Option<Charge>,
}

/// The sums of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrencyTotal {
    pub currency: Currency,
    pub setup: Amount,
    pub monthly: Amount,
}

impl CurrencyTotal {
    pub fn total(&self) -> Amount {
        self.setup + self.monthly
    }
}

/// Usage's failures.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The lines of a month, one at a time (see the module's doc).
pub struct UsageLines<'a> {
    month: Month,
    rows: BoxStream<'a, Result<HoldingRow, StoreError>>,
    /// The first row of the next group, read ahead.
    ahead: Option<HoldingRow>,
    /// The rows assigned in the same millisecond, whose numbers are merged in text order.
    group: Vec<HoldingRow>,
    /// (the number as text, index into `group`, offset in its span), smallest first.
    heap: BinaryHeap<Reverse<(String, usize, i64)>>,
    totals: BTreeMap<Currency, (Amount, Amount)>,
}

impl<'a> UsageLines<'a> {
    /// The lines of `month` for one account, or for every account.
    pub fn new(db: &'a Db, account_id: Option<String>, month: Month) -> UsageLines<'a> {
        UsageLines {
            month,
            rows: held_between(db, account_id, month.start_ms(), month.end_ms()),
            ahead: None,
            group: Vec::new(),
            heap: BinaryHeap::new(),
            totals: BTreeMap::new(),
        }
    }

    /// The next line, or None after the last.
    pub async fn next(&mut self) -> Option<Result<UsageLine, UsageError>> {
        while self.heap.is_empty() {
            match self.next_group().await {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
        let Reverse((text, i, offset)) = self.heap.pop()?;
        let row = &self.group[i];
        if offset + 1 < row.span {
            self.heap.push(Reverse((
                format!("+{}", row.first + offset + 1),
                i,
                offset + 1,
            )));
        }
        let charge = row.price.map(|p| Charge {
            currency: p.currency,
            setup: if Month::of_ms(row.valid_from_ms) == self.month {
                p.setup
            } else {
                Amount::ZERO
            },
            monthly: p.monthly,
        });
        if let Some(c) = charge {
            let t = self.totals.entry(c.currency).or_default();
            t.0 += c.setup;
            t.1 += c.monthly;
        }
        Some(Ok(UsageLine {
            account_id: row.account_id.clone(),
            phone_number: text,
            number_request_id: row.number_request_id.clone(),
            country_code: row.country_code.clone(),
            phone_number_type: row.phone_number_type.as_str().to_string(),
            valid_from_ms: row.valid_from_ms,
            valid_to_ms: row.valid_to_ms,
            charge,
        }))
    }

    /// Reads the rows assigned in the next millisecond; false when there are none left.
    async fn next_group(&mut self) -> Result<bool, UsageError> {
        self.group.clear();
        let first = match self.ahead.take() {
            Some(r) => r,
            None => match self.rows.next().await {
                Some(r) => r?,
                None => return Ok(false),
            },
        };
        let at = first.valid_from_ms;
        self.group.push(first);
        while let Some(r) = self.rows.next().await {
            let r = r?;
            if r.valid_from_ms != at {
                self.ahead = Some(r);
                break;
            }
            self.group.push(r);
        }
        for (i, r) in self.group.iter().enumerate() {
            if r.span > 0 {
                self.heap.push(Reverse((format!("+{}", r.first), i, 0)));
            }
        }
        Ok(true)
    }

    /// The sums per currency of the lines produced so far, by currency code.
    pub fn totals(&self) -> Vec<CurrencyTotal> {
        self.totals
            .iter()
            .map(|(c, (s, m))| CurrencyTotal {
                currency: *c,
                setup: *s,
                monthly: *m,
            })
            .collect()
    }
}

/// A whole month's usage in memory: its lines and totals (the JSON answer).
pub async fn collect(
    db: &Db,
    account_id: Option<String>,
    month: Month,
) -> Result<(Vec<UsageLine>, Vec<CurrencyTotal>), UsageError> {
    let mut lines = UsageLines::new(db, account_id, month);
    let mut out = Vec::new();
    while let Some(l) = lines.next().await {
        out.push(l?);
    }
    Ok((out, lines.totals()))
}

/// A month's number of lines and its totals per currency (by currency code), summed by the
/// database: the same figures as reading every line with [`UsageLines`], without reading them.
pub async fn summary(
    db: &Db,
    account_id: Option<&str>,
    month: Month,
) -> Result<(i64, Vec<CurrencyTotal>), UsageError> {
    let sums = held_sums(db, account_id, month.start_ms(), month.end_ms()).await?;
    let mut lines = 0;
    let mut totals: BTreeMap<Currency, (Amount, Amount)> = BTreeMap::new();
    for s in sums {
        lines += s.held;
        if let Some(p) = s.price {
            let t = totals.entry(p.currency).or_default();
            t.0 += p.setup.times(s.assigned_in_month);
            t.1 += p.monthly.times(s.held);
        }
    }
    Ok((
        lines,
        totals
            .into_iter()
            .map(|(currency, (setup, monthly))| CurrencyTotal {
                currency,
                setup,
                monthly,
            })
            .collect(),
    ))
}
