//! Reports over a period: an agenda's fill and attendance, the target
//! times a facility missed, and attendance for conditional cash transfers.

use crate::appointment::AppointmentStatus;
use crate::priority::Priority;
use crate::referral::{Referral as ReferralRecord, ReferralStatus};
use crate::slot::day_slots;
use crate::state::State;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Fill and attendance of an agenda over a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Utilization {
    pub places: u32,
    pub booked: u32,
    pub attended: u32,
    pub no_shows: u32,
    pub fill_rate: f64,
    pub no_show_rate: f64,
}

/// A target time missed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Breach {
    pub referral: u32,
    pub priority: Priority,
    /// `accept` or `appointment`.
    pub target: String,
    pub due: DateTime<Utc>,
    /// When it was met, if it was (late).
    pub met_at: Option<DateTime<Utc>>,
    pub minutes_late: i64,
}

/// Attendance status of one beneficiary for a conditionality report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Attendance {
    Attended,
    Missed,
    Scheduled,
    NotScheduled,
}

/// One row of a conditionality report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ConditionalityRow {
    pub beneficiary: String,
    pub name: String,
    pub status: Attendance,
    pub attended: u32,
    pub missed: u32,
    pub scheduled: u32,
}

pub(super) fn utilization(
    state: &State,
    agenda: u32,
    from: NaiveDate,
    to: NaiveDate,
) -> Utilization {
    let a = &state.agendas[agenda as usize];
    let mut places = 0u32;
    let mut buf = Vec::new();
    let mut d = from;
    while d <= to {
        day_slots(a, &state.holidays, d, &mut buf);
        places += buf.len() as u32 * u32::from(a.config.capacity);
        let Some(n) = d.succ_opt() else { break };
        d = n;
    }
    let (mut booked, mut attended, mut no_shows) = (0u32, 0u32, 0u32);
    for x in state.appointments.iter().filter(|x| x.agenda == agenda) {
        let date = crate::slot::local_date(a, x.start);
        if date < from || date > to {
            continue;
        }
        match x.status {
            AppointmentStatus::Booked => booked += 1,
            AppointmentStatus::Arrived | AppointmentStatus::Fulfilled => {
                booked += 1;
                attended += 1;
            }
            AppointmentStatus::NoShow => {
                booked += 1;
                no_shows += 1;
            }
            AppointmentStatus::Cancelled | AppointmentStatus::Rescheduled => {}
        }
    }
    let ratio = |n: u32, d: u32| {
        if d == 0 {
            0.0
        } else {
            f64::from(n) / f64::from(d)
        }
    };
    Utilization {
        places,
        booked,
        attended,
        no_shows,
        fill_rate: ratio(booked, places),
        no_show_rate: ratio(no_shows, attended + no_shows),
    }
}

pub(super) fn breaches(
    state: &State,
    facility: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<Breach> {
    let mut out = Vec::new();
    let ids = state
        .referrals_to
        .get(facility)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for r in ids.iter().filter_map(|&id| state.referral(id)) {
        if r.destination != facility {
            continue;
        }
        let mut check =
            |target: &str, due: DateTime<Utc>, met: Option<DateTime<Utc>>, applies: bool| {
                if !applies || due < from || due > to {
                    return;
                }
                let late = match met {
                    Some(m) if m > due => Some((m - due).num_minutes()),
                    Some(_) => None,
                    None if now > due => Some((now - due).num_minutes()),
                    None => None,
                };
                if let Some(minutes_late) = late {
                    out.push(Breach {
                        referral: r.id,
                        priority: r.priority,
                        target: target.to_owned(),
                        due,
                        met_at: met,
                        minutes_late,
                    });
                }
            };
        let withdrawn = matches!(r.status, ReferralStatus::Cancelled);
        check(
            "accept",
            r.accept_due,
            r.accepted_at.or(decided_at(r)),
            !withdrawn,
        );
        let needs_visit = !matches!(
            r.status,
            ReferralStatus::Rejected | ReferralStatus::Cancelled
        );
        check(
            "appointment",
            r.appointment_due,
            r.first_appointment_start,
            needs_visit,
        );
    }
    out.sort_unstable_by_key(|b| (b.due, b.referral));
    out
}

/// When a rejected referral was answered (a rejection meets the accept target).
pub(super) fn decided_at(r: &ReferralRecord) -> Option<DateTime<Utc>> {
    r.timeline
        .iter()
        .find(|s| s.event == "referral_rejected")
        .map(|s| s.at)
}

pub(super) fn utilization_status(attended: u32, missed: u32, scheduled: u32) -> Attendance {
    if attended > 0 {
        Attendance::Attended
    } else if missed > 0 {
        Attendance::Missed
    } else if scheduled > 0 {
        Attendance::Scheduled
    } else {
        Attendance::NotScheduled
    }
}

pub(super) fn conditionality(
    state: &State,
    programme: &str,
    service: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<ConditionalityRow> {
    let mut rows = Vec::new();
    for (bi, b) in state.beneficiaries.iter().enumerate() {
        let enrolled = b.coverage.iter().any(|c| {
            c.programme == programme
                && c.valid_from <= to
                && c.valid_to.is_none_or(|end| end >= from)
        });
        if !enrolled {
            continue;
        }
        let (mut attended, mut missed, mut scheduled) = (0, 0, 0);
        for own in &state.by_beneficiary[bi] {
            let x = &state.appointments[own.id as usize - 1];
            let a = &state.agendas[x.agenda as usize];
            if a.config.service != service {
                continue;
            }
            let date = crate::slot::local_date(a, x.start);
            if date < from || date > to {
                continue;
            }
            match x.status {
                AppointmentStatus::Arrived | AppointmentStatus::Fulfilled => attended += 1,
                AppointmentStatus::NoShow => missed += 1,
                AppointmentStatus::Booked => scheduled += 1,
                _ => {}
            }
        }
        rows.push(ConditionalityRow {
            beneficiary: b.id.clone(),
            name: b.name.clone(),
            status: utilization_status(attended, missed, scheduled),
            attended,
            missed,
            scheduled,
        });
    }
    rows
}
