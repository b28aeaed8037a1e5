//! Company profiles: customer endpoints under `CP = /voice/companyprofilesapi/v1/{accountGuid}`
//! and the operator's approve/reject.

use axum::extract::{Path, State};
use axum::http::header::{ETAG, IF_MATCH};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiResult, ErrorBody};
use super::extract::{Customer, JsonBody, Operator, OptionalJson, QueryParams, paged, path_id};
use super::requests::{ReasonBody, RequiredReasonBody, created, idempotency_key};
use crate::AppState;
use crate::model::CompanyProfile;
use crate::profiles::{self, Decision, ProfileInput, ProfileUpdate};
use crate::rules;
use serde::Serialize;
use utoipa::ToSchema;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_profile, list_profiles))
        .routes(routes!(get_profile, update_profile))
        .routes(routes!(resend_confirmations))
        .routes(routes!(approve_profile))
        .routes(routes!(reject_profile))
}

/// The `If-Match` of a guarded change: None when absent or `*` (any version). A weak tag
/// `W/"3"` is read as `"3"`, and the quotes may be left out. A tag that is no version of ours
/// (not a number, or a list) matches no profile: version 0 is never given out.
pub fn if_match(headers: &HeaderMap) -> Option<i64> {
    let raw = headers.get(IF_MATCH)?;
    let tag = raw.to_str().unwrap_or("").trim();
    if tag == "*" {
        return None;
    }
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    let tag = tag
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(tag);
    Some(tag.parse::<i64>().ok().filter(|v| *v > 0).unwrap_or(0))
}

/// A profile answer with its version as `ETag`.
fn tagged(p: CompanyProfile) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", p.version)).ok();
    let mut res = axum::Json(p).into_response();
    if let Some(v) = etag {
        res.headers_mut().insert(ETAG, v);
    }
    res
}

/// Create a company profile.
#[utoipa::path(post, path = "/voice/companyprofilesapi/v1/{accountGuid}/companyprofiles", tag = "Company profiles",
    params(("accountGuid" = uuid::Uuid, Path, description = "The account the API key belongs to"), rules::params::IdempotencyKey),
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
    let answer = profiles::create(&state, &customer.account_id, body.value, idem).await?;
    let loc = format!(
        "/voice/companyprofilesapi/v1/{}/companyprofiles/{}",
        customer.account_id, answer.id
    );
    Ok(created(answer, loc))
}

/// List the account's company profiles, newest first.
#[utoipa::path(get, path = "/voice/companyprofilesapi/v1/{accountGuid}/companyprofiles", tag = "Company profiles",
    params(("accountGuid" = uuid::Uuid, Path, description = "The account the API key belongs to"), rules::params::Page),
    responses((status = 200, body = [CompanyProfile]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("productToken" = [])))]
async fn list_profiles(
    State(state): State<AppState>,
    customer: Customer,
    q: QueryParams,
) -> ApiResult<Response> {
    let page = q.page_only()?;
    let (items, total) = profiles::list(&state, &customer.account_id, page.skip, page.take).await?;
    Ok(paged(items, page, total))
}

/// One company profile, with its version as `ETag`.
#[utoipa::path(get, path = "/voice/companyprofilesapi/v1/{accountGuid}/companyprofiles/{id}", tag = "Company profiles",
    params(("accountGuid" = uuid::Uuid, Path, description = "The account the API key belongs to"), ("id" = uuid::Uuid, Path)),
    responses((status = 200, description = "The profile; ETag is its version", body = CompanyProfile), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("productToken" = [])))]
async fn get_profile(
    State(state): State<AppState>,
    customer: Customer,
    Path(ids): Path<(String, String)>,
) -> ApiResult<Response> {
    let id = path_id(&ids.1)?;
    let p = profiles::get(&state, &customer.account_id, &id).await?;
    Ok(tagged(p))
}

/// Partial update. A change to any field but `name` and `emailAddresses` sends an `Approved`
/// or `Rejected` profile back to `PendingApproval`. With `If-Match`, only if the profile is at
/// that version; without, the fields are applied to the profile as it is at that moment.
#[utoipa::path(put, path = "/voice/companyprofilesapi/v1/{accountGuid}/companyprofiles/{id}", tag = "Company profiles",
    params(("accountGuid" = uuid::Uuid, Path, description = "The account the API key belongs to"), ("id" = uuid::Uuid, Path),
        ("If-Match" = Option<String>, Header, description = "The version (`\"3\"`, `W/\"3\"`, `3` or `*`) the change is based on")),
    request_body = ProfileUpdate,
    responses((status = 200, description = "The profile; ETag is its new version", body = CompanyProfile), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 412, description = "PRECONDITION_FAILED: the profile is at another version", body = ErrorBody)),
    security(("productToken" = [])))]
