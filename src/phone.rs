//! Phone numbers checked against the numbering plans of libphonenumber's metadata (the
//! `phonenumber` crate): a number must be valid for its country, and toll-free numbers are
//! exactly the `TOLLFREE` stock.

use phonenumber::Type;
use phonenumber::metadata::DATABASE;

use crate::domain::PhoneNumberType;

/// Why a number cannot be stock of a country and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("is not a valid phone number by the numbering plan")]
    Invalid,
    #[error("is a number of another country than countryCode")]
    OtherCountry,
    #[error("is a toll-free number: its phoneNumberType must be TOLLFREE")]
    TollFree,
    #[error("is not a toll-free number, but phoneNumberType is TOLLFREE")]
    NotTollFree,
}

/// Parses the E.164 digits (`31201234567`) and checks them against the plan of `country`.
fn parse(digits: i64) -> Result<phonenumber::PhoneNumber, NumberError> {
    let n = phonenumber::parse(None, format!("+{digits}")).map_err(|_| NumberError::Invalid)?;
    if n.is_valid() {
        Ok(n)
    } else {
        Err(NumberError::Invalid)
    }
}

/// Checks that the number with these E.164 digits is a valid number of `country` (ISO 3166-1
/// alpha-2) and that it is toll-free exactly when `kind` is [`PhoneNumberType::Tollfree`].
/// (Geographic and non-geographic numbers are not told apart: plans differ too much in what
/// they call either.)
pub fn check_stock_number(
    digits: i64,
    country: &str,
    kind: PhoneNumberType,
) -> Result<(), NumberError> {
    let n = parse(digits)?;
    let region = n.metadata(&DATABASE).map(|m| m.id());
    if region != Some(country) {
        return Err(NumberError::OtherCountry);
    }
    let toll_free = n.number_type(&DATABASE) == Type::TollFree;
    match (kind == PhoneNumberType::Tollfree, toll_free) {
        (false, true) => Err(NumberError::TollFree),
        (true, false) => Err(NumberError::NotTollFree),
        _ => Ok(()),
    }
}

/// Checks a run of `count` numbers from `first` as stock of `country` and `kind`, without
/// parsing every number: both ends, and, where the ends differ in their leading digits, the
/// first and last number of each leading-digit prefix in between (at the highest digit where
/// they differ, so at most ten prefixes). Numbering plans are rules on prefixes and lengths,
/// so a run whose checked points are all valid and of one kind keeps inside one class; a run
/// reaching into a gap of the plan (`+1 212 999 9999` to `+1 213 200 0000` crosses the unused
/// `+1 213 0…` and `+1 213 1…`) is refused. Every checked point lies inside the run, so no
/// valid run is refused. On failure, returns the number checked and why.
pub fn check_stock_run(
    first: i64,
    count: i64,
    country: &str,
    kind: PhoneNumberType,
) -> Result<(), (i64, NumberError)> {
    let last = first + count.max(1) - 1;
    let check = |n: i64| check_stock_number(n, country, kind).map_err(|e| (n, e));
    check(first)?;
    if last == first {
        return Ok(());
    }
    check(last)?;
    // The highest power of ten at which the ends' prefixes differ.
    let mut unit: i64 = 1;
    while first / (unit * 10) != last / (unit * 10) {
        unit *= 10;
    }
    let (lo, hi) = (first / unit, last / unit);
    for p in lo..=hi {
        let (a, b) = ((p * unit).max(first), (p * unit + unit - 1).min(last));
        for n in [a, b] {
            if n != first && n != last {
                check(n)?;
            }
        }
    }
    Ok(())
}

/// True when `digits` (E.164 without the `+`) is a valid number of any country.
pub fn is_valid_number(digits: i64) -> bool {
    parse(digits).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use PhoneNumberType::*;

    #[test]
    fn numbers_must_belong_to_the_country_and_type() {
        assert_eq!(check_stock_number(31_201_234_567, "NL", Local), Ok(()));
        assert_eq!(check_stock_number(31_800_100_000, "NL", Tollfree), Ok(()));
        assert_eq!(check_stock_number(12_125_550_000, "US", Local), Ok(()));
        assert_eq!(
            check_stock_number(12_125_559_999, "NL", Local),
            Err(NumberError::OtherCountry)
        );
        assert_eq!(
            check_stock_number(31_201_234_567, "DE", Local),
            Err(NumberError::OtherCountry)
        );
        assert_eq!(
            check_stock_number(31_800_100_000, "NL", Local),
            Err(NumberError::TollFree)
        );
        assert_eq!(
            check_stock_number(31_201_234_567, "NL", Tollfree),
            Err(NumberError::NotTollFree)
        );
        // Too short and too long for the Dutch plan.
        assert_eq!(
            check_stock_number(3_120_123, "NL", Local),
            Err(NumberError::Invalid)
        );
        assert_eq!(
            check_stock_number(312_012_345_678, "NL", Local),
            Err(NumberError::Invalid)
        );
        assert!(is_valid_number(31_201_234_567));
        assert_eq!(check_stock_run(31_201_000_000, 1000, "NL", Local), Ok(()));
        assert_eq!(
            check_stock_run(31_200_000_000, 10_000_000, "NL", Local),
            Ok(())
        );
        assert_eq!(check_stock_run(12_125_550_000, 1000, "US", Local), Ok(()));
        // Both ends are valid New York and Los Angeles numbers, the middle crosses the gaps
        // `+1 213 0…` and `+1 213 1…`.
        assert!(check_stock_number(12_129_999_999, "US", Local).is_ok());
        assert!(check_stock_number(12_132_000_000, "US", Local).is_ok());
        assert_eq!(
            check_stock_run(12_129_999_999, 2_000_002, "US", Local),
            Err((12_130_000_000, NumberError::Invalid))
        );
        // The end leaves the plan: 021… is not a Dutch area.
        assert_eq!(
            check_stock_run(31_209_999_000, 2000, "NL", Local),
            Err((31_210_000_999, NumberError::Invalid))
        );
        assert!(!is_valid_number(999_123_456));
    }
}
