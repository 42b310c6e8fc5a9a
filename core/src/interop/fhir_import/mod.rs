//! Facilities, services and agendas from a FHIR R4 Bundle.
//!
//! The importer turns `Organization`, `Location`, `HealthcareService` and
//! `Schedule` resources into the admin [`Command`]s that create them
//! (`define_service`, `register_facility`, `define_agenda`), in an order the
//! engine accepts. It never changes anything itself and never panics: what
//! cannot be mapped comes back as a list of `{resource, id, problem}`, and the
//! rest is still imported (a Schedule whose Location failed fails too, with a
//! problem that says so).
//!
//! What is read, and from where:
//!
//! | Enlace | read from | when absent |
//! |---|---|---|
//! | agency | `Location.managingOrganization` → the Organization's `urn:enlace:agency` identifier, else its id | `default_agency`, else a problem |
//! | facility id | `Location.identifier` in `urn:enlace:facility`, else the resource id | — |
//! | tier | `Location.type` coding in `urn:enlace:tier` | `default_tier`, else a problem |
//! | region | `Location.address.district`, `.state` or `.city` | `default_region`, else a problem |
//! | time zone | the `http://hl7.org/fhir/StructureDefinition/timezone` extension | `default_time_zone`, else a problem |
//! | service code and name | `HealthcareService.type` (the `urn:enlace:service` coding, else the first coding), `.name` | a problem |
//! | service slot length | extension `urn:enlace:fhir:slot-minutes` | `default_slot_minutes`, else a problem |
//! | services of a facility | the HealthcareServices whose `location` is the Location | none |
//! | agenda id | `Schedule.identifier` in `urn:enlace:agenda`, else the resource id | — |
//! | agenda facility / service | the Schedule's Location and HealthcareService actors (else `serviceType`) | a problem |
//! | practitioner | a Practitioner(Role) actor's display | none |
//! | weekly rules | extensions `urn:enlace:fhir:agenda-rule`, else the HealthcareService's `availableTime` (`allDay` is 00:00–23:59) | a problem |
//! | validity | `planningHorizon` start and end dates | start: a problem; end: open-ended |
//! | booking policy | extensions `capacity`, `overbooking`, `horizon-days`, `min-notice-minutes`, `referral-share-percent`, `slot-minutes` | 1 place, no overbooking, `default_horizon_days` (else 90), no notice, no share, the service's slot |
//!
//! Everything the engine would refuse (ids with spaces, overlapping rules, a
//! facility that does not offer the agenda's service…) is reported here, so
//! the commands returned run as they are.

mod bundle;
mod directory;
mod schedule;

use super::EXTENSION_BASE;
use crate::command::Command;
use crate::facility::Tier;
use chrono::{NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// Booking horizon of an imported agenda that says none, in days.
pub const DEFAULT_HORIZON_DAYS: u16 = 90;

/// Values for what FHIR resources from elsewhere usually do not say. All
/// `None` (the default) is strict: every missing value is a problem.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImportOptions {
    /// IANA time zone of Locations without the timezone extension.
    pub default_time_zone: Option<String>,
    /// Level of care of Locations without an Enlace tier coding.
    pub default_tier: Option<Tier>,
    /// Region of Locations without a district, state or city.
    pub default_region: Option<String>,
    /// Agency of Locations without a managing Organization in the bundle.
    pub default_agency: Option<String>,
    /// Slot length of HealthcareServices without the slot-minutes extension.
    pub default_slot_minutes: Option<u16>,
    /// Booking horizon of Schedules without the horizon-days extension
    /// (default [`DEFAULT_HORIZON_DAYS`]).
    pub default_horizon_days: Option<u16>,
}

/// One thing that could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportProblem {
    /// The resource type (`Location`), or `Bundle` for the bundle itself.
    pub resource: String,
    /// The resource id, or `entry[i]` for an entry without one.
    pub id: String,
    pub problem: String,
}

