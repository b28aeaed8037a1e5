//! Operator review of number requests, restrictions and the operator request list (docs/api.md).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn restrictions(min: i64, max: i64, review: bool) -> Value {
    json!({"countryCode": "NL", "phoneNumberType": "LOCAL", "minQuantity": min, "maxQuantity": max,
           "rangesSupported": false, "allowedRangeSizes": [], "requiresReview": review})
}

async fn setup() -> (TestApp, Acct, String) {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    (app, acct, profile)
}

async fn accept(app: &TestApp, id: &str, body: Value) -> reqwest::Response {
    app.admin_post(&format!("/admin/v1/numberrequests/{id}/accept"), &body)
        .await
}
async fn reject(app: &TestApp, id: &str, body: Value) -> reqwest::Response {
    app.admin_post(&format!("/admin/v1/numberrequests/{id}/reject"), &body)
        .await
}

#[tokio::test]
async fn put_restrictions_answers_the_restrictions_and_path_wins_over_body() {
    let app = spawn_app().await;
    let mut body = restrictions(1, 7, false);
    body["countryCode"] = json!("DE");
    body["phoneNumberType"] = json!("TOLLFREE");
    let res = app.set_restrictions("NL", "LOCAL", body).await;
    let got = expect_json(res, StatusCode::OK).await;
    assert_eq!(got, restrictions(1, 7, false));
}

#[tokio::test]
async fn invalid_restrictions_are_validation_failed() {
    let app = spawn_app().await;
    let mut unsorted = restrictions(1, 10, false);
    unsorted["allowedRangeSizes"] = json!([100, 10]);
    let mut dup = restrictions(1, 10, false);
    dup["allowedRangeSizes"] = json!([10, 10]);
    let mut negative = restrictions(1, 10, false);
    negative["allowedRangeSizes"] = json!([-10]);
    for (body, field) in [
        (restrictions(1, 1001, false), "maxQuantity"),
        (restrictions(0, 10, false), "minQuantity"),
        (restrictions(11, 10, false), "minQuantity"),
        (unsorted, "allowedRangeSizes"),
        (dup, "allowedRangeSizes"),
        (negative, "allowedRangeSizes"),
    ] {
        let res = app.set_restrictions("NL", "LOCAL", body).await;
        let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
        assert_field(&err, field);
    }
    let res = app
        .set_restrictions("NL", "MOBILE", restrictions(1, 10, false))
        .await;
    let status = res.status();
    assert!(
        status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND,
        "{status}"
    );
    expect_error_shape(res, status).await;
}

#[tokio::test]
async fn review_keeps_a_request_pending_until_accept_completes_it() {
    let (app, acct, profile) = setup().await;
    expect_json(
        app.set_restrictions("NL", "LOCAL", restrictions(1, 1000, true))
            .await,
        StatusCode::OK,
    )
    .await;
    app.import_nl_local("+31201000000", 5).await;
    let req = app.create_request(&acct, &request_body(&profile, 2)).await;
    let id = s(&req["id"]);
    assert_eq!(
        req["status"], "Pending",
        "review must hold the request: {req}"
    );
    assert_eq!(app.stock_counts("NL", "LOCAL", "20").await.assigned, 0);

    let res = accept(&app, &id, json!({"reason": "KYC done"})).await;
    let accepted = expect_json(res, StatusCode::OK).await;
    assert_eq!(
        accepted["status"], "Completed",
        "stock is there, so accept completes at once: {accepted}"
    );
    assert_eq!(accepted["statusId"], 3);
    assert_eq!(app.get_request(&acct, &id).await, accepted);
    let statuses: Vec<String> = app
        .events(&acct, &id)
        .await
        .iter()
        .map(|e| s(&e["status"]))
        .collect();
    assert_eq!(statuses, ["Pending", "Accepted", "Completed"]);
    let events = app.events(&acct, &id).await;
    assert_eq!(events[1]["reason"], "KYC done");
    let (_, total) = app.all_phone_numbers(&acct).await;
    assert_eq!(total, 2);
}

