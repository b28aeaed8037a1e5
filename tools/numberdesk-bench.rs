//! numberdesk-bench: the load driver (see BENCHMARKS.md).
//!
//! It starts its own server (the `numberdesk` binary beside it, on a temporary SQLite database
//! unless `--database-url` names another, one or more instances) or targets `--url`, builds the
//! world through the public API (an account, an approved NL `LOCAL` profile, restrictions that
//! allow ranges, N numbers of stock), then drives one scenario for a given time with a given
//! number of HTTP/1.1 keep-alive connections, and prints throughput, latency percentiles,
//! errors and the server's peak RSS. `--scenario db-create` runs the create transaction in
//! process with no HTTP, for the database's own ceiling; `--scenario healthz` gives the HTTP
//! ceiling.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use bytes::Bytes;
use clap::{Parser, ValueEnum};
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// POST a request for one number (assigned at once).
    Create,
    /// POST a request for one aligned range of 100 numbers.
    CreateRanges,
    /// GET one request by id (from requests created during set-up).
    Get,
    /// GET a page of the request list (`--skip`, `--take`).
    List,
    /// 40 % get, 40 % list page, 20 % create.
    Mixed,
    /// Creates with a callbackUrl to a receiver in the driver; reports callbacks received/s.
    Callbacks,
    /// GET /healthz: the HTTP ceiling.
    Healthz,
    /// The create transaction in process, no HTTP: the database ceiling.
    DbCreate,
    /// An account comes to hold all `--stock` numbers (requests of 1,000 single numbers, or of
    /// `--usage-range-size` blocks); then times the month's CSV usage export and samples the
    /// server's memory while it streams.
    UsageCsv,
    /// `--open-requests` Pending requests, each for an area code of its own with no stock, then
    /// the server's CPU time while nothing happens and the time an import of one number takes.
    Sweep,
}

#[derive(Parser, Debug)]
#[command(name = "numberdesk-bench", about = "Load driver for numberdesk")]
struct Args {
    #[arg(long, value_enum, default_value = "create")]
    scenario: Scenario,
    /// Concurrent connections (tasks for db-create).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Numbers of stock to import during set-up.
    #[arg(long, default_value_t = 1_000_000)]
    stock: i64,
    /// Requests to create during set-up (get and list read them).
    #[arg(long, default_value_t = 1_000)]
    seed_requests: usize,
    /// `skip` of the list scenario; several (`0,900000`) measure one after the other on the
    /// same world.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    skip: Vec<u64>,
    /// Also measure each `skip` S > 0 by keyset: `after=<id of item S-1>` (the same page).
    #[arg(long)]
    keyset: bool,
    /// `take` of the list scenario.
    #[arg(long, default_value_t = 25)]
    take: u64,
    /// Target a running server instead of starting one (its admin token: --admin-token).
    #[arg(long)]
    url: Option<String>,
    #[arg(
        long,
        env = "NUMBERDESK_ADMIN_TOKEN",
        default_value = "bench-admin-token"
    )]
    admin_token: String,
    /// Database of the servers the driver starts (default: a temporary SQLite file).
    #[arg(long)]
    database_url: Option<String>,
    /// Server processes to start on the same database (PostgreSQL for more than one).
    #[arg(long, default_value_t = 1)]
    instances: usize,
    /// The numberdesk binary (default: the one beside this driver).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Extra NAME=VALUE environment for the servers the driver starts.
    #[arg(long = "server-env")]
    server_env: Vec<String>,
    /// usage-csv: the holding's requests ask for blocks of this size instead of single numbers.
    #[arg(long)]
    usage_range_size: Option<i64>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Open requests of the sweep scenario (each with a criterion of its own).
    #[arg(long, default_value_t = 20_000)]
    open_requests: usize,
    /// Web console pages per second fetched during the measured window by one signed-in
    /// customer of the load's account (overview, order form, requests, numbers, usage, prices,
    /// API log in turn), as people using the console while the API is busy; 0: none.
    #[arg(long, default_value_t = 0.0)]
    console_pages: f64,
}

const ADMIN: &str = "/admin/v1";