/// The commands an import produced and what it could not map.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportResult {
    /// `define_service`, then `register_facility`, then `define_agenda`
    /// commands, to execute in order as a network admin.
    pub commands: Vec<Command>,
    pub problems: Vec<ImportProblem>,
    /// `Type/id` of resources of kinds the importer does not read.
    pub ignored: Vec<String>,
}

impl ImportResult {
    /// True when everything in the input was mapped.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

#[derive(Debug)]
struct Res<'a> {
    rt: &'a str,
    id: String,
    v: &'a Value,
}

#[derive(Debug)]
enum Resolved {
    Found(usize),
    /// A reference to something not in the bundle (its text).
    Missing(String),
    /// No `reference` at all (only a display or an identifier).
    Absent,
}

#[derive(Debug)]
struct HsInfo {
    res: usize,
    code: String,
    locations: Vec<usize>,
}

#[derive(Debug)]
struct Importer<'a> {
    options: &'a ImportOptions,
    resources: Vec<Res<'a>>,
    by_key: HashMap<String, usize>,
    problems: Vec<ImportProblem>,
}

/// Maps a FHIR Bundle (or a single resource) to Enlace admin commands.
///
/// ```
/// use enlace_core::interop::fhir_import::{import_bundle, ImportOptions};
/// let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
///     {"resource": {"resourceType": "Location", "id": "x", "name": "Clinic"}}
/// ]});
/// let out = import_bundle(&bundle, &ImportOptions::default());
/// assert!(out.commands.is_empty());
/// assert!(out.problems.iter().any(|p| p.resource == "Location" && p.problem.contains("time zone")));
/// ```
pub fn import_bundle(input: &Value, options: &ImportOptions) -> ImportResult {
    let mut im = Importer {
        options,
        resources: Vec::new(),
        by_key: HashMap::new(),
        problems: Vec::new(),
    };
    im.collect(input);
    let mut out = ImportResult::default();
    let (services, hs) = im.services();
    let facilities = im.facilities(&services, &hs);
    let agendas = im.agendas(&services, &hs, &facilities);
    out.commands.extend(
        services
            .into_iter()
            .map(|(s, _)| Command::DefineService { service: s }),
    );
    out.commands.extend(
        facilities
            .into_iter()
            .map(|(_, f)| Command::RegisterFacility { facility: f }),
    );
    out.commands.extend(
        agendas
            .into_iter()
            .map(|a| Command::DefineAgenda { agenda: a }),
    );
    for r in &im.resources {
        if !matches!(
            r.rt,
            "Organization" | "Location" | "HealthcareService" | "Schedule"
        ) {
            out.ignored.push(format!("{}/{}", r.rt, r.id));
        }
    }
    out.problems = im.problems;
    out
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The codings of a CodeableConcept or of a list of them.
fn codings(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(list)) => list.iter().flat_map(|c| array(c, "coding")).collect(),
        Some(c @ Value::Object(_)) => array(c, "coding").iter().collect(),
        _ => Vec::new(),
    }
}

/// The value of an identifier of `system`, if the resource has one.
fn identifier_in<'a>(v: &'a Value, system: &str) -> Option<&'a str> {
    array(v, "identifier")
        .iter()
        .find(|i| str_of(i, "system") == Some(system))
        .and_then(|i| str_of(i, "value"))
}

/// The Enlace extensions named `name` of a resource.
fn extensions<'a>(v: &'a Value, name: &str) -> impl Iterator<Item = &'a Value> {
    let url = format!("{EXTENSION_BASE}{name}");
    array(v, "extension")
        .iter()
        .filter(move |e| str_of(e, "url") == Some(url.as_str()))
}

fn date_of(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

fn time_of(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M"))
        .ok()
}

fn weekday_of(code: &str) -> Option<Weekday> {
    Some(match code {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    })
}

/// A code as the engine accepts it (1..=64 characters, no spaces).
fn check_code(field: &str, v: &str) -> Result<(), String> {
    crate::validate::code(field, v).map_err(|e| e.to_string())
}

fn check_text(field: &str, v: &str, max: usize) -> Result<(), String> {
    crate::validate::text(field, v, max).map_err(|e| e.to_string())
}
