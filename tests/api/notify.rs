//! Status events reach the customer (docs/api.md): signed callbacks with retries and order,
//! e-mail over SMTP or as `.eml` files, the private-address rule, the operator's delivery list and
//! redelivery, and a crash of the real binary while it is sending.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use numberdesk::config::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::notify_support::*;

/// An app that may call back to 127.0.0.1 and retries after 1 s, with an account and an
/// approved NL profile.
struct World {
    app: TestApp,
    acct: Acct,
    profile: String,
}

async fn world(f: impl FnOnce(&mut Config)) -> World {
    world_with_profile(profile_body(), f).await
}

async fn world_with_profile(profile: Value, f: impl FnOnce(&mut Config)) -> World {
    let app = spawn_app_with(|c| {
        c.allow_private_callbacks = true;
        c.webhook_retry_schedule = vec![1, 1, 1];
        c.webhook_timeout_secs = 2;
        f(c)
    })
    .await;
    let acct = app.create_account("Hook Corp").await;
    let profile = app.approved_profile_with(&acct, profile).await;
    World { app, acct, profile }
}

/// One NL LOCAL number in area 20 with a callback.
fn with_callback(profile: &str, url: &str) -> Value {
    let mut b = request_body(profile, 1);
    b["callbackUrl"] = json!(url);
    b
}

fn two_address_profile() -> Value {
    let mut p = profile_body();
    p["emailAddresses"] = json!(["alice@example.com", "bob@example.org"]);
    p
}