/// The benches' set-up (an account with an approved NL `LOCAL` profile, written straight to the
/// database), shared with `db-create`.
#[path = "../benches/common/mod.rs"]
mod common;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let reports = if args.scenario == Scenario::DbCreate {
        vec![db_create(&args).await?]
    } else {
        let tmp = tempfile::tempdir()?;
        let mut servers = Servers::default();
        let targets: Vec<SocketAddr> = match &args.url {
            Some(url) => vec![addr_of(url)?],
            None => servers.start(&args, tmp.path()).await?,
        };
        if args.scenario == Scenario::UsageCsv {
            let result = usage_csv(&args, targets[0], &servers).await;
            servers.stop();
            return result;
        }
        if args.scenario == Scenario::Sweep {
            sweep(&args, targets[0], &servers).await?;
            if servers.children.is_empty() {
                return Ok(());
            }
            let idle = servers.stop();
            println!(
                "shutdown: SIGTERM to exit took {:.0} ms after the idle window",
                idle.as_secs_f64() * 1000.0
            );
            // A restart on the same database runs the full pass over every open request; a
            // SIGTERM right after the server is ready must not wait for that pass to end.
            servers.start(&args, tmp.path()).await?;
            let busy = servers.stop();
            println!(
                "shutdown: SIGTERM to exit took {:.0} ms right after a restart over {} open requests",
                busy.as_secs_f64() * 1000.0,
                args.open_requests
            );
            return Ok(());
        }
        let result = http_run(&args, &targets, &servers).await;
        servers.stop();
        result?
    };
    for r in reports {
        r.print(&args);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Servers started by the driver

#[derive(Default)]
struct Servers {
    children: Vec<Child>,
}

impl Servers {
    async fn start(
        &mut self,
        args: &Args,
        dir: &std::path::Path,
    ) -> anyhow::Result<Vec<SocketAddr>> {
        let bin = match &args.server_bin {
            Some(p) => p.clone(),
            None => std::env::current_exe()?
                .parent()
                .context("driver path")?
                .join("numberdesk"),
        };
        ensure!(
            bin.exists(),
            "server binary {} not found; build it or pass --server-bin",
            bin.display()
        );
        let database_url = args
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/bench.db", dir.display()));
        let smtp = smtp_sink().await?;
        let mut addrs = Vec::new();
        for i in 0..args.instances.max(1) {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
            let log = std::fs::File::create(dir.join(format!("server-{i}.log")))?;
            let mut cmd = Command::new(&bin);
            cmd.arg("serve")
                .env("NUMBERDESK_LISTEN", addr.to_string())
                .env("NUMBERDESK_DATABASE_URL", &database_url)
                .env("NUMBERDESK_ADMIN_TOKEN", &args.admin_token)
                .env("NUMBERDESK_SMTP_URL", &smtp)
                .env("NUMBERDESK_ALLOW_PRIVATE_CALLBACKS", "true")
                .env("NUMBERDESK_RATE_LIMIT", "0")
                .env("NUMBERDESK_MAX_OPEN_REQUESTS", "1000000")
                // The load includes each event's e-mail, as before addresses were confirmed
                // and budgeted: the profiles are made by the driver, not confirmed by anyone.
                .env("NUMBERDESK_CONFIRM_EMAILS", "false")
                .env("NUMBERDESK_EMAIL_HOURLY_LIMIT", "0")
                .env(
                    "RUST_LOG",
                    std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
                )
                .stdout(Stdio::null())
                .stderr(log);
            for kv in &args.server_env {
                let (k, v) = kv
                    .split_once('=')
                    .context("--server-env takes NAME=VALUE")?;
                cmd.env(k, v);
            }
            self.children.push(
                cmd.spawn()
                    .with_context(|| format!("starting {}", bin.display()))?,
            );
            wait_ready(addr).await.with_context(|| {
                format!(
                    "server {i} did not become ready; see its log in {}",
                    dir.display()
                )
            })?;
            addrs.push(addr);
        }
        Ok(addrs)
    }

    fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }

    /// Sends SIGTERM to every server so it exits cleanly, reaps them, and answers how long
    /// that took.
    fn stop(&mut self) -> Duration {
        let started = Instant::now();
        for c in &mut self.children {
            let _ = Command::new("kill").arg(c.id().to_string()).status();
        }
        for mut c in self.children.drain(..) {
            let _ = c.wait();
        }
        started.elapsed()
    }
}

async fn wait_ready(addr: SocketAddr) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut c) = Conn::open(addr).await
            && let Ok((StatusCode::OK, _)) = c.call(Method::GET, "/readyz", None, &[]).await
        {
            return Ok(());
        }
        ensure!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn addr_of(url: &str) -> anyhow::Result<SocketAddr> {
    let u = url::Url::parse(url)?;
    ensure!(u.scheme() == "http", "only http:// targets are supported");
    let host = u.host_str().context("url without host")?;
    let port = u.port_or_known_default().unwrap_or(80);
    std::net::ToSocketAddrs::to_socket_addrs(&(host, port))?
        .next()
        .context("url does not resolve")
}

/// Resident set sizes (VmRSS, VmHWM) of a process, in KiB.
fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse::<u64>()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

// ---------------------------------------------------------------------------------------------
// A keep-alive HTTP/1.1 connection

struct Conn {
    send: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Conn {
    async fn open(addr: SocketAddr) -> anyhow::Result<Conn> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (send, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn {
            send,
            host: addr.to_string(),
        })
    }

    /// One request; answers the status, the headers and the body.
    async fn exchange(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<(StatusCode, hyper::HeaderMap, Bytes)> {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        if body.is_some()
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            b = b.header("content-type", "application/json");
        }
        let req = b.body(Full::new(body.unwrap_or_default()))?;
        self.send.ready().await?;
        let (parts, body) = self.send.send_request(req).await?.into_parts();
        let bytes = body.collect().await?.to_bytes();
        Ok((parts.status, parts.headers, bytes))
    }

    async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let (status, _, bytes) = self.exchange(method, path, body, headers).await?;
        Ok((status, bytes))
    }
}

/// The account and profile the load runs as.
#[derive(Clone)]
struct World {
    account_id: String,
    api_key: String,
    profile_id: String,
    request_ids: Arc<Vec<String>>,
    callback_url: Option<String>,
}

impl World {
    fn nr(&self, rest: &str) -> String {
        format!("/voice/phonenumberrequestapi/v1/{}{rest}", self.account_id)
    }

    fn create_body(&self, range_size: Option<i64>) -> Bytes {
        let mut body = json!({
            "companyProfileId": self.profile_id,
            "quantity": 1,
            "phoneNumberType": "LOCAL",
            "areaCode": "20",
        });
        if let Some(s) = range_size {
            body["rangeSize"] = json!(s);
        }
        if let Some(url) = &self.callback_url {
            body["callbackUrl"] = json!(url);
        }
        Bytes::from(body.to_string())
    }
}

