//! What reads the journal once the engine let it go: audit trails over
//! that history (paged through the one journal reader,
//! `crate::journal::Pages`, with the engine's rules), `verify_audit` over
//! the whole durable chain (`crate::journal::verify_file`), and the events
//! of an idempotent retry of an old key.

use super::Reply;
use super::writer::WriterState;
use crate::backend::{Refusal, Trap};
use chrono::{DateTime, Utc};
use enlace_core::query::audit_page;
use enlace_core::{Actor, Answer, Entry, Outcome, Query};
use std::sync::atomic::Ordering;
use tokio::sync::oneshot;

impl WriterState {
    /// Answers a query on the committed state. Audit queries over history
    /// the engine let go read the journal.
    pub(super) fn answer(&mut self, actor: Actor, query: Query, reply: oneshot::Sender<Reply>) {
        let now = Utc::now();
        let history = match &query {
            Query::AuditTrail { after, .. } => *after < self.base,
            Query::VerifyAudit => self.base > 0,
            _ => false,
        };
        let answer = match self.engine.query(&actor, &query, now) {
            Ok(Ok(a)) if !history => Reply::Answer(a),
            // The engine authorized the actor; the answer needs history.
            Ok(Ok(a)) => match query {
                Query::VerifyAudit => return self.verify_durable(reply),
                _ => self
                    .audit_trail(&actor, &query, now)
                    .unwrap_or(Reply::Answer(a)),
            },
            Ok(Err(r)) => Reply::Refused(r),
            Err(trap) => {
                self.on_trap(&trap.0);
                Reply::Trapped(trap.0)
            }
        };
        let _ = reply.send(answer);
    }

    /// An audit trail that starts in history the engine let go: pages
    /// through the journal up to the base with `query_over`, then asks the
    /// engine for the rest, as one answer of at most `limit` entries.
    fn audit_trail(&mut self, actor: &Actor, query: &Query, now: DateTime<Utc>) -> Option<Reply> {
        let Query::AuditTrail {
            facility,
            referral,
            after,
            limit,
        } = query
        else {
            return None;
        };
        let want = audit_page(*limit);
        let ask = |after: u64, got: usize| Query::AuditTrail {
            facility: facility.clone(),
            referral: *referral,
            after,
            limit: (want - got) as u32,
        };
        let mut found: Vec<Entry> = Vec::new();
        let mut cursor = *after;
        let mut pages = self.reader.pages(cursor, Some(self.base));
        let stop = loop {
            if found.len() >= want {
                break None;
            }
            let page = match pages.next() {
                Some(Ok(page)) => page,
                Some(Err(e)) => {
                    break Some(Reply::Unavailable(format!("reading the journal: {e:#}")));
                }
                None => break None,
            };
            cursor = page.last().map_or(cursor, |e| e.seq);
            let answer = self
                .engine
                .query_over(actor, &ask(*after, found.len()), now, &page);
            if let Some(stop) = gather(answer, &mut found) {
                break Some(stop);
            }
        };
        if let Some(stop) = stop {
            return Some(self.stopped(stop));
        }
        if found.len() < want {
            let rest = ask(cursor.max(self.base), found.len());
            let answer = self.engine.query(actor, &rest, now);
            if let Some(stop) = gather(answer, &mut found) {
                return Some(self.stopped(stop));
            }
        }
        Some(Reply::Answer(Answer::Entries(found)))
    }

    /// The reply of an audit trail cut short; a trap rebuilds the engine.
    fn stopped(&mut self, stop: Reply) -> Reply {
        if let Reply::Trapped(why) = &stop {
            self.on_trap(why);
        }
        stop
    }

    /// `verify_audit` once the engine let history go: verifies the whole
    /// durable chain, up to the last committed entry, on a reader thread so
    /// that commands go on meanwhile.
    fn verify_durable(&self, reply: oneshot::Sender<Reply>) {
        let path = self.reader.path().to_owned();
        let last = self.shared.stats.journal_len.load(Ordering::Relaxed);
        let spawned = std::thread::Builder::new()
            .name(format!("verify-{}", self.tenant))
            .spawn(move || {
                let verified = crate::journal::verify_file(&path, Some(last), |_| {});
                let _ = reply.send(match verified {
                    Ok(v) => Reply::Answer(Answer::Verification(v)),
                    Err(e) => Reply::Unavailable(format!("reading the journal: {e:#}")),
                });
            });
        if let Err(e) = spawned {
            tracing::error!(tenant = %self.tenant, error = %e, "could not start the verification thread");
        }
    }

    /// An idempotent retry of an entry the engine let go carries no
    /// events: they are read back from the journal.
    pub(super) fn with_events(&self, mut outcome: Outcome) -> Reply {
        if outcome.replayed && outcome.seq <= self.base && outcome.events.is_empty() {
            match self.reader.entry(outcome.seq) {
                Ok(Some(e)) => outcome.events = e.events,
                Ok(None) => {
                    return Reply::Unavailable(format!("journal entry {} is missing", outcome.seq));
                }
                Err(e) => return Reply::Unavailable(format!("reading the journal: {e:#}")),
            }
        }
        Reply::Done(outcome)
    }
}

/// Adds the entries of an audit-trail answer to `found`; a refusal or a
/// trap is the reply instead.
fn gather(answer: Result<Result<Answer, Refusal>, Trap>, found: &mut Vec<Entry>) -> Option<Reply> {
    match answer {
        Ok(Ok(Answer::Entries(es))) => {
            found.extend(es);
            None
        }
        Ok(Ok(_)) => None,
        Ok(Err(r)) => Some(Reply::Refused(r)),
        Err(trap) => Some(Reply::Trapped(trap.0)),
    }
}
