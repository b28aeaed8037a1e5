//! The operator's review of number requests: accept, reject, final statuses and the operator's
//! request list.

use super::*;

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
    assert_eq!(w.app.get_request(&w.acct, &id).await, accepted);

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
    let res = reject(&w.app, &new_uuid(), Some(json!({"reason": "x"}))).await;
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

    // Unfiltered: every account's requests, newest first; by account alone.
    let ids = |list: Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|r| s(&r["id"]))
            .collect()
    };
    let res = w.app.admin_get("/admin/v1/numberrequests").await;
    assert_eq!(header_i64(&res, "x-cm-pagination-total"), 3);
    let list = expect_json(res, StatusCode::OK).await;
    assert_eq!(ids(list), vec![p3.clone(), p2.clone(), p1.clone()]);
    let res = w
        .app
        .admin_get(&format!("/admin/v1/numberrequests?accountId={}", w.acct.id))
        .await;
    let list = expect_json(res, StatusCode::OK).await;
    assert_eq!(ids(list), vec![p3.clone(), p1.clone()]);
    let res = w.app.admin_get("/admin/v1/numberrequests?take=101").await;
    expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
}
