//! Operator pages: review, stock, accounts, deliveries.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::customer::{PER_PAGE, page_of, request_table_operator};
use super::views::{self, Flash, Nav, csrf, status, time, time_ms};
use super::{FormData, OperatorConsole, OrInternal, Posted, html_page};
use crate::AppState;
use crate::api::error::ApiError;
use crate::api::extract::QueryParams;
use crate::domain::{DeliveryState, FieldError, RequestStatus, now_ms, parse_uuid};
use crate::model::ImportResult;
use crate::profiles::{Decision, ProfileError};
use crate::store::{accounts, deliveries, inventory, profiles, requests, sessions};
use crate::{orders, stock};

/// Longest form field of the stock upload other than the file (the CSRF token is far shorter).
const FORM_FIELD_LIMIT: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/review", get(review_page))
        .route(
            "/console/review/profiles/{id}/{action}",
            post(review_profile),
        )
        .route(
            "/console/review/requests/{id}/{action}",
            post(review_request),
        )
        .route("/console/stock", get(stock_page))
        .route(
            "/console/stock/import",
            post(import).layer(DefaultBodyLimit::max(crate::api::admin::IMPORT_BODY_LIMIT)),
        )
        .route("/console/accounts", get(accounts_page).post(create_account))
        .route("/console/accounts/{id}", get(account_page))
        .route("/console/accounts/{id}/keys", post(add_key))
        .route("/console/accounts/{id}/keys/{key}/revoke", post(revoke_key))
        .route("/console/accounts/{id}/rotate-secret", post(rotate_secret))
        .route("/console/deliveries", get(deliveries_page))
        .route("/console/deliveries/{id}/redeliver", post(redeliver))
}

// ---------------------------------------------------------------- review

