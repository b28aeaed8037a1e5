//! Requirements per country and type, and their enforcement on create.

use super::*;

#[tokio::test]
async fn requirements_are_shown_and_the_address_rule_is_enforced_with_both_codes() {
    let w = world().await;
    let res = customer_get(&w, "/requirements?countryCode=NL&phoneNumberType=LOCAL").await;
    assert_eq!(expect_json(res, StatusCode::OK).await, json!([]));

    let res = w
        .app
        .admin_put(
            "/admin/v1/requirements/NL/LOCAL",
            &json!([
                {"type": 3, "code": "ADDRESS_IN_PREFIX_REGION",
                 "description": "The company address must be in the area code's region"},
                {"type": 1, "code": "PROOF_OF_ADDRESS", "description": "A recent utility bill"}
            ]),
        )
        .await;
    let set = expect_json(res, StatusCode::OK).await;
    let set_list = set.as_array().unwrap();
    assert_eq!(set_list.len(), 2);
    for r in set_list {
        assert!(!r["id"].is_null(), "server assigns ids: {r}");
    }
    assert_eq!(set[0]["type"], 3);
    assert_eq!(set[0]["code"], "ADDRESS_IN_PREFIX_REGION");
    assert_eq!(set[1]["type"], 1);
    assert_eq!(set[1]["description"], "A recent utility bill");
    let res = customer_get(&w, "/requirements?countryCode=NL&phoneNumberType=LOCAL").await;
    assert_eq!(expect_json(res, StatusCode::OK).await, set);
    // Other types are not affected.
    let res = customer_get(&w, "/requirements?countryCode=NL&phoneNumberType=TOLLFREE").await;
    assert_eq!(expect_json(res, StatusCode::OK).await, json!([]));

    import_ams(&w.app, 0, 10).await;
    import_nl(&w.app, 31_101_000_000, 10, "10", Some("Rotterdam")).await;
    import_nl(&w.app, 31_301_000_000, 10, "30", None).await;

    // No area code (city only) → AREA_CODE_REQUIRED.
    let body = json!({"companyProfileId": w.profile, "quantity": 1, "phoneNumberType": "LOCAL",
                      "city": "Amsterdam"});
    let res = w.app.post_request(&w.acct, &body).await;
    expect_error(res, StatusCode::BAD_REQUEST, "AREA_CODE_REQUIRED").await;

    // Another city's area, an area without a known city, an unknown area.
    for area in ["10", "30", "99"] {
        let mut b = request_body(&w.profile, 1);
        b["areaCode"] = json!(area);
        let res = w.app.post_request(&w.acct, &b).await;
        expect_error(res, StatusCode::BAD_REQUEST, "ADDRESS_NOT_IN_PREFIX_REGION").await;
        let (_, ok) = avail(&w, &format!("phoneNumberType=LOCAL&areaCode={area}")).await;
        assert!(!ok, "availability for area {area} is not assignable");
    }
    assert_eq!(w.app.all_phone_numbers(&w.acct).await.1, 0);

    // The profile's own city's area code works.
    let (n, ok) = avail(&w, "phoneNumberType=LOCAL&areaCode=20").await;
    assert_eq!((n, ok), (10, true));
    let req = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 1))
        .await;
    assert_eq!(req["status"], "Completed", "{req}");

    // Cities compare case-insensitively.
    let mut pb = profile_body();
    pb["city"] = json!("AMSTERDAM");
    let upper = w.app.approved_profile_with(&w.acct, pb).await;
    let req = w
        .app
        .create_request(&w.acct, &request_body(&upper, 1))
        .await;
    assert_eq!(req["status"], "Completed", "{req}");

    // A Rotterdam company may take area 10 but not area 20.
    let mut pb = profile_body();
    pb["city"] = json!("rotterdam");
    let rdam = w.app.approved_profile_with(&w.acct, pb).await;
    let mut b = request_body(&rdam, 1);
    b["areaCode"] = json!("10");
    assert_eq!(
        w.app.create_request(&w.acct, &b).await["status"],
        "Completed"
    );
    let res = w.app.post_request(&w.acct, &request_body(&rdam, 1)).await;
    expect_error(res, StatusCode::BAD_REQUEST, "ADDRESS_NOT_IN_PREFIX_REGION").await;

    // TOLLFREE has no such requirement.
    w.app
        .import_numbers(json!({"numbers": [{"start": "+31800100000", "count": 5,
            "countryCode": "NL", "phoneNumberType": "TOLLFREE", "areaCode": "800"}]}))
        .await;
    let tf = json!({"companyProfileId": w.profile, "quantity": 1, "phoneNumberType": "TOLLFREE"});
    assert_eq!(
        w.app.create_request(&w.acct, &tf).await["status"],
        "Completed"
    );

    // Replacing the list with [] lifts the rule.
    let res = w
        .app
        .admin_put("/admin/v1/requirements/NL/LOCAL", &json!([]))
        .await;
    assert_eq!(expect_json(res, StatusCode::OK).await, json!([]));
    let mut b = request_body(&w.profile, 1);
    b["areaCode"] = json!("10");
    assert_eq!(
        w.app.create_request(&w.acct, &b).await["status"],
        "Completed"
    );
}
