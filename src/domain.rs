//! Domain types and rules without I/O: number types, statuses, phone numbers, times, addresses.

use serde::Serialize;
use utoipa::ToSchema;

/// One failing field of a validation: which field, and what is wrong with it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Field errors as one line, for messages outside the web layer (the command line, logs).
pub fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `LOCAL` (geographic), `NATIONAL` (non-geographic) or `TOLLFREE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum PhoneNumberType {
    #[serde(rename = "LOCAL")]
    Local,
    #[serde(rename = "NATIONAL")]
    National,
    #[serde(rename = "TOLLFREE")]
    Tollfree,
}

/// The named values show as their stored and JSON names.
macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_as_str!(
    PhoneNumberType,
    RequestStatus,
    ProfileStatus,
    Channel,
    DeliveryState
);

impl PhoneNumberType {
    pub const ALL: [PhoneNumberType; 3] = [Self::Local, Self::National, Self::Tollfree];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "LOCAL" => Some(Self::Local),
            "NATIONAL" => Some(Self::National),
            "TOLLFREE" => Some(Self::Tollfree),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "LOCAL",
            Self::National => "NATIONAL",
            Self::Tollfree => "TOLLFREE",
        }
    }
}

/// Number request status; the discriminant is the public `statusId`, the name its JSON form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, ToSchema)]
pub enum RequestStatus {
    Pending = 1,
    Accepted = 2,
    Completed = 3,
    Rejected = 4,
    Cancelled = 5,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 5] = [
        Self::Pending,
        Self::Accepted,
        Self::Completed,
        Self::Rejected,
        Self::Cancelled,
    ];
    pub fn id(self) -> i64 {
        self as i64
    }
    pub fn from_id(id: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.id() == id)
    }
    /// The name, as shown and filtered on.
    pub fn as_str(self) -> &'static str {
        self.name()
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Accepted => "Accepted",
            Self::Completed => "Completed",
            Self::Rejected => "Rejected",
            Self::Cancelled => "Cancelled",
        }
    }
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Rejected | Self::Cancelled)
    }
    pub fn description(self) -> &'static str {
        match self {
            Self::Pending => "Received; waiting for stock or for review",
            Self::Accepted => {
                "Reviewed and accepted by the operator; numbers follow when stock is there"
            }
            Self::Completed => "Numbers assigned to the account",
            Self::Rejected => "Refused by the operator; the reason says why",
            Self::Cancelled => "Cancelled by the customer",
        }
    }
    /// A status filter: the name (`Pending`, any case) or the id (`1`).
    pub fn parse_filter(s: &str) -> Option<Self> {
        if let Ok(id) = s.parse::<i64>() {
            return Self::from_id(id);
        }
        Self::ALL
            .into_iter()
            .find(|st| st.name().eq_ignore_ascii_case(s))
    }
}

/// How a status event reaches someone: its request's callback URL, or one e-mail address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Callback,
    Email,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Self::Callback, Self::Email];

    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Callback => "callback",
            Self::Email => "email",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Where a delivery stands: waiting for its next attempt, or done either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 3] = [Self::Pending, Self::Delivered, Self::Failed];

    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Company profile status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub enum ProfileStatus {
    PendingApproval,
    Approved,
    Rejected,
}

impl ProfileStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingApproval => "PendingApproval",
            Self::Approved => "Approved",
            Self::Rejected => "Rejected",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "PendingApproval" => Some(Self::PendingApproval),
            "Approved" => Some(Self::Approved),
            "Rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// Stock status of one number (`numbers.status`). A number is free when `AVAILABLE` or
/// `SEALED`.
pub mod stock {
    /// Free, in the claim indexes.
    pub const AVAILABLE: i64 = 0;
    pub const ASSIGNED: i64 = 1;
    pub const AGING: i64 = 2;
    /// Free, in an untouched whole aligned block of [`SEAL`] numbers added by one import run:
    /// every number of the block is sealed, the block has its `whole_blocks` row, and its
    /// numbers are in neither claim index nor are its smaller blocks in `whole_blocks`. A block
    /// request of `SEAL` takes it with no index work per number; a claim of single numbers or
    /// of smaller blocks that finds too little unseals whole blocks first (`inventory::unseal`).
    pub const SEALED: i64 = 3;
    /// The size of a sealed block.
    pub const SEAL: i64 = 1000;
    /// SQL condition of a free number.
    pub const FREE_SQL: &str = "status IN (0, 3)";
}

/// An account name ([`crate::rules::ACCOUNT_NAME`]), trimmed.
pub fn account_name(name: Option<&str>) -> Result<String, FieldError> {
    match name {
        Some(n) if crate::rules::ACCOUNT_NAME.problem(n).is_none() => Ok(n.trim().to_string()),
        _ => Err(FieldError::new("name", "is required, 1 to 100 characters")),
    }
}

/// Milliseconds since the Unix epoch, the storage form of every time.
pub fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

/// RFC 3339 in UTC with exactly three fraction digits, e.g. `2026-11-27T09:30:00.123Z`.
pub fn format_ms(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// A new time-ordered id (UUIDv7: index-friendly, and its order is creation order).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The lowest UUIDv7 text of millisecond `ms`: every id made at or after `ms` sorts at or after
/// it, so `id >= id_floor(t)` selects the rows created since `t`.
pub fn id_floor(ms: i64) -> String {
    let ms = ms.max(0) as u64;
    format!(
        "{:08x}-{:04x}-0000-0000-000000000000",
        (ms >> 16) & 0xffff_ffff,
        ms & 0xffff
    )
}

/// Parses a UUID in any accepted spelling and returns the canonical lowercase form.
pub fn parse_uuid(s: &str) -> Option<String> {
    uuid::Uuid::parse_str(s).ok().map(|u| u.to_string())
}

/// An E.164 number: `+`, a non-zero digit, 7..15 digits in all.
pub fn is_e164(s: &str) -> bool {
    let Some(d) = s.strip_prefix('+') else {
        return false;
    };
    (7..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
}

/// The integer value of an E.164 number (digits without `+`), used for block alignment.
pub fn e164_value(s: &str) -> Option<i64> {
    if is_e164(s) {
        s[1..].parse().ok()
    } else {
        None
    }
}

/// ISO 3166-1 alpha-2 codes that are officially assigned: the only country codes accepted.
pub const COUNTRY_CODES: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

pub fn is_country_code(s: &str) -> bool {
    COUNTRY_CODES.contains(&s)
}

/// Countries of the North American Numbering Plan (+1), where `LOCAL` requests need a region.
const NANPA: &[&str] = &[
    "US", "CA", "AG", "AI", "AS", "BB", "BM", "BS", "DM", "DO", "GD", "GU", "JM", "KN", "KY", "LC",
    "MP", "MS", "PR", "SX", "TC", "TT", "VC", "VG", "VI",
];

pub fn is_nanpa(country: &str) -> bool {
    NANPA.contains(&country)
}

#[cfg(test)]
mod tests {
    #[test]
    fn id_floor_sorts_before_every_id_made_since_and_after_older_ones() {
        let before = new_id();
        std::thread::sleep(std::time::Duration::from_millis(3));
        let floor = id_floor(now_ms());
        let after = new_id();
        assert!(before < floor, "{before} < {floor}");
        assert!(floor <= after, "{floor} <= {after}");
        assert_eq!(id_floor(0), "00000000-0000-0000-0000-000000000000");
    }

    use super::*;

    #[test]
    fn times_have_three_fraction_digits_and_z() {
        assert_eq!(format_ms(1_795_000_000_123), "2026-11-18T11:06:40.123Z");
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn e164_needs_plus_and_digits() {
        assert!(is_e164("+31201234567"));
        assert!(!is_e164("31201234567"));
        assert!(!is_e164("+0123456789"));
        assert!(!is_e164("+3120abc4567"));
        assert!(!is_e164("+1234567890123456"));
    }

    #[test]
    fn status_filter_takes_name_or_id() {
        assert_eq!(
            RequestStatus::parse_filter("Pending"),
            Some(RequestStatus::Pending)
        );
        assert_eq!(
            RequestStatus::parse_filter("3"),
            Some(RequestStatus::Completed)
        );
        assert_eq!(RequestStatus::parse_filter("9"), None);
        assert_eq!(RequestStatus::parse_filter("Nope"), None);
    }
}
