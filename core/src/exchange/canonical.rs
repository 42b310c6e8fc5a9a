//! JCS (RFC 8785) for records, which hold no floating-point numbers.
//!
//! Written here rather than taken from `serde_jcs` or
//! `serde_json_canonicalizer` because both turn on serde_json's
//! `float_roundtrip` feature, which Cargo then turns on for every crate of
//! the workspace: measured, it grew the browser engine package by about
//! 13 KB gzip (over its budget) for a code path records never take. For
//! values without floats, JCS is serde_json's compact form with object
//! members sorted by their names' UTF-16 code units: serde_json escapes
//! strings exactly as RFC 8785 §3.2.2.2 asks (`\b \t \n \f \r \" \\`, other
//! controls as lowercase `\u00xx`, everything else as itself) and writes
//! integers as ECMAScript does below 2^53. An independent implementation
//! (npm `canonicalize`, by one of the RFC's authors) checks the golden
//! vectors' bytes (`tests/node/run-exchange.mjs`).

use serde::Serialize;
use serde_json::Value;

/// Why a value has no canonical form here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotCanonicalizable(pub String);

/// The RFC 8785 bytes of `value`.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, NotCanonicalizable> {
    let value = serde_json::to_value(value).map_err(|e| NotCanonicalizable(e.to_string()))?;
    let mut out = Vec::with_capacity(512);
    write(&value, &mut out)?;
    Ok(out)
}

/// The largest integer ECMAScript writes exactly (2^53 - 1).
const MAX_SAFE: u64 = (1 << 53) - 1;

fn write(value: &Value, out: &mut Vec<u8>) -> Result<(), NotCanonicalizable> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            let exact = n.as_u64().filter(|u| *u <= MAX_SAFE).is_some()
                || n.as_i64()
                    .filter(|i| i.unsigned_abs() <= MAX_SAFE)
                    .is_some();
            if !exact {
                return Err(NotCanonicalizable(format!(
                    "{n}: only integers within ±(2^53 - 1)"
                )));
            }
            out.extend_from_slice(n.to_string().as_bytes());
        }
        Value::String(s) => string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(members) => {
            let mut names: Vec<&String> = members.keys().collect();
            names.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push(b'{');
            for (i, name) in names.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(name, out);
                out.push(b':');
                write(&members[name.as_str()], out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn string(s: &str, out: &mut Vec<u8>) {
    // serde_json's string escaping is RFC 8785's (see the module doc).
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc_8785_rules() {
        // Members sorted by UTF-16 code units: U+E000 (one unit) sorts
        // after U+1F600 (a surrogate pair starting 0xD83D), unlike UTF-8.
        let v = json!({ "\u{e000}": 1, "\u{1f600}": 2, "b": [true, null, -3], "a": "x\u{1}\u{7f}\u{2028}\"\\\n/é" });
        assert_eq!(
            String::from_utf8(to_vec(&v).unwrap()).unwrap(),
            "{\"a\":\"x\\u0001\u{7f}\u{2028}\\\"\\\\\\n/é\",\"b\":[true,null,-3],\"\u{1f600}\":2,\"\u{e000}\":1}"
        );
    }

    #[test]
    fn refuses_what_it_cannot_write_exactly() {
        assert!(to_vec(&json!({ "x": 1.5 })).is_err());
        assert!(to_vec(&json!({ "x": 1u64 << 53 })).is_err());
        assert_eq!(
            to_vec(&json!(-((1i64 << 53) - 1))).unwrap(),
            b"-9007199254740991"
        );
    }
}
