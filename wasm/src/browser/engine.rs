//! The `Engine` class: one network's engine living in the page.

use super::{from_js, to_js, type_error};
use crate::js::{ExecuteResult, QueryResult};
use chrono::{DateTime, Utc};
use enlace_core::{Actor, Entry, Query, Request};
use wasm_bindgen::prelude::*;

/// One network's engine: its state and its hash-chained journal, in memory.
///
/// A page persists the journal (`engine.journal()`, plain JSON) and restores
/// the engine from it (`Engine.fromJournal(entries)`); the chain is verified
/// on the way in.
///
/// ```js
/// const engine = new Engine();
/// const out = engine.execute({
///   actor: { user: "ana", agency: "health-ministry", role: "admin" },
///   at: "2026-03-02T12:00:00Z",
///   command: { type: "declare_holiday", date: "2026-05-01", name: "Labour day" },
/// });
/// // out = { ok: { seq: 1, events: [{ type: "holiday_declared", … }], replayed: false } }
/// localStorage.setItem("journal", JSON.stringify(engine.journal()));
/// const again = Engine.fromJournal(JSON.parse(localStorage.getItem("journal")));
/// again.head() === engine.head(); // true
/// ```
#[wasm_bindgen(js_name = Engine)]
#[derive(Debug, Default)]
pub struct JsEngine {
    inner: enlace_core::Engine,
}

impl JsEngine {
    pub(crate) fn wrap(inner: enlace_core::Engine) -> Self {
        JsEngine { inner }
    }
}

#[wasm_bindgen(js_class = Engine)]
impl JsEngine {
    /// An engine for an empty network. Reference data (facilities, services,
    /// agendas, agreements, beneficiaries) are commands like any other.
    #[wasm_bindgen(constructor)]
    pub fn new() -> JsEngine {
        JsEngine::default()
    }

    /// Rebuilds an engine from an exported journal (`engine.journal()`),
    /// verifying the hash chain first.
    ///
    /// Throws a `ChainBrokenError` (`code: "chain_broken"`, `details:
    /// {index, seq, reason}`) naming the first entry that does not verify,
    /// and a `TypeError` naming the field when an entry has the wrong shape.
    ///
    /// ```js
    /// try {
    ///   const engine = Engine.fromJournal(saved);
    /// } catch (e) {
    ///   if (e.name === "ChainBrokenError") console.warn("tampered at", e.details.seq);
    ///   else throw e;
    /// }
    /// ```
    #[wasm_bindgen(js_name = fromJournal)]
    pub fn from_journal(
        #[wasm_bindgen(unchecked_param_type = "Entry[]")] entries: JsValue,
    ) -> Result<JsEngine, JsValue> {
        let entries: Vec<Entry> = from_js("entries", entries)?;
        enlace_core::Engine::from_entries(entries)
            .map(JsEngine::wrap)
            .map_err(|b| {
                let err = js_sys::Error::new(&format!(
                    "journal does not verify at entry {} (seq {}): {}",
                    b.index, b.seq, b.reason
                ));
                err.set_name("ChainBrokenError");
                let obj: &JsValue = err.as_ref();
                // Setting plain data properties on a fresh Error cannot fail.
                let _ = js_sys::Reflect::set(obj, &"code".into(), &"chain_broken".into());
                let _ =
                    js_sys::Reflect::set(obj, &"details".into(), &to_js(&b).unwrap_or_default());
                err.into()
            })
    }

    /// Verifies an exported journal without building an engine: the head
    /// hash, counts, and the first entry that breaks the chain (`broken`),
    /// if any. Never throws for a broken chain; a `TypeError` for a value of
    /// the wrong shape.
    #[wasm_bindgen(js_name = verifyJournal, unchecked_return_type = "Verification")]
    pub fn verify_journal(
        #[wasm_bindgen(unchecked_param_type = "Entry[]")] entries: JsValue,
    ) -> Result<JsValue, JsValue> {
        let entries: Vec<Entry> = from_js("entries", entries)?;
        to_js(&enlace_core::verify(&entries))
    }

