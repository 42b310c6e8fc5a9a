//! Who may do what, and looking up what an actor names.
//!
//! The one place the engine's authorization rules live: `decide`, the
//! referral flow, bookings, queries and the FHIR reads all ask here, so a
//! rule changed here changes on every path. It sits just above `state` and
//! below every decision, and depends on nothing that decides.

use crate::actor::{Actor, Role};
use crate::agenda::Agenda;
use crate::error::{Error, Result};
use crate::referral::Referral;
use crate::state::State;

/// An actor acts for the agency of the facility they work at: one who names
/// a facility of another agency is refused everything, whatever the role.
pub(crate) fn same_agency(state: &State, actor: &Actor) -> Result<()> {
    match actor.facility.as_deref().and_then(|f| state.facility(f)) {
        Some(f) if f.agency != actor.agency => Err(Error::not_permitted_at(
            actor.role,
            "act for another agency",
            &f.id,
        )),
        _ => Ok(()),
    }
}

/// Only auditors: the audit trail and the record of reads.
pub(crate) fn auditor(actor: &Actor, action: &str) -> Result<()> {
    if actor.role == Role::Auditor {
        Ok(())
    } else {
        Err(Error::not_permitted(actor.role, action))
    }
}

/// Only network admins.
pub(crate) fn admin(actor: &Actor, action: &str) -> Result<()> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(Error::not_permitted(actor.role, action))
    }
}

/// Network admins anywhere, clerks at their own facility.
pub(crate) fn configure_at(actor: &Actor, facility: &str, action: &str) -> Result<()> {
    match actor.role {
        Role::Admin => Ok(()),
        Role::Clerk if actor.works_at(facility) => Ok(()),
        role => Err(Error::not_permitted_at(role, action, facility)),
    }
}

/// Front-line staff (clerk, clinician, coordinator) of any facility, and admins.
pub(crate) fn staff_or_admin(actor: &Actor, action: &str) -> Result<()> {
    match actor.role {
        Role::Clerk | Role::Clinician | Role::Coordinator if actor.facility.is_some() => Ok(()),
        Role::Admin => Ok(()),
        role => Err(Error::not_permitted(role, action)),
    }
}

/// Front-line staff working at `facility`, with one of `roles`.
pub(crate) fn staff_at(actor: &Actor, facility: &str, roles: &[Role], action: &str) -> Result<()> {
    if roles.contains(&actor.role) && actor.works_at(facility) {
        Ok(())
    } else {
        Err(Error::not_permitted_at(actor.role, action, facility))
    }
}

/// Looks a referral up for `actor`. Actors who may not see it are told it
/// does not exist: a third facility learns nothing of it.
pub(crate) fn visible<'s>(state: &'s State, actor: &Actor, id: u32) -> Result<&'s Referral> {
    let r = state.referral(id).ok_or(Error::UnknownReferral(id))?;
    if sees(actor, r) {
        Ok(r)
    } else {
        Err(Error::UnknownReferral(id))
    }
}

/// Whether `actor` may see referral `r`: auditors and admins see every
/// referral, staff those their facility is or was party to.
pub(crate) fn sees(actor: &Actor, r: &Referral) -> bool {
    matches!(actor.role, Role::Auditor | Role::Admin)
        || actor.facility.as_deref().is_some_and(|f| r.involves(f))
}

/// Staff of the facility, auditors and admins.
pub(crate) fn facility_reader(actor: &Actor, facility: &str) -> Result<()> {
    match actor.role {
        Role::Auditor | Role::Admin => Ok(()),
        _ if actor.works_at(facility) => Ok(()),
        role => Err(Error::not_permitted_at(role, "read the records", facility)),
    }
}

/// Anyone with a role that handles beneficiaries.
pub(crate) fn people_reader(actor: &Actor) -> Result<()> {
    match actor.role {
        Role::Clerk | Role::Clinician | Role::Coordinator if actor.facility.is_some() => Ok(()),
        Role::Auditor | Role::Admin => Ok(()),
        role => Err(Error::not_permitted(role, "read beneficiary records")),
    }
}

pub(crate) fn agenda_of<'s>(state: &'s State, id: &str) -> Result<(u32, &'s Agenda)> {
    let &idx = state
        .agenda_index
        .get(id)
        .ok_or_else(|| Error::UnknownAgenda(id.to_owned()))?;
    Ok((idx, &state.agendas[idx as usize]))
}

pub(crate) fn beneficiary_of(state: &State, id: &str) -> Result<u32> {
    state
        .beneficiary_idx(id)
        .ok_or_else(|| Error::UnknownBeneficiary(id.to_owned()))
}