async fn admin(
    c: &mut Conn,
    token: &str,
    method: Method,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let auth = format!("Bearer {token}");
    let body = (!body.is_null()).then(|| Bytes::from(body.to_string()));
    let (status, bytes) = c
        .call(
            method,
            &format!("{ADMIN}{path}"),
            body,
            &[("authorization", &auth)],
        )
        .await?;
    ensure!(
        status.is_success(),
        "{path}: {status} {}",
        String::from_utf8_lossy(&bytes)
    );
    Ok(serde_json::from_slice(&bytes)?)
}

fn stock_entry(first: i64, count: i64) -> Value {
    json!({"start": format!("+{first}"), "count": count, "countryCode": "NL",
           "phoneNumberType": "LOCAL", "areaCode": "20", "city": "Amsterdam"})
}

const STOCK_BASE: i64 = 31_200_000_000;

/// Two-digit Dutch area prefixes whose ten million numbers (`+31 AA 0000000` to `+31 AA 9999999`)
/// are all valid fixed-line numbers: each further stock run goes into the next one, since the
/// server refuses numbers outside the numbering plan.
const STOCK_AREAS: [i64; 25] = [
    20, 23, 24, 26, 30, 33, 35, 36, 38, 40, 43, 45, 46, 50, 53, 55, 58, 70, 71, 72, 73, 74, 75, 76,
    77,
];

/// The first number of the `k`-th stock run of the benchmark.
fn stock_first(k: i64) -> i64 {
    31_000_000_000 + STOCK_AREAS[k as usize % STOCK_AREAS.len()] * 10_000_000
}

/// Builds the world through the public API; prints the import rate.
async fn setup(
    args: &Args,
    addr: SocketAddr,
    callback_url: Option<String>,
) -> anyhow::Result<World> {
    let mut c = Conn::open(addr).await?;
    let token = &args.admin_token;
    let account = admin(
        &mut c,
        token,
        Method::POST,
        "/accounts",
        json!({"name": "bench"}),
    )
    .await?;
    let account_id = account["id"].as_str().context("account id")?.to_string();
    let api_key = account["apiKey"].as_str().context("apiKey")?.to_string();
    let profile = json!({
        "name": "bench", "companyName": "Bench B.V.", "businessRegisterNumber": "12345678",
        "representativeFirstName": "Bea", "representativeLastName": "Bench",
        "countryCode": "NL", "city": "Amsterdam", "postalCode": "1011AB", "street": "Dam",
        "houseNumber": "1", "emailAddresses": ["ops@example.com"], "numberCountryCode": "NL",
        "phoneNumberTypes": ["LOCAL"]
    });
    let (status, bytes) = c
        .call(
            Method::POST,
            &format!("/voice/companyprofilesapi/v1/{account_id}/companyprofiles"),
            Some(Bytes::from(profile.to_string())),
            &[("x-cm-producttoken", &api_key)],
        )
        .await?;
    ensure!(
        status == StatusCode::CREATED,
        "profile: {status} {}",
        String::from_utf8_lossy(&bytes)
    );
    let profile: Value = serde_json::from_slice(&bytes)?;
    let profile_id = profile["id"].as_str().context("profile id")?.to_string();
    if profile["status"] != "Approved" {
        admin(
            &mut c,
            token,
            Method::POST,
            &format!("/companyprofiles/{profile_id}/approve"),
            json!({}),
        )
        .await?;
    }
    admin(
        &mut c,
        token,
        Method::PUT,
        "/restrictions/NL/LOCAL",
        json!({"minQuantity": 1, "maxQuantity": 1000, "rangesSupported": true,
               "allowedRangeSizes": [10, 100, 1000], "requiresReview": false}),
    )
    .await?;
    // Stock beyond anything an earlier run on the same database imported.
    let summary = admin(
        &mut c,
        token,
        Method::GET,
        "/inventory/summary",
        json!(null),
    )
    .await;
    let known: i64 = summary
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r["total"].as_i64())
        .sum();
    let first = stock_first((known + 999_999) / 1_000_000);
    let started = Instant::now();
    let added = admin(
        &mut c,
        token,
        Method::POST,
        "/inventory",
        json!({"numbers": [stock_entry(first, args.stock)]}),
    )
    .await?;
    let took = started.elapsed().as_secs_f64();
    if !args.json {
        println!(
            "set-up: imported {} numbers in {took:.2} s ({:.0} numbers/s)",
            added["added"],
            args.stock as f64 / took
        );
    }
    let mut world = World {
        account_id,
        api_key,
        profile_id,
        request_ids: Arc::new(Vec::new()),
        callback_url,
    };
    if matches!(
        args.scenario,
        Scenario::Get | Scenario::List | Scenario::Mixed
    ) && args.seed_requests > 0
    {
        let started = Instant::now();
        world.request_ids =
            Arc::new(seed(&world, addr, args.seed_requests, args.connections).await?);
        if !args.json {
            println!(
                "set-up: created {} requests in {:.1} s",
                args.seed_requests,
                started.elapsed().as_secs_f64()
            );
        }
        // The seeded requests' e-mails go out first, so they do not share the measured window.
        let took = drain_outbox(&mut c, token).await?;
        if !args.json {
            println!("set-up: outbox drained in {took:.1} s");
        }
    }
    Ok(world)
}

