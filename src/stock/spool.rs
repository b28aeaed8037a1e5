//! Where validated stock waits until the whole input has been checked: an unnamed temporary
//! file (removed by the operating system when it is closed, also after a crash), so that an
//! import of millions of entries holds none of them in memory.
//!
//! Each run is written as its first number and count (16 bytes), then either one byte saying
//! "same attributes as the run before" or the attributes themselves. Consecutive entries that
//! continue each other with the same attributes are joined into one run before they are written,
//! as the writer would join them anyway.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use crate::domain::PhoneNumberType;
use crate::store::inventory::StockRun;

/// Tag: the run has the attributes of the run before it.
const SAME: u8 = 0;
/// Tag: the run's attributes follow.
const NEW: u8 = 1;
/// Length written for an absent text attribute.
const NONE: u16 = u16::MAX;

/// Writes validated runs to the temporary file.
pub struct SpoolWriter {
    out: BufWriter<File>,
    /// The run being extended by the entries that continue it.
    pending: Option<StockRun>,
    /// The attributes last written (compared for the [`SAME`] tag).
    last: Option<StockRun>,
    runs: u64,
}

impl SpoolWriter {
    /// A new, empty spool in the system's temporary directory (`TMPDIR`).
    pub fn new() -> io::Result<Self> {
        Ok(SpoolWriter {
            out: BufWriter::with_capacity(256 * 1024, tempfile::tempfile()?),
            pending: None,
            last: None,
            runs: 0,
        })
    }

    /// Adds a run; one that continues the run before it with the same attributes is joined to it.
    pub fn push(&mut self, run: StockRun) -> io::Result<()> {
        if let Some(p) = &mut self.pending
            && continues(p, &run)
        {
            p.count += run.count;
            return Ok(());
        }
        if let Some(done) = self.pending.replace(run) {
            self.write(done)?;
        }
        Ok(())
    }

    fn write(&mut self, run: StockRun) -> io::Result<()> {
        self.out.write_all(&run.first.to_le_bytes())?;
        self.out.write_all(&run.count.to_le_bytes())?;
        if self.last.as_ref().is_some_and(|l| same_attributes(l, &run)) {
            self.out.write_all(&[SAME])?;
        } else {
            self.out.write_all(&[NEW])?;
            write_text(&mut self.out, Some(&run.country_code))?;
            write_text(&mut self.out, Some(run.phone_number_type.as_str()))?;
            write_text(&mut self.out, run.area_code.as_deref())?;
            write_text(&mut self.out, run.city.as_deref())?;
            write_text(&mut self.out, run.region.as_deref())?;
            self.last = Some(run);
        }
        self.runs += 1;
        Ok(())
    }

    /// Ends writing; the runs can then be read back in the order they were pushed.
    pub fn finish(mut self) -> io::Result<SpoolReader> {
        if let Some(done) = self.pending.take() {
            self.write(done)?;
        }
        let mut file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        Ok(SpoolReader {
            input: BufReader::with_capacity(256 * 1024, file),
            last: None,
            left: self.runs,
        })
    }
}

/// Reads the runs back.
pub struct SpoolReader {
    input: BufReader<File>,
    last: Option<StockRun>,
    left: u64,
}

impl SpoolReader {
    /// The next run, or `None` after the last.
    pub fn next_run(&mut self) -> io::Result<Option<StockRun>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let first = i64::from_le_bytes(self.array()?);
        let count = i64::from_le_bytes(self.array()?);
        let [tag] = self.array::<1>()?;
        let template = match (tag, &self.last) {
            (SAME, Some(last)) => last.clone(),
            (NEW, _) => {
                let country_code = self.text()?.ok_or_else(corrupt)?;
                let kind = self.text()?.ok_or_else(corrupt)?;
                let run = StockRun {
                    first: 0,
                    count: 0,
                    country_code,
                    phone_number_type: PhoneNumberType::parse(&kind).ok_or_else(corrupt)?,
                    area_code: self.text()?,
                    city: self.text()?,
                    region: self.text()?,
                };
                self.last = Some(run.clone());
                run
            }
            _ => return Err(corrupt()),
        };
        Ok(Some(StockRun {
            first,
            count,
            ..template
        }))
    }

    fn array<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let mut buf = [0u8; N];
        self.input.read_exact(&mut buf)?;
        Ok(buf)
    }

    fn text(&mut self) -> io::Result<Option<String>> {
        let len = u16::from_le_bytes(self.array()?);
        if len == NONE {
            return Ok(None);
        }
        let mut buf = vec![0u8; usize::from(len)];
        self.input.read_exact(&mut buf)?;
        String::from_utf8(buf).map(Some).map_err(|_| corrupt())
    }
}

fn corrupt() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "the import's temporary file does not read back as written",
    )
}

fn write_text(out: &mut impl Write, s: Option<&str>) -> io::Result<()> {
    match s {
        None => out.write_all(&NONE.to_le_bytes()),
        Some(s) => {
            // Validated attributes are at most 100 characters (400 bytes).
            let len = u16::try_from(s.len())
                .ok()
                .filter(|&l| l != NONE)
                .ok_or_else(|| io::Error::other("a stock attribute is too long to spool"))?;
            out.write_all(&len.to_le_bytes())?;
            out.write_all(s.as_bytes())
        }
    }
}

fn same_attributes(a: &StockRun, b: &StockRun) -> bool {
    a.country_code == b.country_code
        && a.phone_number_type == b.phone_number_type
        && a.area_code == b.area_code
        && a.city == b.city
        && a.region == b.region
}

/// True when `next` starts right after `run` and has its attributes.
pub fn continues(run: &StockRun, next: &StockRun) -> bool {
    run.first + run.count == next.first && same_attributes(run, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(first: i64, count: i64, city: Option<&str>) -> StockRun {
        StockRun::sample(first, count, city)
    }

    #[test]
    fn runs_read_back_as_written_joined_where_they_continue() {
        let mut w = SpoolWriter::new().unwrap();
        for r in [
            run(31_201_000_000, 1, Some("Amsterdam")),
            run(31_201_000_001, 9, Some("Amsterdam")),
            run(31_201_000_010, 1, Some("Amstelveen")),
            run(31_201_000_020, 5, Some("Amstelveen")),
            run(31_201_000_025, 1, None),
        ] {
            w.push(r).unwrap();
        }
        let mut r = w.finish().unwrap();
        let mut got = Vec::new();
        while let Some(run) = r.next_run().unwrap() {
            got.push((run.first, run.count, run.city));
        }
        assert_eq!(
            got,
            [
                (31_201_000_000, 10, Some("Amsterdam".to_string())),
                (31_201_000_010, 1, Some("Amstelveen".to_string())),
                (31_201_000_020, 5, Some("Amstelveen".to_string())),
                (31_201_000_025, 1, None),
            ]
        );
    }

    #[test]
    fn an_empty_spool_reads_nothing() {
        let mut r = SpoolWriter::new().unwrap().finish().unwrap();
        assert!(r.next_run().unwrap().is_none());
    }
}
