//! # enlace-core
//!
//! The Enlace domain engine: beneficiary appointment scheduling and referral /
//! counter-referral between hospital tiers, with inter-agency agreements and
//! a hash-chained audit journal.
//!
//! The engine is pure: no I/O, no clock, no randomness. Time comes in with
//! each [`Request`]; ids are assigned deterministically. Every change goes
//! through [`decide`] (which never mutates) and [`State::apply`] (which never
//! fails), so replaying a journal rebuilds exactly the same state.

mod access;
pub mod actor;
pub mod agenda;
pub mod agreement;
pub mod appointment;
pub mod beneficiary;
mod booking;
pub mod command;
mod decide;
pub mod disclosure;
pub mod engine;
pub mod error;
pub mod event;
#[cfg(feature = "exchange")]
pub mod exchange;
pub mod facility;
pub mod interop;
pub mod journal;
pub mod priority;
pub mod query;
pub mod referral;
pub mod rfc3339;
#[cfg(feature = "schema")]
pub mod schema;
mod slot;
pub mod snapshot;
pub mod state;
pub mod synth;
mod validate;
mod view;
pub mod visibility;
pub mod waitlist;

pub use actor::{Actor, Role};
pub use command::{Command, Request};
pub use decide::decide;
pub use engine::{Engine, Outcome};
pub use error::{Error, ErrorBody, ErrorKind, Rule};
pub use event::Event;
pub use journal::{Entry, Verification, Verifier, verify};
pub use query::{Answer, Query};
pub use state::{Meta, State};
