//! Every error code of the create call and the contract's error body everywhere (docs/api.md).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn setup() -> (TestApp, Acct, String) {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    (app, acct, profile)
}

async fn post_raw(
    app: &TestApp,
    acct: &Acct,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut rb = app
        .client
        .post(format!("{}/numberrequests", app.nr(&acct.id)))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .body(body);
    if let Some(ct) = content_type {
        rb = rb.header("content-type", ct);
    }
    rb.send().await.unwrap()
}

async fn request_total(app: &TestApp, acct: &Acct) -> i64 {
    let res = app
        .get(acct, &format!("{}/numberrequests", app.nr(&acct.id)))
        .await;
    header_i64(&res, "x-cm-pagination-total")
}

#[tokio::test]
async fn field_shape_errors_are_validation_failed_with_the_field_name() {
    let (app, acct, profile) = setup().await;
    let cases: Vec<(&str, Option<Value>)> = vec![
        ("quantity", Some(json!(0))),
        ("quantity", Some(json!(1001))),
        ("quantity", Some(json!(-3))),
        ("quantity", None),
        ("companyProfileId", None),
        ("companyProfileId", Some(json!("not-a-uuid"))),
        ("companyProfileId", Some(json!(""))),
        ("phoneNumberType", None),
        ("phoneNumberType", Some(json!("MOBILE"))),
        ("phoneNumberType", Some(json!(""))),
        ("comment", Some(json!("c".repeat(1001)))),
        ("callbackUrl", Some(json!("not a url"))),
        ("callbackUrl", Some(json!("ftp://example.com/hook"))),
        ("callbackUrl", Some(json!("/relative/path"))),
        (
            "callbackUrl",
            Some(json!(format!("https://example.com/{}", "a".repeat(2030)))),
        ),
    ];
    for (field, value) in cases {
        let mut body = request_body(&profile, 1);
        match &value {
            Some(v) => body[field] = v.clone(),
            None => {
                body.as_object_mut().unwrap().remove(field);
            }
        }
        let res = app.post_request(&acct, &body).await;
        let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
        assert_field(&err, field);
        let _ = value;
    }
    // exactly 1000 characters of comment and quantity 1000 are fine shapes
    let mut body = request_body(&profile, 1000);
    body["comment"] = json!("c".repeat(1000));
    let res = app.post_request(&acct, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(request_total(&app, &acct).await, 1);
}

#[tokio::test]
async fn several_bad_fields_give_one_error_entry_each() {
    let (app, acct, _) = setup().await;
    let body = json!({"companyProfileId": "x", "quantity": 0, "phoneNumberType": "MOBILE"});
    let err = expect_error(
        app.post_request(&acct, &body).await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_FAILED",
    )
    .await;
    for f in ["companyProfileId", "quantity", "phoneNumberType"] {
        assert_field(&err, f);
    }
    assert_eq!(error_fields(&err).len(), 3, "{err}");
}

#[tokio::test]
async fn field_shape_is_checked_before_the_profile() {
    let (app, acct, _) = setup().await;
    let body = json!({"companyProfileId": new_uuid(), "quantity": 0, "phoneNumberType": "LOCAL", "areaCode": "20"});
    expect_error(
        app.post_request(&acct, &body).await,
        StatusCode::BAD_REQUEST,
        "VALIDATION_FAILED",
    )
    .await;
}

#[tokio::test]
async fn body_that_is_not_json_or_not_an_object_or_mistyped_is_malformed_json() {
    let (app, acct, profile) = setup().await;
    let json_ct = Some("application/json");
    let raw_bodies: Vec<String> = vec![
        "this is not json".into(),
        "{\"quantity\": 1,".into(),
        "".into(),
        "[1, 2, 3]".into(),
        format!("[{}]", request_body(&profile, 1)),
        "\"a string\"".into(),
        "42".into(),
        "null".into(),
        format!("{} trailing", request_body(&profile, 1)),
    ];
    for raw in raw_bodies {
        let res = post_raw(&app, &acct, json_ct, raw.clone()).await;
        let err = expect_error(res, StatusCode::BAD_REQUEST, "MALFORMED_JSON").await;
        let _ = (err, raw);
    }
    let wrong_types: Vec<(&str, Value)> = vec![
        ("quantity", json!("2")),
        ("quantity", json!(true)),
        ("quantity", json!([1])),
        ("companyProfileId", json!(12)),
        ("phoneNumberType", json!(["LOCAL"])),
        ("areaCode", json!(20)),
        ("city", json!({"name": "Amsterdam"})),
        ("comment", json!(false)),
        ("callbackUrl", json!(5)),
        ("rangeSize", json!("10")),
    ];
    for (field, v) in wrong_types {
        let mut body = request_body(&profile, 1);
        body[field] = v;
        let err = expect_error(
            app.post_request(&acct, &body).await,
            StatusCode::BAD_REQUEST,
            "MALFORMED_JSON",
        )
        .await;
        let _ = (err, field);
    }
    // a fraction where a whole number is expected is a number all the same: either code is fair
    let mut body = request_body(&profile, 1);
    body["quantity"] = json!(1.5);
    let err = expect_error_shape(
        app.post_request(&acct, &body).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        err["messageCode"] == "MALFORMED_JSON" || err["messageCode"] == "VALIDATION_FAILED",
        "{err}"
    );
    assert_eq!(request_total(&app, &acct).await, 0);
}

#[tokio::test]
async fn json_content_type_with_charset_is_accepted() {
    let (app, acct, profile) = setup().await;
    let res = post_raw(
        &app,
        &acct,
        Some("application/json; charset=utf-8"),
        request_body(&profile, 1).to_string(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn wrong_content_type_is_415_unsupported_media_type() {
    let (app, acct, profile) = setup().await;
    let body = request_body(&profile, 1).to_string();
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/xml"),
        None,
    ] {
        let res = post_raw(&app, &acct, ct, body.clone()).await;
        expect_error(
            res,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
        )
        .await;
    }
    // also on the profile endpoint
    let res = app
        .client
        .post(format!("{}/companyprofiles", app.cp(&acct.id)))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .header("content-type", "text/plain")
        .body(profile_body().to_string())
        .send()
        .await
        .unwrap();
    expect_error(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
    )
    .await;
    assert_eq!(request_total(&app, &acct).await, 0);
}

#[tokio::test]
async fn body_over_64_kib_is_413_payload_too_large() {
    let (app, acct, profile) = setup().await;
    let mut body = request_body(&profile, 1);
    body["comment"] = json!("x".repeat(70 * 1024));
    let res = app.post_request(&acct, &body).await;
    expect_error(res, StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE").await;

    let mut body = profile_body();
    body["padding"] = json!("y".repeat(65 * 1024));
    let res = app.create_profile(&acct, &body).await;
    expect_error(res, StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE").await;

    // just under the limit is parsed normally (and then fails validation on the comment)
    let mut body = request_body(&profile, 1);
    body["comment"] = json!("x".repeat(60 * 1024));
    let res = app.post_request(&acct, &body).await;
    expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
}

#[tokio::test]
async fn unknown_ids_and_routes_are_404_with_the_error_body() {
    let (app, acct, _) = setup().await;
    let nr = app.nr(&acct.id);
    for url in [
        format!("{nr}/numberrequests/{}", new_uuid()),
        format!("{nr}/numberrequests/not-a-uuid"),
        format!(
            "{nr}/numberrequests/{}",
            new_uuid().to_uppercase().replace('-', "")
        ),
    ] {
        expect_error(
            app.get(&acct, &url).await,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        )
        .await;
    }
    for path in [
        "/nope",
        "/voice/nope",
        "/admin/v1/nope",
        "/voice/phonenumberrequestapi/v2/x/numberrequests",
    ] {
        let res = app
            .client
            .get(app.url(path))
            .header("X-CM-PRODUCTTOKEN", &acct.key)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    }
}

#[tokio::test]
async fn wrong_method_answers_with_the_error_body() {
    let (app, acct, _) = setup().await;
    let res = app
        .client
        .delete(format!("{}/numberrequests", app.nr(&acct.id)))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .send()
        .await
        .unwrap();
    let status = res.status();
    assert!(status.is_client_error(), "{status}");
    expect_error_shape(res, status).await;
}

#[tokio::test]
async fn unknown_or_foreign_profile_is_404_not_found() {
    let (app, acct, _) = setup().await;
    let res = app.post_request(&acct, &request_body(&new_uuid(), 1)).await;
    expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

#[tokio::test]
async fn profile_not_approved_is_409() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    app.import_nl_local("+31201000000", 5).await;
    let pending = s(&expect_json(
        app.create_profile(&acct, &profile_body()).await,
        StatusCode::CREATED,
    )
    .await["id"]);
    let res = app.post_request(&acct, &request_body(&pending, 1)).await;
    expect_error(res, StatusCode::CONFLICT, "PROFILE_NOT_APPROVED").await;

    let rejected = s(&expect_json(
        app.create_profile(&acct, &profile_body()).await,
        StatusCode::CREATED,
    )
    .await["id"]);
    let res = app
        .admin_post(
            &format!("/admin/v1/companyprofiles/{rejected}/reject"),
            &json!({"reason": "no"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.post_request(&acct, &request_body(&rejected, 1)).await;
    expect_error(res, StatusCode::CONFLICT, "PROFILE_NOT_APPROVED").await;
    assert_eq!(request_total(&app, &acct).await, 0);
    assert_eq!(app.stock_counts("NL", "LOCAL", "20").await.available, 5);
}

#[tokio::test]
async fn type_not_in_profile_is_number_type_not_allowed() {
    let (app, acct, profile) = setup().await; // profile allows LOCAL and TOLLFREE
    let body = json!({"companyProfileId": profile, "quantity": 1, "phoneNumberType": "NATIONAL"});
    expect_error(
        app.post_request(&acct, &body).await,
        StatusCode::BAD_REQUEST,
        "NUMBER_TYPE_NOT_ALLOWED",
    )
    .await;
}

#[tokio::test]
async fn local_without_area_code_or_city_is_area_code_or_city_required() {
    let (app, acct, profile) = setup().await;
    for body in [
        json!({"companyProfileId": profile, "quantity": 1, "phoneNumberType": "LOCAL"}),
        json!({"companyProfileId": profile, "quantity": 1, "phoneNumberType": "LOCAL", "areaCode": null, "city": null}),
        json!({"companyProfileId": profile, "quantity": 1, "phoneNumberType": "LOCAL", "region": "Noord-Holland"}),
    ] {
        expect_error(
            app.post_request(&acct, &body).await,
            StatusCode::BAD_REQUEST,
            "AREA_CODE_OR_CITY_REQUIRED",
        )
        .await;
    }
}

#[tokio::test]
async fn us_local_without_region_is_region_required() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let profile = app.approved_profile_with(&acct, us_profile_body()).await;
    app.import_numbers(json!({"numbers": [{
        "start": "+12125550000", "count": 5, "countryCode": "US", "phoneNumberType": "LOCAL",
        "areaCode": "212", "city": "New York", "region": "NY"
    }]}))
    .await;
    let body = json!({"companyProfileId": profile, "quantity": 1, "phoneNumberType": "LOCAL", "areaCode": "212"});
    expect_error(
        app.post_request(&acct, &body).await,
        StatusCode::BAD_REQUEST,
        "REGION_REQUIRED",
    )
    .await;

    let body = json!({"companyProfileId": profile, "quantity": 2, "phoneNumberType": "LOCAL", "areaCode": "212", "region": "ny"});
    let req = app.create_request(&acct, &body).await;
    assert_eq!(req["status"], "Completed", "{req}");
    assert_eq!(req["countryCode"], "US");
}

#[tokio::test]
async fn quantity_outside_restrictions_is_quantity_not_allowed() {
    let (app, acct, profile) = setup().await;
    app.import_nl_local("+31201000000", 10).await;
    let res = app
        .set_restrictions(
            "NL",
            "LOCAL",
            json!({"countryCode": "NL", "phoneNumberType": "LOCAL", "minQuantity": 2, "maxQuantity": 5,
                   "rangesSupported": false, "allowedRangeSizes": [], "requiresReview": false}),
        )
        .await;
    let r = expect_json(res, StatusCode::OK).await;
    assert_eq!(r["maxQuantity"], 5);
    assert_eq!(r["minQuantity"], 2);

    for q in [6, 1] {
        let res = app.post_request(&acct, &request_body(&profile, q)).await;
        expect_error(res, StatusCode::BAD_REQUEST, "QUANTITY_NOT_ALLOWED").await;
    }
    // only NL LOCAL is restricted
    let tollfree =
        json!({"companyProfileId": profile, "quantity": 6, "phoneNumberType": "TOLLFREE"});
    assert_eq!(
        app.post_request(&acct, &tollfree).await.status(),
        StatusCode::CREATED
    );
    let req = app.create_request(&acct, &request_body(&profile, 5)).await;
    assert_eq!(req["status"], "Completed");
}

#[tokio::test]
async fn range_size_is_range_size_not_allowed() {
    let (app, acct, profile) = setup().await;
    app.import_nl_local("+31201000000", 100).await;
    for rs in [10, 1, 100] {
        let mut body = request_body(&profile, 1);
        body["rangeSize"] = json!(rs);
        expect_error(
            app.post_request(&acct, &body).await,
            StatusCode::BAD_REQUEST,
            "RANGE_SIZE_NOT_ALLOWED",
        )
        .await;
    }
    assert_eq!(request_total(&app, &acct).await, 0);
}

#[tokio::test]
async fn private_callback_hosts_are_callback_url_not_allowed() {
    let (app, acct, profile) = setup().await;
    for url in [
        "http://127.0.0.1/hook",
        "http://localhost/hook",
        "http://localhost:8080/hook",
        "http://10.0.0.1/",
        "https://192.168.1.20/hook",
        "http://172.16.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://0.0.0.0/hook",
    ] {
        let mut body = request_body(&profile, 1);
        body["callbackUrl"] = json!(url);
        let err = expect_error(
            app.post_request(&acct, &body).await,
            StatusCode::BAD_REQUEST,
            "CALLBACK_URL_NOT_ALLOWED",
        )
        .await;
        let _ = (err, url);
    }
    assert_eq!(request_total(&app, &acct).await, 0);
    let mut body = request_body(&profile, 1);
    body["callbackUrl"] = json!("https://example.com/hook");
    assert_eq!(
        app.post_request(&acct, &body).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn private_callback_hosts_are_allowed_when_configured() {
    let app = spawn_app_with(|c| c.allow_private_callbacks = true).await;
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.0.0.1/",
    ] {
        let mut body = request_body(&profile, 1);
        body["callbackUrl"] = json!(url);
        let req = app.create_request(&acct, &body).await;
        assert_eq!(req["callbackUrl"], url);
    }
}

#[tokio::test]
async fn error_answers_are_not_stored_and_a_corrected_retry_goes_through() {
    let (app, acct, profile) = setup().await;
    let mut bad = request_body(&profile, 1);
    bad["callbackUrl"] = json!("http://127.0.0.1/x");
    let res = app
        .client
        .post(format!("{}/numberrequests", app.nr(&acct.id)))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .header("Idempotency-Key", "retry-1")
        .json(&bad)
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::BAD_REQUEST, "CALLBACK_URL_NOT_ALLOWED").await;
    let res = app
        .client
        .post(format!("{}/numberrequests", app.nr(&acct.id)))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .header("Idempotency-Key", "retry-1")
        .json(&request_body(&profile, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn optional_cancel_body_is_still_parsed_and_typed() {
    let (app, acct, profile) = setup().await;
    let id = s(&app.create_request(&acct, &request_body(&profile, 1)).await["id"]);
    let url = format!("{}/numberrequests/{id}/cancel", app.nr(&acct.id));
    let send = |ct: &'static str, body: &'static str| {
        app.client
            .post(url.clone())
            .header("X-CM-PRODUCTTOKEN", &acct.key)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    expect_error(
        send("application/json", "{\"reason\": 5}").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "MALFORMED_JSON",
    )
    .await;
    expect_error(
        send("application/json", "not json").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "MALFORMED_JSON",
    )
    .await;
    expect_error(
        send("text/plain", "{\"reason\": \"x\"}").await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
    )
    .await;
    // none of these cancelled it
    assert_eq!(app.get_request(&acct, &id).await["status"], "Pending");
}

#[tokio::test]
async fn profile_update_body_errors_use_the_contract_codes() {
    let (app, acct, profile) = setup().await;
    let url = format!("{}/companyprofiles/{profile}", app.cp(&acct.id));
    let put = |ct: &'static str, body: String| {
        app.client
            .put(url.clone())
            .header("X-CM-PRODUCTTOKEN", &acct.key)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    expect_error(
        put("application/json", "[]".into()).await.unwrap(),
        StatusCode::BAD_REQUEST,
        "MALFORMED_JSON",
    )
    .await;
    expect_error(
        put("application/json", "{\"city\": 7}".into())
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "MALFORMED_JSON",
    )
    .await;
    expect_error(
        put("text/plain", "{\"city\": \"x\"}".into()).await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
    )
    .await;
    let big = json!({"name": "n".repeat(70 * 1024)}).to_string();
    expect_error(
        put("application/json", big).await.unwrap(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
    )
    .await;
    let after = expect_json(app.get(&acct, &url).await, StatusCode::OK).await;
    assert_eq!(after["status"], "Approved");
    assert_eq!(after["city"], "Amsterdam");
}
