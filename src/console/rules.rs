//! Operator page for the order rules of a country and number type: restrictions and
//! requirements, viewed and edited through the same checks as the operator API's PUTs.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use maud::html;

use super::views::{self, Flash, Nav, csrf};
use super::{OperatorConsole, OrInternal, Posted};
use crate::AppState;
use crate::api::admin::{RequirementInput, RestrictionsInput, set_requirements, set_restrictions};
use crate::api::error::ApiError;
use crate::api::extract::QueryParams;
use crate::domain::{PhoneNumberType, is_country_code};
use crate::store::inventory;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/rules", get(rules_page))
        .route("/console/rules/restrictions", post(save_restrictions))
        .route("/console/rules/requirements", post(save_requirements))
}

/// The country and type a rules page is about (NL LOCAL when none or a wrong one is asked for).
fn subject(country: Option<&str>, kind: Option<&str>) -> (String, String) {
    let country = country
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| is_country_code(c))
        .unwrap_or_else(|| "NL".into());
    let kind = kind
        .and_then(PhoneNumberType::parse)
        .unwrap_or(PhoneNumberType::Local)
        .as_str()
        .to_string();
    (country, kind)
}

fn page_url(country: &str, kind: &str) -> String {
    format!("/console/rules?country={country}&type={kind}")
}

async fn rules_page(
    State(state): State<AppState>,
    OperatorConsole(c): OperatorConsole,
    q: QueryParams,
) -> Result<Response, Response> {
    let (country, kind) = subject(q.get("country"), q.get("type"));
    let typed = PhoneNumberType::parse(&kind).unwrap_or(PhoneNumberType::Local);
    let r = inventory::restrictions(&state.db, &country, typed)
        .await
        .or_500()?;
    let reqs = inventory::requirements(&state.db, &country, typed)
        .await
        .or_500()?;
    let mut known: Vec<(String, String)> = inventory::summary(&state.db)
        .await
        .or_500()?
        .into_iter()
        .map(|s| (s.country_code, s.phone_number_type.as_str().to_string()))
        .collect();
    known.dedup();
    let token = &c.session.csrf_token;
    let sizes = r
        .allowed_range_sizes
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let lines = reqs
        .iter()
        .map(|q| format!("{} | {} | {}", q.req_type, q.code, q.description))
        .collect::<Vec<_>>()
        .join("\n");
    let content = html! {
        form.filters method="get" action="/console/rules" {
            label for="country" { "Country" }
            input #country name="country" type="text" value=(country) maxlength="2" size="3" aria-label="Country";
            label for="type" { "Type" }
            select #type name="type" {
                @for t in ["LOCAL", "NATIONAL", "TOLLFREE"] { option value=(t) selected[t == kind] { (t) } }
            }
            button.secondary type="submit" { "Show" }
            @for (kc, kt) in &known {
                a.chip href=(page_url(kc, kt)) { (kc) " " (kt) }
            }
        }
        section.card {
            h2 { "Restrictions for " (country) " " (kind) }
            form method="post" action="/console/rules/restrictions" #restrictions {
                (csrf(token))
                input type="hidden" name="country" value=(country);
                input type="hidden" name="type" value=(kind);
                div.grid2 {
                    (views::field("Smallest quantity", "minQuantity", None, html! {
                        input #minQuantity name="minQuantity" type="number" min="1" max="1000" value=(r.min_quantity);
                    }))
                    (views::field("Largest quantity (at most 1000)", "maxQuantity", None, html! {
                        input #maxQuantity name="maxQuantity" type="number" min="1" max="1000" value=(r.max_quantity);
                    }))
                }
                (views::field("Allowed range sizes (ascending, comma-separated)", "allowedRangeSizes", None, html! {
                    input #allowedRangeSizes name="allowedRangeSizes" type="text" value=(sizes) placeholder="10, 100";
                }))
                label.check { input type="checkbox" name="rangesSupported" value="true" checked[r.ranges_supported]; " Ranges can be ordered" }
                label.check { input type="checkbox" name="requiresReview" value="true" checked[r.requires_review]; " Orders need the operator's review" }
                div.actions { button.primary type="submit" { "Save restrictions" } }
            }
        }
        section.card {
            h2 { "Requirements for " (country) " " (kind) }
            p.muted {
                "One per line: " code { "type | code | description" } ", where type 1 is a document to supply, 2 a rule on the company, 3 a rule on the number request. "
                code { "ADDRESS_IN_PREFIX_REGION" } " makes local orders need an area code in the profile's city. An empty list removes them all."
            }
            form method="post" action="/console/rules/requirements" #requirements {
                (csrf(token))
                input type="hidden" name="country" value=(country);
                input type="hidden" name="type" value=(kind);
                textarea name="lines" rows="5" aria-label="Requirements" { (lines) }
                div.actions { button.primary type="submit" { "Save requirements" } }
            }
        }
    };
    Ok(c.render(&state, "Order rules", Nav::Rules, content).await)
}

