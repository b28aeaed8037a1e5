//! The rules of the checked parameters and fields, written once: the handlers validate with
//! them and the OpenAPI document is built from them, so what the document promises is what the
//! server accepts (an outside client generated from it neither sends what the server refuses
//! nor refuses what it accepts).
//!
//! Each rule is a value (an [`Int`] range, a [`Text`] shape, a pattern); its `schema()` is
//! what the document shows and its check is what the handler runs. The `*_schema` functions are
//! the same schemas in the form the utoipa attributes (`schema_with`) take.

use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, Object, ObjectBuilder, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{RefOr, Schema};

use crate::domain::{FieldError, PhoneNumberType, RequestStatus};

/// The characters no text may hold ([`crate::text::is_forbidden`]), as a regex class body.
pub const FORBIDDEN_CLASS: &str = r"\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069";
/// The white space that `str::trim` removes and that a text may hold (the rest is forbidden).
pub const SPACE_CLASS: &str = r" \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// Any text without forbidden characters.
pub fn free_text_pattern() -> String {
    format!("^[^{FORBIDDEN_CLASS}]*$")
}

/// Text without forbidden characters that holds something besides white space.
pub fn nonblank_text_pattern() -> String {
    format!("^[^{FORBIDDEN_CLASS}]*[^{FORBIDDEN_CLASS}{SPACE_CLASS}][^{FORBIDDEN_CLASS}]*$")
}

/// The whole number a JSON number stands for: `5`, and also `5.0` or `5e0`, which JSON Schema
/// counts as integers too. A fraction, or a value beyond `i64`, is none.
pub fn whole(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        let f = n.as_f64()?;
        // i64::MAX as f64 rounds up to 2^63, which is out of range: hence the strict bound.
        (f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64).then_some(f as i64)
    })
}

/// A whole number in `min..=max`.
#[derive(Debug, Clone, Copy)]
pub struct Int {
    pub min: i64,
    pub max: i64,
}

impl Int {
    pub const fn new(min: i64, max: i64) -> Int {
        Int { min, max }
    }

    pub fn contains(self, v: i64) -> bool {
        (self.min..=self.max).contains(&v)
    }

    /// The message of a value outside the range.
    pub fn message(self) -> String {
        if self.max == i64::MAX {
            format!("must be a whole number ≥ {}", self.min)
        } else {
            format!("must be a whole number from {} to {}", self.min, self.max)
        }
    }

    /// A JSON number in range; else an error for `field`.
    pub fn check(
        self,
        field: &str,
        n: &serde_json::Number,
        errors: &mut Vec<FieldError>,
    ) -> Option<i64> {
        let v = whole(n).filter(|v| self.contains(*v));
        if v.is_none() {
            errors.push(FieldError::new(field, self.message()));
        }
        v
    }

    /// A query-string value in range; else an error for `field`.
    pub fn parse(self, field: &str, s: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
        let v = s.parse::<i64>().ok().filter(|v| self.contains(*v));
        if v.is_none() {
            errors.push(FieldError::new(field, self.message()));
        }
        v
    }

    pub fn schema(self) -> ObjectBuilder {
        let b = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(self.min as f64));
        if self.max == i64::MAX {
            b
        } else {
            b.maximum(Some(self.max as f64))
        }
    }
}

/// `skip` of a list: 0 or more.
pub const SKIP: Int = Int::new(0, i64::MAX);
/// `take` of a list: 1..100.
pub const TAKE: Int = Int::new(1, 100);
/// `take` when none is given.
pub const TAKE_DEFAULT: i64 = 25;
/// Units of one number request.
pub const QUANTITY: Int = Int::new(1, 1000);
/// Numbers per unit of a number request, and each allowed range size.
pub const RANGE_SIZE: Int = Int::new(1, 1_000_000);
/// `maxQuantity`/`minQuantity` an operator may set.
pub const RESTRICTION_QUANTITY: Int = Int::new(1, 1000);
/// A status code filter of the API log.
pub const HTTP_STATUS: Int = Int::new(100, 599);
/// The `type` of a requirement: 1 document, 2 rule on the company, 3 rule on the request.
pub const REQUIREMENT_TYPE: Int = Int::new(1, 3);

