//! Issue 3, order rules and catalog (docs/api.md): restrictions,
//! aligned ranges, review, requirements, locale options, availability, release and aging,
//! NANPA regions, the demo world and the OpenAPI document.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

// ---------------------------------------------------------------------------------------------
// Helpers local to this file
// ---------------------------------------------------------------------------------------------

/// A fresh app with one account and one approved NL profile (LOCAL, TOLLFREE; city Amsterdam).
struct World {
    app: TestApp,
    acct: Acct,
    profile: String,
}

async fn world() -> World {
    world_on(spawn_app().await).await
}

async fn world_on(app: TestApp) -> World {
    let acct = app.create_account("catalog").await;
    let profile = app.approved_profile(&acct).await;
    World { app, acct, profile }
}

/// `+31201000005` → 31201000005
fn num(v: &Value) -> u64 {
    let t = v
        .as_str()
        .unwrap_or_else(|| panic!("phone number is not a string: {v}"));
    assert!(t.starts_with('+'), "{t:?} lacks the leading +");
    t[1..]
        .parse()
        .unwrap_or_else(|_| panic!("{t:?} is not E.164"))
}

fn e164(n: u64) -> String {
    format!("+{n}")
}

/// NL LOCAL number `+312010xxxxx` in the test block: 31201000000 + offset.
const NL0: u64 = 31_201_000_000;

/// Imports `count` NL LOCAL numbers from `start` with the given area code and city.
async fn import_nl(app: &TestApp, start: u64, count: u64, area: &str, city: Option<&str>) -> Value {
    app.import_numbers(json!({"numbers": [{
        "start": e164(start), "count": count, "countryCode": "NL", "phoneNumberType": "LOCAL",
        "areaCode": area, "city": city, "region": null
    }]}))
    .await
}

/// Amsterdam area 20 numbers `NL0 + from .. NL0 + from + count`.
async fn import_ams(app: &TestApp, from: u64, count: u64) -> Value {
    import_nl(app, NL0 + from, count, "20", Some("Amsterdam")).await
}

/// Lets NL LOCAL ask for ranges of the given sizes (and sets the other fields as given).
async fn set_nl_local(app: &TestApp, body: Value) -> Value {
    let res = app.set_restrictions("NL", "LOCAL", body).await;
    expect_json(res, StatusCode::OK).await
}

async fn allow_ranges(app: &TestApp, sizes: &[u64]) -> Value {
    set_nl_local(
        app,
        json!({"minQuantity": 1, "maxQuantity": 1000, "rangesSupported": true,
               "allowedRangeSizes": sizes, "requiresReview": false}),
    )
    .await
}

/// A create body for `quantity` blocks of `size` in area 20.
fn block_body(profile: &str, quantity: u32, size: u64) -> Value {
    let mut b = request_body(profile, quantity);
    b["rangeSize"] = json!(size);
    b
}

/// Checks every assigned range of a request: start..end holds `size` numbers, aligned when
/// `size` > 1, `validFrom` set; answers all numbers of the assigned ranges.
fn assigned_numbers(req: &Value) -> Vec<u64> {
    let mut out = Vec::new();
    for r in req["ranges"].as_array().expect("ranges is an array") {
        if r["start"].is_null() {
            continue;
        }
        let start = num(&r["start"]);
        let end = num(&r["end"]);
        let size = r["size"].as_u64().expect("size is a number");
        assert_eq!(
            end - start + 1,
            size,
            "range {r} does not hold size numbers"
        );
        assert_eq!(start % size, 0, "range {r} is not aligned to its size");
        assert_time(&r["validFrom"]);
        out.extend(start..=end);
    }
    out
}

/// The (start, end) pairs of the assigned ranges, sorted.
fn range_bounds(req: &Value) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = req["ranges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["start"].is_null())
        .map(|r| (num(&r["start"]), num(&r["end"])))
        .collect();
    v.sort();
    v
}

/// A request in `Pending`/`Accepted` with nothing assigned: `quantity` placeholder ranges.
fn assert_unassigned(req: &Value, size: u64) {
    let q = req["quantity"].as_u64().unwrap();
    let ranges = req["ranges"].as_array().unwrap();
    assert_eq!(ranges.len() as u64, q, "ranges has quantity entries: {req}");
    for r in ranges {
        for k in ["id", "start", "end", "validFrom", "validTo"] {
            assert!(r[k].is_null(), "{k} of an unassigned range is null: {req}");
        }
        assert_eq!(r["size"], json!(size), "size of an unassigned range: {req}");
    }
}

async fn customer_get(w: &World, path_and_query: &str) -> Response {
    w.app
        .get(
            &w.acct,
            &format!("{}{path_and_query}", w.app.nr(&w.acct.id)),
        )
        .await
}

async fn availability(w: &World, query: &str) -> Value {
    let res = customer_get(
        w,
        &format!("/availability?companyProfileId={}&{query}", w.profile),
    )
    .await;
    expect_json(res, StatusCode::OK).await
}

/// `(availableQuantity, immediatelyAssignable)`
async fn avail(w: &World, query: &str) -> (i64, bool) {
    let v = availability(w, query).await;
    let obj = v.as_object().expect("availability is an object");
    assert_eq!(
        obj.keys().cloned().collect::<BTreeSet<_>>(),
        [
            "availableQuantity",
            "immediatelyAssignable",
            "price",
            "setupTotal",
            "monthlyTotal"
        ]
        .map(String::from)
        .into(),
        "availability keys: {v}"
    );
    (
        v["availableQuantity"].as_i64().expect("availableQuantity"),
        v["immediatelyAssignable"]
            .as_bool()
            .expect("immediatelyAssignable"),
    )
}

async fn accept(app: &TestApp, id: &str, body: Option<Value>) -> Response {
    let b = app.admin(
        Method::POST,
        &format!("/admin/v1/numberrequests/{id}/accept"),
    );
    match body {
        Some(v) => b.json(&v),
        None => b,
    }
    .send()
    .await
    .unwrap()
}

async fn reject(app: &TestApp, id: &str, body: Option<Value>) -> Response {
    let b = app.admin(
        Method::POST,
        &format!("/admin/v1/numberrequests/{id}/reject"),
    );
    match body {
        Some(v) => b.json(&v),
        None => b,
    }
    .send()
    .await
    .unwrap()
}

async fn release(w: &World, number: &str) -> Response {
    release_by(&w.app, &w.acct, number).await
}

async fn release_by(app: &TestApp, acct: &Acct, number: &str) -> Response {
    app.client
        .post(format!(
            "{}/phonenumbers/{number}/release",
            app.nr(&acct.id)
        ))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .send()
        .await
        .unwrap()
}

