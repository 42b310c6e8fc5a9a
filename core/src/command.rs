//! Commands: what an actor asks the engine to do. Every change to the
//! network, including reference data, is a command, so everything is audited.

use crate::agenda::{AgendaConfig, Closure};
use crate::agreement::Agreement;
use crate::beneficiary::{Beneficiary, Coverage};
use crate::facility::{Facility, Service};
use crate::priority::Priority;
use crate::referral::{
    Attachment, ClinicalReason, CounterReferral, Destination, RejectReason, TargetTimes,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A command to the engine. The JSON form is `{"type": "book_appointment", ...}`.
///
/// New variants go at the end: the idempotency digest journaled with every
/// entry hashes the variant's index (`tests::the_digest_of_a_journaled_command_never_changes`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    // --- network reference data (admin) ---
    /// Sets the network's name and referral target times.
    ConfigureNetwork {
        #[cfg_attr(feature = "schema", schemars(length(max = 200), regex(pattern = crate::schema::TEXT)))]
        name: String,
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
        #[cfg_attr(
            feature = "schema",
            schemars(schema_with = "crate::command::targets_schema")
        )]
        targets: Vec<TargetTimes>,
    },
    DefineService {
        service: Service,
    },
    RegisterFacility {
        facility: Facility,
    },
    /// Creates an agenda, or replaces the configuration of an existing one
    /// (bookings are kept).
    DefineAgenda {
        agenda: AgendaConfig,
    },
    AddClosure {
        agenda: String,
        closure: Closure,
    },
    DeclareHoliday {
        date: NaiveDate,
        #[cfg_attr(feature = "schema", schemars(length(max = 200), regex(pattern = crate::schema::TEXT)))]
        name: String,
    },
    DefineAgreement {
        agreement: Agreement,
    },

    // --- beneficiaries ---
    RegisterBeneficiary {
        beneficiary: Beneficiary,
    },
    SetCoverage {
        beneficiary: String,
        coverage: Vec<Coverage>,
    },

    // --- appointments ---
    BookAppointment {
        agenda: String,
        start: DateTime<Utc>,
        beneficiary: String,
        /// Books the follow-up a counter-referral asked for, at the origin.
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(optional = nullable))]
        follow_up_of: Option<u32>,
        /// Uses the agenda's overbooking allowance when the slot is full.
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
        overbook: bool,
    },
    CancelAppointment {
        appointment: u32,
        #[cfg_attr(feature = "schema", schemars(length(max = 500), regex(pattern = crate::schema::TEXT)))]
        reason: String,
    },
    RescheduleAppointment {
        appointment: u32,
        /// Another agenda of the same facility and service, if moving there.
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(optional = nullable))]
        agenda: Option<String>,
        start: DateTime<Utc>,
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
        #[cfg_attr(feature = "schema", schemars(length(max = 500), regex(pattern = crate::schema::TEXT_OPT)))]
        reason: String,
    },
    MarkArrived {
        appointment: u32,
    },
    MarkFulfilled {
        appointment: u32,
    },
    MarkNoShow {
        appointment: u32,
    },

    // --- waitlist ---
    JoinWaitlist {
        beneficiary: String,
        #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 64), regex(pattern = crate::schema::CODE)))]
        service: String,
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(optional = nullable))]
        facility: Option<String>,
        priority: Priority,
    },
    LeaveWaitlist {
        entry: u32,
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
        #[cfg_attr(feature = "schema", schemars(length(max = 500), regex(pattern = crate::schema::TEXT_OPT)))]
        reason: String,
    },

    // --- referrals ---
    CreateReferral {
        beneficiary: String,
        service: String,
        destination: Destination,
        priority: Priority,
        reason: ClinicalReason,
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
        #[cfg_attr(feature = "schema", schemars(length(max = 20)))]
        attachments: Vec<Attachment>,
    },
    ReceiveReferral {
        referral: u32,
    },
    AcceptReferral {
        referral: u32,
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
        #[cfg_attr(feature = "schema", schemars(length(max = 1000), regex(pattern = crate::schema::TEXT_OPT)))]
        note: String,
    },
    RejectReferral {
        referral: u32,
        reason: RejectReason,
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
        #[cfg_attr(feature = "schema", schemars(length(max = 1000), regex(pattern = crate::schema::TEXT_OPT)))]
        text: String,
    },
    RedirectReferral {
        referral: u32,
        to: String,
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
        #[cfg_attr(feature = "schema", schemars(extend("x-engine-required" = true), length(max = 1000), regex(pattern = crate::schema::TEXT)))]
        reason: String,
    },
    /// Moves the referral to a higher tier; without `to`, to the best
    /// facility of the next tier that can take it.
    EscalateReferral {
        referral: u32,
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(optional = nullable))]
        to: Option<String>,
        #[serde(default)]
        #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
        #[cfg_attr(feature = "schema", schemars(extend("x-engine-required" = true), length(max = 1000), regex(pattern = crate::schema::TEXT)))]
        reason: String,
    },
    ScheduleReferral {
        referral: u32,
        agenda: String,
        start: DateTime<Utc>,
    },
    SendCounterReferral {
        referral: u32,
        counter_referral: CounterReferral,
    },
    AcknowledgeCounterReferral {
        referral: u32,
    },
    CancelReferral {
        referral: u32,
        #[cfg_attr(feature = "schema", schemars(length(max = 1000), regex(pattern = crate::schema::TEXT)))]
        reason: String,
    },
    /// The destination closes an accepted referral without care (e.g. after
    /// a no-show the patient cannot be reached).
    CloseReferral {
        referral: u32,
        #[cfg_attr(feature = "schema", schemars(length(max = 1000), regex(pattern = crate::schema::TEXT)))]
        reason: String,
    },
}

