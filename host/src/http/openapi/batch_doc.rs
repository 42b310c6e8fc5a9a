//! `POST /v1/batch` in the document: one item schema per command route,
//! each with the shape the batch checks before deciding anything.

use super::components::{self, u32_text};
use super::{command_body, error_response, json_content, schema_ref};
use crate::http::batch;
use crate::http::routes::{Op, ROUTES, Ty};
use serde_json::{Map, Value, json};

/// The pattern of one path segment a parameter of type `ty` fills, as
/// `POST /v1/batch` reads paths (split at `/`, not percent-decoded): ids
/// are read as `u64`, then taken by the engine as `u32`.
pub(super) fn segment_pattern(ty: Ty) -> String {
    match ty {
        Ty::Int => u32_text(false),
        _ => "[^/]+".to_owned(),
    }
}

/// What `POST /v1/batch` checks of a command before deciding any (serde's
/// shape and the host's dates): `schema` with references inlined and the
/// engine's own rules left out (lengths, patterns, ranges narrower than
/// the integer type, the compiled-in time zones, fields only the engine
/// requires), since the engine judges those per command, inside the 200.
fn shape(v: &Value, schemas: &Map<String, Value>, zones: &Value) -> Value {
    let Value::Object(m) = v else {
        return match v {
            Value::Array(a) => Value::Array(a.iter().map(|x| shape(x, schemas, zones)).collect()),
            other => other.clone(),
        };
    };
    if let Some(name) = m
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        return shape(&schemas[name], schemas, zones);
    }
    if m.contains_key("enum") && m.get("enum") == zones.get("enum") {
        return json!({"type": "string"});
    }
    let dated = matches!(
        m.get("format").and_then(Value::as_str),
        Some("date" | "date-time")
    );
    let engine_required: Vec<Value> = m
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .filter(|(_, p)| p.get(components::ENGINE_REQUIRED).is_some())
                .map(|(k, _)| json!(k))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Map::new();
    for (k, x) in m {
        match k.as_str() {
            "minLength" | "maxLength" | "minItems" | "maxItems" | "allOf" | "minimum"
            | "maximum" => {}
            k if k == components::ENGINE_REQUIRED => {}
            "pattern" if !dated => {}
            "required" => {
                let req: Vec<Value> = x
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter(|f| !engine_required.contains(f))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Array(req));
            }
            _ => {
                out.insert(k.clone(), shape(x, schemas, zones));
            }
        }
    }
    let mut out = Value::Object(out);
    components::bound_integers(&mut out);
    out
}

/// `POST /v1/batch`: one item schema per command route, so each command's
/// body is checked as its route checks it.
pub(super) fn batch_operation(schemas: &Map<String, Value>) -> Value {
    let zones = Value::from(enlace_core::schema::time_zone(
        &mut schemars::SchemaGenerator::default(),
    ));
    let items: Vec<Value> = ROUTES
        .iter()
        .filter_map(|r| match r.op {
            Op::Command { ty, wrap } => {
                let mut path = String::from("^");
                for seg in r.path.split('/').skip(1) {
                    path.push('/');
                    match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) => {
                            let p = r.path_params.iter().find(|p| p.name == name)?;
                            path.push_str(&segment_pattern(p.ty));
                        }
                        None => path.push_str(seg),
                    }
                }
                path.push('$');
                let body = shape(&command_body(schemas, r, ty, wrap), schemas, &zones);
                let body_required =
                    wrap.is_some() || body["required"].as_array().is_some_and(|a| !a.is_empty());
                let mut required = vec!["method", "path"];
                if body_required {
                    required.push("body");
                }
                Some(json!({
                    "type": "object",
                    "title": r.id,
                    "properties": {
                        "method": {"const": r.method.as_str()},
                        "path": {"type": "string", "pattern": path},
                        "key": {"anyOf": [key_ascii(), {"type": "null"}]},
                        "body": if body_required { body } else { json!({"anyOf": [body, {"type": "null"}]}) },
                    },
                    "required": required,
                    "additionalProperties": false,
                }))
            }
            _ => None,
        })
        .collect();
    let example = json!({"commands": [
        {"method": "POST", "path": "/v1/appointments", "key": "import-2026-0001",
         "body": {"agenda": "F0001-A01", "start": "2026-03-02T15:00:00Z", "beneficiary": "MX-10000001"}},
        {"method": "POST", "path": "/v1/appointments/7/cancel", "key": "import-2026-0002",
         "body": {"reason": "patient request"}}
    ]});
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({
            "description": "One answer per command, in order.",
            "content": json_content(schema_ref("BatchResults")),
        }),
    );
    for (status, text) in [
        (
            "400",
            "A malformed batch or command (`malformed_json`, `invalid_body`, `unknown_field`, `empty_batch`, `batch_too_large`, `unknown_route`, …; `details.index` names the command): nothing was decided.",
        ),
        (
            "401",
            "Missing, unknown or revoked token (`unauthenticated`), or a token past its expiry (`token_expired`).",
        ),
        ("413", "The body is larger than the server accepts."),
        ("415", "A body that is not `application/json`."),
        ("500", "`engine_trap`: the engine failed."),
        ("503", "The token store or the tenant is unavailable."),
    ] {
        responses.insert(status.into(), error_response(text));
    }
    json!({
        "operationId": "batch",
        "tags": ["batch"],
        "summary": "Many commands in one request (imports): each with its own idempotency key and its own answer, in order.",
        "description": "Every command is checked before any is decided: one malformed command refuses the whole request (400 with its code and `details.index`) and nothing changes. Otherwise each command is decided in order and answered as its route would answer it (`results[i].status`, `results[i].body`); each is durable on its own, so retrying the batch with the same keys replays what was done.",
        "security": [{"bearer": []}],
        "requestBody": {
            "required": true,
            "content": {"application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"commands": {
                        "type": "array",
                        "items": {"oneOf": items},
                        "minItems": 1,
                        "maxItems": batch::MAX_COMMANDS,
                    }},
                    "required": ["commands"],
                    "additionalProperties": false,
                },
                "example": example,
            }},
        },
        "responses": responses,
    })
}

/// A key in a batch: ASCII, as the batch checks before deciding (its
/// length, 1 to `MAX_KEY_LEN`, is the engine's, judged per command).
fn key_ascii() -> Value {
    json!({
        "type": "string",
        "pattern": "^[\\u0000-\\u007f]*$",
        "description": format!("1 to {} characters, or the command is refused (in its result) with `invalid_input`.", enlace_core::engine::MAX_KEY_LEN),
    })
}
