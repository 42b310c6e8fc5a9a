//! Appointments: booked → arrived → fulfilled, or cancelled, no-show, or
//! rescheduled (which books a new appointment and keeps the link).

use serde::{Deserialize, Serialize};

/// Where an appointment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    Booked,
    Arrived,
    Fulfilled,
    Cancelled,
    NoShow,
    /// Moved to another slot; the new appointment is `rescheduled_to`.
    Rescheduled,
}

impl AppointmentStatus {
    /// Every status, in declaration order.
    pub const ALL: [AppointmentStatus; 6] = [
        AppointmentStatus::Booked,
        AppointmentStatus::Arrived,
        AppointmentStatus::Fulfilled,
        AppointmentStatus::Cancelled,
        AppointmentStatus::NoShow,
        AppointmentStatus::Rescheduled,
    ];

    /// The stable wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::Booked => "booked",
            AppointmentStatus::Arrived => "arrived",
            AppointmentStatus::Fulfilled => "fulfilled",
            AppointmentStatus::Cancelled => "cancelled",
            AppointmentStatus::NoShow => "no_show",
            AppointmentStatus::Rescheduled => "rescheduled",
        }
    }

    /// True while the appointment holds its place in the slot.
    pub fn holds_place(self) -> bool {
        matches!(
            self,
            AppointmentStatus::Booked | AppointmentStatus::Arrived | AppointmentStatus::Fulfilled
        )
    }
}

/// A step staff can take on an appointment: one per appointment command.
/// Answers about an appointment list the ones the asking actor may take now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AppointmentAction {
    Cancel,
    Reschedule,
    MarkArrived,
    MarkFulfilled,
    MarkNoShow,
}

impl AppointmentAction {
    /// Every action, in the order answers list them.
    pub const ALL: [AppointmentAction; 5] = [
        AppointmentAction::Cancel,
        AppointmentAction::Reschedule,
        AppointmentAction::MarkArrived,
        AppointmentAction::MarkFulfilled,
        AppointmentAction::MarkNoShow,
    ];
}

/// An appointment as the engine keeps it: compact, indexes instead of names,
/// so a million of them fit in little memory. Ids start at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Appointment {
    pub start: i64,
    pub agenda: u32,
    pub beneficiary: u32,
    /// The referral this appointment serves, or 0.
    pub referral: u32,
    /// The appointment this one replaced, or 0.
    pub previous: u32,
    /// The appointment that replaced this one, or 0.
    pub next: u32,
    pub status: AppointmentStatus,
    pub overbooked: bool,
}

#[cfg(test)]
mod tests {
    //! Each `ALL` lists every variant once, in declaration order: the
    //! exhaustive matches stop compiling when a variant is added, and serde's
    //! own list of the wire names (from its refusal of an unknown one) must
    //! equal the `ALL` list serialized.
    use super::*;

    /// The wire names serde's derive accepts, in declaration order.
    fn wire_names<T: serde::de::DeserializeOwned>() -> Vec<String> {
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
    fn appointment_status_all_lists_every_status() {
        use AppointmentStatus as S;
        let position = |s: AppointmentStatus| match s {
            S::Booked => 0,
            S::Arrived => 1,
            S::Fulfilled => 2,
            S::Cancelled => 3,
            S::NoShow => 4,
            S::Rescheduled => 5,
        };
        for (i, s) in AppointmentStatus::ALL.into_iter().enumerate() {
            assert_eq!(position(s), i, "{s:?}");
            assert_eq!(serialized(&[s]), [s.as_str()]);
        }
        assert_eq!(
            serialized(&AppointmentStatus::ALL),
            wire_names::<AppointmentStatus>()
        );
    }

    #[test]
    fn appointment_action_all_lists_every_action() {
        use AppointmentAction as A;
        let position = |a: AppointmentAction| match a {
            A::Cancel => 0,
            A::Reschedule => 1,
            A::MarkArrived => 2,
            A::MarkFulfilled => 3,
            A::MarkNoShow => 4,
        };
        for (i, a) in AppointmentAction::ALL.into_iter().enumerate() {
            assert_eq!(position(a), i, "{a:?}");
        }
        assert_eq!(
            serialized(&AppointmentAction::ALL),
            wire_names::<AppointmentAction>()
        );
    }
}
