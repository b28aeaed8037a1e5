//! Company profiles (docs/api.md review).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn put_profile(app: &TestApp, acct: &Acct, id: &str, body: Value) -> reqwest::Response {
    app.client
        .put(format!("{}/companyprofiles/{id}", app.cp(&acct.id)))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn get_profile(app: &TestApp, acct: &Acct, id: &str) -> Value {
    expect_json(
        app.get(acct, &format!("{}/companyprofiles/{id}", app.cp(&acct.id)))
            .await,
        StatusCode::OK,
    )
    .await
}

#[tokio::test]
async fn create_profile_returns_201_pending_approval_with_every_field() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let res = app.create_profile(&acct, &profile_body()).await;
    let body = expect_json(res, StatusCode::CREATED).await;
    assert_uuid(&body["id"]);
    assert_eq!(body["accountId"], acct.id.as_str());
    assert_eq!(body["status"], "PendingApproval");
    assert!(body["statusReason"].is_null() || body["statusReason"].is_string());
    assert_time(&body["createdOn"]);
    assert_time(&body["updatedOn"]);
    for (k, v) in profile_body().as_object().unwrap() {
        assert_eq!(&body[k], v, "field {k} in {body}");
    }
    let mut want: std::collections::BTreeSet<String> = profile_body()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for k in [
        "id",
        "accountId",
        "status",
        "statusReason",
        "createdOn",
        "updatedOn",
        "version",
        "unconfirmedEmailAddresses",
    ] {
        want.insert(k.to_string());
    }
    assert_eq!(body["version"], 1, "a new profile is at version 1: {body}");
    assert_eq!(
        body["unconfirmedEmailAddresses"],
        serde_json::json!(["ops@example.com"]),
        "a new address waits for confirmation: {body}"
    );
    let got: std::collections::BTreeSet<String> =
        body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(got, want, "{body}");
    let id = s(&body["id"]);
    assert_eq!(get_profile(&app, &acct, &id).await, body);
}

#[tokio::test]
async fn create_profile_with_auto_approval_is_approved() {
    let app = spawn_app_with(|c| c.auto_approve_profiles = true).await;
    let acct = app.create_account("A").await;
    let body = expect_json(
        app.create_profile(&acct, &profile_body()).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(body["status"], "Approved");
}

#[tokio::test]
async fn optional_profile_fields_may_be_absent() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let mut b = profile_body();
    let o = b.as_object_mut().unwrap();
    o.remove("representativePhoneNumber");
    o.remove("region");
    o.remove("requiredFields");
    let body = expect_json(app.create_profile(&acct, &b).await, StatusCode::CREATED).await;
    assert!(body["representativePhoneNumber"].is_null());
    assert!(body["region"].is_null());
    assert!(body["requiredFields"].is_null());

    let mut b = profile_body();
    b["requiredFields"] = json!({"vatNumber": "NL123", "kvk": "456"});
    let body = expect_json(app.create_profile(&acct, &b).await, StatusCode::CREATED).await;
    assert_eq!(
        body["requiredFields"],
        json!({"vatNumber": "NL123", "kvk": "456"})
    );
}

#[tokio::test]
async fn invalid_profile_fields_are_validation_failed_with_field_names() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let cases: Vec<(&str, Value)> = vec![
        ("emailAddresses", json!(["not-an-email"])),
        ("emailAddresses", json!([])),
        (
            "emailAddresses",
            json!(
                (0..11)
                    .map(|i| format!("a{i}@example.com"))
                    .collect::<Vec<_>>()
            ),
        ),
        ("countryCode", json!("NLD")),
        ("countryCode", json!("XX")),
        ("countryCode", json!("")),
        ("numberCountryCode", json!("1A")),
        ("representativePhoneNumber", json!("0201234567")),
        ("representativePhoneNumber", json!("+31 20 123 4567")),
        ("representativePhoneNumber", json!("+")),
        ("name", json!("")),
        ("name", json!("x".repeat(101))),
        ("companyName", json!("")),
        ("postalCode", json!("1234567890123")),
        ("street", json!("s".repeat(256))),
        ("houseNumber", json!("1".repeat(21))),
        ("region", json!("")),
        ("phoneNumberTypes", json!([])),
        ("phoneNumberTypes", json!(["MOBILE"])),
    ];
    for (field, value) in cases {
        let mut b = profile_body();
        b[field] = value.clone();
        let res = app.create_profile(&acct, &b).await;
        let body = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
        assert_field(&body, field);
        let _ = value;
    }
    // nothing was stored
    let res = app
        .get(&acct, &format!("{}/companyprofiles", app.cp(&acct.id)))
        .await;
    assert_eq!(header_i64(&res, "x-cm-pagination-total"), 0);
}