/// Statuses and reasons of a request's events, oldest first.
async fn event_trail(w: &World, id: &str) -> Vec<(String, String)> {
    w.app
        .events(&w.acct, id)
        .await
        .iter()
        .map(|e| {
            let reason = s(&e["reason"]);
            assert!(!reason.trim().is_empty(), "event reason is empty: {e}");
            (s(&e["status"]), reason)
        })
        .collect()
}

fn statuses(trail: &[(String, String)]) -> Vec<&str> {
    trail.iter().map(|(s, _)| s.as_str()).collect()
}

/// Polls a request until it has `status` (or `secs` pass); answers its last state.
async fn wait_for_status(w: &World, id: &str, status: &str, secs: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let r = w.app.get_request(&w.acct, id).await;
        if r["status"] == status || Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Restrictions (§4.2)
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// 2. Ranges
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_fragmented_block_is_skipped_and_a_whole_aligned_block_is_chosen() {
    let w = world().await;
    allow_ranges(&w.app, &[5, 10, 100]).await;

    // Block 30..39 is whole in stock, but one of its numbers gets assigned.
    import_ams(&w.app, 30, 10).await;
    let single = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 1))
        .await;
    assert_eq!(single["status"], "Completed");
    let taken = assigned_numbers(&single);
    assert_eq!(taken.len(), 1);
    assert!((NL0 + 30..NL0 + 40).contains(&taken[0]));

    // Block 00..09 lacks 05 (never imported).
    import_ams(&w.app, 0, 5).await;
    import_ams(&w.app, 6, 4).await;
    // 13..29: block 10..19 is partial, block 20..29 is whole and aligned.
    import_ams(&w.app, 13, 17).await;
    // Block 40..49 is all area 20 but two cities: not one block.
    import_nl(&w.app, NL0 + 40, 5, "20", Some("Amsterdam")).await;
    import_nl(&w.app, NL0 + 45, 5, "20", Some("Haarlem")).await;

    let (blocks, ok) = avail(&w, "phoneNumberType=LOCAL&areaCode=20&rangeSize=10").await;
    assert_eq!(blocks, 1, "only 20..29 is a free aligned block");
    assert!(ok);

    let req = w
        .app
        .create_request(&w.acct, &block_body(&w.profile, 1, 10))
        .await;
    assert_eq!(req["status"], "Completed", "{req}");
    let r = &req["ranges"][0];
    assert_eq!(r["start"], e164(NL0 + 20));
    assert_eq!(r["end"], e164(NL0 + 29));
    assert_eq!(r["size"], 10);
    assert_time(&r["validFrom"]);
    assert!(r["validTo"].is_null());

    // The assigned numbers show in the account's list with the request id.
    let (numbers, total) = w.app.all_phone_numbers(&w.acct).await;
    assert_eq!(total, 11);
    let of_req: BTreeSet<u64> = numbers
        .iter()
        .filter(|n| n["numberRequestId"] == req["id"])
        .map(|n| num(&n["phoneNumber"]))
        .collect();
    assert_eq!(of_req, (NL0 + 20..NL0 + 30).collect());

    // No whole block is left: the next one waits.
    let next = w
        .app
        .create_request(&w.acct, &block_body(&w.profile, 1, 10))
        .await;
    assert_eq!(next["status"], "Pending", "{next}");
    assert_unassigned(&next, 10);
    let (blocks, ok) = avail(&w, "phoneNumberType=LOCAL&areaCode=20&rangeSize=10").await;
    assert_eq!((blocks, ok), (0, false));
}

#[tokio::test]
async fn odd_range_sizes_take_aligned_blocks_too() {
    let w = world().await;
    allow_ranges(&w.app, &[5, 10, 50]).await;
    // 03..14: blocks of 5 at 05 and 10 are whole; 00..04 is not.
    import_ams(&w.app, 3, 12).await;
    let (blocks, _) = avail(&w, "phoneNumberType=LOCAL&areaCode=20&rangeSize=5").await;
    assert_eq!(blocks, 2);
    let req = w
        .app
        .create_request(&w.acct, &block_body(&w.profile, 2, 5))
        .await;
    assert_eq!(req["status"], "Completed", "{req}");
    assert_eq!(
        range_bounds(&req),
        vec![(NL0 + 5, NL0 + 9), (NL0 + 10, NL0 + 14)]
    );
    assert_eq!(assigned_numbers(&req).len(), 10);

    // 125..224: the only whole aligned block of 50 is 150..199.
    import_ams(&w.app, 125, 100).await;
    let (blocks, _) = avail(&w, "phoneNumberType=LOCAL&areaCode=20&rangeSize=50").await;
    assert_eq!(blocks, 1);
    let req = w
        .app
        .create_request(&w.acct, &block_body(&w.profile, 1, 50))
        .await;
    assert_eq!(req["status"], "Completed", "{req}");
    assert_eq!(range_bounds(&req), vec![(NL0 + 150, NL0 + 199)]);
    let pending = w
        .app
        .create_request(&w.acct, &block_body(&w.profile, 1, 50))
        .await;
    assert_eq!(pending["status"], "Pending");
}

#[tokio::test]
async fn a_pending_range_request_completes_when_the_missing_number_is_imported() {
    let w = world().await;
    allow_ranges(&w.app, &[10, 100]).await;
    // 00..09 without 07, and 10..18 (19 missing).
    import_ams(&w.app, 0, 7).await;
    import_ams(&w.app, 8, 11).await;

    let req = w
        .app
        .create_request(&w.acct, &block_body(&w.profile, 2, 10))
        .await;
    assert_eq!(req["status"], "Pending", "{req}");
    assert_unassigned(&req, 10);
    let id = s(&req["id"]);

    // One missing number is not enough: all or nothing.
    import_ams(&w.app, 7, 1).await;
    let still = w.app.get_request(&w.acct, &id).await;
    assert_eq!(still["status"], "Pending", "{still}");
    assert_unassigned(&still, 10);
    assert_eq!(w.app.all_phone_numbers(&w.acct).await.1, 0);

    import_ams(&w.app, 19, 1).await;
    let done = wait_for_status(&w, &id, "Completed", 5).await;
    assert_eq!(done["status"], "Completed", "{done}");
    assert_eq!(
        range_bounds(&done),
        vec![(NL0, NL0 + 9), (NL0 + 10, NL0 + 19)]
    );
    assert_eq!(w.app.all_phone_numbers(&w.acct).await.1, 20);
    let trail = event_trail(&w, &id).await;
    assert_eq!(statuses(&trail), vec!["Pending", "Completed"]);
}

