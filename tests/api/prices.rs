//! Prices: the operator's price list, the customer's effective prices, the price quoted on each
//! request, availability's totals, and monthly usage (JSON and CSV).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn put_price(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.admin_put(&format!("/admin/v1/{path}"), &body).await
}

fn price(currency: &str, setup: &str, monthly: &str) -> Value {
    json!({"currency": currency, "setupPrice": setup, "monthlyPrice": monthly})
}

async fn effective(app: &TestApp, acct: &Acct, query: &str) -> Vec<Value> {
    let res = app
        .get(acct, &format!("{}/prices{query}", app.nr(&acct.id)))
        .await;
    expect_json(res, StatusCode::OK)
        .await
        .as_array()
        .unwrap()
        .clone()
}

async fn all_prices(app: &TestApp) -> Value {
    expect_json(app.admin_get("/admin/v1/prices").await, StatusCode::OK).await
}

#[tokio::test]
async fn an_accounts_own_price_wins_over_the_general_one_and_none_is_none() {
    let app = spawn_app().await;
    let a = app.create_account("A").await;
    let b = app.create_account("B").await;
    assert_eq!(effective(&app, &a, "").await, Vec::<Value>::new());

    let res = put_price(&app, "prices/NL/LOCAL", price("EUR", "1.5", "2")).await;
    let body = expect_json(res, StatusCode::OK).await;
    assert_eq!(
        body,
        json!({"accountId": null, "countryCode": "NL", "phoneNumberType": "LOCAL",
               "currency": "EUR", "setupPrice": "1.50", "monthlyPrice": "2.00"})
    );
    let res = put_price(
        &app,
        &format!("accounts/{}/prices/NL/LOCAL", a.id),
        price("EUR", "0.0125", "1.0000"),
    )
    .await;
    let body = expect_json(res, StatusCode::OK).await;
    assert_eq!(body["accountId"], a.id.as_str());
    assert_eq!(body["setupPrice"], "0.0125");
    assert_eq!(body["monthlyPrice"], "1.00");
    put_price(&app, "prices/NL/TOLLFREE", price("USD", "3", "4.25")).await;

    let mine = effective(&app, &a, "").await;
    assert_eq!(
        mine,
        vec![
            json!({"countryCode": "NL", "phoneNumberType": "LOCAL", "currency": "EUR",
                   "setupPrice": "0.0125", "monthlyPrice": "1.00"}),
            json!({"countryCode": "NL", "phoneNumberType": "TOLLFREE", "currency": "USD",
                   "setupPrice": "3.00", "monthlyPrice": "4.25"}),
        ]
    );
    let theirs = effective(&app, &b, "?phoneNumberType=LOCAL").await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["setupPrice"], "1.50");
    assert_eq!(effective(&app, &b, "?countryCode=US").await.len(), 0);
    assert_eq!(
        effective(&app, &b, "?countryCode=NL&phoneNumberType=TOLLFREE")
            .await
            .len(),
        1
    );

    // the operator's lists: everything, or one account's own entries
    let all = all_prices(&app).await;
    assert_eq!(all.as_array().unwrap().len(), 3, "{all}");
    let own = expect_json(
        app.admin_get(&format!("/admin/v1/prices?accountId={}", a.id))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(own.as_array().unwrap().len(), 1);
    assert_eq!(own[0]["accountId"], a.id.as_str());

    // removing the account's own price brings the general one back; twice is 404
    let path = format!("/admin/v1/accounts/{}/prices/NL/LOCAL", a.id);
    let res = app
        .admin(reqwest::Method::DELETE, &path)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        effective(&app, &a, "?phoneNumberType=LOCAL").await[0]["setupPrice"],
        "1.50"
    );
    let res = app
        .admin(reqwest::Method::DELETE, &path)
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    // removing the general one leaves none
    let res = app
        .admin(reqwest::Method::DELETE, "/admin/v1/prices/NL/LOCAL")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(effective(&app, &a, "?phoneNumberType=LOCAL").await.len(), 0);
    let res = app
        .admin(reqwest::Method::DELETE, "/admin/v1/prices/NL/LOCAL")
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

