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

use super::{
    EXTENSION_BASE, EXTENSION_TIMEZONE, SYSTEM_AGENCY, SYSTEM_AGENDA, SYSTEM_FACILITY,
    SYSTEM_SERVICE, SYSTEM_TIER,
};
use crate::agenda::{AgendaConfig, WeeklyBlock};
use crate::command::Command;
use crate::facility::{Facility, Service, Tier};
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
    crate::decide::code(field, v).map_err(|e| e.to_string())
}

fn check_text(field: &str, v: &str, max: usize) -> Result<(), String> {
    crate::decide::text(field, v, max).map_err(|e| e.to_string())
}

impl<'a> Importer<'a> {
    fn problem(&mut self, idx: usize, problem: impl Into<String>) {
        let (rt, id) = self
            .resources
            .get(idx)
            .map_or(("Bundle", String::new()), |r| (r.rt, r.id.clone()));
        self.problems.push(ImportProblem {
            resource: rt.to_owned(),
            id,
            problem: problem.into(),
        });
    }

    fn bundle_problem(&mut self, id: String, problem: impl Into<String>) {
        self.problems.push(ImportProblem {
            resource: "Bundle".to_owned(),
            id,
            problem: problem.into(),
        });
    }

    fn collect(&mut self, input: &'a Value) {
        let Some(rt) = input.get("resourceType").and_then(Value::as_str) else {
            self.bundle_problem(
                String::new(),
                "the input is not a FHIR resource: no resourceType",
            );
            return;
        };
        if rt != "Bundle" {
            self.add(input, None, 0);
            return;
        }
        match input.get("entry") {
            None => {}
            Some(Value::Array(entries)) => {
                for (i, e) in entries.iter().enumerate() {
                    let full_url = str_of(e, "fullUrl");
                    match e.get("resource") {
                        Some(r) if r.get("resourceType").and_then(Value::as_str).is_some() => {
                            self.add(r, full_url, i);
                        }
                        _ => self.bundle_problem(
                            format!("entry[{i}]"),
                            "the entry has no resource with a resourceType",
                        ),
                    }
                }
            }
            Some(_) => self.bundle_problem(String::new(), "Bundle.entry is not an array"),
        }
    }

    fn add(&mut self, r: &'a Value, full_url: Option<&str>, i: usize) {
        let rt = r
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let id = str_of(r, "id").map_or_else(|| format!("entry[{i}]"), str::to_owned);
        let idx = self.resources.len();
        if str_of(r, "id").is_some() {
            self.by_key.entry(format!("{rt}/{id}")).or_insert(idx);
        }
        if let Some(u) = full_url {
            self.by_key.entry(u.to_owned()).or_insert(idx);
        }
        self.resources.push(Res { rt, id, v: r });
    }

    fn of_type(&self, rt: &str) -> Vec<usize> {
        (0..self.resources.len())
            .filter(|&i| self.resources[i].rt == rt)
            .collect()
    }

    fn resolve(&self, reference: &Value) -> Resolved {
        let Some(text) = str_of(reference, "reference") else {
            return Resolved::Absent;
        };
        if let Some(&i) = self.by_key.get(text) {
            return Resolved::Found(i);
        }
        // `[base/]Type/id[/_history/n]`: keep `Type/id`.
        let path = text.split("/_history/").next().unwrap_or(text);
        let mut parts = path.rsplit('/');
        if let (Some(id), Some(rt)) = (parts.next(), parts.next())
            && let Some(&i) = self.by_key.get(&format!("{rt}/{id}"))
        {
            return Resolved::Found(i);
        }
        Resolved::Missing(text.to_owned())
    }