/// Waits until no delivery is pending; answers the seconds it took.
async fn drain_outbox(c: &mut Conn, token: &str) -> anyhow::Result<f64> {
    let auth = format!("Bearer {token}");
    let drained = Instant::now();
    loop {
        let (_, headers, _) = c
            .exchange(
                Method::GET,
                &format!("{ADMIN}/deliveries?state=pending&take=1"),
                None,
                &[("authorization", &auth)],
            )
            .await?;
        let total: u64 = headers
            .get("x-cm-pagination-total")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .context("no x-cm-pagination-total")?;
        if total == 0 {
            return Ok(drained.elapsed().as_secs_f64());
        }
        ensure!(
            drained.elapsed() < Duration::from_secs(1800),
            "the outbox did not drain"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Creates `n` requests through the API from `conns` connections; returns their ids.
async fn seed(
    world: &World,
    addr: SocketAddr,
    n: usize,
    conns: usize,
) -> anyhow::Result<Vec<String>> {
    let left = Arc::new(AtomicU64::new(n as u64));
    let mut tasks = Vec::new();
    for _ in 0..conns.clamp(1, 64) {
        let (world, left) = (world.clone(), left.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(addr).await?;
            let mut ids = Vec::new();
            let path = world.nr("/numberrequests");
            while left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1))
                .is_ok()
            {
                let (status, bytes) = c
                    .call(
                        Method::POST,
                        &path,
                        Some(world.create_body(None)),
                        &[("x-cm-producttoken", &world.api_key)],
                    )
                    .await?;
                ensure!(status == StatusCode::CREATED, "seed create: {status}");
                let v: Value = serde_json::from_slice(&bytes)?;
                ids.push(v["id"].as_str().unwrap_or_default().to_string());
            }
            anyhow::Ok(ids)
        }));
    }
    let mut ids = Vec::with_capacity(n);
    for t in tasks {
        ids.extend(t.await??);
    }
    Ok(ids)
}

// ---------------------------------------------------------------------------------------------
// The sweep scenario

/// CPU time (user + system) of a process so far, in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf only reads a constant of the system.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / hz)
}

