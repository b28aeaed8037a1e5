//! Customer authentication on every customer route (docs/api.md) and isolation between accounts.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// Every customer route of this issue: method, path below the account (`NR` or `CP`), body.
fn routes(app: &TestApp, account: &str) -> Vec<(Method, String, Option<Value>)> {
    let nr = app.nr(account);
    let cp = app.cp(account);
    let id = new_uuid();
    let profile = new_uuid();
    vec![
        (
            Method::POST,
            format!("{nr}/numberrequests"),
            Some(request_body(&profile, 1)),
        ),
        (Method::GET, format!("{nr}/numberrequests"), None),
        (
            Method::GET,
            format!("{nr}/numberrequests?status=Pending&skip=0&take=10"),
            None,
        ),
        (Method::GET, format!("{nr}/numberrequests/{id}"), None),
        (
            Method::POST,
            format!("{nr}/numberrequests/{id}/cancel"),
            None,
        ),
        (
            Method::POST,
            format!("{nr}/numberrequests/{id}/cancel"),
            Some(json!({"reason": "x"})),
        ),
        (
            Method::GET,
            format!("{nr}/numberrequests/{id}/events"),
            None,
        ),
        (Method::GET, format!("{nr}/numberrequests/statuses"), None),
        (Method::GET, format!("{nr}/phonenumbers"), None),
        (
            Method::POST,
            format!("{cp}/companyprofiles"),
            Some(profile_body()),
        ),
        (Method::GET, format!("{cp}/companyprofiles"), None),
        (Method::GET, format!("{cp}/companyprofiles/{profile}"), None),
        (
            Method::PUT,
            format!("{cp}/companyprofiles/{profile}"),
            Some(json!({"name": "x"})),
        ),
    ]
}

async fn call(
    app: &TestApp,
    method: &Method,
    url: &str,
    body: &Option<Value>,
    key: Option<&str>,
) -> reqwest::Response {
    let mut rb = app.client.request(method.clone(), url);
    if let Some(k) = key {
        rb = rb.header("X-CM-PRODUCTTOKEN", k);
    }
    if let Some(b) = body {
        rb = rb.json(b);
    }
    rb.send().await.unwrap()
}

#[tokio::test]
async fn every_customer_route_answers_401_without_a_key() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    for (m, url, body) in routes(&app, &acct.id) {
        let res = call(&app, &m, &url, &body, None).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{m} {url}");
        expect_error_shape(res, StatusCode::UNAUTHORIZED).await;
    }
}

#[tokio::test]
async fn every_customer_route_answers_401_for_an_unknown_or_empty_key() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    for (m, url, body) in routes(&app, &acct.id) {
        for key in ["no-such-key", "", &format!("{}x", acct.key)] {
            let res = call(&app, &m, &url, &body, Some(key)).await;
            assert_eq!(
                res.status(),
                StatusCode::UNAUTHORIZED,
                "{m} {url} key {key:?}"
            );
            expect_error_shape(res, StatusCode::UNAUTHORIZED).await;
        }
    }
}

#[tokio::test]
async fn every_customer_route_answers_401_for_a_revoked_key() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let res = app
        .admin(
            Method::DELETE,
            &format!("/admin/v1/accounts/{}/apikeys/{}", acct.id, acct.key_id),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    for (m, url, body) in routes(&app, &acct.id) {
        let res = call(&app, &m, &url, &body, Some(&acct.key)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{m} {url}");
        expect_error_shape(res, StatusCode::UNAUTHORIZED).await;
    }
}

#[tokio::test]
async fn every_customer_route_answers_403_on_another_accounts_path() {
    let app = spawn_app().await;
    let a = app.create_account("A").await;
    let b = app.create_account("B").await;
    for (m, url, body) in routes(&app, &a.id) {
        let res = call(&app, &m, &url, &body, Some(&b.key)).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{m} {url}");
        expect_error_shape(res, StatusCode::FORBIDDEN).await;
    }
}

#[tokio::test]
async fn every_customer_route_answers_403_for_a_nonexistent_account_path() {
    let app = spawn_app().await;
    let b = app.create_account("B").await;
    for (m, url, body) in routes(&app, &new_uuid()) {
        let res = call(&app, &m, &url, &body, Some(&b.key)).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{m} {url}");
        expect_error_shape(res, StatusCode::FORBIDDEN).await;
    }
}

#[tokio::test]
async fn account_segment_that_is_not_a_uuid_never_answers_404() {
    // docs/api.md: "the {accountGuid} segment never answers 404".
    let app = spawn_app().await;
    let b = app.create_account("B").await;
    for (m, url, body) in routes(&app, "not-a-uuid") {
        let res = call(&app, &m, &url, &body, Some(&b.key)).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{m} {url}");
        expect_error_shape(res, StatusCode::FORBIDDEN).await;
        let res = call(&app, &m, &url, &body, None).await;
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "{m} {url} without key"
        );
    }
}

