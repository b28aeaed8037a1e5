//! The real binary: commands, configuration errors, `serve` and SIGTERM (docs/api.md).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_numberdesk");

/// A command with no inherited `NUMBERDESK_*` settings, working in `dir`, on `dir/nd.db`.
fn cmd(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
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
        .env("NUMBERDESK_MAIL_DIR", dir.join("mail"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    c
}

fn run(c: &mut Command) -> Output {
    c.output().expect("run numberdesk")
}

fn stdout_json(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {text}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {text:?}"))
}

#[test]
fn migrate_prints_the_schema_version_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(cmd(dir.path()).arg("migrate"));
    let v = stdout_json(&out);
    let obj = v.as_object().expect("object");
    assert_eq!(obj.len(), 1, "{v}");
    let n = v["schemaVersion"]
        .as_i64()
        .expect("schemaVersion is an integer");
    assert!(n >= 1, "{v}");
    assert!(dir.path().join("nd.db").exists());
    // a second run is a no-op with the same version
    let again = stdout_json(&run(cmd(dir.path()).arg("migrate")));
    assert_eq!(again, v);
}

#[test]
fn migrate_creates_the_database_folder() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a").join("b").join("nd.db");
    let out = run(cmd(dir.path()).arg("migrate").env(
        "NUMBERDESK_DATABASE_URL",
        format!("sqlite://{}", db.display()),
    ));
    stdout_json(&out);
    assert!(db.exists());
}

#[tokio::test]
async fn account_create_prints_the_account_with_its_api_key_which_then_works() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(cmd(dir.path()).args(["account", "create", "--name", "Cli Corp"]));
    let v = stdout_json(&out);
    let keys: std::collections::BTreeSet<&str> =
        v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "apiKey",
            "apiKeyId",
            "createdOn",
            "id",
            "name",
            "webhookSecret"
        ]
        .into(),
        "{v}"
    );
    assert_eq!(v["name"], "Cli Corp");
    assert!(s(&v["webhookSecret"]).starts_with("whsec_"));
    assert_uuid(&v["id"]);

    // The command line ran on the folder's SQLite file; read it back from there.
    let app = spawn_app_in(dir.path(), |c| {
        c.database_url = format!("sqlite://{}/nd.db", dir.path().display())
    })
    .await;
    let acct = Acct {
        id: s(&v["id"]),
        key: s(&v["apiKey"]),
        key_id: s(&v["apiKeyId"]),
        webhook_secret: s(&v["webhookSecret"]),
    };
    let res = app
        .get(
            &acct,
            &format!("{}/numberrequests/statuses", app.nr(&acct.id)),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn inventory_import_prints_added_and_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("stock.csv");
    std::fs::write(
        &csv,
        "phoneNumber,start,count,countryCode,phoneNumberType,areaCode,city,region\n\
         +31201000000,,,NL,LOCAL,20,Amsterdam,\n\
         ,+31201000010,5,NL,LOCAL,20,Amsterdam,\n",
    )
    .unwrap();
    let v = stdout_json(&run(cmd(dir.path())
        .args(["inventory", "import"])
        .arg(&csv)));
    assert_eq!(v, json!({"added": 6, "duplicates": 0}));
    let v = stdout_json(&run(cmd(dir.path())
        .args(["inventory", "import"])
        .arg(&csv)));
    assert_eq!(v, json!({"added": 0, "duplicates": 6}));

    // The command line ran on the folder's SQLite file; read it back from there.
    let app = spawn_app_in(dir.path(), |c| {
        c.database_url = format!("sqlite://{}/nd.db", dir.path().display())
    })
    .await;
    assert_eq!(app.stock_counts("NL", "LOCAL", "20").await.total, 6);
    app.stop().await;
}

