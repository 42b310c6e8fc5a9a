//! The HTTP API against the real server binary: authorization for every
//! route × role × own/other facility × other tenant, a bad-input corpus,
//! and the OpenAPI document.
//!
//! Authorization is the engine's: for every request this test asks
//! `enlace-core`, natively, on the very journal the server has on disk, what
//! the answer must be, and checks that the server answers the same status and
//! code. The host adds nothing that could disagree.

mod common;

use chrono::Utc;
use common::{Api, Server, journal, seed, token};
use enlace_core::visibility::Visibility;
use enlace_core::{Actor, Engine, Request};
use enlace_host::http::error::status_of;
use enlace_host::http::routes::{Op, ROUTES, Route, Ty};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};

/// The values of one "facility side" of the matrix.
#[derive(Debug, Clone)]
struct Side {
    facility: &'static str,
    agenda: &'static str,
}

const CLINIC: Side = Side {
    facility: "F0001",
    agenda: "F0001-A01",
};
const HOSPITAL: Side = Side {
    facility: "F0004",
    agenda: "F0004-A01",
};

/// Fixture ids created before the matrix runs.
#[derive(Debug, Clone, Default)]
struct Fixture {
    /// A free slot per agenda.
    slots: HashMap<String, Vec<String>>,
}

fn path_value(p: &str, side: &Side) -> String {
    match p {
        "appointment" | "referral" | "entry" => "1".into(),
        "agenda" => side.agenda.into(),
        "facility" => side.facility.into(),
        "beneficiary" => "MX-10000003".into(),
        other => panic!("no fixture for path parameter {other}"),
    }
}

fn query_value(name: &str, ty: Ty, side: &Side) -> Option<String> {
    let now = Utc::now();
    let tomorrow = (now + chrono::Duration::days(1)).date_naive();
    Some(match (name, ty) {
        ("service", _) => if side.facility == "F0001" {
            "prenatal"
        } else {
            "obs-hr"
        }
        .into(),
        ("from", Ty::Date) => tomorrow.to_string(),
        ("to", Ty::Date) => (tomorrow + chrono::Duration::days(30)).to_string(),
        ("date", _) => tomorrow.to_string(),
        ("from", _) => (now - chrono::Duration::days(1)).to_rfc3339(),
        ("to", _) => (now + chrono::Duration::days(20)).to_rfc3339(),
        ("limit", _) => "5".into(),
        ("days", _) => "3".into(),
        ("text", _) => "ma".into(),
        ("tier", _) => "2".into(),
        ("priority", _) => "urgent".into(),
        ("programme", _) => "bienestar-salud".into(),
        ("facility", _) => side.facility.into(),
        ("beneficiary", _) => "MX-10000003".into(),
        _ => return None,
    })
}

/// A body for a command route that has a chance to succeed on the fixture.
fn body(route: &Route, side: &Side, fx: &Fixture) -> Option<Value> {
    let slot = |agenda: &str, i: usize| {
        fx.slots
            .get(agenda)
            .and_then(|s| s.get(i))
            .cloned()
            .unwrap_or_else(|| "2026-12-01T14:00:00Z".into())
    };
    Some(match route.id {
        "book_appointment" => {
            json!({"agenda": side.agenda, "start": slot(side.agenda, 5), "beneficiary": "MX-10000004"})
        }
        "reschedule_appointment" => json!({"start": slot("F0001-A01", 6), "reason": "moved"}),
        "schedule_referral" => json!({"agenda": "F0004-A01", "start": slot("F0004-A01", 3)}),
        "redirect_referral" => json!({"to": "F0005", "reason": "full"}),
        "join_waitlist" => {
            json!({"beneficiary": "MX-10000005", "service": "prenatal", "facility": side.facility, "priority": "routine"})
        }
        "define_agenda" => {
            let mut a = (route.example?)();
            a["id"] = json!(format!("{}-A50", side.facility));
            a["facility"] = json!(side.facility);
            a["valid_from"] = json!(Utc::now().date_naive().to_string());
            a
        }
        "add_closure" => {
            json!({"date": (Utc::now() + chrono::Duration::days(40)).date_naive().to_string(), "reason": "works"})
        }
        _ => return route.example.map(|f| f()),
    })
}

/// What the engine says about a request: `Ok(())` or (status, code).
type Expected = Result<(), (u16, String)>;

fn expected_command(
    entries: &[enlace_core::Entry],
    actor: &Actor,
    route: &Route,
    path: &[(String, String)],
    body: Option<&Value>,
) -> (Expected, Vec<String>) {
    let Op::Command { ty, wrap } = route.op else {
        unreachable!()
    };
    let mut obj = match (wrap, body) {
        (Some(w), Some(b)) => Map::from_iter([(w.to_owned(), b.clone())]),
        (None, Some(Value::Object(m))) => m.clone(),
        _ => Map::new(),
    };
    for (name, value) in path {
        let p = route.path_params.iter().find(|p| p.name == name).unwrap();
        let v = if p.ty == Ty::Int {
            json!(value.parse::<u64>().unwrap())
        } else {
            json!(value)
        };
        obj.insert(p.field.to_owned(), v);
    }
    obj.insert("type".into(), json!(ty));
    let command: enlace_core::Command = serde_json::from_value(Value::Object(obj)).unwrap();
    let mut engine = Engine::from_entries(entries.to_vec()).unwrap();
    match engine.execute(Request {
        actor: actor.clone(),
        at: Utc::now(),
        key: None,
        command,
    }) {
        Ok(o) => (
            Ok(()),
            o.events.iter().map(|e| e.name().to_owned()).collect(),
        ),
        Err(e) => (
            Err((status_of(e.kind()).as_u16(), e.code().to_owned())),
            Vec::new(),
        ),
    }
}