/// A text of at most `max` characters (counted as sent, white space included) without forbidden
/// characters; `nonblank` when it must hold more than white space.
#[derive(Debug, Clone, Copy)]
pub struct Text {
    pub max: usize,
    pub nonblank: bool,
}

impl Text {
    pub const fn new(max: usize, nonblank: bool) -> Text {
        Text { max, nonblank }
    }

    /// Too long, or blank where something is needed: the message; forbidden characters are
    /// refused where the text enters ([`crate::text`]).
    pub fn problem(self, v: &str) -> Option<String> {
        if self.nonblank && v.trim().is_empty() {
            Some("is required".to_string())
        } else if v.chars().count() > self.max {
            Some(format!("must be at most {} characters", self.max))
        } else {
            None
        }
    }

    pub fn schema(self) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(self.nonblank.then_some(1))
            .max_length(Some(self.max))
            .pattern(Some(if self.nonblank {
                nonblank_text_pattern()
            } else {
                free_text_pattern()
            }))
    }
}

/// A reason of a status change or review.
pub const REASON: Text = Text::new(1000, false);
/// A required reason (rejections).
pub const REQUIRED_REASON: Text = Text::new(1000, true);
/// The comment of a number request.
pub const COMMENT: Text = Text::new(1000, false);
/// `city` and `region` of a number request or stock entry (trimmed; blank is none).
pub const PLACE: Text = Text::new(100, false);
/// An account name.
pub const ACCOUNT_NAME: Text = Text::new(100, true);
/// The names and the representative's names of a company profile, its city and region.
pub const PROFILE_TEXT: Text = Text::new(100, true);
/// A company profile's postal code.
pub const POSTAL_CODE: Text = Text::new(12, true);
/// A company profile's street.
pub const STREET: Text = Text::new(255, true);
/// A company profile's house number.
pub const HOUSE_NUMBER: Text = Text::new(20, true);
/// E-mail addresses of a company profile.
pub const EMAIL_COUNT: Int = Int::new(1, 10);
/// Longest e-mail address.
pub const EMAIL_MAX: usize = 254;
/// Most `requiredFields` entries, and the longest key and value.
pub const REQUIRED_FIELDS_MAX: usize = 50;
pub const REQUIRED_FIELD_KEY_MAX: usize = 100;
pub const REQUIRED_FIELD_VALUE_MAX: usize = 1000;
/// A requirement's code (bytes as sent) and description.
pub const REQUIREMENT_CODE_MAX: usize = 100;
pub const REQUIREMENT_DESCRIPTION: Text = Text::new(1000, true);
/// Most requirements of one country and type.
pub const REQUIREMENTS_MAX: usize = 100;

/// Longest callback URL.
pub const CALLBACK_URL_MAX: usize = 2048;
/// `Idempotency-Key`: 1..255 characters.
pub const IDEMPOTENCY_KEY_MAX: usize = 255;

/// An area code as a number request or availability names it: white space around up to 10
/// digits (blank is none).
pub fn area_code_pattern() -> String {
    format!("^[{SPACE_CLASS}]*[0-9]{{0,10}}[{SPACE_CLASS}]*$")
}

/// A plain `local@domain` address ([`crate::text::mail_address`]): a dot-atom local part and
/// a domain name with a dot whose last label starts with a letter.
pub fn email_pattern() -> String {
    let atext = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
    let label = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    let tld = "[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    format!(r"^{atext}+(\.{atext}+)*@({label}\.)+{tld}$")
}

/// An `Idempotency-Key`: visible ASCII (spaces and tabs inside), not blank.
pub const IDEMPOTENCY_KEY_PATTERN: &str = r"^[\t -~]*[!-~][\t -~]*$";

