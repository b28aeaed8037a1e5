//! Prices over HTTP: the operator's price list (`/admin/v1/prices`, `/admin/v1/accounts/{id}/prices`)
//! and the customer's effective prices (`GET NR/prices`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult, ErrorBody, FieldError};
use super::extract::{
    Customer, JsonBody, Operator, QueryParams, country_code, number_type, path_id,
};
use crate::AppState;
use crate::money::{Amount, Currency, Price};
use crate::prices::{self, PriceEntry, PriceError};
use crate::rules;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_general, delete_general))
        .routes(routes!(put_own, delete_own))
        .routes(routes!(list_all))
        .routes(routes!(customer_prices))
}

impl From<PriceError> for ApiError {
    fn from(e: PriceError) -> Self {
        match e {
            PriceError::AccountNotFound | PriceError::NotFound => ApiError::not_found(),
            PriceError::Store(e) => e.into(),
        }
    }
}

/// A price as the customer sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceView {
    #[schema(example = "NL")]
    pub country_code: String,
    #[schema(example = "LOCAL")]
    pub phone_number_type: String,
    /// ISO 4217 code.
    #[schema(example = "EUR")]
    pub currency: String,
    /// Charged once, in the month a number is assigned. Decimal string.
    #[schema(example = "1.50")]
    pub setup_price: String,
    /// Charged for every month a number is held, however briefly. Decimal string.
    #[schema(example = "2.00")]
    pub monthly_price: String,
}

/// A price list entry as the operator sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperatorPriceView {
    /// The account whose own price this is; null for the general list.
    pub account_id: Option<String>,
    #[serde(flatten)]
    pub price: PriceView,
}

impl PriceView {
    fn of(e: &PriceEntry) -> PriceView {
        PriceView {
            country_code: e.country_code.clone(),
            phone_number_type: e.phone_number_type.clone(),
            currency: e.price.currency.to_string(),
            setup_price: e.price.setup.to_string(),
            monthly_price: e.price.monthly.to_string(),
        }
    }
}

impl OperatorPriceView {
    fn of(e: &PriceEntry) -> OperatorPriceView {
        OperatorPriceView {
            account_id: e.account_id.clone(),
            price: PriceView::of(e),
        }
    }
}

/// Body of a price `PUT`. Amounts are decimal strings (digits, optionally a point and 1..4
/// fraction digits, 0 to 1000000); a JSON number there is not accepted.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceInput {
    /// ISO 4217 code, three upper-case letters.
    #[schema(schema_with = rules::currency_schema, required = true)]
    pub currency: Option<serde_json::Value>,
    /// Charged once, in the month a number is assigned.
    #[schema(schema_with = rules::amount_schema, required = true)]
    pub setup_price: Option<serde_json::Value>,
    /// Charged for every month a number is held.
    #[schema(schema_with = rules::amount_schema, required = true)]
    pub monthly_price: Option<serde_json::Value>,
}

/// The body's price, or the failing fields.
pub(crate) fn price_of(b: &PriceInput, errors: &mut Vec<FieldError>) -> Option<Price> {
    fn text(v: &Option<serde_json::Value>) -> Option<&str> {
        v.as_ref().and_then(|v| v.as_str())
    }
    let currency = text(&b.currency).and_then(Currency::parse);
    if currency.is_none() {
        errors.push(FieldError::new(
            "currency",
            "is required: an ISO 4217 code of three upper-case letters, e.g. EUR",
        ));
    }
    let amount = |v: &Option<serde_json::Value>, field: &str, errors: &mut Vec<FieldError>| {
        let a = text(v).and_then(Amount::parse_price);
        if a.is_none() {
            errors.push(FieldError::new(
                field,
                "is required: a decimal string such as \"1.50\" (up to 4 fraction digits), from 0 to 1000000",
            ));
        }
        a
    };
    let setup = amount(&b.setup_price, "setupPrice", errors);
    let monthly = amount(&b.monthly_price, "monthlyPrice", errors);
    Some(Price {
        currency: currency?,
        setup: setup?,
        monthly: monthly?,
    })
}

/// The `{countryCode}/{phoneNumberType}` of a price path.
pub(crate) fn key_of(
    country: &str,
    kind: &str,
    errors: &mut Vec<FieldError>,
) -> Option<(String, String)> {
    let c = country_code(country, errors).map(str::to_string);
    let t = number_type(kind, errors).map(|t| t.as_str().to_string());
    Some((c?, t?))
}

async fn set(
    state: &AppState,
    account_id: Option<String>,
    country: &str,
    kind: &str,
    body: &PriceInput,
) -> ApiResult<Response> {
    let mut errors = Vec::new();
    let key = key_of(country, kind, &mut errors);
    let price = price_of(body, &mut errors);
    let (Some((country_code, phone_number_type)), Some(price), true) =
        (key, price, errors.is_empty())
    else {
        return Err(ApiError::validation(errors));
    };
    let entry = prices::set(
        &state.db,
        PriceEntry {
            account_id,
            country_code,
            phone_number_type,
            price,
        },
    )
    .await?;
    Ok(axum::Json(OperatorPriceView::of(&entry)).into_response())
}