fn expected_query(
    entries: &[enlace_core::Entry],
    actor: &Actor,
    route: &Route,
    path: &[(String, String)],
    query: &[(String, String)],
) -> Expected {
    let Op::Query { ty } = route.op else {
        unreachable!()
    };
    let mut obj = Map::new();
    for (name, value) in path.iter().chain(query) {
        let p = route
            .path_params
            .iter()
            .chain(route.query_params)
            .find(|p| p.name == name)
            .unwrap();
        let v = match p.ty {
            Ty::Int | Ty::Tier => json!(value.parse::<u64>().unwrap()),
            Ty::Bool => json!(value == "true"),
            Ty::List => json!([value]),
            _ => json!(value),
        };
        obj.insert(p.field.to_owned(), v);
    }
    obj.insert("type".into(), json!(ty));
    let q: enlace_core::Query = serde_json::from_value(Value::Object(obj)).unwrap();
    let engine = Engine::from_entries(entries.to_vec()).unwrap();
    match engine.query(actor, &q, Utc::now()) {
        Ok(_) => Ok(()),
        Err(e) => Err((status_of(e.kind()).as_u16(), e.code().to_owned())),
    }
}

async fn setup_fixtures(tokens: &HashMap<String, String>, server: &Server) -> Fixture {
    let mut fx = Fixture::default();
    let admin = server.client(&tokens["admin"]);
    for agenda in ["F0001-A01", "F0004-A01"] {
        let slots = common::agenda_slots(&admin, agenda, 10).await;
        fx.slots
            .insert(agenda.into(), slots.into_iter().map(|(s, _)| s).collect());
    }
    let clerk = server.client(&tokens["clinic-clerk"]);
    let clinician = server.client(&tokens["clinic-clinician"]);
    // Appointments 1 and 2 at the clinic.
    for (i, b) in ["MX-10000001", "MX-10000002"].iter().enumerate() {
        let start = &fx.slots["F0001-A01"][i];
        let (s, v) = clerk
            .post(
                "/v1/appointments",
                &json!({"agenda": "F0001-A01", "start": start, "beneficiary": b}),
                None,
            )
            .await
            .unwrap();
        assert_eq!(s, 200, "{v}");
    }
    // Referrals 1 to 3 from the clinic to the second tier (the hospital F0004).
    for _ in 0..3 {
        let ex = ROUTES.iter().find(|r| r.id == "create_referral").unwrap();
        let (s, v) = clinician
            .post("/v1/referrals", &(ex.example.unwrap())(), None)
            .await
            .unwrap();
        assert_eq!(s, 200, "{v}");
    }
    // Waitlist entry 1.
    let (s, v) = clerk
        .post(
            "/v1/waitlist",
            &json!({"beneficiary": "MX-10000003", "service": "prenatal", "facility": "F0001", "priority": "urgent"}),
            None,
        )
        .await
        .unwrap();
    assert_eq!(s, 200, "{v}");
    fx
}

