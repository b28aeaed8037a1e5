//! Customer number-request endpoints: `NR = /voice/phonenumberrequestapi/v1/{accountGuid}`.

use axum::extract::{Path, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult, ErrorBody, FieldError};
use super::extract::{
    Customer, JsonBody, OptionalJson, QueryParams, country_code, json_text, number_type, paged,
    path_id,
};
use crate::AppState;
use crate::domain::{PhoneNumberType, RequestStatus, parse_uuid};
use crate::idempotency::{Answer, Idempotency};
use crate::model::{NumberRequest, PhoneNumber, Restrictions, StatusEvent, StatusInfo};
use crate::orders::{self, CreateInput, OrderError};
use crate::rules;
use crate::store::{inventory, requests};

pub const NR: &str = "/voice/phonenumberrequestapi/v1/{accountGuid}";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_request, list_requests))
        .routes(routes!(statuses))
        .routes(routes!(get_request))
        .routes(routes!(cancel_request))
        .routes(routes!(request_events))
        .routes(routes!(phone_numbers))
        .routes(routes!(get_restrictions))
        .routes(routes!(release_number))
        .routes(routes!(locale_options))
        .routes(routes!(availability))
        .routes(routes!(get_requirements))
}

/// What to request: a number type and quantity for a company profile, with optional filters.
// Integer fields accept any JSON number so that a value out of range is `VALIDATION_FAILED`,
// while a string there is `MALFORMED_JSON`. Each field's schema is its rule in `crate::rules`,
// the one `validate` checks.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateNumberRequest {
    /// An approved company profile of the account.
    #[schema(schema_with = rules::uuid_input_schema, required = true)]
    pub company_profile_id: Option<String>,
    /// Units: single numbers, or blocks when `rangeSize` is set.
    #[schema(schema_with = rules::quantity_schema, required = true)]
    pub quantity: Option<serde_json::Number>,
    #[schema(schema_with = rules::range_size_schema)]
    pub range_size: Option<serde_json::Number>,
    #[schema(schema_with = rules::phone_number_type, required = true)]
    pub phone_number_type: Option<String>,
    /// `LOCAL` needs `areaCode` or `city`; for the other types both are optional filters.
    #[schema(schema_with = rules::area_code_schema)]
    pub area_code: Option<String>,
    /// Matched case-insensitively.
    #[schema(schema_with = rules::place_schema)]
    pub city: Option<String>,
    /// Required for `LOCAL` numbers in NANPA (+1) countries; matched case-insensitively.
    #[schema(schema_with = rules::place_schema)]
    pub region: Option<String>,
    #[schema(schema_with = rules::comment_schema)]
    pub comment: Option<String>,
    /// Where each status event is POSTed.
    #[schema(schema_with = rules::callback_url_schema)]
    pub callback_url: Option<String>,
}

/// A trimmed optional text: blank is none; too long (as sent) is an error for `field`.
fn optional_text(
    field: &str,
    v: Option<String>,
    rule: rules::Text,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let v = v?;
    if let Some(problem) = rule.problem(&v) {
        errors.push(FieldError::new(field, problem));
    }
    Some(v.trim().to_string()).filter(|s| !s.is_empty())
}

