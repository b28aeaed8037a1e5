//! Several `numberdesk serve` processes on one PostgreSQL database (issue 5): stock claims,
//! callbacks shared through leases, SIGKILL of one instance, and a PostgreSQL outage.
//!
//! Every test needs `NUMBERDESK_TEST_POSTGRES=postgres://user@host:port` and passes (skipping)
//! without it. The outage test also needs `NUMBERDESK_TEST_POSTGRES_DATA` (the cluster's data
//! folder, controlled with `pg_ctl` as the `postgres` user) and stops that cluster for a few
//! seconds, so it takes the file's lock exclusively; the other tests of this file share it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::notify_support::{Receiver, Reply, Served, summary};

/// Tests 1 and 2 hold it shared; the outage test holds it alone.
static PG_LOCK: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

fn pg_base() -> Option<String> {
    match std::env::var("NUMBERDESK_TEST_POSTGRES") {
        Ok(b) if !b.trim().is_empty() => Some(b.trim().trim_end_matches('/').to_string()),
        _ => {
            println!("skipped: NUMBERDESK_TEST_POSTGRES not set");
            None
        }
    }
}

/// Creates `nd_mi_<random>` on the server and answers its URL.
async fn fresh_database(base: &str) -> String {
    use sqlx::Connection;
    let name = format!("nd_mi_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::postgres::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .expect("connecting to the test PostgreSQL server");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("CREATE DATABASE");
    let _ = conn.close().await;
    format!("{base}/{name}")
}

fn server_env(db_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("NUMBERDESK_DATABASE_URL", db_url.to_string()),
        ("NUMBERDESK_ADMIN_TOKEN", ADMIN_TOKEN.to_string()),
        ("NUMBERDESK_ALLOW_PRIVATE_CALLBACKS", "true".into()),
        ("NUMBERDESK_RATE_LIMIT", "0".into()),
        ("NUMBERDESK_WEBHOOK_RETRY_SCHEDULE", "1,1,1".into()),
        // Status mail to the profile's address from the first event on: these tests are about
        // several instances sharing one outbox.
        ("NUMBERDESK_CONFIRM_EMAILS", "false".into()),
    ]
}

