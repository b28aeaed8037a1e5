//! The web console over plain HTTP (both databases): sign-in, sessions, CSRF, headers, escaping.
//! The browser tests (tests/console) drive the same pages through Chromium.

use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::json;

use crate::helpers::{ADMIN_TOKEN, TestApp, profile_body, spawn_app, spawn_app_with};

/// A client that shows redirects instead of following them.
fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A signed-in console session: its cookie and its CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

async fn sign_in(app: &TestApp, form: &[(&str, &str)]) -> Session {
    let c = raw_client();
    let res = c
        .post(app.url("/console/sign-in"))
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "sign-in redirects");
    let set = res.headers()[SET_COOKIE].to_str().unwrap().to_string();
    let cookie = set.split(';').next().unwrap().to_string();
    let page = c
        .get(app.url("/console/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let to = page.headers()[LOCATION].to_str().unwrap().to_string();
    let html = c
        .get(app.url(&to))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a page carries the CSRF token")
        .to_string();
    Session { cookie, csrf }
}

async fn customer(app: &TestApp, account: &str, key: &str) -> Session {
    sign_in(
        app,
        &[("kind", "customer"), ("account", account), ("key", key)],
    )
    .await
}

async fn get(app: &TestApp, s: &Session, path: &str) -> reqwest::Response {
    raw_client()
        .get(app.url(path))
        .header("cookie", &s.cookie)
        .send()
        .await
        .unwrap()
}

async fn post(app: &TestApp, s: &Session, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    raw_client()
        .post(app.url(path))
        .header("cookie", &s.cookie)
        .form(form)
        .send()
        .await
        .unwrap()
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn console_pages_without_a_session_redirect_to_sign_in() {
    let app = spawn_app().await;
    let c = raw_client();
    let root = c.get(app.url("/")).send().await.unwrap();
    assert_eq!(root.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&root), "/console/");
    for path in [
        "/console/",
        "/console/overview",
        "/console/order",
        "/console/numbers",
        "/console/review",
        "/console/stock",
    ] {
        let res = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&res), "/console/sign-in", "{path}");
    }
    // A made-up cookie is no session either.
    let res = c
        .get(app.url("/console/overview"))
        .header("cookie", "numberdesk_session=made-up")
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/console/sign-in");
}

