//! Errors as `{code, message, details}` with fitting HTTP statuses.
//!
//! Engine refusals keep the engine's code and details; their status comes
//! from `enlace_core::ErrorKind` (400, 403, 404, 409, 422). The host's own
//! errors (authentication, malformed bodies, traps, commit failures) use the
//! stable codes below.

use crate::backend::Refusal;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use enlace_core::{ErrorBody, ErrorKind};
use std::collections::BTreeMap;

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

/// The HTTP status of an engine error class.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadInput => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::RuleViolation => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                code: code.to_owned(),
                message: message.into(),
                details: BTreeMap::new(),
            },
        }
    }

    /// Adds one detail.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.body.details.insert(key.to_owned(), value.into());
        self
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthenticated(message: &str) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn refused(r: Refusal) -> Self {
        ApiError {
            status: status_of(r.kind),
            body: r.body,
        }
    }

    pub fn trap(message: &str) -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "engine_trap",
            "the engine failed on this request and was restarted from the journal; nothing of this request was applied",
        )
        .with("trap", message)
    }

    pub fn unavailable(code: &str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let unauthenticated = self.status == StatusCode::UNAUTHORIZED;
        let mut resp = (self.status, axum::Json(self.body)).into_response();
        if unauthenticated {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"enlace\""),
            );
        }
        resp
    }
}
