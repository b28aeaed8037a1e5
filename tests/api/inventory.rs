//! Operator stock import and summary (docs/api.md).

use std::collections::BTreeSet;

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

/// Aligned blocks `(size, start)` that are whole in the stock as stored: every number present,
/// free and of one country, type, area code, city and region; blocks of 10 and 100 of unsealed
/// numbers only (status 0: a sealed block of 1,000, status 3, records no smaller block).
async fn whole_blocks_by_scan(conn: &mut sqlx::AnyConnection) -> BTreeSet<(i64, i64)> {
    let mut out = BTreeSet::new();
    for s in [10i64, 100, 1000, 10000] {
        let free = if s < 1000 {
            "status = 0"
        } else {
            "status IN (0, 3)"
        };
        let rows: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT (num / {s}) * {s} FROM numbers WHERE {free} GROUP BY num / {s} \
             HAVING COUNT(*) = {s} AND COUNT(DISTINCT country_code || '|' || phone_number_type || '|' || area_code || '|' || city_key || '|' || region_key) = 1"
        ))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        out.extend(rows.into_iter().map(|b| (s, b)));
    }
    out
}

/// The sealed blocks of 1,000 (status 3), checking that each is sealed in full and recorded
/// whole.
async fn sealed_blocks(conn: &mut sqlx::AnyConnection) -> BTreeSet<i64> {
    let partial: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT (num / 1000) * 1000, COUNT(*) FROM numbers WHERE status = 3 GROUP BY num / 1000 \
         HAVING COUNT(*) <> 1000",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(partial, vec![], "blocks sealed in part");
    let sealed: Vec<i64> = sqlx::query_scalar(
        "SELECT (num / 1000) * 1000 FROM numbers WHERE status = 3 GROUP BY num / 1000",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let recorded = whole_blocks_recorded(conn).await;
    for b in &sealed {
        assert!(
            recorded.contains(&(1000, *b)),
            "sealed block {b} not recorded whole"
        );
    }
    sealed.into_iter().collect()
}

async fn whole_blocks_recorded(conn: &mut sqlx::AnyConnection) -> BTreeSet<(i64, i64)> {
    // the recorded attributes must be those of the block's numbers
    let wrong: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM whole_blocks w JOIN numbers n ON n.num = w.start_num \
         WHERE n.country_code <> w.country_code OR n.phone_number_type <> w.phone_number_type \
         OR n.area_code <> w.area_code OR n.city_key <> w.city_key OR n.region_key <> w.region_key",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(wrong, 0, "whole blocks recorded with other attributes");
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("SELECT size, start_num FROM whole_blocks ORDER BY size, start_num")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    rows.into_iter().collect()
}

/// One import entry for the model test: `count` numbers from `first` in `city`.
fn run(first: i64, count: i64, city: &str) -> Value {
    if count == 1 {
        json!({"phoneNumber": format!("+{first}"), "countryCode": "NL", "phoneNumberType": "LOCAL", "areaCode": "20", "city": city})
    } else {
        json!({"start": format!("+{first}"), "count": count, "countryCode": "NL", "phoneNumberType": "LOCAL", "areaCode": "20", "city": city})
    }
}

#[tokio::test]
async fn whole_blocks_match_a_scan_after_unaligned_overlapping_and_filling_imports() {
    use sqlx::Connection;
    let app = spawn_app().await;
    let b: i64 = 31_201_000_000;
    let imports: Vec<Vec<Value>> = vec![
        // unaligned: the partial blocks at both ends are not whole
        vec![run(b + 5, 990, "Amsterdam")],
        // fills the first ten (block of 10 and of 100 become whole with the stock after them)
        vec![run(b, 5, "Amsterdam")],
        // fills the last five: the blocks of 10, 100 and 1,000 ending there become whole
        vec![run(b + 995, 5, "amsterdam ")],
        // the next thousand in another city: whole on its own, but not the block of 10,000
        vec![run(b + 1000, 1000, "Rotterdam")],
        // several entries in one import: out of order, one repeating numbers of another
        vec![
            run(b + 2500, 700, "Amsterdam"),
            run(b + 2000, 500, "Amsterdam"),
            run(b + 2100, 50, "Rotterdam"),
            run(b + 3200, 1, "Amsterdam"),
        ],
        // single numbers filling a block of 10 backwards, one of them twice
        (0..10)
            .rev()
            .map(|i| run(b + 3210 + i, 1, "Amsterdam"))
            .chain([run(b + 3215, 1, "Amsterdam")])
            .collect(),
        // a long range over all of the above and beyond, in several transactions
        vec![run(b, 250_000, "Amsterdam")],
        // a long unaligned range ending inside a block that the next import completes
        vec![run(b + 300_005, 123_450, "Amsterdam")],
        vec![
            run(b + 300_000, 5, "Amsterdam"),
            run(b + 423_455, 6_545, "Amsterdam"),
        ],
        // everything again: all duplicates
        vec![run(b, 430_000, "Amsterdam")],
        // a gap in the middle of a block of 10, filled by a fresh import
        vec![
            run(b + 500_000, 3, "Amsterdam"),
            run(b + 500_007, 3, "Amsterdam"),
        ],
        vec![run(b + 500_003, 4, "Amsterdam")],
        // adjacent entries of different cities in one fresh import
        vec![
            run(b + 600_000, 500, "Amsterdam"),
            run(b + 600_500, 500, "Rotterdam"),
            run(b + 601_000, 1000, "Amsterdam"),
            run(b + 602_000, 8000, "amsterdam"),
            // a block of 10,000 whole across two entries whose cities differ only in case
            run(b + 610_000, 5000, "Amsterdam"),
            run(b + 615_000, 5000, "AMSTERDAM"),
        ],
    ];
    let mut known = BTreeSet::new();
    let mut conn = {
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(&app.db_url).await.unwrap()
    };
    for (i, entries) in imports.into_iter().enumerate() {
        let (mut added, mut dups) = (0, 0);
        for e in &entries {
            let first: i64 = e
                .get("start")
                .or_else(|| e.get("phoneNumber"))
                .and_then(Value::as_str)
                .unwrap()[1..]
                .parse()
                .unwrap();
            for n in first..first + e.get("count").and_then(Value::as_i64).unwrap_or(1) {
                if known.insert(n) {
                    added += 1;
                } else {
                    dups += 1;
                }
            }
        }
        assert_eq!(
            app.import_numbers(json!({ "numbers": entries })).await,
            json!({"added": added, "duplicates": dups}),
            "import {i}"
        );
        let recorded = whole_blocks_recorded(&mut conn).await;
        let scanned = whole_blocks_by_scan(&mut conn).await;
        sealed_blocks(&mut conn).await;
        let missing: Vec<_> = scanned.difference(&recorded).collect();
        let extra: Vec<_> = recorded.difference(&scanned).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "whole blocks after import {i}: missing {missing:?}, extra {extra:?}"
        );
    }
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM numbers")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(total, known.len() as i64);
    // the blocks inside fresh ranges were sealed: the thousand in Rotterdam, the inner blocks of
    // the fresh unaligned range, the long entries of the last import; not the blocks at the ends
    // of a range, nor those of imports that met known numbers
    let sealed = sealed_blocks(&mut conn).await;
    for b in [
        b + 1000,
        b + 301_000,
        b + 422_000,
        b + 601_000,
        b + 602_000,
        b + 615_000,
    ] {
        assert!(sealed.contains(&b), "block {b} not sealed: {sealed:?}");
    }
    for b in [b, b + 2000, b + 4000, b + 300_000, b + 423_000] {
        assert!(!sealed.contains(&b), "block {b} sealed");
    }
    // the repeated numbers kept the city of their first import
    let city: String = sqlx::query_scalar("SELECT city FROM numbers WHERE num = $1")
        .bind(b + 2120)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(city, "Amsterdam");
}
