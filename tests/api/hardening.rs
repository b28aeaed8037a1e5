//! Hardening: bounded metric labels, strict text and e-mail addresses, the private-address
//! classes, the operator-token throttle and the smaller items of the security review.

use futures::StreamExt;
use reqwest::{Method, StatusCode};

use crate::helpers::*;

/// Lines of the metrics page.
async fn metrics_lines(app: &TestApp) -> Vec<String> {
    app.page_text("/metrics")
        .await
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

// ---------------------------------------------------------------------------------------------
// Operator token: scheme, throttle
// ---------------------------------------------------------------------------------------------

async fn admin_with(app: &TestApp, authorization: &str) -> reqwest::Response {
    app.client
        .get(app.url("/admin/v1/accounts"))
        .header("authorization", authorization)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_bearer_scheme_is_matched_in_any_case() {
    let app = spawn_app().await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let res = admin_with(&app, &format!("{scheme} {ADMIN_TOKEN}")).await;
        assert_eq!(res.status(), StatusCode::OK, "{scheme}");
    }
    for wrong in [
        format!("Basic {ADMIN_TOKEN}"),
        format!("Bearer{ADMIN_TOKEN}"),
        format!("Bearer {ADMIN_TOKEN}x"),
        format!("Bearer {}", &ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1]),
        ADMIN_TOKEN.to_string(),
        "Bearer ".to_string(),
    ] {
        let res = admin_with(&app, &wrong).await;
        expect_error(res, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    }
}

#[tokio::test]
async fn failed_operator_tokens_are_throttled_per_address_for_the_rest_of_the_minute() {
    let app = spawn_app_with(|c| c.auth_failure_limit = 3).await;
    let acct = app.create_account("Unaffected").await;
    for _ in 0..3 {
        let res = admin_with(&app, "Bearer wrong-token").await;
        expect_error(res, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    }
    // Over the limit: the right token is refused too, with how long to wait.
    for auth in [format!("Bearer {ADMIN_TOKEN}"), "Bearer wrong".to_string()] {
        let res = admin_with(&app, &auth).await;
        let wait = header_i64(&res, "retry-after");
        assert!((1..=60).contains(&wait), "Retry-After {wait}");
        expect_error(res, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED").await;
    }
    let res = app
        .client
        .post(app.url("/admin/v1/accounts"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&serde_json::json!({"name": "Blocked"}))
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED").await;
    // Nothing was created meanwhile, and customer keys are not affected.
    let res = app
        .get(&acct, &format!("{}/numberrequests", app.nr(&acct.id)))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_default_throttle_allows_thirty_failures_a_minute() {
    let app = spawn_app().await;
    for i in 0..30 {
        let res = admin_with(&app, &format!("Bearer guess-{i}")).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let res = admin_with(&app, &format!("Bearer {ADMIN_TOKEN}")).await;
    expect_error(res, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED").await;
}

#[tokio::test]
async fn a_limit_of_zero_turns_the_throttle_off() {
    let app = spawn_app_with(|c| c.auth_failure_limit = 0).await;
    for _ in 0..60 {
        let res = admin_with(&app, "Bearer wrong").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = admin_with(&app, &format!("Bearer {ADMIN_TOKEN}")).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn openapi_lists_429_for_operator_and_customer_operations() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let accounts = &doc["paths"]["/admin/v1/accounts"]["post"]["responses"]["429"];
    assert!(
        accounts["description"]
            .as_str()
            .unwrap()
            .contains("failed operator-token")
    );
    let create = &doc["paths"]["/voice/phonenumberrequestapi/v1/{accountGuid}/numberrequests"]["post"]
        ["responses"]["429"];
    assert!(create.is_object(), "{create}");
}

// ---------------------------------------------------------------------------------------------
// /metrics behind a token
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn metrics_token_protects_the_metrics_page() {
    let app = spawn_app_with(|c| c.metrics_token = Some("scrape-secret".into())).await;
    let get = |auth: Option<&'static str>| {
        let mut r = app.client.get(app.url("/metrics"));
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r.send()
    };
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("Basic scrape-secret"),
        Some("Bearer scrape-secre"),
        Some(concat!("Bearer ", "test-admin-token")),
    ] {
        let res = get(auth).await.unwrap();
        expect_error(res, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    }
    for auth in ["Bearer scrape-secret", "bearer scrape-secret"] {
        let res = get(Some(auth)).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.text().await.unwrap().contains("numberdesk_"));
    }
    // Without the setting the page stays open (the other tests rely on that too).
    let open = spawn_app().await;
    let res = open.client.get(open.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// Deliveries: credentials in callback URLs, .eml files on a full disk
// ---------------------------------------------------------------------------------------------

/// Polls the request's events until `f` accepts them.
async fn wait_events(
    app: &TestApp,
    acct: &Acct,
    id: &str,
    what: &str,
    f: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let events = app.events(acct, id).await;
        if f(&events) {
            return events;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not happen: {events:#?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_operators_delivery_list_hides_credentials_in_callback_urls() {
    let app = spawn_app_with(|c| {
        c.allow_private_callbacks = true;
        // No retries: the first failure is final, so the operator may replay it.
        c.webhook_retry_schedule = vec![];
    })
    .await;
    let acct = app.create_account("Secretive").await;
    let profile = app.approved_profile(&acct).await;
    app.import_nl_local("+31201000000", 1).await;
    // Nothing listens there: the attempt fails with a connection error.
    let port = crate::notify_support::free_port();
    let url = format!("http://hookuser:s3cr3t-pw@127.0.0.1:{port}/hook?token=tok-abc123&x=1");
    let mut body = request_body(&profile, 1);
    body["callbackUrl"] = serde_json::json!(url);
    let req = app.create_request(&acct, &body).await;
    let id = s(&req["id"]);
    let events = wait_events(&app, &acct, &id, "a failed attempt", |ev| {
        ev.first()
            .is_some_and(|e| e["callback"]["state"] == "failed")
    })
    .await;
    // The customer sees their own URL as given.
    assert_eq!(events[0]["callback"]["target"], url.as_str());
    let res = app.admin_get("/admin/v1/deliveries").await;
    let text = res.text().await.unwrap();
    for secret in ["hookuser", "s3cr3t-pw", "tok-abc123"] {
        assert!(!text.contains(secret), "{secret} shows in {text}");
    }
    let list: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let d = list.iter().find(|d| d["channel"] == "callback").unwrap();
    assert_eq!(
        d["target"],
        format!("http://***@127.0.0.1:{port}/hook?token=***&x=***")
    );
    assert!(!s(&d["lastError"]).is_empty());
    // So does the redeliver answer.
    let res = app
        .admin(
            Method::POST,
            &format!("/admin/v1/deliveries/{}/redeliver", s(&d["id"])),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let text = res.text().await.unwrap();
    assert!(
        !text.contains("s3cr3t-pw") && text.contains("***@127.0.0.1"),
        "{text}"
    );
}

/// A tmpfs of 64 KiB mounted on a folder; unmounted on drop.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(at: &std::path::Path) -> Option<SmallDisk> {
        std::fs::create_dir_all(at).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| SmallDisk(at.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_failed_eml_write_leaves_no_file_and_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    let Some(_disk) = SmallDisk::mount(&mail) else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    // Fill the disk.
    let filler = mail.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        while f.write_all(&[b'x'; 4096]).is_ok() {}
    }
    let app = spawn_app_in(dir.path(), |c| {
        c.smtp_url = None;
        c.webhook_retry_schedule = vec![1; 30];
    })
    .await;
    let acct = app.create_account("Full disk").await;
    let profile = app.approved_profile(&acct).await;
    app.import_nl_local("+31201000000", 1).await;
    let req = app.create_request(&acct, &request_body(&profile, 1)).await;
    let id = s(&req["id"]);
    let events = wait_events(&app, &acct, &id, "a failed mail attempt", |ev| {
        ev.first()
            .and_then(|e| e["emails"].get(0))
            .is_some_and(|m| m["attempts"].as_i64() >= Some(1) && m["lastError"].is_string())
    })
    .await;
    let mail_delivery = &events[0]["emails"][0];
    assert_eq!(mail_delivery["state"], "pending");
    assert!(
        s(&mail_delivery["lastError"]).contains("space"),
        "{mail_delivery}"
    );
    assert_eq!(names_in(&mail), ["filler"], "a failed write left a file");
    // Room again: the next attempt writes the whole message.
    std::fs::remove_file(&filler).unwrap();
    wait_events(&app, &acct, &id, "the mail delivered", |ev| {
        ev.first()
            .and_then(|e| e["emails"].get(0))
            .is_some_and(|m| m["state"] == "delivered")
    })
    .await;
    let names = names_in(&mail);
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].ends_with(".eml"), "{names:?}");
    let text = std::fs::read_to_string(mail.join(&names[0])).unwrap();
    assert!(text.contains(&id[..8]), "{text}");
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Start-up: the mail folder, serve --demo
// ---------------------------------------------------------------------------------------------

const BIN: &str = env!("CARGO_BIN_EXE_numberdesk");

/// The binary with no inherited `NUMBERDESK_*` settings, on `dir/nd.db`.
fn numberdesk(dir: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("NUMBERDESK_") {
            c.env_remove(k);
        }
    }
    c.current_dir(dir)
        .env(
            "NUMBERDESK_DATABASE_URL",
            format!("sqlite://{}/nd.db", dir.display()),
        )
        .env("NUMBERDESK_DATABASE_WAL_RESERVE_MIB", "1")
        .env("NUMBERDESK_MAIL_DIR", dir.join("mail"))
        .stdin(std::process::Stdio::null());
    c
}

/// Runs `serve` (with `extra` arguments) and expects it to stop by itself within 30 s; returns
/// (exit code, stderr).
fn serve_expecting_exit(c: &mut std::process::Command, extra: &[&str]) -> (Option<i32>, String) {
    let mut child = c
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "serve kept running: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_mail_dir_that_is_a_file_stops_start_up_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, "x").unwrap();
    for mail_dir in [file.clone(), file.join("mail")] {
        let (code, stderr) = serve_expecting_exit(
            numberdesk(dir.path()).env("NUMBERDESK_MAIL_DIR", &mail_dir),
            &[],
        );
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains("NUMBERDESK_MAIL_DIR"), "{stderr}");
        assert!(stderr.contains("is a file"), "{stderr}");
    }
    // With SMTP the folder is not used, so it does not matter.
    let out = numberdesk(dir.path())
        .env("NUMBERDESK_MAIL_DIR", &file)
        .env("NUMBERDESK_SMTP_URL", "smtp://127.0.0.1:2525")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn serve_demo_refuses_a_database_with_other_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let out = numberdesk(dir.path())
        .args(["account", "create", "--name", "Real customer"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, stderr) = serve_expecting_exit(&mut numberdesk(dir.path()), &["--demo"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("refusing to seed the demo"), "{stderr}");
    // Nothing was seeded: the demo account does not exist there.
    let db = rusqlite::Connection::open(dir.path().join("nd.db")).unwrap();
    let demo: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM accounts WHERE id = '00000000-0000-0000-0000-000000000001'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(demo, 0);
}

#[tokio::test]
async fn failed_sign_ins_and_operator_tokens_share_the_throttle() {
    let app = spawn_app_with(|c| c.auth_failure_limit = 3).await;
    let acct = app.create_account("Signer").await;
    let no_redirects = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let sign_in = |form: Vec<(&'static str, String)>| {
        no_redirects
            .post(app.url("/console/sign-in"))
            .form(&form)
            .send()
    };
    // Two wrong sign-ins (customer and operator) and one wrong operator token: three failures.
    let res = sign_in(vec![
        ("kind", "customer".into()),
        ("account", acct.id.clone()),
        ("key", "wrong".into()),
    ])
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = sign_in(vec![("kind", "operator".into()), ("token", "wrong".into())])
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = admin_with(&app, "Bearer wrong").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Now the right credentials are refused too, in both places.
    for form in [
        vec![
            ("kind", "operator".to_string()),
            ("token", ADMIN_TOKEN.to_string()),
        ],
        vec![
            ("kind", "customer".to_string()),
            ("account", acct.id.clone()),
            ("key", acct.key.clone()),
        ],
    ] {
        let form: Vec<(&'static str, String)> =
            form.into_iter().map(|(k, v)| (k, v.to_string())).collect();
        let res = sign_in(form).await.unwrap();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!((1..=60).contains(&header_i64(&res, "retry-after")));
        assert!(res.headers().get("set-cookie").is_none());
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("Too many failed sign-ins")
        );
    }
    let res = admin_with(&app, &format!("Bearer {ADMIN_TOKEN}")).await;
    expect_error(res, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED").await;
}

// ---------------------------------------------------------------------------------------------
// Strict text: control and bidirectional characters, e-mail addresses
// ---------------------------------------------------------------------------------------------

/// One character of each forbidden kind.
const FORBIDDEN: [&str; 9] = [
    "\u{0}", "\t", "\n", "\r", "\u{1b}", "\u{7f}", "\u{85}", "\u{202e}", "\u{2066}",
];

async fn expect_field(res: reqwest::Response, field: &str) {
    let body = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_eq!(error_fields(&body), [field], "{body}");
}

#[tokio::test]
async fn control_and_bidi_characters_are_refused_in_json_bodies_naming_the_field() {
    let app = spawn_app().await;
    let acct = app.create_account("Texty").await;
    let profile = app.approved_profile(&acct).await;
    app.import_nl_local("+31201000000", 5).await;
    for c in FORBIDDEN {
        for (field, value) in [
            ("city", format!("Amster{c}dam")),
            ("comment", format!("line one{c}Reason: forged")),
            ("areaCode", format!("2{c}0")),
            ("callbackUrl", format!("https://exa{c}mple.com/hook")),
            ("somethingUnknown", format!("x{c}")),
        ] {
            let mut body = request_body(&profile, 1);
            body[field] = serde_json::json!(value);
            let res = app.post_request(&acct, &body).await;
            expect_field(res, field).await;
        }
        let mut p = profile_body();
        p["emailAddresses"] = serde_json::json!(["ok@example.com", format!("x{c}@example.com")]);
        expect_field(app.create_profile(&acct, &p).await, "emailAddresses[1]").await;
        let mut p = profile_body();
        p["requiredFields"] = serde_json::json!({"vat": format!("NL{c}123")});
        expect_field(app.create_profile(&acct, &p).await, "requiredFields.vat").await;
    }
    // Nothing was created, and a type error still comes first.
    let (_, total) = app.all_phone_numbers(&acct).await;
    assert_eq!(total, 0);
    let mut body = request_body(&profile, 1);
    body["city"] = serde_json::json!("A\nB");
    body["quantity"] = serde_json::json!("one");
    expect_error(
        app.post_request(&acct, &body).await,
        StatusCode::BAD_REQUEST,
        "MALFORMED_JSON",
    )
    .await;
    // Text without those characters passes: accents, emoji, a no-break space.
    let mut body = request_body(&profile, 1);
    body["comment"] = serde_json::json!("für die Zentrale – ☎\u{a0}ok");
    let req = app.create_request(&acct, &body).await;
    assert_eq!(req["comment"], "für die Zentrale – ☎\u{a0}ok");
}

#[tokio::test]
async fn control_characters_are_refused_in_operator_reasons_and_array_bodies() {
    let app = spawn_app().await;
    let acct = app.create_account("Reasons").await;
    let profile = app.approved_profile(&acct).await;
    let req = app.create_request(&acct, &request_body(&profile, 1)).await;
    assert_eq!(req["status"], "Pending");
    let id = s(&req["id"]);
    let res = app
        .admin_post(
            &format!("/admin/v1/numberrequests/{id}/reject"),
            &serde_json::json!({"reason": "No stock.\r\n\r\nPlease log in at http://evil.example"}),
        )
        .await;
    expect_field(res, "reason").await;
    assert_eq!(app.get_request(&acct, &id).await["status"], "Pending");
    let res = app
        .admin_put(
            "/admin/v1/requirements/NL/LOCAL",
            &serde_json::json!([{"type": 1, "code": "ID", "description": "Passport\u{202e}"}]),
        )
        .await;
    expect_field(res, "[0].description").await;
}

#[tokio::test]
async fn control_characters_are_refused_in_query_strings() {
    let app = spawn_app().await;
    let acct = app.create_account("Query").await;
    for (query, field) in [
        ("status=Pend%0Aing", "status"),
        ("status=Pending&unused=%00", "unused"),
        ("take=1%E2%80%AE", "take"),
        ("%0D=1", "query"),
    ] {
        let res = app
            .get(
                &acct,
                &format!("{}/numberrequests?{query}", app.nr(&acct.id)),
            )
            .await;
        expect_field(res, field).await;
    }
    let res = app
        .admin_get("/admin/v1/deliveries?state=failed%1B[31m")
        .await;
    expect_field(res, "state").await;
}

#[tokio::test]
async fn control_characters_are_refused_in_stock_imports() {
    let app = spawn_app().await;
    let csv = "phoneNumber,countryCode,phoneNumberType,areaCode,city,note\n\
               +31201000001,NL,LOCAL,20,Amsterdam,fine\n\
               +31201000002,NL,LOCAL,20,\"Amster\ndam\",fine\n\
               +31201000003,NL,LOCAL,20,Amster\u{85}dam,fine\n\
               +31201000004,NL,LOCAL,20,Amsterdam,\u{202d}x\n";
    let res = app
        .admin(Method::POST, "/admin/v1/inventory")
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let body = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_eq!(
        error_fields(&body),
        ["numbers[1].city", "numbers[2].city", "numbers[3].note"],
        "{body}"
    );
    let res = app
        .admin_post(
            "/admin/v1/inventory",
            &serde_json::json!({"numbers": [
                {"phoneNumber": "+31201000001", "countryCode": "NL", "phoneNumberType": "LOCAL", "areaCode": "20", "city": "Amsterdam"},
                {"phoneNumber": "+31201000002", "countryCode": "NL", "phoneNumberType": "LOCAL", "areaCode": "20", "region": "Noord\u{2067}Holland"}
            ]}),
        )
        .await;
    expect_field(res, "numbers[1].region").await;
    assert!(app.stock_summary().await.is_empty(), "nothing was written");
}

#[tokio::test]
async fn e_mail_addresses_the_mailer_would_refuse_are_refused() {
    let app = spawn_app().await;
    let acct = app.create_account("Mailer").await;
    let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(186));
    for bad in [
        "\"a b\"@c.com",
        "\"a\"@c.com",
        "Name <a@b.com>",
        "<a@b.com>",
        "a@[127.0.0.1]",
        "a@[IPv6:2001:db8::1]",
        "a@127.0.0.1",
        "a b@c.com",
        "a..b@c.com",
        ".a@c.com",
        "jörg@example.com",
        "a@localhost",
        "a@b_c.com",
        "a@-b.com",
        "a@b.com,c@d.com",
        "plain",
        long.as_str(),
    ] {
        let mut p = profile_body();
        p["emailAddresses"] = serde_json::json!([bad]);
        let res = app.create_profile(&acct, &p).await;
        expect_field(res, "emailAddresses[0]").await;
    }
    // PUT is checked the same way.
    let profile = app.approved_profile(&acct).await;
    let res = app
        .client
        .put(format!("{}/companyprofiles/{profile}", app.cp(&acct.id)))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .json(&serde_json::json!({"emailAddresses": ["ok@example.com", "Name <x@example.com>"]}))
        .send()
        .await
        .unwrap();
    expect_field(res, "emailAddresses[1]").await;
}

#[tokio::test]
async fn internationalised_domains_are_kept_and_mailed_in_ascii_form() {
    let sink = crate::notify_support::SmtpSink::start().await;
    let app = spawn_app_with(|c| c.smtp_url = Some(sink.url())).await;
    let acct = app.create_account("IDN").await;
    let mut p = profile_body();
    p["emailAddresses"] = serde_json::json!(["info@bücher.de"]);
    let res = app.create_profile(&acct, &p).await;
    let created = expect_json(res, StatusCode::CREATED).await;
    assert_eq!(
        created["emailAddresses"],
        serde_json::json!(["info@bücher.de"])
    );
    let profile = s(&created["id"]);
    app.approve_profile(&profile).await;
    app.import_nl_local("+31201000000", 1).await;
    let req = app.create_request(&acct, &request_body(&profile, 1)).await;
    assert_eq!(req["status"], "Completed");
    let messages = sink.wait_messages(1, 20).await;
    let rcpt = messages[0]["rcptTos"].to_string();
    assert!(rcpt.contains("info@xn--bcher-kva.de"), "{rcpt}");
}
