//! The browser's seal package (`dist/web/seal/`): enlace-core's signed
//! exchange for pages, apart from the engine package.
//!
//! A page that shows records received from another agency loads this small
//! module when it needs it, and checks for itself that the agency's key
//! sealed those exact bytes; pages that never show one never download
//! Ed25519 and JCS (the engine package has a size budget of its own). It
//! only converts: canonical bytes, seals and verification are core's.
//!
//! ```js
//! import init, { verifyRecord } from "./seal/enlace_seal.js";
//! await init();
//! const out = verifyRecord(trustList, seal, payloadBytes, receivedAt);
//! if ("ok" in out) console.log(out.ok.signer.agency, out.ok.record);
//! else console.log(out.error.code);
//! ```

use enlace_core::exchange::{ExchangeError, Record, Signer, TrustList, digest};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** A refusal: a stable code, a message for people, and the facts by name. */
export interface SealError { code: string; message: string; details: Record<string, string> }
/** Another agency in a trust list: its endpoint and its keys with their validity. */
export interface TrustList {
  peers: { agency: string; endpoint: string;
    keys: { kid: string; x: string; not_before: string; not_after?: string; revoked_at?: string }[] }[];
}
/** What `verifyRecord` answers: who sealed the record, and the record; or why it is refused. */
export type VerifyResult =
  | { ok: { signer: { agency: string; kid: string }; record: Record<string, unknown> } }
  | { error: SealError };
"#;

/// An `Error` whose `code`, `details` are core's, for misuse (a record a
/// page built wrong, a key of the wrong length).
fn thrown(e: ExchangeError) -> JsValue {
    let error = js_sys::Error::new(&e.to_string());
    let body = e.to_body();
    let _ = js_sys::Reflect::set(&error, &"code".into(), &body.code.into());
    let details = js_sys::Object::new();
    for (k, v) in body.details {
        let _ = js_sys::Reflect::set(&details, &k.into(), &v.into());
    }
    let _ = js_sys::Reflect::set(&error, &"details".into(), &details);
    error.into()
}

fn json_of(value: &JsValue) -> Result<String, JsValue> {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| js_sys::TypeError::new("not JSON data").into())
}

/// The canonical bytes (RFC 8785) of a record: what is sealed and sent.
#[wasm_bindgen(js_name = canonicalRecord, unchecked_return_type = "Uint8Array")]
pub fn canonical_record(
    #[wasm_bindgen(unchecked_param_type = "Record<string, unknown>")] record: JsValue,
) -> Result<Vec<u8>, JsValue> {
    Record::canonical_of_json(&json_of(&record)?).map_err(thrown)
}

/// The seal (a detached JWS, RFC 7797) of `payload` by the key whose
/// 32-byte private part (RFC 8032 seed) the page holds.
#[wasm_bindgen(js_name = sealRecord)]
pub fn seal_record(seed: &[u8], payload: &[u8]) -> Result<String, JsValue> {
    Ok(Signer::from_seed(seed).map_err(thrown)?.seal(payload))
}

/// Whether a trusted agency's key, valid at `at` (RFC 3339, the instant
/// the host received it), sealed `payload`, and the record it holds.
#[wasm_bindgen(js_name = verifyRecord, unchecked_return_type = "VerifyResult")]
pub fn verify_record(
    #[wasm_bindgen(unchecked_param_type = "TrustList")] trust: JsValue,
    seal: &str,
    payload: &[u8],
    at: &str,
) -> Result<JsValue, JsValue> {
    let at = at.parse::<chrono::DateTime<chrono::Utc>>().map_err(|e| {
        JsValue::from(js_sys::TypeError::new(&format!(
            "at: not an RFC 3339 instant: {e}"
        )))
    })?;
    let out = TrustList::from_json(&json_of(&trust)?)
        .and_then(|list| list.verify(seal, payload, at))
        .map(|(record, signer)| serde_json::json!({ "ok": { "signer": signer, "record": record } }))
        .unwrap_or_else(|e| serde_json::json!({ "error": e }));
    js_sys::JSON::parse(&out.to_string())
}

/// The SHA-256 of a payload in base64url: how receipts name it.
#[wasm_bindgen(js_name = recordDigest)]
pub fn record_digest(payload: &[u8]) -> String {
    digest(payload)
}
