//! The one error type of the HTTP API, rendered as the error body every failed call answers
//! with; and the one place where the services' errors become status codes and codes.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::domain::FieldError;
use crate::idempotency::IdempotencyError;
use crate::orders::OrderError;
use crate::profiles::ProfileError;
use crate::stock::StockError;
use crate::store::StoreError;
use crate::throttle::Throttled;

/// The error body: `{"messageCode","message","messageDetail","errors"}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `VALIDATION_FAILED`, `NOT_FOUND`, `PROFILE_NOT_APPROVED`.
    pub message_code: String,
    pub message: String,
    pub message_detail: Option<String>,
    pub errors: Vec<FieldError>,
}

/// An answer other than success. Internal errors are logged and shown without details.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                message_code: code.to_string(),
                message: message.into(),
                message_detail: None,
                errors: Vec::new(),
            },
            retry_after: None,
        }
    }
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.body.message_detail = Some(detail.into());
        self
    }
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "VALIDATION_FAILED",
            "The request is not valid.",
        );
        e.body.errors = errors;
        e
    }
    /// `VALIDATION_FAILED` with these errors, or Ok when there are none.
    pub fn check(errors: Vec<FieldError>) -> Result<(), Self> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Self::validation(errors))
        }
    }
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The resource was not found.",
        )
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "A valid API key is required.",
        )
    }
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "This key may not use that account.",
        )
    }
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::bad_request(
            "MALFORMED_JSON",
            "The body is not well-formed JSON of the expected shape.",
        )
        .detail(detail)
    }
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "The database is unavailable; try again shortly.",
        )
    }
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "Something went wrong on our side.",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        e.log();
        match e {
            StoreError::Unavailable(_) => ApiError::unavailable(),
            _ => ApiError::internal(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::from(e).into()
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        StoreError::from(e).into()
    }
}

impl From<IdempotencyError> for ApiError {
    fn from(e: IdempotencyError) -> Self {
        match e {
            IdempotencyError::KeyReused => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "IDEMPOTENCY_KEY_REUSED",
                "This Idempotency-Key was used with a different request.",
            ),
            IdempotencyError::Store(e) => e.into(),
        }
    }
}

impl From<OrderError> for ApiError {
    fn from(e: OrderError) -> Self {
        let message = e.to_string();
        let (status, code) = match e {
            OrderError::RequestNotFound
            | OrderError::ProfileNotFound
            | OrderError::NumberNotHeld => {
                return ApiError::not_found();
            }
            OrderError::ProfileNotApproved => (StatusCode::CONFLICT, "PROFILE_NOT_APPROVED"),
            OrderError::NumberTypeNotAllowed(_) => {
                (StatusCode::BAD_REQUEST, "NUMBER_TYPE_NOT_ALLOWED")
            }
            OrderError::AreaCodeOrCityRequired => {
                (StatusCode::BAD_REQUEST, "AREA_CODE_OR_CITY_REQUIRED")
            }
            OrderError::RegionRequired => (StatusCode::BAD_REQUEST, "REGION_REQUIRED"),
            OrderError::QuantityNotAllowed { .. } => {
                (StatusCode::BAD_REQUEST, "QUANTITY_NOT_ALLOWED")
            }
            OrderError::RangeSizeNotAllowed { .. } => {
                (StatusCode::BAD_REQUEST, "RANGE_SIZE_NOT_ALLOWED")
            }
            OrderError::AreaCodeRequired => (StatusCode::BAD_REQUEST, "AREA_CODE_REQUIRED"),
            OrderError::AddressNotInPrefixRegion(_) => {
                (StatusCode::BAD_REQUEST, "ADDRESS_NOT_IN_PREFIX_REGION")
            }
            OrderError::CallbackUrlNotAllowed => {
                (StatusCode::BAD_REQUEST, "CALLBACK_URL_NOT_ALLOWED")
            }
            OrderError::Finalized(_) | OrderError::ChangedMeanwhile => {
                (StatusCode::CONFLICT, "REQUEST_FINALIZED")
            }
            OrderError::AlreadyAccepted => (StatusCode::CONFLICT, "INVALID_STATUS_TRANSITION"),
            OrderError::TooManyOpenRequests(_) => (StatusCode::CONFLICT, "TOO_MANY_OPEN_REQUESTS"),
            OrderError::Stopping => return ApiError::unavailable(),
            OrderError::Idempotency(e) => return e.into(),
            OrderError::Store(e) => return e.into(),
        };
        ApiError::new(status, code, message)
    }
}

impl From<ProfileError> for ApiError {
    fn from(e: ProfileError) -> Self {
        match e {
            ProfileError::NotFound => ApiError::not_found(),
            ProfileError::Invalid(errors) => ApiError::validation(errors),
            ProfileError::VersionMismatch { .. } => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "PRECONDITION_FAILED",
                e.to_string(),
            ),
            ProfileError::Contended => ApiError::conflict("CONCURRENT_UPDATE", e.to_string()),
            ProfileError::Idempotency(e) => e.into(),
            ProfileError::Store(e) => e.into(),
        }
    }
}

impl From<StockError> for ApiError {
    fn from(e: StockError) -> Self {
        match e {
            StockError::Invalid(problems) => {
                let (unlisted, listed) = (problems.unlisted(), problems.listed.len());
                let e = ApiError::validation(problems.listed);
                if unlisted == 0 {
                    e
                } else {
                    e.detail(format!(
                        "The first {listed} problems are listed; there are {unlisted} more. Nothing was imported."
                    ))
                }
            }
            StockError::Malformed(detail) => ApiError::malformed(detail),
            StockError::Read(e) => ApiError::field(
                "body",
                format!("the body could not be read to its end: {e}"),
            ),
            StockError::Internal(why) => {
                tracing::error!(error = %why, "stock import failed");
                ApiError::internal()
            }
            StockError::Store(e) => e.into(),
            StockError::Fulfil(e) => (*e).into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = MessageCode(self.body.message_code.clone());
        let mut res = (self.status, axum::Json(self.body)).into_response();
        // The API log reads the code from here rather than parsing the body.
        res.extensions_mut().insert(code);
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

/// The `messageCode` of an error answer, kept beside its body.
#[derive(Debug, Clone)]
pub struct MessageCode(pub String);

pub type ApiResult<T> = Result<T, ApiError>;

impl From<Throttled> for ApiError {
    fn from(t: Throttled) -> Self {
        ApiError {
            retry_after: Some(t.retry_after_secs),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                "Too many failed sign-in attempts from this address; retry after the number of seconds in Retry-After.",
            )
        }
    }
}
