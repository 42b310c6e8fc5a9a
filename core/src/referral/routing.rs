//! Routing: where a referral can go, and why other places cannot take it.
//!
//! A facility is suggested when it is of the required tier, offers the
//! service, is reachable under an agreement for the beneficiary's coverage
//! (or belongs to the origin's agency), and has a referral place before the
//! priority's appointment target. Suggestions are ordered by earliest place.

use crate::error::{Error, Result};
use crate::facility::{Facility, Tier};
use crate::priority::Priority;
use crate::slot::{FreeSlots, Use, instant, minute_of};
use crate::state::State;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A facility that can take the referral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Suggestion {
    pub facility: String,
    pub name: String,
    pub tier: Tier,
    pub region: String,
    pub agency: String,
    /// The agreement the referral would travel under (none inside one agency).
    pub agreement: Option<String>,
    /// The earliest referral place within the target time.
    pub earliest: DateTime<Utc>,
    pub agenda: String,
}

/// Why a facility of the required tier is not suggested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// It does not offer the service.
    NoService,
    /// No valid agreement covers the service and tier between the agencies.
    NoAgreement,
    /// An agreement exists, but the beneficiary's coverage does not qualify.
    NotCovered,
    /// No referral place before the priority's appointment target.
    NoCapacityInTime,
}

/// A facility left out, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NotSuggested {
    pub facility: String,
    pub name: String,
    pub reason: Exclusion,
}

/// The routing answer for one prospective referral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Routing {
    pub suggested: Vec<Suggestion>,
    pub not_suggested: Vec<NotSuggested>,
}

/// Finds the agreement (if any is needed) under which `beneficiary` may be
/// referred from `origin_agency` to `dest` for `service` on `date`.
pub(crate) fn agreement_for(
    state: &State,
    origin_agency: &str,
    dest: &Facility,
    service: &str,
    beneficiary: u32,
    date: NaiveDate,
) -> std::result::Result<Option<String>, Exclusion> {
    let b = &state.beneficiaries[beneficiary as usize];
    if dest.agency == origin_agency {
        return if b.coverage_on(date).any(|c| c.agency == dest.agency) {
            Ok(None)
        } else {
            Err(Exclusion::NotCovered)
        };
    }
    let mut any = false;
    for a in state.agreements.values() {
        if a.covers(origin_agency, &dest.agency, service, dest.tier, date) {
            any = true;
            if b.coverage_on(date).any(|c| a.admits(c)) {
                return Ok(Some(a.id.clone()));
            }
        }
    }
    Err(if any {
        Exclusion::NotCovered
    } else {
        Exclusion::NoAgreement
    })
}

/// Same as [`agreement_for`], as an engine error.
pub(crate) fn require_agreement(
    state: &State,
    origin_agency: &str,
    dest: &Facility,
    service: &str,
    beneficiary: u32,
    date: NaiveDate,
) -> Result<Option<String>> {
    agreement_for(state, origin_agency, dest, service, beneficiary, date).map_err(|e| match e {
        Exclusion::NotCovered => Error::NotCovered {
            beneficiary: state.beneficiaries[beneficiary as usize].id.clone(),
            date: date.to_string(),
        },
        _ => Error::NoAgreement {
            from: origin_agency.to_owned(),
            to: dest.agency.clone(),
            service: service.to_owned(),
        },
    })
}

/// The earliest referral place at `facility` for `service` in `[from, to]`.
pub(crate) fn earliest_place(
    state: &State,
    facility: &str,
    service: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Option<(DateTime<Utc>, String)> {
    let mut best: Option<(i64, &str)> = None;
    let idx = state.facility_index.get(facility)?;
    for &ai in &state.agendas_by_facility[*idx as usize] {
        let a = &state.agendas[ai as usize];
        if a.config.service != service {
            continue;
        }
        let lo = minute_of(from) + i64::from(a.config.min_notice_minutes);
        let hi = minute_of(to).min(minute_of(from) + i64::from(a.config.horizon_days) * 1440);
        if let Some((m, _)) = FreeSlots::new(a, &state.holidays, Use::Referral, lo, hi).next()
            && best.is_none_or(|(b, id)| (m, a.config.id.as_str()) < (b, id))
        {
            best = Some((m, &a.config.id));
        }
    }
    best.map(|(m, id)| (instant(m), id.to_owned()))
}

/// Suggests destinations of `tier` for a referral from `origin`.
pub fn suggest(
    state: &State,
    origin: &Facility,
    beneficiary: &str,
    service: &str,
    tier: Tier,
    priority: Priority,
    now: DateTime<Utc>,
) -> Result<Routing> {
    let b = state
        .beneficiary_idx(beneficiary)
        .ok_or_else(|| Error::UnknownBeneficiary(beneficiary.to_owned()))?;
    if !state.services.contains_key(service) {
        return Err(Error::UnknownService(service.to_owned()));
    }
    let target = state
        .targets()
        .into_iter()
        .find(|t| t.priority == priority)
        .map_or(60 * 24 * 30, |t| t.appointment_minutes);
    let deadline = now + Duration::minutes(i64::from(target));
    let date = now.date_naive();
    let mut suggested = Vec::new();
    let mut not_suggested = Vec::new();
    for f in &state.facilities {
        if f.tier != tier || f.id == origin.id {
            continue;
        }
        let mut exclude = |reason| {
            not_suggested.push(NotSuggested {
                facility: f.id.clone(),
                name: f.name.clone(),
                reason,
            });
        };
        if !f.offers(service) {
            exclude(Exclusion::NoService);
            continue;
        }
        let agreement = match agreement_for(state, &origin.agency, f, service, b, date) {
            Ok(a) => a,
            Err(e) => {
                exclude(e);
                continue;
            }
        };
        match earliest_place(state, &f.id, service, now, deadline) {
            Some((earliest, agenda)) => suggested.push(Suggestion {
                facility: f.id.clone(),
                name: f.name.clone(),
                tier: f.tier,
                region: f.region.clone(),
                agency: f.agency.clone(),
                agreement,
                earliest,
                agenda,
            }),
            None => exclude(Exclusion::NoCapacityInTime),
        }
    }
    suggested.sort_unstable_by(|a, b| (a.earliest, &a.facility).cmp(&(b.earliest, &b.facility)));
    Ok(Routing {
        suggested,
        not_suggested,
    })
}
