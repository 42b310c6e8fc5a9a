//! FHIR searches and reads over the state, and the CapabilityStatement that
//! lists them: what a host's read-only `/fhir/` endpoints answer.
//!
//! The host passes the query string's parameters unchanged; this module
//! parses them (FHIR date prefixes, token lists, references), filters, and
//! returns a `searchset` Bundle. Authorization stays with the host, like for
//! every other query. An unsupported parameter is an error rather than
//! silently ignored, so a client never mistakes an unfiltered answer for a
//! filtered one.

use super::InteropError;
use super::fhir::{self, BundleType, MAX_SLOTS, MAX_WINDOW_DAYS, ResourceKind, Window};
use crate::interop::build::fhir;
use crate::referral::Referral;
use crate::state::State;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a search or read needs besides the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchContext {
    /// The instant of the request (Bundle timestamp; default slot window).
    pub now: DateTime<Utc>,
    /// The server's FHIR base URL, for `fullUrl`s and the CapabilityStatement.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Identifier system of beneficiaries' national ids.
    #[serde(default)]
    pub national_id_system: Option<String>,
}

/// Results per page unless `_count` says otherwise, and the most it may say.
const DEFAULT_COUNT: usize = 100;
const MAX_COUNT: usize = 1000;
/// Days of slots searched when `start` gives no upper bound.
const DEFAULT_SLOT_DAYS: i64 = 7;

/// The search parameters supported per resource type (besides `_id` and
/// `_count`), with their FHIR types, as the CapabilityStatement lists them.
const PARAMS: [(&str, &[(&str, &str)]); 12] = [
    ("Organization", &[]),
    ("Location", &[]),
    ("HealthcareService", &[("location", "reference")]),
    ("Schedule", &[("actor", "reference"), ("active", "token")]),
    (
        "Slot",
        &[
            ("schedule", "reference"),
            ("start", "date"),
            ("status", "token"),
        ],
    ),
    (
        "Appointment",
        &[
            ("patient", "reference"),
            ("actor", "reference"),
            ("date", "date"),
            ("status", "token"),
        ],
    ),
    ("Patient", &[("identifier", "token")]),
    ("Coverage", &[("beneficiary", "reference")]),
    (
        "ServiceRequest",
        &[
            ("status", "token"),
            ("priority", "token"),
            ("patient", "reference"),
        ],
    ),
    (
        "Task",
        &[
            ("owner", "reference"),
            ("status", "token"),
            ("business-status", "token"),
            ("patient", "reference"),
            ("focus", "reference"),
        ],
    ),
    ("Communication", &[("based-on", "reference")]),
    ("Contract", &[]),
];

/// Answers `GET [base]/{resource_type}?{params}` with a searchset Bundle.
/// Parameters joined with `&` must all hold; a comma inside one value means
/// "any of these".
///
/// ```
/// use enlace_core::interop::{search, SearchContext};
/// let state = enlace_core::State::new();
/// let ctx = SearchContext { now: "2026-03-02T12:00:00Z".parse().unwrap(), base_url: None, national_id_system: None };
/// let params = vec![("status".to_owned(), "booked".to_owned())];
/// let bundle = search(&state, "Appointment", &params, &ctx).unwrap();
/// assert_eq!(bundle["type"], "searchset");
/// assert_eq!(bundle["total"], 0);
/// ```
pub fn search(
    state: &State,
    resource_type: &str,
    params: &[(String, String)],
    ctx: &SearchContext,
) -> Result<Value, InteropError> {
    search_where(state, resource_type, params, ctx, &|_| true)
}

