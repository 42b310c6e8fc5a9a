//! The read-only exchange endpoints: HL7 FHIR R4 under `/fhir/` and
//! iCalendar feeds under `/v1/…/calendar`.
//!
//! Both are engine queries ([`Query::Fhir`], [`Query::Calendar`]): the
//! engine maps, filters and authorizes; this module only turns the URL into
//! the query and the answer into a response with the right media type. FHIR
//! errors come back as an `OperationOutcome` that also carries the engine's
//! stable code, with the same HTTP statuses as the rest of the API.

use super::error::ApiError;
use super::{App, EARLIEST_YEAR, LATEST_YEAR, authenticate, reply_error, tenant_of};
use crate::commit::Reply;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, Utc};
use enlace_core::query::{CalendarOf, FhirParam};
use enlace_core::{Answer, ErrorKind, Query};
use serde_json::json;
use std::sync::Arc;

/// The media type of FHIR JSON.
pub const FHIR_JSON: &str = "application/fhir+json; fhirVersion=4.0";
/// The media type of iCalendar.
pub const CALENDAR: &str = "text/calendar; charset=utf-8";

/// One exchange endpoint, for the router, the OpenAPI document and the
/// metrics.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub path: &'static str,
    pub id: &'static str,
    pub summary: &'static str,
    /// `(name, required, doc)` of the query parameters (FHIR searches take
    /// the resource type's search parameters, listed by `/fhir/metadata`).
    pub query: &'static [(&'static str, bool, &'static str)],
    pub media_type: &'static str,
}

const WINDOW: &[(&str, bool, &str)] = &[
    ("from", true, "Start of the window (RFC 3339), inclusive."),
    (
        "to",
        true,
        "End of the window (RFC 3339), exclusive; at most 366 days after `from`.",
    ),
];

/// The one endpoint read without a token: FHIR and SMART clients read the
/// CapabilityStatement before they have one. It is the same for every
/// tenant and actor (core's `capability_statement`), so no engine is asked.
pub const PUBLIC_ENDPOINT: &str = "fhirCapabilities";

/// Every exchange endpoint. All but [`PUBLIC_ENDPOINT`] take a bearer
/// token, like the rest of the API.
pub static ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        path: "/fhir/metadata",
        id: "fhirCapabilities",
        summary: "The FHIR CapabilityStatement: resource types and search parameters served.",
        query: &[],
        media_type: FHIR_JSON,
    },
    Endpoint {
        path: "/fhir/{resource_type}",
        id: "fhirSearch",
        summary: "FHIR search, answered as a searchset Bundle, e.g. `Appointment?patient=&date=ge…&status=`, `Slot?schedule=&start=ge…&status=free`, `Schedule?actor=`, `ServiceRequest?status=&priority=`, `Task?owner=&status=`; `_count` limits the page.",
        query: &[],
        media_type: FHIR_JSON,
    },
    Endpoint {
        path: "/fhir/{resource_type}/{id}",
        id: "fhirRead",
        summary: "FHIR read of one resource.",
        query: &[],
        media_type: FHIR_JSON,
    },
    Endpoint {
        path: "/v1/agendas/{agenda}/calendar",
        id: "agendaCalendar",
        summary: "The agenda's appointments in a window as an iCalendar feed.",
        query: WINDOW,
        media_type: CALENDAR,
    },
    Endpoint {
        path: "/v1/facilities/{facility}/calendar",
        id: "facilityCalendar",
        summary: "Every agenda of the facility in a window as one iCalendar feed.",
        query: WINDOW,
        media_type: CALENDAR,
    },
    Endpoint {
        path: "/v1/beneficiaries/{beneficiary}/calendar",
        id: "beneficiaryCalendar",
        summary: "A beneficiary's appointments as an iCalendar calendar.",
        query: &[],
        media_type: CALENDAR,
    },
    Endpoint {
        path: "/v1/appointments/{appointment}/calendar",
        id: "appointmentCalendar",
        summary: "One appointment (its latest reschedule) as an iCalendar VEVENT.",
        query: &[],
        media_type: CALENDAR,
    },
];

/// Adds the exchange endpoints to the router; `first_metric` is the metrics
/// index of `ENDPOINTS[0]`.
pub fn routes(mut r: axum::Router, app: &Arc<App>, first_metric: usize) -> axum::Router {
    use axum::routing::get;
    for (i, e) in ENDPOINTS.iter().enumerate() {
        let a = app.clone();
        let m = first_metric + i;
        r = match e.id {
            PUBLIC_ENDPOINT => r.route(
                e.path,
                get(move |h: HeaderMap| super::observed(a.clone(), m, metadata(h))),
            ),
            "fhirSearch" => r.route(
                e.path,
                get(
                    move |h: HeaderMap, Path(t): Path<String>, RawQuery(q): RawQuery| {
                        super::observed(a.clone(), m, fhir(a, h, t, None, q))
                    },
                ),
            ),
            "fhirRead" => r.route(
                e.path,
                get(
                    move |h: HeaderMap,
                          Path((t, id)): Path<(String, String)>,
                          RawQuery(q): RawQuery| {
                        super::observed(a.clone(), m, fhir(a, h, t, Some(id), q))
                    },
                ),
            ),
            id => {
                let of = match id {
                    "agendaCalendar" => CalendarOf::Agenda,
                    "facilityCalendar" => CalendarOf::Facility,
                    "beneficiaryCalendar" => CalendarOf::Beneficiary,
                    _ => CalendarOf::Appointment,
                };
                r.route(
                    e.path,
                    get(
                        move |h: HeaderMap, Path(id): Path<String>, RawQuery(q): RawQuery| {
                            super::observed(a.clone(), m, calendar(a, h, of, id, q))
                        },
                    ),
                )
            }
        };
    }
    r
}

