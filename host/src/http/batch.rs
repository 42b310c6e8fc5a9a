//! `POST /v1/batch`: many commands in one request, for agencies importing
//! bookings from legacy systems. Each command names the route it would take
//! on its own (method and path, ids in the path as written, not
//! percent-encoded), carries its own body and its own idempotency key, and
//! gets its own answer: the same status and body the route would have
//! answered, in the order given.
//!
//! Every command is checked (route, body) before any is handed to
//! the engine: one malformed command refuses the whole request with its
//! code and `index`, and nothing changes. Checked commands then go to the
//! tenant's writer in order, one after the other, so they are decided in
//! that order and usually land in one group commit; each is durable (or
//! refused by the engine) on its own, so a retry of the batch with the same
//! keys replays what was done and does what was not.

use super::body::{BodyError, Misfit, locate};
use super::error::ApiError;
use super::routes::{Method, Op, ROUTES, Route};
use super::{App, authenticate, build_command_from, read_body, tenant_of};
use crate::commit::{Job, Reply};
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

/// Most commands in one batch.
pub const MAX_COMMANDS: usize = 1000;

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    commands: Vec<Item>,
}

/// One command of a batch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    /// `POST` or `PUT`.
    method: String,
    /// A command route's path with its ids filled in: `/v1/appointments`,
    /// `/v1/referrals/12/accept`.
    path: String,
    /// The idempotency key, as the `Idempotency-Key` header would carry it.
    #[serde(default)]
    key: Option<String>,
    /// The body the route takes; absent for routes that need none.
    #[serde(default)]
    body: Option<Value>,
}

/// The command route `method path` takes, with its path parameters.
fn route_of(method: &str, path: &str) -> Option<(&'static Route, Vec<(String, String)>)> {
    let want: Vec<&str> = path.split('/').collect();
    ROUTES.iter().find_map(|r| {
        if !matches!(r.op, Op::Command { .. }) || r.method.as_str() != method {
            return None;
        }
        let pattern: Vec<&str> = r.path.split('/').collect();
        if pattern.len() != want.len() {
            return None;
        }
        let mut params = Vec::new();
        for (p, w) in pattern.iter().zip(&want) {
            match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) if !w.is_empty() => params.push((name.to_owned(), (*w).to_owned())),
                Some(_) => return None,
                None if p == w => {}
                None => return None,
            }
        }
        Some((r, params))
    })
}

fn at(e: ApiError, index: usize) -> ApiError {
    e.with("index", index.to_string())
}

/// Checks every command of the body, in order; the first bad one refuses
/// the batch.
fn check(bytes: &[u8]) -> Result<Vec<(Option<String>, enlace_core::Command)>, ApiError> {
    let batch: Batch = serde_json::from_slice(bytes).map_err(|e| {
        let msg = e.to_string();
        let value = match serde_json::from_slice::<Value>(bytes) {
            Ok(value) if !e.is_syntax() && !e.is_eof() => value,
            _ => {
                return ApiError::bad_request(
                    "malformed_json",
                    format!("the body is not valid JSON: {msg}"),
                );
            }
        };
        let (kind, field) = locate::<Batch>(&value);
        let message = match kind {
            Misfit::UnknownField => msg,
            Misfit::MissingField | Misfit::Invalid => format!(
                "the body must be {{\"commands\": [{{method, path, key?, body?}}, …]}}: {msg}"
            ),
        };
        BodyError {
            kind,
            message,
            field,
        }
        .refusal()
    })?;
    if batch.commands.is_empty() {
        return Err(ApiError::bad_request(
            "empty_batch",
            "a batch needs at least one command",
        ));
    }
    if batch.commands.len() > MAX_COMMANDS {
        return Err(ApiError::bad_request(
            "batch_too_large",
            format!("a batch holds at most {MAX_COMMANDS} commands"),
        )
        .with("limit", MAX_COMMANDS.to_string()));
    }
    let mut out = Vec::with_capacity(batch.commands.len());
    for (i, item) in batch.commands.into_iter().enumerate() {
        let Some((route, params)) = route_of(&item.method, &item.path) else {
            return Err(at(
                ApiError::bad_request(
                    "unknown_route",
                    format!(
                        "`{} {}` is not a command route of /v1/",
                        item.method, item.path
                    ),
                ),
                i,
            ));
        };
        let Op::Command { ty, wrap } = route.op else {
            unreachable!("route_of finds command routes only")
        };
        let command =
            build_command_from(route, ty, wrap, &params, item.body).map_err(|e| at(e, i))?;
        if let Some(k) = &item.key
            && !k.is_ascii()
        {
            return Err(at(
                ApiError::bad_request("invalid_header", "Idempotency-Key must be ASCII"),
                i,
            ));
        }
        out.push((item.key, command));
    }
    Ok(out)
}