    /// Services from HealthcareServices, first definition of a code wins.
    fn services(&mut self) -> (Vec<(Service, usize)>, Vec<HsInfo>) {
        let mut services: Vec<(Service, usize)> = Vec::new();
        let mut infos = Vec::new();
        for idx in self.of_type("HealthcareService") {
            let v = self.resources[idx].v;
            if v.get("active").and_then(Value::as_bool) == Some(false) {
                self.problem(idx, "inactive (active: false): not imported");
                continue;
            }
            let types = codings(v.get("type"));
            let coding = types
                .iter()
                .find(|c| {
                    str_of(c, "system") == Some(SYSTEM_SERVICE) && str_of(c, "code").is_some()
                })
                .or_else(|| types.iter().find(|c| str_of(c, "code").is_some()));
            let Some(coding) = coding else {
                self.problem(idx, "no coding in type: the service code is unknown");
                continue;
            };
            let code = str_of(coding, "code").unwrap_or_default().to_owned();
            if let Err(e) = check_code("type.coding.code", &code) {
                self.problem(idx, e);
                continue;
            }
            let name = str_of(v, "name")
                .or_else(|| str_of(coding, "display"))
                .or_else(|| {
                    v.get("type")
                        .and_then(|t| t.get(0))
                        .and_then(|t| str_of(t, "text"))
                })
                .unwrap_or(&code)
                .to_owned();
            if let Err(e) = check_text("name", &name, 200) {
                self.problem(idx, e);
                continue;
            }
            let slot = match extensions(v, "slot-minutes").next() {
                Some(e) => {
                    match e.get("valuePositiveInt").and_then(Value::as_u64) {
                        Some(m) if (5..=480).contains(&m) => Some(m as u16),
                        _ => {
                            self.problem(idx, "extension slot-minutes: valuePositiveInt between 5 and 480 expected");
                            continue;
                        }
                    }
                }
                None => self.options.default_slot_minutes,
            };
            let Some(slot_minutes) = slot else {
                self.problem(
                    idx,
                    format!("no slot length: neither the {EXTENSION_BASE}slot-minutes extension nor a default_slot_minutes option"),
                );
                continue;
            };
            if !(5..=480).contains(&slot_minutes) {
                self.problem(idx, "default_slot_minutes must be between 5 and 480");
                continue;
            }
            let mut locations = Vec::new();
            for l in array(v, "location") {
                match self.resolve(l) {
                    Resolved::Found(i) if self.resources[i].rt == "Location" => locations.push(i),
                    Resolved::Found(i) => {
                        let rt = self.resources[i].rt;
                        self.problem(idx, format!("location refers to a {rt}, not a Location"));
                    }
                    Resolved::Missing(text) => self.problem(
                        idx,
                        format!("location {text} is not in the bundle: the service is defined but offered nowhere by it"),
                    ),
                    Resolved::Absent => self.problem(idx, "a location has no reference"),
                }
            }
            match services.iter().find(|(s, _)| s.code == code) {
                Some((s, first)) => {
                    if s.name != name || s.slot_minutes != slot_minutes {
                        let first_id = self.resources[*first].id.clone();
                        self.problem(
                            idx,
                            format!(
                                "service {code} is already defined by HealthcareService/{first_id} as \"{}\" with {}-minute slots; this one's name and slot length are ignored",
                                s.name, s.slot_minutes
                            ),
                        );
                    }
                }
                None => services.push((
                    Service {
                        code: code.clone(),
                        name,
                        slot_minutes,
                    },
                    idx,
                )),
            }
            infos.push(HsInfo {
                res: idx,
                code,
                locations,
            });
        }
        (services, infos)
    }

    /// The agency of a Location, from its managing Organization.
    fn agency(&mut self, idx: usize) -> Option<String> {
        let v = self.resources[idx].v;
        let default = self.options.default_agency.clone();
        let agency = match v.get("managingOrganization").map(|r| self.resolve(r)) {
            Some(Resolved::Found(i)) if self.resources[i].rt == "Organization" => {
                let org = &self.resources[i];
                Some(
                    identifier_in(org.v, SYSTEM_AGENCY)
                        .map_or_else(|| org.id.clone(), str::to_owned),
                )
            }
            Some(Resolved::Found(i)) => {
                let rt = self.resources[i].rt;
                self.problem(idx, format!("managingOrganization refers to a {rt}"));
                return None;
            }
            Some(Resolved::Missing(text)) => {
                if default.is_none() {
                    self.problem(idx, format!("managingOrganization {text} is not in the bundle: the agency is unknown"));
                }
                default
            }
            Some(Resolved::Absent) | None => {
                if default.is_none() {
                    self.problem(
                        idx,
                        "no managingOrganization and no default_agency: the agency is unknown",
                    );
                }
                default
            }
        }?;
        match check_code("agency", &agency) {
            Ok(()) => Some(agency),
            Err(e) => {
                self.problem(idx, e);
                None
            }
        }
    }