impl Command {
    /// Refuses a date or instant whose year is outside [`crate::error::YEARS`],
    /// naming its field, before any other rule looks at the command: every
    /// face (HTTP, browser, component, native) refuses the same input.
    pub(crate) fn check_years(&self) -> crate::error::Result<()> {
        use crate::validate::{date, date_opt, instant};
        use Command::*;
        match self {
            AddClosure { closure, .. } => date("closure.date", closure.date),
            DeclareHoliday { date: d, .. } => date("date", *d),
            DefineAgenda { agenda } => {
                date("agenda.valid_from", agenda.valid_from)?;
                date_opt("agenda.valid_to", agenda.valid_to)
            }
            DefineAgreement { agreement } => {
                date("agreement.valid_from", agreement.valid_from)?;
                date_opt("agreement.valid_to", agreement.valid_to)
            }
            RegisterBeneficiary { beneficiary } => {
                date("beneficiary.birth_date", beneficiary.birth_date)?;
                coverage_years("beneficiary.coverage", &beneficiary.coverage)
            }
            SetCoverage { coverage, .. } => coverage_years("coverage", coverage),
            BookAppointment { start, .. }
            | RescheduleAppointment { start, .. }
            | ScheduleReferral { start, .. } => instant("start", *start),
            ConfigureNetwork { .. }
            | DefineService { .. }
            | RegisterFacility { .. }
            | CancelAppointment { .. }
            | MarkArrived { .. }
            | MarkFulfilled { .. }
            | MarkNoShow { .. }
            | JoinWaitlist { .. }
            | LeaveWaitlist { .. }
            | CreateReferral { .. }
            | ReceiveReferral { .. }
            | AcceptReferral { .. }
            | RejectReferral { .. }
            | RedirectReferral { .. }
            | EscalateReferral { .. }
            | SendCounterReferral { .. }
            | AcknowledgeCounterReferral { .. }
            | CancelReferral { .. }
            | CloseReferral { .. } => Ok(()),
        }
    }

