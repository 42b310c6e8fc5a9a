//! Queries and answers: every case of `enlace_core::Query` and `Answer`.

use super::{Bad, WitType, lift, wit};
use enlace_core::appointment::{AppointmentAction, AppointmentStatus};
use enlace_core::query::{
    AppointmentView, Attendance, Breach, CalendarOf, ConditionalityRow, DayView, FhirParam,
    FreeSlot, ReferralView, SlotView, Utilization, WorkItem, Worklist,
};
use enlace_core::referral::routing::{Exclusion, NotSuggested, Routing, Suggestion};
use enlace_core::referral::{Referral, ReferralAction, ReferralStatus, TimelineStep};
use enlace_core::waitlist::{WaitlistEntry, WaitlistStatus};
use enlace_core::{Answer, Query};

record_variants!(Query => Query {
    Agendas(AgendasQuery) { facility },
    FreeSlots(FreeSlotsQuery) {
        service,
        region,
        tier,
        facilities,
        from,
        to,
        limit,
        for_referral,
    },
    AgendaView(AgendaViewQuery) { agenda, from, days },
    AgendaAppointments(AgendaAppointmentsQuery) { agenda, date },
    FindBeneficiaries(FindBeneficiariesQuery) { text },
    BeneficiaryAppointments(BeneficiaryAppointmentsQuery) { beneficiary },
    Utilization(UtilizationQuery) { agenda, from, to },
    Waitlist(WaitlistQuery) { service, facility },
    Worklist(WorklistQuery) { facility, limit, offset },
    OutgoingReferrals(OutgoingReferralsQuery) { facility },
    Referral(ReferralQuery) { referral },
    BreachReport(BreachReportQuery) { facility, from, to },
    SuggestDestinations(SuggestDestinationsQuery) { beneficiary, service, tier, priority },
    AuditTrail(AuditTrailQuery) { facility, referral, after, limit },
    Conditionality(ConditionalityQuery) { programme, service, from, to },
    Fhir(FhirQuery) { resource_type, id, params, base_url },
    Calendar(CalendarQuery) { of, id, from, to },
} units { Facilities, Services, VerifyAudit });

enumeration!(AppointmentStatus => AppointmentStatus {
    Booked,
    Arrived,
    Fulfilled,
    Cancelled,
    NoShow,
    Rescheduled,
});
enumeration!(WaitlistStatus => WaitlistStatus { Waiting, Offered, Satisfied, Left });
enumeration!(ReferralStatus => ReferralStatus {
    Requested,
    Received,
    Accepted,
    Scheduled,
    InProgress,
    CounterReferred,
    Completed,
    Rejected,
    Cancelled,
    Closed,
});
enumeration!(Exclusion => Exclusion { NoService, NoAgreement, NotCovered, NoCapacityInTime });
enumeration!(Attendance => Attendance { Attended, Missed, Scheduled, NotScheduled });

record!(FreeSlot => FreeSlot { agenda, facility, start, end, free });
record!(SlotView => SlotView { start, end, capacity, taken });
record!(DayView => DayView { date, places, taken, ordinary_free, slots });
record!(AppointmentView => AppointmentView {
    id,
    agenda,
    facility,
    service,
    beneficiary,
    start,
    end,
    status,
    referral,
    rescheduled_from,
    rescheduled_to,
    overbooked,
    actions,
});
enumeration!(AppointmentAction => AppointmentAction {
    Cancel,
    Reschedule,
    MarkArrived,
    MarkFulfilled,
    MarkNoShow,
});
enumeration!(ReferralAction => ReferralAction {
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
});
record!(ReferralView => ReferralView { referral, actions });
record!(Utilization => Utilization {
    places,
    booked,
    attended,
    no_shows,
    fill_rate,
    no_show_rate,
});
record!(WaitlistEntry => WaitlistEntry {
    id,
    beneficiary,
    service,
    facility,
    priority,
    status,
    joined_at,
});
record!(WorkItem => WorkItem {
    referral,
    beneficiary,
    service,
    priority,
    origin,
    status,
    due,
    deadline,
    minutes_left,
});
record!(Worklist => Worklist { total, overdue, items });
record!(TimelineStep => TimelineStep { seq, at, user, role, facility, event, status, note });
record!(Referral => Referral {
    id,
    beneficiary,
    service,
    priority,
    origin,
    origin_agency,
    destination,
    destinations,
    reason,
    attachments,
    agreement,
    status,
    created_at,
    accept_due,
    appointment_due,
    accepted_at,
    appointment,
    first_appointment_start,
    counter_referral,
    follow_up_appointment,
    closing_reason,
    timeline,
});
record!(Breach => Breach { referral, priority, target, due, met_at, minutes_late });
record!(Suggestion => Suggestion {
    facility,
    name,
    tier,
    region,
    agency,
    agreement,
    earliest,
    agenda,
});
record!(NotSuggested => NotSuggested { facility, name, reason });
record!(Routing => Routing { suggested, not_suggested });
record!(FhirParam => FhirParam { name, value });
enumeration!(CalendarOf => CalendarOf { Appointment, Beneficiary, Agenda, Facility });
record!(ConditionalityRow => ConditionalityRow {
    beneficiary,
    name,
    status,
    attended,
    missed,
    scheduled,
});

newtype_variants!(Answer => Answer {
    Facilities,
    Services,
    Agendas,
    FreeSlots,
    AgendaView,
    Appointments,
    Beneficiaries,
    Utilization,
    Waitlist,
    Worklist,
    Referrals,
    Referral,
    Breaches,
    Routing,
    Entries,
    Verification,
    Conditionality,
    Fhir,
    Calendar,
});
