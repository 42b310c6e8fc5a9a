//! Who may read what through FHIR and iCalendar: the rules of the engine's
//! own queries, applied to [`Query::Fhir`](crate::Query::Fhir) and
//! [`Query::Calendar`](crate::Query::Calendar), so that a FHIR client of a
//! host and a page running the engine see exactly what the other queries
//! would show the same actor.
//!
//! - Reference data (Organization, Location, HealthcareService, Schedule,
//!   Slot, Contract, the CapabilityStatement) are open to every actor of the
//!   network, as the free-slot search is.
//! - People (Patient, Coverage, Appointment, a beneficiary's calendar) are
//!   for staff of a facility, auditors and admins, as the beneficiary
//!   queries are.
//! - Referrals (ServiceRequest, Task, Communication) are for auditors,
//!   admins and the staff of facilities party to them; to anyone else they
//!   do not exist.
//! - An agenda's or a facility's feed is for that facility's staff,
//!   auditors and admins.

use super::fhir::ResourceKind;
use super::fhir_search::{read_where, search_where};
use super::{CalendarOf, FhirParam};
use super::{InteropError, SearchContext, capability_statement, ical};
use crate::access::{facility_reader, people_reader, sees};
use crate::actor::Actor;
use crate::error::{Error, Result, Rule};
use crate::state::State;
use chrono::{DateTime, Utc};

/// Answers a FHIR read, search or `metadata` for `actor`, as JSON text.
pub(crate) fn fhir(
    state: &State,
    actor: &Actor,
    resource_type: &str,
    id: Option<&str>,
    params: &[FhirParam],
    base_url: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String> {
    let ctx = SearchContext {
        now,
        base_url: base_url.map(str::to_owned),
        national_id_system: None,
    };
    let value = if resource_type == "metadata" {
        if id.is_some() || !params.is_empty() {
            return Err(Error::invalid("resource_type", Rule::NotApplicable));
        }
        capability_statement(&ctx)
    } else {
        let kind = ResourceKind::parse(resource_type)
            .ok_or_else(|| from_interop(unsupported(resource_type)))?;
        if matches!(
            kind,
            ResourceKind::Patient | ResourceKind::Coverage | ResourceKind::Appointment
        ) {
            people_reader(actor)?;
        }
        let admits = |r: &crate::referral::Referral| sees(actor, r);
        match id {
            Some(id) => {
                if !params.is_empty() {
                    return Err(Error::invalid("params", Rule::NotApplicable));
                }
                read_where(state, resource_type, id, &ctx, &admits)
            }
            None => {
                let pairs: Vec<(String, String)> = params
                    .iter()
                    .map(|p| (p.name.clone(), p.value.clone()))
                    .collect();
                search_where(state, resource_type, &pairs, &ctx, &admits)
            }
        }
        .map_err(from_interop)?
    };
    // Infallible: a serde_json::Value always serialises.
    Ok(serde_json::to_string(&value).unwrap_or_default())
}

/// Answers an iCalendar query for `actor`; `now` is the DTSTAMP.
pub(crate) fn calendar(
    state: &State,
    actor: &Actor,
    of: CalendarOf,
    id: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<String> {
    let window = || match (from, to) {
        (Some(f), Some(t)) => Ok((f, t)),
        (None, _) => Err(Error::invalid("from", Rule::Required)),
        (_, None) => Err(Error::invalid("to", Rule::Required)),
    };
    let no_window = || match (from, to) {
        (None, None) => Ok(()),
        _ => Err(Error::invalid("from", Rule::NotApplicable)),
    };
    let text = match of {
        CalendarOf::Appointment => {
            no_window()?;
            people_reader(actor)?;
            let n: u32 = id
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| Error::invalid("id", Rule::NotANumber))?;
            ical::appointment_calendar(state, n, now)
        }
        CalendarOf::Beneficiary => {
            no_window()?;
            people_reader(actor)?;
            ical::beneficiary_calendar(state, id, now)
        }
        CalendarOf::Agenda => {
            let (f, t) = window()?;
            let info = state
                .agenda_info(id)
                .ok_or_else(|| Error::UnknownAgenda(id.to_owned()))?;
            facility_reader(actor, &info.config.facility)?;
            ical::agenda_feed(state, id, f, t, now)
        }
        CalendarOf::Facility => {
            let (f, t) = window()?;
            if state.facility(id).is_none() {
                return Err(Error::UnknownFacility(id.to_owned()));
            }
            facility_reader(actor, id)?;
            ical::facility_feed(state, id, f, t, now)
        }
    };
    text.map_err(from_interop)
}

fn unsupported(resource_type: &str) -> InteropError {
    InteropError::UnsupportedResourceType {
        resource_type: resource_type.to_owned(),
    }
}

/// The engine's error for what an export, search or read could not do.
fn from_interop(e: InteropError) -> Error {
    match e {
        InteropError::InvalidParameter { name, message } => Error::malformed(&name, message),
        InteropError::UnsupportedParameter {
            resource_type,
            name,
        } => Error::invalid(&name, Rule::UnsupportedParameter { resource_type }),
        InteropError::UnsupportedResourceType { resource_type } => Error::invalid(
            "resource_type",
            Rule::UnsupportedResourceType { resource_type },
        ),
        InteropError::NotFound { resource_type, id } => Error::UnknownResource {
            kind: resource_type,
            id,
        },
        InteropError::Unknown { kind, id } => match kind.as_str() {
            "agenda" => Error::UnknownAgenda(id),
            "facility" => Error::UnknownFacility(id),
            "beneficiary" => Error::UnknownBeneficiary(id),
            "appointment" => id
                .parse()
                .map(Error::UnknownAppointment)
                .unwrap_or(Error::UnknownResource { kind, id }),
            _ => Error::UnknownResource { kind, id },
        },
    }
}
