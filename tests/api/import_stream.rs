//! Stock imports read as a stream (docs/operations.md, "Adding stock"): large bodies, the bounded
//! list of problems, nothing written unless every entry is valid, token and body limits.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

const HEADER: &str = "phoneNumber,countryCode,phoneNumberType,areaCode,city,region\n";

async fn post(app: &TestApp, content_type: &str, body: String) -> reqwest::Response {
    app.admin(reqwest::Method::POST, "/admin/v1/inventory")
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// `rows` single NL numbers from +31201000000, every `step`-th, as CSV rows.
fn csv_rows(first: u64, rows: u64, step: u64) -> String {
    let mut csv = String::from(HEADER);
    for i in 0..rows {
        csv.push_str(&format!(
            "+{},NL,LOCAL,20,Amsterdam,\n",
            31_201_000_000 + first + i * step
        ));
    }
    csv
}

/// The same numbers as a JSON body.
fn json_rows(first: u64, rows: u64, step: u64) -> String {
    let mut body = String::from("{\"numbers\": [");
    for i in 0..rows {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            "{{\"phoneNumber\": \"+{}\", \"countryCode\": \"NL\", \"phoneNumberType\": \"LOCAL\", \"areaCode\": \"20\", \"city\": \"Amsterdam\"}}\n",
            31_201_000_000 + first + i * step
        ));
    }
    body.push_str("]}");
    body
}

#[tokio::test]
async fn a_large_junk_body_is_refused_with_the_first_50_problems_and_nothing_is_written() {
    let app = spawn_app().await;
    // 40,000 rows (2.6 MB) whose numbers are not E.164.
    let mut csv = String::from(HEADER);
    for _ in 0..40_000 {
        csv.push_str("+31201000000x,NL,LOCAL,20,Amsterdam junk junk junk junk,\n");
    }
    let res = post(&app, "text/csv", csv).await;
    let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    let fields = error_fields(&err);
    assert_eq!(fields.len(), 50, "{err}");
    assert_eq!(fields[0], "numbers[0].phoneNumber");
    assert_eq!(fields[49], "numbers[49].phoneNumber");
    let detail = err["messageDetail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("first 50") && detail.contains("39950 more"),
        "{detail}"
    );

    // The same as JSON: every entry lacks its country.
    let mut body = String::from("{\"numbers\": [");
    for i in 0..40_000 {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            "{{\"phoneNumber\": \"+{}\", \"phoneNumberType\": \"LOCAL\"}}",
            31_201_000_000u64 + i
        ));
    }
    body.push_str("]}");
    let res = post(&app, "application/json", body).await;
    let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    let fields = error_fields(&err);
    assert_eq!(fields.len(), 50, "{err}");
    assert_eq!(fields[49], "numbers[49].countryCode");
    assert!(
        err["messageDetail"]
            .as_str()
            .unwrap_or_default()
            .contains("39950 more"),
        "{err}"
    );
    assert!(app.stock_summary().await.is_empty(), "nothing was written");
}

#[tokio::test]
async fn a_valid_body_whose_last_entry_is_invalid_writes_nothing() {
    let app = spawn_app().await;
    // Far more valid entries than one write transaction holds, then one bad entry.
    let mut csv = csv_rows(0, 150_000, 2);
    csv.push_str("+12125559999,NL,LOCAL,20,Amsterdam,\n");
    let res = post(&app, "text/csv", csv).await;
    let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_eq!(error_fields(&err), ["numbers[150000].phoneNumber"], "{err}");
    assert!(err["messageDetail"].is_null(), "{err}");

    let mut body = json_rows(0, 150_000, 2);
    body.truncate(body.len() - 2);
    body.push_str(",{\"start\": \"+31201000000\", \"count\": 0, \"countryCode\": \"NL\", \"phoneNumberType\": \"LOCAL\"}]}");
    let res = post(&app, "application/json", body).await;
    let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_eq!(error_fields(&err), ["numbers[150000].count"], "{err}");

    // Valid entries, then JSON that breaks off: malformed, nothing written.
    let mut body = json_rows(0, 150_000, 2);
    body.truncate(body.len() - 2);
    let res = post(&app, "application/json", body).await;
    expect_error(res, StatusCode::BAD_REQUEST, "MALFORMED_JSON").await;
    assert!(app.stock_summary().await.is_empty(), "nothing was written");
}

