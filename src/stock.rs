//! Stock import: JSON or CSV entries (single numbers or `start`+`count`), read and validated
//! entry by entry as a stream ([`import_from`]), kept in a temporary file until the whole input
//! is known to be valid ([`spool`]), then inserted in large batches; then open requests are
//! fulfilled.

mod input;
mod spool;

use std::collections::HashSet;
use std::io::{self, Read};

use serde::Deserialize;

use crate::AppState;
use crate::domain::{FieldError, PhoneNumberType, describe, e164_value, is_country_code, now_ms};
use crate::model::ImportResult;
use crate::orders::OrderError;
use crate::store::StoreError;
use crate::store::inventory::{self, Criteria, StockRun};

use spool::{SpoolReader, SpoolWriter};

pub use input::MAX_TOKEN;

/// Why an import did not happen (or did not finish).
#[derive(Debug, thiserror::Error)]
pub enum StockError {
    /// Entries that are not valid; nothing was written.
    #[error("the stock is not valid: {0}")]
    Invalid(Problems),
    /// JSON that is not well-formed or not of the import's shape; nothing was written.
    #[error("the stock is not well-formed JSON of the import's shape: {0}")]
    Malformed(String),
    /// The input could not be read to its end; nothing was written.
    #[error("the stock could not be read: {0}")]
    Read(#[source] io::Error),
    /// The import's temporary file or its worker failed; nothing was written.
    #[error("the import failed: {0}")]
    Internal(String),
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
        let mut p = Problems::default();
        p.push(FieldError::new(field, message));
        StockError::Invalid(p)
    }

    fn spool(e: io::Error) -> Self {
        StockError::Internal(format!("the import's temporary file: {e}"))
    }
}

type StockResult<T> = Result<T, StockError>;

/// How an input is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A header row naming the columns, then one entry per row.
    Csv,
    /// `{"numbers": [entry, …]}`.
    Json,
}

/// Most problems one import lists (an import may hold millions of entries).
pub const MAX_PROBLEMS: usize = 50;

/// The problems found in an import: the first [`MAX_PROBLEMS`] are listed, the rest counted.
#[derive(Debug, Default)]
pub struct Problems {
    /// The first problems, in the order found.
    pub listed: Vec<FieldError>,
    /// How many were found, the listed ones included.
    pub found: u64,
}

impl Problems {
    /// Adds a problem: listed while the list has room, else counted.
    pub fn push(&mut self, e: FieldError) {
        self.found += 1;
        if self.listed.len() < MAX_PROBLEMS {
            self.listed.push(e);
        }
    }

    /// Adds a problem for `field` (named only when needed) if `value` holds a control or
    /// bidirectional-control character ([`crate::text`]).
    pub fn text(&mut self, field: impl FnOnce() -> String, value: &str) {
        if let Some(c) = crate::text::forbidden_char(value) {
            self.push(FieldError::new(field(), crate::text::forbidden_message(c)));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.found == 0
    }

    /// Problems found but not listed.
    pub fn unlisted(&self) -> u64 {
        self.found.saturating_sub(self.listed.len() as u64)
    }
}

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&describe(&self.listed))?;
        match self.unlisted() {
            0 => Ok(()),
            n => write!(f, "; and {n} more"),
        }
    }
}

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

/// Checks entries one at a time, as they are read: numbers, counts, countries, types and the
/// other fields, and the numbering plan. Keeps the first [`MAX_PROBLEMS`] problems.
#[derive(Debug, Default)]
pub struct Validator {
    problems: Problems,
    /// Numbers in the entries so far.
    total: i64,
    entries: u64,
    /// The hundred of numbers (with its type and country) whose plan check last passed.
    last_ok: Option<((i64, PhoneNumberType), String)>,
}

