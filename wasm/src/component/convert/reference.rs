//! Reference data and the clinical payloads of referrals.

use super::{Bad, WitType, lift, wit};
use chrono::Weekday;
use enlace_core::agenda::{AgendaConfig, Closure, WeeklyBlock};
use enlace_core::agreement::{Agreement, CostBearer};
use enlace_core::beneficiary::{Beneficiary, Coverage, Sex};
use enlace_core::facility::{Facility, Service, Tier};
use enlace_core::priority::Priority;
use enlace_core::referral::{
    Attachment, CareOutcome, CareSummary, ClinicalReason, CounterReferral, Destination,
    FollowUpRequest, RejectReason, TargetTimes,
};

enumeration!(Tier => Tier { First, Second, Third });
enumeration!(Priority => Priority { Emergency, Urgent, Priority, Routine });
enumeration!(Weekday => Weekday { Mon, Tue, Wed, Thu, Fri, Sat, Sun });
enumeration!(Sex => Sex { Female, Male, Other, Unknown });
enumeration!(CostBearer => CostBearer { ReferringAgency, ReceivingAgency, Programme });
enumeration!(RejectReason => RejectReason {
    IncompleteInformation,
    CriteriaNotMet,
    ServiceNotAvailable,
    ManageAtOrigin,
    NotEligible,
    Other,
});
enumeration!(CareOutcome => CareOutcome { Resolved, Improved, Ongoing, ReferredOnward, Deceased });

record!(Service => Service { code, name, slot_minutes });
record!(Facility => Facility { id, name, agency, tier, region, time_zone, services });
record!(WeeklyBlock => WeeklyBlock { day, start, end });
record!(Closure => Closure { date, from, to, reason });
record!(AgendaConfig => AgendaConfig {
    id,
    facility,
    service,
    practitioner,
    rules,
    valid_from,
    valid_to,
    slot_minutes,
    capacity,
    overbooking,
    horizon_days,
    min_notice_minutes,
    referral_share_percent,
});
record!(Agreement => Agreement {
    id,
    referring_agency,
    receiving_agency,
    services,
    tiers,
    valid_from,
    valid_to,
    cost_bearer,
    programmes,
    free_of_charge,
});
record!(Coverage => Coverage { programme, agency, valid_from, valid_to });
record!(Beneficiary => Beneficiary { id, name, birth_date, sex, contact, coverage });

record!(TargetTimes => TargetTimes { priority, accept_minutes, appointment_minutes });
newtype_variants!(Destination => Destination { Facility, Tier });
record!(ClinicalReason => ClinicalReason { icd10, text });
record!(Attachment => Attachment { id, media_type, title });
record!(CareSummary => CareSummary { diagnoses, procedures, outcome, text });
record!(FollowUpRequest => FollowUpRequest { service, within_days, note });
record!(CounterReferral => CounterReferral { summary, instructions, follow_up });
