//! The HTTP API: one module per resource, merged here with the service endpoints, the
//! OpenAPI document and the layers every request passes (limits, metrics, error bodies).

pub mod admin;
pub mod apilog;
pub mod error;
pub mod extract;
pub mod prices;
pub mod profiles;
pub mod requests;
pub mod serve;
pub mod usage;

use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tracing::Instrument;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use self::error::ApiError;
use crate::AppState;

/// Largest JSON body (docs/api.md); the stock import has its own limit.
pub const BODY_LIMIT: usize = 64 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(title = "numberdesk", description = "Phone-number requests with a CM.com-compatible API. The user guide is in the docs/ folder of the numberdesk repository: docs/api.md for the API (statuses, errors, callbacks and how to verify them), docs/operations.md for running the service.\n\nThis document is exact: every rule the server checks on a parameter or field (required, enum, range, length, pattern, format) is in its schema, and every status code an operation can answer is listed with the error body. What a schema cannot say (a rule that joins two fields, or one that depends on stored data, such as a profile that must be approved or stock that must exist) is answered with the codes listed at each operation."),
    modifiers(&SecuritySchemes),
    components(schemas(admin::ImportEntryJson)),
    tags((name = "Number requests"), (name = "Phone numbers"), (name = "Company profiles"), (name = "Catalog"), (name = "API log"), (name = "Operator"), (name = "Service"))
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "productToken",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-CM-PRODUCTTOKEN"))),
        );
        components.add_security_scheme(
            "adminToken",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document of every endpoint, generated from the handlers, with the status
/// callback described under `webhooks`.
pub fn openapi() -> serde_json::Value {
    with_webhooks(api_router().split_for_parts().1)
}

fn with_webhooks(doc: utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut v = serde_json::to_value(doc).unwrap_or_default();
    add_common_answers(&mut v);
    text_rule_on_unknown_fields(&mut v);
    let header = |name: &str, desc: &str| serde_json::json!({"name": name, "in": "header", "required": true, "description": desc, "schema": {"type": "string"}});
    v["webhooks"] = serde_json::json!({
        "numberRequestStatusChanged": {"post": {
            "summary": "A number request entered a status",
            "description": "POSTed to the request's callbackUrl once per status event, retried on the configured schedule until a 2xx (410 stops retries). Callbacks of one request arrive in order. Verify webhook-signature: base64 HMAC-SHA256 with the account's secret (base64 after `whsec_`) over `{webhook-id}.{webhook-timestamp}.{body}`, prefixed `v1,`; during a rotation several space-separated signatures are sent.",
            "parameters": [
                header("webhook-id", "The status event id; stable across retries"),
                header("webhook-timestamp", "Unix seconds of this attempt"),
                header("webhook-signature", "`v1,<base64>` per valid secret, space-separated"),
            ],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NumberRequest"}}}},
            "responses": {"200": {"description": "Any 2xx acknowledges"}, "410": {"description": "Stop retrying this event"}}
        }}
    });
    v
}

/// Unknown fields of a body are ignored, but the text rule holds for them too (no control or
/// bidirectional-control characters in any string or field name, see [`crate::text`]). Every
/// object schema a request body uses gets `propertyNames` and `additionalProperties` saying so,
/// the latter through `JsonValue`: any JSON value whose strings and names keep the rule.
fn text_rule_on_unknown_fields(doc: &mut serde_json::Value) {
    use serde_json::json;
    let free = crate::rules::free_text_pattern();
    let mut pending: Vec<String> = Vec::new();
    let collect = |schema: &serde_json::Value, pending: &mut Vec<String>| {
        let mut stack = vec![schema.clone()];
        while let Some(s) = stack.pop() {
            match s {
                serde_json::Value::Object(map) => {
                    for (k, v) in map {
                        if k == "$ref" {
                            if let Some(name) = v
                                .as_str()
                                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                            {
                                pending.push(name.to_string());
                            }
                        } else {
                            stack.push(v);
                        }
                    }
                }
                serde_json::Value::Array(items) => stack.extend(items),
                _ => {}
            }
        }
    };
    if let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) {
        for item in paths.values().filter_map(|i| i.as_object()) {
            for op in item.values() {
                if let Some(content) = op["requestBody"]["content"].as_object() {
                    for media in content.values() {
                        collect(&media["schema"], &mut pending);
                    }
                }
            }
        }
    }
    let Some(schemas) = doc
        .get_mut("components")
        .and_then(|c| c.get_mut("schemas"))
        .and_then(|s| s.as_object_mut())
    else {
        return;
    };
    let mut done = std::collections::HashSet::new();
    while let Some(name) = pending.pop() {
        if !done.insert(name.clone()) {
            continue;
        }
        let Some(schema) = schemas.get_mut(&name) else {
            continue;
        };
        let snapshot = schema.clone();
        collect(&snapshot, &mut pending);
        if let Some(obj) = schema.as_object_mut()
            && obj.get("type") == Some(&json!("object"))
        {
            obj.entry("propertyNames")
                .or_insert_with(|| json!({"pattern": free}));
            obj.entry("additionalProperties")
                .or_insert_with(|| json!({"$ref": "#/components/schemas/JsonValue"}));
        }
    }
    // Without a `type`, each keyword applies to values of its own kind only: a string must match
    // the pattern, an array's items and an object's names and values follow the same rule, at
    // any depth. (Written this way, rather than as `anyOf` per type, generated clients read it
    // as "any value".)
    schemas.insert(
        "JsonValue".into(),
        json!({
            "description": "Any JSON value whose strings and object names hold no control or bidirectional-control characters",
            "pattern": free,
            "propertyNames": {"pattern": free},
            "items": {"$ref": "#/components/schemas/JsonValue"},
            "additionalProperties": {"$ref": "#/components/schemas/JsonValue"}
        }),
    );
}

