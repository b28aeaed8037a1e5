//! Operator endpoints under `/admin/v1` (docs/api.md): accounts and keys, stock, restrictions and
//! the review of number requests.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult, ErrorBody, FieldError};
use super::extract::{
    JsonBody, Operator, OptionalJson, QueryParams, body_reader, drain, media_type, paged, path_id,
    payload_too_large,
};
use super::extract::{JsonList, country_code, number_type};
use super::requests::{ReasonBody, RequiredReasonBody, request_filter};
use crate::AppState;
use crate::domain::{PhoneNumberType, format_ms};
use crate::model::{
    Account, ImportResult, NewAccount, NewApiKey, NumberRequest, Restrictions, StockSummary,
};
use crate::rules;
use crate::stock;
use crate::store::{accounts, inventory, requests};

/// Largest stock import body (JSON or CSV): about ten million CSV rows of single numbers would
/// not fit, but `start`+`count` rows carry any amount.
pub const IMPORT_BODY_LIMIT: usize = 512 * 1024 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_account, list_accounts))
        .routes(routes!(get_account))
        .routes(routes!(add_key))
        .routes(routes!(revoke_key))
        .routes(routes!(rotate_secret))
        .routes(routes!(import_stock))
        .routes(routes!(stock_summary))
        .routes(routes!(put_restrictions))
        .routes(routes!(put_requirements))
        .routes(routes!(list_all_requests))
        .routes(routes!(accept_request))
        .routes(routes!(reject_request))
        .routes(routes!(list_deliveries))
        .routes(routes!(redeliver))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateAccount {
    #[schema(schema_with = rules::account_name_schema, required = true)]
    pub name: Option<String>,
}

/// Validates an account name (1..100 characters).
pub fn account_name(name: Option<&str>) -> ApiResult<String> {
    crate::domain::account_name(name).map_err(|e| ApiError::validation(vec![e]))
}

