//! Agendas from Schedules: actors, weekly rules, validity and booking
//! policy.

use super::{
    DEFAULT_HORIZON_DAYS, HsInfo, Importer, Resolved, array, check_code, check_text, codings,
    date_of, extensions, identifier_in, str_of, time_of, weekday_of,
};
use crate::agenda::{AgendaConfig, WeeklyBlock};
use crate::facility::{Facility, Service};
use crate::interop::{EXTENSION_BASE, SYSTEM_AGENDA, SYSTEM_SERVICE};
use chrono::{NaiveDate, NaiveTime};
use serde_json::Value;

/// What a Schedule's actors name.
struct Actors<'h> {
    location: Option<usize>,
    service_hs: Option<&'h HsInfo>,
    practitioner: Option<String>,
}

/// An agenda's booking policy as its extensions give it; `None` where one is
/// absent without a default, or was a problem.
struct Policy {
    /// The booking horizon of an agenda that gives none.
    horizon_default: u64,
    slot_minutes: Option<u64>,
    capacity: Option<u64>,
    overbooking: Option<u64>,
    horizon_days: Option<u64>,
    min_notice: Option<u64>,
    share: Option<u64>,
}

impl<'a> Importer<'a> {
    pub(super) fn agendas(
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

    /// The agenda of a Schedule, or `None` with its problems recorded. Each
    /// step below records its own problems, in the order a reader of the
    /// Schedule meets them.
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
        let Actors {
            location,
            service_hs,
            practitioner,
        } = self.actors(idx, hs);
        // The facility: the Location actor, else the service's only location.
        let location = location.or_else(|| match service_hs.map(|h| h.locations.as_slice()) {
            Some([only]) => Some(*only),
            _ => None,
        });
        let facility = self.facility_of(idx, location, facilities);
        // The service: the HealthcareService actor, else serviceType.
        let code = match service_hs {
            Some(h) => Some(h.code.clone()),
            None => self.service_type(idx, services),
        };
        let service = self.service_of(idx, code.as_deref(), services, facility);
        let rules = self.rules(idx, service_hs, location, code.as_deref(), hs);
        let (valid_from, valid_to) = self.planning_horizon(idx);
        let policy = self.policy(idx);
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
            slot_minutes: policy.slot_minutes.map(|n| n as u16),
            capacity: policy.capacity.unwrap_or(1) as u16,
            overbooking: policy.overbooking.unwrap_or(0) as u16,
            horizon_days: policy.horizon_days.unwrap_or(policy.horizon_default) as u16,
            min_notice_minutes: policy.min_notice.unwrap_or(0) as u32,
            referral_share_percent: policy.share.unwrap_or(0) as u8,
        };
        if let Err(e) = config.validate(s.slot_minutes) {
            self.problem(idx, e.to_string());
            return None;
        }
        Some(config)
    }

    /// The Schedule's actors: its Location, its HealthcareService and its
    /// practitioner (by display).
    fn actors<'h>(&mut self, idx: usize, hs: &'h [HsInfo]) -> Actors<'h> {
        let v = self.resources[idx].v;
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
        Actors {
            location,
            service_hs,
            practitioner,
        }
    }

    /// The imported facility of the Schedule's Location.
    fn facility_of<'f>(
        &mut self,
        idx: usize,
        location: Option<usize>,
        facilities: &'f [(usize, Facility)],
    ) -> Option<&'f Facility> {
        match location {
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
        }
    }

    /// The service code of a Schedule without a HealthcareService actor,
    /// from its `serviceType`.
    fn service_type(&mut self, idx: usize, services: &[(Service, usize)]) -> Option<String> {
        let v = self.resources[idx].v;
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
            let listed: Vec<&str> = types.iter().filter_map(|c| str_of(c, "code")).collect();
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

    /// The imported service of code `code`, which the facility must offer.
    fn service_of<'s>(
        &mut self,
        idx: usize,
        code: Option<&str>,
        services: &'s [(Service, usize)],
        facility: Option<&Facility>,
    ) -> Option<&'s Service> {
        let service = code.and_then(|c| services.iter().find(|(s, _)| s.code == c).map(|(s, _)| s));
        if let (Some(c), None) = (code, service) {
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
        service
    }

    /// The agenda's validity, from `planningHorizon`: (first day, last day).
    fn planning_horizon(&mut self, idx: usize) -> (Option<NaiveDate>, Option<NaiveDate>) {
        let v = self.resources[idx].v;
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
        (valid_from, valid_to)
    }

    /// The booking policy from the Enlace number extensions.
    fn policy(&mut self, idx: usize) -> Policy {
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
        Policy {
            horizon_default,
            slot_minutes,
            capacity,
            overbooking,
            horizon_days,
            min_notice,
            share,
        }
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
