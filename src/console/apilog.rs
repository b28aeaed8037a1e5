//! The API log page ("Recent requests"): a customer sees its own account's calls, the operator
//! every account's; both filter by status and method and page through, newest first.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use maud::html;

use super::customer::{PER_PAGE, page_of, urlencode};
use super::views::{self, Nav, time_ms};
use super::{Console, OrInternal, Who};
use crate::AppState;
use crate::api::extract::QueryParams;
use crate::apilog::{self, ApiLogFilter};
use crate::domain::parse_uuid;

pub fn router() -> Router<AppState> {
    Router::new().route("/console/apilog", get(apilog_page))
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

async fn apilog_page(
    State(state): State<AppState>,
    c: Console,
    q: QueryParams,
) -> Result<Response, Response> {
    let page = page_of(&q);
    let operator = c.who == Who::Operator;
    let status = q
        .get("status")
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..=599).contains(s));
    let method = q
        .get("method")
        .map(str::to_ascii_uppercase)
        .filter(|m| METHODS.contains(&m.as_str()));
    let account = if operator {
        q.get("accountId").and_then(parse_uuid)
    } else {
        c.account_id().map(str::to_string)
    };
    let filter = ApiLogFilter {
        account_id: account.clone(),
        status,
        method: method.clone(),
    };
    let (entries, total) = apilog::list(&state.db, &filter, (page - 1) * PER_PAGE, PER_PAGE)
        .await
        .or_500()?;
    let mut base = format!(
        "/console/apilog?status={}&method={}",
        status.map(|s| s.to_string()).unwrap_or_default(),
        method.clone().unwrap_or_default()
    );
    if operator && let Some(a) = &account {
        base.push_str(&format!("&accountId={}", urlencode(a)));
    }
    let content = html! {
        form.filters method="get" action="/console/apilog" {
            label for="status" { "Status" }
            input #status name="status" type="number" min="100" max="599" value=(status.map(|s| s.to_string()).unwrap_or_default()) placeholder="any";
            label for="method" { "Method" }
            select #method name="method" data-autosubmit {
                option value="" { "Any" }
                @for m in METHODS { option value=(m) selected[method.as_deref() == Some(m)] { (m) } }
            }
            @if operator {
                label for="accountId" { "Account" }
                input.wide #accountId name="accountId" type="text" value=(account.clone().unwrap_or_default()) placeholder="all accounts";
            }
            button.secondary type="submit" { "Filter" }
        }
        section.card {
            @if entries.is_empty() {
                (views::empty("No calls recorded for this choice. Calls under /voice/ with a valid API key are recorded."))
            } @else {
                div.table-wrap {
                    table #apilog {
                        thead { tr {
                            th { "Time" } th { "Method" } th { "Path" } th.num { "Status" } th.num.hide-sm { "ms" }
                            th.hide-sm { "User agent" } th.hide-sm { "Request id" }
                            @if operator { th.hide-sm { "Account" } }
                        } }
                        tbody {
                            @for e in &entries {
                                tr {
                                    td { (time_ms(e.occurred_ms)) }
                                    td { span.mono { (e.method) } }
                                    td.target {
                                        span.mono { (e.path) @if let Some(qs) = &e.query { "?" (qs) } }
                                    }
                                    td.num {
                                        span class={ "badge " @if e.status < 300 { "badge-ok" } @else if e.status < 500 { "badge-wait" } @else { "badge-bad" } } { (e.status) }
                                        @if let Some(code) = &e.message_code { br; span.muted { (code) } }
                                    }
                                    td.num.hide-sm { (e.duration_ms) }
                                    td.hide-sm.target { (views::opt(e.user_agent.as_deref())) }
                                    td.hide-sm.mono { (e.request_id) }
                                    @if operator { td.hide-sm { a.mono href={ "/console/accounts/" (e.account_id) } { (e.account_id) } } }
                                }
                            }
                        }
                    }
                }
            }
            (views::pager(&base, page, PER_PAGE, total))
        }
    };
    Ok(c.render(&state, "API log", Nav::ApiLog, content).await)
}
