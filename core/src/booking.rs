//! Booking decisions: book, cancel, reschedule, arrive, fulfil, no-show, and
//! the waitlist offers that freed places trigger.

use crate::access::{agenda_of, beneficiary_of, staff_at, staff_or_admin};
use crate::actor::{Actor, Role};
use crate::agenda::{Agenda, AgendaConfig};
use crate::appointment::{AppointmentAction, AppointmentStatus};
use crate::error::{Error, Result, Rule};
use crate::event::Event;
use crate::priority::Priority;
use crate::slot::{
    FreeSlots, Minute, Use, check_slot, day_places, instant, local_date, minute_at_or_after,
    minute_of, ordinary_left,
};
use crate::state::State;
use crate::validate::{code, text, text_opt};
use crate::waitlist::WaitlistStatus;
use chrono::{DateTime, Duration, NaiveDate, Utc};

const FRONT_DESK: [Role; 3] = [Role::Clerk, Role::Clinician, Role::Coordinator];

/// Most waitlist offers one command may produce.
const MAX_OFFERS: usize = 50;

/// Checks every rule a new place in a slot must satisfy and says whether it
/// uses the overbooking allowance. `moving` is an appointment being
/// rescheduled, whose own place does not count against the new one.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_place(
    state: &State,
    a: &Agenda,
    beneficiary: u32,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    usage: Use,
    overbook: bool,
    moving: Option<u32>,
) -> Result<(NaiveDate, bool)> {
    let date = check_slot(a, &state.holidays, start)?;
    let notice = i64::from(a.config.min_notice_minutes) * 60;
    if start.timestamp() < now.timestamp() + notice {
        return Err(Error::TooShortNotice {
            start: start.to_rfc3339(),
            minutes: a.config.min_notice_minutes,
        });
    }
    if start > now + Duration::days(i64::from(a.config.horizon_days)) {
        return Err(Error::BeyondHorizon {
            start: start.to_rfc3339(),
            days: a.config.horizon_days,
        });
    }
    let m = minute_of(start);
    if busy(state, beneficiary, m, moving) {
        return Err(Error::DoubleBooking {
            beneficiary: state.beneficiaries[beneficiary as usize].id.clone(),
            start: start.to_rfc3339(),
        });
    }
    let taken = a.taken(m);
    let overbooked = if taken < a.config.capacity {
        false
    } else if overbook && taken < a.config.capacity + a.config.overbooking {
        true
    } else {
        return Err(Error::SlotFull {
            agenda: a.config.id.clone(),
            start: start.to_rfc3339(),
        });
    };
    if usage == Use::Ordinary && !overbooked {
        let mut left = ordinary_left(a, &state.holidays, date);
        // A rescheduled ordinary appointment on the same day gives its place back.
        if let Some(old) = moving.and_then(|id| state.appointment(id)) {
            let same_agenda =
                state.agendas.get(old.agenda as usize).map(|x| &x.config.id) == Some(&a.config.id);
            if same_agenda
                && old.referral == 0
                && !old.overbooked
                && crate::slot::local_date(a, old.start) == date
            {
                left += 1;
            }
        }
        if left == 0 {
            return Err(Error::ReservedForReferrals {
                agenda: a.config.id.clone(),
                date: date.to_string(),
            });
        }
    }
    Ok((date, overbooked))
}

/// True when the beneficiary holds coverage of `agency` on `date`.
pub(crate) fn covered_by_agency(
    state: &State,
    beneficiary: u32,
    agency: &str,
    date: NaiveDate,
) -> bool {
    state.beneficiaries[beneficiary as usize]
        .coverage_on(date)
        .any(|c| c.agency == agency)
}

fn require_coverage(state: &State, beneficiary: u32, agency: &str, date: NaiveDate) -> Result<()> {
    if covered_by_agency(state, beneficiary, agency, date) {
        Ok(())
    } else {
        Err(Error::NotCovered {
            beneficiary: state.beneficiaries[beneficiary as usize].id.clone(),
            date: date.to_string(),
        })
    }
}

