//! Scheduling: Schedule, Slot and Appointment (booked appointments and
//! waitlist entries).

use super::datatypes::{
    beneficiary_name, ext, facility_name, identifier, reference, reference_shown, service_concept,
    time, weekday_code,
};
use super::ids::{
    appointment_id, healthcare_service_id, location_id, patient_id, referral_id, schedule_id,
    slot_id, waitlist_id,
};
use crate::agenda::AgendaConfig;
use crate::appointment::AppointmentStatus;
use crate::interop::build::fhir;
use crate::interop::{
    EXTENSION_BASE, SYSTEM_AGENDA, SYSTEM_APPOINTMENT, SYSTEM_ENLACE, SYSTEM_WAITLIST, date,
    instant,
};
use crate::priority::Priority;
use crate::state::State;
use crate::view::{AgendaInfo, AppointmentView, SlotInfo, SlotState};
use crate::waitlist::{WaitlistEntry, WaitlistStatus};
use chrono::Weekday;
use serde_json::Value;
use std::collections::BTreeMap;

/// `Appointment.priority` (iCalendar-style: 1 highest, 9 lowest).
pub fn appointment_priority(p: Priority) -> u32 {
    match p {
        Priority::Emergency => 1,
        Priority::Urgent => 2,
        Priority::Priority => 5,
        Priority::Routine => 9,
    }
}

/// FHIR `appointmentstatus` of an Enlace appointment status.
pub fn appointment_status(s: AppointmentStatus) -> &'static str {
    match s {
        AppointmentStatus::Booked => "booked",
        AppointmentStatus::Arrived => "arrived",
        AppointmentStatus::Fulfilled => "fulfilled",
        AppointmentStatus::Cancelled | AppointmentStatus::Rescheduled => "cancelled",
        AppointmentStatus::NoShow => "noshow",
    }
}

/// An agenda as a Schedule. The weekly rules and the booking policy, which
/// FHIR has no elements for, travel in `urn:enlace:fhir:*` extensions so
/// that the importer can rebuild the agenda exactly.
pub fn schedule(state: &State, a: AgendaInfo<'_>, today: chrono::NaiveDate) -> Value {
    let c: &AgendaConfig = a.config;
    let mut extensions: Vec<Value> = c
        .rules
        .iter()
        .map(|r| {
            fhir!({
                "url": format!("{EXTENSION_BASE}agenda-rule"),
                "extension": [
                    {"url": "day", "valueCode": weekday_code(r.day)},
                    {"url": "start", "valueTime": time(r.start)},
                    {"url": "end", "valueTime": time(r.end)},
                ],
            })
        })
        .collect();
    if let Some(m) = c.slot_minutes {
        extensions.push(ext("slot-minutes", "valuePositiveInt", fhir!(m)));
    }
    extensions.push(ext("capacity", "valuePositiveInt", fhir!(c.capacity)));
    extensions.push(ext("overbooking", "valueUnsignedInt", fhir!(c.overbooking)));
    extensions.push(ext(
        "horizon-days",
        "valuePositiveInt",
        fhir!(c.horizon_days),
    ));
    extensions.push(ext(
        "min-notice-minutes",
        "valueUnsignedInt",
        fhir!(c.min_notice_minutes),
    ));
    extensions.push(ext(
        "referral-share-percent",
        "valueUnsignedInt",
        fhir!(c.referral_share_percent),
    ));
    let fname = facility_name(state, &c.facility);
    let mut actors = vec![
        reference_shown("Location", &location_id(&c.facility), &fname),
        reference_shown(
            "HealthcareService",
            &healthcare_service_id(&c.facility, &c.service),
            state
                .service(&c.service)
                .map_or(c.service.as_str(), |s| s.name.as_str()),
        ),
    ];
    if let Some(p) = &c.practitioner {
        actors.push(fhir!({"type": "Practitioner", "display": p}));
    }
    let mut horizon = fhir!({"start": date(c.valid_from)});
    if let Some(end) = c.valid_to {
        horizon["end"] = fhir!(date(end));
    }
    fhir!({
        "resourceType": "Schedule",
        "id": schedule_id(&c.id),
        "extension": extensions,
        "identifier": [identifier(SYSTEM_AGENDA, &c.id)],
        "active": c.valid_to.is_none_or(|end| end >= today),
        "serviceType": [service_concept(state, &c.service)],
        "actor": actors,
        "planningHorizon": horizon,
        "comment": format!(
            "{} at {}: {} slots of {} minutes, {} place(s) each, in {} local time",
            state.service(&c.service).map_or(c.service.as_str(), |s| s.name.as_str()),
            fname,
            rules_text(c),
            a.slot_minutes,
            c.capacity,
            a.time_zone.name(),
        ),
    })
}

fn rules_text(c: &AgendaConfig) -> String {
    let mut by_day: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for r in &c.rules {
        by_day
            .entry(r.day.num_days_from_monday())
            .or_default()
            .push(format!(
                "{}-{}",
                crate::interop::clock(&r.start, false),
                crate::interop::clock(&r.end, false)
            ));
    }
    let parts: Vec<String> = by_day
        .into_iter()
        .filter_map(|(d, times)| {
            let day = Weekday::try_from(d as u8).ok()?;
            Some(format!("{} {}", weekday_code(day), times.join(", ")))
        })
        .collect();
    if parts.is_empty() {
        "no weekly".to_owned()
    } else {
        format!("weekly ({})", parts.join("; "))
    }
}

