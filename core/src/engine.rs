//! The engine: state plus journal, and the one door commands come through.

use crate::actor::Actor;
use crate::command::Request;
use crate::decide::decide;
use crate::error::{Error, Result, Rule};
use crate::event::Event;
use crate::journal::{
    ChainBreak, Entry, Held, Verification, key_hash, stable_hash, verify, verify_from,
};
use crate::query::{Answer, Query, query};
use crate::state::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a successful command returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Outcome {
    /// The journal entry that holds the events.
    pub seq: u64,
    /// The entry's events. Empty for a retry of an entry the engine no
    /// longer holds (see [`Engine::forget_through`]): the face that let it
    /// go reads them from its own journal.
    pub events: Vec<Event>,
    /// True when this is a retry answered from the journal: nothing changed.
    pub replayed: bool,
}

/// One network's engine: its state and its hash-chained journal.
///
/// The engine holds the journal entries after `base` (all of them unless a
/// face restored it from a snapshot or let old entries go once they were
/// durable elsewhere), so a server's memory does not grow with its history.
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
    /// The entries after `base`, oldest first.
    journal: Vec<Entry>,
    /// Seq of the last entry no longer held (0: the whole journal is held).
    base: u64,
    /// Hash of entry `base`, where the held chain starts (empty for 0).
    base_head: String,
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
            base: 0,
            base_head: String::new(),
        })
    }

    /// The state as a snapshot (see [`crate::snapshot`]).
    pub fn snapshot(&self) -> Vec<u8> {
        crate::snapshot::of_state(&self.state)
    }

    /// Restores an engine from a snapshot and the journal entries after it,
    /// verifying that they continue the chain from the snapshot's head. The
    /// engine then holds only `tail`. A damaged snapshot is refused with
    /// `invalid_input` (field `snapshot`), a tail that does not follow it
    /// with field `journal`.
    pub fn from_snapshot(snapshot: &[u8], tail: Vec<Entry>) -> Result<Self> {
        let mut state = crate::snapshot::state(snapshot)?;
        let (base, base_head) = (state.seq, state.head.clone());
        if let Some(b) = verify_from(&tail, base, &base_head).broken {
            return Err(Error::malformed(
                "journal",
                format!(
                    "the entries after the snapshot (seq {base}) do not continue its chain: {} at seq {}",
                    b.reason, b.seq
                ),
            ));
        }
        for e in &tail {
            state.apply_entry(e);
        }
        Ok(Engine {
            state,
            journal: tail,
            base,
            base_head,
        })
    }

    /// Applies entries decided elsewhere (by another instance of this
    /// engine: a replica following a journal), after checking that they
    /// continue this engine's chain. On a break nothing is applied.
    pub fn follow(&mut self, entries: &[Entry]) -> std::result::Result<(), ChainBreak> {
        if let Some(b) = verify_from(entries, self.state.seq, &self.state.head).broken {
            return Err(b);
        }
        for e in entries {
            self.state.apply_entry(e);
        }
        self.journal.extend_from_slice(entries);
        Ok(())
    }

    /// Lets go of the entries up to `seq` (at most the last one), once the
    /// face holds them durably elsewhere. Retries of their keys still
    /// replay, without their events; audit queries over them are the
    /// face's to page through [`Engine::query_over`].
    pub fn forget_through(&mut self, seq: u64) {
        let seq = seq.min(self.state.seq);
        if seq <= self.base {
            return;
        }
        let n = (seq - self.base) as usize;
        if let Some(last) = self.journal.drain(..n).next_back() {
            self.base_head = last.hash;
        }
        self.base = seq;
    }

    /// Seq of the last entry the engine no longer holds (0 when it holds
    /// the whole journal).
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Executes a command: decides, records, applies. On error nothing changes.
    pub fn execute(&mut self, req: Request) -> Result<Outcome> {
        let digest = match &req.key {
            Some(key) => {
                if key.is_empty() || key.len() > MAX_KEY_LEN {
                    return Err(Error::invalid(
                        "key",
                        Rule::Length {
                            min: 1,
                            max: MAX_KEY_LEN as u32,
                        },
                    ));
                }
                let digest = stable_hash(&(&req.actor, &req.command));
                if let Some(&(seen, seq)) = self.state.idempotency.get(&key_hash(key)) {
                    if seen != digest {
                        return Err(Error::IdempotencyKeyReused { key: key.clone() });
                    }
                    let events = seq
                        .checked_sub(self.base + 1)
                        .and_then(|i| self.journal.get(i as usize))
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
        query(&self.state, self.held(), actor, q, now)
    }

    /// Answers a query over `entries` (consecutive journal entries the face
    /// read from its own journal) instead of the entries held, with the
    /// rules and the current state of [`Engine::query`]: how a face pages an
    /// auditor through history the engine let go. `verify_audit`, which
    /// needs the chain from its start, is refused with `invalid_input`
    /// (field `query`, rule `not_applicable`); queries that read no journal
    /// answer from the state as [`Engine::query`] does.
    pub fn query_over(
        &self,
        actor: &Actor,
        q: &Query,
        now: DateTime<Utc>,
        entries: &[Entry],
    ) -> Result<Answer> {
        if matches!(q, Query::VerifyAudit) {
            return Err(Error::invalid("query", Rule::NotApplicable));
        }
        // Only verify_audit reads where the entries start, and it is
        // refused above.
        query(&self.state, Held::all(entries), actor, q, now)
    }

    fn held(&self) -> Held<'_> {
        Held {
            entries: &self.journal,
            after: self.base,
            prev: &self.base_head,
        }
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The journal entries held (the whole journal unless [`Engine::base`]
    /// is above 0), oldest first.
    pub fn journal(&self) -> &[Entry] {
        &self.journal
    }

    /// Held entries after `seq`, for replicas and feeds.
    pub fn entries_after(&self, seq: u64) -> &[Entry] {
        let from = (seq.saturating_sub(self.base) as usize).min(self.journal.len());
        &self.journal[from..]
    }

    /// Verifies the audit chain of the entries held, from the head of the
    /// last entry let go (the whole chain when [`Engine::base`] is 0).
    pub fn verify(&self) -> Verification {
        if self.base == 0 {
            return verify(&self.journal);
        }
        verify_from(&self.journal, self.base, &self.base_head)
    }
}
