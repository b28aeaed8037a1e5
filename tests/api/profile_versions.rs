//! Company profile versions: `ETag`, `If-Match` and 412 on changes based on an old version, and
//! concurrent changes that never undo each other. Also: a stored row with a value the code does
//! not know fails loudly, naming the row.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn put_profile(
    app: &TestApp,
    acct: &Acct,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .put(format!("{}/companyprofiles/{id}", app.cp(&acct.id)))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .json(body);
    if let Some(tag) = if_match {
        req = req.header("If-Match", tag);
    }
    req.send().await.unwrap()
}

async fn review(
    app: &TestApp,
    id: &str,
    action: &str,
    body: &Value,
    if_match: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .admin(
            reqwest::Method::POST,
            &format!("/admin/v1/companyprofiles/{id}/{action}"),
        )
        .json(body);
    if let Some(tag) = if_match {
        req = req.header("If-Match", tag);
    }
    req.send().await.unwrap()
}

async fn get_profile(app: &TestApp, acct: &Acct, id: &str) -> (String, Value) {
    let res = app
        .get(acct, &format!("{}/companyprofiles/{id}", app.cp(&acct.id)))
        .await;
    let etag = header(&res, "etag");
    (etag, expect_json(res, StatusCode::OK).await)
}

async fn new_profile(app: &TestApp, acct: &Acct) -> String {
    let res = app.create_profile(acct, &profile_body()).await;
    s(&expect_json(res, StatusCode::CREATED).await["id"])
}

