//! # enlace-host
//!
//! The Enlace server: runs the engine component in wasmtime, one instance
//! per tenant, makes every accepted command durable in an embedded SQLite
//! journal (group commit) before answering, and serves the HTTP API.

pub mod auth;
pub mod backend;
pub mod cli;
pub mod commit;
pub mod component;
pub mod component_backend;
pub mod config;
pub mod http;
pub mod journal;
pub mod keys;
pub mod metrics;
pub mod oidc;
pub mod reads;
pub mod seed;
pub mod server;
pub mod snapshot;
pub mod tenant;
pub mod test_clock;
pub mod tls;
