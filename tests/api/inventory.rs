//! Operator stock import and summary (API.md §5).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn import_csv(app: &TestApp, csv: &str) -> reqwest::Response {
    app.admin(reqwest::Method::POST, "/admin/v1/inventory")
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn json_import_counts_added_and_duplicates() {
    let app = spawn_app().await;
    let body = json!({"numbers": [
        {"phoneNumber": "+31201000000", "countryCode": "NL", "phoneNumberType": "LOCAL", "areaCode": "20", "city": "Amsterdam", "region": null},
        {"start": "+31201000010", "count": 5, "countryCode": "NL", "phoneNumberType": "LOCAL", "areaCode": "20", "city": "Amsterdam"},
        {"phoneNumber": "+31800100000", "countryCode": "NL", "phoneNumberType": "TOLLFREE", "areaCode": "800"}
    ]});
    assert_eq!(
        app.import_numbers(body.clone()).await,
        json!({"added": 7, "duplicates": 0})
    );
    assert_eq!(
        app.import_numbers(body).await,
        json!({"added": 0, "duplicates": 7})
    );
    // overlap: 3 known, 2 new
    let res = app.import_nl_local("+31201000012", 5).await;
    assert_eq!(res, json!({"added": 2, "duplicates": 3}));

    assert_eq!(
        app.stock_counts("NL", "LOCAL", "20").await,
        StockCounts {
            available: 8,
            assigned: 0,
            aging: 0,
            total: 8
        }
    );
    assert_eq!(
        app.stock_counts("NL", "TOLLFREE", "800").await,
        StockCounts {
            available: 1,
            assigned: 0,
            aging: 0,
            total: 1
        }
    );
}

#[tokio::test]
async fn a_duplicate_is_left_unchanged() {
    let app = spawn_app().await;
    app.import_nl_local("+31201000000", 1).await;
    // the same number again, claiming another area: duplicate, stays in area 20
    let res = app
        .import_numbers(json!({"numbers": [{"phoneNumber": "+31201000000", "countryCode": "NL", "phoneNumberType": "LOCAL", "areaCode": "10", "city": "Rotterdam"}]}))
        .await;
    assert_eq!(res, json!({"added": 0, "duplicates": 1}));
    assert_eq!(app.stock_counts("NL", "LOCAL", "20").await.total, 1);
    assert_eq!(app.stock_counts("NL", "LOCAL", "10").await.total, 0);
}

#[tokio::test]
async fn summary_rows_have_the_contract_shape() {
    let app = spawn_app().await;
    app.import_numbers(json!({"numbers": [
        {"start": "+12125550000", "count": 4, "countryCode": "US", "phoneNumberType": "LOCAL", "areaCode": "212", "city": "New York", "region": "NY"},
        {"start": "+31101000000", "count": 2, "countryCode": "NL", "phoneNumberType": "LOCAL", "areaCode": "10", "city": "Rotterdam"}
    ]}))
    .await;
    let rows = app.stock_summary().await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let us = rows
        .iter()
        .find(|r| r["countryCode"] == "US")
        .expect("US row");
    assert_eq!(
        us,
        &json!({"countryCode": "US", "phoneNumberType": "LOCAL", "areaCode": "212", "city": "New York", "region": "NY",
                "available": 4, "assigned": 0, "aging": 0, "total": 4})
    );
    let nl = rows
        .iter()
        .find(|r| r["countryCode"] == "NL")
        .expect("NL row");
    assert!(nl["region"].is_null());
    assert_eq!(nl["total"], 2);
}

#[tokio::test]
async fn csv_import_with_single_numbers_and_blocks() {
    let app = spawn_app().await;
    let csv = "phoneNumber,start,count,countryCode,phoneNumberType,areaCode,city,region\n\
               +31201000000,,,NL,LOCAL,20,Amsterdam,\n\
               ,+31201000100,10,NL,LOCAL,20,Amsterdam,\n\
               +12125550000,,,US,LOCAL,212,New York,NY\n";
    let res = import_csv(&app, csv).await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await,
        json!({"added": 12, "duplicates": 0})
    );
    let res = import_csv(&app, csv).await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await,
        json!({"added": 0, "duplicates": 12})
    );
    let rows = app.stock_summary().await;
    let nl = rows.iter().find(|r| r["countryCode"] == "NL").unwrap();
    assert!(nl["region"].is_null(), "empty CSV cell must be null: {nl}");
    assert_eq!(nl["total"], 11);
}