#[tokio::test]
async fn get_profile_answers_with_its_version_as_etag_and_each_change_adds_one() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let id = new_profile(&app, &acct).await;
    let (etag, body) = get_profile(&app, &acct, &id).await;
    assert_eq!(etag, "\"1\"");
    assert_eq!(body["version"], 1);

    let res = put_profile(&app, &acct, &id, &json!({"street": "Rokin"}), None).await;
    assert_eq!(header(&res, "etag"), "\"2\"");
    assert_eq!(expect_json(res, StatusCode::OK).await["version"], 2);
    // Sending a field's current value is no change: the version stays.
    let res = put_profile(&app, &acct, &id, &json!({"street": "Rokin"}), Some("\"2\"")).await;
    assert_eq!(expect_json(res, StatusCode::OK).await["version"], 2);
    let approved = expect_json(
        review(&app, &id, "approve", &json!({}), None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(approved["version"], 3);
    let rejected = expect_json(
        review(&app, &id, "reject", &json!({"reason": "no"}), Some("3")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rejected["version"], 4);
    assert_eq!(rejected["status"], "Rejected");
    assert_eq!(get_profile(&app, &acct, &id).await.0, "\"4\"");
}

#[tokio::test]
async fn an_approve_based_on_a_version_the_customer_edited_since_is_412_and_the_edit_is_kept() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let id = new_profile(&app, &acct).await;
    // The operator loads the profile (version 1) ...
    let (seen, _) = get_profile(&app, &acct, &id).await;
    // ... the customer edits it meanwhile ...
    let res = put_profile(
        &app,
        &acct,
        &id,
        &json!({"street": "Rokin", "houseNumber": "9"}),
        None,
    )
    .await;
    expect_json(res, StatusCode::OK).await;
    // ... and the approval of what the operator saw is refused.
    let res = review(
        &app,
        &id,
        "approve",
        &json!({"reason": "looks fine"}),
        Some(&seen),
    )
    .await;
    expect_error(res, StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED").await;
    let (etag, now) = get_profile(&app, &acct, &id).await;
    assert_eq!(now["status"], "PendingApproval");
    assert_eq!(now["street"], "Rokin", "the edit is kept");
    assert_eq!(now["houseNumber"], "9");
    assert_eq!(now["version"], 2);
    // With the new version the operator approves the edited data.
    let approved = expect_json(
        review(
            &app,
            &id,
            "approve",
            &json!({"reason": "looks fine"}),
            Some(&etag),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(approved["status"], "Approved");
    assert_eq!(approved["statusReason"], "looks fine");
    assert_eq!(approved["street"], "Rokin");
    assert_eq!(approved["version"], 3);
}

#[tokio::test]
async fn if_match_is_checked_before_the_body_and_takes_the_usual_spellings() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let id = new_profile(&app, &acct).await;
    // A stale version wins over an invalid body: 412, and nothing changes.
    let res = put_profile(&app, &acct, &id, &json!({"city": ""}), Some("\"7\"")).await;
    expect_error(res, StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED").await;
    let res = review(&app, &id, "reject", &json!({}), Some("\"7\"")).await;
    expect_error(res, StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED").await;
    let res = put_profile(
        &app,
        &acct,
        &id,
        &json!({"city": "Utrecht"}),
        Some("not-a-version"),
    )
    .await;
    expect_error(res, StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED").await;
    assert_eq!(get_profile(&app, &acct, &id).await.1["version"], 1);
    // With the right version the body is validated as usual.
    let res = put_profile(&app, &acct, &id, &json!({"city": ""}), Some("\"1\"")).await;
    let body = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_field(&body, "city");
    let res = review(&app, &id, "reject", &json!({}), Some("1")).await;
    let body = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_field(&body, "reason");
    // Weak tags, bare numbers and `*` match.
    for (tag, city, version) in [
        ("W/\"1\"", "Utrecht", 2),
        ("2", "Leiden", 3),
        ("*", "Delft", 4),
    ] {
        let res = put_profile(&app, &acct, &id, &json!({ "city": city }), Some(tag)).await;
        let body = expect_json(res, StatusCode::OK).await;
        assert_eq!(
            (body["city"].as_str(), body["version"].as_i64()),
            (Some(city), Some(version)),
            "{tag}"
        );
    }
    // An unknown profile is still 404, with or without a version.
    let res = put_profile(
        &app,
        &acct,
        &new_uuid(),
        &json!({"city": "X"}),
        Some("\"1\""),
    )
    .await;
    expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let res = review(&app, &new_uuid(), "approve", &json!({}), Some("\"1\"")).await;
    expect_error(res, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

#[tokio::test]
async fn approve_and_reject_change_the_status_and_reason_only() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let id = new_profile(&app, &acct).await;
    let (_, before) = get_profile(&app, &acct, &id).await;
    let rejected = expect_json(
        review(
            &app,
            &id,
            "reject",
            &json!({"reason": "missing papers"}),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    for (k, v) in before.as_object().unwrap() {
        if !["status", "statusReason", "updatedOn", "version"].contains(&k.as_str()) {
            assert_eq!(&rejected[k], v, "{k} changed by a reject");
        }
    }
    assert_eq!(rejected["statusReason"], "missing papers");
}

#[tokio::test]
async fn concurrent_puts_of_different_fields_both_take_effect() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let id = new_profile(&app, &acct).await;
    let mut version = 1;
    for round in 0..25 {
        let name = format!("Name {round}");
        let street = format!("Street {round}");
        let emails = json!([format!("r{round}@example.com")]);
        let (by_name, by_street, by_emails) = (
            json!({ "name": name }),
            json!({ "street": street }),
            json!({ "emailAddresses": emails }),
        );
        let (a, b, c) = tokio::join!(
            put_profile(&app, &acct, &id, &by_name, None),
            put_profile(&app, &acct, &id, &by_street, None),
            put_profile(&app, &acct, &id, &by_emails, None),
        );
        for res in [a, b, c] {
            expect_json(res, StatusCode::OK).await;
        }
        let (_, now) = get_profile(&app, &acct, &id).await;
        assert_eq!(now["name"], name.as_str(), "round {round}: {now}");
        assert_eq!(now["street"], street.as_str(), "round {round}: {now}");
        assert_eq!(now["emailAddresses"], emails, "round {round}: {now}");
        version += 3;
        assert_eq!(now["version"], version, "round {round}: each PUT adds one");
    }
}

/// Collects what the service logs on this thread while the guard lives.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_request_row_with_an_unknown_status_id_answers_500_and_the_log_names_the_row() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    let created = app.create_request(&acct, &request_body(&profile, 1)).await;
    let id = s(&created["id"]);
    let mut conn = {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(&app.db_url).await.unwrap()
    };
    sqlx::query("UPDATE number_requests SET status_id = 9 WHERE id = $1")
        .bind(&id)
        .execute(&mut conn)
        .await
        .unwrap();

    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let res = {
        // The test runtime runs the server's tasks on this thread, so their log lands here.
        let _guard = tracing::subscriber::set_default(subscriber);
        app.get(&acct, &format!("{}/numberrequests/{id}", app.nr(&acct.id)))
            .await
    };
    let body = expect_error(res, StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR").await;
    assert!(
        !body.to_string().contains(&id),
        "the answer does not show internals: {body}"
    );
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("number_requests")
            && text.contains(&id)
            && text.contains("unknown status id 9"),
        "the log names the table, the row and the value: {text}"
    );
    // Other requests of the account still read fine; the list fails loudly too.
    let res = app
        .get(&acct, &format!("{}/numberrequests", app.nr(&acct.id)))
        .await;
    expect_error(res, StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR").await;
}
