//! The result shapes the browser package returns, as serde types.
//!
//! They are the same JSON a host's HTTP API answers with, so a page can swap
//! the in-page engine for a server without touching its result handling.
//! Their TypeScript declarations are generated from these definitions, like
//! every core type (see [`crate::typescript`] with the `typescript` feature).

use enlace_core::{Answer, ErrorBody, Outcome};
use serde::Serialize;

/// What `engine.execute(request)` returns: `{ok: {seq, events, replayed}}`
/// when the command was accepted, `{error: {code, message, details}}` when
/// the engine refused it (nothing changed then).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ExecuteResult {
    Ok(Outcome),
    Error(ErrorBody),
}

/// What `engine.query(actor, query, now)` returns: `{answer: {type, value}}`
/// or `{error: {code, message, details}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum QueryResult {
    Answer(Answer),
    Error(ErrorBody),
}

impl From<enlace_core::error::Result<Outcome>> for ExecuteResult {
    fn from(r: enlace_core::error::Result<Outcome>) -> Self {
        match r {
            Ok(outcome) => ExecuteResult::Ok(outcome),
            Err(e) => ExecuteResult::Error(e.to_body()),
        }
    }
}

impl From<enlace_core::error::Result<Answer>> for QueryResult {
    fn from(r: enlace_core::error::Result<Answer>) -> Self {
        match r {
            Ok(answer) => QueryResult::Answer(answer),
            Err(e) => QueryResult::Error(e.to_body()),
        }
    }
}