/// A slot of an agenda as a Slot.
pub fn slot(state: &State, agenda: &AgendaConfig, s: &SlotInfo) -> Value {
    let (status, comment) = match &s.state {
        SlotState::Closed { reason } => ("busy-unavailable", reason.clone()),
        SlotState::Open if s.taken >= s.capacity => (
            "busy",
            format!("{} of {} places booked", s.taken, s.capacity),
        ),
        SlotState::Open => (
            "free",
            format!("{} of {} places free", s.capacity - s.taken, s.capacity),
        ),
    };
    let mut v = fhir!({
        "resourceType": "Slot",
        "id": slot_id(&agenda.id, s.start),
        "serviceType": [service_concept(state, &agenda.service)],
        "schedule": reference("Schedule", &schedule_id(&agenda.id)),
        "status": status,
        "start": instant(s.start),
        "end": instant(s.end),
        "comment": comment,
    });
    if s.taken > s.capacity {
        v["overbooked"] = fhir!(true);
    }
    v
}

// --- appointments and people ---------------------------------------------------------

/// An appointment as an Appointment.
pub fn appointment(state: &State, a: &AppointmentView) -> Value {
    let info = state.agenda_info(&a.agenda);
    let fname = facility_name(state, &a.facility);
    let mut participants = vec![
        fhir!({
            "actor": reference_shown("Patient", &patient_id(&a.beneficiary), &beneficiary_name(state, &a.beneficiary)),
            "required": "required",
            "status": "accepted",
        }),
        fhir!({
            "actor": reference_shown("Location", &location_id(&a.facility), &fname),
            "required": "required",
            "status": "accepted",
        }),
        fhir!({
            "actor": reference("HealthcareService", &healthcare_service_id(&a.facility, &a.service)),
            "required": "required",
            "status": "accepted",
        }),
    ];
    if let Some(p) = info.and_then(|i| i.config.practitioner.as_ref()) {
        participants.push(fhir!({
            "actor": {"type": "Practitioner", "display": p},
            "required": "required",
            "status": "accepted",
        }));
    }
    let service_name = state
        .service(&a.service)
        .map_or(a.service.as_str(), |s| s.name.as_str());
    let mut v = fhir!({
        "resourceType": "Appointment",
        "id": appointment_id(a.id),
        "identifier": [identifier(SYSTEM_APPOINTMENT, a.id)],
        "status": appointment_status(a.status),
        "serviceType": [service_concept(state, &a.service)],
        "description": format!("{service_name} at {fname}"),
        "start": instant(a.start),
        "end": instant(a.end),
        "minutesDuration": (a.end - a.start).num_minutes(),
        "slot": [reference("Slot", &slot_id(&a.agenda, a.start))],
        "participant": participants,
    });
    let mut extensions = Vec::new();
    if let Some(prev) = a.rescheduled_from {
        extensions.push(fhir!({
            "url": "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.previousAppointment",
            "valueReference": reference("Appointment", &appointment_id(prev)),
        }));
    }
    if a.overbooked {
        extensions.push(ext("overbooked", "valueBoolean", fhir!(true)));
    }
    if !extensions.is_empty() {
        v["extension"] = Value::Array(extensions);
    }
    if let Some(next) = a.rescheduled_to {
        v["cancelationReason"] = fhir!({
            "coding": [{"system": SYSTEM_ENLACE, "code": "rescheduled", "display": "Rescheduled"}],
            "text": format!("Rescheduled: replaced by appointment {next}"),
        });
    }
    if let Some(r) = a.referral.and_then(|id| state.referral(id)) {
        v["basedOn"] = fhir!([reference("ServiceRequest", &referral_id(r.id))]);
        v["priority"] = fhir!(appointment_priority(r.priority));
    }
    v
}

/// A waitlist entry as an Appointment with status `waitlist` (or
/// `cancelled` once the beneficiary left the list). It has no start: R4
/// allows a waitlisted appointment without times.
pub fn waitlist_appointment(state: &State, w: &WaitlistEntry) -> Value {
    let status = match w.status {
        WaitlistStatus::Waiting | WaitlistStatus::Offered => "waitlist",
        WaitlistStatus::Left | WaitlistStatus::Satisfied => "cancelled",
    };
    let mut participants = vec![fhir!({
        "actor": reference_shown("Patient", &patient_id(&w.beneficiary), &beneficiary_name(state, &w.beneficiary)),
        "required": "required",
        "status": "needs-action",
    })];
    if let Some(f) = &w.facility {
        participants.push(fhir!({
            "actor": reference_shown("Location", &location_id(f), &facility_name(state, f)),
            "required": "required",
            "status": "needs-action",
        }));
    }
    let mut v = fhir!({
        "resourceType": "Appointment",
        "id": waitlist_id(w.id),
        "identifier": [identifier(SYSTEM_WAITLIST, w.id)],
        "status": status,
        "serviceType": [service_concept(state, &w.service)],
        "priority": appointment_priority(w.priority),
        "created": instant(w.joined_at),
        "participant": participants,
    });
    if w.status == WaitlistStatus::Offered {
        v["comment"] = fhir!("A freed slot has been offered");
    }
    if w.status == WaitlistStatus::Left {
        v["cancelationReason"] = fhir!({"text": "Left the waitlist"});
    }
    v
}