/// Waitlist entries the beneficiary's new appointment at `a` satisfies.
fn satisfied_entries(state: &State, beneficiary: &str, a: &Agenda, appointment: u32) -> Vec<Event> {
    state
        .waitlist
        .iter()
        .filter(|w| {
            matches!(w.status, WaitlistStatus::Waiting | WaitlistStatus::Offered)
                && w.beneficiary == beneficiary
                && w.service == a.config.service
                && w.facility.as_ref().is_none_or(|f| *f == a.config.facility)
        })
        .map(|w| Event::WaitlistSatisfied {
            entry: w.id,
            appointment,
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn book(
    state: &State,
    actor: &Actor,
    agenda: &str,
    start: DateTime<Utc>,
    beneficiary: &str,
    follow_up_of: Option<u32>,
    overbook: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Event>> {
    let (_, a) = agenda_of(state, agenda)?;
    staff_at(actor, &a.config.facility, &FRONT_DESK, "book appointments")?;
    let b = beneficiary_of(state, beneficiary)?;
    if let Some(rid) = follow_up_of {
        // A referral this facility is not part of does not exist for it.
        let r = crate::access::visible(state, actor, rid)?;
        let wanted = r
            .counter_referral
            .as_ref()
            .and_then(|c| c.follow_up.as_ref());
        let fits = r.origin == a.config.facility
            && r.beneficiary == beneficiary
            && wanted.is_some_and(|f| f.service == a.config.service)
            && r.follow_up_appointment.is_none();
        if !fits {
            return Err(Error::invalid("follow_up_of", Rule::NoSuchFollowUp));
        }
    }
    let (date, overbooked) = check_place(state, a, b, start, now, Use::Ordinary, overbook, None)?;
    let facility = &state.facilities[a.facility as usize];
    require_coverage(state, b, &facility.agency, date)?;
    let id = state.appointments.len() as u32 + 1;
    let mut events = vec![Event::AppointmentBooked {
        appointment: id,
        agenda: agenda.to_owned(),
        facility: facility.id.clone(),
        beneficiary: beneficiary.to_owned(),
        start,
        end: start + Duration::minutes(i64::from(a.slot_minutes)),
        referral: None,
        follow_up_of,
        rescheduled_from: None,
        overbooked,
    }];
    if let Some(referral) = follow_up_of {
        events.push(Event::FollowUpBooked {
            referral,
            appointment: id,
        });
    }
    events.extend(satisfied_entries(state, beneficiary, a, id));
    Ok(events)
}

/// Who may take each appointment action, from which status, and from
/// when: the table `active` checks and `permitted` publishes.
const fn rule(action: AppointmentAction) -> (&'static [Role], AppointmentStatus, &'static str) {
    use AppointmentAction as A;
    match action {
        A::Cancel => (&FRONT_DESK, AppointmentStatus::Booked, "cancel"),
        A::Reschedule => (&FRONT_DESK, AppointmentStatus::Booked, "reschedule"),
        A::MarkArrived => (&FRONT_DESK, AppointmentStatus::Booked, "mark arrival"),
        A::MarkFulfilled => (
            &[Role::Clinician],
            AppointmentStatus::Arrived,
            "record care",
        ),
        A::MarkNoShow => (&FRONT_DESK, AppointmentStatus::Booked, "mark no-show"),
    }
}

/// Arrival is recorded from a day before the start; a no-show once the
/// start has passed.
fn not_before(action: AppointmentAction, start: i64) -> Option<DateTime<Utc>> {
    match action {
        AppointmentAction::MarkArrived => Some(instant(start) - Duration::hours(24)),
        AppointmentAction::MarkNoShow => Some(instant(start)),
        _ => None,
    }
}

/// Checks the table for `action` on `appt`, in the order refusals come:
/// who acts, then the status, then the time.
fn check(
    state: &State,
    actor: &Actor,
    id: u32,
    appt: &crate::appointment::Appointment,
    action: AppointmentAction,
    now: DateTime<Utc>,
) -> Result<()> {
    let (roles, wanted, verb) = rule(action);
    let a = &state.agendas[appt.agenda as usize];
    staff_at(actor, &a.config.facility, roles, verb)?;
    if appt.status != wanted {
        return Err(Error::AppointmentNotActive {
            id,
            status: appt.status.as_str(),
            action: verb,
        });
    }
    if let Some(from) = not_before(action, appt.start)
        && now < from
    {
        return Err(Error::TooEarly {
            action: verb,
            start: instant(appt.start).to_rfc3339(),
        });
    }
    Ok(())
}

/// Looks up an appointment and checks who may take `action` on it now.
fn active(
    state: &State,
    actor: &Actor,
    id: u32,
    action: AppointmentAction,
    now: DateTime<Utc>,
) -> Result<crate::appointment::Appointment> {
    let appt = *state.appointment(id).ok_or(Error::UnknownAppointment(id))?;
    check(state, actor, id, &appt, action, now)?;
    Ok(appt)
}

/// The actions `actor` may take on appointment `id` now, in table order.
pub(crate) fn permitted(
    state: &State,
    actor: &Actor,
    id: u32,
    now: DateTime<Utc>,
) -> Vec<AppointmentAction> {
    let Some(appt) = state.appointment(id) else {
        return Vec::new();
    };
    AppointmentAction::ALL
        .into_iter()
        .filter(|&a| check(state, actor, id, appt, a, now).is_ok())
        .collect()
}

pub(crate) fn cancel(
    state: &State,
    actor: &Actor,
    id: u32,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Event>> {
    let appt = active(state, actor, id, AppointmentAction::Cancel, now)?;
    text("reason", reason, 500)?;
    let mut events = vec![Event::AppointmentCancelled {
        appointment: id,
        reason: reason.to_owned(),
    }];
    events.extend(offer_freed(state, &appt, now, &[], false));
    Ok(events)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn reschedule(
    state: &State,
    actor: &Actor,
    id: u32,
    agenda: Option<&str>,
    start: DateTime<Utc>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Event>> {
    let old = active(state, actor, id, AppointmentAction::Reschedule, now)?;
    text_opt("reason", reason, 500)?;
    let old_agenda = &state.agendas[old.agenda as usize];
    let (new_idx, a) = match agenda {
        Some(x) => agenda_of(state, x)?,
        None => (old.agenda, old_agenda),
    };
    if a.config.facility != old_agenda.config.facility
        || a.config.service != old_agenda.config.service
    {
        return Err(Error::invalid("agenda", Rule::WrongAgenda));
    }
    if new_idx == old.agenda && minute_of(start) == old.start {
        return Err(Error::invalid("start", Rule::SameSlot));
    }
    let usage = if old.referral != 0 {
        Use::Referral
    } else {
        Use::Ordinary
    };
    let (date, _) = check_place(
        state,
        a,
        old.beneficiary,
        start,
        now,
        usage,
        false,
        Some(id),
    )?;
    let facility = &state.facilities[a.facility as usize];
    if usage == Use::Ordinary {
        require_coverage(state, old.beneficiary, &facility.agency, date)?;
    } else if let Some(r) = state.referral(old.referral) {
        // As when it was scheduled: coverage and agreement on the new day.
        crate::referral::routing::require_agreement(
            state,
            &r.origin_agency,
            facility,
            &r.service,
            old.beneficiary,
            date,
        )?;
    }
    let new_id = state.appointments.len() as u32 + 1;
    let mut events = vec![
        Event::AppointmentBooked {
            appointment: new_id,
            agenda: a.config.id.clone(),
            facility: facility.id.clone(),
            beneficiary: state.beneficiaries[old.beneficiary as usize].id.clone(),
            start,
            end: start + Duration::minutes(i64::from(a.slot_minutes)),
            referral: (old.referral != 0).then_some(old.referral),
            follow_up_of: None,
            rescheduled_from: Some(id),
            overbooked: false,
        },
        Event::AppointmentRescheduled {
            appointment: id,
            to: new_id,
            reason: reason.to_owned(),
        },
    ];
    if old.referral != 0 {
        events.push(Event::ReferralScheduled {
            referral: old.referral,
            appointment: new_id,
            start,
        });
    }
    let taken_by = state.beneficiaries[old.beneficiary as usize].id.clone();
    // The new appointment may take an ordinary place of the freed slot's day.
    let same_day = usage == Use::Ordinary
        && new_idx == old.agenda
        && date == local_date(old_agenda, old.start);
    events.extend(offer_freed(state, &old, now, &[taken_by], same_day));
    Ok(events)
}

pub(crate) fn arrive(
    state: &State,
    actor: &Actor,
    id: u32,
    now: DateTime<Utc>,
) -> Result<Vec<Event>> {
    let appt = active(state, actor, id, AppointmentAction::MarkArrived, now)?;
    let mut events = vec![Event::AppointmentArrived { appointment: id }];
    if let Some(r) = state.referral(appt.referral)
        && r.status == crate::referral::ReferralStatus::Scheduled
        && r.appointment == Some(id)
    {
        events.push(Event::ReferralInProgress { referral: r.id });
    }
    Ok(events)
}

pub(crate) fn fulfil(
    state: &State,
    actor: &Actor,
    id: u32,
    now: DateTime<Utc>,
) -> Result<Vec<Event>> {
    active(state, actor, id, AppointmentAction::MarkFulfilled, now)?;
    Ok(vec![Event::AppointmentFulfilled { appointment: id }])
}

pub(crate) fn no_show(
    state: &State,
    actor: &Actor,
    id: u32,
    now: DateTime<Utc>,
) -> Result<Vec<Event>> {
    let appt = active(state, actor, id, AppointmentAction::MarkNoShow, now)?;
    let mut events = vec![Event::AppointmentNoShow { appointment: id }];
    if let Some(r) = state.referral(appt.referral)
        && r.status == crate::referral::ReferralStatus::Scheduled
        && r.appointment == Some(id)
    {
        events.push(Event::ReferralNoShow {
            referral: r.id,
            appointment: id,
        });
    }
    Ok(events)
}

pub(crate) fn join_waitlist(
    state: &State,
    actor: &Actor,
    beneficiary: &str,
    service: &str,
    facility: &Option<String>,
    priority: Priority,
) -> Result<Vec<Event>> {
    staff_or_admin(actor, "manage the waitlist")?;
    if actor.role == Role::Admin {
        return Err(Error::not_permitted(actor.role, "manage the waitlist"));
    }
    beneficiary_of(state, beneficiary)?;
    code("service", service)?;
    if !state.services.contains_key(service) {
        return Err(Error::UnknownService(service.to_owned()));
    }
    if let Some(f) = facility {
        let fac = state
            .facility(f)
            .ok_or_else(|| Error::UnknownFacility(f.clone()))?;
        if !fac.offers(service) {
            return Err(Error::ServiceNotOffered {
                facility: f.clone(),
                service: service.to_owned(),
            });
        }
    }
    if state.waitlist.iter().any(|w| {
        w.beneficiary == beneficiary
            && w.service == service
            && matches!(w.status, WaitlistStatus::Waiting | WaitlistStatus::Offered)
    }) {
        return Err(Error::AlreadyWaiting {
            beneficiary: beneficiary.to_owned(),
            service: service.to_owned(),
        });
    }
    Ok(vec![Event::WaitlistJoined {
        entry: state.waitlist.len() as u32 + 1,
        beneficiary: beneficiary.to_owned(),
        service: service.to_owned(),
        facility: facility.clone(),
        priority,
    }])
}

pub(crate) fn leave_waitlist(
    state: &State,
    actor: &Actor,
    entry: u32,
    reason: &str,
) -> Result<Vec<Event>> {
    staff_or_admin(actor, "manage the waitlist")?;
    if actor.role == Role::Admin {
        return Err(Error::not_permitted(actor.role, "manage the waitlist"));
    }
    let w = state
        .waitlist
        .get((entry as usize).wrapping_sub(1))
        .ok_or(Error::UnknownWaitlistEntry(entry))?;
    text_opt("reason", reason, 500)?;
    if !matches!(w.status, WaitlistStatus::Waiting | WaitlistStatus::Offered) {
        return Err(Error::invalid("entry", Rule::NotWaiting));
    }
    Ok(vec![Event::WaitlistLeft {
        entry,
        reason: reason.to_owned(),
    }])
}

/// Waiting entries that an offer at agenda `a` may go to, in offer order:
/// most urgent first, then first come.
fn candidates<'s>(state: &'s State, a: &AgendaConfig) -> Vec<&'s crate::waitlist::WaitlistEntry> {
    let mut c: Vec<_> = state
        .waitlist
        .iter()
        .filter(|w| {
            w.status == WaitlistStatus::Waiting
                && w.service == a.service
                && w.facility.as_ref().is_none_or(|f| *f == a.facility)
        })
        .collect();
    c.sort_unstable_by_key(|w| (w.priority, w.id));
    c
}

fn busy_at(state: &State, beneficiary: &str, m: Minute) -> bool {
    state
        .beneficiary_idx(beneficiary)
        .is_some_and(|b| busy(state, b, m, None))
}

/// True when the beneficiary holds a booked or arrived appointment at
/// minute `m`, other than `except` (one being rescheduled).
fn busy(state: &State, beneficiary: u32, m: Minute, except: Option<u32>) -> bool {
    state
        .by_beneficiary
        .get(beneficiary as usize)
        .is_some_and(|list| {
            list.iter().any(|own| {
                Some(own.id) != except
                    && own.may_start_at(m)
                    && state.appointment(own.id).is_some_and(|x| {
                        x.start == m
                            && matches!(
                                x.status,
                                AppointmentStatus::Booked | AppointmentStatus::Arrived
                            )
                    })
            })
        })
}

/// True when the beneficiary holds coverage of the agenda's agency on `date`.
fn covered_at(state: &State, beneficiary: &str, a: &Agenda, date: NaiveDate) -> bool {
    let agency = &state.facilities[a.facility as usize].agency;
    state
        .beneficiary_idx(beneficiary)
        .is_some_and(|b| covered_by_agency(state, b, agency, date))
}

/// Offers the place an appointment frees to the first eligible waiting entry,
/// if an ordinary booking could take it once the command is applied.
/// `same_day` says the command also takes an ordinary place on that day (a
/// reschedule within the day).
fn offer_freed(
    state: &State,
    freed: &crate::appointment::Appointment,
    now: DateTime<Utc>,
    skip: &[String],
    same_day: bool,
) -> Option<Event> {
    let a = &state.agendas[freed.agenda as usize];
    let start = instant(freed.start);
    let notice = i64::from(a.config.min_notice_minutes) * 60;
    if start.timestamp() < now.timestamp() + notice
        || start > now + Duration::days(i64::from(a.config.horizon_days))
    {
        return None;
    }
    // The slot may have been closed or dropped from the rules since it was booked.
    let date = check_slot(a, &state.holidays, start).ok()?;
    // An overbooked appointment may still fill the slot once this one leaves.
    if a.taken(freed.start).saturating_sub(1) >= a.config.capacity {
        return None;
    }
    // Ordinary places of the day after the command: a freed ordinary place
    // comes back, a referral or overbooked one does not.
    let allowed = crate::agenda::ordinary_places(
        day_places(a, &state.holidays, date),
        a.config.referral_share_percent,
    );
    let mut used = a.ordinary_per_day.get(&date).copied().unwrap_or(0);
    if freed.referral == 0 && !freed.overbooked {
        used = used.saturating_sub(1);
    }
    if used + u32::from(same_day) >= allowed {
        return None;
    }
    candidates(state, &a.config)
        .into_iter()
        .find(|w| {
            !skip.contains(&w.beneficiary)
                && !busy_at(state, &w.beneficiary, freed.start)
                && covered_at(state, &w.beneficiary, a, date)
        })
        .map(|w| Event::WaitlistSlotOffered {
            entry: w.id,
            beneficiary: w.beneficiary.clone(),
            agenda: a.config.id.clone(),
            start: instant(freed.start),
        })
}

/// Offers the free places of a (re)defined agenda to waiting entries.
pub(crate) fn offer_new_availability(
    state: &State,
    config: &AgendaConfig,
    default_slot: u16,
    now: DateTime<Utc>,
) -> Vec<Event> {
    let waiting = candidates(state, config);
    if waiting.is_empty() {
        return Vec::new();
    }
    let slot = config.slot_minutes.unwrap_or(default_slot);
    let agenda = match state.agenda(&config.id) {
        Some(existing) => {
            let mut a = existing.clone();
            a.reconfigure(config.clone(), slot);
            a
        }
        None => {
            let Some(&f) = state.facility_index.get(&config.facility) else {
                return Vec::new();
            };
            let tz = state.facilities[f as usize]
                .time_zone
                .parse()
                .unwrap_or(chrono_tz::UTC);
            Agenda::new(config.clone(), f, tz, slot)
        }
    };
    let from = minute_at_or_after(now) + i64::from(config.min_notice_minutes);
    let to = minute_of(now) + i64::from(config.horizon_days) * 1440;
    let mut free = FreeSlots::new(&agenda, &state.holidays, Use::Ordinary, from, to);
    let mut events = Vec::new();
    let mut current: Option<(Minute, u16)> = None;
    // Offers made per local day, which may not exceed the day's ordinary places.
    let mut per_day: Vec<(NaiveDate, u32)> = Vec::new();
    for w in waiting.into_iter().take(MAX_OFFERS) {
        loop {
            if current.is_none_or(|(_, left)| left == 0) {
                current = free.next();
            }
            let Some((m, left)) = current.as_mut() else {
                return events;
            };
            let date = local_date(&agenda, *m);
            let offered = per_day
                .iter()
                .find(|(d, _)| *d == date)
                .map_or(0, |(_, n)| *n);
            if offered >= ordinary_left(&agenda, &state.holidays, date) {
                // The day's ordinary places are all offered.
                current = free.next();
                continue;
            }
            if !covered_at(state, &w.beneficiary, &agenda, date) {
                // Not eligible at this agency on that day: the next entry is.
                break;
            }
            if busy_at(state, &w.beneficiary, *m) {
                // The beneficiary is busy then: offer them a later slot.
                current = free.next();
                continue;
            }
            match per_day.iter_mut().find(|(d, _)| *d == date) {
                Some((_, n)) => *n += 1,
                None => per_day.push((date, 1)),
            }
            events.push(Event::WaitlistSlotOffered {
                entry: w.id,
                beneficiary: w.beneficiary.clone(),
                agenda: config.id.clone(),
                start: instant(*m),
            });
            *left -= 1;
            break;
        }
    }
    events
}
