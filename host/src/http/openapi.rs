//! The OpenAPI 3.1 document served at `/openapi.json`.
//!
//! Its schemas are derived from the types the server parses and writes
//! (`components.rs`: core's `Command`, `Query`, `Answer`, `Event`, … through
//! schemars), and its operations from the route table (`routes.rs`): a
//! command route's body is its command's variant less the `type` tag and the
//! fields its path fills (or, for a route with `wrap`, the one field it
//! carries); a path or query parameter has the schema of the engine field
//! it fills; a query route answers its `Answer` variant's `value`. So a
//! client generated from this document sends what the server takes, and a
//! property-based tester (`cargo xtask test-api`, schemathesis) finds no
//! request the document allows that the server refuses as malformed.

mod batch_doc;
mod components;

use super::batch;
use super::fhir::{self, ENDPOINTS};
use super::routes::{Op, Param, ROUTES, Route, Ty};
use enlace_core::interop::fhir::ResourceKind;
use serde_json::{Map, Value, json};

pub use components::{date_pattern, instant_pattern};

/// The document; `to_pretty_json` gives the text served.
#[derive(Debug, Clone)]
pub struct Document(pub Value);

impl Document {
    pub fn to_pretty_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(&self.0)
    }
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The variant of a tagged enum's schema (`oneOf` of objects whose `type`
/// is a `const`) with the tag `ty`.
fn variant<'a>(schemas: &'a Map<String, Value>, enum_name: &str, ty: &str) -> &'a Value {
    schemas[enum_name]["oneOf"]
        .as_array()
        .and_then(|vs| {
            vs.iter()
                .find(|v| v["properties"]["type"]["const"].as_str() == Some(ty))
        })
        .unwrap_or_else(|| panic!("{enum_name} has no variant `{ty}`"))
}

/// The name of the request-side schema of `enum_name` (`CommandInput` when
/// requests and answers differ, see `components.rs`).
fn request_enum(schemas: &Map<String, Value>, enum_name: &str) -> String {
    let input = components::input_name(enum_name);
    if schemas.contains_key(&input) {
        input
    } else {
        enum_name.to_owned()
    }
}

/// The schema of a parameter: the engine field's, without `null` (an
/// absent parameter is the field's `None`).
fn param_schema(field: &Value) -> Value {
    let mut s = field.clone();
    if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
        let non_null: Vec<&Value> = any.iter().filter(|v| v["type"] != "null").collect();
        if let [one] = non_null.as_slice() {
            let mut one = (*one).clone();
            if let (Some(o), Some(m)) = (one.as_object_mut(), s.as_object()) {
                for (k, v) in m {
                    if k != "anyOf" {
                        o.entry(k.clone()).or_insert(v.clone());
                    }
                }
            }
            s = one;
        }
    }
    if let Some(types) = s.get("type").and_then(Value::as_array) {
        let t: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
        if let [one] = t.as_slice() {
            s["type"] = (*one).clone();
        }
    }
    if let Some(o) = s.as_object_mut() {
        // `default: null` of an `Option` says nothing about a parameter.
        if o.get("default") == Some(&Value::Null) {
            o.remove("default");
        }
    }
    s
}

fn parameter(p: &Param, location: &str, field: &Value) -> Value {
    let mut v = json!({
        "name": p.name,
        "in": location,
        "required": location == "path" || p.required,
        "description": p.doc,
        "schema": param_schema(field),
    });
    if p.ty == Ty::List {
        v["style"] = json!("form");
        v["explode"] = json!(true);
    }
    v
}

