//! Connection limits: header read and idle timeouts, the cap on open connections and the cap
//! per client address (NUMBERDESK_MAX_CONNECTIONS and friends).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// The server's address without the scheme.
fn host(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_string()
}

/// True when the server closed `s` within `wait` (a read answers end of file or an error).
async fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // an answer; keep reading until the close
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn a_connection_that_never_finishes_its_head_is_closed_after_the_header_timeout() {
    let app = spawn_app_with(|c| c.header_read_timeout_secs = 1).await;
    let mut slow = TcpStream::connect(host(&app)).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    // One more header line within the timeout does not restart the clock.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let _ = slow.write_all(b"X-Slow: 1\r\n").await;
    assert!(
        closed_within(&mut slow, Duration::from_secs(3)).await,
        "the slow connection stayed open"
    );
    // A silent connection is closed too.
    let mut silent = TcpStream::connect(host(&app)).await.unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(3)).await);
    // The service still answers.
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_kept_alive_connection_is_closed_after_the_idle_timeout_but_not_before() {
    let app = spawn_app_with(|c| {
        c.idle_timeout_secs = 2;
        c.header_read_timeout_secs = 30;
    })
    .await;
    let mut s = TcpStream::connect(host(&app)).await.unwrap();
    let ask = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut buf = vec![0u8; 4096];
    for _ in 0..2 {
        s.write_all(ask).await.unwrap();
        let n = s.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        // Well within the idle timeout: the connection is kept.
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    let started = Instant::now();
    assert!(closed_within(&mut s, Duration::from_secs(5)).await);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed {:?} after the last answer, before the idle timeout",
        started.elapsed() + Duration::from_millis(800)
    );
}

#[tokio::test]
async fn at_the_cap_idle_connections_make_room_for_a_new_client() {
    let app = spawn_app_with(|c| {
        c.max_connections = Some(40);
        c.max_connections_per_address = Some(40);
        c.header_read_timeout_secs = 60;
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..100 {
        idle.push(TcpStream::connect(host(&app)).await.unwrap());
    }
    // A well-behaved client is still served, from the same address.
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut open = 0;
    for s in &mut idle {
        if !closed_within(s, Duration::from_millis(20)).await {
            open += 1;
        }
    }
    assert!(
        open < 40,
        "{open} idle connections of 100 still open at a cap of 40"
    );
}

#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    let app = spawn_app_with(|c| {
        c.max_connections = Some(1000);
        c.max_connections_per_address = Some(10);
        c.header_read_timeout_secs = 60;
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..30 {
        idle.push(TcpStream::connect(host(&app)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut open = 0;
    for s in &mut idle {
        if !closed_within(s, Duration::from_millis(20)).await {
            open += 1;
        }
    }
    assert_eq!(
        open, 10,
        "one address keeps exactly its cap of idle connections"
    );
}
