//! The waitlist: beneficiaries waiting for a service (optionally at one
//! facility), offered freed places in priority order, then by arrival.

use crate::priority::Priority;
use serde::{Deserialize, Serialize};

/// Where a waitlist entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum WaitlistStatus {
    Waiting,
    /// A slot was offered; the entry is skipped for further offers until it
    /// is booked (satisfied) or it leaves.
    Offered,
    Satisfied,
    Left,
}

/// One beneficiary waiting for one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WaitlistEntry {
    pub id: u32,
    pub beneficiary: String,
    pub service: String,
    pub facility: Option<String>,
    pub priority: Priority,
    pub status: WaitlistStatus,
    pub joined_at: chrono::DateTime<chrono::Utc>,
}
