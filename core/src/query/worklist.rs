//! A destination's worklist: its open referrals, most pressing first.

use crate::priority::Priority;
use crate::referral::ReferralStatus;
use crate::state::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BinaryHeap;

/// A referral on a worklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WorkItem {
    pub referral: u32,
    pub beneficiary: String,
    pub service: String,
    pub priority: Priority,
    pub origin: String,
    pub status: ReferralStatus,
    /// What is due next: `accept` or `appointment`.
    pub due: String,
    pub deadline: DateTime<Utc>,
    /// Minutes left until the deadline; negative when overdue.
    pub minutes_left: i64,
}

/// A page of a worklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Worklist {
    pub total: u32,
    pub overdue: u32,
    pub items: Vec<WorkItem>,
}

pub(super) fn worklist(
    state: &State,
    facility: &str,
    limit: u32,
    offset: u32,
    now: DateTime<Utc>,
) -> Worklist {
    let ids = state
        .referrals_to
        .get(facility)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    // The compact keys hold status, destination and deadline: the whole
    // records are read only for the page returned. Each key is packed into
    // one integer in the order (deadline, priority, id), and only the
    // `offset + limit` smallest are kept (a bounded max-heap), so that a
    // long worklist costs neither a large allocation nor a full sort.
    let here = state.facility_index.get(facility).copied();
    let due_now = work_order(now, Priority::Emergency, 0);
    let keep = (offset as usize).saturating_add(limit.clamp(1, 1000) as usize);
    let mut best: BinaryHeap<u128> = BinaryHeap::with_capacity(keep.min(ids.len()));
    let (mut total, mut overdue) = (0u32, 0u32);
    for &id in ids {
        let Some(k) = state.work_keys.get((id as usize).wrapping_sub(1)) else {
            continue;
        };
        if !k.open || Some(k.destination) != here {
            continue;
        }
        let key = work_order(k.deadline, k.priority, id);
        total += 1;
        overdue += u32::from(key < due_now);
        if best.len() < keep {
            best.push(key);
        } else if let Some(mut max) = best.peek_mut()
            && key < *max
        {
            *max = key;
        }
    }
    let keys = best.into_sorted_vec();
    let (start, end) = ((offset as usize).min(keys.len()), keys.len());
    let items = keys[start..end]
        .iter()
        .filter_map(|&k| {
            let id = k as u32;
            let r = state.referral(id)?;
            let (due, deadline) = r.next_deadline();
            Some(WorkItem {
                referral: id,
                beneficiary: r.beneficiary.clone(),
                service: r.service.clone(),
                priority: r.priority,
                origin: r.origin.clone(),
                status: r.status,
                due: due.to_owned(),
                deadline,
                minutes_left: (deadline - now).num_minutes(),
            })
        })
        .collect();
    Worklist {
        total,
        overdue,
        items,
    }
}

/// A worklist sort key: orders as the tuple `(deadline, priority, id)`.
/// Seconds (chrono keeps them within ±2^44) take the top 62 bits, then the
/// nanoseconds (below 2^31, leap seconds included), the priority and the id.
pub(super) fn work_order(deadline: DateTime<Utc>, priority: Priority, id: u32) -> u128 {
    let secs = (deadline.timestamp() + (1 << 61)) as u128;
    (secs << 66)
        | (u128::from(deadline.timestamp_subsec_nanos()) << 34)
        | ((priority as u128) << 32)
        | u128::from(id)
}
