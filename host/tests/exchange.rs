//! The read-only exchange endpoints of the real server: FHIR R4 under
//! `/fhir/` and iCalendar feeds under `/v1/…/calendar`. Same tokens, same
//! authorization as the rest of the API (the engine's), FHIR errors as an
//! OperationOutcome carrying the engine's code, and no request changes the
//! journal.

mod common;

use chrono::{Duration, Utc};
use common::{Server, journal_len, seed, token};
use serde_json::{Value, json};

/// GET with a bearer token: status, content type, body text.
async fn get(base: &str, token: Option<&str>, path: &str) -> (u16, String, String) {
    let mut req = reqwest::Client::new().get(format!("{base}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, ctype, r.text().await.unwrap())
}

async fn fhir(base: &str, token: &str, path: &str) -> (u16, Value) {
    let (s, ctype, body) = get(base, Some(token), path).await;
    assert!(
        ctype.starts_with("application/fhir+json"),
        "{path}: {ctype} {body}"
    );
    (s, serde_json::from_str(&body).unwrap())
}

/// The engine's code inside an OperationOutcome.
fn outcome_code(v: &Value) -> (&str, &str) {
    assert_eq!(v["resourceType"], "OperationOutcome", "{v}");
    let issue = &v["issue"][0];
    (
        issue["code"].as_str().unwrap(),
        issue["details"]["coding"][0]["code"].as_str().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fhir_and_calendars_follow_the_engine_s_authorization() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = seed(&data, "demo");
    assert!(
        common::cli(&data, &["tenant", "create", "other"])
            .status
            .success()
    );
    let other_admin = token(&data, "other", "o.admin", "ministry", None, "admin");
    let server = Server::start(&data);
    let base = server.base.clone();
    let api = server.client(&tokens["clinic-clinician"]);

    // A referral from the clinic to the second level.
    let (s, out) = api
        .post(
            "/v1/referrals",
            &json!({"beneficiary": "MX-10000000", "service": "obs-hr", "destination": {"tier": 2},
                    "priority": "urgent", "reason": {"icd10": ["O14.1"], "text": "Severe pre-eclampsia"}}),
            None,
        )
        .await
        .unwrap();
    assert_eq!(s, 200, "{out}");
    let before = journal_len(&api, "demo").await;

    let (s, meta) = fhir(&base, &tokens["clinic-clerk"], "/fhir/metadata").await;
    assert_eq!(s, 200);
    assert_eq!(meta["resourceType"], "CapabilityStatement");
    assert_eq!(meta["fhirVersion"], "4.0.1");

    // Parties to the referral see it; a third facility and another tenant do not.
    for (who, total) in [
        ("clinic-clinician", 1),
        ("auditor", 1),
        ("specialty-coordinator", 0),
    ] {
        for kind in ["ServiceRequest", "Task"] {
            let (s, b) = fhir(
                &base,
                &tokens[who],
                &format!("/fhir/{kind}?status=active,requested"),
            )
            .await;
            assert_eq!(s, 200, "{who} {kind}: {b}");
            assert_eq!(b["resourceType"], "Bundle");
            assert_eq!(b["type"], "searchset");
            assert_eq!(b["total"], total, "{who} {kind}: {b}");
        }
    }
    let (s, b) = fhir(&base, &other_admin, "/fhir/ServiceRequest").await;
    assert_eq!((s, b["total"].clone()), (200, json!(0)), "{b}");

    let (s, sr) = fhir(
        &base,
        &tokens["clinic-clinician"],
        "/fhir/ServiceRequest/referral-1",
    )
    .await;
    assert_eq!(s, 200, "{sr}");
    assert_eq!(sr["resourceType"], "ServiceRequest");
    assert_eq!(sr["priority"], "asap");
    let (s, oo) = fhir(
        &base,
        &tokens["specialty-coordinator"],
        "/fhir/ServiceRequest/referral-1",
    )
    .await;
    assert_eq!(s, 404);
    assert_eq!(outcome_code(&oo), ("not-found", "unknown_resource"));

    // Searches with the parameters users expect.
    let from = (Utc::now() - Duration::days(1)).format("%Y-%m-%d");
    let (s, b) = fhir(
        &base,
        &tokens["clinic-clerk"],
        &format!(
            "/fhir/Slot?schedule=Schedule/agenda-F0001-A01&start=ge{from}&status=free&_count=5"
        ),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["entry"].as_array().map(Vec::len), Some(5), "{b}");
    assert!(
        b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["resource"]["status"] == "free")
    );
    let (s, b) = fhir(
        &base,
        &tokens["clinic-clerk"],
        "/fhir/Schedule?actor=Location/facility-F0001",
    )
    .await;
    assert_eq!(s, 200);
    assert!(b["total"].as_u64().unwrap() >= 1, "{b}");

    // Bad input and missing rights, as OperationOutcomes with stable codes.
    for (who, path, status, codes) in [
        (
            "clinic-clerk",
            "/fhir/Banana",
            400,
            ("invalid", "invalid_input"),
        ),
        (
            "clinic-clerk",
            "/fhir/Appointment?colour=red",
            400,
            ("invalid", "invalid_input"),
        ),
        (
            "clinic-clerk",
            "/fhir/Appointment?date=ge2026-13-45",
            400,
            ("invalid", "invalid_input"),
        ),
        (
            "clinic-clerk",
            "/fhir/Appointment?_format=xml",
            406,
            ("not-supported", "unsupported_format"),
        ),
        (
            "auditor",
            "/fhir/Appointment/appointment-99999",
            404,
            ("not-found", "unknown_resource"),
        ),
    ] {
        let (s, oo) = fhir(&base, &tokens[who], path).await;
        assert_eq!(s, status, "{path}: {oo}");
        assert_eq!(outcome_code(&oo), codes, "{path}");
    }
    let (s, _, body) = get(&base, None, "/fhir/Patient").await;
    assert_eq!(s, 401);
    let oo: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(outcome_code(&oo), ("login", "unauthenticated"));

    // iCalendar: a beneficiary's calendar and an agenda's feed.
    let (s, ctype, ics) = get(
        &base,
        Some(&tokens["clinic-clerk"]),
        "/v1/beneficiaries/MX-10000000/calendar",
    )
    .await;
    assert_eq!(s, 200, "{ics}");
    assert!(ctype.starts_with("text/calendar"), "{ctype}");
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
    let now = Utc::now();
    let window = format!(
        "from={}&to={}",
        now.format("%Y-%m-%dT00:00:00Z"),
        (now + Duration::days(7)).format("%Y-%m-%dT00:00:00Z")
    );
    let feed = format!("/v1/agendas/F0001-A01/calendar?{window}");
    let (s, _, ics) = get(&base, Some(&tokens["clinic-clerk"]), &feed).await;
    assert_eq!(s, 200, "{ics}");
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"), "{ics}");
    for (who, path, status, code) in [
        ("hospital-clerk", feed.as_str(), 403, "not_permitted"),
        (
            "clinic-clerk",
            "/v1/agendas/F0001-A01/calendar?from=2026-01-01T00:00:00Z",
            400,
            "invalid_input",
        ),
        (
            "clinic-clerk",
            "/v1/agendas/F0001-A01/calendar?from=yesterday&to=today",
            400,
            "invalid_parameter",
        ),
        (
            "clinic-clerk",
            "/v1/beneficiaries/MX-10000000/calendar?from=2026-01-01T00:00:00Z",
            400,
            "unknown_parameter",
        ),
        (
            "clinic-clerk",
            "/v1/appointments/99999/calendar",
            404,
            "unknown_appointment",
        ),
        (
            "clinic-clerk",
            "/v1/agendas/NOPE/calendar?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z",
            404,
            "unknown_agenda",
        ),
    ] {
        let (s, _, body) = get(&base, Some(&tokens[who]), path).await;
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        assert_eq!(
            (s, v["code"].as_str()),
            (status, Some(code)),
            "{path}: {body}"
        );
    }

    // Reading changed nothing.
    assert_eq!(journal_len(&api, "demo").await, before);
}

/// A page of another origin (an agency portal) may call the API only when
/// the operator lists that origin; the token is still what authorizes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_lets_listed_origins_call_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = seed(&data, "demo");
    let config = dir.path().join("enlace.toml");
    std::fs::write(&config, "cors_origins = [\"https://portal.example\"]\n").unwrap();
    let server = common::Server::start_with(&data, &["--config", config.to_str().unwrap()]);
    let http = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        http.request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/appointments", server.base),
        )
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, idempotency-key",
        )
        .send()
    };
    let ok = preflight("https://portal.example").await.unwrap();
    let allow = |r: &reqwest::Response, h: &str| {
        r.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_lowercase()
    };
    assert_eq!(
        allow(&ok, "access-control-allow-origin"),
        "https://portal.example"
    );
    assert!(allow(&ok, "access-control-allow-methods").contains("post"));
    assert!(allow(&ok, "access-control-allow-headers").contains("idempotency-key"));
    let other = preflight("https://evil.example").await.unwrap();
    assert_eq!(allow(&other, "access-control-allow-origin"), "");
    // A real call from the listed origin: answered with the header, and
    // still authorized by the token alone.
    let r = http
        .get(format!("{}/v1/me", server.base))
        .header("origin", "https://portal.example")
        .bearer_auth(&tokens["clinic-clerk"])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        allow(&r, "access-control-allow-origin"),
        "https://portal.example"
    );
    let r = http
        .get(format!("{}/v1/me", server.base))
        .header("origin", "https://portal.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}
