use super::batch_doc::segment_pattern;
use super::components::u32_text;
use super::*;

fn doc() -> Value {
    document().0
}

#[test]
fn every_route_is_in_the_document() {
    let d = document();
    let ops = operations(&d);
    for r in ROUTES {
        assert!(
            ops.contains(&(r.method.as_str().to_owned(), r.path.to_owned())),
            "{} {} missing",
            r.method.as_str(),
            r.path
        );
    }
    assert!(ops.contains(&("POST".to_owned(), batch::PATH.to_owned())));
    assert!(ops.contains(&("GET".to_owned(), "/v1/sign-in".to_owned())));
    // The route table, /healthz, /metrics, /openapi.json, /v1/sign-in, FHIR, batch.
    assert_eq!(ops.len(), ROUTES.len() + 4 + ENDPOINTS.len() + 1);
    let v = doc();
    assert_eq!(v["openapi"], "3.1.0");
    assert!(v["components"]["schemas"]["ErrorBody"].is_object());
}

/// Every `$ref` names a schema of the document.
#[test]
fn every_reference_resolves() {
    fn walk(v: &Value, schemas: &Map<String, Value>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    let name = r.strip_prefix("#/components/schemas/").unwrap_or(r);
                    assert!(schemas.contains_key(name), "dangling {r}");
                }
                m.values().for_each(|x| walk(x, schemas));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, schemas)),
            _ => {}
        }
    }
    let v = doc();
    let schemas = v["components"]["schemas"].as_object().unwrap().clone();
    walk(&v, &schemas);
}

