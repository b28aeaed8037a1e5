//! Number requests: create, get, list, cancel, events, statuses (docs/api.md).

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// An app with one account and one approved NL profile.
async fn setup() -> (TestApp, Acct, String) {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    (app, acct, profile)
}

fn keys_of(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

fn keys<const N: usize>(k: [&str; N]) -> BTreeSet<String> {
    k.iter().map(|s| s.to_string()).collect()
}

fn nl_numbers(start: u64, count: u64) -> BTreeSet<String> {
    (start..start + count).map(|n| format!("+{n}")).collect()
}

fn assert_assigned_ranges(req: &Value, stock: &BTreeSet<String>) -> Vec<String> {
    let ranges = req["ranges"].as_array().expect("ranges array");
    assert_eq!(
        ranges.len() as i64,
        req["quantity"].as_i64().unwrap(),
        "{req}"
    );
    let mut numbers = Vec::new();
    for r in ranges {
        assert_uuid(&r["id"]);
        assert_eq!(r["size"], 1, "{r}");
        assert_eq!(r["start"], r["end"], "{r}");
        let n = s(&r["start"]);
        assert!(stock.contains(&n), "{n} is not from stock");
        assert_time(&r["validFrom"]);
        assert!(r["validTo"].is_null(), "{r}");
        numbers.push(n);
    }
    let distinct: BTreeSet<&String> = numbers.iter().collect();
    assert_eq!(
        distinct.len(),
        numbers.len(),
        "a number appears twice: {numbers:?}"
    );
    numbers
}

fn assert_unassigned_ranges(req: &Value) {
    let ranges = req["ranges"].as_array().expect("ranges array");
    assert_eq!(
        ranges.len() as i64,
        req["quantity"].as_i64().unwrap(),
        "{req}"
    );
    for r in ranges {
        for k in ["id", "start", "end", "validFrom", "validTo"] {
            assert!(r[k].is_null(), "{k} should be null before assignment: {r}");
        }
        assert_eq!(r["size"], 1, "{r}");
    }
}

#[tokio::test]
async fn create_returns_201_and_assigns_numbers_when_stock_exists() {
    let (app, acct, profile) = setup().await;
    assert_eq!(
        app.import_nl_local("+31201000000", 5).await,
        json!({"added": 5, "duplicates": 0})
    );
    let body = json!({
        "companyProfileId": profile, "quantity": 2, "phoneNumberType": "LOCAL",
        "areaCode": "20", "comment": "for the helpdesk", "callbackUrl": "https://example.com/hooks/numbers"
    });
    let res = app.post_request(&acct, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = header(&res, "location");
    let req: Value = res.json().await.unwrap();
    let id = s(&req["id"]);
    assert_uuid(&req["id"]);
    assert!(
        location.ends_with(&format!("/numberrequests/{id}")),
        "Location {location}"
    );

    assert_eq!(req["accountId"], acct.id.as_str());
    assert_eq!(req["companyProfileId"], profile.as_str());
    assert_eq!(req["countryCode"], "NL");
    assert_eq!(req["phoneNumberType"], "LOCAL");
    assert_eq!(req["quantity"], 2);
    assert!(req["rangeSize"].is_null());
    assert_eq!(req["areaCode"], "20");
    assert!(req["city"].is_null());
    assert!(req["region"].is_null());
    assert_eq!(req["comment"], "for the helpdesk");
    assert_eq!(req["callbackUrl"], "https://example.com/hooks/numbers");
    assert_eq!(req["status"], "Completed");
    assert_eq!(req["statusId"], 3);
    assert!(!s(&req["reason"]).trim().is_empty());
    assert_time(&req["createdOn"]);
    assert_time(&req["updatedOn"]);
    let numbers = assert_assigned_ranges(&req, &nl_numbers(31201000000, 5));
    assert_eq!(
        keys_of(&req),
        keys([
            "id",
            "accountId",
            "companyProfileId",
            "countryCode",
            "phoneNumberType",
            "quantity",
            "rangeSize",
            "areaCode",
            "city",
            "region",
            "comment",
            "callbackUrl",
            "status",
            "statusId",
            "reason",
            "createdOn",
            "updatedOn",
            "ranges",
            "price",
        ]),
        "{req}"
    );
    assert_eq!(
        keys_of(&req["ranges"][0]),
        keys(["id", "start", "end", "size", "validFrom", "validTo"])
    );

    // GET answers the same object
    assert_eq!(app.get_request(&acct, &id).await, req);

    // the numbers are listed as the account's
    let (listed, total) = app.all_phone_numbers(&acct).await;
    assert_eq!(total, 2);
    let listed_set: BTreeSet<String> = listed.iter().map(|p| s(&p["phoneNumber"])).collect();
    assert_eq!(listed_set, numbers.iter().cloned().collect());
    for p in &listed {
        assert_eq!(
            keys_of(p),
            keys([
                "phoneNumber",
                "countryCode",
                "phoneNumberType",
                "areaCode",
                "city",
                "region",
                "numberRequestId",
                "companyProfileId",
                "validFrom",
                "validTo",
            ]),
            "{p}"
        );
        assert_eq!(p["countryCode"], "NL");
        assert_eq!(p["phoneNumberType"], "LOCAL");
        assert_eq!(p["areaCode"], "20");
        assert_eq!(p["city"], "Amsterdam");
        assert!(p["region"].is_null());
        assert_eq!(p["numberRequestId"], id.as_str());
        assert_eq!(p["companyProfileId"], profile.as_str());
        assert_time(&p["validFrom"]);
        assert!(p["validTo"].is_null());
    }

    // stock summary shows them assigned
    let counts = app.stock_counts("NL", "LOCAL", "20").await;
    assert_eq!(
        counts,
        StockCounts {
            available: 3,
            assigned: 2,
            aging: 0,
            total: 5
        }
    );

    // one event: Completed
    let events = app.events(&acct, &id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["status"], "Completed");
    assert_eq!(events[0]["numberRequestId"], id.as_str());
    assert!(!s(&events[0]["reason"]).trim().is_empty());
    assert_time(&events[0]["occurredOn"]);
    assert_uuid(&events[0]["id"]);
}

#[tokio::test]
async fn create_matches_city_case_insensitively_and_tollfree_without_area() {
    let (app, acct, profile) = setup().await;
    app.import_nl_local("+31201000000", 3).await;
    app.import_numbers(json!({"numbers": [{
        "start": "+31800100000", "count": 3, "countryCode": "NL", "phoneNumberType": "TOLLFREE",
        "areaCode": "800", "city": null, "region": null
    }]}))
    .await;
    let req = app
        .create_request(&acct, &json!({"companyProfileId": profile, "quantity": 1, "phoneNumberType": "LOCAL", "city": "aMSTERDAM"}))
        .await;
    assert_eq!(req["status"], "Completed", "{req}");
    assert_assigned_ranges(&req, &nl_numbers(31201000000, 3));

    let req = app
        .create_request(
            &acct,
            &json!({"companyProfileId": profile, "quantity": 3, "phoneNumberType": "TOLLFREE"}),
        )
        .await;
    assert_eq!(req["status"], "Completed", "{req}");
    assert_assigned_ranges(&req, &nl_numbers(31800100000, 3));

    // area code and city both given: both must match
    let req = app
        .create_request(&acct, &json!({"companyProfileId": profile, "quantity": 1, "phoneNumberType": "LOCAL", "areaCode": "20", "city": "Rotterdam"}))
        .await;
    assert_eq!(req["status"], "Pending", "{req}");
}

#[tokio::test]
async fn create_without_stock_is_pending_and_completes_after_import() {
    let (app, acct, profile) = setup().await;
    let req = app.create_request(&acct, &request_body(&profile, 3)).await;
    let id = s(&req["id"]);
    assert_eq!(req["status"], "Pending");
    assert_eq!(req["statusId"], 1);
    assert!(!s(&req["reason"]).trim().is_empty());
    assert_unassigned_ranges(&req);
    assert_eq!(app.get_request(&acct, &id).await, req);
    let (_, total) = app.all_phone_numbers(&acct).await;
    assert_eq!(total, 0);

    // stock of another area code does not help
    app.import_numbers(json!({"numbers": [{
        "start": "+31101000000", "count": 10, "countryCode": "NL", "phoneNumberType": "LOCAL",
        "areaCode": "10", "city": "Rotterdam", "region": null
    }]}))
    .await;
    assert_eq!(app.get_request(&acct, &id).await["status"], "Pending");

    app.import_nl_local("+31201000000", 3).await;
    let done = app.get_request(&acct, &id).await;
    assert_eq!(
        done["status"], "Completed",
        "import must fulfil open requests: {done}"
    );
    assert_eq!(done["statusId"], 3);
    assert_eq!(done["createdOn"], req["createdOn"]);
    assert_assigned_ranges(&done, &nl_numbers(31201000000, 3));
    let (_, total) = app.all_phone_numbers(&acct).await;
    assert_eq!(total, 3);

    let events = app.events(&acct, &id).await;
    let statuses: Vec<&str> = events
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["Pending", "Completed"]);
    for e in &events {
        assert!(!s(&e["reason"]).trim().is_empty(), "{e}");
        assert_eq!(e["numberRequestId"], id.as_str());
        assert_time(&e["occurredOn"]);
    }
    assert_ne!(events[0]["id"], events[1]["id"]);
    assert!(s(&events[0]["occurredOn"]) <= s(&events[1]["occurredOn"]));
}

#[tokio::test]
async fn assignment_is_all_or_nothing() {
    let (app, acct, profile) = setup().await;
    app.import_nl_local("+31201000000", 2).await;
    let req = app.create_request(&acct, &request_body(&profile, 3)).await;
    assert_eq!(req["status"], "Pending");
    assert_unassigned_ranges(&req);
    assert_eq!(
        app.stock_counts("NL", "LOCAL", "20").await,
        StockCounts {
            available: 2,
            assigned: 0,
            aging: 0,
            total: 2
        }
    );

    app.import_nl_local("+31201000002", 1).await;
    let done = app.get_request(&acct, &s(&req["id"])).await;
    assert_eq!(done["status"], "Completed");
    assert_eq!(
        app.stock_counts("NL", "LOCAL", "20").await,
        StockCounts {
            available: 0,
            assigned: 3,
            aging: 0,
            total: 3
        }
    );
}

#[tokio::test]
async fn open_requests_are_fulfilled_oldest_first_and_a_big_one_does_not_block_a_small_one() {
    let (app, acct, profile) = setup().await;
    let big = app.create_request(&acct, &request_body(&profile, 5)).await;
    let older = app.create_request(&acct, &request_body(&profile, 2)).await;
    let younger = app.create_request(&acct, &request_body(&profile, 2)).await;
    app.import_nl_local("+31201000000", 2).await;
    assert_eq!(
        app.get_request(&acct, &s(&big["id"])).await["status"],
        "Pending"
    );
    assert_eq!(
        app.get_request(&acct, &s(&older["id"])).await["status"],
        "Completed"
    );
    assert_eq!(
        app.get_request(&acct, &s(&younger["id"])).await["status"],
        "Pending"
    );

    // a new request takes stock at once even while older ones wait
    app.import_nl_local("+31201000002", 1).await;
    let fresh = app.create_request(&acct, &request_body(&profile, 1)).await;
    assert_eq!(fresh["status"], "Completed");
    assert_eq!(
        app.get_request(&acct, &s(&big["id"])).await["status"],
        "Pending"
    );
}

#[tokio::test]
async fn an_import_completes_the_requests_its_stock_serves_and_leaves_the_others_pending() {
    let (app, acct, profile) = setup().await;
    let by_city = app
        .create_request(&acct, &json!({"companyProfileId": profile, "quantity": 1, "phoneNumberType": "LOCAL", "city": "AMSTERDAM"}))
        .await;
    let by_area = app.create_request(&acct, &request_body(&profile, 1)).await;
    let elsewhere = app
        .create_request(&acct, &json!({"companyProfileId": profile, "quantity": 1, "phoneNumberType": "LOCAL", "areaCode": "10"}))
        .await;
    let other_city = app
        .create_request(&acct, &json!({"companyProfileId": profile, "quantity": 1, "phoneNumberType": "LOCAL", "areaCode": "20", "city": "Haarlem"}))
        .await;
    app.import_nl_local("+31201000000", 5).await;
    for (req, want) in [
        (&by_city, "Completed"),
        (&by_area, "Completed"),
        (&elsewhere, "Pending"),
        (&other_city, "Pending"),
    ] {
        let now = app.get_request(&acct, &s(&req["id"])).await;
        assert_eq!(now["status"], want, "{now}");
    }
    assert_eq!(app.stock_counts("NL", "LOCAL", "20").await.assigned, 2);
}

#[tokio::test]
async fn a_create_past_the_accounts_open_request_cap_is_409_and_writes_nothing() {
    let app = spawn_app_with(|c| c.max_open_requests = 2).await;
    let acct = app.create_account("capped").await;
    let profile = app.approved_profile(&acct).await;
    let first = app.create_request(&acct, &request_body(&profile, 1)).await;
    app.create_request(&acct, &request_body(&profile, 1)).await;
    let res = app.post_request(&acct, &request_body(&profile, 1)).await;
    let body = expect_error(res, StatusCode::CONFLICT, "TOO_MANY_OPEN_REQUESTS").await;
    assert!(s(&body["message"]).contains('2'), "{body}");
    let res = app
        .get(&acct, &format!("{}/numberrequests", app.nr(&acct.id)))
        .await;
    assert_eq!(header_i64(&res, "x-cm-pagination-total"), 2);
    // Another account is not affected, and a cancel makes room again.
    let other = app.create_account("other").await;
    let other_profile = app.approved_profile(&other).await;
    app.create_request(&other, &request_body(&other_profile, 1))
        .await;
    expect_json(app.cancel(&acct, &s(&first["id"])).await, StatusCode::OK).await;
    let again = app.create_request(&acct, &request_body(&profile, 1)).await;
    assert_eq!(again["status"], "Pending");
}

#[tokio::test]
async fn cancel_pending_request_answers_200_cancelled_and_second_cancel_is_409() {
    let (app, acct, profile) = setup().await;
    let req = app.create_request(&acct, &request_body(&profile, 2)).await;
    let id = s(&req["id"]);
    let res = app.cancel(&acct, &id).await;
    let cancelled = expect_json(res, StatusCode::OK).await;
    assert_eq!(cancelled["status"], "Cancelled");
    assert_eq!(cancelled["statusId"], 5);
    assert!(!s(&cancelled["reason"]).trim().is_empty());
    assert_unassigned_ranges(&cancelled);
    assert_eq!(app.get_request(&acct, &id).await, cancelled);

    let res = app.cancel(&acct, &id).await;
    expect_error(res, StatusCode::CONFLICT, "REQUEST_FINALIZED").await;

    // a cancelled request takes no stock
    app.import_nl_local("+31201000000", 5).await;
    assert_eq!(app.get_request(&acct, &id).await["status"], "Cancelled");
    assert_eq!(app.stock_counts("NL", "LOCAL", "20").await.assigned, 0);

    let statuses: Vec<String> = app
        .events(&acct, &id)
        .await
        .iter()
        .map(|e| s(&e["status"]))
        .collect();
    assert_eq!(statuses, ["Pending", "Cancelled"]);
}

#[tokio::test]
async fn cancel_accepts_an_optional_reason_body() {
    let (app, acct, profile) = setup().await;
    let req = app.create_request(&acct, &request_body(&profile, 1)).await;
    let res = app
        .client
        .post(format!(
            "{}/numberrequests/{}/cancel",
            app.nr(&acct.id),
            s(&req["id"])
        ))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .json(&json!({"reason": "Project stopped"}))
        .send()
        .await
        .unwrap();
    let cancelled = expect_json(res, StatusCode::OK).await;
    assert_eq!(cancelled["status"], "Cancelled");
    assert!(!s(&cancelled["reason"]).trim().is_empty());
}

#[tokio::test]
async fn cancel_of_a_completed_request_is_409_request_finalized() {
    let (app, acct, profile) = setup().await;
    app.import_nl_local("+31201000000", 1).await;
    let req = app.create_request(&acct, &request_body(&profile, 1)).await;
    assert_eq!(req["status"], "Completed");
    let res = app.cancel(&acct, &s(&req["id"])).await;
    expect_error(res, StatusCode::CONFLICT, "REQUEST_FINALIZED").await;
    assert_eq!(app.get_request(&acct, &s(&req["id"])).await, req);
    let (_, total) = app.all_phone_numbers(&acct).await;
    assert_eq!(total, 1);
}

#[tokio::test]
async fn cancel_or_events_of_unknown_request_is_404() {
    let (app, acct, _) = setup().await;
    for id in [new_uuid(), "nope".to_string()] {
        expect_error(
            app.cancel(&acct, &id).await,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        )
        .await;
        let res = app
            .get(
                &acct,
                &format!("{}/numberrequests/{id}/events", app.nr(&acct.id)),
            )
            .await;
        expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
        let res = app
            .get(&acct, &format!("{}/numberrequests/{id}", app.nr(&acct.id)))
            .await;
        expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    }
}

#[tokio::test]
async fn list_is_newest_first_with_pagination_headers() {
    let (app, acct, profile) = setup().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(s(&app
            .create_request(&acct, &request_body(&profile, 1))
            .await["id"]));
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    let list_url = format!("{}/numberrequests", app.nr(&acct.id));

    let res = app.get(&acct, &list_url).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "x-cm-pagination-skip"), "0");
    assert_eq!(header(&res, "x-cm-pagination-take"), "5");
    assert_eq!(header(&res, "x-cm-pagination-total"), "5");
    let list: Vec<Value> = res.json().await.unwrap();
    assert_eq!(
        list.iter().map(|r| s(&r["id"])).collect::<Vec<_>>(),
        newest_first
    );
    // items are whole NumberRequests
    assert_eq!(list[0], app.get_request(&acct, &ids[4]).await);

    let res = app.get(&acct, &format!("{list_url}?skip=1&take=2")).await;
    assert_eq!(header(&res, "x-cm-pagination-skip"), "1");
    assert_eq!(header(&res, "x-cm-pagination-take"), "2");
    assert_eq!(header(&res, "x-cm-pagination-total"), "5");
    let list: Vec<Value> = res.json().await.unwrap();
    assert_eq!(
        list.iter().map(|r| s(&r["id"])).collect::<Vec<_>>(),
        newest_first[1..3].to_vec()
    );

    let res = app.get(&acct, &format!("{list_url}?skip=4&take=100")).await;
    assert_eq!(header(&res, "x-cm-pagination-take"), "1");
    let res = app.get(&acct, &format!("{list_url}?skip=10")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "x-cm-pagination-take"), "0");
    assert_eq!(header(&res, "x-cm-pagination-total"), "5");
    assert_eq!(res.json::<Vec<Value>>().await.unwrap().len(), 0);

    for bad in [
        "take=0", "take=101", "take=-1", "skip=-1", "take=abc", "skip=x",
    ] {
        let res = app.get(&acct, &format!("{list_url}?{bad}")).await;
        let body = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
        let field = bad.split('=').next().unwrap();
        assert_field(&body, field);
    }
}

