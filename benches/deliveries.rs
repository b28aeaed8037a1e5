//! Delivery benchmark (issue 4): fills the outbox with N status events of requests that have a
//! callback URL and one e-mail address, then starts the service and measures how fast the
//! worker delivers them: callbacks to a local axum receiver (answering 200) and e-mails to a
//! local SMTP sink (`python3 -m aiosmtpd -c aiosmtpd.handlers.Sink`, if installed; otherwise to
//! `.eml` files).
//!
//! Run: `cargo bench --bench deliveries` (optionally `-- --requests 5000`).

mod common;
use common::arg;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use numberdesk::config::Config;
use numberdesk::domain::PhoneNumberType;
use numberdesk::orders::{self, CreateInput};
use numberdesk::stock::StockBlock;
use numberdesk::store::deliveries;
use numberdesk::{AppState, Application};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn delivered(state: &AppState) -> (i64, i64) {
    let counts = deliveries::counts_by_state(&state.db)
        .await
        .unwrap_or_default();
    let get = |s: &str| {
        counts
            .iter()
            .find(|(k, _)| k == s)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    (get("delivered"), get("pending"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = arg("--requests", 4000);
    // The SMTP sink, when aiosmtpd is there.
    let smtp_port = free_port();
    let sink = std::process::Command::new("python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{smtp_port}"),
            "-c",
            "aiosmtpd.handlers.Sink",
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let smtp_up = std::net::TcpStream::connect(("127.0.0.1", smtp_port)).is_ok();

    // The callback receiver.
    let hits = Arc::new(AtomicU64::new(0));
    let counter = hits.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let c = counter.clone();
            async move {
                c.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let dir = tempfile::tempdir()?;
    let config = Config {
        database_url: format!("sqlite://{}/bench.db", dir.path().display()),
        listen: "127.0.0.1:0".into(),
        allow_private_callbacks: true,
        mail_dir: dir.path().join("mail"),
        smtp_url: smtp_up.then(|| format!("smtp://127.0.0.1:{smtp_port}")),
        ..Config::default()
    };
    let state = AppState::new(config).await?;
    let (account_id, profile_id) = common::account_with_profile(&state).await?;
    let stock = [StockBlock {
        first: 31_200_000_000,
        count: n as i64,
        country_code: "NL".into(),
        phone_number_type: numberdesk::domain::PhoneNumberType::Local,
        area_code: Some("20".into()),
        city: Some("Amsterdam".into()),
        region: None,
    }];
    numberdesk::stock::import(&state, &stock)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for _ in 0..n {
        let input = CreateInput {
            company_profile_id: profile_id.clone(),
            quantity: 1,
            range_size: None,
            phone_number_type: PhoneNumberType::Local,
            area_code: Some("20".into()),
            city: None,
            region: None,
            comment: None,
            callback_url: Some(url::Url::parse(&hook)?),
        };
        orders::create(&state, &account_id, input, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    println!(
        "outbox: {n} status events, {} deliveries pending ({} callbacks, {n} e-mails{})",
        2 * n,
        n,
        if smtp_up {
            " over SMTP to aiosmtpd"
        } else {
            " as .eml files: aiosmtpd not found"
        }
    );

    let app = Application::with_state(state.clone()).await?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stop_rx.await;
    }));
    let mut callbacks_done: Option<Duration> = None;
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if callbacks_done.is_none() && hits.load(Ordering::Relaxed) as usize >= n {
            callbacks_done = Some(started.elapsed());
        }
        let (done, pending) = delivered(&state).await;
        if pending == 0 || started.elapsed() > Duration::from_secs(300) {
            let all = started.elapsed();
            let cb = callbacks_done.unwrap_or(all);
            println!(
                "callbacks: {} received in {:.2} s: {:.0} callbacks/s",
                hits.load(Ordering::Relaxed),
                cb.as_secs_f64(),
                hits.load(Ordering::Relaxed) as f64 / cb.as_secs_f64()
            );
            println!(
                "all deliveries: {done} delivered in {:.2} s: {:.0} deliveries/s (callbacks and e-mails together); {pending} pending",
                all.as_secs_f64(),
                done as f64 / all.as_secs_f64()
            );
            break;
        }
    }
    let _ = stop_tx.send(());
    let _ = server.await;
    if let Some(mut s) = sink {
        let _ = s.kill();
    }
    Ok(())
}