/// One shared error answer of the document.
fn error_answer(description: &str) -> serde_json::Value {
    serde_json::json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    })
}

/// Adds the error answers that come from the layers and extractors every operation of a kind
/// passes, written here once rather than on each handler: authentication (401, 403 or 404, and
/// the 429 of the rate limit or the failed-authentication throttle), JSON bodies (400, 413,
/// 415), query strings (400), ids in the path (404) and the database (503). A handler's own
/// description of a code, where it has one, is kept.
///
/// Also writes an optional body as what it is: a body that may be left out (`required: false`)
/// with the plain schema, not a body that may be JSON `null`.
fn add_common_answers(doc: &mut serde_json::Value) {
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        // Ids in the path other than the account of a customer path: unknown is 404.
        let has_path_id = path
            .split('/')
            .any(|seg| seg.starts_with('{') && seg != "{accountGuid}");
        for op in item.values_mut() {
            optional_body(op);
            unique_params(op);
            let scheme = |name: &str| {
                op.get("security")
                    .and_then(|s| s.as_array())
                    .is_some_and(|list| list.iter().any(|r| r.get(name).is_some()))
            };
            let (customer, operator) = (scheme("productToken"), scheme("adminToken"));
            let has_body = op.get("requestBody").is_some();
            let has_query = op
                .get("parameters")
                .and_then(|p| p.as_array())
                .is_some_and(|list| list.iter().any(|p| p["in"] == "query"));
            let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) else {
                continue;
            };
            let mut add = |code: &str, answer: serde_json::Value| {
                responses.entry(code).or_insert(answer);
            };
            if has_body {
                add(
                    "400",
                    error_answer(
                        "MALFORMED_JSON: the body is not JSON, not of the expected shape or a field has the wrong JSON type; VALIDATION_FAILED: a field breaks its rule (errors name each field)",
                    ),
                );
                add(
                    "413",
                    error_answer("PAYLOAD_TOO_LARGE: the body is larger than 64 KiB"),
                );
                add(
                    "415",
                    error_answer("UNSUPPORTED_MEDIA_TYPE: a body that is not application/json"),
                );
            }
            if has_query {
                add(
                    "400",
                    error_answer(
                        "VALIDATION_FAILED: a query parameter breaks its rule (errors name each one)",
                    ),
                );
            }
            if customer {
                add(
                    "401",
                    error_answer("UNAUTHORIZED: missing, unknown or revoked API key"),
                );
                add(
                    "403",
                    error_answer(
                        "FORBIDDEN: the API key belongs to another account than the path names",
                    ),
                );
                add(
                    "429",
                    serde_json::json!({
                        "description": "RATE_LIMITED: more requests per second than NUMBERDESK_RATE_LIMIT allows for this API key",
                        "headers": {"Retry-After": {"description": "Whole seconds to wait", "schema": {"type": "integer"}}},
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
                    }),
                );
            }
            if operator {
                add(
                    "401",
                    error_answer("UNAUTHORIZED: missing or wrong operator token"),
                );
                add(
                    "404",
                    error_answer(
                        "NOT_FOUND: an unknown id, or no operator token is configured (the operator API is off)",
                    ),
                );
                add(
                    "429",
                    serde_json::json!({
                        "description": "RATE_LIMITED: too many failed operator-token attempts from this client address in the last minute (NUMBERDESK_AUTH_FAILURE_LIMIT), correct tokens included",
                        "headers": {"Retry-After": {"description": "Whole seconds to wait", "schema": {"type": "integer"}}},
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
                    }),
                );
            }
            if has_path_id {
                add(
                    "404",
                    error_answer(
                        "NOT_FOUND: no such resource (an id of another account is unknown too)",
                    ),
                );
            }
            if customer || operator {
                add(
                    "503",
                    error_answer(
                        "SERVICE_UNAVAILABLE: the database cannot be reached; try again shortly",
                    ),
                );
            }
        }
    }
}