/// The request body schema of a command route: its variant's fields less
/// the tag and the path's, or the one field the route wraps.
fn command_body(schemas: &Map<String, Value>, r: &Route, ty: &str, wrap: Option<&str>) -> Value {
    let command = request_enum(schemas, "Command");
    let v = variant(schemas, &command, ty);
    if let Some(field) = wrap {
        return v["properties"][field].clone();
    }
    let taken: Vec<&str> = r.path_params.iter().map(|p| p.field).collect();
    let skip = |k: &str| k == "type" || taken.contains(&k);
    let mut body = v.clone();
    if let Some(props) = body["properties"].as_object_mut() {
        props.retain(|k, _| !skip(k));
    }
    if let Some(req) = body["required"].as_array_mut() {
        req.retain(|k| !k.as_str().is_some_and(skip));
    }
    if body["required"].as_array().is_some_and(Vec::is_empty) {
        body.as_object_mut().map(|o| o.remove("required"));
    }
    if let Some(doc) = body.as_object_mut() {
        doc.remove("description");
    }
    body
}

/// The engine field a path or query parameter fills, from the route's
/// command or query variant.
fn field_schema(schemas: &Map<String, Value>, r: &Route, p: &Param) -> Value {
    let source = match r.op {
        Op::Command { ty, .. } => Some(variant(schemas, &request_enum(schemas, "Command"), ty)),
        Op::Query { ty } => Some(variant(schemas, &request_enum(schemas, "Query"), ty)),
        Op::Feed | Op::Me | Op::Reads => None,
    };
    match source {
        Some(v) => v["properties"]
            .get(p.field)
            .cloned()
            .unwrap_or_else(|| panic!("{}: the engine has no field `{}`", r.id, p.field)),
        // The feed's cursor and page size (`http::feed`): any u64, the
        // page size clamped to 1..=1000; the beneficiary of the record of
        // reads (`http::reads`), any identifier.
        None if p.ty == Ty::Str => json!({"type": "string", "minLength": 1, "maxLength": 64}),
        None => json!({"type": "integer", "format": "uint64", "minimum": 0}),
    }
}

/// Operations where the engine relates fields to each other or to the
/// clock, which JSON Schema cannot state: a request the document allows
/// may still be refused there with 400 `invalid_input`, and the
/// description says when. `tests/api/schemathesis.toml` lets exactly these
/// answer 400 to valid-looking data (a test checks the two lists agree).
pub const RELATIONS: &[(&str, &str)] = &[
    ("free_slots", "`to` must not be before `from`."),
    ("utilization", "`to` must be 0 to 366 days after `from`."),
    ("conditionality", "`to` must not be before `from`."),
    (
        "agendaCalendar",
        "`to` must be after `from`, at most 366 days later.",
    ),
    (
        "facilityCalendar",
        "`to` must be after `from`, at most 366 days later.",
    ),
    (
        "define_agenda",
        "each weekly block ends after it starts and overlaps no other block of its day; `valid_to` is not before `valid_from`.",
    ),
    ("add_closure", "`to` must be after `from`."),
    (
        "define_agreement",
        "`valid_to` must not be before `valid_from`.",
    ),
    (
        "register_beneficiary",
        "`birth_date` must not be in the future, and each coverage's `valid_to` not before its `valid_from`.",
    ),
    (
        "set_coverage",
        "each coverage's `valid_to` must not be before its `valid_from`.",
    ),
    (
        "reject_referral",
        "`text` is required when `reason` is `other`.",
    ),
];

/// The description of an operation's relations, if it has any.
fn relations(id: &str) -> Option<String> {
    RELATIONS.iter().find(|(op, _)| *op == id).map(|(_, rule)| {
        format!("Beyond the schemas of this document, the engine checks (and refuses with 400 `invalid_input` otherwise): {rule}")
    })
}

/// The `Answer` variant a query answers with.
pub fn answer_of(query: &str) -> &'static str {
    match query {
        "facilities" => "facilities",
        "services" => "services",
        "agendas" => "agendas",
        "free_slots" => "free_slots",
        "agenda_view" => "agenda_view",
        "agenda_appointments" | "beneficiary_appointments" => "appointments",
        "find_beneficiaries" => "beneficiaries",
        "utilization" => "utilization",
        "waitlist" => "waitlist",
        "worklist" => "worklist",
        "outgoing_referrals" => "referrals",
        "referral" => "referral",
        "breach_report" => "breaches",
        "suggest_destinations" => "routing",
        "audit_trail" => "entries",
        "verify_audit" => "verification",
        "conditionality" => "conditionality",
        "fhir" => "fhir",
        "calendar" => "calendar",
        other => panic!("no answer known for the query `{other}`"),
    }
}