fn fill_path(route: &Route, side: &Side) -> (String, Vec<(String, String)>) {
    let mut path = route.path.to_owned();
    let mut params = Vec::new();
    for p in route.path_params {
        let v = path_value(p.name, side);
        path = path.replace(&format!("{{{}}}", p.name), &v);
        params.push((p.name.to_owned(), v));
    }
    (path, params)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_agrees_with_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = seed(&data, "demo");
    // A second tenant whose ids overlap the first one's: a clerk of "F0001"
    // there must not reach the demo tenant's F0001.
    let out = common::cli(&data, &["tenant", "create", "other"]);
    assert!(out.status.success());
    let other_admin = token(&data, "other", "o.admin", "ministry", None, "admin");
    let other_clerk = token(
        &data,
        "other",
        "o.clerk",
        "imss-bienestar",
        Some("F0001"),
        "clerk",
    );
    let revoked = token(
        &data,
        "demo",
        "gone",
        "imss-bienestar",
        Some("F0001"),
        "clerk",
    );
    let listed =
        String::from_utf8_lossy(&common::cli(&data, &["token", "list", "--tenant", "demo"]).stdout)
            .to_string();
    let revoked_id = listed
        .lines()
        .last()
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        common::cli(&data, &["token", "revoke", &revoked_id])
            .status
            .success()
    );

    let server = Server::start(&data);
    let fx = setup_fixtures(&tokens, &server).await;
    let base = server.client("");
    let mut actors: Vec<(String, String, Actor)> = Vec::new();
    for (label, actor) in enlace_core::synth::demo_actors(&enlace_core::synth::Spec::demo()) {
        actors.push(("demo".into(), tokens[&label].clone(), actor));
    }
    for t in [&other_admin, &other_clerk] {
        let (_, me) = base.with_token(t).get("/v1/me").await.unwrap();
        actors.push((
            "other".into(),
            t.clone(),
            serde_json::from_value(me["actor"].clone()).unwrap(),
        ));
    }

    let mut tally: BTreeMap<u16, usize> = BTreeMap::new();
    let mut route_ok: BTreeMap<&str, usize> = BTreeMap::new();
    let mut checked = 0;
    for route in ROUTES {
        for side in [&CLINIC, &HOSPITAL] {
            let (path, params) = fill_path(route, side);
            let query: Vec<(String, String)> = route
                .query_params
                .iter()
                .filter(|p| p.required || p.name == "facility")
                .filter_map(|p| query_value(p.name, p.ty, side).map(|v| (p.name.to_owned(), v)))
                .collect();
            let url = if query.is_empty() {
                path.clone()
            } else {
                format!("{path}?{}", serde_urlencoded::to_string(&query).unwrap())
            };
            let body = match route.op {
                Op::Command { .. } => body(route, side, &fx),
                _ => None,
            };
            // No token, a revoked token, a made-up token: 401, nothing changes.
            for t in ["", revoked.as_str(), "enl_0000"] {
                let (s, v) = base
                    .with_token(t)
                    .send(route.method.as_str(), &url, body.as_ref(), None)
                    .await
                    .unwrap();
                assert_eq!(
                    s,
                    401,
                    "{} {url} with token {t:?}: {v}",
                    route.method.as_str()
                );
                assert_eq!(v["code"], "unauthenticated");
            }
            for (tenant, tok, actor) in &actors {
                let before = journal(&data, tenant);
                let demo_before = journal(&data, "demo").len();
                let api = base.with_token(tok);
                let (s, v) = api
                    .send(route.method.as_str(), &url, body.as_ref(), None)
                    .await
                    .unwrap();
                let after = journal(&data, tenant);
                let who = format!(
                    "{} {url} as {}@{tenant}/{:?}",
                    route.method.as_str(),
                    actor.role.as_str(),
                    actor.facility
                );
                match route.op {
                    Op::Command { .. } => {
                        let (want, events) =
                            expected_command(&before, actor, route, &params, body.as_ref());
                        match want {
                            Ok(()) => {
                                assert_eq!(s, 200, "{who}: engine accepts, server said {v}");
                                assert_eq!(after.len(), before.len() + 1, "{who}");
                                let got: Vec<String> = after
                                    .last()
                                    .unwrap()
                                    .events
                                    .iter()
                                    .map(|e| e.name().to_owned())
                                    .collect();
                                assert_eq!(got, events, "{who}");
                            }
                            Err((status, code)) => {
                                assert_eq!(
                                    (s, v["code"].as_str().unwrap_or("")),
                                    (status, code.as_str()),
                                    "{who}: {v}"
                                );
                                assert_eq!(after.len(), before.len(), "{who}: a refusal wrote");
                            }
                        }
                    }
                    Op::Query { .. } => {
                        match expected_query(&before, actor, route, &params, &query) {
                            Ok(()) => assert_eq!(s, 200, "{who}: {v}"),
                            Err((status, code)) => {
                                assert_eq!(
                                    (s, v["code"].as_str().unwrap_or("")),
                                    (status, code.as_str()),
                                    "{who}: {v}"
                                );
                            }
                        }
                        assert_eq!(after.len(), before.len(), "{who}: a query wrote");
                    }
                    Op::Me => {
                        assert_eq!(s, 200);
                        assert_eq!(v["tenant"], tenant.as_str());
                        assert_eq!(
                            serde_json::from_value::<Actor>(v["actor"].clone()).unwrap(),
                            *actor
                        );
                    }
                    Op::Reads => {
                        // Core says who may read the record of reads.
                        match enlace_core::disclosure::read_log_reader(actor) {
                            Ok(()) => {
                                assert_eq!(s, 200, "{who}: {v}");
                                assert!(v["items"].is_array(), "{who}: {v}");
                            }
                            Err(e) => assert_eq!(
                                (s, v["code"].as_str().unwrap_or("")),
                                (403, e.code()),
                                "{who}: {v}"
                            ),
                        }
                        assert_eq!(after.len(), before.len(), "{who}: a read wrote");
                    }
                    Op::Feed => {
                        assert_eq!(s, 200, "{who}");
                        let vis = Visibility::from_entries(&before);
                        let want: Vec<u64> = before
                            .iter()
                            .filter(|e| !vis.visible_events(actor, e).is_empty())
                            .map(|e| e.seq)
                            .take(100)
                            .collect();
                        let got: Vec<u64> = v["items"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|i| i["seq"].as_u64().unwrap())
                            .collect();
                        assert_eq!(got, want, "{who}");
                    }
                }
                if tenant != "demo" {
                    assert_eq!(
                        journal(&data, "demo").len(),
                        demo_before,
                        "{who} wrote to another tenant"
                    );
                }
                *tally.entry(s).or_default() += 1;
                if s == 200 {
                    *route_ok.entry(route.id).or_default() += 1;
                }
                checked += 1;
            }
        }
    }
    eprintln!("{checked} requests checked against the engine; statuses: {tally:?}");
    eprintln!(
        "routes with a success: {} of {}",
        route_ok.len(),
        ROUTES.len()
    );
    // The matrix is not vacuous: it saw permissions granted and refused.
    assert!(tally.get(&403).copied().unwrap_or(0) > 50, "{tally:?}");
    assert!(tally.get(&200).copied().unwrap_or(0) > 150, "{tally:?}");
    assert!(route_ok.len() * 4 >= ROUTES.len() * 3, "{route_ok:?}");
}

