//! Reading an import's input as a stream: CSV records one at a time, and the JSON body's
//! `numbers` array one entry at a time (a `serde` visitor over the document, never a whole
//! `Value`). Each entry goes to [`Check::entry`] as soon as it is read; every string of the input
//! is checked for control characters on the way ([`crate::text`]), known fields or not.
//!
//! [`Guard`] bounds what a parser may buffer: a JSON string, number or field name, or a CSV row,
//! of more than [`MAX_TOKEN`] bytes stops the import. Without it one endless token (a CSV file
//! without line breaks, a JSON string of 500 MB) would be held whole.

use std::fmt;
use std::io::{self, BufReader, Read};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{Check, Format, Problems, StockEntry, StockError, StockResult};
use crate::domain::FieldError;

/// Longest JSON string, number or field name, and longest CSV row, in bytes.
pub const MAX_TOKEN: usize = 64 * 1024;

/// What [`Guard`] reports (inside an [`io::Error`]) when a token is too long.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct TooLong {
    field: String,
    message: String,
}

/// Passes the input through, refusing a token longer than [`MAX_TOKEN`]. It follows just enough
/// of the syntax to find tokens: JSON strings (with their escapes) and other runs of characters
/// outside strings; CSV rows (line breaks outside quotes).
pub struct Guard<R> {
    inner: R,
    format: Format,
    in_string: bool,
    escaped: bool,
    /// Bytes of the current token.
    run: usize,
    /// Bytes passed on.
    offset: u64,
    /// CSV rows ended so far.
    rows: u64,
}

impl<R: Read> Guard<R> {
    pub fn new(inner: R, format: Format) -> Self {
        Guard {
            inner,
            format,
            in_string: false,
            escaped: false,
            run: 0,
            offset: 0,
            rows: 0,
        }
    }

    /// The input, for reading what is left of it.
    pub fn into_inner(self) -> R {
        self.inner
    }

    fn too_long(&self) -> io::Error {
        let e = match self.format {
            Format::Csv => TooLong {
                field: format!("row {}", self.rows + 1),
                message: format!("a row may be at most {MAX_TOKEN} bytes long"),
            },
            Format::Json => TooLong {
                field: "body".into(),
                message: format!(
                    "a string, number or field name may be at most {MAX_TOKEN} bytes long (the one from byte {} is longer)",
                    self.offset.saturating_sub(self.run as u64)
                ),
            },
        };
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            self.offset += 1;
            match self.format {
                Format::Json if self.in_string => {
                    if self.escaped {
                        self.escaped = false;
                    } else if b == b'\\' {
                        self.escaped = true;
                    } else if b == b'"' {
                        self.in_string = false;
                        self.run = 0;
                        continue;
                    }
                    self.run += 1;
                }
                Format::Json => match b {
                    b'"' => {
                        self.in_string = true;
                        self.run = 0;
                    }
                    b'{' | b'}' | b'[' | b']' | b',' | b':' | b' ' | b'\t' | b'\r' | b'\n' => {
                        self.run = 0
                    }
                    _ => self.run += 1,
                },
                Format::Csv => {
                    if b == b'"' {
                        self.in_string = !self.in_string;
                    }
                    if b == b'\n' && !self.in_string {
                        self.rows += 1;
                        self.run = 0;
                    } else {
                        self.run += 1;
                    }
                }
            }
            if self.run > MAX_TOKEN {
                return Err(self.too_long());
            }
        }
        Ok(n)
    }
}

/// The error for a failed read of the input: a token too long, or the input itself.
fn read_error(e: io::Error) -> StockError {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<TooLong>())
    {
        Some(t) => StockError::field(t.field.clone(), t.message.clone()),
        None => StockError::Read(e),
    }
}

/// A CSV error: a failed read, or a row (or the header) that is not CSV, named `field`.
fn csv_error(e: csv::Error, field: String, what: &str) -> StockError {
    if !e.is_io_error() {
        return StockError::field(field, format!("{what}{e}"));
    }
    match e.into_kind() {
        csv::ErrorKind::Io(e) => read_error(e),
        other => StockError::field(field, format!("{what}{other:?}")),
    }
}

