//! `x-request-id` on every answer: the caller's own id when it is usable, else a new UUID.

use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn a_usable_caller_request_id_is_echoed_on_success_and_on_errors() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let id = "client-1.2_3:abc-XYZ";
    // a success, a 401, a 404 of the fallback and an operator call
    let calls = [
        app.client
            .get(format!("{}/numberrequests", app.nr(&acct.id)))
            .header("X-CM-PRODUCTTOKEN", &acct.key),
        app.client
            .get(format!("{}/numberrequests", app.nr(&acct.id))),
        app.client.get(app.url("/no/such/path")),
        app.admin(reqwest::Method::GET, "/admin/v1/accounts"),
    ];
    let mut statuses = Vec::new();
    for call in calls {
        let res = call.header("X-Request-Id", id).send().await.unwrap();
        statuses.push(res.status());
        assert_eq!(header(&res, "x-request-id"), id, "{}", res.status());
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::UNAUTHORIZED,
            StatusCode::NOT_FOUND,
            StatusCode::OK
        ]
    );
    // 128 characters is still the caller's
    let long = "a".repeat(128);
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("X-Request-Id", &long)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&res, "x-request-id"), long);
}

#[tokio::test]
async fn without_a_usable_request_id_each_answer_gets_a_new_uuid() {
    let app = spawn_app().await;
    let mut seen = std::collections::HashSet::new();
    let too_long = "a".repeat(129);
    for given in [
        None,
        Some(""),
        Some("has space"),
        Some("semi;colon"),
        Some("slash/"),
        Some("ünïcode"),
        Some(too_long.as_str()),
    ] {
        let mut req = app.client.get(app.url("/healthz"));
        if let Some(v) = given {
            req = req.header("X-Request-Id", v);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let id = header(&res, "x-request-id");
        assert!(
            uuid::Uuid::parse_str(&id).is_ok() && id == id.to_lowercase() && id.len() == 36,
            "{given:?} gave {id:?}"
        );
        assert!(seen.insert(id), "ids must differ");
    }
}