async fn update_profile(
    State(state): State<AppState>,
    customer: Customer,
    Path(ids): Path<(String, String)>,
    headers: HeaderMap,
    body: JsonBody<ProfileInput>,
) -> ApiResult<Response> {
    let id = path_id(&ids.1)?;
    let expected = if_match(&headers);
    let p = profiles::update(&state, &customer.account_id, &id, expected, &body.value).await?;
    Ok(tagged(p))
}

/// What `POST .../emailconfirmations` did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmationsResent {
    /// Unconfirmed addresses the confirmation message was queued for now.
    #[schema(value_type = Vec<String>, format = Email)]
    pub sent_to: Vec<String>,
    /// Unconfirmed addresses that were sent it again less than 10 minutes ago, and when the
    /// next one may be sent.
    pub waiting: Vec<WaitingAddress>,
}

/// An address that may be sent the confirmation message again from `nextSendOn`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaitingAddress {
    #[schema(format = Email)]
    pub email_address: String,
    /// RFC 3339 time from which another message may be sent.
    #[schema(format = DateTime)]
    pub next_send_on: String,
}

/// Send the confirmation message again to the profile's unconfirmed addresses: each address at
/// most once per 10 minutes (a call within that time sends nothing to it and says when it may).
/// Confirmed addresses, and every address when confirmation is off, are skipped.
#[utoipa::path(post, path = "/voice/companyprofilesapi/v1/{accountGuid}/companyprofiles/{id}/emailconfirmations", tag = "Company profiles",
    params(("accountGuid" = uuid::Uuid, Path, description = "The account the API key belongs to"), ("id" = uuid::Uuid, Path)),
    responses((status = 202, description = "Queued for the addresses in `sentTo`; `waiting` lists those sent one less than 10 minutes ago", body = ConfirmationsResent),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "NOT_FOUND: no such profile of this account", body = ErrorBody)),
    security(("productToken" = [])))]
async fn resend_confirmations(
    State(state): State<AppState>,
    customer: Customer,
    Path(ids): Path<(String, String)>,
) -> ApiResult<Response> {
    let id = path_id(&ids.1)?;
    let r = profiles::resend_confirmations(&state, &customer.account_id, &id).await?;
    let body = ConfirmationsResent {
        sent_to: r.sent,
        waiting: r
            .waiting
            .into_iter()
            .map(|(address, at)| WaitingAddress {
                email_address: address,
                next_send_on: crate::domain::format_ms(at),
            })
            .collect(),
    };
    Ok((axum::http::StatusCode::ACCEPTED, axum::Json(body)).into_response())
}

/// Approve a company profile (operator): the status and its reason change, never the data.
#[utoipa::path(post, path = "/admin/v1/companyprofiles/{id}/approve", tag = "Operator",
    params(("id" = uuid::Uuid, Path), ("If-Match" = Option<String>, Header, description = "The version the operator reviewed")),
    request_body(content = Option<ReasonBody>, description = "Optional reason"),
    responses((status = 200, body = CompanyProfile), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 412, description = "PRECONDITION_FAILED: the profile changed since that version", body = ErrorBody)),
    security(("adminToken" = [])))]
async fn approve_profile(
    State(state): State<AppState>,
    _: Operator,
    Path(id): Path<String>,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> ApiResult<Response> {
    review(&state, &id, &headers, Decision::Approve, body).await
}

/// Reject a company profile (operator); the reason is required.
#[utoipa::path(post, path = "/admin/v1/companyprofiles/{id}/reject", tag = "Operator",
    params(("id" = uuid::Uuid, Path), ("If-Match" = Option<String>, Header, description = "The version the operator reviewed")),
    request_body = RequiredReasonBody,
    responses((status = 200, body = CompanyProfile), (status = 400, description = "VALIDATION_FAILED: reason missing", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 412, description = "PRECONDITION_FAILED: the profile changed since that version", body = ErrorBody)),
    security(("adminToken" = [])))]
async fn reject_profile(
    State(state): State<AppState>,
    _: Operator,
    Path(id): Path<String>,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<ReasonBody>,
) -> ApiResult<Response> {
    review(&state, &id, &headers, Decision::Reject, body).await
}

async fn review(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    decision: Decision,
    body: Option<ReasonBody>,
) -> ApiResult<Response> {
    let id = path_id(id)?;
    let reason = body.unwrap_or_default().checked_reason();
    let p = profiles::review(state, &id, if_match(headers), decision, reason).await?;
    Ok(tagged(p))
}
