//! Services from HealthcareServices, facilities from Locations (and their
//! agencies from Organizations).

use super::{
    HsInfo, Importer, Resolved, array, check_code, check_text, codings, extensions, identifier_in,
    str_of,
};
use crate::facility::{Facility, Service, Tier};
use crate::interop::{
    EXTENSION_BASE, EXTENSION_TIMEZONE, SYSTEM_AGENCY, SYSTEM_FACILITY, SYSTEM_SERVICE, SYSTEM_TIER,
};
use serde_json::Value;

impl<'a> Importer<'a> {
    /// Services from HealthcareServices, first definition of a code wins.
    pub(super) fn services(&mut self) -> (Vec<(Service, usize)>, Vec<HsInfo>) {
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
    pub(super) fn facilities(
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
}
