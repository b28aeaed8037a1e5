//! Service endpoints (docs/api.md) and persistence across restarts.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn healthz_and_readyz_answer_200() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn openapi_json_is_3_1_and_lists_the_customer_endpoints() {
    let app = spawn_app().await;
    let doc = app.openapi().await;
    let version = s(&doc["openapi"]);
    assert!(version.starts_with("3.1"), "openapi {version}");
    let paths = doc["paths"].as_object().expect("paths object");
    let has = |needle: &str| paths.keys().any(|p| p.contains(needle));
    for needle in [
        "/voice/phonenumberrequestapi/v1/",
        "numberrequests",
        "numberrequests/statuses",
        "phonenumbers",
        "/voice/companyprofilesapi/v1/",
        "companyprofiles",
        "/admin/v1/accounts",
        "/admin/v1/inventory",
    ] {
        assert!(
            has(needle),
            "no path containing {needle:?} in {:?}",
            paths.keys().collect::<Vec<_>>()
        );
    }
    // the create call documents its request body and a 201
    let create = paths
        .iter()
        .find(|(p, v)| p.ends_with("/numberrequests") && v.get("post").is_some())
        .map(|(_, v)| &v["post"])
        .expect("POST .../numberrequests in openapi");
    assert!(create.get("requestBody").is_some(), "{create}");
    assert!(create["responses"].get("201").is_some(), "{create}");
}

#[tokio::test]
async fn docs_serve_html() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let ct = header(&res, "content-type");
    assert!(ct.starts_with("text/html"), "content-type {ct}");
    let text = res.text().await.unwrap();
    assert!(
        text.to_lowercase().contains("<html"),
        "{}",
        &text[..text.len().min(300)]
    );
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_numberdesk_series() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let _ = app
        .get(&acct, &format!("{}/numberrequests", app.nr(&acct.id)))
        .await;
    let text = app.page_text("/metrics").await;
    assert!(text.contains("numberdesk_"), "{text}");

    // The request gauge counts by status: one Completed, one Pending, one Cancelled.
    let profile = app.approved_profile(&acct).await;
    app.import_nl_local("+31201000000", 2).await;
    let done = app.create_request(&acct, &request_body(&profile, 2)).await;
    assert_eq!(done["status"], "Completed");
    app.create_request(&acct, &request_body(&profile, 5)).await;
    let gone = app.create_request(&acct, &request_body(&profile, 5)).await;
    assert_eq!(
        app.cancel(&acct, &s(&gone["id"])).await.status(),
        StatusCode::OK
    );
    let text = app.page_text("/metrics").await;
    for (status, n) in [
        ("Pending", 1),
        ("Completed", 1),
        ("Cancelled", 1),
        ("Rejected", 0),
    ] {
        let line = format!("numberdesk_number_requests{{status=\"{status}\"}} {n}\n");
        assert!(text.contains(&line), "{line}: {text}");
    }
}