/// The account holds every number of the stock; then its CSV usage export of this month is
/// read (counted, not kept) while the server's memory is sampled.
async fn usage_csv(args: &Args, addr: SocketAddr, servers: &Servers) -> anyhow::Result<()> {
    let world = setup(args, addr, None).await?;
    let mut c = Conn::open(addr).await?;
    admin(
        &mut c,
        &args.admin_token,
        Method::PUT,
        "/prices/NL/LOCAL",
        json!({"currency": "EUR", "setupPrice": "1.50", "monthlyPrice": "2.00"}),
    )
    .await?;
    let (quantity, range_size) = match args.usage_range_size {
        Some(s) => (1000.min(args.stock / s).max(1), Some(s)),
        None => (1000, None),
    };
    let per_request = quantity * range_size.unwrap_or(1);
    let requests = (args.stock / per_request).max(1);
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..args.connections.clamp(1, 8) {
        let (world, next) = (world.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(addr).await?;
            let path = world.nr("/numberrequests");
            loop {
                if next.fetch_add(1, Ordering::Relaxed) >= requests as u64 {
                    return anyhow::Ok(());
                }
                let body = json!({"companyProfileId": world.profile_id, "quantity": quantity,
                                  "rangeSize": range_size, "phoneNumberType": "LOCAL", "areaCode": "20"});
                let (status, bytes) = c
                    .call(
                        Method::POST,
                        &path,
                        Some(Bytes::from(body.to_string())),
                        &[("x-cm-producttoken", &world.api_key)],
                    )
                    .await?;
                ensure!(
                    status == StatusCode::CREATED && bytes.windows(11).any(|w| w == b"\"Completed\""),
                    "create: {status} {}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
                );
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    println!(
        "set-up: the account holds {} numbers ({requests} requests of {quantity} x {}) after {:.1} s",
        requests * per_request,
        range_size.unwrap_or(1),
        started.elapsed().as_secs_f64()
    );
    // The creates' e-mails go out first, so the export runs alone.
    let took = drain_outbox(&mut c, &args.admin_token).await?;
    println!("set-up: outbox drained in {took:.1} s");
    let pids = servers.pids();
    let before: u64 = pids.iter().filter_map(|&p| rss_kib(p)).map(|r| r.0).sum();
    for round in 0..2 {
        let rss = RssSampler::start(pids.clone());
        let t = Instant::now();
        let req = Request::builder()
            .method(Method::GET)
            .uri(world.nr("/usage"))
            .header("host", addr.to_string())
            .header("x-cm-producttoken", &world.api_key)
            .header("accept", "text/csv")
            .body(Full::new(Bytes::new()))?;
        c.send.ready().await?;
        let res = c.send.send_request(req).await?;
        let status = res.status();
        let first_byte = t.elapsed().as_secs_f64();
        let mut body = res.into_body();
        let (mut bytes, mut lines) = (0u64, 0u64);
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                bytes += data.len() as u64;
                lines += data.iter().filter(|&&b| b == b'\n').count() as u64;
            }
        }
        let secs = t.elapsed().as_secs_f64();
        let (peak, _) = rss.stop().await;
        ensure!(status == StatusCode::OK, "usage: {status}");
        println!(
            "usage csv #{}: {} lines, {:.1} MB in {secs:.2} s (first byte after {:.0} ms, {:.0} lines/s); server RSS {} MiB before, peak {} MiB while streaming",
            round + 1,
            lines.saturating_sub(1),
            bytes as f64 / 1e6,
            first_byte * 1000.0,
            lines as f64 / secs,
            before / 1024,
            peak / 1024
        );
    }
    Ok(())
}

/// Many open requests over many criteria: what they cost while nothing happens, and how long
/// an unrelated import of one number waits.
async fn sweep(args: &Args, addr: SocketAddr, servers: &Servers) -> anyhow::Result<()> {
    let world = setup(args, addr, None).await?;
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let n = args.open_requests as u64;
    let mut tasks = Vec::new();
    for _ in 0..args.connections.clamp(1, 64) {
        let (world, next) = (world.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(addr).await?;
            let path = world.nr("/numberrequests");
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(());
                }
                // Area codes no stock has: every request stays Pending, each its own criterion.
                let body = json!({"companyProfileId": world.profile_id, "quantity": 1,
                                  "phoneNumberType": "LOCAL", "areaCode": format!("{}", 900_000 + i)});
                let (status, bytes) = c
                    .call(
                        Method::POST,
                        &path,
                        Some(Bytes::from(body.to_string())),
                        &[("x-cm-producttoken", &world.api_key)],
                    )
                    .await?;
                ensure!(
                    status == StatusCode::CREATED,
                    "create: {status} {}",
                    String::from_utf8_lossy(&bytes)
                );
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    println!(
        "set-up: {n} open requests over {n} criteria in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // The creates' e-mails go out first, and the requests stop being recent (10 s).
    let mut c = Conn::open(addr).await?;
    let took = drain_outbox(&mut c, &args.admin_token).await?;
    println!("set-up: outbox drained in {took:.1} s");
    tokio::time::sleep(Duration::from_secs(12)).await;
    let pid = *servers
        .pids()
        .first()
        .context("sweep needs a server it started")?;
    let window = args.duration;
    let before = cpu_seconds(pid).context("/proc/PID/stat")?;
    tokio::time::sleep(Duration::from_secs_f64(window)).await;
    let used = cpu_seconds(pid).context("/proc/PID/stat")? - before;
    println!(
        "idle: the server used {used:.2} s of CPU in {window:.1} s ({:.0} % of one core)",
        used / window * 100.0
    );
    let mut waits = Vec::new();
    for i in 0..5 {
        let one = json!({"numbers": [{"start": format!("+{}", 31_100_000_000_i64 + i), "count": 1,
            "countryCode": "NL", "phoneNumberType": "LOCAL", "areaCode": "10", "city": "Rotterdam"}]});
        let t = Instant::now();
        admin(&mut c, &args.admin_token, Method::POST, "/inventory", one).await?;
        waits.push(t.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let shown: Vec<String> = waits.iter().map(|w| format!("{w:.1}")).collect();
    println!("import of one number: {} ms", shown.join(", "));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The measured run

/// What one connection saw during the measured window.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
    pending: u64,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
        self.pending += other.pending;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn error(&mut self, e: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e);
        }
    }
}

#[derive(Clone, Copy)]
enum Op {
    Create(Option<i64>),
    Get,
    List,
    Healthz,
}

fn pick_op(scenario: Scenario, i: u64) -> Op {
    match scenario {
        Scenario::Create | Scenario::Callbacks => Op::Create(None),
        Scenario::CreateRanges => Op::Create(Some(100)),
        Scenario::Get => Op::Get,
        Scenario::List => Op::List,
        Scenario::Healthz => Op::Healthz,
        Scenario::Mixed => match i % 5 {
            0 | 2 => Op::Get,
            1 | 3 => Op::List,
            _ => Op::Create(None),
        },
        Scenario::DbCreate | Scenario::Sweep | Scenario::UsageCsv => {
            unreachable!("no measured HTTP load")
        }
    }
}

async fn http_run(
    args: &Args,
    targets: &[SocketAddr],
    servers: &Servers,
) -> anyhow::Result<Vec<Report>> {
    let receiver = if args.scenario == Scenario::Callbacks {
        Some(Receiver::start().await?)
    } else {
        None
    };
    let world = setup(args, targets[0], receiver.as_ref().map(|r| r.url.clone())).await?;
    if matches!(args.scenario, Scenario::Get | Scenario::Mixed) {
        ensure!(
            !world.request_ids.is_empty(),
            "get needs --seed-requests > 0"
        );
    }
    let mut pages: Vec<(u64, bool)> = Vec::new();
    match args.scenario {
        Scenario::List => {
            pages.extend(args.skip.iter().map(|&s| (s, false)));
            if args.keyset {
                pages.extend(args.skip.iter().filter(|&&s| s > 0).map(|&s| (s, true)));
            }
        }
        _ => pages.push((args.skip.first().copied().unwrap_or(0), false)),
    }
    let mut reports = Vec::new();
    for (skip, keyset) in pages {
        let mut report = measure(args, targets, servers, &world, skip, keyset).await?;
        if let Some(r) = &receiver {
            report.callbacks = Some(r.drain(report.requests, report.started).await);
        }
        if args.scenario == Scenario::List {
            report.skip = Some(skip);
            report.keyset = keyset;
        }
        reports.push(report);
    }
    Ok(reports)
}

/// One measured window of the scenario on the world built by `setup`.
async fn measure(
    args: &Args,
    targets: &[SocketAddr],
    servers: &Servers,
    world: &World,
    skip: u64,
    keyset: bool,
) -> anyhow::Result<Report> {
    let rss = RssSampler::start(servers.pids());
    let warmup = Duration::from_secs_f64(args.warmup);
    let window = Duration::from_secs_f64(args.duration);
    let start = Instant::now();
    let (from, until) = (start + warmup, start + warmup + window);
    let stop = Arc::new(AtomicBool::new(false));
    let list_query = match (keyset, skip) {
        (true, s) if s > 0 => {
            let mut c = Conn::open(targets[0]).await?;
            let path = world.nr(&format!("/numberrequests?skip={}&take=1", s - 1));
            let (_, bytes) = c
                .call(
                    Method::GET,
                    &path,
                    None,
                    &[("x-cm-producttoken", &world.api_key)],
                )
                .await?;
            let page: Value = serde_json::from_slice(&bytes)?;
            let id = page[0]["id"].as_str().context("no item at skip - 1")?;
            format!("after={id}")
        }
        _ => format!("skip={skip}"),
    };
    let console = (args.console_pages > 0.0).then(|| {
        tokio::spawn(console_traffic(
            targets[0],
            world.clone(),
            args.console_pages,
            from,
            until,
        ))
    });
    let mut tasks = Vec::new();
    for i in 0..args.connections {
        let addr = targets[i % targets.len()];
        let (world, scenario, stop) = (world.clone(), args.scenario, stop.clone());
        let list_path = world.nr(&format!("/numberrequests?{list_query}&take={}", args.take));
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut conn = Conn::open(addr).await?;
            let create_path = world.nr("/numberrequests");
            let mut n: u64 = i as u64;
            let mut rng = i as u64 * 7919 + 1;
            while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                n += 1;
                let op = pick_op(scenario, n);
                let t = Instant::now();
                let (method, path, body, expect) = match op {
                    Op::Create(size) => (
                        Method::POST,
                        create_path.clone(),
                        Some(world.create_body(size)),
                        StatusCode::CREATED,
                    ),
                    Op::Get => {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        let id =
                            &world.request_ids[(rng % world.request_ids.len() as u64) as usize];
                        (
                            Method::GET,
                            world.nr(&format!("/numberrequests/{id}")),
                            None,
                            StatusCode::OK,
                        )
                    }
                    Op::List => (Method::GET, list_path.clone(), None, StatusCode::OK),
                    Op::Healthz => (Method::GET, "/healthz".to_string(), None, StatusCode::OK),
                };
                let result = conn
                    .call(
                        method,
                        &path,
                        body,
                        &[("x-cm-producttoken", &world.api_key)],
                    )
                    .await;
                let took = t.elapsed();
                let measured = t >= from && t < until;
                match result {
                    Ok((status, bytes)) => {
                        if !measured {
                            continue;
                        }
                        if status != expect {
                            tally.error(format!("{status} {}", String::from_utf8_lossy(&bytes)));
                        } else {
                            if matches!(op, Op::Create(_))
                                && !bytes.windows(11).any(|w| w == b"\"Completed\"")
                            {
                                tally.pending += 1;
                            }
                            tally.latencies_us.push(took.as_micros() as u64);
                        }
                    }
                    Err(e) => {
                        if measured {
                            tally.error(e.to_string());
                        }
                        conn = Conn::open(addr).await?;
                    }
                }
            }
            anyhow::Ok(tally)
        }));
    }
    let mut tally = Tally::default();
    for t in tasks {
        tally.merge(t.await??);
    }
    stop.store(true, Ordering::Relaxed);
    let elapsed = (Instant::now().min(until) - from).as_secs_f64().max(1e-9);
    let (peak_rss_kib, hwm_kib) = rss.stop().await;
    let mut report = Report::new(args, tally, elapsed, peak_rss_kib, hwm_kib);
    report.started = start;
    if let Some(c) = console {
        report.console = Some(c.await??);
    }
    Ok(report)
}

