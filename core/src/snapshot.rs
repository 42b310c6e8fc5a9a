//! Snapshots: the engine's state as bytes, so that a face can start from
//! its latest snapshot plus the journal entries after it instead of
//! replaying the whole journal.
//!
//! A snapshot is the [`State`] itself (every index included, so nothing is
//! recomputed on the way back and the restored state has the fingerprint of
//! the one saved) in postcard, a compact positional binary format. The
//! state carries its own `seq` and `head`, so a face checks a snapshot
//! against its journal (the entry at `seq` must have hash `head`) and the
//! engine verifies the tail it is given from that head.
//!
//! The bytes start with a magic and a format number: a snapshot written by
//! another format is refused (the face then replays the journal), never
//! misread.

use crate::error::{Error, Result};
use crate::state::State;
use serde::{Deserialize, Serialize};

/// `ENSN`: the first bytes of every snapshot.
const MAGIC: [u8; 4] = *b"ENSN";
/// Bumped whenever `State`'s layout changes.
pub const FORMAT: u16 = 2;

#[derive(Serialize, Deserialize)]
struct Header {
    magic: [u8; 4],
    format: u16,
}

/// Encodes any snapshot body (the state, or a face's own index) with the
/// header.
pub fn encode<T: Serialize>(body: &T) -> Vec<u8> {
    let header = Header {
        magic: MAGIC,
        format: FORMAT,
    };
    // Serialising plain data into a Vec cannot fail.
    let mut out = postcard::to_allocvec(&header).unwrap_or_default();
    if let Ok(bytes) = postcard::to_allocvec(body) {
        out.extend_from_slice(&bytes);
    }
    out
}

/// Decodes what [`encode`] wrote; refuses another format or damaged bytes
/// with `invalid_input` (field `snapshot`).
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T> {
    let bad = |why: String| Error::malformed("snapshot", why);
    let (header, rest): (Header, _) =
        postcard::take_from_bytes(bytes).map_err(|e| bad(format!("unreadable header: {e}")))?;
    if header.magic != MAGIC {
        return Err(bad("not an Enlace snapshot".into()));
    }
    if header.format != FORMAT {
        return Err(bad(format!(
            "format {} (this engine reads format {FORMAT})",
            header.format
        )));
    }
    let (body, rest): (T, _) =
        postcard::take_from_bytes(rest).map_err(|e| bad(format!("damaged: {e}")))?;
    if !rest.is_empty() {
        return Err(bad(format!("{} bytes after the end", rest.len())));
    }
    Ok(body)
}

/// The state's snapshot.
pub fn of_state(state: &State) -> Vec<u8> {
    encode(state)
}

/// The state a snapshot holds.
pub fn state(bytes: &[u8]) -> Result<State> {
    decode(bytes)
}
