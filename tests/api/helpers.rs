//! Spawning the app and talking to it.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use numberdesk::Application;
use numberdesk::config::Config;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// A running app on its own SQLite file. Dropping it stops the server.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    pub client: reqwest::Client,
    pub db_url: String,
    /// Keeps the database folder alive; `None` when the folder is owned elsewhere.
    pub dir: Option<TempDir>,
    pub dir_path: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

/// An account as the operator created it.
#[derive(Debug, Clone)]
pub struct Acct {
    pub id: String,
    pub key: String,
    pub key_id: String,
    pub webhook_secret: String,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("reqwest client")
}

/// The database of a test folder: a SQLite file in it, or, when `NUMBERDESK_TEST_POSTGRES` holds
/// a server URL (`postgres://user@host:port`), a PostgreSQL database named after the folder (so a
/// restart on the same folder finds the same data). `start` creates it.
pub fn test_database_url(dir: &Path) -> String {
    match std::env::var("NUMBERDESK_TEST_POSTGRES") {
        Ok(base) if !base.is_empty() => {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            dir.hash(&mut h);
            format!("{}/nd_{:016x}", base.trim_end_matches('/'), h.finish())
        }
        _ => format!("sqlite://{}/nd.db", dir.display()),
    }
}

/// Creates the PostgreSQL database of `url` if it does not exist yet.
pub async fn ensure_postgres_database(url: &str) {
    use sqlx::Connection;
    let (base, name) = url.rsplit_once('/').expect("a database name");
    let mut conn = sqlx::postgres::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .expect("connecting to the test PostgreSQL server");
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut conn)
        .await
        .expect("pg_database");
    if exists.is_none() {
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("CREATE DATABASE");
    }
}

/// Best effort: drops the PostgreSQL database of `url` (its connections too), so a test run does
/// not leave hundreds of databases filling the cluster's disk.
pub async fn drop_postgres_database(url: &str) {
    use sqlx::Connection;
    let Some((base, name)) = url.rsplit_once('/') else {
        return;
    };
    if let Ok(mut conn) = sqlx::postgres::PgConnection::connect(&format!("{base}/postgres")).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
    }
}

pub fn test_config(dir: &Path) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        database_url: test_database_url(dir),
        admin_token: Some(ADMIN_TOKEN.into()),
        mail_dir: dir.join("mail"),
        rate_limit: 0,
        // A small log reserve: every test runs through it without writing 64 MiB of zeros.
        database_wal_reserve_mib: 1,
        ..Config::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(f: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_path_buf();
    let mut cfg = test_config(&path);
    f(&mut cfg);
    start(cfg, Some(dir), path).await
}

/// Starts an app on a folder that the caller keeps alive (for restart tests).
pub async fn spawn_app_in(dir: &Path, f: impl FnOnce(&mut Config)) -> TestApp {
    let mut cfg = test_config(dir);
    f(&mut cfg);
    start(cfg, None, dir.to_path_buf()).await
}

async fn start(cfg: Config, dir: Option<TempDir>, dir_path: PathBuf) -> TestApp {
    let db_url = cfg.database_url.clone();
    if db_url.starts_with("postgres") {
        ensure_postgres_database(&db_url).await;
    }
    let app = Application::build(cfg).await.expect("Application::build");
    let addr = app.local_addr();
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    TestApp {
        address: format!("http://{addr}"),
        client: client(),
        db_url,
        dir,
        dir_path,
        shutdown: Some(tx),
        handle: Some(handle),
    }
}

/// An app that owns its folder owns its PostgreSQL database too: dropping the app drops it. (A
/// folder the caller keeps, for restarts, keeps its database.)
impl Drop for TestApp {
    fn drop(&mut self) {
        if self.dir.is_none() || !self.db_url.starts_with("postgres") {
            return;
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let url = self.db_url.clone();
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread of its own.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(drop_postgres_database(&url))
        })
        .join();
    }
}

