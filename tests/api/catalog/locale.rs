//! Locale options and the NANPA region rule.

use super::*;

fn opt(
    area: &str,
    city: Option<&str>,
    region: Option<&str>,
    n: i64,
) -> (String, String, String, i64) {
    (
        json!(area).to_string(),
        json!(city).to_string(),
        json!(region).to_string(),
        n,
    )
}

#[tokio::test]
async fn locale_options_list_every_known_combination_with_exact_counts() {
    let w = world().await;
    let res = customer_get(&w, "/localeoptions?countryCode=NL&phoneNumberType=LOCAL").await;
    assert_eq!(expect_json(res, StatusCode::OK).await, json!([]));

    import_ams(&w.app, 0, 10).await;
    import_nl(&w.app, 31_101_000_000, 3, "10", Some("Rotterdam")).await;
    import_nl(&w.app, 31_301_000_000, 2, "30", Some("Utrecht")).await;
    w.app
        .import_numbers(json!({"numbers": [
            {"start": "+31800100000", "count": 4, "countryCode": "NL", "phoneNumberType": "TOLLFREE", "areaCode": "800"},
            {"start": "+12125550000", "count": 6, "countryCode": "US", "phoneNumberType": "LOCAL",
             "areaCode": "212", "city": "New York", "region": "NY"}
        ]}))
        .await;

    // Utrecht is sold out, Amsterdam partly.
    let mut b = request_body(&w.profile, 2);
    b["areaCode"] = json!("30");
    assert_eq!(
        w.app.create_request(&w.acct, &b).await["status"],
        "Completed"
    );
    assert_eq!(
        w.app
            .create_request(&w.acct, &request_body(&w.profile, 4))
            .await["status"],
        "Completed"
    );

    let res = customer_get(&w, "/localeoptions?countryCode=NL&phoneNumberType=LOCAL").await;
    let got = expect_json(res, StatusCode::OK).await;
    assert_eq!(
        locale_set(&got),
        [
            opt("20", Some("Amsterdam"), None, 6),
            opt("10", Some("Rotterdam"), None, 3),
            opt("30", Some("Utrecht"), None, 0),
        ]
        .into()
    );
    let res = customer_get(&w, "/localeoptions?countryCode=NL&phoneNumberType=TOLLFREE").await;
    assert_eq!(
        locale_set(&expect_json(res, StatusCode::OK).await),
        [opt("800", None, None, 4)].into()
    );
    let res = customer_get(&w, "/localeoptions?countryCode=US&phoneNumberType=LOCAL").await;
    assert_eq!(
        locale_set(&expect_json(res, StatusCode::OK).await),
        [opt("212", Some("New York"), Some("NY"), 6)].into()
    );
    let res = customer_get(&w, "/localeoptions?countryCode=NL&phoneNumberType=NATIONAL").await;
    assert_eq!(expect_json(res, StatusCode::OK).await, json!([]));

    // A released (aging) number is not available.
    let (numbers, _) = w.app.all_phone_numbers(&w.acct).await;
    let ams = numbers
        .iter()
        .find(|n| n["areaCode"] == "20")
        .expect("an Amsterdam number");
    let res = release(&w, &s(&ams["phoneNumber"])).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = customer_get(&w, "/localeoptions?countryCode=NL&phoneNumberType=LOCAL").await;
    assert!(
        locale_set(&expect_json(res, StatusCode::OK).await).contains(&opt(
            "20",
            Some("Amsterdam"),
            None,
            6
        ))
    );

    let res = customer_get(&w, "/localeoptions?countryCode=nl&phoneNumberType=LOCAL").await;
    expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
}

#[tokio::test]
async fn nanpa_local_needs_a_region_and_matches_it_case_insensitively() {
    let w = world().await;
    let us = w
        .app
        .approved_profile_with(&w.acct, us_profile_body())
        .await;
    w.app
        .import_numbers(json!({"numbers": [{"start": "+12125550000", "count": 10,
            "countryCode": "US", "phoneNumberType": "LOCAL", "areaCode": "212",
            "city": "New York", "region": "NY"}]}))
        .await;
    let body = |region: Option<&str>| {
        json!({"companyProfileId": us, "quantity": 1, "phoneNumberType": "LOCAL",
               "areaCode": "212", "region": region})
    };
    let res = w.app.post_request(&w.acct, &body(None)).await;
    expect_error(res, StatusCode::BAD_REQUEST, "REGION_REQUIRED").await;

    let ok = w.app.create_request(&w.acct, &body(Some("ny"))).await;
    assert_eq!(ok["status"], "Completed", "{ok}");
    assert_eq!(ok["countryCode"], "US");
    let n = num(&ok["ranges"][0]["start"]);
    assert!((12_125_550_000..12_125_550_010).contains(&n));

    let wrong = w.app.create_request(&w.acct, &body(Some("CA"))).await;
    assert_eq!(wrong["status"], "Pending", "{wrong}");

    // Outside NANPA no region is needed; given, it is a filter.
    import_ams(&w.app, 0, 5).await;
    assert_eq!(
        w.app
            .create_request(&w.acct, &request_body(&w.profile, 1))
            .await["status"],
        "Completed"
    );
    let mut b = request_body(&w.profile, 1);
    b["region"] = json!("Zuid-Holland");
    assert_eq!(w.app.create_request(&w.acct, &b).await["status"], "Pending");
}
