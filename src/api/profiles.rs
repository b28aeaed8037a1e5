//! Company profiles: customer endpoints under `CP = /voice/companyprofilesapi/v1/{accountGuid}`
//! and the operator's approve/reject.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Customer, JsonBody, Operator, OptionalJson, QueryParams, paged, path_id};
use super::requests::{ReasonBody, created, idempotency_key};
use crate::AppState;
use crate::domain::{PhoneNumberType, ProfileStatus, is_country_code, is_e164, new_id, now_ms};
use crate::error::{ApiError, ApiResult, ErrorBody, FieldError};
use crate::model::{CompanyProfile, ProfileData};
use crate::orders::{self, Answer};
use crate::store::profiles;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_profile, list_profiles))
        .routes(routes!(get_profile, update_profile))
        .routes(routes!(approve_profile))
        .routes(routes!(reject_profile))
}

/// `Some(None)` for an explicit `null`, `None` for an absent field.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

/// A company profile as sent: every field optional here, so the same shape serves create (where
/// required fields must be present) and the partial update (absent = unchanged, null = clear).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileInput {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub company_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub business_register_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub representative_first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub representative_last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub representative_phone_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub country_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub region: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub postal_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub street: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub house_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Vec<String>)]
    pub email_addresses: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub number_country_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Vec<String>)]
    pub phone_number_types: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub required_fields: Option<Option<BTreeMap<String, String>>>,
}

/// Checks a whole profile against the contract's limits (API.md §3).
fn check(d: &ProfileData) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut text = |field: &str, v: &str, max: usize| {
        let n = v.chars().count();
        if v.trim().is_empty() {
            errors.push(FieldError::new(field, "is required"));
        } else if n > max {
            errors.push(FieldError::new(
                field,
                format!("must be at most {max} characters"),
            ));
        }
    };
    text("name", &d.name, 100);
    text("companyName", &d.company_name, 100);
    text("businessRegisterNumber", &d.business_register_number, 100);
    text("representativeFirstName", &d.representative_first_name, 100);
    text("representativeLastName", &d.representative_last_name, 100);
    text("city", &d.city, 100);
    text("postalCode", &d.postal_code, 12);
    text("street", &d.street, 255);
    text("houseNumber", &d.house_number, 20);
    if let Some(r) = &d.region {
        text("region", r, 100);
    }
    if let Some(p) = &d.representative_phone_number
        && !is_e164(p)
    {
        errors.push(FieldError::new(
            "representativePhoneNumber",
            "must be E.164, e.g. +31201234567",
        ));
    }
    if !is_country_code(&d.country_code) {
        errors.push(FieldError::new(
            "countryCode",
            "must be an ISO 3166-1 alpha-2 code, e.g. NL",
        ));
    }
    if !is_country_code(&d.number_country_code) {
        errors.push(FieldError::new(
            "numberCountryCode",
            "must be an ISO 3166-1 alpha-2 code, e.g. NL",
        ));
    }
    if d.email_addresses.is_empty() || d.email_addresses.len() > 10 {
        errors.push(FieldError::new(
            "emailAddresses",
            "must list 1 to 10 addresses",
        ));
    }
    for (i, e) in d.email_addresses.iter().enumerate() {
        if e.len() > 254 || !email_address::EmailAddress::is_valid(e) || !e.contains('.') {
            errors.push(FieldError::new(
                format!("emailAddresses[{i}]"),
                "is not a valid e-mail address",
            ));
        }
    }
    if d.phone_number_types.is_empty() {
        errors.push(FieldError::new(
            "phoneNumberTypes",
            "must list at least one type",
        ));
    }
    if d.phone_number_types
        .iter()
        .any(|t| PhoneNumberType::parse(t).is_none())
    {
        errors.push(FieldError::new(
            "phoneNumberTypes",
            "each must be LOCAL, NATIONAL or TOLLFREE",
        ));
    }
    if let Some(rf) = &d.required_fields
        && (rf.len() > 50
            || rf
                .iter()
                .any(|(k, v)| k.chars().count() > 100 || v.chars().count() > 1000))
    {
        errors.push(FieldError::new(
            "requiredFields",
            "at most 50 entries, keys ≤ 100 and values ≤ 1000 characters",
        ));
    }
    errors
}