#[tokio::test]
async fn three_blocks_of_100_from_a_large_stock_are_aligned_and_disjoint() {
    let w = world().await;
    allow_ranges(&w.app, &[10, 100, 1000]).await;
    // 50,000 numbers from an unaligned start; then break a few blocks with single requests.
    let added = import_ams(&w.app, 50, 50_000).await;
    assert_eq!(added["added"], 50_000);
    let singles = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 5))
        .await;
    assert_eq!(singles["status"], "Completed");
    let single_nums: BTreeSet<u64> = assigned_numbers(&singles).into_iter().collect();

    let req = w
        .app
        .create_request(&w.acct, &block_body(&w.profile, 3, 100))
        .await;
    assert_eq!(req["status"], "Completed", "{req}");
    let bounds = range_bounds(&req);
    assert_eq!(bounds.len(), 3);
    let mut all = BTreeSet::new();
    for (start, end) in &bounds {
        assert_eq!(start % 100, 0, "block {start} is not aligned");
        assert_eq!(end - start, 99);
        assert!(
            *start >= NL0 + 50 && *end < NL0 + 50 + 50_000,
            "outside stock"
        );
        for n in *start..=*end {
            assert!(all.insert(n), "number {n} in two blocks");
            assert!(!single_nums.contains(&n), "number {n} was already assigned");
        }
    }
    assert_eq!(all.len(), 300);
    let (numbers, total) = w.app.all_phone_numbers(&w.acct).await;
    assert_eq!(total, 305);
    let listed: BTreeSet<u64> = numbers
        .iter()
        .filter(|n| n["numberRequestId"] == req["id"])
        .map(|n| num(&n["phoneNumber"]))
        .collect();
    assert_eq!(listed, all);
}

// ---------------------------------------------------------------------------------------------
// 3. Review flow
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn review_then_accept_completes_at_once_when_stock_is_there() {
    let w = world().await;
    set_nl_local(&w.app, json!({"requiresReview": true})).await;
    import_ams(&w.app, 0, 10).await;

    let (n, ok) = avail(&w, "phoneNumberType=LOCAL&areaCode=20&quantity=2").await;
    assert_eq!(
        (n, ok),
        (10, false),
        "review means not immediately assignable"
    );

    let req = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 2))
        .await;
    assert_eq!(req["status"], "Pending", "review keeps it Pending: {req}");
    assert_eq!(req["statusId"], 1);
    assert_unassigned(&req, 1);
    let id = s(&req["id"]);
    assert_eq!(w.app.all_phone_numbers(&w.acct).await.1, 0);

    // The operator sees it among every account's Pending requests.
    let res = w
        .app
        .admin_get("/admin/v1/numberrequests?status=Pending&take=100")
        .await;
    let list = expect_json(res, StatusCode::OK).await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == id.as_str())
    );

    let res = accept(&w.app, &id, Some(json!({"reason": "Checked by ops"}))).await;
    let accepted = expect_json(res, StatusCode::OK).await;
    assert_eq!(
        accepted["status"], "Completed",
        "accept completes at once: {accepted}"
    );
    assert_eq!(accepted["statusId"], 3);
    assert_eq!(assigned_numbers(&accepted).len(), 2);
    assert_eq!(w.app.all_phone_numbers(&w.acct).await.1, 2);

    let trail = event_trail(&w, &id).await;
    assert_eq!(statuses(&trail), vec!["Pending", "Accepted", "Completed"]);
    assert_eq!(trail[1].1, "Checked by ops");

    // Nothing leaves a final status.
    let res = accept(&w.app, &id, None).await;
    expect_error(res, StatusCode::CONFLICT, "REQUEST_FINALIZED").await;
    let res = reject(&w.app, &id, Some(json!({"reason": "too late"}))).await;
    expect_error(res, StatusCode::CONFLICT, "REQUEST_FINALIZED").await;
    let res = w.app.cancel(&w.acct, &id).await;
    expect_error(res, StatusCode::CONFLICT, "REQUEST_FINALIZED").await;
    assert_eq!(event_trail(&w, &id).await.len(), 3);

    // Unknown id.
    let res = accept(&w.app, &new_uuid(), None).await;
    expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

#[tokio::test]
async fn review_accept_without_stock_stays_accepted_until_an_import() {
    let w = world().await;
    set_nl_local(&w.app, json!({"requiresReview": true})).await;
    let req = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 3))
        .await;
    assert_eq!(req["status"], "Pending");
    let id = s(&req["id"]);

    // Accept without a body: the reason is optional.
    let res = accept(&w.app, &id, None).await;
    let accepted = expect_json(res, StatusCode::OK).await;
    assert_eq!(accepted["status"], "Accepted", "{accepted}");
    assert_eq!(accepted["statusId"], 2);
    assert!(!s(&accepted["reason"]).trim().is_empty());
    assert_unassigned(&accepted, 1);

    let res = accept(&w.app, &id, Some(json!({"reason": "again"}))).await;
    expect_error(res, StatusCode::CONFLICT, "INVALID_STATUS_TRANSITION").await;

    import_ams(&w.app, 0, 3).await;
    let done = wait_for_status(&w, &id, "Completed", 5).await;
    assert_eq!(done["status"], "Completed", "{done}");
    assert_eq!(
        assigned_numbers(&done).into_iter().collect::<BTreeSet<_>>(),
        (NL0..NL0 + 3).collect()
    );
    let trail = event_trail(&w, &id).await;
    assert_eq!(statuses(&trail), vec!["Pending", "Accepted", "Completed"]);
}

#[tokio::test]
async fn review_read_at_creation_still_needs_accept_after_review_is_switched_off() {
    let w = world().await;
    set_nl_local(&w.app, json!({"requiresReview": true})).await;
    let reviewed = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 1))
        .await;
    assert_eq!(reviewed["status"], "Pending");
    set_nl_local(&w.app, json!({"requiresReview": false})).await;
    import_ams(&w.app, 0, 5).await;

    // A new request takes stock at once; the reviewed one still waits for the operator.
    let fresh = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 1))
        .await;
    assert_eq!(fresh["status"], "Completed");
    let again = w.app.get_request(&w.acct, &s(&reviewed["id"])).await;
    assert_eq!(again["status"], "Pending", "{again}");
    let res = accept(&w.app, &s(&reviewed["id"]), None).await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await["status"],
        "Completed"
    );
}

