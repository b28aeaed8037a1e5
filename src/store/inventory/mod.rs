//! Stock: what it holds and how it is taken. One file a concern: [`import`] adds runs of
//! numbers, [`blocks`] keeps the whole-block records and seals and unseals the large blocks,
//! [`claims`] takes numbers and blocks for a request and counts what is free, [`aging`] returns
//! released numbers after their rest, and [`catalog`] answers what stock there is (summary,
//! restrictions, requirements, locale options).

mod aging;
mod blocks;
mod catalog;
mod claims;
mod import;

pub use aging::return_aged;
pub use blocks::{TRACKED_BLOCK_SIZES, break_blocks, mark_whole_blocks, unclaim};
pub use catalog::{
    LocaleOption, Requirement, area_code_cities, counts_by_status, locale_options,
    put_requirements, put_restrictions, requirements, restrictions, summary,
};
pub use claims::{claim_blocks, claim_singles, count_free, count_units};
pub use import::{StockRun, add_runs};

use crate::domain::PhoneNumberType;

/// Lookup key of a city or region: matching is case-insensitive.
pub fn key(s: Option<&str>) -> String {
    s.map(|v| v.trim().to_lowercase()).unwrap_or_default()
}

/// The columns of `whole_blocks` besides size and start, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BlockKey {
    country_code: String,
    phone_number_type: PhoneNumberType,
    area_code: String,
    city_key: String,
    region_key: String,
}

/// What a request asks of stock.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Criteria {
    pub country_code: String,
    pub phone_number_type: PhoneNumberType,
    pub area_code: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
}

/// What a claim took from stock: `size` consecutive numbers from `first` (a single number has
/// size 1). A number's E.164 text is `+` and its digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    pub first: i64,
    pub size: i64,
}

impl Unit {
    pub fn single(num: i64) -> Unit {
        Unit {
            first: num,
            size: 1,
        }
    }

    pub fn last(&self) -> i64 {
        self.first + self.size - 1
    }

    /// The first number in E.164.
    pub fn start(&self) -> String {
        format!("+{}", self.first)
    }

    /// The last number in E.164.
    pub fn end(&self) -> String {
        format!("+{}", self.last())
    }
}