impl ProfileInput {
    /// Applies the input to `base` (absent = keep); an explicit `null` on a required field fails.
    fn apply(self, base: ProfileData) -> ApiResult<ProfileData> {
        let mut errors = Vec::new();
        let mut req = |field: &str, v: Option<Option<String>>, cur: String| match v {
            None => cur,
            Some(Some(s)) => s,
            Some(None) => {
                errors.push(FieldError::new(field, "is required"));
                cur
            }
        };
        let name = req("name", self.name, base.name);
        let company_name = req("companyName", self.company_name, base.company_name);
        let brn = req(
            "businessRegisterNumber",
            self.business_register_number,
            base.business_register_number,
        );
        let first = req(
            "representativeFirstName",
            self.representative_first_name,
            base.representative_first_name,
        );
        let last = req(
            "representativeLastName",
            self.representative_last_name,
            base.representative_last_name,
        );
        let country = req("countryCode", self.country_code, base.country_code);
        let city = req("city", self.city, base.city);
        let postal = req("postalCode", self.postal_code, base.postal_code);
        let street = req("street", self.street, base.street);
        let house = req("houseNumber", self.house_number, base.house_number);
        let number_country = req(
            "numberCountryCode",
            self.number_country_code,
            base.number_country_code,
        );
        let emails = match self.email_addresses {
            None => base.email_addresses,
            Some(Some(v)) => v,
            Some(None) => {
                errors.push(FieldError::new("emailAddresses", "is required"));
                Vec::new()
            }
        };
        let types = match self.phone_number_types {
            None => base.phone_number_types,
            Some(Some(v)) => {
                let mut seen = Vec::new();
                for t in v {
                    if !seen.contains(&t) {
                        seen.push(t);
                    }
                }
                seen
            }
            Some(None) => {
                errors.push(FieldError::new("phoneNumberTypes", "is required"));
                Vec::new()
            }
        };
        let data = ProfileData {
            name,
            company_name,
            business_register_number: brn,
            representative_first_name: first,
            representative_last_name: last,
            representative_phone_number: self
                .representative_phone_number
                .unwrap_or(base.representative_phone_number),
            country_code: country,
            region: self.region.unwrap_or(base.region),
            city,
            postal_code: postal,
            street,
            house_number: house,
            email_addresses: emails,
            number_country_code: number_country,
            phone_number_types: types,
            required_fields: self.required_fields.unwrap_or(base.required_fields),
        };
        for e in check(&data) {
            if !errors.iter().any(|x: &FieldError| x.field == e.field) {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(data)
        } else {
            Err(ApiError::validation(errors))
        }
    }
}

fn empty_profile() -> ProfileData {
    ProfileData {
        name: String::new(),
        company_name: String::new(),
        business_register_number: String::new(),
        representative_first_name: String::new(),
        representative_last_name: String::new(),
        representative_phone_number: None,
        country_code: String::new(),
        region: None,
        city: String::new(),
        postal_code: String::new(),
        street: String::new(),
        house_number: String::new(),
        email_addresses: Vec::new(),
        number_country_code: String::new(),
        phone_number_types: Vec::new(),
        required_fields: None,
    }
}

/// Validates a complete new profile.
pub fn new_profile(input: ProfileInput) -> ApiResult<ProfileData> {
    input.apply(empty_profile())
}

/// Create a company profile.
#[utoipa::path(post, path = "/voice/companyprofilesapi/v1/{accountGuid}/companyprofiles", tag = "Company profiles",
    params(("accountGuid" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ProfileInput,
    responses((status = 201, description = "PendingApproval, or Approved with auto-approval", body = CompanyProfile),
        (status = 400, description = "VALIDATION_FAILED, MALFORMED_JSON", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, description = "IDEMPOTENCY_KEY_REUSED", body = ErrorBody)),
    security(("productToken" = [])))]
async fn create_profile(
    State(state): State<AppState>,
    customer: Customer,
    headers: HeaderMap,
    body: JsonBody<ProfileInput>,
) -> ApiResult<Response> {
    let idem = idempotency_key(&headers, "companyprofiles", &body.canonical)?;
    if let Some(idem) = &idem
        && let Some(answer) = orders::lookup_idempotent(&state, &customer.account_id, idem).await?
    {
        let loc = format!(
            "/voice/companyprofilesapi/v1/{}/companyprofiles/{}",
            customer.account_id, answer.id
        );
        return Ok(created(answer, loc));
    }
    let data = new_profile(body.value)?;
    let (status, reason) = if state.config.auto_approve_profiles {
        (ProfileStatus::Approved, Some("Approved automatically"))
    } else {
        (ProfileStatus::PendingApproval, None)
    };
    let account_id = customer.account_id.clone();
    let answer = orders::retrying(|| {
        let (data, idem, account_id) = (data.clone(), idem.clone(), account_id.clone());
        let state = state.clone();
        async move {
            let mut tx = state.db.begin().await?;
            let now = now_ms();
            if let Some(answer) =
                orders::replay_in_tx(&mut tx, &account_id, idem.as_ref(), now).await?
            {
                return Ok(answer);
            }
            let profile =
                profiles::insert(&mut tx, &new_id(), &account_id, &data, status, reason, now)
                    .await?;
            let body = serde_json::to_string(&profile)?;
            orders::remember_created(&mut tx, &account_id, idem.as_ref(), &body, now).await?;
            tx.commit().await?;
            Ok(Answer {
                status: axum::http::StatusCode::CREATED,
                body,
                id: profile.id,
            })
        }
    })
    .await?;
    let loc = format!(
        "/voice/companyprofilesapi/v1/{}/companyprofiles/{}",
        customer.account_id, answer.id
    );
    Ok(created(answer, loc))
}

/// List the account's company profiles, newest first.
#[utoipa::path(get, path = "/voice/companyprofilesapi/v1/{accountGuid}/companyprofiles", tag = "Company profiles",
    params(("accountGuid" = String, Path), ("skip" = Option<i64>, Query), ("take" = Option<i64>, Query)),
    responses((status = 200, body = [CompanyProfile]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("productToken" = [])))]
