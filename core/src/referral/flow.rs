//! Referral decisions: each command checks who acts, where the referral is,
//! and what the agreements allow, then returns the events of one step.

use super::routing::{earliest_place, require_agreement, suggest};
use super::rules::authorize;
use super::{Referral, ReferralAction, ReferralStatus, RejectReason};
use crate::access::{agenda_of, beneficiary_of};
use crate::actor::{Actor, Role};
use crate::booking::check_place;
use crate::command::Command;
use crate::error::{Error, Result, Rule};
use crate::event::Event;
use crate::facility::Tier;
use crate::referral::Destination;
use crate::slot::Use;
use crate::state::State;
use crate::validate::{code, icd10, text, text_opt};
use chrono::{DateTime, Duration, Utc};

/// Kept whole as a table: one arm per case, so every case reads in one place (issue 14).
pub(crate) fn decide(
    state: &State,
    actor: &Actor,
    cmd: &Command,
    now: DateTime<Utc>,
) -> Result<Vec<Event>> {
    use Command::*;
    match cmd {
        CreateReferral {
            beneficiary,
            service,
            destination,
            priority,
            reason,
            attachments,
        } => create(
            state,
            actor,
            beneficiary,
            service,
            destination,
            *priority,
            reason,
            attachments,
            now,
        ),
        ReceiveReferral { referral } => {
            let r = authorize(state, actor, *referral, ReferralAction::Receive)?;
            Ok(vec![Event::ReferralReceived { referral: r.id }])
        }
        AcceptReferral { referral, note } => {
            let r = authorize(state, actor, *referral, ReferralAction::Accept)?;
            text_opt("note", note, 1000)?;
            let mut events = Vec::new();
            if r.status == ReferralStatus::Requested {
                events.push(Event::ReferralReceived { referral: r.id });
            }
            events.push(Event::ReferralAccepted {
                referral: r.id,
                note: note.clone(),
            });
            Ok(events)
        }
        RejectReferral {
            referral,
            reason,
            text: why,
        } => {
            let r = authorize(state, actor, *referral, ReferralAction::Reject)?;
            if *reason == RejectReason::Other {
                text("text", why, 1000)?;
            } else {
                text_opt("text", why, 1000)?;
            }
            Ok(vec![Event::ReferralRejected {
                referral: r.id,
                reason: *reason,
                text: why.clone(),
            }])
        }
        RedirectReferral {
            referral,
            to,
            reason,
        } => {
            let r = authorize(state, actor, *referral, ReferralAction::Redirect)?;
            text("reason", reason, 1000)?;
            let agreement = new_destination(state, r, to, now)?;
            Ok(vec![Event::ReferralRedirected {
                referral: r.id,
                from: r.destination.clone(),
                to: to.clone(),
                agreement,
                reason: reason.clone(),
            }])
        }
        EscalateReferral {
            referral,
            to,
            reason,
        } => {
            let r = authorize(state, actor, *referral, ReferralAction::Escalate)?;
            text("reason", reason, 1000)?;
            let current = facility(state, &r.destination)?.tier;
            let to = match to {
                Some(to) => {
                    let f = facility(state, to)?;
                    if f.tier <= current {
                        return Err(Error::invalid(
                            "to",
                            Rule::TierNotHigher {
                                tier: f.tier.number(),
                                current: current.number(),
                            },
                        ));
                    }
                    to.clone()
                }
                None => best_higher(state, r, current, now)?,
            };
            let agreement = new_destination(state, r, &to, now)?;
            Ok(vec![Event::ReferralEscalated {
                referral: r.id,
                from: r.destination.clone(),
                to,
                agreement,
                reason: reason.clone(),
            }])
        }
        ScheduleReferral {
            referral,
            agenda,
            start,
        } => {
            let r = authorize(state, actor, *referral, ReferralAction::Schedule)?;
            let (_, a) = agenda_of(state, agenda)?;
            if a.config.facility != r.destination || a.config.service != r.service {
                return Err(Error::invalid("agenda", Rule::WrongAgenda));
            }
            let b = beneficiary_of(state, &r.beneficiary)?;
            let (date, _) = check_place(state, a, b, *start, now, Use::Referral, false, None)?;
            // Coverage is checked again for the day of care.
            let dest = &state.facilities[a.facility as usize];
            require_agreement(state, &r.origin_agency, dest, &r.service, b, date)?;
            let id = state.appointments.len() as u32 + 1;
            Ok(vec![
                Event::AppointmentBooked {
                    appointment: id,
                    agenda: agenda.clone(),
                    facility: dest.id.clone(),
                    beneficiary: r.beneficiary.clone(),
                    start: *start,
                    end: *start + Duration::minutes(i64::from(a.slot_minutes)),
                    referral: Some(r.id),
                    follow_up_of: None,
                    rescheduled_from: None,
                    overbooked: false,
                },
                Event::ReferralScheduled {
                    referral: r.id,
                    appointment: id,
                    start: *start,
                },
            ])
        }
        SendCounterReferral {
            referral,
            counter_referral,
        } => {
            let r = authorize(state, actor, *referral, ReferralAction::SendCounterReferral)?;
            let s = &counter_referral.summary;
            if s.diagnoses.is_empty() {
                return Err(Error::invalid("summary.diagnoses", Rule::TooFew { min: 1 }));
            }
            for (i, d) in s.diagnoses.iter().enumerate() {
                icd10(&format!("summary.diagnoses[{i}]"), d)?;
            }
            if s.procedures.len() > 50 {
                return Err(Error::invalid(
                    "summary.procedures",
                    Rule::TooMany { max: 50 },
                ));
            }
            for (i, p) in s.procedures.iter().enumerate() {
                text(&format!("summary.procedures[{i}]"), p, 200)?;
            }
            text_opt("summary.text", &s.text, 4000)?;
            text("instructions", &counter_referral.instructions, 4000)?;
            if let Some(f) = &counter_referral.follow_up {
                let origin = facility(state, &r.origin)?;
                if !origin.offers(&f.service) {
                    return Err(Error::ServiceNotOffered {
                        facility: r.origin.clone(),
                        service: f.service.clone(),
                    });
                }
                if f.within_days == 0 || f.within_days > 365 {
                    return Err(Error::invalid(
                        "follow_up.within_days",
                        Rule::OutOfRange { min: 1, max: 365 },
                    ));
                }
                text_opt("follow_up.note", &f.note, 1000)?;
            }
            let mut events = Vec::new();
            if let Some(appt) = r.appointment.and_then(|id| state.appointment(id))
                && appt.status == crate::appointment::AppointmentStatus::Arrived
            {
                events.push(Event::AppointmentFulfilled {
                    appointment: r.appointment.unwrap_or_default(),
                });
            }
            events.push(Event::CounterReferralSent {
                referral: r.id,
                counter_referral: counter_referral.clone(),
            });
            Ok(events)
        }
        AcknowledgeCounterReferral { referral } => {
            let r = authorize(state, actor, *referral, ReferralAction::Acknowledge)?;
            Ok(vec![Event::CounterReferralAcknowledged { referral: r.id }])
        }
        CancelReferral { referral, reason } => {
            let r = authorize(state, actor, *referral, ReferralAction::Cancel)?;
            text("reason", reason, 1000)?;
            let mut events = Vec::new();
            if let Some(id) = r.appointment
                && state
                    .appointment(id)
                    .is_some_and(|a| a.status == crate::appointment::AppointmentStatus::Booked)
            {
                events.push(Event::AppointmentCancelled {
                    appointment: id,
                    reason: format!("referral cancelled: {reason}"),
                });
            }
            events.push(Event::ReferralCancelled {
                referral: r.id,
                reason: reason.clone(),
            });
            Ok(events)
        }
        CloseReferral { referral, reason } => {
            let r = authorize(state, actor, *referral, ReferralAction::Close)?;
            text("reason", reason, 1000)?;
            Ok(vec![Event::ReferralClosed {
                referral: r.id,
                reason: reason.clone(),
            }])
        }
        _ => Err(Error::invalid("type", Rule::NotApplicable)),
    }
}