#[tokio::test]
async fn csv_with_columns_in_another_order_and_only_single_numbers() {
    let app = spawn_app().await;
    let csv = "countryCode,phoneNumberType,phoneNumber,areaCode,city\nNL,TOLLFREE,+31800100000,800,\nNL,TOLLFREE,+31800100001,800,\n";
    let res = import_csv(&app, csv).await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await,
        json!({"added": 2, "duplicates": 0})
    );
    let rows = app.stock_summary().await;
    assert!(rows[0]["city"].is_null());
}

#[tokio::test]
async fn invalid_stock_is_validation_failed_and_nothing_is_added() {
    let app = spawn_app().await;
    let good = json!({"phoneNumber": "+31201000000", "countryCode": "NL", "phoneNumberType": "LOCAL", "areaCode": "20", "city": "Amsterdam"});
    let bads: Vec<Value> = vec![
        json!({"phoneNumber": "0201234567", "countryCode": "NL", "phoneNumberType": "LOCAL", "areaCode": "20"}),
        json!({"phoneNumber": "+31201000001", "phoneNumberType": "LOCAL", "areaCode": "20"}),
        json!({"phoneNumber": "+31201000001", "countryCode": "NL", "phoneNumberType": "MOBILE", "areaCode": "20"}),
        json!({"countryCode": "NL", "phoneNumberType": "LOCAL", "areaCode": "20"}),
        json!({"start": "+31201000001", "count": 0, "countryCode": "NL", "phoneNumberType": "LOCAL", "areaCode": "20"}),
    ];
    for bad in bads {
        let res = app
            .admin_post(
                "/admin/v1/inventory",
                &json!({"numbers": [good.clone(), bad.clone()]}),
            )
            .await;
        let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
        assert!(!error_fields(&err).is_empty(), "{err}");
    }
    assert!(
        app.stock_summary().await.is_empty(),
        "a failed import must add nothing"
    );
    let res = app
        .admin_post("/admin/v1/inventory", &json!({"numbers": []}))
        .await;
    expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    let res = app
        .admin_post("/admin/v1/inventory", &json!({"numbers": "x"}))
        .await;
    expect_error(res, StatusCode::BAD_REQUEST, "MALFORMED_JSON").await;
}

#[tokio::test]
async fn import_of_ten_thousand_numbers_in_one_call_is_counted_exactly() {
    let app = spawn_app().await;
    let res = app.import_nl_local("+31201000000", 10_000).await;
    assert_eq!(res, json!({"added": 10_000, "duplicates": 0}));
    // half overlapping
    let res = app.import_nl_local("+31201005000", 10_000).await;
    assert_eq!(res, json!({"added": 5_000, "duplicates": 5_000}));
    assert_eq!(app.stock_counts("NL", "LOCAL", "20").await.total, 15_000);
}

#[tokio::test]
async fn import_of_one_million_numbers_in_one_call_works() {
    let app = spawn_app().await;
    let started = std::time::Instant::now();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(300))
        .build()
        .unwrap();
    let res = client
        .post(app.url("/admin/v1/inventory"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"numbers": [{"start": "+31201000000", "count": 1_000_000, "countryCode": "NL",
                                   "phoneNumberType": "LOCAL", "areaCode": "20", "city": "Amsterdam"}]}))
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    eprintln!("import of 1,000,000 numbers took {took:?}");
    assert_eq!(
        expect_json(res, StatusCode::OK).await,
        json!({"added": 1_000_000, "duplicates": 0})
    );
    let c = app.stock_counts("NL", "LOCAL", "20").await;
    assert_eq!(c.total, 1_000_000);
    assert_eq!(c.available, 1_000_000);
    // and the stock is usable
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    let req = app.create_request(&acct, &request_body(&profile, 3)).await;
    assert_eq!(req["status"], "Completed");
}

#[tokio::test]
async fn csv_import_is_not_held_to_the_64_kib_json_limit() {
    let app = spawn_app().await;
    let mut csv = String::from("phoneNumber,countryCode,phoneNumberType,areaCode,city,region\n");
    for i in 0..4000u64 {
        csv.push_str(&format!("+{},NL,LOCAL,20,Amsterdam,\n", 31201000000u64 + i));
    }
    assert!(csv.len() > 128 * 1024);
    let res = import_csv(&app, &csv).await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await,
        json!({"added": 4000, "duplicates": 0})
    );
}
