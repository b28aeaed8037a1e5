//! Customer company profiles: list, create, edit. The form becomes the same JSON body the API
//! takes and goes through the same parsing and service calls.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use super::customer::{PER_PAGE, page_of};
use super::views::{self, Flash, Nav, csrf, status, time};
use super::{CustomerConsole, FormData, OrInternal, Posted, html_page};
use crate::AppState;
use crate::api::error::ApiError;
use crate::api::extract::{QueryParams, parse_object};
use crate::model::ProfileData;
use crate::profiles::{self as service, ProfileInput};
use crate::store::profiles;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/profiles", get(list_page))
        .route("/console/profiles/new", get(new_page).post(create))
        .route("/console/profiles/{id}", get(edit_page).post(update))
        .route(
            "/console/profiles/{id}/emailconfirmations",
            axum::routing::post(resend_confirmations),
        )
}

/// Sends the confirmation message again to the profile's unconfirmed addresses.
async fn resend_confirmations(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(c, _): Posted<CustomerConsole>,
) -> Result<Response, Response> {
    let id = super::page_id(&id)?;
    let r = match service::resend_confirmations(&state, &c.account_id, &id).await {
        Ok(r) => r,
        Err(crate::profiles::ProfileError::NotFound) => return Err(super::not_found_page()),
        Err(e) => return Err(super::internal(e)),
    };
    let mut parts = Vec::new();
    if !r.sent.is_empty() {
        parts.push(format!(
            "Confirmation message sent to {}.",
            r.sent.join(", ")
        ));
    }
    for (address, at) in &r.waiting {
        parts.push(format!(
            "{address} was sent one less than 10 minutes ago; another can be sent from {}.",
            views::human_time(&crate::domain::format_ms(*at))
        ));
    }
    let flash = if parts.is_empty() {
        Flash::ok("Every address of this profile is confirmed.")
    } else if r.sent.is_empty() {
        Flash::error(parts.join(" "))
    } else {
        Flash::ok(parts.join(" "))
    };
    Ok(c.console
        .done(&state, flash, &format!("/console/profiles/{id}"))
        .await)
}

async fn list_page(
    State(state): State<AppState>,
    c: CustomerConsole,
    q: QueryParams,
) -> Result<Response, Response> {
    let page = page_of(&q);
    let (list, total) = profiles::list(&state.db, &c.account_id, (page - 1) * PER_PAGE, PER_PAGE)
        .await
        .or_500()?;
    let content = html! {
        div.toolbar { a.button.primary href="/console/profiles/new" #new-profile { "New company profile" } }
        section.card {
            @if list.is_empty() { (views::empty("No company profiles yet. Numbers are ordered for an approved profile.")) }
            @else {
                div.table-wrap {
                    table #profiles {
                        thead { tr { th { "Name" } th { "Company" } th { "Numbers" } th { "Status" } th { "Reason" } th { "Updated" } } }
                        tbody {
                            @for p in &list {
                                tr {
                                    td { a href={ "/console/profiles/" (p.id) } { (p.data.name) } }
                                    td { (p.data.company_name) }
                                    td { (p.data.number_country_code) " · " (views::types(&p.data.phone_number_types)) }
                                    td { (status(p.status.as_str())) }
                                    td { (views::opt(p.status_reason.as_deref())) }
                                    td { (time(&p.updated_on)) }
                                }
                            }
                        }
                    }
                }
            }
            (views::pager("/console/profiles", page, PER_PAGE, total))
        }
    };
    Ok(c.console
        .render(&state, "Company profiles", Nav::Profiles, content)
        .await)
}

/// The form's values, as entered (or as stored when editing).
#[derive(Default)]
struct Values {
    fields: Vec<(&'static str, String)>,
    emails: String,
    types: Vec<String>,
}

const TEXT_FIELDS: &[(&str, &str, bool, usize)] = &[
    ("name", "Profile name", true, 100),
    ("companyName", "Company name", true, 100),
    (
        "businessRegisterNumber",
        "Business register number",
        true,
        100,
    ),
    (
        "representativeFirstName",
        "Representative's first name",
        true,
        100,
    ),
    (
        "representativeLastName",
        "Representative's last name",
        true,
        100,
    ),
    (
        "representativePhoneNumber",
        "Representative's phone (E.164, optional)",
        false,
        16,
    ),
    ("street", "Street", true, 255),
    ("houseNumber", "House number", true, 20),
    ("postalCode", "Postal code", true, 12),
    ("city", "City", true, 100),
    ("region", "Region (optional)", false, 100),
    ("countryCode", "Address country (e.g. NL)", true, 2),
    (
        "numberCountryCode",
        "Country of the numbers (e.g. NL)",
        true,
        2,
    ),
];

impl Values {
    fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    fn from_form(f: &FormData) -> Values {
        Values {
            fields: TEXT_FIELDS
                .iter()
                .map(|(k, ..)| (*k, f.get(k).unwrap_or("").to_string()))
                .collect(),
            emails: f.get("emailAddresses").unwrap_or("").to_string(),
            types: f.all("phoneNumberTypes"),
        }
    }

