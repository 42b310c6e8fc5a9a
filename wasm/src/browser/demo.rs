//! The synthetic demo network of enlace-core, so a page can start a
//! standalone network with no server: three clinics of one agency, two
//! hospitals and a specialty hospital of another, joined by an agreement.

use super::engine::JsEngine;
use super::to_js;
use enlace_core::synth::{self, Spec};
use serde::ser::{SerializeMap, Serializer};
use wasm_bindgen::prelude::*;

/// A new engine holding the demo network (the requests of
/// `demoNetworkRequests()`, executed in order).
///
/// ```js
/// const engine = seedDemoNetwork();
/// engine.seq; // the number of setup commands journalled
/// ```
#[wasm_bindgen(js_name = seedDemoNetwork)]
pub fn seed_demo_network() -> Result<JsEngine, JsValue> {
    seed(&Spec::demo())
}

/// A new engine holding the demo network set up at `start` (RFC 3339,
/// truncated to the minute) instead of `demoStart()`, so that a page used
/// today gets agendas, coverage and agreements valid from today, as the
/// host's `serve --seed` does. Throws a `TypeError` for a bad instant.
///
/// ```js
/// const engine = seedDemoNetworkAt(new Date().toISOString());
/// ```
#[wasm_bindgen(js_name = seedDemoNetworkAt)]
pub fn seed_demo_network_at(start: &str) -> Result<JsEngine, JsValue> {
    use chrono::Timelike;
    let start = chrono::DateTime::parse_from_rfc3339(start)
        .map_err(|e| js_sys::TypeError::new(&format!("start: {e}")))?
        .with_timezone(&chrono::Utc);
    let start = start
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(start);
    seed(&Spec {
        start,
        ..Spec::demo()
    })
}

fn seed(spec: &Spec) -> Result<JsEngine, JsValue> {
    let mut engine = enlace_core::Engine::new();
    for request in synth::reference(spec) {
        let name = request.command.name();
        engine
            .execute(request)
            .map_err(|e| js_sys::Error::new(&format!("enlace: demo setup refused {name}: {e}")))?;
    }
    Ok(JsEngine::wrap(engine))
}

/// The requests that set the demo network up, in order: feed them to
/// `engine.execute` to seed an engine yourself (or a server through its
/// HTTP API).
#[wasm_bindgen(js_name = demoNetworkRequests, unchecked_return_type = "Request[]")]
pub fn demo_network_requests() -> Result<JsValue, JsValue> {
    to_js(&synth::reference(&Spec::demo()))
}

/// The demo identities by name (`"clinic-clerk"`, `"clinic-clinician"`,
/// `"hospital-coordinator"`, `"hospital-clinician"`, `"hospital-clerk"`,
/// `"specialty-coordinator"`, `"auditor"`, `"admin"`), one per role and
/// facility kind, so a visitor can play the whole referral loop.
///
/// ```js
/// const { "clinic-clinician": doctor } = demoActors();
/// engine.query(doctor, { type: "facilities" }, "2026-03-02T13:00:00Z");
/// ```
#[wasm_bindgen(js_name = demoActors, unchecked_return_type = "Record<string, Actor>")]
pub fn demo_actors() -> Result<JsValue, JsValue> {
    to_js(&InOrder(synth::demo_actors(&Spec::demo())))
}

/// The instant the demo network is set up at (`"2026-03-02T12:00:00Z"`);
/// bookable slots start the next day.
#[wasm_bindgen(js_name = demoStart)]
pub fn demo_start() -> String {
    Spec::demo()
        .start
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Name/value pairs serialised as one object, keys in the given order.
struct InOrder<V>(Vec<(String, V)>);

impl<V: serde::Serialize> serde::Serialize for InOrder<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}
