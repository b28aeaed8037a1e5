//! Extractors: customer and operator auth, JSON bodies with the contract's errors, query
//! parameters and pagination.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use super::error::{ApiError, ApiResult, FieldError};
use crate::AppState;
use crate::domain::{PhoneNumberType, parse_uuid};
use crate::rules;
use crate::store::accounts;

/// An authenticated customer: the `X-CM-PRODUCTTOKEN` key belongs to the `{accountGuid}` of the
/// path. Missing, unknown or revoked key: 401; a valid key on another account's path: 403.
#[derive(Debug, Clone)]
pub struct Customer {
    pub account_id: String,
}

impl FromRequestParts<AppState> for Customer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get("x-cm-producttoken")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(ApiError::unauthorized)?;
        let hash = accounts::hash_key(key);
        // The API log's layer may have looked the key up already.
        let owner = match parts.extensions.get::<accounts::KeyOwner>() {
            Some(owner) => owner.clone(),
            None => key_owner(state, key, &hash)
                .await?
                .ok_or_else(ApiError::unauthorized)?,
        };
        let account = owner.account_id;
        if let Some(limiter) = &state.rate_limiter
            && let Err(not_until) = limiter.check_key(&hash)
        {
            use governor::clock::{Clock, DefaultClock};
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Err(ApiError {
                retry_after: Some(wait.as_secs_f64().ceil().max(1.0) as u64),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "RATE_LIMITED",
                    "Too many requests for this API key; retry after the number of seconds in Retry-After.",
                )
            });
        }
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::forbidden())?;
        let guid = params
            .iter()
            .find(|(k, _)| *k == "accountGuid")
            .map(|(_, v)| v.to_string());
        match guid.as_deref().and_then(parse_uuid) {
            Some(g) if g == account => Ok(Customer {
                account_id: account,
            }),
            _ => Err(ApiError::forbidden()),
        }
    }
}

/// The owner of a live API key (`hash` is [`accounts::hash_key`] of it), through the cache.
pub async fn key_owner(
    state: &AppState,
    key: &str,
    hash: &str,
) -> Result<Option<accounts::KeyOwner>, sqlx::Error> {
    if let Some(owner) = state.caches.api_keys.get(&hash.to_string()) {
        return Ok(Some(owner));
    }
    let owner = accounts::key_owner(&state.db, key).await?;
    if let Some(o) = &owner {
        state.caches.api_keys.put(hash.to_string(), o.clone());
    }
    Ok(owner)
}

/// The operator: `Authorization: Bearer <NUMBERDESK_ADMIN_TOKEN>` (the scheme in any case).
/// Without a configured token the operator API does not exist (404). Failed attempts count
/// against the client address ([`crate::throttle`]); an address over the limit gets 429 before
/// its token is looked at.
#[derive(Debug, Clone)]
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(token) = state.config.admin_token.as_deref() else {
            return Err(ApiError::not_found());
        };
        let client = client_ip(parts);
        if let Some(ip) = client {
            state.auth_throttle.check(ip)?;
        }
        if bearer_token(&parts.headers).is_some_and(|given| secret_matches(given, token)) {
            return Ok(Operator);
        }
        if let Some(ip) = client {
            state.auth_throttle.failed(ip);
        }
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "A valid operator token is required.",
        ))
    }
}

/// The address of the connection a request came on.
pub fn client_ip(parts: &Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The token of an `Authorization: Bearer <token>` header; the scheme name is matched in any
/// case (RFC 9110 §11.1).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once([' ', '\t'])?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Compares a given secret with the configured one by their SHA-256 digests, in constant time:
/// neither the content nor the length of the configured secret shows in the time taken.
pub fn secret_matches(given: &str, configured: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(given), Sha256::digest(configured));
    bool::from(a.as_slice().ct_eq(b.as_slice()))
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

async fn body_bytes(req: Request, state: &AppState) -> ApiResult<Bytes> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            payload_too_large()
        } else {
            ApiError::malformed(e.body_text())
        }
    })
}