    fn from_profile(d: &ProfileData) -> Values {
        let v = serde_json::to_value(d).unwrap_or_default();
        Values {
            fields: TEXT_FIELDS
                .iter()
                .map(|(k, ..)| (*k, v[*k].as_str().unwrap_or("").to_string()))
                .collect(),
            emails: d.email_addresses.join("\n"),
            types: d
                .phone_number_types
                .iter()
                .map(|t| t.as_str().to_string())
                .collect(),
        }
    }

    /// The JSON body of the API: an empty optional field is `null`, an empty required one
    /// is left for the API's "is required".
    fn to_json(&self) -> String {
        let mut m = Map::new();
        for (k, ..) in TEXT_FIELDS {
            let v = self.get(k).trim();
            // An empty field is null: cleared when optional, "is required" when not.
            let value = if v.is_empty() { Value::Null } else { json!(v) };
            m.insert((*k).into(), value);
        }
        let emails: Vec<&str> = self
            .emails
            .split(['\n', ',', ';'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        m.insert("emailAddresses".into(), json!(emails));
        m.insert("phoneNumberTypes".into(), json!(self.types));
        Value::Object(m).to_string()
    }
}

fn field_error<'a>(errors: &'a [(String, String)], name: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|(f, _)| f == name || f.starts_with(&format!("{name}[")))
        .map(|(_, m)| m.as_str())
}

fn profile_form(
    action: &str,
    token: &str,
    v: &Values,
    errors: &[(String, String)],
    top: Option<&str>,
    submit: &str,
) -> Markup {
    html! {
        form.card.profile method="post" action=(action) #profile-form {
            (csrf(token))
            @if let Some(t) = top { div.flash.flash-error role="alert" { (t) } }
            div.grid2 {
                @for (k, label, required, max) in TEXT_FIELDS {
                    (views::field(label, k, field_error(errors, k), html! {
                        input id=(k) name=(k) type="text" value=(v.get(k)) maxlength=(max) required[*required];
                    }))
                }
            }
            (views::field("E-mail addresses for status mails (one per line)", "emailAddresses", field_error(errors, "emailAddresses"), html! {
                textarea #emailAddresses name="emailAddresses" rows="3" required { (v.emails) }
            }))
            fieldset class=@if field_error(errors, "phoneNumberTypes").is_some() { "field invalid" } @else { "field" } {
                legend { "Number types" }
                @for (t, label) in [("LOCAL", "Local (geographic)"), ("NATIONAL", "National (non-geographic)"), ("TOLLFREE", "Toll-free")] {
                    label.check {
                        input type="checkbox" name="phoneNumberTypes" value=(t) checked[v.types.iter().any(|x| x == t)];
                        " " (label)
                    }
                }
                @if let Some(e) = field_error(errors, "phoneNumberTypes") { p.field-error { (e) } }
            }
            div.actions {
                a.button.secondary href="/console/profiles" { "Back" }
                button.primary type="submit" #save-profile { (submit) }
            }
        }
    }
}

fn errors_of(e: &ApiError) -> (Vec<(String, String)>, Option<String>) {
    let list: Vec<(String, String)> = e
        .body
        .errors
        .iter()
        .map(|f| (f.field.clone(), f.message.clone()))
        .collect();
    let top = Some(if list.is_empty() {
        e.body.message.clone()
    } else {
        format!("{} Check the marked fields.", e.body.message)
    });
    (list, top)
}

async fn new_page(State(state): State<AppState>, c: CustomerConsole) -> Result<Response, Response> {
    let v = Values {
        types: vec!["LOCAL".into()],
        ..Default::default()
    };
    let content = profile_form(
        "/console/profiles/new",
        &c.console.session.csrf_token,
        &v,
        &[],
        None,
        "Create profile",
    );
    Ok(c.console
        .render(&state, "New company profile", Nav::Profiles, content)
        .await)
}