impl CreateNumberRequest {
    /// Check 1 of docs/api.md: field shapes.
    pub fn validate(self) -> ApiResult<CreateInput> {
        let mut errors = Vec::new();
        let profile = match self.company_profile_id.as_deref() {
            None => {
                errors.push(FieldError::new("companyProfileId", "is required"));
                None
            }
            Some(s) => parse_uuid(s).or_else(|| {
                errors.push(FieldError::new("companyProfileId", "must be a UUID"));
                None
            }),
        };
        let quantity = match &self.quantity {
            None => {
                errors.push(FieldError::new("quantity", "is required"));
                None
            }
            Some(n) => rules::QUANTITY.check("quantity", n, &mut errors),
        };
        let range_size = self
            .range_size
            .as_ref()
            .and_then(|n| rules::RANGE_SIZE.check("rangeSize", n, &mut errors));
        let kind = match self.phone_number_type.as_deref() {
            None => {
                errors.push(FieldError::new("phoneNumberType", "is required"));
                None
            }
            Some(s) => PhoneNumberType::parse(s).or_else(|| {
                errors.push(FieldError::new(
                    "phoneNumberType",
                    "must be LOCAL, NATIONAL or TOLLFREE",
                ));
                None
            }),
        };
        let area_code = self
            .area_code
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        if let Some(a) = &area_code
            && (a.len() > 10 || !a.bytes().all(|b| b.is_ascii_digit()))
        {
            errors.push(FieldError::new("areaCode", "must be 1 to 10 digits"));
        }
        let city = optional_text("city", self.city, rules::PLACE, &mut errors);
        let region = optional_text("region", self.region, rules::PLACE, &mut errors);
        let comment = self.comment.filter(|c| !c.is_empty());
        if let Some(problem) = comment.as_deref().and_then(|c| rules::COMMENT.problem(c)) {
            errors.push(FieldError::new("comment", problem));
        }
        let callback_url = match self.callback_url.filter(|u| !u.is_empty()) {
            None => None,
            Some(u) => match parse_callback_url(&u) {
                Ok(url) => Some(url),
                Err(msg) => {
                    errors.push(FieldError::new("callbackUrl", msg));
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        Ok(CreateInput {
            company_profile_id: profile.unwrap_or_default(),
            quantity: quantity.unwrap_or_default(),
            range_size,
            phone_number_type: kind.unwrap_or(PhoneNumberType::Local),
            area_code,
            city,
            region,
            comment,
            callback_url,
        })
    }
}

/// An absolute `http`/`https` URL with a host, at most 2048 characters.
pub fn parse_callback_url(u: &str) -> Result<url::Url, &'static str> {
    if u.chars().count() > rules::CALLBACK_URL_MAX {
        return Err("must be at most 2048 characters");
    }
    match url::Url::parse(u) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        _ => Err("must be an absolute http or https URL"),
    }
}

/// The `Idempotency-Key` header, 1..255 characters.
pub fn idempotency_key(
    headers: &HeaderMap,
    endpoint: &'static str,
    canonical: &str,
) -> ApiResult<Option<Idempotency>> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(k) if !k.trim().is_empty() && k.len() <= rules::IDEMPOTENCY_KEY_MAX => {
            Ok(Some(Idempotency {
                key: k.to_string(),
                endpoint,
                body: canonical.to_string(),
            }))
        }
        _ => Err(ApiError::field(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        )),
    }
}

/// A created (or replayed) resource with its `Location`.
pub fn created(answer: Answer, location: String) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::CREATED);
    let mut res = json_text(status, answer.body);
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(LOCATION, v);
    }
    res
}

/// Create a number request.
#[utoipa::path(post, path = "/voice/phonenumberrequestapi/v1/{accountGuid}/numberrequests", tag = "Number requests",
    params(("accountGuid" = uuid::Uuid, Path, description = "The account the API key belongs to"), rules::params::IdempotencyKey),
    request_body = CreateNumberRequest,
    responses(
        (status = 201, description = "Created: Completed when stock was assigned at once, else Pending", body = NumberRequest),
        (status = 400, description = "VALIDATION_FAILED, MALFORMED_JSON, NUMBER_TYPE_NOT_ALLOWED, AREA_CODE_OR_CITY_REQUIRED, REGION_REQUIRED, QUANTITY_NOT_ALLOWED, RANGE_SIZE_NOT_ALLOWED, CALLBACK_URL_NOT_ALLOWED", body = ErrorBody),
        (status = 401, description = "Missing, unknown or revoked API key", body = ErrorBody),
        (status = 403, description = "Key of another account", body = ErrorBody),
        (status = 404, description = "NOT_FOUND: unknown company profile", body = ErrorBody),
        (status = 409, description = "PROFILE_NOT_APPROVED", body = ErrorBody),
        (status = 413, description = "PAYLOAD_TOO_LARGE", body = ErrorBody),
        (status = 415, description = "UNSUPPORTED_MEDIA_TYPE", body = ErrorBody),
        (status = 422, description = "IDEMPOTENCY_KEY_REUSED", body = ErrorBody),
    ),
    security(("productToken" = [])))]
async fn create_request(
    State(state): State<AppState>,
    customer: Customer,
    headers: HeaderMap,
    body: JsonBody<CreateNumberRequest>,
) -> ApiResult<Response> {
    let idem = idempotency_key(&headers, "numberrequests", &body.canonical)?;
    let input = body.value.validate()?;
    let answer = orders::create(&state, &customer.account_id, input, idem).await?;
    let location = format!(
        "/voice/phonenumberrequestapi/v1/{}/numberrequests/{}",
        customer.account_id, answer.id
    );
    Ok(created(answer, location))
}

