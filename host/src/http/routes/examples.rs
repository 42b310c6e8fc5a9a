//! Example request bodies of the command routes: shown in the OpenAPI
//! document, and used by the tests as valid shapes.

use serde_json::{Value, json};

pub(super) fn ex_network() -> Value {
    json!({"name": "Red regional", "targets": [{"priority": "urgent", "accept_minutes": 240, "appointment_minutes": 4320}]})
}
pub(super) fn ex_service() -> Value {
    json!({"code": "derm", "name": "Dermatology", "slot_minutes": 20})
}
pub(super) fn ex_holiday() -> Value {
    json!({"date": "2026-12-25", "name": "Navidad"})
}
pub(super) fn ex_agreement() -> Value {
    json!({"id": "convenio-200", "referring_agency": "imss-bienestar", "receiving_agency": "imss",
           "services": ["obs-hr"], "tiers": [2, 3], "valid_from": "2026-01-01", "valid_to": null,
           "cost_bearer": "referring_agency", "programmes": ["bienestar-salud"], "free_of_charge": true})
}
pub(super) fn ex_facility() -> Value {
    json!({"id": "F0100", "name": "Unidad de Medicina Rural 100", "agency": "imss-bienestar", "tier": 1,
           "region": "centro", "time_zone": "America/Mexico_City", "services": ["gp", "prenatal"]})
}
pub(super) fn ex_agenda() -> Value {
    json!({"id": "F0001-A09", "facility": "F0001", "service": "prenatal", "practitioner": "Dra. Ruiz",
           "rules": [{"day": "Mon", "start": "08:00:00", "end": "12:00:00"}],
           "valid_from": "2026-01-01", "valid_to": null, "slot_minutes": 20, "capacity": 1,
           "overbooking": 0, "horizon_days": 90, "min_notice_minutes": 60, "referral_share_percent": 0})
}
pub(super) fn ex_closure() -> Value {
    json!({"date": "2026-12-24", "from": "12:00:00", "to": "17:00:00", "reason": "Staff training"})
}
pub(super) fn ex_beneficiary() -> Value {
    json!({"id": "MX-20000001", "name": "Ana López Cruz", "birth_date": "1994-02-11", "sex": "female",
           "contact": "+52 55 1234 5678",
           "coverage": [{"programme": "bienestar-salud", "agency": "imss-bienestar", "valid_from": "2025-01-01", "valid_to": null}]})
}
pub(super) fn ex_coverage() -> Value {
    json!([{"programme": "bienestar-salud", "agency": "imss-bienestar", "valid_from": "2025-01-01", "valid_to": null}])
}
pub(super) fn ex_book() -> Value {
    json!({"agenda": "F0001-A01", "start": "2026-12-01T14:00:00Z", "beneficiary": "MX-10000000"})
}
pub(super) fn ex_reason() -> Value {
    json!({"reason": "Requested by the beneficiary"})
}
pub(super) fn ex_reschedule() -> Value {
    json!({"start": "2026-12-02T15:00:00Z", "reason": "Clinic closed"})
}
pub(super) fn ex_waitlist() -> Value {
    json!({"beneficiary": "MX-10000000", "service": "prenatal", "facility": "F0001", "priority": "priority"})
}
pub(super) fn ex_referral() -> Value {
    json!({"beneficiary": "MX-10000000", "service": "obs-hr", "destination": {"tier": 2},
           "priority": "urgent", "reason": {"icd10": ["O14.1"], "text": "Severe pre-eclampsia"}})
}
pub(super) fn ex_note() -> Value {
    json!({"note": "Bring previous ultrasound"})
}
pub(super) fn ex_reject() -> Value {
    json!({"reason": "manage_at_origin", "text": "Can be followed at the clinic"})
}
pub(super) fn ex_redirect() -> Value {
    json!({"to": "F0005", "reason": "No obstetrician this week"})
}
pub(super) fn ex_escalate() -> Value {
    json!({"reason": "Needs maternal-fetal medicine"})
}
pub(super) fn ex_schedule() -> Value {
    json!({"agenda": "F0004-A01", "start": "2026-12-03T15:00:00Z"})
}
pub(super) fn ex_counter() -> Value {
    json!({"summary": {"diagnoses": ["O14.1"], "procedures": ["Magnesium sulfate"], "outcome": "improved",
                       "text": "Stable at discharge"},
           "instructions": "Blood pressure weekly",
           "follow_up": {"service": "prenatal", "within_days": 7, "note": ""}})
}