#[tokio::test]
async fn inventory_import_refuses_numbers_outside_the_plan_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("stock.csv");
    std::fs::write(
        &csv,
        "phoneNumber,start,count,countryCode,phoneNumberType,areaCode,city,region\n\
         +31201000000,,,NL,LOCAL,20,Amsterdam,\n\
         +12125559999,,,NL,LOCAL,20,Amsterdam,\n",
    )
    .unwrap();
    let out = run(cmd(dir.path()).args(["inventory", "import"]).arg(&csv));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("numbers[1].phoneNumber"), "{stderr}");

    let app = spawn_app_in(dir.path(), |c| {
        c.database_url = format!("sqlite://{}/nd.db", dir.path().display())
    })
    .await;
    assert!(app.stock_summary().await.is_empty(), "nothing was added");
    app.stop().await;
}

#[test]
fn inventory_import_of_a_missing_file_fails_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(cmd(dir.path()).args(["inventory", "import", "does-not-exist.csv"]));
    assert!(!out.status.success());
    assert!(!out.stderr.is_empty());
}

#[test]
fn bad_setting_exits_2_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("NUMBERDESK_AGING_SECS", "abc"),
        ("NUMBERDESK_LISTEN", "nonsense"),
        ("NUMBERDESK_RATE_LIMIT", "-1"),
        ("NUMBERDESK_ALLOW_PRIVATE_CALLBACKS", "maybe"),
        ("NUMBERDESK_WEBHOOK_RETRY_SCHEDULE", "5,x"),
        ("NUMBERDESK_WEBHOOK_TIMEOUT_SECS", "0"),
        ("NUMBERDESK_DATABASE_URL", "mysql://x"),
        ("NUMBERDESK_DATABASE_WAL_RESERVE_MIB", "5000"),
    ] {
        let out = run(cmd(dir.path()).arg("migrate").env(var, value));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{var}={value}: exit {:?}, stderr: {stderr}",
            out.status
        );
        assert!(
            stderr.contains(var),
            "{var}={value}: stderr does not name it: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{var}: nothing on stdout");
    }
}

#[test]
fn config_file_is_read_before_or_after_the_command_and_env_beats_it() {
    let dir = tempfile::tempdir().unwrap();
    let file_db = dir.path().join("from-file.db");
    let env_db = dir.path().join("from-env.db");
    let cfg = dir.path().join("nd.toml");
    std::fs::write(
        &cfg,
        format!(
            "database_url = \"sqlite://{}\"\nwebhook_retry_schedule = [5, 300]\n",
            file_db.display()
        ),
    )
    .unwrap();

    let mut c = cmd(dir.path());
    c.env_remove("NUMBERDESK_DATABASE_URL")
        .arg("--config")
        .arg(&cfg)
        .arg("migrate");
    stdout_json(&run(&mut c));
    assert!(file_db.exists());
    std::fs::remove_file(&file_db).unwrap();

    let mut c = cmd(dir.path());
    c.env_remove("NUMBERDESK_DATABASE_URL")
        .arg("migrate")
        .arg("--config")
        .arg(&cfg);
    stdout_json(&run(&mut c));
    assert!(file_db.exists(), "--config after the command name");
    std::fs::remove_file(&file_db).unwrap();

    let mut c = cmd(dir.path());
    c.env(
        "NUMBERDESK_DATABASE_URL",
        format!("sqlite://{}", env_db.display()),
    )
    .arg("--config")
    .arg(&cfg)
    .arg("migrate");
    stdout_json(&run(&mut c));
    assert!(env_db.exists(), "environment beats the file");
    assert!(!file_db.exists());
}

#[test]
fn bad_value_in_config_file_exits_2_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("nd.toml");
    std::fs::write(&cfg, "aging_secs = \"abc\"\n").unwrap();
    let out = run(cmd(dir.path()).arg("--config").arg(&cfg).arg("migrate"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.to_lowercase().contains("aging_secs"),
        "stderr: {stderr}"
    );
}

