//! Prices and usage pages. A customer sees its effective prices and its monthly usage (with the
//! CSV); the operator sees and edits the price list (general and per account) and the usage of
//! every account or one. The pages call the price and usage services the JSON API calls, with
//! the API's checks, so a form's error is the API's message at its field.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};

use super::customer::{PER_PAGE, page_of, urlencode};
use super::views::{self, Flash, Nav, csrf, time_ms};
use super::{Console, FormData, OperatorConsole, OrInternal, Posted, Who, html_page};
use crate::AppState;
use crate::api::error::ApiError;
use crate::api::extract::QueryParams;
use crate::api::prices::{PriceInput, key_of, price_of};
use crate::domain::{FieldError, parse_uuid};
use crate::money::Month;
use crate::prices::{self, PriceEntry, PriceError};
use crate::usage::{self, CurrencyTotal, UsageLine, UsageLines};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/prices", get(prices_page))
        .route("/console/prices/set", post(set_price))
        .route("/console/prices/delete", post(delete_price))
        .route("/console/usage", get(usage_page))
        .route("/console/usage.csv", get(usage_csv))
}

/// A decimal string with its currency: `EUR 1.50`.
pub fn money(currency: &str, amount: &str) -> Markup {
    html! { span.money { span.currency { (currency) } " " (amount) } }
}

/// The current month's sums per currency of one account's usage (the overview's table), summed
/// by the database: the page costs the same however many numbers the account holds.
pub async fn month_totals(
    state: &AppState,
    account_id: &str,
) -> Result<Vec<CurrencyTotal>, Response> {
    let (_, totals) = usage::summary(&state.db, Some(account_id), Month::current())
        .await
        .or_500()?;
    Ok(totals)
}