/// Parses a JSON object into `T`: not JSON, not an object or a field of the wrong JSON type is
/// `MALFORMED_JSON`. Also keeps the canonical text of the body (sorted keys) for idempotency.
pub fn parse_object<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<(T, String)> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::malformed(format!("not JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::malformed("the body must be a JSON object"));
    }
    let parsed = T::deserialize(&value).map_err(|e| ApiError::malformed(e.to_string()))?;
    checked_text(&value)?;
    Ok((parsed, value.to_string()))
}

/// Refuses a well-typed body whose strings (known fields or not) hold control or
/// bidirectional-control characters ([`crate::text`]), naming each such field.
fn checked_text(value: &serde_json::Value) -> ApiResult<()> {
    let errors = crate::text::check_json(value);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// A required JSON body.
pub struct JsonBody<T> {
    pub value: T,
    /// The body as canonical JSON text (object keys sorted).
    pub canonical: String,
}

/// The bytes of a required JSON body: none is `MALFORMED_JSON`, another type 415.
async fn required_json(req: Request, state: &AppState) -> ApiResult<Bytes> {
    let json = is_json(req.headers());
    let bytes = body_bytes(req, state).await?;
    if bytes.is_empty() {
        return Err(ApiError::malformed("a JSON body is required"));
    }
    if !json {
        return Err(unsupported_media_type());
    }
    Ok(bytes)
}

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = required_json(req, state).await?;
        let (value, canonical) = parse_object(&bytes)?;
        Ok(JsonBody { value, canonical })
    }
}

fn unsupported_media_type() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
        "Send the body as application/json.",
    )
}

/// A required JSON body whose top level is an array.
pub struct JsonList<T>(pub Vec<T>);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonList<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = required_json(req, state).await?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::malformed(format!("not JSON: {e}")))?;
        if !value.is_array() {
            return Err(ApiError::malformed("the body must be a JSON array"));
        }
        let list = Vec::<T>::deserialize(&value).map_err(|e| ApiError::malformed(e.to_string()))?;
        checked_text(&value)?;
        Ok(JsonList(list))
    }
}

/// An optional JSON body: none at all (with or without `Content-Type`) is `None`.
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned> FromRequest<AppState> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let json = is_json(req.headers());
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        if !json {
            return Err(unsupported_media_type());
        }
        Ok(OptionalJson(Some(parse_object(&bytes)?.0)))
    }
}

/// The answer to a body larger than its call allows.
pub fn payload_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
        "The body is larger than allowed.",
    )
}

/// The media type of a request's `Content-Type` (lower case, without parameters).
pub fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A request body as a blocking reader, for a parser on a blocking thread
/// (`tokio::task::spawn_blocking`): the body is read as the parser asks for it, never held whole.
/// Past `limit` bytes the reader fails and the returned flag is set (answer
/// [`payload_too_large`] then, whatever the parser made of the failure).
pub fn body_reader(
    body: axum::body::Body,
    limit: usize,
) -> (impl std::io::Read + Send + 'static, Arc<AtomicBool>) {
    use futures::StreamExt;
    let over = Arc::new(AtomicBool::new(false));
    let flag = over.clone();
    let mut seen: usize = 0;
    let chunks = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        seen = seen.saturating_add(chunk.len());
        if seen > limit {
            flag.store(true, Ordering::Relaxed);
            return Err(std::io::Error::other("the body is larger than allowed"));
        }
        Ok::<_, std::io::Error>(chunk)
    });
    let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(chunks));
    (reader, over)
}

/// Reads a body to its end without keeping it: its size, or `None` past `limit` bytes (or when
/// it cannot be read).
pub async fn drain(body: axum::body::Body, limit: usize) -> Option<usize> {
    use futures::StreamExt;
    let mut chunks = body.into_data_stream();
    let mut seen: usize = 0;
    while let Some(chunk) = chunks.next().await {
        seen = seen.saturating_add(chunk.ok()?.len());
        if seen > limit {
            return None;
        }
    }
    Some(seen)
}

