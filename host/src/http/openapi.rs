//! The OpenAPI 3 document, generated with utoipa from the route table.
//!
//! Every row of `routes::ROUTES` becomes an operation with its parameters,
//! its example body, its success schema and its error responses. The
//! operational endpoints (`/healthz`, `/metrics`, `/openapi.json`) are
//! documented too. A test checks that each route is in the document.

use super::routes::{Method, Op, Param, ROUTES, Ty};
use serde_json::json;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref,
    Required, ResponseBuilder, Schema,
};

fn method(m: Method) -> HttpMethod {
    match m {
        Method::Get => HttpMethod::Get,
        Method::Post => HttpMethod::Post,
        Method::Put => HttpMethod::Put,
    }
}

fn param_schema(p: &Param) -> Schema {
    let s = ObjectBuilder::new();
    let s = match p.ty {
        Ty::Str => s.schema_type(Type::String),
        Ty::Int => s.schema_type(Type::Integer).minimum(Some(0)),
        Ty::Bool => s.schema_type(Type::Boolean),
        Ty::Date => s
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))),
        Ty::DateTime => s
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        Ty::Tier => s.schema_type(Type::Integer).enum_values(Some([1, 2, 3])),
        Ty::Priority => s.schema_type(Type::String).enum_values(Some([
            "emergency",
            "urgent",
            "priority",
            "routine",
        ])),
        Ty::List => {
            return Schema::Array(
                ArrayBuilder::new()
                    .items(ObjectBuilder::new().schema_type(Type::String))
                    .build(),
            );
        }
    };
    Schema::Object(s.build())
}

fn error_schema() -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "An error: a stable machine `code`, a human `message`, and `details` to place it.",
            ))
            .property("code", ObjectBuilder::new().schema_type(Type::String))
            .required("code")
            .property("message", ObjectBuilder::new().schema_type(Type::String))
            .required("message")
            .property(
                "details",
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .additional_properties(Some(ObjectBuilder::new().schema_type(Type::String))),
            )
            .required("details")
            .build(),
    )
}

fn outcome_schema() -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A durable command: the journal entry's seq, the events it produced, and whether this answer replays an earlier request with the same Idempotency-Key.",
            ))
            .property("seq", ObjectBuilder::new().schema_type(Type::Integer))
            .required("seq")
            .property(
                "events",
                ArrayBuilder::new().items(
                    ObjectBuilder::new()
                        .schema_type(Type::Object)
                        .description(Some("An event: `{\"type\": \"appointment_booked\", ...}`.")),
                ),
            )
            .required("events")
            .property("replayed", ObjectBuilder::new().schema_type(Type::Boolean))
            .required("replayed")
            .build(),
    )
}

fn json_response(description: &str, schema: utoipa::openapi::RefOr<Schema>) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new().schema(Some(schema)).build(),
    )
}

fn error_ref() -> utoipa::openapi::RefOr<Schema> {
    Ref::from_schema_name("Error").into()
}

/// The whole document.
/// `POST /v1/batch` (`super::batch`).
fn batch_item() -> PathItem {
    let item = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "method",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["POST", "PUT"])),
        )
        .required("method")
        .property(
            "path",
            ObjectBuilder::new().schema_type(Type::String).description(Some(
                "A command route's path with its ids filled in, not percent-encoded: `/v1/appointments`, `/v1/referrals/12/accept`.",
            )),
        )
        .required("path")
        .property(
            "key",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(200))
                .description(Some("This command's idempotency key (the route's `Idempotency-Key`).")),
        )
        .property(
            "body",
            ObjectBuilder::new().description(Some("The body the route takes; omitted when it takes none.")),
        )
        .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)));
    let body = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "commands",
            utoipa::openapi::schema::ArrayBuilder::new()
                .items(item)
                .min_items(Some(1))
                .max_items(Some(super::batch::MAX_COMMANDS)),
        )
        .required("commands")
        .additional_properties(Some(
            utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
        ));
    let example = json!({"commands": [
        {"method": "POST", "path": "/v1/appointments", "key": "import-2026-0001",
         "body": {"agenda": "F0001-A01", "start": "2026-03-02T15:00:00Z", "beneficiary": "MX-10000001"}},
        {"method": "POST", "path": "/v1/appointments/7/cancel", "key": "import-2026-0002",
         "body": {"reason": "patient request"}}
    ]});
    let result = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("status", ObjectBuilder::new().schema_type(Type::Integer))
        .required("status")
        .property(
            "body",
            ObjectBuilder::new().description(Some(
                "What the route answers with that status: an `Outcome` for 200, an `Error` otherwise.",
            )),
        )
        .required("body");
    let ok = ObjectBuilder::new().schema_type(Type::Object).property(
        "results",
        utoipa::openapi::schema::ArrayBuilder::new().items(result),
    );
    let mut op = OperationBuilder::new()
        .operation_id(Some("batch"))
        .tag("batch")
        .summary(Some(
            "Many commands in one request (imports): each with its own idempotency key and its own answer, in order.",
        ))
        .description(Some(
            "Every command is checked before any is decided: one malformed command refuses the whole request (400 with its code and `details.index`) and nothing changes. Otherwise each command is decided in order and answered as its route would answer it (`results[i].status`, `results[i].body`); each is durable on its own, so retrying the batch with the same keys replays what was done.",
        ))
        .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
        .request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(body))
                        .example(Some(example))
                        .build(),
                )
                .build(),
        ))
        .response(
            "200",
            json_response("One answer per command, in order.", ok.into()).build(),
        );
    for (status, text) in [
        (
            "400",
            "A malformed batch or command (`malformed_json`, `invalid_body`, `unknown_field`, `empty_batch`, `batch_too_large`, `unknown_route`, `absurd_date`, …; `details.index` names the command): nothing was decided.",
        ),
        ("401", "Missing, unknown or revoked token."),
        ("413", "The body is larger than the server accepts."),
    ] {
        op = op.response(status, json_response(text, error_ref()).build());
    }
    PathItem::new(HttpMethod::Post, op.build())
}