impl Validator {
    /// Checks the `i`-th entry; returns it as a block when it has no problem.
    pub fn check(&mut self, i: usize, e: StockEntry) -> Option<StockBlock> {
        self.entries += 1;
        let before = self.problems.found;
        let problems = &mut self.problems;
        let mut err =
            |f: &str, m: &str| problems.push(FieldError::new(format!("numbers[{i}].{f}"), m));
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
                    return None;
                }
            },
            (None, Some(s), Some(c)) => {
                let Some(v) = e164_value(&s) else {
                    err("start", "must be E.164, e.g. +31201234500");
                    return None;
                };
                if !(1..=MAX_IMPORT).contains(&c) {
                    err("count", &format!("must be 1..{MAX_IMPORT}"));
                    return None;
                }
                if (v + c - 1).to_string().len() != v.to_string().len() {
                    err(
                        "count",
                        "the block runs past the last number of that length",
                    );
                    return None;
                }
                (v, c, false)
            }
            _ => {
                err("phoneNumber", "give either phoneNumber, or start and count");
                return None;
            }
        };
        self.total += count;
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
        let (country_code, kind) = (country?, kind?);
        // A single number is checked once per hundred in a list of them (plans decide by
        // prefix and length: numbers that differ only in their last two digits are alike);
        // a run at its ends and at the prefixes it spans, not number by number
        // (crate::phone::check_stock_run).
        let plan_key = (first / 100, kind);
        let known_good =
            count == 1 && self.last_ok.as_ref() == Some(&(plan_key, country_code.clone()));
        if !known_good {
            match crate::phone::check_stock_run(first, count, &country_code, kind) {
                Ok(()) if count == 1 => self.last_ok = Some((plan_key, country_code.clone())),
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
        (self.problems.found == before).then_some(StockBlock {
            first,
            count,
            country_code,
            phone_number_type: kind,
            area_code,
            city,
            region,
        })
    }

    /// True when every entry so far is valid and the numbers are within [`MAX_IMPORT`].
    pub fn clean(&self) -> bool {
        self.problems.is_empty() && self.total <= MAX_IMPORT
    }

    /// After the last entry: the number of numbers in the entries, or every problem found.
    pub fn finish(mut self) -> StockResult<i64> {
        if self.total > MAX_IMPORT {
            // Listed even when the list is full: it is the one problem about the whole import.
            self.problems.found += 1;
            self.problems.listed.push(FieldError::new(
                "numbers",
                format!("at most {MAX_IMPORT} numbers per import"),
            ));
        }
        if !self.problems.is_empty() {
            return Err(StockError::Invalid(self.problems));
        }
        if self.entries == 0 {
            return Err(StockError::field(
                "numbers",
                "must list at least one number",
            ));
        }
        Ok(self.total)
    }
}

/// Validates every entry; the first 50 problems are reported, and nothing is written.
pub fn validate(entries: Vec<StockEntry>) -> StockResult<Vec<StockBlock>> {
    let mut v = Validator::default();
    let blocks = entries
        .into_iter()
        .enumerate()
        .filter_map(|(i, e)| v.check(i, e))
        .collect();
    v.finish()?;
    Ok(blocks)
}

/// The stock a checked input leaves to write.
pub(crate) struct Checked {
    spool: SpoolReader,
    /// Numbers in the entries (duplicates included).
    total: i64,
    locales: Locales,
}

/// Checking one input, entry by entry: what the parsers ([`input`]) report and hand on.
pub(crate) struct Check {
    validator: Validator,
    /// Control characters anywhere in the input: reported before any other problem.
    text: Problems,
    /// JSON `count`s that are not whole numbers: reported before the entries' own problems.
    shape: Problems,
    /// A JSON body named its `numbers` array.
    numbers_seen: bool,
    /// The valid entries so far; dropped at the first problem (nothing will be written).
    spool: Option<SpoolWriter>,
    locales: Locales,
    /// An error that stopped the parser, kept here while it unwinds through serde.
    fatal: Option<StockError>,
}

impl Check {
    fn new() -> StockResult<Self> {
        Ok(Check {
            validator: Validator::default(),
            text: Problems::default(),
            shape: Problems::default(),
            numbers_seen: false,
            spool: Some(SpoolWriter::new().map_err(StockError::spool)?),
            locales: Locales::default(),
            fatal: None,
        })
    }