/// Keyset pagination (numberdesk extension, documented in the README and OpenAPI): `after` is
/// the id of the last item of the previous page; the page is the same as with `skip`, and the
/// total header stays the total of the whole list.
#[tokio::test]
async fn list_after_an_id_gives_the_next_page_like_skip() {
    let (app, acct, profile) = setup().await;
    for _ in 0..7 {
        app.create_request(&acct, &request_body(&profile, 1)).await;
    }
    let list_url = format!("{}/numberrequests", app.nr(&acct.id));
    let ids = |list: Value| {
        list.as_array()
            .unwrap()
            .iter()
            .map(|r| s(&r["id"]))
            .collect::<Vec<_>>()
    };
    let by_skip = ids(expect_json(
        app.get(&acct, &format!("{list_url}?skip=3&take=3")).await,
        StatusCode::OK,
    )
    .await);
    let first = ids(expect_json(
        app.get(&acct, &format!("{list_url}?take=3")).await,
        StatusCode::OK,
    )
    .await);
    let res = app
        .get(&acct, &format!("{list_url}?after={}&take=3", first[2]))
        .await;
    assert_eq!(header(&res, "x-cm-pagination-total"), "7");
    assert_eq!(header(&res, "x-cm-pagination-take"), "3");
    assert_eq!(ids(expect_json(res, StatusCode::OK).await), by_skip);
    let last = ids(expect_json(
        app.get(&acct, &format!("{list_url}?after={}&skip=1", by_skip[2]))
            .await,
        StatusCode::OK,
    )
    .await);
    assert_eq!(last.len(), 0, "one item after the 6th, skipped");

    let res = app.get(&acct, &format!("{list_url}?after=nope")).await;
    let body = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_field(&body, "after");
}