/// [`search`] over the referrals `sees` admits only (ServiceRequest, Task,
/// Communication): the others do not exist for the reader, not even in
/// `total`.
pub(crate) fn search_where(
    state: &State,
    resource_type: &str,
    params: &[(String, String)],
    ctx: &SearchContext,
    sees: &dyn Fn(&Referral) -> bool,
) -> Result<Value, InteropError> {
    let kind = ResourceKind::parse(resource_type).ok_or_else(|| {
        InteropError::UnsupportedResourceType {
            resource_type: resource_type.to_owned(),
        }
    })?;
    let supported = PARAMS
        .iter()
        .find(|(t, _)| *t == resource_type)
        .map_or(&[][..], |(_, p)| *p);
    let mut count = DEFAULT_COUNT;
    let mut filters: Vec<(&str, &str)> = Vec::new();
    for (name, value) in params {
        // Modifiers are not supported: `status:not=…` is an unknown parameter.
        match name.as_str() {
            "_count" => {
                count = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n <= MAX_COUNT)
                    .ok_or_else(|| {
                        InteropError::param("_count", format!("a number from 0 to {MAX_COUNT}"))
                    })?;
            }
            // Transport concerns, answered by the host.
            "_format" | "_pretty" => {}
            "_id" => filters.push(("_id", value)),
            n if supported.iter().any(|(p, _)| *p == n) => filters.push((n, value)),
            n => {
                return Err(InteropError::UnsupportedParameter {
                    resource_type: resource_type.to_owned(),
                    name: n.to_owned(),
                });
            }
        }
    }
    let candidates = candidates(state, kind, &filters, ctx, sees)?;
    let mut matched = Vec::new();
    for r in candidates {
        if matches(&r, &filters)? {
            matched.push(r);
        }
    }
    let total = matched.len();
    matched.truncate(count);
    Ok(fhir::bundle(
        BundleType::Searchset,
        matched,
        ctx.now,
        ctx.base_url.as_deref(),
        Some(total),
    ))
}

/// Answers `GET [base]/{resource_type}/{id}`.
pub fn read(
    state: &State,
    resource_type: &str,
    id: &str,
    ctx: &SearchContext,
) -> Result<Value, InteropError> {
    read_where(state, resource_type, id, ctx, &|_| true)
}

/// [`read`] where a referral `sees` does not admit is not found.
pub(crate) fn read_where(
    state: &State,
    resource_type: &str,
    id: &str,
    ctx: &SearchContext,
    sees: &dyn Fn(&Referral) -> bool,
) -> Result<Value, InteropError> {
    let kind = ResourceKind::parse(resource_type).ok_or_else(|| {
        InteropError::UnsupportedResourceType {
            resource_type: resource_type.to_owned(),
        }
    })?;
    let not_found = || InteropError::NotFound {
        resource_type: resource_type.to_owned(),
        id: id.to_owned(),
    };
    if kind == ResourceKind::Slot {
        // Slots are computed for a window, never stored: search them.
        return Err(not_found());
    }
    let numbered = |prefix: &str| {
        id.strip_prefix(prefix)
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|n| *n > 0)
    };
    // Direct paths for the numbered records; the rest are small lists.
    let found = match kind {
        ResourceKind::Appointment => {
            if let Some(n) = numbered("appointment-") {
                state
                    .appointment_view(n)
                    .map(|a| fhir::appointment(state, &a))
            } else if let Some(n) = numbered("waitlist-") {
                state
                    .waitlist()
                    .get(n as usize - 1)
                    .filter(|w| w.status != crate::waitlist::WaitlistStatus::Satisfied)
                    .map(|w| fhir::waitlist_appointment(state, w))
            } else {
                None
            }
        }
        ResourceKind::ServiceRequest | ResourceKind::Task => numbered("referral-")
            .and_then(|n| state.referral(n))
            .filter(|r| sees(r))
            .map(|r| {
                if kind == ResourceKind::Task {
                    fhir::task(state, r)
                } else {
                    fhir::service_request(state, r)
                }
            }),
        ResourceKind::Communication => numbered("counter-referral-")
            .and_then(|n| state.referral(n))
            .filter(|r| sees(r))
            .and_then(|r| fhir::communication(state, r)),
        _ => candidates(state, kind, &[], ctx, sees)?
            .into_iter()
            .find(|r| r["id"].as_str() == Some(id)),
    };
    found
        .filter(|r| r["id"].as_str() == Some(id))
        .ok_or_else(not_found)
}

