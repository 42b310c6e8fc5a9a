//! Interoperability: HL7 FHIR R4 (4.0.1) and iCalendar (RFC 5545), in and out.
//!
//! Pure functions of the engine's [`State`](crate::State): no I/O and no
//! clock — every instant (the export's "now", a calendar's DTSTAMP) comes in
//! as a parameter, so every face (browser, component, host) produces the same
//! bytes from the same state.
//!
//! - [`fhir`]: resources and Bundles (collection or searchset) for every kind
//!   of Enlace data, the searches the host's `/fhir/` endpoints answer, and
//!   the CapabilityStatement that describes them.
//! - [`fhir_import`]: facilities, services and agendas from a FHIR Bundle,
//!   as [`Command`](crate::Command)s, with a list of what could not be mapped.
//! - [`ical`]: appointments as VEVENTs, a beneficiary's calendar, an agenda's
//!   feed.
//!
//! Identifiers: every FHIR resource id is derived from the Enlace id (see
//! [`fhir_id`]), and every resource also carries the Enlace id as an
//! `identifier` in one of the `urn:enlace:*` systems below, which is what the
//! importer reads back. An agency that has its own registered identifier
//! systems can keep these: they name Enlace's own ids, not national ones.

pub(crate) mod access;
pub(crate) mod build;
pub mod fhir;
pub mod fhir_import;
mod fhir_search;
pub mod ical;

pub use crate::view::{AgendaInfo, SlotInfo, SlotState};
pub use fhir_search::{SearchContext, capability_statement, read, search};

use build::fhir;
use serde::{Deserialize, Serialize};

/// Identifier system of Enlace agency codes (on Organization).
pub const SYSTEM_AGENCY: &str = "urn:enlace:agency";
/// Identifier system of Enlace facility ids (on Location).
pub const SYSTEM_FACILITY: &str = "urn:enlace:facility";
/// Code system of Enlace service codes (HealthcareService.type, Schedule.serviceType, …).
pub const SYSTEM_SERVICE: &str = "urn:enlace:service";
/// Identifier system of Enlace agenda ids (on Schedule).
pub const SYSTEM_AGENDA: &str = "urn:enlace:agenda";
/// Identifier system of Enlace appointment numbers.
pub const SYSTEM_APPOINTMENT: &str = "urn:enlace:appointment";
/// Identifier system of Enlace waitlist entry numbers.
pub const SYSTEM_WAITLIST: &str = "urn:enlace:waitlist";
/// Identifier system of Enlace referral numbers (ServiceRequest, Task, Communication).
pub const SYSTEM_REFERRAL: &str = "urn:enlace:referral";
/// Identifier system of Enlace agreement ids (on Contract).
pub const SYSTEM_AGREEMENT: &str = "urn:enlace:agreement";
/// Identifier system of documents attached to a referral.
pub const SYSTEM_ATTACHMENT: &str = "urn:enlace:attachment";
/// Code system of the level of care of a facility (1, 2, 3), on Location.type.
pub const SYSTEM_TIER: &str = "urn:enlace:tier";
/// Code system of the closed-loop steps of a referral (Task.businessStatus).
pub const SYSTEM_REFERRAL_STEP: &str = "urn:enlace:referral-step";
/// Code system of Enlace's own codes that no standard code system covers
/// (counter-referral, agreement parties, cost bearers, Task outputs).
pub const SYSTEM_ENLACE: &str = "urn:enlace:code";
/// The default identifier system of beneficiaries' national ids; agencies
/// pass their own (e.g. a national registry's OID) in the export options.
pub const SYSTEM_NATIONAL_ID: &str = "urn:enlace:national-id";

/// Prefix of Enlace's FHIR extensions (agenda rules and booking policy,
/// service slot length, agreement terms).
pub const EXTENSION_BASE: &str = "urn:enlace:fhir:";
/// The standard extension carrying an IANA time zone (`valueCode`), used on
/// Location for the facility's time zone.
pub const EXTENSION_TIMEZONE: &str = "http://hl7.org/fhir/StructureDefinition/timezone";

/// Something an export, search or read cannot do. `code` is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum InteropError {
    /// A parameter is malformed or out of range.
    #[error("invalid parameter {name}: {message}")]
    InvalidParameter { name: String, message: String },
    /// A search parameter this server does not support for the resource type.
    #[error("unsupported search parameter {name} for {resource_type}")]
    UnsupportedParameter { resource_type: String, name: String },
    /// A resource type this server does not serve.
    #[error("unsupported resource type {resource_type}")]
    UnsupportedResourceType { resource_type: String },
    /// No resource of that type has that id.
    #[error("{resource_type}/{id} not found")]
    NotFound { resource_type: String, id: String },
    /// The Enlace record the export starts from does not exist.
    #[error("unknown {kind} {id}")]
    Unknown { kind: String, id: String },
}

