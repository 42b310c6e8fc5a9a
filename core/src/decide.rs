//! `decide`: the pure function from (state, actor, command, now) to events
//! or an error. It never mutates; the engine applies what it returns.

use crate::access::{admin, configure_at, same_agency, staff_or_admin};
use crate::actor::Actor;
use crate::agenda::AgendaConfig;
use crate::command::Command;
use crate::error::{Error, Result, Rule};
use crate::event::Event;
use crate::state::State;
use crate::validate::{code, text, text_opt};
use chrono::{DateTime, Utc};

/// Decides what a command does, without changing anything.
/// Kept whole as a table: one arm per case, so every case reads in one place (issue 14).
pub fn decide(
    state: &State,
    actor: &Actor,
    cmd: &Command,
    now: DateTime<Utc>,
) -> Result<Vec<Event>> {
    use Command::*;
    cmd.check_years()?;
    same_agency(state, actor)?;
    match cmd {
        ConfigureNetwork { name, targets } => {
            admin(actor, "configure the network")?;
            text("name", name, 200)?;
            for (i, t) in targets.iter().enumerate() {
                if targets[..i].iter().any(|o| o.priority == t.priority) {
                    return Err(Error::invalid(
                        &format!("targets[{i}].priority"),
                        Rule::Repeated,
                    ));
                }
                for (name, v) in [
                    ("accept_minutes", t.accept_minutes),
                    ("appointment_minutes", t.appointment_minutes),
                ] {
                    if v == 0 {
                        return Err(Error::invalid(
                            &format!("targets[{i}].{name}"),
                            Rule::OutOfRange {
                                min: 1,
                                max: u32::MAX,
                            },
                        ));
                    }
                }
            }
            Ok(vec![Event::NetworkConfigured {
                name: name.clone(),
                targets: targets.clone(),
            }])
        }
        DefineService { service } => {
            admin(actor, "define services")?;
            code("service.code", &service.code)?;
            text("service.name", &service.name, 200)?;
            if !(5..=480).contains(&service.slot_minutes) {
                return Err(Error::invalid(
                    "service.slot_minutes",
                    Rule::OutOfRange { min: 5, max: 480 },
                ));
            }
            Ok(vec![Event::ServiceDefined {
                service: service.clone(),
            }])
        }
        RegisterFacility { facility } => {
            admin(actor, "register facilities")?;
            code("facility.id", &facility.id)?;
            text("facility.name", &facility.name, 200)?;
            code("facility.agency", &facility.agency)?;
            text("facility.region", &facility.region, 100)?;
            if state.facility(&facility.id).is_some() {
                return Err(Error::AlreadyExists {
                    kind: "facility",
                    id: facility.id.clone(),
                });
            }
            if facility.time_zone.parse::<chrono_tz::Tz>().is_err() {
                return Err(Error::UnknownTimeZone(facility.time_zone.clone()));
            }
            for s in &facility.services {
                if !state.services.contains_key(s) {
                    return Err(Error::UnknownService(s.clone()));
                }
            }
            Ok(vec![Event::FacilityRegistered {
                facility: facility.clone(),
            }])
        }
        DefineAgenda { agenda } => define_agenda(state, actor, agenda, now),
        AddClosure { agenda, closure } => {
            let a = state
                .agenda(agenda)
                .ok_or_else(|| Error::UnknownAgenda(agenda.clone()))?;
            configure_at(actor, &a.config.facility, "add closures")?;
            if let (Some(f), Some(t)) = (closure.from, closure.to)
                && t <= f
            {
                return Err(Error::invalid(
                    "closure.to",
                    Rule::NotAfter { other: "from" },
                ));
            }
            text_opt("closure.reason", &closure.reason, 500)?;
            Ok(vec![Event::ClosureAdded {
                agenda: agenda.clone(),
                closure: closure.clone(),
            }])
        }
        DeclareHoliday { date, name } => {
            admin(actor, "declare holidays")?;
            text("name", name, 200)?;
            Ok(vec![Event::HolidayDeclared {
                date: *date,
                name: name.clone(),
            }])
        }
        DefineAgreement { agreement } => {
            admin(actor, "define agreements")?;
            code("agreement.id", &agreement.id)?;
            code("agreement.referring_agency", &agreement.referring_agency)?;
            code("agreement.receiving_agency", &agreement.receiving_agency)?;
            if agreement.valid_to.is_some_and(|t| t < agreement.valid_from) {
                return Err(Error::invalid(
                    "agreement.valid_to",
                    Rule::Before {
                        other: "valid_from",
                    },
                ));
            }
            for s in &agreement.services {
                if !state.services.contains_key(s) {
                    return Err(Error::UnknownService(s.clone()));
                }
            }
            Ok(vec![Event::AgreementDefined {
                agreement: agreement.clone(),
            }])
        }
        RegisterBeneficiary { beneficiary } => {
            staff_or_admin(actor, "register beneficiaries")?;
            code("beneficiary.id", &beneficiary.id)?;
            text("beneficiary.name", &beneficiary.name, 200)?;
            if beneficiary.birth_date > now.date_naive() {
                return Err(Error::invalid("beneficiary.birth_date", Rule::InFuture));
            }
            if let Some(c) = &beneficiary.contact {
                text_opt("beneficiary.contact", c, 200)?;
            }
            check_coverage(&beneficiary.coverage)?;
            if state.beneficiary_idx(&beneficiary.id).is_some() {
                return Err(Error::AlreadyExists {
                    kind: "beneficiary",
                    id: beneficiary.id.clone(),
                });
            }
            Ok(vec![Event::BeneficiaryRegistered {
                beneficiary: beneficiary.clone(),
            }])
        }
        SetCoverage {
            beneficiary,
            coverage,
        } => {
            staff_or_admin(actor, "change coverage")?;
            if state.beneficiary_idx(beneficiary).is_none() {
                return Err(Error::UnknownBeneficiary(beneficiary.clone()));
            }
            check_coverage(coverage)?;
            Ok(vec![Event::CoverageSet {
                beneficiary: beneficiary.clone(),
                coverage: coverage.clone(),
            }])
        }
        BookAppointment {
            agenda,
            start,
            beneficiary,
            follow_up_of,
            overbook,
        } => crate::booking::book(
            state,
            actor,
            agenda,
            *start,
            beneficiary,
            *follow_up_of,
            *overbook,
            now,
        ),
        CancelAppointment {
            appointment,
            reason,
        } => crate::booking::cancel(state, actor, *appointment, reason, now),
        RescheduleAppointment {
            appointment,
            agenda,
            start,
            reason,
        } => crate::booking::reschedule(
            state,
            actor,
            *appointment,
            agenda.as_deref(),
            *start,
            reason,
            now,
        ),
        MarkArrived { appointment } => crate::booking::arrive(state, actor, *appointment, now),
        MarkFulfilled { appointment } => crate::booking::fulfil(state, actor, *appointment, now),
        MarkNoShow { appointment } => crate::booking::no_show(state, actor, *appointment, now),
        JoinWaitlist {
            beneficiary,
            service,
            facility,
            priority,
        } => crate::booking::join_waitlist(state, actor, beneficiary, service, facility, *priority),
        LeaveWaitlist { entry, reason } => {
            crate::booking::leave_waitlist(state, actor, *entry, reason)
        }
        CreateReferral { .. }
        | ReceiveReferral { .. }
        | AcceptReferral { .. }
        | RejectReferral { .. }
        | RedirectReferral { .. }
        | EscalateReferral { .. }
        | ScheduleReferral { .. }
        | SendCounterReferral { .. }
        | AcknowledgeCounterReferral { .. }
        | CancelReferral { .. }
        | CloseReferral { .. } => crate::referral::flow::decide(state, actor, cmd, now),
    }
}

