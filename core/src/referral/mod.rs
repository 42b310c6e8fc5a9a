//! Referral and counter-referral between tiers: the closed loop.
//!
//! The status model follows FHIR Task (requested, received, accepted,
//! rejected, in-progress, completed, cancelled, failed) with the closed-loop
//! business steps of HL7 BSeR / IHE 360X (scheduled, no-show, counter-referral
//! sent, acknowledged). Redirection and escalation keep the referral's number
//! and history and put it back to `requested` at the new destination.

use crate::priority::Priority;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a referral is in the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReferralStatus {
    /// Sent to the destination, which has not yet taken ownership.
    Requested,
    /// The destination took ownership and is assessing it.
    Received,
    /// The destination will see the patient; an appointment is due.
    Accepted,
    /// An appointment at the destination is booked.
    Scheduled,
    /// The patient arrived at the destination.
    InProgress,
    /// Care given; the counter-referral is with the origin.
    CounterReferred,
    /// The origin acknowledged the counter-referral: the loop is closed.
    Completed,
    /// The destination declined it (terminal).
    Rejected,
    /// The origin withdrew it (terminal).
    Cancelled,
    /// The destination closed it without care, e.g. after a no-show (terminal).
    Closed,
}

impl ReferralStatus {
    /// Every status, in the loop's order.
    pub const ALL: [ReferralStatus; 10] = [
        ReferralStatus::Requested,
        ReferralStatus::Received,
        ReferralStatus::Accepted,
        ReferralStatus::Scheduled,
        ReferralStatus::InProgress,
        ReferralStatus::CounterReferred,
        ReferralStatus::Completed,
        ReferralStatus::Rejected,
        ReferralStatus::Cancelled,
        ReferralStatus::Closed,
    ];

    /// The stable wire name.
    pub fn as_str(self) -> &'static str {
        use ReferralStatus::*;
        match self {
            Requested => "requested",
            Received => "received",
            Accepted => "accepted",
            Scheduled => "scheduled",
            InProgress => "in_progress",
            CounterReferred => "counter_referred",
            Completed => "completed",
            Rejected => "rejected",
            Cancelled => "cancelled",
            Closed => "closed",
        }
    }

    /// True when no further step is possible.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ReferralStatus::Completed
                | ReferralStatus::Rejected
                | ReferralStatus::Cancelled
                | ReferralStatus::Closed
        )
    }

    /// True while the destination still owes an answer or an appointment:
    /// these are the referrals on a destination's worklist.
    pub fn is_open_at_destination(self) -> bool {
        matches!(
            self,
            ReferralStatus::Requested
                | ReferralStatus::Received
                | ReferralStatus::Accepted
                | ReferralStatus::Scheduled
                | ReferralStatus::InProgress
        )
    }
}

/// A step an actor can take on a referral: one per referral command.
/// Answers about a referral list the ones the asking actor may take now
/// (see `rules::permitted`), so a page offers what the engine accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReferralAction {
    Receive,
    Accept,
    Reject,
    Redirect,
    Escalate,
    Schedule,
    SendCounterReferral,
    Acknowledge,
    Cancel,
    Close,
}

impl ReferralAction {
    /// Every action, in the order answers list them.
    pub const ALL: [ReferralAction; 10] = [
        ReferralAction::Receive,
        ReferralAction::Accept,
        ReferralAction::Reject,
        ReferralAction::Redirect,
        ReferralAction::Escalate,
        ReferralAction::Schedule,
        ReferralAction::SendCounterReferral,
        ReferralAction::Acknowledge,
        ReferralAction::Cancel,
        ReferralAction::Close,
    ];
}

/// Where a new referral should go: a chosen facility, or the best facility
/// of a tier (the first routing suggestion).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    Facility(String),
    Tier(crate::facility::Tier),
}

/// Why the patient is referred.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ClinicalReason {
    /// ICD-10 codes, e.g. `O14.1` (severe pre-eclampsia).
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 20), inner(regex(pattern = crate::schema::ICD10))))]
    pub icd10: Vec<String>,
    #[cfg_attr(feature = "schema", schemars(length(max = 4000), regex(pattern = crate::schema::TEXT)))]
    pub text: String,
}

/// A document kept outside the engine, referenced by id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 64), regex(pattern = crate::schema::CODE)))]
    pub id: String,
    #[cfg_attr(
        feature = "schema",
        schemars(length(max = 100), regex(pattern = r"^[^/]+/[^/]+$"))
    )]
    pub media_type: String,
    #[cfg_attr(feature = "schema", schemars(length(max = 200), regex(pattern = crate::schema::TEXT)))]
    pub title: String,
}

/// Coded reasons a destination may decline a referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The referral lacks information needed to decide.
    IncompleteInformation,
    /// The clinical criteria for this service are not met.
    CriteriaNotMet,
    /// The service is not offered here.
    ServiceNotAvailable,
    /// The patient should be seen at first level.
    ManageAtOrigin,
    /// The patient is not eligible (coverage, agreement).
    NotEligible,
    Other,
}

