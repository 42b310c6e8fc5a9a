//! Commands: every case of `enlace_core::Command`, field for field.

use super::{Bad, WitType, lift, wit};
use enlace_core::Command;

record_variants!(Command => Command {
    ConfigureNetwork(ConfigureNetwork) { name, targets },
    DefineService(DefineService) { service },
    RegisterFacility(RegisterFacility) { facility },
    DefineAgenda(DefineAgenda) { agenda },
    AddClosure(AddClosure) { agenda, closure },
    DeclareHoliday(DeclareHoliday) { date, name },
    DefineAgreement(DefineAgreement) { agreement },
    RegisterBeneficiary(RegisterBeneficiary) { beneficiary },
    SetCoverage(SetCoverage) { beneficiary, coverage },
    BookAppointment(BookAppointment) { agenda, start, beneficiary, follow_up_of, overbook },
    CancelAppointment(CancelAppointment) { appointment, reason },
    RescheduleAppointment(RescheduleAppointment) { appointment, agenda, start, reason },
    MarkArrived(MarkArrived) { appointment },
    MarkFulfilled(MarkFulfilled) { appointment },
    MarkNoShow(MarkNoShow) { appointment },
    JoinWaitlist(JoinWaitlist) { beneficiary, service, facility, priority },
    LeaveWaitlist(LeaveWaitlist) { entry, reason },
    CreateReferral(CreateReferral) {
        beneficiary,
        service,
        destination,
        priority,
        reason,
        attachments,
    },
    ReceiveReferral(ReceiveReferral) { referral },
    AcceptReferral(AcceptReferral) { referral, note },
    RejectReferral(RejectReferral) { referral, reason, text },
    RedirectReferral(RedirectReferral) { referral, to, reason },
    EscalateReferral(EscalateReferral) { referral, to, reason },
    ScheduleReferral(ScheduleReferral) { referral, agenda, start },
    SendCounterReferral(SendCounterReferral) { referral, counter_referral },
    AcknowledgeCounterReferral(AcknowledgeCounterReferral) { referral },
    CancelReferral(CancelReferral) { referral, reason },
    CloseReferral(CloseReferral) { referral, reason },
});