fn json_content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

fn error_response(text: &str) -> Value {
    json!({"description": text, "content": json_content(schema_ref("ErrorBody"))})
}

const COMMAND_ERRORS: &[(&str, &str)] = &[
    (
        "400",
        "Bad input: malformed JSON, unknown field, wrong type, or a rule of the input's shape the engine checks (`invalid_input`: `details.rule` names it, `details.field` says where; a date outside the years 1900 to 2200 is one).",
    ),
    (
        "401",
        "Missing, unknown or revoked token, or an identity provider's token that does not verify (`unauthenticated`); a token past its expiry (`token_expired`).",
    ),
    (
        "403",
        "The engine does not permit this actor to do this (`not_permitted`), or the sign-in's claims give no actor (`identity_not_mapped`).",
    ),
    (
        "404",
        "An id the engine does not know (or may not show this actor).",
    ),
    (
        "409",
        "Conflict: the slot is full, the record exists, the key was reused.",
    ),
    ("413", "The body is larger than the server accepts."),
    ("415", "A body that is not `application/json`."),
    ("422", "A rule of the engine refuses it."),
    (
        "500",
        "`engine_trap`: the engine failed; nothing was applied.",
    ),
    (
        "503",
        "`commit_failed`: the journal could not be written, or `identity_provider_unavailable`: the provider's keys cannot be fetched; nothing was applied.",
    ),
];

const QUERY_ERRORS: &[(&str, &str)] = &[
    (
        "400",
        "Bad input: unknown or malformed parameter, or a rule of the input's shape the engine checks (`invalid_input`: `details.rule` names it, `details.field` says where; a date outside the years 1900 to 2200 is one).",
    ),
    (
        "401",
        "Missing, unknown or revoked token, or an identity provider's token that does not verify (`unauthenticated`); a token past its expiry (`token_expired`).",
    ),
    (
        "403",
        "The engine does not permit this actor to read this (`not_permitted`), or the sign-in's claims give no actor (`identity_not_mapped`).",
    ),
    (
        "404",
        "An id the engine does not know (or may not show this actor).",
    ),
    ("500", "`engine_trap`: the engine failed."),
    (
        "503",
        "The token store, the tenant or the identity provider (`identity_provider_unavailable`) is unavailable.",
    ),
];

/// The `Idempotency-Key` header: what `HeaderValue::to_str` reads (visible
/// ASCII, spaces and tabs; HTTP trims spaces and tabs at the ends) and the
/// engine keeps (1 to `MAX_KEY_LEN` characters).
fn idempotency_header() -> Value {
    json!({
        "name": "Idempotency-Key",
        "in": "header",
        "required": false,
        "description": "Makes retries safe: a request with a key already used answers the original outcome, even after a restart.",
        "schema": key_schema(),
    })
}

fn key_schema() -> Value {
    // 1 to MAX_KEY_LEN visible characters once HTTP trims spaces and tabs.
    let inner = enlace_core::engine::MAX_KEY_LEN - 2;
    json!({
        "type": "string",
        "pattern": format!("^[ \\t]*[!-~](?:[\\t -~]{{0,{inner}}}[!-~])?[ \\t]*$"),
    })
}