#[tokio::test]
async fn reject_needs_a_reason_and_echoes_it() {
    let w = world().await;
    set_nl_local(&w.app, json!({"requiresReview": true})).await;
    import_ams(&w.app, 0, 10).await;
    let req = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 1))
        .await;
    let id = s(&req["id"]);

    let res = reject(&w.app, &id, None).await;
    let body = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_field(&body, "reason");
    let res = reject(&w.app, &id, Some(json!({}))).await;
    let body = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_field(&body, "reason");
    let res = reject(&w.app, &id, Some(json!({"reason": ""}))).await;
    expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_eq!(w.app.get_request(&w.acct, &id).await["status"], "Pending");

    let res = reject(
        &w.app,
        &id,
        Some(json!({"reason": "Address could not be verified"})),
    )
    .await;
    let rejected = expect_json(res, StatusCode::OK).await;
    assert_eq!(rejected["status"], "Rejected");
    assert_eq!(rejected["statusId"], 4);
    assert_eq!(rejected["reason"], "Address could not be verified");
    assert_unassigned(&rejected, 1);
    let trail = event_trail(&w, &id).await;
    assert_eq!(statuses(&trail), vec!["Pending", "Rejected"]);
    assert_eq!(trail[1].1, "Address could not be verified");

    for res in [
        accept(&w.app, &id, None).await,
        reject(&w.app, &id, Some(json!({"reason": "again"}))).await,
        w.app.cancel(&w.acct, &id).await,
    ] {
        expect_error(res, StatusCode::CONFLICT, "REQUEST_FINALIZED").await;
    }
    // A rejected request never gets numbers.
    import_ams(&w.app, 100, 10).await;
    assert_eq!(w.app.get_request(&w.acct, &id).await["status"], "Rejected");
    assert_eq!(w.app.all_phone_numbers(&w.acct).await.1, 0);
}

#[tokio::test]
async fn accepted_requests_can_still_be_rejected_or_cancelled_and_then_are_final() {
    let w = world().await;
    set_nl_local(&w.app, json!({"requiresReview": true})).await;
    let a = s(&w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 1))
        .await["id"]);
    let b = s(&w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 1))
        .await["id"]);
    for id in [&a, &b] {
        let res = accept(&w.app, id, Some(json!({"reason": "ok"}))).await;
        assert_eq!(expect_json(res, StatusCode::OK).await["status"], "Accepted");
    }
    let res = reject(&w.app, &a, Some(json!({"reason": "changed our mind"}))).await;
    let ra = expect_json(res, StatusCode::OK).await;
    assert_eq!(ra["status"], "Rejected");
    assert_eq!(ra["reason"], "changed our mind");
    let res = w.app.cancel(&w.acct, &b).await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await["status"],
        "Cancelled"
    );

    for id in [&a, &b] {
        expect_error(
            accept(&w.app, id, None).await,
            StatusCode::CONFLICT,
            "REQUEST_FINALIZED",
        )
        .await;
        expect_error(
            reject(&w.app, id, Some(json!({"reason": "x"}))).await,
            StatusCode::CONFLICT,
            "REQUEST_FINALIZED",
        )
        .await;
        expect_error(
            w.app.cancel(&w.acct, id).await,
            StatusCode::CONFLICT,
            "REQUEST_FINALIZED",
        )
        .await;
    }
    assert_eq!(
        statuses(&event_trail(&w, &a).await),
        vec!["Pending", "Accepted", "Rejected"]
    );
    assert_eq!(
        statuses(&event_trail(&w, &b).await),
        vec!["Pending", "Accepted", "Cancelled"]
    );
}

#[tokio::test]
async fn the_operator_lists_every_accounts_requests_filtered_by_status() {
    let w = world().await;
    set_nl_local(&w.app, json!({"requiresReview": true})).await;
    let other = w.app.create_account("other").await;
    let other_profile = w.app.approved_profile(&other).await;
    let p1 = s(&w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 1))
        .await["id"]);
    let p2 = s(&w
        .app
        .create_request(&other, &request_body(&other_profile, 1))
        .await["id"]);
    let p3 = s(&w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 1))
        .await["id"]);
    let res = reject(&w.app, &p3, Some(json!({"reason": "no"}))).await;
    assert_eq!(res.status(), StatusCode::OK);

    for status in ["Pending", "1"] {
        let res = w
            .app
            .admin_get(&format!("/admin/v1/numberrequests?status={status}"))
            .await;
        assert_eq!(header_i64(&res, "x-cm-pagination-total"), 2);
        let list = expect_json(res, StatusCode::OK).await;
        let ids: Vec<String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|r| s(&r["id"]))
            .collect();
        assert_eq!(ids, vec![p2.clone(), p1.clone()], "newest first");
    }
    let res = w
        .app
        .admin_get("/admin/v1/numberrequests?status=Rejected")
        .await;
    let list = expect_json(res, StatusCode::OK).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], p3.as_str());
    let res = w
        .app
        .admin_get(&format!(
            "/admin/v1/numberrequests?status=Pending&accountId={}",
            other.id
        ))
        .await;
    let list = expect_json(res, StatusCode::OK).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], p2.as_str());
    let res = w
        .app
        .admin_get("/admin/v1/numberrequests?status=Waiting")
        .await;
    expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
}

// ---------------------------------------------------------------------------------------------
// 4. Requirements
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// 5. Locale options
// ---------------------------------------------------------------------------------------------

fn locale_set(v: &Value) -> BTreeSet<(String, String, String, i64)> {
    v.as_array()
        .expect("locale options is an array")
        .iter()
        .map(|o| {
            let obj = o.as_object().unwrap();
            assert_eq!(
                obj.keys().cloned().collect::<BTreeSet<_>>(),
                ["areaCode", "city", "region", "availableQuantity"]
                    .map(String::from)
                    .into(),
                "locale option keys: {o}"
            );
            (
                o["areaCode"].to_string(),
                o["city"].to_string(),
                o["region"].to_string(),
                o["availableQuantity"].as_i64().unwrap(),
            )
        })
        .collect()
}

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