/// The resources of `kind` a search starts from, narrowed with the state's
/// indexes where a parameter allows it.
fn candidates(
    state: &State,
    kind: ResourceKind,
    filters: &[(&str, &str)],
    ctx: &SearchContext,
    sees: &dyn Fn(&Referral) -> bool,
) -> Result<Vec<Value>, InteropError> {
    let system = ctx
        .national_id_system
        .as_deref()
        .unwrap_or(super::SYSTEM_NATIONAL_ID);
    let today = ctx.now.date_naive();
    Ok(match kind {
        ResourceKind::Slot => slots(state, filters, ctx.now)?,
        ResourceKind::Appointment => {
            // A patient parameter narrows to the beneficiary's own appointments.
            let patient = filters
                .iter()
                .find(|(n, _)| *n == "patient")
                .map(|(_, v)| *v);
            let views: Vec<_> = match patient.filter(|v| !v.contains(',')) {
                Some(p) => state
                    .beneficiaries()
                    .iter()
                    .filter(|b| reference_matches(p, "Patient", &fhir::patient_id(&b.id)))
                    .flat_map(|b| state.beneficiary_appointment_ids(&b.id))
                    .filter_map(|id| state.appointment_view(id))
                    .collect(),
                None => state.appointment_views().collect(),
            };
            // Status and date filters on the compact views first, so only
            // matching appointments are turned into JSON (`matches` checks
            // them again on the resources, to the same effect).
            let mut dates = Vec::new();
            for (_, v) in filters.iter().filter(|(n, _)| *n == "date") {
                dates.push(date_param("date", v)?);
            }
            let statuses: Vec<&str> = filters
                .iter()
                .filter(|(n, _)| *n == "status")
                .map(|(_, v)| *v)
                .collect();
            let views: Vec<_> = views
                .into_iter()
                .filter(|a| {
                    statuses
                        .iter()
                        .all(|v| token_matches(v, fhir::appointment_status(a.status)))
                        && dates.iter().all(|(p, r)| date_matches(p, *r, a.start))
                })
                .collect();
            let mut out: Vec<Value> = views.iter().map(|a| fhir::appointment(state, a)).collect();
            out.extend(
                state
                    .waitlist()
                    .iter()
                    .filter(|w| w.status != crate::waitlist::WaitlistStatus::Satisfied)
                    .map(|w| fhir::waitlist_appointment(state, w)),
            );
            out
        }
        ResourceKind::Patient => state
            .beneficiaries()
            .iter()
            .map(|b| fhir::patient(b, system))
            .collect(),
        ResourceKind::Coverage => state
            .beneficiaries()
            .iter()
            .flat_map(fhir::coverages)
            .collect(),
        ResourceKind::ServiceRequest => state
            .referrals()
            .iter()
            .filter(|r| sees(r))
            .map(|r| fhir::service_request(state, r))
            .collect(),
        ResourceKind::Task => state
            .referrals()
            .iter()
            .filter(|r| sees(r))
            .map(|r| fhir::task(state, r))
            .collect(),
        ResourceKind::Communication => state
            .referrals()
            .iter()
            .filter(|r| sees(r))
            .filter_map(|r| fhir::communication(state, r))
            .collect(),
        ResourceKind::Schedule => state
            .agendas()
            .map(|a| fhir::schedule(state, a, today))
            .collect(),
        other => {
            let mut req = fhir::ExportRequest::all(ctx.now);
            req.kinds = vec![other];
            req.national_id_system = ctx.national_id_system.clone();
            fhir::export_resources(state, &req)?
        }
    })
}

