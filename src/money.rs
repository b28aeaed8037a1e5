//! Money and billing months: exact decimal amounts, currency codes and calendar months (UTC).
//! Each value is parsed once and cannot hold a wrong one.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// The largest amount a price may have.
const MAX_AMOUNT: u32 = 1_000_000;

/// A non-negative amount of money, exact (never binary floating point).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Amount(Decimal);

impl Amount {
    pub const ZERO: Amount = Amount(Decimal::ZERO);

    /// A price amount as written: digits, optionally a point and 1..4 fraction digits, from 0
    /// to 1,000,000.
    pub fn parse_price(s: &str) -> Option<Amount> {
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (s, None),
        };
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || whole.len() > 7 {
            return None;
        }
        if let Some(f) = frac
            && !(digits(f) && f.len() <= 4)
        {
            return None;
        }
        let d = Decimal::from_str(s).ok()?;
        (d <= Decimal::from(MAX_AMOUNT)).then_some(Amount(d))
    }

    /// A stored amount (written by [`Amount::to_string`]).
    pub fn from_stored(s: &str) -> Option<Amount> {
        Decimal::from_str(s)
            .ok()
            .filter(|d| !d.is_sign_negative())
            .map(Amount)
    }

    /// This amount `n` times, exactly.
    pub fn times(self, n: i64) -> Amount {
        Amount(self.0 * Decimal::from(n))
    }
}

impl std::ops::Add for Amount {
    type Output = Amount;
    fn add(self, o: Amount) -> Amount {
        Amount(self.0 + o.0)
    }
}

impl std::ops::AddAssign for Amount {
    fn add_assign(&mut self, o: Amount) {
        self.0 += o.0;
    }
}

/// Two fraction digits, or more where the value needs them: `2` and `2.0000` are `2.00`,
/// `0.0125` stays `0.0125`.
impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = self.0.normalize();
        if d.scale() < 2 {
            d.rescale(2);
        }
        write!(f, "{d}")
    }
}

/// An ISO 4217 currency code: three upper-case letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(s: &str) -> Option<Currency> {
        let b = s.as_bytes();
        (b.len() == 3 && b.iter().all(u8::is_ascii_uppercase)).then(|| Currency([b[0], b[1], b[2]]))
    }

    pub fn as_str(&self) -> &str {
        // Three ASCII letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What numbers of a country and type cost: once when assigned, and every month held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    pub currency: Currency,
    pub setup: Amount,
    pub monthly: Amount,
}

impl Price {
    /// A price read back from three stored columns; all null is none, anything unreadable is
    /// an error naming what was wrong.
    pub fn from_stored(
        currency: Option<&str>,
        setup: Option<&str>,
        monthly: Option<&str>,
    ) -> Result<Option<Price>, String> {
        match (currency, setup, monthly) {
            (None, None, None) => Ok(None),
            (Some(c), Some(s), Some(m)) => Ok(Some(Price {
                currency: Currency::parse(c).ok_or_else(|| format!("currency {c:?}"))?,
                setup: Amount::from_stored(s).ok_or_else(|| format!("amount {s:?}"))?,
                monthly: Amount::from_stored(m).ok_or_else(|| format!("amount {m:?}"))?,
            })),
            _ => Err("a price with a missing part".into()),
        }
    }
}

/// A calendar month in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    year: i32,
    month: time::Month,
}

impl Month {
    /// `YYYY-MM`, exactly.
    pub fn parse(s: &str) -> Option<Month> {
        let b = s.as_bytes();
        if b.len() != 7
            || b[4] != b'-'
            || !s[..4]
                .bytes()
                .chain(s[5..].bytes())
                .all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let year: i32 = s[..4].parse().ok()?;
        let month: u8 = s[5..].parse().ok()?;
        if year < 1970 {
            return None;
        }
        Some(Month {
            year,
            month: time::Month::try_from(month).ok()?,
        })
    }

    /// The month a moment (Unix milliseconds) falls in.
    pub fn of_ms(ms: i64) -> Month {
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        Month {
            year: t.year(),
            month: t.month(),
        }
    }

    /// The current month.
    pub fn current() -> Month {
        Month::of_ms(crate::domain::now_ms())
    }

    /// First millisecond of the month.
    pub fn start_ms(self) -> i64 {
        let date =
            time::Date::from_calendar_date(self.year, self.month, 1).unwrap_or(time::Date::MIN);
        (date.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// First millisecond of the next month (the end, exclusive).
    pub fn end_ms(self) -> i64 {
        self.next().start_ms()
    }

    /// The month after this one.
    pub fn next(self) -> Month {
        if self.month == time::Month::December {
            Month {
                year: self.year + 1,
                month: time::Month::January,
            }
        } else {
            Month {
                year: self.year,
                month: self.month.next(),
            }
        }
    }

    /// The month before this one (January 1970 has none before it: itself).
    pub fn prev(self) -> Month {
        match self.month {
            time::Month::January if self.year <= 1970 => self,
            time::Month::January => Month {
                year: self.year - 1,
                month: time::Month::December,
            },
            m => Month {
                year: self.year,
                month: m.previous(),
            },
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_as_the_price_rules_say() {
        for ok in [
            "0",
            "1",
            "1.5",
            "1.50",
            "0.0125",
            "1000000",
            "1000000.0000",
            "007",
        ] {
            assert!(Amount::parse_price(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            ".5",
            "1.",
            "1.23456",
            "-1",
            "+1",
            "1e3",
            "1000000.01",
            "1 000",
            "1,5",
            "NaN",
            "١",
        ] {
            assert!(Amount::parse_price(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn amounts_are_written_with_two_fraction_digits_or_as_many_as_needed() {
        let w = |s: &str| Amount::parse_price(s).unwrap().to_string();
        assert_eq!(w("2"), "2.00");
        assert_eq!(w("2.0000"), "2.00");
        assert_eq!(w("0.0125"), "0.0125");
        assert_eq!(w("1.5"), "1.50");
        assert_eq!(w("1000000"), "1000000.00");
        let sum = Amount::parse_price("0.1").unwrap() + Amount::parse_price("0.2").unwrap();
        assert_eq!(sum.to_string(), "0.30");
        assert_eq!(
            Amount::parse_price("0.0125").unwrap().times(3).to_string(),
            "0.0375"
        );
    }

    #[test]
    fn currencies_are_three_upper_case_letters() {
        assert_eq!(Currency::parse("EUR").unwrap().as_str(), "EUR");
        for bad in ["eur", "EU", "EURO", "E1R", "", "ÉUR"] {
            assert!(Currency::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn months_parse_and_bound_whole_utc_months() {
        let m = Month::parse("2026-12").unwrap();
        assert_eq!(m.to_string(), "2026-12");
        assert_eq!(
            crate::domain::format_ms(m.start_ms()),
            "2026-12-01T00:00:00.000Z"
        );
        assert_eq!(
            crate::domain::format_ms(m.end_ms()),
            "2027-01-01T00:00:00.000Z"
        );
        assert_eq!(Month::of_ms(m.end_ms() - 1), m);
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "26-12",
            "2026/12",
            "2026-12-01",
            "",
            "abcd-ef",
            "1969-12",
        ] {
            assert!(Month::parse(bad).is_none(), "{bad}");
        }
    }
}
