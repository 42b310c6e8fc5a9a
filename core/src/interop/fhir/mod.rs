//! Enlace as HL7 FHIR R4 (4.0.1) resources.
//!
//! # Mapping
//!
//! | Enlace | FHIR R4 |
//! |---|---|
//! | agency | `Organization` (one per agency) |
//! | facility | `Location` (tier in `type`, region in `address.district`, IANA time zone in the standard `timezone` extension, `managingOrganization` → its agency) |
//! | service offered at a facility | `HealthcareService` (one per facility and service; `availableTime` is the union of the facility's agendas for it) |
//! | agenda | `Schedule` (actors: `Location`, `HealthcareService`, the practitioner by display; `planningHorizon` = the agenda's validity; weekly rules and booking policy in `urn:enlace:fhir:*` extensions) |
//! | slots of a window | `Slot`: `free` (places left), `busy` (full), `busy-unavailable` (a holiday or closure takes it) |
//! | appointment | `Appointment`: booked, arrived, fulfilled, cancelled, noshow; a rescheduled appointment is `cancelled` with the reason, its successor links back with the R5 `previousAppointment` cross-version extension |
//! | waitlist entry | `Appointment` with status `waitlist` (no start yet: R4 allows a waitlisted appointment without times); an entry that left is `cancelled`, a satisfied one is not exported (its booked appointment is) |
//! | beneficiary | `Patient` (national id as `identifier` in the system the caller names) |
//! | coverage by a programme | `Coverage` (payor = the programme's agency, class `plan` = the programme) |
//! | referral | `ServiceRequest` (the order) + `Task` (its closed-loop life) |
//! | counter-referral | `Communication` based on the `ServiceRequest`, listed in `Task.output` |
//! | agreement | `Contract` |
//!
//! Priority: Enlace's four levels map in order onto FHIR's four: routine →
//! `routine`, priority → `urgent`, urgent → `asap`, emergency → `stat`
//! (FHIR: urgent is "higher than routine", asap "higher than urgent", stat
//! "immediately, e.g. an emergency"). Appointment.priority, an iCalendar-style
//! number, is 1 (emergency), 2 (urgent), 5 (priority), 9 (routine).
//!
//! Referral status → `ServiceRequest.status`: open steps are `active`;
//! counter-referred and completed are `completed` (the care was given);
//! rejected, cancelled and closed-without-care are `revoked`.
//!
//! Referral status → `Task.status` / `Task.businessStatus` (code system
//! [`SYSTEM_REFERRAL_STEP`](super::SYSTEM_REFERRAL_STEP)): requested → `requested` / requested, redirected
//! or escalated; received → `received`; accepted → `accepted` / accepted, or
//! no-show after a missed appointment; scheduled → `accepted` / scheduled;
//! in progress → `in-progress` / arrived; counter-referred → `completed` /
//! counter-referral-sent; completed → `completed` / completed (the origin
//! acknowledged: the loop is closed); rejected → `rejected` / declined;
//! cancelled → `cancelled`; closed → `failed` / closed.
//!
//! The origin of a referral is a facility, which FHIR's `requester` cannot
//! name directly (it takes no `Location`): it is a contained
//! `PractitionerRole` (`#origin`) of the origin's agency at the origin's
//! Location, with the referring user as the practitioner's display.
//!
//! Agreements are `Contract`s rather than `Coverage`: an Enlace agreement is
//! between two agencies (who may refer to whom, for which services and tiers,
//! who pays), which is what `Contract` (parties, terms, assets) describes;
//! `Coverage` describes one person's entitlement, and is used for the
//! beneficiaries' coverage by programmes.

mod agreement;
mod datatypes;
mod directory;
mod export;
mod ids;
mod referral;
mod scheduling;