#[allow(clippy::too_many_arguments)]
fn create(
    state: &State,
    actor: &Actor,
    beneficiary: &str,
    service: &str,
    destination: &Destination,
    priority: crate::priority::Priority,
    reason: &super::ClinicalReason,
    attachments: &[super::Attachment],
    now: DateTime<Utc>,
) -> Result<Vec<Event>> {
    let origin_id = actor.facility.clone().unwrap_or_default();
    if actor.role != Role::Clinician || actor.facility.is_none() {
        return Err(Error::not_permitted(actor.role, "create referrals"));
    }
    let origin = facility(state, &origin_id)?;
    if origin.agency != actor.agency {
        return Err(Error::not_permitted(
            actor.role,
            "refer for another agency's facility",
        ));
    }
    let b = beneficiary_of(state, beneficiary)?;
    if !state.services.contains_key(service) {
        return Err(Error::UnknownService(service.to_owned()));
    }
    if reason.icd10.is_empty() {
        return Err(Error::invalid("reason.icd10", Rule::TooFew { min: 1 }));
    }
    crate::validate::at_most("reason.icd10", reason.icd10.len(), 20)?;
    for (i, c) in reason.icd10.iter().enumerate() {
        icd10(&format!("reason.icd10[{i}]"), c)?;
    }
    text("reason.text", &reason.text, 4000)?;
    if attachments.len() > 20 {
        return Err(Error::invalid("attachments", Rule::TooMany { max: 20 }));
    }
    for (i, a) in attachments.iter().enumerate() {
        code(&format!("attachments[{i}].id"), &a.id)?;
        let mt = &a.media_type;
        if mt.len() > 100 || mt.split('/').count() != 2 || mt.split('/').any(str::is_empty) {
            return Err(Error::invalid(
                &format!("attachments[{i}].media_type"),
                Rule::NotMediaType,
            ));
        }
        text(&format!("attachments[{i}].title"), &a.title, 200)?;
    }
    let today = now.date_naive();
    let (dest, agreement) = match destination {
        Destination::Facility(id) => {
            let f = facility(state, id)?;
            if f.id == origin.id {
                return Err(Error::invalid("destination", Rule::IsOrigin));
            }
            if !f.offers(service) {
                return Err(Error::ServiceNotOffered {
                    facility: f.id.clone(),
                    service: service.to_owned(),
                });
            }
            let agreement = require_agreement(state, &origin.agency, f, service, b, today)?;
            (f.id.clone(), agreement)
        }
        Destination::Tier(tier) => {
            let routing = suggest(state, origin, beneficiary, service, *tier, priority, now)?;
            let Some(best) = routing.suggested.into_iter().next() else {
                return Err(Error::NoDestination {
                    tier: tier.number(),
                    service: service.to_owned(),
                });
            };
            (best.facility, best.agreement)
        }
    };
    let targets = state.targets();
    let t = targets.iter().find(|t| t.priority == priority);
    let (accept, appointment) = t.map_or((30 * 1440, 60 * 1440), |t| {
        (t.accept_minutes, t.appointment_minutes)
    });
    Ok(vec![Event::ReferralCreated {
        referral: state.referrals.len() as u32 + 1,
        beneficiary: beneficiary.to_owned(),
        service: service.to_owned(),
        priority,
        origin: origin.id.clone(),
        origin_agency: origin.agency.clone(),
        destination: dest,
        agreement,
        reason: reason.clone(),
        attachments: attachments.to_vec(),
        accept_due: now + Duration::minutes(i64::from(accept)),
        appointment_due: now + Duration::minutes(i64::from(appointment)),
    }])
}