/// Slots for a `schedule` (optional) over the window the `start`
/// parameters give (default: a week from now).
fn slots(
    state: &State,
    filters: &[(&str, &str)],
    now: DateTime<Utc>,
) -> Result<Vec<Value>, InteropError> {
    let mut lo: Option<DateTime<Utc>> = None;
    let mut hi: Option<DateTime<Utc>> = None;
    for (_, v) in filters.iter().filter(|(n, _)| *n == "start") {
        let (prefix, range) = date_param("start", v)?;
        match prefix {
            "ge" | "eq" => lo = Some(lo.map_or(range.0, |l| l.max(range.0))),
            "gt" => lo = Some(lo.map_or(range.1, |l| l.max(range.1))),
            _ => {}
        }
        match prefix {
            "le" | "eq" => hi = Some(hi.map_or(range.1, |h| h.min(range.1))),
            "lt" => hi = Some(hi.map_or(range.0, |h| h.min(range.0))),
            _ => {}
        }
    }
    let start = lo.unwrap_or(now);
    let end = hi.unwrap_or(start + Duration::days(DEFAULT_SLOT_DAYS));
    if end <= start {
        return Ok(Vec::new());
    }
    if (end - start).num_days() > MAX_WINDOW_DAYS {
        return Err(InteropError::param(
            "start",
            format!("the window may cover at most {MAX_WINDOW_DAYS} days"),
        ));
    }
    let window = Window { start, end };
    let schedules: Vec<&str> = filters
        .iter()
        .filter(|(n, _)| *n == "schedule")
        .map(|(_, v)| *v)
        .collect();
    let mut out = Vec::new();
    for a in state.agendas() {
        let sid = fhir::schedule_id(&a.config.id);
        if !schedules.iter().all(|v| {
            v.split(',')
                .any(|one| reference_matches(one, "Schedule", &sid))
        }) {
            continue;
        }
        let list = state
            .agenda_slots(&a.config.id, window.start, window.end)
            .unwrap_or_default();
        if out.len() + list.len() > MAX_SLOTS {
            return Err(InteropError::param(
                "start",
                format!("more than {MAX_SLOTS} slots: narrow the window or name a schedule"),
            ));
        }
        out.extend(list.iter().map(|s| fhir::slot(state, a.config, s)));
    }
    Ok(out)
}

/// True when `value` (`Type/id`, a bare `id`, or an absolute URL ending in
/// `Type/id`) names the resource `resource_type/id`.
fn reference_matches(value: &str, resource_type: &str, id: &str) -> bool {
    let mut parts = value.trim().rsplit('/');
    let last = parts.next().unwrap_or_default();
    match parts.next() {
        None => last == id,
        Some(t) => t == resource_type && last == id,
    }
}

/// The `Type/id` of a reference in a resource, if it has one.
fn reference_of(v: &Value) -> Option<(&str, &str)> {
    let r = v.get("reference")?.as_str()?;
    r.split_once('/')
}

fn any_reference(values: &[&Value], param: &str) -> bool {
    param.split(',').any(|one| {
        values
            .iter()
            .any(|v| reference_of(v).is_some_and(|(t, id)| reference_matches(one, t, id)))
    })
}

fn token_matches(param: &str, code: &str) -> bool {
    param.split(',').any(|one| {
        // `system|code` and `|code` name the code; the system is not checked.
        let c = one.rsplit('|').next().unwrap_or_default();
        c == code
    })
}

fn field_refs<'a>(r: &'a Value, path: &[&str]) -> Vec<&'a Value> {
    let mut current: Vec<&Value> = vec![r];
    for key in path {
        let mut next = Vec::new();
        for v in current {
            match v.get(*key) {
                Some(Value::Array(items)) => next.extend(items.iter()),
                Some(other) => next.push(other),
                None => {}
            }
        }
        current = next;
    }
    current
}