impl TestApp {
    /// Stops the server gracefully and waits until it is gone; hands back the folder.
    pub async fn stop(mut self) -> Option<TempDir> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let res = tokio::time::timeout(std::time::Duration::from_secs(20), h)
                .await
                .expect("server did not stop within 20 s")
                .expect("server task panicked");
            res.expect("run_until_stopped returned an error");
        }
        self.dir.take()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// The served OpenAPI document.
    pub async fn openapi(&self) -> Value {
        serde_json::from_str(&self.page_text("/openapi.json").await).unwrap()
    }

    /// The text of an unauthenticated GET of `path`, which must answer 200.
    pub async fn page_text(&self, path: &str) -> String {
        let res = self.client.get(self.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        res.text().await.unwrap()
    }
    pub fn nr(&self, account: &str) -> String {
        format!("{}/voice/phonenumberrequestapi/v1/{account}", self.address)
    }
    pub fn cp(&self, account: &str) -> String {
        format!("{}/voice/companyprofilesapi/v1/{account}", self.address)
    }

    // ---- operator ----

    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(ADMIN_TOKEN)
    }
    pub async fn admin_get(&self, path: &str) -> Response {
        self.admin(reqwest::Method::GET, path).send().await.unwrap()
    }
    pub async fn admin_post(&self, path: &str, body: &Value) -> Response {
        self.admin(reqwest::Method::POST, path)
            .json(body)
            .send()
            .await
            .unwrap()
    }
    pub async fn admin_put(&self, path: &str, body: &Value) -> Response {
        self.admin(reqwest::Method::PUT, path)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn create_account(&self, name: &str) -> Acct {
        let res = self
            .admin_post("/admin/v1/accounts", &json!({ "name": name }))
            .await;
        let body = expect_json(res, StatusCode::CREATED).await;
        Acct {
            id: s(&body["id"]),
            key: s(&body["apiKey"]),
            key_id: s(&body["apiKeyId"]),
            webhook_secret: s(&body["webhookSecret"]),
        }
    }

    pub async fn approve_profile(&self, profile_id: &str) -> Value {
        let res = self
            .admin_post(
                &format!("/admin/v1/companyprofiles/{profile_id}/approve"),
                &json!({}),
            )
            .await;
        expect_json(res, StatusCode::OK).await
    }

    /// Adds stock; answers `{"added","duplicates"}`.
    pub async fn import_numbers(&self, body: Value) -> Value {
        let res = self.admin_post("/admin/v1/inventory", &body).await;
        expect_json(res, StatusCode::OK).await
    }

    /// Adds `count` contiguous NL LOCAL numbers in area 20 Amsterdam starting at `start`.
    pub async fn import_nl_local(&self, start: &str, count: u64) -> Value {
        self.import_numbers(json!({"numbers": [{
            "start": start, "count": count, "countryCode": "NL", "phoneNumberType": "LOCAL",
            "areaCode": "20", "city": "Amsterdam", "region": null
        }]}))
        .await
    }

    pub async fn stock_summary(&self) -> Vec<Value> {
        let res = self.admin_get("/admin/v1/inventory/summary").await;
        expect_json(res, StatusCode::OK)
            .await
            .as_array()
            .unwrap()
            .clone()
    }

    /// The summary row of one (country, type, area code), summed over cities/regions.
    pub async fn stock_counts(&self, country: &str, ty: &str, area: &str) -> StockCounts {
        let rows = self.stock_summary().await;
        let mut c = StockCounts::default();
        for r in rows.iter().filter(|r| {
            r["countryCode"] == country && r["phoneNumberType"] == ty && r["areaCode"] == area
        }) {
            c.available += r["available"].as_i64().unwrap();
            c.assigned += r["assigned"].as_i64().unwrap();
            c.aging += r["aging"].as_i64().unwrap();
            c.total += r["total"].as_i64().unwrap();
        }
        c
    }

    pub async fn set_restrictions(&self, country: &str, ty: &str, body: Value) -> Response {
        self.admin_put(&format!("/admin/v1/restrictions/{country}/{ty}"), &body)
            .await
    }

    // ---- customer ----

    pub async fn create_profile(&self, acct: &Acct, body: &Value) -> Response {
        self.client
            .post(format!("{}/companyprofiles", self.cp(&acct.id)))
            .header("X-CM-PRODUCTTOKEN", &acct.key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Creates an NL profile (LOCAL, TOLLFREE) and has the operator approve it; answers its id.
    pub async fn approved_profile(&self, acct: &Acct) -> String {
        self.approved_profile_with(acct, profile_body()).await
    }

    /// Creates the profile of `body` with its addresses seeded confirmed (tests about other
    /// things than confirmation: no confirmation message, status mail from the start) and has
    /// the operator approve it.
    pub async fn approved_profile_with(&self, acct: &Acct, body: Value) -> String {
        let addresses: Vec<&str> = body["emailAddresses"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        self.seed_confirmed(acct, &addresses).await;
        let res = self.create_profile(acct, &body).await;
        let created = expect_json(res, StatusCode::CREATED).await;
        let id = s(&created["id"]);
        let approved = self.approve_profile(&id).await;
        assert_eq!(approved["status"], "Approved");
        id
    }

    pub async fn post_request(&self, acct: &Acct, body: &Value) -> Response {
        self.client
            .post(format!("{}/numberrequests", self.nr(&acct.id)))
            .header("X-CM-PRODUCTTOKEN", &acct.key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Creates a request and expects 201; answers the body.
    pub async fn create_request(&self, acct: &Acct, body: &Value) -> Value {
        let res = self.post_request(acct, body).await;
        expect_json(res, StatusCode::CREATED).await
    }

    pub async fn get(&self, acct: &Acct, url: &str) -> Response {
        self.client
            .get(url)
            .header("X-CM-PRODUCTTOKEN", &acct.key)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_request(&self, acct: &Acct, id: &str) -> Value {
        let res = self
            .get(acct, &format!("{}/numberrequests/{id}", self.nr(&acct.id)))
            .await;
        expect_json(res, StatusCode::OK).await
    }

    pub async fn cancel(&self, acct: &Acct, id: &str) -> Response {
        self.client
            .post(format!("{}/numberrequests/{id}/cancel", self.nr(&acct.id)))
            .header("X-CM-PRODUCTTOKEN", &acct.key)
            .send()
            .await
            .unwrap()
    }

    pub async fn events(&self, acct: &Acct, id: &str) -> Vec<Value> {
        let res = self
            .get(
                acct,
                &format!("{}/numberrequests/{id}/events", self.nr(&acct.id)),
            )
            .await;
        expect_json(res, StatusCode::OK)
            .await
            .as_array()
            .unwrap()
            .clone()
    }

    /// Every number of `GET NR/phonenumbers`, paging through; also answers the total header.
    pub async fn all_phone_numbers(&self, acct: &Acct) -> (Vec<Value>, i64) {
        let mut all = Vec::new();
        let mut skip = 0;
        let mut total;
        loop {
            let res = self
                .get(
                    acct,
                    &format!("{}/phonenumbers?skip={skip}&take=100", self.nr(&acct.id)),
                )
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            total = header_i64(&res, "x-cm-pagination-total");
            let page: Vec<Value> = res.json().await.unwrap();
            let n = page.len();
            all.extend(page);
            skip += n;
            if n == 0 || all.len() as i64 >= total {
                break;
            }
        }
        (all, total)
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StockCounts {
    pub available: i64,
    pub assigned: i64,
    pub aging: i64,
    pub total: i64,
}

/// A valid NL company profile asking for NL LOCAL and TOLLFREE numbers.
pub fn profile_body() -> Value {
    json!({
        "name": "Acme NL",
        "companyName": "Acme B.V.",
        "businessRegisterNumber": "12345678",
        "representativeFirstName": "Jan",
        "representativeLastName": "Jansen",
        "representativePhoneNumber": "+31201234567",
        "countryCode": "NL",
        "region": "Noord-Holland",
        "city": "Amsterdam",
        "postalCode": "1011AB",
        "street": "Damrak",
        "houseNumber": "1",
        "emailAddresses": ["ops@example.com"],
        "numberCountryCode": "NL",
        "phoneNumberTypes": ["LOCAL", "TOLLFREE"],
        "requiredFields": null
    })
}

/// A profile asking for US LOCAL numbers.
pub fn us_profile_body() -> Value {
    let mut b = profile_body();
    b["name"] = json!("Acme US");
    b["numberCountryCode"] = json!("US");
    b["phoneNumberTypes"] = json!(["LOCAL"]);
    b
}

/// A create body for NL LOCAL numbers in area 20.
pub fn request_body(profile_id: &str, quantity: u32) -> Value {
    json!({
        "companyProfileId": profile_id,
        "quantity": quantity,
        "phoneNumberType": "LOCAL",
        "areaCode": "20"
    })
}

pub fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
        .to_string()
}

pub fn header(res: &Response, name: &str) -> String {
    res.headers()
        .get(name)
        .unwrap_or_else(|| panic!("missing header {name}"))
        .to_str()
        .unwrap()
        .to_string()
}

pub fn header_i64(res: &Response, name: &str) -> i64 {
    header(res, name)
        .parse()
        .unwrap_or_else(|_| panic!("header {name} is not a number"))
}

/// Asserts the status, answers the JSON body (with the raw text in the panic message on failure).
pub async fn expect_json(res: Response, status: StatusCode) -> Value {
    let got = res.status();
    let url = res.url().to_string();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "unexpected status from {url}; body: {text}");
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("body of {url} is not JSON ({e}): {text}"))
}

/// Checks the contract's error body shape (docs/api.md) and answers it.
pub fn check_error_shape(body: &Value) -> Result<(), String> {
    let obj = body
        .as_object()
        .ok_or_else(|| format!("error body is not an object: {body}"))?;
    let keys: BTreeSet<&str> = obj.keys().map(|k| k.as_str()).collect();
    let want: BTreeSet<&str> = ["messageCode", "message", "messageDetail", "errors"].into();
    if keys != want {
        return Err(format!("error body keys {keys:?}, want {want:?}: {body}"));
    }
    let code = body["messageCode"]
        .as_str()
        .ok_or("messageCode is not a string")?;
    if code.is_empty()
        || !code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
    {
        return Err(format!("messageCode {code:?} is not UPPER_SNAKE_CASE"));
    }
    let msg = body["message"].as_str().ok_or("message is not a string")?;
    if msg.trim().is_empty() {
        return Err("message is empty".into());
    }
    if !(body["messageDetail"].is_null() || body["messageDetail"].is_string()) {
        return Err(format!("messageDetail is neither string nor null: {body}"));
    }
    let errors = body["errors"].as_array().ok_or("errors is not an array")?;
    for e in errors {
        let o = e
            .as_object()
            .ok_or_else(|| format!("errors entry is not an object: {e}"))?;
        if !o.get("field").is_some_and(|f| f.is_string())
            || !o.get("message").is_some_and(|m| m.is_string())
        {
            return Err(format!("errors entry lacks string field/message: {e}"));
        }
    }
    Ok(())
}

/// Asserts an error answer: status, contract shape and `messageCode`. Answers the body.
pub async fn expect_error(res: Response, status: StatusCode, code: &str) -> Value {
    let body = expect_error_shape(res, status).await;
    assert_eq!(body["messageCode"], code, "wrong messageCode: {body}");
    body
}

/// Asserts an error answer with the contract shape, whatever its code.
pub async fn expect_error_shape(res: Response, status: StatusCode) -> Value {
    let got = res.status();
    let url = res.url().to_string();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_string())
        .unwrap_or_default();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "unexpected status from {url}; body: {text}");
    assert!(
        ct.starts_with("application/json"),
        "error content-type is {ct:?} from {url}: {text}"
    );
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("error body of {url} is not JSON ({e}): {text:?}"));
    if let Err(e) = check_error_shape(&body) {
        panic!("{url}: {e}");
    }
    body
}

/// The `field` names of a `VALIDATION_FAILED` body.
pub fn error_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| s(&e["field"]))
        .collect()
}

