//! The HTTP API: routes from `routes.rs`, bearer authentication, input
//! checks, and the mapping of engine answers to HTTP.
//!
//! Nothing here decides what an actor may do: the token gives the actor,
//! the engine decides. The host only refuses input it cannot hand to the
//! engine (malformed JSON, unknown fields, wrong types, oversized bodies);
//! a date outside core's years is core's refusal (`invalid_input`, rule
//! `year_out_of_range`), as on every face, and answers engine refusals with their status.

pub mod batch;
mod body;
pub mod error;
pub mod fhir;
pub mod openapi;
pub mod routes;

use crate::auth::{Principal, Registry};
use crate::commit::Reply;
use crate::metrics::Metrics;
use crate::tenant::{Tenant, Tenants};
use axum::Router;
use axum::body::Body;
use axum::extract::{RawPathParams, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, any, get};
use chrono::DateTime;
use error::ApiError;
use routes::{Method, Op, Param, ROUTES, Route, Ty};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// The years an input date may have: core's bound, which every face shares.
pub const EARLIEST_YEAR: i32 = enlace_core::error::YEARS.0;
pub const LATEST_YEAR: i32 = enlace_core::error::YEARS.1;

/// Most entries a feed request scans to fill one page.
const FEED_SCAN: u64 = 10_000;

/// Everything a request handler needs.
#[derive(Debug)]
pub struct App {
    pub registry: Arc<Registry>,
    pub tenants: Arc<Tenants>,
    pub metrics: Metrics,
    pub max_body: usize,
    pub openapi: String,
    /// Staff sign-in with the agency's identity provider, when configured.
    pub sign_in: Option<crate::oidc::Verifier>,
}

impl App {
    pub fn new(registry: Arc<Registry>, tenants: Arc<Tenants>, max_body: usize) -> Self {
        App {
            registry,
            tenants,
            metrics: Metrics::new(
                ROUTES
                    .iter()
                    .map(|r| r.id.to_owned())
                    .chain(["healthz", "metrics", "openapi", "sign_in"].map(str::to_owned))
                    .chain(fhir::ENDPOINTS.iter().map(|e| e.id.to_owned()))
                    .chain(["batch".to_owned()]),
            ),
            max_body,
            openapi: openapi::document().to_pretty_json().unwrap_or_default(),
            sign_in: None,
        }
    }
}

fn filter(m: Method) -> MethodFilter {
    match m {
        Method::Get => MethodFilter::GET,
        Method::Post => MethodFilter::POST,
        Method::Put => MethodFilter::PUT,
    }
}

/// Builds the whole router: `/v1/` from the route table, the operational
/// endpoints, and the web demo's static files at `/`.
pub fn router(app: Arc<App>, web_root: Option<PathBuf>) -> Router {
    let mut by_path: BTreeMap<&str, MethodRouter> = BTreeMap::new();
    for (i, route) in ROUTES.iter().enumerate() {
        let a = app.clone();
        let handler = move |req: Request| dispatch(a, i, req);
        let entry = by_path.remove(route.path).unwrap_or_default();
        by_path.insert(route.path, entry.on(filter(route.method), handler));
    }
    let mut r = Router::new();
    for (path, mr) in by_path {
        r = r.route(path, mr.fallback(method_not_allowed));
    }
    let n = ROUTES.len();
    let (a1, a2, a3, a5) = (app.clone(), app.clone(), app.clone(), app.clone());
    r = r
        .route(
            "/healthz",
            get(move || observed(a1.clone(), n, healthz(a1))),
        )
        .route(
            "/metrics",
            get(move || observed(a2.clone(), n + 1, metrics(a2))),
        )
        .route(
            "/openapi.json",
            get(move || observed(a3.clone(), n + 2, openapi_json(a3))),
        )
        .route(
            "/v1/sign-in",
            get(move || observed(a5.clone(), n + 3, sign_in_info(a5))).fallback(method_not_allowed),
        )
        .route("/v1", any(not_found))
        .route("/v1/{*rest}", any(not_found));
    r = fhir::routes(r, &app, n + 4);
    let a4 = app.clone();
    let batch_metric = n + 4 + fhir::ENDPOINTS.len();
    r = r.route(
        batch::PATH,
        axum::routing::on(
            filter(batch::METHOD),
            move |headers: HeaderMap, body: Body| async move {
                let a = a4.clone();
                observed(a4, batch_metric, async move {
                    batch::handle(&a, headers, body)
                        .await
                        .unwrap_or_else(IntoResponse::into_response)
                })
                .await
            },
        )
        .fallback(method_not_allowed),
    );
    match web_root.filter(|p| p.is_dir()) {
        Some(root) => r.fallback_service(
            tower_http::services::ServeDir::new(root).append_index_html_on_directories(true),
        ),
        None => r.fallback(not_found),
    }
}

