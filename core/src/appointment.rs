//! Appointments: booked → arrived → fulfilled, or cancelled, no-show, or
//! rescheduled (which books a new appointment and keeps the link).

use serde::{Deserialize, Serialize};

/// Where an appointment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
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