// ---------------------------------------------------------------------------------------------
// 6. Availability
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn availability_counts_singles_and_blocks_exactly() {
    let w = world().await;
    set_nl_local(
        &w.app,
        json!({"maxQuantity": 50, "rangesSupported": true, "allowedRangeSizes": [10]}),
    )
    .await;
    import_ams(&w.app, 0, 105).await; // 10 whole blocks of 10 + 5 more
    import_nl(&w.app, 31_101_000_000, 20, "10", Some("Rotterdam")).await;

    assert_eq!(
        avail(&w, "phoneNumberType=LOCAL&areaCode=20").await,
        (105, true)
    );
    assert_eq!(
        avail(&w, "phoneNumberType=LOCAL&areaCode=20&quantity=50").await,
        (105, true)
    );
    assert_eq!(
        avail(&w, "phoneNumberType=LOCAL&areaCode=10").await,
        (20, true)
    );
    assert_eq!(
        avail(&w, "phoneNumberType=LOCAL&city=rotterdam").await,
        (20, true)
    );
    assert_eq!(
        avail(&w, "phoneNumberType=LOCAL&areaCode=20&city=Amsterdam").await,
        (105, true)
    );
    assert_eq!(
        avail(&w, "phoneNumberType=LOCAL&areaCode=20&city=Rotterdam").await,
        (0, false)
    );
    assert_eq!(
        avail(
            &w,
            "phoneNumberType=LOCAL&areaCode=20&rangeSize=10&quantity=10"
        )
        .await,
        (10, true)
    );
    assert_eq!(
        avail(
            &w,
            "phoneNumberType=LOCAL&areaCode=20&rangeSize=10&quantity=11"
        )
        .await,
        (10, false)
    );

    // Take 3 blocks and 12 singles; count what is left from what was actually assigned.
    let blocks = w
        .app
        .create_request(&w.acct, &block_body(&w.profile, 3, 10))
        .await;
    assert_eq!(blocks["status"], "Completed");
    let singles = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 12))
        .await;
    assert_eq!(singles["status"], "Completed");
    let taken: BTreeSet<u64> = assigned_numbers(&blocks)
        .into_iter()
        .chain(assigned_numbers(&singles))
        .collect();
    assert_eq!(taken.len(), 42);
    let whole_free = (0..10)
        .filter(|b| (0..10).all(|i| !taken.contains(&(NL0 + b * 10 + i))))
        .count() as i64;
    assert_eq!(
        avail(&w, "phoneNumberType=LOCAL&areaCode=20").await,
        (105 - 42, true)
    );
    let (n, ok) = avail(&w, "phoneNumberType=LOCAL&areaCode=20&rangeSize=10").await;
    assert_eq!(n, whole_free);
    assert_eq!(ok, whole_free >= 1);
    // What availability promised is what create gives.
    if whole_free >= 1 {
        let q = whole_free as u32;
        let (_, ok) = avail(
            &w,
            &format!("phoneNumberType=LOCAL&areaCode=20&rangeSize=10&quantity={q}"),
        )
        .await;
        assert!(ok);
        let req = w
            .app
            .create_request(&w.acct, &block_body(&w.profile, q, 10))
            .await;
        assert_eq!(req["status"], "Completed");
        assert_eq!(
            avail(&w, "phoneNumberType=LOCAL&areaCode=20&rangeSize=10").await,
            (0, false)
        );
    }

    // Checks that fail make it not assignable, whatever the count.
    let (_, ok) = avail(&w, "phoneNumberType=LOCAL&areaCode=10&quantity=51").await;
    assert!(!ok, "quantity over maxQuantity");
    let (_, ok) = avail(&w, "phoneNumberType=LOCAL&areaCode=10&rangeSize=5").await;
    assert!(!ok, "range size not allowed");
    let (_, ok) = avail(&w, "phoneNumberType=NATIONAL").await;
    assert!(!ok, "type not in the profile");
    set_nl_local(
        &w.app,
        json!({"maxQuantity": 50, "rangesSupported": true, "allowedRangeSizes": [10],
               "requiresReview": true}),
    )
    .await;
    assert_eq!(
        avail(&w, "phoneNumberType=LOCAL&areaCode=10").await,
        (20, false)
    );

    // A profile that is not approved.
    let res = w.app.create_profile(&w.acct, &profile_body()).await;
    let pending = s(&expect_json(res, StatusCode::CREATED).await["id"]);
    set_nl_local(&w.app, json!({"maxQuantity": 50})).await;
    let res = customer_get(
        &w,
        &format!("/availability?companyProfileId={pending}&phoneNumberType=LOCAL&areaCode=10"),
    )
    .await;
    let v = expect_json(res, StatusCode::OK).await;
    assert_eq!(v["immediatelyAssignable"], false, "{v}");

    // Unknown profile, and another account's profile.
    let res = customer_get(
        &w,
        &format!(
            "/availability?companyProfileId={}&phoneNumberType=LOCAL&areaCode=20",
            new_uuid()
        ),
    )
    .await;
    expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let other = w.app.create_account("other").await;
    let res = w
        .app
        .get(
            &other,
            &format!(
                "{}/availability?companyProfileId={}&phoneNumberType=LOCAL&areaCode=20",
                w.app.nr(&other.id),
                w.profile
            ),
        )
        .await;
    expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

#[tokio::test]
async fn availability_says_not_assignable_when_stock_is_short() {
    let w = world().await;
    import_ams(&w.app, 0, 3).await;
    assert_eq!(
        avail(&w, "phoneNumberType=LOCAL&areaCode=20&quantity=3").await,
        (3, true)
    );
    assert_eq!(
        avail(&w, "phoneNumberType=LOCAL&areaCode=20&quantity=4").await,
        (3, false)
    );
    let req = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 4))
        .await;
    assert_eq!(req["status"], "Pending", "availability predicted Pending");
    // A Pending request reserves nothing.
    assert_eq!(
        avail(&w, "phoneNumberType=LOCAL&areaCode=20&quantity=3").await,
        (3, true)
    );
    let req = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 3))
        .await;
    assert_eq!(
        req["status"], "Completed",
        "availability predicted Completed"
    );
    assert_eq!(
        avail(&w, "phoneNumberType=LOCAL&areaCode=20").await,
        (0, false)
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Release and aging
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn released_numbers_age_back_into_stock_and_are_ordered_again() {
    let w = world_on(spawn_app_with(|cfg| cfg.aging_secs = 0).await).await;
    import_ams(&w.app, 0, 2).await;
    let first = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 2))
        .await;
    assert_eq!(first["status"], "Completed");
    let waiting = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 1))
        .await;
    assert_eq!(waiting["status"], "Pending");
    let waiting_id = s(&waiting["id"]);

    // Release with a literal '+'.
    let res = release(&w, &e164(NL0)).await;
    let released = expect_json(res, StatusCode::OK).await;
    assert_eq!(released["phoneNumber"], e164(NL0));
    assert_eq!(released["numberRequestId"], first["id"]);
    assert_eq!(released["countryCode"], "NL");
    assert_eq!(released["areaCode"], "20");
    assert_time(&released["validFrom"]);
    assert_time(&released["validTo"]);

    let (numbers, total) = w.app.all_phone_numbers(&w.acct).await;
    assert_eq!(total, 1);
    assert!(
        numbers
            .iter()
            .all(|n| n["phoneNumber"] != e164(NL0).as_str())
    );

    // The request's range of that number has validTo; the other not.
    let again = w.app.get_request(&w.acct, &s(&first["id"])).await;
    for r in again["ranges"].as_array().unwrap() {
        if r["start"] == e164(NL0).as_str() {
            assert_time(&r["validTo"]);
        } else {
            assert!(r["validTo"].is_null(), "{again}");
        }
    }
    // Not held any more → 404.
    let res = release(&w, &e164(NL0)).await;
    expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;

    // Release with %2B too.
    let res = release(&w, &format!("%2B{}", NL0 + 1)).await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await["phoneNumber"],
        e164(NL0 + 1)
    );
    assert_eq!(w.app.all_phone_numbers(&w.acct).await.1, 0);

    // Aging 0: back in stock within a few seconds, and the waiting request is fulfilled.
    let done = wait_for_status(&w, &waiting_id, "Completed", 10).await;
    assert_eq!(done["status"], "Completed", "{done}");
    let got = assigned_numbers(&done);
    assert!(got == vec![NL0] || got == vec![NL0 + 1], "{done}");
    // And the other one can be ordered again by a new request.
    let ok = eventually(10, || async {
        avail(&w, "phoneNumberType=LOCAL&areaCode=20").await.0 == 1
    })
    .await;
    assert!(ok, "the second released number came back into stock");
    let again = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 1))
        .await;
    assert_eq!(again["status"], "Completed");
    assert_eq!(w.app.all_phone_numbers(&w.acct).await.1, 2);
}

