//! Customer pages: overview, order numbers, requests, numbers, company profiles.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};

use super::views::{self, Flash, Nav, csrf, status, time};
use super::{CustomerConsole, FormData, OrInternal, Posted, html_page};
use crate::AppState;
use crate::api::error::ApiError;
use crate::api::extract::QueryParams;
use crate::api::requests::CreateNumberRequest;
use crate::domain::{PhoneNumberType, ProfileStatus, RequestStatus};
use crate::model::{CompanyProfile, NumberRequest};
use crate::orders;
use crate::store::{inventory, profiles, requests};

/// Rows per page of every customer list.
pub const PER_PAGE: i64 = 25;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/overview", get(overview))
        .route("/console/order", get(order_page).post(order_post))
        .route("/console/requests", get(requests_page))
        .route("/console/requests/{id}", get(request_page))
        .route("/console/requests/{id}/cancel", post(cancel))
        .route("/console/numbers", get(numbers_page))
        .route("/console/numbers/release", get(release_page).post(release))
        .merge(super::profiles::router())
}

/// The `page` query parameter (1-based), never below 1.
pub fn page_of(q: &QueryParams) -> i64 {
    q.get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| *p >= 1 && *p <= 1_000_000)
        .unwrap_or(1)
}

async fn overview(State(state): State<AppState>, c: CustomerConsole) -> Result<Response, Response> {
    let counts = requests::counts_by_status(&state.db, Some(&c.account_id))
        .await
        .or_500()?;
    let held = requests::held_count(&state.db, &c.account_id)
        .await
        .or_500()?;
    let recent_filter = requests::ListFilter {
        account_id: Some(c.account_id.clone()),
        ..Default::default()
    };
    let (recent, _) = requests::list_without_numbers(&state.db, &recent_filter, 0, 5)
        .await
        .or_500()?;
    let charges = super::billing::month_totals(&state, &c.account_id).await?;
    let content = html! {
        div.tiles {
            a.tile href="/console/numbers" {
                span.tile-value #numbers-held { (held) }
                span.tile-label { "numbers held" }
            }
            @for (st, n) in &counts {
                a.tile href={ "/console/requests?status=" (st.name()) } {
                    span.tile-value { (n) }
                    span.tile-label { (status(st.name())) " requests" }
                }
            }
        }
        section.card #charges {
            div.card-head {
                h2 { "This month's charges" }
                a.button.secondary href="/console/usage" { "Usage" }
            }
            @if charges.is_empty() {
                (views::empty("Nothing to pay this month so far: no priced number is held."))
            } @else {
                (super::billing::totals_table(&charges, "charges-table"))
            }
        }
        section.card {
            div.card-head {
                h2 { "Recent requests" }
                a.button.primary href="/console/order" { "Order numbers" }
            }
            (request_table(&recent))
        }
    };
    Ok(c.console
        .render(&state, "Overview", Nav::Overview, content)
        .await)
}

/// A table of requests, linking to each.
pub fn request_table(list: &[NumberRequest]) -> Markup {
    if list.is_empty() {
        return views::empty("No requests yet.");
    }
    html! {
        div.table-wrap {
            table {
                thead { tr { th { "Created" } th { "Status" } th { "Type" } th { "Locale" } th.num { "Quantity" } th { "Reason" } } }
                tbody {
                    @for r in list {
                        tr {
                            td { a href={ "/console/requests/" (r.id) } { (time(&r.created_on)) } }
                            td { (status(r.status.as_str())) }
                            td { (r.country_code) " " (r.phone_number_type) }
                            td { (locale_text(r.area_code.as_deref(), r.city.as_deref(), r.region.as_deref())) }
                            td.num { (r.quantity) @if let Some(s) = r.range_size { " × " (s) } }
                            td.reason { (r.reason) }
                        }
                    }
                }
            }
        }
    }
}

