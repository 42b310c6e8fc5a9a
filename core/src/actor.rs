//! Who is acting: agency, facility and role. Authorization lives here, in
//! core, so that a browser and a server enforce exactly the same rules.

use serde::{Deserialize, Serialize};

/// The role a person plays in the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Books, cancels and reschedules in their facility's agendas; registers
    /// beneficiaries; manages the waitlist; configures their agendas.
    Clerk,
    /// Refers patients, records care and writes counter-referrals.
    Clinician,
    /// Works the incoming referral worklist of a receiving facility.
    Coordinator,
    /// Reads everything in the network, including the audit trail; writes nothing.
    Auditor,
    /// Configures the network: facilities, services, agendas, agreements.
    Admin,
}

impl Role {
    /// All roles, for permission matrices and user interfaces.
    pub const ALL: [Role; 5] = [
        Role::Clerk,
        Role::Clinician,
        Role::Coordinator,
        Role::Auditor,
        Role::Admin,
    ];

    /// The stable wire name of the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Clinician => "clinician",
            Role::Coordinator => "coordinator",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
}

/// The person behind a command: recorded with every journal entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// A user identifier, kept for the audit trail.
    pub user: String,
    /// The agency (institution) the person works for.
    pub agency: String,
    /// The facility the person works at; network admins and auditors may have none.
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    pub facility: Option<String>,
    pub role: Role,
}

impl Actor {
    /// Convenience constructor used by tests, the demo and the generator.
    pub fn new(user: &str, agency: &str, facility: Option<&str>, role: Role) -> Self {
        Actor {
            user: user.to_owned(),
            agency: agency.to_owned(),
            facility: facility.map(str::to_owned),
            role,
        }
    }

    /// True when the actor works at `facility`.
    pub fn works_at(&self, facility: &str) -> bool {
        self.facility.as_deref() == Some(facility)
    }
}
