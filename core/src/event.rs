//! Events: what happened. State is exactly the fold of its events, so events
//! carry every value `apply` needs (derived deadlines, assigned ids, the
//! chosen destination) and `apply` never decides or fails.

use crate::agenda::{AgendaConfig, Closure};
use crate::agreement::Agreement;
use crate::beneficiary::{Beneficiary, Coverage};
use crate::facility::{Facility, Service};
use crate::priority::Priority;
use crate::referral::{Attachment, ClinicalReason, CounterReferral, RejectReason, TargetTimes};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Something that happened in the network. The JSON form is
/// `{"type": "appointment_booked", ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    NetworkConfigured {
        name: String,
        targets: Vec<TargetTimes>,
    },
    ServiceDefined {
        service: Service,
    },
    FacilityRegistered {
        facility: Facility,
    },
    AgendaDefined {
        agenda: AgendaConfig,
    },
    ClosureAdded {
        agenda: String,
        closure: Closure,
    },
    HolidayDeclared {
        date: NaiveDate,
        name: String,
    },
    AgreementDefined {
        agreement: Agreement,
    },
    BeneficiaryRegistered {
        beneficiary: Beneficiary,
    },
    CoverageSet {
        beneficiary: String,
        coverage: Vec<Coverage>,
    },
    AppointmentBooked {
        appointment: u32,
        agenda: String,
        facility: String,
        beneficiary: String,
        #[serde(with = "crate::rfc3339")]
        #[cfg_attr(feature = "typescript", ts(as = "DateTime<Utc>"))]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        start: DateTime<Utc>,
        #[serde(with = "crate::rfc3339")]
        #[cfg_attr(feature = "typescript", ts(as = "DateTime<Utc>"))]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        end: DateTime<Utc>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        referral: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        follow_up_of: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rescheduled_from: Option<u32>,
        #[serde(default, skip_serializing_if = "is_false")]
        overbooked: bool,
    },
    AppointmentCancelled {
        appointment: u32,
        reason: String,
    },
    AppointmentRescheduled {
        appointment: u32,
        to: u32,
        reason: String,
    },
    AppointmentArrived {
        appointment: u32,
    },
    AppointmentFulfilled {
        appointment: u32,
    },
    AppointmentNoShow {
        appointment: u32,
    },
    WaitlistJoined {
        entry: u32,
        beneficiary: String,
        service: String,
        facility: Option<String>,
        priority: Priority,
    },
    WaitlistLeft {
        entry: u32,
        reason: String,
    },
    /// A freed place is offered to a waiting beneficiary; faces turn this
    /// into a notification.
    WaitlistSlotOffered {
        entry: u32,
        beneficiary: String,
        agenda: String,
        #[serde(with = "crate::rfc3339")]
        #[cfg_attr(feature = "typescript", ts(as = "DateTime<Utc>"))]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        start: DateTime<Utc>,
    },
    WaitlistSatisfied {
        entry: u32,
        appointment: u32,
    },
    ReferralCreated {
        referral: u32,
        beneficiary: String,
        service: String,
        priority: Priority,
        origin: String,
        origin_agency: String,
        destination: String,
        agreement: Option<String>,
        reason: ClinicalReason,
        attachments: Vec<Attachment>,
        #[serde(with = "crate::rfc3339")]
        #[cfg_attr(feature = "typescript", ts(as = "DateTime<Utc>"))]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        accept_due: DateTime<Utc>,
        #[serde(with = "crate::rfc3339")]
        #[cfg_attr(feature = "typescript", ts(as = "DateTime<Utc>"))]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        appointment_due: DateTime<Utc>,
    },
    ReferralReceived {
        referral: u32,
    },
    ReferralAccepted {
        referral: u32,
        note: String,
    },
    ReferralRejected {
        referral: u32,
        reason: RejectReason,
        text: String,
    },
    ReferralRedirected {
        referral: u32,
        from: String,
        to: String,
        agreement: Option<String>,
        reason: String,
    },
    ReferralEscalated {
        referral: u32,
        from: String,
        to: String,
        agreement: Option<String>,
        reason: String,
    },
    ReferralScheduled {
        referral: u32,
        appointment: u32,
        #[serde(with = "crate::rfc3339")]
        #[cfg_attr(feature = "typescript", ts(as = "DateTime<Utc>"))]
        #[cfg_attr(feature = "schema", schemars(with = "DateTime<Utc>"))]
        start: DateTime<Utc>,
    },
    ReferralInProgress {
        referral: u32,
    },
    /// The patient missed the appointment; the referral is back to accepted
    /// for rebooking (or closing).
    ReferralNoShow {
        referral: u32,
        appointment: u32,
    },
    CounterReferralSent {
        referral: u32,
        counter_referral: CounterReferral,
    },
    CounterReferralAcknowledged {
        referral: u32,
    },
    FollowUpBooked {
        referral: u32,
        appointment: u32,
    },
    ReferralCancelled {
        referral: u32,
        reason: String,
    },
    ReferralClosed {
        referral: u32,
        reason: String,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Event {
    /// The event's type name, as in its JSON `type` tag.
    pub fn name(&self) -> &'static str {
        use Event::*;
        match self {
            NetworkConfigured { .. } => "network_configured",
            ServiceDefined { .. } => "service_defined",
            FacilityRegistered { .. } => "facility_registered",
            AgendaDefined { .. } => "agenda_defined",
            ClosureAdded { .. } => "closure_added",
            HolidayDeclared { .. } => "holiday_declared",
            AgreementDefined { .. } => "agreement_defined",
            BeneficiaryRegistered { .. } => "beneficiary_registered",
            CoverageSet { .. } => "coverage_set",
            AppointmentBooked { .. } => "appointment_booked",
            AppointmentCancelled { .. } => "appointment_cancelled",
            AppointmentRescheduled { .. } => "appointment_rescheduled",
            AppointmentArrived { .. } => "appointment_arrived",
            AppointmentFulfilled { .. } => "appointment_fulfilled",
            AppointmentNoShow { .. } => "appointment_no_show",
            WaitlistJoined { .. } => "waitlist_joined",
            WaitlistLeft { .. } => "waitlist_left",
            WaitlistSlotOffered { .. } => "waitlist_slot_offered",
            WaitlistSatisfied { .. } => "waitlist_satisfied",
            ReferralCreated { .. } => "referral_created",
            ReferralReceived { .. } => "referral_received",
            ReferralAccepted { .. } => "referral_accepted",
            ReferralRejected { .. } => "referral_rejected",
            ReferralRedirected { .. } => "referral_redirected",
            ReferralEscalated { .. } => "referral_escalated",
            ReferralScheduled { .. } => "referral_scheduled",
            ReferralInProgress { .. } => "referral_in_progress",
            ReferralNoShow { .. } => "referral_no_show",
            CounterReferralSent { .. } => "counter_referral_sent",
            CounterReferralAcknowledged { .. } => "counter_referral_acknowledged",
            FollowUpBooked { .. } => "follow_up_booked",
            ReferralCancelled { .. } => "referral_cancelled",
            ReferralClosed { .. } => "referral_closed",
        }
    }

    /// The referral this event is about, if any.
    pub fn referral(&self) -> Option<u32> {
        use Event::*;
        match self {
            ReferralCreated { referral, .. }
            | ReferralReceived { referral }
            | ReferralAccepted { referral, .. }
            | ReferralRejected { referral, .. }
            | ReferralRedirected { referral, .. }
            | ReferralEscalated { referral, .. }
            | ReferralScheduled { referral, .. }
            | ReferralInProgress { referral }
            | ReferralNoShow { referral, .. }
            | CounterReferralSent { referral, .. }
            | CounterReferralAcknowledged { referral }
            | FollowUpBooked { referral, .. }
            | ReferralCancelled { referral, .. }
            | ReferralClosed { referral, .. } => Some(*referral),
            AppointmentBooked { referral, .. } => *referral,
            _ => None,
        }
    }
}