/// Asserts `VALIDATION_FAILED` names `field` (or a sub-path like `field[0]` / `field.x`).
pub fn assert_field(body: &Value, field: &str) {
    let fields = error_fields(body);
    assert!(
        fields.iter().any(|f| f == field
            || f.starts_with(&format!("{field}["))
            || f.starts_with(&format!("{field}."))),
        "expected an error for field {field:?}, got {fields:?}: {body}"
    );
}

/// `2026-11-27T09:30:00.123Z`
pub fn assert_time(v: &Value) {
    let t = v
        .as_str()
        .unwrap_or_else(|| panic!("time is not a string: {v}"));
    let b = t.as_bytes();
    let ok = b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    assert!(
        ok,
        "time {t:?} is not RFC 3339 UTC with three fraction digits"
    );
}

/// Lowercase hyphenated UUID.
pub fn assert_uuid(v: &Value) {
    let t = v
        .as_str()
        .unwrap_or_else(|| panic!("id is not a string: {v}"));
    assert!(
        uuid::Uuid::parse_str(t).is_ok() && t.len() == 36 && t == t.to_lowercase(),
        "{t:?} is not a lowercase hyphenated uuid"
    );
}

pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Polls `f` until it answers true or `secs` pass.
pub async fn eventually<F, Fut>(secs: u64, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if f().await {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

impl TestApp {
    /// Runs one statement on the app's database, as an operator with a database shell would
    /// (used to stand in for time passing: an expired link, an hour gone by). Answers the
    /// number of rows changed.
    pub async fn db_exec(&self, sql: &str, params: &[&str]) -> u64 {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.db_url)
            .await
            .expect("connecting to the test database");
        let mut q = sqlx::query(sql);
        for p in params {
            q = q.bind(*p);
        }
        let n = q
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .rows_affected();
        let _ = conn.close().await;
        n
    }

    /// Marks `addresses` confirmed for the account before any profile names them, as the demo
    /// seed does: they then receive status mail and no confirmation message. For tests about
    /// something other than confirmation.
    pub async fn seed_confirmed(&self, acct: &Acct, addresses: &[&str]) {
        for a in addresses {
            let key = numberdesk::store::emails::address_key(a);
            self.db_exec(
                "INSERT INTO account_emails (account_id, address_key, created_ms, confirmed_ms) \
                 VALUES ($1, $2, 0, 0) ON CONFLICT (account_id, address_key) DO UPDATE SET confirmed_ms = 0",
                &[&acct.id, &key],
            )
            .await;
        }
    }
}

/// The token of the confirmation link in a message's text (`.../confirm-email/<token>`).
pub fn confirmation_token(text: &str) -> Option<String> {
    let at = text.find("/confirm-email/")? + "/confirm-email/".len();
    Some(
        text[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect(),
    )
}
