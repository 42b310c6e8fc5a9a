//! The journal: one entry per accepted command, hash-chained for audit.
//!
//! Each entry's hash is SHA-256 over the previous entry's hash and the
//! entry's canonical JSON (without its own hash), so altering, removing or
//! reordering any entry breaks the chain at that entry. Canonical JSON is
//! used so that an auditor can verify the chain in any language.

use crate::actor::Actor;
use crate::event::Event;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One accepted command and the events it produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// 1, 2, 3, … with no gaps.
    pub seq: u64,
    #[serde(with = "crate::rfc3339")]
    #[cfg_attr(feature = "typescript", ts(as = "DateTime<Utc>"))]
    #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
    pub at: DateTime<Utc>,
    pub actor: Actor,
    /// The command's type name.
    pub command: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// A digest of the command, present with `key`, so a retry with the same
    /// key but a different command is told apart.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "hex_u64")]
    #[cfg_attr(feature = "typescript", ts(as = "Option<String>", optional))]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Option<String>", regex(pattern = r"^[0-9a-f]{16}$"))
    )]
    pub digest: Option<u64>,
    pub events: Vec<Event>,
    /// Lowercase hex SHA-256 of the previous hash and this entry's content.
    pub hash: String,
}

/// The fields the hash covers, in a fixed order.
#[derive(Serialize)]
struct Hashed<'a> {
    prev: &'a str,
    seq: u64,
    #[serde(with = "crate::rfc3339")]
    at: DateTime<Utc>,
    actor: &'a Actor,
    command: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none", with = "hex_u64")]
    digest: Option<u64>,
    events: &'a [Event],
}

impl Entry {
    /// Computes the hash this entry should have after `prev`.
    pub fn compute_hash(&self, prev: &str) -> String {
        to_hex(&self.digest_after(prev))
    }

    /// The SHA-256 digest behind [`Entry::compute_hash`].
    fn digest_after(&self, prev: &str) -> [u8; 32] {
        let body = Hashed {
            prev,
            seq: self.seq,
            at: self.at,
            actor: &self.actor,
            command: &self.command,
            key: self.key.as_deref(),
            digest: self.digest,
            events: &self.events,
        };
        // Serialising plain data to a Vec cannot fail. Most entries take
        // well under 1 KiB: reserving it up front spares regrowing the buffer.
        let mut json = Vec::with_capacity(1024);
        let _ = serde_json::to_writer(&mut json, &body);
        Sha256::digest(&json).into()
    }

    /// True when the stored `hash` is the one this entry should have after
    /// `prev`; compares without building the hex string.
    fn hash_matches(&self, prev: &str) -> bool {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let stored = self.hash.as_bytes();
        stored.len() == 64
            && self.digest_after(prev).iter().enumerate().all(|(i, b)| {
                stored[2 * i] == HEX[(b >> 4) as usize]
                    && stored[2 * i + 1] == HEX[(b & 15) as usize]
            })
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// Where and why the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChainBreak {
    /// Position (0-based) of the first entry that does not verify.
    pub index: u64,
    /// The seq that entry claims.
    pub seq: u64,
    /// `hash_mismatch` (content altered) or `sequence_gap` (removed, inserted
    /// or reordered entries).
    pub reason: String,
}

/// The outcome of verifying a journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Verification {
    pub entries: u64,
    pub events: u64,
    pub head: String,
    /// `None` when the whole chain verifies.
    pub broken: Option<ChainBreak>,
}

/// Verifies a journal from its first entry. Reports the first entry that
/// does not match.
pub fn verify(entries: &[Entry]) -> Verification {
    verify_from(entries, 0, "")
}

/// The ranges of `parts` contiguous parts of a journal of `len` entries, for
/// a face that verifies it on several threads (core runs none itself):
/// [`verify_part`] each, then [`join_parts`] in order.
pub fn parts(len: usize, parts: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let size = len.div_ceil(parts.clamp(1, len.max(1))).max(1);
    (0..len).step_by(size).map(move |s| s..(s + size).min(len))
}

/// Verifies `entries[range]` of a journal held from its first entry, from
/// the stored hash of the entry before the range. That first link is only
/// as good as the stored hash, which the part before checks: hence
/// [`join_parts`].
pub fn verify_part(entries: &[Entry], range: std::ops::Range<usize>) -> Verification {
    let (after, prev) = match range.start.checked_sub(1).and_then(|i| entries.get(i)) {
        Some(e) => (e.seq, e.hash.as_str()),
        None => (0, ""),
    };
    verify_from(entries.get(range).unwrap_or_default(), after, prev)
}

