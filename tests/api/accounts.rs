//! Operator accounts and API keys (docs/api.md) and operator authentication.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn create_account_returns_201_with_api_key_and_whsec_webhook_secret() {
    let app = spawn_app().await;
    let res = app
        .admin_post("/admin/v1/accounts", &json!({"name": "Acme"}))
        .await;
    let body = expect_json(res, StatusCode::CREATED).await;
    let keys: BTreeSet<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "apiKey",
            "apiKeyId",
            "createdOn",
            "id",
            "name",
            "webhookSecret"
        ]
        .into(),
        "{body}"
    );
    assert_uuid(&body["id"]);
    assert_uuid(&body["apiKeyId"]);
    assert_eq!(body["name"], "Acme");
    assert_time(&body["createdOn"]);
    assert!(s(&body["apiKey"]).len() >= 16, "api key too short: {body}");
    let secret = s(&body["webhookSecret"]);
    let b64 = secret
        .strip_prefix("whsec_")
        .expect("webhookSecret starts with whsec_");
    // base64 of 32 random bytes: 43 characters plus optional padding.
    assert!(
        b64.trim_end_matches('=').len() == 43,
        "secret {secret:?} is not base64 of 32 bytes"
    );
}

#[tokio::test]
async fn two_accounts_get_different_keys_and_secrets() {
    let app = spawn_app().await;
    let a = app.create_account("A").await;
    let b = app.create_account("B").await;
    assert_ne!(a.id, b.id);
    assert_ne!(a.key, b.key);
    assert_ne!(a.webhook_secret, b.webhook_secret);
}

#[tokio::test]
async fn create_account_without_name_is_validation_failed() {
    let app = spawn_app().await;
    let res = app.admin_post("/admin/v1/accounts", &json!({})).await;
    let body = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_field(&body, "name");
}

#[tokio::test]
async fn account_list_and_get_never_show_keys_or_secrets() {
    let app = spawn_app().await;
    let a = app.create_account("First").await;
    let b = app.create_account("Second").await;

    let res = app.admin_get("/admin/v1/accounts").await;
    assert_eq!(header_i64(&res, "x-cm-pagination-total"), 2);
    let text = res.text().await.unwrap();
    for secret in [&a.key, &a.webhook_secret, &b.key, &b.webhook_secret] {
        assert!(
            !text.contains(secret.as_str()),
            "account list leaks a key or secret: {text}"
        );
    }
    let list: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(list.len(), 2);
    // newest first
    assert_eq!(list[0]["id"], b.id.as_str());
    assert_eq!(list[1]["id"], a.id.as_str());
    for item in &list {
        let keys: BTreeSet<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(keys, ["createdOn", "id", "name"].into(), "{item}");
    }

    let res = app.admin_get(&format!("/admin/v1/accounts/{}", a.id)).await;
    let one = expect_json(res, StatusCode::OK).await;
    let keys: BTreeSet<&str> = one
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(keys, ["createdOn", "id", "name"].into(), "{one}");
    assert_eq!(one["name"], "First");
}

#[tokio::test]
async fn get_unknown_account_is_404() {
    let app = spawn_app().await;
    let res = app
        .admin_get(&format!("/admin/v1/accounts/{}", new_uuid()))
        .await;
    expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let res = app.admin_get("/admin/v1/accounts/not-a-uuid").await;
    expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

#[tokio::test]
async fn added_key_works_and_revoked_key_answers_401() {
    let app = spawn_app().await;
    let acct = app.create_account("Keys").await;
    let statuses = format!("{}/numberrequests/statuses", app.nr(&acct.id));

    let res = app
        .admin(
            reqwest::Method::POST,
            &format!("/admin/v1/accounts/{}/apikeys", acct.id),
        )
        .send()
        .await
        .unwrap();
    let added = expect_json(res, StatusCode::CREATED).await;
    let keys: BTreeSet<&str> = added
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        ["accountId", "apiKey", "createdOn", "id"].into(),
        "{added}"
    );
    assert_eq!(added["accountId"], acct.id.as_str());
    let second = Acct {
        key: s(&added["apiKey"]),
        key_id: s(&added["id"]),
        ..acct.clone()
    };
    assert_ne!(second.key, acct.key);

    // both keys work
    assert_eq!(app.get(&acct, &statuses).await.status(), StatusCode::OK);
    assert_eq!(app.get(&second, &statuses).await.status(), StatusCode::OK);

    // revoke the second: it stops working, the first keeps working
    let res = app
        .admin(
            reqwest::Method::DELETE,
            &format!("/admin/v1/accounts/{}/apikeys/{}", acct.id, second.key_id),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    expect_error_shape(app.get(&second, &statuses).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(app.get(&acct, &statuses).await.status(), StatusCode::OK);

    // revoking again, or an unknown key: 404
    let res = app
        .admin(
            reqwest::Method::DELETE,
            &format!("/admin/v1/accounts/{}/apikeys/{}", acct.id, second.key_id),
        )
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let res = app
        .admin(
            reqwest::Method::DELETE,
            &format!("/admin/v1/accounts/{}/apikeys/{}", acct.id, new_uuid()),
        )
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;

    // revoking the original key too
    let res = app
        .admin(
            reqwest::Method::DELETE,
            &format!("/admin/v1/accounts/{}/apikeys/{}", acct.id, acct.key_id),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    expect_error_shape(app.get(&acct, &statuses).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn revoking_a_key_through_another_account_is_404() {
    let app = spawn_app().await;
    let a = app.create_account("A").await;
    let b = app.create_account("B").await;
    let res = app
        .admin(
            reqwest::Method::DELETE,
            &format!("/admin/v1/accounts/{}/apikeys/{}", b.id, a.key_id),
        )
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let statuses = format!("{}/numberrequests/statuses", app.nr(&a.id));
    assert_eq!(app.get(&a, &statuses).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn operator_api_with_wrong_or_missing_bearer_is_401() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/admin/v1/accounts"))
        .send()
        .await
        .unwrap();
    expect_error_shape(res, StatusCode::UNAUTHORIZED).await;
    let res = app
        .client
        .get(app.url("/admin/v1/accounts"))
        .bearer_auth("wrong-token")
        .send()
        .await
        .unwrap();
    expect_error_shape(res, StatusCode::UNAUTHORIZED).await;
    let res = app
        .client
        .post(app.url("/admin/v1/accounts"))
        .bearer_auth("test-admin-token-but-longer")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    expect_error_shape(res, StatusCode::UNAUTHORIZED).await;
    // a customer key is not an operator token
    let acct = app.create_account("C").await;
    let res = app
        .client
        .get(app.url("/admin/v1/accounts"))
        .bearer_auth(&acct.key)
        .send()
        .await
        .unwrap();
    expect_error_shape(res, StatusCode::UNAUTHORIZED).await;
    let res = app
        .client
        .get(app.url("/admin/v1/accounts"))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .send()
        .await
        .unwrap();
    expect_error_shape(res, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn operator_api_without_configured_token_answers_404() {
    let app = spawn_app_with(|c| c.admin_token = None).await;
    for path in [
        "/admin/v1/accounts",
        "/admin/v1/inventory/summary",
        "/admin/v1/numberrequests",
    ] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
        let res = app
            .client
            .get(app.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    }
    let res = app
        .client
        .post(app.url("/admin/v1/accounts"))
        .bearer_auth("anything")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}