/// List number requests, newest first.
#[utoipa::path(get, path = "/voice/phonenumberrequestapi/v1/{accountGuid}/numberrequests", tag = "Number requests",
    params(("accountGuid" = uuid::Uuid, Path, description = "The account the API key belongs to"),
        rules::params::Page, rules::params::RequestFilter),
    responses((status = 200, description = "Page of requests; headers x-cm-pagination-skip/take/total", body = [NumberRequest]),
        (status = 400, description = "VALIDATION_FAILED", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("productToken" = [])))]
async fn list_requests(
    State(state): State<AppState>,
    customer: Customer,
    q: QueryParams,
) -> ApiResult<Response> {
    let (page, filter) = q.read(|q, errors| {
        let page = q.page(errors);
        (page, request_filter(q, errors, Some(customer.account_id)))
    })?;
    let (items, total) = requests::list(&state.db, &filter, page.skip, page.take).await?;
    Ok(paged(items, page, total))
}

/// The `status` and `companyProfileId` filters of a request list.
pub fn request_filter(
    q: &QueryParams,
    errors: &mut Vec<FieldError>,
    account_id: Option<String>,
) -> requests::ListFilter {
    let mut f = requests::ListFilter {
        account_id,
        ..Default::default()
    };
    if let Some(s) = q.value("status") {
        match RequestStatus::parse_filter(s) {
            Some(st) => f.status = Some(st),
            None => errors.push(FieldError::new(
                "status",
                "must be a status name or id (see statuses)",
            )),
        }
    }
    f.company_profile_id = q.uuid("companyProfileId", errors);
    f.after = q.uuid("after", errors);
    f
}

/// The status table.
#[utoipa::path(get, path = "/voice/phonenumberrequestapi/v1/{accountGuid}/numberrequests/statuses", tag = "Number requests",
    params(("accountGuid" = uuid::Uuid, Path, description = "The account the API key belongs to")),
    responses((status = 200, body = [StatusInfo]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("productToken" = [])))]
async fn statuses(_: Customer) -> axum::Json<Vec<StatusInfo>> {
    axum::Json(
        RequestStatus::ALL
            .into_iter()
            .map(|s| StatusInfo {
                id: s.id(),
                name: s.name().into(),
                is_final: s.is_final(),
                description: s.description().into(),
            })
            .collect(),
    )
}

/// One number request.
#[utoipa::path(get, path = "/voice/phonenumberrequestapi/v1/{accountGuid}/numberrequests/{id}", tag = "Number requests",
    params(("accountGuid" = uuid::Uuid, Path, description = "The account the API key belongs to"), ("id" = uuid::Uuid, Path)),
    responses((status = 200, body = NumberRequest), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("productToken" = [])))]
async fn get_request(
    State(state): State<AppState>,
    customer: Customer,
    Path(ids): Path<(String, String)>,
) -> ApiResult<axum::Json<NumberRequest>> {
    let id = path_id(&ids.1)?;
    let row = requests::get(&state.db, Some(&customer.account_id), &id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(row.request))
}

/// An optional reason.
// The body of cancel, accept and approve; also read for the rejections, whose document shows
// `RequiredReasonBody`.
#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct ReasonBody {
    /// Becomes the request's `reason` (or the profile's `statusReason`); trimmed, blank is none.
    #[schema(schema_with = rules::reason_schema)]
    pub reason: Option<String>,
}

/// The body of a rejection: the reason is required.
#[derive(Debug, ToSchema)]
pub struct RequiredReasonBody {
    /// Becomes the request's `reason` (or the profile's `statusReason`).
    #[schema(schema_with = rules::required_reason_schema)]
    pub reason: String,
}

impl ReasonBody {
    /// The reason, trimmed ([`rules::REASON`]).
    pub fn checked_reason(self) -> Result<Option<String>, FieldError> {
        let Some(r) = self.reason else {
            return Ok(None);
        };
        if let Some(problem) = rules::REASON.problem(&r) {
            return Err(FieldError::new("reason", problem));
        }
        Ok(Some(r.trim().to_string()).filter(|r| !r.is_empty()))
    }

    /// [`Self::checked_reason`] as an answer.
    pub fn reason(self) -> ApiResult<Option<String>> {
        self.checked_reason()
            .map_err(|e| ApiError::validation(vec![e]))
    }
}

