//! The HTTP API as data: one row per route, mapping a method and a resource
//! path to an engine command or query. The router (`http/mod.rs`) and the
//! OpenAPI document (`http/openapi.rs`) are both built from this table, so
//! a route cannot exist without being documented.
//!
//! Commands take a JSON body holding the command's fields (or, for routes
//! with `wrap`, the one object the command carries, e.g. the facility);
//! the ids in the path fill the remaining fields. Queries take their fields
//! from the path and the query string.

mod examples;

use examples::*;
use serde_json::Value;

/// HTTP methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

/// How a path or query parameter is typed in the engine's JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Str,
    /// An unsigned integer (ids, limits, offsets).
    Int,
    Bool,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339 with offset.
    DateTime,
    /// 1, 2 or 3.
    Tier,
    /// emergency | urgent | priority | routine.
    Priority,
    /// A string that may be repeated (`?facility=A&facility=B`).
    List,
}

/// A path or query parameter and the engine field it fills.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub field: &'static str,
    pub ty: Ty,
    pub required: bool,
    pub doc: &'static str,
}

const fn req(name: &'static str, ty: Ty, doc: &'static str) -> Param {
    Param {
        name,
        field: name,
        ty,
        required: true,
        doc,
    }
}

const fn opt(name: &'static str, ty: Ty, doc: &'static str) -> Param {
    Param {
        name,
        field: name,
        ty,
        required: false,
        doc,
    }
}

/// The cursor of a paged route (the event feed, the record of reads).
const AFTER: Param = opt(
    "after",
    Ty::Int,
    "Cursor: the `next` of the previous page (0 to start).",
);
/// The page size of a paged route.
const LIMIT: Param = opt(
    "limit",
    Ty::Int,
    "Most items returned (default 100, at most 1000).",
);

/// What a route does.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    /// An engine command (`type` tag); with `wrap`, the body is the value of
    /// that one field of the command.
    Command {
        ty: &'static str,
        wrap: Option<&'static str>,
    },
    /// An engine query (`type` tag).
    Query { ty: &'static str },
    /// The caller's event feed.
    Feed,
    /// Who the token speaks for.
    Me,
    /// The record of reads of a beneficiary (`crate::reads`).
    Reads,
}

/// One route of the API.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: Method,
    /// The path in OpenAPI (and axum 0.8) syntax: `/v1/appointments/{appointment}`.
    pub path: &'static str,
    pub id: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub op: Op,
    pub path_params: &'static [Param],
    pub query_params: &'static [Param],
    /// An example request body, for the OpenAPI document and the tests.
    pub example: Option<fn() -> Value>,
}

const APPOINTMENT: &[Param] = &[req("appointment", Ty::Int, "Appointment id.")];
const REFERRAL: &[Param] = &[req("referral", Ty::Int, "Referral id.")];
const AGENDA: &[Param] = &[req("agenda", Ty::Str, "Agenda id.")];
const FACILITY: &[Param] = &[req("facility", Ty::Str, "Facility id.")];
const BENEFICIARY: &[Param] = &[req("beneficiary", Ty::Str, "Beneficiary id.")];
const ENTRY: &[Param] = &[req("entry", Ty::Int, "Waitlist entry id.")];

// One argument per column of the route table below, which reads best flat.
#[allow(clippy::too_many_arguments)]
const fn command(
    method: Method,
    path: &'static str,
    id: &'static str,
    tag: &'static str,
    summary: &'static str,
    ty: &'static str,
    wrap: Option<&'static str>,
    path_params: &'static [Param],
    example: Option<fn() -> Value>,
) -> Route {
    Route {
        method,
        path,
        id,
        tag,
        summary,
        op: Op::Command { ty, wrap },
        path_params,
        query_params: &[],
        example,
    }
}

const fn query(
    path: &'static str,
    id: &'static str,
    tag: &'static str,
    summary: &'static str,
    ty: &'static str,
    path_params: &'static [Param],
    query_params: &'static [Param],
) -> Route {
    Route {
        method: Method::Get,
        path,
        id,
        tag,
        summary,
        op: Op::Query { ty },
        path_params,
        query_params,
        example: None,
    }
}

use Method::{Post, Put};

