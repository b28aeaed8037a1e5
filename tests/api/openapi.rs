//! The OpenAPI document states the rules the server checks, and the server keeps them: what the
//! document allows is accepted, what it refuses is refused (docs/api.md, "The OpenAPI document").
//! CI also checks this from outside with schemathesis (.ci/schemathesis.sh).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const NR: &str = "/voice/phonenumberrequestapi/v1/{accountGuid}";

/// A component schema, `$ref`s followed.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

fn param<'a>(op: &'a Value, name: &str) -> &'a Value {
    op["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("no parameter {name} in {op}"))
}

#[tokio::test]
async fn create_number_request_marks_its_required_fields_and_the_type_enum() {
    let app = spawn_app().await;
    let doc = app.openapi().await;
    let body = &doc["paths"][format!("{NR}/numberrequests")]["post"]["requestBody"];
    assert_eq!(body["required"], true);
    let schema = resolve(&doc, &body["content"]["application/json"]["schema"]);
    let mut required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort();
    assert_eq!(
        required,
        ["companyProfileId", "phoneNumberType", "quantity"]
    );
    let props = &schema["properties"];
    assert_eq!(
        resolve(&doc, &props["phoneNumberType"])["enum"],
        json!(["LOCAL", "NATIONAL", "TOLLFREE"])
    );
    assert_eq!(props["quantity"]["minimum"], 1);
    assert_eq!(props["quantity"]["maximum"], 1000);
    assert_eq!(props["comment"]["maxLength"], 1000);
    assert_eq!(props["callbackUrl"]["maxLength"], 2048);
    assert!(props["companyProfileId"]["pattern"].is_string());
}

#[tokio::test]
async fn optional_bodies_may_be_left_out_and_rejections_need_a_reason() {
    let app = spawn_app().await;
    let doc = app.openapi().await;
    for (path, method) in [
        (format!("{NR}/numberrequests/{{id}}/cancel"), "post"),
        ("/admin/v1/numberrequests/{id}/accept".to_string(), "post"),
        ("/admin/v1/companyprofiles/{id}/approve".to_string(), "post"),
    ] {
        let body = &doc["paths"][&path][method]["requestBody"];
        assert_eq!(body["required"], false, "{path}: {body}");
        // The plain schema, not `oneOf: [null, ...]`: a client leaves the body out.
        assert_eq!(
            body["content"]["application/json"]["schema"],
            json!({"$ref": "#/components/schemas/ReasonBody"}),
            "{path}"
        );
    }
    for path in [
        "/admin/v1/numberrequests/{id}/reject",
        "/admin/v1/companyprofiles/{id}/reject",
    ] {
        let body = &doc["paths"][path]["post"]["requestBody"];
        assert_eq!(body["required"], true, "{path}");
        let schema = resolve(&doc, &body["content"]["application/json"]["schema"]);
        assert_eq!(schema["required"], json!(["reason"]), "{path}");
    }
}