#[tokio::test]
async fn a_range_gets_valid_to_when_its_last_number_is_released_and_ages_meanwhile() {
    let w = world().await; // default aging: 90 days
    allow_ranges(&w.app, &[10]).await;
    import_ams(&w.app, 0, 10).await;
    let req = w
        .app
        .create_request(&w.acct, &block_body(&w.profile, 1, 10))
        .await;
    assert_eq!(req["status"], "Completed");
    let id = s(&req["id"]);
    for i in 0..9 {
        let res = release(&w, &e164(NL0 + i)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let r = w.app.get_request(&w.acct, &id).await;
        assert!(
            r["ranges"][0]["validTo"].is_null(),
            "after {} releases: {r}",
            i + 1
        );
    }
    let res = release(&w, &format!("%2B{}", NL0 + 9)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let r = w.app.get_request(&w.acct, &id).await;
    assert_time(&r["ranges"][0]["validTo"]);
    assert_eq!(r["status"], "Completed");
    assert_eq!(w.app.all_phone_numbers(&w.acct).await.1, 0);

    let c = w.app.stock_counts("NL", "LOCAL", "20").await;
    assert_eq!((c.available, c.assigned, c.aging), (0, 0, 10));
    // Aging numbers are not stock.
    let next = w
        .app
        .create_request(&w.acct, &block_body(&w.profile, 1, 10))
        .await;
    assert_eq!(next["status"], "Pending");
    assert_eq!(
        avail(&w, "phoneNumberType=LOCAL&areaCode=20").await,
        (0, false)
    );
}

/// A block is held as one assignment: the list pages through its numbers one by one across the
/// rows a release cuts it into, newest request first and each block from its last number down.
#[tokio::test]
async fn releases_inside_a_block_keep_the_list_exact_page_by_page() {
    let w = world().await;
    allow_ranges(&w.app, &[10]).await;
    import_ams(&w.app, 0, 11).await;
    let block = w
        .app
        .create_request(&w.acct, &block_body(&w.profile, 1, 10))
        .await;
    assert_eq!(block["status"], "Completed");
    let single = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 1))
        .await;
    assert_eq!(single["ranges"][0]["start"], e164(NL0 + 10));
    let other = w.app.create_account("other").await;
    let held = |skip: usize, take: usize| {
        let w = &w;
        async move {
            let res = w
                .app
                .get(
                    &w.acct,
                    &format!(
                        "{}/phonenumbers?skip={skip}&take={take}",
                        w.app.nr(&w.acct.id)
                    ),
                )
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            let total = header_i64(&res, "x-cm-pagination-total");
            let page: Vec<Value> = res.json().await.unwrap();
            let numbers: Vec<u64> = page
                .iter()
                .map(|n| s(&n["phoneNumber"])[1..].parse().unwrap())
                .collect();
            (numbers, total)
        }
    };
    // Every page of three, against the whole list.
    let check = |expected: Vec<u64>| {
        let held = &held;
        async move {
            for skip in 0..=expected.len() {
                let want: Vec<u64> = expected.iter().skip(skip).take(3).copied().collect();
                assert_eq!(
                    held(skip, 3).await,
                    (want, expected.len() as i64),
                    "skip {skip}"
                );
            }
        }
    };
    let everything = |gone: &[u64]| -> Vec<u64> {
        std::iter::once(10)
            .chain((0..10).rev())
            .filter(|i| !gone.contains(i))
            .map(|i| NL0 + i)
            .collect()
    };
    check(everything(&[])).await;

    let mut gone = Vec::new();
    for i in [4, 9, 0, 5] {
        let res = release(&w, &e164(NL0 + i)).await;
        let released = expect_json(res, StatusCode::OK).await;
        assert_eq!(released["phoneNumber"], e164(NL0 + i));
        assert_eq!(released["numberRequestId"], block["id"]);
        gone.push(i);
        check(everything(&gone)).await;
        // Released once only, and never by another account.
        let again = release(&w, &e164(NL0 + i)).await;
        expect_error(again, StatusCode::NOT_FOUND, "NOT_FOUND").await;
        let res = release_by(&w.app, &other, &e164(NL0 + i + 1)).await;
        expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    }
    let id = s(&block["id"]);
    let r = w.app.get_request(&w.acct, &id).await;
    assert!(r["ranges"][0]["validTo"].is_null(), "{r}");
    for i in [1, 2, 3, 6, 7, 8] {
        let res = release(&w, &e164(NL0 + i)).await;
        assert_eq!(res.status(), StatusCode::OK, "release of {i}");
    }
    check(vec![NL0 + 10]).await;
    let r = w.app.get_request(&w.acct, &id).await;
    assert_time(&r["ranges"][0]["validTo"]);
    let c = w.app.stock_counts("NL", "LOCAL", "20").await;
    assert_eq!((c.available, c.assigned, c.aging), (0, 1, 10));
}

#[tokio::test]
async fn releasing_a_number_the_account_does_not_hold_is_404() {
    let w = world().await;
    import_ams(&w.app, 0, 3).await;
    let other = w.app.create_account("other").await;
    let other_profile = w.app.approved_profile(&other).await;
    let theirs = w
        .app
        .create_request(&other, &request_body(&other_profile, 1))
        .await;
    let their_number = s(&theirs["ranges"][0]["start"]);

    // Another account's number, a free number, a number never imported, garbage.
    for n in [
        their_number.clone(),
        e164(NL0 + 2),
        e164(NL0 + 500),
        "not-a-number".to_string(),
    ] {
        let res = release(&w, &n).await;
        expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    }
    // The other account still holds its number.
    let (_, total) = w.app.all_phone_numbers(&other).await;
    assert_eq!(total, 1);
}