pub use agreement::contract;
pub use directory::{coverages, healthcare_service, location, organization, patient};
pub use export::{bundle, export_bundle, export_resources};
pub use ids::{
    appointment_id, contract_id, counter_referral_id, healthcare_service_id, location_id,
    organization_id, patient_id, referral_id, schedule_id, slot_id, waitlist_id,
};
pub use referral::{
    business_status, communication, request_priority, service_request, service_request_status,
    task, task_status,
};
pub use scheduling::{
    appointment, appointment_priority, appointment_status, schedule, slot, waitlist_appointment,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// ICD-10, the code system of referral reasons and counter-referral diagnoses.
pub const SYSTEM_ICD10: &str = "http://hl7.org/fhir/sid/icd-10";

/// The longest slot window one export or search may cover, in days.
pub const MAX_WINDOW_DAYS: i64 = 62;
/// The most slots one export or search may produce.
pub const MAX_SLOTS: usize = 50_000;

/// The kinds of resources the export produces, in Bundle order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ResourceKind {
    Organization,
    Location,
    HealthcareService,
    Schedule,
    Slot,
    Appointment,
    Patient,
    Coverage,
    ServiceRequest,
    Task,
    Communication,
    Contract,
}

impl ResourceKind {
    /// Every kind, in Bundle order.
    pub const ALL: [ResourceKind; 12] = [
        ResourceKind::Organization,
        ResourceKind::Location,
        ResourceKind::HealthcareService,
        ResourceKind::Schedule,
        ResourceKind::Slot,
        ResourceKind::Appointment,
        ResourceKind::Patient,
        ResourceKind::Coverage,
        ResourceKind::ServiceRequest,
        ResourceKind::Task,
        ResourceKind::Communication,
        ResourceKind::Contract,
    ];

    /// The FHIR resource type name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Organization => "Organization",
            ResourceKind::Location => "Location",
            ResourceKind::HealthcareService => "HealthcareService",
            ResourceKind::Schedule => "Schedule",
            ResourceKind::Slot => "Slot",
            ResourceKind::Appointment => "Appointment",
            ResourceKind::Patient => "Patient",
            ResourceKind::Coverage => "Coverage",
            ResourceKind::ServiceRequest => "ServiceRequest",
            ResourceKind::Task => "Task",
            ResourceKind::Communication => "Communication",
            ResourceKind::Contract => "Contract",
        }
    }

    /// The kind of a FHIR resource type name.
    pub fn parse(name: &str) -> Option<Self> {
        ResourceKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// `collection` for a plain export, `searchset` for search results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BundleType {
    #[default]
    Collection,
    Searchset,
}

/// A half-open window of time `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// The kinds of resources; empty means all. `Slot` needs a `window`.
    #[serde(default)]
    pub kinds: Vec<ResourceKind>,
    /// Only what concerns these facilities (empty: the whole network).
    /// Patients and coverages are then those of the exported appointments,
    /// waitlist entries and referrals.
    #[serde(default)]
    pub facilities: Vec<String>,
    /// Slots are exported for this window, at most [`MAX_WINDOW_DAYS`]
    /// long; appointments are then limited to those starting in it.
    #[serde(default)]
    pub window: Option<Window>,
    /// The instant of the export: the Bundle's timestamp, and "today" for
    /// whether a schedule or an agreement is in force.
    pub now: DateTime<Utc>,
    #[serde(default)]
    pub bundle_type: BundleType,
    /// The server's FHIR base URL (`https://host/fhir`); entries then get a
    /// `fullUrl`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The identifier system of beneficiaries' national ids (default
    /// [`SYSTEM_NATIONAL_ID`](super::SYSTEM_NATIONAL_ID)).
    #[serde(default)]
    pub national_id_system: Option<String>,
}

impl ExportRequest {
    /// Everything the network holds (no slots), as a collection.
    pub fn all(now: DateTime<Utc>) -> Self {
        ExportRequest {
            kinds: Vec::new(),
            facilities: Vec::new(),
            window: None,
            now,
            bundle_type: BundleType::Collection,
            base_url: None,
            national_id_system: None,
        }
    }
}
