//! Referral and counter-referral: ServiceRequest (the order), Task (its
//! closed-loop life) and Communication (the counter-referral).

use super::SYSTEM_ICD10;
use super::datatypes::{
    beneficiary_name, facility_name, identifier, reference, reference_shown, service_concept,
};
use super::ids::{
    appointment_id, contract_id, counter_referral_id, healthcare_service_id, location_id,
    organization_id, patient_id, referral_id,
};
use crate::interop::build::fhir;
use crate::interop::{
    SYSTEM_ATTACHMENT, SYSTEM_ENLACE, SYSTEM_REFERRAL, SYSTEM_REFERRAL_STEP, instant,
};
use crate::priority::Priority;
use crate::referral::{CareOutcome, Referral, ReferralStatus};
use crate::state::State;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// FHIR `request-priority` of an Enlace priority.
pub fn request_priority(p: Priority) -> &'static str {
    match p {
        Priority::Routine => "routine",
        Priority::Priority => "urgent",
        Priority::Urgent => "asap",
        Priority::Emergency => "stat",
    }
}

/// FHIR `request-status` (ServiceRequest.status) of a referral status.
pub fn service_request_status(s: ReferralStatus) -> &'static str {
    use ReferralStatus::*;
    match s {
        Requested | Received | Accepted | Scheduled | InProgress => "active",
        CounterReferred | Completed => "completed",
        Rejected | Cancelled | Closed => "revoked",
    }
}

/// FHIR `task-status` of a referral status.
pub fn task_status(s: ReferralStatus) -> &'static str {
    use ReferralStatus::*;
    match s {
        Requested => "requested",
        Received => "received",
        Accepted | Scheduled => "accepted",
        InProgress => "in-progress",
        CounterReferred | Completed => "completed",
        Rejected => "rejected",
        Cancelled => "cancelled",
        Closed => "failed",
    }
}

/// The closed-loop step of a referral (`Task.businessStatus` code, display).
pub fn business_status(r: &Referral) -> (&'static str, &'static str) {
    use ReferralStatus::*;
    let last = r.timeline.last().map(|s| s.event.as_str());
    match r.status {
        Requested => match last {
            Some("referral_redirected") => ("redirected", "Redirected to another facility"),
            Some("referral_escalated") => ("escalated", "Escalated to a higher tier"),
            _ => ("requested", "Requested"),
        },
        Received => ("received", "Received by the destination"),
        Accepted if last == Some("referral_no_show") => {
            ("no-show", "The patient missed the appointment")
        }
        Accepted => ("accepted", "Accepted"),
        Scheduled => ("scheduled", "Appointment scheduled"),
        InProgress => ("arrived", "The patient arrived"),
        CounterReferred => ("counter-referral-sent", "Counter-referral sent"),
        Completed => ("completed", "Counter-referral acknowledged: loop closed"),
        Rejected => ("declined", "Declined by the destination"),
        Cancelled => ("cancelled", "Cancelled by the origin"),
        Closed => ("closed", "Closed without care"),
    }
}

fn first_step_at(r: &Referral, event: &str) -> Option<DateTime<Utc>> {
    r.timeline.iter().find(|s| s.event == event).map(|s| s.at)
}

fn last_step_at(r: &Referral, event: &str) -> Option<DateTime<Utc>> {
    r.timeline
        .iter()
        .rev()
        .find(|s| s.event == event)
        .map(|s| s.at)
}

/// The contained PractitionerRole that names the referral's origin: the
/// origin's agency, the origin facility, the referring user.
fn origin_role(r: &Referral) -> Value {
    let mut role = fhir!({
        "resourceType": "PractitionerRole",
        "id": "origin",
        "organization": reference_shown("Organization", &organization_id(&r.origin_agency), &r.origin_agency),
        "location": [reference("Location", &location_id(&r.origin))],
    });
    if let Some(user) = r
        .timeline
        .first()
        .map(|s| s.user.as_str())
        .filter(|u| !u.is_empty())
    {
        role["practitioner"] = fhir!({"type": "Practitioner", "display": user});
    }
    role
}

fn origin_ref(state: &State, r: &Referral) -> Value {
    fhir!({"reference": "#origin", "display": facility_name(state, &r.origin)})
}

