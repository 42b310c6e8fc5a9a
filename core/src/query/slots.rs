//! Free slots: the earliest places for a service across the network, and
//! the slots of one agenda day by day.

use crate::facility::Tier;
use crate::slot::{FreeSlots, Minute, Use, instant, minute_at_or_after, minute_of};
use crate::state::State;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A free slot in a search result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FreeSlot {
    pub agenda: String,
    pub facility: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub free: u16,
}

/// One slot in an agenda view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SlotView {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub capacity: u16,
    pub taken: u16,
}

/// One local day of an agenda view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DayView {
    pub date: NaiveDate,
    pub places: u32,
    pub taken: u32,
    /// Ordinary (non-referral) places still free that day.
    pub ordinary_free: u32,
    pub slots: Vec<SlotView>,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn free_slots(
    state: &State,
    service: &str,
    region: Option<&str>,
    tier: Option<Tier>,
    facilities: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: u16,
    usage: Use,
    now: DateTime<Utc>,
) -> Vec<FreeSlot> {
    let Some(candidates) = state.agendas_by_service.get(service) else {
        return Vec::new();
    };
    let now_m = minute_of(now);
    let (from_up, now_up, to_m) = (
        minute_at_or_after(from),
        minute_at_or_after(now),
        minute_of(to),
    );
    // Every agenda that may answer, with a lower bound of its first free
    // slot: its first slot by the weekly rules, computed once per schedule
    // shape and window start (a region's agendas share a handful of shapes).
    // Walkers, which cost a time-zone conversion and a day of slots each,
    // are started only for the agendas whose bound comes before the answers
    // found so far: for "the 10 earliest" that is a few dozen of thousands.
    let mut bounds: rustc_hash::FxHashMap<(u32, Minute), Minute> = Default::default();
    let mut waiting: Vec<Reverse<(Minute, u32, Minute, Minute)>> = Vec::new();
    let filtered = region.is_some() || tier.is_some() || !facilities.is_empty();
    for &ai in candidates {
        let k = &state.search_keys[ai as usize];
        if filtered {
            let f = &state.facilities[k.facility as usize];
            if region.is_some_and(|r| r != f.region)
                || tier.is_some_and(|t| t != f.tier)
                || (!facilities.is_empty() && !facilities.contains(&f.id))
            {
                continue;
            }
        }
        // Round up: a slot may start neither before `from` nor sooner than
        // the notice after `now`, seconds included, as booking checks it.
        let lo = from_up.max(now_up + i64::from(k.min_notice_minutes));
        let hi = to_m.min(now_m + i64::from(k.horizon_days) * 1440);
        if hi < lo {
            continue;
        }
        let bound = *bounds
            .entry((k.shape, lo))
            .or_insert_with(|| crate::slot::first_rule_slot(&state.agendas[ai as usize], lo));
        if bound <= hi {
            waiting.push(Reverse((bound, ai, lo, hi)));
        }
    }
    // Lowest (bound, agenda) first; heapified in linear time.
    let mut waiting = BinaryHeap::from(waiting);
    let mut walkers: Vec<FreeSlots<'_>> = Vec::new();
    let mut heap: BinaryHeap<Reverse<(Minute, u32, usize, u16)>> = BinaryHeap::new();
    let mut out = Vec::with_capacity(limit as usize);
    while out.len() < limit as usize {
        // Answers go out in (start, agenda) order, as if every walker had
        // started: one that has not cannot give anything before its bound.
        while let Some(&Reverse((bound, ai, lo, hi))) = waiting.peek() {
            if heap
                .peek()
                .is_some_and(|Reverse((m, top, _, _))| (*m, *top) < (bound, ai))
            {
                break;
            }
            waiting.pop();
            let a = &state.agendas[ai as usize];
            let mut w = FreeSlots::new(a, &state.holidays, usage, lo, hi);
            if let Some((m, free)) = w.next() {
                heap.push(Reverse((m, ai, walkers.len(), free)));
                walkers.push(w);
            }
        }
        let Some(Reverse((m, ai, wi, free))) = heap.pop() else {
            break;
        };
        let a = &state.agendas[ai as usize];
        out.push(FreeSlot {
            agenda: a.config.id.clone(),
            facility: a.config.facility.clone(),
            start: instant(m),
            end: instant(m + i64::from(a.slot_minutes)),
            free,
        });
        if let Some((m, free)) = walkers[wi].next() {
            heap.push(Reverse((m, ai, wi, free)));
        }
    }
    out
}