/// `GET /fhir/…`: metadata, search or read.
async fn fhir(
    app: Arc<App>,
    headers: HeaderMap,
    resource_type: String,
    id: Option<String>,
    query: Option<String>,
) -> Response {
    let params = match parse_pairs(query.as_deref()) {
        Ok(p) => p,
        Err(e) => return outcome(e),
    };
    // `_format` is a transport concern: only JSON is served.
    if let Some(f) = params.iter().find(|p| p.name == "_format")
        && !matches!(
            f.value.as_str(),
            "json" | "application/json" | "application/fhir+json"
        )
    {
        return outcome(
            ApiError::new(
                StatusCode::NOT_ACCEPTABLE,
                "unsupported_format",
                "this server answers FHIR JSON only",
            )
            .with("_format", f.value.clone()),
        );
    }
    let params: Vec<FhirParam> = params
        .into_iter()
        .filter(|p| p.name != "_format" && p.name != "_pretty")
        .collect();
    let base_url = base_url(&headers);
    let q = Query::Fhir {
        resource_type,
        id,
        params,
        base_url,
    };
    match ask(&app, &headers, q).await {
        Ok(Answer::Fhir(text)) => ([(header::CONTENT_TYPE, FHIR_JSON)], text).into_response(),
        Ok(_) => outcome(ApiError::internal("unexpected answer")),
        Err(e) => outcome(e),
    }
}

/// `GET /fhir/metadata`, without a token: the CapabilityStatement.
async fn metadata(headers: HeaderMap) -> Response {
    let ctx = enlace_core::interop::SearchContext {
        now: crate::test_clock::now_or(Utc::now()),
        base_url: base_url(&headers),
        national_id_system: None,
    };
    let statement = enlace_core::interop::capability_statement(&ctx);
    ([(header::CONTENT_TYPE, FHIR_JSON)], statement.to_string()).into_response()
}

/// The server's FHIR base URL, from the request's `Host`.
fn base_url(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| format!("http://{h}/fhir"))
}

/// `GET /v1/…/calendar`.
async fn calendar(
    app: Arc<App>,
    headers: HeaderMap,
    of: CalendarOf,
    id: String,
    query: Option<String>,
) -> Response {
    let run = async {
        let mut from = None;
        let mut to = None;
        for p in parse_pairs(query.as_deref())? {
            let slot = match p.name.as_str() {
                "from" if matches!(of, CalendarOf::Agenda | CalendarOf::Facility) => &mut from,
                "to" if matches!(of, CalendarOf::Agenda | CalendarOf::Facility) => &mut to,
                other => {
                    return Err(ApiError::bad_request(
                        "unknown_parameter",
                        format!("unknown query parameter `{other}`"),
                    )
                    .with("parameter", other));
                }
            };
            if slot.is_some() {
                return Err(ApiError::bad_request(
                    "invalid_parameter",
                    format!("`{}` is given twice", p.name),
                )
                .with("parameter", p.name));
            }
            *slot = Some(instant(&p.name, &p.value)?);
        }
        let q = Query::Calendar { of, id, from, to };
        match ask(&app, &headers, q).await? {
            Answer::Calendar(text) => {
                Ok(([(header::CONTENT_TYPE, CALENDAR)], text).into_response())
            }
            _ => Err(ApiError::internal("unexpected answer")),
        }
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// Authenticates and asks the tenant's engine.
async fn ask(app: &App, headers: &HeaderMap, q: Query) -> Result<Answer, ApiError> {
    let principal = authenticate(app, headers).await?;
    let tenant = tenant_of(app, &principal)?.clone();
    match tenant
        .writer
        .query(principal.actor.clone(), q.clone())
        .await
    {
        Reply::Answer(a) => {
            super::record_read(&tenant, &principal, &q, &a).await?;
            Ok(a)
        }
        other => Err(reply_error(other)),
    }
}

fn parse_pairs(query: Option<&str>) -> Result<Vec<FhirParam>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| ApiError::bad_request("invalid_parameter", e.to_string()))?;
    Ok(pairs
        .into_iter()
        .map(|(name, value)| FhirParam { name, value })
        .collect())
}

/// An RFC 3339 instant in the years the API accepts.
fn instant(name: &str, raw: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .filter(|t| (EARLIEST_YEAR..=LATEST_YEAR).contains(&t.year()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_parameter",
                format!(
                    "`{name}` must be an RFC 3339 instant between {EARLIEST_YEAR} and {LATEST_YEAR}"
                ),
            )
            .with("parameter", name)
        })
}

/// An error as a FHIR OperationOutcome, with the engine's code beside the
/// FHIR issue code.
fn outcome(e: ApiError) -> Response {
    let issue_code = match ErrorKind::of_code(&e.body.code) {
        Some(ErrorKind::NotFound) => "not-found",
        Some(ErrorKind::Forbidden) => "forbidden",
        _ if e.status == StatusCode::UNAUTHORIZED => "login",
        _ if e.status.is_server_error() => "exception",
        _ if e.status == StatusCode::NOT_ACCEPTABLE => "not-supported",
        _ => "invalid",
    };
    let body = json!({
        "resourceType": "OperationOutcome",
        "issue": [{
            "severity": "error",
            "code": issue_code,
            "details": {
                "coding": [{"system": enlace_core::interop::SYSTEM_ENLACE, "code": e.body.code}],
                "text": e.body.message,
            },
            "diagnostics": serde_json::to_string(&e.body.details).unwrap_or_default(),
        }],
    });
    (
        e.status,
        [(header::CONTENT_TYPE, FHIR_JSON)],
        body.to_string(),
    )
        .into_response()
}