#[tokio::test]
async fn every_operation_lists_the_error_answers_of_its_kind() {
    let app = spawn_app().await;
    let doc = app.openapi().await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let has = |code: &str| responses.contains_key(code);
            let label = format!("{method} {path}");
            let security = op["security"].to_string();
            if security.contains("productToken") {
                for code in ["401", "403", "429", "503"] {
                    assert!(has(code), "{label} lacks {code}");
                }
            } else if security.contains("adminToken") {
                for code in ["401", "404", "429", "503"] {
                    assert!(has(code), "{label} lacks {code}");
                }
            }
            if op.get("requestBody").is_some() {
                for code in ["400", "413", "415"] {
                    assert!(has(code), "{label} lacks {code}");
                }
            }
            if op["parameters"].to_string().contains("\"query\"") {
                assert!(has("400"), "{label} lacks 400");
            }
            for (code, answer) in responses {
                if code.starts_with('4') || code.starts_with('5') {
                    assert_eq!(
                        answer["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{label} {code}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} operations");
    // Guarded changes answer 412.
    let put = &doc["paths"]["/voice/companyprofilesapi/v1/{accountGuid}/companyprofiles/{id}"];
    assert!(put["put"]["responses"].get("412").is_some());
}

#[tokio::test]
async fn query_parameters_carry_their_ranges_enums_and_required_flags() {
    let app = spawn_app().await;
    let doc = app.openapi().await;
    let list = &doc["paths"][format!("{NR}/numberrequests")]["get"];
    assert_eq!(param(list, "skip")["schema"]["minimum"], 0);
    assert_eq!(param(list, "take")["schema"]["minimum"], 1);
    assert_eq!(param(list, "take")["schema"]["maximum"], 100);
    let statuses = param(list, "status")["schema"]["enum"].to_string();
    assert!(
        statuses.contains("\"Pending\"") && statuses.contains("\"5\""),
        "{statuses}"
    );
    let restrictions = &doc["paths"][format!("{NR}/restrictions")]["get"];
    for name in ["countryCode", "phoneNumberType"] {
        assert_eq!(param(restrictions, name)["required"], true, "{name}");
    }
    let countries = param(restrictions, "countryCode")["schema"]["enum"]
        .as_array()
        .unwrap()
        .clone();
    assert!(countries.contains(&json!("NL")) && !countries.contains(&json!("XX")));
    let put = &doc["paths"]["/admin/v1/restrictions/{countryCode}/{phoneNumberType}"]["put"];
    let names: Vec<&Value> = put["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["name"])
        .collect();
    // Each path parameter once, with its rule.
    assert_eq!(names, [&json!("countryCode"), &json!("phoneNumberType")]);
}

#[tokio::test]
async fn the_description_points_to_the_guide_in_the_repository() {
    let app = spawn_app().await;
    let doc = app.openapi().await;
    let text = s(&doc["info"]["description"]);
    assert!(text.contains("docs/api.md"), "{text}");
    assert!(
        !doc.to_string().contains("API.md"),
        "the document names API.md"
    );
}

/// Values the document allows are accepted, values it refuses are refused, at the edges.
#[tokio::test]
async fn the_server_accepts_what_the_document_allows_and_nothing_else() {
    let app = spawn_app().await;
    let acct = app.create_account("Edges").await;
    app.import_nl_local("+31201000000", 100).await;
    let profile = app.approved_profile(&acct).await;
    let list = format!("{}/numberrequests", app.nr(&acct.id));

    // An empty query value is a value: the document asks for a status, a UUID or a number.
    for q in ["status=", "companyProfileId=", "skip=", "take=", "after="] {
        let res = app.get(&acct, &format!("{list}?{q}")).await;
        let body = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
        assert_field(&body, q.trim_end_matches('='));
    }
    for q in ["take=100", "take=1", "skip=0", "status=pending", "status=3"] {
        let res = app.get(&acct, &format!("{list}?{q}")).await;
        assert_eq!(res.status(), StatusCode::OK, "{q}");
    }
    // Unknown query parameters are ignored.
    let res = app.get(&acct, &format!("{list}?unknown=1")).await;
    assert_eq!(res.status(), StatusCode::OK);

    // JSON Schema counts 2.0 as an integer; so does the server.
    let mut body = request_body(&profile, 1);
    body["quantity"] = json!(2.0);
    let created = app.create_request(&acct, &body).await;
    assert_eq!(created["quantity"], 2);
    assert_eq!(created["status"], "Completed");
    body["quantity"] = json!(2.5);
    let res = app.post_request(&acct, &body).await;
    let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_field(&err, "quantity");

    // maxLength counts the text as sent: white space around a city counts too.
    let mut body = request_body(&profile, 1);
    body["city"] = json!(format!("  {}", "a".repeat(99)));
    let res = app.post_request(&acct, &body).await;
    let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_field(&err, "city");

    // A blank Idempotency-Key breaks its pattern.
    let res = app
        .client
        .post(&list)
        .header("X-CM-PRODUCTTOKEN", &acct.key)
        .header("Idempotency-Key", " ")
        .json(&request_body(&profile, 1))
        .send()
        .await
        .unwrap();
    let err = expect_error(res, StatusCode::BAD_REQUEST, "VALIDATION_FAILED").await;
    assert_field(&err, "Idempotency-Key");
}
