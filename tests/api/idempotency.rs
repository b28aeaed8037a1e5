//! `Idempotency-Key` on the two create calls (docs/api.md).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn post_with_key(
    app: &TestApp,
    acct: &Acct,
    url: &str,
    key: &str,
    body: &str,
) -> reqwest::Response {
    app.client
        .post(url)
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .header("Idempotency-Key", key)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn total(app: &TestApp, acct: &Acct, url: &str) -> i64 {
    header_i64(&app.get(acct, url).await, "x-cm-pagination-total")
}

#[tokio::test]
async fn same_key_and_body_replays_the_first_answer_without_a_second_request() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    app.import_nl_local("+31201000000", 10).await;
    let url = format!("{}/numberrequests", app.nr(&acct.id));
    let body = request_body(&profile, 2).to_string();

    let first = post_with_key(&app, &acct, &url, "order-42", &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_text = first.text().await.unwrap();
    let first_json: Value = serde_json::from_str(&first_text).unwrap();
    assert_eq!(first_json["status"], "Completed");

    let second = post_with_key(&app, &acct, &url, "order-42", &body).await;
    assert_eq!(second.status(), StatusCode::CREATED);
    let second_text = second.text().await.unwrap();
    assert_eq!(second_text, first_text, "replay must be byte-identical");

    // same JSON value written differently is the same body
    let reordered = json!({"areaCode": "20", "phoneNumberType": "LOCAL", "quantity": 2, "companyProfileId": profile});
    let third = post_with_key(&app, &acct, &url, "order-42", &format!("  {}\n", reordered)).await;
    assert_eq!(third.status(), StatusCode::CREATED);
    assert_eq!(third.text().await.unwrap(), first_text);

    assert_eq!(total(&app, &acct, &url).await, 1);
    let (_, numbers) = app.all_phone_numbers(&acct).await;
    assert_eq!(numbers, 2, "the replay must not assign numbers again");
    assert_eq!(app.stock_counts("NL", "LOCAL", "20").await.assigned, 2);

    // a replay answers the first answer even after the request changed? The contract says
    // "replays the first 2xx answer (status and body)", so the stored body comes back.
    let fourth = post_with_key(&app, &acct, &url, "order-42", &body).await;
    assert_eq!(fourth.text().await.unwrap(), first_text);
}

#[tokio::test]
async fn same_key_with_a_different_body_is_422_idempotency_key_reused() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    let url = format!("{}/numberrequests", app.nr(&acct.id));
    let res = post_with_key(
        &app,
        &acct,
        &url,
        "k1",
        &request_body(&profile, 1).to_string(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = post_with_key(
        &app,
        &acct,
        &url,
        "k1",
        &request_body(&profile, 2).to_string(),
    )
    .await;
    expect_error(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
    assert_eq!(total(&app, &acct, &url).await, 1);
}

#[tokio::test]
async fn a_request_key_reused_on_the_profile_endpoint_is_422() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    let nr_url = format!("{}/numberrequests", app.nr(&acct.id));
    let cp_url = format!("{}/companyprofiles", app.cp(&acct.id));
    let res = post_with_key(
        &app,
        &acct,
        &nr_url,
        "shared",
        &request_body(&profile, 1).to_string(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = post_with_key(&app, &acct, &cp_url, "shared", &profile_body().to_string()).await;
    expect_error(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
    assert_eq!(total(&app, &acct, &cp_url).await, 1);
}

#[tokio::test]
async fn profile_create_is_idempotent_too() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let url = format!("{}/companyprofiles", app.cp(&acct.id));
    let body = profile_body().to_string();
    let first = post_with_key(&app, &acct, &url, "p-1", &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_text = first.text().await.unwrap();
    let second = post_with_key(&app, &acct, &url, "p-1", &body).await;
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(second.text().await.unwrap(), first_text);
    assert_eq!(total(&app, &acct, &url).await, 1);

    let mut other = profile_body();
    other["name"] = json!("Different");
    let res = post_with_key(&app, &acct, &url, "p-1", &other.to_string()).await;
    expect_error(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
    // a key used on profiles cannot be reused on requests either
    let approved = app.approved_profile(&acct).await;
    let res = post_with_key(
        &app,
        &acct,
        &format!("{}/numberrequests", app.nr(&acct.id)),
        "p-1",
        &request_body(&approved, 1).to_string(),
    )
    .await;
    expect_error(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
}

#[tokio::test]
async fn keys_are_scoped_to_the_account() {
    let app = spawn_app().await;
    let a = app.create_account("A").await;
    let b = app.create_account("B").await;
    let pa = app.approved_profile(&a).await;
    let pb = app.approved_profile(&b).await;
    let res = post_with_key(
        &app,
        &a,
        &format!("{}/numberrequests", app.nr(&a.id)),
        "same",
        &request_body(&pa, 1).to_string(),
    )
    .await;
    let ra = expect_json(res, StatusCode::CREATED).await;
    let res = post_with_key(
        &app,
        &b,
        &format!("{}/numberrequests", app.nr(&b.id)),
        "same",
        &request_body(&pb, 1).to_string(),
    )
    .await;
    let rb = expect_json(res, StatusCode::CREATED).await;
    assert_ne!(ra["id"], rb["id"]);
    assert_eq!(rb["accountId"], b.id.as_str());
}

#[tokio::test]
async fn without_a_key_every_post_creates_a_new_request() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    let body = request_body(&profile, 1);
    let r1 = app.create_request(&acct, &body).await;
    let r2 = app.create_request(&acct, &body).await;
    assert_ne!(r1["id"], r2["id"]);
}

#[tokio::test]
async fn an_overlong_idempotency_key_is_rejected_with_400() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    let url = format!("{}/numberrequests", app.nr(&acct.id));
    let res = post_with_key(
        &app,
        &acct,
        &url,
        &"k".repeat(256),
        &request_body(&profile, 1).to_string(),
    )
    .await;
    expect_error_shape(res, StatusCode::BAD_REQUEST).await;
    let res = post_with_key(
        &app,
        &acct,
        &url,
        &"k".repeat(255),
        &request_body(&profile, 1).to_string(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(total(&app, &acct, &url).await, 1);
}