#[tokio::test]
async fn the_product_token_header_name_is_case_insensitive() {
    let app = spawn_app().await;
    let a = app.create_account("A").await;
    let res = app
        .client
        .get(format!("{}/numberrequests/statuses", app.nr(&a.id)))
        .header("x-cm-producttoken", &a.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_second_account_can_neither_read_nor_change_the_first_ones_data() {
    let app = spawn_app().await;
    let a = app.create_account("A").await;
    let b = app.create_account("B").await;
    app.import_nl_local("+31201000000", 10).await;
    let profile = app.approved_profile(&a).await;
    let done = app.create_request(&a, &request_body(&profile, 2)).await;
    assert_eq!(done["status"], "Completed");
    let pending = app.create_request(&a, &request_body(&profile, 50)).await;
    assert_eq!(pending["status"], "Pending");
    let done_id = s(&done["id"]);
    let pending_id = s(&pending["id"]);
    let profile_before = expect_json(
        app.get(&a, &format!("{}/companyprofiles/{profile}", app.cp(&a.id)))
            .await,
        StatusCode::OK,
    )
    .await;

    // B, on its own path, with A's ids: unknown.
    let nr = app.nr(&b.id);
    let cp = app.cp(&b.id);
    for url in [
        format!("{nr}/numberrequests/{done_id}"),
        format!("{nr}/numberrequests/{pending_id}"),
        format!("{nr}/numberrequests/{pending_id}/events"),
        format!("{cp}/companyprofiles/{profile}"),
    ] {
        expect_error(app.get(&b, &url).await, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    }
    expect_error(
        app.cancel(&b, &pending_id).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
    let res = app
        .client
        .put(format!("{cp}/companyprofiles/{profile}"))
        .header("X-CM-PRODUCTTOKEN", &b.key)
        .json(&json!({"name": "stolen", "city": "Rotterdam"}))
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    // B cannot order on A's profile
    let res = app.post_request(&b, &request_body(&profile, 1)).await;
    expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;

    // B's lists are empty
    for list in [
        format!("{nr}/numberrequests"),
        format!("{nr}/phonenumbers"),
        format!("{cp}/companyprofiles"),
        format!("{nr}/numberrequests?companyProfileId={profile}"),
    ] {
        let res = app.get(&b, &list).await;
        assert_eq!(res.status(), StatusCode::OK, "{list}");
        assert_eq!(header_i64(&res, "x-cm-pagination-total"), 0, "{list}");
        let items: Vec<Value> = res.json().await.unwrap();
        assert!(items.is_empty(), "{list}: {items:?}");
    }

    // B with its key on A's path: 403 for reads and writes
    let res = app
        .get(&b, &format!("{}/numberrequests/{done_id}", app.nr(&a.id)))
        .await;
    expect_error_shape(res, StatusCode::FORBIDDEN).await;
    let res = app
        .client
        .post(format!(
            "{}/numberrequests/{pending_id}/cancel",
            app.nr(&a.id)
        ))
        .header("X-CM-PRODUCTTOKEN", &b.key)
        .send()
        .await
        .unwrap();
    expect_error_shape(res, StatusCode::FORBIDDEN).await;

    // A's data is untouched
    assert_eq!(app.get_request(&a, &done_id).await, done);
    let still = app.get_request(&a, &pending_id).await;
    assert_eq!(still["status"], "Pending");
    let profile_after = expect_json(
        app.get(&a, &format!("{}/companyprofiles/{profile}", app.cp(&a.id)))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(profile_after, profile_before);
    let (numbers, total) = app.all_phone_numbers(&a).await;
    assert_eq!(total, 2);
    assert_eq!(numbers.len(), 2);
}

/// docs/api.md: the rate limit counts per valid API key, after authentication; over it, 429
/// `RATE_LIMITED` with `Retry-After` in whole seconds. Unknown keys get 401 and are not counted,
/// and another key of the same account has its own allowance.
#[tokio::test]
async fn rate_limit_is_per_valid_key_with_retry_after() {
    let app = spawn_app_with(|c| c.rate_limit = 2).await; // 2/s, burst 4
    let acct = app.create_account("limited").await;
    let list = format!("{}/numberrequests", app.nr(&acct.id));
    for _ in 0..20 {
        let res = app
            .client
            .get(&list)
            .header("X-CM-PRODUCTTOKEN", "not-a-key")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..10 {
        let res = app.get(&acct, &list).await;
        statuses.push(res.status());
        if res.status() == StatusCode::TOO_MANY_REQUESTS && limited.is_none() {
            let retry: u64 = header(&res, "retry-after").parse().expect("whole seconds");
            assert!((1..=2).contains(&retry), "Retry-After {retry}");
            limited = Some(res.json::<Value>().await.unwrap());
        }
    }
    // The burst (4) passes; then the key is over its limit. Unknown keys used none of it.
    assert!(
        statuses[..4].iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    let body = limited.expect("the key went over its limit");
    assert_eq!(body["messageCode"], "RATE_LIMITED");
    assert_eq!(body["errors"], json!([]));

    let res = app
        .admin(
            Method::POST,
            &format!("/admin/v1/accounts/{}/apikeys", acct.id),
        )
        .send()
        .await
        .unwrap();
    let second = res.json::<Value>().await.unwrap();
    let res = app
        .client
        .get(&list)
        .header("X-CM-PRODUCTTOKEN", s(&second["apiKey"]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the second key has its own allowance"
    );

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        app.get(&acct, &list).await.status(),
        StatusCode::OK,
        "allowance refills"
    );
}