/// A running `numberdesk serve`; killed on drop if still running.
struct Served {
    child: Child,
    address: String,
    lines: mpsc::Receiver<String>,
    reader: Option<std::thread::JoinHandle<()>>,
    seen: Vec<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn serve(dir: &Path, args: &[&str], configure: impl FnOnce(&mut Command)) -> Served {
    let mut c = cmd(dir);
    c.env("NUMBERDESK_LISTEN", "127.0.0.1:0")
        .arg("serve")
        .args(args);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    configure(&mut c);
    let mut child = c.spawn().expect("spawn numberdesk serve");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    let address = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let found = line.find("listening on http://").map(|i| {
                    let rest = &line[i + "listening on http://".len()..];
                    rest.chars()
                        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                        .collect::<String>()
                });
                seen.push(line);
                if let Some(addr) = found {
                    break format!("http://{addr}");
                }
            }
            Err(_) => {
                let _ = child.kill();
                panic!("no 'listening on http://' line on stderr; got: {seen:#?}");
            }
        }
    };
    Served {
        child,
        address,
        lines: rx,
        reader: Some(reader),
        seen,
    }
}

impl Served {
    /// Sends SIGTERM and waits for the exit; answers (exit code, stdout, all stderr lines).
    fn terminate(mut self) -> (Option<i32>, String, Vec<String>) {
        let pid = self.child.id().to_string();
        let st = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(st.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("serve did not exit within 20 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            out.read_to_string(&mut stdout).unwrap();
        }
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        let mut lines = std::mem::take(&mut self.seen);
        lines.extend(self.lines.try_iter());
        (status.code(), stdout, lines)
    }
}

#[tokio::test]
async fn serve_logs_its_address_and_sigterm_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), &[], |c| {
        c.env("NUMBERDESK_ADMIN_TOKEN", "cli-admin");
    });
    let client = client();
    let res = client
        .get(format!("{}/healthz", served.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = client
        .get(format!("{}/readyz", served.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = client
        .post(format!("{}/admin/v1/accounts", served.address))
        .bearer_auth("cli-admin")
        .json(&json!({"name": "via serve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    let (code, stdout, _) = served.terminate();
    assert_eq!(code, Some(0), "SIGTERM must exit 0");
    assert!(
        stdout.is_empty(),
        "serve prints nothing on stdout: {stdout:?}"
    );
}

#[tokio::test]
async fn sigterm_finishes_requests_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), &[], |c| {
        c.env("NUMBERDESK_ADMIN_TOKEN", "cli-admin");
    });
    // a larger import in flight while the signal arrives
    let client = client();
    let url = format!("{}/admin/v1/inventory", served.address);
    let inflight = tokio::spawn(async move {
        client
            .post(url)
            .bearer_auth("cli-admin")
            .json(&json!({"numbers": [{"start": "+31201000000", "count": 5000, "countryCode": "NL",
                                       "phoneNumberType": "LOCAL", "areaCode": "20", "city": "Amsterdam"}]}))
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (code, _, _) = tokio::task::spawn_blocking(move || served.terminate())
        .await
        .unwrap();
    assert_eq!(code, Some(0));
    let res = inflight
        .await
        .unwrap()
        .expect("the request in flight gets its answer");
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["added"], 5000);
}

#[tokio::test]
async fn serve_demo_seeds_a_usable_world_once() {
    let dir = tempfile::tempdir().unwrap();
    let demo_acct = Acct {
        id: "00000000-0000-0000-0000-000000000001".into(),
        key: "demo-product-token".into(),
        key_id: String::new(),
        webhook_secret: String::new(),
    };
    let client = client();
    let mut first_summary = None;
    for round in 0..2 {
        let served = serve(dir.path(), &["--demo"], |_| {});
        let base = served.address.clone();
        let nr = format!("{base}/voice/phonenumberrequestapi/v1/{}", demo_acct.id);
        let cp = format!("{base}/voice/companyprofilesapi/v1/{}", demo_acct.id);

        let res = client
            .get(format!("{cp}/companyprofiles"))
            .header("X-CM-PRODUCTTOKEN", &demo_acct.key)
            .send()
            .await
            .unwrap();
        let profiles = expect_json(res, StatusCode::OK).await;
        let profiles = profiles.as_array().unwrap();
        assert_eq!(profiles.len(), 2, "round {round}: {profiles:?}");
        let nl = profiles
            .iter()
            .find(|p| p["numberCountryCode"] == "NL")
            .expect("NL profile");
        let us = profiles
            .iter()
            .find(|p| p["numberCountryCode"] == "US")
            .expect("US profile");
        assert_eq!(nl["status"], "Approved");
        assert_eq!(us["status"], "Approved");

        let res = client
            .get(format!("{base}/admin/v1/inventory/summary"))
            .bearer_auth("demo-admin-token")
            .send()
            .await
            .unwrap();
        let summary = expect_json(res, StatusCode::OK).await;
        let total_of = |cc: &str, ty: &str, area: &str| -> i64 {
            summary
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| {
                    r["countryCode"] == cc && r["phoneNumberType"] == ty && r["areaCode"] == area
                })
                .map(|r| r["total"].as_i64().unwrap())
                .sum()
        };
        assert_eq!(total_of("NL", "LOCAL", "20"), 1000);
        assert_eq!(total_of("NL", "LOCAL", "10"), 1000);
        assert_eq!(total_of("NL", "TOLLFREE", "800"), 100);
        assert_eq!(total_of("US", "LOCAL", "212"), 1000);
        if round == 0 {
            first_summary = Some(summary.clone());
            let res = client
                .post(format!("{nr}/numberrequests"))
                .header("X-CM-PRODUCTTOKEN", &demo_acct.key)
                .json(&json!({"companyProfileId": nl["id"], "quantity": 1, "phoneNumberType": "LOCAL", "areaCode": "20"}))
                .send()
                .await
                .unwrap();
            let req = expect_json(res, StatusCode::CREATED).await;
            assert_eq!(req["status"], "Completed", "{req}");
            let n: u64 = s(&req["ranges"][0]["start"])
                .trim_start_matches('+')
                .parse()
                .unwrap();
            assert!((31201000000..=31201000999).contains(&n), "{n}");
        } else {
            // seeding again added nothing; the number taken in round 0 is still assigned
            let first = first_summary.as_ref().unwrap();
            let assigned = |v: &Value| -> i64 {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["assigned"].as_i64().unwrap())
                    .sum()
            };
            assert_eq!(assigned(&summary), 1);
            assert_eq!(assigned(first), 0);
        }
        let (code, stdout, lines) = served.terminate();
        assert_eq!(code, Some(0));
        assert!(
            stdout.is_empty(),
            "serve --demo prints nothing on stdout: {stdout:?}"
        );
        let all = lines.join("\n");
        assert!(
            all.contains("demo-product-token"),
            "demo banner on stderr: {all}"
        );
        assert!(all.contains("curl"), "demo banner has a curl: {all}");
    }
}

/// Under 2,000 idle connections and 200 slow-header ones from one address, against a server
/// started with a soft limit of 1,024 descriptors, a normal client is still served at once, and
/// the server closes the slow connections.
#[tokio::test]
async fn idle_and_slow_connections_do_not_stop_the_service() {
    use std::os::unix::process::CommandExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), &["--demo"], |c| {
        c.env("NUMBERDESK_HEADER_READ_TIMEOUT_SECS", "4");
        // SAFETY: setrlimit is async-signal-safe; it only changes the child's own limit.
        unsafe {
            c.pre_exec(|| {
                let mut lim = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
                    lim.rlim_cur = 1024.min(lim.rlim_max);
                    libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
                }
                Ok(())
            });
        }
    });
    let host = served.address.trim_start_matches("http://").to_string();
    let mut idle = Vec::new();
    for _ in 0..2000 {
        idle.push(tokio::net::TcpStream::connect(&host).await.unwrap());
    }
    let started = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..200 {
        let host = host.clone();
        slow.push(tokio::spawn(async move {
            let mut s = tokio::net::TcpStream::connect(&host).await.unwrap();
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\n").await;
            let mut buf = [0u8; 64];
            loop {
                tokio::select! {
                    read = s.read(&mut buf) => match read {
                        Ok(0) | Err(_) => return started.elapsed(),
                        Ok(_) => {}
                    },
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {
                        if s.write_all(b"X-Slow: 1\r\n").await.is_err() {
                            return started.elapsed();
                        }
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The well-behaved client comes from another loopback address, with a one-second budget.
    let normal = reqwest::Client::builder()
        .no_proxy()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let res = normal
        .get(format!("{}/healthz", served.address))
        .send()
        .await
        .expect("/healthz within a second");
    assert_eq!(res.status(), StatusCode::OK);
    let res = normal
        .post(format!(
            "{}/voice/phonenumberrequestapi/v1/00000000-0000-0000-0000-000000000001/numberrequests",
            served.address
        ))
        .header("X-CM-PRODUCTTOKEN", "demo-product-token")
        .json(&json!({
            "companyProfileId": "00000000-0000-0000-0000-000000000011",
            "phoneNumberType": "LOCAL",
            "areaCode": "20",
            "quantity": 1
        }))
        .send()
        .await
        .expect("a create within a second");
    assert_eq!(res.status(), StatusCode::CREATED);

    for task in slow {
        let closed_after = tokio::time::timeout(Duration::from_secs(15), task)
            .await
            .expect("a slow connection stayed open 15 s")
            .unwrap();
        assert!(
            closed_after < Duration::from_secs(10),
            "a slow connection was closed only after {closed_after:?}"
        );
    }
    let (code, _, lines) = served.terminate();
    assert_eq!(code, Some(0));
    assert!(
        !lines.iter().any(|l| l.contains("Too many open files")),
        "the server ran out of descriptors: {lines:#?}"
    );
    drop(idle);
}

#[tokio::test]
async fn serve_logs_each_request_with_its_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), &[], |c| {
        c.env("NUMBERDESK_ADMIN_TOKEN", "cli-admin")
            .env("RUST_LOG", "info");
    });
    let client = client();
    let res = client
        .get(format!("{}/admin/v1/accounts", served.address))
        .bearer_auth("cli-admin")
        .header("X-Request-Id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = client
        .get(format!("{}/healthz", served.address))
        .send()
        .await
        .unwrap();
    let generated = res
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap()
        .to_string();
    let (_, _, lines) = tokio::task::spawn_blocking(move || served.terminate())
        .await
        .unwrap();
    for id in ["trace-me-42", generated.as_str()] {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(id) && l.contains("requestId")),
            "no log line with requestId {id}: {lines:#?}"
        );
    }
}

/// The server's own log output, at its most verbose, holds neither the API key nor any part of
/// a request body, while it does name the calls by request id.
#[tokio::test]
async fn server_logs_hold_no_api_key_and_no_request_body() {
    let dir = tempfile::tempdir().unwrap();
    let account = stdout_json(&run(
        cmd(dir.path()).args(["account", "create", "--name", "Logs"])
    ));
    let (id, key) = (
        account["id"].as_str().unwrap().to_string(),
        account["apiKey"].as_str().unwrap().to_string(),
    );
    let served = serve(dir.path(), &[], |c| {
        c.env("RUST_LOG", "trace");
    });
    let client = client();
    let cp = format!("{}/voice/companyprofilesapi/v1/{id}", served.address);
    let nr = format!("{}/voice/phonenumberrequestapi/v1/{id}", served.address);
    let marker = "BODY-MARKER-93e1";
    let mut profile = crate::helpers::profile_body();
    profile["name"] = json!(marker);
    profile["street"] = json!(marker);
    let res = client
        .post(format!("{cp}/companyprofiles"))
        .header("X-CM-PRODUCTTOKEN", &key)
        .header("X-Request-Id", "no-secrets-1")
        .json(&profile)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = client
        .post(format!("{nr}/numberrequests"))
        .header("X-CM-PRODUCTTOKEN", &key)
        .json(&json!({"companyProfileId": marker, "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = client
        .get(format!("{nr}/apilog"))
        .header("X-CM-PRODUCTTOKEN", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, _, lines) = tokio::task::spawn_blocking(move || served.terminate())
        .await
        .unwrap();
    assert!(
        lines.iter().any(|l| l.contains("no-secrets-1")),
        "the calls are logged: {lines:#?}"
    );
    for secret in [key.as_str(), marker] {
        let hits: Vec<&String> = lines.iter().filter(|l| l.contains(secret)).collect();
        assert!(hits.is_empty(), "{secret} in the server log: {hits:#?}");
    }
}
