//! Usage over HTTP: `GET NR/usage` and `GET /admin/v1/usage`, as JSON with totals or, with
//! `Accept: text/csv`, as a CSV answer written while the lines are read.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{ACCEPT, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio::sync::mpsc;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult, ErrorBody, FieldError};
use super::extract::{Customer, Operator, QueryParams};
use crate::AppState;
use crate::domain::format_ms;
use crate::money::Month;
use crate::rules;
use crate::store::Db;
use crate::usage::{self, CurrencyTotal, UsageError, UsageLine, UsageLines};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(customer_usage))
        .routes(routes!(operator_usage))
}

impl From<UsageError> for ApiError {
    fn from(e: UsageError) -> Self {
        match e {
            UsageError::Store(e) => e.into(),
        }
    }
}

/// CSV bytes gathered before they are handed to the connection.
const CSV_CHUNK: usize = 64 * 1024;

/// One number held during the month.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageLineView {
    /// Operator answers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    pub phone_number: String,
    pub number_request_id: String,
    pub country_code: String,
    pub phone_number_type: String,
    pub valid_from: String,
    pub valid_to: Option<String>,
    /// Null when the request was quoted no price.
    pub currency: Option<String>,
    /// The setup price in the month the number was assigned, `0.00` in later months.
    pub setup_charge: Option<String>,
    /// The monthly price, for any part of the month held.
    pub monthly_charge: Option<String>,
}

impl UsageLineView {
    fn of(l: UsageLine, with_account: bool) -> UsageLineView {
        UsageLineView {
            account_id: with_account.then_some(l.account_id),
            phone_number: l.phone_number,
            number_request_id: l.number_request_id,
            country_code: l.country_code,
            phone_number_type: l.phone_number_type,
            valid_from: format_ms(l.valid_from_ms),
            valid_to: l.valid_to_ms.map(format_ms),
            currency: l.charge.map(|c| c.currency.to_string()),
            setup_charge: l.charge.map(|c| c.setup.to_string()),
            monthly_charge: l.charge.map(|c| c.monthly.to_string()),
        }
    }
}

/// The sums of one currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotalView {
    pub currency: String,
    pub setup: String,
    pub monthly: String,
    /// `setup` + `monthly`.
    pub total: String,
}

impl From<CurrencyTotal> for TotalView {
    fn from(t: CurrencyTotal) -> Self {
        TotalView {
            currency: t.currency.to_string(),
            setup: t.setup.to_string(),
            monthly: t.monthly.to_string(),
            total: t.total().to_string(),
        }
    }
}

/// A month's usage: its lines (ordered by validFrom, then phoneNumber) and totals per currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    #[schema(example = "2026-12")]
    pub month: String,
    pub lines: Vec<UsageLineView>,
    pub totals: Vec<TotalView>,
}

/// `month` (default: the current one; anything but `YYYY-MM` fails).
fn month_of(q: &QueryParams, errors: &mut Vec<FieldError>) -> Month {
    match q.0.get("month") {
        None => Month::current(),
        Some(m) => Month::parse(m).unwrap_or_else(|| {
            errors.push(FieldError::new(
                "month",
                "must be a calendar month written YYYY-MM, e.g. 2026-12",
            ));
            Month::current()
        }),
    }
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|m| {
            m.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv"))
        })
}

async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    account_id: Option<String>,
    month: Month,
    with_account: bool,
) -> ApiResult<Response> {
    if wants_csv(headers) {
        return Ok(csv_answer(
            state.db.clone(),
            account_id,
            month,
            with_account,
        ));
    }
    let (lines, totals) = usage::collect(&state.db, account_id, month).await?;
    Ok(axum::Json(Usage {
        month: month.to_string(),
        lines: lines
            .into_iter()
            .map(|l| UsageLineView::of(l, with_account))
            .collect(),
        totals: totals.into_iter().map(TotalView::from).collect(),
    })
    .into_response())
}

