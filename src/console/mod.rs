//! The web console at `/console/`: server-rendered pages for customers and the operator.
//!
//! Pages call the same service and store functions as the JSON API handlers (never the API over
//! HTTP). Sessions live in the database ([`crate::store::sessions`]); every changing form carries
//! the session's CSRF token; every answer carries the security headers of [`security_headers`].
//! Markup comes from `maud` (compile-time templates, escaped by default); the stylesheet and the
//! small script are embedded in the binary.

// Page handlers answer `Result<Response, Response>`: the error side is a finished page (a
// redirect, a 403, the error page), the axum idiom, so its size does not matter here.
#![allow(clippy::result_large_err)]

mod apilog;
mod auth;
mod billing;
mod confirm;
mod customer;
mod operator;
mod profiles;
mod rules;
pub mod views;

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, REFERRER_POLICY, SET_COOKIE,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};

use crate::AppState;
use crate::domain::parse_uuid;
use crate::store::sessions::{self, Lookup, Session, SessionKind};
use views::Flash;

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "numberdesk_session";

/// The content security policy of every console answer: our own script and style only, no
/// inline script, no framing, forms post only to us.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

/// The console's routes, mounted by [`crate::api::router`].
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(|| async { redirect("/console/") }))
        .route("/console/", get(auth::home))
        .route(
            "/console/sign-in",
            get(auth::sign_in_page).post(auth::sign_in),
        )
        .route("/console/sign-out", axum::routing::post(auth::sign_out))
        .route("/console/assets/console.css", get(css))
        .route("/console/assets/console.js", get(js))
        .merge(customer::router())
        .merge(operator::router())
        .merge(rules::router())
        .merge(apilog::router())
        .merge(confirm::router())
        .merge(billing::router())
        .route("/console/{*rest}", get(not_found))
        .layer(middleware::from_fn(security_headers))
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        body,
    )
        .into_response()
}

async fn not_found() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no console page at this address.",
    )
}

/// Adds the security headers to every console answer (pages, redirects, assets, errors).
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(CACHE_CONTROL) {
        // Pages show account data: never kept by shared caches or the back button's disk cache.
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// A `303 See Other` to a console path.
pub fn redirect(to: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(LOCATION, v);
    }
    res
}

/// An HTML answer with a status.
pub fn html_page(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        markup.into_string(),
    )
        .into_response()
}

/// A page without a session: `title` as its heading over `content`.
pub fn headed_page(status: StatusCode, title: &str, content: Markup) -> Response {
    html_page(
        status,
        views::bare(
            title,
            html! {
                h1 { (title) }
                (content)
            },
        ),
    )
}

/// A plain error page (no session needed).
pub fn error_page(status: StatusCode, title: &str, text: &str) -> Response {
    headed_page(
        status,
        title,
        html! {
            p { (text) }
            p { a href="/console/" { "Back to the console" } }
        },
    )
}

/// Who is signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    Customer { account_id: String, key_id: String },
    Operator,
}

/// A request's live console session. Without one, a page answers a redirect to the sign-in
/// page (saying why when the session just ended).
#[derive(Debug, Clone)]
pub struct Console {
    pub session: Session,
    pub who: Who,
}

fn cookie_token(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE_NAME)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(token) = cookie_token(parts) else {
            return Err(redirect("/console/sign-in"));
        };
        let idle_ms = state.config.session_idle_secs as i64 * 1000;
        let session = match sessions::get(&state.db, &token, idle_ms).await {
            Ok(Ok(s)) => s,
            Ok(Err(Lookup::Expired)) => return Err(redirect("/console/sign-in?ended=idle")),
            Ok(Err(Lookup::KeyRevoked)) => {
                return Err(redirect("/console/sign-in?ended=revoked"));
            }
            Ok(Err(Lookup::Unknown)) => return Err(redirect("/console/sign-in")),
            Err(e) => return Err(internal(e)),
        };
        // Marking every page view would be a write per click; a tenth of the idle time (at
        // most a minute) is exact enough for the timeout.
        let slack = (idle_ms / 10).min(60_000);
        if crate::domain::now_ms() - session.last_seen_ms > slack
            && let Err(e) = sessions::touch(&state.db, &session.id).await
        {
            return Err(internal(e));
        }
        let who = match &session.kind {
            SessionKind::Customer { account_id, key_id } => Who::Customer {
                account_id: account_id.clone(),
                key_id: key_id.clone(),
            },
            SessionKind::Operator => Who::Operator,
        };
        Ok(Console { session, who })
    }
}