impl RejectReason {
    /// Every reason, in declaration order: what pages offer.
    pub const ALL: [RejectReason; 6] = [
        RejectReason::IncompleteInformation,
        RejectReason::CriteriaNotMet,
        RejectReason::ServiceNotAvailable,
        RejectReason::ManageAtOrigin,
        RejectReason::NotEligible,
        RejectReason::Other,
    ];
}

/// The outcome of the care given at the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CareOutcome {
    Resolved,
    Improved,
    Ongoing,
    ReferredOnward,
    Deceased,
}

impl CareOutcome {
    /// Every outcome, in declaration order: what pages offer.
    pub const ALL: [CareOutcome; 5] = [
        CareOutcome::Resolved,
        CareOutcome::Improved,
        CareOutcome::Ongoing,
        CareOutcome::ReferredOnward,
        CareOutcome::Deceased,
    ];
}

/// The care summary sent back to the origin.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CareSummary {
    /// ICD-10 codes of the diagnoses made.
    #[cfg_attr(feature = "schema", schemars(length(min = 1), inner(regex(pattern = crate::schema::ICD10))))]
    pub diagnoses: Vec<String>,
    #[cfg_attr(feature = "schema", schemars(length(max = 50), inner(length(max = 200), regex(pattern = crate::schema::TEXT))))]
    pub procedures: Vec<String>,
    pub outcome: CareOutcome,
    #[cfg_attr(feature = "schema", schemars(length(max = 4000), regex(pattern = crate::schema::TEXT_OPT)))]
    pub text: String,
}

/// A follow-up visit the destination asks the origin to book.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FollowUpRequest {
    pub service: String,
    /// The visit should happen within this many days of the counter-referral.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 365)))]
    pub within_days: u16,
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
    #[cfg_attr(feature = "schema", schemars(length(max = 1000), regex(pattern = crate::schema::TEXT_OPT)))]
    pub note: String,
}

/// The counter-referral: what the destination did and what the origin should do next.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CounterReferral {
    pub summary: CareSummary,
    #[cfg_attr(feature = "schema", schemars(length(max = 4000), regex(pattern = crate::schema::TEXT)))]
    pub instructions: String,
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    pub follow_up: Option<FollowUpRequest>,
}

/// Target times per priority, configurable per network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TargetTimes {
    pub priority: Priority,
    /// The destination should accept (or decline) within this many minutes.
    #[cfg_attr(feature = "schema", schemars(range(min = 1)))]
    pub accept_minutes: u32,
    /// The first appointment should start within this many minutes of the request.
    #[cfg_attr(feature = "schema", schemars(range(min = 1)))]
    pub appointment_minutes: u32,
}

/// The defaults: emergency 1 h / 6 h, urgent 24 h / 3 d, priority 7 d / 14 d,
/// routine 30 d / 60 d.
pub fn default_targets() -> Vec<TargetTimes> {
    const H: u32 = 60;
    const D: u32 = 24 * 60;
    vec![
        TargetTimes {
            priority: Priority::Emergency,
            accept_minutes: H,
            appointment_minutes: 6 * H,
        },
        TargetTimes {
            priority: Priority::Urgent,
            accept_minutes: D,
            appointment_minutes: 3 * D,
        },
        TargetTimes {
            priority: Priority::Priority,
            accept_minutes: 7 * D,
            appointment_minutes: 14 * D,
        },
        TargetTimes {
            priority: Priority::Routine,
            accept_minutes: 30 * D,
            appointment_minutes: 60 * D,
        },
    ]
}

/// One step of a referral's life, as the timeline shows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TimelineStep {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub user: String,
    pub role: crate::actor::Role,
    pub facility: Option<String>,
    /// The event's type name, e.g. `referral_accepted`.
    pub event: String,
    pub status: ReferralStatus,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// Serialised by hand: JSON leaves an empty `note` out, while a binary
/// snapshot (not self-describing, fields by position) always writes it.
impl Serialize for TimelineStep {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let with_note = !self.note.is_empty() || !s.is_human_readable();
        let mut st = s.serialize_struct("TimelineStep", 7 + usize::from(with_note))?;
        st.serialize_field("seq", &self.seq)?;
        st.serialize_field("at", &self.at)?;
        st.serialize_field("user", &self.user)?;
        st.serialize_field("role", &self.role)?;
        st.serialize_field("facility", &self.facility)?;
        st.serialize_field("event", &self.event)?;
        st.serialize_field("status", &self.status)?;
        if with_note {
            st.serialize_field("note", &self.note)?;
        } else {
            st.skip_field("note")?;
        }
        st.end()
    }
}

