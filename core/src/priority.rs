//! Clinical priority, shared by referrals and the waitlist.

use serde::{Deserialize, Serialize};

/// How urgent a need is. Ordered from most to least urgent, so sorting by
/// priority puts emergencies first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Emergency,
    Urgent,
    Priority,
    Routine,
}

impl Priority {
    /// All priorities, most urgent first.
    pub const ALL: [Priority; 4] = [
        Priority::Emergency,
        Priority::Urgent,
        Priority::Priority,
        Priority::Routine,
    ];

    /// The stable wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Emergency => "emergency",
            Priority::Urgent => "urgent",
            Priority::Priority => "priority",
            Priority::Routine => "routine",
        }
    }
}