#[tokio::test]
async fn console_answers_carry_the_security_headers() {
    let app = spawn_app().await;
    let res = raw_client()
        .get(app.url("/console/sign-in"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    let body = res.text().await.unwrap();
    assert!(body.contains("Operator token"), "operator sign-in offered");
    assert!(!body.contains("<script>"), "no inline script");
}

#[tokio::test]
async fn operator_sign_in_is_absent_without_an_admin_token() {
    let app = spawn_app_with(|c| c.admin_token = None).await;
    let body = raw_client()
        .get(app.url("/console/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("API key"));
    assert!(!body.contains("Operator token"));
}

#[tokio::test]
async fn wrong_credentials_show_the_sign_in_page_again_with_a_message() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme").await;
    let c = raw_client();
    for form in [
        vec![
            ("kind", "customer"),
            ("account", acct.id.as_str()),
            ("key", "wrong"),
        ],
        vec![
            ("kind", "customer"),
            ("account", "00000000-0000-0000-0000-000000000009"),
            ("key", acct.key.as_str()),
        ],
        vec![("kind", "operator"), ("token", "not-the-token")],
    ] {
        let res = c
            .post(app.url("/console/sign-in"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{form:?}");
        assert!(res.headers().get(SET_COOKIE).is_none());
        let body = res.text().await.unwrap();
        assert!(
            body.contains("not right") || body.contains("do not match"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn session_cookie_is_http_only_strict_and_secure_behind_https() {
    let app = spawn_app_with(|c| c.public_url = Some("https://numbers.example.com".into())).await;
    let res = raw_client()
        .post(app.url("/console/sign-in"))
        .form(&[("kind", "operator"), ("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    let set = res.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    assert!(set.contains("Secure"), "{set}");

    let plain = spawn_app().await;
    let res = raw_client()
        .post(plain.url("/console/sign-in"))
        .form(&[("kind", "operator"), ("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    let set = res.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(!set.contains("Secure"), "{set}");
}

#[tokio::test]
async fn a_post_without_the_csrf_token_answers_403_and_changes_nothing() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme").await;
    let profile = app.approved_profile(&acct).await;
    app.import_nl_local("+31201000000", 10).await;
    let done = app
        .create_request(
            &acct,
            &json!({"companyProfileId": profile, "phoneNumberType": "LOCAL", "areaCode": "20", "quantity": 1}),
        )
        .await;
    let number = done["ranges"][0]["start"].as_str().unwrap().to_string();
    let s = customer(&app, &acct.id, &acct.key).await;

    for csrf in [None, Some("wrong-token")] {
        let mut form = vec![("number", number.as_str())];
        if let Some(t) = csrf {
            form.push(("csrf", t));
        }
        let res = post(&app, &s, "/console/numbers/release", &form).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let mut order = vec![
            ("action", "order"),
            ("profile", profile.as_str()),
            ("type", "LOCAL"),
            ("locale", "[\"20\",\"Amsterdam\",null]"),
            ("quantity", "1"),
        ];
        if let Some(t) = csrf {
            order.push(("csrf", t));
        }
        let res = post(&app, &s, "/console/order", &order).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    let (numbers, total) = app.all_phone_numbers(&acct).await;
    assert_eq!(total, 1, "still held: {numbers:?}");
    let list = app
        .get(&acct, &format!("{}/numberrequests", app.nr(&acct.id)))
        .await;
    assert_eq!(
        list.headers()["x-cm-pagination-total"],
        "1",
        "no new request"
    );

    // With the token the same release goes through.
    let res = post(
        &app,
        &s,
        "/console/numbers/release",
        &[("number", number.as_str()), ("csrf", s.csrf.as_str())],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.all_phone_numbers(&acct).await.1, 0);
}

#[tokio::test]
async fn the_order_form_creates_a_request_as_the_api_does_and_shows_errors_at_their_field() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme").await;
    let profile = app.approved_profile(&acct).await;
    app.import_nl_local("+31201000000", 10).await;
    let s = customer(&app, &acct.id, &acct.key).await;

    // LOCAL without an area: the API's message, at the area field.
    let res = post(
        &app,
        &s,
        "/console/order",
        &[
            ("csrf", s.csrf.as_str()),
            ("action", "order"),
            ("profile", profile.as_str()),
            ("type", "LOCAL"),
            ("quantity", "1"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"locale-error\""), "{body}");

    // Checking availability changes nothing and shows the free count.
    let res = post(
        &app,
        &s,
        "/console/order",
        &[
            ("csrf", s.csrf.as_str()),
            ("action", "check"),
            ("profile", profile.as_str()),
            ("type", "LOCAL"),
            ("locale", "[\"20\",\"Amsterdam\",null]"),
            ("quantity", "2"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    assert!(body.contains("<strong>10</strong> numbers free"), "{body}");
    assert!(body.contains("completed at once"), "{body}");

    let res = post(
        &app,
        &s,
        "/console/order",
        &[
            ("csrf", s.csrf.as_str()),
            ("action", "order"),
            ("profile", profile.as_str()),
            ("type", "LOCAL"),
            ("locale", "[\"20\",\"Amsterdam\",null]"),
            ("quantity", "2"),
            ("comment", "from the console"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    let id = to.strip_prefix("/console/requests/").unwrap().to_string();
    let r = app.get_request(&acct, &id).await;
    assert_eq!(r["status"], "Completed");
    assert_eq!(r["quantity"], 2);
    assert_eq!(r["comment"], "from the console");
    let page = get(&app, &s, &to).await.text().await.unwrap();
    assert!(
        page.contains("Request created: Completed"),
        "the flash says what happened"
    );
    assert!(page.contains("+31201000000"), "{page}");
}

#[tokio::test]
async fn a_revoked_keys_session_ends() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme").await;
    let s = customer(&app, &acct.id, &acct.key).await;
    assert_eq!(
        get(&app, &s, "/console/overview").await.status(),
        StatusCode::OK
    );
    let res = app
        .admin(
            reqwest::Method::DELETE,
            &format!("/admin/v1/accounts/{}/apikeys/{}", acct.id, acct.key_id),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = get(&app, &s, "/console/overview").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/console/sign-in?ended=revoked");
    // Ended for good: the next page is a plain sign-in redirect.
    assert_eq!(
        location(&get(&app, &s, "/console/overview").await),
        "/console/sign-in"
    );
}

#[tokio::test]
async fn sign_out_and_the_idle_timeout_end_a_session() {
    let app = spawn_app_with(|c| c.session_idle_secs = 1).await;
    let acct = app.create_account("Acme").await;
    let s = customer(&app, &acct.id, &acct.key).await;
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    let res = get(&app, &s, "/console/overview").await;
    assert_eq!(location(&res), "/console/sign-in?ended=idle");

    let app = spawn_app().await;
    let acct = app.create_account("Acme").await;
    let s = customer(&app, &acct.id, &acct.key).await;
    // Sign-out is a changing form too.
    assert_eq!(
        post(&app, &s, "/console/sign-out", &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&app, &s, "/console/overview").await.status(),
        StatusCode::OK
    );
    let res = post(&app, &s, "/console/sign-out", &[("csrf", s.csrf.as_str())]).await;
    assert_eq!(location(&res), "/console/sign-in?ended=out");
    assert_eq!(
        location(&get(&app, &s, "/console/overview").await),
        "/console/sign-in"
    );
}

/// A `multipart/form-data` body with these fields in this order (a field named `file` is sent as
/// a CSV file), and its content type.
fn multipart(fields: &[(&str, &str)]) -> (String, String) {
    let boundary = "numberdesk-test-boundary-7f3a";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!("--{boundary}\r\n"));
        if *name == "file" {
            body.push_str("Content-Disposition: form-data; name=\"file\"; filename=\"stock.csv\"\r\nContent-Type: text/csv\r\n\r\n");
        } else {
            body.push_str(&format!(
                "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"
            ));
        }
        body.push_str(value);
        body.push_str("\r\n");
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(app: &TestApp, s: &Session, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let (ct, body) = multipart(fields);
    let res = raw_client()
        .post(app.url("/console/stock/import"))
        .header("cookie", &s.cookie)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

#[tokio::test]
async fn the_stock_page_imports_an_uploaded_csv_whatever_the_order_of_the_form_fields() {
    let app = spawn_app().await;
    let op = sign_in(&app, &[("kind", "operator"), ("token", ADMIN_TOKEN)]).await;
    let mut csv = String::from(
        "phoneNumber,start,count,countryCode,phoneNumberType,areaCode,city,region\n\
         ,+31301000000,25,NL,LOCAL,30,Utrecht,\n",
    );
    for i in 0..20_000u64 {
        csv.push_str(&format!(
            "+{},,,NL,LOCAL,20,Amsterdam,\n",
            31_201_000_000 + 2 * i
        ));
    }
    // Without the form's token nothing is imported, even with the file first.
    let (status, _) = upload(&app, &op, &[("file", &csv), ("csrf", "made-up")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(app.stock_summary().await.is_empty());

    let (status, page) = upload(&app, &op, &[("csrf", &op.csrf), ("file", &csv)]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("<strong>20025</strong> added, <strong>0</strong> duplicates"),
        "{page}"
    );
    // The file before the token: the same import, now all duplicates.
    let (status, page) = upload(&app, &op, &[("file", &csv), ("csrf", &op.csrf)]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("<strong>0</strong> added, <strong>20025</strong> duplicates"),
        "{page}"
    );

    // A bad last row: nothing of the file is imported, and the page names the row's field.
    let mut bad = csv.replace("+3120", "+3140");
    bad.push_str("+12125559999,,,NL,LOCAL,20,Amsterdam,\n");
    let (status, page) = upload(&app, &op, &[("csrf", &op.csrf), ("file", &bad)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("Nothing was imported"), "{page}");
    assert!(page.contains("numbers[20001].phoneNumber"), "{page}");
    assert_eq!(app.stock_counts("NL", "LOCAL", "20").await.total, 20_000);
    // No file chosen.
    let (status, page) = upload(&app, &op, &[("csrf", &op.csrf), ("file", "")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("choose a CSV file"), "{page}");
}

#[tokio::test]
async fn a_customer_session_cannot_open_operator_pages_nor_other_accounts_requests() {
    let app = spawn_app().await;
    let a = app.create_account("A").await;
    let b = app.create_account("B").await;
    let profile = app.approved_profile(&b).await;
    let r = app
        .create_request(&b, &json!({"companyProfileId": profile, "phoneNumberType": "LOCAL", "areaCode": "20", "quantity": 1}))
        .await;
    let s = customer(&app, &a.id, &a.key).await;
    for path in [
        "/console/review",
        "/console/stock",
        "/console/accounts",
        "/console/deliveries",
    ] {
        assert_eq!(
            get(&app, &s, path).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let other = format!("/console/requests/{}", r["id"].as_str().unwrap());
    assert_eq!(get(&app, &s, &other).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn text_from_users_is_escaped_on_console_pages() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme").await;
    let mut body = profile_body();
    body["name"] = json!("<script>alert(1)</script>");
    let res = app.create_profile(&acct, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let s = customer(&app, &acct.id, &acct.key).await;
    let op = sign_in(&app, &[("kind", "operator"), ("token", ADMIN_TOKEN)]).await;
    for (session, path) in [
        (&s, "/console/profiles".to_string()),
        (&s, format!("/console/profiles/{id}")),
        (&op, "/console/review".to_string()),
    ] {
        let page = get(&app, session, &path).await.text().await.unwrap();
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}"
        );
        assert!(!page.contains("<script>alert(1)"), "{path}");
    }
}

#[tokio::test]
async fn the_operator_approves_the_version_shown_and_a_changed_profile_is_refused() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme").await;
    let res = app.create_profile(&acct, &profile_body()).await;
    let created: serde_json::Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    let op = sign_in(&app, &[("kind", "operator"), ("token", ADMIN_TOKEN)]).await;
    let page = get(&app, &op, "/console/review")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("data-profile=\"{id}\"")),
        "listed for review"
    );
    let shown = created["version"].as_i64().unwrap().to_string();

    // The customer changes the profile while the page is open.
    let res = app
        .client
        .put(format!("{}/companyprofiles/{id}", app.cp(&acct.id)))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .json(&json!({"city": "Rotterdam"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let approve = format!("/console/review/profiles/{id}/approve");
    let res = post(
        &app,
        &op,
        &approve,
        &[("csrf", op.csrf.as_str()), ("version", shown.as_str())],
    )
    .await;
    assert_eq!(location(&res), "/console/review");
    let page = get(&app, &op, "/console/review")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("changed since this page was loaded"),
        "{page}"
    );
    let now = app
        .get(&acct, &format!("{}/companyprofiles/{id}", app.cp(&acct.id)))
        .await;
    let now: serde_json::Value = now.json().await.unwrap();
    assert_eq!(now["status"], "PendingApproval", "nothing approved");

    // Reloaded, the page carries the new version and the approval goes through.
    let version = now["version"].as_i64().unwrap().to_string();
    post(
        &app,
        &op,
        &approve,
        &[("csrf", op.csrf.as_str()), ("version", version.as_str())],
    )
    .await;
    let now = app
        .get(&acct, &format!("{}/companyprofiles/{id}", app.cp(&acct.id)))
        .await;
    let now: serde_json::Value = now.json().await.unwrap();
    assert_eq!(now["status"], "Approved");
}

#[tokio::test]
async fn the_rules_page_sets_restrictions_and_requirements_with_the_apis_checks() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme").await;
    let op = sign_in(&app, &[("kind", "operator"), ("token", ADMIN_TOKEN)]).await;
    let restrictions = |app: &TestApp| {
        let url = format!(
            "{}/restrictions?countryCode=NL&phoneNumberType=LOCAL",
            app.nr(&acct.id)
        );
        let key = acct.key.clone();
        let client = app.client.clone();
        async move {
            client
                .get(url)
                .header("X-CM-PRODUCTTOKEN", key)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let form = |min: &'static str, max: &'static str| {
        vec![
            ("csrf", op.csrf.clone()),
            ("country", "NL".to_string()),
            ("type", "LOCAL".to_string()),
            ("minQuantity", min.to_string()),
            ("maxQuantity", max.to_string()),
            ("allowedRangeSizes", "10, 100".to_string()),
            ("rangesSupported", "true".to_string()),
        ]
    };
    let as_refs = |f: &Vec<(&'static str, String)>| -> Vec<(&'static str, String)> { f.clone() };
    let good = form("2", "50");
    let res = raw_client()
        .post(app.url("/console/rules/restrictions"))
        .header("cookie", &op.cookie)
        .form(&as_refs(&good))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/console/rules?country=NL&type=LOCAL");
    let r = restrictions(&app).await;
    assert_eq!(r["minQuantity"], 2);
    assert_eq!(r["maxQuantity"], 50);
    assert_eq!(r["allowedRangeSizes"], json!([10, 100]));
    assert_eq!(r["requiresReview"], false);

    // Above the contract's maximum: refused with the API's message, nothing changed.
    let bad = form("1", "5000");
    raw_client()
        .post(app.url("/console/rules/restrictions"))
        .header("cookie", &op.cookie)
        .form(&bad)
        .send()
        .await
        .unwrap();
    let page = get(&app, &op, "/console/rules?country=NL&type=LOCAL")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Nothing was saved"), "{page}");
    assert!(page.contains("maxQuantity: must be 1 to 1000"), "{page}");
    assert_eq!(restrictions(&app).await["maxQuantity"], 50);

    let res = post(
        &app,
        &op,
        "/console/rules/requirements",
        &[
            ("csrf", op.csrf.as_str()),
            ("country", "NL"),
            ("type", "LOCAL"),
            (
                "lines",
                "2 | ADDRESS_IN_PREFIX_REGION | The address must be in the area\n",
            ),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let list = app
        .get(
            &acct,
            &format!(
                "{}/requirements?countryCode=NL&phoneNumberType=LOCAL",
                app.nr(&acct.id)
            ),
        )
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(list[0]["code"], "ADDRESS_IN_PREFIX_REGION");
    assert_eq!(list[0]["type"], 2);
}

#[tokio::test]
async fn failed_sign_ins_count_toward_the_per_address_throttle() {
    let app = spawn_app_with(|c| c.auth_failure_limit = 3).await;
    let acct = app.create_account("Acme").await;
    let c = raw_client();
    for _ in 0..3 {
        let res = c
            .post(app.url("/console/sign-in"))
            .form(&[
                ("kind", "customer"),
                ("account", acct.id.as_str()),
                ("key", "wrong"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // Past the limit even the right key is refused for the rest of the minute.
    let res = c
        .post(app.url("/console/sign-in"))
        .form(&[
            ("kind", "customer"),
            ("account", acct.id.as_str()),
            ("key", acct.key.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get("retry-after").is_some());
    assert!(res.headers().get(SET_COOKIE).is_none());
    // The same count guards the operator API.
    let res = app.admin_get("/admin/v1/accounts").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_api_log_page_lists_the_accounts_own_calls_and_the_operator_sees_all() {
    let app = spawn_app().await;
    let a = app.create_account("A").await;
    let b = app.create_account("B").await;
    let res = app
        .client
        .get(format!("{}/numberrequests?status=Nope", app.nr(&a.id)))
        .header("X-CM-PRODUCTTOKEN", &a.key)
        .header("User-Agent", "console-test/1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    app.get(&b, &format!("{}/phonenumbers", app.nr(&b.id)))
        .await;
    let s = customer(&app, &a.id, &a.key).await;
    let mut page = String::new();
    for _ in 0..40 {
        page = get(&app, &s, "/console/apilog").await.text().await.unwrap();
        if page.contains("console-test/1.0") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(page.contains("console-test/1.0"), "{page}");
    assert!(page.contains("VALIDATION_FAILED"), "{page}");
    assert!(
        !page.contains("/phonenumbers"),
        "another account's call is not shown"
    );
    let filtered = get(&app, &s, "/console/apilog?status=200")
        .await
        .text()
        .await
        .unwrap();
    assert!(!filtered.contains("console-test/1.0"), "status filter");

    let op = sign_in(&app, &[("kind", "operator"), ("token", ADMIN_TOKEN)]).await;
    let mut all = String::new();
    for _ in 0..40 {
        all = get(&app, &op, "/console/apilog")
            .await
            .text()
            .await
            .unwrap();
        if all.contains("/phonenumbers") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        all.contains("/phonenumbers") && all.contains("console-test/1.0"),
        "{all}"
    );
}

#[tokio::test]
async fn the_order_form_refuses_control_characters_as_the_api_does() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme").await;
    let profile = app.approved_profile(&acct).await;
    app.import_nl_local("+31201000000", 10).await;
    let s = customer(&app, &acct.id, &acct.key).await;
    let res = post(
        &app,
        &s,
        "/console/order",
        &[
            ("csrf", s.csrf.as_str()),
            ("action", "order"),
            ("profile", profile.as_str()),
            ("type", "LOCAL"),
            ("locale", "[\"20\",\"Amsterdam\",null]"),
            ("quantity", "1"),
            ("comment", "bell\u{7}"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"comment-error\""), "{body}");
    assert_eq!(app.all_phone_numbers(&acct).await.1, 0, "nothing ordered");
}

#[tokio::test]
async fn a_profile_page_lists_unconfirmed_addresses_and_sends_the_confirmation_again() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme").await;
    let mut body = profile_body();
    body["emailAddresses"] = json!(["new@example.com"]);
    let created: serde_json::Value = app.create_profile(&acct, &body).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    let s = customer(&app, &acct.id, &acct.key).await;
    let page = get(&app, &s, &format!("/console/profiles/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"unconfirmed\""), "{page}");
    assert!(page.contains("new@example.com"), "{page}");
    let action = format!("/console/profiles/{id}/emailconfirmations");
    assert!(page.contains(&action), "{page}");

    // Without the CSRF token: 403, nothing queued.
    let res = post(&app, &s, &action, &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = post(&app, &s, &action, &[("csrf", s.csrf.as_str())]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = get(&app, &s, &location(&res)).await.text().await.unwrap();
    assert!(
        page.contains("Confirmation message sent to new@example.com"),
        "{page}"
    );
    // Again within 10 minutes: nothing sent, and the page says when.
    let res = post(&app, &s, &action, &[("csrf", s.csrf.as_str())]).await;
    let page = get(&app, &s, &location(&res)).await.text().await.unwrap();
    assert!(page.contains("less than 10 minutes ago"), "{page}");
    // The first message and one resend, as .eml files (no SMTP configured).
    let mail = app.dir_path.join("mail");
    let count = || {
        std::fs::read_dir(&mail)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .count()
            })
            .unwrap_or(0)
    };
    for _ in 0..100 {
        if count() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(count(), 2, "the first message and one resend");

    // Once confirmed, the page no longer offers it.
    app.seed_confirmed(&acct, &["new@example.com"]).await;
    let page = get(&app, &s, &format!("/console/profiles/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("id=\"unconfirmed\""), "{page}");
}

#[tokio::test]
async fn the_operator_sets_and_deletes_prices_and_the_customer_sees_them_on_its_pages() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme").await;
    let other = app.create_account("Other").await;
    let profile = app.approved_profile(&acct).await;
    app.import_nl_local("+31201000000", 10).await;
    let op = sign_in(&app, &[("kind", "operator"), ("token", ADMIN_TOKEN)]).await;

    // A bad amount and a bad currency: 400, the API's messages at their fields, nothing saved.
    let res = post(
        &app,
        &op,
        "/console/prices/set",
        &[
            ("csrf", op.csrf.as_str()),
            ("accountId", ""),
            ("countryCode", "NL"),
            ("phoneNumberType", "LOCAL"),
            ("currency", "eur"),
            ("setupPrice", "1.50"),
            ("monthlyPrice", "2.123456"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"currency-error\""), "{page}");
    assert!(page.contains("id=\"monthlyPrice-error\""), "{page}");
    assert!(!page.contains("id=\"setupPrice-error\""), "{page}");
    assert!(
        page.contains("value=\"2.123456\""),
        "the form keeps what was typed"
    );
    let list = app.admin_get("/admin/v1/prices").await;
    let list: serde_json::Value = list.json().await.unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");

    // An unknown account: at the account field.
    let res = post(
        &app,
        &op,
        "/console/prices/set",
        &[
            ("csrf", op.csrf.as_str()),
            ("accountId", &crate::helpers::new_uuid()),
            ("countryCode", "NL"),
            ("phoneNumberType", "LOCAL"),
            ("currency", "EUR"),
            ("setupPrice", "1"),
            ("monthlyPrice", "2"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("id=\"accountId-error\""));

    // The general price, then the account's own, which wins for it.
    for (account, setup, monthly) in [("", "1.5", "2"), (acct.id.as_str(), "0.75", "1.0125")] {
        let res = post(
            &app,
            &op,
            "/console/prices/set",
            &[
                ("csrf", op.csrf.as_str()),
                ("accountId", account),
                ("countryCode", "nl"),
                ("phoneNumberType", "LOCAL"),
                ("currency", "EUR"),
                ("setupPrice", setup),
                ("monthlyPrice", monthly),
            ],
        )
        .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let page = get(&app, &op, &location(&res)).await.text().await.unwrap();
        assert!(page.contains("Price of NL LOCAL"), "{page}");
        assert!(page.contains("saved"), "{page}");
    }
    let all = get(&app, &op, "/console/prices")
        .await
        .text()
        .await
        .unwrap();
    assert!(all.contains("General") && all.contains(&acct.id), "{all}");

    let mine = customer(&app, &acct.id, &acct.key).await;
    let page = get(&app, &mine, "/console/prices")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("0.75") && page.contains("1.0125"), "{page}");
    assert!(
        !page.contains("1.50"),
        "the general price does not show: {page}"
    );
    let theirs = customer(&app, &other.id, &other.key).await;
    let page = get(&app, &theirs, "/console/prices")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("1.50") && page.contains("2.00"), "{page}");

    // The order form shows the price, and the total for the quantity when checked.
    let res = post(
        &app,
        &mine,
        "/console/order",
        &[
            ("csrf", mine.csrf.as_str()),
            ("action", "check"),
            ("profile", profile.as_str()),
            ("type", "LOCAL"),
            ("locale", "[\"20\",\"Amsterdam\",null]"),
            ("quantity", "4"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    let shown = page.split("id=\"availability-price\"").nth(1).unwrap_or("");
    assert!(shown.contains("For 4 numbers"), "{page}");
    assert!(shown.contains("3.00") && shown.contains("4.05"), "{shown}");

    // A request created now is quoted the account's price; its page shows it.
    let res = post(
        &app,
        &mine,
        "/console/order",
        &[
            ("csrf", mine.csrf.as_str()),
            ("action", "order"),
            ("profile", profile.as_str()),
            ("type", "LOCAL"),
            ("locale", "[\"20\",\"Amsterdam\",null]"),
            ("quantity", "2"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let request_page = location(&res);
    let page = get(&app, &mine, &request_page).await.text().await.unwrap();
    let price = page.split("id=\"price\"").nth(1).unwrap_or("");
    assert!(price.contains("0.75") && price.contains("1.0125"), "{page}");
    assert!(
        price.contains("For 2 numbers") && price.contains("2.025"),
        "{price}"
    );

    // Deleting the account's own price: the general one applies to it again.
    let res = post(
        &app,
        &op,
        "/console/prices/delete",
        &[
            ("csrf", op.csrf.as_str()),
            ("accountId", acct.id.as_str()),
            ("countryCode", "NL"),
            ("phoneNumberType", "LOCAL"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = get(&app, &op, &location(&res)).await.text().await.unwrap();
    assert!(page.contains("Deleted account"), "{page}");
    let page = get(&app, &mine, "/console/prices")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("1.50") && !page.contains("0.75"), "{page}");
    // The request keeps the price it was quoted.
    let page = get(&app, &mine, &request_page).await.text().await.unwrap();
    assert!(page.contains("1.0125"), "{page}");
    // Deleting it again says there was none.
    let res = post(
        &app,
        &op,
        "/console/prices/delete",
        &[
            ("csrf", op.csrf.as_str()),
            ("accountId", acct.id.as_str()),
            ("countryCode", "NL"),
            ("phoneNumberType", "LOCAL"),
        ],
    )
    .await;
    let page = get(&app, &op, &location(&res)).await.text().await.unwrap();
    assert!(page.contains("nothing changed"), "{page}");
    // Without the CSRF token nothing is deleted.
    let res = post(
        &app,
        &op,
        "/console/prices/delete",
        &[
            ("countryCode", "NL"),
            ("phoneNumberType", "LOCAL"),
            ("accountId", ""),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let page = get(&app, &mine, "/console/prices")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("1.50"), "{page}");
}

#[tokio::test]
async fn usage_pages_show_lines_and_totals_per_currency_and_the_csv() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme").await;
    let profile = app.approved_profile(&acct).await;
    app.import_nl_local("+31201000000", 10).await;
    let res = app
        .admin_put(
            "/admin/v1/prices/NL/LOCAL",
            &json!({"currency": "EUR", "setupPrice": "1.50", "monthlyPrice": "2"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = crate::helpers::request_body(&profile, 3);
    body["areaCode"] = json!("20");
    let r = app.create_request(&acct, &body).await;
    assert_eq!(r["status"], "Completed", "{r}");

    let s = customer(&app, &acct.id, &acct.key).await;
    // The overview's charges per currency: 3 × (1.50 + 2.00).
    let page = get(&app, &s, "/console/overview")
        .await
        .text()
        .await
        .unwrap();
    let charges = page.split("id=\"charges-table\"").nth(1).unwrap_or("");
    assert!(
        charges.contains("EUR") && charges.contains("10.50"),
        "{page}"
    );
    // Its tiles: the numbers held, and the requests counted by status.
    assert!(page.contains(r#"id="numbers-held">3<"#), "{page}");
    for (status, n) in [("Completed", 1), ("Pending", 0), ("Rejected", 0)] {
        let tile = format!(
            r#"href="/console/requests?status={status}"><span class="tile-value">{n}</span>"#
        );
        assert!(page.contains(&tile), "{tile}: {page}");
    }

    let page = get(&app, &s, "/console/usage").await.text().await.unwrap();
    let totals = page.split("id=\"usage-totals\"").nth(1).unwrap_or("");
    assert!(
        totals.contains("4.50") && totals.contains("6.00") && totals.contains("10.50"),
        "{page}"
    );
    let lines = page.split("id=\"usage-lines\"").nth(1).unwrap_or("");
    for n in ["+31201000000", "+31201000001", "+31201000002"] {
        assert!(lines.contains(n), "{n}: {page}");
    }
    assert!(page.contains("href=\"/console/usage.csv?month="), "{page}");

    // The CSV: the API's header and one row per line.
    let month = time::OffsetDateTime::now_utc();
    let month = format!("{:04}-{:02}", month.year(), month.month() as u8);
    let csv = get(&app, &s, &format!("/console/usage.csv?month={month}")).await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(csv.headers()["content-type"], "text/csv");
    let text = csv.text().await.unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(
        rows[0],
        "phoneNumber,numberRequestId,countryCode,phoneNumberType,validFrom,validTo,currency,setupCharge,monthlyCharge"
    );
    assert_eq!(rows.len(), 4, "{text}");
    assert!(rows[1].starts_with("+31201000000,") && rows[1].ends_with(",EUR,1.50,2.00"));

    // A month before: nothing held.
    let page = get(&app, &s, "/console/usage?month=2020-01")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("No numbers were held"), "{page}");
    // A bad month: 400 with the message at the field.
    let res = get(&app, &s, "/console/usage?month=2026-13").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"month-error\""), "{page}");
    assert!(page.contains("YYYY-MM"), "{page}");

    // The operator: every account, or one, with the account column in the CSV.
    let op = sign_in(&app, &[("kind", "operator"), ("token", ADMIN_TOKEN)]).await;
    let page = get(&app, &op, "/console/usage").await.text().await.unwrap();
    assert!(
        page.contains("+31201000002") && page.contains(&acct.id),
        "{page}"
    );
    let other = app.create_account("Other").await;
    let page = get(&app, &op, &format!("/console/usage?accountId={}", other.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("+31201000002"), "{page}");
    let res = get(&app, &op, "/console/usage?accountId=nope").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("id=\"accountId-error\""));
    let csv = get(&app, &op, &format!("/console/usage.csv?month={month}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("accountId,phoneNumber,"), "{csv}");
    assert!(csv.contains(&format!("{},+31201000001,", acct.id)), "{csv}");
}