/// Waits until event `idx` of the request has a callback delivery in `state`; answers it.
async fn wait_callback(w: &World, req: &str, idx: usize, state: &str, secs: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let events = w.app.events(&w.acct, req).await;
        if let Some(cb) = events.get(idx).map(|e| e["callback"].clone())
            && cb["state"] == state
        {
            return cb;
        }
        if Instant::now() > deadline {
            panic!("callback of event {idx} did not become {state} within {secs} s: {events:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until every e-mail delivery of every event of the request is `delivered`.
async fn wait_emails_delivered(w: &World, req: &str, secs: u64) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let events = w.app.events(&w.acct, req).await;
        let done = events.iter().all(|e| {
            e["emails"]
                .as_array()
                .is_some_and(|m| m.iter().all(|d| d["state"] == "delivered"))
        });
        if done {
            return events;
        }
        if Instant::now() > deadline {
            panic!("e-mails not all delivered within {secs} s: {events:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The Delivery shape of §6 (`id`, `channel`, `target`, `state`, `attempts`, `lastAttemptOn`,
/// `lastError`).
fn assert_delivery_shape(d: &Value) {
    for k in [
        "id",
        "channel",
        "target",
        "state",
        "attempts",
        "lastAttemptOn",
        "lastError",
    ] {
        assert!(d.get(k).is_some(), "delivery lacks {k}: {d}");
    }
    assert_uuid(&d["id"]);
    assert!(d["attempts"].is_i64(), "{d}");
    if !d["lastAttemptOn"].is_null() {
        assert_time(&d["lastAttemptOn"]);
    }
    assert!(
        d["lastError"].is_null() || d["lastError"].is_string(),
        "{d}"
    );
}

async fn admin_deliveries(app: &TestApp, query: &str) -> (Vec<Value>, i64) {
    let res = app
        .admin_get(&format!("/admin/v1/deliveries?{query}"))
        .await;
    let total = header_i64(&res, "x-cm-pagination-total");
    let body = expect_json(res, StatusCode::OK).await;
    (body.as_array().unwrap().clone(), total)
}

async fn redeliver(app: &TestApp, id: &str) -> reqwest::Response {
    app.admin(
        reqwest::Method::POST,
        &format!("/admin/v1/deliveries/{id}/redeliver"),
    )
    .send()
    .await
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Callbacks
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_status_change_sends_one_signed_callback_whose_body_equals_get() {
    let w = world(|_| {}).await;
    let rx = Receiver::start().await;
    w.app.import_nl_local("+31201000000", 10).await;

    // Completed at create: one event, one callback, body = the 201 body = GET.
    let created = w
        .app
        .create_request(&w.acct, &with_callback(&w.profile, &rx.url("/hooks/a")))
        .await;
    assert_eq!(created["status"], "Completed");
    let id = s(&created["id"]);
    let got = w.app.get_request(&w.acct, &id).await;
    let hits = rx.wait_hits(1, 10).await;
    let hit = &hits[0];
    assert_eq!(hit.path, "/hooks/a");
    assert_eq!(
        hit.json(),
        created,
        "callback body differs from the 201 body"
    );
    assert_eq!(hit.json(), got, "callback body differs from GET");
    assert_signed(hit, &w.acct.webhook_secret);
    assert_eq!(
        signatures(hit).len(),
        1,
        "one secret, one signature: {:?}",
        hit.header("webhook-signature")
    );
    let cb = wait_callback(&w, &id, 0, "delivered", 10).await;
    let events = w.app.events(&w.acct, &id).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(hit.webhook_id(), s(&events[0]["id"]));
    assert_eq!(events[0]["status"], "Completed");
    assert_delivery_shape(&cb);
    assert_eq!(cb["channel"], "callback");
    assert_eq!(cb["target"], rx.url("/hooks/a"));
    assert_eq!(cb["attempts"], 1);
    assert_time(&cb["lastAttemptOn"]);

    // Pending at create (not enough stock), then cancelled: two events, two callbacks, each
    // with the body the API answered for that change.
    let mut body = with_callback(&w.profile, &rx.url("/hooks/b"));
    body["quantity"] = json!(50);
    let pending = w.app.create_request(&w.acct, &body).await;
    assert_eq!(pending["status"], "Pending");
    let pid = s(&pending["id"]);
    rx.wait_hits(2, 10).await;
    let res = w.app.cancel(&w.acct, &pid).await;
    let cancelled = expect_json(res, StatusCode::OK).await;
    assert_eq!(cancelled["status"], "Cancelled");
    assert_eq!(w.app.get_request(&w.acct, &pid).await, cancelled);
    let hits = rx.wait_hits(3, 10).await;
    let (b1, b2) = (&hits[1], &hits[2]);
    assert_eq!(b1.json(), pending);
    assert_eq!(b2.json(), cancelled);
    assert_signed(b1, &w.acct.webhook_secret);
    assert_signed(b2, &w.acct.webhook_secret);
    let events = w.app.events(&w.acct, &pid).await;
    let ids: Vec<String> = events.iter().map(|e| s(&e["id"])).collect();
    assert_eq!(
        vec![b1.webhook_id().to_string(), b2.webhook_id().to_string()],
        ids
    );
    wait_callback(&w, &pid, 1, "delivered", 10).await;
    // nothing more is sent: one callback per status change
    rx.assert_stays_at(3, 1.5).await;
}

#[tokio::test]
async fn pending_then_completed_arrive_in_order_with_distinct_webhook_ids() {
    let w = world(|_| {}).await;
    let rx = Receiver::start().await;
    let pending = w
        .app
        .create_request(&w.acct, &with_callback(&w.profile, &rx.url("/hook")))
        .await;
    assert_eq!(pending["status"], "Pending");
    let id = s(&pending["id"]);
    // stock arrives at once, while the Pending callback may still be on its way
    w.app.import_nl_local("+31201000000", 10).await;
    let completed = w.app.get_request(&w.acct, &id).await;
    assert_eq!(completed["status"], "Completed");

    let hits = rx.wait_hits(2, 10).await;
    assert_eq!(hits[0].status_name(), "Pending", "{:#?}", summary(&hits));
    assert_eq!(hits[1].status_name(), "Completed", "{:#?}", summary(&hits));
    assert_eq!(hits[0].json(), pending);
    assert_eq!(hits[1].json(), completed);
    assert_ne!(hits[0].webhook_id(), hits[1].webhook_id());
    assert!(
        hits[1].at >= hits[0].answered_at.expect("first callback answered"),
        "Completed was sent before Pending was answered: {:#?}",
        summary(&hits)
    );
    for h in &hits {
        assert_signed(h, &w.acct.webhook_secret);
    }
    let events = w.app.events(&w.acct, &id).await;
    let statuses: Vec<&str> = events
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["Pending", "Completed"]);
    assert_eq!(hits[0].webhook_id(), s(&events[0]["id"]));
    assert_eq!(hits[1].webhook_id(), s(&events[1]["id"]));
    wait_callback(&w, &id, 0, "delivered", 10).await;
    wait_callback(&w, &id, 1, "delivered", 10).await;
    rx.assert_stays_at(2, 1.0).await;
}

#[tokio::test]
async fn accept_with_stock_sends_accepted_then_completed_each_as_it_was_right_after_its_change() {
    let w = world(|_| {}).await;
    let rx = Receiver::start().await;
    let res = w
        .app
        .set_restrictions(
            "NL",
            "LOCAL",
            json!({"minQuantity": 1, "maxQuantity": 1000, "rangesSupported": false,
                   "allowedRangeSizes": [], "requiresReview": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    w.app.import_nl_local("+31201000000", 10).await;
    let pending = w
        .app
        .create_request(&w.acct, &with_callback(&w.profile, &rx.url("/review")))
        .await;
    assert_eq!(pending["status"], "Pending");
    let id = s(&pending["id"]);
    let res = w
        .app
        .admin_post(
            &format!("/admin/v1/numberrequests/{id}/accept"),
            &json!({"reason": "Looks fine"}),
        )
        .await;
    let accepted = expect_json(res, StatusCode::OK).await;
    assert_eq!(
        accepted["status"], "Completed",
        "stock is there: {accepted}"
    );
    assert_eq!(w.app.get_request(&w.acct, &id).await, accepted);

    let hits = rx.wait_hits(3, 10).await;
    let statuses: Vec<String> = hits.iter().map(|h| h.status_name()).collect();
    assert_eq!(
        statuses,
        ["Pending", "Accepted", "Completed"],
        "{:#?}",
        summary(&hits)
    );
    assert_eq!(hits[0].json(), pending);
    // The Accepted event carries the request as it was right after that change: Accepted with
    // the operator's reason and nothing assigned yet, not the later Completed state.
    let acc = hits[1].json();
    assert_eq!(acc["statusId"], 2, "{acc}");
    assert_eq!(acc["reason"], "Looks fine", "{acc}");
    assert!(
        acc["ranges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["start"].is_null() && r["id"].is_null()),
        "nothing is assigned at Accepted: {acc}"
    );
    for k in [
        "id",
        "accountId",
        "companyProfileId",
        "quantity",
        "callbackUrl",
        "createdOn",
    ] {
        assert_eq!(acc[k], accepted[k], "{k}");
    }
    assert_eq!(hits[2].json(), accepted);
    let ids: BTreeSet<&str> = hits.iter().map(|h| h.webhook_id()).collect();
    assert_eq!(ids.len(), 3, "distinct webhook-ids: {:#?}", summary(&hits));
    for h in &hits {
        assert_signed(h, &w.acct.webhook_secret);
    }
    let events = w.app.events(&w.acct, &id).await;
    let ev: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ev, hits.iter().map(|h| h.webhook_id()).collect::<Vec<_>>());
    wait_callback(&w, &id, 2, "delivered", 10).await;
    rx.assert_stays_at(3, 1.0).await;
}

#[tokio::test]
async fn a_receiver_answering_500_500_200_gets_three_attempts_with_the_same_webhook_id() {
    let w = world(|c| c.webhook_retry_schedule = vec![1, 1, 1]).await;
    let rx = Receiver::with_script(&[500, 500], 200).await;
    w.app.import_nl_local("+31201000000", 10).await;
    let created = w
        .app
        .create_request(&w.acct, &with_callback(&w.profile, &rx.url("/hook")))
        .await;
    let id = s(&created["id"]);
    let hits = rx.wait_hits(3, 15).await;
    let event_id = s(&w.app.events(&w.acct, &id).await[0]["id"]);
    for h in &hits {
        assert_eq!(h.webhook_id(), event_id, "{:#?}", summary(&hits));
        assert_eq!(h.json(), created, "every attempt carries the same body");
        assert_signed(h, &w.acct.webhook_secret);
    }
    // the schedule (1 s, up to 10 % jitter) is waited between attempts
    for pair in hits.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(
            gap >= Duration::from_millis(950) && gap < Duration::from_secs(4),
            "gap between attempts {gap:?} does not follow the 1 s schedule: {:#?}",
            summary(&hits)
        );
    }
    let cb = wait_callback(&w, &id, 0, "delivered", 10).await;
    assert_eq!(cb["attempts"], 3, "{cb}");
    assert_delivery_shape(&cb);
    rx.assert_stays_at(3, 1.5).await;
}

#[tokio::test]
async fn gone_410_fails_after_one_attempt_and_redeliver_sends_it_again() {
    // an immediate retry schedule: a retry would show at once
    let w = world(|c| c.webhook_retry_schedule = vec![0, 0, 0]).await;
    let rx = Receiver::with_script(&[], 410).await;
    w.app.import_nl_local("+31201000000", 10).await;
    let created = w
        .app
        .create_request(&w.acct, &with_callback(&w.profile, &rx.url("/gone")))
        .await;
    let id = s(&created["id"]);
    let cb = wait_callback(&w, &id, 0, "failed", 10).await;
    assert_eq!(cb["attempts"], 1, "{cb}");
    assert!(
        cb["lastError"].as_str().is_some_and(|e| e.contains("410")),
        "lastError should name the 410: {cb}"
    );
    rx.assert_stays_at(1, 1.5).await;

    let (failed, total) = admin_deliveries(&w.app, "state=failed").await;
    assert_eq!(total, 1, "{failed:#?}");
    let event_id = s(&w.app.events(&w.acct, &id).await[0]["id"]);
    assert_eq!(failed[0]["id"], cb["id"]);
    assert_eq!(failed[0]["eventId"], event_id);
    assert_eq!(failed[0]["numberRequestId"], id);
    assert_eq!(failed[0]["accountId"], w.acct.id);
    assert_eq!(failed[0]["state"], "failed");
    assert_delivery_shape(&failed[0]);

    // the receiver is fixed; the operator replays the delivery
    rx.script(vec![], Reply::ok());
    let res = redeliver(&w.app, &s(&cb["id"])).await;
    let queued = expect_json(res, StatusCode::ACCEPTED).await;
    assert_eq!(queued["id"], cb["id"]);
    assert_eq!(queued["state"], "pending", "{queued}");
    let cb = wait_callback(&w, &id, 0, "delivered", 10).await;
    assert_eq!(cb["attempts"], 2, "attempts keep counting: {cb}");
    let hits = rx.hits();
    assert_eq!(hits.len(), 2, "{:#?}", summary(&hits));
    assert_eq!(hits[1].webhook_id(), event_id);
    assert_eq!(hits[1].json(), created);
    assert_signed(&hits[1], &w.acct.webhook_secret);
    let (failed, total) = admin_deliveries(&w.app, "state=failed").await;
    assert_eq!(total, 0, "{failed:#?}");
}

#[tokio::test]
async fn a_completed_callback_never_arrives_before_its_pending_one_was_accepted() {
    let w = world(|c| c.webhook_retry_schedule = vec![1, 1, 1]).await;
    let rx = Receiver::with_script(&[500, 500], 200).await;
    let pending = w
        .app
        .create_request(&w.acct, &with_callback(&w.profile, &rx.url("/ordered")))
        .await;
    assert_eq!(pending["status"], "Pending");
    let id = s(&pending["id"]);
    rx.wait_hits(1, 10).await; // the first Pending attempt failed (500)

    w.app.import_nl_local("+31201000000", 10).await;
    let completed = w.app.get_request(&w.acct, &id).await;
    assert_eq!(completed["status"], "Completed");
    let events = w.app.events(&w.acct, &id).await;
    assert_eq!(events.len(), 2, "{events:#?}");
    assert_eq!(
        events[0]["callback"]["state"], "pending",
        "the Pending callback should still be retrying when Completed happens: {events:#?}"
    );

    let hits = rx.wait_hits(4, 15).await;
    let statuses: Vec<String> = hits.iter().map(|h| h.status_name()).collect();
    assert_eq!(
        statuses,
        ["Pending", "Pending", "Pending", "Completed"],
        "{:#?}",
        summary(&hits)
    );
    let last_pending = hits[2]
        .answered_at
        .expect("the third Pending attempt was answered");
    assert!(
        hits[3].at >= last_pending,
        "Completed arrived before the accepted Pending: {:#?}",
        summary(&hits)
    );
    assert_eq!(hits[0].webhook_id(), s(&events[0]["id"]));
    assert_eq!(hits[2].webhook_id(), s(&events[0]["id"]));
    assert_eq!(hits[3].webhook_id(), s(&events[1]["id"]));
    assert_eq!(hits[2].json(), pending);
    assert_eq!(hits[3].json(), completed);
    let first = wait_callback(&w, &id, 0, "delivered", 10).await;
    let second = wait_callback(&w, &id, 1, "delivered", 10).await;
    assert_eq!(first["attempts"], 3);
    assert_eq!(second["attempts"], 1);
    rx.assert_stays_at(4, 1.0).await;
}

#[tokio::test]
async fn once_an_earlier_callback_has_failed_later_ones_go_ahead() {
    let w = world(|c| c.webhook_retry_schedule = vec![0]).await;
    let rx = Receiver::with_script(&[410], 200).await;
    let pending = w
        .app
        .create_request(&w.acct, &with_callback(&w.profile, &rx.url("/h")))
        .await;
    let id = s(&pending["id"]);
    wait_callback(&w, &id, 0, "failed", 10).await;
    w.app.import_nl_local("+31201000000", 10).await;
    let completed = w.app.get_request(&w.acct, &id).await;
    let hits = rx.wait_hits(2, 10).await;
    assert_eq!(hits[1].json(), completed);
    wait_callback(&w, &id, 1, "delivered", 10).await;
    assert_eq!(
        w.app.events(&w.acct, &id).await[0]["callback"]["state"],
        "failed"
    );
}

#[tokio::test]
async fn retries_exhausted_leave_the_delivery_failed_with_the_last_error() {
    let w = world(|c| c.webhook_retry_schedule = vec![0, 0]).await;
    let rx = Receiver::start().await;
    rx.script(vec![], Reply::status(503).body("busy"));
    w.app.import_nl_local("+31201000000", 10).await;
    let created = w
        .app
        .create_request(&w.acct, &with_callback(&w.profile, &rx.url("/busy")))
        .await;
    let id = s(&created["id"]);
    let cb = wait_callback(&w, &id, 0, "failed", 10).await;
    // 1 + 2 schedule entries
    assert_eq!(cb["attempts"], 3, "{cb}");
    let err = cb["lastError"].as_str().unwrap_or_default();
    assert!(err.contains("503"), "lastError should name the 503: {cb}");
    assert_time(&cb["lastAttemptOn"]);
    rx.assert_stays_at(3, 1.0).await;
    let (failed, _) = admin_deliveries(&w.app, "state=failed").await;
    assert!(failed.iter().any(|d| d["id"] == cb["id"]), "{failed:#?}");
}

#[tokio::test]
async fn a_slow_receiver_times_out_and_is_retried() {
    let w = world(|c| {
        c.webhook_timeout_secs = 1;
        c.webhook_retry_schedule = vec![0];
    })
    .await;
    let rx = Receiver::start().await;
    rx.script(vec![], Reply::ok().delayed(Duration::from_secs(3)));
    w.app.import_nl_local("+31201000000", 10).await;
    let created = w
        .app
        .create_request(&w.acct, &with_callback(&w.profile, &rx.url("/slow")))
        .await;
    let id = s(&created["id"]);
    let cb = wait_callback(&w, &id, 0, "failed", 15).await;
    assert_eq!(cb["attempts"], 2, "{cb}");
    let err = cb["lastError"].as_str().unwrap_or_default().to_lowercase();
    assert!(
        err.contains("time"),
        "lastError should say it timed out: {cb}"
    );
    let hits = rx.hits();
    assert_eq!(hits.len(), 2, "{:#?}", summary(&hits));
    let gap = hits[1].at.duration_since(hits[0].at);
    assert!(
        gap < Duration::from_millis(2500),
        "the first attempt was not cut off after 1 s (gap {gap:?})"
    );
}

#[tokio::test]
async fn retry_after_from_the_receiver_is_honoured() {
    let w = world(|c| c.webhook_retry_schedule = vec![0, 0]).await;
    let rx = Receiver::start().await;
    rx.script(vec![Reply::status(503).retry_after(2)], Reply::ok());
    w.app.import_nl_local("+31201000000", 10).await;
    let created = w
        .app
        .create_request(&w.acct, &with_callback(&w.profile, &rx.url("/later")))
        .await;
    let id = s(&created["id"]);
    let hits = rx.wait_hits(2, 10).await;
    let gap = hits[1].at.duration_since(hits[0].at);
    assert!(
        gap >= Duration::from_millis(1900),
        "Retry-After: 2 was not waited (gap {gap:?})"
    );
    let cb = wait_callback(&w, &id, 0, "delivered", 10).await;
    assert_eq!(cb["attempts"], 2);
}

#[tokio::test]
async fn during_a_rotation_both_secrets_sign_and_both_signatures_verify() {
    let w = world(|_| {}).await;
    let rx = Receiver::start().await;
    let old = w.acct.webhook_secret.clone();
    let res = w
        .app
        .admin(
            reqwest::Method::POST,
            &format!("/admin/v1/accounts/{}/webhook-secret/rotate", w.acct.id),
        )
        .send()
        .await
        .unwrap();
    let rotated = expect_json(res, StatusCode::OK).await;
    assert_eq!(rotated["id"], w.acct.id);
    let new = s(&rotated["webhookSecret"]);
    assert!(new.starts_with("whsec_"), "{rotated}");
    assert_ne!(new, old);
    assert_time(&rotated["previousSecretValidUntil"]);

    w.app.import_nl_local("+31201000000", 10).await;
    let created = w
        .app
        .create_request(&w.acct, &with_callback(&w.profile, &rx.url("/rot")))
        .await;
    let hits = rx.wait_hits(1, 10).await;
    let hit = &hits[0];
    assert_eq!(hit.json(), created);
    let sigs = signatures(hit);
    assert_eq!(
        sigs.len(),
        2,
        "two secrets valid, two signatures expected: {:?}",
        hit.header("webhook-signature")
    );
    let id = hit.webhook_id();
    let ts = hit.header("webhook-timestamp");
    let by_old = expected_signature(&old, id, ts, &hit.body);
    let by_new = expected_signature(&new, id, ts, &hit.body);
    assert!(
        sigs.contains(&by_old),
        "no signature verifies with the old secret: {sigs:?}"
    );
    assert!(
        sigs.contains(&by_new),
        "no signature verifies with the new secret: {sigs:?}"
    );
    assert_signed(hit, &new);
}

// ---------------------------------------------------------------------------------------------
// Private targets
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn private_callback_urls_are_refused_at_create_time() {
    let app = spawn_app_with(|c| c.allow_private_callbacks = false).await;
    let acct = app.create_account("Private").await;
    let profile = app.approved_profile(&acct).await;
    let rx = Receiver::start().await;
    let port = rx.port();
    app.import_nl_local("+31201000000", 10).await;
    for url in [
        rx.url("/hook"),
        format!("http://localhost:{port}/hook"),
        format!("http://[::1]:{port}/hook"),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
        "http://10.1.2.3/hook".to_string(),
        "http://192.168.1.10/hook".to_string(),
        "http://169.254.169.254/latest/meta-data".to_string(),
        "http://0.0.0.0/hook".to_string(),
    ] {
        let res = app
            .post_request(&acct, &with_callback(&profile, &url))
            .await;
        expect_error(res, StatusCode::BAD_REQUEST, "CALLBACK_URL_NOT_ALLOWED").await;
    }
    // nothing was created, nothing is sent
    let res = app
        .get(&acct, &format!("{}/numberrequests", app.nr(&acct.id)))
        .await;
    assert_eq!(header_i64(&res, "x-cm-pagination-total"), 0);
    rx.assert_stays_at(0, 1.0).await;
}

#[tokio::test]
async fn a_private_target_is_refused_at_delivery_time() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::with_script(&[500], 200).await;
    // App A allows private hosts: the request is created and its first attempt gets a 500,
    // with the retry due 3 s later.
    let a = spawn_app_in(dir.path(), |c| {
        c.allow_private_callbacks = true;
        c.webhook_retry_schedule = vec![3, 1];
    })
    .await;
    let acct = a.create_account("Rebind").await;
    let profile = a.approved_profile(&acct).await;
    let created = a
        .create_request(&acct, &with_callback(&profile, &rx.url("/private")))
        .await;
    assert_eq!(created["status"], "Pending");
    let id = s(&created["id"]);
    rx.wait_hits(1, 10).await;
    let started = Instant::now();
    a.stop().await;
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "stopping took too long for this test's timing"
    );

    // App B on the same database does not allow private hosts: the retry is refused.
    let b = spawn_app_in(dir.path(), |c| {
        c.allow_private_callbacks = false;
        c.webhook_retry_schedule = vec![1, 1];
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let cb = loop {
        let events = b.events(&acct, &id).await;
        let cb = events[0]["callback"].clone();
        if cb["state"] == "failed" {
            break cb;
        }
        if Instant::now() > deadline {
            panic!("the refused delivery did not fail within 15 s: {events:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let err = cb["lastError"].as_str().unwrap_or_default();
    assert!(
        err.starts_with("refused"),
        "lastError should say the target was refused: {cb}"
    );
    assert!(
        cb["attempts"].as_i64().unwrap() >= 2,
        "the refusal counts as an attempt: {cb}"
    );
    let hits = rx.hits();
    assert_eq!(
        hits.len(),
        1,
        "nothing may reach a private target once they are refused: {:#?}",
        summary(&hits)
    );
    b.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Operator view
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_delivery_list_filters_by_state_and_redeliver_refuses_pending_ones() {
    let w = world(|c| c.webhook_retry_schedule = vec![60]).await;
    let rx = Receiver::start().await;
    rx.respond_with(|h| {
        if h.path.starts_with("/fail") {
            Reply::status(500)
        } else {
            Reply::ok()
        }
    });
    w.app.import_nl_local("+31201000000", 10).await;
    let r1 = w
        .app
        .create_request(&w.acct, &with_callback(&w.profile, &rx.url("/fail")))
        .await;
    let r2 = w
        .app
        .create_request(&w.acct, &with_callback(&w.profile, &rx.url("/ok")))
        .await;
    let (id1, id2) = (s(&r1["id"]), s(&r2["id"]));
    rx.wait_hits(2, 10).await;
    let ok_cb = wait_callback(&w, &id2, 0, "delivered", 10).await;
    wait_emails_delivered(&w, &id1, 10).await;
    wait_emails_delivered(&w, &id2, 10).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let fail_cb = loop {
        let cb = w.app.events(&w.acct, &id1).await[0]["callback"].clone();
        if cb["attempts"] == 1 {
            break cb;
        }
        assert!(
            Instant::now() < deadline,
            "first attempt not recorded: {cb}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(fail_cb["state"], "pending", "{fail_cb}");
    assert!(
        fail_cb["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("500")),
        "{fail_cb}"
    );
    let event1 = s(&w.app.events(&w.acct, &id1).await[0]["id"]);

    // state=pending: just the retrying callback, with its event, request and account
    let (pending, total) = admin_deliveries(&w.app, "state=pending").await;
    assert_eq!(total, 1, "{pending:#?}");
    assert_eq!(pending.len(), 1);
    let p = &pending[0];
    assert_delivery_shape(p);
    assert_eq!(p["id"], fail_cb["id"]);
    assert_eq!(p["eventId"], event1);
    assert_eq!(p["numberRequestId"], id1);
    assert_eq!(p["accountId"], w.acct.id);
    assert_eq!(p["channel"], "callback");
    assert_eq!(p["target"], rx.url("/fail"));
    assert_eq!(p["attempts"], 1);

    // state=delivered: the other callback and both e-mails (one address, two events)
    let (delivered, total) = admin_deliveries(&w.app, "state=delivered").await;
    assert_eq!(total, 3, "{delivered:#?}");
    assert!(delivered.iter().all(|d| d["state"] == "delivered"));
    assert!(delivered.iter().any(|d| d["id"] == ok_cb["id"]));
    let channels: BTreeSet<&str> = delivered
        .iter()
        .map(|d| d["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels, ["callback", "email"].into());
    let (failed, total) = admin_deliveries(&w.app, "state=failed").await;
    assert_eq!((failed.len(), total), (0, 0), "{failed:#?}");

    // pagination over all of them
    let (all, total) = admin_deliveries(&w.app, "").await;
    assert_eq!((all.len(), total), (4, 4));
    let res = w.app.admin_get("/admin/v1/deliveries?take=1&skip=1").await;
    assert_eq!(header_i64(&res, "x-cm-pagination-take"), 1);
    assert_eq!(header_i64(&res, "x-cm-pagination-skip"), 1);
    assert_eq!(header_i64(&res, "x-cm-pagination-total"), 4);
    let page = expect_json(res, StatusCode::OK).await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0], all[1]);

    // bad filter, no token
    let res = w.app.admin_get("/admin/v1/deliveries?state=lost").await;
    expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    let res = w
        .app
        .client
        .get(w.app.url("/admin/v1/deliveries"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // redeliver: pending → 409, unknown → 404, delivered → 202 and sent again
    let res = redeliver(&w.app, &s(&fail_cb["id"])).await;
    expect_error(res, StatusCode::CONFLICT, "DELIVERY_PENDING").await;
    let res = redeliver(&w.app, &new_uuid()).await;
    expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let before = rx.hits().iter().filter(|h| h.path == "/ok").count();
    assert_eq!(before, 1);
    let res = redeliver(&w.app, &s(&ok_cb["id"])).await;
    expect_json(res, StatusCode::ACCEPTED).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let cb = w.app.events(&w.acct, &id2).await[0]["callback"].clone();
        if cb["state"] == "delivered" && cb["attempts"] == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "redelivery not done: {cb}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let oks: Vec<Hit> = rx.hits().into_iter().filter(|h| h.path == "/ok").collect();
    assert_eq!(oks.len(), 2);
    assert_eq!(oks[0].webhook_id(), oks[1].webhook_id());
    assert_eq!(oks[1].json(), r2);
}

// ---------------------------------------------------------------------------------------------
// E-mail
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn both_addresses_of_the_profile_receive_each_status_mail_over_smtp() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let w = world_with_profile(two_address_profile(), |c| {
        c.smtp_url = Some(url);
        c.mail_from = "numbers@numberdesk.test".into();
    })
    .await;
    let pending = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 1))
        .await;
    assert_eq!(pending["status"], "Pending");
    let id = s(&pending["id"]);
    w.app.import_nl_local("+31201000000", 10).await;
    let completed = w.app.get_request(&w.acct, &id).await;
    assert_eq!(completed["status"], "Completed");
    let number = s(&completed["ranges"][0]["start"]);

    let msgs = sink.wait_messages(4, 20).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let msgs_after = sink.messages();
    assert_eq!(
        msgs_after.len(),
        4,
        "one message per address per event: {msgs_after:#?}"
    );
    for addr in ["alice@example.com", "bob@example.org"] {
        let mine: Vec<&Value> = msgs
            .iter()
            .filter(|m| m["rcptTos"] == json!([addr]))
            .collect();
        assert_eq!(mine.len(), 2, "{addr} should get two messages: {msgs:#?}");
        let subj = |st: &str| {
            mine.iter()
                .find(|m| {
                    let sub = m["subject"].as_str().unwrap();
                    sub.contains(st) && sub.contains(&id)
                })
                .unwrap_or_else(|| {
                    panic!("{addr}: no message whose subject names {id} and {st}: {mine:#?}")
                })
        };
        let p = subj("Pending");
        let c = subj("Completed");
        for m in [p, c] {
            assert!(m["to"].as_str().unwrap().contains(addr), "{m}");
            assert!(
                m["from"]
                    .as_str()
                    .unwrap()
                    .contains("numbers@numberdesk.test"),
                "{m}"
            );
        }
        let ptext = p["text"].as_str().unwrap();
        assert!(ptext.contains("Pending"), "{ptext}");
        assert!(
            ptext.contains(pending["reason"].as_str().unwrap()),
            "reason missing: {ptext}"
        );
        let ctext = c["text"].as_str().unwrap();
        assert!(ctext.contains("Completed"), "{ctext}");
        assert!(
            ctext.contains(&number),
            "assigned number {number} missing: {ctext}"
        );
        assert!(
            ctext.contains(completed["reason"].as_str().unwrap()),
            "reason missing: {ctext}"
        );
    }

    let events = wait_emails_delivered(&w, &id, 10).await;
    for e in &events {
        assert!(e["callback"].is_null(), "no callbackUrl, no callback: {e}");
        let targets: BTreeSet<&str> = e["emails"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                assert_delivery_shape(d);
                assert_eq!(d["channel"], "email");
                assert_eq!(d["attempts"], 1);
                d["target"].as_str().unwrap()
            })
            .collect();
        assert_eq!(targets, ["alice@example.com", "bob@example.org"].into());
    }
}

#[tokio::test]
async fn without_smtp_each_mail_is_written_as_an_eml_file() {
    let w = world_with_profile(two_address_profile(), |c| c.smtp_url = None).await;
    let mail_dir = w.app.dir_path.join("mail");
    w.app.import_nl_local("+31201000000", 10).await;
    let created = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 1))
        .await;
    assert_eq!(created["status"], "Completed");
    let id = s(&created["id"]);
    let number = s(&created["ranges"][0]["start"]);
    let events = wait_emails_delivered(&w, &id, 10).await;
    assert_eq!(events.len(), 1);
    assert!(events[0]["callback"].is_null());
    assert_eq!(events[0]["emails"].as_array().unwrap().len(), 2);

    let files = eml_files(&mail_dir);
    assert_eq!(
        files.len(),
        2,
        "one .eml per address: {:?}",
        files.iter().map(|f| &f.path).collect::<Vec<_>>()
    );
    let mut tos = BTreeSet::new();
    for f in &files {
        let to = f.header("To");
        tos.insert(
            ["alice@example.com", "bob@example.org"]
                .into_iter()
                .find(|a| to.contains(a))
                .unwrap_or_else(|| panic!("unexpected To: {to}")),
        );
        let subject = f.header("Subject");
        assert!(
            subject.contains(&id) && subject.contains("Completed"),
            "subject should name the request and status: {subject}"
        );
        assert!(
            f.raw.contains(&number),
            "assigned number missing in {}",
            f.path.display()
        );
    }
    assert_eq!(tos.len(), 2);
}

#[tokio::test]
async fn mail_goes_to_the_addresses_the_profile_had_when_the_event_was_written() {
    let w = world(|c| c.smtp_url = None).await;
    let pending = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 1))
        .await;
    assert_eq!(pending["status"], "Pending");
    let id = s(&pending["id"]);
    w.app
        .seed_confirmed(&w.acct, &["carol@example.net", "dave@example.net"])
        .await;
    let res = w
        .app
        .client
        .put(format!(
            "{}/companyprofiles/{}",
            w.app.cp(&w.acct.id),
            w.profile
        ))
        .header("X-CM-PRODUCTTOKEN", &w.acct.key)
        .json(&json!({"emailAddresses": ["carol@example.net", "dave@example.net"]}))
        .send()
        .await
        .unwrap();
    expect_json(res, StatusCode::OK).await;
    let res = w.app.cancel(&w.acct, &id).await;
    expect_json(res, StatusCode::OK).await;
    let events = wait_emails_delivered(&w, &id, 10).await;
    let targets = |e: &Value| -> BTreeSet<String> {
        e["emails"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| s(&d["target"]))
            .collect()
    };
    assert_eq!(targets(&events[0]), ["ops@example.com".to_string()].into());
    assert_eq!(
        targets(&events[1]),
        [
            "carol@example.net".to_string(),
            "dave@example.net".to_string()
        ]
        .into()
    );
    let files = eml_files(&w.app.dir_path.join("mail"));
    assert_eq!(files.len(), 3, "{files:#?}");
    let cancelled_to: BTreeSet<String> = files
        .iter()
        .filter(|f| f.header("Subject").contains("Cancelled"))
        .map(|f| f.header("To"))
        .collect();
    assert_eq!(cancelled_to.len(), 2, "{files:#?}");
    assert!(cancelled_to.iter().all(|t| t.contains("example.net")));
}

// ---------------------------------------------------------------------------------------------
// Crash
// ---------------------------------------------------------------------------------------------

/// A minimal client for the real binary.
struct Remote {
    base: String,
    client: reqwest::Client,
}

impl Remote {
    async fn admin_post(&self, path: &str, body: Value) -> Value {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        let st = res.status();
        assert!(
            st.is_success(),
            "{path}: {st} {}",
            res.text().await.unwrap()
        );
        res.json().await.unwrap()
    }
    async fn deliveries(&self, state: &str) -> Vec<Value> {
        let mut all = Vec::new();
        loop {
            let res = self
                .client
                .get(format!(
                    "{}/admin/v1/deliveries?state={state}&take=100&skip={}",
                    self.base,
                    all.len()
                ))
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .unwrap();
            let total = header_i64(&res, "x-cm-pagination-total") as usize;
            let page: Vec<Value> = expect_json(res, StatusCode::OK)
                .await
                .as_array()
                .unwrap()
                .clone();
            let n = page.len();
            all.extend(page);
            if n == 0 || all.len() >= total {
                return all;
            }
        }
    }
    async fn events(&self, acct: &Acct, id: &str) -> Vec<Value> {
        let res = self
            .client
            .get(format!(
                "{}/voice/phonenumberrequestapi/v1/{}/numberrequests/{id}/events",
                self.base, acct.id
            ))
            .header("X-CM-PRODUCTTOKEN", &acct.key)
            .send()
            .await
            .unwrap();
        expect_json(res, StatusCode::OK)
            .await
            .as_array()
            .unwrap()
            .clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_while_sending_loses_no_event_and_no_delivered_record() {
    let test_start = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let env: Vec<(&str, String)> = vec![
        (
            "NUMBERDESK_DATABASE_URL",
            format!("sqlite://{}/nd.db", dir.path().display()),
        ),
        (
            "NUMBERDESK_MAIL_DIR",
            dir.path().join("mail").display().to_string(),
        ),
        ("NUMBERDESK_ADMIN_TOKEN", ADMIN_TOKEN.to_string()),
        ("NUMBERDESK_ALLOW_PRIVATE_CALLBACKS", "true".into()),
        ("NUMBERDESK_WEBHOOK_TIMEOUT_SECS", "1".into()),
        ("NUMBERDESK_WEBHOOK_RETRY_SCHEDULE", "1,1,1,1,1".into()),
        ("NUMBERDESK_RATE_LIMIT", "0".into()),
        // E-mail to the profile's address from the first event on (this test is about crashes).
        ("NUMBERDESK_CONFIRM_EMAILS", "false".into()),
    ];
    // Every second callback is slow (700 ms, under the 1 s timeout) until the crash, so the
    // worker always has sends in flight while others are already recorded.
    let rx = Receiver::start().await;
    let slow = Arc::new(AtomicBool::new(true));
    {
        let slow = slow.clone();
        rx.respond_with(move |h| {
            if slow.load(Ordering::SeqCst) && h.index % 2 == 1 {
                Reply::ok().delayed(Duration::from_millis(700))
            } else {
                Reply::ok()
            }
        });
    }

    let mut first = tokio::task::block_in_place(|| Served::start(dir.path(), &env));
    let r = Remote {
        base: first.address.clone(),
        client: client(),
    };
    let a = r
        .admin_post("/admin/v1/accounts", json!({"name": "Crash Corp"}))
        .await;
    let acct = Acct {
        id: s(&a["id"]),
        key: s(&a["apiKey"]),
        key_id: s(&a["apiKeyId"]),
        webhook_secret: s(&a["webhookSecret"]),
    };
    let res = r
        .client
        .post(format!(
            "{}/voice/companyprofilesapi/v1/{}/companyprofiles",
            r.base, acct.id
        ))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .json(&profile_body())
        .send()
        .await
        .unwrap();
    let profile = s(&expect_json(res, StatusCode::CREATED).await["id"]);
    r.admin_post(
        &format!("/admin/v1/companyprofiles/{profile}/approve"),
        json!({}),
    )
    .await;
    r.admin_post(
        "/admin/v1/inventory",
        json!({"numbers": [{"start": "+31201000000", "count": 200, "countryCode": "NL",
            "phoneNumberType": "LOCAL", "areaCode": "20", "city": "Amsterdam", "region": null}]}),
    )
    .await;

    const N: usize = 40;
    let mut ids = Vec::new();
    let mut created = Vec::new();
    for _ in 0..N {
        let res = r
            .client
            .post(format!(
                "{}/voice/phonenumberrequestapi/v1/{}/numberrequests",
                r.base, acct.id
            ))
            .header("X-CM-PRODUCTTOKEN", &acct.key)
            .json(&with_callback(&profile, &rx.url("/crash")))
            .send()
            .await
            .unwrap();
        let v = expect_json(res, StatusCode::CREATED).await;
        assert_eq!(v["status"], "Completed");
        ids.push(s(&v["id"]));
        created.push(v);
    }

    // Wait for a moment with callbacks both answered and in flight, take the record of what is
    // delivered, and SIGKILL at once.
    let deadline = Instant::now() + Duration::from_secs(15);
    let (snapshot, in_flight_at_kill) = loop {
        let hits = rx.hits();
        let answered = hits.iter().filter(|h| h.answered_at.is_some()).count();
        let in_flight = hits.len() - answered;
        if answered >= 10 && in_flight >= 3 {
            let delivered: Vec<Value> = r
                .deliveries("delivered")
                .await
                .into_iter()
                .filter(|d| d["channel"] == "callback")
                .collect();
            let in_flight_now = rx.hits().iter().filter(|h| h.answered_at.is_none()).count();
            first.kill9();
            break (delivered, in_flight_now);
        }
        if Instant::now() > deadline {
            panic!(
                "never saw callbacks answered and in flight together: {:#?}",
                summary(&hits)
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let answered_before_kill: BTreeSet<String> = rx
        .hits()
        .iter()
        .filter(|h| h.answered_at.is_some() && h.status == 200)
        .map(|h| h.webhook_id().to_string())
        .collect();
    assert!(
        in_flight_at_kill > 0,
        "the kill should happen while callbacks are in flight"
    );
    assert!(
        !snapshot.is_empty(),
        "some callbacks should be recorded delivered before the kill"
    );
    for d in &snapshot {
        assert!(
            answered_before_kill.contains(&s(&d["eventId"])),
            "delivery {} is recorded delivered but the receiver never answered it: {d}",
            d["id"]
        );
    }
    slow.store(false, Ordering::SeqCst);

    // Restart on the same database.
    let second = tokio::task::block_in_place(|| Served::start(dir.path(), &env));
    let r = Remote {
        base: second.address.clone(),
        client: client(),
    };
    let delivered_now: HashMap<String, Value> = r
        .deliveries("delivered")
        .await
        .into_iter()
        .map(|d| (s(&d["id"]), d))
        .collect();
    for d in &snapshot {
        assert!(
            delivered_now.contains_key(&s(&d["id"])),
            "delivery {} was delivered before the kill and is not any more: {d}",
            d["id"]
        );
    }
    // Every request that got a 201 is still there, with the same numbers.
    for v in &created {
        let res = r
            .client
            .get(format!(
                "{}/voice/phonenumberrequestapi/v1/{}/numberrequests/{}",
                r.base,
                acct.id,
                s(&v["id"])
            ))
            .header("X-CM-PRODUCTTOKEN", &acct.key)
            .send()
            .await
            .unwrap();
        let now = expect_json(res, StatusCode::OK).await;
        assert_eq!(now["status"], "Completed");
        assert_eq!(
            now["ranges"], v["ranges"],
            "numbers changed across the crash"
        );
    }

    // Every event ends delivered on every channel (leases of the killed process expire after
    // timeout + 15 s).
    let deadline = Instant::now() + Duration::from_secs(35);
    let mut event_ids = BTreeSet::new();
    loop {
        let mut undone = Vec::new();
        event_ids.clear();
        for id in &ids {
            for e in r.events(&acct, id).await {
                event_ids.insert(s(&e["id"]));
                let mut all = vec![e["callback"].clone()];
                all.extend(e["emails"].as_array().unwrap().iter().cloned());
                for d in all {
                    if d["state"] != "delivered" {
                        undone.push(d);
                    }
                }
            }
        }
        if undone.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            panic!(
                "{} deliveries not delivered 35 s after the restart: {undone:#?}\nserver log: {:#?}",
                undone.len(),
                second.log_tail(30)
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(event_ids.len(), N, "one event per request");
    let seen: BTreeSet<String> = rx
        .hits()
        .iter()
        .filter(|h| h.answered_at.is_some() && h.status == 200)
        .map(|h| h.webhook_id().to_string())
        .collect();
    let missing: Vec<&String> = event_ids.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "events recorded delivered but never received: {missing:?}"
    );
    let delivered_end: BTreeSet<String> = r
        .deliveries("delivered")
        .await
        .iter()
        .map(|d| s(&d["id"]))
        .collect();
    for d in &snapshot {
        assert!(
            delivered_end.contains(&s(&d["id"])),
            "delivery {} lost its delivered record",
            d["id"]
        );
    }
    eprintln!(
        "crash test: {} delivered before the kill, {} in flight at the kill, {} hits in all, {:?}",
        snapshot.len(),
        in_flight_at_kill,
        rx.count(),
        test_start.elapsed()
    );
}

/// An SMTP server that accepts the connection and then never says a word: the attempt ends at
/// the webhook timeout with a clear lastError, is retried on the schedule, and shutdown is not
/// held up by it.
#[tokio::test]
async fn a_silent_smtp_server_times_out_and_does_not_hold_shutdown() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let smtp = format!("smtp://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((conn, _)) = silent.accept().await {
            open.push(conn); // keep it open, say nothing
        }
    });
    let w = world(|c| {
        c.smtp_url = Some(smtp);
        c.webhook_timeout_secs = 1;
        c.webhook_retry_schedule = vec![0];
    })
    .await;
    w.app.import_nl_local("+31201000000", 10).await;
    let created = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 1))
        .await;
    let id = s(&created["id"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    let mail = loop {
        let events = w.app.events(&w.acct, &id).await;
        let mail = events[0]["emails"][0].clone();
        if mail["state"] == "failed" {
            break mail;
        }
        assert!(
            Instant::now() < deadline,
            "e-mail never failed: {events:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(mail["attempts"], 2, "one retry on the schedule: {mail}");
    let err = mail["lastError"].as_str().unwrap_or_default();
    assert!(err.contains("timed out"), "{mail}");

    // A second request's mail is in flight to the silent server while the service stops.
    w.app
        .create_request(&w.acct, &request_body(&w.profile, 1))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopping = Instant::now();
    w.app.stop().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "shutdown waited {:?} on the silent SMTP server",
        stopping.elapsed()
    );
    held.abort();
}

/// The price a request was quoted goes out with its status: in the callback's body (the same
/// object as `GET`) and in the e-mail's text; a request without a price has `price: null` and
/// no price line in its mail.
#[tokio::test]
async fn the_quoted_price_is_in_the_callback_body_and_the_mail_text() {
    let w = world(|c| c.smtp_url = None).await;
    let mail_dir = w.app.dir_path.join("mail");
    let rx = Receiver::start().await;
    w.app.import_nl_local("+31201000000", 10).await;
    let res = w
        .app
        .admin_put(
            "/admin/v1/prices/NL/LOCAL",
            &json!({"currency": "EUR", "setupPrice": "1.5", "monthlyPrice": "0.0125"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let priced = w
        .app
        .create_request(
            &w.acct,
            &with_callback(&w.profile, &rx.url("/hooks/priced")),
        )
        .await;
    assert_eq!(priced["status"], "Completed", "{priced}");
    let quoted = json!({"currency": "EUR", "setupPrice": "1.50", "monthlyPrice": "0.0125"});
    assert_eq!(priced["price"], quoted);
    let hit = rx.wait_hits(1, 10).await.remove(0);
    assert_eq!(
        hit.json()["price"],
        quoted,
        "the callback carries the quoted price"
    );
    assert_eq!(hit.json(), priced);
    let id = s(&priced["id"]);
    wait_emails_delivered(&w, &id, 10).await;
    let mail = eml_files(&mail_dir)
        .into_iter()
        .find(|f| f.header("Subject").contains(&id))
        .expect("a mail about the priced request");
    assert!(
        mail.raw
            .contains("Price per number: EUR 1.50 setup, EUR 0.0125 per month"),
        "{}",
        mail.raw
    );

    // Without a price: null in the callback, no price line in the mail.
    let res = w
        .app
        .admin(reqwest::Method::DELETE, "/admin/v1/prices/NL/LOCAL")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let free = w
        .app
        .create_request(&w.acct, &with_callback(&w.profile, &rx.url("/hooks/free")))
        .await;
    assert_eq!(free["status"], "Completed", "{free}");
    assert!(free["price"].is_null(), "{free}");
    let hits = rx.wait_hits(2, 10).await;
    let hit = hits.iter().find(|h| h.path == "/hooks/free").unwrap();
    assert!(hit.json()["price"].is_null(), "{}", hit.json());
    let fid = s(&free["id"]);
    wait_emails_delivered(&w, &fid, 10).await;
    let mail = eml_files(&mail_dir)
        .into_iter()
        .find(|f| f.header("Subject").contains(&fid))
        .expect("a mail about the request without a price");
    assert!(!mail.raw.contains("Price per number"), "{}", mail.raw);
}