/// Query-string parameters (the last of a repeated name wins). A value (or name) holding control
/// or bidirectional-control characters, percent-encoded or not, is `VALIDATION_FAILED` naming
/// the parameter ([`crate::text`]), whether the call reads that parameter or not.
pub struct QueryParams(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect();
        let mut errors = Vec::new();
        for (name, value) in &pairs {
            if crate::text::forbidden_char(name).is_some() {
                crate::text::check("query", name, &mut errors);
            } else {
                crate::text::check(name, value, &mut errors);
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        Ok(QueryParams(pairs.into_iter().collect()))
    }
}

impl QueryParams {
    /// A non-empty value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The value as sent, an empty one included. The API's filters read parameters with this:
    /// a parameter sent empty is checked like any other value (and refused where the document
    /// asks for a value), so that the document and the server agree on it.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// `skip` and `take` ([`rules::SKIP`], [`rules::TAKE`], default [`rules::TAKE_DEFAULT`]).
    pub fn page(&self, errors: &mut Vec<FieldError>) -> Page {
        let mut page = Page {
            skip: 0,
            take: rules::TAKE_DEFAULT,
        };
        if let Some(v) = self
            .value("skip")
            .and_then(|s| rules::SKIP.parse("skip", s, errors))
        {
            page.skip = v;
        }
        if let Some(v) = self
            .value("take")
            .and_then(|s| rules::TAKE.parse("take", s, errors))
        {
            page.take = v;
        }
        page
    }

    /// An optional UUID filter ([`rules::uuid_input`]).
    pub fn uuid(&self, name: &str, errors: &mut Vec<FieldError>) -> Option<String> {
        let v = self.value(name)?;
        let id = parse_uuid(v);
        if id.is_none() {
            errors.push(FieldError::new(name, "must be a UUID"));
        }
        id
    }

    /// An optional whole-number parameter within `rule`.
    pub fn int(&self, name: &str, rule: rules::Int, errors: &mut Vec<FieldError>) -> Option<i64> {
        rule.parse(name, self.value(name)?, errors)
    }
}

impl QueryParams {
    /// Reads the parameters with `read`, which notes every bad one in the list it is given; any
    /// problem answers `VALIDATION_FAILED` naming all of them, in the order `read` found them.
    pub fn read<'a, T>(
        &'a self,
        read: impl FnOnce(&'a Self, &mut Vec<FieldError>) -> T,
    ) -> ApiResult<T> {
        let mut errors = Vec::new();
        let value = read(self, &mut errors);
        ApiError::check(errors)?;
        Ok(value)
    }

    /// The page of a list that takes no other parameter; a bad `skip` or `take` is refused.
    pub fn page_only(&self) -> ApiResult<Page> {
        self.read(Self::page)
    }
}

/// A `countryCode` (path or query): an ISO 3166-1 alpha-2 code, else noted in `errors`.
pub fn country_code<'a>(value: &'a str, errors: &mut Vec<FieldError>) -> Option<&'a str> {
    let valid = crate::domain::is_country_code(value).then_some(value);
    if valid.is_none() {
        errors.push(FieldError::new(
            "countryCode",
            "must be an ISO 3166-1 alpha-2 code, e.g. NL",
        ));
    }
    valid
}

/// A `phoneNumberType` (path or query): LOCAL, NATIONAL or TOLLFREE, else noted in `errors`.
pub fn number_type(value: &str, errors: &mut Vec<FieldError>) -> Option<PhoneNumberType> {
    let kind = PhoneNumberType::parse(value);
    if kind.is_none() {
        errors.push(FieldError::new(
            "phoneNumberType",
            "must be LOCAL, NATIONAL or TOLLFREE",
        ));
    }
    kind
}

#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub skip: i64,
    pub take: i64,
}

/// A page of a list: a bare JSON array with the `x-cm-pagination-*` headers.
pub fn paged<T: Serialize>(items: Vec<T>, page: Page, total: i64) -> Response {
    let returned = items.len();
    let mut res = axum::Json(items).into_response();
    let h = res.headers_mut();
    h.insert("x-cm-pagination-skip", HeaderValue::from(page.skip));
    h.insert("x-cm-pagination-take", HeaderValue::from(returned as i64));
    h.insert("x-cm-pagination-total", HeaderValue::from(total));
    res
}

/// A path id: anything that is not a UUID is simply not found.
pub fn path_id(raw: &str) -> ApiResult<String> {
    parse_uuid(raw).ok_or_else(ApiError::not_found)
}

/// A JSON text we produced (stored or rendered) sent with a status.
pub fn json_text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response()
}
