//! The component face: `wit/engine.wit` implemented over enlace-core.
//!
//! Built for `wasm32-unknown-unknown` with wit-bindgen and encoded into a
//! component by `cargo xtask build` (wit-component's `ComponentEncoder`).
//! The world imports nothing, so a host grants the engine no access to
//! anything: no clock, no files, no network, no randomness. Time comes in
//! with each request, as it does natively.
//!
//! This module only converts (see [`convert`]): WIT values in, core types,
//! core's decision, WIT values out. Input that does not parse (an instant
//! that is not RFC 3339, a date that is not `YYYY-MM-DD`) or a journal whose
//! hash chain breaks is answered with the `error` record and code
//! `invalid_input`, never with a trap.
//!
//! JSON only goes out (`journal-json`): reading core's JSON in the component
//! would cost about 570 KB of serde code (see the WIT).
//!
//! # Traps and half-applied state
//!
//! The component is built with `panic = "abort"`, so a panic inside the
//! engine (a bug) is a Wasm trap: the call returns an error to the host and
//! the instance can never be entered again. No host can observe an engine in
//! a half-applied state, for two reasons:
//!
//! - `enlace_core::Engine::execute` mutates nothing until `decide` has
//!   succeeded: every refusal and every panic inside `decide` happens before
//!   the first change. Only `State::apply_entry`, which never fails by
//!   design, and the journal push come after it.
//! - Should a trap happen anyway (in `apply`, or while lowering the result),
//!   the instance is dead: its memory is unreachable from then on. The host
//!   discards it and builds a new one from the journal entries it has made
//!   durable (`from-entries`, or `rebuild_from_journal` in enlace-host).
//!   The interrupted command was never acknowledged to anyone, because the
//!   host acknowledges only after it has the outcome and has made the entry
//!   durable; so the rebuilt engine holds exactly what was acknowledged, and
//!   a client retry with the same idempotency key is then decided afresh.

mod convert;
mod exchange;

/// The generated bindings and export glue: the only unsafe code of the
/// crate, all of it written by wit-bindgen.
#[allow(unsafe_code, missing_debug_implementations)]
mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "engine",
    });

    use super::Component;
    export!(Component with_types_in self);
}

use bindings::exports::enlace::engine::api::{self as wit, Guest, GuestEngine};
use chrono::{DateTime, Utc};
use convert::{Bad, WitType, lift};
use enlace_core::{Actor, Engine, Entry, Query, Request};
use std::cell::RefCell;

/// The exported component.
struct Component;

impl Guest for Component {
    type Engine = EngineResource;
}

/// The `engine` resource: one network's engine. WIT methods take `&self`,
/// so the engine sits in a `RefCell`; a component instance runs one call at
/// a time, so the borrow never conflicts.
#[derive(Debug)]
pub struct EngineResource(RefCell<Engine>);

fn to_wit_error(e: enlace_core::Error) -> wit::Error {
    e.to_body().into_wit()
}

impl GuestEngine for EngineResource {
    fn new() -> Self {
        EngineResource(RefCell::new(Engine::new()))
    }

    fn from_entries(entries: Vec<wit::Entry>) -> Result<wit::Engine, wit::Error> {
        let entries: Vec<Entry> =
            lift(entries, "journal").map_err(|b| to_wit_error(b.into_error()))?;
        let engine = Engine::from_entries(entries).map_err(|b| {
            to_wit_error(
                Bad {
                    field: "journal".to_owned(),
                    reason: format!(
                        "the hash chain breaks at entry {} (seq {}): {}",
                        b.index, b.seq, b.reason
                    ),
                }
                .into_error(),
            )
        })?;
        Ok(wit::Engine::new(EngineResource(RefCell::new(engine))))
    }

    fn snapshot(&self) -> Vec<u8> {
        self.0.borrow().snapshot()
    }

    fn from_snapshot(snapshot: Vec<u8>, tail: Vec<wit::Entry>) -> Result<wit::Engine, wit::Error> {
        let tail: Vec<Entry> = lift(tail, "journal").map_err(|b| to_wit_error(b.into_error()))?;
        let engine = Engine::from_snapshot(&snapshot, tail).map_err(to_wit_error)?;
        Ok(wit::Engine::new(EngineResource(RefCell::new(engine))))
    }

    fn forget_through(&self, seq: u64) {
        self.0.borrow_mut().forget_through(seq);
    }

    fn base(&self) -> u64 {
        self.0.borrow().base()
    }

    fn query_over(
        &self,
        actor: wit::Actor,
        query: wit::Query,
        now: wit::Instant,
        entries: Vec<wit::Entry>,
    ) -> Result<wit::Answer, wit::Error> {
        let read = || -> Result<_, Bad> {
            Ok((
                lift::<Actor>(actor, "actor")?,
                lift::<Query>(query, "query")?,
                lift::<DateTime<Utc>>(now, "now")?,
                lift::<Vec<Entry>>(entries, "entries")?,
            ))
        };
        let (actor, query, now, entries) = read().map_err(|b| to_wit_error(b.into_error()))?;
        self.0
            .borrow()
            .query_over(&actor, &query, now, &entries)
            .map(WitType::into_wit)
            .map_err(to_wit_error)
    }

    fn execute(&self, request: wit::Request) -> Result<wit::Executed, wit::Error> {
        let request = Request::from_wit(request).map_err(|b| to_wit_error(b.into_error()))?;
        let mut engine = self.0.borrow_mut();
        let outcome = engine.execute(request).map_err(to_wit_error)?;
        if outcome.replayed {
            return Ok(wit::Executed::Replayed(outcome.into_wit()));
        }
        // A new entry, the last one held: the outcome is its seq and its
        // events, which go across once, inside the entry.
        let entry = engine
            .journal()
            .last()
            .filter(|e| e.seq == outcome.seq)
            .expect("execute holds the entry it just made");
        Ok(wit::Executed::Recorded(convert::recorded(
            entry,
            outcome.events,
        )))
    }

    fn query(
        &self,
        actor: wit::Actor,
        query: wit::Query,
        now: wit::Instant,
    ) -> Result<wit::Answer, wit::Error> {
        let read = || -> Result<_, Bad> {
            Ok((
                lift::<Actor>(actor, "actor")?,
                lift::<Query>(query, "query")?,
                lift::<DateTime<Utc>>(now, "now")?,
            ))
        };
        let (actor, query, now) = read().map_err(|b| to_wit_error(b.into_error()))?;
        self.0
            .borrow()
            .query(&actor, &query, now)
            .map(WitType::into_wit)
            .map_err(to_wit_error)
    }

    fn head(&self) -> String {
        self.0.borrow().state().head().to_owned()
    }

    fn seq(&self) -> u64 {
        self.0.borrow().state().seq()
    }

    fn verify(&self) -> wit::Verification {
        self.0.borrow().verify().into_wit()
    }

    fn entries_after(&self, seq: u64) -> Vec<wit::Entry> {
        self.0.borrow().entries_after(seq).to_vec().into_wit()
    }

    fn journal_json(&self) -> String {
        // Serialising plain data to a String cannot fail.
        serde_json::to_string(self.0.borrow().journal()).unwrap_or_default()
    }

    fn entries_after_json(&self, seq: u64) -> String {
        serde_json::to_string(self.0.borrow().entries_after(seq)).unwrap_or_default()
    }
}