impl InteropError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            InteropError::InvalidParameter { .. } => "invalid_parameter",
            InteropError::UnsupportedParameter { .. } => "unsupported_parameter",
            InteropError::UnsupportedResourceType { .. } => "unsupported_resource_type",
            InteropError::NotFound { .. } => "not_found",
            InteropError::Unknown { .. } => "unknown",
        }
    }

    pub(crate) fn param(name: &str, message: impl Into<String>) -> Self {
        InteropError::InvalidParameter {
            name: name.to_owned(),
            message: message.into(),
        }
    }

    /// The error as a FHIR OperationOutcome, for a host to return with the
    /// HTTP status of its choice (400 for parameters, 404 for not found).
    pub fn operation_outcome(&self) -> serde_json::Value {
        let code = match self {
            InteropError::InvalidParameter { .. } => "invalid",
            InteropError::UnsupportedParameter { .. }
            | InteropError::UnsupportedResourceType { .. } => "not-supported",
            InteropError::NotFound { .. } | InteropError::Unknown { .. } => "not-found",
        };
        fhir!({
            "resourceType": "OperationOutcome",
            "issue": [{
                "severity": "error",
                "code": code,
                "details": {"coding": [{"system": SYSTEM_ENLACE, "code": self.code()}]},
                "diagnostics": self.to_string(),
            }],
        })
    }
}

/// The FHIR id of an Enlace record: `prefix-raw` when that is a valid FHIR
/// id (`[A-Za-z0-9\-\.]{1,64}`), otherwise a readable rest of it followed by
/// a stable 64-bit hash of `raw`, so every Enlace id (which may hold any
/// non-space character) gets a valid, stable and distinct FHIR id.
///
/// ```
/// use enlace_core::interop::fhir_id;
/// assert_eq!(fhir_id("facility", "F0001"), "facility-F0001");
/// let odd = fhir_id("agenda", "cardiología/mañana");
/// assert!(odd.starts_with("agenda-cardiolog-a-ma-ana-"));
/// assert!(odd.len() <= 64);
/// ```
pub fn fhir_id(prefix: &str, raw: &str) -> String {
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    let plain = format!("{prefix}-{raw}");
    if plain.len() <= 64 && !raw.is_empty() && raw.chars().all(valid) {
        return plain;
    }
    let hash = crate::journal::key_hash(raw);
    let budget = 64usize.saturating_sub(prefix.len() + 2 + 16);
    let readable: String = raw
        .chars()
        .map(|c| if valid(c) { c } else { '-' })
        .take(budget)
        .collect();
    if readable.is_empty() {
        format!("{prefix}-{hash:016x}")
    } else {
        format!("{prefix}-{readable}-{hash:016x}")
    }
}

/// A UTC instant as FHIR `instant` / `dateTime` (`2026-03-03T14:00:00Z`).
pub(crate) fn instant(t: chrono::DateTime<chrono::Utc>) -> String {
    format!("{}Z", stamp(&t, true))
}

/// Date and time as `YYYYMMDDTHHMMSS` (iCalendar's basic format).
pub(crate) fn basic(t: &(impl chrono::Datelike + chrono::Timelike)) -> String {
    stamp(t, false)
}

/// Date and time in ISO 8601's extended (`2026-03-03T14:00:00`) or basic
/// (`20260303T140000`) format.
///
/// Written field by field rather than with chrono's `format`, whose
/// strftime interpreter would be the only one in the Wasm builds (a few
/// kilobytes the browser package's size budget cannot spare).
fn stamp(t: &(impl chrono::Datelike + chrono::Timelike), extended: bool) -> String {
    let (d, c) = if extended { ("-", ":") } else { ("", "") };
    format!(
        "{:04}{d}{:02}{d}{:02}T{:02}{c}{:02}{c}{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A time of day as `HH:MM:SS`, or `HH:MM` without seconds.
pub(crate) fn clock(t: &impl chrono::Timelike, seconds: bool) -> String {
    if seconds {
        format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
    } else {
        format!("{:02}:{:02}", t.hour(), t.minute())
    }
}

/// A date as FHIR `date` (`2026-03-03`).
pub(crate) fn date(d: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// One FHIR search parameter, `name=value` as in a query string (a name may
/// repeat; a comma in a value means "any of these").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FhirParam {
    pub name: String,
    pub value: String,
}

/// What a [`Query::Calendar`] is the calendar of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CalendarOf {
    Appointment,
    Beneficiary,
    Agenda,
    Facility,
}