/// A referral as the engine keeps it and as queries return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Referral {
    pub id: u32,
    pub beneficiary: String,
    pub service: String,
    pub priority: Priority,
    pub origin: String,
    pub origin_agency: String,
    pub destination: String,
    /// Every facility that has held the referral, oldest first (the current
    /// destination last).
    pub destinations: Vec<String>,
    pub reason: ClinicalReason,
    pub attachments: Vec<Attachment>,
    /// The agreement a cross-agency referral travels under.
    pub agreement: Option<String>,
    pub status: ReferralStatus,
    pub created_at: DateTime<Utc>,
    pub accept_due: DateTime<Utc>,
    pub appointment_due: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub appointment: Option<u32>,
    pub first_appointment_start: Option<DateTime<Utc>>,
    pub counter_referral: Option<CounterReferral>,
    pub follow_up_appointment: Option<u32>,
    pub closing_reason: Option<String>,
    pub timeline: Vec<TimelineStep>,
}

impl Referral {
    /// True when `facility` may see the referral: its origin and every
    /// facility that has held it. A third facility sees nothing.
    pub fn involves(&self, facility: &str) -> bool {
        self.origin == facility || self.destinations.iter().any(|d| d == facility)
    }
}

pub(crate) mod flow;
pub mod routing;
pub mod rules;

impl Referral {
    /// What is due next for an open referral, and by when.
    pub(crate) fn next_deadline(&self) -> (&'static str, DateTime<Utc>) {
        match self.status {
            ReferralStatus::Requested | ReferralStatus::Received => ("accept", self.accept_due),
            _ => ("appointment", self.appointment_due),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Each `ALL` lists every variant once, in declaration order: the
    //! exhaustive matches below stop compiling when a variant is added, and
    //! serde's own list of the wire names (from its refusal of an unknown
    //! one) must equal the `ALL` list serialized.
    use super::*;
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    /// The wire names serde's derive accepts, in declaration order.
    fn wire_names<T: DeserializeOwned>() -> Vec<String> {
        // "unknown variant ``, expected one of `a`, `b` at line 1 column 2"
        let e = serde_json::from_str::<T>("\"\"")
            .err()
            .expect("\"\" is no variant");
        e.to_string()
            .split('`')
            .skip(3)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    }

    fn serialized<T: Serialize>(all: &[T]) -> Vec<String> {
        all.iter()
            .map(|v| match serde_json::to_value(v) {
                Ok(serde_json::Value::String(s)) => s,
                other => panic!("not a string: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn referral_status_all_lists_every_status() {
        let position = |s: ReferralStatus| match s {
            ReferralStatus::Requested => 0,
            ReferralStatus::Received => 1,
            ReferralStatus::Accepted => 2,
            ReferralStatus::Scheduled => 3,
            ReferralStatus::InProgress => 4,
            ReferralStatus::CounterReferred => 5,
            ReferralStatus::Completed => 6,
            ReferralStatus::Rejected => 7,
            ReferralStatus::Cancelled => 8,
            ReferralStatus::Closed => 9,
        };
        for (i, s) in ReferralStatus::ALL.into_iter().enumerate() {
            assert_eq!(position(s), i, "{s:?}");
            assert_eq!(serialized(&[s]), [s.as_str()]);
        }
        assert_eq!(
            serialized(&ReferralStatus::ALL),
            wire_names::<ReferralStatus>()
        );
    }

    #[test]
    fn referral_action_all_lists_every_action() {
        use ReferralAction as A;
        let position = |a: ReferralAction| match a {
            A::Receive => 0,
            A::Accept => 1,
            A::Reject => 2,
            A::Redirect => 3,
            A::Escalate => 4,
            A::Schedule => 5,
            A::SendCounterReferral => 6,
            A::Acknowledge => 7,
            A::Cancel => 8,
            A::Close => 9,
        };
        for (i, a) in ReferralAction::ALL.into_iter().enumerate() {
            assert_eq!(position(a), i, "{a:?}");
        }
        assert_eq!(
            serialized(&ReferralAction::ALL),
            wire_names::<ReferralAction>()
        );
    }

    #[test]
    fn reject_reason_all_lists_every_reason() {
        use RejectReason as R;
        let position = |r: RejectReason| match r {
            R::IncompleteInformation => 0,
            R::CriteriaNotMet => 1,
            R::ServiceNotAvailable => 2,
            R::ManageAtOrigin => 3,
            R::NotEligible => 4,
            R::Other => 5,
        };
        for (i, r) in RejectReason::ALL.into_iter().enumerate() {
            assert_eq!(position(r), i, "{r:?}");
        }
        assert_eq!(serialized(&RejectReason::ALL), wire_names::<RejectReason>());
    }

    #[test]
    fn care_outcome_all_lists_every_outcome() {
        use CareOutcome as C;
        let position = |c: CareOutcome| match c {
            C::Resolved => 0,
            C::Improved => 1,
            C::Ongoing => 2,
            C::ReferredOnward => 3,
            C::Deceased => 4,
        };
        for (i, c) in CareOutcome::ALL.into_iter().enumerate() {
            assert_eq!(position(c), i, "{c:?}");
        }
        assert_eq!(serialized(&CareOutcome::ALL), wire_names::<CareOutcome>());
    }
}
