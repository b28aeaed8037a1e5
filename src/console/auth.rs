//! Sign-in (customer: account id + API key; operator: admin token) and sign-out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::{
    Console, FormData, Who, clear_cookie, html_page, internal, redirect, session_cookie, views,
    with_cookie,
};
use crate::AppState;
use crate::api::extract::QueryParams;
use crate::domain::parse_uuid;
use crate::store::sessions::{self, SessionKind};

/// `/console/`: the home page of whoever is signed in, else the sign-in page.
pub async fn home(console: Result<Console, Response>) -> Response {
    match console.map(|c| c.who) {
        Ok(Who::Customer { .. }) => redirect("/console/overview"),
        Ok(Who::Operator) => redirect("/console/review"),
        Err(_) => redirect("/console/sign-in"),
    }
}

pub async fn sign_in_page(State(state): State<AppState>, q: QueryParams) -> Response {
    let note = match q.get("ended") {
        Some("idle") => Some("Your session ended after a time without use. Please sign in again."),
        Some("revoked") => {
            Some("Your session ended because the API key it was opened with was revoked.")
        }
        Some("out") => Some("You are signed out."),
        _ => None,
    };
    html_page(StatusCode::OK, form(&state, note, None, None, ""))
}

/// The sign-in page; `error` is shown above the form it belongs to.
fn form(
    state: &AppState,
    note: Option<&str>,
    customer_error: Option<&str>,
    operator_error: Option<&str>,
    account: &str,
) -> Markup {
    views::bare(
        "Sign in",
        html! {
            h1 { "Sign in to the console" }
            @if let Some(n) = note { div.flash.flash-warn role="status" { (n) } }
            div.signin {
                (card("customer", "Customer", "Your account id and one of its API keys (the X-CM-PRODUCTTOKEN value).", customer_error, html! {
                    (views::field("Account id", "account", None, html! {
                        input #account name="account" type="text" required autocomplete="username"
                            value=(account);
                    }))
                    (views::field("API key", "key", None, html! {
                        input #key name="key" type="password" required autocomplete="current-password";
                    }))
                    button.primary type="submit" #customer-sign-in { "Sign in" }
                }))
                @if state.config.admin_token.is_some() {
                    (card("operator", "Operator", "The operator token of this installation.", operator_error, html! {
                        (views::field("Operator token", "token", None, html! {
                            input #token name="token" type="password" required autocomplete="current-password";
                        }))
                        button.primary type="submit" #operator-sign-in { "Sign in as operator" }
                    }))
                }
            }
        },
    )
}

/// One sign-in form (`kind` customer or operator) in its card, with its error if the last try
/// failed.
fn card(kind: &str, heading: &str, hint: &str, error: Option<&str>, fields: Markup) -> Markup {
    html! {
        section.card {
            h2 { (heading) }
            p.muted { (hint) }
            @if let Some(e) = error { div.flash.flash-error role="alert" { (e) } }
            form method="post" action="/console/sign-in" {
                input type="hidden" name="kind" value=(kind);
                (fields)
            }
        }
    }
}

/// The sign-in throttle per client address: the operator API's failed-authentication throttle
/// ([`crate::throttle`]), so failed sign-ins and failed operator tokens count together. Before
/// the credentials are checked (`failed` false) it answers 429 with `Retry-After` to an address
/// over the limit, correct credentials included; after a failure (`failed` true) it counts it.
fn throttled(state: &AppState, addr: Option<std::net::IpAddr>, failed: bool) -> Option<Response> {
    let addr = addr?;
    if failed {
        state.auth_throttle.failed(addr);
        return None;
    }
    let wait = state.auth_throttle.check(addr).err()?.retry_after_secs;
    let msg = format!(
        "Too many failed sign-ins from this address (RATE_LIMITED). Try again in {wait} seconds."
    );
    let mut res = html_page(
        StatusCode::TOO_MANY_REQUESTS,
        form(state, Some(&msg), None, None, ""),
    );
    res.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(wait),
    );
    Some(res)
}

pub async fn sign_in(
    State(state): State<AppState>,
    super::ClientAddr(addr): super::ClientAddr,
    form_data: FormData,
) -> Response {
    if let Some(res) = throttled(&state, addr, false) {
        return res;
    }
    let idle_ms = state.config.session_idle_secs as i64 * 1000;
    if let Err(e) = sessions::delete_idle(&state.db, idle_ms).await {
        tracing::warn!(error = %e, "deleting idle console sessions failed");
    }
    let kind = match form_data.get("kind") {
        Some("operator") => {
            let given = form_data.get("token").unwrap_or("").trim();
            match state.config.admin_token.as_deref() {
                Some(t) if !given.is_empty() && crate::api::extract::secret_matches(given, t) => {
                    Some(SessionKind::Operator)
                }
                _ => None,
            }
        }
        _ => {
            let account = form_data.get("account").and_then(parse_uuid);
            let key = form_data.get("key").unwrap_or("").trim();
            match account {
                Some(account_id) if !key.is_empty() => {
                    match sessions::key_of_account(&state.db, &account_id, key).await {
                        Ok(Some(key_id)) => Some(SessionKind::Customer { account_id, key_id }),
                        Ok(None) => None,
                        Err(e) => return internal(e),
                    }
                }
                _ => None,
            }
        }
    };
    let Some(kind) = kind else {
        if let Some(res) = throttled(&state, addr, true) {
            return res;
        }
        let operator = form_data.get("kind") == Some("operator");
        let msg = if operator {
            "That operator token is not right."
        } else {
            "That account id and API key do not match a live key of the account."
        };
        let account = form_data.get("account").unwrap_or("");
        let (c, o) = if operator {
            (None, Some(msg))
        } else {
            (Some(msg), None)
        };
        return html_page(StatusCode::UNAUTHORIZED, form(&state, None, c, o, account));
    };
    let home = match kind {
        SessionKind::Operator => "/console/review",
        SessionKind::Customer { .. } => "/console/overview",
    };
    match sessions::create(&state.db, kind).await {
        Ok((token, _)) => with_cookie(redirect(home), session_cookie(&state, &token)),
        Err(e) => internal(e),
    }
}

pub async fn sign_out(
    State(state): State<AppState>,
    console: Console,
    form_data: FormData,
) -> Response {
    if let Err(res) = console.check_csrf(&form_data) {
        return res;
    }
    if let Err(e) = sessions::delete(&state.db, &console.session.id).await {
        return internal(e);
    }
    with_cookie(redirect("/console/sign-in?ended=out"), clear_cookie())
}