/// E.164: `+`, a digit that is not 0, 7..15 digits in all ([`crate::domain::is_e164`]).
pub const E164_PATTERN: &str = r"^\+[1-9][0-9]{6,14}$";
/// A month `YYYY-MM` from 1970 on ([`crate::money::Month::parse`]).
pub const MONTH_PATTERN: &str = r"^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])$";
/// An amount: digits with up to 4 fraction digits, 0 to 1000000
/// ([`crate::money::Amount::parse_price`]).
pub const AMOUNT_PATTERN: &str = r"^(([0-9]{1,6}|0[0-9]{6})(\.[0-9]{1,4})?|1000000(\.0{1,4})?)$";
/// An ISO 4217 currency code ([`crate::money::Currency::parse`]).
pub const CURRENCY_PATTERN: &str = "^[A-Z]{3}$";
/// An HTTP method name as the API log filters on it.
pub const METHOD_PATTERN: &str = "^[A-Za-z]{1,20}$";

/// A string schema with a pattern.
pub fn pattern(p: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(p.to_string()))
}

/// An id as a path names it: a UUID (anything else is simply not found).
pub fn uuid() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
}

/// A UUID in a body or query string, in every spelling [`crate::domain::parse_uuid`] reads:
/// hyphenated (any case), 32 digits, in braces, or as a `urn:uuid:`.
pub fn uuid_pattern() -> String {
    let h = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
    format!(r"^([0-9a-fA-F]{{32}}|{h}|\{{{h}\}}|[Uu][Rr][Nn]:[Uu][Uu][Ii][Dd]:{h})$")
}

/// [`uuid_pattern`] as a schema.
pub fn uuid_input() -> ObjectBuilder {
    pattern(&uuid_pattern()).examples(["00000000-0000-0000-0000-000000000011"])
}

/// An ISO 3166-1 alpha-2 country code of the officially assigned ones.
pub fn country_code() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(crate::domain::COUNTRY_CODES.iter().copied()))
        .examples(["NL"])
}

/// `LOCAL`, `NATIONAL` or `TOLLFREE`: the shared `PhoneNumberType` schema.
pub fn phone_number_type() -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name("PhoneNumberType"))
}

/// The status filter of request lists: a status name (any case) or its id.
pub fn status_filter() -> ObjectBuilder {
    let names = RequestStatus::ALL.iter().map(|s| s.name().to_string());
    let ids = RequestStatus::ALL.iter().map(|s| s.id().to_string());
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names.chain(ids)))
        .description(Some("A status name (`Pending`) or its id (`1`)"))
}

/// The phone number type values, for hand-written messages and enums.
pub fn phone_number_type_names() -> Vec<&'static str> {
    PhoneNumberType::ALL.iter().map(|t| t.as_str()).collect()
}

/// `schema` allowing `null` too.
pub fn nullable(b: ObjectBuilder) -> Object {
    let mut o = b.build();
    let types = match o.schema_type {
        SchemaType::Type(t) => vec![t, Type::Null],
        SchemaType::Array(mut v) => {
            v.push(Type::Null);
            v
        }
        SchemaType::AnyValue => return o,
    };
    o.schema_type = SchemaType::from_iter(types);
    if let Some(values) = &mut o.enum_values {
        values.push(serde_json::Value::Null);
    }
    o
}

/// An array of `items`.
pub fn array(
    items: impl Into<RefOr<Schema>>,
    min: Option<usize>,
    max: Option<usize>,
) -> ArrayBuilder {
    ArrayBuilder::new()
        .items(items.into())
        .min_items(min)
        .max_items(max)
}

// The rules in the form `#[schema(schema_with = ..)]` and `#[param(schema_with = ..)]` take.