/// Cancel a request that is not final yet.
#[utoipa::path(post, path = "/voice/phonenumberrequestapi/v1/{accountGuid}/numberrequests/{id}/cancel", tag = "Number requests",
    params(("accountGuid" = uuid::Uuid, Path, description = "The account the API key belongs to"), ("id" = uuid::Uuid, Path)),
    request_body(content = Option<ReasonBody>, description = "Optional: may be left out"),
    responses((status = 200, body = NumberRequest), (status = 404, body = ErrorBody),
        (status = 409, description = "REQUEST_FINALIZED", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("productToken" = [])))]
async fn cancel_request(
    State(state): State<AppState>,
    customer: Customer,
    Path(ids): Path<(String, String)>,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> ApiResult<axum::Json<NumberRequest>> {
    let id = path_id(&ids.1)?;
    let reason = body.unwrap_or_default().reason()?;
    Ok(axum::Json(
        orders::cancel(&state, &customer.account_id, &id, reason).await?,
    ))
}

/// The request's status events, oldest first, with their delivery state.
#[utoipa::path(get, path = "/voice/phonenumberrequestapi/v1/{accountGuid}/numberrequests/{id}/events", tag = "Number requests",
    params(("accountGuid" = uuid::Uuid, Path, description = "The account the API key belongs to"), ("id" = uuid::Uuid, Path)),
    responses((status = 200, body = [StatusEvent]), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("productToken" = [])))]
async fn request_events(
    State(state): State<AppState>,
    customer: Customer,
    Path(ids): Path<(String, String)>,
) -> ApiResult<axum::Json<Vec<StatusEvent>>> {
    let id = path_id(&ids.1)?;
    let events = requests::events(&state.db, &customer.account_id, &id).await?;
    if events.is_empty() {
        return Err(ApiError::not_found());
    }
    Ok(axum::Json(events))
}

/// Numbers currently assigned to the account.
#[utoipa::path(get, path = "/voice/phonenumberrequestapi/v1/{accountGuid}/phonenumbers", tag = "Phone numbers",
    params(("accountGuid" = uuid::Uuid, Path, description = "The account the API key belongs to"), rules::params::Page),
    responses((status = 200, description = "Page; x-cm-pagination-* headers", body = [PhoneNumber]), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("productToken" = [])))]
async fn phone_numbers(
    State(state): State<AppState>,
    customer: Customer,
    q: QueryParams,
) -> ApiResult<Response> {
    let page = q.page_only()?;
    let (items, total) =
        requests::phone_numbers(&state.db, &customer.account_id, page.skip, page.take).await?;
    Ok(paged(items, page, total))
}

/// The order restrictions for a country and number type (defaults when the operator set none).
#[utoipa::path(get, path = "/voice/phonenumberrequestapi/v1/{accountGuid}/restrictions", tag = "Catalog",
    params(("accountGuid" = uuid::Uuid, Path, description = "The account the API key belongs to"), rules::params::CountryAndType),
    responses((status = 200, body = Restrictions), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("productToken" = [])))]
async fn get_restrictions(
    State(state): State<AppState>,
    _: Customer,
    q: QueryParams,
) -> ApiResult<axum::Json<Restrictions>> {
    let (country, kind) = country_and_type(&q)?;
    Ok(axum::Json(
        inventory::restrictions(&state.db, &country, kind).await?,
    ))
}

/// The required `countryCode` and `phoneNumberType` query parameters.
pub fn country_and_type(q: &QueryParams) -> ApiResult<(String, PhoneNumberType)> {
    let mut errors = Vec::new();
    // Both are required: a missing one is checked as an empty value.
    let country = country_code(q.value("countryCode").unwrap_or(""), &mut errors);
    let kind = number_type(q.value("phoneNumberType").unwrap_or(""), &mut errors);
    match (country, kind) {
        (Some(c), Some(k)) => Ok((c.to_string(), k)),
        _ => Err(ApiError::validation(errors)),
    }
}

/// Give a number back: it leaves the account's list and rests before it returns to stock.
#[utoipa::path(post, path = "/voice/phonenumberrequestapi/v1/{accountGuid}/phonenumbers/{e164}/release", tag = "Phone numbers",
    params(("accountGuid" = uuid::Uuid, Path, description = "The account the API key belongs to"), ("e164" = String, Path, description = "E.164, with a literal + or %2B; anything else is not found")),
    responses((status = 200, description = "The number with validTo set", body = PhoneNumber),
        (status = 404, description = "The account does not hold this number", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("productToken" = [])))]