/// True when the resource meets every filter.
fn matches(r: &Value, filters: &[(&str, &str)]) -> Result<bool, InteropError> {
    let rt = r["resourceType"].as_str().unwrap_or_default();
    let str_at = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default();
    for (name, value) in filters {
        let ok = match (rt, *name) {
            (_, "_id") => value.split(',').any(|id| id == str_at("id")),
            ("Slot", "start") => {
                // The window was applied when the slots were computed.
                true
            }
            ("Slot", "schedule") => any_reference(&field_refs(r, &["schedule"]), value),
            ("Appointment", "date") => {
                let (prefix, range) = date_param("date", value)?;
                // A waitlisted appointment has no date and matches none.
                r.get("start")
                    .and_then(Value::as_str)
                    .and_then(parse_instant)
                    .is_some_and(|t| date_matches(prefix, range, t))
            }
            ("Appointment", "patient") => any_reference(
                &field_refs(r, &["participant", "actor"])
                    .into_iter()
                    .filter(|a| reference_of(a).is_some_and(|(t, _)| t == "Patient"))
                    .collect::<Vec<_>>(),
                value,
            ),
            ("Appointment", "actor") => {
                any_reference(&field_refs(r, &["participant", "actor"]), value)
            }
            ("Schedule", "actor") => any_reference(&field_refs(r, &["actor"]), value),
            ("Schedule", "active") => token_matches(
                value,
                if r["active"].as_bool() == Some(true) {
                    "true"
                } else {
                    "false"
                },
            ),
            ("HealthcareService", "location") => {
                any_reference(&field_refs(r, &["location"]), value)
            }
            ("Patient", "identifier") => field_refs(r, &["identifier"]).iter().any(|i| {
                let system = i.get("system").and_then(Value::as_str).unwrap_or_default();
                let v = i.get("value").and_then(Value::as_str).unwrap_or_default();
                // `system|value`, `|value` (no system) or `value` (any system).
                value.split(',').any(|one| match one.split_once('|') {
                    Some(("", code)) => system.is_empty() && code == v,
                    Some((sys, code)) => sys == system && code == v,
                    None => one == v,
                })
            }),
            ("Coverage", "beneficiary") => any_reference(&field_refs(r, &["beneficiary"]), value),
            ("ServiceRequest", "patient") | ("Task", "patient") => {
                let key = if rt == "Task" { "for" } else { "subject" };
                any_reference(&field_refs(r, &[key]), value)
            }
            ("Task", "owner") => any_reference(&field_refs(r, &["owner"]), value),
            ("Task", "focus") => any_reference(&field_refs(r, &["focus"]), value),
            ("Task", "business-status") => field_refs(r, &["businessStatus", "coding", "code"])
                .iter()
                .filter_map(|c| c.as_str())
                .any(|c| token_matches(value, c)),
            ("Communication", "based-on") => any_reference(&field_refs(r, &["basedOn"]), value),
            (_, "status" | "priority") => token_matches(value, str_at(name)),
            _ => true,
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// True when instant `t` meets a date parameter of `prefix` and `range`.
fn date_matches(prefix: &str, (lo, hi): Range, t: DateTime<Utc>) -> bool {
    match prefix {
        "eq" => lo <= t && t < hi,
        "ge" => t >= lo,
        "gt" => t >= hi,
        "le" => t < hi,
        "lt" => t < lo,
        _ => false,
    }
}

fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The half-open range of instants `[start, end)` a date value covers.
type Range = (DateTime<Utc>, DateTime<Utc>);

/// Parses a FHIR date search value: an optional prefix (`eq`, `ge`, `gt`,
/// `le`, `lt`) and a date of any precision, as the half-open range of
/// instants it covers. Dates without a time zone are read in UTC.
fn date_param(name: &str, value: &str) -> Result<(&'static str, Range), InteropError> {
    let bad = || {
        InteropError::param(
            name,
            format!("{value:?} is not a FHIR date (e.g. ge2026-03-02 or le2026-03-02T18:00:00Z)"),
        )
    };
    let (prefix, rest) = match value.get(..2) {
        Some(p @ ("eq" | "ge" | "gt" | "le" | "lt")) => {
            let p: &'static str = match p {
                "eq" => "eq",
                "ge" => "ge",
                "gt" => "gt",
                "le" => "le",
                _ => "lt",
            };
            (p, &value[2..])
        }
        Some("ne" | "sa" | "eb" | "ap") => {
            return Err(InteropError::param(
                name,
                "supported prefixes are eq, ge, gt, le and lt",
            ));
        }
        _ => ("eq", value),
    };
    let midnight =
        |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default());
    let range = match rest.len() {
        4 => {
            let y: i32 = rest.parse().map_err(|_| bad())?;
            let a = NaiveDate::from_ymd_opt(y, 1, 1).ok_or_else(bad)?;
            let b = NaiveDate::from_ymd_opt(y + 1, 1, 1).ok_or_else(bad)?;
            (midnight(a), midnight(b))
        }
        7 => {
            // `parse` rather than `parse_from_str`: no strftime interpreter
            // in the Wasm builds (see `interop::basic`).
            let a = format!("{rest}-01")
                .parse::<NaiveDate>()
                .map_err(|_| bad())?;
            let b = a
                .checked_add_months(chrono::Months::new(1))
                .ok_or_else(bad)?;
            (midnight(a), midnight(b))
        }
        10 => {
            let a = rest.parse::<NaiveDate>().map_err(|_| bad())?;
            (midnight(a), midnight(a.succ_opt().ok_or_else(bad)?))
        }
        _ => {
            let t = parse_instant(rest)
                .or_else(|| {
                    // A local date-time, with or without seconds.
                    let full = if rest.len() == 16 {
                        format!("{rest}:00")
                    } else {
                        rest.to_owned()
                    };
                    (full.len() == 19 && full.as_bytes().get(10) == Some(&b'T'))
                        .then(|| full.parse::<chrono::NaiveDateTime>().ok())
                        .flatten()
                        .map(|n| Utc.from_utc_datetime(&n))
                })
                .ok_or_else(bad)?;
            (t, t + Duration::seconds(1))
        }
    };
    Ok((prefix, range))
}

/// The CapabilityStatement of the `/fhir/` endpoints: read and search for
/// every exported kind (search only for Slot, which is computed), with the
/// parameters [`search`] supports. With a base URL it describes that server
/// instance; without, the capabilities of Enlace as software.
pub fn capability_statement(ctx: &SearchContext) -> Value {
    let resources: Vec<Value> = PARAMS
        .iter()
        .map(|(t, params)| {
            let mut interactions = vec![fhir!({"code": "search-type"})];
            if *t != "Slot" {
                interactions.insert(0, fhir!({"code": "read"}));
            }
            let mut search_params = vec![fhir!({"name": "_id", "type": "token"})];
            search_params.extend(params.iter().map(|(n, ty)| fhir!({"name": n, "type": ty})));
            let mut r = fhir!({
                "type": t,
                "interaction": interactions,
                "searchParam": search_params,
            });
            if *t == "Slot" {
                r["documentation"] = fhir!(format!(
                    "Slots are computed from the agendas' rules for a window given by start=ge…&start=le… (default: {DEFAULT_SLOT_DAYS} days from now, at most {MAX_WINDOW_DAYS})."
                ));
            }
            r
        })
        .collect();
    let mut c = fhir!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": super::instant(ctx.now),
        "publisher": "Enlace",
        "name": "EnlaceFhirR4",
        "title": "Enlace FHIR R4 read-only API",
        "description": "Read-only FHIR R4 view of an Enlace network: facilities, services, agendas, slots, appointments, beneficiaries, referrals, counter-referrals and agreements.",
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "documentation": "Unsupported search parameters are refused with an OperationOutcome; _count is at most 1000.",
            "resource": resources,
        }],
    });
    match &ctx.base_url {
        Some(url) => {
            c["kind"] = fhir!("instance");
            c["software"] = fhir!({"name": "Enlace", "version": env!("CARGO_PKG_VERSION")});
            c["implementation"] = fhir!({"description": "Enlace host", "url": url});
        }
        None => {
            c["kind"] = fhir!("capability");
            c["software"] = fhir!({"name": "Enlace", "version": env!("CARGO_PKG_VERSION")});
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_params_cover_their_precision() {
        let (p, (lo, hi)) = date_param("date", "ge2026-03").unwrap();
        assert_eq!(p, "ge");
        assert_eq!(lo.to_rfc3339(), "2026-03-01T00:00:00+00:00");
        assert_eq!(hi.to_rfc3339(), "2026-04-01T00:00:00+00:00");
        let (p, (lo, _)) = date_param("date", "2026-03-02T10:00:00-03:00").unwrap();
        assert_eq!(p, "eq");
        assert_eq!(lo.to_rfc3339(), "2026-03-02T13:00:00+00:00");
        assert!(date_param("date", "ap2026").is_err());
        assert!(date_param("date", "ge2026-13-01").is_err());
        assert!(date_param("date", "").is_err());
        assert!(date_param("date", "géé").is_err());
    }

    #[test]
    fn references_match_in_every_form() {
        assert!(reference_matches("Patient/p-1", "Patient", "p-1"));
        assert!(reference_matches("p-1", "Patient", "p-1"));
        assert!(reference_matches(
            "https://h/fhir/Patient/p-1",
            "Patient",
            "p-1"
        ));
        assert!(!reference_matches("Location/p-1", "Patient", "p-1"));
        assert!(!reference_matches("Patient/p-2", "Patient", "p-1"));
    }
}