/// What the console traffic of a run did.
#[derive(Debug, Clone, serde::Serialize)]
struct ConsoleFigures {
    pages: u64,
    errors: u64,
    first_error: Option<String>,
    p50_ms: f64,
    max_ms: f64,
}

/// Signs in to the web console as the load's customer and fetches its pages in turn, `rate`
/// a second, from `from` to `until`; every page must answer 200.
async fn console_traffic(
    addr: SocketAddr,
    world: World,
    rate: f64,
    from: Instant,
    until: Instant,
) -> anyhow::Result<ConsoleFigures> {
    let mut conn = Conn::open(addr).await?;
    let form = format!(
        "kind=customer&account={}&key={}",
        world.account_id, world.api_key
    );
    let (status, headers, _) = conn
        .exchange(
            Method::POST,
            "/console/sign-in",
            Some(Bytes::from(form)),
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await?;
    ensure!(
        status == StatusCode::SEE_OTHER,
        "console sign-in answered {status}"
    );
    let cookie = headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("console sign-in set no cookie")?
        .to_string();
    const PAGES: [&str; 7] = [
        "/console/overview",
        "/console/order",
        "/console/requests",
        "/console/numbers",
        "/console/usage",
        "/console/prices",
        "/console/apilog",
    ];
    let every = Duration::from_secs_f64(1.0 / rate);
    tokio::time::sleep_until(from.into()).await;
    let mut next = Instant::now();
    let mut figures = ConsoleFigures {
        pages: 0,
        errors: 0,
        first_error: None,
        p50_ms: 0.0,
        max_ms: 0.0,
    };
    let mut took = Vec::new();
    let mut i = 0;
    while next < until {
        tokio::time::sleep_until(next.into()).await;
        let page = PAGES[i % PAGES.len()];
        i += 1;
        let t = Instant::now();
        let (status, _, body) = conn
            .exchange(Method::GET, page, None, &[("cookie", &cookie)])
            .await?;
        took.push(t.elapsed().as_secs_f64() * 1000.0);
        figures.pages += 1;
        if status != StatusCode::OK {
            figures.errors += 1;
            if figures.first_error.is_none() {
                figures.first_error = Some(format!(
                    "{page}: {status} {}",
                    String::from_utf8_lossy(&body)
                        .chars()
                        .take(200)
                        .collect::<String>()
                ));
            }
        }
        next += every;
    }
    took.sort_by(f64::total_cmp);
    figures.p50_ms = took.get(took.len() / 2).copied().unwrap_or(0.0);
    figures.max_ms = took.last().copied().unwrap_or(0.0);
    Ok(figures)
}

/// A minimal SMTP sink: says yes to everything and drops the mail, so the servers the driver
/// starts send their e-mails over a real SMTP conversation (as an operator's relay would take
/// them) instead of writing files.
async fn smtp_sink() -> anyhow::Result<String> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("smtp://{}", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut lines = BufReader::new(r);
                w.write_all(b"220 sink ESMTP\r\n").await?;
                let mut line = String::new();
                let mut in_data = false;
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return anyhow::Ok(());
                    }
                    if in_data {
                        if line == ".\r\n" {
                            in_data = false;
                            w.write_all(b"250 OK\r\n").await?;
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 go on\r\n"
                        }
                        "QUIT" => {
                            w.write_all(b"221 bye\r\n").await?;
                            return Ok(());
                        }
                        _ => b"250 OK\r\n",
                    };
                    w.write_all(answer).await?;
                }
            });
        }
    });
    Ok(url)
}