    /// Facilities from Locations: (Location index, facility).
    fn facilities(
        &mut self,
        services: &[(Service, usize)],
        hs: &[HsInfo],
    ) -> Vec<(usize, Facility)> {
        let mut out: Vec<(usize, Facility)> = Vec::new();
        for idx in self.of_type("Location") {
            let v = self.resources[idx].v;
            let before = self.problems.len();
            if str_of(v, "mode") == Some("kind") {
                self.problem(idx, "mode is kind (a class of locations), not a facility");
                continue;
            }
            if let Some(s) = str_of(v, "status").filter(|s| *s != "active") {
                self.problem(
                    idx,
                    format!("status is {s}: only active locations are imported"),
                );
                continue;
            }
            let id = identifier_in(v, SYSTEM_FACILITY)
                .map_or_else(|| self.resources[idx].id.clone(), str::to_owned);
            if let Err(e) = check_code("facility id", &id) {
                self.problem(idx, e);
            }
            let name = str_of(v, "name").unwrap_or_default().to_owned();
            if let Err(e) = check_text("name", &name, 200) {
                self.problem(idx, e);
            }
            let agency = self.agency(idx);
            let tiers: Vec<&str> = codings(v.get("type"))
                .into_iter()
                .filter(|c| str_of(c, "system") == Some(SYSTEM_TIER))
                .filter_map(|c| str_of(c, "code"))
                .collect();
            let tier = match tiers.first() {
                Some(code) => match code.parse::<u8>().ok().and_then(|n| Tier::try_from(n).ok()) {
                    Some(t) => Some(t),
                    None => {
                        self.problem(idx, format!("type: tier code {code:?} is not 1, 2 or 3"));
                        None
                    }
                },
                None => {
                    if self.options.default_tier.is_none() {
                        self.problem(idx, format!("no {SYSTEM_TIER} coding in type and no default_tier: the level of care is unknown"));
                    }
                    self.options.default_tier
                }
            };
            let address = v.get("address").unwrap_or(&Value::Null);
            let region = str_of(address, "district")
                .or_else(|| str_of(address, "state"))
                .or_else(|| str_of(address, "city"))
                .map(str::to_owned)
                .or_else(|| self.options.default_region.clone());
            match &region {
                None => self.problem(idx, "no address district, state or city and no default_region: the region is unknown"),
                Some(r) => {
                    if let Err(e) = check_text("region", r, 100) {
                        self.problem(idx, e);
                    }
                }
            }
            let tz = array(v, "extension")
                .iter()
                .find(|e| str_of(e, "url") == Some(EXTENSION_TIMEZONE))
                .map(|e| str_of(e, "valueCode").unwrap_or_default().to_owned())
                .or_else(|| self.options.default_time_zone.clone());
            match &tz {
                None => self.problem(idx, format!("no time zone: neither the {EXTENSION_TIMEZONE} extension nor a default_time_zone option")),
                Some(t) if t.parse::<chrono_tz::Tz>().is_err() => {
                    self.problem(idx, format!("unknown time zone {t:?} (an IANA name is expected)"));
                }
                Some(_) => {}
            }
            if out.iter().any(|(_, f)| f.id == id) {
                self.problem(
                    idx,
                    format!("facility {id} is already defined by an earlier Location"),
                );
            }
            let mut offered: Vec<String> = Vec::new();
            for h in hs.iter().filter(|h| h.locations.contains(&idx)) {
                if services.iter().any(|(s, _)| s.code == h.code) && !offered.contains(&h.code) {
                    offered.push(h.code.clone());
                }
            }
            if self.problems.len() > before {
                continue;
            }
            if let (Some(agency), Some(tier), Some(region), Some(time_zone)) =
                (agency, tier, region, tz)
            {
                out.push((
                    idx,
                    Facility {
                        id,
                        name,
                        agency,
                        tier,
                        region,
                        time_zone,
                        services: offered,
                    },
                ));
            }
        }
        out
    }