    /// The command's type name, as in its JSON `type` tag.
    pub fn name(&self) -> &'static str {
        use Command::*;
        match self {
            ConfigureNetwork { .. } => "configure_network",
            DefineService { .. } => "define_service",
            RegisterFacility { .. } => "register_facility",
            DefineAgenda { .. } => "define_agenda",
            AddClosure { .. } => "add_closure",
            DeclareHoliday { .. } => "declare_holiday",
            DefineAgreement { .. } => "define_agreement",
            RegisterBeneficiary { .. } => "register_beneficiary",
            SetCoverage { .. } => "set_coverage",
            BookAppointment { .. } => "book_appointment",
            CancelAppointment { .. } => "cancel_appointment",
            RescheduleAppointment { .. } => "reschedule_appointment",
            MarkArrived { .. } => "mark_arrived",
            MarkFulfilled { .. } => "mark_fulfilled",
            MarkNoShow { .. } => "mark_no_show",
            JoinWaitlist { .. } => "join_waitlist",
            LeaveWaitlist { .. } => "leave_waitlist",
            CreateReferral { .. } => "create_referral",
            ReceiveReferral { .. } => "receive_referral",
            AcceptReferral { .. } => "accept_referral",
            RejectReferral { .. } => "reject_referral",
            RedirectReferral { .. } => "redirect_referral",
            EscalateReferral { .. } => "escalate_referral",
            ScheduleReferral { .. } => "schedule_referral",
            SendCounterReferral { .. } => "send_counter_referral",
            AcknowledgeCounterReferral { .. } => "acknowledge_counter_referral",
            CancelReferral { .. } => "cancel_referral",
            CloseReferral { .. } => "close_referral",
        }
    }
}

fn coverage_years(field: &str, coverage: &[Coverage]) -> crate::error::Result<()> {
    use crate::validate::{date, date_opt};
    for (i, c) in coverage.iter().enumerate() {
        date(&format!("{field}[{i}].valid_from"), c.valid_from)?;
        date_opt(&format!("{field}[{i}].valid_to"), c.valid_to)?;
    }
    Ok(())
}

/// A command as it enters the engine: who, when, and an optional
/// idempotency key that makes retries safe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub actor: crate::actor::Actor,
    /// The instant the command is decided at, supplied by the face (core
    /// never reads a clock).
    pub at: DateTime<Utc>,
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    pub key: Option<String>,
    pub command: Command,
}

/// `ConfigureNetwork.targets`: at most one target per priority.
#[cfg(feature = "schema")]
pub(crate) fn targets_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let item = g.subschema_for::<crate::referral::TargetTimes>();
    let once: Vec<serde_json::Value> = crate::priority::Priority::ALL
        .iter()
        .map(|p| {
            serde_json::json!({
                "contains": {"properties": {"priority": {"const": p.as_str()}}},
                "minContains": 0,
                "maxContains": 1,
            })
        })
        .collect();
    schemars::json_schema!({"type": "array", "items": item, "allOf": once})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::{Actor, Role};
    use crate::journal::stable_hash;

    /// The idempotency digest kept in every journal entry hashes the
    /// command's variant by its index: a variant inserted before another, or
    /// a reordering, changes the digests of commands already journaled (a
    /// retry of an old key would be refused as reused). New variants go at
    /// the end. These digests, recorded once, must never change.
    #[test]
    fn the_digest_of_a_journaled_command_never_changes() {
        let actor = Actor::new("u", "ag", Some("F1"), Role::Clerk);
        let d = |c: Command| format!("{:016x}", stable_hash(&(&actor, &c)));
        let date = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        let start = "2026-03-04T15:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let got = [
            d(Command::DeclareHoliday {
                date,
                name: "x".into(),
            }),
            d(Command::BookAppointment {
                agenda: "A".into(),
                start,
                beneficiary: "B".into(),
                follow_up_of: None,
                overbook: false,
            }),
            d(Command::MarkNoShow { appointment: 1 }),
            d(Command::CloseReferral {
                referral: 1,
                reason: "r".into(),
            }),
        ];
        assert_eq!(
            got,
            [
                "ca1ac28e027685fd",
                "43cf4be57ed9774b",
                "c896fe9fa73af440",
                "31638023e99c68be"
            ],
            "see the comment above"
        );
    }
}
