//! Operator tools of the real binary: `backup` under load, `--version`, JSON logs.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_numberdesk");

/// The binary with no inherited `NUMBERDESK_*` settings, working in `dir`, on `db`.
fn cmd(dir: &Path, db: &Path) -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("NUMBERDESK_") || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c.current_dir(dir)
        .env(
            "NUMBERDESK_DATABASE_URL",
            format!("sqlite://{}", db.display()),
        )
        .env("NUMBERDESK_MAIL_DIR", dir.join("mail"))
        .env("NUMBERDESK_DATABASE_WAL_RESERVE_MIB", "1")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    c
}

/// One acknowledged create: when its answer arrived, and the answer.
struct Ack {
    at: Instant,
    body: Value,
}

/// A server under a steady create load; `numberdesk backup` copies its database meanwhile; a
/// second server on the copy has every request acknowledged before the backup began, with the
/// same numbers and events as the first; the load saw no error.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_under_load_keeps_every_acknowledged_request() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    let copy = dir.path().join("backups").join("copy.db");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    // SQLite on purpose, also when the suite runs on PostgreSQL: the command copies SQLite files.
    let app = spawn_app_in(dir.path(), |c| {
        c.database_url = format!("sqlite://{}", live.display())
    })
    .await;
    let acct = app.create_account("Backup Corp").await;
    let profile = app.approved_profile(&acct).await;
    app.import_nl_local("+31201000000", 60_000).await;

    let app = Arc::new(app);
    let stop = Arc::new(AtomicBool::new(false));
    let acks: Arc<Mutex<Vec<Ack>>> = Arc::default();
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut load = Vec::new();
    for worker in 0..4u32 {
        let (app, acct, profile) = (app.clone(), acct.clone(), profile.clone());
        let (stop, acks, errors) = (stop.clone(), acks.clone(), errors.clone());
        load.push(tokio::spawn(async move {
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let quantity = 1 + (worker + i) % 3;
                i += 1;
                let res = app
                    .post_request(&acct, &request_body(&profile, quantity))
                    .await;
                let status = res.status();
                let body: Value = res.json().await.unwrap_or(Value::Null);
                if status == StatusCode::CREATED && body["status"] == "Completed" {
                    acks.lock().unwrap().push(Ack {
                        at: Instant::now(),
                        body,
                    });
                } else {
                    errors.lock().unwrap().push(format!("{status}: {body}"));
                }
            }
        }));
    }
    let count = |acks: &Arc<Mutex<Vec<Ack>>>| acks.lock().unwrap().len();
    assert!(
        eventually(30, || async { count(&acks) >= 100 }).await,
        "the load got going"
    );

    let began = Instant::now();
    let out = tokio::task::spawn_blocking({
        let (dir, live, copy) = (dir.path().to_path_buf(), live.clone(), copy.clone());
        move || cmd(&dir, &live).arg("backup").arg(&copy).output().unwrap()
    })
    .await
    .unwrap();
    let ended = Instant::now();
    // The load goes on for a while after the backup, too.
    let after = count(&acks);
    eventually(10, || async { count(&acks) >= after + 50 }).await;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "backup failed: {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(stdout.trim()).expect("backup prints JSON");
    let bytes = std::fs::metadata(&copy).unwrap().len();
    // The API log's own file is copied beside the database's copy.
    let log_copy = dir.path().join("backups").join("copy.apilog.db");
    let log_bytes = std::fs::metadata(&log_copy).unwrap().len();
    assert_eq!(
        report,
        json!({"path": copy.display().to_string(), "bytes": bytes,
               "apiLog": {"path": log_copy.display().to_string(), "bytes": log_bytes}})
    );
    let errors = errors.lock().unwrap().clone();
    assert!(errors.is_empty(), "the load saw errors: {errors:?}");

    let acks = std::mem::take(&mut *acks.lock().unwrap());
    let before: Vec<&Ack> = acks.iter().filter(|a| a.at < began).collect();
    let during = acks
        .iter()
        .filter(|a| a.at >= began && a.at <= ended)
        .count();
    eprintln!(
        "backup took {:?}; {} requests acknowledged before it, {during} during it, {} in all",
        ended - began,
        before.len(),
        acks.len()
    );
    assert!(before.len() >= 100);

    let restored = spawn_app_in(dir.path(), |c| {
        c.database_url = format!("sqlite://{}", copy.display())
    })
    .await;
    let mut numbers = 0;
    for ack in &before {
        let id = s(&ack.body["id"]);
        let got = restored.get_request(&acct, &id).await;
        assert_eq!(got["status"], "Completed", "{got}");
        assert_eq!(got["ranges"], ack.body["ranges"], "numbers of {id}");
        assert_eq!(got, app.get_request(&acct, &id).await, "request {id}");
        // The events themselves; how far their mails had got by then may differ.
        let events = |list: Vec<Value>| -> Vec<Value> {
            list.into_iter()
                .map(|e| {
                    json!([
                        e["id"],
                        e["status"],
                        e["reason"],
                        e["occurredOn"],
                        e["numberRequestId"]
                    ])
                })
                .collect()
        };
        let copied = events(restored.events(&acct, &id).await);
        assert!(!copied.is_empty(), "events of {id}");
        assert_eq!(
            copied,
            events(app.events(&acct, &id).await),
            "events of {id}"
        );
        numbers += ack.body["quantity"].as_i64().unwrap();
    }
    let (_, total) = restored.all_phone_numbers(&acct).await;
    assert!(
        total >= numbers,
        "the copy lists {total} numbers, {numbers} were acknowledged before the backup"
    );
    // The calls before the backup are in the copy's API log.
    let log: Vec<Value> = restored
        .get(&acct, &format!("{}/apilog?take=10", restored.nr(&acct.id)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log.len(), 10, "the copy's API log lists the calls: {log:?}");
    restored.stop().await;
    if let Ok(app) = Arc::try_unwrap(app) {
        app.stop().await;
    }
}