/// The API's error as one message line with its fields.
fn error_text(e: &ApiError) -> String {
    let mut text = e.body.message.clone();
    for f in &e.body.errors {
        text.push_str(&format!(" {}: {}.", f.field, f.message));
    }
    text
}

async fn save_restrictions(
    State(state): State<AppState>,
    Posted(OperatorConsole(c), data): Posted<OperatorConsole>,
) -> Result<Response, Response> {
    let (country, kind) = subject(data.get("country"), data.get("type"));
    let number = |name: &str| {
        data.text(name).map(|v| {
            v.parse::<i64>()
                .map(Into::into)
                .unwrap_or_else(|_| (-1).into())
        })
    };
    let sizes = data.text("allowedRangeSizes").map(|v| {
        v.split([',', ' ', ';'])
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<i64>()
                    .map(Into::into)
                    .unwrap_or_else(|_| (-1).into())
            })
            .collect()
    });
    let input = RestrictionsInput {
        min_quantity: number("minQuantity"),
        max_quantity: number("maxQuantity"),
        ranges_supported: Some(data.get("rangesSupported") == Some("true")),
        allowed_range_sizes: sizes,
        requires_review: Some(data.get("requiresReview") == Some("true")),
    };
    let flash = match set_restrictions(&state, &country, &kind, input).await {
        Ok(_) => Flash::ok(format!("Restrictions for {country} {kind} saved.")),
        Err(e) if e.status.is_server_error() => return Err(super::internal(&e.body.message)),
        Err(e) => Flash::error(format!("Nothing was saved. {}", error_text(&e))),
    };
    Ok(c.done(&state, flash, &page_url(&country, &kind)).await)
}

async fn save_requirements(
    State(state): State<AppState>,
    Posted(OperatorConsole(c), data): Posted<OperatorConsole>,
) -> Result<Response, Response> {
    let (country, kind) = subject(data.get("country"), data.get("type"));
    let list: Vec<RequirementInput> = data
        .get("lines")
        .unwrap_or("")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.splitn(3, '|').map(str::trim);
            RequirementInput {
                req_type: parts.next().map(|t| {
                    t.parse::<i64>()
                        .map(Into::into)
                        .unwrap_or_else(|_| 0.into())
                }),
                code: parts.next().map(str::to_string),
                description: parts.next().map(str::to_string),
            }
        })
        .collect();
    let mut errors = Vec::new();
    for (i, r) in list.iter().enumerate() {
        crate::text::check(
            &format!("[{i}].code"),
            r.code.as_deref().unwrap_or(""),
            &mut errors,
        );
        crate::text::check(
            &format!("[{i}].description"),
            r.description.as_deref().unwrap_or(""),
            &mut errors,
        );
    }
    let result = if errors.is_empty() {
        set_requirements(&state, &country, &kind, list).await
    } else {
        Err(ApiError::validation(errors))
    };
    let flash = match result {
        Ok(list) => Flash::ok(format!(
            "Requirements for {country} {kind} saved ({} in all).",
            list.len()
        )),
        Err(e) if e.status.is_server_error() => return Err(super::internal(&e.body.message)),
        Err(e) => Flash::error(format!("Nothing was saved. {}", error_text(&e))),
    };
    Ok(c.done(&state, flash, &page_url(&country, &kind)).await)
}