#[tokio::test]
async fn streamed_csv_and_json_imports_of_many_rows_count_added_and_duplicates() {
    let app = spawn_app().await;
    // 150,000 numbers, every other one: no two rows join into one run.
    let res = post(&app, "text/csv", csv_rows(0, 150_000, 2)).await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await,
        json!({"added": 150_000, "duplicates": 0})
    );
    // As JSON, from the middle of that range on, every number: half of the first 150,000 are
    // known, the rest new.
    let res = post(&app, "application/json", json_rows(150_000, 150_000, 1)).await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await,
        json!({"added": 75_000, "duplicates": 75_000})
    );
    // A number listed twice in one body counts once as added, once as a duplicate.
    let mut csv = csv_rows(400_000, 10, 1);
    csv.push_str("+31201400000,NL,LOCAL,20,Amsterdam,\n");
    let res = post(&app, "text/csv", csv).await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await,
        json!({"added": 10, "duplicates": 1})
    );
    let c = app.stock_counts("NL", "LOCAL", "20").await;
    assert_eq!(c.total, 150_000 + 75_000 + 10);
    assert_eq!(c.available, c.total);
}

#[tokio::test]
async fn open_requests_are_fulfilled_after_a_streamed_import() {
    let app = spawn_app().await;
    let acct = app.create_account("A").await;
    let profile = app.approved_profile(&acct).await;
    let req = app.create_request(&acct, &request_body(&profile, 3)).await;
    assert_eq!(req["status"], "Pending");
    let res = post(&app, "text/csv", csv_rows(0, 3, 1)).await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await,
        json!({"added": 3, "duplicates": 0})
    );
    let id = req["id"].as_str().unwrap();
    let got: Value = app.get_request(&acct, id).await;
    assert_eq!(got["status"], "Completed", "{got}");
}

#[tokio::test]
async fn a_row_or_a_json_string_longer_than_64_kib_is_refused() {
    let app = spawn_app().await;
    let long = "x".repeat(70 * 1024);
    let csv =
        format!("{HEADER}+31201000000,NL,LOCAL,20,Amsterdam,\n+31201000001,NL,LOCAL,20,{long},\n");
    let res = post(&app, "text/csv", csv).await;
    let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_eq!(error_fields(&err), ["row 3"], "{err}");

    // In an unknown field too: it is read (and checked for control characters) like any other.
    let body = format!(
        "{{\"numbers\": [{{\"phoneNumber\": \"+31201000000\", \"countryCode\": \"NL\", \"phoneNumberType\": \"LOCAL\", \"note\": \"{long}\"}}]}}"
    );
    let res = post(&app, "application/json", body).await;
    let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_eq!(error_fields(&err), ["body"], "{err}");
    // A number of 70,000 digits is as long.
    let body = format!("{{\"numbers\": [], \"n\": 1{}}}", "0".repeat(70 * 1024));
    let res = post(&app, "application/json", body).await;
    expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert!(app.stock_summary().await.is_empty(), "nothing was written");

    // Just under the limit is read.
    let note = "y".repeat(60 * 1024);
    let body = format!(
        "{{\"numbers\": [{{\"phoneNumber\": \"+31201000000\", \"countryCode\": \"NL\", \"phoneNumberType\": \"LOCAL\", \"areaCode\": \"20\", \"note\": \"{note}\"}}]}}"
    );
    let res = post(&app, "application/json", body).await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await,
        json!({"added": 1, "duplicates": 0})
    );
}