fn define_agenda(
    state: &State,
    actor: &Actor,
    agenda: &AgendaConfig,
    now: DateTime<Utc>,
) -> Result<Vec<Event>> {
    configure_at(actor, &agenda.facility, "configure agendas")?;
    code("agenda.id", &agenda.id)?;
    let facility = state
        .facility(&agenda.facility)
        .ok_or_else(|| Error::UnknownFacility(agenda.facility.clone()))?;
    let service = state
        .services
        .get(&agenda.service)
        .ok_or_else(|| Error::UnknownService(agenda.service.clone()))?;
    if !facility.offers(&agenda.service) {
        return Err(Error::ServiceNotOffered {
            facility: facility.id.clone(),
            service: agenda.service.clone(),
        });
    }
    if let Some(p) = &agenda.practitioner {
        text("agenda.practitioner", p, 200)?;
    }
    agenda.validate(service.slot_minutes)?;
    if let Some(existing) = state.agenda(&agenda.id)
        && (existing.config.facility != agenda.facility
            || existing.config.service != agenda.service)
    {
        return Err(Error::invalid("agenda", Rule::AgendaMoves));
    }
    let mut events = vec![Event::AgendaDefined {
        agenda: agenda.clone(),
    }];
    events.extend(crate::booking::offer_new_availability(
        state,
        agenda,
        service.slot_minutes,
        now,
    ));
    Ok(events)
}

fn check_coverage(coverage: &[crate::beneficiary::Coverage]) -> Result<()> {
    if coverage.len() > 32 {
        return Err(Error::invalid("coverage", Rule::TooMany { max: 32 }));
    }
    for (i, c) in coverage.iter().enumerate() {
        code(&format!("coverage[{i}].programme"), &c.programme)?;
        code(&format!("coverage[{i}].agency"), &c.agency)?;
        if c.valid_to.is_some_and(|t| t < c.valid_from) {
            return Err(Error::invalid(
                &format!("coverage[{i}].valid_to"),
                Rule::Before {
                    other: "valid_from",
                },
            ));
        }
    }
    Ok(())
}