async fn create(
    State(state): State<AppState>,
    Posted(c, data): Posted<CustomerConsole>,
) -> Result<Response, Response> {
    let v = Values::from_form(&data);
    let result = match parse_object::<ProfileInput>(v.to_json().as_bytes()) {
        Ok((input, _)) => service::create(&state, &c.account_id, input, None)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(answer) => {
            let body: Value = serde_json::from_str(&answer.body).unwrap_or_default();
            let flash = Flash::ok(format!(
                "Profile created; its status is {}.",
                views::status_label(body["status"].as_str().unwrap_or("PendingApproval"))
            ));
            Ok(c.console
                .done(&state, flash, &format!("/console/profiles/{}", answer.id))
                .await)
        }
        Err(e) if e.status.is_server_error() => Err(super::internal(&e.body.message)),
        Err(e) => {
            let (errors, top) = errors_of(&e);
            let content = profile_form(
                "/console/profiles/new",
                &c.console.session.csrf_token,
                &v,
                &errors,
                top.as_deref(),
                "Create profile",
            );
            Ok(html_page(
                StatusCode::BAD_REQUEST,
                views::page(
                    c.console.frame("New company profile", Nav::Profiles, None),
                    content,
                ),
            ))
        }
    }
}

async fn edit_content(
    c: &CustomerConsole,
    p: &crate::model::CompanyProfile,
    v: &Values,
    errors: &[(String, String)],
    top: Option<&str>,
) -> Markup {
    html! {
        section.card {
            div.card-head {
                h2 { (p.data.name) }
                (status(p.status.as_str()))
            }
            @if let Some(r) = &p.status_reason { p.reason { (r) } }
            p.muted { "Created " (time(&p.created_on)) " · updated " (time(&p.updated_on)) }
            p.muted { "A change to anything but the name and the e-mail addresses sends an approved profile back to review." }
            @if !p.unconfirmed_email_addresses.is_empty() {
                div #unconfirmed {
                    p { "Not confirmed yet (they receive no status messages until someone opens the link in the confirmation message and confirms): " strong { (p.unconfirmed_email_addresses.join(", ")) } }
                    form method="post" action={ "/console/profiles/" (p.id) "/emailconfirmations" } {
                        (csrf(&c.console.session.csrf_token))
                        button type="submit" { "Send the confirmation message again" }
                    }
                }
            }
        }
        (profile_form(&format!("/console/profiles/{}", p.id), &c.console.session.csrf_token, v, errors, top, "Save changes"))
    }
}

async fn edit_page(
    State(state): State<AppState>,
    c: CustomerConsole,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    let id = super::page_id(&id)?;
    let p = match service::get(&state, &c.account_id, &id).await {
        Ok(p) => p,
        Err(crate::profiles::ProfileError::NotFound) => return Err(super::not_found_page()),
        Err(e) => return Err(super::internal(e)),
    };
    let v = Values::from_profile(&p.data);
    let content = edit_content(&c, &p, &v, &[], None).await;
    Ok(c.console
        .render(&state, "Company profile", Nav::Profiles, content)
        .await)
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(c, data): Posted<CustomerConsole>,
) -> Result<Response, Response> {
    let id = super::page_id(&id)?;
    let v = Values::from_form(&data);
    let result = match parse_object::<ProfileInput>(v.to_json().as_bytes()) {
        Ok((patch, _)) => service::update(&state, &c.account_id, &id, None, &patch)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(p) => {
            let flash = Flash::ok(format!(
                "Profile saved; its status is {}.",
                views::status_label(p.status.as_str())
            ));
            Ok(c.console
                .done(&state, flash, &format!("/console/profiles/{id}"))
                .await)
        }
        Err(e) if e.status == StatusCode::NOT_FOUND => Err(super::not_found_page()),
        Err(e) if e.status.is_server_error() => Err(super::internal(&e.body.message)),
        Err(e) => {
            let p = match service::get(&state, &c.account_id, &id).await {
                Ok(p) => p,
                Err(crate::profiles::ProfileError::NotFound) => {
                    return Err(super::not_found_page());
                }
                Err(e) => return Err(super::internal(e)),
            };
            let (errors, top) = errors_of(&e);
            let content = edit_content(&c, &p, &v, &errors, top.as_deref()).await;
            Ok(html_page(
                StatusCode::BAD_REQUEST,
                views::page(
                    c.console.frame("Company profile", Nav::Profiles, None),
                    content,
                ),
            ))
        }
    }
}