/// Every route of `/v1/`.
pub static ROUTES: &[Route] = &[
    // --- network reference data ---
    command(
        Put,
        "/v1/network",
        "configure_network",
        "network",
        "Set the network's name and referral target times (admin).",
        "configure_network",
        None,
        &[],
        Some(ex_network),
    ),
    query(
        "/v1/services",
        "list_services",
        "network",
        "Every service.",
        "services",
        &[],
        &[],
    ),
    command(
        Post,
        "/v1/services",
        "define_service",
        "network",
        "Define a service (admin).",
        "define_service",
        Some("service"),
        &[],
        Some(ex_service),
    ),
    command(
        Post,
        "/v1/holidays",
        "declare_holiday",
        "network",
        "Declare a network holiday (admin).",
        "declare_holiday",
        None,
        &[],
        Some(ex_holiday),
    ),
    command(
        Post,
        "/v1/agreements",
        "define_agreement",
        "agreements",
        "Define an inter-agency referral agreement (admin).",
        "define_agreement",
        Some("agreement"),
        &[],
        Some(ex_agreement),
    ),
    // --- facilities ---
    query(
        "/v1/facilities",
        "list_facilities",
        "facilities",
        "Every facility.",
        "facilities",
        &[],
        &[],
    ),
    command(
        Post,
        "/v1/facilities",
        "register_facility",
        "facilities",
        "Register a facility (admin).",
        "register_facility",
        Some("facility"),
        &[],
        Some(ex_facility),
    ),
    query(
        "/v1/facilities/{facility}/worklist",
        "worklist",
        "referrals",
        "The facility's incoming referrals, most pressing first.",
        "worklist",
        FACILITY,
        &[
            opt("limit", Ty::Int, "Page size (default 100)."),
            opt("offset", Ty::Int, "Items to skip."),
        ],
    ),
    query(
        "/v1/facilities/{facility}/referrals",
        "outgoing_referrals",
        "referrals",
        "Referrals the facility sent.",
        "outgoing_referrals",
        FACILITY,
        &[],
    ),
    query(
        "/v1/facilities/{facility}/breaches",
        "breach_report",
        "referrals",
        "Referral target times missed at the facility.",
        "breach_report",
        FACILITY,
        &[
            req("from", Ty::DateTime, "Start of the period."),
            req("to", Ty::DateTime, "End of the period."),
        ],
    ),
    // --- agendas and slots ---
    query(
        "/v1/agendas",
        "list_agendas",
        "agendas",
        "Agendas, optionally of one facility.",
        "agendas",
        &[],
        &[opt("facility", Ty::Str, "Only this facility's agendas.")],
    ),
    command(
        Post,
        "/v1/agendas",
        "define_agenda",
        "agendas",
        "Create an agenda or replace its configuration (admin, or a clerk of its facility).",
        "define_agenda",
        Some("agenda"),
        &[],
        Some(ex_agenda),
    ),
    command(
        Post,
        "/v1/agendas/{agenda}/closures",
        "add_closure",
        "agendas",
        "Close an agenda for a day or part of it.",
        "add_closure",
        Some("closure"),
        AGENDA,
        Some(ex_closure),
    ),
    query(
        "/v1/agendas/{agenda}/slots",
        "agenda_view",
        "slots",
        "An agenda's slots for a run of days, with their fill.",
        "agenda_view",
        AGENDA,
        &[
            req("from", Ty::Date, "First local date."),
            req("days", Ty::Int, "Number of days (1 to 62)."),
        ],
    ),
    query(
        "/v1/agendas/{agenda}/appointments",
        "agenda_appointments",
        "appointments",
        "An agenda's appointments on a local date.",
        "agenda_appointments",
        AGENDA,
        &[req("date", Ty::Date, "Local date.")],
    ),
    query(
        "/v1/agendas/{agenda}/utilization",
        "utilization",
        "agendas",
        "Fill and attendance of an agenda over a period.",
        "utilization",
        AGENDA,
        &[
            req("from", Ty::Date, "First date."),
            req("to", Ty::Date, "Last date."),
        ],
    ),
    query(
        "/v1/slots",
        "free_slots",
        "slots",
        "Earliest free slots for a service across facilities.",
        "free_slots",
        &[],
        &[
            req("service", Ty::Str, "Service code."),
            opt("region", Ty::Str, "Only this region."),
            opt("tier", Ty::Tier, "Only this tier (1, 2 or 3)."),
            Param {
                name: "facility",
                field: "facilities",
                ty: Ty::List,
                required: false,
                doc: "Only these facilities (repeatable).",
            },
            req("from", Ty::DateTime, "Earliest start."),
            req("to", Ty::DateTime, "Latest start."),
            req("limit", Ty::Int, "Most slots returned (1 to 500)."),
            opt(
                "for_referral",
                Ty::Bool,
                "Count places kept for referred patients as free.",
            ),
        ],
    ),
    // --- beneficiaries ---
    query(
        "/v1/beneficiaries",
        "find_beneficiaries",
        "beneficiaries",
        "Find beneficiaries by id prefix or name.",
        "find_beneficiaries",
        &[],
        &[req("text", Ty::Str, "At least 2 characters.")],
    ),
    command(
        Post,
        "/v1/beneficiaries",
        "register_beneficiary",
        "beneficiaries",
        "Register a beneficiary.",
        "register_beneficiary",
        Some("beneficiary"),
        &[],
        Some(ex_beneficiary),
    ),
    command(
        Put,
        "/v1/beneficiaries/{beneficiary}/coverage",
        "set_coverage",
        "beneficiaries",
        "Replace a beneficiary's coverage.",
        "set_coverage",
        Some("coverage"),
        BENEFICIARY,
        Some(ex_coverage),
    ),
    query(
        "/v1/beneficiaries/{beneficiary}/appointments",
        "beneficiary_appointments",
        "appointments",
        "A beneficiary's appointments.",
        "beneficiary_appointments",
        BENEFICIARY,
        &[],
    ),
    query(
        "/v1/beneficiaries/{beneficiary}/destinations",
        "suggest_destinations",
        "referrals",
        "Where the acting clinician's facility could refer the beneficiary.",
        "suggest_destinations",
        BENEFICIARY,
        &[
            req("service", Ty::Str, "Service code."),
            req("tier", Ty::Tier, "Tier (1, 2 or 3)."),
            req(
                "priority",
                Ty::Priority,
                "emergency, urgent, priority or routine.",
            ),
        ],
    ),
    // --- appointments ---
    command(
        Post,
        "/v1/appointments",
        "book_appointment",
        "appointments",
        "Book an appointment in a slot.",
        "book_appointment",
        None,
        &[],
        Some(ex_book),
    ),
    command(
        Post,
        "/v1/appointments/{appointment}/cancel",
        "cancel_appointment",
        "appointments",
        "Cancel an appointment.",
        "cancel_appointment",
        None,
        APPOINTMENT,
        Some(ex_reason),
    ),
    command(
        Post,
        "/v1/appointments/{appointment}/reschedule",
        "reschedule_appointment",
        "appointments",
        "Move an appointment to another slot (keeps history).",
        "reschedule_appointment",
        None,
        APPOINTMENT,
        Some(ex_reschedule),
    ),
    command(
        Post,
        "/v1/appointments/{appointment}/arrive",
        "mark_arrived",
        "appointments",
        "Record the beneficiary's arrival.",
        "mark_arrived",
        None,
        APPOINTMENT,
        None,
    ),
    command(
        Post,
        "/v1/appointments/{appointment}/fulfil",
        "mark_fulfilled",
        "appointments",
        "Record that the visit took place.",
        "mark_fulfilled",
        None,
        APPOINTMENT,
        None,
    ),
    command(
        Post,
        "/v1/appointments/{appointment}/no-show",
        "mark_no_show",
        "appointments",
        "Record a no-show.",
        "mark_no_show",
        None,
        APPOINTMENT,
        None,
    ),
    // --- waitlist ---
    query(
        "/v1/waitlist",
        "waitlist",
        "waitlist",
        "Open waitlist entries in priority order.",
        "waitlist",
        &[],
        &[
            opt("service", Ty::Str, "Only this service."),
            opt("facility", Ty::Str, "Only this facility."),
        ],
    ),
    command(
        Post,
        "/v1/waitlist",
        "join_waitlist",
        "waitlist",
        "Put a beneficiary on the waitlist.",
        "join_waitlist",
        None,
        &[],
        Some(ex_waitlist),
    ),
    command(
        Post,
        "/v1/waitlist/{entry}/leave",
        "leave_waitlist",
        "waitlist",
        "Take an entry off the waitlist.",
        "leave_waitlist",
        None,
        ENTRY,
        Some(ex_reason),
    ),
    // --- referrals ---
    command(
        Post,
        "/v1/referrals",
        "create_referral",
        "referrals",
        "Refer a beneficiary to another facility or tier.",
        "create_referral",
        None,
        &[],
        Some(ex_referral),
    ),
    query(
        "/v1/referrals/{referral}",
        "get_referral",
        "referrals",
        "One referral with its timeline.",
        "referral",
        REFERRAL,
        &[],
    ),
    command(
        Post,
        "/v1/referrals/{referral}/receive",
        "receive_referral",
        "referrals",
        "Acknowledge receipt at the destination.",
        "receive_referral",
        None,
        REFERRAL,
        None,
    ),
    command(
        Post,
        "/v1/referrals/{referral}/accept",
        "accept_referral",
        "referrals",
        "Accept a referral.",
        "accept_referral",
        None,
        REFERRAL,
        Some(ex_note),
    ),
    command(
        Post,
        "/v1/referrals/{referral}/reject",
        "reject_referral",
        "referrals",
        "Reject a referral with a reason.",
        "reject_referral",
        None,
        REFERRAL,
        Some(ex_reject),
    ),
    command(
        Post,
        "/v1/referrals/{referral}/redirect",
        "redirect_referral",
        "referrals",
        "Send a referral on to another facility.",
        "redirect_referral",
        None,
        REFERRAL,
        Some(ex_redirect),
    ),
    command(
        Post,
        "/v1/referrals/{referral}/escalate",
        "escalate_referral",
        "referrals",
        "Move a referral to a higher tier.",
        "escalate_referral",
        None,
        REFERRAL,
        Some(ex_escalate),
    ),
    command(
        Post,
        "/v1/referrals/{referral}/schedule",
        "schedule_referral",
        "referrals",
        "Book the referred patient's appointment.",
        "schedule_referral",
        None,
        REFERRAL,
        Some(ex_schedule),
    ),
    command(
        Post,
        "/v1/referrals/{referral}/counter-referral",
        "send_counter_referral",
        "referrals",
        "Send the counter-referral (care summary) back to the origin.",
        "send_counter_referral",
        Some("counter_referral"),
        REFERRAL,
        Some(ex_counter),
    ),
    command(
        Post,
        "/v1/referrals/{referral}/acknowledge",
        "acknowledge_counter_referral",
        "referrals",
        "Acknowledge the counter-referral at the origin (closes the loop).",
        "acknowledge_counter_referral",
        None,
        REFERRAL,
        None,
    ),
    command(
        Post,
        "/v1/referrals/{referral}/cancel",
        "cancel_referral",
        "referrals",
        "Withdraw a referral at the origin.",
        "cancel_referral",
        None,
        REFERRAL,
        Some(ex_reason),
    ),
    command(
        Post,
        "/v1/referrals/{referral}/close",
        "close_referral",
        "referrals",
        "Close an accepted referral without care at the destination.",
        "close_referral",
        None,
        REFERRAL,
        Some(ex_reason),
    ),
    // --- audit and reports ---
    query(
        "/v1/audit",
        "audit_trail",
        "audit",
        "Journal entries (auditors).",
        "audit_trail",
        &[],
        &[
            opt("facility", Ty::Str, "Entries about this facility."),
            opt("referral", Ty::Int, "Entries about this referral."),
            opt("after", Ty::Int, "Only entries after this seq."),
            opt(
                "limit",
                Ty::Int,
                "Most entries (default 100, at most 1000).",
            ),
        ],
    ),
    query(
        "/v1/audit/verify",
        "verify_audit",
        "audit",
        "Verify the audit hash chain (auditors, admins).",
        "verify_audit",
        &[],
        &[],
    ),
    query(
        "/v1/reports/conditionality",
        "conditionality",
        "audit",
        "Attendance evidence for a conditional cash-transfer programme.",
        "conditionality",
        &[],
        &[
            req("programme", Ty::Str, "Programme code."),
            req("service", Ty::Str, "Service code."),
            req("from", Ty::Date, "First date."),
            req("to", Ty::Date, "Last date."),
        ],
    ),
    // --- feed and identity ---
    Route {
        method: Method::Get,
        path: "/v1/events",
        id: "events",
        tag: "events",
        summary: "The caller's event feed: committed events this actor may see, after a cursor.",
        op: Op::Feed,
        path_params: &[],
        query_params: &[AFTER, LIMIT],
        example: None,
    },
    Route {
        method: Method::Get,
        path: "/v1/audit/reads",
        id: "audit_reads",
        tag: "audit",
        summary: "Who was shown a beneficiary's data, when, and by which query (auditors only).",
        op: Op::Reads,
        path_params: &[],
        query_params: &[
            req(
                "beneficiary",
                Ty::Str,
                "The beneficiary's id (its FHIR Patient is searched too).",
            ),
            AFTER,
            LIMIT,
        ],
        example: None,
    },
    Route {
        method: Method::Get,
        path: "/v1/me",
        id: "me",
        tag: "events",
        summary: "The tenant and actor the bearer token speaks for.",
        op: Op::Me,
        path_params: &[],
        query_params: &[],
        example: None,
    },
];

/// JSON does not tell `7.0` from `7` (and the OpenAPI document's
/// `integer` admits both): a number without a fraction becomes an integer
/// before serde, whose integer fields refuse `7.0`.
pub fn integral_numbers(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0) {
                if f >= 0.0 && f < u64::MAX as f64 {
                    *v = Value::from(f as u64);
                } else if f < 0.0 && f >= i64::MIN as f64 {
                    *v = Value::from(f as i64);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(integral_numbers),
        Value::Object(m) => m.values_mut().for_each(integral_numbers),
        _ => {}
    }
}