/// The host's list of required query parameters is the engine's list of
/// required fields, and every field a query route's engine query has is a
/// parameter of the route.
#[test]
fn query_parameters_are_the_engine_fields() {
    let v = doc();
    let schemas = v["components"]["schemas"].as_object().unwrap();
    for r in ROUTES {
        let Op::Query { ty } = r.op else { continue };
        let q = variant(schemas, &request_enum(schemas, "Query"), ty);
        let required: Vec<&str> = q["required"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let props = q["properties"].as_object().unwrap();
        for p in r.query_params {
            assert_eq!(
                p.required,
                required.contains(&p.field),
                "{}: `{}` required by the host and the engine",
                r.id,
                p.name
            );
        }
        for field in props.keys().filter(|k| *k != "type") {
            let given = r
                .path_params
                .iter()
                .chain(r.query_params)
                .any(|p| p.field == field);
            assert!(given, "{}: no parameter fills `{field}`", r.id);
        }
    }
}

/// Ids are the engine's `u32`: bounded, not any integer.
#[test]
fn ids_are_bounded_integers() {
    let v = doc();
    let p = &v["paths"]["/v1/appointments/{appointment}/cancel"]["post"]["parameters"][0];
    assert_eq!(p["name"], "appointment");
    assert_eq!(p["schema"]["type"], "integer");
    assert_eq!(p["schema"]["minimum"], 0);
    assert_eq!(p["schema"]["maximum"], u64::from(u32::MAX));
    // The body requires what the command requires.
    let body = &v["paths"]["/v1/appointments/{appointment}/cancel"]["post"]["requestBody"];
    assert_eq!(body["required"], true);
    let schema = &body["content"]["application/json"]["schema"];
    assert_eq!(schema["required"], json!(["reason"]));
    assert!(schema["properties"].get("appointment").is_none());
    assert!(schema["properties"].get("type").is_none());
}

/// Lists are arrays; the free-slot limit has the engine's bounds.
#[test]
fn answers_and_bounds_are_the_engine_ones() {
    let v = doc();
    let ok = &v["paths"]["/v1/facilities"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    assert_eq!(ok["type"], "array", "{ok}");
    let params = v["paths"]["/v1/slots"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(limit["schema"]["maximum"], 500);
}

#[test]
fn the_capability_statement_is_public() {
    let v = doc();
    assert_eq!(v["paths"]["/fhir/metadata"]["get"]["security"], json!([]));
    assert_eq!(
        v["paths"]["/fhir/Appointment"]["get"]["security"],
        Value::Null
    );
    assert_eq!(
        v["paths"]["/fhir/{resource_type}"]["get"]["security"],
        json!([{"bearer": []}])
    );
}

/// The segment pattern of ids in batch paths is exactly `u64::from_str`
/// of a `u32`.
#[test]
fn batch_id_segments_are_u32() {
    let r = regex::Regex::new(&format!("^{}$", segment_pattern(Ty::Int))).unwrap();
    let positive = regex::Regex::new(&format!("^{}$", u32_text(true))).unwrap();
    assert!(!positive.is_match("0") && !positive.is_match("000") && positive.is_match("+01"));
    for s in [
        "0",
        "7",
        "+7",
        "007",
        "4294967295",
        "4294967290",
        "3999999999",
    ] {
        assert!(r.is_match(s), "{s}");
    }
    for s in [
        "",
        "-1",
        "4294967296",
        "9999999999",
        "42949672950",
        "1.5",
        "x",
    ] {
        assert!(!r.is_match(s), "{s}");
    }
}

/// `tests/api/schemathesis.toml` lets exactly the operations of
/// [`RELATIONS`] answer 400 to data the schemas allow.
#[test]
fn the_tester_config_names_the_relations() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/api/schemathesis.toml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("include-operation-id-regex = \"^("))
        .and_then(|l| l.strip_suffix(")$\""))
        .unwrap();
    let mut listed: Vec<&str> = line.split('|').collect();
    let mut ours: Vec<&str> = RELATIONS.iter().map(|(id, _)| *id).collect();
    listed.sort_unstable();
    ours.sort_unstable();
    assert_eq!(listed, ours);
    let ids: Vec<&str> = ROUTES
        .iter()
        .map(|r| r.id)
        .chain(ENDPOINTS.iter().map(|e| e.id))
        .collect();
    for id in ours {
        assert!(ids.contains(&id), "{id} is no operation");
    }
}

/// `7.0` is the integer 7 (JSON does not tell them apart).
#[test]
fn integral_floats_become_integers() {
    let mut v = json!({"a": 7.0, "b": [2.5, -3.0], "c": "7.0"});
    super::super::routes::integral_numbers(&mut v);
    assert_eq!(v, json!({"a": 7, "b": [2.5, -3], "c": "7.0"}));
    assert!(v["a"].is_u64());
}

/// The header's pattern is the engine's 1 to `MAX_KEY_LEN` characters
/// after HTTP's trimming.
#[test]
fn idempotency_keys_are_bounded_after_trimming() {
    let r = regex::Regex::new(key_schema()["pattern"].as_str().unwrap()).unwrap();
    let max = enlace_core::engine::MAX_KEY_LEN;
    for (k, ok) in [
        ("k".to_owned(), true),
        (" k\t".to_owned(), true),
        ("a b".to_owned(), true),
        ("x".repeat(max), true),
        (format!("  {}  ", "x".repeat(max)), true),
        ("x".repeat(max + 1), false),
        (String::new(), false),
        ("  ".to_owned(), false),
        ("é".to_owned(), false),
    ] {
        assert_eq!(r.is_match(&k), ok, "{k:?}");
    }
}

/// Clients build their route map from the document: every engine command
/// and query route names its type (and the wrapped body field) there.
#[test]
fn engine_routes_name_their_command_or_query() {
    let v = doc();
    for r in ROUTES {
        let op = &v["paths"][r.path][r.method.as_str().to_ascii_lowercase()];
        match r.op {
            Op::Command { ty, wrap } => {
                assert_eq!(op["x-enlace-command"], ty, "{}", r.path);
                assert_eq!(op.get("x-enlace-body").and_then(Value::as_str), wrap);
            }
            Op::Query { ty } => assert_eq!(op["x-enlace-query"], ty, "{}", r.path),
            Op::Feed | Op::Me | Op::Reads => assert!(op.get("x-enlace-command").is_none()),
        }
    }
}
