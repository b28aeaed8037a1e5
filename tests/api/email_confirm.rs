//! E-mail addresses are confirmed before they receive anything but the confirmation message
//! (docs/api.md, "E-mail confirmation"), and each account has an hourly e-mail budget past which
//! mail waits and is never dropped. Over a real SMTP server (aiosmtpd).

use std::time::Duration;

use numberdesk::config::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::notify_support::*;

struct World {
    app: TestApp,
    sink: SmtpSink,
    acct: Acct,
}

async fn world(f: impl FnOnce(&mut Config)) -> World {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|c| {
        c.smtp_url = Some(url);
        c.webhook_retry_schedule = vec![1, 1, 1];
        f(c)
    })
    .await;
    let acct = app.create_account("Mail Corp").await;
    World { app, sink, acct }
}

fn profile_with(addresses: &[&str]) -> Value {
    let mut p = profile_body();
    p["emailAddresses"] = json!(addresses);
    p
}

/// Messages the sink got for `addr`.
fn to(msgs: &[Value], addr: &str) -> Vec<Value> {
    msgs.iter()
        .filter(|m| m["rcptTos"] == json!([addr]))
        .cloned()
        .collect()
}

fn is_confirmation(m: &Value) -> bool {
    m["subject"]
        .as_str()
        .unwrap_or("")
        .starts_with("Confirm your e-mail address")
}