async fn release_number(
    State(state): State<AppState>,
    customer: Customer,
    Path(ids): Path<(String, String)>,
) -> ApiResult<axum::Json<PhoneNumber>> {
    // A `+` that a form encoder turned into a space, or left out, is still meant.
    let number = format!("+{}", ids.1.trim().trim_start_matches('+'));
    if !crate::domain::is_e164(&number) {
        return Err(ApiError::not_found());
    }
    Ok(axum::Json(
        orders::release(&state, &customer.account_id, &number).await?,
    ))
}

/// Area codes, cities and regions known from stock for a country and type, with free counts.
#[utoipa::path(get, path = "/voice/phonenumberrequestapi/v1/{accountGuid}/localeoptions", tag = "Catalog",
    params(("accountGuid" = uuid::Uuid, Path, description = "The account the API key belongs to"), rules::params::CountryAndType),
    responses((status = 200, body = [inventory::LocaleOption]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("productToken" = [])))]
async fn locale_options(
    State(state): State<AppState>,
    _: Customer,
    q: QueryParams,
) -> ApiResult<axum::Json<Vec<inventory::LocaleOption>>> {
    let (country, kind) = country_and_type(&q)?;
    Ok(axum::Json(
        inventory::locale_options(&state.db, &country, kind).await?,
    ))
}

/// The requirements for a country and type.
#[utoipa::path(get, path = "/voice/phonenumberrequestapi/v1/{accountGuid}/requirements", tag = "Catalog",
    params(("accountGuid" = uuid::Uuid, Path, description = "The account the API key belongs to"), rules::params::CountryAndType),
    responses((status = 200, body = [inventory::Requirement]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("productToken" = [])))]
async fn get_requirements(
    State(state): State<AppState>,
    _: Customer,
    q: QueryParams,
) -> ApiResult<axum::Json<Vec<inventory::Requirement>>> {
    let (country, kind) = country_and_type(&q)?;
    Ok(axum::Json(
        inventory::requirements(&state.db, &country, kind).await?,
    ))
}

/// The answer of availability.
#[derive(Debug, serde::Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Availability {
    /// Units free now: single numbers, or free aligned blocks when `rangeSize` is set.
    pub available_quantity: i64,
    /// True exactly when a create with these values would be `Completed` at once.
    pub immediately_assignable: bool,
    /// The account's effective price for the profile's number country and this type now
    /// (a create would be quoted it), or null.
    pub price: Option<crate::model::QuotedPrice>,
    /// `setupPrice` × `quantity` × (`rangeSize` or 1); null without a price.
    #[schema(example = "3.00")]
    pub setup_total: Option<String>,
    /// `monthlyPrice` × `quantity` × (`rangeSize` or 1); null without a price.
    #[schema(example = "4.00")]
    pub monthly_total: Option<String>,
}

/// What a create with these values would get now. Uses the same checks and matching as create.
#[utoipa::path(get, path = "/voice/phonenumberrequestapi/v1/{accountGuid}/availability", tag = "Catalog",
    params(("accountGuid" = uuid::Uuid, Path, description = "The account the API key belongs to"), rules::params::Availability),
    responses((status = 200, body = Availability), (status = 400, body = ErrorBody), (status = 404, description = "Unknown company profile", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("productToken" = [])))]