#[tokio::test]
async fn json_shapes_keep_their_answers() {
    let app = spawn_app().await;
    let entry =
        json!({"phoneNumber": "+31201000000", "countryCode": "NL", "phoneNumberType": "LOCAL"});
    for (body, code) in [
        ("", "MALFORMED_JSON"),
        ("[1, 2]", "MALFORMED_JSON"),
        ("{\"numbers\": [1]}", "MALFORMED_JSON"),
        ("{\"numbers\": [{\"city\": 20}]}", "MALFORMED_JSON"),
        ("{\"numbers\": [{\"count\": \"5\"}]}", "MALFORMED_JSON"),
        ("{\"numbers\": []} trailing", "MALFORMED_JSON"),
        ("{\"numbers\": []}", "VALIDATION_FAILED"),
        ("{\"numbers\": null}", "VALIDATION_FAILED"),
        ("{}", "VALIDATION_FAILED"),
    ] {
        let res = post(&app, "application/json", body.to_string()).await;
        let err = expect_error(res, StatusCode::BAD_REQUEST, code).await;
        if body == "{}" || body.contains("null") {
            assert_eq!(error_fields(&err), ["numbers"], "{body}: {err}");
        }
    }
    // A count that is not a whole number names its entry; control characters come first.
    let body = json!({"numbers": [entry, {"start": "+31201000010", "count": 2.5, "countryCode": "NL", "phoneNumberType": "LOCAL"}]});
    let res = app.admin_post("/admin/v1/inventory", &body).await;
    let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_eq!(error_fields(&err), ["numbers[1].count"]);
    let body = json!({"numbers": [{"phoneNumber": "+31201000000", "countryCode": "NL",
        "phoneNumberType": "LOCAL", "region": "a\u{7}", "city": "b\n", "x": {"y": ["\u{202e}"]}}],
        "comment": "c\r"});
    let res = app.admin_post("/admin/v1/inventory", &body).await;
    let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    let mut fields = error_fields(&err);
    fields.sort();
    assert_eq!(
        fields,
        [
            "comment",
            "numbers[0].city",
            "numbers[0].region",
            "numbers[0].x.y[0]"
        ]
    );
    // Other types: 415 with a body, 400 without.
    let res = post(&app, "text/plain", "phoneNumber\n+31201000000\n".into()).await;
    expect_error(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
    )
    .await;
    let res = post(&app, "text/plain", String::new()).await;
    expect_error(res, StatusCode::BAD_REQUEST, "MALFORMED_JSON").await;
    assert!(app.stock_summary().await.is_empty(), "nothing was written");
}

/// Sends `len` bytes as a stock import over a plain connection: `start`, then zeros. Returns the
/// status line of the answer.
async fn send_raw(app: &TestApp, content_type: &str, start: &[u8], len: usize) -> String {
    let addr = app.address.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /admin/v1/inventory HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(start).await.unwrap();
    let zeros = vec![b'0'; 1 << 20];
    let mut left = len - start.len();
    while left > 0 {
        let n = left.min(zeros.len());
        s.write_all(&zeros[..n]).await.unwrap();
        left -= n;
    }
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "the connection closed without an answer");
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_body_over_512_mib_is_payload_too_large_and_one_at_the_limit_is_read() {
    let app = spawn_app().await;
    let limit = 512 * 1024 * 1024;
    // Refused at its first byte as JSON, then read to its end: one byte too many.
    let status = send_raw(&app, "application/json", b"x", limit + 1).await;
    assert!(status.contains(" 413 "), "{status}");
    let status = send_raw(&app, "application/octet-stream", b"x", limit + 1).await;
    assert!(status.contains(" 413 "), "{status}");
    // At the limit: the same body is merely malformed.
    let status = send_raw(&app, "application/json", b"x", limit).await;
    assert!(status.contains(" 400 "), "{status}");
    assert!(app.stock_summary().await.is_empty(), "nothing was written");
}