pub fn skip_schema() -> Object {
    SKIP.schema().default(Some(0.into())).build()
}
pub fn take_schema() -> Object {
    TAKE.schema().default(Some(TAKE_DEFAULT.into())).build()
}
pub fn quantity_schema() -> Object {
    QUANTITY.schema().build()
}
pub fn range_size_schema() -> Object {
    nullable(RANGE_SIZE.schema().description(Some(
        "Numbers per unit (an aligned block), or null for single numbers",
    )))
}
pub fn uuid_schema() -> Object {
    uuid().build()
}
pub fn uuid_input_schema() -> Object {
    uuid_input().build()
}
pub fn country_code_schema() -> Object {
    country_code().build()
}
pub fn area_code_schema() -> Object {
    nullable(pattern(&area_code_pattern()).description(Some(
        "Up to 10 digits; white space around them is ignored, blank is none",
    )))
}
pub fn place_schema() -> Object {
    nullable(PLACE.schema())
}
pub fn comment_schema() -> Object {
    nullable(COMMENT.schema())
}
pub fn callback_url_schema() -> Object {
    nullable(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("uri".into())))
            .max_length(Some(CALLBACK_URL_MAX))
            .pattern(Some("^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]".to_string()))
            .description(Some("An absolute http or https URL on a public host")),
    )
}
pub fn reason_schema() -> Object {
    nullable(REASON.schema())
}
pub fn required_reason_schema() -> Object {
    REQUIRED_REASON.schema().build()
}
pub fn account_name_schema() -> Object {
    ACCOUNT_NAME.schema().build()
}
pub fn status_filter_schema() -> Object {
    status_filter().build()
}
pub fn month_schema() -> Object {
    pattern(MONTH_PATTERN)
        .description(Some("YYYY-MM (UTC); the current month when left out"))
        .examples(["2026-12"])
        .build()
}
pub fn method_schema() -> Object {
    pattern(METHOD_PATTERN).examples(["POST"]).build()
}
pub fn http_status_schema() -> Object {
    HTTP_STATUS.schema().build()
}
pub fn amount_schema() -> Object {
    pattern(AMOUNT_PATTERN)
        .description(Some(
            "A decimal string, up to 4 fraction digits, 0 to 1000000",
        ))
        .examples(["1.50"])
        .build()
}
pub fn currency_schema() -> Object {
    pattern(CURRENCY_PATTERN)
        .description(Some("ISO 4217 code"))
        .examples(["EUR"])
        .build()
}
pub fn profile_text_schema() -> Object {
    PROFILE_TEXT.schema().build()
}
pub fn nullable_profile_text_schema() -> Object {
    nullable(PROFILE_TEXT.schema())
}
pub fn postal_code_schema() -> Object {
    POSTAL_CODE.schema().build()
}
pub fn street_schema() -> Object {
    STREET.schema().build()
}
pub fn house_number_schema() -> Object {
    HOUSE_NUMBER.schema().build()
}
pub fn email_addresses_schema() -> utoipa::openapi::schema::Array {
    let item = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
        .max_length(Some(EMAIL_MAX))
        .pattern(Some(email_pattern()));
    array(
        item,
        Some(EMAIL_COUNT.min as usize),
        Some(EMAIL_COUNT.max as usize),
    )
    .description(Some(
        "Plain addresses: a dot-atom local part and a domain name",
    ))
    .build()
}
pub fn phone_number_types_schema() -> utoipa::openapi::schema::Array {
    array(phone_number_type(), Some(1), None)
        .description(Some("Each type once; a repeated one counts once"))
        .build()
}
pub fn required_fields_schema() -> Object {
    nullable(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(REQUIRED_FIELD_VALUE_MAX))
                    .pattern(Some(free_text_pattern())),
            ))
            .property_names(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(REQUIRED_FIELD_KEY_MAX))
                    .pattern(Some(free_text_pattern())),
            ))
            .max_properties(Some(REQUIRED_FIELDS_MAX)),
    )
}
pub fn restriction_quantity_schema() -> Object {
    nullable(RESTRICTION_QUANTITY.schema())
}
pub fn range_sizes_schema() -> utoipa::openapi::schema::Array {
    // JSON Schema can say unique; the ascending order is in the description.
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(RANGE_SIZE.schema())
        .unique_items(true)
        .description(Some("Unique range sizes in ascending order"))
        .build()
}
pub fn requirement_type_schema() -> Object {
    REQUIREMENT_TYPE.schema().build()
}
pub fn requirement_code_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(REQUIREMENT_CODE_MAX))
        .pattern(Some(free_text_pattern()))
        .examples(["ADDRESS_IN_PREFIX_REGION"])
        .build()
}
pub fn requirement_description_schema() -> Object {
    REQUIREMENT_DESCRIPTION.schema().build()
}
pub fn e164_schema() -> Object {
    pattern(E164_PATTERN).examples(["+31201234567"]).build()
}
pub fn nullable_e164_schema() -> Object {
    nullable(pattern(E164_PATTERN).description(Some(
        "E.164, and a valid number of its country by the numbering plan (libphonenumber's metadata)",
    )))
}

