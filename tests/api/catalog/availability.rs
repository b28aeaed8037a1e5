//! Availability: exact counts of single numbers and blocks.

use super::*;

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