#[tokio::test]
async fn restart_keeps_accounts_profiles_requests_numbers_and_stock() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), |_| {}).await;
    let acct = app.create_account("Persistent").await;
    let profile = app.approved_profile(&acct).await;
    app.import_nl_local("+31201000000", 5).await;
    let done = app.create_request(&acct, &request_body(&profile, 2)).await;
    assert_eq!(done["status"], "Completed");
    let pending = app.create_request(&acct, &request_body(&profile, 10)).await;
    assert_eq!(pending["status"], "Pending");
    let cancelled = app.create_request(&acct, &request_body(&profile, 10)).await;
    let cancelled = expect_json(
        app.cancel(&acct, &s(&cancelled["id"])).await,
        StatusCode::OK,
    )
    .await;
    // an idempotent create, to be replayed after the restart
    let idem_body = request_body(&profile, 1);
    let res = app
        .client
        .post(format!("{}/numberrequests", app.nr(&acct.id)))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .header("Idempotency-Key", "before-restart")
        .json(&idem_body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let idem_text = res.text().await.unwrap();

    let profile_before = expect_json(
        app.get(
            &acct,
            &format!("{}/companyprofiles/{profile}", app.cp(&acct.id)),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let events_before = app.events(&acct, &s(&done["id"])).await;
    let (numbers_before, _) = app.all_phone_numbers(&acct).await;
    let summary_before = app.stock_summary().await;
    let list_before: Value = expect_json(
        app.get(&acct, &format!("{}/numberrequests", app.nr(&acct.id)))
            .await,
        StatusCode::OK,
    )
    .await;
    let done_before = app.get_request(&acct, &s(&done["id"])).await;
    let pending_before = app.get_request(&acct, &s(&pending["id"])).await;
    app.stop().await;

    let app = spawn_app_in(dir.path(), |_| {}).await;
    assert_eq!(app.get_request(&acct, &s(&done["id"])).await, done_before);
    assert_eq!(
        app.get_request(&acct, &s(&pending["id"])).await,
        pending_before
    );
    assert_eq!(
        app.get_request(&acct, &s(&cancelled["id"])).await,
        cancelled
    );
    assert_eq!(
        expect_json(
            app.get(
                &acct,
                &format!("{}/companyprofiles/{profile}", app.cp(&acct.id))
            )
            .await,
            StatusCode::OK
        )
        .await,
        profile_before
    );
    assert_eq!(app.events(&acct, &s(&done["id"])).await, events_before);
    let (numbers_after, _) = app.all_phone_numbers(&acct).await;
    assert_eq!(numbers_after, numbers_before);
    assert_eq!(app.stock_summary().await, summary_before);
    let list_after: Value = expect_json(
        app.get(&acct, &format!("{}/numberrequests", app.nr(&acct.id)))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list_after, list_before);
    let res = app
        .admin_get(&format!("/admin/v1/accounts/{}", acct.id))
        .await;
    assert_eq!(expect_json(res, StatusCode::OK).await["name"], "Persistent");

    let res = app
        .client
        .post(format!("{}/numberrequests", app.nr(&acct.id)))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .header("Idempotency-Key", "before-restart")
        .json(&idem_body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        res.text().await.unwrap(),
        idem_text,
        "idempotency records survive a restart"
    );

    // the pending request still completes after the restart
    app.import_nl_local("+31201000100", 10).await;
    assert_eq!(
        app.get_request(&acct, &s(&pending["id"])).await["status"],
        "Completed"
    );
    let _ = json!(null);
    app.stop().await;
}

#[tokio::test]
async fn the_database_file_and_its_folder_are_created_on_first_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nested").join("deeper").join("nd.db");
    let app = spawn_app_in(dir.path(), |c| {
        c.database_url = format!("sqlite://{}", db.display())
    })
    .await;
    assert!(db.exists(), "{} was not created", db.display());
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // The write-ahead log starts with its reserve written (1 MiB in the tests; `store::wal`).
    let wal = std::fs::metadata(db.with_extension("db-wal"))
        .unwrap()
        .len();
    assert!(wal >= 1 << 20, "log of {wal} bytes");
    app.stop().await;
}

#[tokio::test]
async fn an_instance_refuses_a_schema_newer_than_it_knows() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), |_| {}).await;
    app.stop().await;
    // A later numberdesk applied migration 999 to this database.
    let cfg = test_config(dir.path());
    let db = numberdesk::store::Db::connect(&cfg).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES ($1, $2, TRUE, $3, 0)",
    )
    .bind(999i64)
    .bind("from the future")
    .bind(vec![0u8; 48])
    .execute(db.write())
    .await
    .unwrap();
    db.close().await;
    let err = match numberdesk::Application::build(test_config(dir.path())).await {
        Ok(_) => panic!("an instance started on a schema newer than it knows"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("newer than this numberdesk knows"), "{err}");
}

