//! Small FHIR data types the resources share: references, identifiers,
//! codeable concepts, Enlace extensions, days and times, display names.

use crate::interop::build::fhir;
use crate::interop::{EXTENSION_BASE, SYSTEM_SERVICE};
use crate::state::State;
use chrono::Weekday;
use serde_json::Value;

pub(super) fn reference(resource_type: &str, id: &str) -> Value {
    fhir!({"reference": format!("{resource_type}/{id}")})
}

pub(super) fn reference_shown(resource_type: &str, id: &str, display: &str) -> Value {
    fhir!({"reference": format!("{resource_type}/{id}"), "display": display})
}

pub(super) fn identifier(system: &str, value: impl ToString) -> Value {
    fhir!({"system": system, "value": value.to_string()})
}

pub(super) fn service_concept(state: &State, code: &str) -> Value {
    match state.service(code) {
        Some(s) => {
            fhir!({"coding": [{"system": SYSTEM_SERVICE, "code": &s.code, "display": &s.name}], "text": &s.name})
        }
        None => fhir!({"coding": [{"system": SYSTEM_SERVICE, "code": code}]}),
    }
}

pub(super) fn ext(name: &str, value_key: &str, value: Value) -> Value {
    let mut e = serde_json::Map::new();
    e.insert("url".into(), fhir!(format!("{EXTENSION_BASE}{name}")));
    e.insert(value_key.into(), value);
    Value::Object(e)
}

pub(super) fn facility_name(state: &State, id: &str) -> String {
    state
        .find_facility(id)
        .map_or_else(|| id.to_owned(), |f| f.name.clone())
}

pub(super) fn beneficiary_name(state: &State, id: &str) -> String {
    state
        .find_beneficiary(id)
        .map_or_else(|| id.to_owned(), |b| b.name.clone())
}

pub(super) fn weekday_code(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

pub(super) fn time(t: chrono::NaiveTime) -> String {
    crate::interop::clock(&t, true)
}
