//! The API log over HTTP: the layer that records every customer call made with a valid key, and
//! the lists `GET NR/apilog` and `GET /admin/v1/apilog`.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::RequestId;
use super::error::{ApiError, ApiResult, ErrorBody, FieldError, MessageCode};
use super::extract::{Customer, Operator, Page, QueryParams, key_owner, paged};
use crate::AppState;
use crate::apilog::{self, ApiLog, ApiLogEntry, ApiLogFilter};
use crate::domain::{format_ms, new_id, now_ms};
use crate::rules;
use crate::store::accounts;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(customer_log))
        .routes(routes!(operator_log))
}

/// Records the call when it is under `/voice/` and its `X-CM-PRODUCTTOKEN` is a live key
/// (whatever the answer, a 403 for another account's path included). The entry is handed over
/// when the answer's body has been sent, so `durationMs` covers a streamed answer too.
pub async fn record(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(log) = state.api_log.clone() else {
        return next.run(req).await;
    };
    if !req.uri().path().starts_with("/voice/") {
        return next.run(req).await;
    }
    let key = req
        .headers()
        .get("x-cm-producttoken")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let owner = match key {
        Some(key) => match key_owner(&state, key, &accounts::hash_key(key)).await {
            Ok(owner) => owner,
            // The database is unreachable: answer at once, rather than after a second wait for
            // a connection in the handler's own look-up.
            Err(e) => {
                return crate::api::error::ApiError::from(crate::store::StoreError::from(e))
                    .into_response();
            }
        },
        None => None,
    };
    let Some(owner) = owner else {
        return next.run(req).await;
    };
    req.extensions_mut().insert(owner.clone());
    let start = Instant::now();
    let occurred_ms = now_ms();
    let user_agent = req.headers().get("user-agent").map(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .chars()
            .take(apilog::USER_AGENT_CHARS)
            .collect::<String>()
    });
    let pending = Pending {
        log,
        start,
        entry: ApiLogEntry {
            id: new_id(),
            account_id: owner.account_id.clone(),
            occurred_ms,
            method: req.method().as_str().to_string(),
            path: req.uri().path().to_string(),
            query: req.uri().query().map(str::to_string),
            status: 0,
            duration_ms: 0,
            user_agent,
            api_key_id: owner.key_id,
            request_id: req
                .extensions()
                .get::<RequestId>()
                .map(|r| r.0.clone())
                .unwrap_or_default(),
            message_code: None,
        },
    };
    let res = next.run(req).await;
    let (parts, body) = res.into_parts();
    let mut pending = pending;
    pending.entry.status = parts.status.as_u16();
    if parts.status.as_u16() >= 400 {
        pending.entry.message_code = parts.extensions.get::<MessageCode>().map(|c| c.0.clone());
    }
    Response::from_parts(
        parts,
        Body::new(LoggedBody {
            inner: body,
            pending: Some(pending),
        }),
    )
}

/// An entry waiting for its answer to be sent.
struct Pending {
    log: ApiLog,
    start: Instant,
    entry: ApiLogEntry,
}

/// The answer's body, unchanged; when the server is done with it (sent, or the client gone) the
/// entry is recorded with the time taken.
struct LoggedBody {
    inner: Body,
    pending: Option<Pending>,
}

impl http_body::Body for LoggedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        if let Some(mut p) = self.pending.take() {
            p.entry.duration_ms = i64::try_from(p.start.elapsed().as_millis()).unwrap_or(i64::MAX);
            p.log.record(p.entry);
        }
    }
}

/// One recorded call as the lists show it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiLogEntryView {
    pub id: String,
    /// Operator lists only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// When the call arrived.
    pub occurred_on: String,
    pub method: String,
    /// The path as called, without the query string.
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    /// Whole milliseconds until the answer was sent.
    pub duration_ms: i64,
    /// The first 512 characters of `User-Agent`.
    pub user_agent: Option<String>,
    /// The id of the API key used (never the key).
    pub api_key_id: String,
    /// The call's `x-request-id`.
    pub request_id: String,
    /// The error body's code of a 4xx/5xx answer.
    pub message_code: Option<String>,
}

impl ApiLogEntryView {
    fn new(e: ApiLogEntry, with_account: bool) -> ApiLogEntryView {
        ApiLogEntryView {
            id: e.id,
            account_id: with_account.then_some(e.account_id),
            occurred_on: format_ms(e.occurred_ms),
            method: e.method,
            path: e.path,
            query: e.query,
            status: e.status,
            duration_ms: e.duration_ms,
            user_agent: e.user_agent,
            api_key_id: e.api_key_id,
            request_id: e.request_id,
            message_code: e.message_code,
        }
    }
}

/// The `status` and `method` filters, checked.
fn filter_of(q: &QueryParams, errors: &mut Vec<FieldError>) -> ApiLogFilter {
    let mut f = ApiLogFilter {
        status: q
            .int("status", rules::HTTP_STATUS, errors)
            .and_then(|v| u16::try_from(v).ok()),
        ..Default::default()
    };
    if let Some(m) = q.value("method") {
        if (1..=20).contains(&m.len()) && m.bytes().all(|b| b.is_ascii_alphabetic()) {
            f.method = Some(m.to_ascii_uppercase());
        } else {
            errors.push(FieldError::new(
                "method",
                "must be an HTTP method name such as GET or POST",
            ));
        }
    }
    f
}

async fn listing(
    state: &AppState,
    page: Page,
    filter: ApiLogFilter,
    with_account: bool,
) -> ApiResult<Response> {
    let (entries, total) = apilog::list(&state.db, &filter, page.skip, page.take)
        .await
        .map_err(|apilog::ApiLogError::Store(e)| ApiError::from(e))?;
    let items = entries
        .into_iter()
        .map(|e| ApiLogEntryView::new(e, with_account))
        .collect::<Vec<_>>();
    Ok(paged(items, page, total))
}

/// The account's recent API calls, newest first.
#[utoipa::path(get, path = "/voice/phonenumberrequestapi/v1/{accountGuid}/apilog", tag = "API log",
    params(("accountGuid" = uuid::Uuid, Path, description = "The account the API key belongs to"), rules::params::Page, rules::params::ApiLogFilter),
    responses((status = 200, description = "Page of calls; headers x-cm-pagination-skip/take/total", body = [ApiLogEntryView]),
        (status = 400, description = "VALIDATION_FAILED", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("productToken" = [])))]
async fn customer_log(
    State(state): State<AppState>,
    customer: Customer,
    q: QueryParams,
) -> ApiResult<Response> {
    let (page, mut filter) = q.read(|q, errors| (q.page(errors), filter_of(q, errors)))?;
    filter.account_id = Some(customer.account_id);
    listing(&state, page, filter, false).await
}

/// API log entries of every account, or of one, newest first.
#[utoipa::path(get, path = "/admin/v1/apilog", tag = "Operator",
    params(rules::params::AccountFilter, rules::params::Page, rules::params::ApiLogFilter),
    responses((status = 200, description = "Page of calls with accountId; headers x-cm-pagination-skip/take/total", body = [ApiLogEntryView]),
        (status = 400, description = "VALIDATION_FAILED", body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn operator_log(
    State(state): State<AppState>,
    _: Operator,
    q: QueryParams,
) -> ApiResult<Response> {
    let (page, filter) = q.read(|q, errors| {
        let page = q.page(errors);
        let mut filter = filter_of(q, errors);
        filter.account_id = q.uuid("accountId", errors);
        (page, filter)
    })?;
    listing(&state, page, filter, true).await
}