/// Parameters as the document lists them. The handlers read the query string with
/// [`crate::api::extract::QueryParams`] and check each value with the rule its schema shows here.
pub mod params {
    use utoipa::IntoParams;
    use utoipa::openapi::Required;
    use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};

    use super::*;

    fn param(
        name: &str,
        at: ParameterIn,
        required: bool,
        description: &str,
        schema: impl Into<RefOr<Schema>>,
    ) -> Parameter {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(at)
            .required(if required {
                Required::True
            } else {
                Required::False
            })
            .description((!description.is_empty()).then(|| description.to_string()))
            .schema(Some(schema))
            .build()
    }

    fn query(
        name: &str,
        required: bool,
        description: &str,
        schema: impl Into<RefOr<Schema>>,
    ) -> Parameter {
        param(name, ParameterIn::Query, required, description, schema)
    }

    /// Declares a parameter set: a unit struct whose `IntoParams` lists the parameters.
    macro_rules! params {
        ($(#[$doc:meta])* $name:ident => [$($p:expr),* $(,)?]) => {
            $(#[$doc])*
            pub struct $name;

            impl IntoParams for $name {
                fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
                    vec![$($p),*]
                }
            }
        };
    }

    params!(
        /// `skip` and `take` of a paginated list.
        Page => [
            query("skip", false, "Items to skip, default 0", skip_schema()),
            query("take", false, "Items to return, 1..100, default 25", take_schema()),
        ]
    );

    params!(
        /// The filters of a number request list.
        RequestFilter => [
            query("status", false, "Only requests in this status: its name (`Pending`, any case) or id (`1`)", status_filter_schema()),
            query("companyProfileId", false, "Only requests of this company profile", uuid_input_schema()),
            query("after", false, "Keyset pagination (a numberdesk extension): only requests older than this request id, i.e. the page after the one that ended with it; `skip` counts from there. The total header stays the total of the whole list.", uuid_input_schema()),
        ]
    );

    params!(
        /// The account filter of the operator's lists.
        AccountFilter => [query("accountId", false, "Only this account", uuid_input_schema())]
    );

    params!(
        /// A country and number type, both required.
        CountryAndType => [
            query("countryCode", true, "", country_code_schema()),
            query("phoneNumberType", true, "", phone_number_type()),
        ]
    );

    params!(
        /// A country and number type, both optional filters.
        CountryAndTypeFilter => [
            query("countryCode", false, "Only this country", country_code_schema()),
            query("phoneNumberType", false, "Only this number type", phone_number_type()),
        ]
    );

    params!(
        /// `{countryCode}/{phoneNumberType}` of an operator path.
        CountryAndTypePath => [
            param("countryCode", ParameterIn::Path, true, "", country_code_schema()),
            param("phoneNumberType", ParameterIn::Path, true, "", phone_number_type()),
        ]
    );

    params!(
        /// What availability is asked for: the fields of a create.
        Availability => [
            query("companyProfileId", true, "A company profile of the account", uuid_input_schema()),
            query("phoneNumberType", true, "", phone_number_type()),
            query("quantity", false, "Units, default 1", quantity_schema()),
            query("rangeSize", false, "Numbers per unit (an aligned block); single numbers when left out", RANGE_SIZE.schema().build()),
            query("areaCode", false, "Up to 10 digits; white space around them is ignored, blank is none", pattern(&area_code_pattern()).build()),
            query("city", false, "Matched case-insensitively; blank is none", PLACE.schema().build()),
            query("region", false, "Matched case-insensitively; blank is none", PLACE.schema().build()),
        ]
    );

    params!(
        /// The month of a usage answer.
        Month => [query("month", false, "YYYY-MM (UTC); the current month when left out", month_schema())]
    );

    params!(
        /// The filters of the API log.
        ApiLogFilter => [
            query("status", false, "Only calls answered with this status code", http_status_schema()),
            query("method", false, "Only calls with this method (any case)", method_schema()),
        ]
    );

    params!(
        /// The state filter of the delivery list.
        DeliveryFilter => [query(
            "state",
            false,
            "Only deliveries in this state",
            RefOr::Ref(utoipa::openapi::Ref::from_schema_name("DeliveryState")),
        )]
    );

    params!(
        /// `Idempotency-Key` of the creates.
        IdempotencyKey => [param(
            "Idempotency-Key",
            ParameterIn::Header,
            false,
            "Replays the first successful answer for 24 hours (per account and endpoint)",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(IDEMPOTENCY_KEY_MAX))
                .pattern(Some(IDEMPOTENCY_KEY_PATTERN.to_string())),
        )]
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(p: &str) -> regex::Regex {
        regex::Regex::new(p).expect("pattern compiles")
    }

    #[test]
    fn text_patterns_refuse_exactly_the_forbidden_characters() {
        let free = full(&free_text_pattern());
        let nonblank = full(&nonblank_text_pattern());
        for c in (0u32..0x3100).filter_map(char::from_u32) {
            let s = format!("a{c}b");
            assert_eq!(
                free.is_match(&s),
                !crate::text::is_forbidden(c),
                "U+{:04X}",
                c as u32
            );
            let alone = c.to_string();
            let accepted = !crate::text::is_forbidden(c) && !alone.trim().is_empty();
            assert_eq!(nonblank.is_match(&alone), accepted, "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn amount_and_month_patterns_match_the_parsers() {
        let amount = full(AMOUNT_PATTERN);
        for s in [
            "0",
            "1.5",
            "1.50",
            "999999.9999",
            "0999999",
            "1000000",
            "1000000.0000",
            "1000000.1",
            "1000001",
            "9999999",
            "01000000",
            "1.",
            ".5",
            "1.12345",
            "-1",
            "1e3",
            "",
        ] {
            assert_eq!(
                amount.is_match(s),
                crate::money::Amount::parse_price(s).is_some(),
                "{s}"
            );
        }
        let month = full(MONTH_PATTERN);
        for s in [
            "2026-12", "1970-01", "1969-12", "2026-13", "2026-00", "9999-01", "226-12", "2026-1",
        ] {
            assert_eq!(
                month.is_match(s),
                crate::money::Month::parse(s).is_some(),
                "{s}"
            );
        }
    }

    #[test]
    fn uuid_pattern_matches_the_parser() {
        let p = full(&uuid_pattern());
        let h = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        for s in [
            h.to_string(),
            h.to_uppercase(),
            h.replace('-', ""),
            format!("{{{h}}}"),
            format!("urn:uuid:{h}"),
            format!("URN:UUID:{h}"),
            format!("Urn:uuid:{h}"),
            format!("{h}0"),
            h[1..].to_string(),
            String::new(),
        ] {
            assert_eq!(
                p.is_match(&s),
                crate::domain::parse_uuid(&s).is_some(),
                "{s}"
            );
        }
    }

    #[test]
    fn integral_json_numbers_are_whole_numbers() {
        let n = |s: &str| serde_json::from_str::<serde_json::Number>(s).unwrap();
        assert_eq!(whole(&n("5")), Some(5));
        assert_eq!(whole(&n("210932.0")), Some(210932));
        assert_eq!(whole(&n("1e3")), Some(1000));
        assert_eq!(whole(&n("1.5")), None);
        assert_eq!(whole(&n("1e300")), None);
    }

    #[test]
    fn e164_pattern_matches_the_check() {
        let e164 = full(E164_PATTERN);
        for s in [
            "+31201234567",
            "+1234567",
            "+123456",
            "+0123456789",
            "31201234567",
            "+1234567890123456",
        ] {
            assert_eq!(e164.is_match(s), crate::domain::is_e164(s), "{s}");
        }
    }
}