/// The names of the CSV columns an entry is read from, in [`StockEntry`] order.
const COLUMNS: [&str; 8] = [
    "phoneNumber",
    "start",
    "count",
    "countryCode",
    "phoneNumberType",
    "areaCode",
    "city",
    "region",
];

/// Reads CSV whose first row names the columns (`phoneNumber` or `start`+`count`, …). Rows are
/// `numbers[i]` from 0 for the first row after the header; an unreadable row is named `row N`
/// by its line (the header is row 1) and stops the import at once, as does a `count` that is
/// not a whole number.
pub fn csv(input: impl Read, check: &mut Check) -> StockResult<()> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .buffer_capacity(64 * 1024)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| csv_error(e, "body".into(), "the CSV header row cannot be read: "))?
        .clone();
    let cols: Vec<Option<usize>> = COLUMNS
        .iter()
        .map(|k| headers.iter().position(|h| h == *k))
        .collect();
    if cols[0].is_none() && cols[1].is_none() {
        return Err(StockError::field(
            "body",
            "the CSV header must name phoneNumber or start and count",
        ));
    }
    for h in headers.iter() {
        check.text.text(|| "header".into(), h);
    }
    let mut rec = csv::StringRecord::new();
    for i in 0.. {
        match reader.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(e, format!("row {}", i + 2), "")),
        }
        // Every cell, read or not, is text from outside (crate::text).
        for (cell, name) in rec.iter().zip(headers.iter()) {
            check.text.text(
                || {
                    let name = if crate::text::forbidden_char(name).is_some() {
                        "?"
                    } else {
                        name
                    };
                    format!("numbers[{i}].{name}")
                },
                cell,
            );
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
        check.entry(
            i,
            StockEntry {
                phone_number: get(0),
                start: get(1),
                count,
                country_code: get(3),
                phone_number_type: get(4),
                area_code: get(5),
                city: get(6),
                region: get(7),
            },
        )?;
    }
    Ok(())
}

/// Reads a JSON body `{"numbers": [entry, …]}`. Not JSON, not an object, or a field of the wrong
/// JSON type stops the import as [`StockError::Malformed`].
pub fn json(input: impl Read, check: &mut Check) -> StockResult<()> {
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(64 * 1024, input));
    let parsed = Body { check: &mut *check }
        .deserialize(&mut de)
        .and_then(|()| de.end());
    match parsed {
        Ok(()) => Ok(()),
        Err(e) => Err(check.fatal.take().unwrap_or_else(|| json_error(e))),
    }
}

fn json_error(e: serde_json::Error) -> StockError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Io => read_error(io::Error::from(e)),
        Category::Syntax | Category::Eof => StockError::Malformed(format!("not JSON: {e}")),
        Category::Data => StockError::Malformed(e.to_string()),
    }
}

/// The top-level object.
struct Body<'a> {
    check: &'a mut Check,
}

impl<'de> DeserializeSeed<'de> for Body<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Body<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object with a numbers array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "numbers" {
                if seen {
                    return Err(de::Error::duplicate_field("numbers"));
                }
                seen = true;
                map.next_value_seed(Numbers {
                    check: &mut *self.check,
                })?;
            } else if let Some(c) = crate::text::forbidden_char(&key) {
                self.check.text.push(FieldError::new(
                    "body",
                    format!("a field name {}", crate::text::forbidden_message(c)),
                ));
                map.next_value::<IgnoredAny>()?;
            } else {
                map.next_value_seed(Text {
                    out: &mut self.check.text,
                    path: key,
                })?;
            }
        }
        Ok(())
    }
}

/// The `numbers` array (`null` counts as absent).
struct Numbers<'a> {
    check: &'a mut Check,
}

impl<'de> DeserializeSeed<'de> for Numbers<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Numbers<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of stock entries")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.check.numbers_seen = true;
        let mut i = 0;
        while seq
            .next_element_seed(Entry {
                check: &mut *self.check,
                i,
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }
}

/// The fields of an entry.
#[derive(Clone, Copy)]
enum Field {
    PhoneNumber,
    Start,
    Count,
    CountryCode,
    PhoneNumberType,
    AreaCode,
    City,
    Region,
}