/// Starts `n` servers at the same time (so they race for the migration lock too).
async fn start_servers(
    n: usize,
    env: Vec<(&'static str, String)>,
) -> (Vec<Served>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut handles = Vec::new();
    for i in 0..n {
        let sub = dir.path().join(format!("i{i}"));
        std::fs::create_dir_all(&sub).unwrap();
        let mut env = env.clone();
        env.push((
            "NUMBERDESK_MAIL_DIR",
            sub.join("mail").display().to_string(),
        ));
        handles.push(tokio::task::spawn_blocking(move || {
            Served::start(&sub, &env)
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("server start panicked"));
    }
    (out, dir)
}

/// Talks to one instance over HTTP.
#[derive(Clone)]
struct Inst {
    base: String,
    client: reqwest::Client,
}

impl Inst {
    fn new(base: &str) -> Inst {
        Inst {
            base: base.to_string(),
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }
    fn nr(&self, acct: &Acct) -> String {
        format!("{}/voice/phonenumberrequestapi/v1/{}", self.base, acct.id)
    }
    async fn admin_post(&self, path: &str, body: Value) -> Value {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        let st = res.status();
        let text = res.text().await.unwrap();
        assert!(st.is_success(), "POST {path}: {st} {text}");
        serde_json::from_str(&text).unwrap()
    }
    async fn admin_get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
    }
    /// `x-cm-pagination-total` of an operator list.
    async fn admin_total(&self, path: &str) -> i64 {
        let res = self.admin_get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        header_i64(&res, "x-cm-pagination-total")
    }
    async fn get(&self, acct: &Acct, url: &str) -> reqwest::Response {
        self.client
            .get(url)
            .header("X-CM-PRODUCTTOKEN", &acct.key)
            .send()
            .await
            .unwrap()
    }
    async fn post_request(&self, acct: &Acct, body: &Value) -> reqwest::Result<reqwest::Response> {
        self.client
            .post(format!("{}/numberrequests", self.nr(acct)))
            .header("X-CM-PRODUCTTOKEN", &acct.key)
            .json(body)
            .send()
            .await
    }
    async fn get_request(&self, acct: &Acct, id: &str) -> Value {
        let res = self
            .get(acct, &format!("{}/numberrequests/{id}", self.nr(acct)))
            .await;
        expect_json(res, StatusCode::OK).await
    }
    async fn events(&self, acct: &Acct, id: &str) -> Vec<Value> {
        let res = self
            .get(
                acct,
                &format!("{}/numberrequests/{id}/events", self.nr(acct)),
            )
            .await;
        expect_json(res, StatusCode::OK)
            .await
            .as_array()
            .unwrap()
            .clone()
    }
    /// An account with an approved NL profile; answers (account, profile id).
    async fn setup_customer(&self) -> (Acct, String) {
        let a = self
            .admin_post("/admin/v1/accounts", json!({"name": "Multi Corp"}))
            .await;
        let acct = Acct {
            id: s(&a["id"]),
            key: s(&a["apiKey"]),
            key_id: s(&a["apiKeyId"]),
            webhook_secret: s(&a["webhookSecret"]),
        };
        let res = self
            .client
            .post(format!(
                "{}/voice/companyprofilesapi/v1/{}/companyprofiles",
                self.base, acct.id
            ))
            .header("X-CM-PRODUCTTOKEN", &acct.key)
            .json(&profile_body())
            .send()
            .await
            .unwrap();
        let profile = s(&expect_json(res, StatusCode::CREATED).await["id"]);
        let p = self
            .admin_post(
                &format!("/admin/v1/companyprofiles/{profile}/approve"),
                json!({}),
            )
            .await;
        assert_eq!(p["status"], "Approved");
        (acct, profile)
    }
    async fn import_nl_local(&self, start: &str, count: u64) -> Value {
        self.admin_post(
            "/admin/v1/inventory",
            json!({"numbers": [{
                "start": start, "count": count, "countryCode": "NL", "phoneNumberType": "LOCAL",
                "areaCode": "20", "city": "Amsterdam", "region": null
            }]}),
        )
        .await
    }
}

/// The numbers of a request's assigned ranges.
fn numbers_of(req: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for r in req["ranges"].as_array().unwrap() {
        if r["start"].is_null() {
            continue;
        }
        let start: u64 = s(&r["start"]).trim_start_matches('+').parse().unwrap();
        let size = r["size"].as_u64().unwrap();
        for n in start..start + size {
            out.push(format!("+{n}"));
        }
    }
    out
}

/// Waits until the operator sees no `pending` delivery left (any channel); answers whether it
/// happened within `secs`.
async fn wait_no_pending(inst: &Inst, secs: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if inst
            .admin_total("/admin/v1/deliveries?state=pending&take=1")
            .await
            == 0
        {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn server_logs(servers: &[Served]) -> String {
    servers
        .iter()
        .enumerate()
        .map(|(i, s)| format!("instance {i}:\n{}", s.log_tail(15).join("\n")))
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// 1. Three instances, 15 clients, 360 numbers asked against 240 in stock
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_share_stock_exactly_and_send_each_callback_once() {
    let Some(base) = pg_base() else { return };
    let _shared = PG_LOCK.read().await;
    let db = fresh_database(&base).await;
    let (servers, _dirs) = start_servers(3, server_env(&db)).await;
    let insts: Vec<Inst> = servers.iter().map(|s| Inst::new(&s.address)).collect();

    let rx = Receiver::start().await; // always 200
    let (acct, profile) = insts[0].setup_customer().await;
    let imported = insts[1].import_nl_local("+31201000000", 240).await;
    assert_eq!(imported, json!({"added": 240, "duplicates": 0}));

    // 15 client tasks × 24 requests of one number = 360 numbers; task t talks to instance t % 3.
    let mut tasks = Vec::new();
    for t in 0..15usize {
        let inst = insts[t % 3].clone();
        let acct = acct.clone();
        let mut body = request_body(&profile, 1);
        body["callbackUrl"] = json!(rx.url(&format!("/hooks/{t}")));
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..24 {
                let res = inst.post_request(&acct, &body).await.expect("create");
                got.push(expect_json(res, StatusCode::CREATED).await);
            }
            got
        }));
    }
    let mut created = Vec::new();
    for t in tasks {
        created.extend(t.await.expect("client task panicked"));
    }
    assert_eq!(created.len(), 360);

    // No number twice, exactly 240 assigned, the rest Pending with nothing assigned.
    let mut seen = BTreeSet::new();
    let (mut completed, mut pending) = (0, 0);
    for r in &created {
        match r["status"].as_str().unwrap() {
            "Completed" => {
                completed += 1;
                let nums = numbers_of(r);
                assert_eq!(nums.len(), 1, "{r}");
                for n in nums {
                    assert!(seen.insert(n.clone()), "number {n} assigned twice");
                }
            }
            "Pending" => {
                pending += 1;
                assert!(
                    numbers_of(r).is_empty(),
                    "a Pending request holds numbers: {r}"
                );
            }
            other => panic!("unexpected status {other}: {r}"),
        }
    }
    assert_eq!((completed, pending), (240, 120));
    assert_eq!(seen.len(), 240);

    // What the customer and the operator see afterwards agrees, on every instance.
    for inst in &insts {
        let res = inst
            .get(&acct, &format!("{}/phonenumbers?take=1", inst.nr(&acct)))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(header_i64(&res, "x-cm-pagination-total"), 240);
        let res = inst
            .get(
                &acct,
                &format!("{}/numberrequests?status=Pending&take=1", inst.nr(&acct)),
            )
            .await;
        assert_eq!(header_i64(&res, "x-cm-pagination-total"), 120);
    }
    let mut held = BTreeSet::new();
    let mut skip = 0;
    loop {
        let res = insts[2]
            .get(
                &acct,
                &format!("{}/phonenumbers?skip={skip}&take=100", insts[2].nr(&acct)),
            )
            .await;
        let page = expect_json(res, StatusCode::OK).await;
        let page = page.as_array().unwrap();
        if page.is_empty() {
            break;
        }
        for p in page {
            assert!(held.insert(s(&p["phoneNumber"])), "listed twice: {p}");
        }
        skip += page.len();
    }
    assert_eq!(
        held, seen,
        "GET phonenumbers differs from the numbers the 201s announced"
    );
    let summary_rows = expect_json(
        insts[0].admin_get("/admin/v1/inventory/summary").await,
        StatusCode::OK,
    )
    .await;
    let row = summary_rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["countryCode"] == "NL" && r["areaCode"] == "20")
        .expect("summary row NL 20")
        .clone();
    assert_eq!(
        (&row["available"], &row["assigned"], &row["total"]),
        (&json!(0), &json!(240), &json!(240)),
        "{row}"
    );

    // Every status event's callback arrives exactly once.
    let ok = wait_no_pending(&insts[0], 30).await;
    assert!(
        ok,
        "deliveries still pending after 30 s; receiver got {}\n{}",
        rx.count(),
        server_logs(&servers)
    );
    tokio::time::sleep(Duration::from_millis(500)).await; // a duplicate would show by now
    let mut event_ids = BTreeSet::new();
    for (i, r) in created.iter().enumerate() {
        let inst = &insts[i % 3];
        let evs = inst.events(&acct, &s(&r["id"])).await;
        assert_eq!(evs.len(), 1, "one status so far, one event: {evs:?}");
        for e in evs {
            assert_eq!(e["callback"]["state"], "delivered", "{e}");
            assert_eq!(e["callback"]["attempts"], 1, "{e}");
            for m in e["emails"].as_array().unwrap() {
                assert_eq!(m["state"], "delivered", "{e}");
            }
            assert!(event_ids.insert(s(&e["id"])), "event id twice: {e}");
        }
    }
    assert_eq!(
        insts[1]
            .admin_total("/admin/v1/deliveries?state=failed&take=1")
            .await,
        0
    );
    let hits = rx.hits();
    let mut per_id: BTreeMap<String, usize> = BTreeMap::new();
    for h in &hits {
        *per_id.entry(h.webhook_id().to_string()).or_default() += 1;
    }
    let dupes: Vec<_> = per_id.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        dupes.is_empty(),
        "callbacks received more than once: {dupes:?}"
    );
    let got: BTreeSet<String> = per_id.keys().cloned().collect();
    assert_eq!(
        got,
        event_ids,
        "the receiver's webhook-ids differ from the events (hits: {})",
        hits.len()
    );
    assert_eq!(hits.len(), 360);
    println!(
        "three instances: {} requests, {} callbacks once each",
        created.len(),
        hits.len()
    );

    drop(servers);
    drop_postgres_database(&db).await;
}

// ---------------------------------------------------------------------------------------------
// 2. SIGKILL one of two instances under load
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_of_one_instance_loses_no_request_and_no_event() {
    let Some(base) = pg_base() else { return };
    let _shared = PG_LOCK.read().await;
    let db = fresh_database(&base).await;
    let mut env = server_env(&db);
    env.push(("NUMBERDESK_WEBHOOK_TIMEOUT_SECS", "1".into()));
    let (mut servers, _dirs) = start_servers(2, env).await;
    let a = Inst::new(&servers[0].address);
    let b = Inst::new(&servers[1].address);

    // A slow receiver, so the instances always have callbacks in flight.
    let rx = Receiver::start().await;
    rx.respond_with(|_| Reply::ok().delayed(Duration::from_millis(500)));
    let (acct, profile) = a.setup_customer().await;
    b.import_nl_local("+31202000000", 200).await;

    // 6 client tasks alternate between the instances, 12 creates each.
    let ok_count = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for t in 0..6usize {
        let (first, second) = if t % 2 == 0 {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        };
        let acct = acct.clone();
        let b_base = b.base.clone();
        let ok_count = ok_count.clone();
        let mut body = request_body(&profile, 1);
        body["callbackUrl"] = json!(rx.url(&format!("/crash/{t}")));
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for i in 0..12 {
                let inst = if i % 2 == 0 { &first } else { &second };
                let on_b = inst.base == b_base;
                match inst.post_request(&acct, &body).await {
                    Ok(res) if res.status() == StatusCode::CREATED => {
                        got.push(res.json::<Value>().await.unwrap());
                        ok_count.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(res) => {
                        let st = res.status();
                        let text = res.text().await.unwrap_or_default();
                        panic!("create on {} answered {st}: {text}", inst.base);
                    }
                    // The killed instance: connection refused or reset is what a client sees.
                    Err(e) => assert!(!on_b, "the surviving instance failed a create: {e}"),
                }
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
            got
        }));
    }
    // Kill A about a third of the way in.
    let deadline = Instant::now() + Duration::from_secs(30);
    while ok_count.load(Ordering::SeqCst) < 24 {
        assert!(Instant::now() < deadline, "creates too slow");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    servers[0].kill9();
    let killed_at = Instant::now();
    let mut created = Vec::new();
    for t in tasks {
        created.extend(t.await.expect("client task panicked"));
    }
    assert!(
        created.len() >= 40,
        "only {} creates succeeded",
        created.len()
    );

    // B keeps serving.
    let mut body = request_body(&profile, 1);
    body["callbackUrl"] = json!(rx.url("/crash/after"));
    let res = b.post_request(&acct, &body).await.unwrap();
    created.push(expect_json(res, StatusCode::CREATED).await);

    // Every 201 is still there with the same numbers; no number twice.
    let mut seen = BTreeSet::new();
    for r in &created {
        assert_eq!(r["status"], "Completed", "{r}");
        let now = b.get_request(&acct, &s(&r["id"])).await;
        assert_eq!(now["ranges"], r["ranges"], "request {} changed", r["id"]);
        assert_eq!(now["status"], r["status"]);
        for n in numbers_of(r) {
            assert!(seen.insert(n.clone()), "{n} assigned twice");
        }
    }

    // Every status event ends delivered: the dead instance's leases expire (timeout + 15 s).
    let pending_at_kill = b
        .admin_total("/admin/v1/deliveries?state=pending&take=1")
        .await;
    let ok = wait_no_pending(&b, 30).await;
    println!(
        "sigkill: {} requests with 201, {pending_at_kill} deliveries pending after the creates, \
         all delivered {:?} after the kill",
        created.len(),
        killed_at.elapsed()
    );
    let pending_left = b
        .admin_total("/admin/v1/deliveries?state=pending&take=1")
        .await;
    assert!(
        ok,
        "{pending_left} deliveries still pending 30 s after the kill\n{}",
        server_logs(&servers[1..])
    );
    assert_eq!(
        b.admin_total("/admin/v1/deliveries?state=failed&take=1")
            .await,
        0
    );
    let hit_ids: HashMap<String, usize> = rx.hits().iter().fold(HashMap::new(), |mut m, h| {
        *m.entry(h.webhook_id().to_string()).or_default() += 1;
        m
    });
    for r in &created {
        let evs = b.events(&acct, &s(&r["id"])).await;
        assert_eq!(evs.len(), 1, "{evs:?}");
        for e in evs {
            assert_eq!(e["callback"]["state"], "delivered", "{e}");
            for m in e["emails"].as_array().unwrap() {
                assert_eq!(m["state"], "delivered", "{e}");
            }
            assert!(
                hit_ids.contains_key(e["id"].as_str().unwrap()),
                "event {} delivered but never received: {:#?}",
                e["id"],
                summary(&rx.hits())
            );
        }
    }

    drop(servers);
    drop_postgres_database(&db).await;
}

// ---------------------------------------------------------------------------------------------
// 3. PostgreSQL goes away for a few seconds and comes back
// ---------------------------------------------------------------------------------------------

const PG_CTL: &str = "/usr/lib/postgresql/15/bin/pg_ctl";

fn pg_ctl(args: &str) -> std::process::Output {
    let pg_ctl = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|rd| {
            let mut v: Vec<_> = rd
                .filter_map(|e| e.ok().map(|e| e.path().join("bin/pg_ctl")))
                .filter(|p| p.exists())
                .collect();
            v.sort();
            v.pop()
        })
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| PG_CTL.to_string());
    std::process::Command::new("su")
        .args(["postgres", "-c", &format!("{pg_ctl} {args}")])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running pg_ctl through su")
}