#[test]
fn backup_never_overwrites_and_refuses_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nd.db");
    let st = cmd(dir.path(), &db).arg("migrate").output().unwrap();
    assert!(st.status.success());

    let target = dir.path().join("taken.db");
    std::fs::write(&target, b"keep me").unwrap();
    let out = cmd(dir.path(), &db)
        .arg("backup")
        .arg(&target)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read(&target).unwrap(), b"keep me");

    let fresh = dir.path().join("fresh.db");
    let out = cmd(dir.path(), &db)
        .env(
            "NUMBERDESK_DATABASE_URL",
            "postgres://nobody@127.0.0.1:1/none",
        )
        .arg("backup")
        .arg(&fresh)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("pg_dump"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(!fresh.exists());

    // A copy of an idle database opens and has the schema: `migrate` on it changes nothing.
    let out = cmd(dir.path(), &db)
        .arg("backup")
        .arg(&fresh)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let version = |path: &Path| -> Value {
        let out = cmd(dir.path(), path).arg("migrate").output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert_eq!(version(&fresh), version(&db));
}

#[test]
fn version_prints_the_name_and_the_package_version() {
    let dir = tempfile::tempdir().unwrap();
    let out = cmd(dir.path(), &dir.path().join("nd.db"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("numberdesk {}", env!("CARGO_PKG_VERSION"))
    );
    assert!(
        !dir.path().join("nd.db").exists(),
        "--version opens nothing"
    );
}

#[test]
fn log_format_must_be_text_or_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = cmd(dir.path(), &dir.path().join("nd.db"))
        .env("NUMBERDESK_LOG_FORMAT", "xml")
        .arg("migrate")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("NUMBERDESK_LOG_FORMAT"), "{stderr}");
}

/// With `NUMBERDESK_LOG_FORMAT=json` every line on standard error (the demo banner included) is
/// a JSON object with a
/// level and a message, a request's line carries its `requestId` at the top level (the caller's
/// or a generated one), and standard output stays empty.
#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = cmd(dir.path(), &dir.path().join("nd.db"))
        .env("NUMBERDESK_LOG_FORMAT", "json")
        .env("NUMBERDESK_LISTEN", "127.0.0.1:0")
        .args(["serve", "--demo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let address = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no listening line; got {lines:?}"));
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}"));
        lines.push(line);
        if let Some(a) = v["message"]
            .as_str()
            .and_then(|m| m.strip_prefix("listening on "))
        {
            break a.to_string();
        }
    };
    let res = client()
        .get(format!("{address}/healthz"))
        .header("x-request-id", "ops-test-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-request-id"], "ops-test-1");
    let res = client()
        .get(format!("{address}/no/such/path"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    reader.join().unwrap();
    lines.extend(rx.try_iter());
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    assert!(stdout.is_empty(), "{stdout:?}");
    for line in &lines {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}"));
        assert!(v.is_object(), "{line}");
        assert!(v["level"].is_string(), "{line}");
        assert!(v["timestamp"].is_string(), "{line}");
        assert!(v["message"].is_string(), "{line}");
    }
    assert!(
        lines.iter().any(|l| l.contains("shutting down")),
        "{lines:#?}"
    );
    // The demo banner is one JSON line too.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("demo-product-token") && l.contains("curl")),
        "{lines:#?}"
    );
    // The request's line carries its id as a top-level field, and so does a generated one.
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let finished: Vec<&Value> = parsed
        .iter()
        .filter(|v| v["message"] == "request finished")
        .collect();
    assert_eq!(finished.len(), 2, "{lines:#?}");
    assert_eq!(finished[0]["requestId"], "ops-test-1", "{lines:#?}");
    assert_eq!(finished[0]["status"], 200);
    assert_eq!(finished[0]["path"], "/healthz");
    assert_eq!(finished[1]["requestId"].as_str(), Some(generated.as_str()));
    assert_eq!(finished[1]["status"], 404);
    for v in &parsed {
        if v["message"] != "request finished" {
            assert!(v.get("requestId").is_none(), "outside a request: {v}");
        }
    }
}

/// In JSON mode a command's fatal error is a JSON line as well.
#[test]
fn json_format_reports_errors_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nd.db");
    let target = dir.path().join("taken.db");
    std::fs::write(&target, b"keep me").unwrap();
    let out = cmd(dir.path(), &db)
        .env("NUMBERDESK_LOG_FORMAT", "json")
        .arg("backup")
        .arg(&target)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert_eq!(lines[0]["level"], "ERROR");
    assert!(
        lines[0]["message"]
            .as_str()
            .unwrap()
            .contains("already exists"),
        "{stderr}"
    );
}