/// A table of sums per currency.
pub fn totals_table(totals: &[CurrencyTotal], id: &str) -> Markup {
    html! {
        div.table-wrap {
            table id=(id) {
                thead { tr { th { "Currency" } th.num { "Setup" } th.num { "Monthly" } th.num { "Total" } } }
                tbody {
                    @for t in totals {
                        tr {
                            td { strong { (t.currency) } }
                            td.num { (t.setup) }
                            td.num { (t.monthly) }
                            td.num { strong { (t.total()) } }
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- prices

/// The entries of one page of a list kept whole (price lists are short).
fn page_slice<T>(list: &[T], page: i64) -> &[T] {
    let start = (((page - 1) * PER_PAGE) as usize).min(list.len());
    let end = (start + PER_PAGE as usize).min(list.len());
    &list[start..end]
}

async fn prices_page(
    State(state): State<AppState>,
    c: Console,
    q: QueryParams,
) -> Result<Response, Response> {
    match c.who.clone() {
        Who::Customer { account_id, .. } => {
            let page = page_of(&q);
            let list = prices::effective(&state.db, &account_id, None, None)
                .await
                .or_500()?;
            let content = html! {
                p.muted {
                    "What a number costs when you order it now: a setup price once, in the month it is assigned, and a monthly price for every month you hold it (however briefly). "
                    "A request keeps the price it was quoted when it was created."
                }
                section.card {
                    @if list.is_empty() {
                        (views::empty("No prices are set for your account: numbers cost nothing for now."))
                    } @else {
                        div.table-wrap {
                            table #prices {
                                thead { tr { th { "Country" } th { "Number type" } th.num { "Setup" } th.num { "Monthly" } } }
                                tbody {
                                    @for e in page_slice(&list, page) {
                                        tr {
                                            td { (e.country_code) }
                                            td { (e.phone_number_type) }
                                            td.num { (money(e.price.currency.as_str(), &e.price.setup.to_string())) }
                                            td.num { (money(e.price.currency.as_str(), &e.price.monthly.to_string())) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    (views::pager("/console/prices", page, PER_PAGE, list.len() as i64))
                }
            };
            Ok(c.render(&state, "Prices", Nav::Prices, content).await)
        }
        Who::Operator => {
            let form = PriceForm::from_query(&q);
            let content = operator_prices(&state, &c, &q, &form).await?;
            Ok(c.render(&state, "Prices", Nav::Prices, content).await)
        }
    }
}

/// What the operator's price form holds, and the errors of its last sending.
#[derive(Default)]
struct PriceForm {
    account: String,
    country: String,
    kind: String,
    currency: String,
    setup: String,
    monthly: String,
    errors: Vec<FieldError>,
}

impl PriceForm {
    fn from_query(q: &QueryParams) -> PriceForm {
        PriceForm {
            account: q.get("accountId").unwrap_or("").trim().to_string(),
            ..Default::default()
        }
    }

    fn from_form(f: &FormData) -> PriceForm {
        let v = |n: &str| f.get(n).unwrap_or("").trim().to_string();
        PriceForm {
            account: v("accountId"),
            country: v("countryCode").to_ascii_uppercase(),
            kind: v("phoneNumberType"),
            currency: v("currency"),
            setup: v("setupPrice"),
            monthly: v("monthlyPrice"),
            errors: Vec::new(),
        }
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

/// The account a price form or filter names: None for the general list.
fn account_of(text: &str, errors: &mut Vec<FieldError>) -> Option<Option<String>> {
    if text.is_empty() {
        return Some(None);
    }
    match parse_uuid(text) {
        Some(id) => Some(Some(id)),
        None => {
            errors.push(FieldError::new(
                "accountId",
                "must be an account id (a uuid), or empty for the general price list",
            ));
            None
        }
    }
}

async fn operator_prices(
    state: &AppState,
    c: &Console,
    q: &QueryParams,
    form: &PriceForm,
) -> Result<Markup, Response> {
    let page = page_of(q);
    let filter = q.get("accountId").map(str::trim).unwrap_or("");
    let mut filter_errors = Vec::new();
    let (list, unknown) = match account_of(filter, &mut filter_errors) {
        Some(account) => match prices::list(&state.db, account.as_deref()).await {
            Ok(l) => (l, false),
            Err(PriceError::AccountNotFound) => (Vec::new(), true),
            Err(e) => return Err(super::internal(e)),
        },
        None => (Vec::new(), true),
    };
    let base = if filter.is_empty() {
        "/console/prices".to_string()
    } else {
        format!("/console/prices?accountId={}", urlencode(filter))
    };
    let token = &c.session.csrf_token;
    Ok(html! {
        p.muted {
            "A general price applies to every account for a country and number type; an account's own price wins over it. "
            "A request is quoted the price in force when it is created; changing the list later does not change it."
        }
        form.filters method="get" action="/console/prices" {
            label for="filter-account" { "Account" }
            input.wide #filter-account name="accountId" type="text" value=(filter) placeholder="all entries (general and every account)";
            button.secondary type="submit" { "Show" }
            @if !filter.is_empty() { a.chip href="/console/prices" { "All entries" } }
        }
        @if unknown {
            div.flash.flash-error role="alert" { "There is no account " span.mono { (filter) } "." }
        }
        section.card {
            h2 { "Price list" }
            @if list.is_empty() {
                (views::empty("No prices here yet: numbers of every country and type cost nothing."))
            } @else {
                div.table-wrap {
                    table #price-list {
                        thead { tr { th { "For" } th { "Country" } th { "Type" } th.num { "Setup" } th.num { "Monthly" } th { "" } } }
                        tbody {
                            @for e in page_slice(&list, page) {
                                tr {
                                    td {
                                        @match &e.account_id {
                                            Some(a) => { a.mono.short href={ "/console/prices?accountId=" (a) } title=(a) { (a) } }
                                            None => { span.badge.badge-neutral { "General" } }
                                        }
                                    }
                                    td { (e.country_code) }
                                    td { (e.phone_number_type) }
                                    td.num { (money(e.price.currency.as_str(), &e.price.setup.to_string())) }
                                    td.num { (money(e.price.currency.as_str(), &e.price.monthly.to_string())) }
                                    td.actions-cell {
                                        form method="post" action="/console/prices/delete" {
                                            (csrf(token))
                                            input type="hidden" name="accountId" value=(e.account_id.clone().unwrap_or_default());
                                            input type="hidden" name="countryCode" value=(e.country_code);
                                            input type="hidden" name="phoneNumberType" value=(e.phone_number_type);
                                            button.small.danger type="submit" aria-label={ "Delete the price of " (e.country_code) " " (e.phone_number_type) } { "Delete" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (views::pager(&base, page, PER_PAGE, list.len() as i64))
        }
        section.card {
            h2 { "Set a price" }
            p.muted { "Setting the price of a country and type that has one replaces it. Amounts are decimals with up to four fraction digits, from 0 to 1000000." }
            form method="post" action="/console/prices/set" #price-form {
                (csrf(token))
                (views::field("Account (empty: the general list)", "accountId", form.error("accountId"), html! {
                    input #accountId name="accountId" type="text" value=(form.account) placeholder="general";
                }))
                div.grid3 {
                    (views::field("Country", "countryCode", form.error("countryCode"), html! {
                        input #countryCode name="countryCode" type="text" maxlength="2" value=(form.country) placeholder="NL" required;
                    }))
                    (views::field("Number type", "phoneNumberType", form.error("phoneNumberType"), html! {
                        select #phoneNumberType name="phoneNumberType" {
                            @for t in ["LOCAL", "NATIONAL", "TOLLFREE"] { option value=(t) selected[form.kind == t] { (t) } }
                        }
                    }))
                    (views::field("Currency", "currency", form.error("currency"), html! {
                        input #currency name="currency" type="text" maxlength="3" value=(form.currency) placeholder="EUR" required;
                    }))
                }
                div.grid2 {
                    (views::field("Setup price", "setupPrice", form.error("setupPrice"), html! {
                        input #setupPrice name="setupPrice" type="text" inputmode="decimal" value=(form.setup) placeholder="1.50" required;
                    }))
                    (views::field("Monthly price", "monthlyPrice", form.error("monthlyPrice"), html! {
                        input #monthlyPrice name="monthlyPrice" type="text" inputmode="decimal" value=(form.monthly) placeholder="2.00" required;
                    }))
                }
                div.actions { button.primary type="submit" #set-price { "Save price" } }
            }
        }
    })
}

/// Shows the operator's prices page again with the form's errors at their fields (400).
async fn price_form_failed(
    state: &AppState,
    c: &Console,
    form: PriceForm,
) -> Result<Response, Response> {
    let mut q = QueryParams(Default::default());
    if parse_uuid(&form.account).is_some() {
        q.0.insert("accountId".into(), form.account.clone());
    }
    let content = operator_prices(state, c, &q, &form).await?;
    let flash = Flash::error("Nothing was saved: correct the marked fields.");
    Ok(html_page(
        StatusCode::BAD_REQUEST,
        views::page(c.frame("Prices", Nav::Prices, Some(flash)), content),
    ))
}

async fn set_price(
    State(state): State<AppState>,
    Posted(OperatorConsole(c), data): Posted<OperatorConsole>,
) -> Result<Response, Response> {
    let mut form = PriceForm::from_form(&data);
    let mut errors = Vec::new();
    let account = account_of(&form.account, &mut errors);
    let key = key_of(&form.country, &form.kind, &mut errors);
    let text = |s: &str| Some(serde_json::Value::String(s.to_string()));
    let input = PriceInput {
        currency: text(&form.currency),
        setup_price: text(&form.setup),
        monthly_price: text(&form.monthly),
    };
    let price = price_of(&input, &mut errors);
    let (Some(account), Some((country, kind)), Some(price), true) =
        (account, key, price, errors.is_empty())
    else {
        form.errors = errors;
        return price_form_failed(&state, &c, form).await;
    };
    let entry = PriceEntry {
        account_id: account.clone(),
        country_code: country.clone(),
        phone_number_type: kind.clone(),
        price,
    };
    match prices::set(&state.db, entry).await {
        Ok(e) => {
            let whom = match &account {
                Some(a) => format!("account {a}"),
                None => "every account without its own price".to_string(),
            };
            let flash = Flash::ok(format!(
                "Price of {country} {kind} for {whom} saved: {c} {s} setup, {c} {m} monthly.",
                c = e.price.currency,
                s = e.price.setup,
                m = e.price.monthly
            ));
            let to = match &account {
                Some(a) => format!("/console/prices?accountId={a}"),
                None => "/console/prices".into(),
            };
            Ok(c.done(&state, flash, &to).await)
        }
        Err(PriceError::AccountNotFound) => {
            form.errors
                .push(FieldError::new("accountId", "there is no such account"));
            price_form_failed(&state, &c, form).await
        }
        Err(e) => Err(super::internal(e)),
    }
}

async fn delete_price(
    State(state): State<AppState>,
    Posted(OperatorConsole(c), data): Posted<OperatorConsole>,
) -> Result<Response, Response> {
    let form = PriceForm::from_form(&data);
    let mut errors = Vec::new();
    let account = account_of(&form.account, &mut errors);
    let key = key_of(&form.country, &form.kind, &mut errors);
    let (Some(account), Some((country, kind))) = (account, key) else {
        let text = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        let flash = Flash::error(format!("Nothing was deleted. {text}."));
        return Ok(c.done(&state, flash, "/console/prices").await);
    };
    let to = match &account {
        Some(a) => format!("/console/prices?accountId={a}"),
        None => "/console/prices".into(),
    };
    let whom = match &account {
        Some(a) => format!("account {a}'s own"),
        None => "the general".to_string(),
    };
    let flash = match prices::remove(&state.db, account.as_deref(), &country, &kind).await {
        Ok(()) => Flash::ok(format!("Deleted {whom} price of {country} {kind}.")),
        Err(PriceError::NotFound) => Flash::error(format!(
            "There is no {whom} price of {country} {kind} (deleted already?); nothing changed."
        )),
        Err(PriceError::AccountNotFound) => {
            Flash::error("There is no such account; nothing changed.".to_string())
        }
        Err(e) => return Err(super::internal(e)),
    };
    Ok(c.done(&state, flash, &to).await)
}

// ---------------------------------------------------------------- usage

/// The month and account a usage page is about, or the errors at their fields.
struct UsageQuery {
    month: Month,
    month_text: String,
    /// Operator: one account, or None for all.
    account: Option<String>,
    account_text: String,
    errors: Vec<FieldError>,
}

fn usage_query(c: &Console, q: &QueryParams) -> UsageQuery {
    let mut errors = Vec::new();
    let month_text = q.get("month").map(str::trim).unwrap_or("").to_string();
    let month = if month_text.is_empty() {
        Month::current()
    } else {
        Month::parse(&month_text).unwrap_or_else(|| {
            errors.push(FieldError::new(
                "month",
                "must be a calendar month written YYYY-MM, e.g. 2026-12",
            ));
            Month::current()
        })
    };
    let (account, account_text) = match &c.who {
        Who::Customer { account_id, .. } => (Some(account_id.clone()), String::new()),
        Who::Operator => {
            let text = q.get("accountId").map(str::trim).unwrap_or("").to_string();
            let account = account_of(&text, &mut errors).flatten();
            (account, text)
        }
    };
    UsageQuery {
        month,
        month_text: if month_text.is_empty() {
            month.to_string()
        } else {
            month_text
        },
        account,
        account_text,
        errors,
    }
}

impl UsageQuery {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// The query string of this month and account (for links).
    fn query(&self, month: Month) -> String {
        let mut s = format!("month={month}");
        if !self.account_text.is_empty() {
            s.push_str(&format!("&accountId={}", urlencode(&self.account_text)));
        }
        s
    }
}

async fn usage_page(
    State(state): State<AppState>,
    c: Console,
    q: QueryParams,
) -> Result<Response, Response> {
    let operator = c.who == Who::Operator;
    let uq = usage_query(&c, &q);
    let page = page_of(&q);
    let mut shown: Vec<UsageLine> = Vec::new();
    let mut count = 0i64;
    let mut totals = Vec::new();
    if uq.errors.is_empty() {
        // The count and totals come summed from the database; the lines are read up to the
        // end of this page only.
        (count, totals) = usage::summary(&state.db, uq.account.as_deref(), uq.month)
            .await
            .or_500()?;
        let skip = (page - 1) * PER_PAGE;
        let mut lines = UsageLines::new(&state.db, uq.account.clone(), uq.month);
        let mut at = 0i64;
        while at < skip + PER_PAGE {
            let Some(l) = lines.next().await else { break };
            let l = l.or_500()?;
            if at >= skip {
                shown.push(l);
            }
            at += 1;
        }
    }
    let base = format!("/console/usage?{}", uq.query(uq.month));
    let csv = format!("/console/usage.csv?{}", uq.query(uq.month));
    let content = html! {
        form.filters method="get" action="/console/usage" #usage-filter {
            a.chip href={ "/console/usage?" (uq.query(uq.month.prev())) } rel="prev" { "← " (uq.month.prev()) }
            div class=@if uq.error("month").is_some() { "inline-field invalid" } @else { "inline-field" } {
                label for="month" { "Month" }
                input #month name="month" type="month" value=(uq.month_text) min="1970-01" pattern="[0-9]{4}-[0-9]{2}" placeholder="YYYY-MM";
            }
            @if operator {
                div class=@if uq.error("accountId").is_some() { "inline-field invalid" } @else { "inline-field" } {
                    label for="accountId" { "Account" }
                    input.wide #accountId name="accountId" type="text" value=(uq.account_text) placeholder="all accounts";
                }
            }
            button.secondary type="submit" { "Show" }
            a.chip href={ "/console/usage?" (uq.query(uq.month.next())) } rel="next" { (uq.month.next()) " →" }
        }
        @for e in &uq.errors {
            p.field-error id={ (e.field) "-error" } role="alert" { strong { (e.field) } " " (e.message) }
        }
        @if uq.errors.is_empty() {
            section.card {
                div.card-head {
                    h2 { "Totals for " (uq.month) }
                    a.button.secondary href=(csv) download #csv { "Download CSV" }
                }
                @if totals.is_empty() {
                    (views::empty("Nothing to pay for this month: no priced number was held."))
                } @else {
                    (totals_table(&totals, "usage-totals"))
                }
                p.muted {
                    "One line per number per holding: each number held at some time in the month. The monthly price is charged for every month a number is held, however briefly; the setup price in the month it was assigned. Months are calendar months in UTC."
                }
            }
            section.card {
                h2 { "Lines " span.count { (count) } }
                @if shown.is_empty() {
                    (views::empty("No numbers were held in this month."))
                } @else {
                    div.table-wrap {
                        table #usage-lines {
                            thead { tr {
                                @if operator { th.hide-sm { "Account" } }
                                th { "Number" } th.hide-sm { "Type" } th { "Held from" } th { "Held until" }
                                th.num { "Setup" } th.num { "Monthly" }
                            } }
                            tbody {
                                @for l in &shown {
                                    tr {
                                        @if operator { td.hide-sm.short { a.mono href={ "/console/accounts/" (l.account_id) } title=(l.account_id) { (l.account_id) } } }
                                        td.mono {
                                            @if operator { (l.phone_number) } @else {
                                                a href={ "/console/requests/" (l.number_request_id) } title="The request that assigned it" { (l.phone_number) }
                                            }
                                        }
                                        td.hide-sm { (l.country_code) " " (l.phone_number_type) }
                                        td { (time_ms(l.valid_from_ms)) }
                                        td { @match l.valid_to_ms { Some(t) => { (time_ms(t)) } None => { span.muted { "held now" } } } }
                                        @match &l.charge {
                                            Some(ch) => {
                                                td.num { (money(ch.currency.as_str(), &ch.setup.to_string())) }
                                                td.num { (money(ch.currency.as_str(), &ch.monthly.to_string())) }
                                            }
                                            None => {
                                                td.num { span.muted { "no price" } }
                                                td.num { span.muted { "—" } }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                (views::pager(&base, page, PER_PAGE, count))
            }
        }
    };
    if uq.errors.is_empty() {
        Ok(c.render(&state, "Usage", Nav::Usage, content).await)
    } else {
        Ok(html_page(
            StatusCode::BAD_REQUEST,
            views::page(c.frame("Usage", Nav::Usage, None), content),
        ))
    }
}

/// The month's lines as CSV, streamed (the same file as the API's `Accept: text/csv` answer).
async fn usage_csv(
    State(state): State<AppState>,
    c: Console,
    q: QueryParams,
) -> Result<Response, Response> {
    let uq = usage_query(&c, &q);
    if let Some(e) = uq.errors.first() {
        return Err(super::api_error_page(
            &c,
            "Usage",
            &ApiError::validation(vec![FieldError::new(&e.field, &e.message)]),
        ));
    }
    Ok(crate::api::usage::csv_answer(
        state.db.clone(),
        uq.account,
        uq.month,
        c.who == Who::Operator,
    ))
}
