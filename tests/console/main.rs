//! Browser tests of the web console: Debian's Chromium driven through chromedriver (WebDriver)
//! with `fantoccini`. Each test starts its own app (seeded with the demo world) and its own
//! chromedriver on a free port, and saves screenshots of the pages it visits to
//! `target/console-screenshots/` (README.md shows one of them).
//!
//! Needs `chromium` and `chromium-driver` (`.ci/run` installs them). `CHROMEDRIVER` and
//! `CHROMIUM` override the programs' paths.

#[path = "../api/helpers.rs"]
mod helpers;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use numberdesk::Application;
use numberdesk::demo::{ACCOUNT_ID, API_KEY, NL_PROFILE_ID};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::{Semaphore, oneshot};

use helpers::ADMIN_TOKEN;

/// Two browsers at a time: the CI machine has two cores.
static BROWSERS: Semaphore = Semaphore::const_new(2);

/// A running app seeded with the demo world, on its own SQLite file.
struct DemoApp {
    address: String,
    client: reqwest::Client,
    _dir: TempDir,
    _stop: oneshot::Sender<()>,
}

impl DemoApp {
    async fn start() -> DemoApp {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = helpers::test_config(dir.path());
        // The browser tests cover the pages; both databases are covered by tests/api/console.rs.
        cfg.database_url = format!("sqlite://{}/nd.db", dir.path().display());
        let app = Application::build(cfg).await.unwrap();
        numberdesk::demo::seed(app.state()).await.unwrap();
        let address = format!("http://{}", app.local_addr());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        DemoApp {
            address,
            client: helpers::client(),
            _dir: dir,
            _stop: tx,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    fn nr(&self) -> String {
        self.url(&format!("/voice/phonenumberrequestapi/v1/{ACCOUNT_ID}"))
    }

    async fn api_get(&self, url: &str) -> Value {
        let res = self
            .client
            .get(url)
            .header("X-CM-PRODUCTTOKEN", API_KEY)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{url}: {}", res.status());
        res.json().await.unwrap()
    }

    async fn admin_put(&self, path: &str, body: Value) {
        let res = self
            .client
            .put(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
    }
}

/// A headless Chromium with its own chromedriver and profile folder; closed on drop.
struct Browser {
    c: Client,
    driver: Child,
    _profile: TempDir,
    _permit: tokio::sync::SemaphorePermit<'static>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    async fn open(javascript: bool) -> Browser {
        let permit = BROWSERS.acquire().await.unwrap();
        let port = free_port();
        let driver_bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("starting {driver_bin} (apt-get install chromium-driver): {e}")
            });
        let profile = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--hide-scrollbars".into(),
            "--window-size=1280,1000".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        if !javascript {
            args.push("--blink-settings=scriptEnabled=false".into());
        }
        let mut chrome = json!({"args": args});
        if let Ok(bin) = std::env::var("CHROMIUM") {
            chrome["binary"] = json!(bin);
        } else if std::path::Path::new("/usr/bin/chromium").exists() {
            chrome["binary"] = json!("/usr/bin/chromium");
        }
        if !javascript {
            chrome["prefs"] = json!({"profile.managed_default_content_settings.javascript": 2});
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), chrome);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::new(connector.clone())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(c) => {
                    return Browser {
                        c,
                        driver,
                        _profile: profile,
                        _permit: permit,
                    };
                }
                Err(e) => {
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("no WebDriver session: {last:?}");
    }