/// Creates a profile, checks its answer lists `unconfirmed`, approves it; answers its id.
async fn profile(w: &World, acct: &Acct, addresses: &[&str], unconfirmed: &[&str]) -> String {
    let created = expect_json(
        w.app.create_profile(acct, &profile_with(addresses)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        created["unconfirmedEmailAddresses"],
        json!(unconfirmed),
        "{created}"
    );
    let id = s(&created["id"]);
    let approved = w.app.approve_profile(&id).await;
    assert_eq!(
        approved["unconfirmedEmailAddresses"],
        json!(unconfirmed),
        "{approved}"
    );
    id
}

async fn get_profile(w: &World, acct: &Acct, id: &str) -> Value {
    expect_json(
        w.app
            .get(
                acct,
                &format!("{}/companyprofiles/{id}", w.app.cp(&acct.id)),
            )
            .await,
        StatusCode::OK,
    )
    .await
}

async fn resend(w: &World, acct: &Acct, id: &str) -> reqwest::Response {
    w.app
        .client
        .post(format!(
            "{}/companyprofiles/{id}/emailconfirmations",
            w.app.cp(&acct.id)
        ))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .send()
        .await
        .unwrap()
}

/// Waits for the confirmation message to `addr` (the `nth`, 0-based); answers its link token.
async fn confirmation_for(w: &World, addr: &str, nth: usize) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mine: Vec<Value> = to(&w.sink.messages(), addr)
            .into_iter()
            .filter(is_confirmation)
            .collect();
        if let Some(m) = mine.get(nth) {
            let text = m["text"].as_str().unwrap();
            let token = confirmation_token(text).unwrap_or_else(|| panic!("no link in {text}"));
            assert!(
                text.contains(&format!("{}/confirm-email/{token}", w.app.address)),
                "the link starts with the listen address: {text}"
            );
            assert!(
                m["html"].as_str().unwrap().contains(&token),
                "the HTML part carries the link too: {m}"
            );
            return token;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no confirmation message #{nth} for {addr}: {:#?}",
            w.sink.messages()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn open_link(w: &World, method: reqwest::Method, token: &str) -> (StatusCode, String) {
    let res = w
        .app
        .client
        .request(method, w.app.url(&format!("/confirm-email/{token}")))
        .send()
        .await
        .unwrap();
    let status = res.status();
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "an HTML page"
    );
    assert!(res.headers().contains_key("content-security-policy"));
    (status, res.text().await.unwrap())
}

/// Waits until every e-mail delivery of the request is delivered; answers its events.
async fn emails_delivered(w: &World, acct: &Acct, id: &str) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..200 {
        last = w.app.events(acct, id).await;
        if last.iter().all(|e| {
            e["emails"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["state"] == "delivered")
        }) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("e-mails not delivered: {last:#?}");
}

fn email_targets(event: &Value) -> Vec<String> {
    event["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| s(&d["target"]))
        .collect()
}

#[tokio::test]
async fn nothing_but_the_confirmation_reaches_an_address_until_its_link_is_posted() {
    let w = world(|_| {}).await;
    w.app.import_nl_local("+31201000000", 10).await;
    let acct = w.acct.clone();
    let (alice, bob) = ("alice@example.com", "bob@example.org");
    let id = profile(&w, &acct, &[alice, bob], &[alice, bob]).await;

    // One confirmation message each, with fixed text: nothing the customer wrote.
    let token_a = confirmation_for(&w, alice, 0).await;
    let token_b = confirmation_for(&w, bob, 0).await;
    assert_ne!(token_a, token_b);
    let text = s(&to(&w.sink.messages(), alice)[0]["text"]);
    assert!(text.contains("Mail Corp") && text.contains(alice), "{text}");
    assert!(!text.contains("Acme"), "no profile text in it: {text}");

    // A status change now creates no delivery and no mail for either address.
    let r1 = w
        .app
        .create_request(&acct, &json!({"companyProfileId": id, "quantity": 1, "phoneNumberType": "LOCAL", "areaCode": "20"}))
        .await;
    assert_eq!(r1["status"], "Completed");
    let events = w.app.events(&acct, &s(&r1["id"])).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["emails"], json!([]), "{events:#?}");

    // Opening the link (GET, as a mail scanner does) shows one button and confirms nothing.
    let (status, page) = open_link(&w, reqwest::Method::GET, &token_a).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(alice), "{page}");
    assert_eq!(page.matches("<button").count(), 1, "{page}");
    assert!(page.contains("method=\"post\""), "{page}");
    let (status, _) = open_link(&w, reqwest::Method::GET, &token_a).await;
    assert_eq!(status, StatusCode::OK, "GET twice still offers the button");
    let p = get_profile(&w, &acct, &id).await;
    assert_eq!(p["unconfirmedEmailAddresses"], json!([alice, bob]));

    // POST confirms alice only.
    let (status, page) = open_link(&w, reqwest::Method::POST, &token_a).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("confirmed"), "{page}");
    let p = get_profile(&w, &acct, &id).await;
    assert_eq!(p["unconfirmedEmailAddresses"], json!([bob]), "{p}");
    let list = expect_json(
        w.app
            .get(&acct, &format!("{}/companyprofiles", w.app.cp(&acct.id)))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list[0]["unconfirmedEmailAddresses"], json!([bob]), "{list}");

    // The token works once.
    let (status, page) = open_link(&w, reqwest::Method::POST, &token_a).await;
    assert_eq!(status, StatusCode::GONE, "{page}");
    assert!(page.contains("used already"), "{page}");
    let (status, _) = open_link(&w, reqwest::Method::GET, &token_a).await;
    assert_eq!(status, StatusCode::GONE);

    // A status change now mails alice, and still not bob.
    let r2 = w
        .app
        .create_request(&acct, &json!({"companyProfileId": id, "quantity": 1, "phoneNumberType": "LOCAL", "areaCode": "20"}))
        .await;
    let rid = s(&r2["id"]);
    let events = emails_delivered(&w, &acct, &rid).await;
    assert_eq!(email_targets(&events[0]), vec![alice.to_string()]);
    let status_mails: Vec<Value> = w
        .sink
        .wait_messages(3, 20)
        .await
        .into_iter()
        .filter(|m| !is_confirmation(m))
        .collect();
    assert_eq!(status_mails.len(), 1, "{status_mails:#?}");
    assert_eq!(status_mails[0]["rcptTos"], json!([alice]));
    assert!(
        s(&status_mails[0]["subject"]).contains(&rid),
        "{status_mails:#?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        to(&w.sink.messages(), bob).iter().all(is_confirmation),
        "bob got only the confirmation: {:#?}",
        w.sink.messages()
    );

    // Bob confirms too; the next status mail goes to both.
    let (status, _) = open_link(&w, reqwest::Method::POST, &token_b).await;
    assert_eq!(status, StatusCode::OK);
    let r3 = w
        .app
        .create_request(&acct, &json!({"companyProfileId": id, "quantity": 1, "phoneNumberType": "LOCAL", "areaCode": "20"}))
        .await;
    let events = emails_delivered(&w, &acct, &s(&r3["id"])).await;
    let mut targets = email_targets(&events[0]);
    targets.sort();
    assert_eq!(targets, vec![alice.to_string(), bob.to_string()]);
}