/// A field name of an entry: known, or any other (kept for the text check's path).
enum Key {
    Known(Field),
    Other(String),
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "phoneNumber" => Key::Known(Field::PhoneNumber),
                    "start" => Key::Known(Field::Start),
                    "count" => Key::Known(Field::Count),
                    "countryCode" => Key::Known(Field::CountryCode),
                    "phoneNumberType" => Key::Known(Field::PhoneNumberType),
                    "areaCode" => Key::Known(Field::AreaCode),
                    "city" => Key::Known(Field::City),
                    "region" => Key::Known(Field::Region),
                    other => Key::Other(other.to_string()),
                })
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// One entry of `numbers`, the `i`-th.
struct Entry<'a> {
    check: &'a mut Check,
    i: usize,
}

impl<'de> DeserializeSeed<'de> for Entry<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Entry<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a stock entry object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let i = self.i;
        let mut e = StockEntry::default();
        // Control characters per field name, reported in the order of the names (as a JSON
        // object's fields are compared everywhere else).
        let mut text: Vec<(String, Problems)> = Vec::new();
        while let Some(key) = map.next_key::<Key>()? {
            let field = match key {
                Key::Known(Field::Count) => {
                    let n: Option<serde_json::Number> = map.next_value()?;
                    e.count = n.and_then(|n| {
                        let v = crate::rules::whole(&n);
                        if v.is_none() {
                            self.check.shape.push(FieldError::new(
                                format!("numbers[{i}].count"),
                                "must be a whole number",
                            ));
                        }
                        v
                    });
                    continue;
                }
                Key::Known(f) => f,
                Key::Other(name) => {
                    let mut out = Problems::default();
                    if let Some(c) = crate::text::forbidden_char(&name) {
                        out.push(FieldError::new(
                            format!("numbers[{i}]"),
                            format!("a field name {}", crate::text::forbidden_message(c)),
                        ));
                        map.next_value::<IgnoredAny>()?;
                    } else {
                        map.next_value_seed(Text {
                            out: &mut out,
                            path: format!("numbers[{i}].{name}"),
                        })?;
                    }
                    if !out.is_empty() {
                        text.push((name, out));
                    }
                    continue;
                }
            };
            let value: Option<String> = map.next_value()?;
            let (name, slot) = match field {
                Field::PhoneNumber => ("phoneNumber", &mut e.phone_number),
                Field::Start => ("start", &mut e.start),
                Field::CountryCode => ("countryCode", &mut e.country_code),
                Field::PhoneNumberType => ("phoneNumberType", &mut e.phone_number_type),
                Field::AreaCode => ("areaCode", &mut e.area_code),
                Field::City => ("city", &mut e.city),
                Field::Region => ("region", &mut e.region),
                Field::Count => unreachable!("count is read above"),
            };
            if let Some(v) = &value {
                let mut out = Problems::default();
                out.text(|| format!("numbers[{i}].{name}"), v);
                if !out.is_empty() {
                    text.push((name.to_string(), out));
                }
            }
            *slot = value;
        }
        text.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, out) in text {
            let unlisted = out.unlisted();
            for fe in out.listed {
                self.check.text.push(fe);
            }
            self.check.text.found += unlisted;
        }
        if let Err(e) = self.check.entry(i, e) {
            self.check.fatal = Some(e);
            return Err(de::Error::custom("the import stopped"));
        }
        Ok(())
    }
}

/// Any JSON value outside the known fields: every string and field name is checked for control
/// characters, named by its path (`note`, `numbers[3].extra[0]`).
struct Text<'a> {
    out: &'a mut Problems,
    path: String,
}

impl<'de> DeserializeSeed<'de> for Text<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Text<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        let path = &self.path;
        self.out.text(|| path.clone(), v);
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq
            .next_element_seed(Text {
                out: &mut *self.out,
                path: format!("{}[{i}]", self.path),
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if let Some(c) = crate::text::forbidden_char(&key) {
                self.out.push(FieldError::new(
                    self.path.clone(),
                    format!("a field name {}", crate::text::forbidden_message(c)),
                ));
                map.next_value::<IgnoredAny>()?;
            } else {
                map.next_value_seed(Text {
                    out: &mut *self.out,
                    path: format!("{}.{key}", self.path),
                })?;
            }
        }
        Ok(())
    }
}