    async fn go(&self, url: &str) {
        self.c.goto(url).await.unwrap();
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.c
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    async fn source(&self) -> String {
        self.c.source().await.unwrap()
    }

    /// Waits until the page's HTML contains `needle`.
    async fn wait_for_text(&self, needle: &str) {
        for _ in 0..200 {
            if self.source().await.contains(needle) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page never showed {needle:?}:\n{}", self.source().await);
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        el.clear().await.unwrap();
        el.send_keys(text).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    async fn path(&self) -> String {
        self.c.current_url().await.unwrap().path().to_string()
    }

    /// Saves a screenshot as `target/console-screenshots/NAME.png`.
    async fn shot(&self, name: &str) {
        let png = self.c.screenshot().await.unwrap();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    async fn sign_in_customer(&self, app: &DemoApp) {
        self.go(&app.url("/console/")).await;
        self.type_into("#account", ACCOUNT_ID).await;
        self.type_into("#key", API_KEY).await;
        self.click("#customer-sign-in").await;
        self.find("#numbers-held").await;
    }

    async fn sign_in_operator(&self, app: &DemoApp) {
        self.go(&app.url("/console/sign-in")).await;
        self.type_into("#token", ADMIN_TOKEN).await;
        self.click("#operator-sign-in").await;
        self.wait_for_text("Company profiles waiting for approval")
            .await;
    }

    async fn sign_out(&self) {
        self.click(".who button").await;
        self.wait_for_text("You are signed out").await;
    }

    async fn close(self) {
        let _ = self.c.clone().close().await;
    }
}

/// The value the order form uses for a locale option.
fn locale(area: &str, city: Option<&str>) -> String {
    json!([area, city, null]).to_string()
}

#[tokio::test]
async fn a_customer_orders_two_demo_numbers_and_finds_them_on_numbers_and_in_the_api() {
    let app = DemoApp::start().await;
    let b = Browser::open(true).await;
    b.go(&app.url("/")).await;
    assert_eq!(b.path().await, "/console/sign-in", "no session: sign-in");
    b.shot("sign-in").await;
    b.sign_in_customer(&app).await;
    assert_eq!(b.text("#numbers-held").await, "0");
    b.shot("customer-overview").await;

    b.click("a[href='/console/order']").await;
    b.find("#order-form").await;
    // Picking the NL profile refreshes the form with its types and areas (the script does it).
    b.find("#profile")
        .await
        .select_by_value(NL_PROFILE_ID)
        .await
        .unwrap();
    b.wait_for_text("Amsterdam — 1000 free").await;
    b.find("#locale")
        .await
        .select_by_value(&locale("20", Some("Amsterdam")))
        .await
        .unwrap();
    b.find("#availability").await;
    b.type_into("#quantity", "2").await;
    b.click("#check").await;
    b.wait_for_text("completed at once").await;
    // The demo's general NL LOCAL price, per number and for the two.
    let price = b.text("#availability-price").await;
    assert!(
        price.contains("EUR 1.50 setup")
            && price.contains("For 2 numbers: EUR 3.00 setup + EUR 4.00 a month"),
        "{price}"
    );
    b.shot("customer-order").await;
    b.click("#place-order").await;
    b.wait_for_text("Request created: Completed").await;
    assert!(b.path().await.starts_with("/console/requests/"));
    let ranges = b.text("#ranges").await;
    assert!(
        ranges.contains("+31201000000") && ranges.contains("+31201000001"),
        "{ranges}"
    );
    let quoted = b.text("#price").await;
    assert!(quoted.contains("EUR 2.00 a month per number"), "{quoted}");
    b.shot("customer-request").await;

    b.click("a[href='/console/numbers']").await;
    let table = b.text("#numbers").await;
    assert!(
        table.contains("+31201000000") && table.contains("+31201000001"),
        "{table}"
    );
    b.shot("customer-numbers").await;

    let api = app.api_get(&format!("{}/phonenumbers", app.nr())).await;
    let held: Vec<&str> = api
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["phoneNumber"].as_str().unwrap())
        .collect();
    assert_eq!(held.len(), 2, "{api}");
    assert!(held.contains(&"+31201000000") && held.contains(&"+31201000001"));

    b.click("a[href='/console/requests']").await;
    b.find("table").await;
    b.shot("customer-requests").await;
    b.click("a[href='/console/apilog']").await;
    b.find("#apilog").await;
    b.shot("customer-apilog").await;

    // Usage of this month: the two numbers, 2 × (1.50 + 2.00) in EUR; the overview says the same.
    b.click("a[href='/console/usage']").await;
    let totals = b.text("#usage-totals").await;
    assert!(
        totals.contains("EUR") && totals.contains("7.00"),
        "{totals}"
    );
    let lines = b.text("#usage-lines").await;
    assert!(lines.contains("+31201000001"), "{lines}");
    b.shot("customer-usage").await;
    b.click("a[rel='prev']").await;
    b.wait_for_text("No numbers were held in this month").await;
    b.click("a[href='/console/prices']").await;
    let prices = b.text("#prices").await;
    assert!(
        prices.contains("TOLLFREE") && prices.contains("USD"),
        "{prices}"
    );
    b.shot("customer-prices").await;
    b.click("a[href='/console/overview']").await;
    let charges = b.text("#charges-table").await;
    assert!(charges.contains("7.00"), "{charges}");
    b.shot("customer-overview-charges").await;

    // Phone width: the same pages stay usable.
    b.c.set_window_size(390, 844).await.unwrap();
    b.go(&app.url("/console/overview")).await;
    b.find("#numbers-held").await;
    b.shot("phone-overview").await;
    b.go(&app.url("/console/order")).await;
    b.find("#order-form").await;
    b.shot("phone-order").await;
    b.go(&app.url("/console/numbers")).await;
    b.find("#numbers").await;
    b.shot("phone-numbers").await;
    b.go(&app.url("/console/usage")).await;
    b.find("#usage-lines").await;
    b.shot("phone-usage").await;
    b.close().await;
}

#[tokio::test]
async fn the_operator_accepts_a_pending_request_and_the_customer_sees_it_completed() {
    let app = DemoApp::start().await;
    app.admin_put(
        "/admin/v1/restrictions/NL/TOLLFREE",
        json!({"requiresReview": true}),
    )
    .await;
    let b = Browser::open(true).await;
    b.sign_in_customer(&app).await;
    b.go(&app.url(&format!(
        "/console/order?profile={NL_PROFILE_ID}&type=TOLLFREE"
    )))
    .await;
    b.wait_for_text("reviewed by the operator").await;
    b.click("#place-order").await;
    b.wait_for_text("Request created: Pending").await;
    let request_path = b.path().await;
    let id = request_path
        .trim_start_matches("/console/requests/")
        .to_string();
    b.sign_out().await;

    b.sign_in_operator(&app).await;
    b.go(&app.url("/console/review")).await;
    b.find(&format!("tr[data-request='{id}']")).await;
    b.shot("operator-review").await;
    b.click(&format!(
        "tr[data-request='{id}'] form[action$='/accept'] button"
    ))
    .await;
    b.wait_for_text("is now Completed").await;
    b.sign_out().await;

    b.sign_in_customer(&app).await;
    b.go(&app.url(&request_path)).await;
    let head = b.text(".card-head").await;
    assert!(head.contains("Completed"), "{head}");
    let r = app
        .api_get(&format!("{}/numberrequests/{id}", app.nr()))
        .await;
    assert_eq!(r["status"], "Completed");
    b.close().await;
}

#[tokio::test]
async fn approving_a_profile_changed_while_the_review_page_was_open_is_refused() {
    let app = DemoApp::start().await;
    let b = Browser::open(true).await;
    b.sign_in_customer(&app).await;
    b.go(&app.url("/console/profiles/new")).await;
    for (id, v) in [
        ("name", "<script>alert(1)</script>"),
        ("companyName", "Acme B.V."),
        ("businessRegisterNumber", "KVK 12345678"),
        ("representativeFirstName", "Ada"),
        ("representativeLastName", "Lovelace"),
        ("street", "Damrak"),
        ("houseNumber", "1"),
        ("postalCode", "1012 LG"),
        ("city", "Amsterdam"),
        ("countryCode", "NL"),
        ("numberCountryCode", "NL"),
        ("emailAddresses", "ops@example.com"),
    ] {
        b.type_into(&format!("#{id}"), v).await;
    }
    b.click("#save-profile").await;
    b.wait_for_text("Profile created").await;
    let profile_path = b.path().await;
    let profile_id = profile_path
        .trim_start_matches("/console/profiles/")
        .to_string();
    // The name shows as text wherever it appears, and no script ran.
    assert!(b.c.get_alert_text().await.is_err(), "no alert opened");
    assert_eq!(b.text(".card-head h2").await, "<script>alert(1)</script>");
    b.shot("customer-profile").await;
    b.go(&app.url("/console/profiles")).await;
    assert!(
        b.text("#profiles")
            .await
            .contains("<script>alert(1)</script>")
    );
    b.shot("customer-profiles").await;
    b.sign_out().await;

    b.sign_in_operator(&app).await;
    let card = format!("article[data-profile='{profile_id}']");
    assert_eq!(
        b.text(&format!("{card} h3")).await,
        "<script>alert(1)</script>"
    );
    assert!(b.c.get_alert_text().await.is_err(), "no alert opened");
    b.shot("operator-review-profile").await;

    // The customer edits the profile while the operator's page is open.
    let res = app
        .client
        .put(app.url(&format!(
            "/voice/companyprofilesapi/v1/{ACCOUNT_ID}/companyprofiles/{profile_id}"
        )))
        .header("X-CM-PRODUCTTOKEN", API_KEY)
        .json(&json!({"street": "Rokin"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());

    b.click(&format!("{card} form[action$='/approve'] button"))
        .await;
    b.wait_for_text("changed since this page was loaded").await;
    b.shot("operator-review-changed").await;
    let p = app
        .api_get(&app.url(&format!(
            "/voice/companyprofilesapi/v1/{ACCOUNT_ID}/companyprofiles/{profile_id}"
        )))
        .await;
    assert_eq!(p["status"], "PendingApproval", "refused: nothing approved");
    // The page was reloaded by the redirect: it shows the new street, and now the approval holds.
    assert!(b.text(&card).await.contains("Rokin"));
    b.click(&format!("{card} form[action$='/approve'] button"))
        .await;
    b.wait_for_text("is now Approved").await;
    let p = app
        .api_get(&app.url(&format!(
            "/voice/companyprofilesapi/v1/{ACCOUNT_ID}/companyprofiles/{profile_id}"
        )))
        .await;
    assert_eq!(p["status"], "Approved");
    b.close().await;
}

#[tokio::test]
async fn a_csv_import_on_the_stock_page_changes_the_summary() {
    let app = DemoApp::start().await;
    let b = Browser::open(true).await;
    b.sign_in_operator(&app).await;
    b.click("a[href='/console/stock']").await;
    let before = b.text("#summary").await;
    assert!(!before.contains("Utrecht"), "{before}");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("utrecht.csv");
    std::fs::write(
        &csv,
        "start,count,countryCode,phoneNumberType,areaCode,city,region\n+31301000000,25,NL,LOCAL,30,Utrecht,\n+31201000000,1,NL,LOCAL,20,Amsterdam,\n",
    )
    .unwrap();
    b.find("#csv")
        .await
        .send_keys(csv.to_str().unwrap())
        .await
        .unwrap();
    b.click("#import").await;
    let answer = b.text("#import-result").await;
    assert!(answer.contains("25 added, 1 duplicates"), "{answer}");
    let after = b.text("#summary").await;
    let row = after
        .lines()
        .find(|l| l.contains("Utrecht"))
        .unwrap_or_else(|| panic!("{after}"));
    assert!(row.contains("25"), "{row}");
    b.shot("operator-stock").await;

    // The other operator pages, for the screenshots.
    b.click("a[href='/console/accounts']").await;
    b.type_into("#name", "Globex").await;
    b.click("#create-account").await;
    b.wait_for_text("shown only this once").await;
    b.shot("operator-account-created").await;
    b.go(&app.url("/console/accounts")).await;
    b.find("#accounts").await;
    b.shot("operator-accounts").await;
    b.go(&app.url(&format!("/console/accounts/{ACCOUNT_ID}")))
        .await;
    b.find("#keys").await;
    b.shot("operator-account").await;
    b.go(&app.url("/console/rules?country=NL&type=LOCAL")).await;
    b.find("#restrictions").await;
    b.shot("operator-rules").await;
    b.go(&app.url("/console/deliveries?state=all")).await;
    b.find("form.filters").await;
    b.shot("operator-deliveries").await;

    // Prices: a wrong amount is refused at its field; then the demo account gets its own price.
    b.click("a[href='/console/prices']").await;
    b.find("#price-list").await;
    b.type_into("#accountId", ACCOUNT_ID).await;
    b.type_into("#countryCode", "NL").await;
    b.type_into("#currency", "EUR").await;
    b.type_into("#setupPrice", "1,50").await;
    b.type_into("#monthlyPrice", "1.75").await;
    b.click("#set-price").await;
    let error = b.text("#setupPrice-error").await;
    assert!(error.contains("decimal string"), "{error}");
    b.shot("operator-price-error").await;
    b.type_into("#setupPrice", "1.25").await;
    b.click("#set-price").await;
    b.wait_for_text("saved: EUR 1.25 setup, EUR 1.75 monthly")
        .await;
    let list = b.text("#price-list").await;
    assert!(list.contains("1.75"), "{list}");
    b.shot("operator-prices").await;
    let own = app.api_get(&format!("{}/prices", app.nr())).await;
    assert!(
        own.as_array()
            .unwrap()
            .iter()
            .any(|p| p["countryCode"] == "NL" && p["monthlyPrice"] == "1.75"),
        "{own}"
    );
    b.click("a[href='/console/usage']").await;
    b.find("#usage-filter").await;
    b.shot("operator-usage").await;
    b.click("a[href='/console/apilog']").await;
    b.find("form.filters").await;
    b.shot("operator-apilog").await;
    b.c.set_window_size(390, 844).await.unwrap();
    b.go(&app.url("/console/review")).await;
    b.find("main h1").await;
    b.shot("phone-operator-review").await;
    b.go(&app.url("/console/prices")).await;
    b.find("#price-list").await;
    b.shot("phone-operator-prices").await;
    b.close().await;
}

#[tokio::test]
async fn with_javascript_off_a_customer_signs_in_orders_and_releases_after_confirming() {
    let app = DemoApp::start().await;
    let b = Browser::open(false).await;
    b.sign_in_customer(&app).await;
    // Without the script, times stay in UTC as the server wrote them.
    b.go(&app.url("/console/order")).await;
    // No script refreshes the form: "Check availability" does, with the NL profile chosen.
    b.find("#profile")
        .await
        .select_by_value(NL_PROFILE_ID)
        .await
        .unwrap();
    b.click("#check").await;
    b.wait_for_text("Rotterdam — 1000 free").await;
    b.find("#locale")
        .await
        .select_by_value(&locale("10", Some("Rotterdam")))
        .await
        .unwrap();
    b.type_into("#quantity", "1").await;
    b.click("#place-order").await;
    b.wait_for_text("Request created: Completed").await;
    let ranges = b.text("#ranges").await;
    assert!(ranges.contains("+31101000000"), "{ranges}");
    assert!(
        b.text("time").await.ends_with("UTC"),
        "no script rewrote the time"
    );

    b.click("a[href='/console/numbers']").await;
    b.click("#numbers a.button").await;
    b.wait_for_text("cannot be undone").await;
    b.shot("customer-release-confirm").await;
    // Nothing is released until the confirmation is sent.
    let held = app.api_get(&format!("{}/phonenumbers", app.nr())).await;
    assert_eq!(held.as_array().unwrap().len(), 1);
    b.click("#confirm-release").await;
    b.wait_for_text("+31101000000 is released").await;
    let held = app.api_get(&format!("{}/phonenumbers", app.nr())).await;
    assert_eq!(held.as_array().unwrap().len(), 0, "{held}");

    // Usage with the month picker's form: the number held and released this month is a line.
    b.go(&app.url("/console/usage?month=2020-01")).await;
    b.wait_for_text("No numbers were held in this month").await;
    b.click("a[rel='next']").await;
    b.wait_for_text("2020-02").await;
    b.go(&app.url("/console/usage")).await;
    let lines = b.text("#usage-lines").await;
    assert!(lines.contains("+31101000000"), "{lines}");
    b.close().await;
}
