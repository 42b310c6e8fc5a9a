//! The engine: state plus journal, and the one door commands come through.

use crate::actor::Actor;
use crate::command::Request;
use crate::decide::decide;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::journal::{ChainBreak, Entry, Verification, key_hash, stable_hash, verify};
use crate::query::{Answer, Query, query};
use crate::state::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a successful command returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct Outcome {
    /// The journal entry that holds the events.
    pub seq: u64,
    pub events: Vec<Event>,
    /// True when this is a retry answered from the journal: nothing changed.
    pub replayed: bool,
}

/// One network's engine: its state and its hash-chained journal.
///
/// ```
/// use enlace_core::{Engine, Request, Command, Actor, Role};
/// let mut engine = Engine::new();
/// let admin = Actor::new("ana", "health-ministry", None, Role::Admin);
/// let out = engine.execute(Request {
///     actor: admin,
///     at: "2026-03-02T12:00:00Z".parse().unwrap(),
///     key: Some("setup-1".into()),
///     command: Command::DeclareHoliday {
///         date: "2026-05-01".parse().unwrap(),
///         name: "Labour day".into(),
///     },
/// }).unwrap();
/// assert_eq!(out.seq, 1);
/// assert!(engine.verify().broken.is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Engine {
    state: State,
    journal: Vec<Entry>,
}

/// Longest idempotency key accepted.
pub const MAX_KEY_LEN: usize = 200;

impl Engine {
    /// An engine for an empty network.
    pub fn new() -> Self {
        Engine::default()
    }

    /// Rebuilds an engine from a journal, verifying the hash chain first.
    pub fn from_entries(entries: Vec<Entry>) -> std::result::Result<Self, ChainBreak> {
        if let Some(b) = verify(&entries).broken {
            return Err(b);
        }
        let mut state = State::new();
        for e in &entries {
            state.apply_entry(e);
        }
        Ok(Engine {
            state,
            journal: entries,
        })
    }

    /// Executes a command: decides, records, applies. On error nothing changes.
    pub fn execute(&mut self, req: Request) -> Result<Outcome> {
        let digest = match &req.key {
            Some(key) => {
                if key.is_empty() || key.len() > MAX_KEY_LEN {
                    return Err(Error::invalid(
                        "key",
                        format!("must have 1 to {MAX_KEY_LEN} characters"),
                    ));
                }
                let digest = stable_hash(&(&req.actor, &req.command));
                if let Some(&(seen, seq)) = self.state.idempotency.get(&key_hash(key)) {
                    if seen != digest {
                        return Err(Error::IdempotencyKeyReused { key: key.clone() });
                    }
                    let events = self
                        .journal
                        .get((seq as usize).wrapping_sub(1))
                        .map(|e| e.events.clone())
                        .unwrap_or_default();
                    return Ok(Outcome {
                        seq,
                        events,
                        replayed: true,
                    });
                }
                Some(digest)
            }
            None => None,
        };
        let events = decide(&self.state, &req.actor, &req.command, req.at)?;
        let mut entry = Entry {
            seq: self.state.seq + 1,
            at: req.at,
            actor: req.actor,
            command: req.command.name().to_owned(),
            key: req.key,
            digest,
            events,
            hash: String::new(),
        };
        entry.hash = entry.compute_hash(&self.state.head);
        self.state.apply_entry(&entry);
        let outcome = Outcome {
            seq: entry.seq,
            events: entry.events.clone(),
            replayed: false,
        };
        self.journal.push(entry);
        Ok(outcome)
    }

    /// Answers a query as `actor` at instant `now`.
    pub fn query(&self, actor: &Actor, q: &Query, now: DateTime<Utc>) -> Result<Answer> {
        query(&self.state, &self.journal, actor, q, now)
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The whole journal, oldest first.
    pub fn journal(&self) -> &[Entry] {
        &self.journal
    }

    /// Entries after `seq`, for replicas and feeds.
    pub fn entries_after(&self, seq: u64) -> &[Entry] {
        let from = (seq as usize).min(self.journal.len());
        &self.journal[from..]
    }

    /// Verifies the whole audit chain.
    pub fn verify(&self) -> Verification {
        verify(&self.journal)
    }
}