/// Joins the verifications of consecutive parts, in order: the first break
/// wins, as it would in one pass, so the answer is exactly [`verify`]'s.
pub fn join_parts(parts: impl IntoIterator<Item = Verification>) -> Verification {
    let mut joined = Verification {
        entries: 0,
        events: 0,
        head: String::new(),
        broken: None,
    };
    for v in parts {
        let offset = joined.entries;
        joined.entries += v.entries;
        joined.events += v.events;
        // A part's head is its last verified hash, or the one before it.
        joined.head = v.head;
        if let Some(mut b) = v.broken {
            b.index += offset;
            joined.broken = Some(b);
            break;
        }
    }
    joined
}

/// Verifies a journal tail that follows entry `after_seq` whose hash is `prev`.
pub fn verify_from(entries: &[Entry], after_seq: u64, prev: &str) -> Verification {
    let mut v = Verifier::after(after_seq, prev);
    v.feed(entries);
    v.finish()
}

/// Verifies a journal read in pages, oldest first, so that a face can
/// check a journal far larger than its memory.
#[derive(Debug, Clone)]
pub struct Verifier {
    /// Entries verified so far.
    entries: u64,
    events: u64,
    /// The seq the next entry must have, less one.
    after: u64,
    prev: String,
    broken: Option<ChainBreak>,
}

impl Verifier {
    /// A verifier for a journal from its first entry.
    pub fn new() -> Self {
        Verifier::after(0, "")
    }

    /// A verifier for the entries after entry `seq`, whose hash is `prev`.
    pub fn after(seq: u64, prev: &str) -> Self {
        Verifier {
            entries: 0,
            events: 0,
            after: seq,
            prev: prev.to_owned(),
            broken: None,
        }
    }

    /// Verifies the next page. Returns false once the chain is broken
    /// (later pages are then ignored).
    pub fn feed(&mut self, page: &[Entry]) -> bool {
        if self.broken.is_some() {
            return false;
        }
        for e in page {
            let reason = if e.seq != self.after + 1 {
                Some("sequence_gap")
            } else if !e.hash_matches(&self.prev) {
                Some("hash_mismatch")
            } else {
                None
            };
            if let Some(reason) = reason {
                self.broken = Some(ChainBreak {
                    index: self.entries,
                    seq: e.seq,
                    reason: reason.to_owned(),
                });
                return false;
            }
            self.prev.clone_from(&e.hash);
            self.after = e.seq;
            self.entries += 1;
            self.events += e.events.len() as u64;
        }
        true
    }

    /// Entries verified so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The outcome: how far the chain verifies, and where it breaks.
    pub fn finish(self) -> Verification {
        Verification {
            entries: self.entries,
            events: self.events,
            head: self.prev,
            broken: self.broken,
        }
    }
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier::new()
    }
}

/// The part of a journal an engine holds: the entries after entry `after`,
/// whose hash is `prev` (0 and empty when it holds the whole journal).
#[derive(Debug, Clone, Copy)]
pub struct Held<'a> {
    pub entries: &'a [Entry],
    pub after: u64,
    pub prev: &'a str,
}

impl<'a> Held<'a> {
    /// A whole journal, from its first entry.
    pub fn all(entries: &'a [Entry]) -> Self {
        Held {
            entries,
            after: 0,
            prev: "",
        }
    }
}

/// A 64-bit FNV-1a hasher whose output is the same on every platform
/// (`usize` is written as 8 bytes), for digests that must agree between
/// native code, the browser and the component.
#[derive(Debug)]
pub(crate) struct StableHasher(u64);

impl StableHasher {
    pub fn new() -> Self {
        StableHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for StableHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_usize(&mut self, i: usize) {
        self.write(&(i as u64).to_le_bytes());
    }
    fn write_isize(&mut self, i: isize) {
        self.write(&(i as i64).to_le_bytes());
    }
}

/// Stable hash of any hashable value.
pub(crate) fn stable_hash<T: std::hash::Hash + ?Sized>(value: &T) -> u64 {
    use std::hash::Hasher;
    let mut h = StableHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// Hash of an idempotency key, as stored in the state.
pub(crate) fn key_hash(key: &str) -> u64 {
    stable_hash(key)
}

mod hex_u64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_str(&format!("{v:016x}")),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| u64::from_str_radix(&s, 16).map_err(serde::de::Error::custom))
            .transpose()
    }
}
