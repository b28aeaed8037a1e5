//! Release and aging: released numbers rest, then return to stock.

use super::*;

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
    // A page far past the end is empty, up to the largest skip the query accepts.
    for skip in [12, 1_000_000, i64::MAX as usize - 1, i64::MAX as usize] {
        assert_eq!(held(skip, 25).await, (vec![], 11), "skip {skip}");
    }

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
