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
        assert!(!is_valid_number(999_123_456));
    }
}