pub fn document() -> OpenApi {
    let mut paths = PathsBuilder::new();
    let mut items: Vec<(&str, PathItem)> = Vec::new();
    for r in ROUTES {
        let mut op = OperationBuilder::new()
            .operation_id(Some(r.id))
            .tag(r.tag)
            .summary(Some(r.summary))
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()));
        for p in r.path_params {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(p.name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(Some(p.doc))
                    .schema(Some(param_schema(p))),
            );
        }
        for p in r.query_params {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(p.name)
                    .parameter_in(ParameterIn::Query)
                    .required(if p.required {
                        Required::True
                    } else {
                        Required::False
                    })
                    .description(Some(p.doc))
                    .schema(Some(param_schema(p))),
            );
        }
        let success = match r.op {
            Op::Command { ty, .. } => {
                let body_schema = ObjectBuilder::new().schema_type(Type::Object).description(Some(
                    format!("The fields of the engine command `{ty}` (ids in the path excluded). Unknown fields are refused."),
                ));
                let required = r.example.is_some();
                let mut content = ContentBuilder::new().schema(Some(body_schema));
                if let Some(ex) = r.example {
                    content = content.example(Some(ex()));
                }
                op = op
                    .request_body(Some(
                        RequestBodyBuilder::new()
                            .required(Some(if required { Required::True } else { Required::False }))
                            .content("application/json", content.build())
                            .build(),
                    ))
                    .parameter(
                        ParameterBuilder::new()
                            .name("Idempotency-Key")
                            .parameter_in(ParameterIn::Header)
                            .required(Required::False)
                            .description(Some(
                                "Makes retries safe: a request with a key already used answers the original outcome, even after a restart.",
                            ))
                            .schema(Some(
                                ObjectBuilder::new()
                                    .schema_type(Type::String)
                                    .max_length(Some(200)),
                            )),
                    );
                json_response(
                    "Durable: the events are committed to the journal.",
                    Ref::from_schema_name("Outcome").into(),
                )
            }
            Op::Query { ty } => json_response(
                &format!("The `value` of the engine's answer to the query `{ty}`."),
                ObjectBuilder::new().into(),
            ),
            Op::Feed => json_response(
                "`{items: [{seq, at, command, events}], next, head}`: pass `next` as `after` for the next page.",
                ObjectBuilder::new().schema_type(Type::Object).into(),
            ),
            Op::Me => json_response(
                "`{tenant, actor, token_id}`.",
                ObjectBuilder::new().schema_type(Type::Object).into(),
            ),
        };
        op = op.response("200", success.build());
        let errors: &[(&str, &str)] = match r.op {
            Op::Command { .. } => &[
                (
                    "400",
                    "Bad input: malformed JSON, unknown field, wrong type, absurd date.",
                ),
                ("401", "Missing, unknown or revoked token."),
                ("403", "The engine does not permit this actor to do this."),
                (
                    "404",
                    "An id the engine does not know (or may not show this actor).",
                ),
                (
                    "409",
                    "Conflict: the slot is full, the record exists, the key was reused.",
                ),
                ("413", "The body is larger than the server accepts."),
                ("422", "A rule of the engine refuses it."),
                (
                    "500",
                    "`engine_trap`: the engine failed; nothing was applied.",
                ),
                (
                    "503",
                    "`commit_failed`: the journal could not be written; nothing was applied.",
                ),
            ],
            _ => &[
                (
                    "400",
                    "Bad input: unknown or malformed parameter, absurd date.",
                ),
                ("401", "Missing, unknown or revoked token."),
                ("403", "The engine does not permit this actor to read this."),
                (
                    "404",
                    "An id the engine does not know (or may not show this actor).",
                ),
                ("500", "`engine_trap`: the engine failed."),
            ],
        };
        for (status, text) in errors {
            op = op.response(*status, json_response(text, error_ref()).build());
        }
        items.push((r.path, PathItem::new(method(r.method), op.build())));
    }
    let plain = |id: &str, summary: &str, ctype: &str| {
        PathItem::new(
            HttpMethod::Get,
            OperationBuilder::new()
                .operation_id(Some(id))
                .tag("operations")
                .summary(Some(summary))
                .response(
                    "200",
                    ResponseBuilder::new()
                        .description(summary)
                        .content(ctype, ContentBuilder::new().build())
                        .build(),
                )
                .build(),
        )
    };
    items.push((
        "/healthz",
        plain(
            "healthz",
            "Liveness and per-tenant health.",
            "application/json",
        ),
    ));
    items.push((
        "/metrics",
        plain("metrics", "Prometheus metrics.", "text/plain"),
    ));
    items.push((
        "/openapi.json",
        plain("openapi", "This document.", "application/json"),
    ));
    for e in super::fhir::ENDPOINTS {
        let mut op = OperationBuilder::new()
            .operation_id(Some(e.id))
            .tag(if e.path.starts_with("/fhir") {
                "fhir"
            } else {
                "calendars"
            })
            .summary(Some(e.summary))
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()));
        for name in path_names(e.path) {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            );
        }
        for (name, required, doc) in e.query {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(*name)
                    .parameter_in(ParameterIn::Query)
                    .required(if *required {
                        Required::True
                    } else {
                        Required::False
                    })
                    .description(Some(*doc))
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
                    )),
            );
        }
        let ok = ResponseBuilder::new()
            .description(e.summary)
            .content(e.media_type, ContentBuilder::new().build())
            .build();
        op = op.response("200", ok);
        for (status, text) in [
            ("400", "Bad input: unknown or malformed parameter."),
            ("401", "Missing, unknown or revoked token."),
            ("403", "The engine does not permit this actor to read this."),
            ("404", "Not found (or not visible to this actor)."),
        ] {
            let r = if e.path.starts_with("/fhir") {
                ResponseBuilder::new()
                    .description(format!(
                        "{text} A FHIR OperationOutcome carrying the engine's code."
                    ))
                    .content(super::fhir::FHIR_JSON, ContentBuilder::new().build())
                    .build()
            } else {
                json_response(text, error_ref()).build()
            };
            op = op.response(status, r);
        }
        items.push((e.path, PathItem::new(HttpMethod::Get, op.build())));
    }
    items.push((super::batch::PATH, batch_item()));
    // Several methods on one path are merged into one path item.
    let mut merged: Vec<(&str, PathItem)> = Vec::new();
    for (path, item) in items {
        match merged.iter_mut().find(|(p, _)| *p == path) {
            Some((_, existing)) => existing.merge_operations(item),
            None => merged.push((path, item)),
        }
    }
    for (path, item) in merged {
        paths = paths.path(path, item);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Enlace host API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Scheduling and referral / counter-referral between hospital tiers. Every command is decided by the Enlace engine (a WebAssembly component) and acknowledged only once durable. Authenticate with `Authorization: Bearer TOKEN`; the token fixes the tenant (network) and the actor.",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(
            ComponentsBuilder::new()
                .schema("Error", error_schema())
                .schema("Outcome", outcome_schema())
                .security_scheme(
                    "bearer",
                    SecurityScheme::Http(
                        HttpBuilder::new()
                            .scheme(HttpAuthScheme::Bearer)
                            .bearer_format("enl_…")
                            .build(),
                    ),
                )
                .build(),
        ))
        .build()
}

/// The `{name}` segments of a path.
fn path_names(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

/// Every (method, path) the document describes, for tests.
pub fn operations(doc: &OpenApi) -> Vec<(String, String)> {
    let v = serde_json::to_value(doc).unwrap_or(json!({}));
    let mut out = Vec::new();
    if let Some(paths) = v.get("paths").and_then(|p| p.as_object()) {
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
mod tests {
    use super::*;

    #[test]
    fn every_route_is_in_the_document() {
        let doc = document();
        let ops = operations(&doc);
        for r in ROUTES {
            assert!(
                ops.contains(&(r.method.as_str().to_owned(), r.path.to_owned())),
                "{} {} missing",
                r.method.as_str(),
                r.path
            );
        }
        assert!(ops.contains(&("POST".to_owned(), super::super::batch::PATH.to_owned())));
        assert_eq!(
            ops.len(),
            ROUTES.len() + 3 + super::super::fhir::ENDPOINTS.len() + 1
        );
        let v = serde_json::to_value(&doc).unwrap();
        assert_eq!(v["openapi"], "3.1.0");
        assert!(v["components"]["schemas"]["Error"].is_object());
    }
}
