//! The reference for journal timestamps: chrono's own `Serialize`. Core
//! writes them with its own encoder (`rfc3339.rs`) for speed; the bytes are
//! hashed, so they must stay exactly chrono's. Included with `#[path]` by
//! `tests/journal_bytes.rs` and `benches/engine.rs`.

use chrono::{DateTime, Utc};
use enlace_core::Entry;
use serde_json::Value;

/// Checks that every timestamp in the entry's JSON is written exactly as
/// chrono writes it; returns how many there were.
pub fn timestamps_as_chrono(entry: &Entry) -> Result<usize, String> {
    let json = serde_json::to_string(entry).map_err(|e| e.to_string())?;
    let value: Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
    let mut seen = 0;
    walk(&value, &mut seen)?;
    Ok(seen)
}

fn walk(v: &Value, seen: &mut usize) -> Result<(), String> {
    match v {
        Value::String(s) => {
            // Dates alone ("2026-03-02") and other strings are not instants.
            if let Ok(t) = s.parse::<DateTime<Utc>>() {
                let chrono = serde_json::to_string(&t).map_err(|e| e.to_string())?;
                if chrono != format!("\"{s}\"") {
                    return Err(format!("{s} is {chrono} by chrono"));
                }
                *seen += 1;
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(|x| walk(x, seen)),
        Value::Object(map) => map.values().try_for_each(|x| walk(x, seen)),
        _ => Ok(()),
    }
}
