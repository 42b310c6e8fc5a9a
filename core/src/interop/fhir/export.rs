//! The export: the records in scope, as resources and as a Bundle.

use super::agreement::contract;
use super::directory::{coverages, healthcare_service, location, organization, patient};
use super::referral::{communication, service_request, task};
use super::scheduling::{appointment, schedule, slot, waitlist_appointment};
use super::{BundleType, ExportRequest, MAX_SLOTS, MAX_WINDOW_DAYS, ResourceKind, Window};
use crate::agreement::Agreement;
use crate::beneficiary::Beneficiary;
use crate::facility::Facility;
use crate::interop::build::fhir;
use crate::interop::{InteropError, SYSTEM_NATIONAL_ID, instant};
use crate::referral::Referral;
use crate::state::State;
use crate::view::AppointmentView;
use crate::waitlist::{WaitlistEntry, WaitlistStatus};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeSet;

/// Exports the requested resources as a Bundle.
pub fn export_bundle(state: &State, req: &ExportRequest) -> Result<Value, InteropError> {
    let resources = export_resources(state, req)?;
    let total = resources.len();
    Ok(bundle(
        req.bundle_type,
        resources,
        req.now,
        req.base_url.as_deref(),
        Some(total),
    ))
}

/// Wraps resources in a Bundle. `total` is written for search sets only
/// (FHIR allows it nowhere else).
pub fn bundle(
    kind: BundleType,
    resources: Vec<Value>,
    now: DateTime<Utc>,
    base_url: Option<&str>,
    total: Option<usize>,
) -> Value {
    let search = kind == BundleType::Searchset;
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|resource| {
            let mut entry = serde_json::Map::new();
            if let Some(base) = base_url {
                let rt = resource["resourceType"].as_str().unwrap_or_default();
                let id = resource["id"].as_str().unwrap_or_default();
                entry.insert(
                    "fullUrl".into(),
                    fhir!(format!("{}/{rt}/{id}", base.trim_end_matches('/'))),
                );
            }
            entry.insert("resource".into(), resource);
            if search {
                entry.insert("search".into(), fhir!({"mode": "match"}));
            }
            Value::Object(entry)
        })
        .collect();
    let mut b = fhir!({
        "resourceType": "Bundle",
        "type": if search { "searchset" } else { "collection" },
        "timestamp": instant(now),
    });
    if search {
        b["total"] = fhir!(total.unwrap_or(entries.len()));
    }
    if !entries.is_empty() {
        b["entry"] = Value::Array(entries);
    }
    b
}

/// The resources of an export, in [`ResourceKind::ALL`] order.
pub fn export_resources(state: &State, req: &ExportRequest) -> Result<Vec<Value>, InteropError> {
    check_request(state, req)?;
    let wants = |k: ResourceKind| req.kinds.is_empty() || req.kinds.contains(&k);
    let system = req
        .national_id_system
        .as_deref()
        .unwrap_or(SYSTEM_NATIONAL_ID);
    let today = req.now.date_naive();
    let scope = Scope::of(state, req);

    let mut out = Vec::new();
    if wants(ResourceKind::Organization) {
        out.extend(
            scope
                .agencies(wants(ResourceKind::Coverage))
                .into_iter()
                .map(organization),
        );
    }
    if wants(ResourceKind::Location) {
        out.extend(scope.facilities.iter().map(|f| location(f)));
    }
    if wants(ResourceKind::HealthcareService) {
        for f in &scope.facilities {
            for code in &f.services {
                if let Some(s) = state.service(code) {
                    out.push(healthcare_service(state, f, s));
                }
            }
        }
    }
    if wants(ResourceKind::Schedule) {
        out.extend(
            state
                .agendas()
                .filter(|a| in_scope(req, &a.config.facility))
                .map(|a| schedule(state, a, today)),
        );
    }
    if wants(ResourceKind::Slot)
        && let Some(w) = &req.window
    {
        out.extend(slots(state, req, w)?);
    }
    if wants(ResourceKind::Appointment) {
        out.extend(scope.appointments.iter().map(|a| appointment(state, a)));
        out.extend(
            scope
                .waitlist
                .iter()
                .map(|w| waitlist_appointment(state, w)),
        );
    }
    if wants(ResourceKind::Patient) {
        out.extend(scope.beneficiaries.iter().map(|b| patient(b, system)));
    }
    if wants(ResourceKind::Coverage) {
        for b in &scope.beneficiaries {
            out.extend(coverages(b));
        }
    }
    if wants(ResourceKind::ServiceRequest) {
        out.extend(scope.referrals.iter().map(|r| service_request(state, r)));
    }
    if wants(ResourceKind::Task) {
        out.extend(scope.referrals.iter().map(|r| task(state, r)));
    }
    if wants(ResourceKind::Communication) {
        out.extend(
            scope
                .referrals
                .iter()
                .filter_map(|r| communication(state, r)),
        );
    }
    if wants(ResourceKind::Contract) {
        out.extend(scope.agreements.iter().map(|a| contract(a, today)));
    }
    Ok(out)
}