/// Checks a new destination (redirect or escalation) and finds its agreement.
fn new_destination(
    state: &State,
    r: &Referral,
    to: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let f = facility(state, to)?;
    if f.id == r.destination || f.id == r.origin {
        return Err(Error::invalid("to", Rule::NotAnotherFacility));
    }
    if !f.offers(&r.service) {
        return Err(Error::ServiceNotOffered {
            facility: f.id.clone(),
            service: r.service.clone(),
        });
    }
    let b = beneficiary_of(state, &r.beneficiary)?;
    require_agreement(state, &r.origin_agency, f, &r.service, b, now.date_naive())
}

/// The best facility of a tier above `current` that can take the referral.
fn best_higher(state: &State, r: &Referral, current: Tier, now: DateTime<Utc>) -> Result<String> {
    let origin = facility(state, &r.origin)?;
    let mut tier = current;
    while let Ok(next) = Tier::try_from(tier.number() + 1) {
        let routing = suggest(
            state,
            origin,
            &r.beneficiary,
            &r.service,
            next,
            r.priority,
            now,
        )?;
        if let Some(s) = routing
            .suggested
            .into_iter()
            .find(|s| !r.destinations.contains(&s.facility))
        {
            return Ok(s.facility);
        }
        // Nothing within the target: take the earliest place at all in that tier.
        let b = beneficiary_of(state, &r.beneficiary)?;
        let mut fallback: Option<(DateTime<Utc>, String)> = None;
        for f in state
            .facilities
            .iter()
            .filter(|f| f.tier == next && f.offers(&r.service))
        {
            if r.destinations.contains(&f.id)
                || super::routing::agreement_for(
                    state,
                    &r.origin_agency,
                    f,
                    &r.service,
                    b,
                    now.date_naive(),
                )
                .is_err()
            {
                continue;
            }
            if let Some((t, _)) =
                earliest_place(state, &f.id, &r.service, now, now + Duration::days(730))
                && fallback
                    .as_ref()
                    .is_none_or(|(bt, bf)| (t, &f.id) < (*bt, bf))
            {
                fallback = Some((t, f.id.clone()));
            }
        }
        if let Some((_, f)) = fallback {
            return Ok(f);
        }
        tier = next;
    }
    Err(Error::NoDestination {
        tier: current.number() + 1,
        service: r.service.clone(),
    })
}

fn facility<'s>(state: &'s State, id: &str) -> Result<&'s crate::facility::Facility> {
    state
        .facility(id)
        .ok_or_else(|| Error::UnknownFacility(id.to_owned()))
}