/// Samples the servers' summed VmRSS every 100 ms while the load runs.
struct RssSampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(u64, u64)>,
}

impl RssSampler {
    fn start(pids: Vec<u32>) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut peak = 0;
            let mut hwm = 0;
            loop {
                let (mut rss, mut h) = (0, 0);
                for &p in &pids {
                    if let Some((r, w)) = rss_kib(p) {
                        rss += r;
                        h += w;
                    }
                }
                peak = peak.max(rss);
                hwm = hwm.max(h);
                if flag.load(Ordering::Relaxed) {
                    return (peak, hwm);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        RssSampler { stop, task }
    }

    async fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or_default()
    }
}

/// An HTTP receiver for callbacks that counts what arrives.
struct Receiver {
    url: String,
    count: Arc<AtomicU64>,
    last_us: Arc<AtomicU64>,
    epoch: Instant,
}

impl Receiver {
    async fn start() -> anyhow::Result<Receiver> {
        let count = Arc::new(AtomicU64::new(0));
        let last_us = Arc::new(AtomicU64::new(0));
        let epoch = Instant::now();
        let (c, l) = (count.clone(), last_us.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move || {
                let (c, l) = (c.clone(), l.clone());
                async move {
                    c.fetch_add(1, Ordering::Relaxed);
                    l.store(epoch.elapsed().as_micros() as u64, Ordering::Relaxed);
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Receiver {
            url,
            count,
            last_us,
            epoch,
        })
    }

    /// Waits (up to 120 s of silence) for the callbacks of everything created since `start`.
    async fn drain(&self, measured: u64, start: Instant) -> CallbackFigures {
        let mut last_seen = (self.count.load(Ordering::Relaxed), Instant::now());
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let n = self.count.load(Ordering::Relaxed);
            if n != last_seen.0 {
                last_seen = (n, Instant::now());
            } else if last_seen.1.elapsed() > Duration::from_secs(5) {
                break;
            }
        }
        let received = self.count.load(Ordering::Relaxed);
        let last = Duration::from_micros(self.last_us.load(Ordering::Relaxed));
        let span = (self.epoch + last)
            .saturating_duration_since(start)
            .as_secs_f64()
            .max(1e-9);
        CallbackFigures {
            received,
            measured_creates: measured,
            per_second: received as f64 / span,
        }
    }
}

#[derive(serde::Serialize)]
struct CallbackFigures {
    received: u64,
    measured_creates: u64,
    /// Callbacks received divided by the time from the start of the load to the last callback.
    per_second: f64,
}

// ---------------------------------------------------------------------------------------------
// The database ceiling: the create transaction without HTTP

async fn db_create(args: &Args) -> anyhow::Result<Report> {
    use numberdesk::domain::PhoneNumberType;
    use numberdesk::orders::{self, CreateInput};
    let tmp = tempfile::tempdir()?;
    let config = numberdesk::config::Config {
        database_url: args
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/bench.db", tmp.path().display())),
        mail_dir: tmp.path().join("mail"),
        confirm_emails: false,
        email_hourly_limit: 0,
        ..numberdesk::config::Config::default()
    };
    let state = numberdesk::AppState::new(config).await?;
    let (account_id, profile_id) = common::account_with_profile(&state).await?;
    let stock = numberdesk::stock::validate(vec![serde_json::from_value(stock_entry(
        STOCK_BASE, args.stock,
    ))?])
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let started = Instant::now();
    numberdesk::stock::import(&state, &stock)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if !args.json {
        let took = started.elapsed().as_secs_f64();
        println!(
            "set-up: imported {} numbers in {took:.2} s ({:.0} numbers/s)",
            args.stock,
            args.stock as f64 / took
        );
    }
    let warmup = Duration::from_secs_f64(args.warmup);
    let window = Duration::from_secs_f64(args.duration);
    let start = Instant::now();
    let (from, until) = (start + warmup, start + warmup + window);
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let (state, account_id, profile_id) =
            (state.clone(), account_id.clone(), profile_id.clone());
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while Instant::now() < until {
                let input = CreateInput {
                    company_profile_id: profile_id.clone(),
                    quantity: 1,
                    range_size: None,
                    phone_number_type: PhoneNumberType::Local,
                    area_code: Some("20".into()),
                    city: None,
                    region: None,
                    comment: None,
                    callback_url: None,
                };
                let t = Instant::now();
                let result = orders::create(&state, &account_id, input, None).await;
                let took = t.elapsed();
                if t < from || t >= until {
                    continue;
                }
                match result {
                    Ok(a) if a.status == StatusCode::CREATED => {
                        if !a.body.contains("\"Completed\"") {
                            tally.pending += 1;
                        }
                        tally.latencies_us.push(took.as_micros() as u64);
                    }
                    Ok(a) => tally.error(format!("{} {}", a.status, a.body)),
                    Err(e) => tally.error(e.to_string()),
                }
            }
            tally
        }));
    }
    let mut tally = Tally::default();
    for t in tasks {
        tally.merge(t.await?);
    }
    let elapsed = (Instant::now().min(until) - from).as_secs_f64().max(1e-9);
    let own = rss_kib(std::process::id()).unwrap_or_default();
    state.db.close().await;
    Ok(Report::new(args, tally, elapsed, own.0, own.1))
}