fn operation(schemas: &Map<String, Value>, r: &Route) -> Value {
    let mut params: Vec<Value> = Vec::new();
    for p in r.path_params {
        params.push(parameter(p, "path", &field_schema(schemas, r, p)));
    }
    for p in r.query_params {
        params.push(parameter(p, "query", &field_schema(schemas, r, p)));
    }
    let mut op = json!({
        "operationId": r.id,
        "tags": [r.tag],
        "summary": r.summary,
        "security": [{"bearer": []}],
    });
    let (ok, errors) = match r.op {
        Op::Command { ty, wrap } => {
            // The engine command this route carries, so a client (the web
            // demo) builds its route map from the document, not a copy.
            op["x-enlace-command"] = json!(ty);
            if let Some(field) = wrap {
                op["x-enlace-body"] = json!(field);
            }
            params.push(idempotency_header());
            let body = command_body(schemas, r, ty, wrap);
            let required = wrap.is_some() || body.get("required").is_some();
            let mut content = json!({"schema": body});
            if let Some(ex) = r.example {
                content["example"] = ex();
            }
            op["requestBody"] = json!({
                "required": required,
                "description": format!("The fields of the engine command `{ty}` (ids in the path excluded). Unknown fields are refused."),
                "content": {"application/json": content},
            });
            (
                json!({
                    "description": "Durable: the events are committed to the journal.",
                    "content": json_content(schema_ref("Outcome")),
                }),
                COMMAND_ERRORS,
            )
        }
        Op::Query { ty } => {
            op["x-enlace-query"] = json!(ty);
            let answer = variant(schemas, "Answer", answer_of(ty));
            (
                json!({
                    "description": format!("The `value` of the engine's answer to the query `{ty}`."),
                    "content": json_content(answer["properties"]["value"].clone()),
                }),
                QUERY_ERRORS,
            )
        }
        Op::Feed => (
            json!({
                "description": "Committed entries this actor may see, after the cursor: pass `next` as `after` for the next page.",
                "content": json_content(schema_ref("FeedPage")),
            }),
            QUERY_ERRORS,
        ),
        Op::Me => (
            json!({
                "description": "The tenant, the actor and the token's id.",
                "content": json_content(schema_ref("Me")),
            }),
            QUERY_ERRORS,
        ),
        Op::Reads => (
            json!({
                "description": "Reads of the beneficiary after the cursor, oldest first: pass `next` as `after` for the next page.",
                "content": json_content(schema_ref("ReadsPage")),
            }),
            QUERY_ERRORS,
        ),
    };
    op["parameters"] = Value::Array(params);
    if let Some(d) = relations(r.id) {
        op["description"] = json!(d);
    }
    let mut responses = Map::new();
    responses.insert("200".into(), ok);
    for (status, text) in errors {
        responses.insert((*status).into(), error_response(text));
    }
    op["responses"] = Value::Object(responses);
    op
}

/// The schemas the host writes itself (around the engine's).
fn host_schemas(s: &mut Map<String, Value>) {
    s.insert(
        "FeedPage".into(),
        json!({
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "seq": {"type": "integer", "format": "uint64", "minimum": 0},
                        "at": {"type": "string", "format": "date-time"},
                        "command": {"type": "string"},
                        "events": {"type": "array", "items": schema_ref("Event")},
                    },
                    "required": ["seq", "at", "command", "events"],
                    "additionalProperties": false,
                }},
                "next": {"type": "integer", "format": "uint64", "minimum": 0},
                "head": {"type": "integer", "format": "uint64", "minimum": 0},
            },
            "required": ["items", "next", "head"],
            "additionalProperties": false,
        }),
    );
    s.insert(
        "Me".into(),
        json!({
            "type": "object",
            "properties": {
                "tenant": {"type": "string"},
                "actor": schema_ref("Actor"),
                "token_id": {"type": ["integer", "null"], "format": "int64", "description": "The CLI token's id; null when signed in with the identity provider."},
                "issuer": {"type": ["string", "null"], "description": "The identity provider the person signed in with; null for CLI tokens."},
            },
            "required": ["tenant", "actor", "token_id", "issuer"],
            "additionalProperties": false,
        }),
    );
    s.insert(
        "ReadsPage".into(),
        json!({
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "seq": {"type": "integer", "format": "int64"},
                        "at": {"type": "string", "format": "date-time"},
                        "actor": schema_ref("Actor"),
                        "query": {"description": "The query as the engine received it, or `{\"type\": \"events\"}` for the event feed."},
                        "subjects": {"type": "array", "items": {"type": "string"}, "description": "Every beneficiary the answer showed (a FHIR Patient the answer only pointed to as `Patient/<id>`)."},
                    },
                    "required": ["seq", "at", "actor", "query", "subjects"],
                    "additionalProperties": false,
                }},
                "next": {"type": "integer", "format": "int64", "minimum": 0},
            },
            "required": ["items", "next"],
            "additionalProperties": false,
        }),
    );
    s.insert(
        "SignIn".into(),
        json!({
            "type": "object",
            "properties": {
                "issuer": {"type": "string"},
                "client_id": {"type": ["string", "null"]},
                "scope": {"type": "string"},
                "resource": {"type": ["string", "null"]},
            },
            "required": ["issuer", "client_id", "scope", "resource"],
            "additionalProperties": false,
        }),
    );
    s.insert(
        "BatchResults".into(),
        json!({
            "type": "object",
            "properties": {"results": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "status": {"type": "integer"},
                    "body": {"oneOf": [schema_ref("Outcome"), schema_ref("ErrorBody")]},
                },
                "required": ["status", "body"],
                "additionalProperties": false,
            }}},
            "required": ["results"],
            "additionalProperties": false,
        }),
    );
}

