//! The browser face: an ES-module package (wasm-bindgen, `--target web`) for
//! web portals and Node 20.
//!
//! JavaScript passes and receives plain objects in exactly the JSON shapes of
//! enlace-core's serde types (`{type: "book_appointment", …}`), so the same
//! objects work against a host's HTTP API. Their TypeScript types are
//! generated from the Rust types (`wasm/ts/enlace.d.ts`) and included in the
//! package's `.d.ts`, so every signature below is precise, never `any`.
//!
//! Values cross as JSON text (`JSON.stringify` in, `JSON.parse` out) and are
//! read by serde_json, the very parser of the host's HTTP API: the browser
//! accepts and refuses exactly the same objects. (serde-wasm-bindgen's
//! struct reader skips unknown fields, so a misspelt optional field such as
//! `overbok: true` would pass here yet fail on the server.)
//!
//! Domain failures (a full slot, a forbidden action) are data:
//! `{error: {code, message, details}}`. Exceptions are kept for misuse — a
//! value of the wrong shape throws a `TypeError` that names the offending
//! field — and for a journal whose hash chain does not verify.
//!
//! ```js
//! import init, { Engine, seedDemoNetwork, demoActors } from "./enlace.js";
//! await init(); // in Node: initSync({ module: readFileSync(".../enlace_bg.wasm") })
//!
//! const engine = seedDemoNetwork();
//! const actors = demoActors();
//! const out = engine.execute({
//!   actor: actors["clinic-clerk"],
//!   at: "2026-03-02T13:00:00Z",
//!   key: "book-1",
//!   command: {
//!     type: "book_appointment",
//!     agenda: "F0001-A01",
//!     start: "2026-03-03T14:00:00Z",
//!     beneficiary: "MX-10000000",
//!   },
//! });
//! if ("ok" in out) console.log(out.ok.events);
//! else console.log(out.error.code, out.error.message);
//! ```

mod demo;
mod engine;

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

// Every command, event, query, answer, error, actor, entry and outcome type,
// generated from the Rust types by `cargo xtask codegen`.
#[wasm_bindgen(typescript_custom_section)]
const GENERATED_TYPES: &str = include_str!("../../ts/enlace.d.ts");

#[wasm_bindgen(typescript_custom_section)]
const HAND_WRITTEN_TYPES: &str = r#"
/** Thrown by `Engine.fromJournal` when the entries' hash chain does not verify. */
export interface ChainBrokenError extends Error {
  name: "ChainBrokenError";
  code: "chain_broken";
  /** The first entry that does not verify, and why. */
  details: ChainBreak;
}
"#;

/// Converts a Rust value to a plain JS value through its JSON text: exactly
/// the objects `JSON.parse` gives for the engine's JSON (and the host's HTTP
/// API): plain objects, numbers for 64-bit integers, `null` for `None`.
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    let mut json = Vec::with_capacity(1024);
    serde_json::to_writer(&mut json, value).map_err(|e| {
        JsValue::from(js_sys::Error::new(&format!(
            "enlace: cannot convert a result: {e}"
        )))
    })?;
    // serde_json writes UTF-8 only.
    js_sys::JSON::parse(std::str::from_utf8(&json).unwrap_or_default())
}

/// Reads a JS value as `T` through its JSON text, so the browser accepts
/// and refuses exactly what the HTTP API does (unknown fields included; a
/// `Date` becomes its ISO string on the way). A value of the wrong shape
/// becomes a `TypeError` whose message names the argument and the path to
/// the offending field, e.g. `request.command: missing field `start``.
pub(crate) fn from_js<T: DeserializeOwned>(what: &str, value: JsValue) -> Result<T, JsValue> {
    let text = match js_sys::JSON::stringify(&value) {
        Ok(text) => text.as_string(),
        // BigInt and cyclic values: JSON.stringify throws a TypeError.
        Err(e) => {
            let why = e
                .dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
                .unwrap_or_default();
            return Err(type_error(&format!("{what}: not JSON data: {why}")));
        }
    };
    // `undefined` (and functions) have no JSON text.
    let Some(text) = text else {
        return Err(type_error(&format!(
            "{what}: expected a value, got undefined"
        )));
    };
    serde_json::from_str(&text).map_err(|e| {
        // Where in the text it did not fit, as the path of the field.
        let path =
            crate::json_path::at(&text, crate::json_path::offset(&text, e.line(), e.column()));
        let at = if path.is_empty() {
            what.to_owned()
        } else if path.starts_with('[') {
            format!("{what}{path}")
        } else {
            format!("{what}.{path}")
        };
        // The position in the JSON text means nothing to the caller.
        let reason = e.to_string();
        let reason = reason
            .rfind(" at line ")
            .map_or(&reason[..], |i| &reason[..i]);
        let error = type_error(&format!("{at}: {reason}"));
        // The same facts as data, so that a page reads them instead of
        // parsing the message: the argument, the path inside it, and the
        // rule (`malformed`, as core names input that does not parse).
        for (k, v) in [
            ("argument", what),
            ("field", path.as_str()),
            ("rule", "malformed"),
            ("reason", reason),
        ] {
            let _ = js_sys::Reflect::set(&error, &JsValue::from_str(k), &JsValue::from_str(v));
        }
        error
    })
}

/// A JS `TypeError` with `message`.
pub(crate) fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}