/// Keeps the first of parameters with the same name and place: a path parameter declared with
/// its rule comes first, and utoipa adds a plain one for the same name from the handler's
/// `Path` tuple.
fn unique_params(op: &mut serde_json::Value) {
    let Some(params) = op.get_mut("parameters").and_then(|p| p.as_array_mut()) else {
        return;
    };
    let mut seen = std::collections::HashSet::new();
    params.retain(|p| seen.insert((p["name"].to_string(), p["in"].to_string())));
}

/// An optional body as utoipa writes it (`oneOf: [null, X]`, required) becomes the plain `X`,
/// not required: clients then leave the body out instead of sending `null`.
fn optional_body(op: &mut serde_json::Value) {
    let Some(body) = op.get_mut("requestBody").and_then(|b| b.as_object_mut()) else {
        return;
    };
    let Some(content) = body.get_mut("content").and_then(|c| c.as_object_mut()) else {
        return;
    };
    let mut optional = false;
    for media in content.values_mut() {
        let Some(one_of) = media["schema"]["oneOf"].as_array() else {
            continue;
        };
        let non_null: Vec<serde_json::Value> = one_of
            .iter()
            .filter(|s| s.get("type") != Some(&serde_json::json!("null")))
            .cloned()
            .collect();
        if one_of.len() == 2 && non_null.len() == 1 {
            media["schema"] = non_null[0].clone();
            optional = true;
        }
    }
    if optional {
        body.insert("required".into(), serde_json::Value::Bool(false));
    }
}

fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(requests::router())
        .merge(profiles::router())
        .merge(admin::router())
        .merge(apilog::router())
        .merge(prices::router())
        .merge(usage::router())
}

pub fn router(state: AppState) -> Router {
    let (api, doc) = api_router().split_for_parts();
    Router::new()
        .merge(api)
        .merge(crate::console::router())
        .route("/", get(|| async { crate::console::redirect("/console/") }))
        .merge(SwaggerUi::new("/docs").external_url_unchecked("/openapi.json", with_webhooks(doc)))
        .route(
            "/healthz",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::not_found() })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(error_bodies))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_metrics,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            ApiError::internal().into_response()
        }))
        // Outside the panic catcher, so a caught panic is recorded as the 500 it answered.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            apilog::record,
        ))
        // Outermost, so every answer (a caught panic's too) carries the id and every log line
        // written while the request runs sits in its span.
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

