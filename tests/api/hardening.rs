//! Hardening: bounded metric labels, strict text and e-mail addresses, the private-address
//! classes, the operator-token throttle and the smaller items of the security review.

use futures::StreamExt;
use reqwest::{Method, StatusCode};

use crate::helpers::*;

/// Lines of the metrics page.
async fn metrics_lines(app: &TestApp) -> Vec<String> {
    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.text()
        .await
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn made_up_methods_do_not_grow_the_metrics_page() {
    let app = spawn_app().await;
    // One made-up method first, so the `other` series exists before the baseline.
    let warm = Method::from_bytes(b"XWARMUP").unwrap();
    let res = app
        .client
        .request(warm, app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    let before = metrics_lines(&app).await;
    let sent = futures::stream::iter(0..10_000)
        .map(|i| {
            let app = &app;
            async move {
                let m = Method::from_bytes(format!("X{i:06}").as_bytes()).unwrap();
                app.client
                    .request(m, app.url("/healthz"))
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    assert!(sent.iter().all(|s| *s == StatusCode::METHOD_NOT_ALLOWED));
    let after = metrics_lines(&app).await;
    assert!(
        !after.iter().any(|l| l.contains("method=\"X0")),
        "a made-up method became a label"
    );
    assert!(
        after
            .iter()
            .any(|l| l.contains("method=\"other\"") && l.contains("route=\"/healthz\"")),
        "unknown methods are counted as other"
    );
    // Other tests share the process-wide recorder and add series of their own meanwhile, so
    // the page may grow by their routes; the series of /healthz may gain at most a GET or two.
    let healthz_series = |lines: &[String]| {
        lines
            .iter()
            .filter(|l| {
                l.starts_with("numberdesk_http_requests_total{") && l.contains("route=\"/healthz\"")
            })
            .count()
    };
    assert!(
        healthz_series(&after) <= healthz_series(&before) + 2,
        "/healthz series went from {} to {}",
        healthz_series(&before),
        healthz_series(&after)
    );
    assert!(
        after.len() <= before.len() + 2_000,
        "the metrics page grew from {} to {} lines",
        before.len(),
        after.len()
    );
}

#[tokio::test]
async fn unmatched_paths_share_one_route_label() {
    let app = spawn_app().await;
    for i in 0..50 {
        let res = app
            .client
            .get(app.url(&format!("/no/such/path/{i}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
    let lines = metrics_lines(&app).await;
    assert!(!lines.iter().any(|l| l.contains("/no/such/path")));
    assert!(lines.iter().any(|l| l.contains("route=\"unmatched\"")));
}

#[tokio::test]
async fn callbacks_to_special_purpose_and_embedded_addresses_are_refused_at_create() {
    let app = spawn_app().await;
    let acct = app.create_account("Callbacks").await;
    let profile = app.approved_profile(&acct).await;
    app.import_nl_local("+31201000000", 5).await;
    for url in [
        "http://[2002:7f00:1::]/hook",
        "http://[2002:a00:1::1]:8080/",
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
        "http://[fec0::1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[::127.0.0.1]/",
        "http://192.88.99.1/",
        "http://198.18.0.1/",
        "http://240.0.0.1/",
    ] {
        let mut body = request_body(&profile, 1);
        body["callbackUrl"] = serde_json::json!(url);
        let res = app.post_request(&acct, &body).await;
        expect_error(res, StatusCode::BAD_REQUEST, "CALLBACK_URL_NOT_ALLOWED").await;
    }
    // Nothing was created by the refused calls; a public target still goes through.
    let (numbers, total) = app.all_phone_numbers(&acct).await;
    assert_eq!((numbers.len(), total), (0, 0));
    let mut body = request_body(&profile, 1);
    body["callbackUrl"] = serde_json::json!("http://[2002:808:808::1]/hook");
    let req = app.create_request(&acct, &body).await;
    assert_eq!(req["status"], "Completed");
}