#[tokio::test]
async fn accept_without_stock_is_accepted_and_completes_on_import() {
    let (app, acct, profile) = setup().await;
    expect_json(
        app.set_restrictions("NL", "LOCAL", restrictions(1, 1000, true))
            .await,
        StatusCode::OK,
    )
    .await;
    let req = app.create_request(&acct, &request_body(&profile, 1)).await;
    let id = s(&req["id"]);
    let res = accept(&app, &id, json!({"reason": "Looks fine"})).await;
    let accepted = expect_json(res, StatusCode::OK).await;
    assert_eq!(accepted["status"], "Accepted");
    assert_eq!(accepted["statusId"], 2);
    assert_eq!(accepted["reason"], "Looks fine");
    assert_unassigned(&accepted);

    // without a reason the status still carries one
    let other = app.create_request(&acct, &request_body(&profile, 1)).await;
    let other = expect_json(
        accept(&app, &s(&other["id"]), json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(other["status"], "Accepted");
    assert!(!s(&other["reason"]).trim().is_empty());

    let res = accept(&app, &id, json!({})).await;
    expect_error(res, StatusCode::CONFLICT, "INVALID_STATUS_TRANSITION").await;

    app.import_nl_local("+31201000000", 2).await;
    assert_eq!(app.get_request(&acct, &id).await["status"], "Completed");
    let res = accept(&app, &id, json!({})).await;
    expect_error(res, StatusCode::CONFLICT, "REQUEST_FINALIZED").await;
    let res = reject(&app, &id, json!({"reason": "too late"})).await;
    expect_error(res, StatusCode::CONFLICT, "REQUEST_FINALIZED").await;
}

#[tokio::test]
async fn an_accepted_request_can_still_be_cancelled() {
    let (app, acct, profile) = setup().await;
    expect_json(
        app.set_restrictions("NL", "LOCAL", restrictions(1, 1000, true))
            .await,
        StatusCode::OK,
    )
    .await;
    let req = app.create_request(&acct, &request_body(&profile, 1)).await;
    let id = s(&req["id"]);
    expect_json(accept(&app, &id, json!({})).await, StatusCode::OK).await;
    let cancelled = expect_json(app.cancel(&acct, &id).await, StatusCode::OK).await;
    assert_eq!(cancelled["status"], "Cancelled");
    let res = accept(&app, &id, json!({})).await;
    expect_error(res, StatusCode::CONFLICT, "REQUEST_FINALIZED").await;
}

#[tokio::test]
async fn reject_needs_a_reason_which_becomes_the_requests_reason() {
    let (app, acct, profile) = setup().await;
    let req = app.create_request(&acct, &request_body(&profile, 1)).await;
    let id = s(&req["id"]);
    for body in [json!({}), json!({"reason": ""})] {
        let err = expect_error(
            reject(&app, &id, body).await,
            StatusCode::BAD_REQUEST,
            "VALIDATION_FAILED",
        )
        .await;
        assert_field(&err, "reason");
    }
    let rejected = expect_json(
        reject(&app, &id, json!({"reason": "Fraud suspected"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rejected["status"], "Rejected");
    assert_eq!(rejected["statusId"], 4);
    assert_eq!(rejected["reason"], "Fraud suspected");
    expect_error(
        app.cancel(&acct, &id).await,
        StatusCode::CONFLICT,
        "REQUEST_FINALIZED",
    )
    .await;
    expect_error(
        reject(&app, &id, json!({"reason": "again"})).await,
        StatusCode::CONFLICT,
        "REQUEST_FINALIZED",
    )
    .await;
    let statuses: Vec<String> = app
        .events(&acct, &id)
        .await
        .iter()
        .map(|e| s(&e["status"]))
        .collect();
    assert_eq!(statuses, ["Pending", "Rejected"]);
}

#[tokio::test]
async fn review_is_decided_when_the_request_is_created() {
    let (app, acct, profile) = setup().await;
    expect_json(
        app.set_restrictions("NL", "LOCAL", restrictions(1, 1000, true))
            .await,
        StatusCode::OK,
    )
    .await;
    let reviewed = app.create_request(&acct, &request_body(&profile, 1)).await;
    expect_json(
        app.set_restrictions("NL", "LOCAL", restrictions(1, 1000, false))
            .await,
        StatusCode::OK,
    )
    .await;
    app.import_nl_local("+31201000000", 2).await;
    assert_eq!(
        app.get_request(&acct, &s(&reviewed["id"])).await["status"],
        "Pending"
    );
    // a new request no longer needs review
    let fresh = app.create_request(&acct, &request_body(&profile, 1)).await;
    assert_eq!(fresh["status"], "Completed");
}

#[tokio::test]
async fn accept_or_reject_of_unknown_request_is_404() {
    let app = spawn_app().await;
    expect_error(
        accept(&app, &new_uuid(), json!({})).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
    expect_error(
        reject(&app, &new_uuid(), json!({"reason": "x"})).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn operator_request_list_spans_accounts_and_filters() {
    let app = spawn_app().await;
    let a = app.create_account("A").await;
    let b = app.create_account("B").await;
    let pa = app.approved_profile(&a).await;
    let pb = app.approved_profile(&b).await;
    let ra = app.create_request(&a, &request_body(&pa, 1)).await;
    let rb = app.create_request(&b, &request_body(&pb, 1)).await;
    expect_json(app.cancel(&b, &s(&rb["id"])).await, StatusCode::OK).await;

    let res = app.admin_get("/admin/v1/numberrequests").await;
    assert_eq!(header_i64(&res, "x-cm-pagination-total"), 2);
    let list: Vec<Value> = res.json().await.unwrap();
    assert_eq!(list[0]["id"], rb["id"]);
    assert_eq!(list[1]["id"], ra["id"]);

    let res = app
        .admin_get(&format!("/admin/v1/numberrequests?accountId={}", a.id))
        .await;
    let list: Vec<Value> = expect_json(res, StatusCode::OK)
        .await
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], ra["id"]);

    let res = app
        .admin_get("/admin/v1/numberrequests?status=Cancelled")
        .await;
    let list: Vec<Value> = expect_json(res, StatusCode::OK)
        .await
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], rb["id"]);

    let res = app.admin_get("/admin/v1/numberrequests?take=101").await;
    expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
}

fn assert_unassigned(req: &Value) {
    for r in req["ranges"].as_array().unwrap() {
        assert!(r["start"].is_null() && r["id"].is_null(), "{r}");
    }
}