    /// The `i`-th entry, as read.
    fn entry(&mut self, i: usize, e: StockEntry) -> StockResult<()> {
        let block = self.validator.check(i, e);
        if !(self.validator.clean() && self.text.is_empty() && self.shape.is_empty()) {
            self.spool = None;
            return Ok(());
        }
        if let (Some(block), Some(spool)) = (block, &mut self.spool) {
            self.locales.add(&block);
            spool.push(block).map_err(StockError::spool)?;
        }
        Ok(())
    }

    /// After the whole input: the problems, in the order the checks come (text, shape, entries),
    /// or what is to be written.
    fn finish(self, format: Format) -> StockResult<Checked> {
        if !self.text.is_empty() {
            return Err(StockError::Invalid(self.text));
        }
        if format == Format::Json && !self.numbers_seen {
            return Err(StockError::field("numbers", "is required"));
        }
        if !self.shape.is_empty() {
            return Err(StockError::Invalid(self.shape));
        }
        let total = self.validator.finish()?;
        let spool = self
            .spool
            .ok_or_else(|| StockError::Internal("the valid entries were not kept".into()))?
            .finish()
            .map_err(StockError::spool)?;
        Ok(Checked {
            spool,
            total,
            locales: self.locales,
        })
    }
}

/// Reads, checks and imports stock from `input` (the body of an import, a file), without
/// holding its entries in memory: the input is parsed and checked entry by entry, the valid
/// entries wait in a temporary file ([`spool`]), and only when the whole input is valid are
/// they written, in the order given. Any problem: nothing is written. Numbers already known are
/// duplicates. Then open requests are fulfilled.
///
/// The input is read to its end even when an early problem already refuses it, so that whoever
/// sends it is not cut off before the answer. A single JSON string, number or field name, or a
/// CSV row, longer than [`input::MAX_TOKEN`] bytes is refused.
pub async fn import_from<R: Read + Send + 'static>(
    state: &AppState,
    format: Format,
    input: R,
) -> StockResult<ImportResult> {
    let checked = tokio::task::spawn_blocking(move || check_input(format, input))
        .await
        .map_err(|e| StockError::Internal(format!("checking the input stopped: {e}")))??;
    write_checked(state, checked).await
}

/// Parses and checks the whole input (blocking).
fn check_input<R: Read>(format: Format, input: R) -> StockResult<Checked> {
    let mut guarded = input::Guard::new(input, format);
    let mut check = Check::new()?;
    let parsed = match format {
        Format::Csv => input::csv(&mut guarded, &mut check),
        Format::Json => input::json(&mut guarded, &mut check),
    };
    if parsed.is_err() {
        // Refused before the end: read the rest (its size is the caller's to bound).
        let _ = io::copy(&mut guarded.into_inner(), &mut io::sink());
    }
    parsed?;
    check.finish(format)
}

/// Runs read back from the spool per message from its reader thread.
const READ_BATCH: usize = 4_096;

/// Writes the spooled runs, read back on a blocking thread and handed over in batches.
async fn write_checked(state: &AppState, checked: Checked) -> StockResult<ImportResult> {
    let Checked {
        mut spool,
        total,
        locales,
    } = checked;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<io::Result<Vec<StockRun>>>(2);
    let reader = tokio::task::spawn_blocking(move || {
        loop {
            let mut batch = Vec::with_capacity(READ_BATCH);
            let read = (|| {
                while batch.len() < READ_BATCH {
                    match spool.next_run()? {
                        Some(run) => batch.push(run),
                        None => break,
                    }
                }
                Ok(())
            })();
            let last = batch.len() < READ_BATCH || read.is_err();
            // A closed channel: the writer stopped (and says why).
            if tx.blocking_send(read.map(|()| batch)).is_err() || last {
                return;
            }
        }
    });
    let mut writer = Writer::new(state);
    let written = async {
        while let Some(batch) = rx.recv().await {
            for run in batch.map_err(StockError::spool)? {
                writer.push(run).await?;
            }
        }
        writer.finish(total, &locales).await
    }
    .await;
    drop(rx);
    let _ = reader.await;
    written
}

