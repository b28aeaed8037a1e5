//! Smoke test of the load driver (`numberdesk-bench`): short runs against a tiny stock must
//! report throughput, latencies and the server's memory, with no errors.

use std::process::Command;

use serde_json::Value;

fn run(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_numberdesk-bench"))
        .args(["--server-bin", env!("CARGO_BIN_EXE_numberdesk"), "--json"])
        .args(args)
        .output()
        .expect("the driver runs");
    assert!(
        out.status.success(),
        "driver failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("driver printed no JSON report ({e}): {text}"))
}

fn assert_healthy(r: &Value, scenario: &str) {
    assert_eq!(r["scenario"], scenario);
    assert_eq!(r["errors"], 0, "{r}");
    assert!(r["requests"].as_u64().unwrap() > 10, "{r}");
    assert!(r["per_second"].as_f64().unwrap() > 1.0, "{r}");
    let (p50, p99, max) = (
        r["p50_ms"].as_f64().unwrap(),
        r["p99_ms"].as_f64().unwrap(),
        r["max_ms"].as_f64().unwrap(),
    );
    assert!(p50 > 0.0 && p50 <= p99 && p99 <= max, "{r}");
    assert!(r["peak_rss_mib"].as_f64().unwrap() > 1.0, "{r}");
}

#[test]
fn load_driver_reports_creates_and_reads_without_errors() {
    let common = ["--connections", "4", "--duration", "2", "--warmup", "0.5"];
    let create = run(&[&common[..], &["--scenario", "create", "--stock", "5000"]].concat());
    assert_healthy(&create, "create");
    assert_eq!(
        create["pending"], 0,
        "stock was enough: every create Completed"
    );

    let get = run(&[
        &common[..],
        &[
            "--scenario",
            "get",
            "--stock",
            "500",
            "--seed-requests",
            "50",
        ],
    ]
    .concat());
    assert_healthy(&get, "get");

    let callbacks = run(&[&common[..], &["--scenario", "callbacks", "--stock", "5000"]].concat());
    assert_healthy(&callbacks, "callbacks");
    let cb = &callbacks["callbacks"];
    assert!(
        cb["received"].as_u64().unwrap() >= callbacks["requests"].as_u64().unwrap(),
        "every measured create's callback arrived: {cb}"
    );
}