async fn list_profiles(
    State(state): State<AppState>,
    customer: Customer,
    q: QueryParams,
) -> ApiResult<Response> {
    let mut errors = Vec::new();
    let page = q.page(&mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let (items, total) =
        profiles::list(&state.db, &customer.account_id, page.skip, page.take).await?;
    Ok(paged(items, page, total))
}

/// One company profile.
#[utoipa::path(get, path = "/voice/companyprofilesapi/v1/{accountGuid}/companyprofiles/{id}", tag = "Company profiles",
    params(("accountGuid" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = CompanyProfile), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("productToken" = [])))]
async fn get_profile(
    State(state): State<AppState>,
    customer: Customer,
    Path(ids): Path<(String, String)>,
) -> ApiResult<axum::Json<CompanyProfile>> {
    let id = path_id(&ids.1)?;
    let p = profiles::get(&state.db, Some(&customer.account_id), &id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(p))
}

/// Partial update. A change to any field but `name` and `emailAddresses` sends an `Approved`
/// or `Rejected` profile back to `PendingApproval`.
#[utoipa::path(put, path = "/voice/companyprofilesapi/v1/{accountGuid}/companyprofiles/{id}", tag = "Company profiles",
    params(("accountGuid" = String, Path), ("id" = String, Path)),
    request_body = ProfileInput,
    responses((status = 200, body = CompanyProfile), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("productToken" = [])))]
async fn update_profile(
    State(state): State<AppState>,
    customer: Customer,
    Path(ids): Path<(String, String)>,
    body: JsonBody<ProfileInput>,
) -> ApiResult<axum::Json<CompanyProfile>> {
    let id = path_id(&ids.1)?;
    for _ in 0..5 {
        let current = profiles::get(&state.db, Some(&customer.account_id), &id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        let prev = profiles::updated_ms(&state.db, &id).await?;
        let input = serde_json::from_str::<ProfileInput>(&body.canonical)
            .map_err(|e| ApiError::malformed(e.to_string()))?;
        let data = input.apply(current.data.clone())?;
        let needs_review = {
            let (mut a, mut b) = (current.data.clone(), data.clone());
            a.name.clear();
            b.name.clear();
            a.email_addresses.clear();
            b.email_addresses.clear();
            a != b
        };
        let (status, reason) =
            if needs_review && current.status != ProfileStatus::PendingApproval.as_str() {
                (
                    ProfileStatus::PendingApproval.as_str().to_string(),
                    Some("Changed; waiting for approval again".to_string()),
                )
            } else {
                (current.status.clone(), current.status_reason.clone())
            };
        if data == current.data {
            return Ok(axum::Json(current));
        }
        if profiles::update(
            &state.db,
            &id,
            &data,
            &status,
            reason.as_deref(),
            prev,
            now_ms(),
        )
        .await?
        {
            let p = profiles::get(&state.db, Some(&customer.account_id), &id)
                .await?
                .ok_or_else(ApiError::not_found)?;
            return Ok(axum::Json(p));
        }
    }
    Err(ApiError::conflict(
        "CONCURRENT_UPDATE",
        "The profile changed meanwhile; try again.",
    ))
}

async fn review(
    state: &AppState,
    id: &str,
    status: ProfileStatus,
    reason: Option<String>,
) -> ApiResult<CompanyProfile> {
    let id = path_id(id)?;
    let current = profiles::get(&state.db, None, &id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    profiles::update(
        &state.db,
        &id,
        &current.data,
        status.as_str(),
        reason.as_deref(),
        None,
        now_ms(),
    )
    .await?;
    let p = profiles::get(&state.db, None, &id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(p)
}

/// Approve a company profile (operator).
#[utoipa::path(post, path = "/admin/v1/companyprofiles/{id}/approve", tag = "Operator",
    params(("id" = String, Path)), request_body(content = Option<ReasonBody>, description = "Optional reason"),
    responses((status = 200, body = CompanyProfile), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn approve_profile(
    State(state): State<AppState>,
    _: Operator,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> ApiResult<axum::Json<CompanyProfile>> {
    let reason = body
        .unwrap_or_default()
        .reason()?
        .or_else(|| Some("Approved by the operator".into()));
    Ok(axum::Json(
        review(&state, &id, ProfileStatus::Approved, reason).await?,
    ))
}

/// Reject a company profile (operator); the reason is required.
#[utoipa::path(post, path = "/admin/v1/companyprofiles/{id}/reject", tag = "Operator",
    params(("id" = String, Path)), request_body = ReasonBody,
    responses((status = 200, body = CompanyProfile), (status = 400, description = "VALIDATION_FAILED: reason missing", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn reject_profile(
    State(state): State<AppState>,
    _: Operator,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> ApiResult<axum::Json<CompanyProfile>> {
    let reason = body
        .unwrap_or_default()
        .reason()?
        .ok_or_else(|| ApiError::field("reason", "is required"))?;
    Ok(axum::Json(
        review(&state, &id, ProfileStatus::Rejected, Some(reason)).await?,
    ))
}