    fn agendas(
        &mut self,
        services: &[(Service, usize)],
        hs: &[HsInfo],
        facilities: &[(usize, Facility)],
    ) -> Vec<AgendaConfig> {
        let mut out: Vec<AgendaConfig> = Vec::new();
        for idx in self.of_type("Schedule") {
            if let Some(a) = self.agenda(idx, services, hs, facilities) {
                if out.iter().any(|o| o.id == a.id) {
                    self.problem(
                        idx,
                        format!("agenda {} is already defined by an earlier Schedule", a.id),
                    );
                } else {
                    out.push(a);
                }
            }
        }
        out
    }

    fn agenda(
        &mut self,
        idx: usize,
        services: &[(Service, usize)],
        hs: &[HsInfo],
        facilities: &[(usize, Facility)],
    ) -> Option<AgendaConfig> {
        let v = self.resources[idx].v;
        if v.get("active").and_then(Value::as_bool) == Some(false) {
            self.problem(idx, "inactive (active: false): not imported");
            return None;
        }
        let before = self.problems.len();
        let id = identifier_in(v, SYSTEM_AGENDA)
            .map_or_else(|| self.resources[idx].id.clone(), str::to_owned);
        if let Err(e) = check_code("agenda id", &id) {
            self.problem(idx, e);
        }
        let mut location: Option<usize> = None;
        let mut service_hs: Option<&HsInfo> = None;
        let mut practitioner: Option<String> = None;
        for actor in array(v, "actor") {
            let declared = str_of(actor, "type");
            let text = str_of(actor, "reference").unwrap_or_default();
            let is_practitioner = |t: &str| t == "Practitioner" || t == "PractitionerRole";
            match self.resolve(actor) {
                Resolved::Found(i) => match self.resources[i].rt {
                    "Location" => location = location.or(Some(i)),
                    "HealthcareService" => match hs.iter().find(|h| h.res == i) {
                        Some(h) => service_hs = service_hs.or(Some(h)),
                        None => self.problem(
                            idx,
                            format!("actor {text}: that HealthcareService could not be imported"),
                        ),
                    },
                    rt if is_practitioner(rt) => {
                        practitioner = practitioner.or_else(|| {
                            str_of(actor, "display")
                                .map(str::to_owned)
                                .or_else(|| Some(self.resources[i].id.clone()))
                        });
                    }
                    _ => {}
                },
                Resolved::Missing(text) => {
                    let rt = text.rsplit('/').nth(1).unwrap_or_default();
                    if is_practitioner(rt) || declared.is_some_and(is_practitioner) {
                        practitioner = practitioner.or_else(|| {
                            str_of(actor, "display")
                                .map(str::to_owned)
                                .or_else(|| text.rsplit('/').next().map(str::to_owned))
                        });
                    } else if rt == "Location" || rt == "HealthcareService" {
                        self.problem(idx, format!("actor {text} is not in the bundle"));
                    }
                }
                Resolved::Absent => {
                    if declared.is_some_and(is_practitioner) {
                        practitioner =
                            practitioner.or_else(|| str_of(actor, "display").map(str::to_owned));
                    }
                }
            }
        }
        // The facility: the Location actor, else the service's only location.
        let location = location.or_else(|| match service_hs.map(|h| h.locations.as_slice()) {
            Some([only]) => Some(*only),
            _ => None,
        });
        let facility = match location {
            None => {
                self.problem(
                    idx,
                    "no Location actor in the bundle: the facility is unknown",
                );
                None
            }
            Some(l) => match facilities.iter().find(|(i, _)| *i == l) {
                Some((_, f)) => Some(f),
                None => {
                    let lid = self.resources[l].id.clone();
                    self.problem(idx, format!("its Location/{lid} could not be imported"));
                    None
                }
            },
        };
        // The service: the HealthcareService actor, else serviceType.
        let code = match service_hs {
            Some(h) => Some(h.code.clone()),
            None => {
                let types = codings(v.get("serviceType"));
                let enlace = types
                    .iter()
                    .find(|c| str_of(c, "system") == Some(SYSTEM_SERVICE))
                    .and_then(|c| str_of(c, "code"));
                let known = types
                    .iter()
                    .filter_map(|c| str_of(c, "code"))
                    .find(|c| services.iter().any(|(s, _)| s.code == *c));
                let found = enlace.or(known).map(str::to_owned);
                if found.is_none() {
                    let listed: Vec<&str> =
                        types.iter().filter_map(|c| str_of(c, "code")).collect();
                    self.problem(
                        idx,
                        if listed.is_empty() {
                            "no HealthcareService actor and no serviceType: the service is unknown".to_owned()
                        } else {
                            format!(
                                "serviceType {} matches no HealthcareService in the bundle: the service is unknown",
                                listed.join(", ")
                            )
                        },
                    );
                }
                found
            }
        };
        let service = code
            .as_ref()
            .and_then(|c| services.iter().find(|(s, _)| &s.code == c).map(|(s, _)| s));
        if let (Some(c), None) = (&code, service) {
            self.problem(
                idx,
                format!("service {c} is not defined by any HealthcareService in the bundle"),
            );
        }
        if let (Some(f), Some(s)) = (facility, service)
            && !f.offers(&s.code)
        {
            self.problem(
                idx,
                format!("facility {} does not offer service {} (no HealthcareService of it at that Location)", f.id, s.code),
            );
        }
        let rules = self.rules(idx, service_hs, location, code.as_deref(), hs);
        let horizon = v.get("planningHorizon").unwrap_or(&Value::Null);
        let valid_from = str_of(horizon, "start").and_then(date_of);
        if valid_from.is_none() {
            self.problem(
                idx,
                "no planningHorizon.start date: the agenda's first day is unknown",
            );
        }
        let valid_to = match str_of(horizon, "end") {
            Some(e) => match date_of(e) {
                Some(d) => Some(d),
                None => {
                    self.problem(idx, format!("planningHorizon.end {e:?} is not a date"));
                    None
                }
            },
            None => None,
        };
        let horizon_default = u64::from(
            self.options
                .default_horizon_days
                .unwrap_or(DEFAULT_HORIZON_DAYS),
        );
        let slot_minutes = self.number(idx, "slot-minutes", "valuePositiveInt", None, 480);
        let capacity = self.number(idx, "capacity", "valuePositiveInt", Some(1), 1000);
        let overbooking = self.number(idx, "overbooking", "valueUnsignedInt", Some(0), 1000);
        let horizon_days = self.number(
            idx,
            "horizon-days",
            "valuePositiveInt",
            Some(horizon_default),
            730,
        );
        let min_notice = self.number(
            idx,
            "min-notice-minutes",
            "valueUnsignedInt",
            Some(0),
            u64::from(u32::MAX),
        );
        let share = self.number(
            idx,
            "referral-share-percent",
            "valueUnsignedInt",
            Some(0),
            100,
        );
        if let Some(p) = &practitioner
            && let Err(e) = check_text("practitioner", p, 200)
        {
            self.problem(idx, e);
        }
        if self.problems.len() > before {
            return None;
        }
        let (Some(f), Some(s), Some(rules), Some(valid_from)) =
            (facility, service, rules, valid_from)
        else {
            return None;
        };
        // Every number was checked against its maximum above.
        let config = AgendaConfig {
            id,
            facility: f.id.clone(),
            service: s.code.clone(),
            practitioner,
            rules,
            valid_from,
            valid_to,
            slot_minutes: slot_minutes.map(|n| n as u16),
            capacity: capacity.unwrap_or(1) as u16,
            overbooking: overbooking.unwrap_or(0) as u16,
            horizon_days: horizon_days.unwrap_or(horizon_default) as u16,
            min_notice_minutes: min_notice.unwrap_or(0) as u32,
            referral_share_percent: share.unwrap_or(0) as u8,
        };
        if let Err(e) = config.validate(s.slot_minutes) {
            self.problem(idx, e.to_string());
            return None;
        }
        Some(config)
    }