#[tokio::test]
async fn default_page_is_25_items() {
    let (app, acct, profile) = setup().await;
    for _ in 0..27 {
        app.create_request(&acct, &request_body(&profile, 1)).await;
    }
    let res = app
        .get(&acct, &format!("{}/numberrequests", app.nr(&acct.id)))
        .await;
    assert_eq!(header(&res, "x-cm-pagination-take"), "25");
    assert_eq!(header(&res, "x-cm-pagination-total"), "27");
    assert_eq!(res.json::<Vec<Value>>().await.unwrap().len(), 25);
}

#[tokio::test]
async fn list_filters_by_status_name_or_id_and_by_company_profile() {
    let (app, acct, profile) = setup().await;
    let mut other_body = profile_body();
    other_body["name"] = json!("Second");
    let other = app.approved_profile_with(&acct, other_body).await;
    app.import_nl_local("+31201000000", 1).await;
    let completed = app.create_request(&acct, &request_body(&profile, 1)).await;
    assert_eq!(completed["status"], "Completed");
    let pending = app.create_request(&acct, &request_body(&profile, 2)).await;
    let cancelled = app.create_request(&acct, &request_body(&other, 2)).await;
    expect_json(
        app.cancel(&acct, &s(&cancelled["id"])).await,
        StatusCode::OK,
    )
    .await;
    let other_pending = app.create_request(&acct, &request_body(&other, 3)).await;

    let list_url = format!("{}/numberrequests", app.nr(&acct.id));
    let ids = |list: Vec<Value>| list.iter().map(|r| s(&r["id"])).collect::<Vec<_>>();
    let fetch = |q: String| {
        let app = &app;
        let acct = &acct;
        let list_url = &list_url;
        async move {
            let res = app.get(acct, &format!("{list_url}?{q}")).await;
            let total = header_i64(&res, "x-cm-pagination-total");
            let list = expect_json(res, StatusCode::OK)
                .await
                .as_array()
                .unwrap()
                .clone();
            (list, total)
        }
    };

    for q in ["status=Pending", "status=1"] {
        let (list, total) = fetch(q.to_string()).await;
        assert_eq!(total, 2, "{q}");
        assert_eq!(
            ids(list),
            [s(&other_pending["id"]), s(&pending["id"])],
            "{q}"
        );
    }
    for q in ["status=Completed", "status=3"] {
        let (list, total) = fetch(q.to_string()).await;
        assert_eq!(total, 1);
        assert_eq!(ids(list), [s(&completed["id"])]);
    }
    for q in ["status=Cancelled", "status=5"] {
        let (list, _) = fetch(q.to_string()).await;
        assert_eq!(ids(list), [s(&cancelled["id"])]);
    }
    let (list, total) = fetch("status=Rejected".into()).await;
    assert_eq!((list.len(), total), (0, 0));

    let (list, total) = fetch(format!("companyProfileId={other}")).await;
    assert_eq!(total, 2);
    assert_eq!(ids(list), [s(&other_pending["id"]), s(&cancelled["id"])]);
    let (list, _) = fetch(format!("companyProfileId={other}&status=Pending")).await;
    assert_eq!(ids(list), [s(&other_pending["id"])]);
    let (list, total) = fetch(format!("companyProfileId={}", new_uuid())).await;
    assert_eq!((list.len(), total), (0, 0));

    for bad in [
        "status=Bogus",
        "status=9",
        "status=pendingx",
        "companyProfileId=not-a-uuid",
    ] {
        let res = app.get(&acct, &format!("{list_url}?{bad}")).await;
        let body = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
        assert_field(&body, bad.split('=').next().unwrap());
    }
}

