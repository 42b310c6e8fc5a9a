//! Which beneficiaries an answer shows, so that reads of personal data are
//! audited as changes are: SIACI's log keeps what was asked, not only what
//! was done, and an auditor must be able to answer "who looked at this
//! person's record, and when".
//!
//! What counts as showing a person is the engine's rule, decided here from
//! the query and its answer alone (no state), so a face that holds no
//! engine state (the host, with the engine in a component) records exactly
//! what a native face would. The faces store the records; they do not
//! decide what to record.

use crate::actor::Actor;
use crate::error::Result;
use crate::interop::fhir::patient_id;
use crate::interop::{CalendarOf, ical};
use crate::query::{Answer, Query};
use serde_json::Value;
use std::collections::BTreeSet;

/// Prefix of a subject that is a FHIR Patient the answer only points to
/// (`Patient/<id>`) and whose beneficiary id cannot be read back from it.
pub const PATIENT_REFERENCE: &str = "Patient/";

/// The beneficiaries `answer` (to `query`) shows, by id, sorted; a Patient
/// that a FHIR answer only references by an id that does not spell the
/// beneficiary's is given as `Patient/<id>` ([`subjects_of`] matches both).
pub fn disclosed(query: &Query, answer: &Answer) -> Vec<String> {
    let mut out = BTreeSet::new();
    match answer {
        Answer::Fhir(text) => {
            if let Ok(v) = serde_json::from_str::<Value>(text) {
                fhir_subjects(&v, &mut out);
            }
        }
        Answer::Calendar(text) => {
            if let Query::Calendar {
                of: CalendarOf::Beneficiary,
                id,
                ..
            } = query
            {
                out.insert(id.clone());
            }
            out.extend(ical::summary_beneficiaries(text));
        }
        Answer::Beneficiaries(list) => out.extend(list.iter().map(|b| b.id.clone())),
        // Reference data, places and counts: nobody in them (and these are
        // the answers asked most, so they are not walked).
        Answer::Facilities(_)
        | Answer::Services(_)
        | Answer::Agendas(_)
        | Answer::FreeSlots(_)
        | Answer::Utilization(_)
        | Answer::Verification(_) => {}
        other => {
            if let Ok(v) = serde_json::to_value(other) {
                beneficiary_fields(&v, &mut out);
            }
        }
    }
    // A question about a named person reads their record even when the
    // answer is empty ("no appointments"); where to refer them tells what
    // their coverage gives them.
    if let Query::BeneficiaryAppointments { beneficiary }
    | Query::SuggestDestinations { beneficiary, .. } = query
    {
        out.insert(beneficiary.clone());
    }
    out.into_iter().collect()
}

/// The beneficiaries journal entries (an audit trail, an export) show.
pub fn disclosed_by_entries(entries: &[crate::journal::Entry]) -> Vec<String> {
    disclosed_by_events(entries.iter().flat_map(|e| &e.events))
}

/// The beneficiaries events (an event feed) show.
pub fn disclosed_by_events<'e>(events: impl IntoIterator<Item = &'e crate::Event>) -> Vec<String> {
    let mut out = BTreeSet::new();
    for e in events {
        if let Ok(v) = serde_json::to_value(e) {
            beneficiary_fields(&v, &mut out);
        }
    }
    out.into_iter().collect()
}

/// The subjects a read of `beneficiary` was recorded under: its id, and its
/// FHIR Patient reference.
pub fn subjects_of(beneficiary: &str) -> [String; 2] {
    [
        beneficiary.to_owned(),
        format!("{PATIENT_REFERENCE}{}", patient_id(beneficiary)),
    ]
}

/// Who may read the record of reads: auditors, as for the audit trail.
pub fn read_log_reader(actor: &Actor) -> Result<()> {
    crate::access::auditor(actor, "read the record of reads")
}

/// Every `beneficiary` field (a string, or an object with an `id`) and the
/// `id` of every registered beneficiary, however deep.
fn beneficiary_fields(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("beneficiary", Value::String(id)) => {
                        out.insert(id.clone());
                    }
                    ("beneficiary", Value::Object(b)) => {
                        if let Some(Value::String(id)) = b.get("id") {
                            out.insert(id.clone());
                        }
                        beneficiary_fields(x, out);
                    }
                    _ => beneficiary_fields(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| beneficiary_fields(x, out)),
        _ => {}
    }
}

/// Patients a FHIR resource or Bundle shows (their official identifier)
/// or points to (`Patient/<id>` references).
fn fhir_subjects(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if m.get("resourceType").and_then(Value::as_str) == Some("Patient") {
                for i in m
                    .get("identifier")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if i.get("use").and_then(Value::as_str) == Some("official")
                        && let Some(id) = i.get("value").and_then(Value::as_str)
                    {
                        out.insert(id.to_owned());
                    }
                }
            }
            if let Some(r) = m.get("reference").and_then(Value::as_str)
                && let Some(pid) = r
                    .rsplit_once(PATIENT_REFERENCE)
                    .map(|(_, pid)| pid)
                    .filter(|pid| !pid.contains('/'))
            {
                // `patient-<id>` when the beneficiary's id is a plain FHIR
                // id; otherwise the reference itself.
                match pid.strip_prefix("patient-") {
                    Some(b) if patient_id(b) == pid => out.insert(b.to_owned()),
                    _ => out.insert(format!("{PATIENT_REFERENCE}{pid}")),
                };
            }
            m.values().for_each(|x| fhir_subjects(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| fhir_subjects(x, out)),
        _ => {}
    }
}