/// A database made by schema 1 keeps its assignments through migration 2, which rebuilds
/// `assigned_numbers` with new ids: the numbers are still listed, in the same order, a release
/// still works, and a range ends only when its last number is released.
#[tokio::test]
async fn upgrading_from_schema_1_keeps_every_assignment() {
    use numberdesk::store::{Db, Dialect, requests};
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    use std::borrow::Cow;

    let dir = tempfile::tempdir().unwrap();
    let cfg = test_config(dir.path());
    if !cfg.is_sqlite() {
        ensure_postgres_database(&cfg.database_url).await;
    }
    let db = Db::connect(&cfg).await.unwrap();
    let schema_1 = match db.dialect {
        Dialect::Sqlite => include_str!("../../migrations/sqlite/0001_initial.sql"),
        Dialect::Postgres => include_str!("../../migrations/postgres/0001_initial.sql"),
    };
    Migrator {
        migrations: Cow::Owned(vec![Migration::new(
            1,
            Cow::Borrowed("initial"),
            MigrationType::Simple,
            Cow::Borrowed(schema_1),
            false,
        )]),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    }
    .run(db.write())
    .await
    .unwrap();
    // Schema 1 data: a range of three numbers, the first one already released, assignment ids
    // being plain UUIDs.
    for sql in [
        "INSERT INTO accounts VALUES ('acc', 'a', 0)",
        "INSERT INTO company_profiles VALUES ('prof', 'acc', '{}', 'NL', 'Approved', NULL, 0, 0)",
        "INSERT INTO numbers (phone_number, num, country_code, phone_number_type, area_code, status, available_at_ms, created_ms) VALUES \
         ('+31201000000', 31201000000, 'NL', 'LOCAL', '20', 2, 99999999999999, 0), \
         ('+31201000001', 31201000001, 'NL', 'LOCAL', '20', 1, NULL, 0), \
         ('+31201000002', 31201000002, 'NL', 'LOCAL', '20', 1, NULL, 0)",
        "INSERT INTO number_requests VALUES ('req', 'acc', 'prof', 'NL', 'LOCAL', 1, 3, '20', NULL, NULL, NULL, NULL, 0, 3, 'x', 0, 0)",
        "INSERT INTO request_ranges VALUES ('rng', 'req', '+31201000000', '+31201000002', 3, 0, NULL)",
        "INSERT INTO assigned_numbers VALUES \
         ('0190a000-0000-7000-8000-000000000001', '+31201000000', 'rng', 'req', 'acc', 'prof', 0, 5), \
         ('0190a000-0000-7000-8000-000000000002', '+31201000001', 'rng', 'req', 'acc', 'prof', 0, NULL), \
         ('0190a000-0000-7000-8000-000000000003', '+31201000002', 'rng', 'req', 'acc', 'prof', 0, NULL)",
    ] {
        sqlx::query(sql).execute(db.write()).await.unwrap();
    }
    // The latest schema is what a fresh database migrates to.
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh_cfg = test_config(fresh_dir.path());
    if !fresh_cfg.is_sqlite() {
        ensure_postgres_database(&fresh_cfg.database_url).await;
    }
    let fresh = Db::connect(&fresh_cfg).await.unwrap();
    let latest = fresh.migrate().await.unwrap();
    fresh.close().await;
    assert!(latest >= 4);
    assert_eq!(
        db.migrate().await.unwrap(),
        latest,
        "migrated to the latest schema"
    );

    let (held, total) = requests::phone_numbers(&db, "acc", 0, 10).await.unwrap();
    let held: Vec<&str> = held.iter().map(|n| n.phone_number.as_str()).collect();
    assert_eq!((held, total), (vec!["+31201000002", "+31201000001"], 2));

    let range_end = || async {
        sqlx::query_scalar::<_, Option<i64>>(
            "SELECT valid_to_ms FROM request_ranges WHERE id = 'rng'",
        )
        .fetch_one(db.read())
        .await
        .unwrap()
    };
    for (number, ended) in [("+31201000001", None), ("+31201000002", Some(7))] {
        let mut tx = db.begin().await.unwrap();
        let released = requests::release(&mut tx, "acc", number, 7, 8)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(released.map(|n| n.phone_number).as_deref(), Some(number));
        assert_eq!(range_end().await, ended, "after releasing {number}");
    }
    let mut tx = db.begin().await.unwrap();
    let again = requests::release(&mut tx, "acc", "+31201000001", 9, 10)
        .await
        .unwrap();
    assert!(again.is_none(), "a released number was released twice");
    tx.rollback().await.unwrap();
    db.close().await;
}
