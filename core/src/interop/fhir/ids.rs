//! The FHIR ids of the resources Enlace records become.

use crate::interop::fhir_id;
use chrono::{DateTime, Utc};

/// The FHIR id of an agency's Organization.
pub fn organization_id(agency: &str) -> String {
    fhir_id("agency", agency)
}
/// The FHIR id of a facility's Location.
pub fn location_id(facility: &str) -> String {
    fhir_id("facility", facility)
}
/// The FHIR id of the HealthcareService of a service at a facility.
pub fn healthcare_service_id(facility: &str, service: &str) -> String {
    fhir_id("service", &format!("{facility}.{service}"))
}
/// The FHIR id of an agenda's Schedule.
pub fn schedule_id(agenda: &str) -> String {
    fhir_id("agenda", agenda)
}
/// The FHIR id of the Slot of an agenda starting at `start`.
pub fn slot_id(agenda: &str, start: DateTime<Utc>) -> String {
    fhir_id(
        "slot",
        &format!("{agenda}.{}Z", &crate::interop::basic(&start)[..13]),
    )
}
/// The FHIR id of an appointment.
pub fn appointment_id(appointment: u32) -> String {
    format!("appointment-{appointment}")
}
/// The FHIR id of the Appointment that stands for a waitlist entry.
pub fn waitlist_id(entry: u32) -> String {
    format!("waitlist-{entry}")
}
/// The FHIR id of a beneficiary's Patient.
pub fn patient_id(beneficiary: &str) -> String {
    fhir_id("patient", beneficiary)
}
/// The FHIR id of the ServiceRequest and of the Task of a referral.
pub fn referral_id(referral: u32) -> String {
    format!("referral-{referral}")
}
/// The FHIR id of a referral's counter-referral Communication.
pub fn counter_referral_id(referral: u32) -> String {
    format!("counter-referral-{referral}")
}
/// The FHIR id of an agreement's Contract.
pub fn contract_id(agreement: &str) -> String {
    fhir_id("agreement", agreement)
}