#[tokio::test]
async fn bad_amounts_currencies_and_keys_are_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let a = app.create_account("A").await;
    put_price(&app, "prices/NL/LOCAL", price("EUR", "1.50", "2.00")).await;
    let before = all_prices(&app).await;
    let cases: Vec<(&str, Value, &[&str])> = vec![
        ("prices/NL/LOCAL", price("EUR", "-1", "2"), &["setupPrice"]),
        (
            "prices/NL/LOCAL",
            price("EUR", "1.23456", "2"),
            &["setupPrice"],
        ),
        (
            "prices/NL/LOCAL",
            price("EUR", "1", "1000000.01"),
            &["monthlyPrice"],
        ),
        (
            "prices/NL/LOCAL",
            price("EUR", "1,5", "abc"),
            &["setupPrice", "monthlyPrice"],
        ),
        (
            "prices/NL/LOCAL",
            price("EUR", "", "1."),
            &["setupPrice", "monthlyPrice"],
        ),
        ("prices/NL/LOCAL", price("EUR", "1e3", "2"), &["setupPrice"]),
        (
            "prices/NL/LOCAL",
            json!({"currency": "EUR", "setupPrice": 1.5, "monthlyPrice": "2"}),
            &["setupPrice"],
        ),
        (
            "prices/NL/LOCAL",
            json!({"currency": "EUR", "setupPrice": "1"}),
            &["monthlyPrice"],
        ),
        ("prices/NL/LOCAL", price("eur", "1", "2"), &["currency"]),
        ("prices/NL/LOCAL", price("EURO", "1", "2"), &["currency"]),
        (
            "prices/NL/LOCAL",
            price("E\u{202e}R", "1", "2"),
            &["currency"],
        ),
        (
            "prices/NL/LOCAL",
            json!({"setupPrice": "1", "monthlyPrice": "2"}),
            &["currency"],
        ),
        ("prices/XX/LOCAL", price("EUR", "1", "2"), &["countryCode"]),
        (
            "prices/NL/MOBILE",
            price("EUR", "1", "2"),
            &["phoneNumberType"],
        ),
        (
            "accounts/ACCT/prices/nl/LOCAL",
            price("EUR", "1", "x"),
            &["countryCode", "monthlyPrice"],
        ),
    ];
    for (path, body, fields) in cases {
        let path = path.replace("ACCT", &a.id);
        let res = put_price(&app, &path, body.clone()).await;
        let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
        let got = error_fields(&err);
        for f in fields {
            assert!(got.contains(&f.to_string()), "{path} {body}: {err}");
        }
    }
    // not JSON, wrong content type, unknown account
    let res = app
        .admin(reqwest::Method::PUT, "/admin/v1/prices/NL/LOCAL")
        .header("content-type", "application/json")
        .body("{\"currency\": ")
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::BAD_REQUEST, "MALFORMED_JSON").await;
    let res = app
        .admin(reqwest::Method::PUT, "/admin/v1/prices/NL/LOCAL")
        .header("content-type", "text/plain")
        .body(price("EUR", "9", "9").to_string())
        .send()
        .await
        .unwrap();
    expect_error(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
    )
    .await;
    let res = put_price(
        &app,
        &format!("accounts/{}/prices/NL/LOCAL", new_uuid()),
        price("EUR", "9", "9"),
    )
    .await;
    expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let res = app.admin_get("/admin/v1/prices?accountId=nope").await;
    let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_field(&err, "accountId");
    for q in ["?countryCode=XX", "?phoneNumberType=MOBILE"] {
        let res = app.get(&a, &format!("{}/prices{q}", app.nr(&a.id))).await;
        expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    }
    assert_eq!(all_prices(&app).await, before, "nothing was written");
}