/// The header that names one request, in both directions.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the request being served: the caller's own `X-Request-Id` when it is usable, else a
/// new UUID. Handlers and the API log find it in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// The caller's id when it is 1..128 characters of `[A-Za-z0-9._:-]`; anything else could
    /// forge log lines or carry secrets into them, so it is replaced rather than trusted.
    pub fn from_caller(value: &str) -> Option<RequestId> {
        let ok = (1..=128).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        ok.then(|| RequestId(value.to_string()))
    }

    fn new_random() -> RequestId {
        RequestId(uuid::Uuid::new_v4().to_string())
    }
}

/// Names every request: sets [`RequestId`], runs the request inside a span whose `requestId`
/// field every log line of it carries, writes one line when it ends and echoes the id in
/// `x-request-id`.
async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(RequestId::from_caller)
        .unwrap_or_else(RequestId::new_random);
    let header = HeaderValue::from_str(&id.0).ok();
    if let Some(v) = &header {
        // Later layers see the id that is actually used, not a rejected one.
        req.headers_mut().insert(REQUEST_ID_HEADER, v.clone());
    }
    // The path only: query strings and headers may hold what does not belong in a log.
    let span = tracing::info_span!(
        "request",
        requestId = %id.0,
        method = %req.method(),
        path = %req.uri().path(),
    );
    req.extensions_mut().insert(id);
    let start = Instant::now();
    let mut res = async move {
        let res = next.run(req).await;
        tracing::info!(
            status = res.status().as_u16(),
            durationMs = start.elapsed().as_millis() as u64,
            "request finished"
        );
        res
    }
    .instrument(span)
    .await;
    if let Some(v) = header {
        res.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    res
}

/// Ready when the database answers within 2 s (a load balancer's health check should not wait
/// for the 5 s pool timeout of ordinary requests).
async fn readyz(State(state): State<AppState>) -> Response {
    let ping = tokio::time::timeout(std::time::Duration::from_secs(2), state.db.ping());
    if ping.await.unwrap_or(false) {
        axum::Json(serde_json::json!({"status": "ready"})).into_response()
    } else {
        ApiError::unavailable().into_response()
    }
}

/// The Prometheus text; with `NUMBERDESK_METRICS_TOKEN` set, only for `Authorization: Bearer`
/// with that token.
async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(token) = state.config.metrics_token.as_deref()
        && !extract::bearer_token(&headers).is_some_and(|t| extract::secret_matches(t, token))
    {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "A valid metrics token is required.",
        )
        .into_response();
    }
    let text = state.metrics.render(&state.db).await;
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        text,
    )
        .into_response()
}

/// Gives every error answer the contract's body, also those axum produces itself
/// (405, a path that does not decode, ...).
async fn error_bodies(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if status.as_u16() < 400 {
        return res;
    }
    // JSON bodies are ours already; HTML ones are console pages that say what went wrong.
    let is_ours = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if is_ours {
        return res;
    }
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            ("METHOD_NOT_ALLOWED", "This method is not allowed here.")
        }
        StatusCode::NOT_FOUND => ("NOT_FOUND", "The resource was not found."),
        StatusCode::PAYLOAD_TOO_LARGE => ("PAYLOAD_TOO_LARGE", "The body is larger than allowed."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "UNSUPPORTED_MEDIA_TYPE",
            "Send the body as application/json.",
        ),
        s if s.is_server_error() => ("INTERNAL_ERROR", "Something went wrong on our side."),
        _ => ("BAD_REQUEST", "The request is not valid."),
    };
    let mut out = ApiError::new(status, code, message).into_response();
    if let Some(allow) = res.headers().get(axum::http::header::ALLOW) {
        out.headers_mut()
            .insert(axum::http::header::ALLOW, allow.clone());
    }
    out
}

async fn record_metrics(State(state): State<AppState>, req: Request<Body>, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = method_label(req.method());
    let res = next.run(req).await;
    state.metrics.http(
        method,
        &route,
        res.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    res
}

/// The `method` label: one of the standard methods, else `other`. Labels are a closed set
/// because every distinct value is a series the exporter keeps for ever; a client inventing
/// methods would otherwise grow memory and the metrics page without bound.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}
