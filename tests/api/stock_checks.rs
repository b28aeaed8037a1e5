//! Stock import checks every number against its row's country and type by the numbering plans
//! (libphonenumber's metadata), and bounds the other fields (docs/api.md, stock import).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn nl_local(number: &str) -> Value {
    json!({"phoneNumber": number, "countryCode": "NL", "phoneNumberType": "LOCAL",
           "areaCode": "20", "city": "Amsterdam"})
}

/// Posts `rows` after one good row; answers the error's field names.
async fn refused(app: &TestApp, rows: Vec<Value>) -> Vec<String> {
    let mut numbers = vec![nl_local("+31201000000")];
    numbers.extend(rows);
    let res = app
        .admin_post("/admin/v1/inventory", &json!({"numbers": numbers}))
        .await;
    let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    error_fields(&err)
}

#[tokio::test]
async fn numbers_of_another_country_or_type_are_refused_and_nothing_is_added() {
    let app = spawn_app().await;
    let cases: Vec<(Value, &str)> = vec![
        // A New York number is no Dutch stock.
        (nl_local("+12125559999"), "numbers[1].phoneNumber"),
        // Not a number of the Dutch plan at all (too short, too long, no such prefix).
        (nl_local("+3120123"), "numbers[1].phoneNumber"),
        (nl_local("+312012345678"), "numbers[1].phoneNumber"),
        (nl_local("+31001234567"), "numbers[1].phoneNumber"),
        // A toll-free number as LOCAL, a geographic one as TOLLFREE.
        (nl_local("+31800100000"), "numbers[1].phoneNumber"),
        (
            json!({"phoneNumber": "+31201000005", "countryCode": "NL", "phoneNumberType": "TOLLFREE"}),
            "numbers[1].phoneNumber",
        ),
        // A run whose first number is wrong, and one whose last number leaves the plan.
        (
            json!({"start": "+12125550000", "count": 5, "countryCode": "NL", "phoneNumberType": "LOCAL", "areaCode": "20"}),
            "numbers[1].start",
        ),
        (
            json!({"start": "+31209999999", "count": 2, "countryCode": "NL", "phoneNumberType": "LOCAL", "areaCode": "20"}),
            "numbers[1].count",
        ),
        // A Dutch number is no US stock.
        (
            json!({"phoneNumber": "+31201000007", "countryCode": "US", "phoneNumberType": "LOCAL", "areaCode": "212"}),
            "numbers[1].phoneNumber",
        ),
    ];
    for (row, field) in cases {
        let fields = refused(&app, vec![row.clone()]).await;
        assert_eq!(fields, [field], "{row}");
    }
    assert!(app.stock_summary().await.is_empty(), "nothing was added");

    // The same numbers under their own country and type are fine.
    let res = app
        .admin_post(
            "/admin/v1/inventory",
            &json!({"numbers": [
                {"phoneNumber": "+12125559999", "countryCode": "US", "phoneNumberType": "LOCAL",
                 "areaCode": "212", "city": "New York", "region": "NY"},
                {"phoneNumber": "+31800100000", "countryCode": "NL", "phoneNumberType": "TOLLFREE"},
                {"start": "+31209999990", "count": 10, "countryCode": "NL", "phoneNumberType": "LOCAL", "areaCode": "20"}
            ]}),
        )
        .await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await,
        json!({"added": 12, "duplicates": 0})
    );
}

#[tokio::test]
async fn a_run_whose_ends_are_valid_but_whose_middle_is_not_is_refused() {
    let app = spawn_app().await;
    // +1 212 999 9999 and +1 213 200 0000 are both valid US numbers, but the run between them
    // crosses +1 213 0… and +1 213 1…, which the plan does not use.
    let row = json!({"start": "+12129999999", "count": 2_000_002, "countryCode": "US",
                     "phoneNumberType": "LOCAL", "areaCode": "212"});
    let res = app
        .admin_post("/admin/v1/inventory", &json!({"numbers": [row]}))
        .await;
    let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_eq!(error_fields(&err), ["numbers[0].count"]);
    let message = err["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("+12130000000"), "{message}");
    assert!(app.stock_summary().await.is_empty(), "nothing was added");
    // The part inside the used area code goes in.
    let row = json!({"start": "+12139000000", "count": 1_000, "countryCode": "US",
                     "phoneNumberType": "LOCAL", "areaCode": "213"});
    let res = app
        .admin_post("/admin/v1/inventory", &json!({"numbers": [row]}))
        .await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await,
        json!({"added": 1000, "duplicates": 0})
    );
}

#[tokio::test]
async fn area_code_city_and_region_are_bounded() {
    let app = spawn_app().await;
    let with = |field: &str, v: Value| {
        let mut row = nl_local("+31201000001");
        row[field] = v;
        row
    };
    for (row, field) in [
        (with("areaCode", json!("2a")), "numbers[1].areaCode"),
        (
            with("areaCode", json!("12345678901")),
            "numbers[1].areaCode",
        ),
        (with("areaCode", json!("+20")), "numbers[1].areaCode"),
        (with("city", json!("c".repeat(101))), "numbers[1].city"),
        (with("region", json!("r".repeat(101))), "numbers[1].region"),
        // A line break would be a fake line in e-mails that name the city.
        (with("city", json!("Amster\ndam")), "numbers[1].city"),
    ] {
        assert_eq!(refused(&app, vec![row.clone()]).await, [field], "{row}");
    }
    assert!(app.stock_summary().await.is_empty(), "nothing was added");
    // The bounds themselves are fine.
    let row = with("city", json!("c".repeat(100)));
    let mut row = row;
    row["areaCode"] = json!("1234567890");
    row["region"] = json!("r".repeat(100));
    let res = app
        .admin_post("/admin/v1/inventory", &json!({"numbers": [row]}))
        .await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await,
        json!({"added": 1, "duplicates": 0})
    );
}

#[tokio::test]
async fn csv_rows_are_checked_the_same_way() {
    let app = spawn_app().await;
    let csv = "phoneNumber,countryCode,phoneNumberType,areaCode,city,region\n\
               +31201000000,NL,LOCAL,20,Amsterdam,\n\
               +12125559999,NL,LOCAL,20,Amsterdam,\n";
    let res = app
        .admin(reqwest::Method::POST, "/admin/v1/inventory")
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_eq!(error_fields(&err), ["numbers[1].phoneNumber"]);
    assert!(app.stock_summary().await.is_empty(), "nothing was added");
}

#[tokio::test]
async fn a_profile_representative_number_must_be_a_real_number() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let mut body = profile_body();
    body["representativePhoneNumber"] = json!("+999123456");
    let res = app.create_profile(&acct, &body).await;
    let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_eq!(error_fields(&err), ["representativePhoneNumber"]);
    body["representativePhoneNumber"] = json!("+12125559999");
    expect_json(app.create_profile(&acct, &body).await, StatusCode::CREATED).await;
}