async fn review_page(
    State(state): State<AppState>,
    OperatorConsole(c): OperatorConsole,
    q: QueryParams,
) -> Result<Response, Response> {
    let page = page_of(&q);
    let (pending_profiles, profiles_total) = profiles::pending_review(&state.db, 0, PER_PAGE)
        .await
        .or_500()?;
    let f = requests::ListFilter {
        status: Some(RequestStatus::Pending),
        ..Default::default()
    };
    let (pending, total) =
        requests::list_without_numbers(&state.db, &f, (page - 1) * PER_PAGE, PER_PAGE)
            .await
            .or_500()?;
    let token = &c.session.csrf_token;
    let content = html! {
        section.card {
            h2 { "Company profiles waiting for approval " span.count { (profiles_total) } }
            @if pending_profiles.is_empty() { (views::empty("No profile waits for review.")) }
            @for p in &pending_profiles {
                article.review data-profile=(p.id) {
                    div.card-head {
                        h3 { (p.data.name) }
                        (status(p.status.as_str()))
                    }
                    dl.facts {
                        dt { "Company" } dd { (p.data.company_name) " · " (p.data.business_register_number) }
                        dt { "Representative" } dd { (p.data.representative_first_name) " " (p.data.representative_last_name) @if let Some(ph) = &p.data.representative_phone_number { " · " (ph) } }
                        dt { "Address" } dd { (p.data.street) " " (p.data.house_number) ", " (p.data.postal_code) " " (p.data.city) @if let Some(r) = &p.data.region { ", " (r) } ", " (p.data.country_code) }
                        dt { "Numbers" } dd { (p.data.number_country_code) " · " (views::types(&p.data.phone_number_types)) }
                        dt { "E-mail" } dd { (p.data.email_addresses.join(", ")) }
                        dt { "Account" } dd.mono { (p.account_id) }
                        dt { "Last change" } dd { (time(&p.updated_on)) @if let Some(r) = &p.status_reason { " · " (r) } }
                    }
                    div.review-actions {
                        form method="post" action={ "/console/review/profiles/" (p.id) "/approve" } {
                            (csrf(token))
                            input type="hidden" name="version" value=(p.version);
                            input type="text" name="reason" placeholder="Reason (optional)" maxlength="1000" aria-label="Approval reason";
                            button.primary type="submit" { "Approve" }
                        }
                        form method="post" action={ "/console/review/profiles/" (p.id) "/reject" } {
                            (csrf(token))
                            input type="hidden" name="version" value=(p.version);
                            input type="text" name="reason" placeholder="Reason (required)" maxlength="1000" required aria-label="Rejection reason";
                            button.danger type="submit" { "Reject" }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Pending number requests " span.count { (total) } }
            @if pending.is_empty() { (views::empty("No request waits.")) }
            @else {
                (request_table_operator(&pending, token))
                (views::pager("/console/review", page, PER_PAGE, total))
            }
        }
    };
    Ok(c.render(&state, "Review", Nav::Review, content).await)
}

async fn review_profile(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    Posted(OperatorConsole(c), data): Posted<OperatorConsole>,
) -> Result<Response, Response> {
    let id = super::page_id(&id)?;
    let decision = match action.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        _ => return Err(super::not_found_page()),
    };
    let reason = match data.text("reason") {
        Some(r) if r.chars().count() > 1000 => {
            Err(FieldError::new("reason", "must be at most 1000 characters"))
        }
        other => Ok(other),
    };
    // The page approves what it showed: the version it carried is the `If-Match` of the API.
    // A form without one names no version at all, which nothing matches.
    let shown = data
        .get("version")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(-1);
    let name = match profiles::get(&state.db, None, &id).await.or_500()? {
        Some(p) => p.data.name,
        None => return Err(super::not_found_page()),
    };
    let flash = match crate::profiles::review(&state, &id, Some(shown), decision, reason).await {
        Ok(p) => Flash::ok(format!(
            "Profile \"{}\" is now {}.",
            p.data.name,
            views::status_label(p.status.as_str())
        )),
        Err(ProfileError::VersionMismatch { .. }) => Flash::error(format!(
            "The profile \"{name}\" changed since this page was loaded (412 PRECONDITION_FAILED), so nothing was decided. Check the data shown below and decide again."
        )),
        Err(ProfileError::NotFound) => return Err(super::not_found_page()),
        Err(e) => service_flash(ApiError::from(e))?,
    };
    Ok(c.done(&state, flash, "/console/review").await)
}

async fn review_request(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    Posted(OperatorConsole(c), data): Posted<OperatorConsole>,
) -> Result<Response, Response> {
    let id = super::page_id(&id)?;
    let reason = data.text("reason");
    if reason.as_ref().is_some_and(|r| r.chars().count() > 1000) {
        return Ok(c
            .done(
                &state,
                Flash::error("The reason must be at most 1000 characters."),
                "/console/review",
            )
            .await);
    }
    let result = match action.as_str() {
        "accept" => orders::accept(&state, &id, reason)
            .await
            .map_err(ApiError::from),
        "reject" => match reason {
            Some(r) => orders::reject(&state, &id, &r)
                .await
                .map_err(ApiError::from),
            None => {
                return Ok(c
                    .done(
                        &state,
                        Flash::error("A rejection needs a reason."),
                        "/console/review",
                    )
                    .await);
            }
        },
        _ => return Err(super::not_found_page()),
    };
    let flash = match result {
        Ok(r) => Flash::ok(format!(
            "Request {} is now {}: {}.",
            r.id, r.status, r.reason
        )),
        Err(e) => service_flash(e)?,
    };
    Ok(c.done(&state, flash, "/console/review").await)
}

/// A service error as a message on the next page; an internal one as the error page.
fn service_flash(e: ApiError) -> Result<Flash, Response> {
    if e.status.is_server_error() {
        return Err(super::internal(&e.body.message));
    }
    Ok(Flash::error(e.body.message))
}

// ---------------------------------------------------------------- stock

async fn stock_content(
    state: &AppState,
    token: &str,
    answer: Option<Markup>,
) -> Result<Markup, Response> {
    let summary = inventory::summary(&state.db).await.or_500()?;
    Ok(html! {
        @if let Some(a) = answer { (a) }
        section.card {
            h2 { "Import numbers" }
            p.muted {
                "A CSV file whose first row names the columns: " code { "phoneNumber" } " or "
                code { "start,count" } ", and " code { "countryCode,phoneNumberType,areaCode,city,region" } "."
            }
            form.import method="post" action="/console/stock/import" enctype="multipart/form-data" {
                (csrf(token))
                input #csv type="file" name="file" accept=".csv,text/csv" required aria-label="CSV file";
                button.primary type="submit" #import { "Import" }
            }
        }
        section.card {
            h2 { "Stock summary" }
            @if summary.is_empty() { (views::empty("No stock yet.")) }
            @else {
                div.table-wrap {
                    table #summary {
                        thead { tr { th { "Country" } th { "Type" } th { "Area code" } th { "City" } th { "Region" } th.num { "Available" } th.num { "Assigned" } th.num { "Aging" } th.num { "Total" } } }
                        tbody {
                            @for s in &summary {
                                tr {
                                    td { (s.country_code) } td { (s.phone_number_type) }
                                    td { (views::opt(s.area_code.as_deref())) } td { (views::opt(s.city.as_deref())) } td { (views::opt(s.region.as_deref())) }
                                    td.num.available { (s.available) } td.num { (s.assigned) } td.num { (s.aging) } td.num { (s.total) }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

async fn stock_page(
    State(state): State<AppState>,
    OperatorConsole(c): OperatorConsole,
) -> Result<Response, Response> {
    let content = stock_content(&state, &c.session.csrf_token, None).await?;
    Ok(c.render(&state, "Stock", Nav::Stock, content).await)
}

async fn import(
    State(state): State<AppState>,
    OperatorConsole(c): OperatorConsole,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, Response> {
    let Ok(mut multipart) = multipart else {
        return Err(super::forbidden_csrf());
    };
    let mut form = FormData::default();
    // The file goes to a temporary file as it arrives (an upload may be hundreds of megabytes);
    // the import then reads it from there as a stream.
    let mut file: Option<(tokio::fs::File, u64)> = None;
    let unreadable = || {
        super::error_page(
            StatusCode::BAD_REQUEST,
            "Upload failed",
            "The file could not be read; nothing was imported.",
        )
    };
    loop {
        match multipart.next_field().await {
            Ok(Some(mut field)) => {
                let name = field.name().unwrap_or("").to_string();
                if name == "file" {
                    let mut out = tokio::fs::File::from_std(tempfile::tempfile().or_500()?);
                    let mut size: u64 = 0;
                    loop {
                        match field.chunk().await {
                            Ok(Some(chunk)) => {
                                size += chunk.len() as u64;
                                out.write_all(&chunk).await.or_500()?;
                            }
                            Ok(None) => break,
                            Err(_) => return Err(unreadable()),
                        }
                    }
                    file = Some((out, size));
                } else {
                    let mut value = Vec::new();
                    loop {
                        match field.chunk().await {
                            Ok(Some(chunk)) if value.len() + chunk.len() <= FORM_FIELD_LIMIT => {
                                value.extend_from_slice(&chunk)
                            }
                            Ok(Some(_)) | Err(_) => return Err(unreadable()),
                            Ok(None) => break,
                        }
                    }
                    form.pairs
                        .push((name, String::from_utf8_lossy(&value).into_owned()));
                }
            }
            Ok(None) => break,
            Err(_) => {
                return Err(super::error_page(
                    StatusCode::BAD_REQUEST,
                    "Upload failed",
                    "The upload was cut off or too large; nothing was imported.",
                ));
            }
        }
    }
    // The token is checked before the file is looked at: without it nothing is imported.
    c.check_csrf(&form)?;
    let result = match file.filter(|(_, size)| *size > 0) {
        None => Err(ApiError::field("file", "choose a CSV file")),
        Some((mut f, _)) => {
            f.flush().await.or_500()?;
            f.seek(std::io::SeekFrom::Start(0)).await.or_500()?;
            let f = f.into_std().await;
            stock::import_from(&state, stock::Format::Csv, f)
                .await
                .map_err(ApiError::from)
        }
    };
    let (code, answer) = match result {
        Ok(ImportResult { added, duplicates }) => (
            StatusCode::OK,
            html! {
                div.flash.flash-ok role="status" #import-result {
                    "Imported: " strong { (added) } " added, " strong { (duplicates) } " duplicates (already known, left unchanged)."
                }
            },
        ),
        Err(e) if e.status.is_server_error() => return Err(super::internal(&e.body.message)),
        Err(e) => (
            e.status,
            html! {
                div.flash.flash-error role="alert" #import-result {
                    "Nothing was imported: " (e.body.message)
                    @if let Some(detail) = &e.body.message_detail { " " (detail) }
                    @if !e.body.errors.is_empty() {
                        ul { @for fe in e.body.errors.iter().take(20) { li { strong { (fe.field) } ": " (fe.message) } } }
                    }
                }
            },
        ),
    };
    let content = stock_content(&state, &c.session.csrf_token, Some(answer)).await?;
    Ok(html_page(
        code,
        views::page(c.frame("Stock", Nav::Stock, None), content),
    ))
}

// ---------------------------------------------------------------- accounts

async fn accounts_page(
    State(state): State<AppState>,
    OperatorConsole(c): OperatorConsole,
    q: QueryParams,
) -> Result<Response, Response> {
    let page = page_of(&q);
    let (list, total) = accounts::list_accounts(&state.db, (page - 1) * PER_PAGE, PER_PAGE)
        .await
        .or_500()?;
    let content = html! {
        section.card {
            h2 { "New account" }
            form.inline method="post" action="/console/accounts" {
                (csrf(&c.session.csrf_token))
                input #name type="text" name="name" required maxlength="100" placeholder="Account name" aria-label="Account name";
                button.primary type="submit" #create-account { "Create account" }
            }
        }
        section.card {
            h2 { "Accounts" }
            @if list.is_empty() { (views::empty("No accounts yet.")) }
            @else {
                div.table-wrap {
                    table #accounts {
                        thead { tr { th { "Name" } th { "Id" } th { "Created" } } }
                        tbody {
                            @for a in &list {
                                tr {
                                    td { a href={ "/console/accounts/" (a.id) } { (a.name) } }
                                    td.mono { (a.id) }
                                    td { (time(&a.created_on)) }
                                }
                            }
                        }
                    }
                }
                (views::pager("/console/accounts", page, PER_PAGE, total))
            }
        }
    };
    Ok(c.render(&state, "Accounts", Nav::Accounts, content).await)
}

/// A secret shown once, with a note saying so.
fn secret_box(title: &str, rows: &[(&str, &str)]) -> Markup {
    html! {
        section.card.secret #secret {
            h2 { (title) }
            p.note { "Copy these now: the key is shown only this once and cannot be read again." }
            dl.facts {
                @for (k, v) in rows { dt { (k) } dd.mono.select { (v) } }
            }
        }
    }
}

async fn create_account(
    State(state): State<AppState>,
    Posted(OperatorConsole(c), data): Posted<OperatorConsole>,
) -> Result<Response, Response> {
    let name = match crate::api::admin::account_name(data.get("name")) {
        Ok(n) => n,
        Err(e) => {
            let flash = service_flash(e)?;
            return Ok(c.done(&state, flash, "/console/accounts").await);
        }
    };
    let acc = accounts::create_account(&state.db, None, &name, None)
        .await
        .or_500()?;
    let content = html! {
        (secret_box("Account created", &[("Account", &acc.name), ("Account id", &acc.id), ("API key", &acc.api_key), ("API key id", &acc.api_key_id), ("Webhook secret", &acc.webhook_secret)]))
        p { a href={ "/console/accounts/" (acc.id) } { "Open the account" } " · " a href="/console/accounts" { "All accounts" } }
    };
    Ok(html_page(
        StatusCode::CREATED,
        views::page(
            c.frame(
                "New account",
                Nav::Accounts,
                Some(Flash::ok(format!("Account \"{}\" created.", acc.name))),
            ),
            content,
        ),
    ))
}

async fn account_content(
    state: &AppState,
    c: &super::Console,
    id: &str,
) -> Result<Markup, Response> {
    let Some(acc) = accounts::get_account(&state.db, id).await.or_500()? else {
        return Err(super::not_found_page());
    };
    let keys = sessions::account_keys(&state.db, &acc.id).await.or_500()?;
    let token = &c.session.csrf_token;
    Ok(html! {
        section.card {
            div.card-head {
                h2 { (acc.name) }
                span.mono { (acc.id) }
            }
            p.muted { "Created " (time(&acc.created_on)) }
        }
        section.card {
            div.card-head {
                h2 { "API keys" }
                form method="post" action={ "/console/accounts/" (acc.id) "/keys" } {
                    (csrf(token))
                    button.primary type="submit" #add-key { "Add a key" }
                }
            }
            div.table-wrap {
                table #keys {
                    thead { tr { th { "Key id" } th { "Created" } th { "State" } th {} } }
                    tbody {
                        @for k in &keys {
                            tr {
                                td.mono { (k.id) }
                                td { (time_ms(k.created_ms)) }
                                td { @if let Some(r) = k.revoked_ms { span.badge.badge-bad { "Revoked" } " " (time_ms(r)) } @else { span.badge.badge-ok { "Live" } } }
                                td.actions-cell {
                                    @if k.revoked_ms.is_none() {
                                        form method="post" action={ "/console/accounts/" (acc.id) "/keys/" (k.id) "/revoke" } {
                                            (csrf(token))
                                            button.small.danger type="submit" { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p.muted { "Revoking a key ends at once every API call and console session that uses it." }
        }
        section.card {
            div.card-head {
                h2 { "Webhook signing secret" }
                form method="post" action={ "/console/accounts/" (acc.id) "/rotate-secret" } {
                    (csrf(token))
                    button.secondary type="submit" #rotate { "Rotate the secret" }
                }
            }
            p.muted { "After a rotation the previous secret keeps signing alongside the new one for 24 hours." }
        }
    })
}

async fn account_page(
    State(state): State<AppState>,
    OperatorConsole(c): OperatorConsole,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    let id = super::page_id(&id)?;
    let content = account_content(&state, &c, &id).await?;
    Ok(c.render(&state, "Account", Nav::Accounts, content).await)
}

async fn add_key(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(OperatorConsole(c), _): Posted<OperatorConsole>,
) -> Result<Response, Response> {
    let id = super::page_id(&id)?;
    if accounts::get_account(&state.db, &id)
        .await
        .or_500()?
        .is_none()
    {
        return Err(super::not_found_page());
    }
    let key = accounts::add_api_key(&state.db, &id).await.or_500()?;
    let content = html! {
        (secret_box("New API key", &[("API key", &key.api_key), ("Key id", &key.id)]))
        (account_content(&state, &c, &id).await?)
    };
    Ok(html_page(
        StatusCode::CREATED,
        views::page(
            c.frame("Account", Nav::Accounts, Some(Flash::ok("API key added."))),
            content,
        ),
    ))
}

async fn revoke_key(
    State(state): State<AppState>,
    Path((id, key)): Path<(String, String)>,
    Posted(OperatorConsole(c), _): Posted<OperatorConsole>,
) -> Result<Response, Response> {
    let (Some(id), Some(key)) = (parse_uuid(&id), parse_uuid(&key)) else {
        return Err(super::not_found_page());
    };
    let to = format!("/console/accounts/{id}");
    let flash = if accounts::revoke_api_key(&state.db, &id, &key)
        .await
        .or_500()?
    {
        state.caches.api_keys.clear();
        Flash::ok(format!(
            "Key {key} is revoked; its API calls and console sessions end now."
        ))
    } else {
        Flash::error("That key is unknown or already revoked.")
    };
    Ok(c.done(&state, flash, &to).await)
}

async fn rotate_secret(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(OperatorConsole(c), _): Posted<OperatorConsole>,
) -> Result<Response, Response> {
    let id = super::page_id(&id)?;
    if accounts::get_account(&state.db, &id)
        .await
        .or_500()?
        .is_none()
    {
        return Err(super::not_found_page());
    }
    let (secret, until) = accounts::rotate_secret(&state.db, &id).await.or_500()?;
    let until = views::human_time(&crate::domain::format_ms(until));
    let content = html! {
        (secret_box("New webhook secret", &[("Webhook secret", &secret), ("Previous secret signs until", &until)]))
        (account_content(&state, &c, &id).await?)
    };
    Ok(html_page(
        StatusCode::OK,
        views::page(
            c.frame(
                "Account",
                Nav::Accounts,
                Some(Flash::ok("Webhook secret rotated.")),
            ),
            content,
        ),
    ))
}

// ---------------------------------------------------------------- deliveries

async fn deliveries_page(
    State(state): State<AppState>,
    OperatorConsole(c): OperatorConsole,
    q: QueryParams,
) -> Result<Response, Response> {
    let page = page_of(&q);
    let filter = match q.get("state") {
        Some("all") => None,
        Some(s) => Some(DeliveryState::parse(s).unwrap_or(DeliveryState::Failed)),
        None => Some(DeliveryState::Failed),
    };
    let (list, total) = deliveries::list(&state.db, filter, (page - 1) * PER_PAGE, PER_PAGE)
        .await
        .or_500()?;
    // The operator sees callback targets without the credentials a URL may carry.
    let list: Vec<_> = list
        .into_iter()
        .map(crate::notify::redacted_for_operator)
        .collect();
    let shown = filter.map_or("all", DeliveryState::as_str);
    let content = html! {
        form.filters method="get" action="/console/deliveries" {
            label for="state" { "State" }
            select #state name="state" data-autosubmit {
                @for s in ["failed", "pending", "delivered", "all"] {
                    option value=(s) selected[s == shown] { (s) }
                }
            }
            button.secondary type="submit" { "Filter" }
        }
        section.card {
            @if list.is_empty() { (views::empty(&format!("No {shown} deliveries."))) }
            @else {
                div.table-wrap {
                    table #deliveries {
                        thead { tr { th { "State" } th { "Channel" } th { "Target" } th.num { "Attempts" } th { "Last attempt" } th { "Last error" } th {} } }
                        tbody {
                            @for d in &list {
                                tr {
                                    td { (status(d.state.as_str())) }
                                    td { (d.channel) }
                                    td.target { (d.target) }
                                    td.num { (d.attempts) }
                                    td { @if let Some(t) = &d.last_attempt_on { (time(t)) } @else { span.muted { "—" } } }
                                    td { (views::opt(d.last_error.as_deref())) }
                                    td.actions-cell {
                                        @if d.state != DeliveryState::Pending {
                                            form method="post" action={ "/console/deliveries/" (d.id) "/redeliver" } {
                                                (csrf(&c.session.csrf_token))
                                                button.small.secondary type="submit" { "Redeliver" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (views::pager(&format!("/console/deliveries?state={shown}"), page, PER_PAGE, total))
        }
    };
    Ok(c.render(&state, "Deliveries", Nav::Deliveries, content)
        .await)
}

async fn redeliver(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(OperatorConsole(c), _): Posted<OperatorConsole>,
) -> Result<Response, Response> {
    let id = super::page_id(&id)?;
    let flash = if deliveries::redeliver(&state.db, &id, now_ms())
        .await
        .or_500()?
    {
        state.outbox_wake.notify_waiters();
        Flash::ok("The delivery is queued again.")
    } else if deliveries::get(&state.db, &id).await.or_500()?.is_some() {
        Flash::error("The delivery is still pending.")
    } else {
        return Err(super::not_found_page());
    };
    Ok(c.done(&state, flash, "/console/deliveries").await)
}