/// `postmaster.opts` holds `/path/postgres "-D" "dir" "-p" "5432" ...`: answers what follows
/// the binary, for `pg_ctl start -o`.
fn start_options(data: &str) -> String {
    let opts = std::fs::read_to_string(format!("{data}/postmaster.opts"))
        .unwrap_or_else(|e| panic!("reading {data}/postmaster.opts: {e}"));
    let line = opts.lines().next().unwrap_or_default().trim();
    let rest = line.split_once(' ').map(|(_, r)| r).unwrap_or("");
    // Drop the -D pair: pg_ctl passes it itself.
    let mut words: Vec<String> = rest
        .split("\" \"")
        .map(|w| w.trim_matches('"').to_string())
        .collect();
    if let Some(i) = words.iter().position(|w| w == "-D") {
        words.drain(i..(i + 2).min(words.len()));
    }
    words.join(" ")
}

/// Starts the cluster again (idempotent: an already running cluster is left alone).
fn pg_start(data: &str, opts: &str) {
    let status = pg_ctl(&format!("-D {data} status"));
    if status.status.success() {
        return;
    }
    let out = pg_ctl(&format!(
        "-D {data} -l {data}/../restart.log -w -t 60 -o '{opts}' start"
    ));
    assert!(
        out.status.success(),
        "pg_ctl start failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Restarts the cluster when dropped, even if the test panics.
struct RestartGuard {
    data: String,
    opts: String,
}

impl Drop for RestartGuard {
    fn drop(&mut self) {
        let status = pg_ctl(&format!("-D {} status", self.data));
        if !status.status.success() {
            let _ = pg_ctl(&format!(
                "-D {} -l {}/../restart.log -w -t 60 -o '{}' start",
                self.data, self.data, self.opts
            ));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_outage_answers_503_and_service_resumes_by_itself() {
    let Some(base) = pg_base() else { return };
    let data = match std::env::var("NUMBERDESK_TEST_POSTGRES_DATA") {
        Ok(d) if !d.trim().is_empty() => d.trim().to_string(),
        _ => {
            println!("skipped: NUMBERDESK_TEST_POSTGRES_DATA not set");
            return;
        }
    };
    let _alone = PG_LOCK.write().await;
    let db = fresh_database(&base).await;
    let (servers, _dirs) = start_servers(1, server_env(&db)).await;
    let inst = Inst::new(&servers[0].address);
    let (acct, profile) = inst.setup_customer().await;
    inst.import_nl_local("+31203000000", 100).await;
    let body = request_body(&profile, 1);
    let res = inst.post_request(&acct, &body).await.unwrap();
    expect_json(res, StatusCode::CREATED).await;

    let opts = start_options(&data);
    let _guard = RestartGuard {
        data: data.clone(),
        opts: opts.clone(),
    };
    let out = pg_ctl(&format!("-D {data} -m fast -w stop"));
    assert!(
        out.status.success(),
        "pg_ctl stop failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // ~3 s of light load while the database is down.
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    // A light load for ~3 s: a call every 250 ms (create, list, readyz in turn), each on its own
    // task so that slow answers do not stretch the outage.
    let down_since = Instant::now();
    let mut calls = Vec::new();
    let mut i = 0usize;
    while down_since.elapsed() < Duration::from_secs(3) {
        let client = client.clone();
        let inst = inst.clone();
        let acct = acct.clone();
        let body = body.clone();
        calls.push(tokio::spawn(async move {
            let t = Instant::now();
            let (what, res) = match i % 3 {
                0 => (
                    "create",
                    client
                        .post(format!("{}/numberrequests", inst.nr(&acct)))
                        .header("X-CM-PRODUCTTOKEN", &acct.key)
                        .json(&body)
                        .send()
                        .await,
                ),
                1 => (
                    "list",
                    client
                        .get(format!("{}/numberrequests", inst.nr(&acct)))
                        .header("X-CM-PRODUCTTOKEN", &acct.key)
                        .send()
                        .await,
                ),
                _ => (
                    "readyz",
                    client.get(format!("{}/readyz", inst.base)).send().await,
                ),
            };
            match res {
                Ok(res) => {
                    let st = res.status().as_u16();
                    let text = res.text().await.unwrap_or_default();
                    (what.to_string(), st, t.elapsed(), text)
                }
                // 0: no HTTP answer at all (client timeout of 20 s, reset)
                Err(e) => (what.to_string(), 0, t.elapsed(), e.to_string()),
            }
        }));
        i += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut answers = Vec::new();
    for c in calls {
        answers.push(c.await.expect("call task panicked"));
    }
    let mut problems = Vec::new();
    for (what, st, took, _) in &answers {
        println!("outage: {what} -> {st} in {took:?}");
    }
    for (what, st, took, text) in &answers {
        if *st != 503 {
            problems.push(format!("{what}: {st} (want 503) after {took:?}: {text}"));
            continue;
        }
        if *took > Duration::from_secs(10) {
            problems.push(format!("{what}: took {took:?}"));
        }
        match serde_json::from_str::<Value>(text) {
            Ok(v) => {
                if let Err(e) = check_error_shape(&v) {
                    problems.push(format!("{what}: {e}"));
                }
            }
            Err(e) => problems.push(format!("{what}: body is not JSON ({e}): {text:?}")),
        }
    }

    // PostgreSQL comes back; the instance recovers without a restart.
    pg_start(&data, &opts);
    let back = Instant::now();
    let mut ready = false;
    while back.elapsed() < Duration::from_secs(15) {
        let res = client.get(format!("{}/readyz", inst.base)).send().await;
        if res.is_ok_and(|r| r.status() == StatusCode::OK) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut created_after = None;
    while ready && back.elapsed() < Duration::from_secs(15) {
        let res = inst.post_request(&acct, &body).await.unwrap();
        if res.status() == StatusCode::CREATED {
            created_after = Some(res.json::<Value>().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    assert!(
        problems.is_empty(),
        "answers while PostgreSQL was down:\n{}\n(server log: {})",
        problems.join("\n"),
        server_logs(&servers)
    );
    assert!(
        ready,
        "/readyz not 200 within 15 s after PostgreSQL came back"
    );
    let created_after = created_after.expect("no 201 within 15 s after PostgreSQL came back");
    assert_eq!(created_after["status"], "Completed");
    assert!(
        servers[0]
            .log_tail(200)
            .iter()
            .all(|l| !l.contains("panicked"))
    );

    drop(servers);
    drop_postgres_database(&db).await;
}