#[tokio::test]
async fn confirmation_carries_over_to_other_profiles_of_the_account_but_not_to_another_account() {
    let w = world(|_| {}).await;
    let acct = w.acct.clone();
    let addr = "shared@example.com";
    let first = profile(&w, &acct, &[addr], &[addr]).await;
    let token = confirmation_for(&w, addr, 0).await;
    let (status, _) = open_link(&w, reqwest::Method::POST, &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        get_profile(&w, &acct, &first).await["unconfirmedEmailAddresses"],
        json!([])
    );

    // Another profile of the same account, the address written in other case: confirmed, and
    // no new message.
    profile(&w, &acct, &["Shared@Example.COM"], &[]).await;

    // A PUT that adds a new address lists it, and only it gets a message.
    let res = w
        .app
        .client
        .put(format!("{}/companyprofiles/{first}", w.app.cp(&acct.id)))
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .json(&json!({"emailAddresses": [addr, "later@example.com"]}))
        .send()
        .await
        .unwrap();
    let put = expect_json(res, StatusCode::OK).await;
    assert_eq!(
        put["unconfirmedEmailAddresses"],
        json!(["later@example.com"]),
        "{put}"
    );
    confirmation_for(&w, "later@example.com", 0).await;

    // Another account naming the same address: unconfirmed there, with its own message.
    let other = w.app.create_account("Other Corp").await;
    let theirs = profile(&w, &other, &[addr], &[addr]).await;
    let other_token = confirmation_for(&w, addr, 1).await;
    assert_ne!(other_token, token);
    assert_eq!(
        get_profile(&w, &other, &theirs).await["unconfirmedEmailAddresses"],
        json!([addr])
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let confirmations = to(&w.sink.messages(), addr)
        .into_iter()
        .filter(is_confirmation)
        .count();
    assert_eq!(
        confirmations,
        2,
        "one per account: {:#?}",
        w.sink.messages()
    );
    let text = s(&to(&w.sink.messages(), addr)[1]["text"]);
    assert!(text.contains("Other Corp"), "{text}");
}

#[tokio::test]
async fn resend_is_202_and_sends_each_address_at_most_once_per_ten_minutes() {
    let w = world(|_| {}).await;
    let acct = w.acct.clone();
    let (done, open) = ("done@example.com", "open@example.com");
    let id = profile(&w, &acct, &[done, open], &[done, open]).await;
    let token = confirmation_for(&w, done, 0).await;
    confirmation_for(&w, open, 0).await;
    assert_eq!(
        open_link(&w, reqwest::Method::POST, &token).await.0,
        StatusCode::OK
    );

    let res = resend(&w, &acct, &id).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["sentTo"], json!([open]), "{body}");
    assert_eq!(body["waiting"], json!([]), "{body}");
    let second = confirmation_for(&w, open, 1).await;

    // Within 10 minutes: 202, nothing sent, and when the next one may go.
    let res = resend(&w, &acct, &id).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["sentTo"], json!([]), "{body}");
    assert_eq!(body["waiting"][0]["emailAddress"], open, "{body}");
    assert_time(&body["waiting"][0]["nextSendOn"]);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        to(&w.sink.messages(), open).len(),
        2,
        "{:#?}",
        w.sink.messages()
    );
    assert_eq!(
        to(&w.sink.messages(), done).len(),
        1,
        "a confirmed address is not sent it again"
    );

    // Both links of the open address work (each once).
    assert_eq!(
        open_link(&w, reqwest::Method::POST, &second).await.0,
        StatusCode::OK
    );

    // Ten minutes later (the last resend moved back) another may be sent; with everything
    // confirmed there is nothing to send.
    w.app
        .db_exec(
            "UPDATE account_emails SET resent_ms = resent_ms - 600000 WHERE account_id = $1",
            &[&acct.id],
        )
        .await;
    let body: Value = resend(&w, &acct, &id).await.json().await.unwrap();
    assert_eq!(body, json!({"sentTo": [], "waiting": []}));

    // Unknown profile, another account's path, no key.
    expect_error(
        resend(&w, &acct, &new_uuid()).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
    let other = w.app.create_account("Other").await;
    let res = w
        .app
        .client
        .post(format!(
            "{}/companyprofiles/{id}/emailconfirmations",
            w.app.cp(&acct.id)
        ))
        .header("X-CM-PRODUCTTOKEN", &other.key)
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    expect_error(
        resend(&w, &other, &id).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn resending_after_ten_minutes_sends_again() {
    let w = world(|_| {}).await;
    let acct = w.acct.clone();
    let addr = "slow@example.com";
    let id = profile(&w, &acct, &[addr], &[addr]).await;
    confirmation_for(&w, addr, 0).await;
    let body: Value = resend(&w, &acct, &id).await.json().await.unwrap();
    assert_eq!(body["sentTo"], json!([addr]));
    confirmation_for(&w, addr, 1).await;
    w.app
        .db_exec(
            "UPDATE account_emails SET resent_ms = resent_ms - 600000 WHERE account_id = $1",
            &[&acct.id],
        )
        .await;
    let body: Value = resend(&w, &acct, &id).await.json().await.unwrap();
    assert_eq!(body["sentTo"], json!([addr]), "{body}");
    confirmation_for(&w, addr, 2).await;
}

#[tokio::test]
async fn an_expired_or_unknown_link_shows_a_page_that_says_so_and_confirms_nothing() {
    let w = world(|_| {}).await;
    let acct = w.acct.clone();
    let addr = "late@example.com";
    let id = profile(&w, &acct, &[addr], &[addr]).await;
    let token = confirmation_for(&w, addr, 0).await;

    // Seven days pass.
    let n = w
        .app
        .db_exec(
            "UPDATE confirmation_tokens SET expires_ms = expires_ms - 604800000 WHERE account_id = $1",
            &[&acct.id],
        )
        .await;
    assert_eq!(n, 1);
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let (status, page) = open_link(&w, method, &token).await;
        assert_eq!(status, StatusCode::GONE, "{page}");
        assert!(page.contains("expired"), "{page}");
        assert!(!page.contains("<button"), "{page}");
    }
    assert_eq!(
        get_profile(&w, &acct, &id).await["unconfirmedEmailAddresses"],
        json!([addr])
    );

    // Links that were never given out, well formed or not.
    let unknown = "A".repeat(43);
    for t in [unknown.as_str(), "nonsense", "a.b", &format!("{}x", token)] {
        for method in [reqwest::Method::GET, reqwest::Method::POST] {
            let (status, page) = open_link(&w, method, t).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{t}: {page}");
            assert!(page.contains("not valid"), "{page}");
        }
    }
    assert_eq!(
        get_profile(&w, &acct, &id).await["unconfirmedEmailAddresses"],
        json!([addr])
    );
}

#[tokio::test]
async fn with_confirmation_off_every_address_gets_status_mail_and_no_confirmation() {
    let w = world(|c| c.confirm_emails = false).await;
    w.app.import_nl_local("+31201000000", 10).await;
    let acct = w.acct.clone();
    let addr = "trusted@example.com";
    let id = profile(&w, &acct, &[addr], &[]).await;
    let r = w
        .app
        .create_request(&acct, &json!({"companyProfileId": id, "quantity": 1, "phoneNumberType": "LOCAL", "areaCode": "20"}))
        .await;
    let events = emails_delivered(&w, &acct, &s(&r["id"])).await;
    assert_eq!(email_targets(&events[0]), vec![addr.to_string()]);
    let msgs = w.sink.wait_messages(1, 20).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.sink.messages().len(), 1, "{msgs:#?}");
    assert!(!is_confirmation(&msgs[0]));
    let body: Value = resend(&w, &acct, &id).await.json().await.unwrap();
    assert_eq!(body, json!({"sentTo": [], "waiting": []}));
}