/// Create an account with its first API key and webhook secret.
#[utoipa::path(post, path = "/admin/v1/accounts", tag = "Operator", request_body = CreateAccount,
    responses((status = 201, description = "apiKey is shown only here", body = NewAccount), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn create_account(
    State(state): State<AppState>,
    _: Operator,
    body: JsonBody<CreateAccount>,
) -> ApiResult<Response> {
    let name = account_name(body.value.name.as_deref())?;
    let acc = accounts::create_account(&state.db, None, &name, None).await?;
    Ok((StatusCode::CREATED, axum::Json(acc)).into_response())
}

/// List accounts (never keys or secrets).
#[utoipa::path(get, path = "/admin/v1/accounts", tag = "Operator",
    params(rules::params::Page),
    responses((status = 200, body = [Account]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn list_accounts(
    State(state): State<AppState>,
    _: Operator,
    q: QueryParams,
) -> ApiResult<Response> {
    let page = q.page_only()?;
    let (items, total) = accounts::list_accounts(&state.db, page.skip, page.take).await?;
    Ok(paged(items, page, total))
}

async fn known_account(state: &AppState, id: &str) -> ApiResult<Account> {
    let id = path_id(id)?;
    accounts::get_account(&state.db, &id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// One account.
#[utoipa::path(get, path = "/admin/v1/accounts/{id}", tag = "Operator", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Account), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn get_account(
    State(state): State<AppState>,
    _: Operator,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Account>> {
    Ok(axum::Json(known_account(&state, &id).await?))
}

/// Add an API key to an account.
#[utoipa::path(post, path = "/admin/v1/accounts/{id}/apikeys", tag = "Operator", params(("id" = uuid::Uuid, Path)),
    responses((status = 201, body = NewApiKey), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn add_key(
    State(state): State<AppState>,
    _: Operator,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let acc = known_account(&state, &id).await?;
    let key = accounts::add_api_key(&state.db, &acc.id).await?;
    Ok((StatusCode::CREATED, axum::Json(key)).into_response())
}

/// Revoke an API key.
#[utoipa::path(delete, path = "/admin/v1/accounts/{id}/apikeys/{keyId}", tag = "Operator",
    params(("id" = uuid::Uuid, Path), ("keyId" = uuid::Uuid, Path)),
    responses((status = 204, description = "Revoked"), (status = 404, description = "Unknown or already revoked", body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn revoke_key(
    State(state): State<AppState>,
    _: Operator,
    Path((id, key_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let acc = known_account(&state, &id).await?;
    let key_id = path_id(&key_id)?;
    if accounts::revoke_api_key(&state.db, &acc.id, &key_id).await? {
        state.caches.api_keys.clear();
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found())
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotatedSecret {
    pub id: String,
    pub webhook_secret: String,
    pub previous_secret_valid_until: String,
}

/// Rotate the webhook signing secret; secrets rotated out in the last 24 h keep signing.
#[utoipa::path(post, path = "/admin/v1/accounts/{id}/webhook-secret/rotate", tag = "Operator", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = RotatedSecret), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn rotate_secret(
    State(state): State<AppState>,
    _: Operator,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<RotatedSecret>> {
    let acc = known_account(&state, &id).await?;
    let (secret, until) = accounts::rotate_secret(&state.db, &acc.id).await?;
    Ok(axum::Json(RotatedSecret {
        id: acc.id,
        webhook_secret: secret,
        previous_secret_valid_until: format_ms(until),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ImportBody {
    /// Entries: `phoneNumber`, or `start` + `count`; with `countryCode`, `phoneNumberType`,
    /// optional `areaCode`, `city`, `region`. Each number must be a valid number of its country
    /// by the numbering plan (libphonenumber's metadata).
    #[schema(schema_with = import_entries_schema, required = true)]
    pub numbers: Option<Vec<ImportEntryJson>>,
}

/// One JSON import entry (`count` may be any JSON number; it is checked as a whole number).
/// (The OpenAPI document's shape of the body: the server reads it as a stream, entry by entry, in
/// `crate::stock`, not through this type.)
#[allow(dead_code)]
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportEntryJson {
    /// One number; or give `start` and `count`.
    #[schema(value_type = Option<String>, example = "+31201000000")]
    phone_number: Option<String>,
    /// The first number of a run of `count` numbers.
    #[schema(value_type = Option<String>, example = "+31201000000")]
    start: Option<String>,
    #[schema(value_type = Option<i64>, example = 1000)]
    count: Option<serde_json::Number>,
    #[schema(schema_with = rules::country_code_schema, required = true)]
    country_code: Option<String>,
    #[schema(schema_with = rules::phone_number_type, required = true)]
    phone_number_type: Option<String>,
    #[schema(schema_with = rules::area_code_schema)]
    area_code: Option<String>,
    #[schema(schema_with = rules::place_schema)]
    city: Option<String>,
    #[schema(schema_with = rules::place_schema)]
    region: Option<String>,
}

fn import_entries_schema() -> utoipa::openapi::schema::Array {
    rules::array(
        utoipa::openapi::Ref::from_schema_name("ImportEntryJson"),
        Some(1),
        None,
    )
    .build()
}

/// Add stock as JSON or CSV; then open requests are fulfilled, oldest first.
///
/// The body (up to 512 MiB) is read as a stream and checked entry by entry; nothing is written
/// unless every entry is valid. The first 50 problems are listed (`messageDetail` says how many
/// more there are). One JSON string, number or field name, or one CSV row, may be at most 64 KiB.
#[utoipa::path(post, path = "/admin/v1/inventory", tag = "Operator",
    request_body(content = ImportBody, description = "application/json, or text/csv whose header row names phoneNumber or start,count and countryCode,phoneNumberType,areaCode,city,region; up to 512 MiB",
        content_type = "application/json"),
    responses((status = 200, body = ImportResult), (status = 400, description = "VALIDATION_FAILED (the first 50 problems; a CSV row or JSON token over 64 KiB), MALFORMED_JSON", body = ErrorBody),
        (status = 413, description = "PAYLOAD_TOO_LARGE: the body is larger than 512 MiB", body = ErrorBody),
        (status = 415, description = "UNSUPPORTED_MEDIA_TYPE: a body that is neither JSON nor CSV", body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn import_stock(
    State(state): State<AppState>,
    _: Operator,
    req: Request,
) -> ApiResult<axum::Json<ImportResult>> {
    let format = match media_type(req.headers()).as_str() {
        "text/csv" | "application/csv" => stock::Format::Csv,
        ct if ct == "application/json" || ct.ends_with("+json") => stock::Format::Json,
        _ => {
            return Err(match drain(req.into_body(), IMPORT_BODY_LIMIT).await {
                None => payload_too_large(),
                Some(0) => ApiError::malformed("a body is required"),
                Some(_) => ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "UNSUPPORTED_MEDIA_TYPE",
                    "Send stock as application/json or text/csv.",
                ),
            });
        }
    };
    // Read as it arrives: parsed and checked entry by entry on a blocking thread, the valid
    // entries kept in a temporary file until the whole body is known to be valid.
    let (body, over) = body_reader(req.into_body(), IMPORT_BODY_LIMIT);
    let result = stock::import_from(&state, format, body).await;
    if over.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(payload_too_large());
    }
    Ok(axum::Json(result?))
}

/// Stock counts per country, type, area code, city and region.
#[utoipa::path(get, path = "/admin/v1/inventory/summary", tag = "Operator",
    responses((status = 200, body = [StockSummary]), (status = 401, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn stock_summary(
    State(state): State<AppState>,
    _: Operator,
) -> ApiResult<axum::Json<Vec<StockSummary>>> {
    Ok(axum::Json(inventory::summary(&state.db).await?))
}

/// Body of the restrictions PUT: any field left out keeps its default.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestrictionsInput {
    /// Default 1; at most `maxQuantity`.
    #[schema(schema_with = rules::restriction_quantity_schema)]
    pub min_quantity: Option<serde_json::Number>,
    /// Default 1000.
    #[schema(schema_with = rules::restriction_quantity_schema)]
    pub max_quantity: Option<serde_json::Number>,
    /// Default false.
    #[schema(value_type = Option<bool>)]
    pub ranges_supported: Option<bool>,
    /// Unique, ascending; default none.
    #[schema(schema_with = rules::range_sizes_schema)]
    pub allowed_range_sizes: Option<Vec<serde_json::Number>>,
    /// Default false.
    #[schema(value_type = Option<bool>)]
    pub requires_review: Option<bool>,
}

/// Checks the `{countryCode}/{phoneNumberType}` of an operator path; the type when it is one.
fn path_country_and_type(
    country: &str,
    kind: &str,
    errors: &mut Vec<FieldError>,
) -> Option<PhoneNumberType> {
    country_code(country, errors);
    number_type(kind, errors)
}

/// Set the restrictions of a country and number type (the path wins over the body).
#[utoipa::path(put, path = "/admin/v1/restrictions/{countryCode}/{phoneNumberType}", tag = "Operator",
    params(rules::params::CountryAndTypePath), request_body = RestrictionsInput,
    responses((status = 200, body = Restrictions), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn put_restrictions(
    State(state): State<AppState>,
    _: Operator,
    Path((country, kind)): Path<(String, String)>,
    body: JsonBody<RestrictionsInput>,
) -> ApiResult<axum::Json<Restrictions>> {
    Ok(axum::Json(
        set_restrictions(&state, &country, &kind, body.value).await?,
    ))
}

/// Checks and stores the restrictions of a country and type (the body of the PUT; the
/// console's rules page sends the same).
pub async fn set_restrictions(
    state: &AppState,
    country: &str,
    kind: &str,
    b: RestrictionsInput,
) -> ApiResult<Restrictions> {
    let mut errors = Vec::new();
    let kind = path_country_and_type(country, kind, &mut errors);
    let mut r = Restrictions::defaults(country, kind.unwrap_or(PhoneNumberType::Local));
    let int = |n: &Option<serde_json::Number>,
               field: &str,
               errors: &mut Vec<FieldError>|
     -> Option<i64> {
        let v = rules::whole(n.as_ref()?);
        if v.is_none() {
            errors.push(FieldError::new(field, "must be a whole number"));
        }
        v
    };
    if let Some(v) = int(&b.min_quantity, "minQuantity", &mut errors) {
        r.min_quantity = v;
    }
    if let Some(v) = int(&b.max_quantity, "maxQuantity", &mut errors) {
        r.max_quantity = v;
    }
    if !rules::RESTRICTION_QUANTITY.contains(r.max_quantity) {
        let q = rules::RESTRICTION_QUANTITY;
        errors.push(FieldError::new(
            "maxQuantity",
            format!("must be {} to {}", q.min, q.max),
        ));
    }
    if r.min_quantity < 1 || r.min_quantity > r.max_quantity {
        errors.push(FieldError::new(
            "minQuantity",
            "must be at least 1 and at most maxQuantity",
        ));
    }
    r.ranges_supported = b.ranges_supported.unwrap_or(false);
    r.requires_review = b.requires_review.unwrap_or(false);
    if let Some(sizes) = &b.allowed_range_sizes {
        let parsed: Vec<Option<i64>> = sizes.iter().map(rules::whole).collect();
        if parsed
            .iter()
            .any(|v| !v.is_some_and(|v| rules::RANGE_SIZE.contains(v)))
        {
            errors.push(FieldError::new(
                "allowedRangeSizes",
                "each must be a whole number from 1 to 1000000",
            ));
        } else {
            let v: Vec<i64> = parsed.into_iter().flatten().collect();
            if v.windows(2).any(|w| w[0] >= w[1]) {
                errors.push(FieldError::new(
                    "allowedRangeSizes",
                    "must be unique and sorted ascending",
                ));
            }
            r.allowed_range_sizes = v;
        }
    }
    ApiError::check(errors)?;
    inventory::put_restrictions(&state.db, &r).await?;
    state.caches.rules.clear();
    Ok(r)
}

/// Every account's number requests, newest first.
#[utoipa::path(get, path = "/admin/v1/numberrequests", tag = "Operator",
    params(rules::params::Page, rules::params::RequestFilter, rules::params::AccountFilter),
    responses((status = 200, body = [NumberRequest]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn list_all_requests(
    State(state): State<AppState>,
    _: Operator,
    q: QueryParams,
) -> ApiResult<Response> {
    let (page, filter) = q.read(|q, errors| {
        let page = q.page(errors);
        let account = q.uuid("accountId", errors);
        (page, request_filter(q, errors, account))
    })?;
    let (items, total) = requests::list(&state.db, &filter, page.skip, page.take).await?;
    Ok(paged(items, page, total))
}

/// Accept a pending request; it completes at once if stock is there.
#[utoipa::path(post, path = "/admin/v1/numberrequests/{id}/accept", tag = "Operator", params(("id" = uuid::Uuid, Path)),
    request_body(content = Option<ReasonBody>, description = "Optional reason"),
    responses((status = 200, body = NumberRequest), (status = 404, body = ErrorBody),
        (status = 409, description = "REQUEST_FINALIZED, INVALID_STATUS_TRANSITION", body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn accept_request(
    State(state): State<AppState>,
    _: Operator,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> ApiResult<axum::Json<NumberRequest>> {
    let id = path_id(&id)?;
    let reason = body.unwrap_or_default().reason()?;
    Ok(axum::Json(
        crate::orders::accept(&state, &id, reason).await?,
    ))
}

/// Reject a request that is not final; the reason is required.
#[utoipa::path(post, path = "/admin/v1/numberrequests/{id}/reject", tag = "Operator", params(("id" = uuid::Uuid, Path)),
    request_body = RequiredReasonBody,
    responses((status = 200, body = NumberRequest), (status = 400, description = "VALIDATION_FAILED: reason missing", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "REQUEST_FINALIZED", body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn reject_request(
    State(state): State<AppState>,
    _: Operator,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> ApiResult<axum::Json<NumberRequest>> {
    let id = path_id(&id)?;
    let reason = body
        .unwrap_or_default()
        .reason()?
        .ok_or_else(|| ApiError::field("reason", "is required"))?;
    Ok(axum::Json(
        crate::orders::reject(&state, &id, &reason).await?,
    ))
}

/// One requirement as the operator sends it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RequirementInput {
    /// 1 document to supply, 2 rule on the company, 3 rule on the number request.
    #[serde(rename = "type")]
    #[schema(schema_with = rules::requirement_type_schema, required = true)]
    pub req_type: Option<serde_json::Number>,
    /// E.g. `ADDRESS_IN_PREFIX_REGION`.
    #[schema(schema_with = rules::requirement_code_schema, required = true)]
    pub code: Option<String>,
    #[schema(schema_with = rules::requirement_description_schema, required = true)]
    pub description: Option<String>,
}

/// The body of the requirements `PUT` in the document: at most 100 requirements.
pub struct RequirementList;

impl utoipa::PartialSchema for RequirementList {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        rules::array(
            utoipa::openapi::Ref::from_schema_name("RequirementInput"),
            None,
            Some(rules::REQUIREMENTS_MAX),
        )
        .build()
        .into()
    }
}

impl ToSchema for RequirementList {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        schemas.push((
            "RequirementInput".into(),
            <RequirementInput as utoipa::PartialSchema>::schema(),
        ));
    }
}

/// Replace the requirement list of a country and type (ids are assigned by the server).
#[utoipa::path(put, path = "/admin/v1/requirements/{countryCode}/{phoneNumberType}", tag = "Operator",
    params(rules::params::CountryAndTypePath), request_body = RequirementList,
    responses((status = 200, body = [inventory::Requirement]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn put_requirements(
    State(state): State<AppState>,
    _: Operator,
    Path((country, kind)): Path<(String, String)>,
    JsonList(list): JsonList<RequirementInput>,
) -> ApiResult<axum::Json<Vec<inventory::Requirement>>> {
    Ok(axum::Json(
        set_requirements(&state, &country, &kind, list).await?,
    ))
}

/// Checks and stores the requirement list of a country and type (the body of the PUT; the
/// console's rules page sends the same).
pub async fn set_requirements(
    state: &AppState,
    country: &str,
    kind: &str,
    list: Vec<RequirementInput>,
) -> ApiResult<Vec<inventory::Requirement>> {
    let mut errors = Vec::new();
    let kind = path_country_and_type(country, kind, &mut errors);
    if list.len() > rules::REQUIREMENTS_MAX {
        errors.push(FieldError::new("body", "at most 100 requirements"));
    }
    let mut out = Vec::new();
    for (i, r) in list.into_iter().enumerate() {
        let t = r
            .req_type
            .as_ref()
            .and_then(rules::whole)
            .filter(|t| rules::REQUIREMENT_TYPE.contains(*t));
        if t.is_none() {
            errors.push(FieldError::new(format!("[{i}].type"), "must be 1, 2 or 3"));
        }
        let code = r.code.unwrap_or_default();
        if code.is_empty() || code.chars().count() > rules::REQUIREMENT_CODE_MAX {
            errors.push(FieldError::new(
                format!("[{i}].code"),
                "is required, at most 100 characters",
            ));
        }
        let description = r.description.unwrap_or_default();
        if rules::REQUIREMENT_DESCRIPTION
            .problem(&description)
            .is_some()
        {
            errors.push(FieldError::new(
                format!("[{i}].description"),
                "is required, at most 1000 characters",
            ));
        }
        out.push(inventory::Requirement {
            id: crate::domain::new_id(),
            req_type: t.unwrap_or(1),
            code,
            description,
        });
    }
    let Some(kind) = kind.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    inventory::put_requirements(&state.db, country, kind, &out).await?;
    state.caches.rules.clear();
    Ok(out)
}

/// Deliveries of every account, newest first (`state`: pending, delivered or failed).
#[utoipa::path(get, path = "/admin/v1/deliveries", tag = "Operator",
    params(rules::params::DeliveryFilter, rules::params::Page),
    responses((status = 200, body = [crate::model::Delivery]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn list_deliveries(
    State(state): State<AppState>,
    _: Operator,
    q: QueryParams,
) -> ApiResult<Response> {
    let (page, filter) = q.read(|q, errors| {
        let page = q.page(errors);
        let filter = q.value("state").and_then(|s| {
            let parsed = crate::domain::DeliveryState::parse(s);
            if parsed.is_none() {
                errors.push(FieldError::new(
                    "state",
                    "must be pending, delivered or failed",
                ));
            }
            parsed
        });
        (page, filter)
    })?;
    let (items, total) =
        crate::store::deliveries::list(&state.db, filter, page.skip, page.take).await?;
    let items: Vec<_> = items
        .into_iter()
        .map(crate::notify::redacted_for_operator)
        .collect();
    Ok(paged(items, page, total))
}

/// Queue a failed or delivered delivery again (its retry schedule restarts).
#[utoipa::path(post, path = "/admin/v1/deliveries/{id}/redeliver", tag = "Operator", params(("id" = uuid::Uuid, Path)),
    responses((status = 202, body = crate::model::Delivery), (status = 404, body = ErrorBody),
        (status = 409, description = "DELIVERY_PENDING", body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn redeliver(
    State(state): State<AppState>,
    _: Operator,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = path_id(&id)?;
    if !crate::store::deliveries::redeliver(&state.db, &id, crate::domain::now_ms()).await? {
        return match crate::store::deliveries::get(&state.db, &id).await? {
            Some(_) => Err(ApiError::conflict(
                "DELIVERY_PENDING",
                "The delivery is still pending.",
            )),
            None => Err(ApiError::not_found()),
        };
    }
    state.outbox_wake.notify_waiters();
    let d = crate::store::deliveries::get(&state.db, &id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let d = crate::notify::redacted_for_operator(d);
    Ok((StatusCode::ACCEPTED, axum::Json(d)).into_response())
}