    /// Executes a command as an actor at an instant: `{ok: {seq, events,
    /// replayed}}` or `{error: {code, message, details}}`. A refused
    /// command changes nothing. A retry with the same `key` and command
    /// returns the first outcome with `replayed: true`.
    ///
    /// ```js
    /// const out = engine.execute({
    ///   actor: { user: "rosa", agency: "imss-bienestar", facility: "F0001", role: "clerk" },
    ///   at: "2026-03-02T13:00:00Z",
    ///   key: "book-MX-10000000-1",
    ///   command: { type: "book_appointment", agenda: "F0001-A01",
    ///              start: "2026-03-03T14:00:00Z", beneficiary: "MX-10000000" },
    /// });
    /// if ("error" in out && out.error.code === "slot_full") {
    ///   // offer another slot
    /// }
    /// ```
    #[wasm_bindgen(unchecked_return_type = "ExecuteResult")]
    pub fn execute(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Request")] request: JsValue,
    ) -> Result<JsValue, JsValue> {
        let request: Request = from_js("request", request)?;
        to_js(&ExecuteResult::from(self.inner.execute(request)))
    }

    /// Answers a query as `actor` at `now` (an RFC 3339 string or a `Date`):
    /// `{answer: {type, value}}` or `{error: {code, message, details}}`.
    ///
    /// ```js
    /// const res = engine.query(actor, {
    ///   type: "free_slots", service: "obs-hr", tier: 2,
    ///   from: "2026-03-03T00:00:00Z", to: "2026-03-06T00:00:00Z", limit: 5,
    /// }, new Date());
    /// if ("answer" in res && res.answer.type === "free_slots") show(res.answer.value);
    /// ```
    #[wasm_bindgen(unchecked_return_type = "QueryResult")]
    pub fn query(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Actor")] actor: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Query")] query: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | Date")] now: JsValue,
    ) -> Result<JsValue, JsValue> {
        let actor: Actor = from_js("actor", actor)?;
        let query: Query = from_js("query", query)?;
        let now = instant("now", &now)?;
        to_js(&QueryResult::from(self.inner.query(&actor, &query, now)))
    }

    /// The whole journal, oldest first: the event stream to persist or to
    /// hand to `Engine.fromJournal`.
    #[wasm_bindgen(unchecked_return_type = "Entry[]")]
    pub fn journal(&self) -> Result<JsValue, JsValue> {
        to_js(self.inner.journal())
    }

    /// The journal entries after `seq` (0 gives them all), for incremental
    /// persistence or a feed.
    #[wasm_bindgen(js_name = entriesAfter, unchecked_return_type = "Entry[]")]
    pub fn entries_after(&self, seq: f64) -> Result<JsValue, JsValue> {
        if !(seq >= 0.0 && seq.fract() == 0.0 && seq <= 9_007_199_254_740_991.0) {
            return Err(type_error(&format!(
                "entriesAfter: seq must be a non-negative integer, not {seq}"
            )));
        }
        to_js(self.inner.entries_after(seq as u64))
    }

    /// Verifies the whole audit chain: `{entries, events, head, broken}`,
    /// with `broken: null` when every entry verifies.
    #[wasm_bindgen(unchecked_return_type = "Verification")]
    pub fn verify(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.verify())
    }

    /// The hash of the last journal entry (`""` for an empty journal): two
    /// engines with the same head hold the same history.
    pub fn head(&self) -> String {
        self.inner.state().head().to_owned()
    }

    /// The sequence number of the last journal entry (0 when empty).
    #[wasm_bindgen(getter)]
    pub fn seq(&self) -> f64 {
        self.inner.journal().last().map_or(0.0, |e| e.seq as f64)
    }
}

/// Reads an instant given as an RFC 3339 string or a JS `Date`.
fn instant(what: &str, value: &JsValue) -> Result<DateTime<Utc>, JsValue> {
    let text = if let Some(date) = value.dyn_ref::<js_sys::Date>() {
        if date.get_time().is_nan() {
            return Err(type_error(&format!("{what}: invalid Date")));
        }
        String::from(date.to_iso_string())
    } else if let Some(s) = value.as_string() {
        s
    } else {
        return Err(type_error(&format!(
            "{what}: expected an RFC 3339 string or a Date"
        )));
    };
    text.parse()
        .map_err(|e| type_error(&format!("{what}: {e} in {text:?}")))
}