async fn availability(
    State(state): State<AppState>,
    customer: Customer,
    q: QueryParams,
) -> ApiResult<axum::Json<Availability>> {
    let mut errors = Vec::new();
    // The values are checked here as a create would check them in its body.
    let mut number = |name: &str| -> Option<serde_json::Number> {
        let v = q.value(name)?;
        match v.parse::<i64>() {
            Ok(n) => Some(n.into()),
            Err(_) => {
                errors.push(FieldError::new(name, "must be a whole number"));
                None
            }
        }
    };
    let quantity = number("quantity").or_else(|| Some(1.into()));
    let range_size = number("rangeSize");
    ApiError::check(errors)?;
    let text = |name: &str| q.value(name).map(str::to_string);
    let input = CreateNumberRequest {
        company_profile_id: text("companyProfileId"),
        quantity,
        range_size,
        phone_number_type: text("phoneNumberType"),
        area_code: text("areaCode"),
        city: text("city"),
        region: text("region"),
        comment: None,
        callback_url: None,
    }
    .validate()?;
    let profile = crate::store::profiles::get(
        &state.db,
        Some(&customer.account_id),
        &input.company_profile_id,
    )
    .await?
    .ok_or_else(ApiError::not_found)?;
    let criteria = orders::criteria(&profile.data.number_country_code, &input);
    let available = orders::available_units(&state, &criteria, input.range_size).await?;
    let assignable = match orders::plan(&state, &customer.account_id, &input).await {
        Ok(plan) => !plan.restrictions.requires_review && available >= input.quantity,
        Err(e @ (OrderError::ProfileNotFound | OrderError::Store(_))) => return Err(e.into()),
        Err(_) => false,
    };
    let price = crate::prices::price_of(
        &state.db,
        &customer.account_id,
        &profile.data.number_country_code,
        input.phone_number_type.as_str(),
    )
    .await
    .map_err(ApiError::from)?;
    let numbers = input.quantity.saturating_mul(input.range_size.unwrap_or(1));
    Ok(axum::Json(Availability {
        available_quantity: available,
        immediately_assignable: assignable,
        price: price.map(Into::into),
        setup_total: price.map(|p| p.setup.times(numbers).to_string()),
        monthly_total: price.map(|p| p.monthly.times(numbers).to_string()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: serde_json::Value) -> CreateNumberRequest {
        serde_json::from_value(v).expect("a well-typed create body")
    }

    fn refused(v: serde_json::Value) -> Vec<String> {
        let e = body(v).validate().expect_err("refused");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.body.message_code, "VALIDATION_FAILED");
        e.body.errors.into_iter().map(|f| f.field).collect()
    }

    const PROFILE: &str = "0b6f0e2c-3f7e-4b8e-9a51-6f1d2d3c4b5a";

    #[test]
    fn a_valid_body_is_trimmed_and_typed() {
        let input = body(serde_json::json!({
            "companyProfileId": PROFILE, "quantity": 3, "rangeSize": 10,
            "phoneNumberType": "LOCAL", "areaCode": " 20 ", "city": "  ", "comment": "",
            "callbackUrl": "https://example.com/hook"
        }))
        .validate()
        .unwrap();
        assert_eq!(input.quantity, 3);
        assert_eq!(input.range_size, Some(10));
        assert_eq!(input.phone_number_type, PhoneNumberType::Local);
        assert_eq!(input.area_code.as_deref(), Some("20"));
        assert_eq!(input.city, None);
        assert_eq!(input.comment, None);
        assert_eq!(
            input.callback_url.map(|u| u.to_string()).as_deref(),
            Some("https://example.com/hook")
        );
    }

    #[test]
    fn every_bad_field_is_named_once() {
        let got = refused(serde_json::json!({
            "companyProfileId": "nope", "quantity": 0, "rangeSize": 1.5,
            "phoneNumberType": "MOBILE", "areaCode": "2a", "city": "c".repeat(101),
            "region": "r".repeat(101), "comment": "x".repeat(1001), "callbackUrl": "ftp://x/"
        }));
        assert_eq!(
            got,
            [
                "companyProfileId",
                "quantity",
                "rangeSize",
                "phoneNumberType",
                "areaCode",
                "city",
                "region",
                "comment",
                "callbackUrl"
            ]
        );
        assert_eq!(
            refused(serde_json::json!({})),
            ["companyProfileId", "quantity", "phoneNumberType"]
        );
    }

    #[test]
    fn bounds_are_inclusive() {
        let ok = |q: i64, size: i64, area: &str| {
            body(
                serde_json::json!({"companyProfileId": PROFILE, "quantity": q,
                "rangeSize": size, "phoneNumberType": "TOLLFREE", "areaCode": area}),
            )
            .validate()
            .is_ok()
        };
        assert!(ok(1, 1, "1"));
        assert!(ok(1000, 1_000_000, "1234567890"));
        assert!(!ok(1001, 1, "1"));
        assert!(!ok(1, 1_000_001, "1"));
        assert!(!ok(1, 1, "12345678901"));
    }

    #[test]
    fn callback_urls_must_be_absolute_http_with_a_host() {
        assert!(parse_callback_url("http://example.com").is_ok());
        for bad in [
            "example.com/x",
            "mailto:a@b.c",
            "http://",
            "file:///etc/passwd",
        ] {
            assert!(parse_callback_url(bad).is_err(), "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(2030));
        assert!(parse_callback_url(&long).is_err());
    }
}
