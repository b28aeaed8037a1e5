//! The JSON objects of the API (docs/api.md), shared by handlers, services and the outbox.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{Channel, DeliveryState, PhoneNumberType, ProfileStatus, RequestStatus};

/// A number request as `GET NR/numberrequests/{id}` returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NumberRequest {
    pub id: String,
    pub account_id: String,
    pub company_profile_id: String,
    /// The profile's `numberCountryCode` when the request was made.
    pub country_code: String,
    pub phone_number_type: PhoneNumberType,
    pub quantity: i64,
    pub range_size: Option<i64>,
    pub area_code: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub comment: Option<String>,
    pub callback_url: Option<String>,
    pub status: RequestStatus,
    /// The id of `status` (section "statuses").
    pub status_id: i64,
    pub reason: String,
    pub created_on: String,
    pub updated_on: String,
    /// Always `quantity` entries; all-null (but `size`) until numbers are assigned.
    pub ranges: Vec<NumberRange>,
    /// The account's effective price for this country and type when the request was created,
    /// or null when there was none. A later change of the price list does not change it.
    #[serde(default)]
    pub price: Option<QuotedPrice>,
}

/// The price a request was quoted: amounts as decimal strings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QuotedPrice {
    #[schema(example = "EUR")]
    pub currency: String,
    /// Charged once, in the month a number is assigned.
    #[schema(example = "1.50")]
    pub setup_price: String,
    /// Charged for every month a number is held.
    #[schema(example = "2.00")]
    pub monthly_price: String,
}

impl From<crate::money::Price> for QuotedPrice {
    fn from(p: crate::money::Price) -> Self {
        QuotedPrice {
            currency: p.currency.to_string(),
            setup_price: p.setup.to_string(),
            monthly_price: p.monthly.to_string(),
        }
    }
}

impl NumberRequest {
    /// Sets the status and its id together.
    pub fn set_status(&mut self, status: RequestStatus) {
        self.status = status;
        self.status_id = status.id();
    }
}

/// One unit of a request: a single number (`size` 1) or an aligned block.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NumberRange {
    pub id: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub size: i64,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
}

/// A number held by the account.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhoneNumber {
    pub phone_number: String,
    pub country_code: String,
    pub phone_number_type: PhoneNumberType,
    pub area_code: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub number_request_id: String,
    pub company_profile_id: String,
    pub valid_from: String,
    pub valid_to: Option<String>,
}

/// The validated fields of a company profile, as stored and as shown.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProfileData {
    pub name: String,
    pub company_name: String,
    pub business_register_number: String,
    pub representative_first_name: String,
    pub representative_last_name: String,
    pub representative_phone_number: Option<String>,
    pub country_code: String,
    pub region: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub street: String,
    pub house_number: String,
    pub email_addresses: Vec<String>,
    pub number_country_code: String,
    pub phone_number_types: Vec<PhoneNumberType>,
    pub required_fields: Option<BTreeMap<String, String>>,
}

/// A company profile as the API returns it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompanyProfile {
    pub id: String,
    pub account_id: String,
    #[serde(flatten)]
    pub data: ProfileData,
    pub status: ProfileStatus,
    pub status_reason: Option<String>,
    pub created_on: String,
    pub updated_on: String,
    /// 1 at creation, one more with every change (data or status); also the `ETag`.
    pub version: i64,
    /// The profile's addresses not confirmed yet for the account: they receive nothing but
    /// the confirmation message. Empty when none (and when confirmation is off).
    #[schema(value_type = Vec<String>, format = Email)]
    pub unconfirmed_email_addresses: Vec<String>,
}

/// One row of `GET NR/numberrequests/statuses`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusInfo {
    pub id: i64,
    pub name: String,
    #[serde(rename = "final")]
    pub is_final: bool,
    pub description: String,
}

/// One delivery of a status event to one target.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: String,
    pub channel: Channel,
    pub target: String,
    pub state: DeliveryState,
    pub attempts: i64,
    pub last_attempt_on: Option<String>,
    pub last_error: Option<String>,
    /// Only in the operator's delivery list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

/// A status event with its deliveries.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusEvent {
    /// Also the `webhook-id` of its callback.
    pub id: String,
    pub number_request_id: String,
    pub status: RequestStatus,
    pub reason: String,
    pub occurred_on: String,
    pub callback: Option<Delivery>,
    pub emails: Vec<Delivery>,
}

/// Order restrictions for one country and number type.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Restrictions {
    pub country_code: String,
    pub phone_number_type: PhoneNumberType,
    pub min_quantity: i64,
    pub max_quantity: i64,
    pub ranges_supported: bool,
    pub allowed_range_sizes: Vec<i64>,
    pub requires_review: bool,
}

impl Restrictions {
    pub fn defaults(country_code: &str, phone_number_type: PhoneNumberType) -> Self {
        Restrictions {
            country_code: country_code.into(),
            phone_number_type,
            min_quantity: 1,
            max_quantity: 1000,
            ranges_supported: false,
            allowed_range_sizes: Vec::new(),
            requires_review: false,
        }
    }
}

/// An account as the operator sees it (never a key or secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: String,
    pub name: String,
    pub created_on: String,
}

/// The answer to account creation: the only time the API key is shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewAccount {
    pub id: String,
    pub name: String,
    pub created_on: String,
    pub api_key: String,
    pub api_key_id: String,
    pub webhook_secret: String,
}

/// The answer to adding an API key.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewApiKey {
    pub id: String,
    pub account_id: String,
    pub api_key: String,
    pub created_on: String,
}

/// The answer to a stock import.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ImportResult {
    pub added: i64,
    pub duplicates: i64,
}

/// One row of the stock summary.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StockSummary {
    pub country_code: String,
    pub phone_number_type: PhoneNumberType,
    pub area_code: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub available: i64,
    pub assigned: i64,
    pub aging: i64,
    pub total: i64,
}
