//! The page behind the link of an e-mail confirmation message, `/confirm-email/{token}`.
//!
//! `GET` only shows the address and one button; the button's `POST` confirms. Mail scanners and
//! link previews open links with `GET`, so opening the link confirms nothing. No session is
//! needed: the token in the path is the secret (only its hash is stored).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};

use super::headed_page;
use crate::AppState;
use crate::domain::now_ms;
use crate::store::emails::{self, TokenState};

pub fn router() -> Router<AppState> {
    Router::new().route("/confirm-email/{token}", get(show).post(confirm))
}

async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let token = emails::token_state(&state.db, &token, now_ms()).await;
    answer(token, "Confirm your e-mail address", |address| {
        html! {
            p { "Confirm that " strong #address { (address) } " may receive the status messages of number requests sent by numberdesk." }
            // No action: the form posts to this same address, also behind a proxy.
            form method="post" #confirm {
                button.primary type="submit" { "Confirm " (address) }
            }
            p.muted { "If you did not expect this, close this page: without confirmation the address receives nothing else." }
        }
    })
}

async fn confirm(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let token = emails::confirm(&state.db, &token, now_ms()).await;
    answer(token, "E-mail address confirmed", |address| {
        html! {
            p #confirmed { strong { (address) } " is confirmed. It now receives the status messages of number requests for every company profile of the account that lists it." }
        }
    })
}

/// The page of a token lookup: `title` over `valid`'s content for a usable link, else what is
/// wrong with the link.
fn answer(
    token: Result<TokenState, crate::store::StoreError>,
    title: &str,
    valid: impl FnOnce(&str) -> Markup,
) -> Response {
    match token {
        Ok(TokenState::Valid { address }) => headed_page(StatusCode::OK, title, valid(&address)),
        Ok(other) => not_usable(other),
        Err(e) => unavailable(e),
    }
}

/// The page of a link that cannot confirm: used, expired or unknown.
fn not_usable(state: TokenState) -> Response {
    match state {
        TokenState::Used { address } => message_page(
            StatusCode::GONE,
            "This link was used already",
            &format!(
                "{address} was confirmed with it; there is nothing more to do. A confirmation link works once."
            ),
        ),
        TokenState::Expired { address } => message_page(
            StatusCode::GONE,
            "This link has expired",
            &format!(
                "Confirmation links work for 7 days. {address} is not confirmed: ask whoever added it to a company profile to have a new confirmation message sent."
            ),
        ),
        TokenState::Unknown | TokenState::Valid { .. } => message_page(
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "No confirmation belongs to this link. Check that the whole link from the message was opened, or ask for a new message.",
        ),
    }
}

fn unavailable(e: crate::store::StoreError) -> Response {
    e.log();
    message_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Please try again",
        "The service cannot answer right now. Open the link again in a moment.",
    )
}

/// A page that says what happened (no link to the console: the reader may have no account).
fn message_page(status: StatusCode, title: &str, text: &str) -> Response {
    headed_page(status, title, html! { p #message { (text) } })
}