    /// An Enlace number extension at most `max`, or `default`; a malformed
    /// or out-of-range one is a problem (and `None`).
    fn number(
        &mut self,
        idx: usize,
        name: &str,
        key: &str,
        default: Option<u64>,
        max: u64,
    ) -> Option<u64> {
        let v = self.resources[idx].v;
        let found: Vec<&Value> = extensions(v, name).collect();
        match found.as_slice() {
            [] => default,
            [e] => match e.get(key).and_then(Value::as_u64) {
                Some(n) if n <= max => Some(n),
                Some(n) => {
                    self.problem(
                        idx,
                        format!("extension {EXTENSION_BASE}{name}: {n} is more than {max}"),
                    );
                    None
                }
                None => {
                    self.problem(
                        idx,
                        format!("extension {EXTENSION_BASE}{name}: a {key} expected"),
                    );
                    None
                }
            },
            _ => {
                self.problem(
                    idx,
                    format!("extension {EXTENSION_BASE}{name} appears more than once"),
                );
                None
            }
        }
    }

    /// Weekly rules: the agenda-rule extensions, else the availableTime of
    /// the Schedule's HealthcareService (or of the service at its Location).
    fn rules(
        &mut self,
        idx: usize,
        service_hs: Option<&HsInfo>,
        location: Option<usize>,
        code: Option<&str>,
        hs: &[HsInfo],
    ) -> Option<Vec<WeeklyBlock>> {
        let v = self.resources[idx].v;
        let own: Vec<&Value> = extensions(v, "agenda-rule").collect();
        if !own.is_empty() {
            let mut rules = Vec::new();
            for (i, e) in own.iter().enumerate() {
                let part = |name: &str, key: &str| {
                    array(e, "extension")
                        .iter()
                        .find(|p| str_of(p, "url") == Some(name))
                        .and_then(|p| str_of(p, key))
                };
                let day = part("day", "valueCode").and_then(weekday_of);
                let start = part("start", "valueTime").and_then(time_of);
                let end = part("end", "valueTime").and_then(time_of);
                match (day, start, end) {
                    (Some(day), Some(start), Some(end)) => {
                        rules.push(WeeklyBlock { day, start, end })
                    }
                    _ => {
                        self.problem(
                            idx,
                            format!(
                                "agenda-rule[{i}]: day (mon…sun), start and end (hh:mm:ss) expected"
                            ),
                        );
                        return None;
                    }
                }
            }
            return Some(rules);
        }
        let source = service_hs.or_else(|| {
            hs.iter().find(|h| {
                Some(h.code.as_str()) == code && location.is_some_and(|l| h.locations.contains(&l))
            })
        });
        let Some(h) = source else {
            self.problem(idx, format!("no weekly availability: neither {EXTENSION_BASE}agenda-rule extensions nor a HealthcareService with availableTime"));
            return None;
        };
        let hv = self.resources[h.res].v;
        let hid = self.resources[h.res].id.clone();
        let mut rules = Vec::new();
        for (i, t) in array(hv, "availableTime").iter().enumerate() {
            let all_day = t.get("allDay").and_then(Value::as_bool) == Some(true);
            let (start, end) = if all_day {
                (NaiveTime::MIN, NaiveTime::from_hms_opt(23, 59, 0))
            } else {
                (
                    str_of(t, "availableStartTime")
                        .and_then(time_of)
                        .unwrap_or(NaiveTime::MIN),
                    str_of(t, "availableEndTime").and_then(time_of),
                )
            };
            let Some(end) = end else {
                self.problem(
                    idx,
                    format!("HealthcareService/{hid} availableTime[{i}] has no availableEndTime"),
                );
                return None;
            };
            let days = array(t, "daysOfWeek");
            if days.is_empty() {
                self.problem(
                    idx,
                    format!("HealthcareService/{hid} availableTime[{i}] has no daysOfWeek"),
                );
                return None;
            }
            for d in days {
                match d.as_str().and_then(weekday_of) {
                    Some(day) => rules.push(WeeklyBlock { day, start, end }),
                    None => {
                        self.problem(
                            idx,
                            format!(
                                "HealthcareService/{hid} availableTime[{i}]: {d} is not a day code"
                            ),
                        );
                        return None;
                    }
                }
            }
        }
        if rules.is_empty() {
            self.problem(
                idx,
                format!("no weekly availability: HealthcareService/{hid} has no availableTime"),
            );
            return None;
        }
        Some(rules)
    }
}
