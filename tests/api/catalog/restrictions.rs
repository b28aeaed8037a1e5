//! Restrictions: defaults, the operator's changes, bounds, and what they allow (quantity
//! counts blocks, range sizes).

use super::*;

#[tokio::test]
async fn restrictions_show_the_defaults_until_the_operator_sets_them() {
    let w = world().await;
    let res = customer_get(&w, "/restrictions?countryCode=NL&phoneNumberType=LOCAL").await;
    let got = expect_json(res, StatusCode::OK).await;
    assert_eq!(
        got,
        json!({"countryCode": "NL", "phoneNumberType": "LOCAL", "minQuantity": 1,
               "maxQuantity": 1000, "rangesSupported": false, "allowedRangeSizes": [],
               "requiresReview": false})
    );

    // The path wins over the body; omitted fields take the defaults.
    let set = set_nl_local(
        &w.app,
        json!({"countryCode": "DE", "phoneNumberType": "TOLLFREE", "maxQuantity": 50,
               "rangesSupported": true, "allowedRangeSizes": [10, 100]}),
    )
    .await;
    let want = json!({"countryCode": "NL", "phoneNumberType": "LOCAL", "minQuantity": 1,
                      "maxQuantity": 50, "rangesSupported": true, "allowedRangeSizes": [10, 100],
                      "requiresReview": false});
    assert_eq!(set, want);
    let res = customer_get(&w, "/restrictions?countryCode=NL&phoneNumberType=LOCAL").await;
    assert_eq!(expect_json(res, StatusCode::OK).await, want);

    // Other combinations keep the defaults.
    let res = customer_get(&w, "/restrictions?countryCode=NL&phoneNumberType=TOLLFREE").await;
    let other = expect_json(res, StatusCode::OK).await;
    assert_eq!(other["maxQuantity"], 1000);
    assert_eq!(other["rangesSupported"], false);
    let res = customer_get(&w, "/restrictions?countryCode=DE&phoneNumberType=LOCAL").await;
    assert_eq!(expect_json(res, StatusCode::OK).await["maxQuantity"], 1000);

    // Bad query parameters are validation failures.
    let res = customer_get(&w, "/restrictions?countryCode=NL&phoneNumberType=MOBILE").await;
    let body = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_field(&body, "phoneNumberType");
    let res = customer_get(&w, "/restrictions?phoneNumberType=LOCAL").await;
    let body = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_field(&body, "countryCode");

    // The operator call needs the admin token.
    let res = w
        .app
        .client
        .put(w.app.url("/admin/v1/restrictions/NL/LOCAL"))
        .json(&json!({"maxQuantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn restrictions_out_of_bounds_are_refused_and_leave_the_old_ones() {
    let w = world().await;
    set_nl_local(&w.app, json!({"maxQuantity": 20})).await;
    let bad: Vec<(Value, &str)> = vec![
        (json!({"maxQuantity": 1001}), "maxQuantity"),
        (json!({"maxQuantity": 0}), "maxQuantity"),
        (json!({"minQuantity": 0}), "minQuantity"),
        (json!({"minQuantity": 11, "maxQuantity": 10}), "minQuantity"),
        (
            json!({"rangesSupported": true, "allowedRangeSizes": [100, 10]}),
            "allowedRangeSizes",
        ),
        (
            json!({"rangesSupported": true, "allowedRangeSizes": [10, 10]}),
            "allowedRangeSizes",
        ),
        (
            json!({"rangesSupported": true, "allowedRangeSizes": [0, 10]}),
            "allowedRangeSizes",
        ),
        (
            json!({"rangesSupported": true, "allowedRangeSizes": [-10]}),
            "allowedRangeSizes",
        ),
    ];
    for (body, field) in bad {
        let res = w.app.set_restrictions("NL", "LOCAL", body.clone()).await;
        let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
        // The body may blame either bound of a min > max pair.
        if field == "minQuantity" && body.get("maxQuantity").is_some() {
            let f = error_fields(&err);
            assert!(
                f.iter().any(|f| f == "minQuantity" || f == "maxQuantity"),
                "{body}: {err}"
            );
        } else {
            assert_field(&err, field);
        }
    }
    // Unknown type in the path.
    let res = w
        .app
        .set_restrictions("NL", "MOBILE", json!({"maxQuantity": 5}))
        .await;
    expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;

    // Nothing of that changed what was set before.
    let res = customer_get(&w, "/restrictions?countryCode=NL&phoneNumberType=LOCAL").await;
    let got = expect_json(res, StatusCode::OK).await;
    assert_eq!(got["maxQuantity"], 20);
    assert_eq!(got["minQuantity"], 1);
    assert_eq!(got["allowedRangeSizes"], json!([]));

    // The bounds themselves are fine.
    let ok = set_nl_local(
        &w.app,
        json!({"minQuantity": 1000, "maxQuantity": 1000, "rangesSupported": true,
               "allowedRangeSizes": [1, 5, 10]}),
    )
    .await;
    assert_eq!(ok["minQuantity"], 1000);
    assert_eq!(ok["allowedRangeSizes"], json!([1, 5, 10]));
}

#[tokio::test]
async fn quantity_counts_blocks_and_range_sizes_must_be_allowed() {
    let w = world().await;
    import_ams(&w.app, 0, 100).await;

    // Defaults: no ranges at all.
    let res = w
        .app
        .post_request(&w.acct, &block_body(&w.profile, 1, 10))
        .await;
    expect_error(res, StatusCode::BAD_REQUEST, "RANGE_SIZE_NOT_ALLOWED").await;

    // Ranges supported, but not every size.
    set_nl_local(
        &w.app,
        json!({"minQuantity": 2, "maxQuantity": 5, "rangesSupported": true,
               "allowedRangeSizes": [10, 100]}),
    )
    .await;
    let res = w
        .app
        .post_request(&w.acct, &block_body(&w.profile, 2, 50))
        .await;
    expect_error(res, StatusCode::BAD_REQUEST, "RANGE_SIZE_NOT_ALLOWED").await;

    // Sizes allowed but not supported: still refused.
    set_nl_local(
        &w.app,
        json!({"minQuantity": 2, "maxQuantity": 5, "rangesSupported": false,
               "allowedRangeSizes": [10, 100]}),
    )
    .await;
    let res = w
        .app
        .post_request(&w.acct, &block_body(&w.profile, 2, 10))
        .await;
    expect_error(res, StatusCode::BAD_REQUEST, "RANGE_SIZE_NOT_ALLOWED").await;

    set_nl_local(
        &w.app,
        json!({"minQuantity": 2, "maxQuantity": 5, "rangesSupported": true,
               "allowedRangeSizes": [10, 100]}),
    )
    .await;
    for q in [1, 6] {
        let res = w
            .app
            .post_request(&w.acct, &request_body(&w.profile, q))
            .await;
        expect_error(res, StatusCode::BAD_REQUEST, "QUANTITY_NOT_ALLOWED").await;
        let res = w
            .app
            .post_request(&w.acct, &block_body(&w.profile, q, 10))
            .await;
        expect_error(res, StatusCode::BAD_REQUEST, "QUANTITY_NOT_ALLOWED").await;
    }
    // Nothing was assigned by the refused calls.
    assert_eq!(w.app.all_phone_numbers(&w.acct).await.1, 0);

    // 5 blocks of 10 = 50 numbers is within maxQuantity 5: quantity counts blocks.
    let req = w
        .app
        .create_request(&w.acct, &block_body(&w.profile, 5, 10))
        .await;
    assert_eq!(req["status"], "Completed", "{req}");
    assert_eq!(req["rangeSize"], 10);
    assert_eq!(req["quantity"], 5);
    assert_eq!(req["ranges"].as_array().unwrap().len(), 5);
    let nums = assigned_numbers(&req);
    assert_eq!(nums.len(), 50);
    assert_eq!(nums.iter().collect::<BTreeSet<_>>().len(), 50);
    for r in req["ranges"].as_array().unwrap() {
        assert_eq!(r["size"], 10);
        assert!(r["validTo"].is_null());
        assert_uuid(&r["id"]);
    }
    assert_eq!(w.app.all_phone_numbers(&w.acct).await.1, 50);
}