/// The CORS layer for pages of other origins (`cors_origins`), or none.
/// Preflights are answered for the API's methods and headers; credentials
/// are bearer tokens, so no cookies are allowed.
pub fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderName, Method};
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if list.is_empty() {
        return None;
    }
    Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(tower_http::cors::AllowOrigin::list(list))
            .allow_methods([Method::GET, Method::POST, Method::PUT])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("idempotency-key"),
            ])
            .expose_headers([HeaderName::from_static("idempotent-replayed")])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this resource does not take that method",
    )
}

async fn observed<F: std::future::Future<Output = Response>>(
    app: Arc<App>,
    i: usize,
    f: F,
) -> Response {
    let t0 = Instant::now();
    let resp = f.await;
    app.metrics
        .route(Some(i))
        .observe(resp.status().as_u16(), t0.elapsed());
    resp
}

async fn healthz(app: Arc<App>) -> Response {
    let mut tenants = Map::new();
    let mut ok = true;
    for t in app.tenants.iter() {
        let s = &t.writer.shared.stats;
        let healthy = s.healthy.load(std::sync::atomic::Ordering::Relaxed);
        ok &= healthy;
        tenants.insert(
            t.name.clone(),
            json!({
                "healthy": healthy,
                "journal_entries": s.journal_len.load(std::sync::atomic::Ordering::Relaxed),
            }),
        );
    }
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(json!({"status": if ok { "ok" } else { "degraded" }, "tenants": tenants})),
    )
        .into_response()
}

async fn metrics(app: Arc<App>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        {
            let mut text = app.metrics.render(&app.tenants);
            if let Some(v) = &app.sign_in {
                v.counts().render(&mut text);
            }
            text
        },
    )
        .into_response()
}

async fn openapi_json(app: Arc<App>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        app.openapi.clone(),
    )
        .into_response()
}

async fn dispatch(app: Arc<App>, i: usize, req: Request) -> Response {
    let t0 = Instant::now();
    let route = &ROUTES[i];
    let resp = match handle(&app, route, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    let status = resp.status().as_u16();
    tracing::debug!(
        route = route.id,
        status,
        micros = t0.elapsed().as_micros() as u64,
        "request"
    );
    app.metrics.route(Some(i)).observe(status, t0.elapsed());
    resp
}

/// The principal of the request's bearer token: a token made by the CLI
/// (`enl_…`), or a JWT of the agency's identity provider when sign-in is
/// configured.
async fn authenticate(app: &App, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthenticated("a bearer token is required"))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::unauthenticated("the Authorization header must be `Bearer TOKEN`")
        })?;
    if let Some(sign_in) = app
        .sign_in
        .as_ref()
        .filter(|_| !token.starts_with(crate::auth::TOKEN_PREFIX))
    {
        return sign_in.verify(token).await.map_err(sign_in_refusal);
    }
    match app.registry.authenticate(token) {
        Ok(Some(p)) => Ok(p),
        Ok(None) if app.registry.expired(token).unwrap_or(false) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "token_expired",
            "the token has expired: ask for a new one (enlace-host token create)",
        )),
        Ok(None) => Err(ApiError::unauthenticated("unknown or revoked token")),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "token lookup failed");
            Err(ApiError::unavailable(
                "auth_unavailable",
                "token store unavailable",
            ))
        }
    }
}

/// The answer to a provider's token that is not accepted.
fn sign_in_refusal(e: crate::oidc::SignInError) -> ApiError {
    use crate::oidc::SignInError as E;
    let message = e.to_string();
    match e {
        E::Expired => ApiError::new(StatusCode::UNAUTHORIZED, "token_expired", message),
        E::Invalid(_) => ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message),
        E::NotMapped(_) => ApiError::new(StatusCode::FORBIDDEN, "identity_not_mapped", message),
        E::Unavailable(_) => {
            tracing::warn!(error = %message, "sign-in refused: identity provider unavailable");
            ApiError::unavailable("identity_provider_unavailable", message)
        }
    }
}

/// `GET /v1/sign-in`: what a page needs to sign staff in with the agency's
/// provider (no token: it is asked before signing in).
async fn sign_in_info(app: Arc<App>) -> Response {
    match &app.sign_in {
        Some(v) => axum::Json(v.info()).into_response(),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "sign_in_not_configured",
            "this host has no identity provider: use a bearer token from enlace-host token create",
        )
        .into_response(),
    }
}

