//! Who may take which step of a referral, and from which status: the one
//! table the flow checks before it decides, and the one the answers publish
//! as `actions`, so a page offers exactly what the engine would accept.

use super::{Referral, ReferralAction, ReferralStatus};
use crate::access::{staff_at, visible};
use crate::actor::{Actor, Role};
use crate::error::{Error, Result};
use crate::state::State;

/// Which party to a referral acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Origin,
    Destination,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub side: Side,
    pub roles: &'static [Role],
    pub from: &'static [ReferralStatus],
    /// The verb of refusals: "`{role}` may not `{verb}` referrals at …",
    /// "referral 7 is completed; cannot `{verb}`".
    pub verb: &'static str,
}

use ReferralStatus::*;
use Role::{Clerk, Clinician, Coordinator};

/// Statuses before the loop ends (`ReferralStatus::is_terminal` is false).
const OPEN: &[ReferralStatus] = &[
    Requested,
    Received,
    Accepted,
    Scheduled,
    InProgress,
    CounterReferred,
];
const ASSESSING: &[ReferralStatus] = &[Requested, Received];
const BEFORE_CARE: &[ReferralStatus] = &[Requested, Received, Accepted];
const DESK: &[Role] = &[Coordinator, Clinician];

/// The table: every referral action, who takes it and from where.
pub(crate) const fn rule(action: ReferralAction) -> Rule {
    use ReferralAction as A;
    use Side::{Destination as D, Origin as O};
    let (side, roles, from, verb): (Side, &'static [Role], &'static [ReferralStatus], _) =
        match action {
            A::Receive => (D, DESK, &[Requested], "receive"),
            A::Accept => (D, DESK, ASSESSING, "accept"),
            A::Reject => (D, DESK, BEFORE_CARE, "reject"),
            A::Redirect => (D, &[Coordinator], BEFORE_CARE, "redirect"),
            A::Escalate => (D, DESK, BEFORE_CARE, "escalate"),
            A::Schedule => (D, &[Coordinator, Clerk], &[Accepted], "schedule"),
            A::SendCounterReferral => (
                D,
                &[Clinician],
                &[InProgress],
                "send a counter-referral for",
            ),
            A::Acknowledge => (
                O,
                &[Clinician, Coordinator],
                &[CounterReferred],
                "acknowledge",
            ),
            A::Cancel => (O, &[Clinician, Coordinator], OPEN, "cancel"),
            A::Close => (D, &[Coordinator], &[Accepted], "close"),
        };
    Rule {
        side,
        roles,
        from,
        verb,
    }
}

/// Whether `actor` may take `action` on `r` now, with the refusal
/// `decide` gives when not (who acts is checked before the status).
fn check(actor: &Actor, r: &Referral, action: ReferralAction) -> Result<()> {
    let rule = rule(action);
    let place = match rule.side {
        Side::Origin => &r.origin,
        Side::Destination => &r.destination,
    };
    staff_at(
        actor,
        place,
        rule.roles,
        &format!("{} referrals", rule.verb),
    )?;
    if rule.from.contains(&r.status) {
        Ok(())
    } else {
        Err(Error::IllegalTransition {
            id: r.id,
            status: r.status.as_str(),
            action: rule.verb,
        })
    }
}

/// Looks the referral up for `actor` and checks the table for `action`.
pub(crate) fn authorize<'s>(
    state: &'s State,
    actor: &Actor,
    id: u32,
    action: ReferralAction,
) -> Result<&'s Referral> {
    let r = visible(state, actor, id)?;
    check(actor, r, action)?;
    Ok(r)
}

/// The actions `actor` may take on `r` now, in the table's order.
pub fn permitted(actor: &Actor, r: &Referral) -> Vec<ReferralAction> {
    ReferralAction::ALL
        .into_iter()
        .filter(|&a| check(actor, r, a).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_is_every_status_that_is_not_terminal() {
        for s in ReferralStatus::ALL {
            assert_eq!(OPEN.contains(&s), !s.is_terminal(), "{s:?}");
        }
    }
}