#[tokio::test]
async fn the_hourly_budget_delays_mail_past_it_and_drops_nothing() {
    let w = world(|c| c.email_hourly_limit = 3).await;
    w.app.import_nl_local("+31201000000", 10).await;
    let acct = w.acct.clone();
    let addr = "busy@example.com";
    w.app.seed_confirmed(&acct, &[addr]).await;
    let id = profile(&w, &acct, &[addr], &[]).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let r = w
            .app
            .create_request(&acct, &json!({"companyProfileId": id, "quantity": 1, "phoneNumberType": "LOCAL", "areaCode": "20"}))
            .await;
        assert_eq!(r["status"], "Completed");
        ids.push(s(&r["id"]));
    }
    // Three go out; two wait, pending, never attempted, saying why.
    w.sink.wait_messages(3, 20).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(w.sink.messages().len(), 3, "{:#?}", w.sink.messages());
    let mut states = Vec::new();
    for id in &ids {
        let e = &w.app.events(&acct, id).await[0]["emails"][0];
        states.push(s(&e["state"]));
        if e["state"] == "pending" {
            assert_eq!(e["attempts"], 0, "{e}");
            assert!(s(&e["lastError"]).contains("per hour"), "{e}");
        }
    }
    states.sort();
    assert_eq!(
        states,
        ["delivered", "delivered", "delivered", "pending", "pending"]
    );
    let (pending, _) = {
        let res = w.app.admin_get("/admin/v1/deliveries?state=pending").await;
        let total = header_i64(&res, "x-cm-pagination-total");
        (total, ())
    };
    assert_eq!(pending, 2);

    // An hour later (the counted minutes and the waiting mail moved back) the rest goes out.
    w.app
        .db_exec("UPDATE email_budget SET minute = minute - 61", &[])
        .await;
    w.app
        .db_exec(
            "UPDATE deliveries SET next_attempt_ms = next_attempt_ms - 3660000 WHERE state = 'pending'",
            &[],
        )
        .await;
    w.sink.wait_messages(5, 20).await;
    for id in &ids {
        let events = emails_delivered(&w, &acct, id).await;
        assert_eq!(events[0]["emails"][0]["attempts"], 1);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let msgs = w.sink.messages();
    assert_eq!(msgs.len(), 5, "each mail once: {msgs:#?}");
    let mut subjects: Vec<String> = msgs.iter().map(|m| s(&m["subject"])).collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), 5, "{subjects:#?}");
}

#[tokio::test]
async fn confirmation_messages_count_in_the_budget_and_wait_too() {
    let w = world(|c| c.email_hourly_limit = 2).await;
    let acct = w.acct.clone();
    let addrs = ["a@example.com", "b@example.com", "c@example.com"];
    profile(&w, &acct, &addrs, &addrs).await;
    w.sink.wait_messages(2, 20).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(w.sink.messages().len(), 2, "{:#?}", w.sink.messages());
    w.app
        .db_exec("UPDATE email_budget SET minute = minute - 61", &[])
        .await;
    w.app
        .db_exec(
            "UPDATE confirmation_mails SET next_attempt_ms = next_attempt_ms - 3660000 WHERE state = 'pending'",
            &[],
        )
        .await;
    let msgs = w.sink.wait_messages(3, 20).await;
    let mut rcpts: Vec<String> = msgs.iter().map(|m| s(&m["rcptTos"][0])).collect();
    rcpts.sort();
    assert_eq!(rcpts, addrs);
}