/// One case of the bad-input corpus.
struct Bad {
    method: &'static str,
    path: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
}

fn bad(
    method: &'static str,
    path: &'static str,
    body: &str,
    status: u16,
    code: &'static str,
) -> Bad {
    Bad {
        method,
        path,
        content_type: Some("application/json"),
        body: body.as_bytes().to_vec(),
        status,
        code,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_4xx_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = seed(&data, "demo");
    let server = Server::start(&data);
    let clerk = server.fresh_client(&tokens["clinic-clerk"]);
    let admin = server.fresh_client(&tokens["admin"]);
    let book =
        r#"{"agenda":"F0001-A01","start":"2027-01-05T15:00:00Z","beneficiary":"MX-10000001"}"#;
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let mut corpus = vec![
        bad("POST", "/v1/appointments", "{", 400, "malformed_json"),
        bad(
            "POST",
            "/v1/appointments",
            "{\"agenda\": }",
            400,
            "malformed_json",
        ),
        bad("POST", "/v1/appointments", "nul", 400, "malformed_json"),
        bad("POST", "/v1/appointments", &deep, 400, "malformed_json"),
        bad("POST", "/v1/appointments", "[1,2]", 400, "invalid_body"),
        bad("POST", "/v1/appointments", "null", 400, "invalid_body"),
        bad("POST", "/v1/appointments", "\"text\"", 400, "invalid_body"),
        bad("POST", "/v1/appointments", "{}", 400, "invalid_body"),
        bad(
            "POST",
            "/v1/appointments",
            r#"{"agenda":1,"start":"2027-01-05T15:00:00Z","beneficiary":"MX-10000001"}"#,
            400,
            "invalid_body",
        ),
        bad(
            "POST",
            "/v1/appointments",
            r#"{"agenda":"F0001-A01","start":"tomorrow","beneficiary":"MX-10000001"}"#,
            400,
            "invalid_body",
        ),
        bad(
            "POST",
            "/v1/appointments",
            r#"{"agenda":"F0001-A01","start":"2027-01-05T15:00:00Z","beneficiary":"MX-10000001","overbook":"yes"}"#,
            400,
            "invalid_body",
        ),
        bad(
            "POST",
            "/v1/appointments",
            r#"{"agenda":"F0001-A01","start":"2027-01-05T15:00:00Z","beneficiary":"MX-10000001","extra":true}"#,
            400,
            "unknown_field",
        ),
        bad(
            "POST",
            "/v1/appointments",
            r#"{"type":"cancel_appointment","appointment":1,"reason":"x"}"#,
            400,
            "unknown_field",
        ),
        bad(
            "POST",
            "/v1/appointments",
            r#"{"agenda":"F0001-A01","start":"0001-01-05T15:00:00Z","beneficiary":"MX-10000001"}"#,
            400,
            "invalid_input",
        ),
        bad(
            "POST",
            "/v1/appointments",
            r#"{"agenda":"F0001-A01","start":"9999-12-31T23:59:59Z","beneficiary":"MX-10000001"}"#,
            400,
            "invalid_input",
        ),
        bad(
            "POST",
            "/v1/appointments",
            r#"{"agenda":"F0001-A01","start":"+12026-01-05T15:00:00Z","beneficiary":"MX-10000001"}"#,
            400,
            "invalid_input",
        ),
        bad(
            "POST",
            "/v1/appointments",
            r#"{"agenda":"F0001-A01","start":"2027-02-30T15:00:00Z","beneficiary":"MX-10000001"}"#,
            400,
            "invalid_body",
        ),
        bad(
            "POST",
            "/v1/appointments",
            r#"{"agenda":"NOPE","start":"2027-01-05T15:00:00Z","beneficiary":"MX-10000001"}"#,
            404,
            "unknown_agenda",
        ),
        bad(
            "POST",
            "/v1/appointments",
            r#"{"agenda":"F0001-A01","start":"2027-01-05T15:00:00Z","beneficiary":"NOPE"}"#,
            404,
            "unknown_beneficiary",
        ),
        bad(
            "POST",
            "/v1/appointments",
            r#"{"agenda":"F0001-A01","start":"2027-01-05T15:00:00Z","beneficiary":"MX-10000001","follow_up_of":-1}"#,
            400,
            "invalid_body",
        ),
        bad(
            "POST",
            "/v1/appointments",
            r#"{"agenda":"F0001-A01","start":"2027-01-05T15:00:00Z","beneficiary":"MX-10000001","follow_up_of":99999999999}"#,
            400,
            "invalid_body",
        ),
        bad(
            "POST",
            "/v1/appointments/1/cancel",
            r#"{"reason":"x"}"#,
            404,
            "unknown_appointment",
        ),
        bad(
            "POST",
            "/v1/appointments/abc/cancel",
            r#"{"reason":"x"}"#,
            400,
            "invalid_parameter",
        ),
        bad(
            "POST",
            "/v1/appointments/-1/cancel",
            r#"{"reason":"x"}"#,
            400,
            "invalid_parameter",
        ),
        bad(
            "POST",
            "/v1/appointments/99999999999/cancel",
            r#"{"reason":"x"}"#,
            400,
            "invalid_body",
        ),
        bad(
            "POST",
            "/v1/appointments/1/cancel",
            r#"{"reason":"x","appointment":2}"#,
            400,
            "unknown_field",
        ),
        bad(
            "POST",
            "/v1/appointments/1/arrive",
            r#"{"anything":1}"#,
            400,
            "unknown_field",
        ),
        bad(
            "POST",
            "/v1/referrals/5000000000/accept",
            "",
            400,
            "invalid_body",
        ),
        bad("POST", "/v1/beneficiaries", "", 400, "missing_body"),
        bad(
            "POST",
            "/v1/beneficiaries",
            r#"{"id":"X1","name":"A","birth_date":"1850-01-01","sex":"female"}"#,
            400,
            "invalid_input",
        ),
        bad(
            "POST",
            "/v1/beneficiaries",
            r#"{"id":"X1","name":"A","birth_date":"2090-01-01","sex":"female"}"#,
            400,
            "invalid_input",
        ),
        bad(
            "POST",
            "/v1/beneficiaries",
            r#"{"id":"X1","name":"A","birth_date":"1990-01-01","sex":"robot"}"#,
            400,
            "invalid_body",
        ),
        bad(
            "PUT",
            "/v1/beneficiaries/NOPE/coverage",
            "[]",
            404,
            "unknown_beneficiary",
        ),
        bad(
            "PUT",
            "/v1/beneficiaries/MX-10000001/coverage",
            "{}",
            400,
            "invalid_body",
        ),
        bad(
            "GET",
            "/v1/slots?service=prenatal",
            "",
            400,
            "missing_parameter",
        ),
        bad(
            "GET",
            "/v1/slots?service=prenatal&from=2027-01-01T00:00:00Z&to=2027-01-02T00:00:00Z&limit=5&color=red",
            "",
            400,
            "unknown_parameter",
        ),
        bad(
            "GET",
            "/v1/slots?service=prenatal&from=2027-01-01T00:00:00Z&to=2027-01-02T00:00:00Z&limit=five",
            "",
            400,
            "invalid_parameter",
        ),
        bad(
            "GET",
            "/v1/slots?service=prenatal&from=2027-01-01T00:00:00Z&to=2027-01-02T00:00:00Z&limit=5&limit=6",
            "",
            400,
            "invalid_parameter",
        ),
        bad(
            "GET",
            "/v1/slots?service=prenatal&from=0000-01-01T00:00:00Z&to=2027-01-02T00:00:00Z&limit=5",
            "",
            400,
            "invalid_input",
        ),
        bad(
            "GET",
            "/v1/slots?service=prenatal&from=yesterday&to=2027-01-02T00:00:00Z&limit=5",
            "",
            400,
            "invalid_parameter",
        ),
        bad(
            "GET",
            "/v1/slots?service=prenatal&from=2027-01-01T00:00:00Z&to=2027-01-02T00:00:00Z&limit=0",
            "",
            400,
            "invalid_input",
        ),
        bad(
            "GET",
            "/v1/slots?service=prenatal&from=2027-01-01T00:00:00Z&to=2027-01-02T00:00:00Z&limit=5&tier=9",
            "",
            400,
            "invalid_parameter",
        ),
        bad(
            "GET",
            "/v1/slots?service=nope&from=2027-01-01T00:00:00Z&to=2027-01-02T00:00:00Z&limit=5",
            "",
            404,
            "unknown_service",
        ),
        bad(
            "GET",
            "/v1/agendas/NOPE/slots?from=2027-01-01&days=3",
            "",
            404,
            "unknown_agenda",
        ),
        bad(
            "GET",
            "/v1/agendas/F0001-A01/slots?from=2027-01-01&days=100000",
            "",
            400,
            "invalid_parameter",
        ),
        bad("GET", "/v1/referrals/77", "", 404, "unknown_referral"),
        bad("GET", "/v1/nothing-here", "", 404, "not_found"),
        bad("DELETE", "/v1/facilities", "", 405, "method_not_allowed"),
        bad(
            "POST",
            "/v1/appointments?dry_run=1",
            book,
            400,
            "unknown_parameter",
        ),
    ];
    corpus.push(Bad {
        method: "POST",
        path: "/v1/appointments",
        content_type: Some("text/plain"),
        body: book.as_bytes().to_vec(),
        status: 415,
        code: "unsupported_media_type",
    });
    corpus.push(Bad {
        method: "POST",
        path: "/v1/appointments",
        content_type: None,
        body: book.as_bytes().to_vec(),
        status: 415,
        code: "unsupported_media_type",
    });
    corpus.push(Bad {
        method: "POST",
        path: "/v1/appointments",
        content_type: Some("application/json"),
        body: vec![b'{', 0xff, 0xfe, b'}'],
        status: 400,
        code: "malformed_json",
    });
    let mut huge = String::from(r#"{"reason":""#);
    huge.push_str(&"x".repeat(300 * 1024));
    huge.push_str("\"}");
    corpus.push(Bad {
        method: "POST",
        path: "/v1/appointments/1/cancel",
        content_type: Some("application/json"),
        body: huge.into_bytes(),
        status: 413,
        code: "body_too_large",
    });
    let before = common::journal_len(&clerk, "demo").await;
    for case in &corpus {
        let mut req = clerk
            .http
            .request(
                reqwest::Method::from_bytes(case.method.as_bytes()).unwrap(),
                format!("{}{}", clerk.base, case.path),
            )
            .bearer_auth(&clerk.token)
            .body(case.body.clone());
        if let Some(ct) = case.content_type {
            req = req.header("content-type", ct);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        let label = format!(
            "{} {} {}",
            case.method,
            case.path,
            String::from_utf8_lossy(&case.body[..case.body.len().min(80)])
        );
        assert_eq!(status, case.status, "{label}: {v}");
        assert_eq!(v["code"], case.code, "{label}: {v}");
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{label}"
        );
        assert!(v["details"].is_object(), "{label}");
    }
    // A missing field is named, so that a form can mark it.
    let (s, v) = clerk
        .post(
            "/v1/appointments",
            &json!({"agenda": "F0001-A01", "beneficiary": "MX-10000001"}),
            None,
        )
        .await
        .unwrap();
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_body")), "{v}");
    assert_eq!(v["details"]["field"], "start", "{v}");
    // Idempotency keys out of bounds are the engine's bad input.
    let long = "k".repeat(201);
    let (s, v) = clerk
        .post(
            "/v1/appointments",
            &serde_json::from_str(book).unwrap(),
            Some(&long),
        )
        .await
        .unwrap();
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_input")));
    // Admin-only data from a clerk: forbidden, nothing written.
    let (s, v) = clerk
        .post(
            "/v1/holidays",
            &json!({"date": "2027-01-01", "name": "x"}),
            None,
        )
        .await
        .unwrap();
    assert_eq!((s, v["code"].as_str()), (403, Some("not_permitted")));
    assert_eq!(
        common::journal_len(&admin, "demo").await,
        before,
        "bad input changed nothing"
    );
    // The server is still healthy and serving.
    let (s, _) = clerk.get("/v1/facilities").await.unwrap();
    assert_eq!(s, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_documented_and_served() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = seed(&data, "demo");
    let server = Server::start(&data);
    let api: Api = server.client(&tokens["auditor"]);
    let doc: Value = api
        .http
        .get(format!("{}/openapi.json", api.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for r in ROUTES {
        let item = paths
            .get(r.path)
            .unwrap_or_else(|| panic!("{} missing from /openapi.json", r.path));
        assert!(
            item.get(r.method.as_str().to_lowercase()).is_some(),
            "{} {}",
            r.method.as_str(),
            r.path
        );
    }
    // And every documented operation is served (no 404 / 405 from the router).
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path
                .replace("{appointment}", "1")
                .replace("{referral}", "1")
                .replace("{entry}", "1")
                .replace("{agenda}", "F0001-A01")
                .replace("{facility}", "F0001")
                .replace("{beneficiary}", "MX-10000001")
                .replace("{resource_type}", "Appointment")
                .replace("{id}", "appointment-1");
            let (s, v) = api
                .send(&method.to_uppercase(), &concrete, None, None)
                .await
                .unwrap();
            assert!(
                s != 405 && !(s == 404 && v["code"] == "not_found"),
                "{method} {path}: {s} {v}"
            );
        }
    }
    let metrics = api.text("/metrics").await;
    for name in [
        "enlace_http_requests_total",
        "enlace_http_request_duration_seconds_bucket",
        "enlace_commit_batch_size_bucket",
        "enlace_journal_entries{tenant=\"demo\"}",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
}

/// Tokens are cached in the server's memory; a token revoked with the CLI
/// (another process) while the server runs is refused on the very next
/// request, and a token created meanwhile works at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_while_the_server_runs_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    seed(&data, "demo");
    let clerk = token(
        &data,
        "demo",
        "soon.gone",
        "imss-bienestar",
        Some("F0001"),
        "clerk",
    );
    let server = Server::start(&data);
    let api = server.client(&clerk);
    // Used, hence cached.
    for _ in 0..3 {
        let (s, me) = api.get("/v1/me").await.unwrap();
        assert_eq!(s, 200, "{me}");
    }
    let listed =
        String::from_utf8_lossy(&common::cli(&data, &["token", "list", "--tenant", "demo"]).stdout)
            .to_string();
    let id = listed
        .lines()
        .find(|l| l.contains("soon.gone"))
        .and_then(|l| l.split('\t').next())
        .unwrap()
        .to_owned();
    assert!(
        common::cli(&data, &["token", "revoke", &id])
            .status
            .success()
    );
    let (s, v) = api.get("/v1/me").await.unwrap();
    assert_eq!(
        (s, v["code"].as_str()),
        (401, Some("unauthenticated")),
        "{v}"
    );
    let (s, v) = api
        .send(
            "POST",
            "/v1/appointments",
            Some(
                &json!({"agenda": "F0001-A01", "start": "2030-01-07T15:00:00Z",
                         "beneficiary": "MX-10000001"}),
            ),
            None,
        )
        .await
        .unwrap();
    assert_eq!(s, 401, "{v}");
    let fresh = token(
        &data,
        "demo",
        "new.clerk",
        "imss-bienestar",
        Some("F0001"),
        "clerk",
    );
    let (s, me) = server.client(&fresh).get("/v1/me").await.unwrap();
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["actor"]["user"], "new.clerk");
}

/// A token past its expiry is refused with its own code, so a machine knows
/// to renew it; `token create` gives 90 days unless told otherwise, and
/// `token list` shows each token's expiry and last use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refused_as_expired_and_use_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    seed(&data, "demo");
    let live = token(
        &data,
        "demo",
        "default.expiry",
        "imss-bienestar",
        Some("F0001"),
        "clerk",
    );
    let expired = {
        let reg = enlace_host::auth::Registry::open(&data).unwrap();
        let actor = Actor::new(
            "long.gone",
            "imss-bienestar",
            Some("F0001"),
            enlace_core::Role::Clerk,
        );
        let past = Utc::now() - chrono::Duration::minutes(1);
        reg.create_token_until("demo", &actor, "expired", Some(past))
            .unwrap()
            .1
    };
    let bad = common::cli(
        &data,
        &[
            "token",
            "create",
            "--tenant",
            "demo",
            "--user",
            "x",
            "--agency",
            "imss-bienestar",
            "--role",
            "admin",
            "--expires-in",
            "soon",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--expires-in"));
    let server = Server::start(&data);
    let (s, v) = server.client(&expired).get("/v1/me").await.unwrap();
    assert_eq!((s, v["code"].as_str()), (401, Some("token_expired")), "{v}");
    let (s, v) = server.client("enl_nobody").get("/v1/me").await.unwrap();
    assert_eq!(
        (s, v["code"].as_str()),
        (401, Some("unauthenticated")),
        "{v}"
    );
    let (s, me) = server.client(&live).get("/v1/me").await.unwrap();
    assert_eq!(s, 200, "{me}");
    let listed =
        String::from_utf8_lossy(&common::cli(&data, &["token", "list", "--tenant", "demo"]).stdout)
            .to_string();
    let line = |user: &str| {
        listed
            .lines()
            .find(|l| l.contains(user))
            .unwrap_or_else(|| panic!("{user} not listed: {listed}"))
            .to_owned()
    };
    let default = line("default.expiry");
    assert!(
        default.contains("expires ") && default.contains("last used "),
        "{default}"
    );
    // 90 days after it was created, a moment ago (the date may have turned).
    let day = |ago: i64| {
        (Utc::now() + chrono::Duration::days(90) - chrono::Duration::minutes(ago))
            .format("%Y-%m-%d")
            .to_string()
    };
    assert!(
        default.contains(&day(0)) || default.contains(&day(5)),
        "{default}"
    );
    assert!(line("long.gone").contains("never used"), "{listed}");
}

/// `keys create` makes the agency's key in the data folder, private to its
/// owner, prints only the public half, and never replaces a key; `keys
/// show` prints the same public key.
#[test]
fn the_agency_key_is_created_once_and_shown_without_its_private_half() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let created = common::cli(&data, &["keys", "create"]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let public: Value = serde_json::from_slice(&created.stdout).unwrap();
    assert_eq!(
        (public["kty"].as_str(), public["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    assert!(public.get("d").is_none(), "{public}");
    let file = data.join("keys/agency.jwk");
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(stored["x"], public["x"]);
    assert!(stored["d"].is_string());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let shown = common::cli(&data, &["keys", "show"]);
    assert!(shown.status.success());
    assert_eq!(
        serde_json::from_slice::<Value>(&shown.stdout).unwrap(),
        public
    );
    let again = common::cli(&data, &["keys", "create"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("never replaced"));
    assert_eq!(
        serde_json::from_str::<Value>(&std::fs::read_to_string(&file).unwrap()).unwrap(),
        stored,
        "the key is unchanged"
    );
    let elsewhere = dir.path().join("other.jwk");
    let other = common::cli(
        &data,
        &["keys", "create", "--file", elsewhere.to_str().unwrap()],
    );
    assert!(other.status.success());
    assert_ne!(
        serde_json::from_slice::<Value>(&other.stdout).unwrap()["kid"],
        public["kid"]
    );
    let missing = common::cli(&dir.path().join("empty"), &["keys", "show"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("keys create"));
}

/// `POST /v1/batch`: each command its own key and answer, in order; one
/// malformed command refuses the whole batch with its code and index and
/// nothing changes; a retry replays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_answers_each_command_and_bad_input_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = seed(&data, "demo");
    let server = Server::start(&data);
    let admin = server.client(&tokens["admin"]);
    let clerk = server.client(&tokens["clinic-clerk"]);
    let slots = common::agenda_slots(&admin, "F0001-A01", 10).await;
    let booking = |i: usize, b: &str| {
        json!({"method": "POST", "path": "/v1/appointments", "key": format!("import-{i}"),
               "body": {"agenda": "F0001-A01", "start": slots[i].0, "beneficiary": b}})
    };
    let len = || journal(&data, "demo").len();
    let before = len();

    // Bad input: 400 with a stable code (and the command's index), nothing changes.
    let good = booking(0, "MX-10000001");
    let long: Vec<Value> = (0..1001).map(|_| good.clone()).collect();
    let bad: Vec<(Value, &str, Option<&str>)> = vec![
        (json!({"commands": []}), "empty_batch", None),
        (json!({"commands": long}), "batch_too_large", None),
        (
            json!({"commands": [good], "also": 1}),
            "unknown_field",
            None,
        ),
        (json!([good]), "invalid_body", None),
        (
            json!({"commands": [good, {"method": "GET", "path": "/v1/services"}]}),
            "unknown_route",
            Some("1"),
        ),
        (
            json!({"commands": [good, {"method": "POST", "path": "/v1/appointments", "body": {"agenda": "F0001-A01"}}]}),
            "invalid_body",
            Some("1"),
        ),
    ];
    for (body, code, index) in bad {
        let (s, v) = clerk.post("/v1/batch", &body, None).await.unwrap();
        assert_eq!((s, v["code"].as_str()), (400, Some(code)), "{v}");
        assert_eq!(v["details"]["index"].as_str(), index, "{v}");
        assert_eq!(len(), before, "{code}: nothing changed");
    }
    let (s, v) = server
        .client("")
        .post("/v1/batch", &json!({"commands": [good]}), None)
        .await
        .unwrap();
    assert_eq!((s, v["code"].as_str()), (401, Some("unauthenticated")));
    assert_eq!(len(), before);

    // Three bookings and one refused (the first slot again, another person):
    // each its own answer, in order.
    let batch = json!({"commands": [
        booking(0, "MX-10000001"), booking(1, "MX-10000002"), booking(2, "MX-10000003"),
        {"method": "POST", "path": "/v1/appointments", "key": "import-x",
         "body": {"agenda": "F0001-A01", "start": slots[1].0, "beneficiary": "MX-10000004"}}
    ]});
    let (s, v) = clerk.post("/v1/batch", &batch, None).await.unwrap();
    assert_eq!(s, 200, "{v}");
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    let mut ids = Vec::new();
    for r in &results[..3] {
        assert_eq!(r["status"], 200, "{r}");
        assert_eq!(r["body"]["events"][0]["type"], "appointment_booked", "{r}");
        assert_eq!(r["body"]["replayed"], false, "{r}");
        ids.push(r["body"]["events"][0]["appointment"].clone());
    }
    assert!(
        results[3]["status"].as_u64().unwrap() >= 400,
        "{}",
        results[3]
    );
    assert!(results[3]["body"]["code"].is_string());
    assert_eq!(len(), before + 3);

    // The same batch again: the three replay (same appointments), nothing new.
    let (s, v) = clerk.post("/v1/batch", &batch, None).await.unwrap();
    assert_eq!(s, 200, "{v}");
    for (r, id) in v["results"].as_array().unwrap().iter().zip(&ids) {
        assert_eq!(r["status"], 200, "{r}");
        assert_eq!(r["body"]["replayed"], true, "{r}");
        assert_eq!(&r["body"]["events"][0]["appointment"], id, "{r}");
    }
    assert_eq!(len(), before + 3);
}

/// FHIR and SMART clients read the CapabilityStatement before they hold a
/// token: `/fhir/metadata` answers without one (and with one), while every
/// other FHIR endpoint still wants a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fhir_capability_statement_needs_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = seed(&data, "demo");
    let server = Server::start(&data);
    let api: Api = server.client(&tokens["auditor"]);
    let anonymous = api
        .http
        .get(format!("{}/fhir/metadata", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 200);
    assert!(
        anonymous.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/fhir+json")
    );
    let statement: Value = anonymous.json().await.unwrap();
    assert_eq!(statement["resourceType"], "CapabilityStatement");
    assert_eq!(statement["fhirVersion"], "4.0.1");
    let (s, with_token) = api.get("/fhir/metadata").await.unwrap();
    assert_eq!(s, 200);
    assert_eq!(with_token["rest"], statement["rest"]);
    let search = api
        .http
        .get(format!("{}/fhir/Appointment", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(search.status(), 401, "only the metadata is public");
    let (s, _) = api.get("/fhir/Organization").await.unwrap();
    assert_eq!(s, 200);
}