#[tokio::test]
async fn statuses_table_is_exactly_as_in_the_contract() {
    let (app, acct, _) = setup().await;
    let res = app
        .get(
            &acct,
            &format!("{}/numberrequests/statuses", app.nr(&acct.id)),
        )
        .await;
    let body = expect_json(res, StatusCode::OK).await;
    let list = body.as_array().unwrap();
    let want = [
        (1, "Pending", false),
        (2, "Accepted", false),
        (3, "Completed", true),
        (4, "Rejected", true),
        (5, "Cancelled", true),
    ];
    assert_eq!(list.len(), want.len(), "{body}");
    for (item, (id, name, fin)) in list.iter().zip(want) {
        let keys: BTreeSet<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            keys,
            ["description", "final", "id", "name"].into(),
            "{item}"
        );
        assert_eq!(item["id"], id);
        assert_eq!(item["name"], name);
        assert_eq!(item["final"], fin);
        assert!(!s(&item["description"]).is_empty());
    }
}

#[tokio::test]
async fn unknown_request_fields_are_ignored_and_null_means_absent() {
    let (app, acct, profile) = setup().await;
    app.import_nl_local("+31201000000", 2).await;
    let req = app
        .create_request(
            &acct,
            &json!({"companyProfileId": profile, "quantity": 1, "phoneNumberType": "LOCAL", "areaCode": "20",
                    "somethingElse": {"x": [1, 2]}, "rangeSize": null, "city": null, "region": null,
                    "comment": null, "callbackUrl": null}),
        )
        .await;
    assert_eq!(req["status"], "Completed");
    assert!(req.get("somethingElse").is_none());
    assert!(req["callbackUrl"].is_null());
    assert!(req["comment"].is_null());
}