/// The free-slot search with a walker for every candidate agenda: the
/// reference the bounded search is checked against.
#[cfg(test)]
#[allow(clippy::too_many_arguments)]
fn free_slots_every_walker(
    state: &State,
    service: &str,
    region: Option<&str>,
    tier: Option<Tier>,
    facilities: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: u16,
    usage: Use,
    now: DateTime<Utc>,
) -> Vec<FreeSlot> {
    let Some(candidates) = state.agendas_by_service.get(service) else {
        return Vec::new();
    };
    let now_m = minute_of(now);
    let mut walkers: Vec<(u32, FreeSlots<'_>)> = Vec::new();
    let mut heap: BinaryHeap<Reverse<(Minute, u32, usize, u16)>> = BinaryHeap::new();
    for &ai in candidates {
        let a = &state.agendas[ai as usize];
        let f = &state.facilities[a.facility as usize];
        if region.is_some_and(|r| r != f.region)
            || tier.is_some_and(|t| t != f.tier)
            || (!facilities.is_empty() && !facilities.contains(&f.id))
        {
            continue;
        }
        // Round up: a slot may start neither before `from` nor sooner than
        // the notice after `now`, seconds included, as booking checks it.
        let lo = minute_at_or_after(from)
            .max(minute_at_or_after(now) + i64::from(a.config.min_notice_minutes));
        let hi = minute_of(to).min(now_m + i64::from(a.config.horizon_days) * 1440);
        if hi < lo {
            continue;
        }
        let mut w = FreeSlots::new(a, &state.holidays, usage, lo, hi);
        if let Some((m, free)) = w.next() {
            heap.push(Reverse((m, ai, walkers.len(), free)));
            walkers.push((ai, w));
        }
    }
    let mut out = Vec::with_capacity(limit as usize);
    while let Some(Reverse((m, ai, wi, free))) = heap.pop() {
        let a = &state.agendas[ai as usize];
        out.push(FreeSlot {
            agenda: a.config.id.clone(),
            facility: a.config.facility.clone(),
            start: instant(m),
            end: instant(m + i64::from(a.slot_minutes)),
            free,
        });
        if out.len() >= limit as usize {
            break;
        }
        if let Some((m, free)) = walkers[wi].1.next() {
            heap.push(Reverse((m, ai, wi, free)));
        }
    }
    out
}

#[cfg(test)]
mod free_slot_tests {
    //! The bounded free-slot search starts walkers lazily; it must answer
    //! exactly what a walker for every agenda answers.

    use super::*;
    use crate::engine::Engine;
    use crate::synth::{self, Rng, Spec};
    use proptest::prelude::*;
    use std::sync::OnceLock;

    /// A network of 60 facilities in five regions and zones (with and
    /// without daylight saving), 4 agendas each, a third of the clinics'
    /// places booked, closures on a few days.
    fn world() -> &'static (Spec, Engine) {
        static W: OnceLock<(Spec, Engine)> = OnceLock::new();
        W.get_or_init(|| {
            let spec = Spec {
                seed: 11,
                tier1: 45,
                tier2: 12,
                tier3: 3,
                agendas_per_facility: 4,
                beneficiaries: 3_000,
                ..Spec::demo()
            };
            let mut e = Engine::new();
            for r in synth::reference(&spec) {
                e.execute(r).unwrap();
            }
            let mut rng = Rng::new(5);
            for _ in 0..6_000 {
                let _ = e.execute(synth::booking(&spec, &mut rng));
            }
            let admin = synth::admin();
            for (i, agenda) in ["F0001-A01", "F0002-A02", "F0010-A01", "F0047-A01"]
                .iter()
                .enumerate()
            {
                let date = spec.start.date_naive() + chrono::Duration::days(2 + i as i64);
                let _ = e.execute(crate::Request {
                    actor: admin.clone(),
                    at: spec.start,
                    key: None,
                    command: crate::Command::AddClosure {
                        agenda: (*agenda).to_owned(),
                        closure: crate::agenda::Closure {
                            date,
                            from: (i % 2 == 1)
                                .then(|| chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap()),
                            to: (i % 2 == 1)
                                .then(|| chrono::NaiveTime::from_hms_opt(11, 30, 0).unwrap()),
                            reason: "training".into(),
                        },
                    },
                });
            }
            (spec, e)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn the_bounded_search_answers_what_every_walker_answers(
            service in 0usize..4,
            region in proptest::option::of(0usize..5),
            tier in proptest::option::of(1u8..=3),
            now_min in 0i64..(20 * 1440),
            ahead in -600i64..(10 * 1440),
            span in 30i64..(25 * 1440),
            limit in 1u16..=60,
            referral in any::<bool>(),
        ) {
            let (spec, e) = world();
            let state = e.state();
            let services: Vec<&String> = state.services.keys().collect();
            let service = services[service % services.len()];
            let regions: Vec<&str> = {
                let mut r: Vec<&str> = state.facilities.iter().map(|f| f.region.as_str()).collect();
                r.sort_unstable();
                r.dedup();
                r
            };
            let region = region.map(|i| regions[i % regions.len()]);
            let tier = tier.and_then(|t| match t {
                1 => Some(Tier::First),
                2 => Some(Tier::Second),
                3 => Some(Tier::Third),
                _ => None,
            });
            let now = spec.start + chrono::Duration::minutes(now_min) + chrono::Duration::seconds(17);
            let from = now + chrono::Duration::minutes(ahead);
            let to = from + chrono::Duration::minutes(span);
            let usage = if referral { Use::Referral } else { Use::Ordinary };
            let fast = free_slots(state, service, region, tier, &[], from, to, limit, usage, now);
            let every = free_slots_every_walker(state, service, region, tier, &[], from, to, limit, usage, now);
            prop_assert_eq!(fast, every);
        }
    }
}