fn destination_service(state: &State, r: &Referral) -> Value {
    reference_shown(
        "HealthcareService",
        &healthcare_service_id(&r.destination, &r.service),
        &facility_name(state, &r.destination),
    )
}

/// A referral as a ServiceRequest (the order).
pub fn service_request(state: &State, r: &Referral) -> Value {
    let reasons: Vec<Value> = r
        .reason
        .icd10
        .iter()
        .map(|c| fhir!({"coding": [{"system": SYSTEM_ICD10, "code": c}]}))
        .collect();
    let mut supporting: Vec<Value> = r
        .attachments
        .iter()
        .map(|a| fhir!({"identifier": identifier(SYSTEM_ATTACHMENT, &a.id), "display": format!("{} ({})", a.title, a.media_type)}))
        .collect();
    if let Some(ag) = &r.agreement {
        supporting.push(reference_shown("Contract", &contract_id(ag), ag));
    }
    let mut v = fhir!({
        "resourceType": "ServiceRequest",
        "id": referral_id(r.id),
        "contained": [origin_role(r)],
        "identifier": [identifier(SYSTEM_REFERRAL, r.id)],
        "status": service_request_status(r.status),
        "intent": "order",
        "category": [{"coding": [{
            "system": "http://snomed.info/sct",
            "code": "3457005",
            "display": "Patient referral",
        }]}],
        "priority": request_priority(r.priority),
        "code": service_concept(state, &r.service),
        "subject": reference_shown("Patient", &patient_id(&r.beneficiary), &beneficiary_name(state, &r.beneficiary)),
        "authoredOn": instant(r.created_at),
        "requester": origin_ref(state, r),
        "performer": [destination_service(state, r)],
        "locationReference": [reference_shown("Location", &location_id(&r.destination), &facility_name(state, &r.destination))],
    });
    if !reasons.is_empty() {
        v["reasonCode"] = Value::Array(reasons);
    }
    if !supporting.is_empty() {
        v["supportingInfo"] = Value::Array(supporting);
    }
    if !r.reason.text.trim().is_empty() {
        v["note"] = fhir!([{"text": &r.reason.text}]);
    }
    v
}

/// A referral's closed-loop life as a Task on its ServiceRequest.
pub fn task(state: &State, r: &Referral) -> Value {
    let (step, step_display) = business_status(r);
    let last_modified = r.timeline.last().map_or(r.created_at, |s| s.at);
    let mut v = fhir!({
        "resourceType": "Task",
        "id": referral_id(r.id),
        "contained": [origin_role(r)],
        "identifier": [identifier(SYSTEM_REFERRAL, r.id)],
        "basedOn": [reference("ServiceRequest", &referral_id(r.id))],
        "status": task_status(r.status),
        "businessStatus": {"coding": [{"system": SYSTEM_REFERRAL_STEP, "code": step, "display": step_display}], "text": step_display},
        "intent": "order",
        "priority": request_priority(r.priority),
        "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill", "display": "Fulfill the focal request"}]},
        "focus": reference("ServiceRequest", &referral_id(r.id)),
        "for": reference_shown("Patient", &patient_id(&r.beneficiary), &beneficiary_name(state, &r.beneficiary)),
        "authoredOn": instant(r.created_at),
        "lastModified": instant(last_modified.max(r.created_at)),
        "requester": origin_ref(state, r),
        "owner": destination_service(state, r),
        "location": reference_shown("Location", &location_id(&r.destination), &facility_name(state, &r.destination)),
        "restriction": {"period": {"end": instant(r.appointment_due)}},
    });
    if let Some(start) = r.accepted_at {
        let mut period = fhir!({"start": instant(start)});
        let end = match r.status {
            ReferralStatus::Completed => last_step_at(r, "counter_referral_acknowledged"),
            ReferralStatus::CounterReferred => last_step_at(r, "counter_referral_sent"),
            _ => None,
        };
        if let Some(end) = end.filter(|e| *e >= start) {
            period["end"] = fhir!(instant(end));
        }
        v["executionPeriod"] = period;
    }
    if let Some(reason) = r.closing_reason.as_deref().filter(|t| !t.trim().is_empty()) {
        v["statusReason"] = fhir!({"text": reason});
    }
    let notes: Vec<Value> = r
        .timeline
        .iter()
        .filter(|s| s.event == "referral_redirected" || s.event == "referral_escalated")
        .map(|s| {
            let what = if s.event == "referral_redirected" {
                "Redirected"
            } else {
                "Escalated"
            };
            let mut n = fhir!({"time": instant(s.at), "text": format!("{what} {}", s.note)});
            if !s.user.is_empty() {
                n["authorString"] = fhir!(&s.user);
            }
            n
        })
        .collect();
    if !notes.is_empty() {
        v["note"] = Value::Array(notes);
    }
    let mut outputs = Vec::new();
    if let Some(id) = r.appointment {
        outputs.push(fhir!({
            "type": {"coding": [{"system": SYSTEM_ENLACE, "code": "appointment", "display": "Appointment at the destination"}]},
            "valueReference": reference("Appointment", &appointment_id(id)),
        }));
    }
    if r.counter_referral.is_some() {
        outputs.push(fhir!({
            "type": {"coding": [{"system": SYSTEM_ENLACE, "code": "counter-referral", "display": "Counter-referral"}]},
            "valueReference": reference("Communication", &counter_referral_id(r.id)),
        }));
    }
    if let Some(id) = r.follow_up_appointment {
        outputs.push(fhir!({
            "type": {"coding": [{"system": SYSTEM_ENLACE, "code": "follow-up", "display": "Follow-up appointment at the origin"}]},
            "valueReference": reference("Appointment", &appointment_id(id)),
        }));
    }
    if !outputs.is_empty() {
        v["output"] = Value::Array(outputs);
    }
    v
}