#[tokio::test]
async fn events_list_pending_callback_and_email_deliveries_when_present() {
    let (app, acct, profile) = setup().await;
    let mut body = request_body(&profile, 1);
    body["callbackUrl"] = json!("https://example.com/hook");
    let req = app.create_request(&acct, &body).await;
    let events = app.events(&acct, &s(&req["id"])).await;
    assert_eq!(events.len(), 1);
    let e = &events[0];
    let keys: BTreeSet<&str> = e.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "callback",
            "emails",
            "id",
            "numberRequestId",
            "occurredOn",
            "reason",
            "status"
        ]
        .into(),
        "{e}"
    );
    assert!(e["emails"].is_array());
    // Deliveries are only written in this issue; when present they are pending.
    if !e["callback"].is_null() {
        assert_eq!(e["callback"]["channel"], "callback");
        assert_eq!(e["callback"]["target"], "https://example.com/hook");
        assert_eq!(e["callback"]["state"], "pending");
    }
    for d in e["emails"].as_array().unwrap() {
        assert_eq!(d["channel"], "email");
        assert_eq!(d["target"], "ops@example.com");
    }
}

#[tokio::test]
async fn open_requests_of_a_profile_that_leaves_approved_still_complete_from_stock() {
    let (app, acct, profile) = setup().await;
    let req = app.create_request(&acct, &request_body(&profile, 2)).await;
    assert_eq!(req["status"], "Pending");
    let res = app
        .client
        .put(format!("{}/companyprofiles/{profile}", app.cp(&acct.id)))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .json(&json!({"street": "Rokin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_json(res, StatusCode::OK).await["status"],
        "PendingApproval"
    );
    // new requests are refused ...
    let res = app.post_request(&acct, &request_body(&profile, 1)).await;
    expect_error(res, StatusCode::CONFLICT, "PROFILE_NOT_APPROVED").await;
    // ... but the open one completes
    app.import_nl_local("+31201000000", 2).await;
    assert_eq!(
        app.get_request(&acct, &s(&req["id"])).await["status"],
        "Completed"
    );
}

#[tokio::test]
async fn country_code_is_the_profiles_number_country_at_request_time() {
    let (app, acct, profile) = setup().await;
    let req = app.create_request(&acct, &request_body(&profile, 1)).await;
    assert_eq!(req["countryCode"], "NL");
    let res = app
        .client
        .put(format!("{}/companyprofiles/{profile}", app.cp(&acct.id)))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .json(&json!({"numberCountryCode": "BE"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_json(res, StatusCode::OK).await["numberCountryCode"],
        "BE"
    );
    assert_eq!(
        app.get_request(&acct, &s(&req["id"])).await["countryCode"],
        "NL"
    );
}