// ---------------------------------------------------------------------------------------------
// The report

#[derive(serde::Serialize)]
struct Report {
    scenario: String,
    connections: usize,
    instances: usize,
    seconds: f64,
    requests: u64,
    errors: u64,
    first_error: Option<String>,
    /// Creates answered 201 but not Completed (stock ran out).
    pending: u64,
    per_second: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// Highest summed VmRSS of the servers sampled during the run (the driver's own process for
    /// db-create), and their VmHWM (peak since start, set-up included), in MiB.
    peak_rss_mib: f64,
    hwm_rss_mib: f64,
    callbacks: Option<CallbackFigures>,
    /// The console pages fetched during the run (`--console-pages`).
    console: Option<ConsoleFigures>,
    /// The list scenario's `skip`, and whether it was asked for by keyset.
    skip: Option<u64>,
    keyset: bool,
    #[serde(skip)]
    started: Instant,
}

impl Report {
    fn new(args: &Args, mut tally: Tally, seconds: f64, rss_kib: u64, hwm_kib: u64) -> Report {
        tally.latencies_us.sort_unstable();
        let l = &tally.latencies_us;
        let pct = |p: f64| -> f64 {
            if l.is_empty() {
                return 0.0;
            }
            let i = ((l.len() as f64 * p).ceil() as usize)
                .saturating_sub(1)
                .min(l.len() - 1);
            l[i] as f64 / 1000.0
        };
        Report {
            scenario: format!("{:?}", args.scenario).to_lowercase(),
            connections: args.connections,
            instances: if args.url.is_some() || args.scenario == Scenario::DbCreate {
                1
            } else {
                args.instances.max(1)
            },
            seconds,
            requests: l.len() as u64,
            errors: tally.errors,
            first_error: tally.first_error,
            pending: tally.pending,
            per_second: l.len() as f64 / seconds,
            p50_ms: pct(0.50),
            p90_ms: pct(0.90),
            p99_ms: pct(0.99),
            max_ms: l.last().map_or(0.0, |v| *v as f64 / 1000.0),
            peak_rss_mib: rss_kib as f64 / 1024.0,
            hwm_rss_mib: hwm_kib as f64 / 1024.0,
            callbacks: None,
            console: None,
            skip: None,
            keyset: false,
            started: Instant::now(),
        }
    }

    fn print(&self, args: &Args) {
        if args.json {
            println!("{}", serde_json::to_string(self).unwrap_or_default());
            return;
        }
        println!(
            "{}{} · {} connections · {} instance(s) · {:.1} s measured",
            self.scenario,
            self.skip
                .map(|s| if self.keyset {
                    format!(" (keyset: after item {s})")
                } else {
                    format!(" (skip {s})")
                })
                .unwrap_or_default(),
            self.connections,
            self.instances,
            self.seconds
        );
        println!(
            "  {} requests, {:.0} requests/s, {} errors{}",
            self.requests,
            self.per_second,
            self.errors,
            if self.pending > 0 {
                format!(", {} created Pending (stock ran out)", self.pending)
            } else {
                String::new()
            }
        );
        if let Some(e) = &self.first_error {
            println!("  first error: {}", e.chars().take(300).collect::<String>());
        }
        println!(
            "  latency p50 {:.2} ms · p90 {:.2} ms · p99 {:.2} ms · max {:.2} ms",
            self.p50_ms, self.p90_ms, self.p99_ms, self.max_ms
        );
        println!(
            "  peak RSS {:.1} MiB during the run (VmHWM {:.1} MiB incl. set-up){}",
            self.peak_rss_mib,
            self.hwm_rss_mib,
            if self.scenario == "dbcreate" {
                ", of the driver process itself"
            } else {
                ""
            }
        );
        if let Some(c) = &self.callbacks {
            println!(
                "  callbacks: {} received for {} measured creates, {:.0} callbacks/s (start of load to last callback)",
                c.received, c.measured_creates, c.per_second
            );
        }
        if let Some(c) = &self.console {
            println!(
                "  console: {} pages, {} errors, p50 {:.1} ms, max {:.1} ms{}",
                c.pages,
                c.errors,
                c.p50_ms,
                c.max_ms,
                c.first_error
                    .as_deref()
                    .map(|e| format!("; first error: {e}"))
                    .unwrap_or_default()
            );
        }
    }
}