/// Writes the blocks to stock and fulfils open requests. Numbers already known are duplicates.
/// (The blocks are held by the caller: for stock built in code, such as the demo's; imports of
/// outside input go through [`import_from`].)
///
/// Consecutive entries with the same attributes are joined into one run; runs are cut at
/// multiples of `ROWS_PER_TX` (never inside a tracked block) and packed into transactions
/// of at most that many numbers, in the order given.
pub async fn import(state: &AppState, blocks: &[StockBlock]) -> StockResult<ImportResult> {
    let total: i64 = blocks.iter().map(|b| b.count).sum();
    let mut locales = Locales::default();
    let mut writer = Writer::new(state);
    for b in blocks {
        locales.add(b);
        writer.push(b.clone()).await?;
    }
    writer.finish(total, &locales).await
}

/// Writes runs in transactions as they come.
struct Writer<'a> {
    state: &'a AppState,
    /// The run being extended by the runs that continue it.
    pending: Option<StockRun>,
    batch: Vec<StockRun>,
    in_batch: i64,
    added: u64,
}

impl<'a> Writer<'a> {
    fn new(state: &'a AppState) -> Self {
        Writer {
            state,
            pending: None,
            batch: Vec::new(),
            in_batch: 0,
            added: 0,
        }
    }

    async fn push(&mut self, run: StockRun) -> StockResult<()> {
        if let Some(p) = &mut self.pending
            && spool::continues(p, &run)
        {
            p.count += run.count;
            return Ok(());
        }
        if let Some(done) = self.pending.replace(run) {
            self.cut(done).await?;
        }
        Ok(())
    }

    /// Cuts a joined run at multiples of `ROWS_PER_TX` into the batches.
    async fn cut(&mut self, run: StockRun) -> StockResult<()> {
        let mut first = run.first;
        let end = run.first + run.count;
        while first < end {
            let cut = ((first / ROWS_PER_TX + 1) * ROWS_PER_TX).min(end);
            let count = cut - first;
            if self.in_batch + count > ROWS_PER_TX || self.batch.len() == RUNS_PER_TX {
                self.added += write_runs(self.state, &self.batch).await?;
                self.batch.clear();
                self.in_batch = 0;
            }
            self.batch.push(StockRun {
                first,
                count,
                ..run.clone()
            });
            self.in_batch += count;
            first = cut;
        }
        Ok(())
    }

    /// Writes what is left, then fulfils the open requests this stock can serve.
    async fn finish(mut self, total: i64, locales: &Locales) -> StockResult<ImportResult> {
        if let Some(done) = self.pending.take() {
            self.cut(done).await?;
        }
        if !self.batch.is_empty() {
            self.added += write_runs(self.state, &self.batch).await?;
        }
        // Only the open requests this stock can serve are tried: their number does not grow
        // with the open requests for other places.
        let scope = match &locales.set {
            Some(set) => {
                let list: Vec<Criteria> = set.iter().cloned().collect();
                crate::orders::fulfil(self.state, crate::orders::Fulfil::Stock(&list), None).await
            }
            None => crate::orders::fulfil(self.state, crate::orders::Fulfil::All, None).await,
        };
        scope.map_err(|e| StockError::Fulfil(Box::new(e)))?;
        Ok(ImportResult {
            added: self.added as i64,
            duplicates: total - self.added as i64,
        })
    }
}

/// Most distinct locales an import keeps to fulfil requests for; an import of more tries every
/// open request instead.
const MAX_LOCALES: usize = 1_000;

/// The locales (country, type, area code, city, region) of an import's stock.
#[derive(Debug)]
struct Locales {
    /// `None`: more than [`MAX_LOCALES`].
    set: Option<HashSet<Criteria>>,
}

impl Default for Locales {
    fn default() -> Self {
        Locales {
            set: Some(HashSet::new()),
        }
    }
}

impl Locales {
    fn add(&mut self, run: &StockRun) {
        let Some(set) = &mut self.set else { return };
        let c = run.criteria();
        if set.contains(&c) {
            return;
        }
        if set.len() == MAX_LOCALES {
            self.set = None;
        } else {
            set.insert(c);
        }
    }
}

async fn write_runs(state: &AppState, runs: &[StockRun]) -> StockResult<u64> {
    let mut tx = state.db.begin().await?;
    let added = inventory::add_runs(&mut tx, runs, now_ms()).await?;
    tx.commit().await?;
    Ok(added)
}