#[tokio::test]
async fn a_request_keeps_the_price_it_was_quoted_when_it_was_created() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    put_price(&app, "prices/NL/LOCAL", price("EUR", "1.50", "2.00")).await;
    // No stock yet: the request waits, quoted the price of now.
    let pending = app.create_request(&acct, &request_body(&profile, 1)).await;
    assert_eq!(pending["status"], "Pending");
    let quoted = json!({"currency": "EUR", "setupPrice": "1.50", "monthlyPrice": "2.00"});
    assert_eq!(pending["price"], quoted);
    // The list changes before the request completes.
    put_price(&app, "prices/NL/LOCAL", price("EUR", "9.00", "9.00")).await;
    put_price(
        &app,
        &format!("accounts/{}/prices/NL/LOCAL", acct.id),
        price("USD", "7", "7"),
    )
    .await;
    app.import_nl_local("+31201000000", 10).await;
    let id = s(&pending["id"]);
    let done = eventually(10, || {
        let app = &app;
        let (acct, id) = (&acct, &id);
        async move { app.get_request(acct, id).await["status"] == "Completed" }
    })
    .await;
    assert!(done, "the request completes from the new stock");
    let completed = app.get_request(&acct, &id).await;
    assert_eq!(completed["price"], quoted);
    // ... in the list and in the events too
    let res = app
        .get(&acct, &format!("{}/numberrequests", app.nr(&acct.id)))
        .await;
    let list = expect_json(res, StatusCode::OK).await;
    assert_eq!(list[0]["price"], quoted);
    // A new request is quoted the account's own price of now; one without any price, null.
    let now = app.create_request(&acct, &request_body(&profile, 1)).await;
    assert_eq!(
        now["price"],
        json!({"currency": "USD", "setupPrice": "7.00", "monthlyPrice": "7.00"})
    );
    let tollfree = app
        .create_request(
            &acct,
            &json!({"companyProfileId": profile, "quantity": 1, "phoneNumberType": "TOLLFREE"}),
        )
        .await;
    assert_eq!(tollfree["price"], Value::Null);
}

#[tokio::test]
async fn availability_shows_the_price_and_the_totals_for_the_quantity() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    app.import_nl_local("+31201000000", 100).await;
    app.set_restrictions(
        "NL",
        "LOCAL",
        json!({"rangesSupported": true, "allowedRangeSizes": [10]}),
    )
    .await;
    let url = |q: &str| {
        format!(
            "{}/availability?companyProfileId={profile}&phoneNumberType=LOCAL&areaCode=20{q}",
            app.nr(&acct.id)
        )
    };
    let body = expect_json(app.get(&acct, &url("&quantity=3")).await, StatusCode::OK).await;
    assert_eq!(body["price"], Value::Null);
    assert_eq!(body["setupTotal"], Value::Null);
    assert_eq!(body["monthlyTotal"], Value::Null);
    put_price(&app, "prices/NL/LOCAL", price("EUR", "0.0125", "2.10")).await;
    let body = expect_json(app.get(&acct, &url("&quantity=3")).await, StatusCode::OK).await;
    assert_eq!(
        body["price"],
        json!({"currency": "EUR", "setupPrice": "0.0125", "monthlyPrice": "2.10"})
    );
    assert_eq!(body["setupTotal"], "0.0375");
    assert_eq!(body["monthlyTotal"], "6.30");
    // quantity × rangeSize numbers
    let body = expect_json(
        app.get(&acct, &url("&quantity=2&rangeSize=10")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["setupTotal"], "0.25");
    assert_eq!(body["monthlyTotal"], "42.00");
}

/// First millisecond of the month `delta` months from now (UTC), and its `YYYY-MM`.
fn month_from_now(delta: i32) -> (i64, String) {
    let now = time::OffsetDateTime::now_utc();
    let mut y = now.year();
    let mut m = now.month() as i32 + delta;
    while m < 1 {
        m += 12;
        y -= 1;
    }
    while m > 12 {
        m -= 12;
        y += 1;
    }
    let date =
        time::Date::from_calendar_date(y, time::Month::try_from(m as u8).unwrap(), 1).unwrap();
    let ms = (date.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    (ms, format!("{y:04}-{m:02}"))
}

async fn usage(app: &TestApp, acct: &Acct, month: &str) -> Value {
    let res = app
        .get(acct, &format!("{}/usage?month={month}", app.nr(&acct.id)))
        .await;
    expect_json(res, StatusCode::OK).await
}

async fn release(app: &TestApp, acct: &Acct, number: &str) {
    let res = app
        .client
        .post(format!(
            "{}/phonenumbers/{}/release",
            app.nr(&acct.id),
            number.replace('+', "%2B")
        ))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "release {number}");
}

fn line_of<'a>(lines: &'a [Value], number: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["phoneNumber"] == number)
        .collect()
}

