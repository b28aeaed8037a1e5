//! Order rules and catalog (docs/api.md), one file a feature: restrictions, aligned ranges,
//! review, requirements, locale options and NANPA regions, availability, release and aging, the
//! demo world and the OpenAPI document. The helpers below are shared by them.

mod aging;
mod availability;
mod demo;
mod locale;
mod ranges;
mod requirements;
mod restrictions;
mod review;

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

/// Locale options as a set of (areaCode, city, region, availableQuantity), checking the keys.
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