impl Console {
    /// The one-time message of the previous action, cleared as it is shown.
    pub async fn take_flash(&self, state: &AppState) -> Option<Flash> {
        let f = self.session.flash.as_deref().map(Flash::decode)?;
        if let Err(e) = sessions::set_flash(&state.db, &self.session.id, None).await {
            tracing::warn!(error = %e, "clearing a console message failed");
        }
        Some(f)
    }

    /// Leaves a message for the next page and redirects there.
    pub async fn done(&self, state: &AppState, flash: Flash, to: &str) -> Response {
        match sessions::set_flash(&state.db, &self.session.id, Some(&flash.encode())).await {
            Ok(()) => redirect(to),
            Err(e) => internal(e),
        }
    }

    /// The account of a customer session.
    pub fn account_id(&self) -> Option<&str> {
        match &self.who {
            Who::Customer { account_id, .. } => Some(account_id),
            Who::Operator => None,
        }
    }

    /// The frame of a page of this session.
    pub fn frame<'a>(
        &'a self,
        title: &'a str,
        nav: views::Nav,
        flash: Option<Flash>,
    ) -> views::Frame<'a> {
        views::Frame {
            title,
            nav,
            who: &self.who,
            csrf: &self.session.csrf_token,
            flash,
        }
    }

    /// A full page of this session with status 200, showing a pending message if any.
    pub async fn render(
        &self,
        state: &AppState,
        title: &str,
        nav: views::Nav,
        content: Markup,
    ) -> Response {
        let flash = self.take_flash(state).await;
        html_page(
            StatusCode::OK,
            views::page(self.frame(title, nav, flash), content),
        )
    }

    /// Checks the CSRF token of a changing form: 403 and nothing done without the right one.
    pub fn check_csrf(&self, form: &FormData) -> Result<(), Response> {
        use subtle::ConstantTimeEq;
        let given = form.get("csrf").unwrap_or("");
        if bool::from(given.as_bytes().ct_eq(self.session.csrf_token.as_bytes())) {
            Ok(())
        } else {
            Err(forbidden_csrf())
        }
    }
}

/// The answer to a changing request without a valid CSRF token.
pub fn forbidden_csrf() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "Form expired",
        "This form was not sent from a current console page, so nothing was changed. Go back, reload the page and try again.",
    )
}

/// A customer's session; an operator session gets a 403 page.
pub struct CustomerConsole {
    pub console: Console,
    pub account_id: String,
}

/// The operator's session; a customer session gets a 403 page.
pub struct OperatorConsole(pub Console);

/// A session of one role: the check of what was signed in, and the session underneath.
pub trait Role: Sized {
    /// The session when it is of this role, else the 403 page.
    fn of(console: Console) -> Result<Self, Response>;
    /// The session, for the CSRF check of its forms.
    fn console(&self) -> &Console;
}

impl Role for CustomerConsole {
    fn of(console: Console) -> Result<Self, Response> {
        match console.account_id().map(str::to_string) {
            Some(account_id) => Ok(CustomerConsole {
                console,
                account_id,
            }),
            None => Err(error_page(
                StatusCode::FORBIDDEN,
                "Customer page",
                "This page belongs to a customer account; you are signed in as the operator.",
            )),
        }
    }

    fn console(&self) -> &Console {
        &self.console
    }
}

impl Role for OperatorConsole {
    fn of(console: Console) -> Result<Self, Response> {
        match console.who {
            Who::Operator => Ok(OperatorConsole(console)),
            Who::Customer { .. } => Err(error_page(
                StatusCode::FORBIDDEN,
                "Operator page",
                "This page belongs to the operator; you are signed in as a customer.",
            )),
        }
    }