/// One answer of the batch: the status and body the route would have given.
fn answer(reply: Reply) -> Value {
    match reply {
        Reply::Done(outcome) => json!({"status": 200, "body": outcome}),
        other => {
            let e = super::reply_error(other);
            json!({"status": e.status.as_u16(), "body": e.body})
        }
    }
}

pub(super) async fn handle(
    app: &App,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let principal = authenticate(app, &headers).await?;
    let tenant = tenant_of(app, &principal)?.clone();
    let bytes = read_body(app, &headers, body).await?;
    let commands = check(&bytes)?;
    let mut waiting = Vec::with_capacity(commands.len());
    for (key, command) in commands {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let job = Job::Command {
            actor: principal.actor.clone(),
            key,
            command,
            reply,
        };
        waiting.push(tenant.writer.submit(job).await.then_some(rx));
    }
    let mut results = Vec::with_capacity(waiting.len());
    for rx in waiting {
        let reply = match rx {
            Some(rx) => rx
                .await
                .unwrap_or_else(|_| Reply::Unavailable("the tenant writer stopped".into())),
            None => Reply::Unavailable("the tenant is shutting down".into()),
        };
        results.push(answer(reply));
    }
    Ok((StatusCode::OK, axum::Json(json!({ "results": results }))).into_response())
}

/// The method filter of the one batch route (for the router).
pub const METHOD: Method = Method::Post;
/// Its path.
pub const PATH: &str = "/v1/batch";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_find_their_command_route() {
        let (r, p) = route_of("POST", "/v1/appointments").unwrap();
        assert_eq!(
            r.id,
            ROUTES
                .iter()
                .find(|r| r.path == "/v1/appointments" && r.method == Method::Post)
                .unwrap()
                .id
        );
        assert!(p.is_empty());
        let (r, p) = route_of("POST", "/v1/referrals/12/accept").unwrap();
        assert_eq!(r.path, "/v1/referrals/{referral}/accept");
        assert_eq!(p, vec![("referral".to_owned(), "12".to_owned())]);
        assert!(
            route_of("GET", "/v1/services").is_none(),
            "queries are not batched"
        );
        assert!(route_of("POST", "/v1/nope").is_none());
        assert!(route_of("POST", "/v1/referrals//accept").is_none());
    }

    #[test]
    fn one_bad_command_refuses_the_batch_with_its_index() {
        let ok = json!({"method": "POST", "path": "/v1/appointments",
                        "body": {"agenda": "F0001-A01", "start": "2030-01-07T15:00:00Z", "beneficiary": "MX-1"}});
        let o = || ok.clone();
        let cases = [
            (
                json!({"commands": [o(), {"method": "POST", "path": "/v1/appointments", "body": {"agenda": 3}}]}),
                "invalid_body",
                Some("1"),
            ),
            (
                json!({"commands": [o(), o(), {"method": "POST", "path": "/v1/x"}]}),
                "unknown_route",
                Some("2"),
            ),
            (json!({"commands": []}), "empty_batch", None),
            (
                json!({"commands": [o()], "extra": 1}),
                "unknown_field",
                None,
            ),
            (json!([o()]), "invalid_body", None),
        ];
        for (body, code, index) in cases {
            let e = check(&serde_json::to_vec(&body).unwrap()).unwrap_err();
            assert_eq!(e.body.code, code, "{body}");
            assert_eq!(
                e.body.details.get("index").map(String::as_str),
                index,
                "{body}"
            );
        }
        assert_eq!(check(b"{not json").unwrap_err().body.code, "malformed_json");
        let many = json!({"commands": vec![o(); MAX_COMMANDS + 1]});
        assert_eq!(
            check(&serde_json::to_vec(&many).unwrap())
                .unwrap_err()
                .body
                .code,
            "batch_too_large"
        );
        assert_eq!(
            check(&serde_json::to_vec(&json!({"commands": [o(), o()]})).unwrap())
                .unwrap()
                .len(),
            2
        );
    }
}