#[tokio::test]
async fn missing_required_profile_fields_are_each_reported() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let mut b = profile_body();
    let o = b.as_object_mut().unwrap();
    o.remove("name");
    o.remove("city");
    o.remove("emailAddresses");
    let res = app.create_profile(&acct, &b).await;
    let body = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    for f in ["name", "city", "emailAddresses"] {
        assert_field(&body, f);
    }
    // one entry per failing field
    assert_eq!(error_fields(&body).len(), 3, "{body}");

    // several bad values at once
    let mut b = profile_body();
    b["emailAddresses"] = json!(["nope"]);
    b["countryCode"] = json!("NLD");
    b["representativePhoneNumber"] = json!("12345");
    let body = expect_error(
        app.create_profile(&acct, &b).await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_FAILED",
    )
    .await;
    for f in ["emailAddresses", "countryCode", "representativePhoneNumber"] {
        assert_field(&body, f);
    }
}

#[tokio::test]
async fn profile_field_of_wrong_json_type_is_malformed_json() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    for (field, value) in [
        ("name", json!(5)),
        ("emailAddresses", json!("a@example.com")),
        ("phoneNumberTypes", json!("LOCAL")),
    ] {
        let mut b = profile_body();
        b[field] = value;
        expect_error(
            app.create_profile(&acct, &b).await,
            StatusCode::BAD_REQUEST,
            "MALFORMED_JSON",
        )
        .await;
    }
}

#[tokio::test]
async fn profile_list_is_paginated_newest_first() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let mut b = profile_body();
        b["name"] = json!(format!("P{i}"));
        ids.push(s(&expect_json(
            app.create_profile(&acct, &b).await,
            StatusCode::CREATED,
        )
        .await["id"]));
    }
    let res = app
        .get(&acct, &format!("{}/companyprofiles", app.cp(&acct.id)))
        .await;
    assert_eq!(header(&res, "x-cm-pagination-skip"), "0");
    assert_eq!(header(&res, "x-cm-pagination-take"), "3");
    assert_eq!(header(&res, "x-cm-pagination-total"), "3");
    let list: Vec<Value> = res.json().await.unwrap();
    let got: Vec<String> = list.iter().map(|p| s(&p["id"])).collect();
    assert_eq!(got, ids.iter().rev().cloned().collect::<Vec<_>>());

    let res = app
        .get(
            &acct,
            &format!("{}/companyprofiles?skip=2&take=5", app.cp(&acct.id)),
        )
        .await;
    assert_eq!(header(&res, "x-cm-pagination-skip"), "2");
    assert_eq!(header(&res, "x-cm-pagination-take"), "1");
    let list: Vec<Value> = res.json().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], ids[0].as_str());

    let res = app
        .get(
            &acct,
            &format!("{}/companyprofiles?take=0", app.cp(&acct.id)),
        )
        .await;
    expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
}

#[tokio::test]
async fn get_unknown_or_non_uuid_profile_is_404() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    for id in [new_uuid(), "not-a-uuid".to_string()] {
        let res = app
            .get(&acct, &format!("{}/companyprofiles/{id}", app.cp(&acct.id)))
            .await;
        expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
        let res = put_profile(&app, &acct, &id, json!({"name": "x"})).await;
        expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    }
}

#[tokio::test]
async fn changing_city_of_an_approved_profile_puts_it_back_to_pending_approval() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let id = app.approved_profile(&acct).await;
    let before = get_profile(&app, &acct, &id).await;
    let res = put_profile(&app, &acct, &id, json!({"city": "Rotterdam"})).await;
    let after = expect_json(res, StatusCode::OK).await;
    assert_eq!(after["city"], "Rotterdam");
    assert_eq!(after["status"], "PendingApproval");
    // every other field is unchanged
    for (k, v) in profile_body().as_object().unwrap() {
        if k != "city" {
            assert_eq!(&after[k], v, "field {k}");
        }
    }
    assert_eq!(after["createdOn"], before["createdOn"]);
    assert_time(&after["updatedOn"]);
    assert_eq!(get_profile(&app, &acct, &id).await, after);
}

