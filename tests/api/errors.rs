//! Every error code of the create call and the contract's error body everywhere (docs/api.md).
//! The refusals that need nothing but an account, a profile and a request are one table: each
//! row is a call and the status and code it must answer; none of them may change anything.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

async fn setup() -> (TestApp, Acct, String) {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    (app, acct, profile)
}

async fn request_total(app: &TestApp, acct: &Acct) -> i64 {
    let res = app
        .get(acct, &format!("{}/numberrequests", app.nr(&acct.id)))
        .await;
    header_i64(&res, "x-cm-pagination-total")
}

const JSON: &str = "application/json";

/// One row of the table: a call (with the account's key) and the answer it must get.
struct Case {
    method: Method,
    url: String,
    content_type: Option<&'static str>,
    body: Option<String>,
    status: StatusCode,
    code: &'static str,
    /// Fields the `errors` list must name; with `exact`, no others.
    fields: Vec<&'static str>,
    exact: bool,
}

impl Case {
    fn new(method: Method, url: impl Into<String>) -> Case {
        Case {
            method,
            url: url.into(),
            content_type: None,
            body: None,
            status: StatusCode::BAD_REQUEST,
            code: "VALIDATION_FAILED",
            fields: Vec::new(),
            exact: false,
        }
    }
    fn raw(mut self, content_type: Option<&'static str>, body: impl Into<String>) -> Case {
        self.content_type = content_type;
        self.body = Some(body.into());
        self
    }
    fn json(self, body: &Value) -> Case {
        self.raw(Some(JSON), body.to_string())
    }
    fn answers(mut self, status: StatusCode, code: &'static str) -> Case {
        self.status = status;
        self.code = code;
        self
    }
    fn naming(mut self, fields: &[&'static str]) -> Case {
        self.fields = fields.to_vec();
        self
    }
    fn only(mut self) -> Case {
        self.exact = true;
        self
    }
}

/// A create body with `field` set to `value`, or removed when `value` is None.
fn with(profile: &str, field: &str, value: Option<Value>) -> Value {
    let mut body = request_body(profile, 1);
    match value {
        Some(v) => body[field] = v,
        None => {
            body.as_object_mut().unwrap().remove(field);
        }
    }
    body
}

#[tokio::test]
async fn every_refused_call_answers_its_status_and_code_and_changes_nothing() {
    let (app, acct, profile) = setup().await;
    app.import_nl_local("+31201000000", 100).await;
    let pending = s(&app
        .create_request(
            &acct,
            &json!({"companyProfileId": profile,
        "quantity": 1, "phoneNumberType": "TOLLFREE"}),
        )
        .await["id"]);
    let (nr, cp) = (app.nr(&acct.id), app.cp(&acct.id));
    let create = || Case::new(Method::POST, format!("{nr}/numberrequests"));
    let profile_url = format!("{cp}/companyprofiles/{profile}");
    let cancel_url = format!("{nr}/numberrequests/{pending}/cancel");
    let mut cases = Vec::new();

    // Field shapes: VALIDATION_FAILED naming the field.
    for (field, value) in [
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
    ] {
        cases.push(
            create()
                .json(&with(&profile, field, value))
                .naming(&[field]),
        );
    }
    // One entry per bad field; the shape is checked before the profile is looked up.
    cases.push(
        create()
            .json(&json!({"companyProfileId": "x", "quantity": 0, "phoneNumberType": "MOBILE"}))
            .naming(&["companyProfileId", "quantity", "phoneNumberType"])
            .only(),
    );
    cases.push(
        create().json(&json!({"companyProfileId": new_uuid(), "quantity": 0,
        "phoneNumberType": "LOCAL", "areaCode": "20"})),
    );

    // Not JSON, not an object, or a field of the wrong JSON type: MALFORMED_JSON.
    let malformed = (StatusCode::BAD_REQUEST, "MALFORMED_JSON");
    for raw in [
        "this is not json".to_string(),
        "{\"quantity\": 1,".into(),
        "".into(),
        "[1, 2, 3]".into(),
        format!("[{}]", request_body(&profile, 1)),
        "\"a string\"".into(),
        "42".into(),
        "null".into(),
        format!("{} trailing", request_body(&profile, 1)),
    ] {
        cases.push(
            create()
                .raw(Some(JSON), raw)
                .answers(malformed.0, malformed.1),
        );
    }
    for (field, v) in [
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
    ] {
        let body = with(&profile, field, Some(v));
        cases.push(create().json(&body).answers(malformed.0, malformed.1));
    }

    // Wrong content type: 415, on the create, the profile create, cancel and profile update.
    let unsupported = (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE");
    let good = request_body(&profile, 1).to_string();
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/xml"),
        None,
    ] {
        cases.push(
            create()
                .raw(ct, good.clone())
                .answers(unsupported.0, unsupported.1),
        );
    }
    cases.push(
        Case::new(Method::POST, format!("{cp}/companyprofiles"))
            .raw(Some("text/plain"), profile_body().to_string())
            .answers(unsupported.0, unsupported.1),
    );
    cases.push(
        Case::new(Method::POST, cancel_url.clone())
            .raw(Some("text/plain"), "{\"reason\": \"x\"}")
            .answers(unsupported.0, unsupported.1),
    );
    cases.push(
        Case::new(Method::PUT, profile_url.clone())
            .raw(Some("text/plain"), "{\"city\": \"x\"}")
            .answers(unsupported.0, unsupported.1),
    );

    // An optional body is still parsed and typed.
    for raw in ["{\"reason\": 5}", "not json"] {
        cases.push(
            Case::new(Method::POST, cancel_url.clone())
                .raw(Some(JSON), raw)
                .answers(malformed.0, malformed.1),
        );
    }
    for raw in ["[]", "{\"city\": 7}"] {
        cases.push(
            Case::new(Method::PUT, profile_url.clone())
                .raw(Some(JSON), raw)
                .answers(malformed.0, malformed.1),
        );
    }

    // Over 64 KiB: 413; just under is parsed (and the comment then fails validation).
    let too_large = (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE");
    let body = with(&profile, "comment", Some(json!("x".repeat(70 * 1024))));
    cases.push(create().json(&body).answers(too_large.0, too_large.1));
    let mut body = profile_body();
    body["padding"] = json!("y".repeat(65 * 1024));
    cases.push(
        Case::new(Method::POST, format!("{cp}/companyprofiles"))
            .json(&body)
            .answers(too_large.0, too_large.1),
    );
    cases.push(
        Case::new(Method::PUT, profile_url.clone())
            .json(&json!({"name": "n".repeat(70 * 1024)}))
            .answers(too_large.0, too_large.1),
    );
    let body = with(&profile, "comment", Some(json!("x".repeat(60 * 1024))));
    cases.push(create().json(&body).naming(&["comment"]));

    // Unknown ids and routes: 404 with the error body.
    let not_found = (StatusCode::NOT_FOUND, "NOT_FOUND");
    for url in [
        format!("{nr}/numberrequests/{}", new_uuid()),
        format!("{nr}/numberrequests/not-a-uuid"),
        format!(
            "{nr}/numberrequests/{}",
            new_uuid().to_uppercase().replace('-', "")
        ),
        app.url("/nope"),
        app.url("/voice/nope"),
        app.url("/admin/v1/nope"),
        app.url("/voice/phonenumberrequestapi/v2/x/numberrequests"),
    ] {
        cases.push(Case::new(Method::GET, url).answers(not_found.0, not_found.1));
    }
    cases.push(
        create()
            .json(&request_body(&new_uuid(), 1))
            .answers(not_found.0, not_found.1),
    );

    // Order rules that need only the default restrictions and the profile.
    let body = json!({"companyProfileId": profile, "quantity": 1, "phoneNumberType": "NATIONAL"});
    cases.push(
        create()
            .json(&body)
            .answers(StatusCode::BAD_REQUEST, "NUMBER_TYPE_NOT_ALLOWED"),
    );
    for body in [
        json!({"companyProfileId": profile, "quantity": 1, "phoneNumberType": "LOCAL"}),
        json!({"companyProfileId": profile, "quantity": 1, "phoneNumberType": "LOCAL",
               "areaCode": null, "city": null}),
        json!({"companyProfileId": profile, "quantity": 1, "phoneNumberType": "LOCAL",
               "region": "Noord-Holland"}),
    ] {
        cases.push(
            create()
                .json(&body)
                .answers(StatusCode::BAD_REQUEST, "AREA_CODE_OR_CITY_REQUIRED"),
        );
    }
    for size in [10, 1, 100] {
        let body = with(&profile, "rangeSize", Some(json!(size)));
        cases.push(
            create()
                .json(&body)
                .answers(StatusCode::BAD_REQUEST, "RANGE_SIZE_NOT_ALLOWED"),
        );
    }
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
        let body = with(&profile, "callbackUrl", Some(json!(url)));
        cases.push(
            create()
                .json(&body)
                .answers(StatusCode::BAD_REQUEST, "CALLBACK_URL_NOT_ALLOWED"),
        );
    }

    for case in cases {
        let mut rb = app
            .client
            .request(case.method.clone(), &case.url)
            .header("X-CM-PRODUCTTOKEN", &acct.key)
            .bearer_auth(ADMIN_TOKEN);
        if let Some(ct) = case.content_type {
            rb = rb.header("content-type", ct);
        }
        if let Some(body) = case.body.clone() {
            rb = rb.body(body);
        }
        let res = rb.send().await.unwrap();
        let what = format!(
            "{} {} {:?} {:.120}",
            case.method,
            case.url,
            case.content_type,
            case.body.as_deref().unwrap_or("")
        );
        let got = res.status();
        assert_eq!(got, case.status, "{what}");
        let err = expect_error(res, case.status, case.code).await;
        for f in &case.fields {
            assert_field(&err, f);
        }
        if case.exact {
            assert_eq!(error_fields(&err).len(), case.fields.len(), "{what}: {err}");
        }
    }

    // None of that created, cancelled, changed or assigned anything.
    assert_eq!(request_total(&app, &acct).await, 1);
    assert_eq!(app.get_request(&acct, &pending).await["status"], "Pending");
    let after = expect_json(app.get(&acct, &profile_url).await, StatusCode::OK).await;
    assert_eq!(after["status"], "Approved");
    assert_eq!(after["city"], "Amsterdam");
    assert_eq!(app.stock_counts("NL", "LOCAL", "20").await.available, 100);
}

#[tokio::test]
async fn boundary_values_are_accepted() {
    let (app, acct, profile) = setup().await;
    // exactly 1000 characters of comment and quantity 1000 are fine shapes
    let mut body = request_body(&profile, 1000);
    body["comment"] = json!("c".repeat(1000));
    let res = app.post_request(&acct, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
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
    // a public callback host is fine
    let mut body = request_body(&profile, 1);
    body["callbackUrl"] = json!("https://example.com/hook");
    assert_eq!(
        app.post_request(&acct, &body).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(request_total(&app, &acct).await, 2);
}

#[tokio::test]
async fn json_content_type_with_charset_is_accepted() {
    let (app, acct, profile) = setup().await;
    let res = app
        .client
        .post(format!("{}/numberrequests", app.nr(&acct.id)))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .header("content-type", "application/json; charset=utf-8")
        .body(request_body(&profile, 1).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
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
