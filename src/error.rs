//! The one error type of the HTTP API, rendered as the contract's error body (API.md §1).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// One failing field of a `VALIDATION_FAILED` answer.
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

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::unavailable()
            }
            sqlx::Error::Database(db) if crate::store::is_busy(db.as_ref()) => {
                tracing::warn!(error = %e, "database busy");
                ApiError::unavailable()
            }
            _ => {
                tracing::error!(error = %e, "database error");
                ApiError::internal()
            }
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        if let Some(sqlx) = e.downcast_ref::<sqlx::Error>()
            && matches!(
                sqlx,
                sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed
            )
        {
            return ApiError::unavailable();
        }
        tracing::error!(error = %format!("{e:#}"), "internal error");
        ApiError::internal()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, axum::Json(self.body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