/// Streams the CSV: a task reads the lines and hands the connection chunks of about
/// [`CSV_CHUNK`] through a queue of a few chunks, so memory stays the same whatever the number
/// of lines (a slow client slows the reading, it does not fill memory).
pub(crate) fn csv_answer(
    db: Db,
    account_id: Option<String>,
    month: Month,
    with_account: bool,
) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        let mut lines = UsageLines::new(&db, account_id, month);
        let mut header = vec![
            "phoneNumber",
            "numberRequestId",
            "countryCode",
            "phoneNumberType",
            "validFrom",
            "validTo",
            "currency",
            "setupCharge",
            "monthlyCharge",
        ];
        if with_account {
            header.insert(0, "accountId");
        }
        let new_writer = || {
            csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::with_capacity(CSV_CHUNK + 1024))
        };
        let mut w = new_writer();
        let mut result = w.write_record(&header);
        loop {
            let line = match lines.next().await {
                None => break,
                Some(Ok(l)) => l,
                Some(Err(e)) => {
                    tracing::error!(error = %e, "usage export failed");
                    let _ = tx
                        .send(Err(std::io::Error::other("usage export failed")))
                        .await;
                    return;
                }
            };
            let from = format_ms(line.valid_from_ms);
            let to = line.valid_to_ms.map(format_ms).unwrap_or_default();
            let (currency, setup, monthly) = match line.charge {
                Some(c) => (
                    c.currency.to_string(),
                    c.setup.to_string(),
                    c.monthly.to_string(),
                ),
                None => Default::default(),
            };
            let mut record: Vec<&str> = Vec::with_capacity(10);
            if with_account {
                record.push(&line.account_id);
            }
            record.extend([
                line.phone_number.as_str(),
                &line.number_request_id,
                &line.country_code,
                &line.phone_number_type,
                &from,
                &to,
                &currency,
                &setup,
                &monthly,
            ]);
            result = result.and_then(|_| w.write_record(&record));
            if w.get_ref().len() >= CSV_CHUNK {
                let full = std::mem::replace(&mut w, new_writer());
                match full.into_inner() {
                    Ok(buf) => {
                        if tx.send(Ok(Bytes::from(buf))).await.is_err() {
                            return; // the client went away
                        }
                    }
                    Err(e) => result = Err(e.into_error().into()),
                }
            }
            if let Err(e) = &result {
                tracing::error!(error = %e, "usage export failed");
                let _ = tx
                    .send(Err(std::io::Error::other("usage export failed")))
                    .await;
                return;
            }
        }
        match w.into_inner() {
            Ok(buf) if !buf.is_empty() => {
                let _ = tx.send(Ok(Bytes::from(buf))).await;
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e.error(), "usage export failed"),
        }
    });
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let mut res = Body::from_stream(body).into_response();
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"usage-{month}.csv\"")) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    res
}

/// What the account's numbers cost in a month.
#[utoipa::path(get, path = "/voice/phonenumberrequestapi/v1/{accountGuid}/usage", tag = "Catalog",
    params(("accountGuid" = uuid::Uuid, Path, description = "The account the API key belongs to"), rules::params::Month),
    responses((status = 200, description = "Usage as JSON, or CSV (Accept: text/csv; lines only, streamed)", content((Usage = "application/json"), (String = "text/csv"))),
        (status = 400, description = "VALIDATION_FAILED", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("productToken" = [])))]
async fn customer_usage(
    State(state): State<AppState>,
    customer: Customer,
    headers: HeaderMap,
    q: QueryParams,
) -> ApiResult<Response> {
    let month = q.read(month_of)?;
    answer(&state, &headers, Some(customer.account_id), month, false).await
}

/// Usage of every account, or of one; lines carry accountId.
#[utoipa::path(get, path = "/admin/v1/usage", tag = "Operator",
    params(rules::params::Month,
        rules::params::AccountFilter),
    responses((status = 200, description = "Usage as JSON, or CSV (Accept: text/csv; accountId first, lines only, streamed)", content((Usage = "application/json"), (String = "text/csv"))),
        (status = 400, description = "VALIDATION_FAILED", body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("adminToken" = [])))]
async fn operator_usage(
    State(state): State<AppState>,
    _: Operator,
    headers: HeaderMap,
    q: QueryParams,
) -> ApiResult<Response> {
    let (month, account) =
        q.read(|q, errors| (month_of(q, errors), q.uuid("accountId", errors)))?;
    answer(&state, &headers, account, month, true).await
}
