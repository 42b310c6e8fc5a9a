//! A property-based fuzz of request bodies against the real server binary:
//! whatever comes in, the server answers (never a 5xx, never a panic), the
//! engine never traps (so it never trap-loops), and a refused request writes
//! nothing. Only a request the engine accepts (200) adds exactly one entry.

mod common;

use common::{Server, seed};
use enlace_host::http::routes::{Op, ROUTES};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value};

const KEYS: &[&str] = &[
    "agenda",
    "start",
    "beneficiary",
    "reason",
    "id",
    "name",
    "date",
    "type",
    "facility",
    "service",
    "priority",
    "appointment",
    "referral",
    "to",
    "note",
    "text",
    "code",
    "slot_minutes",
    "capacity",
    "rules",
    "day",
    "end",
    "from",
    "valid_from",
    "valid_to",
    "coverage",
    "programme",
    "agency",
    "tier",
    "destination",
    "icd10",
    "summary",
    "follow_up_of",
    "overbook",
    "entry",
    "birth_date",
    "sex",
    "time_zone",
    "services",
];

const STRINGS: &[&str] = &[
    "",
    "F0001",
    "F0001-A01",
    "F0004-A01",
    "MX-10000001",
    "prenatal",
    "obs-hr",
    "urgent",
    "routine",
    "female",
    "Mon",
    "08:00:00",
    "25:61:00",
    "2026-12-01",
    "2026-02-30",
    "2026-12-01T14:00:00Z",
    "2026-12-01T14:00:00+25:00",
    "0001-01-01",
    "9999-12-31T23:59:59Z",
    "-0001-01-01",
    "+275760-09-13T00:00:00Z",
    "O14.1",
    "ñandú 🚑",
    "\u{0}",
    "null",
    "1e309",
    "America/Mexico_City",
    "Mars/Olympus",
    "referring_agency",
    "improved",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (0u64..5).prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        proptest::sample::select(STRINGS).prop_map(|s| Value::String(s.to_owned())),
        "[a-zA-Z0-9 _:.+-]{0,40}".prop_map(Value::String),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((proptest::sample::select(KEYS), inner), 0..6).prop_map(
                |kv| {
                    Value::Object(
                        kv.into_iter()
                            .map(|(k, v)| (k.to_owned(), v))
                            .collect::<Map<String, Value>>(),
                    )
                }
            ),
        ]
    })
}

/// A body: arbitrary JSON, a valid example with one field changed, or raw bytes.
#[derive(Debug, Clone)]
enum Body {
    Json(Value),
    Mutated(String, Value),
    Bytes(Vec<u8>),
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        4 => json().prop_map(Body::Json),
        4 => (proptest::sample::select(KEYS), leaf()).prop_map(|(k, v)| Body::Mutated(k.to_owned(), v)),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Body::Bytes),
    ]
}

const IDS: &[&str] = &[
    "1",
    "2",
    "3",
    "0",
    "abc",
    "-1",
    "99999999999",
    "F0001-A01",
    "MX-10000001",
];

#[test]
fn fuzzed_request_bodies_never_panic_trap_or_write() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = seed(&data, "demo");
    let server = Server::start(&data);
    let apis: Vec<common::Api> = [
        "admin",
        "clinic-clerk",
        "clinic-clinician",
        "hospital-coordinator",
    ]
    .iter()
    .map(|l| server.client(&tokens[*l]))
    .collect();
    let commands: Vec<usize> = ROUTES
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.op, Op::Command { .. }))
        .map(|(i, _)| i)
        .collect();
    let mut runner = TestRunner::new(Config {
        cases: 400,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        proptest::sample::select(commands),
        0..apis.len(),
        proptest::sample::select(IDS),
        body(),
    );
    let accepted = std::sync::atomic::AtomicU32::new(0);
    runner
        .run(&strategy, |(ri, ai, id, body)| {
            let route = &ROUTES[ri];
            let api = &apis[ai];
            let mut path = route.path.to_owned();
            for p in route.path_params {
                path = path.replace(&format!("{{{}}}", p.name), id);
            }
            let bytes = match &body {
                Body::Json(v) => serde_json::to_vec(v).unwrap(),
                Body::Mutated(k, v) => {
                    let mut ex = route
                        .example
                        .map(|f| f())
                        .unwrap_or(Value::Object(Map::new()));
                    if let Value::Object(m) = &mut ex {
                        m.insert(k.clone(), v.clone());
                    }
                    serde_json::to_vec(&ex).unwrap()
                }
                Body::Bytes(b) => b.clone(),
            };
            let (status, v, before, after) = rt.block_on(async {
                let before = common::journal_len(api, "demo").await;
                let r = api
                    .http
                    .request(
                        reqwest::Method::from_bytes(route.method.as_str().as_bytes()).unwrap(),
                        format!("{}{path}", api.base),
                    )
                    .bearer_auth(&api.token)
                    .header("content-type", "application/json")
                    .body(bytes.clone())
                    .send()
                    .await
                    .expect("the server answers");
                let status = r.status().as_u16();
                let v: Value = r.json().await.unwrap_or(Value::Null);
                let after = common::journal_len(api, "demo").await;
                (status, v, before, after)
            });
            let what = format!(
                "{} {path} {}",
                route.method.as_str(),
                String::from_utf8_lossy(&bytes)
            );
            prop_assert!(status < 500, "{what}: {status} {v}");
            if status == 200 {
                accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                prop_assert_eq!(after, before + 1, "{}", what);
            } else {
                prop_assert!(v["code"].is_string(), "{what}: {v}");
                prop_assert_eq!(after, before, "{}: a refused request wrote", what);
            }
            Ok::<(), TestCaseError>(())
        })
        .unwrap();
    eprintln!(
        "{} of 400 fuzzed requests were valid commands",
        accepted.into_inner()
    );
    // Never trapped, never rebuilt; still healthy; the journal verifies.
    let metrics = rt.block_on(async {
        apis[0]
            .http
            .get(format!("{}/metrics", apis[0].base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert!(
        metrics.contains("enlace_engine_traps_total{tenant=\"demo\"} 0"),
        "{metrics}"
    );
    assert!(metrics.contains("enlace_engine_rebuilds_total{tenant=\"demo\"} 0"));
    assert!(metrics.contains("enlace_tenant_healthy{tenant=\"demo\"} 1"));
    drop(server);
    let entries = common::journal(&data, "demo");
    assert!(enlace_core::verify(&entries).broken.is_none());
}