fn tenant_of<'a>(app: &'a App, p: &Principal) -> Result<&'a Arc<Tenant>, ApiError> {
    app.tenants.get(&p.tenant).ok_or_else(|| {
        ApiError::unavailable(
            "tenant_not_loaded",
            "the token's tenant is not loaded by this server; restart it to load new tenants",
        )
    })
}

async fn handle(app: &App, route: &Route, req: Request) -> Result<Response, ApiError> {
    let (mut parts, body) = req.into_parts();
    let principal = authenticate(app, &parts.headers).await?;
    let params: RawPathParams = axum::RequestPartsExt::extract(&mut parts)
        .await
        .map_err(|_| ApiError::bad_request("invalid_path", "the path is not valid UTF-8"))?;
    let path: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let query_string = parts.uri.query().unwrap_or("").to_owned();
    let tenant = tenant_of(app, &principal)?.clone();
    match route.op {
        Op::Me => Ok(axum::Json(json!({
            "tenant": principal.tenant,
            "actor": principal.actor,
            "token_id": principal.token_id,
            "issuer": app.sign_in.as_ref().filter(|_| principal.token_id.is_none()).map(|v| v.config().issuer.clone()),
        }))
        .into_response()),
        Op::Reads => {
            enlace_core::disclosure::read_log_reader(&principal.actor)
                .map_err(|e| ApiError::refused(e.into()))?;
            let q = query_object(route, &query_string)?;
            let beneficiary = q
                .get("beneficiary")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if !(1..=64).contains(&beneficiary.len()) {
                return Err(ApiError::bad_request(
                    "invalid_parameter",
                    "`beneficiary` is an identifier of 1 to 64 bytes",
                )
                .with("parameter", "beneficiary"));
            }
            let (after, limit) = page(&q);
            let (after, limit) = (after as i64, limit as u32);
            let subjects = enlace_core::disclosure::subjects_of(&beneficiary).to_vec();
            let items = tokio::task::spawn_blocking(move || tenant.reads.of(&subjects, after, limit))
                .await
                .map_err(|e| ApiError::internal(e.to_string()))?
                .map_err(|e| {
                    tracing::error!(error = %format!("{e:#}"), "reading the record of reads failed");
                    ApiError::unavailable("read_log_unavailable", "the record of reads cannot be read")
                })?;
            let next = items.last().map_or(after, |r| r.seq);
            Ok(axum::Json(json!({"items": items, "next": next})).into_response())
        }
        Op::Feed => {
            let (after, limit) = page(&query_object(route, &query_string)?);
            feed(tenant, principal, after, limit as usize).await
        }
        Op::Query { ty } => {
            let mut obj = query_object(route, &query_string)?;
            put_path_params(route, &path, &mut obj)?;
            obj.insert("type".into(), Value::String(ty.into()));
            let value = Value::Object(obj);
            let query: enlace_core::Query = serde_json::from_value(value)
                .map_err(|e| ApiError::bad_request("invalid_parameter", e.to_string()))?;
            match tenant
                .writer
                .query(principal.actor.clone(), query.clone())
                .await
            {
                Reply::Answer(a) => {
                    record_read(&tenant, &principal, &query, &a).await?;
                    let mut v =
                        serde_json::to_value(a).map_err(|e| ApiError::internal(e.to_string()))?;
                    let value = v.get_mut("value").map(Value::take).unwrap_or(Value::Null);
                    Ok(axum::Json(value).into_response())
                }
                other => Err(reply_error(other)),
            }
        }
        Op::Command { ty, wrap } => {
            if !query_string.is_empty() {
                return Err(ApiError::bad_request(
                    "unknown_parameter",
                    "commands take no query parameters",
                ));
            }
            let key = idempotency_key(&parts.headers)?;
            let bytes = read_body(app, &parts.headers, body).await?;
            let command = build_command(route, ty, wrap, &path, &bytes)?;
            match tenant.writer.command(principal.actor, key, command).await {
                Reply::Done(outcome) => {
                    let replayed = outcome.replayed;
                    let mut resp = axum::Json(outcome).into_response();
                    if replayed {
                        resp.headers_mut()
                            .insert("idempotent-replayed", HeaderValue::from_static("true"));
                    }
                    Ok(resp)
                }
                other => Err(reply_error(other)),
            }
        }
    }
}

fn reply_error(r: Reply) -> ApiError {
    match r {
        Reply::Refused(r) => ApiError::refused(r),
        Reply::Trapped(m) => ApiError::trap(&m),
        Reply::CommitFailed(m) => ApiError::unavailable("commit_failed", m),
        Reply::Unavailable(m) => ApiError::unavailable("unavailable", m),
        Reply::Done(_) | Reply::Answer(_) => ApiError::internal("unexpected engine reply"),
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.to_owned()))
            .map_err(|_| ApiError::bad_request("invalid_header", "Idempotency-Key must be ASCII")),
    }
}