/// `/healthz`, `/metrics`, `/openapi.json`: no token.
fn operational() -> Vec<(&'static str, Value)> {
    let plain = |id: &str, summary: &str, ctype: &str, schema: Value| {
        json!({"get": {
            "operationId": id,
            "tags": ["operations"],
            "summary": summary,
            "security": [],
            "responses": {"200": {
                "description": summary,
                "content": {ctype: {"schema": schema}},
            }},
        }})
    };
    let mut health = plain(
        "healthz",
        "Liveness and per-tenant health.",
        "application/json",
        schema_ref("Health"),
    );
    health["get"]["responses"]["503"] = json!({
        "description": "A tenant is unhealthy (`status: degraded`).",
        "content": json_content(schema_ref("Health")),
    });
    let mut sign_in = plain(
        "sign_in",
        "How pages sign staff in with the agency's OpenID Connect provider (authorization code with PKCE); the provider's access token is then the bearer token.",
        "application/json",
        schema_ref("SignIn"),
    );
    sign_in["get"]["tags"] = json!(["events"]);
    sign_in["get"]["responses"]["404"] = error_response(
        "This host has no identity provider (`sign_in_not_configured`): use bearer tokens from the CLI.",
    );
    vec![
        ("/healthz", health),
        ("/v1/sign-in", sign_in),
        (
            "/metrics",
            plain(
                "metrics",
                "Prometheus metrics.",
                "text/plain",
                json!({"type": "string"}),
            ),
        ),
        (
            "/openapi.json",
            plain(
                "openapi",
                "This document.",
                "application/json",
                json!({"type": "object"}),
            ),
        ),
    ]
}

fn health_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "status": {"enum": ["ok", "degraded"]},
            "tenants": {"type": "object", "additionalProperties": {
                "type": "object",
                "properties": {
                    "healthy": {"type": "boolean"},
                    "journal_entries": {"type": "integer", "minimum": 0},
                },
                "required": ["healthy", "journal_entries"],
                "additionalProperties": false,
            }},
        },
        "required": ["status", "tenants"],
        "additionalProperties": false,
    })
}