fn outcome_text(o: CareOutcome) -> &'static str {
    match o {
        CareOutcome::Resolved => "resolved",
        CareOutcome::Improved => "improved",
        CareOutcome::Ongoing => "ongoing",
        CareOutcome::ReferredOnward => "referred onward",
        CareOutcome::Deceased => "deceased",
    }
}

/// A referral's counter-referral as a Communication from the destination to
/// the origin, based on the ServiceRequest; `None` before one is sent.
pub fn communication(state: &State, r: &Referral) -> Option<Value> {
    let cr = r.counter_referral.as_ref()?;
    let s = &cr.summary;
    let mut payload = vec![];
    if !s.text.trim().is_empty() {
        payload.push(fhir!({"contentString": &s.text}));
    }
    payload.push(fhir!({"contentString": format!("Outcome: {}", outcome_text(s.outcome))}));
    if !s.procedures.is_empty() {
        payload.push(fhir!({"contentString": format!("Procedures: {}", s.procedures.join("; "))}));
    }
    payload.push(fhir!({"contentString": format!("Instructions: {}", cr.instructions)}));
    if let Some(f) = &cr.follow_up {
        let name = state
            .service(&f.service)
            .map_or(f.service.as_str(), |s| s.name.as_str());
        let mut text = format!("Follow-up: {name} within {} days", f.within_days);
        if !f.note.trim().is_empty() {
            text.push_str(&format!(" ({})", f.note));
        }
        payload.push(fhir!({"contentString": text}));
    }
    let mut v = fhir!({
        "resourceType": "Communication",
        "id": counter_referral_id(r.id),
        "contained": [origin_role(r)],
        "identifier": [identifier(SYSTEM_REFERRAL, r.id)],
        "basedOn": [reference("ServiceRequest", &referral_id(r.id))],
        "partOf": [reference("Task", &referral_id(r.id))],
        "status": "completed",
        "category": [{"coding": [{"system": SYSTEM_ENLACE, "code": "counter-referral", "display": "Counter-referral"}]}],
        "subject": reference_shown("Patient", &patient_id(&r.beneficiary), &beneficiary_name(state, &r.beneficiary)),
        "recipient": [origin_ref(state, r)],
        "sender": destination_service(state, r),
        "reasonCode": s.diagnoses.iter().map(|c| fhir!({"coding": [{"system": SYSTEM_ICD10, "code": c}]})).collect::<Vec<_>>(),
        "payload": payload,
    });
    if let Some(sent) = first_step_at(r, "counter_referral_sent") {
        v["sent"] = fhir!(instant(sent));
    }
    if let Some(ack) = first_step_at(r, "counter_referral_acknowledged") {
        v["received"] = fhir!(instant(ack));
    }
    Some(v)
}