// ---------------------------------------------------------------------------------------------
// 8. NANPA
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_single_and_block_requests_from_24_tasks_never_share_a_number() {
    let w = world().await;
    allow_ranges(&w.app, &[10, 100]).await;
    import_ams(&w.app, 0, 300).await;
    let app = std::sync::Arc::new(w);

    let mut tasks = Vec::new();
    for i in 0..24u32 {
        let w = app.clone();
        tasks.push(tokio::spawn(async move {
            let body = if i % 2 == 0 {
                request_body(&w.profile, 6 + i % 5)
            } else {
                block_body(&w.profile, 2 + i % 3, 10)
            };
            let res = w.app.post_request(&w.acct, &body).await;
            expect_json(res, StatusCode::CREATED).await
        }));
        if i == 12 {
            // An import racing the creates: its fulfilment competes with them.
            let w = app.clone();
            tasks.push(tokio::spawn(async move {
                let added = import_ams(&w.app, 300, 20).await;
                assert_eq!(added["added"], 20);
                Value::Null
            }));
        }
    }
    let mut created = Vec::new();
    for t in tasks {
        let v = t.await.expect("task panicked");
        if !v.is_null() {
            created.push(v);
        }
    }
    assert_eq!(created.len(), 24);
    let w = &*app;

    let mut seen: BTreeMap<u64, String> = BTreeMap::new();
    let mut check = |req: &Value| {
        let id = s(&req["id"]);
        if req["status"] == "Completed" {
            let size = req["rangeSize"].as_u64().unwrap_or(1);
            let nums = assigned_numbers(req);
            assert_eq!(
                nums.len() as u64,
                req["quantity"].as_u64().unwrap() * size,
                "all or nothing: {req}"
            );
            for n in nums {
                if let Some(prev) = seen.insert(n, id.clone()) {
                    assert_eq!(prev, id, "number {n} assigned to {prev} and {id}");
                }
            }
        } else {
            assert_eq!(req["status"], "Pending", "{req}");
            assert_unassigned(req, req["rangeSize"].as_u64().unwrap_or(1));
        }
    };
    for req in &created {
        check(req);
    }
    // Later reads (the import may have completed some Pending ones).
    let mut completed_total = 0u64;
    for req in &created {
        let now = w.app.get_request(&w.acct, &s(&req["id"])).await;
        if req["status"] == "Completed" {
            assert_eq!(range_bounds(&now), range_bounds(req), "assignment changed");
        }
        check(&now);
        if now["status"] == "Completed" {
            completed_total +=
                now["quantity"].as_u64().unwrap() * now["rangeSize"].as_u64().unwrap_or(1);
        }
    }
    assert_eq!(
        seen.len() as u64,
        completed_total,
        "a number in two requests"
    );
    assert!(completed_total > 0);
    assert!(seen.keys().all(|n| (NL0..NL0 + 320).contains(n)));

    let (numbers, total) = w.app.all_phone_numbers(&w.acct).await;
    assert_eq!(total as u64, completed_total);
    let listed: BTreeSet<u64> = numbers.iter().map(|n| num(&n["phoneNumber"])).collect();
    assert_eq!(listed.len(), numbers.len(), "a number listed twice");
    assert_eq!(listed, seen.keys().copied().collect());
    let c = w.app.stock_counts("NL", "LOCAL", "20").await;
    assert_eq!(c.assigned as u64, completed_total);
    assert_eq!(c.available as u64, 320 - completed_total);
}

// ---------------------------------------------------------------------------------------------
// 9. Demo world and OpenAPI
// ---------------------------------------------------------------------------------------------

/// A running `numberdesk serve --demo`; killed on drop.
struct Demo {
    child: Child,
    address: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// The child is waited for in `Demo::drop`.
#[allow(clippy::zombie_processes)]
fn serve_demo(dir: &Path) -> Demo {
    let mut c = Command::new(env!("CARGO_BIN_EXE_numberdesk"));
    for (k, _) in std::env::vars() {
        if k.starts_with("NUMBERDESK_") {
            c.env_remove(k);
        }
    }
    c.current_dir(dir)
        .env(
            "NUMBERDESK_DATABASE_URL",
            format!("sqlite://{}/nd.db", dir.display()),
        )
        .env("NUMBERDESK_MAIL_DIR", dir.join("mail"))
        .env("NUMBERDESK_LISTEN", "127.0.0.1:0")
        .env("NO_COLOR", "1")
        .args(["serve", "--demo"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn numberdesk serve --demo");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            // Keep draining after the address is found so the child never blocks on stderr.
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(i) = line.find("listening on http://") {
                    let rest = &line[i + "listening on http://".len()..];
                    let addr: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                        .collect();
                    return Demo {
                        child,
                        address: format!("http://{addr}"),
                    };
                }
                seen.push(line);
            }
            Err(_) => {
                let _ = child.kill();
                panic!("no 'listening on http://' line on stderr; got: {seen:#?}");
            }
        }
    }
}

#[tokio::test]
async fn the_demo_world_allows_nl_local_ranges_of_10_and_100() {
    let dir = tempfile::tempdir().unwrap();
    let demo = serve_demo(dir.path());
    let c = client();
    let nr = format!(
        "{}/voice/phonenumberrequestapi/v1/00000000-0000-0000-0000-000000000001",
        demo.address
    );
    let res = c
        .get(format!(
            "{nr}/restrictions?countryCode=NL&phoneNumberType=LOCAL"
        ))
        .header("X-CM-PRODUCTTOKEN", "demo-product-token")
        .send()
        .await
        .unwrap();
    let r = expect_json(res, StatusCode::OK).await;
    assert_eq!(r["maxQuantity"], 100, "{r}");
    assert_eq!(r["rangesSupported"], true, "{r}");
    assert_eq!(r["allowedRangeSizes"], json!([10, 100]), "{r}");

    // A block of 100 in Amsterdam comes from the demo stock, aligned.
    let profiles: Value = c
        .get(format!(
            "{}/voice/companyprofilesapi/v1/00000000-0000-0000-0000-000000000001/companyprofiles",
            demo.address
        ))
        .header("X-CM-PRODUCTTOKEN", "demo-product-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let nl = profiles
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["numberCountryCode"] == "NL")
        .expect("a demo NL profile");
    let res = c
        .post(format!("{nr}/numberrequests"))
        .header("X-CM-PRODUCTTOKEN", "demo-product-token")
        .json(
            &json!({"companyProfileId": nl["id"], "quantity": 1, "rangeSize": 100,
                      "phoneNumberType": "LOCAL", "areaCode": "20"}),
        )
        .send()
        .await
        .unwrap();
    let req = expect_json(res, StatusCode::CREATED).await;
    assert_eq!(req["status"], "Completed", "{req}");
    let bounds = range_bounds(&req);
    assert_eq!(bounds.len(), 1);
    assert_eq!(bounds[0].0 % 100, 0);
    assert!(bounds[0].0 >= 31_201_000_000 && bounds[0].1 <= 31_201_000_999);
    let res = c
        .post(format!("{nr}/numberrequests"))
        .header("X-CM-PRODUCTTOKEN", "demo-product-token")
        .json(
            &json!({"companyProfileId": nl["id"], "quantity": 1, "rangeSize": 1000,
                      "phoneNumberType": "LOCAL", "areaCode": "20"}),
        )
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::BAD_REQUEST, "RANGE_SIZE_NOT_ALLOWED").await;
    drop(demo);
}