#[tokio::test]
async fn usage_charges_whole_months_setup_once_and_each_holding_with_totals_per_currency() {
    let app = spawn_app_with(|c| c.aging_secs = 0).await;
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    let us_profile = app.approved_profile_with(&acct, us_profile_body()).await;
    app.import_numbers(json!({"numbers": [
        {"start": "+31201000000", "count": 2, "countryCode": "NL", "phoneNumberType": "LOCAL", "areaCode": "20", "city": "Amsterdam"},
        {"phoneNumber": "+31101000000", "countryCode": "NL", "phoneNumberType": "LOCAL", "areaCode": "10", "city": "Rotterdam"},
        {"phoneNumber": "+31800100000", "countryCode": "NL", "phoneNumberType": "TOLLFREE"},
        {"phoneNumber": "+12125550000", "countryCode": "US", "phoneNumberType": "LOCAL", "areaCode": "212", "city": "New York", "region": "NY"}
    ]}))
    .await;
    put_price(&app, "prices/NL/LOCAL", price("EUR", "1.50", "2.00")).await;
    put_price(&app, "prices/NL/TOLLFREE", price("USD", "3", "4")).await;

    // Two numbers held since the previous month; one of them released now.
    let held = app.create_request(&acct, &request_body(&profile, 2)).await;
    assert_eq!(held["status"], "Completed");
    let (prev_start, prev) = month_from_now(-1);
    let (_, this) = month_from_now(0);
    let (_, next) = month_from_now(1);
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.db_url).await.unwrap();
    sqlx::query("UPDATE assigned_numbers SET valid_from_ms = $1 WHERE number_request_id = $2")
        .bind(prev_start + 86_400_000)
        .bind(s(&held["id"]))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    release(&app, &acct, "+31201000001").await;
    // One number assigned and released twice this month.
    let rotterdam = json!({"companyProfileId": profile, "quantity": 1, "phoneNumberType": "LOCAL", "areaCode": "10"});
    for round in 0..2 {
        if round == 1 {
            let back = eventually(15, || {
                let app = &app;
                async move { app.stock_counts("NL", "LOCAL", "10").await.available == 1 }
            })
            .await;
            assert!(back, "the released number returns to stock");
        }
        let r = app.create_request(&acct, &rotterdam).await;
        assert_eq!(r["status"], "Completed", "{r}");
        release(&app, &acct, "+31101000000").await;
    }
    // In another currency, and a number whose request has no price.
    let tf = app
        .create_request(
            &acct,
            &json!({"companyProfileId": profile, "quantity": 1, "phoneNumberType": "TOLLFREE"}),
        )
        .await;
    assert_eq!(tf["status"], "Completed");
    let us = app
        .create_request(
            &acct,
            &json!({"companyProfileId": us_profile, "quantity": 1, "phoneNumberType": "LOCAL", "areaCode": "212", "region": "NY"}),
        )
        .await;
    assert_eq!(us["status"], "Completed", "{us}");

    let u = usage(&app, &acct, &this).await;
    assert_eq!(u["month"], this.as_str());
    let lines = u["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 6, "{u:#}");
    let kept = line_of(lines, "+31201000000");
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["setupCharge"], "0.00", "setup was last month");
    assert_eq!(kept[0]["monthlyCharge"], "2.00");
    assert_eq!(kept[0]["validTo"], Value::Null);
    assert_eq!(kept[0]["numberRequestId"], held["id"]);
    let released = line_of(lines, "+31201000001");
    assert_eq!(released.len(), 1);
    assert_eq!(released[0]["setupCharge"], "0.00");
    assert_eq!(
        released[0]["monthlyCharge"], "2.00",
        "held this month, however briefly"
    );
    assert_time(&released[0]["validTo"]);
    let twice = line_of(lines, "+31101000000");
    assert_eq!(twice.len(), 2, "one line per holding");
    for l in &twice {
        assert_eq!(l["setupCharge"], "1.50");
        assert_eq!(l["monthlyCharge"], "2.00");
        assert_time(&l["validTo"]);
    }
    assert_ne!(twice[0]["numberRequestId"], twice[1]["numberRequestId"]);
    let toll = line_of(lines, "+31800100000");
    assert_eq!(toll[0]["currency"], "USD");
    assert_eq!(toll[0]["setupCharge"], "3.00");
    let free = line_of(lines, "+12125550000");
    assert_eq!(free[0]["currency"], Value::Null);
    assert_eq!(free[0]["setupCharge"], Value::Null);
    assert_eq!(free[0]["monthlyCharge"], Value::Null);
    assert_eq!(free[0]["countryCode"], "US");
    // ordered by validFrom, then phone number
    let keys: Vec<(String, String)> = lines
        .iter()
        .map(|l| (s(&l["validFrom"]), s(&l["phoneNumber"])))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(
        u["totals"],
        json!([
            {"currency": "EUR", "setup": "3.00", "monthly": "8.00", "total": "11.00"},
            {"currency": "USD", "setup": "3.00", "monthly": "4.00", "total": "7.00"}
        ])
    );

    // The previous month: the two numbers with their setup.
    let u = usage(&app, &acct, &prev).await;
    let lines = u["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{u:#}");
    assert!(lines.iter().all(|l| l["setupCharge"] == "1.50"));
    assert_eq!(
        u["totals"],
        json!([{"currency": "EUR", "setup": "3.00", "monthly": "4.00", "total": "7.00"}])
    );
    // The next month: what is still held, without setup.
    let u = usage(&app, &acct, &next).await;
    let numbers: Vec<String> = u["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| s(&l["phoneNumber"]))
        .collect();
    assert_eq!(numbers.len(), 3, "{u:#}");
    for n in ["+31201000000", "+31800100000", "+12125550000"] {
        assert!(numbers.contains(&n.to_string()), "{n} in {numbers:?}");
    }
    assert_eq!(
        u["totals"],
        json!([
            {"currency": "EUR", "setup": "0.00", "monthly": "2.00", "total": "2.00"},
            {"currency": "USD", "setup": "0.00", "monthly": "4.00", "total": "4.00"}
        ])
    );
    // Without month: the current one. Another account sees none of it.
    let res = app.get(&acct, &format!("{}/usage", app.nr(&acct.id))).await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await["month"],
        this.as_str()
    );
    let other = app.create_account("B").await;
    let u = usage(&app, &other, &this).await;
    assert_eq!(u, json!({"month": this, "lines": [], "totals": []}));

    // CSV: header, one row per line, empty cells for null, no totals.
    let res = app
        .client
        .get(format!("{}/usage?month={this}", app.nr(&acct.id)))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(header(&res, "content-type").starts_with("text/csv"));
    let text = res.text().await.unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(
        rows[0],
        "phoneNumber,numberRequestId,countryCode,phoneNumberType,validFrom,validTo,currency,setupCharge,monthlyCharge"
    );
    assert_eq!(rows.len(), 7, "{text}");
    let us_row = rows
        .iter()
        .find(|r| r.starts_with("+12125550000,"))
        .unwrap();
    assert_eq!(
        *us_row,
        format!(
            "+12125550000,{},US,LOCAL,{},,,,",
            s(&us["id"]),
            s(&us["ranges"][0]["validFrom"])
        )
    );
    let kept_row = rows
        .iter()
        .find(|r| r.starts_with("+31201000000,"))
        .unwrap();
    assert!(kept_row.ends_with(",,EUR,0.00,2.00"), "{kept_row}");

    // The operator: every account, accountId first; CSV too.
    let res = app
        .admin_get(&format!(
            "/admin/v1/usage?month={this}&accountId={}",
            acct.id
        ))
        .await;
    let op = expect_json(res, StatusCode::OK).await;
    assert_eq!(op["lines"].as_array().unwrap().len(), 6);
    assert!(
        op["lines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["accountId"] == acct.id.as_str())
    );
    assert_eq!(op["totals"][0]["total"], "11.00");
    let res = app
        .admin(
            reqwest::Method::GET,
            &format!("/admin/v1/usage?month={this}"),
        )
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    assert!(
        text.starts_with("accountId,phoneNumber,numberRequestId,"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 7);
    assert!(text.lines().skip(1).all(|l| l.starts_with(&acct.id)));
}

#[tokio::test]
async fn a_bad_month_or_account_is_refused() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    for m in [
        "2026-13",
        "2026-00",
        "2026-1",
        "26-12",
        "2026/12",
        "abc",
        "",
        "2026-12-01",
    ] {
        let res = app
            .get(&acct, &format!("{}/usage?month={m}", app.nr(&acct.id)))
            .await;
        let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
        assert_field(&err, "month");
        let res = app.admin_get(&format!("/admin/v1/usage?month={m}")).await;
        expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    }
    let res = app.admin_get("/admin/v1/usage?accountId=x").await;
    let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_field(&err, "accountId");
    // another account's usage is forbidden, as every customer path
    let other = app.create_account("B").await;
    let res = app
        .get(&acct, &format!("{}/usage", app.nr(&other.id)))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}