async fn read_body(app: &App, headers: &HeaderMap, body: Body) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("request bodies are limited to {} bytes", app.max_body),
        )
    };
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > app.max_body as u64
    {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, app.max_body)
        .await
        .map_err(|_| too_large())?;
    if !bytes.is_empty() {
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "request bodies must be application/json",
            ));
        }
    }
    Ok(bytes.to_vec())
}

/// Turns a path parameter into its JSON value.
fn typed(p: &Param, raw: &str) -> Result<Value, ApiError> {
    let bad = |what: &str| {
        ApiError::bad_request("invalid_parameter", format!("{} must be {what}", p.name))
            .with("parameter", p.name)
    };
    Ok(match p.ty {
        Ty::Int => Value::from(
            raw.parse::<u64>()
                .map_err(|_| bad("a non-negative integer"))?,
        ),
        Ty::Tier => Value::from(raw.parse::<u8>().map_err(|_| bad("1, 2 or 3"))?),
        Ty::Bool => Value::Bool(raw.parse::<bool>().map_err(|_| bad("true or false"))?),
        Ty::Str | Ty::Date | Ty::DateTime | Ty::Priority | Ty::List => Value::String(raw.into()),
    })
}

fn put_path_params(
    route: &Route,
    path: &[(String, String)],
    obj: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    for p in route.path_params {
        let raw = path
            .iter()
            .find(|(k, _)| k == p.name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| ApiError::bad_request("invalid_path", format!("missing {}", p.name)))?;
        if obj.contains_key(p.field) {
            return Err(ApiError::bad_request(
                "unknown_field",
                format!(
                    "`{}` comes from the path and may not appear in the body",
                    p.field
                ),
            )
            .with("field", p.field));
        }
        obj.insert(p.field.into(), typed(p, raw)?);
    }
    Ok(())
}

/// Builds the JSON object of a query from the query string, by the route's
/// parameter list: unknown or repeated parameters are refused.
fn query_object(route: &Route, qs: &str) -> Result<Map<String, Value>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(qs)
        .map_err(|e| ApiError::bad_request("invalid_parameter", e.to_string()))?;
    let mut obj = Map::new();
    for (k, v) in pairs {
        let p = route
            .query_params
            .iter()
            .find(|p| p.name == k)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "unknown_parameter",
                    format!("unknown query parameter `{k}`"),
                )
                .with("parameter", k.clone())
            })?;
        if p.ty == Ty::List {
            let list = obj
                .entry(p.field)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(a) = list {
                a.push(Value::String(v));
            }
            continue;
        }
        if obj.contains_key(p.field) {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                format!("query parameter `{k}` is repeated"),
            )
            .with("parameter", k));
        }
        obj.insert(p.field.into(), typed(p, &v)?);
    }
    for p in route.query_params {
        if p.required && !obj.contains_key(p.field) {
            return Err(ApiError::bad_request(
                "missing_parameter",
                format!("query parameter `{}` is required", p.name),
            )
            .with("parameter", p.name));
        }
    }
    Ok(obj)
}

/// Builds an engine command from the body and the path.
pub(crate) fn build_command(
    route: &Route,
    ty: &str,
    wrap: Option<&str>,
    path: &[(String, String)],
    bytes: &[u8],
) -> Result<enlace_core::Command, ApiError> {
    let body: Option<Value> = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(serde_json::from_slice(bytes).map_err(|e| {
            ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
        })?)
    };
    build_command_from(route, ty, wrap, path, body)
}

/// Builds an engine command from the parsed body (`None`: none given) and
/// the path.
pub(crate) fn build_command_from(
    route: &Route,
    ty: &str,
    wrap: Option<&str>,
    path: &[(String, String)],
    body: Option<Value>,
) -> Result<enlace_core::Command, ApiError> {
    let body = match body {
        Some(b) => b,
        None if wrap.is_some() => {
            return Err(ApiError::bad_request(
                "missing_body",
                "this request needs a JSON body",
            ));
        }
        None => Value::Object(Map::new()),
    };
    let mut obj = match wrap {
        Some(field) => {
            let mut m = Map::new();
            m.insert(field.into(), body);
            m
        }
        None => match body {
            Value::Object(m) => m,
            _ => {
                return Err(ApiError::bad_request(
                    "invalid_body",
                    "the body must be a JSON object",
                ));
            }
        },
    };
    if obj.contains_key("type") {
        return Err(
            ApiError::bad_request("unknown_field", "unknown field `type`").with("field", "type"),
        );
    }
    put_path_params(route, path, &mut obj)?;
    obj.insert("type".into(), Value::String(ty.into()));
    let mut value = Value::Object(obj);
    routes::integral_numbers(&mut value);
    body::decode(&value).map_err(body::BodyError::refusal)
}