    fn console(&self) -> &Console {
        &self.0
    }
}

/// The two role extractors, both [`Role::of`] over the session.
macro_rules! role_extractor {
    ($($role:ty),*) => {$(
        impl FromRequestParts<AppState> for $role {
            type Rejection = Response;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, Self::Rejection> {
                <$role>::of(Console::from_request_parts(parts, state).await?)
            }
        }
    )*};
}
role_extractor!(CustomerConsole, OperatorConsole);

/// A changing form sent by a session of role `R`: the session, and the form once its CSRF token
/// matched (403 and nothing done otherwise). The session is checked before the body is read.
pub struct Posted<R>(pub R, pub FormData);

impl<R: Role + Send> FromRequest<AppState> for Posted<R> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let role = R::of(Console::from_request_parts(&mut parts, state).await?)?;
        let data = FormData::from_request(Request::from_parts(parts, body), state).await?;
        role.console().check_csrf(&data)?;
        Ok(Posted(role, data))
    }
}

/// A URL-encoded form body (the last of a repeated name wins; [`FormData::all`] keeps every
/// value). Never rejects: a missing field is simply absent.
#[derive(Debug, Default)]
pub struct FormData {
    pub pairs: Vec<(String, String)>,
}

impl FormData {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A value with surrounding blanks removed; an empty one is absent.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    /// Every value of a repeated name (checkboxes).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn parse(bytes: &[u8]) -> FormData {
        FormData {
            pairs: url::form_urlencoded::parse(bytes).into_owned().collect(),
        }
    }

    pub fn as_map(&self) -> HashMap<String, String> {
        self.pairs.iter().cloned().collect()
    }
}

impl FromRequest<AppState> for FormData {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|_| {
            error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Form too large",
                "The form was larger than the console accepts; nothing was changed.",
            )
        })?;
        Ok(FormData::parse(&bytes))
    }
}

/// The client address of a request (for the sign-in throttle), when the server recorded it.
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(a)| a.ip()),
        ))
    }
}

/// Logs an internal failure and shows a page without details.
pub fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "console page failed");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The page could not be shown because of a problem on our side. Try again in a moment.",
    )
}

/// An error of a service call as the console shows it: the API's message, and its field errors.
pub fn api_error_page(console: &Console, title: &str, e: &crate::api::error::ApiError) -> Response {
    if e.status.is_server_error() {
        return internal(&e.body.message);
    }
    let content = html! {
        div.flash.flash-error role="alert" {
            (e.body.message)
            @for fe in &e.body.errors { br; strong { (fe.field) } ": " (fe.message) }
        }
        p { "Use your browser's Back button to correct the form, or go to the " a href="/console/" { "console home" } "." }
    };
    html_page(
        e.status,
        views::page(console.frame(title, views::Nav::None, None), content),
    )
}

/// Set-Cookie value for a new session token.
pub fn session_cookie(state: &AppState, token: &str) -> HeaderValue {
    let secure = state
        .config
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    let v = format!(
        "{COOKIE_NAME}={token}; Path=/console; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Set-Cookie value that removes the session cookie.
pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static(
        "numberdesk_session=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0",
    )
}

/// Attaches a Set-Cookie to an answer.
pub fn with_cookie(mut res: Response, cookie: HeaderValue) -> Response {
    res.headers_mut().append(SET_COOKIE, cookie);
    res
}

/// The 404 page of an unknown id or address.
pub fn not_found_page() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is nothing here: the address is wrong, or the item belongs to another account.",
    )
}

/// The id of a page's path as a UUID; anything else is the not-found page.
pub fn page_id(id: &str) -> Result<String, Response> {
    parse_uuid(id).ok_or_else(not_found_page)
}

/// Turns a failure of a store call into the internal-error page.
pub trait OrInternal<T> {
    fn or_500(self) -> Result<T, Response>;
}

impl<T, E: std::fmt::Display> OrInternal<T> for Result<T, E> {
    fn or_500(self) -> Result<T, Response> {
        self.map_err(internal)
    }
}
