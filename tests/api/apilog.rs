//! The API log: every customer call with a valid key is recorded for that key's account, listed
//! newest first with filters and pages, trimmed by retention, and never holds a key or a body.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// The account's log as the customer lists it (with a query string such as `?status=404`).
async fn log_of(app: &TestApp, acct: &Acct, query: &str) -> reqwest::Response {
    app.get(acct, &format!("{}/apilog{query}", app.nr(&acct.id)))
        .await
}

/// Waits until the account's log holds at least `n` entries other than the listing calls
/// themselves; answers them (newest first).
async fn entries_of(app: &TestApp, acct: &Acct, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let res = log_of(app, acct, "?take=100").await;
        let body: Vec<Value> = res.json().await.unwrap();
        let got: Vec<Value> = body
            .into_iter()
            .filter(|e| !s(&e["path"]).ends_with("/apilog"))
            .collect();
        if got.len() >= n {
            return got;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "expected {n} entries within 3 s, got {got:#?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn each_call_with_a_valid_key_is_recorded_with_its_fields() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let other = app.create_account("B").await;
    let missing = new_uuid();
    // 1: a success with a query string, a user agent and the caller's request id
    let res = app
        .client
        .get(format!(
            "{}/numberrequests?take=5&status=Pending",
            app.nr(&acct.id)
        ))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .header("User-Agent", "log-test/1.0")
        .header("X-Request-Id", "req-log-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // 2: a 404 of an unknown request
    let res = app
        .get(
            &acct,
            &format!("{}/numberrequests/{missing}", app.nr(&acct.id)),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let generated = header(&res, "x-request-id");
    // 3: a 403: the key on another account's path is recorded for the key's account
    let res = app
        .get(&acct, &format!("{}/numberrequests", app.nr(&other.id)))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // not recorded: no key, an unknown key
    let res = app
        .client
        .get(format!("{}/numberrequests", app.nr(&acct.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .client
        .get(format!("{}/numberrequests", app.nr(&acct.id)))
        .header("X-CM-PRODUCTTOKEN", "no-such-key")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let entries = entries_of(&app, &acct, 3).await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let entries_later = entries_of(&app, &acct, 3).await;
    assert_eq!(
        entries_later.len(),
        3,
        "only the three keyed calls: {entries_later:#?}"
    );
    // newest first
    let (forbidden, not_found, ok) = (&entries[0], &entries[1], &entries[2]);
    assert_eq!(ok["method"], "GET");
    assert_eq!(
        ok["path"],
        format!("/voice/phonenumberrequestapi/v1/{}/numberrequests", acct.id)
    );
    assert_eq!(ok["query"], "take=5&status=Pending");
    assert_eq!(ok["status"], 200);
    assert_eq!(ok["userAgent"], "log-test/1.0");
    assert_eq!(ok["requestId"], "req-log-1");
    assert_eq!(ok["apiKeyId"], acct.key_id.as_str());
    assert_eq!(ok["messageCode"], Value::Null);
    assert!(ok["durationMs"].as_i64().is_some_and(|d| d >= 0), "{ok}");
    assert_uuid(&ok["id"]);
    assert_time(&ok["occurredOn"]);
    assert!(
        ok.get("accountId").is_none(),
        "customer view has no accountId: {ok}"
    );

    assert_eq!(not_found["status"], 404);
    assert_eq!(not_found["messageCode"], "NOT_FOUND");
    assert_eq!(not_found["query"], Value::Null);
    assert_eq!(not_found["requestId"], generated.as_str());

    assert_eq!(forbidden["status"], 403);
    assert_eq!(forbidden["messageCode"], "FORBIDDEN");
    assert_eq!(
        forbidden["path"],
        format!(
            "/voice/phonenumberrequestapi/v1/{}/numberrequests",
            other.id
        )
    );
    // ... and the other account's log holds none of them
    let res = log_of(&app, &other, "").await;
    let theirs: Vec<Value> = expect_json(res, StatusCode::OK)
        .await
        .as_array()
        .unwrap()
        .clone();
    assert!(
        theirs.iter().all(|e| s(&e["path"]).ends_with("/apilog")),
        "{theirs:#?}"
    );
}

#[tokio::test]
async fn the_log_filters_by_status_and_method_and_pages_newest_first() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let missing = new_uuid();
    for _ in 0..3 {
        let res = app
            .get(
                &acct,
                &format!("{}/numberrequests/{missing}", app.nr(&acct.id)),
            )
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
    let res = app
        .client
        .post(format!(
            "{}/numberrequests/{missing}/cancel",
            app.nr(&acct.id)
        ))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .get(&acct, &format!("{}/phonenumbers", app.nr(&acct.id)))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    entries_of(&app, &acct, 5).await;

    let res = log_of(&app, &acct, "?status=404").await;
    assert_eq!(header_i64(&res, "x-cm-pagination-total"), 4);
    let body = expect_json(res, StatusCode::OK).await;
    assert!(body.as_array().unwrap().iter().all(|e| e["status"] == 404));

    let res = log_of(&app, &acct, "?method=post").await;
    let body = expect_json(res, StatusCode::OK).await;
    let posts = body.as_array().unwrap();
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert!(s(&posts[0]["path"]).ends_with("/cancel"));

    let res = log_of(&app, &acct, "?method=GET&status=200").await;
    let body = expect_json(res, StatusCode::OK).await;
    // the phone number list and earlier listings of the log, nothing else
    assert!(
        body.as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == 200 && e["method"] == "GET"),
        "{body:#?}"
    );
    assert!(
        body.as_array()
            .unwrap()
            .iter()
            .any(|e| s(&e["path"]).ends_with("/phonenumbers"))
    );

    // pages: newest first, stable, with the pagination headers
    let res = log_of(&app, &acct, "?status=404&skip=1&take=2").await;
    assert_eq!(header_i64(&res, "x-cm-pagination-skip"), 1);
    assert_eq!(header_i64(&res, "x-cm-pagination-take"), 2);
    assert_eq!(header_i64(&res, "x-cm-pagination-total"), 4);
    let page: Vec<Value> = res.json().await.unwrap();
    let all: Vec<Value> = log_of(&app, &acct, "?status=404")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page, all[1..3].to_vec());
    assert!(
        s(&all[0]["path"]).ends_with("/cancel"),
        "newest first: {all:#?}"
    );
    let times: Vec<String> = all.iter().map(|e| s(&e["occurredOn"])).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);

    // bad filters
    for q in [
        "?status=abc",
        "?status=99",
        "?status=600",
        "?method=G3T",
        "?method=a%20b",
        "?take=0",
        "?take=101",
        "?skip=-1",
    ] {
        let res = log_of(&app, &acct, q).await;
        let body = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
        let field = q.trim_start_matches('?').split('=').next().unwrap();
        assert_field(&body, field);
    }
}

#[tokio::test]
async fn the_operator_lists_every_accounts_log_with_account_ids() {
    let app = spawn_app().await;
    let a = app.create_account("A").await;
    let b = app.create_account("B").await;
    for acct in [&a, &b] {
        let res = app
            .get(acct, &format!("{}/phonenumbers", app.nr(&acct.id)))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    entries_of(&app, &a, 1).await;
    entries_of(&app, &b, 1).await;
    let res = app.admin_get("/admin/v1/apilog?take=100").await;
    let body = expect_json(res, StatusCode::OK).await;
    let accounts: std::collections::BTreeSet<String> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| s(&e["accountId"]))
        .collect();
    assert!(
        accounts.contains(&a.id) && accounts.contains(&b.id),
        "{body:#?}"
    );

    let res = app
        .admin_get(&format!("/admin/v1/apilog?accountId={}&method=GET", b.id))
        .await;
    let body = expect_json(res, StatusCode::OK).await;
    let list = body.as_array().unwrap();
    assert!(!list.is_empty());
    assert!(
        list.iter().all(|e| e["accountId"] == b.id.as_str()),
        "{list:#?}"
    );
    assert!(list.iter().all(|e| e["apiKeyId"] == b.key_id.as_str()));

    let res = app.admin_get("/admin/v1/apilog?accountId=nope").await;
    let body = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_field(&body, "accountId");
    // operator calls are not customer calls: they are not in the log
    assert!(!body.to_string().contains("/admin/"), "{body}");
    let res = app.admin_get("/admin/v1/apilog?take=100").await;
    let body = expect_json(res, StatusCode::OK).await;
    assert!(
        body.as_array()
            .unwrap()
            .iter()
            .all(|e| s(&e["path"]).starts_with("/voice/")),
        "{body:#?}"
    );
    // and a customer cannot read it
    let res = app
        .client
        .get(app.url("/admin/v1/apilog"))
        .header("X-CM-PRODUCTTOKEN", &a.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn neither_the_api_key_nor_the_body_is_recorded() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let marker = "BODY-MARKER-7f3a";
    let res = app
        .create_profile(
            &acct,
            &json!({"name": marker, "companyName": marker, "comment": marker}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = app.create_profile(&acct, &profile_body()).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    entries_of(&app, &acct, 2).await;
    let customer = log_of(&app, &acct, "?take=100").await.text().await.unwrap();
    let operator = app
        .admin_get("/admin/v1/apilog?take=100")
        .await
        .text()
        .await
        .unwrap();
    for text in [&customer, &operator] {
        assert!(text.contains("VALIDATION_FAILED"), "{text}");
        assert!(!text.contains(&acct.key), "the key is in the log: {text}");
        assert!(!text.contains(marker), "the body is in the log: {text}");
        assert!(
            !text.contains("Amsterdam"),
            "the body is in the log: {text}"
        );
    }
}

#[tokio::test]
async fn retention_zero_records_nothing() {
    let app = spawn_app_with(|c| c.api_log_retention_days = 0).await;
    let acct = app.create_account("A").await;
    for _ in 0..3 {
        let res = app
            .get(&acct, &format!("{}/phonenumbers", app.nr(&acct.id)))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let res = log_of(&app, &acct, "").await;
    assert_eq!(header_i64(&res, "x-cm-pagination-total"), 0);
    assert_eq!(expect_json(res, StatusCode::OK).await, json!([]));
}

#[tokio::test]
async fn entries_older_than_the_retention_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), |c| c.api_log_retention_days = 2).await;
    let acct = app.create_account("A").await;
    for _ in 0..4 {
        let res = app
            .get(&acct, &format!("{}/phonenumbers", app.nr(&acct.id)))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let entries = entries_of(&app, &acct, 4).await;
    let db_url = app.db_url.clone();
    app.stop().await;
    // Two entries become three days old, one a day old.
    sqlx::any::install_default_drivers();
    // On SQLite the log has a file of its own beside the database.
    let log_url = if db_url.starts_with("sqlite:") {
        let main = numberdesk::config::sqlite_path(&db_url);
        format!(
            "sqlite://{}",
            numberdesk::store::api_log_file(&main).display()
        )
    } else {
        db_url.clone()
    };
    let pool = sqlx::AnyPool::connect(&log_url).await.unwrap();
    let day = 86_400_000i64;
    for (e, age) in entries.iter().zip([3 * day, 3 * day, day]) {
        sqlx::query("UPDATE api_log SET occurred_ms = occurred_ms - $1 WHERE id = $2")
            .bind(age)
            .bind(s(&e["id"]))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    let app = spawn_app_in(dir.path(), |c| c.api_log_retention_days = 2).await;
    let old: Vec<String> = entries[..2].iter().map(|e| s(&e["id"])).collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let left: Vec<String> = loop {
        let body: Vec<Value> = log_of(&app, &acct, "?take=100").await.json().await.unwrap();
        let left: Vec<String> = body.iter().map(|e| s(&e["id"])).collect();
        if !left.iter().any(|id| old.contains(id)) {
            break left;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "entries older than 2 days are still listed: {left:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    for kept in &entries[2..] {
        assert!(left.contains(&s(&kept["id"])), "{kept} was deleted too");
    }
    app.stop().await;
    if db_url.starts_with("postgres") {
        drop_postgres_database(&db_url).await;
    }
}

/// On SQLite the log lives in a file of its own beside the database; entries an older version
/// left in the database's own table are moved there at start-up and listed as before.
#[tokio::test]
async fn sqlite_keeps_the_log_in_its_own_file_and_moves_old_entries_there() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("nd.db");
    let url = format!("sqlite://{}", main.display());
    let app = spawn_app_in(dir.path(), |c| c.database_url = url.clone()).await;
    let acct = app.create_account("A").await;
    let res = app
        .get(&acct, &format!("{}/phonenumbers", app.nr(&acct.id)))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let first = entries_of(&app, &acct, 1).await;
    app.stop().await;
    let log_file = dir.path().join("nd.apilog.db");
    assert!(log_file.exists(), "the log's own file");

    // An entry in the database's own table, as an older version wrote it.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let old_id = new_uuid();
    sqlx::query(
        "INSERT INTO api_log (id, account_id, occurred_ms, method, path, query, status, \
         duration_ms, user_agent, api_key_id, request_id, message_code) \
         VALUES ($1, $2, $3, 'GET', '/voice/old', NULL, 200, 1, 'old/1.0', $4, 'old-request', NULL)",
    )
    .bind(&old_id)
    .bind(&acct.id)
    .bind(now_ms_for_test() - 1_000)
    .bind(s(&first[0]["apiKeyId"]))
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let app = spawn_app_in(dir.path(), |c| c.database_url = url.clone()).await;
    let listed = entries_of(&app, &acct, 2).await;
    let ids: Vec<String> = listed.iter().map(|e| s(&e["id"])).collect();
    assert!(
        ids.contains(&old_id),
        "the old entry is listed: {listed:#?}"
    );
    assert!(ids.contains(&s(&first[0]["id"])), "{listed:#?}");
    app.stop().await;
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_log")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "the database's own table is empty after the move");
    pool.close().await;
}

fn now_ms_for_test() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
