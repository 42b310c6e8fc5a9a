//! Errors that cross every face as `{code, message, details}`.
//!
//! The `code` is the stable contract: user interfaces translate it, hosts map
//! it to HTTP statuses, tests assert on it. The message is for humans and may
//! be reworded; codes never change meaning.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod rule;
pub use rule::{Rule, YEARS};

/// Every way a command or query can be refused by the engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    // --- input and references ---
    /// A value that breaks a rule of the input's shape, at `field` (a path
    /// such as `agenda.rules[2].end`).
    #[error("invalid input: {field}: {rule}")]
    InvalidInput { field: String, rule: Rule },
    #[error("unknown facility {0}")]
    UnknownFacility(String),
    #[error("unknown service {0}")]
    UnknownService(String),
    #[error("unknown agenda {0}")]
    UnknownAgenda(String),
    #[error("unknown beneficiary {0}")]
    UnknownBeneficiary(String),
    #[error("unknown appointment {0}")]
    UnknownAppointment(u32),
    #[error("unknown waitlist entry {0}")]
    UnknownWaitlistEntry(u32),
    #[error("unknown referral {0}")]
    UnknownReferral(u32),
    #[error("unknown agreement {0}")]
    UnknownAgreement(String),
    #[error("unknown time zone {0}")]
    UnknownTimeZone(String),
    /// A FHIR resource that does not exist, or that the reader may not see.
    #[error("{kind}/{id} not found")]
    UnknownResource { kind: String, id: String },
    #[error("{kind} {id} already exists")]
    AlreadyExists { kind: &'static str, id: String },
    #[error("facility {facility} does not offer service {service}")]
    ServiceNotOffered { facility: String, service: String },

    // --- authorization ---
    /// `action` is a fixed phrase (a page translates it as a key); `scope`
    /// the facility it was asked at, when the rule depends on one.
    #[error("{role} may not {action}{}", scope.as_ref().map(|s| format!(" at {s}")).unwrap_or_default())]
    NotPermitted {
        role: String,
        action: String,
        scope: Option<String>,
    },

    // --- scheduling rules ---
    #[error("{start} is not a slot of agenda {agenda}")]
    OutsideAvailability { agenda: String, start: String },
    #[error("agenda {agenda} is closed on {date}")]
    AgendaClosed { agenda: String, date: String },
    #[error("slot {start} of agenda {agenda} is full")]
    SlotFull { agenda: String, start: String },
    #[error("the remaining places on {date} are reserved for referred patients")]
    ReservedForReferrals { agenda: String, date: String },
    #[error("{start} is less than {minutes} minutes from now")]
    TooShortNotice { start: String, minutes: u32 },
    #[error("{start} is beyond the booking horizon of {days} days")]
    BeyondHorizon { start: String, days: u16 },
    #[error("beneficiary {beneficiary} already has an appointment at {start}")]
    DoubleBooking { beneficiary: String, start: String },
    #[error("appointment {id} is {status}; cannot {action}")]
    AppointmentNotActive {
        id: u32,
        status: &'static str,
        action: &'static str,
    },
    #[error("cannot {action} before the appointment starts at {start}")]
    TooEarly { action: &'static str, start: String },
    #[error("beneficiary {beneficiary} has no coverage valid on {date}")]
    NotCovered { beneficiary: String, date: String },
    #[error("beneficiary {beneficiary} is already waiting for service {service}")]
    AlreadyWaiting {
        beneficiary: String,
        service: String,
    },

    // --- referrals and agreements ---
    #[error("referral {id} is {status}; cannot {action}")]
    IllegalTransition {
        id: u32,
        status: &'static str,
        action: &'static str,
    },
    #[error("no valid agreement lets agency {from} refer to agency {to} for {service}")]
    NoAgreement {
        from: String,
        to: String,
        service: String,
    },
    #[error("no facility of tier {tier} can take {service} for this beneficiary")]
    NoDestination { tier: u8, service: String },

    // --- idempotency ---
    #[error("idempotency key {key} was already used for a different command")]
    IdempotencyKeyReused { key: String },
}

impl Error {
    /// Every code the engine gives, in declaration order: what pages and
    /// tests import (generated into the TypeScript declarations) instead of
    /// reading this file.
    pub const CODES: [&'static str; 29] = [
        "invalid_input",
        "unknown_facility",
        "unknown_service",
        "unknown_agenda",
        "unknown_beneficiary",
        "unknown_appointment",
        "unknown_waitlist_entry",
        "unknown_referral",
        "unknown_agreement",
        "unknown_time_zone",
        "unknown_resource",
        "already_exists",
        "service_not_offered",
        "not_permitted",
        "outside_availability",
        "agenda_closed",
        "slot_full",
        "reserved_for_referrals",
        "too_short_notice",
        "beyond_horizon",
        "double_booking",
        "appointment_not_active",
        "too_early",
        "not_covered",
        "already_waiting",
        "illegal_transition",
        "no_agreement",
        "no_destination",
        "idempotency_key_reused",
    ];

    /// The stable machine code of this error.
    pub fn code(&self) -> &'static str {
        use Error::*;
        match self {
            InvalidInput { .. } => "invalid_input",
            UnknownFacility(_) => "unknown_facility",
            UnknownService(_) => "unknown_service",
            UnknownAgenda(_) => "unknown_agenda",
            UnknownBeneficiary(_) => "unknown_beneficiary",
            UnknownAppointment(_) => "unknown_appointment",
            UnknownWaitlistEntry(_) => "unknown_waitlist_entry",
            UnknownReferral(_) => "unknown_referral",
            UnknownAgreement(_) => "unknown_agreement",
            UnknownTimeZone(_) => "unknown_time_zone",
            UnknownResource { .. } => "unknown_resource",
            AlreadyExists { .. } => "already_exists",
            ServiceNotOffered { .. } => "service_not_offered",
            NotPermitted { .. } => "not_permitted",
            OutsideAvailability { .. } => "outside_availability",
            AgendaClosed { .. } => "agenda_closed",
            SlotFull { .. } => "slot_full",
            ReservedForReferrals { .. } => "reserved_for_referrals",
            TooShortNotice { .. } => "too_short_notice",
            BeyondHorizon { .. } => "beyond_horizon",
            DoubleBooking { .. } => "double_booking",
            AppointmentNotActive { .. } => "appointment_not_active",
            NotCovered { .. } => "not_covered",
            TooEarly { .. } => "too_early",
            AlreadyWaiting { .. } => "already_waiting",
            IllegalTransition { .. } => "illegal_transition",
            NoAgreement { .. } => "no_agreement",
            NoDestination { .. } => "no_destination",
            IdempotencyKeyReused { .. } => "idempotency_key_reused",
        }
    }

    /// The broad class of the error, which hosts map to a protocol status
    /// (HTTP 400, 403, 404, 409, 422).
    pub fn kind(&self) -> ErrorKind {
        use Error::*;
        match self {
            InvalidInput { .. } | UnknownTimeZone(_) => ErrorKind::BadInput,
            UnknownFacility(_)
            | UnknownService(_)
            | UnknownAgenda(_)
            | UnknownBeneficiary(_)
            | UnknownAppointment(_)
            | UnknownWaitlistEntry(_)
            | UnknownReferral(_)
            | UnknownAgreement(_)
            | UnknownResource { .. } => ErrorKind::NotFound,
            NotPermitted { .. } => ErrorKind::Forbidden,
            AlreadyExists { .. }
            | SlotFull { .. }
            | DoubleBooking { .. }
            | IdempotencyKeyReused { .. }
            | AlreadyWaiting { .. } => ErrorKind::Conflict,
            _ => ErrorKind::RuleViolation,
        }
    }

    /// Structured details: the values a user interface needs to place and
    /// phrase the error without parsing the message.
    pub fn details(&self) -> BTreeMap<String, String> {
        use Error::*;
        let mut d = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            d.insert(k.to_owned(), v);
        };
        match self {
            InvalidInput { field, rule } => {
                put("field", field.clone());
                put("rule", rule.code().to_owned());
                put("reason", rule.to_string());
                for (k, v) in rule.params() {
                    put(k, v);
                }
            }
            UnknownFacility(id) => put("facility", id.clone()),
            UnknownService(id) => put("service", id.clone()),
            UnknownAgenda(id) => put("agenda", id.clone()),
            UnknownBeneficiary(id) => put("beneficiary", id.clone()),
            UnknownAppointment(id) => put("appointment", id.to_string()),
            UnknownWaitlistEntry(id) => put("entry", id.to_string()),
            UnknownReferral(id) => put("referral", id.to_string()),
            UnknownAgreement(id) => put("agreement", id.clone()),
            UnknownResource { kind, id } => {
                put("resource_type", kind.clone());
                put("id", id.clone());
            }
            UnknownTimeZone(tz) => put("time_zone", tz.clone()),
            AlreadyExists { kind, id } => {
                put("kind", (*kind).to_owned());
                put("id", id.clone());
            }
            ServiceNotOffered { facility, service } => {
                put("facility", facility.clone());
                put("service", service.clone());
            }
            NotPermitted {
                role,
                action,
                scope,
            } => {
                put("role", role.clone());
                put("action", action.clone());
                if let Some(s) = scope {
                    put("scope", s.clone());
                }
            }
            OutsideAvailability { agenda, start } | SlotFull { agenda, start } => {
                put("agenda", agenda.clone());
                put("start", start.clone());
            }
            AgendaClosed { agenda, date } | ReservedForReferrals { agenda, date } => {
                put("agenda", agenda.clone());
                put("date", date.clone());
            }
            TooShortNotice { start, minutes } => {
                put("start", start.clone());
                put("minutes", minutes.to_string());
            }
            BeyondHorizon { start, days } => {
                put("start", start.clone());
                put("days", days.to_string());
            }
            DoubleBooking { beneficiary, start } => {
                put("beneficiary", beneficiary.clone());
                put("start", start.clone());
            }
            AppointmentNotActive { id, status, action } => {
                put("appointment", id.to_string());
                put("status", (*status).to_owned());
                put("action", (*action).to_owned());
            }
            TooEarly { action, start } => {
                put("action", (*action).to_owned());
                put("start", start.clone());
            }
            NotCovered { beneficiary, date } => {
                put("beneficiary", beneficiary.clone());
                put("date", date.clone());
            }
            AlreadyWaiting {
                beneficiary,
                service,
            } => {
                put("beneficiary", beneficiary.clone());
                put("service", service.clone());
            }
            IllegalTransition { id, status, action } => {
                put("referral", id.to_string());
                put("status", (*status).to_owned());
                put("action", (*action).to_owned());
            }
            NoAgreement { from, to, service } => {
                put("from_agency", from.clone());
                put("to_agency", to.clone());
                put("service", service.clone());
            }
            NoDestination { tier, service } => {
                put("tier", tier.to_string());
                put("service", service.clone());
            }
            IdempotencyKeyReused { key } => put("key", key.clone()),
        }
        d
    }

    /// The wire form shared by every face.
    pub fn to_body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code().to_owned(),
            message: self.to_string(),
            details: self.details(),
        }
    }

    /// `field` broke `rule`.
    pub fn invalid(field: &str, rule: Rule) -> Self {
        Error::InvalidInput {
            field: field.to_owned(),
            rule,
        }
    }

    /// Input that does not parse at `field`, for `why` (faces use it for
    /// what serde refuses, so that every face reports it as core does).
    pub fn malformed(field: &str, why: impl Into<String>) -> Self {
        Self::invalid(field, Rule::Malformed { why: why.into() })
    }

    pub(crate) fn not_permitted(role: crate::actor::Role, action: &str) -> Self {
        Error::NotPermitted {
            role: role.as_str().to_owned(),
            action: action.to_owned(),
            scope: None,
        }
    }

    /// Not permitted to do `action` at `facility`.
    pub(crate) fn not_permitted_at(role: crate::actor::Role, action: &str, facility: &str) -> Self {
        Error::NotPermitted {
            role: role.as_str().to_owned(),
            action: action.to_owned(),
            scope: Some(facility.to_owned()),
        }
    }
}

