//! Many creates at once: every answer 201, no number assigned twice (docs/api.md).

use std::collections::BTreeSet;
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// Fires `tasks` creates of `quantity` at once; answers every (status, body).
async fn create_all_at_once(
    app: &Arc<TestApp>,
    acct: &Acct,
    profile: &str,
    tasks: usize,
    quantity: u32,
) -> Vec<(StatusCode, Value)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(tasks));
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let app = app.clone();
        let acct = acct.clone();
        let body = request_body(profile, quantity);
        let barrier = barrier.clone();
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            let res = app.post_request(&acct, &body).await;
            let status = res.status();
            let text = res.text().await.unwrap();
            (
                status,
                serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text)),
            )
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

fn assigned_numbers(results: &[(StatusCode, Value)]) -> Vec<String> {
    results
        .iter()
        .flat_map(|(_, b)| b["ranges"].as_array().cloned().unwrap_or_default())
        .filter(|r| !r["start"].is_null())
        .map(|r| s(&r["start"]))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_never_assign_a_number_twice() {
    let app = Arc::new(spawn_app().await);
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    app.import_nl_local("+31201000000", 300).await;

    // 24 × 12 = 288 of 300: every request can be met.
    let results = create_all_at_once(&app, &acct, &profile, 24, 12).await;
    for (status, body) in &results {
        assert_eq!(*status, StatusCode::CREATED, "{body}");
        assert_eq!(
            body["status"], "Completed",
            "stock suffices for every request: {body}"
        );
    }
    let numbers = assigned_numbers(&results);
    let distinct: BTreeSet<&String> = numbers.iter().collect();
    assert_eq!(distinct.len(), numbers.len(), "a number was assigned twice");
    assert_eq!(numbers.len(), 288);

    let (listed, total) = app.all_phone_numbers(&acct).await;
    assert_eq!(total, 288);
    let listed: BTreeSet<String> = listed.iter().map(|p| s(&p["phoneNumber"])).collect();
    assert_eq!(listed, distinct.into_iter().cloned().collect());
    let c = app.stock_counts("NL", "LOCAL", "20").await;
    assert_eq!(
        c,
        StockCounts {
            available: 12,
            assigned: 288,
            aging: 0,
            total: 300
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_beyond_stock_complete_some_and_leave_the_rest_pending() {
    let app = Arc::new(spawn_app().await);
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    app.import_nl_local("+31201000000", 300).await;

    // 24 × 15 = 360 of 300: exactly 20 can be met, all or nothing each.
    let results = create_all_at_once(&app, &acct, &profile, 24, 15).await;
    for (status, body) in &results {
        assert_eq!(*status, StatusCode::CREATED, "{body}");
    }
    let completed = results
        .iter()
        .filter(|(_, b)| b["status"] == "Completed")
        .count();
    let pending: Vec<&Value> = results
        .iter()
        .filter(|(_, b)| b["status"] == "Pending")
        .map(|(_, b)| b)
        .collect();
    assert_eq!(completed + pending.len(), 24);
    for p in &pending {
        assert!(
            p["ranges"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["start"].is_null()),
            "partial assignment: {p}"
        );
    }
    let numbers = assigned_numbers(&results);
    let distinct: BTreeSet<&String> = numbers.iter().collect();
    assert_eq!(distinct.len(), numbers.len(), "a number was assigned twice");
    assert_eq!(numbers.len(), completed * 15);
    assert_eq!(completed, 20, "stock held 20 requests' worth");

    let (_, total) = app.all_phone_numbers(&acct).await;
    assert_eq!(total as usize, numbers.len());
    let c = app.stock_counts("NL", "LOCAL", "20").await;
    assert_eq!(c.assigned as usize, numbers.len());
    assert_eq!(c.available + c.assigned, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_single_number_creates_from_two_accounts() {
    let app = Arc::new(spawn_app().await);
    let a = app.create_account("A").await;
    let b = app.create_account("B").await;
    let pa = app.approved_profile(&a).await;
    let pb = app.approved_profile(&b).await;
    app.import_nl_local("+31201000000", 300).await;

    let (ra, rb) = tokio::join!(
        create_all_at_once(&app, &a, &pa, 24, 1),
        create_all_at_once(&app, &b, &pb, 24, 1)
    );
    let mut all = ra.clone();
    all.extend(rb.clone());
    for (status, body) in &all {
        assert_eq!(*status, StatusCode::CREATED, "{body}");
        assert_eq!(body["status"], "Completed", "{body}");
    }
    let numbers = assigned_numbers(&all);
    assert_eq!(numbers.iter().collect::<BTreeSet<_>>().len(), 48);
    let (_, ta) = app.all_phone_numbers(&a).await;
    let (_, tb) = app.all_phone_numbers(&b).await;
    assert_eq!((ta, tb), (24, 24));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_calls_with_one_idempotency_key_do_the_work_once() {
    let app = Arc::new(spawn_app().await);
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    app.import_nl_local("+31201000000", 50).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let mut handles = Vec::new();
    for _ in 0..8 {
        let app = app.clone();
        let acct = acct.clone();
        let body = request_body(&profile, 3);
        let barrier = barrier.clone();
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            let res = app
                .client
                .post(format!("{}/numberrequests", app.nr(&acct.id)))
                .header("X-CM-PRODUCTTOKEN", &acct.key)
                .header("Idempotency-Key", "same-for-all")
                .json(&body)
                .send()
                .await
                .unwrap();
            (res.status(), res.text().await.unwrap())
        }));
    }
    let mut bodies = BTreeSet::new();
    for h in handles {
        let (status, text) = h.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{text}");
        bodies.insert(text);
    }
    assert_eq!(bodies.len(), 1, "every call answers the same body");
    let res = app
        .get(&acct, &format!("{}/numberrequests", app.nr(&acct.id)))
        .await;
    assert_eq!(header_i64(&res, "x-cm-pagination-total"), 1);
    assert_eq!(app.stock_counts("NL", "LOCAL", "20").await.assigned, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_cancels_succeed_once() {
    let app = Arc::new(spawn_app().await);
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    let req = app.create_request(&acct, &request_body(&profile, 1)).await;
    let id = s(&req["id"]);
    let mut handles = Vec::new();
    for _ in 0..8 {
        let app = app.clone();
        let acct = acct.clone();
        let id = id.clone();
        handles.push(tokio::spawn(async move {
            let res = app.cancel(&acct, &id).await;
            let status = res.status();
            (status, res.json::<Value>().await.unwrap())
        }));
    }
    let mut ok = 0;
    for h in handles {
        let (status, body) = h.await.unwrap();
        match status {
            StatusCode::OK => ok += 1,
            StatusCode::CONFLICT => assert_eq!(body["messageCode"], "REQUEST_FINALIZED"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(ok, 1);
    let statuses: Vec<String> = app
        .events(&acct, &id)
        .await
        .iter()
        .map(|e| s(&e["status"]))
        .collect();
    assert_eq!(statuses, ["Pending", "Cancelled"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_imports_fulfil_every_open_request_without_duplicates() {
    let app = Arc::new(spawn_app().await);
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(s(&app
            .create_request(&acct, &request_body(&profile, 10))
            .await["id"]));
    }
    let mut handles = Vec::new();
    for i in 0..10u64 {
        let app = app.clone();
        handles.push(tokio::spawn(async move {
            app.import_nl_local(&format!("+{}", 31201000000u64 + i * 10), 10)
                .await
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap()["added"], 10);
    }
    let all_done = eventually(15, || {
        let app = app.clone();
        let acct = acct.clone();
        let ids = ids.clone();
        async move {
            for id in &ids {
                if app.get_request(&acct, id).await["status"] != "Completed" {
                    return false;
                }
            }
            true
        }
    })
    .await;
    assert!(
        all_done,
        "every open request should be fulfilled once stock is there"
    );
    let (listed, total) = app.all_phone_numbers(&acct).await;
    assert_eq!(total, 100);
    assert_eq!(
        listed
            .iter()
            .map(|p| s(&p["phoneNumber"]))
            .collect::<BTreeSet<_>>()
            .len(),
        100
    );
    let _ = json!(null);
}