/// Refuses an export of unknown facilities, over a bad window, or of slots
/// without a window.
fn check_request(state: &State, req: &ExportRequest) -> Result<(), InteropError> {
    for f in &req.facilities {
        if state.find_facility(f).is_none() {
            return Err(InteropError::Unknown {
                kind: "facility".into(),
                id: f.clone(),
            });
        }
    }
    if let Some(w) = &req.window {
        check_window(w)?;
    }
    if req.kinds.contains(&ResourceKind::Slot) && req.window.is_none() {
        return Err(InteropError::param("window", "required to export slots"));
    }
    Ok(())
}

/// Whether an export covers what concerns `facility`.
fn in_scope(req: &ExportRequest, facility: &str) -> bool {
    req.facilities.is_empty() || req.facilities.iter().any(|f| f == facility)
}

/// The records in scope, decided first so that patients and agencies can
/// follow what is exported.
struct Scope<'s> {
    facilities: Vec<&'s Facility>,
    appointments: Vec<AppointmentView>,
    waitlist: Vec<&'s WaitlistEntry>,
    referrals: Vec<&'s Referral>,
    agencies_in_scope: BTreeSet<&'s str>,
    agreements: Vec<&'s Agreement>,
    beneficiaries: Vec<&'s Beneficiary>,
}

impl<'s> Scope<'s> {
    fn of(state: &'s State, req: &ExportRequest) -> Self {
        let facilities: Vec<&Facility> = state
            .facilities()
            .iter()
            .filter(|f| in_scope(req, &f.id))
            .collect();
        let appointments: Vec<AppointmentView> = state
            .appointment_views()
            .filter(|a| in_scope(req, &a.facility))
            .filter(|a| {
                req.window
                    .is_none_or(|w| a.start >= w.start && a.start < w.end)
            })
            .collect();
        let waitlist: Vec<&WaitlistEntry> = state
            .waitlist()
            .iter()
            .filter(|w| w.status != WaitlistStatus::Satisfied)
            .filter(|w| {
                req.facilities.is_empty() || w.facility.as_deref().is_some_and(|f| in_scope(req, f))
            })
            .collect();
        let referrals: Vec<&Referral> = state
            .referrals()
            .iter()
            .filter(|r| req.facilities.is_empty() || req.facilities.iter().any(|f| r.involves(f)))
            .collect();
        let agencies_in_scope: BTreeSet<&str> =
            facilities.iter().map(|f| f.agency.as_str()).collect();
        let agreements: Vec<&Agreement> = state
            .agreements()
            .filter(|a| {
                req.facilities.is_empty()
                    || agencies_in_scope.contains(a.referring_agency.as_str())
                    || agencies_in_scope.contains(a.receiving_agency.as_str())
            })
            .collect();
        let beneficiaries: Vec<&Beneficiary> = if req.facilities.is_empty() {
            state.beneficiaries().iter().collect()
        } else {
            let ids: BTreeSet<&str> = appointments
                .iter()
                .map(|a| a.beneficiary.as_str())
                .chain(waitlist.iter().map(|w| w.beneficiary.as_str()))
                .chain(referrals.iter().map(|r| r.beneficiary.as_str()))
                .collect();
            state
                .beneficiaries()
                .iter()
                .filter(|b| ids.contains(b.id.as_str()))
                .collect()
        };
        Scope {
            facilities,
            appointments,
            waitlist,
            referrals,
            agencies_in_scope,
            agreements,
            beneficiaries,
        }
    }

    /// The agencies exported as Organizations: those of the facilities in
    /// scope, the parties of the agreements, and (with coverages) the
    /// agencies of the beneficiaries' programmes.
    fn agencies(&self, with_coverage: bool) -> BTreeSet<&'s str> {
        let mut agencies: BTreeSet<&str> = self.agencies_in_scope.clone();
        for a in &self.agreements {
            agencies.insert(&a.referring_agency);
            agencies.insert(&a.receiving_agency);
        }
        if with_coverage {
            for b in &self.beneficiaries {
                agencies.extend(b.coverage.iter().map(|c| c.agency.as_str()));
            }
        }
        agencies
    }
}

/// The slots of the agendas in scope over the window, at most
/// [`MAX_SLOTS`] of them.
fn slots(state: &State, req: &ExportRequest, w: &Window) -> Result<Vec<Value>, InteropError> {
    let mut out = Vec::new();
    let mut n = 0;
    for a in state
        .agendas()
        .filter(|a| in_scope(req, &a.config.facility))
    {
        let slots = state
            .agenda_slots(&a.config.id, w.start, w.end)
            .unwrap_or_default();
        n += slots.len();
        if n > MAX_SLOTS {
            return Err(InteropError::param(
                "window",
                format!("more than {MAX_SLOTS} slots: narrow the window or the facilities"),
            ));
        }
        out.extend(slots.iter().map(|s| slot(state, a.config, s)));
    }
    Ok(out)
}

pub(crate) fn check_window(w: &Window) -> Result<(), InteropError> {
    if w.end <= w.start {
        return Err(InteropError::param("window", "end must be after start"));
    }
    if (w.end - w.start).num_days() > MAX_WINDOW_DAYS {
        return Err(InteropError::param(
            "window",
            format!("at most {MAX_WINDOW_DAYS} days"),
        ));
    }
    Ok(())
}