/// How a face should classify an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    BadInput,
    NotFound,
    Forbidden,
    Conflict,
    RuleViolation,
}

impl ErrorKind {
    /// The class of an error known only by its stable code, as faces that
    /// receive `{code, message, details}` (a component host) see it. Agrees
    /// with [`Error::kind`]; `None` for a code core does not have.
    pub fn of_code(code: &str) -> Option<ErrorKind> {
        Some(match code {
            "invalid_input" | "unknown_time_zone" => ErrorKind::BadInput,
            "unknown_facility"
            | "unknown_service"
            | "unknown_agenda"
            | "unknown_beneficiary"
            | "unknown_appointment"
            | "unknown_waitlist_entry"
            | "unknown_referral"
            | "unknown_agreement"
            | "unknown_resource" => ErrorKind::NotFound,
            "not_permitted" => ErrorKind::Forbidden,
            "already_exists"
            | "slot_full"
            | "double_booking"
            | "idempotency_key_reused"
            | "already_waiting" => ErrorKind::Conflict,
            "service_not_offered"
            | "outside_availability"
            | "agenda_closed"
            | "reserved_for_referrals"
            | "too_short_notice"
            | "beyond_horizon"
            | "appointment_not_active"
            | "too_early"
            | "not_covered"
            | "illegal_transition"
            | "no_agreement"
            | "no_destination" => ErrorKind::RuleViolation,
            _ => return None,
        })
    }
}

