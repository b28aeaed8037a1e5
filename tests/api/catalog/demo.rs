//! The demo world and the OpenAPI document of the catalog endpoints.

use super::*;

/// A running `numberdesk serve --demo`; killed on drop.
struct Demo {
    child: Child,
    address: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// The child is waited for in `Demo::drop`.
#[allow(clippy::zombie_processes)]
fn serve_demo(dir: &Path) -> Demo {
    let mut c = Command::new(env!("CARGO_BIN_EXE_numberdesk"));
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
        .env("NUMBERDESK_LISTEN", "127.0.0.1:0")
        .env("NO_COLOR", "1")
        .args(["serve", "--demo"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn numberdesk serve --demo");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            // Keep draining after the address is found so the child never blocks on stderr.
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(i) = line.find("listening on http://") {
                    let rest = &line[i + "listening on http://".len()..];
                    let addr: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                        .collect();
                    return Demo {
                        child,
                        address: format!("http://{addr}"),
                    };
                }
                seen.push(line);
            }
            Err(_) => {
                let _ = child.kill();
                panic!("no 'listening on http://' line on stderr; got: {seen:#?}");
            }
        }
    }
}

#[tokio::test]
async fn the_demo_world_allows_nl_local_ranges_of_10_and_100() {
    let dir = tempfile::tempdir().unwrap();
    let demo = serve_demo(dir.path());
    let c = client();
    let nr = format!(
        "{}/voice/phonenumberrequestapi/v1/00000000-0000-0000-0000-000000000001",
        demo.address
    );
    let res = c
        .get(format!(
            "{nr}/restrictions?countryCode=NL&phoneNumberType=LOCAL"
        ))
        .header("X-CM-PRODUCTTOKEN", "demo-product-token")
        .send()
        .await
        .unwrap();
    let r = expect_json(res, StatusCode::OK).await;
    assert_eq!(r["maxQuantity"], 100, "{r}");
    assert_eq!(r["rangesSupported"], true, "{r}");
    assert_eq!(r["allowedRangeSizes"], json!([10, 100]), "{r}");

    // A block of 100 in Amsterdam comes from the demo stock, aligned.
    let profiles: Value = c
        .get(format!(
            "{}/voice/companyprofilesapi/v1/00000000-0000-0000-0000-000000000001/companyprofiles",
            demo.address
        ))
        .header("X-CM-PRODUCTTOKEN", "demo-product-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let nl = profiles
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["numberCountryCode"] == "NL")
        .expect("a demo NL profile");
    // The demo's addresses are seeded confirmed: status mail goes out from the first request.
    for p in profiles.as_array().unwrap() {
        assert_eq!(p["unconfirmedEmailAddresses"], json!([]), "{p}");
    }
    let res = c
        .post(format!("{nr}/numberrequests"))
        .header("X-CM-PRODUCTTOKEN", "demo-product-token")
        .json(
            &json!({"companyProfileId": nl["id"], "quantity": 1, "rangeSize": 100,
                      "phoneNumberType": "LOCAL", "areaCode": "20"}),
        )
        .send()
        .await
        .unwrap();
    let req = expect_json(res, StatusCode::CREATED).await;
    assert_eq!(req["status"], "Completed", "{req}");
    let events = c
        .get(format!("{nr}/numberrequests/{}/events", s(&req["id"])))
        .header("X-CM-PRODUCTTOKEN", "demo-product-token")
        .send()
        .await
        .unwrap();
    let events = expect_json(events, StatusCode::OK).await;
    assert_eq!(
        events[0]["emails"].as_array().map(Vec::len),
        nl["emailAddresses"].as_array().map(Vec::len),
        "one e-mail delivery per demo address: {events}"
    );
    let bounds = range_bounds(&req);
    assert_eq!(bounds.len(), 1);
    assert_eq!(bounds[0].0 % 100, 0);
    assert!(bounds[0].0 >= 31_201_000_000 && bounds[0].1 <= 31_201_000_999);
    let res = c
        .post(format!("{nr}/numberrequests"))
        .header("X-CM-PRODUCTTOKEN", "demo-product-token")
        .json(
            &json!({"companyProfileId": nl["id"], "quantity": 1, "rangeSize": 1000,
                      "phoneNumberType": "LOCAL", "areaCode": "20"}),
        )
        .send()
        .await
        .unwrap();
    expect_error(res, StatusCode::BAD_REQUEST, "RANGE_SIZE_NOT_ALLOWED").await;
    drop(demo);
}

#[tokio::test]
async fn openapi_documents_every_catalog_endpoint() {
    let app = spawn_app().await;
    let doc = app.openapi().await;
    let paths = doc["paths"].as_object().expect("paths");
    let nr = "/voice/phonenumberrequestapi/v1/{accountGuid}";
    let want: Vec<(String, &str)> = vec![
        (format!("{nr}/localeoptions"), "get"),
        (format!("{nr}/availability"), "get"),
        (format!("{nr}/requirements"), "get"),
        (format!("{nr}/restrictions"), "get"),
        (format!("{nr}/phonenumbers/{{e164}}/release"), "post"),
        (
            "/admin/v1/restrictions/{countryCode}/{phoneNumberType}".into(),
            "put",
        ),
        (
            "/admin/v1/requirements/{countryCode}/{phoneNumberType}".into(),
            "put",
        ),
        ("/admin/v1/numberrequests/{id}/accept".into(), "post"),
        ("/admin/v1/numberrequests/{id}/reject".into(), "post"),
        ("/admin/v1/numberrequests".into(), "get"),
    ];
    for (path, method) in want {
        let item = paths
            .get(&path)
            .unwrap_or_else(|| panic!("openapi.json lacks {path}"));
        assert!(
            item.get(method).is_some(),
            "openapi.json lacks {method} {path}"
        );
    }
    let res = app.client.get(app.url("/docs")).send().await.unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
}