/// The FHIR and iCalendar endpoints (`fhir.rs`).
fn exchange(schemas: &Map<String, Value>) -> Vec<(&'static str, Value)> {
    let calendar = variant(schemas, &request_enum(schemas, "Query"), "calendar");
    ENDPOINTS
        .iter()
        .map(|e| {
            let is_fhir = e.path.starts_with("/fhir");
            let mut params: Vec<Value> = Vec::new();
            for name in path_names(e.path) {
                let schema = match name {
                    // What `ResourceKind::parse` knows.
                    "resource_type" => json!({"type": "string", "enum": ResourceKind::ALL.map(ResourceKind::as_str)}),
                    // The engine reads an appointment's number (`u32`, not 0).
                    "appointment" => json!({"type": "string", "pattern": format!("^{}$", components::u32_text(true))}),
                    _ if is_fhir => json!({"type": "string"}),
                    _ => param_schema(&calendar["properties"]["id"]),
                };
                params.push(json!({"name": name, "in": "path", "required": true, "schema": schema}));
            }
            for (name, required, doc) in e.query {
                params.push(json!({
                    "name": name, "in": "query", "required": required, "description": doc,
                    "schema": param_schema(&calendar["properties"][*name]),
                }));
            }
            let public = e.id == fhir::PUBLIC_ENDPOINT;
            let mut responses = Map::new();
            responses.insert(
                "200".into(),
                json!({"description": e.summary, "content": {e.media_type: {"schema": {"type": if is_fhir { "object" } else { "string" }}}}}),
            );
            let errors: &[(&str, &str)] = if public {
                &[]
            } else {
                &[
                    ("400", "Bad input: unknown or malformed parameter."),
                    ("401", "Missing, unknown or revoked token, or an identity provider's token that does not verify (`unauthenticated`); a token past its expiry (`token_expired`)."),
                    ("403", "The engine does not permit this actor to read this (`not_permitted`), or the sign-in's claims give no actor (`identity_not_mapped`)."),
                    ("404", "Not found (or not visible to this actor)."),
                    ("406", "`_format` other than JSON."),
                    ("500", "`engine_trap`: the engine failed."),
                    ("503", "The token store, the tenant or the identity provider (`identity_provider_unavailable`) is unavailable."),
                ]
            };
            for (status, text) in errors {
                let r = if is_fhir {
                    json!({
                        "description": format!("{text} A FHIR OperationOutcome carrying the engine's code."),
                        "content": {fhir::FHIR_JSON: {"schema": {"type": "object"}}},
                    })
                } else {
                    error_response(text)
                };
                responses.insert((*status).into(), r);
            }
            let mut op = json!({
                "operationId": e.id,
                "tags": [if is_fhir { "fhir" } else { "calendars" }],
                "summary": e.summary,
                "security": if public { json!([]) } else { json!([{"bearer": []}]) },
                "parameters": params,
                "responses": responses,
            });
            if let Some(d) = relations(e.id) {
                op["description"] = json!(d);
            }
            (e.path, json!({"get": op}))
        })
        .collect()
}

/// The whole document.
pub fn document() -> Document {
    let mut schemas = components::schemas();
    host_schemas(&mut schemas);
    schemas.insert("Health".into(), health_schema());
    let mut paths = Map::new();
    let mut add = |path: &str, item: Value| {
        let entry = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
        if let (Some(e), Some(i)) = (entry.as_object_mut(), item.as_object()) {
            for (k, v) in i {
                e.insert(k.clone(), v.clone());
            }
        }
    };
    for r in ROUTES {
        let method = r.method.as_str().to_lowercase();
        add(r.path, json!({ method: operation(&schemas, r) }));
    }
    for (path, item) in operational() {
        add(path, item);
    }
    for (path, item) in exchange(&schemas) {
        add(path, item);
    }
    add(
        batch::PATH,
        json!({ batch::METHOD.as_str().to_lowercase(): batch_doc::batch_operation(&schemas) }),
    );
    Document(json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Enlace host API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Scheduling and referral / counter-referral between hospital tiers. Every command is decided by the Enlace engine (a WebAssembly component) and acknowledged only once durable. Authenticate with `Authorization: Bearer TOKEN`; the token fixes the tenant (network) and the actor. Schemas are JSON Schema 2020-12, generated from the engine's own types.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "enl_…"}},
        },
    }))
}

/// The `{name}` segments of a path.
fn path_names(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

/// Every (method, path) the document describes, for tests.
pub fn operations(doc: &Document) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(paths) = doc.0.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            if let Some(item) = item.as_object() {
                for m in item.keys() {
                    out.push((m.to_uppercase(), path.clone()));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