/// The operator's table of pending requests, with accept and reject.
pub fn request_table_operator(list: &[NumberRequest], token: &str) -> Markup {
    html! {
        div.table-wrap {
            table #pending-requests {
                thead { tr { th { "Created" } th { "Account" } th { "Numbers" } th { "Locale" } th { "Reason" } th { "Decision" } } }
                tbody {
                    @for r in list {
                        tr data-request=(r.id) {
                            td { (time(&r.created_on)) }
                            td.short { a.mono href={ "/console/accounts/" (r.account_id) } title=(r.account_id) { (r.account_id) } }
                            td { (r.quantity) @if let Some(s) = r.range_size { " × " (s) } " " (r.country_code) " " (r.phone_number_type) }
                            td { (locale_text(r.area_code.as_deref(), r.city.as_deref(), r.region.as_deref())) }
                            td.reason { (r.reason) @if let Some(cm) = &r.comment { br; span.muted { "“" (cm) "”" } } }
                            td.actions-cell {
                                form.decide method="post" action={ "/console/review/requests/" (r.id) "/accept" } {
                                    (csrf(token))
                                    button.small.primary type="submit" { "Accept" }
                                }
                                form.decide method="post" action={ "/console/review/requests/" (r.id) "/reject" } {
                                    (csrf(token))
                                    input.small type="text" name="reason" placeholder="Reason" required maxlength="1000" aria-label="Rejection reason";
                                    button.small.danger type="submit" { "Reject" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn locale_text(area: Option<&str>, city: Option<&str>, region: Option<&str>) -> String {
    let parts: Vec<&str> = [area, city, region]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        "any".into()
    } else {
        parts.join(" · ")
    }
}

// ---------------------------------------------------------------- order form

/// What the order form shows: the choices, what was entered, and the checks' answers.
#[derive(Default)]
struct OrderForm {
    profile: Option<String>,
    kind: Option<String>,
    locale: Option<String>,
    quantity: Option<String>,
    range_size: Option<String>,
    comment: Option<String>,
    callback_url: Option<String>,
    errors: Vec<(String, String)>,
    top_error: Option<String>,
    checked: bool,
}

impl OrderForm {
    fn from_query(q: &QueryParams) -> OrderForm {
        OrderForm {
            profile: q.get("profile").map(str::to_string),
            kind: q.get("type").map(str::to_string),
            ..Default::default()
        }
    }

    fn from_form(f: &FormData) -> OrderForm {
        OrderForm {
            profile: f.text("profile"),
            kind: f.text("type"),
            locale: f.text("locale"),
            quantity: f.text("quantity"),
            range_size: f.text("rangeSize"),
            comment: f
                .get("comment")
                .filter(|c| !c.trim().is_empty())
                .map(str::to_string),
            callback_url: f.text("callbackUrl"),
            ..Default::default()
        }
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    /// The area code, city and region of the chosen locale option.
    fn locale_parts(&self) -> (Option<String>, Option<String>, Option<String>) {
        let parsed: Option<Vec<Option<String>>> = self
            .locale
            .as_deref()
            .and_then(|l| serde_json::from_str(l).ok());
        match parsed.as_deref() {
            Some([a, c, r]) => (a.clone(), c.clone(), r.clone()),
            _ => (None, None, None),
        }
    }

    /// The form's values in the JSON API's create body, validated as the API validates it
    /// (text checks included: no control or bidirectional-control characters).
    fn validated(&self, profile: &str, kind: &str) -> Result<orders::CreateInput, ApiError> {
        let mut errors = Vec::new();
        for (field, value) in [
            ("comment", &self.comment),
            ("callbackUrl", &self.callback_url),
        ] {
            if let Some(v) = value {
                crate::text::check(field, v, &mut errors);
            }
        }
        let (area, city, region) = self.locale_parts();
        for (field, value) in [("areaCode", area), ("city", city), ("region", region)] {
            if let Some(v) = value {
                crate::text::check(field, &v, &mut errors);
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        self.to_request(profile, kind).validate()
    }

    /// The form's values in the JSON API's create body.
    fn to_request(&self, profile: &str, kind: &str) -> CreateNumberRequest {
        let (area, city, region) = self.locale_parts();
        let number = |v: &Option<String>| {
            v.as_deref().map(|s| {
                s.parse::<serde_json::Number>()
                    .unwrap_or_else(|_| (-1).into())
            })
        };
        CreateNumberRequest {
            company_profile_id: Some(profile.to_string()),
            quantity: number(&self.quantity).or_else(|| Some(1.into())),
            range_size: number(&self.range_size),
            phone_number_type: Some(kind.to_string()),
            area_code: area,
            city,
            region,
            comment: self.comment.clone(),
            callback_url: self.callback_url.clone(),
        }
    }

    /// Puts an API error at the field it names (or on top).
    fn take_error(&mut self, e: &ApiError) {
        if !e.body.errors.is_empty() {
            for fe in &e.body.errors {
                let field = match fe.field.as_str() {
                    "areaCode" | "city" | "region" => "locale",
                    "companyProfileId" => "profile",
                    "phoneNumberType" => "type",
                    other => other,
                };
                self.errors.push((field.into(), fe.message.clone()));
            }
            return;
        }
        let field = match e.body.message_code.as_str() {
            "QUANTITY_NOT_ALLOWED" | "TOO_MANY_OPEN_REQUESTS" => Some("quantity"),
            "RANGE_SIZE_NOT_ALLOWED" => Some("rangeSize"),
            "AREA_CODE_OR_CITY_REQUIRED"
            | "REGION_REQUIRED"
            | "AREA_CODE_REQUIRED"
            | "ADDRESS_NOT_IN_PREFIX_REGION" => Some("locale"),
            "CALLBACK_URL_NOT_ALLOWED" => Some("callbackUrl"),
            "NUMBER_TYPE_NOT_ALLOWED" => Some("type"),
            "PROFILE_NOT_APPROVED" | "NOT_FOUND" => Some("profile"),
            _ => None,
        };
        match field {
            Some(f) => self.errors.push((f.into(), e.body.message.clone())),
            None => self.top_error = Some(e.body.message.clone()),
        }
    }
}

/// Every approved profile of the account (the order form offers only those).
async fn approved_profiles(
    state: &AppState,
    account: &str,
) -> Result<Vec<CompanyProfile>, Response> {
    let mut out = Vec::new();
    let mut skip = 0;
    loop {
        let (page, total) = profiles::list(&state.db, account, skip, 100)
            .await
            .or_500()?;
        let n = page.len() as i64;
        out.extend(
            page.into_iter()
                .filter(|p| p.status == ProfileStatus::Approved),
        );
        skip += n;
        if n == 0 || skip >= total || skip >= 1000 {
            break;
        }
    }
    Ok(out)
}

async fn order_page(
    State(state): State<AppState>,
    c: CustomerConsole,
    q: QueryParams,
) -> Result<Response, Response> {
    let form = OrderForm::from_query(&q);
    let content = order_content(&state, &c, form).await?;
    Ok(c.console
        .render(&state, "Order numbers", Nav::Order, content)
        .await)
}

async fn order_post(
    State(state): State<AppState>,
    Posted(c, data): Posted<CustomerConsole>,
) -> Result<Response, Response> {
    let mut form = OrderForm::from_form(&data);
    if data.get("action") == Some("order") {
        match (form.profile.clone(), form.kind.clone()) {
            (Some(p), Some(k)) => {
                let created = match form.validated(&p, &k) {
                    Ok(input) => orders::create(&state, &c.account_id, input, None)
                        .await
                        .map_err(ApiError::from),
                    Err(e) => Err(e),
                };
                match created {
                    Ok(answer) => {
                        let body: serde_json::Value =
                            serde_json::from_str(&answer.body).unwrap_or_default();
                        let st = body["status"].as_str().unwrap_or("created");
                        let reason = body["reason"].as_str().unwrap_or("");
                        let flash = Flash::ok(format!("Request created: {st}. {reason}."));
                        return Ok(c
                            .console
                            .done(&state, flash, &format!("/console/requests/{}", answer.id))
                            .await);
                    }
                    Err(e) if e.status.is_server_error() => {
                        return Err(super::internal(&e.body.message));
                    }
                    Err(e) => form.take_error(&e),
                }
            }
            (None, _) => form
                .errors
                .push(("profile".into(), "Choose a company profile.".into())),
            (_, None) => form
                .errors
                .push(("type".into(), "Choose a number type.".into())),
        }
    } else {
        form.checked = true;
    }
    let failed = !form.errors.is_empty() || form.top_error.is_some();
    let content = order_content(&state, &c, form).await?;
    let status = if failed {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(html_page(
        status,
        views::page(c.console.frame("Order numbers", Nav::Order, None), content),
    ))
}

/// What a create with the form's values would get now (the same checks as the API's
/// availability answer).
async fn availability(
    state: &AppState,
    account: &str,
    country: &str,
    req: CreateNumberRequest,
) -> Result<(i64, bool), ApiError> {
    let input = req.validate()?;
    let criteria = orders::criteria(country, &input);
    let available = orders::available_units(state, &criteria, input.range_size)
        .await
        .map_err(ApiError::from)?;
    let assignable = match orders::plan(state, account, &input)
        .await
        .map_err(ApiError::from)
    {
        Ok(plan) => !plan.restrictions.requires_review && available >= input.quantity,
        Err(e) if e.status.is_server_error() => return Err(e),
        Err(_) => false,
    };
    Ok((available, assignable))
}

async fn order_content(
    state: &AppState,
    c: &CustomerConsole,
    mut form: OrderForm,
) -> Result<Markup, Response> {
    let approved = approved_profiles(state, &c.account_id).await?;
    if approved.is_empty() {
        return Ok(html! {
            section.card {
                p { "You have no approved company profile yet. Numbers are ordered for an approved profile." }
                p { a.button.primary href="/console/profiles/new" { "Create a company profile" } }
            }
        });
    }
    let profile = form
        .profile
        .as_deref()
        .and_then(|p| approved.iter().find(|x| x.id == p))
        .unwrap_or(&approved[0]);
    form.profile = Some(profile.id.clone());
    let types: Vec<&str> = profile
        .data
        .phone_number_types
        .iter()
        .map(|t| t.as_str())
        .collect();
    let kind = form
        .kind
        .as_deref()
        .filter(|k| types.contains(k))
        .or(types.first().copied())
        .unwrap_or("LOCAL")
        .to_string();
    form.kind = Some(kind.clone());
    let country = &profile.data.number_country_code;
    let number_type = PhoneNumberType::parse(&kind).unwrap_or(PhoneNumberType::Local);
    let locales = inventory::locale_options(&state.db, country, number_type)
        .await
        .or_500()?;
    let rules = inventory::restrictions(&state.db, country, number_type)
        .await
        .or_500()?;
    let check = if form.checked {
        Some(
            availability(
                state,
                &c.account_id,
                country,
                form.to_request(&profile.id, &kind),
            )
            .await,
        )
    } else {
        None
    };
    if let Some(Err(e)) = &check {
        if e.status.is_server_error() {
            return Err(super::internal(&e.body.message));
        }
        form.take_error(e);
    }
    let price: Option<crate::model::QuotedPrice> =
        crate::prices::price_of(&state.db, &c.account_id, country, &kind)
            .await
            .or_500()?
            .map(Into::into);
    let numbers = form
        .quantity
        .as_deref()
        .and_then(|q| q.parse::<i64>().ok())
        .filter(|q| (1..=100_000).contains(q))
        .unwrap_or(rules.min_quantity)
        * form
            .range_size
            .as_deref()
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|s| (1..=100_000).contains(s))
            .unwrap_or(1);
    let local_needed = kind == PhoneNumberType::Local.as_str();
    let csrf_token = &c.console.session.csrf_token;
    Ok(html! {
        form.card.order method="post" action="/console/order" #order-form {
            (csrf(csrf_token))
            @if let Some(e) = &form.top_error { div.flash.flash-error role="alert" { (e) } }
            div.grid2 {
                (views::field("Company profile", "profile", form.error("profile"), html! {
                    select #profile name="profile" data-refresh {
                        @for p in &approved {
                            option value=(p.id) selected[p.id == profile.id] {
                                (p.data.name) " — " (p.data.number_country_code)
                            }
                        }
                    }
                }))
                (views::field("Number type", "type", form.error("type"), html! {
                    select #type name="type" data-refresh {
                        @for t in &types {
                            option value=(t) selected[*t == kind] { (type_label(t)) }
                        }
                    }
                }))
            }
            (views::field(if local_needed { "Area (required for local numbers)" } else { "Area (optional)" }, "locale", form.error("locale"), html! {
                select #locale name="locale" {
                    option value="" { @if local_needed { "Choose an area…" } @else { "Any area" } }
                    @for l in &locales {
                        @let v = serde_json::json!([l.area_code, l.city, l.region]).to_string();
                        option value=(v) selected[form.locale.as_deref() == Some(v.as_str())] {
                            (locale_text(l.area_code.as_deref(), l.city.as_deref(), l.region.as_deref()))
                            " — " (l.available_quantity) " free"
                        }
                    }
                }
            }))
            @if locales.is_empty() {
                p.muted { "No stock is known for " (country) " " (type_label(&kind)) " yet; a request waits until numbers arrive." }
            }
            div.grid2 {
                (views::field(
                    &format!("Quantity ({} to {}{})", rules.min_quantity, rules.max_quantity, if rules.ranges_supported { " units" } else { "" }),
                    "quantity", form.error("quantity"), html! {
                    input #quantity name="quantity" type="number" min=(rules.min_quantity) max=(rules.max_quantity)
                        value=(form.quantity.clone().unwrap_or_else(|| rules.min_quantity.to_string())) required;
                }))
                @if rules.ranges_supported {
                    (views::field("Range size", "rangeSize", form.error("rangeSize"), html! {
                        select #rangeSize name="rangeSize" {
                            option value="" { "Single numbers" }
                            @for s in &rules.allowed_range_sizes {
                                @let v = s.to_string();
                                option value=(v) selected[form.range_size.as_deref() == Some(v.as_str())] { "Blocks of " (s) }
                            }
                        }
                    }))
                } @else if let Some(e) = form.error("rangeSize") {
                    p.field-error { (e) }
                }
            }
            p.price-line #order-price { strong { "Price: " } (quoted(price.as_ref(), 1)) }
            @if rules.requires_review {
                p.note { "Orders of " (country) " " (type_label(&kind)) " are reviewed by the operator before numbers are assigned." }
            }
            details open[form.comment.is_some() || form.callback_url.is_some() || form.error("callbackUrl").is_some() || form.error("comment").is_some()] {
                summary { "Comment and status callback (optional)" }
                (views::field("Comment", "comment", form.error("comment"), html! {
                    textarea #comment name="comment" rows="2" maxlength="1000" { (form.comment.clone().unwrap_or_default()) }
                }))
                (views::field("Callback URL", "callbackUrl", form.error("callbackUrl"), html! {
                    input #callbackUrl name="callbackUrl" type="url" placeholder="https://example.com/hooks/numbers"
                        value=(form.callback_url.clone().unwrap_or_default());
                }))
            }
            @if let Some(Ok((available, assignable))) = &check {
                div class={ "availability " @if *assignable { "ok" } @else { "wait" } } #availability role="status" {
                    strong { (available) } " " @if form.range_size.is_some() { "blocks" } @else { "numbers" } " free for this choice. "
                    @if *assignable {
                        "An order now is completed at once."
                    } @else if rules.requires_review {
                        "An order waits for the operator's review."
                    } @else {
                        "An order now waits (Pending) until enough numbers are in stock."
                    }
                    br;
                    span #availability-price { strong { "Price: " } (quoted(price.as_ref(), numbers)) }
                }
            }
            div.actions {
                button.secondary type="submit" name="action" value="check" #check { "Check availability" }
                button.primary type="submit" name="action" value="order" #place-order { "Order numbers" }
            }
        }
    })
}

/// A quoted price per number, and what `numbers` of them cost (exact decimal arithmetic).
pub fn quoted(price: Option<&crate::model::QuotedPrice>, numbers: i64) -> Markup {
    use crate::money::Amount;
    let Some(p) = price else {
        return html! { span.muted { "No price: these numbers cost nothing." } };
    };
    let each = html! {
        (super::billing::money(&p.currency, &p.setup_price)) " setup + "
        (super::billing::money(&p.currency, &p.monthly_price)) " a month per number"
    };
    match (
        Amount::from_stored(&p.setup_price),
        Amount::from_stored(&p.monthly_price),
    ) {
        (Some(s), Some(m)) if numbers > 1 => html! {
            (each) br;
            span.total { "For " (numbers) " numbers: "
                strong { (super::billing::money(&p.currency, &s.times(numbers).to_string())) } " setup + "
                strong { (super::billing::money(&p.currency, &m.times(numbers).to_string())) } " a month" }
        },
        _ => each,
    }
}

fn type_label(t: &str) -> &'static str {
    match t {
        "LOCAL" => "Local (geographic)",
        "NATIONAL" => "National (non-geographic)",
        "TOLLFREE" => "Toll-free",
        _ => "Other",
    }
}

// ---------------------------------------------------------------- requests

async fn requests_page(
    State(state): State<AppState>,
    c: CustomerConsole,
    q: QueryParams,
) -> Result<Response, Response> {
    let page = page_of(&q);
    let status_filter = q.get("status").and_then(RequestStatus::parse_filter);
    let f = requests::ListFilter {
        account_id: Some(c.account_id.clone()),
        status: status_filter,
        ..Default::default()
    };
    let (list, total) =
        requests::list_without_numbers(&state.db, &f, (page - 1) * PER_PAGE, PER_PAGE)
            .await
            .or_500()?;
    let base = match status_filter {
        Some(s) => format!("/console/requests?status={}", s.name()),
        None => "/console/requests".to_string(),
    };
    let content = html! {
        form.filters method="get" action="/console/requests" {
            label for="status" { "Status" }
            select #status name="status" data-autosubmit {
                option value="" { "All" }
                @for s in RequestStatus::ALL {
                    option value=(s.name()) selected[status_filter == Some(s)] { (s.name()) }
                }
            }
            button.secondary type="submit" { "Filter" }
        }
        section.card {
            (request_table(&list))
            (views::pager(&base, page, PER_PAGE, total))
        }
    };
    Ok(c.console
        .render(&state, "Requests", Nav::Requests, content)
        .await)
}

async fn request_page(
    State(state): State<AppState>,
    c: CustomerConsole,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    let id = super::page_id(&id)?;
    let Some(row) = requests::get(&state.db, Some(&c.account_id), &id)
        .await
        .or_500()?
    else {
        return Err(super::not_found_page());
    };
    let r = row.request;
    let events = requests::events(&state.db, &c.account_id, &id)
        .await
        .or_500()?;
    let content = html! {
        section.card {
            div.card-head {
                h2 { "Request " span.mono { (r.id) } }
                (status(r.status.as_str()))
            }
            p.reason { (r.reason) }
            dl.facts {
                dt { "Profile" } dd { a href={ "/console/profiles/" (r.company_profile_id) } { span.mono { (r.company_profile_id) } } }
                dt { "Numbers" } dd { (r.country_code) " " (type_label(r.phone_number_type.as_str())) ", " (r.quantity) @if let Some(s) = r.range_size { " blocks of " (s) } }
                dt { "Area" } dd { (locale_text(r.area_code.as_deref(), r.city.as_deref(), r.region.as_deref())) }
                dt { "Price" } dd #price { (quoted(r.price.as_ref(), r.quantity * r.range_size.unwrap_or(1))) }
                dt { "Created" } dd { (time(&r.created_on)) }
                dt { "Updated" } dd { (time(&r.updated_on)) }
                dt { "Comment" } dd { (views::opt(r.comment.as_deref())) }
                dt { "Callback URL" } dd { (views::opt(r.callback_url.as_deref())) }
            }
        }
        section.card {
            h2 { "Ranges" }
            div.table-wrap {
                table #ranges {
                    thead { tr { th { "First" } th { "Last" } th.num { "Size" } th { "Assigned" } th { "Released" } } }
                    tbody {
                        @for g in &r.ranges {
                            tr {
                                td.mono { (views::opt(g.start.as_deref())) }
                                td.mono { (views::opt(g.end.as_deref())) }
                                td.num { (g.size) }
                                td { @if let Some(t) = &g.valid_from { (time(t)) } @else { span.muted { "not yet" } } }
                                td { @if let Some(t) = &g.valid_to { (time(t)) } @else { span.muted { "—" } } }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Status events" }
            div.table-wrap {
                table #events {
                    thead { tr { th { "When" } th { "Status" } th { "Reason" } th { "Deliveries" } } }
                    tbody {
                        @for e in &events {
                            tr {
                                td { (time(&e.occurred_on)) }
                                td { (status(e.status.as_str())) }
                                td { (e.reason) }
                                td {
                                    @if e.callback.is_none() && e.emails.is_empty() { span.muted { "none" } }
                                    ul.deliveries {
                                        @for d in e.callback.iter().chain(e.emails.iter()) {
                                            li {
                                                (status(d.state.as_str())) " " (d.channel) " → " span.target { (d.target) }
                                                " · " (d.attempts) " attempt" @if d.attempts != 1 { "s" }
                                                @if let Some(err) = &d.last_error { br; span.muted { (err) } }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !row.status.is_final() {
            section.card.danger {
                h2 { "Cancel this request" }
                form method="post" action={ "/console/requests/" (r.id) "/cancel" } {
                    (csrf(&c.console.session.csrf_token))
                    (views::field("Reason (optional)", "reason", None, html! {
                        input #reason name="reason" type="text" maxlength="1000";
                    }))
                    button.danger type="submit" #cancel { "Cancel request" }
                }
            }
        }
    };
    Ok(c.console
        .render(&state, "Request", Nav::Requests, content)
        .await)
}

async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(c, data): Posted<CustomerConsole>,
) -> Result<Response, Response> {
    let id = super::page_id(&id)?;
    let reason = data.text("reason");
    let to = format!("/console/requests/{id}");
    let flash = match orders::cancel(&state, &c.account_id, &id, reason)
        .await
        .map_err(ApiError::from)
    {
        Ok(r) => Flash::ok(format!("The request is {}.", r.status)),
        Err(e) if e.status == StatusCode::NOT_FOUND => return Err(super::not_found_page()),
        Err(e) if e.status.is_server_error() => return Err(super::internal(&e.body.message)),
        Err(e) => Flash::error(e.body.message),
    };
    Ok(c.console.done(&state, flash, &to).await)
}

// ---------------------------------------------------------------- numbers

async fn numbers_page(
    State(state): State<AppState>,
    c: CustomerConsole,
    q: QueryParams,
) -> Result<Response, Response> {
    let page = page_of(&q);
    let (list, total) =
        requests::phone_numbers(&state.db, &c.account_id, (page - 1) * PER_PAGE, PER_PAGE)
            .await
            .or_500()?;
    let content = html! {
        section.card {
            @if list.is_empty() {
                (views::empty("You hold no numbers. Order some on the Order numbers page."))
            } @else {
                div.table-wrap {
                    table #numbers {
                        thead { tr { th { "Number" } th.hide-sm { "Type" } th { "Area" } th.hide-sm { "Since" } th.hide-sm { "Request" } th {} } }
                        tbody {
                            @for n in &list {
                                tr {
                                    td.mono { (n.phone_number) }
                                    td.hide-sm { (n.country_code) " " (type_label(n.phone_number_type.as_str())) }
                                    td { (locale_text(n.area_code.as_deref(), n.city.as_deref(), n.region.as_deref())) }
                                    td.hide-sm { (time(&n.valid_from)) }
                                    td.hide-sm { a href={ "/console/requests/" (n.number_request_id) } { "view" } }
                                    td.actions-cell {
                                        a.button.small.danger-outline href={ "/console/numbers/release?number=" (urlencode(&n.phone_number)) } { "Release…" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (views::pager("/console/numbers", page, PER_PAGE, total))
        }
    };
    Ok(c.console
        .render(&state, "Numbers", Nav::Numbers, content)
        .await)
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The E.164 number of a form or query value (a `+` that became a space still counts).
fn number_param(v: Option<&str>) -> Option<String> {
    let n = format!("+{}", v?.trim().trim_start_matches('+'));
    crate::domain::is_e164(&n).then_some(n)
}

async fn release_page(
    State(state): State<AppState>,
    c: CustomerConsole,
    q: QueryParams,
) -> Result<Response, Response> {
    let Some(number) = number_param(q.get("number")) else {
        return Err(super::not_found_page());
    };
    let content = html! {
        section.card.danger {
            h2 { "Release " span.mono { (number) } "?" }
            p { "The number leaves your account now. It rests for a while and then returns to stock, where someone else may get it. This cannot be undone." }
            form method="post" action="/console/numbers/release" {
                (csrf(&c.console.session.csrf_token))
                input type="hidden" name="number" value=(number);
                div.actions {
                    a.button.secondary href="/console/numbers" { "Keep it" }
                    button.danger type="submit" #confirm-release { "Release the number" }
                }
            }
        }
    };
    Ok(c.console
        .render(&state, "Release a number", Nav::Numbers, content)
        .await)
}

async fn release(
    State(state): State<AppState>,
    Posted(c, data): Posted<CustomerConsole>,
) -> Result<Response, Response> {
    let Some(number) = number_param(data.get("number")) else {
        return Err(super::not_found_page());
    };
    let flash = match orders::release(&state, &c.account_id, &number)
        .await
        .map_err(ApiError::from)
    {
        Ok(n) => Flash::ok(format!("{} is released.", n.phone_number)),
        Err(e) if e.status.is_server_error() => return Err(super::internal(&e.body.message)),
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            Flash::error(format!("Your account does not hold {number}."))
        }
        Err(e) => Flash::error(e.body.message),
    };
    Ok(c.console.done(&state, flash, "/console/numbers").await)
}