#[tokio::test]
async fn openapi_documents_every_catalog_endpoint() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    let doc = expect_json(res, StatusCode::OK).await;
    let paths = doc["paths"].as_object().expect("paths");
    let nr = "/voice/phonenumberrequestapi/v1/{accountGuid}";
    let want: Vec<(String, &str)> = vec![
        (format!("{nr}/localeoptions"), "get"),
        (format!("{nr}/availability"), "get"),
        (format!("{nr}/requirements"), "get"),
        (format!("{nr}/restrictions"), "get"),
        (format!("{nr}/phonenumbers/{{e164}}/release"), "post"),
        (
            "/admin/v1/restrictions/{countryCode}/{phoneNumberType}".into(),
            "put",
        ),
        (
            "/admin/v1/requirements/{countryCode}/{phoneNumberType}".into(),
            "put",
        ),
        ("/admin/v1/numberrequests/{id}/accept".into(), "post"),
        ("/admin/v1/numberrequests/{id}/reject".into(), "post"),
        ("/admin/v1/numberrequests".into(), "get"),
    ];
    for (path, method) in want {
        let item = paths
            .get(&path)
            .unwrap_or_else(|| panic!("openapi.json lacks {path}"));
        assert!(
            item.get(method).is_some(),
            "openapi.json lacks {method} {path}"
        );
    }
    let res = app.client.get(app.url("/docs")).send().await.unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
}

/// A fresh import of aligned thousands seals them (BENCHMARKS.md, issue 3): single numbers,
/// small blocks and odd sizes still come from them in number order, and every count stays
/// exact as they are opened one by one.
#[tokio::test]
async fn stock_imported_in_whole_thousands_serves_every_kind_of_request_with_exact_counts() {
    let w = world().await;
    allow_ranges(&w.app, &[10, 100, 250, 1000]).await;
    import_ams(&w.app, 0, 3000).await;
    let q = |extra: &str| format!("phoneNumberType=LOCAL&areaCode=20{extra}");
    let counts = async |w: &World| {
        let mut out = Vec::new();
        for extra in [
            "",
            "&city=Amsterdam",
            "&rangeSize=10",
            "&rangeSize=100",
            "&rangeSize=250",
            "&rangeSize=1000",
        ] {
            out.push(avail(w, &q(extra)).await.0);
        }
        let res = customer_get(w, "/localeoptions?countryCode=NL&phoneNumberType=LOCAL").await;
        let opts = locale_set(&expect_json(res, StatusCode::OK).await);
        out.push(opts.iter().map(|o| o.3).sum());
        out
    };
    let completed = async |w: &World, body: Value| {
        let req = w.app.create_request(&w.acct, &body).await;
        assert_eq!(req["status"], "Completed", "{req}");
        req
    };
    assert_eq!(counts(&w).await, vec![3000, 3000, 300, 30, 12, 3, 3000]);

    // Five single numbers: the lowest.
    let req = completed(&w, request_body(&w.profile, 5)).await;
    let got: Vec<u64> = assigned_numbers(&req).into_iter().collect();
    assert_eq!(got, (NL0..NL0 + 5).collect::<Vec<_>>());
    // Block 0..999 is no longer whole; its blocks of 10 but the first are.
    assert_eq!(counts(&w).await, vec![2995, 2995, 299, 29, 11, 2, 2995]);

    // A block of 1,000: the lowest whole one.
    let req = completed(&w, block_body(&w.profile, 1, 1000)).await;
    assert_eq!(range_bounds(&req), vec![(NL0 + 1000, NL0 + 1999)]);
    assert_eq!(counts(&w).await, vec![1995, 1995, 199, 19, 7, 1, 1995]);

    // Four blocks of 250 (a size not tracked): three from 0..999, one from 2000..2999, whose
    // other numbers stay available as singles and blocks.
    let req = completed(&w, block_body(&w.profile, 4, 250)).await;
    assert_eq!(
        range_bounds(&req),
        vec![
            (NL0 + 250, NL0 + 499),
            (NL0 + 500, NL0 + 749),
            (NL0 + 750, NL0 + 999),
            (NL0 + 2000, NL0 + 2249)
        ]
    );
    assert_eq!(counts(&w).await, vec![995, 995, 99, 8, 3, 0, 995]);

    // Blocks of 100 and single numbers take what is left, in order, down to nothing.
    let req = completed(&w, block_body(&w.profile, 8, 100)).await;
    let mut want = vec![(NL0 + 100, NL0 + 199)];
    want.extend((23..30).map(|h| (NL0 + h * 100, NL0 + h * 100 + 99)));
    assert_eq!(range_bounds(&req), want);
    let req = completed(&w, request_body(&w.profile, 95)).await;
    assert_eq!(
        assigned_numbers(&req),
        (NL0 + 5..NL0 + 100).collect::<Vec<_>>()
    );
    assert_eq!(counts(&w).await, vec![100, 100, 10, 0, 0, 0, 100]);
    let req = completed(&w, request_body(&w.profile, 100)).await;
    let mut want: Vec<u64> = (NL0 + 200..NL0 + 250).collect();
    want.extend(NL0 + 2250..NL0 + 2300);
    let mut got = assigned_numbers(&req);
    got.sort();
    assert_eq!(got, want);
    let req = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 1))
        .await;
    assert_eq!(req["status"], "Pending", "{req}");
    assert_eq!(counts(&w).await, vec![0, 0, 0, 0, 0, 0, 0]);
}