/// `{code, message, details}`: the shape of an error on every face.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    pub details: BTreeMap<String, String>,
}

impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_body().serialize(s)
    }
}

/// Result alias used throughout the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_the_class_of_its_error() {
        let s = || String::from("x");
        let all = [
            Error::InvalidInput {
                field: s(),
                rule: Rule::Required,
            },
            Error::UnknownFacility(s()),
            Error::UnknownService(s()),
            Error::UnknownAgenda(s()),
            Error::UnknownBeneficiary(s()),
            Error::UnknownAppointment(1),
            Error::UnknownWaitlistEntry(1),
            Error::UnknownReferral(1),
            Error::UnknownAgreement(s()),
            Error::UnknownTimeZone(s()),
            Error::UnknownResource { kind: s(), id: s() },
            Error::AlreadyExists { kind: "x", id: s() },
            Error::ServiceNotOffered {
                facility: s(),
                service: s(),
            },
            Error::NotPermitted {
                role: s(),
                action: s(),
                scope: None,
            },
            Error::OutsideAvailability {
                agenda: s(),
                start: s(),
            },
            Error::AgendaClosed {
                agenda: s(),
                date: s(),
            },
            Error::SlotFull {
                agenda: s(),
                start: s(),
            },
            Error::ReservedForReferrals {
                agenda: s(),
                date: s(),
            },
            Error::TooShortNotice {
                start: s(),
                minutes: 1,
            },
            Error::BeyondHorizon {
                start: s(),
                days: 1,
            },
            Error::DoubleBooking {
                beneficiary: s(),
                start: s(),
            },
            Error::AppointmentNotActive {
                id: 1,
                status: "x",
                action: "x",
            },
            Error::TooEarly {
                action: "x",
                start: s(),
            },
            Error::NotCovered {
                beneficiary: s(),
                date: s(),
            },
            Error::AlreadyWaiting {
                beneficiary: s(),
                service: s(),
            },
            Error::IllegalTransition {
                id: 1,
                status: "x",
                action: "x",
            },
            Error::NoAgreement {
                from: s(),
                to: s(),
                service: s(),
            },
            Error::NoDestination {
                tier: 2,
                service: s(),
            },
            Error::IdempotencyKeyReused { key: s() },
        ];
        for e in &all {
            assert_eq!(ErrorKind::of_code(e.code()), Some(e.kind()), "{}", e.code());
        }
        let listed: Vec<&str> = all.iter().map(Error::code).collect();
        assert_eq!(
            listed,
            Error::CODES,
            "Error::CODES lists every code once, in order"
        );
        assert_eq!(ErrorKind::of_code("a_future_code"), None);
    }

    /// Fails to compile when core gains an error variant, so that the list
    /// above (and `ErrorKind::of_code`) is looked at again.
    #[allow(dead_code)]
    fn every_variant_is_listed(e: &Error) {
        use Error::*;
        match e {
            InvalidInput { .. }
            | UnknownFacility(_)
            | UnknownService(_)
            | UnknownAgenda(_)
            | UnknownBeneficiary(_)
            | UnknownAppointment(_)
            | UnknownWaitlistEntry(_)
            | UnknownReferral(_)
            | UnknownAgreement(_)
            | UnknownTimeZone(_)
            | UnknownResource { .. }
            | AlreadyExists { .. }
            | ServiceNotOffered { .. }
            | NotPermitted { .. }
            | OutsideAvailability { .. }
            | AgendaClosed { .. }
            | SlotFull { .. }
            | ReservedForReferrals { .. }
            | TooShortNotice { .. }
            | BeyondHorizon { .. }
            | DoubleBooking { .. }
            | AppointmentNotActive { .. }
            | TooEarly { .. }
            | NotCovered { .. }
            | AlreadyWaiting { .. }
            | IllegalTransition { .. }
            | NoAgreement { .. }
            | NoDestination { .. }
            | IdempotencyKeyReused { .. } => {}
        }
    }
}
