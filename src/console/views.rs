//! The page frame and small pieces every console page shares. Markup is `maud`: checked at
//! compile time, and every `(value)` it inserts is HTML-escaped.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::Who;

/// A page section in the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Order,
    Requests,
    Numbers,
    Profiles,
    Review,
    Stock,
    Accounts,
    Deliveries,
    Rules,
    ApiLog,
    Prices,
    Usage,
    None,
}

const CUSTOMER_NAV: &[(Nav, &str, &str)] = &[
    (Nav::Overview, "/console/overview", "Overview"),
    (Nav::Order, "/console/order", "Order numbers"),
    (Nav::Requests, "/console/requests", "Requests"),
    (Nav::Numbers, "/console/numbers", "Numbers"),
    (Nav::Profiles, "/console/profiles", "Company profiles"),
    (Nav::Usage, "/console/usage", "Usage"),
    (Nav::Prices, "/console/prices", "Prices"),
    (Nav::ApiLog, "/console/apilog", "API log"),
];

const OPERATOR_NAV: &[(Nav, &str, &str)] = &[
    (Nav::Review, "/console/review", "Review"),
    (Nav::Stock, "/console/stock", "Stock"),
    (Nav::Accounts, "/console/accounts", "Accounts"),
    (Nav::Prices, "/console/prices", "Prices"),
    (Nav::Rules, "/console/rules", "Order rules"),
    (Nav::Deliveries, "/console/deliveries", "Deliveries"),
    (Nav::Usage, "/console/usage", "Usage"),
    (Nav::ApiLog, "/console/apilog", "API log"),
];

/// A message shown once at the top of a page.
#[derive(Debug, Clone)]
pub struct Flash {
    /// `ok`, `warn` or `error`: the colour.
    pub kind: String,
    pub text: String,
}

impl Flash {
    pub fn ok(text: impl Into<String>) -> Flash {
        Flash {
            kind: "ok".into(),
            text: text.into(),
        }
    }
    pub fn error(text: impl Into<String>) -> Flash {
        Flash {
            kind: "error".into(),
            text: text.into(),
        }
    }
    /// The stored form `kind|text`.
    pub fn encode(&self) -> String {
        format!("{}|{}", self.kind, self.text)
    }
    pub fn decode(s: &str) -> Flash {
        match s.split_once('|') {
            Some((k, t)) if matches!(k, "ok" | "warn" | "error") => Flash {
                kind: k.into(),
                text: t.into(),
            },
            _ => Flash::ok(s),
        }
    }
}

/// Everything the frame needs besides the page's own content.
pub struct Frame<'a> {
    pub title: &'a str,
    pub nav: Nav,
    pub who: &'a Who,
    pub csrf: &'a str,
    pub flash: Option<Flash>,
}

/// The whole page: head, navigation, the flash message and the content.
pub fn page(f: Frame<'_>, content: Markup) -> Markup {
    let (links, whoami, full) = match f.who {
        Who::Customer { account_id, .. } => (
            CUSTOMER_NAV,
            format!("Account {}…", account_id.get(..8).unwrap_or(account_id)),
            format!("Account {account_id}"),
        ),
        Who::Operator => (OPERATOR_NAV, "Operator".to_string(), "Operator".to_string()),
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (f.title) " · numberdesk" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                header.topbar {
                    a.brand href="/console/" { span.logo { "#" } "numberdesk" }
                    nav.mainnav aria-label="Main" {
                        @for (n, href, label) in links {
                            a href=(href) class=@if *n == f.nav { "active" } { (label) }
                        }
                    }
                    div.who {
                        span.whoami title=(full) { (whoami) }
                        form method="post" action="/console/sign-out" {
                            input type="hidden" name="csrf" value=(f.csrf);
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main {
                    h1 { (f.title) }
                    @if let Some(fl) = &f.flash {
                        div class={ "flash flash-" (fl.kind) } role="status" { (fl.text) }
                    }
                    (content)
                }
            }
        }
    }
}

/// A page outside a session (sign-in, errors before sign-in).
pub fn bare(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · numberdesk" }
                link rel="stylesheet" href="/console/assets/console.css";
            }
            body.bare {
                main.narrow {
                    div.brand.big { span.logo { "#" } "numberdesk" }
                    (content)
                }
            }
        }
    }
}

/// The hidden CSRF field of a changing form.
pub fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A status with its colour and its name (colour is never the only signal).
pub fn status(name: &str) -> Markup {
    let class = match name {
        "Completed" | "Approved" | "delivered" | "available" => "ok",
        "Pending" | "PendingApproval" | "pending" | "Accepted" => "wait",
        "Rejected" | "failed" => "bad",
        _ => "neutral",
    };
    html! { span class={ "badge badge-" (class) } { (status_label(name)) } }
}

/// A status name as people read it.
pub fn status_label(name: &str) -> &str {
    match name {
        "PendingApproval" => "Pending approval",
        other => other,
    }
}

/// A time shown in UTC; the page script rewrites it to the reader's local time.
pub fn time(rfc3339: &str) -> Markup {
    let shown = human_time(rfc3339);
    html! { time datetime=(rfc3339) { (shown) } }
}

/// `2026-11-27T09:30:00.123Z` → `27 Nov 2026, 09:30 UTC`.
pub fn human_time(rfc3339: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parsed =
        time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339);
    match parsed {
        Ok(t) => format!(
            "{} {} {}, {:02}:{:02} UTC",
            t.day(),
            MONTHS[t.month() as usize - 1],
            t.year(),
            t.hour(),
            t.minute()
        ),
        Err(_) => rfc3339.to_string(),
    }
}

/// Time from stored milliseconds.
pub fn time_ms(ms: i64) -> Markup {
    time(&crate::domain::format_ms(ms))
}

/// "Previous / Next" links of a paged list; `base` already holds the other query parameters.
pub fn pager(base: &str, page: i64, per_page: i64, total: i64) -> Markup {
    let pages = ((total + per_page - 1) / per_page).max(1);
    let sep = if base.contains('?') { '&' } else { '?' };
    html! {
        nav.pager aria-label="Pages" {
            @if page > 1 {
                a href={ (base) (sep) "page=" (page - 1) } { "← Previous" }
            } @else {
                span.disabled { "← Previous" }
            }
            span { "Page " (page) " of " (pages) " · " (total) " in all" }
            @if page < pages {
                a href={ (base) (sep) "page=" (page + 1) } { "Next →" }
            } @else {
                span.disabled { "Next →" }
            }
        }
    }
}

/// A labelled form field with the API's message under it when it failed.
pub fn field(label: &str, name: &str, error: Option<&str>, input: Markup) -> Markup {
    html! {
        div class=@if error.is_some() { "field invalid" } @else { "field" } {
            label for=(name) { (label) }
            (input)
            @if let Some(e) = error {
                p.field-error id={ (name) "-error" } { (e) }
            }
        }
    }
}

/// An empty-state line for a table without rows.
pub fn empty(text: &str) -> Markup {
    html! { p.empty { (text) } }
}

/// The number types of a profile, comma-separated.
pub fn types(list: &[crate::domain::PhoneNumberType]) -> String {
    list.iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Text or a dash.
pub fn opt(v: Option<&str>) -> Markup {
    match v {
        Some(s) if !s.is_empty() => html! { (s) },
        _ => html! { span.muted { "—" } },
    }
}

/// A raw piece of markup we wrote ourselves (never user text).
pub fn trusted(s: &'static str) -> PreEscaped<&'static str> {
    PreEscaped(s)
}
