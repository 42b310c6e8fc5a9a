//! Reference data and people: Organization, Location, HealthcareService,
//! Patient and Coverage.

use super::datatypes::{
    ext, identifier, reference, reference_shown, service_concept, time, weekday_code,
};
use super::ids::{healthcare_service_id, location_id, organization_id, patient_id};
use crate::beneficiary::{Beneficiary, Sex};
use crate::facility::{Facility, Service, Tier};
use crate::interop::build::fhir;
use crate::interop::{
    EXTENSION_TIMEZONE, SYSTEM_AGENCY, SYSTEM_FACILITY, SYSTEM_TIER, date, fhir_id,
};
use crate::state::State;
use chrono::Weekday;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// An agency as an Organization.
pub fn organization(agency: &str) -> Value {
    fhir!({
        "resourceType": "Organization",
        "id": organization_id(agency),
        "identifier": [identifier(SYSTEM_AGENCY, agency)],
        "active": true,
        "name": agency,
    })
}

fn tier_concept(t: Tier) -> Value {
    let display = match t {
        Tier::First => "First level of care",
        Tier::Second => "Second level of care",
        Tier::Third => "Third level of care",
    };
    fhir!({"coding": [{"system": SYSTEM_TIER, "code": t.number().to_string(), "display": display}]})
}

/// A facility as a Location of its agency.
pub fn location(f: &Facility) -> Value {
    fhir!({
        "resourceType": "Location",
        "id": location_id(&f.id),
        "extension": [{"url": EXTENSION_TIMEZONE, "valueCode": &f.time_zone}],
        "identifier": [identifier(SYSTEM_FACILITY, &f.id)],
        "status": "active",
        "name": &f.name,
        "mode": "instance",
        "type": [tier_concept(f.tier)],
        "address": {"district": &f.region},
        "physicalType": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/location-physical-type",
            "code": "bu",
            "display": "Building",
        }]},
        "managingOrganization": reference_shown("Organization", &organization_id(&f.agency), &f.agency),
    })
}

/// A service offered at a facility as a HealthcareService. Its
/// `availableTime` is the union of the weekly rules of the facility's
/// agendas for the service.
pub fn healthcare_service(state: &State, f: &Facility, s: &Service) -> Value {
    // (start, end) → weekdays, so blocks shared by several days are one entry.
    let mut blocks: BTreeMap<(chrono::NaiveTime, chrono::NaiveTime), BTreeSet<u32>> =
        BTreeMap::new();
    for a in state
        .agendas()
        .filter(|a| a.config.facility == f.id && a.config.service == s.code)
    {
        for r in &a.config.rules {
            blocks
                .entry((r.start, r.end))
                .or_default()
                .insert(r.day.num_days_from_monday());
        }
    }
    let available: Vec<Value> = blocks
        .iter()
        .map(|((start, end), days)| {
            let days: Vec<&str> = days
                .iter()
                .filter_map(|&d| Weekday::try_from(d as u8).ok())
                .map(weekday_code)
                .collect();
            fhir!({"daysOfWeek": days, "availableStartTime": time(*start), "availableEndTime": time(*end)})
        })
        .collect();
    let mut v = fhir!({
        "resourceType": "HealthcareService",
        "id": healthcare_service_id(&f.id, &s.code),
        "extension": [ext("slot-minutes", "valuePositiveInt", fhir!(s.slot_minutes))],
        "active": true,
        "providedBy": reference_shown("Organization", &organization_id(&f.agency), &f.agency),
        "type": [service_concept(state, &s.code)],
        "location": [reference_shown("Location", &location_id(&f.id), &f.name)],
        "name": &s.name,
    });
    if !available.is_empty() {
        v["availableTime"] = Value::Array(available);
    }
    v
}

/// A beneficiary as a Patient: the national id, the name as written, sex and
/// birth date, and the contact (an e-mail when it has an `@`, else a phone).
pub fn patient(b: &Beneficiary, national_id_system: &str) -> Value {
    let gender = match b.sex {
        Sex::Female => "female",
        Sex::Male => "male",
        Sex::Other => "other",
        Sex::Unknown => "unknown",
    };
    let mut v = fhir!({
        "resourceType": "Patient",
        "id": patient_id(&b.id),
        "identifier": [{"use": "official", "system": national_id_system, "value": &b.id}],
        "active": true,
        "name": [{"use": "official", "text": &b.name}],
        "gender": gender,
        "birthDate": date(b.birth_date),
    });
    if let Some(c) = b.contact.as_deref().filter(|c| !c.trim().is_empty()) {
        let system = if c.contains('@') { "email" } else { "phone" };
        v["telecom"] = fhir!([{"system": system, "value": c}]);
    }
    v
}

/// A beneficiary's coverage by programmes, as Coverage resources.
pub fn coverages(b: &Beneficiary) -> Vec<Value> {
    b.coverage
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut period = fhir!({"start": date(c.valid_from)});
            if let Some(end) = c.valid_to {
                period["end"] = fhir!(date(end));
            }
            fhir!({
                "resourceType": "Coverage",
                "id": fhir_id("coverage", &format!("{}.{}", b.id, i + 1)),
                "status": "active",
                "type": {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "PUBLICPOL",
                    "display": "public healthcare",
                }]},
                "beneficiary": reference("Patient", &patient_id(&b.id)),
                "period": period,
                "payor": [reference_shown("Organization", &organization_id(&c.agency), &c.agency)],
                "class": [{
                    "type": {"coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/coverage-class",
                        "code": "plan",
                    }]},
                    "value": &c.programme,
                    "name": &c.programme,
                }],
            })
        })
        .collect()
}
