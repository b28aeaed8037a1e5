//! Arbitrary JSON in every field of the create body never yields a 5xx, and every error answer has
//! the contract shape (docs/api.md).

use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestCaseError, TestRunner};
use reqwest::StatusCode;
use serde_json::{Map, Number, Value, json};

use crate::helpers::*;

const FIELDS: [&str; 9] = [
    "companyProfileId",
    "quantity",
    "rangeSize",
    "phoneNumberType",
    "areaCode",
    "city",
    "region",
    "comment",
    "callbackUrl",
];

fn interesting_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("LOCAL".to_string()),
        Just("NATIONAL".to_string()),
        Just("TOLLFREE".to_string()),
        Just("local".to_string()),
        Just("20".to_string()),
        Just("Amsterdam".to_string()),
        Just("NY".to_string()),
        Just("https://example.com/hook".to_string()),
        Just("http://127.0.0.1/hook".to_string()),
        Just("http://[::1]:80/x".to_string()),
        Just("https://".to_string()),
        Just("http://user:pw@10.0.0.1:99999/".to_string()),
        Just("00000000-0000-0000-0000-000000000000".to_string()),
        Just("\u{0}".to_string()),
        Just("'; DROP TABLE number_requests; --".to_string()),
        Just("x".repeat(1001)),
        Just(format!("https://example.com/{}", "a".repeat(2100))),
        Just("1e3".to_string()),
        "\\PC{0,40}",
        ".{0,20}",
        "[0-9]{1,25}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..1500).prop_map(|n| json!(n)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        Just(json!(2.0)),
        Just(json!(-0.0)),
        Just(json!(1e300)),
        interesting_string().prop_map(Value::String),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z]{0,8}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// `None`: the field is left out.
fn arb_field_value() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![1 => Just(None), 9 => arb_json().prop_map(Some)]
}

/// Checks one answer: never 5xx; 201 with a request, or a 4xx with the contract error body.
async fn check(app: &TestApp, res: reqwest::Response) -> Result<(), TestCaseError> {
    let status = res.status();
    let text = res
        .text()
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    if status.is_server_error() {
        return Err(TestCaseError::fail(format!("{status}: {text}")));
    }
    let _ = app;
    if status == StatusCode::CREATED {
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| TestCaseError::fail(format!("201 body not JSON: {e}")))?;
        prop_assert!(
            v["status"] == "Completed" || v["status"] == "Pending",
            "201 body: {}",
            v
        );
        return Ok(());
    }
    prop_assert!(
        status.is_client_error(),
        "unexpected status {}: {}",
        status,
        text
    );
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| TestCaseError::fail(format!("{status} body not JSON ({e}): {text}")))?;
    check_error_shape(&v).map_err(|e| TestCaseError::fail(format!("{status}: {e}")))?;
    Ok(())
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(PtConfig {
        cases,
        failure_persistence: None,
        ..PtConfig::default()
    })
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

struct World {
    app: TestApp,
    acct: Acct,
    profile: String,
}

async fn world() -> World {
    let app = spawn_app().await;
    let acct = app.create_account("Fuzz").await;
    let profile = app.approved_profile(&acct).await;
    app.import_nl_local("+31201000000", 500).await;
    World { app, acct, profile }
}

#[test]
fn arbitrary_json_in_one_field_never_yields_5xx_and_errors_have_the_contract_shape() {
    let rt = rt();
    let w = rt.block_on(world());
    let strategy = (0..FIELDS.len(), arb_field_value());
    runner(FIELDS.len() as u32 * 24)
        .run(&strategy, |(i, value)| {
            rt.block_on(async {
                let mut body = request_body(&w.profile, 1);
                match value {
                    Some(v) => body[FIELDS[i]] = v,
                    None => {
                        body.as_object_mut().unwrap().remove(FIELDS[i]);
                    }
                }
                let res = w.app.post_request(&w.acct, &body).await;
                check(&w.app, res).await
            })
        })
        .unwrap();
}

#[test]
fn arbitrary_json_in_every_field_at_once_never_yields_5xx() {
    let rt = rt();
    let w = rt.block_on(world());
    let strategy = (
        prop::collection::vec(arb_field_value(), FIELDS.len()),
        any::<bool>(),
    );
    runner(96)
        .run(&strategy, |(values, real_profile)| {
            rt.block_on(async {
                let mut body = Map::new();
                for (field, v) in FIELDS.iter().zip(values) {
                    if let Some(v) = v {
                        body.insert(field.to_string(), v);
                    }
                }
                if real_profile && !body.contains_key("companyProfileId") {
                    body.insert("companyProfileId".into(), json!(w.profile));
                }
                let res = w.app.post_request(&w.acct, &Value::Object(body)).await;
                check(&w.app, res).await
            })
        })
        .unwrap();
}

#[test]
fn arbitrary_bodies_and_query_strings_never_yield_5xx() {
    let rt = rt();
    let w = rt.block_on(world());
    let strategy = (arb_json(), "\\PC{0,30}", "\\PC{0,30}");
    runner(64)
        .run(&strategy, |(body, q1, q2)| {
            rt.block_on(async {
                // a whole body of any JSON shape
                let res = w.app.post_request(&w.acct, &body).await;
                check(&w.app, res).await?;
                // any text with a JSON content type
                let res = w
                    .app
                    .client
                    .post(format!("{}/numberrequests", w.app.nr(&w.acct.id)))
                    .header("X-CM-PRODUCTTOKEN", &w.acct.key)
                    .header("content-type", "application/json")
                    .body(q1.clone())
                    .send()
                    .await
                    .unwrap();
                check(&w.app, res).await?;
                // any query values on the list
                let res = w
                    .app
                    .client
                    .get(format!("{}/numberrequests", w.app.nr(&w.acct.id)))
                    .header("X-CM-PRODUCTTOKEN", &w.acct.key)
                    .query(&[
                        ("status", q1.as_str()),
                        ("take", q2.as_str()),
                        ("companyProfileId", q2.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap();
                let status = res.status();
                if status != StatusCode::OK {
                    check(&w.app, res).await?;
                }
                // any id in the path
                let res = w
                    .app
                    .client
                    .get(format!(
                        "{}/numberrequests/{}",
                        w.app.nr(&w.acct.id),
                        urlencode(&q1)
                    ))
                    .header("X-CM-PRODUCTTOKEN", &w.acct.key)
                    .send()
                    .await
                    .unwrap();
                prop_assert!(!res.status().is_server_error(), "{}", res.status());
                if res.status() != StatusCode::OK {
                    check(&w.app, res).await?;
                }
                Ok(())
            })
        })
        .unwrap();
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() { "x".into() } else { out }
}