/// One entry of the event feed.
#[derive(Debug, serde::Serialize)]
struct FeedItem<'a> {
    seq: u64,
    at: DateTime<chrono::Utc>,
    command: &'a str,
    events: Vec<&'a enlace_core::Event>,
}

/// The cursor and page size of a paged route (`routes::AFTER`,
/// `routes::LIMIT`): from 0, 100 a page, at most 1000.
fn page(q: &Map<String, Value>) -> (u64, u64) {
    let after = q.get("after").and_then(Value::as_u64).unwrap_or(0);
    let limit = q.get("limit").and_then(Value::as_u64).unwrap_or(100);
    (after, limit.clamp(1, 1000))
}

/// Records that the answer `a` to `query` showed people to `principal`,
/// before it is sent: an answer whose read cannot be recorded is not sent.
pub(crate) async fn record_read(
    tenant: &Tenant,
    principal: &Principal,
    query: &enlace_core::Query,
    a: &enlace_core::Answer,
) -> Result<(), ApiError> {
    let subjects = enlace_core::disclosure::disclosed(query, a);
    store_read(tenant, principal, || serde_json::to_string(query), subjects).await
}

/// Records a read of `subjects`; the query's text is made only when
/// somebody was shown.
async fn store_read(
    tenant: &Tenant,
    principal: &Principal,
    query: impl FnOnce() -> serde_json::Result<String>,
    subjects: Vec<String>,
) -> Result<(), ApiError> {
    if subjects.is_empty() {
        return Ok(());
    }
    let query = query().unwrap_or_default();
    tenant
        .reads
        .record(&principal.actor, query, subjects)
        .await
        .map_err(|e| {
            tracing::error!(error = %format!("{e:#}"), "a read could not be recorded");
            ApiError::unavailable(
                "read_log_unavailable",
                "the record of reads cannot be written, so nothing is shown; try again",
            )
        })
}

async fn feed(
    tenant: Arc<Tenant>,
    principal: Principal,
    after: u64,
    limit: usize,
) -> Result<Response, ApiError> {
    let (t, p) = (tenant.clone(), principal.clone());
    let (body, subjects) =
        tokio::task::spawn_blocking(move || -> Result<(Value, Vec<String>), ApiError> {
            // Only entries the visibility index has folded are served, so an
            // entry is never judged (and skipped) before the index knows it.
            let head = tenant
                .writer
                .shared
                .visibility
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .seq();
            let window = FEED_SCAN.min(head.saturating_sub(after));
            let entries = tenant
                .read_after(after, window)
                .map_err(|e| ApiError::internal(format!("{e:#}")))?;
            let vis = tenant
                .writer
                .shared
                .visibility
                .read()
                .unwrap_or_else(|p| p.into_inner());
            let mut items = Vec::new();
            let mut next = after;
            for e in entries.iter().filter(|e| e.seq <= head) {
                if items.len() >= limit {
                    break;
                }
                next = e.seq;
                let events = vis.visible_events(&principal.actor, e);
                if !events.is_empty() {
                    items.push(FeedItem {
                        seq: e.seq,
                        at: e.at,
                        command: &e.command,
                        events,
                    });
                }
            }
            let subjects = enlace_core::disclosure::disclosed_by_events(
                items.iter().flat_map(|i| i.events.iter().copied()),
            );
            Ok((
                json!({"items": items, "next": next, "head": head}),
                subjects,
            ))
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    store_read(
        &t,
        &p,
        || Ok(json!({"type": "events", "after": after}).to_string()),
        subjects,
    )
    .await?;
    Ok(axum::Json(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_body_builds_its_command() {
        for r in ROUTES {
            if let (Op::Command { ty, wrap }, Some(ex)) = (r.op, r.example) {
                let path: Vec<(String, String)> = r
                    .path_params
                    .iter()
                    .map(|p| {
                        let v = if p.ty == Ty::Int { "1" } else { "X1" };
                        (p.name.to_owned(), v.to_owned())
                    })
                    .collect();
                let bytes = serde_json::to_vec(&ex()).unwrap();
                let c = build_command(r, ty, wrap, &path, &bytes)
                    .unwrap_or_else(|e| panic!("{}: {:?}", r.id, e.body));
                assert_eq!(c.name(), ty);
            }
        }
    }
}