async fn remove(
    state: &AppState,
    account_id: Option<&str>,
    country: &str,
    kind: &str,
) -> ApiResult<Response> {
    let mut errors = Vec::new();
    let Some((c, t)) = key_of(country, kind, &mut errors) else {
        return Err(ApiError::validation(errors));
    };
    prices::remove(&state.db, account_id, &c, &t).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Set the general price of a country and number type.
#[utoipa::path(put, path = "/admin/v1/prices/{countryCode}/{phoneNumberType}", tag = "Operator",
    params(rules::params::CountryAndTypePath), request_body = PriceInput,
    responses((status = 200, body = OperatorPriceView), (status = 400, description = "VALIDATION_FAILED or MALFORMED_JSON", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn put_general(
    State(state): State<AppState>,
    _: Operator,
    Path((country, kind)): Path<(String, String)>,
    body: JsonBody<PriceInput>,
) -> ApiResult<Response> {
    set(&state, None, &country, &kind, &body.value).await
}

/// Remove the general price of a country and number type.
#[utoipa::path(delete, path = "/admin/v1/prices/{countryCode}/{phoneNumberType}", tag = "Operator",
    params(rules::params::CountryAndTypePath),
    responses((status = 204, description = "Removed"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "No such price", body = ErrorBody)),
    security(("adminToken" = [])))]
async fn delete_general(
    State(state): State<AppState>,
    _: Operator,
    Path((country, kind)): Path<(String, String)>,
) -> ApiResult<Response> {
    remove(&state, None, &country, &kind).await
}

/// Set one account's own price, which wins over the general one.
#[utoipa::path(put, path = "/admin/v1/accounts/{id}/prices/{countryCode}/{phoneNumberType}", tag = "Operator",
    params(("id" = uuid::Uuid, Path), rules::params::CountryAndTypePath), request_body = PriceInput,
    responses((status = 200, body = OperatorPriceView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "Unknown account", body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn put_own(
    State(state): State<AppState>,
    _: Operator,
    Path((id, country, kind)): Path<(String, String, String)>,
    body: JsonBody<PriceInput>,
) -> ApiResult<Response> {
    let id = path_id(&id)?;
    set(&state, Some(id), &country, &kind, &body.value).await
}

/// Remove one account's own price (the general one applies again).
#[utoipa::path(delete, path = "/admin/v1/accounts/{id}/prices/{countryCode}/{phoneNumberType}", tag = "Operator",
    params(("id" = uuid::Uuid, Path), rules::params::CountryAndTypePath),
    responses((status = 204, description = "Removed"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "Unknown account or no such price", body = ErrorBody)),
    security(("adminToken" = [])))]
async fn delete_own(
    State(state): State<AppState>,
    _: Operator,
    Path((id, country, kind)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let id = path_id(&id)?;
    remove(&state, Some(&id), &country, &kind).await
}

/// Every price entry (general ones have accountId null), or one account's own entries.
#[utoipa::path(get, path = "/admin/v1/prices", tag = "Operator",
    params(rules::params::AccountFilter),
    responses((status = 200, body = [OperatorPriceView]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn list_all(
    State(state): State<AppState>,
    _: Operator,
    q: QueryParams,
) -> ApiResult<axum::Json<Vec<OperatorPriceView>>> {
    let account = q.read(|q, errors| q.uuid("accountId", errors))?;
    // An unknown account has no entries (a filter, not a path).
    let entries = match prices::list(&state.db, account.as_deref()).await {
        Err(PriceError::AccountNotFound) => Vec::new(),
        other => other?,
    };
    Ok(axum::Json(
        entries.iter().map(OperatorPriceView::of).collect(),
    ))
}

/// The account's effective prices: its own where the operator set one, else the general price.
#[utoipa::path(get, path = "/voice/phonenumberrequestapi/v1/{accountGuid}/prices", tag = "Catalog",
    params(("accountGuid" = uuid::Uuid, Path, description = "The account the API key belongs to"), rules::params::CountryAndTypeFilter),
    responses((status = 200, body = [PriceView]), (status = 400, description = "VALIDATION_FAILED", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("productToken" = [])))]
async fn customer_prices(
    State(state): State<AppState>,
    customer: Customer,
    q: QueryParams,
) -> ApiResult<axum::Json<Vec<PriceView>>> {
    // Both filters are optional; a value sent must be valid.
    let (country, kind) = q.read(|q, errors| {
        let country = q.value("countryCode").map(|c| country_code(c, errors));
        let kind = q.value("phoneNumberType").map(|t| number_type(t, errors));
        (country.flatten(), kind.flatten())
    })?;
    let kind = kind.map(|t| t.as_str());
    let entries = prices::effective(&state.db, &customer.account_id, country, kind).await?;
    Ok(axum::Json(entries.iter().map(PriceView::of).collect()))
}