#[tokio::test]
async fn changing_only_name_or_emails_keeps_an_approved_profile_approved() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let id = app.approved_profile(&acct).await;
    let res = put_profile(&app, &acct, &id, json!({"name": "Renamed"})).await;
    let after = expect_json(res, StatusCode::OK).await;
    assert_eq!(after["name"], "Renamed");
    assert_eq!(after["status"], "Approved");
    let res = put_profile(
        &app,
        &acct,
        &id,
        json!({"emailAddresses": ["new@example.com", "b@example.com"]}),
    )
    .await;
    let after = expect_json(res, StatusCode::OK).await;
    assert_eq!(
        after["emailAddresses"],
        json!(["new@example.com", "b@example.com"])
    );
    assert_eq!(after["status"], "Approved");
    // the current value of another field is no change
    let res = put_profile(
        &app,
        &acct,
        &id,
        json!({"city": "Amsterdam", "countryCode": "NL"}),
    )
    .await;
    assert_eq!(expect_json(res, StatusCode::OK).await["status"], "Approved");
    // an empty update changes nothing
    let res = put_profile(&app, &acct, &id, json!({})).await;
    assert_eq!(expect_json(res, StatusCode::OK).await["status"], "Approved");
}

#[tokio::test]
async fn put_null_clears_a_nullable_field_but_is_rejected_on_a_required_one() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let id = app.approved_profile(&acct).await;

    for field in [
        "city",
        "name",
        "emailAddresses",
        "phoneNumberTypes",
        "countryCode",
    ] {
        let res = put_profile(&app, &acct, &id, json!({ field: null })).await;
        let body = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
        assert_field(&body, field);
    }
    let unchanged = get_profile(&app, &acct, &id).await;
    assert_eq!(unchanged["status"], "Approved");
    assert_eq!(unchanged["city"], "Amsterdam");

    let res = put_profile(&app, &acct, &id, json!({"representativePhoneNumber": null})).await;
    let after = expect_json(res, StatusCode::OK).await;
    assert!(after["representativePhoneNumber"].is_null());
    assert_eq!(
        after["region"], "Noord-Holland",
        "absent field must stay unchanged"
    );
    assert_eq!(after["status"], "PendingApproval");

    // invalid values in PUT are validated like in POST
    let res = put_profile(&app, &acct, &id, json!({"emailAddresses": ["bad"]})).await;
    let body = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_field(&body, "emailAddresses");
}

#[tokio::test]
async fn changing_a_rejected_profile_puts_it_back_to_pending_approval() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let id = s(&expect_json(
        app.create_profile(&acct, &profile_body()).await,
        StatusCode::CREATED,
    )
    .await["id"]);
    let res = app
        .admin_post(
            &format!("/admin/v1/companyprofiles/{id}/reject"),
            &json!({"reason": "Address unknown"}),
        )
        .await;
    let rejected = expect_json(res, StatusCode::OK).await;
    assert_eq!(rejected["status"], "Rejected");
    assert_eq!(rejected["statusReason"], "Address unknown");
    let res = put_profile(&app, &acct, &id, json!({"street": "Rokin"})).await;
    let after = expect_json(res, StatusCode::OK).await;
    assert_eq!(after["status"], "PendingApproval");
    assert_eq!(after["street"], "Rokin");
}

#[tokio::test]
async fn auto_approval_does_not_apply_to_updates() {
    let app = spawn_app_with(|c| c.auto_approve_profiles = true).await;
    let acct = app.create_account("A").await;
    let id = s(&expect_json(
        app.create_profile(&acct, &profile_body()).await,
        StatusCode::CREATED,
    )
    .await["id"]);
    let res = put_profile(&app, &acct, &id, json!({"city": "Utrecht"})).await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await["status"],
        "PendingApproval"
    );
}

#[tokio::test]
async fn operator_reject_needs_a_reason_and_approve_takes_an_optional_one() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let id = s(&expect_json(
        app.create_profile(&acct, &profile_body()).await,
        StatusCode::CREATED,
    )
    .await["id"]);
    let reject = format!("/admin/v1/companyprofiles/{id}/reject");
    for body in [json!({}), json!({"reason": null}), json!({"reason": ""})] {
        let res = app.admin_post(&reject, &body).await;
        let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
        assert_field(&err, "reason");
    }
    assert_eq!(
        get_profile(&app, &acct, &id).await["status"],
        "PendingApproval"
    );

    let res = app
        .admin_post(
            &format!("/admin/v1/companyprofiles/{id}/approve"),
            &json!({"reason": "Checked KvK"}),
        )
        .await;
    let approved = expect_json(res, StatusCode::OK).await;
    assert_eq!(approved["status"], "Approved");
    assert_eq!(approved["statusReason"], "Checked KvK");

    // unknown profile
    let res = app
        .admin_post(
            &format!("/admin/v1/companyprofiles/{}/approve", new_uuid()),
            &json!({}),
        )
        .await;
    expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}
